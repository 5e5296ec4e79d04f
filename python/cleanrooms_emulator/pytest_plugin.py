"""The pytest plugin of cleanrooms-emulator (registered by the wheel through the ``pytest11``
entry point): one emulator per test session, boto3 clients for it, and an opt-in reset.

Fixtures:

- ``cleanrooms_emulator`` (session): the running :class:`~cleanrooms_emulator.Emulator`, on a
  free port with a fresh data dir, stopped at the end of the session. While it runs,
  ``AWS_ENDPOINT_URL`` points at it and the AWS credential variables name the default account,
  so code under test that makes its own clients reaches the emulator.
- ``aws_client`` (session): a factory, ``aws_client("cleanrooms", account="222222222222")`` → a
  boto3 client of that account for the emulator.

Marker ``@pytest.mark.cleanrooms_emulator_reset``: the emulator is reset (all state and data
wiped) before the marked test.

Options: ``--cleanrooms-emulator-binary PATH`` (default: the installed binary, or
``CLEANROOMS_EMULATOR_BIN``) and ``--cleanrooms-emulator-keep-data`` (keep the data dir and
print where it is).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from cleanrooms_emulator.emulator import DEFAULT_ACCOUNT, DEFAULT_REGION, Emulator, start

RESET_MARKER = "cleanrooms_emulator_reset"
_KEPT = pytest.StashKey[str]()

# What code under test reads to find AWS: pointed at the emulator for the session.
_SESSION_ENVIRONMENT = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's command-line options."""
    group = parser.getgroup("cleanrooms-emulator")
    group.addoption(
        "--cleanrooms-emulator-binary",
        default=None,
        help="the cleanrooms-emulator executable (default: the installed one, or $CLEANROOMS_EMULATOR_BIN)",
    )
    group.addoption(
        "--cleanrooms-emulator-keep-data",
        action="store_true",
        default=False,
        help="keep the emulator's data dir after the session and print its path",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Registers the reset marker."""
    config.addinivalue_line("markers", f"{RESET_MARKER}: reset the cleanrooms emulator before this test")


@pytest.fixture(scope="session")
def cleanrooms_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A running emulator for the test session, with the AWS environment pointed at it."""
    keep = request.config.getoption("--cleanrooms-emulator-keep-data")
    data_dir = Path(tempfile.mkdtemp(prefix="cleanrooms-emulator-data-"))
    emulator = start(data_dir=data_dir, binary=request.config.getoption("--cleanrooms-emulator-binary"))
    saved = {name: os.environ.get(name) for name in _SESSION_ENVIRONMENT}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(
        AWS_ENDPOINT_URL=emulator.url,
        AWS_ACCESS_KEY_ID=DEFAULT_ACCOUNT,
        AWS_SECRET_ACCESS_KEY="cleanrooms-emulator-secret",
        AWS_DEFAULT_REGION=saved["AWS_DEFAULT_REGION"] or DEFAULT_REGION,
        AWS_REGION=saved["AWS_REGION"] or saved["AWS_DEFAULT_REGION"] or DEFAULT_REGION,
    )
    try:
        yield emulator
    finally:
        emulator.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if keep:
            request.config.stash[_KEPT] = f"cleanrooms-emulator data dir kept: {data_dir} (log: {emulator.log_path})"
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
            emulator.log_path.unlink(missing_ok=True)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Says where the kept data dir is (``--cleanrooms-emulator-keep-data``)."""
    kept = config.stash.get(_KEPT, None)
    if kept:
        terminalreporter.write_line(kept)


@pytest.fixture(scope="session")
def aws_client(cleanrooms_emulator: Emulator) -> Callable[..., Any]:
    """``aws_client(service, account=DEFAULT_ACCOUNT, region=DEFAULT_REGION, **kwargs)`` → a boto3
    client of the session's emulator."""
    return cleanrooms_emulator.client


@pytest.fixture(autouse=True)
def _cleanrooms_emulator_reset(request: pytest.FixtureRequest) -> None:
    """Resets the emulator before tests marked ``cleanrooms_emulator_reset``."""
    if request.node.get_closest_marker(RESET_MARKER) is not None:
        request.getfixturevalue("cleanrooms_emulator").reset()
