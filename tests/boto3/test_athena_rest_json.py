"""Athena's restJson1 wire form (botocore 1.44.18 and later send `POST /workgroups`, `GET
/sessions/{SessionId}/status`, … instead of awsJson1.1's `X-Amz-Target`): the same operations,
validation and errors through a boto3 client built on the vendored restJson1 model
(`model/athena-rest-json.json`), with every response checked against that model's output shapes.
"""

from __future__ import annotations

import json
import shutil
import time

import botocore.session
import pytest
from botocore.config import Config

from athena_helpers import PYSPARK_3, role, spark_runtime
from conftest import DUMMY_SECRET, REPO_ROOT
from glue_helpers import new_account
from helpers import assert_error, call
import shapes


@pytest.fixture(scope="module")
def rest_json_models(tmp_path_factory):
    """A botocore data folder whose Athena model is the restJson1 one."""
    root = tmp_path_factory.mktemp("models")
    folder = root / "athena" / "2017-05-18"
    folder.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "model" / "athena-rest-json.json", folder / "service-2.json")
    return root


@pytest.fixture
def account():
    return new_account()


def rest_json_athena(emulator, models, account, validate=True):
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(models))
    client = session.create_client(
        "athena",
        region_name="us-east-1",
        endpoint_url=emulator.url,
        aws_access_key_id=account,
        aws_secret_access_key=DUMMY_SECRET,
        config=Config(parameter_validation=validate, retries={"total_max_attempts": 1}),
    )
    assert client.meta.service_model.protocol == "rest-json"
    return shapes.install_response_checks(client)


@pytest.fixture
def athena(emulator, rest_json_models, account):
    return rest_json_athena(emulator, rest_json_models, account)


def test_work_groups_over_rest_json(athena, account):
    configuration = {"EngineVersion": {"SelectedEngineVersion": PYSPARK_3}, "ExecutionRole": role(account)}
    call(athena, "CreateWorkGroup", Name="rest.spark", Description="over rest-json", Configuration=configuration)
    group = call(athena, "GetWorkGroup", WorkGroup="rest.spark")["WorkGroup"]
    assert (group["Name"], group["Description"], group["State"]) == ("rest.spark", "over rest-json", "ENABLED")
    assert group["Configuration"]["EngineVersion"]["EffectiveEngineVersion"] == PYSPARK_3

    call(athena, "UpdateWorkGroup", WorkGroup="rest.spark", Description="changed", State="DISABLED")
    group = call(athena, "GetWorkGroup", WorkGroup="rest.spark")["WorkGroup"]
    assert (group["Description"], group["State"]) == ("changed", "DISABLED")

    names = [g["Name"] for g in call(athena, "ListWorkGroups", MaxResults=50)["WorkGroups"]]
    assert "rest.spark" in names and "primary" in names
    call(athena, "DeleteWorkGroup", WorkGroup="rest.spark")
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.get_work_group(WorkGroup="rest.spark")
    assert_error(excinfo, "InvalidRequestException", 400, "rest.spark")


def test_errors_and_validation_are_the_same_as_over_aws_json(emulator, rest_json_models, account, athena):
    raw = rest_json_athena(emulator, rest_json_models, account, validate=False)
    with pytest.raises(raw.exceptions.InvalidRequestException) as excinfo:
        raw.list_work_groups(MaxResults=0)  # a query-string member, below its minimum of 1
    assert_error(excinfo, "InvalidRequestException", 400, "MaxResults")
    with pytest.raises(raw.exceptions.InvalidRequestException) as excinfo:
        raw.create_work_group(Name="bad name!", Configuration={"ExecutionRole": role(account)})
    assert_error(excinfo, "InvalidRequestException", 400, "Name")
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.create_work_group(Name="norole", Configuration={"EngineVersion": {"SelectedEngineVersion": PYSPARK_3}})
    assert_error(excinfo, "InvalidRequestException", 400, "executionRole is null or empty")
    with pytest.raises(athena.exceptions.ResourceNotFoundException) as excinfo:
        athena.get_session_status(SessionId="00000000-0000-0000-0000-000000000000")  # a path label
    assert_error(excinfo, "ResourceNotFoundException", 400, "00000000-0000-0000-0000-000000000000")


def test_a_session_and_a_calculation_over_rest_json(athena, client, account):
    spark_runtime()
    s3 = client("s3", account=account)
    bucket = f"rest-json-{account}"
    s3.create_bucket(Bucket=bucket)
    call(athena, "CreateWorkGroup", Name="rest-spark", Configuration={
        "EngineVersion": {"SelectedEngineVersion": PYSPARK_3}, "ExecutionRole": role(account),
        "ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena/"}})
    session = call(athena, "StartSession", WorkGroup="rest-spark", EngineConfiguration={"MaxConcurrentDpus": 4})["SessionId"]
    deadline = time.monotonic() + 180
    while (state := call(athena, "GetSessionStatus", SessionId=session)["Status"]["State"]) not in ("IDLE", "FAILED", "TERMINATED"):
        assert time.monotonic() < deadline, state
        time.sleep(0.1)
    assert state == "IDLE"
    assert session in [s["SessionId"] for s in call(athena, "ListSessions", WorkGroup="rest-spark", MaxResults=10)["Sessions"]]
    calculation = call(athena, "StartCalculationExecution", SessionId=session, CodeBlock="21 * 2")["CalculationExecutionId"]
    while (done := call(athena, "GetCalculationExecution", CalculationExecutionId=calculation))["Status"]["State"] not in ("COMPLETED", "FAILED", "CANCELED"):
        assert time.monotonic() < deadline, done["Status"]
        time.sleep(0.1)
    assert done["Status"]["State"] == "COMPLETED", done
    bucket_name, key = done["Result"]["ResultS3Uri"][len("s3://"):].split("/", 1)
    assert json.loads(s3.get_object(Bucket=bucket_name, Key=key)["Body"].read()) == {"text/plain": "42"}
    assert call(athena, "GetCalculationExecutionCode", CalculationExecutionId=calculation)["CodeBlock"] == "21 * 2"
    assert call(athena, "TerminateSession", SessionId=session)["State"] in ("TERMINATING", "TERMINATED")
