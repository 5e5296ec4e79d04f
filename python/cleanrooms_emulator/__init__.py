"""cleanrooms-emulator from Python: start a local AWS Clean Rooms and hand out boto3 clients.

Installed with the wheel (``pip install cleanrooms-emulator``, or ``cleanrooms-emulator[spark]``
for Athena Spark sessions and PySpark protected jobs), which also puts the
``cleanrooms-emulator`` command on PATH::

    import cleanrooms_emulator

    with cleanrooms_emulator.start() as emulator:
        cleanrooms = emulator.client("cleanrooms", account="111111111111")
        cleanrooms.list_collaborations(memberStatus="ACTIVE")

The pytest plugin (:mod:`cleanrooms_emulator.pytest_plugin`) is registered by the install and
gives tests the ``cleanrooms_emulator`` and ``aws_client`` fixtures.
"""

from __future__ import annotations

from cleanrooms_emulator.emulator import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    Emulator,
    EmulatorError,
    binary_path,
    start,
)

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "Emulator", "EmulatorError", "binary_path", "start"]
