"""With the `[spark]` extra: an Athena for Apache Spark calculation runs PySpark for real on the
interpreter the wheel was installed into, with no configuration."""

import json
import time

import pytest

pytest.importorskip("pysail", reason="the [spark] extra is not installed")


def test_a_spark_calculation_runs(aws_client):
    athena, s3 = aws_client("athena"), aws_client("s3")
    s3.create_bucket(Bucket="spark-results")
    athena.create_work_group(Name="spark", Configuration={
        "EngineVersion": {"SelectedEngineVersion": "PySpark engine version 3"},
        "ExecutionRole": "arn:aws:iam::111111111111:role/athena-spark",
        "ResultConfiguration": {"OutputLocation": "s3://spark-results/athena/"}})
    session = athena.start_session(WorkGroup="spark", EngineConfiguration={"MaxConcurrentDpus": 4})["SessionId"]
    deadline = time.monotonic() + 180
    while (state := athena.get_session_status(SessionId=session)["Status"]["State"]) not in ("IDLE", "FAILED", "TERMINATED"):
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state == "IDLE"
    calculation = athena.start_calculation_execution(
        SessionId=session, CodeBlock="spark.range(10).selectExpr('sum(id) AS s').collect()[0].s")["CalculationExecutionId"]
    while (status := athena.get_calculation_execution(CalculationExecutionId=calculation))["Status"]["State"] not in ("COMPLETED", "FAILED", "CANCELED"):
        assert time.monotonic() < deadline, status["Status"]
        time.sleep(0.2)
    assert status["Status"]["State"] == "COMPLETED", status
    bucket, key = status["Result"]["ResultS3Uri"][len("s3://"):].split("/", 1)
    assert json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) == {"text/plain": "45"}
    athena.terminate_session(SessionId=session)
