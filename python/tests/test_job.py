"""Tests of the protected-job harness (cleanrooms_emulator_spark.job): what an entry point may
return, the disallowed-column check, and, when the Spark runtime is installed, a whole job
process on Sail over Parquet tables, with its report and written results.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cleanrooms_emulator_spark import job  # noqa: E402

needs_spark = pytest.mark.skipif(
    importlib.util.find_spec("pysail") is None and os.environ.get("CLEANROOMS_EMULATOR_REQUIRE_SPARK") != "1",
    reason="the Spark runtime (python/requirements-spark.txt) is not installed",
)


class FakeFrame:
    """Enough of a DataFrame for the checks: columns and a writer."""

    def __init__(self, *columns: str) -> None:
        self.columns = list(columns)
        self.write = object()


def test_results_must_be_named_dataframes():
    df = FakeFrame("a")
    assert job.results_of({"results": {"out": df}}) == {"out": df}
    assert job.results_of(df) == {"output": df}
    for bad in (None, {}, {"results": {}}, {"results": {"x": 1}}, {"results": {"bad/name": df}}):
        with pytest.raises(job.JobFailure) as e:
            job.results_of(bad)
        assert e.value.code == "MALFORMED_SCRIPT"


def test_disallowed_columns_are_refused_whatever_their_case():
    job.check_columns({"ok": FakeFrame("user_id", "total")}, ["email"])
    with pytest.raises(job.JobFailure) as e:
        job.check_columns({"leak": FakeFrame("user_id", "EMAIL")}, ["email"])
    assert e.value.code == "INVALID_RESOURCE" and "'EMAIL'" in str(e.value) and "'leak'" in str(e.value)


def test_an_entry_point_without_entrypoint_or_that_cannot_load_is_malformed(tmp_path):
    script = tmp_path / "main.py"
    script.write_text("x = 1\n")
    with pytest.raises(job.JobFailure, match="entrypoint"):
        job.load_entrypoint(str(script), [])
    script.write_text("import no_such_module_anywhere\n")
    with pytest.raises(job.JobFailure, match="no_such_module_anywhere") as e:
        job.load_entrypoint(str(script), [])
    assert e.value.code == "MALFORMED_SCRIPT"


@needs_spark
def test_a_job_process_reads_its_tables_and_writes_its_results(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = tmp_path / "tables"
    (tables / "people").mkdir(parents=True)
    pq.write_table(pa.table({"name": ["a", "b", "c"], "age": [30, 40, 50]}), tables / "people" / "part-0.parquet")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "thresholds.py").write_text("def cut(p):\n    return int(p['min_age'])\n")
    script = tmp_path / "main.py"
    script.write_text(
        "from thresholds import cut\n"
        "def entrypoint(context):\n"
        "    people = context['referencedTables']['people']\n"
        "    old = people.where(people.age >= cut(context['analysisParameters']))\n"
        "    return {'results': {'old': old.select('name'), 'count': old.groupBy().count()}}\n"
    )
    spec = {
        "entryPoint": str(script),
        "additionalArtifacts": [str(tmp_path / "lib" / "thresholds.py")],
        "tables": {"people": str(tables / "people")},
        "disallowedOutputColumns": ["age"],
        "parameters": {"min_age": "40"},
        "sparkConf": {"spark.sql.shuffle.partitions": "2"},
        "resultFormat": "CSV",
        "outputDir": str(tmp_path / "out"),
        "report": str(tmp_path / "report.json"),
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run([sys.executable, str(ROOT / "cleanrooms_emulator_spark" / "job.py"), str(tmp_path / "spec.json")],
                   check=True, timeout=120, cwd=tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "SUCCESS", report
    assert sorted((o["name"], o["rows"]) for o in report["outputs"]) == [("count", 1), ("old", 2)]
    names = []
    for f in sorted((tmp_path / "out" / "old").glob("*.csv")):
        rows = list(csv.reader(f.open()))
        if rows:
            assert rows[0] == ["name"]
            names += [r[0] for r in rows[1:]]
    assert sorted(names) == ["b", "c"]

    # Returning a disallowed column fails the job without writing it.
    script.write_text("def entrypoint(context):\n    return {'results': {'ages': context['referencedTables']['people']}}\n")
    spec["outputDir"] = str(tmp_path / "out2")
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run([sys.executable, str(ROOT / "cleanrooms_emulator_spark" / "job.py"), str(tmp_path / "spec.json")],
                   check=True, timeout=120, cwd=tmp_path)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "FAILED" and report["code"] == "INVALID_RESOURCE" and "'age'" in report["error"]
    assert not (tmp_path / "out2").exists()
