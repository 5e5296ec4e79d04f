"""``python -m cleanrooms_emulator [ARGS…]`` runs the installed emulator binary with ``ARGS``
(``serve`` by default): the same as the ``cleanrooms-emulator`` command."""

from __future__ import annotations

import os
import sys

from cleanrooms_emulator.emulator import binary_path


def main() -> None:
    """Replaces this process with the emulator binary."""
    binary = str(binary_path())
    os.execv(binary, [binary, *(sys.argv[1:] or ["serve"])])


if __name__ == "__main__":
    main()
