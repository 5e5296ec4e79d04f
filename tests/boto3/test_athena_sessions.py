"""Athena Spark sessions without running Spark: StartSession's validation order, idempotency,
the FAILED path (restricted properties, no runtime installed), echo of EngineConfiguration,
listing, terminating an inactive session, unknown ids, account isolation, calculations refused
on a session that is not IDLE, and the quota of live sessions.

These run on a server of their own whose Spark runtime does not exist (``--spark-python``
naming a missing interpreter), so every session that passes validation ends FAILED quickly.
Spec: shared/spec/side-surfaces.md §A.2–A.7, §E items 1, 2, 3, 5, 6, 7.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from athena_helpers import PYSPARK_3, create_spark_work_group, list_pages, start_session, started_server, wait_session
from glue_helpers import new_account
from helpers import assert_error, call


@pytest.fixture(scope="module")
def no_runtime(tmp_path_factory):
    root = tmp_path_factory.mktemp("athena-no-runtime")
    server = started_server(root, "--spark-python", str(root / "missing" / "python"))
    yield server
    server.stop()


@pytest.fixture
def account():
    return new_account()


@pytest.fixture
def athena(no_runtime, account):
    return no_runtime.client("athena", account=account)


@pytest.fixture
def raw_athena(no_runtime, account):
    return no_runtime.client("athena", account=account, validate=False)


@pytest.fixture
def work_group(athena, account):
    return create_spark_work_group(athena, account, output="s3://results/athena/")


ENGINE = {"CoordinatorDpuSize": 1, "MaxConcurrentDpus": 20, "DefaultExecutorDpuSize": 1}


def test_without_a_runtime_sessions_fail_with_how_to_install_it(athena, work_group):
    session_id = start_session(athena, work_group)
    uuid.UUID(session_id)
    status = wait_session(athena, session_id)
    assert status["State"] == "FAILED"
    assert "requirements-spark.txt" in status["StateChangeReason"]
    assert "--spark-python" in status["StateChangeReason"]
    assert status["EndDateTime"] >= status["StartDateTime"]


def test_restricted_properties_fail_the_session_after_it_was_accepted(athena, work_group):
    for key in ("spark.driver.memory", "spark.athena.anything", "spark.master", "spark.executor.cores"):
        session_id = start_session(athena, work_group, {key: "x", "spark.sql.ansi.enabled": "true"})
        status = wait_session(athena, session_id)
        assert status["State"] == "FAILED"
        assert key in status["StateChangeReason"] and "restricted" in status["StateChangeReason"]


def test_get_session_echoes_the_engine_configuration_exactly(athena, work_group, account):
    properties = {
        "spark.sql.session.timeZone": "Asia/Tokyo",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "not.a.spark.key": "kept",
    }
    engine = {**ENGINE, "AdditionalConfigs": {"k": "v"}, "SparkProperties": properties}
    session_id = call(
        athena,
        "StartSession",
        WorkGroup=work_group,
        Description="seed 002",
        EngineConfiguration=engine,
        SessionIdleTimeoutInMinutes=30,
    )["SessionId"]
    session = call(athena, "GetSession", SessionId=session_id)
    assert session["EngineConfiguration"] == engine
    assert session["EngineVersion"] == PYSPARK_3
    assert session["WorkGroup"] == work_group
    assert session["Description"] == "seed 002"
    config = session["SessionConfiguration"]
    assert config["IdleTimeoutSeconds"] == 1800
    assert config["ExecutionRole"] == f"arn:aws:iam::{account}:role/athena-spark"
    assert config["WorkingDirectory"] == f"s3://results/athena/{session_id}/"
    assert session["Statistics"]["DpuExecutionInMillis"] == 0


def test_validation_order_of_start_session(athena, raw_athena, account):
    sql = "sql-wg"
    call(athena, "CreateWorkGroup", Name=sql)
    spark = create_spark_work_group(athena, account)
    # 1. shape checks the client does not make (max bounds) come first
    for engine in (
        {**ENGINE, "CoordinatorDpuSize": 2},
        {**ENGINE, "MaxConcurrentDpus": 5001},
        {**ENGINE, "DefaultExecutorDpuSize": 3},
    ):
        with pytest.raises(raw_athena.exceptions.InvalidRequestException) as excinfo:
            raw_athena.start_session(WorkGroup="nope", EngineConfiguration=engine)
        assert assert_error(excinfo, "InvalidRequestException", 400)["AthenaErrorCode"] == "INVALID_INPUT"
    with pytest.raises(raw_athena.exceptions.InvalidRequestException):
        raw_athena.start_session(WorkGroup=spark, EngineConfiguration=ENGINE, SessionIdleTimeoutInMinutes=481)
    with pytest.raises(raw_athena.exceptions.InvalidRequestException):
        raw_athena.start_session(WorkGroup=spark, EngineConfiguration=ENGINE, ClientRequestToken="short")
    # 2. NotebookId and NotebookVersion go together
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_session(WorkGroup="nope", EngineConfiguration={**ENGINE, "AdditionalConfigs": {"NotebookId": "n"}})
    assert_error(excinfo, "InvalidRequestException", 400, "NotebookVersion is required when NotebookId is provided.")
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_session(WorkGroup="nope", EngineConfiguration=ENGINE, NotebookVersion="Athena notebook version 1")
    assert_error(excinfo, "InvalidRequestException", 400, "NotebookId")
    # 3. the workgroup must exist, 4. and be a Spark one, and enabled
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_session(WorkGroup="nope", EngineConfiguration=ENGINE)
    assert_error(excinfo, "InvalidRequestException", 400, "WorkGroup nope is not found.")
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_session(WorkGroup=sql, EngineConfiguration=ENGINE)
    assert_error(excinfo, "InvalidRequestException", 400, "Workgroup EngineVersion is not Spark.")
    call(athena, "UpdateWorkGroup", WorkGroup=spark, State="DISABLED")
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_session(WorkGroup=spark, EngineConfiguration=ENGINE)
    assert_error(excinfo, "InvalidRequestException", 400, "disabled")
    # nothing was created by any of these
    call(athena, "UpdateWorkGroup", WorkGroup=spark, State="ENABLED")
    assert list_pages(athena, "ListSessions", "Sessions", WorkGroup=spark, StateFilter="FAILED") == []


def test_client_request_token_makes_start_session_idempotent(athena, work_group):
    token = "t" * 32
    first = call(athena, "StartSession", WorkGroup=work_group, EngineConfiguration=ENGINE, ClientRequestToken=token)
    wait_session(athena, first["SessionId"])
    again = call(athena, "StartSession", WorkGroup=work_group, EngineConfiguration=ENGINE, ClientRequestToken=token)
    assert again["SessionId"] == first["SessionId"]
    assert again["State"] == "FAILED", "the retry reports the session's current state"
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_session(WorkGroup=work_group, EngineConfiguration={**ENGINE, "MaxConcurrentDpus": 3}, ClientRequestToken=token)
    assert_error(excinfo, "InvalidRequestException", 400, "Idempotent parameters do not match")
    # without a token every call is a new session
    a = start_session(athena, work_group)
    b = start_session(athena, work_group)
    assert a != b


def test_list_sessions_shows_active_ones_by_default_newest_first(athena, work_group):
    ids = [start_session(athena, work_group) for _ in range(3)]
    for session_id in ids:
        wait_session(athena, session_id)
    assert list_pages(athena, "ListSessions", "Sessions", WorkGroup=work_group) == []
    failed = list_pages(athena, "ListSessions", "Sessions", page_size=2, WorkGroup=work_group, StateFilter="FAILED")
    assert [s["SessionId"] for s in failed] == list(reversed(ids))
    assert failed[0]["EngineVersion"] == {"SelectedEngineVersion": PYSPARK_3, "EffectiveEngineVersion": PYSPARK_3}
    assert failed[0]["Status"]["State"] == "FAILED"


def test_terminating_an_ended_session_changes_nothing(athena, work_group):
    session_id = start_session(athena, work_group)
    before = wait_session(athena, session_id)
    assert call(athena, "TerminateSession", SessionId=session_id)["State"] == "FAILED"
    after = call(athena, "GetSessionStatus", SessionId=session_id)["Status"]
    assert after == before


def test_calculations_need_an_idle_session(athena, raw_athena, work_group):
    session_id = start_session(athena, work_group)
    wait_session(athena, session_id)
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_calculation_execution(SessionId=session_id, CodeBlock="1")
    assert_error(excinfo, "InvalidRequestException", 400, "Session is in the FAILED state; needs to be IDLE to accept Calculations.")
    with pytest.raises(raw_athena.exceptions.InvalidRequestException) as excinfo:
        raw_athena.start_calculation_execution(SessionId=session_id, CodeBlock="1", CalculationConfiguration={"CodeBlock": "2"})
    assert_error(excinfo, "InvalidRequestException", 400, "Only one of")
    with pytest.raises(raw_athena.exceptions.InvalidRequestException) as excinfo:
        raw_athena.start_calculation_execution(SessionId=session_id)
    assert_error(excinfo, "InvalidRequestException", 400, "must be specified")
    assert call(athena, "ListCalculationExecutions", SessionId=session_id)["Calculations"] == []


def test_unknown_ids(athena):
    missing = str(uuid.uuid4())
    for operation in ("get_session", "get_session_status", "terminate_session"):
        with pytest.raises(athena.exceptions.ResourceNotFoundException) as excinfo:
            getattr(athena, operation)(SessionId=missing)
        assert assert_error(excinfo, "ResourceNotFoundException", 400, missing)["ResourceName"] == missing
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.get_session(SessionId="not-a-session")
    for operation in ("get_calculation_execution", "get_calculation_execution_status", "get_calculation_execution_code", "stop_calculation_execution"):
        with pytest.raises(athena.exceptions.ResourceNotFoundException):
            getattr(athena, operation)(CalculationExecutionId=missing)
    with pytest.raises(athena.exceptions.ResourceNotFoundException):
        athena.list_calculation_executions(SessionId=missing)


def test_sessions_are_per_account(no_runtime, athena, work_group):
    session_id = start_session(athena, work_group)
    other = no_runtime.client("athena", account=new_account())
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.get_session(SessionId=session_id)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.terminate_session(SessionId=session_id)
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.start_calculation_execution(SessionId=session_id, CodeBlock="1")
    with pytest.raises(other.exceptions.InvalidRequestException):
        other.list_sessions(WorkGroup=work_group)


def test_calculations_are_refused_on_spark_3_5_work_groups(athena, account):
    name = create_spark_work_group(athena, account, EngineVersion={"SelectedEngineVersion": "Apache Spark version 3.5"})
    assert call(athena, "GetWorkGroup", WorkGroup=name)["WorkGroup"]["Configuration"]["EngineVersion"]["EffectiveEngineVersion"] == "Apache Spark version 3.5"
    session_id = start_session(athena, name)
    assert call(athena, "GetSession", SessionId=session_id)["EngineVersion"] == "Apache Spark version 3.5"
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.start_calculation_execution(SessionId=session_id, CodeBlock="1")
    assert_error(excinfo, "InvalidRequestException", 400, "Apache Spark version 3.5")


def test_an_interpreter_without_the_runtime_fails_the_session_with_how_to_install_it(tmp_path, account):
    base = Path(sys.base_prefix) / "bin" / "python3"
    if not base.exists() or subprocess.run([str(base), "-c", "import pysail"], capture_output=True).returncode == 0:
        pytest.skip("no interpreter without pysail at hand")
    server = started_server(tmp_path, "--spark-python", str(base))
    try:
        athena = server.client("athena", account=account)
        session_id = start_session(athena, create_spark_work_group(athena, account))
        status = wait_session(athena, session_id)
        assert status["State"] == "FAILED"
        assert "not installed" in status["StateChangeReason"]
        assert "requirements-spark.txt" in status["StateChangeReason"]
    finally:
        server.stop()
