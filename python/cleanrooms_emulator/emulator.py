"""Running the emulator binary as a child process: find it, start it on a free port, wait until
it serves, talk to its admin API, stop it.

The binary is the one the wheel installed into this interpreter's environment (its scripts
folder), unless ``binary=`` or ``CLEANROOMS_EMULATOR_BIN`` names another; the command on PATH is
the last resort. Athena Spark sessions and PySpark jobs run on the Python beside the binary
(the environment the wheel was installed into), else on this interpreter when it has the Spark
runtime (the ``[spark]`` extra).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Mapping

DEFAULT_ACCOUNT = "111111111111"
"""The account of clients made without one (a 12-digit access key *is* the account id)."""

DEFAULT_REGION = "us-east-1"
"""The region of clients made without one."""

_SECRET = "cleanrooms-emulator-secret"
_LISTENING = re.compile(r"listening on (http://[^\s()]+)")
_COMMAND = "cleanrooms-emulator"


class EmulatorError(RuntimeError):
    """The emulator could not be found, did not start, or its admin API refused a call."""


def binary_path(binary: str | os.PathLike[str] | None = None) -> Path:
    """The emulator executable: ``binary`` if given, else ``CLEANROOMS_EMULATOR_BIN``, else the one
    installed into this interpreter's environment, else ``cleanrooms-emulator`` on PATH."""
    if binary:
        path = Path(binary)
    elif os.environ.get("CLEANROOMS_EMULATOR_BIN"):
        path = Path(os.environ["CLEANROOMS_EMULATOR_BIN"])
    else:
        candidates = [Path(sysconfig.get_path("scripts")) / _COMMAND, Path(sys.executable).parent / _COMMAND]
        found = next((c for c in candidates if c.is_file()), None) or shutil.which(_COMMAND)
        if not found:
            raise EmulatorError(
                "the cleanrooms-emulator binary was not found: install the cleanrooms-emulator wheel "
                "into this environment, or pass binary= / set CLEANROOMS_EMULATOR_BIN"
            )
        path = Path(found)
    if not path.is_file():
        raise EmulatorError(f"the cleanrooms-emulator binary {path} does not exist")
    return path


def _flag_arguments(flags: Mapping[str, Any]) -> list[str]:
    """``max_spark_sessions=2`` → ``--max-spark-sessions 2``; ``True`` → a bare flag; ``None`` and
    ``False`` leave the flag out."""
    arguments: list[str] = []
    for name, value in flags.items():
        if value is None or value is False:
            continue
        option = "--" + name.replace("_", "-")
        arguments += [option] if value is True else [option, str(value)]
    return arguments


class Emulator:
    """A running emulator: its ``url``, boto3 clients for any account, and the admin calls tests
    need (``reset``, ``advance_clock``). Stop it with ``stop()`` or use it as a context manager;
    it is stopped when the Python process exits in any case."""

    def __init__(self, process: subprocess.Popen, url: str, data_dir: Path | None, log_path: Path):
        self.process = process
        self.url = url
        self.data_dir = data_dir
        self.log_path = log_path
        self._clients: dict[tuple, Any] = {}
        atexit.register(self.stop)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process.poll() is None

    def client(self, service: str, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` signed as ``account`` (its access key is the account id)
        with the endpoint set to this emulator. Extra keyword arguments go to ``boto3.client``
        (e.g. ``config=``); clients without them are cached per (service, account, region)."""
        import boto3

        key = (service, account, region)
        if not kwargs and key in self._clients:
            return self._clients[key]
        made = boto3.session.Session().client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=account,
            aws_secret_access_key=_SECRET,
            **kwargs,
        )
        if not kwargs:
            self._clients[key] = made
        return made

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Calls the admin API (``/_emulator/...``) and returns its decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise EmulatorError(f"{method} {path} answered {error.code}: {error.read().decode(errors='replace')}") from None
        return json.loads(raw) if raw else None

    def health(self) -> dict:
        """``GET /_emulator/health``: status, version and services."""
        return self.admin("GET", "/_emulator/health")

    def reset(self) -> None:
        """Cancels running analyses and wipes every account's state and data (the clock too)."""
        self.admin("POST", "/_emulator/reset")

    def advance_clock(self, seconds: float) -> dict:
        """Moves the emulator's clock forward by ``seconds`` (timestamps, expiries and retention
        use it); returns ``{"now": …, "offsetSeconds": …}``."""
        return self.admin("POST", "/_emulator/clock", {"advanceSeconds": seconds})

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (running analyses get the shutdown grace), SIGKILL after ``timeout`` seconds;
        returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        atexit.unregister(self.stop)
        return self.process.returncode

    def log(self) -> str:
        """What the emulator has printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Emulator(url={self.url!r}, data_dir={str(self.data_dir) if self.data_dir else None!r}, running={self.running})"


def start(
    port: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    binary: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    spark_python: str | os.PathLike[str] | None = None,
    startup_timeout: float = 60,
    env: Mapping[str, str] | None = None,
    **flags: Any,
) -> Emulator:
    """Starts the emulator and returns once it serves requests.

    ``port=0`` picks a free port; ``data_dir=None`` uses a temporary data dir removed when it
    stops (``--ephemeral``), a path keeps state across starts. Other keyword arguments become
    command-line flags of ``cleanrooms-emulator serve`` (``default_account="…"``,
    ``max_spark_sessions=2``, …; see ``cleanrooms-emulator serve --help``). Spark work runs on
    ``spark_python``, by default the Python beside the binary (the environment the wheel was
    installed into), else this interpreter when it has the Spark runtime (``[spark]``).
    """
    executable = binary_path(binary)
    arguments = [str(executable), "serve", "--host", host, "--port", str(port)]
    if data_dir is None:
        arguments.append("--ephemeral")
    else:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        arguments += ["--data-dir", str(data_dir)]
    # The binary uses the Python beside it (the environment the wheel was installed into); when
    # there is none (e.g. `pip install --user`), this interpreter, if it has the Spark runtime.
    beside = any((executable.parent / name).is_file() for name in ("python3", "python"))
    if spark_python is None and not beside and importlib.util.find_spec("pysail") is not None:
        spark_python = sys.executable
    if spark_python is not None:
        arguments += ["--spark-python", str(spark_python)]
    arguments += _flag_arguments(flags)

    handle, log_name = tempfile.mkstemp(prefix="cleanrooms-emulator-", suffix=".log")
    log_path = Path(log_name)
    child_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    with os.fdopen(handle, "wb") as log:
        process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=child_env)
    deadline = time.monotonic() + startup_timeout
    while True:
        text = log_path.read_text(errors="replace")
        match = _LISTENING.search(text)
        if match:
            break
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            why = f"exited with code {process.returncode}" if process.returncode is not None else "timed out"
            raise EmulatorError(f"cleanrooms-emulator did not start ({why}): {' '.join(arguments)}\n{text[-4000:]}")
        time.sleep(0.02)
    url = match.group(1).rstrip(".,;/")
    data = re.search(r"data dir: ([^)]+)\)", text)
    emulator = Emulator(process, url, Path(data.group(1)) if data else (Path(data_dir) if data_dir else None), log_path)
    return emulator
