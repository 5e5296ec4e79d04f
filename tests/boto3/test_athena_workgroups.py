"""Athena workgroups: Spark vs SQL engines, the execution-role rule, `primary`, errors, updates,
deletes, listing, engine versions, tags, account isolation, server-side validation.

Spec: shared/spec/side-surfaces.md §A.1, §A.7, §E item 4. Each test works in an account of its own.
"""

from __future__ import annotations

import pytest

from athena_helpers import PYSPARK_3, create_spark_work_group, list_pages, role
from glue_helpers import new_account
from helpers import assert_error, call


@pytest.fixture
def account():
    return new_account()


@pytest.fixture
def athena(client, account):
    return client("athena", account=account)


@pytest.fixture
def raw_athena(client, account):
    return client("athena", account=account, validate=False)


def test_create_and_get_a_spark_work_group(athena, account):
    call(
        athena,
        "CreateWorkGroup",
        Name="analytics.spark-1",
        Description="notebooks",
        Configuration={
            "EngineVersion": {"SelectedEngineVersion": PYSPARK_3, "EffectiveEngineVersion": "ignored"},
            "ExecutionRole": role(account),
            "ResultConfiguration": {"OutputLocation": "s3://results/athena/"},
        },
    )
    wg = call(athena, "GetWorkGroup", WorkGroup="analytics.spark-1")["WorkGroup"]
    assert wg["Name"] == "analytics.spark-1"
    assert wg["State"] == "ENABLED"
    assert wg["Description"] == "notebooks"
    config = wg["Configuration"]
    assert config["EngineVersion"] == {"SelectedEngineVersion": PYSPARK_3, "EffectiveEngineVersion": PYSPARK_3}
    assert config["ExecutionRole"] == role(account)
    assert config["ResultConfiguration"]["OutputLocation"] == "s3://results/athena/"
    assert wg["CreationTime"].year >= 2024


def test_a_spark_work_group_needs_an_execution_role(athena):
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.create_work_group(Name="norole", Configuration={"EngineVersion": {"SelectedEngineVersion": PYSPARK_3}})
    response = assert_error(excinfo, "InvalidRequestException", 400, "executionRole is null or empty")
    assert response["AthenaErrorCode"] == "INVALID_INPUT"
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.get_work_group(WorkGroup="norole")


def test_sql_work_groups_default_to_auto(athena):
    call(athena, "CreateWorkGroup", Name="sql")
    wg = call(athena, "GetWorkGroup", WorkGroup="sql")["WorkGroup"]
    assert wg["Configuration"]["EngineVersion"] == {
        "SelectedEngineVersion": "AUTO",
        "EffectiveEngineVersion": "Athena engine version 3",
    }


def test_unknown_engine_versions_are_refused(athena):
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.create_work_group(Name="x", Configuration={"EngineVersion": {"SelectedEngineVersion": "Spark 9"}})
    assert_error(excinfo, "InvalidRequestException", 400, "Spark 9")


def test_primary_exists_and_is_reserved(athena):
    wg = call(athena, "GetWorkGroup", WorkGroup="primary")["WorkGroup"]
    assert wg["Name"] == "primary" and wg["State"] == "ENABLED"
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.create_work_group(Name="primary")
    assert_error(excinfo, "InvalidRequestException", 400, "primary workGroup could not be created")
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.delete_work_group(WorkGroup="primary")
    assert_error(excinfo, "InvalidRequestException", 400, "primary")


def test_duplicate_names_are_refused(athena, account):
    create_spark_work_group(athena, account, name="dup")
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.create_work_group(Name="dup")
    assert_error(excinfo, "InvalidRequestException", 400, "dup", "already exists")


def test_unknown_work_group_is_invalid_request_not_found(athena):
    for call_it in (
        lambda: athena.get_work_group(WorkGroup="nope"),
        lambda: athena.update_work_group(WorkGroup="nope", Description="d"),
        lambda: athena.delete_work_group(WorkGroup="nope"),
        lambda: athena.list_sessions(WorkGroup="nope"),
    ):
        with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
            call_it()
        assert_error(excinfo, "InvalidRequestException", 400, "WorkGroup nope is not found.")


def test_names_and_bounds_are_enforced_server_side(raw_athena):
    for kwargs in (
        {"Name": "bad name!"},
        {"Name": "x" * 129},
        {"Name": "ok", "Description": "d" * 1025},
        {"Name": "ok", "Configuration": {"ExecutionRole": "not-an-arn"}},
    ):
        with pytest.raises(raw_athena.exceptions.InvalidRequestException) as excinfo:
            raw_athena.create_work_group(**kwargs)
        response = assert_error(excinfo, "InvalidRequestException", 400)
        assert response["AthenaErrorCode"] == "INVALID_INPUT"
    with pytest.raises(raw_athena.exceptions.InvalidRequestException):
        raw_athena.get_work_group(WorkGroup="ok")


def test_update_changes_description_state_and_output_but_not_the_engine(athena, account):
    name = create_spark_work_group(athena, account, output="s3://old/")
    call(
        athena,
        "UpdateWorkGroup",
        WorkGroup=name,
        Description="new",
        State="DISABLED",
        ConfigurationUpdates={"ResultConfigurationUpdates": {"OutputLocation": "s3://new/prefix/"}},
    )
    wg = call(athena, "GetWorkGroup", WorkGroup=name)["WorkGroup"]
    assert (wg["Description"], wg["State"]) == ("new", "DISABLED")
    assert wg["Configuration"]["ResultConfiguration"]["OutputLocation"] == "s3://new/prefix/"
    assert wg["Configuration"]["EngineVersion"]["EffectiveEngineVersion"] == PYSPARK_3
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.update_work_group(WorkGroup=name, ConfigurationUpdates={"EngineVersion": {"SelectedEngineVersion": "AUTO"}})
    assert_error(excinfo, "InvalidRequestException", 400, "cannot be changed")
    call(athena, "UpdateWorkGroup", WorkGroup=name, ConfigurationUpdates={"ResultConfigurationUpdates": {"RemoveOutputLocation": True}})
    wg = call(athena, "GetWorkGroup", WorkGroup=name)["WorkGroup"]
    assert "OutputLocation" not in wg["Configuration"].get("ResultConfiguration", {})
    assert wg["Configuration"]["EngineVersion"]["EffectiveEngineVersion"] == PYSPARK_3


def test_delete_removes_the_work_group(athena, account):
    name = create_spark_work_group(athena, account)
    call(athena, "DeleteWorkGroup", WorkGroup=name)
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        athena.get_work_group(WorkGroup=name)
    assert_error(excinfo, "InvalidRequestException", 400, f"WorkGroup {name} is not found.")


def test_list_work_groups_pages_with_primary_first(athena, account):
    names = [create_spark_work_group(athena, account, name=f"wg-{i}") for i in range(4)]
    listed = list_pages(athena, "ListWorkGroups", "WorkGroups", page_size=2)
    assert [w["Name"] for w in listed] == ["primary", *names]
    assert listed[1]["EngineVersion"]["EffectiveEngineVersion"] == PYSPARK_3
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.list_work_groups(NextToken="garbage")


def test_list_engine_versions(athena):
    versions = call(athena, "ListEngineVersions")["EngineVersions"]
    selected = [v["SelectedEngineVersion"] for v in versions]
    assert selected == ["AUTO", "Athena engine version 3", PYSPARK_3, "Apache Spark version 3.5"]
    first = call(athena, "ListEngineVersions", MaxResults=3)
    assert len(first["EngineVersions"]) == 3 and first["NextToken"]
    rest = call(athena, "ListEngineVersions", MaxResults=3, NextToken=first["NextToken"])
    assert [v["SelectedEngineVersion"] for v in rest["EngineVersions"]] == ["Apache Spark version 3.5"]


def test_tags_on_work_groups(athena, account):
    name = create_spark_work_group(athena, account)
    arn = f"arn:aws:athena:us-east-1:{account}:workgroup/{name}"
    call(athena, "TagResource", ResourceARN=arn, Tags=[{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "dev"}])
    tags = call(athena, "ListTagsForResource", ResourceARN=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("team", "data")]
    call(athena, "UntagResource", ResourceARN=arn, TagKeys=["env"])
    assert call(athena, "ListTagsForResource", ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "data"}]
    with pytest.raises(athena.exceptions.ResourceNotFoundException) as excinfo:
        athena.list_tags_for_resource(ResourceARN=f"arn:aws:athena:us-east-1:{account}:workgroup/missing")
    response = assert_error(excinfo, "ResourceNotFoundException", 400, "missing")
    assert response["ResourceName"].endswith("workgroup/missing")


def test_work_groups_are_per_account(client, athena, account):
    name = create_spark_work_group(athena, account)
    other = client("athena", account=new_account())
    with pytest.raises(other.exceptions.InvalidRequestException):
        other.get_work_group(WorkGroup=name)
    assert [w["Name"] for w in call(other, "ListWorkGroups")["WorkGroups"]] == ["primary"]
    with pytest.raises(other.exceptions.ResourceNotFoundException):
        other.list_tags_for_resource(ResourceARN=f"arn:aws:athena:us-east-1:{account}:workgroup/{name}")


def test_output_locations_must_be_s3_uris(athena, account):
    with pytest.raises(athena.exceptions.InvalidRequestException) as excinfo:
        create_spark_work_group(athena, account, name="badout", output="/tmp/results")
    assert_error(excinfo, "InvalidRequestException", 400, "/tmp/results", "S3")
    name = create_spark_work_group(athena, account, output="s3://ok/")
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.update_work_group(WorkGroup=name, ConfigurationUpdates={"ResultConfigurationUpdates": {"OutputLocation": "https://x"}})
    assert call(athena, "GetWorkGroup", WorkGroup=name)["WorkGroup"]["Configuration"]["ResultConfiguration"]["OutputLocation"] == "s3://ok/"
