"""Builders and waits shared by the Athena for Apache Spark acceptance tests (test_athena_*).

Each test works in an account of its own (``glue_helpers.new_account``), so tests need no reset.
Waiting is polling on the API the way clients do it (awswrangler, dbt-athena): no test asserts
how long anything takes.
"""

from __future__ import annotations

import importlib.util
import os
import time
import uuid

import pytest

from conftest import Emulator, EmulatorStartError
from helpers import call

PYSPARK_3 = "PySpark engine version 3"
ACTIVE = {"CREATING", "CREATED", "IDLE", "BUSY"}
FINAL_CALCULATION = {"COMPLETED", "FAILED", "CANCELED"}


def spark_runtime() -> None:
    """Skips a test that needs the Spark runtime when this interpreter lacks it — unless
    CLEANROOMS_EMULATOR_REQUIRE_SPARK=1 (scripts/test.sh sets it), where that is a failure."""
    if importlib.util.find_spec("pysail") is None:
        if os.environ.get("CLEANROOMS_EMULATOR_REQUIRE_SPARK") == "1":
            pytest.fail("the Spark runtime (python/requirements-spark.txt) is not installed")
        pytest.skip("the Spark runtime (python/requirements-spark.txt) is not installed")


def started_server(root, *extra_args: str) -> Emulator:
    """A server of a test module's own under ``root`` (started; the caller stops it)."""
    server = Emulator(root / "data", root / "server.log", extra_args=extra_args)
    try:
        server.start()
    except EmulatorStartError as error:
        pytest.fail(str(error), pytrace=False)
    return server


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/athena-spark"


def create_spark_work_group(athena, account: str, name: str | None = None, output: str | None = None, **configuration) -> str:
    name = name or f"spark-{uuid.uuid4().hex[:8]}"
    config = {
        "EngineVersion": {"SelectedEngineVersion": PYSPARK_3},
        "ExecutionRole": role(account),
        **configuration,
    }
    if output:
        config["ResultConfiguration"] = {"OutputLocation": output}
    call(athena, "CreateWorkGroup", Name=name, Configuration=config)
    return name


def start_session(athena, work_group: str, spark_properties: dict | None = None, **extra) -> str:
    engine = {"CoordinatorDpuSize": 1, "MaxConcurrentDpus": 20, "DefaultExecutorDpuSize": 1}
    if spark_properties is not None:
        engine["SparkProperties"] = spark_properties
    response = call(athena, "StartSession", WorkGroup=work_group, EngineConfiguration=engine, **extra)
    assert response["State"] == "CREATING"
    return response["SessionId"]


def wait_session(athena, session_id: str, until=("IDLE", "TERMINATED", "FAILED", "DEGRADED"), timeout: float = 120) -> dict:
    """Polls GetSessionStatus until the state is one of ``until``; returns the status."""
    deadline = time.monotonic() + timeout
    while True:
        status = call(athena, "GetSessionStatus", SessionId=session_id)["Status"]
        if status["State"] in until:
            return status
        assert time.monotonic() < deadline, f"session {session_id} still {status}"
        time.sleep(0.1)


def wait_calculation(athena, calculation_id: str, timeout: float = 120) -> dict:
    """Polls GetCalculationExecutionStatus until the calculation is final; returns
    GetCalculationExecution."""
    deadline = time.monotonic() + timeout
    while True:
        status = call(athena, "GetCalculationExecutionStatus", CalculationExecutionId=calculation_id)["Status"]
        if status["State"] in FINAL_CALCULATION:
            return call(athena, "GetCalculationExecution", CalculationExecutionId=calculation_id)
        assert time.monotonic() < deadline, f"calculation {calculation_id} still {status}"
        time.sleep(0.05)


def run(athena, session_id: str, code: str) -> dict:
    """Runs ``code`` in an IDLE session and waits for it; returns GetCalculationExecution."""
    started = call(athena, "StartCalculationExecution", SessionId=session_id, CodeBlock=code)
    return wait_calculation(athena, started["CalculationExecutionId"])


def read_s3(s3, uri: str) -> str:
    assert uri.startswith("s3://"), uri
    bucket, key = uri[len("s3://"):].split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def list_pages(athena, operation: str, key: str, page_size: int | None = None, **kwargs) -> list:
    """Every item of an Athena list operation (most have no boto3 paginator), page by page, each
    page validated against the model."""
    items, token = [], None
    while True:
        extra = {"MaxResults": page_size} if page_size else {}
        if token:
            extra["NextToken"] = token
        page = call(athena, operation, **kwargs, **extra)
        items.extend(page[key])
        token = page.get("NextToken")
        if not token:
            return items
