"""Athena for Apache Spark with the real runtime (Sail): the seed's boto3 flow, calculations and
their outputs in the emulator's S3, Python state across calculations, tracebacks, the BUSY rule,
cancel, terminate, SparkProperties applied (timeZone, ANSI), Glue tables read by spark.sql
(CSV, partitioned Parquet), the idle timeout on the emulator clock, restart, the session quota,
account isolation, and awswrangler's create_spark_session / run_spark_calculation.

Needs python/requirements-spark.txt in the interpreter running pytest (conftest hands it to the
servers); skipped otherwise, failed instead when CLEANROOMS_EMULATOR_REQUIRE_SPARK=1.
Spec: shared/spec/side-surfaces.md §A.2–A.6, shared/spec/spark-runtime.md.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from pathlib import Path

import pytest

from athena_helpers import (
    create_spark_work_group,
    list_pages,
    read_s3,
    run,
    spark_runtime,
    start_session,
    started_server,
    wait_calculation,
    wait_session,
)
from conftest import Emulator
from glue_helpers import new_account
from helpers import assert_error, call

pytestmark = pytest.mark.usefixtures("needs_spark")


@pytest.fixture
def needs_spark():
    spark_runtime()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """A server of this module's own (so Spark sessions do not count against the shared one's
    quota), allowing a few more live sessions than the default."""
    server = started_server(tmp_path_factory.mktemp("athena-spark"), "--max-spark-sessions", "8")
    yield server
    server.stop()


@pytest.fixture
def account():
    return new_account()


@pytest.fixture
def athena(emulator, account):
    client = emulator.client("athena", account=account)
    yield client
    # whatever a test leaves running is terminated, so a failure cannot exhaust the quota
    if emulator.running:
        for work_group in call(client, "ListWorkGroups")["WorkGroups"]:
            if work_group["Name"] != "primary":
                for summary in list_pages(client, "ListSessions", "Sessions", WorkGroup=work_group["Name"]):
                    client.terminate_session(SessionId=summary["SessionId"])


@pytest.fixture
def s3(emulator, account):
    return emulator.client("s3", account=account)


@pytest.fixture
def glue(emulator, account):
    return emulator.client("glue", account=account)


@pytest.fixture
def bucket(s3):
    name = f"spark-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def work_group(athena, account, bucket):
    return create_spark_work_group(athena, account, output=f"s3://{bucket}/athena")


@pytest.fixture
def session(athena, work_group):
    session_id = start_session(athena, work_group)
    assert wait_session(athena, session_id)["State"] == "IDLE"
    yield session_id
    athena.terminate_session(SessionId=session_id)


def test_seed_flow_start_session_with_spark_properties_and_calculate(athena, s3, work_group, bucket):
    properties = {"spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "4", "custom.key": "echoed"}
    session_id = start_session(athena, work_group, properties, SessionIdleTimeoutInMinutes=20)
    status = wait_session(athena, session_id)
    assert status["State"] == "IDLE", status
    assert status["IdleSinceDateTime"] >= status["StartDateTime"]
    session = call(athena, "GetSession", SessionId=session_id)
    assert session["EngineConfiguration"]["SparkProperties"] == properties
    assert session["Status"]["State"] == "IDLE"

    result = run(athena, session_id, "print(1)")
    assert result["Status"]["State"] == "COMPLETED"
    assert "StateChangeReason" not in result["Status"]
    calc_id = result["CalculationExecutionId"]
    working = f"s3://{bucket}/athena/{session_id}/{calc_id}/"
    assert result["WorkingDirectory"] == working
    assert result["Result"] == {
        "StdOutS3Uri": working + "stdout.txt",
        "StdErrorS3Uri": working + "stderr.txt",
        "ResultS3Uri": working + "result.json",
        "ResultType": "application/json",
    }
    assert read_s3(s3, result["Result"]["StdOutS3Uri"]) == "1\n"
    assert result["Statistics"]["DpuExecutionInMillis"] > 0
    assert result["Statistics"]["Progress"]
    assert call(athena, "GetCalculationExecutionCode", CalculationExecutionId=calc_id)["CodeBlock"] == "print(1)"

    # state lives across calculations; a trailing expression is the result
    run(athena, session_id, "rows = spark.range(5).selectExpr('sum(id) AS s').collect()")
    second = run(athena, session_id, "rows[0].s * 10")
    assert json.loads(read_s3(s3, second["Result"]["ResultS3Uri"])) == {"text/plain": "100"}

    listed = list_pages(athena, "ListCalculationExecutions", "Calculations", page_size=2, SessionId=session_id)
    assert [c["CalculationExecutionId"] for c in listed][0] == second["CalculationExecutionId"]
    assert [c["CalculationExecutionId"] for c in listed][-1] == calc_id
    assert len(listed) == 3
    stats = call(athena, "GetSession", SessionId=session_id)["Statistics"]
    assert stats["DpuExecutionInMillis"] >= 3
    call(athena, "TerminateSession", SessionId=session_id)
    assert wait_session(athena, session_id, until=("TERMINATED",))["State"] == "TERMINATED"


def test_failures_report_the_users_traceback(athena, s3, session):
    result = run(athena, session, "x = 1\ndef f():\n    return foobar\nf()")
    assert result["Status"]["State"] == "FAILED"
    assert "NameError: name 'foobar' is not defined" in result["Status"]["StateChangeReason"]
    stderr = read_s3(s3, result["Result"]["StdErrorS3Uri"])
    assert 'File "<calculation>", line 3, in f' in stderr
    assert "runner.py" not in stderr
    # the session is still usable, and kept the state set before the error
    assert run(athena, session, "print(x)")["Status"]["State"] == "COMPLETED"


def test_one_calculation_at_a_time_and_cancel_keeps_the_session(athena, session):
    run(athena, session, "kept = 'still here'")
    long = call(athena, "StartCalculationExecution", SessionId=session, CodeBlock="spark.range(10**12).selectExpr('sum(hash(id))').collect()")
    calc_id = long["CalculationExecutionId"]
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_calculation_execution(SessionId=session, CodeBlock="1")
    assert_error(excinfo, "InvalidRequestException", 400, "Session is in the BUSY state; needs to be IDLE to accept Calculations.")
    assert call(athena, "StopCalculationExecution", CalculationExecutionId=calc_id)["State"] in ("CANCELING", "CANCELED")
    final = wait_calculation(athena, calc_id)
    assert final["Status"]["State"] == "CANCELED"
    assert call(athena, "StopCalculationExecution", CalculationExecutionId=calc_id)["State"] == "CANCELED"
    assert wait_session(athena, session)["State"] == "IDLE"
    done = run(athena, session, "print(kept)")
    assert done["Status"]["State"] == "COMPLETED"


def test_client_request_token_makes_calculations_idempotent(athena, session):
    token = "c" * 40
    first = call(athena, "StartCalculationExecution", SessionId=session, CodeBlock="import time\ntime.sleep(0.5)", ClientRequestToken=token)
    # the retry finds the original even though the session is busy with it now
    again = call(athena, "StartCalculationExecution", SessionId=session, CodeBlock="import time\ntime.sleep(0.5)", ClientRequestToken=token)
    assert again["CalculationExecutionId"] == first["CalculationExecutionId"]
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_calculation_execution(SessionId=session, CodeBlock="other", ClientRequestToken=token)
    assert_error(excinfo, "InvalidRequestException", 400, "Idempotent parameters do not match")
    assert wait_calculation(athena, first["CalculationExecutionId"])["Status"]["State"] == "COMPLETED"
    assert len(list_pages(athena, "ListCalculationExecutions", "Calculations", SessionId=session)) == 1


def test_a_notebook_has_one_active_session(athena, work_group):
    notebook = {"CoordinatorDpuSize": 1, "MaxConcurrentDpus": 2, "AdditionalConfigs": {"NotebookId": "nb-1"}}
    version = "Athena notebook version 1"
    first = call(athena, "StartSession", WorkGroup=work_group, EngineConfiguration=notebook, NotebookVersion=version)["SessionId"]
    with pytest.raises(athena.exceptions.SessionAlreadyExistsException) as excinfo:
        athena.start_session(WorkGroup=work_group, EngineConfiguration=notebook, NotebookVersion=version)
    assert_error(excinfo, "SessionAlreadyExistsException", 400, "nb-1", first)
    call(athena, "TerminateSession", SessionId=first)
    wait_session(athena, first, until=("TERMINATED",))
    second = call(athena, "StartSession", WorkGroup=work_group, EngineConfiguration=notebook, NotebookVersion=version)["SessionId"]
    assert call(athena, "GetSession", SessionId=second)["NotebookVersion"] == version
    call(athena, "TerminateSession", SessionId=second)


def test_terminate_ends_the_session(athena, work_group):
    session_id = start_session(athena, work_group)
    wait_session(athena, session_id)
    assert call(athena, "TerminateSession", SessionId=session_id)["State"] in ("TERMINATING", "TERMINATED")
    status = wait_session(athena, session_id, until=("TERMINATED",))
    assert status["EndDateTime"] and "TerminateSession" in status["StateChangeReason"]
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_calculation_execution(SessionId=session_id, CodeBlock="1")
    assert_error(excinfo, "InvalidRequestException", 400, "Session is in the TERMINATED state")
    assert list_pages(athena, "ListSessions", "Sessions", WorkGroup=work_group) == []
    assert [s["SessionId"] for s in list_pages(athena, "ListSessions", "Sessions", WorkGroup=work_group, StateFilter="TERMINATED")] == [session_id]


def test_deleting_a_work_group_terminates_its_sessions(athena, work_group):
    session_id = start_session(athena, work_group)
    assert wait_session(athena, session_id)["State"] == "IDLE"
    call(athena, "DeleteWorkGroup", WorkGroup=work_group)
    status = wait_session(athena, session_id, until=("TERMINATED",))
    assert status["StateChangeReason"] == "WorkGroup was deleted."


def test_time_zone_and_ansi_properties_are_applied(athena, s3, work_group):
    tokyo = start_session(athena, work_group, {"spark.sql.session.timeZone": "Asia/Tokyo", "spark.sql.ansi.enabled": "true"})
    default = start_session(athena, work_group)
    for session_id in (tokyo, default):
        assert wait_session(athena, session_id)["State"] == "IDLE"
    code = "print(spark.sql('SELECT CAST(from_unixtime(0) AS STRING) AS t').collect()[0].t)"
    for session_id, expected in ((tokyo, "1970-01-01 09:00:00\n"), (default, "1970-01-01 00:00:00\n")):
        result = run(athena, session_id, code)
        assert result["Status"]["State"] == "COMPLETED", result
        assert read_s3(s3, result["Result"]["StdOutS3Uri"]) == expected
    # ANSI on: division by zero is an error; Athena's default (off): NULL
    strict = run(athena, tokyo, "spark.sql('SELECT 1/0 AS z').collect()")
    assert strict["Status"]["State"] == "FAILED"
    assert "ArithmeticException: divide by zero" in strict["Status"]["StateChangeReason"]
    lenient = run(athena, default, "print(spark.sql('SELECT 1/0 AS z').collect()[0].z)")
    assert read_s3(s3, lenient["Result"]["StdOutS3Uri"]) == "None\n"
    # a calculation may change a session property for the rest of the session
    utc = run(athena, tokyo, "spark.conf.set('spark.sql.session.timeZone', 'UTC')\n" + code)
    assert read_s3(s3, utc["Result"]["StdOutS3Uri"]) == "1970-01-01 00:00:00\n"
    for session_id in (tokyo, default):
        athena.terminate_session(SessionId=session_id)


def _parquet_bytes(table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_spark_sql_reads_a_partitioned_parquet_glue_table(athena, s3, glue, bucket, session):
    import pyarrow as pa

    for region, amounts in (("eu", [1, 2, 3]), ("us", [10, 20])):
        body = _parquet_bytes(pa.table({"id": list(range(len(amounts))), "amount": amounts}))
        s3.put_object(Bucket=bucket, Key=f"events/region={region}/part-0.parquet", Body=body)
    call(glue, "CreateDatabase", DatabaseInput={"Name": "sales"})
    call(
        glue,
        "CreateTable",
        DatabaseName="sales",
        TableInput={
            "Name": "events",
            "PartitionKeys": [{"Name": "region", "Type": "string"}],
            "Parameters": {"classification": "parquet"},
            "StorageDescriptor": {
                "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "amount", "Type": "bigint"}],
                "Location": f"s3://{bucket}/events/",
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
            },
        },
    )
    code = (
        "rows = spark.sql('SELECT region, SUM(amount) AS total, COUNT(*) AS n FROM sales.events GROUP BY region ORDER BY region').collect()\n"
        "print([(r.region, r.total, r.n) for r in rows])"
    )
    result = run(athena, session, code)
    assert result["Status"]["State"] == "COMPLETED", read_s3(s3, result["Result"]["StdErrorS3Uri"])
    assert read_s3(s3, result["Result"]["StdOutS3Uri"]) == "[('eu', 6, 3), ('us', 30, 2)]\n"


def test_spark_sql_reads_glue_csv_and_json_tables(athena, s3, glue, bucket, session):
    s3.put_object(Bucket=bucket, Key="people/part-0.csv", Body=b"id,name,age\n1,ann,30\n2,bob,41\n")
    s3.put_object(Bucket=bucket, Key="people_raw/part-0.csv", Body=b"1,ann,30\n2,bob,41\n3,cy,7\n")
    s3.put_object(Bucket=bucket, Key="people_json/part-0.json", Body=b'{"id": 1, "name": "ann", "age": 30}\n{"id": 4, "name": "dee", "age": 52}\n')
    call(glue, "CreateDatabase", DatabaseInput={"Name": "crm"})
    columns = [{"Name": "id", "Type": "int"}, {"Name": "name", "Type": "string"}, {"Name": "age", "Type": "int"}]
    for name, location, serde, params in (
        (
            "people",
            "people",
            {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", "Parameters": {"field.delim": ","}},
            {"classification": "csv", "skip.header.line.count": "1"},
        ),
        (
            "people_raw",
            "people_raw",
            {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde", "Parameters": {"separatorChar": ","}},
            {"classification": "csv"},
        ),
        ("people_json", "people_json", {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}, {"classification": "json"}),
    ):
        call(
            glue,
            "CreateTable",
            DatabaseName="crm",
            TableInput={
                "Name": name,
                "Parameters": params,
                "StorageDescriptor": {
                    "Columns": columns,
                    "Location": f"s3://{bucket}/{location}/",
                    "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                    "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    "SerdeInfo": serde,
                },
            },
        )
    result = run(
        athena,
        session,
        "print(sorted((r.name, int(r.age)) for r in spark.sql('SELECT name, age FROM crm.people').collect()))\n"
        "print(spark.table('crm.people_raw').count())\n"
        "print(spark.sql('SELECT max(age) AS m FROM crm.people_json').collect()[0].m)",
    )
    assert result["Status"]["State"] == "COMPLETED", read_s3(s3, result["Result"]["StdErrorS3Uri"])
    assert read_s3(s3, result["Result"]["StdOutS3Uri"]) == "[('ann', 30), ('bob', 41)]\n3\n52\n"


def test_server_level_properties_apply_at_start(athena, s3, work_group, bucket):
    tuned = start_session(
        athena, work_group, {"spark.sql.parquet.compression.codec": "gzip", "spark.sql.shuffle.partitions": "3"}
    )
    default = start_session(athena, work_group)
    for session_id, prefix in ((tuned, "gz"), (default, "plain")):
        assert wait_session(athena, session_id)["State"] == "IDLE"
        code = f"spark.range(100).selectExpr('id % 7 AS k', 'id').write.mode('overwrite').parquet('s3://{bucket}/{prefix}/')"
        assert run(athena, session_id, code)["Status"]["State"] == "COMPLETED"
    import pyarrow.parquet as pq

    def codec(prefix):
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/")["Contents"] if o["Key"].endswith(".parquet")]
        body = s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read()
        return pq.ParquetFile(io.BytesIO(body)).metadata.row_group(0).column(0).compression

    assert (codec("gz"), codec("plain")) == ("GZIP", "SNAPPY")
    plan = "spark.range(1000).selectExpr('id % 10 AS k').groupBy('k').count().explain()"
    out = read_s3(s3, run(athena, tuned, plan)["Result"]["StdOutS3Uri"])
    assert "partitioning=Hash([#1@0], 3)" in out, out
    for session_id in (tuned, default):
        athena.terminate_session(SessionId=session_id)


def test_tables_written_by_spark_land_in_glue_s3_and_the_data_dir(emulator, athena, s3, glue, bucket, session, account):
    code = (
        f"spark.sql('CREATE DATABASE IF NOT EXISTS lake LOCATION \\'s3://{bucket}/lake/\\'')\n"
        "spark.range(5).write.format('delta').saveAsTable('lake.events')\n"
        "spark.sql('DELETE FROM lake.events WHERE id < 2')\n"
        "spark.sql('CREATE TABLE lake.totals USING parquet AS SELECT count(*) AS n FROM lake.events')\n"
        "spark.sql('CREATE TABLE scratch (a INT) USING parquet')\n"
        "spark.sql('INSERT INTO scratch VALUES (1), (2)')\n"
        "print(spark.table('lake.events').count(), spark.table('lake.totals').collect()[0].n, spark.table('scratch').count())"
    )
    result = run(athena, session, code)
    assert result["Status"]["State"] == "COMPLETED", read_s3(s3, result["Result"]["StdErrorS3Uri"])
    assert read_s3(s3, result["Result"]["StdOutS3Uri"]) == "3 3 2\n"
    tables = {t["Name"]: t for t in call(glue, "GetTables", DatabaseName="lake")["TableList"]}
    assert set(tables) == {"events", "totals"}
    assert tables["events"]["Parameters"]["spark.sql.sources.provider"] == "delta"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="lake/")["Contents"]]
    assert any("_delta_log/" in k for k in keys), keys
    assert call(glue, "GetTable", DatabaseName="default", Name="scratch")["Table"]["Name"] == "scratch"
    # a table without a location lives in the account's working directory inside the data dir
    assert (emulator.data_dir / "athena" / "work" / account / "spark-warehouse").is_dir()
    assert not Path("spark-warehouse").exists()


def test_sessions_are_per_account(emulator, athena, session):
    other = emulator.client("athena", account=new_account())
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.start_calculation_execution(SessionId=session, CodeBlock="1")
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.terminate_session(SessionId=session)
    assert call(athena, "GetSessionStatus", SessionId=session)["Status"]["State"] == "IDLE"


def test_awswrangler_creates_a_session_and_runs_a_calculation(emulator, account, work_group, monkeypatch):
    import boto3
    import awswrangler as wr
    from awswrangler.athena import _spark

    monkeypatch.setattr(wr.config, "athena_endpoint_url", emulator.url)
    monkeypatch.setattr(_spark._wait_session, "__defaults__", (None, 0.2))
    monkeypatch.setattr(_spark._wait_calculation_execution, "__defaults__", (None, 0.2))
    session = boto3.Session(aws_access_key_id=account, aws_secret_access_key="x", region_name="us-east-1")
    session_id = wr.athena.create_spark_session(
        workgroup=work_group, spark_properties={"spark.sql.ansi.enabled": "false"}, boto3_session=session
    )
    response = wr.athena.run_spark_calculation(
        code="print(spark.range(3).count())", workgroup=work_group, session_id=session_id, boto3_session=session
    )
    assert response["Status"]["State"] == "COMPLETED"
    stdout = response["Result"]["StdOutS3Uri"]
    s3 = session.client("s3", endpoint_url=emulator.url)
    bucket, key = stdout[len("s3://"):].split("/", 1)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"3\n"
    session.client("athena", endpoint_url=emulator.url).terminate_session(SessionId=session_id)


# --- servers of their own: clock, restart, quota ----------------------------------------------


def _server_setup(server: Emulator, account: str):
    athena = server.client("athena", account=account)
    s3 = server.client("s3", account=account)
    bucket = f"spark-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return athena, create_spark_work_group(athena, account, output=f"s3://{bucket}/out/")


def test_idle_sessions_time_out_on_the_emulator_clock(fresh_emulator, account):
    athena, work_group = _server_setup(fresh_emulator, account)
    session_id = start_session(athena, work_group, SessionIdleTimeoutInMinutes=1)
    assert wait_session(athena, session_id)["State"] == "IDLE"
    fresh_emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 30})
    assert call(athena, "GetSessionStatus", SessionId=session_id)["Status"]["State"] == "IDLE"
    fresh_emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 31})
    assert call(athena, "GetSessionStatus", SessionId=session_id)["Status"]["State"] in ("TERMINATING", "TERMINATED")
    status = wait_session(athena, session_id, until=("TERMINATED",))
    assert "idle" in status["StateChangeReason"]


def _runner_pids(data_dir: Path) -> list[int]:
    marker = str(data_dir.resolve() / "athena" / "runner.py").encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                pass
    return pids


def test_a_killed_emulator_takes_its_sessions_along_and_a_restart_ends_them(fresh_emulator, account):
    athena, work_group = _server_setup(fresh_emulator, account)
    session_id = start_session(athena, work_group)
    assert wait_session(athena, session_id)["State"] == "IDLE"
    assert len(_runner_pids(fresh_emulator.data_dir)) == 1
    long = call(athena, "StartCalculationExecution", SessionId=session_id, CodeBlock="import time\ntime.sleep(600)")
    fresh_emulator.kill9()
    deadline = time.monotonic() + 30
    while _runner_pids(fresh_emulator.data_dir):
        assert time.monotonic() < deadline, "the runner outlived the emulator"
        time.sleep(0.1)
    fresh_emulator.start()
    athena = fresh_emulator.client("athena", account=account)
    status = call(athena, "GetSession", SessionId=session_id)["Status"]
    assert status["State"] == "TERMINATED"
    assert "restarted" in status["StateChangeReason"]
    calculation = call(athena, "GetCalculationExecution", CalculationExecutionId=long["CalculationExecutionId"])["Status"]
    assert calculation["State"] == "FAILED" and "restarted" in calculation["StateChangeReason"]
    assert not _runner_pids(fresh_emulator.data_dir)


def test_reset_stops_every_session(fresh_emulator, account):
    athena, work_group = _server_setup(fresh_emulator, account)
    session_id = start_session(athena, work_group)
    assert wait_session(athena, session_id)["State"] == "IDLE"
    assert len(_runner_pids(fresh_emulator.data_dir)) == 1
    fresh_emulator.reset()
    deadline = time.monotonic() + 30
    while _runner_pids(fresh_emulator.data_dir):
        assert time.monotonic() < deadline, "a runner outlived the reset"
        time.sleep(0.1)
    with pytest.raises(athena.exceptions.ResourceNotFoundException):
        athena.get_session(SessionId=session_id)
    # and sessions start again afterwards
    athena, work_group = _server_setup(fresh_emulator, account)
    assert wait_session(athena, start_session(athena, work_group))["State"] == "IDLE"


def test_live_sessions_are_bounded(tmp_path, account):
    server = started_server(tmp_path, "--max-spark-sessions", "1")
    try:
        athena, work_group = _server_setup(server, account)
        first = start_session(athena, work_group)
        with pytest.raises(athena.exceptions.TooManyRequestsException) as excinfo:
            athena.start_session(WorkGroup=work_group, EngineConfiguration={"MaxConcurrentDpus": 2})
        response = assert_error(excinfo, "TooManyRequestsException", 400, "--max-spark-sessions")
        assert response["Reason"] == "CONCURRENT_QUERY_LIMIT_EXCEEDED"
        wait_session(athena, first)
        call(athena, "TerminateSession", SessionId=first)
        wait_session(athena, first, until=("TERMINATED",))
        deadline = time.monotonic() + 30
        while True:  # the slot frees once the runner has exited
            try:
                second = start_session(athena, work_group)
                break
            except athena.exceptions.TooManyRequestsException:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert wait_session(athena, second)["State"] == "IDLE"
    finally:
        server.stop()
