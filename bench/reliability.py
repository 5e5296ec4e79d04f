"""The long forms of the reliability suites, whose short forms run in CI, with their figures
printed as JSON for docs/reliability.md:

    python bench/reliability.py crash-storm [--cycles 100] [--seed N]
    python bench/reliability.py fuzz [--examples 200]
    python bench/reliability.py soak [--seconds 600] [--clients 64]

Each runs the suite's pytest file (tests/boto3/test_crash_storm.py, test_fuzz.py, test_soak.py)
with larger bounds. Needs the test virtualenv (tests/requirements.txt) and a built binary
(CLEANROOMS_EMULATOR_BIN, or the default debug build).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# suite -> (test file, report variable, {option: (variable, default)})
SUITES = {
    "crash-storm": ("test_crash_storm.py", "CRASH_STORM_REPORT",
                    {"cycles": ("CRASH_STORM_CYCLES", 100), "seed": ("CRASH_STORM_SEED", None)}),
    "fuzz": ("test_fuzz.py", "FUZZ_REPORT", {"examples": ("FUZZ_EXAMPLES", 200)}),
    "soak": ("test_soak.py", "SOAK_REPORT", {"seconds": ("SOAK_SECONDS", 600), "clients": ("SOAK_CLIENTS", 64)}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="suite", required=True)
    for name, (_, _, options) in SUITES.items():
        sub = commands.add_parser(name)
        for option, (_, default) in options.items():
            sub.add_argument(f"--{option}", type=int, default=default)
    args = parser.parse_args()
    test_file, report_variable, options = SUITES[args.suite]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = dict(os.environ, **{report_variable: str(report)})
        for option, (variable, _) in options.items():
            if getattr(args, option) is not None:
                env[variable] = str(getattr(args, option))
        rc = subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", f"tests/boto3/{test_file}"],
            env=env, cwd=ROOT,
        )
        if report.exists():
            print(json.dumps({"suite": args.suite, **json.loads(report.read_text())}, indent=2))
    return rc


if __name__ == "__main__":
    sys.exit(main())
