"""pytest fixtures for the boto3 acceptance suite: run the emulator binary, hand out clients.

Environment:
  CLEANROOMS_EMULATOR_BIN              emulator binary (default: <repo>/target/debug/cleanrooms-emulator)
  CLEANROOMS_EMULATOR_STARTUP_TIMEOUT  seconds to wait for the "listening on" line (default 60)
  CLEANROOMS_EMULATOR_SPARK_PYTHON     interpreter of the servers' Athena Spark sessions (default: the
                                       one running pytest)

Fixtures:
  emulator        session-scoped shared server (temp data dir), started on first use only, so
                  tests that do not need a server (test_shapes_validator.py) run without a binary
  reset           POST /_emulator/reset on the shared server before the test (not autouse)
  client          factory: client(service, account=..., region=..., validate=True) -> boto3 client
                  for the shared server; access key = account id; every call's response is checked
                  against the model (shapes.install_response_checks)
  fresh_emulator  function-scoped server of the test's own (own data dir), for restart / kill -9 /
                  clock tests, so the shared one is not disturbed
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # helpers and shapes import the same way under any --import-mode
    sys.path.insert(0, str(HERE))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

import shapes  # noqa: E402

REPO_ROOT = HERE.parents[1]
DEFAULT_BINARY = REPO_ROOT / "target" / "debug" / "cleanrooms-emulator"
DEFAULT_ACCOUNT = "111111111111"
DEFAULT_REGION = "us-east-1"
DUMMY_SECRET = "emulator-dummy-secret-key"
_LISTENING = re.compile(r"listening on .*?(http://\S+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _isolate_aws_environment() -> None:
    """Keep the developer's AWS config, profiles and proxies out of the suite."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_MAX_ATTEMPTS",
        "AWS_RETRY_MODE",
    ):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        os.environ[name] = ",".join(filter(None, [current, "127.0.0.1", "localhost"]))


_isolate_aws_environment()
_BOTO_SESSION = boto3.session.Session(region_name=DEFAULT_REGION)


def binary_path() -> Path:
    return Path(os.environ.get("CLEANROOMS_EMULATOR_BIN") or DEFAULT_BINARY)


class EmulatorStartError(RuntimeError):
    pass


class Emulator:
    """One emulator process: ``serve --port 0 --data-dir DIR``, output captured to a log file.

    ``start()`` waits for the ``cleanrooms-emulator listening on http://...`` line; ``stop()`` sends
    SIGTERM and returns the exit code; ``kill9()`` sends SIGKILL; ``restart()`` stops and starts
    again on the same data dir (the port, hence ``url``, changes).
    """

    def __init__(self, data_dir: Path, log_path: Path, binary: Path | None = None, extra_args: tuple[str, ...] = ()):
        self.binary = Path(binary or binary_path())
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.extra_args = tuple(extra_args)
        self.url: str | None = None
        self.proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._clients: dict[tuple, Any] = {}
        self.starts = 0

    # -- process lifecycle -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float | None = None) -> "Emulator":
        if self.running:
            raise RuntimeError("emulator already running")
        if not self.binary.is_file():
            raise EmulatorStartError(
                f"emulator binary not found at {self.binary}; run `cargo build` in {REPO_ROOT} "
                f"or set CLEANROOMS_EMULATOR_BIN"
            )
        timeout = timeout or float(os.environ.get("CLEANROOMS_EMULATOR_STARTUP_TIMEOUT", "60"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEANROOMS_EMULATOR_")}
        # Athena Spark sessions run on this interpreter unless told otherwise (test_athena_*).
        env["CLEANROOMS_EMULATOR_SPARK_PYTHON"] = os.environ.get("CLEANROOMS_EMULATOR_SPARK_PYTHON") or sys.executable
        env.setdefault("RUST_BACKTRACE", "1")
        env["NO_COLOR"] = "1"
        # A short shutdown grace (default 30 s) keeps stop() within its timeout when a test
        # leaves an analysis running; tests of the grace itself pass their own.
        env["CLEANROOMS_EMULATOR_SHUTDOWN_GRACE_SECONDS"] = "3"
        args = [str(self.binary), "serve", "--port", "0", "--data-dir", str(self.data_dir), *self.extra_args]
        self.starts += 1
        log = open(self.log_path, "ab", buffering=0)
        log.write(f"\n=== start #{self.starts}: {' '.join(args)}\n".encode())
        self.url = None
        found = threading.Event()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env)
        stdout = self.proc.stdout

        def pump() -> None:
            # Drain stdout for the life of the process (the server may log there) into the log.
            with log:
                for raw in iter(stdout.readline, b""):
                    log.write(raw)
                    if self.url is None:
                        match = _LISTENING.search(_ANSI.sub("", raw.decode("utf-8", "replace")))
                        if match:
                            self.url = match.group(1).rstrip(".,;)/")
                            found.set()
                found.set()

        self._reader = threading.Thread(target=pump, name="emulator-stdout", daemon=True)
        self._reader.start()
        found.wait(timeout)
        if self.url is None:
            try:  # stdout closed: give the process a moment to be reaped
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                pass
            if self.proc.poll() is not None:
                self._abort_start("the process exited before printing 'listening on http://...'")
            self._abort_start(f"no 'listening on http://...' line within {timeout:.0f}s")
        deadline = time.monotonic() + 10
        while True:  # the line promises readiness; confirm it once
            try:
                status, body, _ = self.admin("GET", "/_emulator/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or not self.running:
                self._abort_start(f"{self.url}/_emulator/health did not answer 200")
            time.sleep(0.05)
        return self

    def _abort_start(self, why: str) -> None:
        code = self.proc.poll() if self.proc else None
        if self.proc and code is None:
            self.proc.kill()
            self.proc.wait(10)
            code = self.proc.returncode
        if self._reader:
            self._reader.join(5)
        log = self.log_text()
        message = f"emulator failed to start: {why} (exit code {code}); log {self.log_path}:\n{log[-20000:]}"
        print(message, file=sys.stderr)
        raise EmulatorStartError(message)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM and wait; returns the exit code (None if it was not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self._finish()
                raise AssertionError(f"emulator did not exit within {timeout}s of SIGTERM; log:\n{self.log_tail()}")
        return self._finish()

    def kill9(self) -> int:
        """SIGKILL, no chance to flush or clean up."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        return self._finish()

    def restart(self) -> "Emulator":
        self.stop()
        return self.start()

    def _finish(self) -> int:
        assert self.proc is not None
        code = self.proc.returncode
        if self._reader:
            self._reader.join(5)
        self._clients.clear()
        return code

    # -- logs ---------------------------------------------------------------------------------

    def log_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # -- clients and admin --------------------------------------------------------------------

    def client(
        self,
        service: str,
        account: str = DEFAULT_ACCOUNT,
        region: str = DEFAULT_REGION,
        validate: bool = True,
        access_key: str | None = None,
        check_responses: bool = True,
    ):
        """A boto3 client for this server; access key = account id (or ``access_key``)."""
        if self.url is None:
            raise RuntimeError("emulator not started")
        key = (self.url, service, access_key or account, region, validate, check_responses)
        if key not in self._clients:
            client = _BOTO_SESSION.client(
                service,
                region_name=region,
                endpoint_url=self.url,
                aws_access_key_id=access_key or account,
                aws_secret_access_key=DUMMY_SECRET,
                config=Config(
                    parameter_validation=validate,
                    # one attempt, no retries: a 5xx must fail the test, not be retried away
                    retries={"total_max_attempts": 1},
                    connect_timeout=5,
                    read_timeout=60,
                ),
            )
            if check_responses:
                shapes.install_response_checks(client)
            self._clients[key] = client
        return self._clients[key]

    def admin(self, method: str, path: str, body: Any = None, raw: bytes | None = None, timeout: float = 30):
        """Unsigned admin call; returns (status, parsed JSON body or None, headers)."""
        assert self.url is not None
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, payload, headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, payload, headers = error.code, error.read(), error.headers
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return status, parsed, headers

    def reset(self) -> None:
        status, body, _ = self.admin("POST", "/_emulator/reset")
        assert status in (200, 204), f"POST /_emulator/reset answered {status}: {body}"


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """The shared server, started once per session on first use."""
    root = tmp_path_factory.mktemp("emulator")
    server = Emulator(root / "data", root / "server.log")
    try:
        server.start()
    except EmulatorStartError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def reset(emulator):
    emulator.reset()
    return emulator


@pytest.fixture
def client(emulator):
    """client(service, account="111111111111", region="us-east-1", validate=True, ...)."""
    return emulator.client


@pytest.fixture
def fresh_emulator(tmp_path):
    """A server of the test's own with its own data dir; stopped after the test."""
    server = Emulator(tmp_path / "data", tmp_path / "server.log")
    try:
        server.start()
    except EmulatorStartError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    if server.running:
        try:
            server.stop()
        except AssertionError:
            pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the tail of the server log to failing tests that used a server."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for name in ("fresh_emulator", "emulator"):
        server = getattr(item, "funcargs", {}).get(name)
        if isinstance(server, Emulator):
            report.sections.append((f"{name} log tail ({server.log_path})", server.log_tail()))
