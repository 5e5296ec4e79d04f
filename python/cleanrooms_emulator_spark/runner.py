"""One Athena for Apache Spark session: an embedded Sail Spark Connect server, a ``spark``
session bound in a Python namespace that lives as long as the session, and a JSON-lines
protocol with the emulator.

The emulator starts ``python runner.py`` with the environment that points Sail's Glue catalog
and S3 at the emulator (``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``, ``AWS_REGION``, the caller's
account as access key, ``SAIL_CATALOG__LIST``, ``SAIL_*`` server settings) and the session's
Spark configuration as JSON in ``CLEANROOMS_EMULATOR_SPARK_CONF``.

Protocol (one JSON object per line; replies go to the process's original stdout, which is
reserved for them: anything else written to fd 1 or fd 2 ends up in the runner's log):

* runner → emulator ``{"event": "ready", "seconds": …}`` once Spark answers, or
  ``{"event": "failed", "reason": …}`` when it cannot start (then it exits);
* emulator → runner ``{"op": "run", "id": …, "code": …}``; the runner answers
  ``{"event": "done", "id", "status": "COMPLETED"|"FAILED"|"CANCELED", "stdout", "stderr",
  "result", "error", "millis"}``; ``result`` is the ``repr`` of a trailing expression (as in a
  notebook cell), ``stderr`` ends with the traceback filtered to the calculation's own lines,
  ``error`` is its last line;
* emulator → runner ``{"op": "cancel"}`` interrupts the running calculation (SIGUSR1 to the main
  thread, which raises inside the user's code); SIGUSR1 from outside does the same. SIGINT is
  never used: it would stop the embedded server;
* end of input stops Spark and the server and exits.

The process asks the kernel to kill it when its parent (the emulator) dies.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import io
import json
import linecache
import os
import queue
import signal
import sys
import threading
import time
import traceback
from typing import Any, Callable

#: The file name calculation code runs under; tracebacks keep only its frames.
FILENAME = "<calculation>"

#: How to install the runtime, for failure messages.
INSTALL_HINT = (
    "install the Spark runtime with `{python} -m pip install -r python/requirements-spark.txt` "
    "(pysail, pyspark-client) or point the emulator at a Python that has it with --spark-python "
    "/ CLEANROOMS_EMULATOR_SPARK_PYTHON"
)


class CalculationCanceled(BaseException):
    """Raised inside a calculation when StopCalculationExecution interrupts it."""


class NoSparkContext:
    """What ``sc`` is bound to: Spark Connect has no SparkContext, so every use says so."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"sc.{name}: SparkContext and RDDs are not available in cleanrooms-emulator's Spark "
            "sessions (they run on Spark Connect); use the `spark` session and DataFrames"
        )

    def __repr__(self) -> str:
        return "<no SparkContext: use spark>"


class Interrupter:
    """Delivers cancellation to the main thread while a calculation runs, and only then."""

    def __init__(self) -> None:
        self.running = False
        self.main_thread = threading.main_thread().ident

    def install(self) -> None:
        signal.signal(signal.SIGUSR1, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.running:
            self.running = False
            raise CalculationCanceled()

    def cancel(self) -> None:
        """Interrupts the running calculation, if any (called from another thread)."""
        if self.running and self.main_thread is not None:
            signal.pthread_kill(self.main_thread, signal.SIGUSR1)


def split_trailing_expression(code: str) -> tuple[ast.Module, ast.Expression | None]:
    """The statements of ``code`` and, like a notebook cell, its trailing expression apart."""
    tree = ast.parse(code, filename=FILENAME, mode="exec")
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body.pop()
        return tree, ast.Expression(body=last.value)
    return tree, None


def user_traceback(error: BaseException) -> str:
    """The traceback of ``error`` with only the calculation's frames (line numbers are the
    user's), or just the exception line when the error did not pass through user code."""
    te = traceback.TracebackException.from_exception(error)
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if f.filename == FILENAME])
    te.__cause__ = None
    te.__context__ = None
    return "".join(te.format())


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def run_code(
    namespace: dict[str, Any],
    code: str,
    interrupter: Interrupter | None = None,
    on_cancel: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Runs one calculation in ``namespace`` and reports its outcome (without id and timing)."""
    out, err = io.StringIO(), io.StringIO()
    status, result, error = "COMPLETED", None, None
    lines = code.splitlines(keepends=True)
    linecache.cache[FILENAME] = (len(code), None, lines, FILENAME)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                if interrupter:
                    interrupter.running = True
                body, trailing = split_trailing_expression(code)
                exec(compile(body, FILENAME, "exec"), namespace)
                if trailing is not None:
                    value = eval(compile(trailing, FILENAME, "eval"), namespace)
                    if value is not None:
                        result = repr(value)
            finally:
                if interrupter:
                    interrupter.running = False
    except CalculationCanceled:
        status, error = "CANCELED", "Calculation was canceled."
        if on_cancel:
            with contextlib.suppress(Exception):
                on_cancel()
    except BaseException as e:  # noqa: BLE001 - the user's code may raise anything
        status = "FAILED"
        text = user_traceback(e)
        err.write(text)
        error = last_line(text)
    return {
        "status": status,
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "result": result,
        "error": error,
    }


def die_with_parent() -> None:
    """Asks the kernel to SIGKILL this process when the emulator dies (Linux), and exits now if
    the emulator is already gone."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    parent = os.environ.get("CLEANROOMS_EMULATOR_PARENT_PID")
    if parent and parent.isdigit() and os.getppid() != int(parent):
        os._exit(0)


class Channel:
    """The reserved protocol stream (the original stdout); fd 1 and fd 2 both go to the log."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._lock:
            self._out.write(json.dumps(message) + "\n")
            self._out.flush()


def start_spark(conf: dict[str, str]):
    """Starts the embedded Sail server and a Spark session on it with ``conf`` applied."""
    from pysail.spark import SparkConnectServer
    from pyspark.sql import SparkSession

    server = SparkConnectServer("127.0.0.1", 0)
    server.start(background=True)
    host, port = server.listening_address
    spark = SparkSession.builder.remote(f"sc://{host}:{port}").getOrCreate()
    for key, value in conf.items():
        try:
            spark.conf.set(key, value)
        except Exception as e:  # noqa: BLE001 - an unsettable property is stored and echoed only
            print(f"spark property {key} not applied: {e}", file=sys.stderr)
    spark.sql("SELECT 1").collect()
    return server, spark


def read_requests(requests: "queue.Queue[dict | None]", interrupter: Interrupter) -> None:
    """Reads the emulator's requests; cancellations act at once, runs are queued."""
    for raw in sys.stdin:
        raw = raw.strip()
        if not raw:
            continue
        try:
            message = json.loads(raw)
        except ValueError:
            print(f"runner: ignoring a malformed request: {raw[:200]}", file=sys.stderr)
            continue
        if message.get("op") == "cancel":
            interrupter.cancel()
        else:
            requests.put(message)
    requests.put(None)


def main() -> int:
    die_with_parent()
    channel = Channel()
    started = time.monotonic()
    try:
        conf = json.loads(os.environ.get("CLEANROOMS_EMULATOR_SPARK_CONF") or "{}")
    except ValueError:
        conf = {}
    try:
        server, spark = start_spark(conf)
    except ImportError as e:
        channel.send(
            {
                "event": "failed",
                "reason": f"The Spark runtime is not installed in {sys.executable} ({e}): "
                + INSTALL_HINT.format(python=sys.executable),
            }
        )
        return 1
    except Exception as e:  # noqa: BLE001 - any start-up failure becomes the session's reason
        channel.send({"event": "failed", "reason": f"Spark did not start: {last_line(str(e)) or e!r}"})
        return 1

    interrupter = Interrupter()
    interrupter.install()
    namespace: dict[str, Any] = {"__name__": "__main__", "spark": spark, "sc": NoSparkContext()}
    requests: "queue.Queue[dict | None]" = queue.Queue()
    threading.Thread(target=read_requests, args=(requests, interrupter), daemon=True).start()
    channel.send({"event": "ready", "seconds": round(time.monotonic() - started, 3)})

    while True:
        message = requests.get()
        if message is None:
            break
        if message.get("op") != "run":
            continue
        begun = time.monotonic()
        reply = run_code(namespace, str(message.get("code", "")), interrupter, spark.interruptAll)
        reply.update(event="done", id=message.get("id"), millis=int((time.monotonic() - begun) * 1000))
        channel.send(reply)

    # Stopping the client before the server avoids a hang at interpreter exit.
    with contextlib.suppress(Exception):
        spark.stop()
    with contextlib.suppress(Exception):
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
