"""One PySpark protected job: a one-shot process that starts an embedded Sail Spark Connect
server, loads the collaboration's tables the emulator prepared for the job, runs the analysis
template's ``entrypoint(context)`` and writes what it returns.

The emulator starts ``python job.py SPEC`` where SPEC is a JSON file::

    {"entryPoint": "/abs/path/script.py",          # the template's entry point, copied locally
     "additionalArtifacts": ["/abs/path/lib.py"],  # importable beside the entry point
     "tables": {"name": "/abs/dir/of/parquet"},   # each referenced table, allowed columns only
     "disallowedOutputColumns": ["email"],         # may not appear in any returned DataFrame
     "parameters": {"k": "v"},                     # the job's parameters
     "sparkConf": {"spark.sql.shuffle.partitions": "8"},
     "resultFormat": "CSV" | "PARQUET",
     "outputDir": "/abs/dir",                      # one folder per returned DataFrame
     "report": "/abs/path/report.json"}

``context`` is a dict with ``sparkSession``, ``referencedTables`` (name → DataFrame) and
``analysisParameters``. ``entrypoint`` returns ``{"results": {name: DataFrame, ...}}`` (a single
DataFrame is accepted as ``{"output": df}``). The report is ``{"status": "SUCCESS", "outputs":
[{"name", "path", "rows"}], "millis"}`` or ``{"status": "FAILED", "code", "error"}``: ``code`` is
``MALFORMED_SCRIPT`` for the script's own failures and ``INVALID_RESOURCE`` when a returned
DataFrame carries a disallowed output column.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

try:  # as part of the package (tests) or as a file beside runner.py (the emulator)
    from . import runner  # type: ignore[no-redef]
except ImportError:  # pragma: no cover - exercised by the emulator
    import runner  # type: ignore[no-redef]

#: A name a returned DataFrame may be written under.
NAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


class JobFailure(Exception):
    """A failure with its ``ProtectedJobError`` code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def load_entrypoint(entry_point: str, additional: list[str]):
    """The ``entrypoint`` function of the script at ``entry_point``; additional artifacts'
    folders are importable."""
    for folder in {str(Path(p).parent) for p in [entry_point, *additional]}:
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("user_entrypoint", entry_point)
    if spec is None or spec.loader is None:
        raise JobFailure("MALFORMED_SCRIPT", f"The entry point {Path(entry_point).name} is not a Python script")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - the user's module may raise anything
        raise JobFailure("MALFORMED_SCRIPT", describe(e)) from e
    fn = getattr(module, "entrypoint", None)
    if not callable(fn):
        raise JobFailure("MALFORMED_SCRIPT", "The entry point script does not define a function entrypoint(context)")
    return fn


def describe(e: BaseException) -> str:
    """``Type: message`` of the user's exception."""
    return "".join(traceback.format_exception_only(type(e), e)).strip()


def results_of(value: Any) -> dict[str, Any]:
    """The named DataFrames an entry point returned."""
    if isinstance(value, dict) and "results" in value:
        value = value["results"]
    elif hasattr(value, "columns") and hasattr(value, "write"):
        value = {"output": value}
    if not isinstance(value, dict) or not value:
        raise JobFailure(
            "MALFORMED_SCRIPT",
            'entrypoint(context) must return {"results": {"name": DataFrame, ...}} with at least one DataFrame',
        )
    for name, df in value.items():
        if not isinstance(name, str) or not name or not set(name) <= NAME_OK:
            raise JobFailure("MALFORMED_SCRIPT", f"Result name {name!r} must be letters, digits, '_' or '-'")
        if not (hasattr(df, "columns") and hasattr(df, "write")):
            raise JobFailure("MALFORMED_SCRIPT", f"Result {name!r} is a {type(df).__name__}, not a DataFrame")
    return value


def check_columns(results: dict[str, Any], disallowed: list[str]) -> None:
    """Refuses a result that carries a disallowed output column (names compared case-blind)."""
    banned = {c.lower() for c in disallowed}
    for name, df in results.items():
        bad = [c for c in df.columns if c.lower() in banned]
        if bad:
            raise JobFailure(
                "INVALID_RESOURCE",
                f"Result {name!r} contains column {bad[0]!r}, which an analysis rule of the collaboration's tables disallows in outputs (disallowedOutputColumns)",
            )


def run_job(spark: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Runs the job ``spec`` describes on ``spark`` and returns its report."""
    begun = time.monotonic()
    try:
        entrypoint = load_entrypoint(spec["entryPoint"], spec.get("additionalArtifacts") or [])
        tables = {name: spark.read.parquet(path) for name, path in (spec.get("tables") or {}).items()}
        context = {
            "sparkSession": spark,
            "referencedTables": tables,
            "analysisParameters": dict(spec.get("parameters") or {}),
        }
        try:
            returned = entrypoint(context)
        except JobFailure:
            raise
        except Exception as e:  # noqa: BLE001 - the user's code may raise anything
            raise JobFailure("MALFORMED_SCRIPT", describe(e)) from e
        results = results_of(returned)
        check_columns(results, spec.get("disallowedOutputColumns") or [])
        outputs = []
        out_dir = Path(spec["outputDir"])
        fmt = (spec.get("resultFormat") or "CSV").upper()
        for name, df in results.items():
            path = out_dir / name
            try:
                writer = df.write.mode("overwrite")
                if fmt == "PARQUET":
                    writer.parquet(str(path))
                else:
                    writer.option("header", "true").csv(str(path))
                rows = df.count()
            except Exception as e:  # noqa: BLE001 - a lazy DataFrame fails when it is written
                raise JobFailure("MALFORMED_SCRIPT", runner.last_line(describe(e)) or describe(e)) from e
            outputs.append({"name": name, "path": str(path), "rows": rows})
        return {"status": "SUCCESS", "outputs": outputs, "millis": int((time.monotonic() - begun) * 1000)}
    except JobFailure as e:
        return {"status": "FAILED", "code": e.code, "error": str(e), "millis": int((time.monotonic() - begun) * 1000)}


def main(argv: list[str]) -> int:
    runner.die_with_parent()
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    report_path = Path(spec["report"])
    try:
        server, spark = runner.start_spark(dict(spec.get("sparkConf") or {}))
    except Exception as e:  # noqa: BLE001 - the job fails with the reason
        report = {"status": "FAILED", "code": "INTERNAL_ERROR", "error": f"Spark did not start: {e}"}
    else:
        report = run_job(spark, spec)
        for stop in (spark.stop, server.stop):
            try:
                stop()
            except Exception:  # noqa: BLE001 - stopping is best effort
                pass
    tmp = report_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report), encoding="utf-8")
    os.replace(tmp, report_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
