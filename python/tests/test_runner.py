"""Tests of the session runner (cleanrooms_emulator_spark.runner): how a calculation's code runs
(trailing expression, output capture, tracebacks of the user's lines, cancellation) and, when the
Spark runtime is installed, the JSON-lines protocol of a real runner process with its embedded
Sail server (on Sail's in-memory catalog, without an emulator).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cleanrooms_emulator_spark import runner  # noqa: E402


def test_a_trailing_expression_is_the_result_and_prints_are_captured():
    ns: dict = {}
    reply = runner.run_code(ns, "x = 20\nprint('hello')\nx * 2 + 2")
    assert reply == {"status": "COMPLETED", "stdout": "hello\n", "stderr": "", "result": "42", "error": None}
    assert runner.run_code(ns, "x")["result"] == "20", "state is kept across calculations"
    assert runner.run_code(ns, "y = x")["result"] is None
    assert runner.run_code(ns, "None")["result"] is None


def test_failures_show_only_the_users_frames():
    reply = runner.run_code({}, "def f():\n    return 1 / 0\n\nf()")
    assert reply["status"] == "FAILED"
    assert reply["error"] == "ZeroDivisionError: division by zero"
    assert 'File "<calculation>", line 4, in <module>' in reply["stderr"]
    assert 'File "<calculation>", line 2, in f' in reply["stderr"]
    assert "runner.py" not in reply["stderr"]


def test_syntax_errors_fail_the_calculation():
    reply = runner.run_code({}, "def (:")
    assert reply["status"] == "FAILED"
    assert reply["error"].startswith("SyntaxError")


def test_stderr_writes_are_kept_before_the_traceback():
    reply = runner.run_code({}, "import sys\nprint('warn', file=sys.stderr)\nraise ValueError('boom')")
    assert reply["stderr"].startswith("warn\n")
    assert reply["error"] == "ValueError: boom"


def test_cancel_interrupts_only_a_running_calculation():
    interrupter = runner.Interrupter()
    interrupter.install()
    interrupter.cancel()  # nothing runs: no effect
    cancelled = []
    timer = threading.Timer(0.3, interrupter.cancel)
    timer.start()
    reply = runner.run_code({}, "import time\nwhile True:\n    time.sleep(0.01)", interrupter, lambda: cancelled.append(True))
    timer.join()
    assert reply["status"] == "CANCELED"
    assert cancelled == [True]
    assert runner.run_code({}, "1", interrupter)["status"] == "COMPLETED"


def test_sc_says_what_to_use_instead():
    reply = runner.run_code({"sc": runner.NoSparkContext()}, "sc.parallelize([1])")
    assert reply["status"] == "FAILED"
    assert "SparkContext" in reply["error"] and "DataFrames" in reply["error"]


needs_spark = pytest.mark.skipif(
    importlib.util.find_spec("pysail") is None and os.environ.get("CLEANROOMS_EMULATOR_REQUIRE_SPARK") != "1",
    reason="the Spark runtime (python/requirements-spark.txt) is not installed",
)


def _events(proc):
    for line in proc.stdout:
        yield json.loads(line)


@needs_spark
def test_a_runner_process_speaks_json_lines_with_spark():
    env = {
        **os.environ,
        "RUST_LOG": "warn",
        "CLEANROOMS_EMULATOR_SPARK_CONF": json.dumps({"spark.sql.session.timeZone": "Asia/Tokyo", "spark.sql.ansi.enabled": "false"}),
        "CLEANROOMS_EMULATOR_PARENT_PID": str(os.getpid()),
    }
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cleanrooms_emulator_spark" / "runner.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        events = _events(proc)
        assert next(events)["event"] == "ready"

        def run(code, id_):
            proc.stdin.write(json.dumps({"op": "run", "id": id_, "code": code}) + "\n")
            proc.stdin.flush()

        run("spark.sql('SELECT CAST(from_unixtime(0) AS STRING) AS t, 1/0 AS z').collect()[0]", "1")
        done = next(events)
        assert (done["event"], done["id"], done["status"]) == ("done", "1", "COMPLETED")
        assert done["result"] == "Row(t='1970-01-01 09:00:00', z=None)"
        run("spark.range(10**12).selectExpr('sum(hash(id))').collect()", "2")
        time.sleep(1)
        proc.stdin.write(json.dumps({"op": "cancel"}) + "\n")
        proc.stdin.flush()
        assert next(events)["status"] == "CANCELED"
        run("print(spark.range(3).count())", "3")
        assert next(events)["stdout"] == "3\n"
        proc.stdin.close()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
