"""Glue Data Catalog: databases and tables — CRUD, name folding, errors, server-side validation,
cascading deletes, pagination, account/region isolation, durability.

Spec: shared/spec/side-surfaces.md §0 (awsJson wire rules), §B.1–B.3, §B.6, §E items 8 and 10.
Every test works in an account of its own (glue_helpers.new_account), so no reset is needed.
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from glue_helpers import create_database, create_table, new_account, partition_input, table_input, values_of
from helpers import assert_error, call, list_all, raw_request


@pytest.fixture
def account():
    return new_account()


@pytest.fixture
def glue(client, account):
    return client("glue", account=account)


@pytest.fixture
def raw_glue(client, account):
    """The same account with botocore's client-side validation off, to reach the server's."""
    return client("glue", account=account, validate=False)


def assert_recent(value, slack: float = 120) -> None:
    assert abs(value.timestamp() - time.time()) < slack, value


# --------------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------------


def test_create_and_get_database_folds_the_name(glue, account):
    call(
        glue,
        "CreateDatabase",
        DatabaseInput={
            "Name": "Sales_DB",
            "Description": "base data",
            "LocationUri": "s3://emulator-data/sales/",
            "Parameters": {"owner": "data-team"},
        },
    )
    for name in ("sales_db", "SALES_DB", "Sales_DB"):
        db = call(glue, "GetDatabase", Name=name)["Database"]
        assert db["Name"] == "sales_db"
        assert db["Description"] == "base data"
        assert db["LocationUri"] == "s3://emulator-data/sales/"
        assert db["Parameters"] == {"owner": "data-team"}
        assert db["CatalogId"] == account
        assert_recent(db["CreateTime"])
    assert db["CreateTableDefaultPermissions"] == [
        {"Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}, "Permissions": ["ALL"]}
    ]


def test_create_database_twice_is_already_exists(glue):
    create_database(glue, "dup")
    for name in ("dup", "DUP"):
        with pytest.raises(glue.exceptions.AlreadyExistsException) as excinfo:
            glue.create_database(DatabaseInput={"Name": name})
        assert_error(excinfo, "AlreadyExistsException", 400, "Database already exists.")


def test_get_missing_database_is_entity_not_found(glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_database(Name="Missing")
    assert_error(excinfo, "EntityNotFoundException", 400, "Database missing not found.")


def test_get_databases_always_carries_database_list(glue):
    response = call(glue, "GetDatabases")
    assert response["DatabaseList"] == []
    assert "NextToken" not in response


def test_get_databases_paginates_in_creation_order(glue):
    names = [f"db_{i:02d}" for i in range(7)]
    for name in names:
        create_database(glue, name)
    assert [d["Name"] for d in list_all(glue, "GetDatabases", "DatabaseList", page_size=3)] == names
    pages = list(glue.get_paginator("get_databases").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["DatabaseList"]) for p in pages] == [3, 3, 1]
    assert "NextToken" not in pages[-1]


def test_get_databases_attributes_to_get_returns_names_only(glue):
    create_database(glue, "named", Description="hidden")
    listed = call(glue, "GetDatabases", AttributesToGet=["NAME"])["DatabaseList"]
    assert listed == [{"Name": "named"}]


def test_get_databases_foreign_share_type_lists_nothing(glue):
    create_database(glue, "mine")
    assert call(glue, "GetDatabases", ResourceShareType="FOREIGN")["DatabaseList"] == []
    assert [d["Name"] for d in call(glue, "GetDatabases", ResourceShareType="ALL")["DatabaseList"]] == ["mine"]


def test_get_databases_rejects_a_foreign_token(glue):
    with pytest.raises(ClientError) as excinfo:
        glue.get_databases(NextToken="bm90IGEgdG9rZW4")
    assert_error(excinfo, "InvalidInputException", 400, "invalid")


def test_update_database_replaces_the_definition_and_keeps_create_time(glue):
    create_database(glue, "upd", Description="old", Parameters={"a": "1"})
    before = call(glue, "GetDatabase", Name="upd")["Database"]
    call(glue, "UpdateDatabase", Name="UPD", DatabaseInput={"Name": "upd", "Description": "new"})
    after = call(glue, "GetDatabase", Name="upd")["Database"]
    assert after["Description"] == "new"
    assert "Parameters" not in after  # full replacement
    assert after["CreateTime"] == before["CreateTime"]


def test_update_database_cannot_rename_or_update_a_missing_one(glue):
    create_database(glue, "keep")
    with pytest.raises(ClientError) as excinfo:
        glue.update_database(Name="keep", DatabaseInput={"Name": "other"})
    assert_error(excinfo, "InvalidInputException", 400, "keep")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.update_database(Name="ghost", DatabaseInput={"Name": "ghost"})
    assert_error(excinfo, "EntityNotFoundException", 400, "Database ghost not found.")


def test_delete_database_cascades_to_tables_and_partitions(glue):
    create_database(glue, "gone")
    create_table(glue, "gone", "t1")
    create_table(glue, "gone", "t2", keys=())
    call(glue, "BatchCreatePartition", DatabaseName="gone", TableName="t1",
         PartitionInputList=[partition_input("2024", "eu"), partition_input("2025", "us")])
    call(glue, "DeleteDatabase", Name="GONE")

    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_database(Name="gone")
    assert_error(excinfo, "EntityNotFoundException", 400, "Database gone not found.")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_table(DatabaseName="gone", Name="t1")
    assert_error(excinfo, "EntityNotFoundException", 400, "Database gone not found.")

    # A database of the same name starts empty: nothing of the old one survived.
    create_database(glue, "gone")
    assert call(glue, "GetTables", DatabaseName="gone")["TableList"] == []
    create_table(glue, "gone", "t1")
    assert call(glue, "GetPartitions", DatabaseName="gone", TableName="t1")["Partitions"] == []


def test_delete_missing_database_is_entity_not_found(glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.delete_database(Name="never")
    assert_error(excinfo, "EntityNotFoundException", 400, "Database never not found.")


# --------------------------------------------------------------------------------------------
# Server-side validation (botocore checks only required members, types and minimums)
# --------------------------------------------------------------------------------------------


def test_server_rejects_a_database_name_too_long(raw_glue):
    with pytest.raises(ClientError) as excinfo:
        raw_glue.create_database(DatabaseInput={"Name": "d" * 256})
    assert_error(excinfo, "InvalidInputException", 400, "DatabaseInput.Name", "255")


def test_server_rejects_a_name_outside_the_pattern(raw_glue):
    with pytest.raises(ClientError) as excinfo:
        raw_glue.create_database(DatabaseInput={"Name": "bad\u0001name"})
    assert_error(excinfo, "InvalidInputException", 400, "DatabaseInput.Name", "pattern")


def test_server_rejects_an_unknown_enum_value(raw_glue):
    with pytest.raises(ClientError) as excinfo:
        raw_glue.get_databases(ResourceShareType="EVERYTHING")
    assert_error(excinfo, "InvalidInputException", 400, "ResourceShareType")


def test_server_rejects_max_results_above_the_model_maximum(raw_glue):
    with pytest.raises(ClientError) as excinfo:
        raw_glue.get_databases(MaxResults=101)
    assert_error(excinfo, "InvalidInputException", 400, "MaxResults", "100")
    create_database(raw_glue, "v")
    with pytest.raises(ClientError) as excinfo:
        raw_glue.get_tables(DatabaseName="v", MaxResults=0)
    assert_error(excinfo, "InvalidInputException", 400, "MaxResults")


def test_server_rejects_missing_required_members(raw_glue):
    with pytest.raises(ClientError) as excinfo:
        raw_glue.create_database(DatabaseInput={})
    assert_error(excinfo, "InvalidInputException", 400, "Name")
    with pytest.raises(ClientError) as excinfo:
        raw_glue.get_table(DatabaseName="x")
    assert_error(excinfo, "InvalidInputException", 400, "Name")


def test_bad_input_writes_nothing(raw_glue, glue):
    with pytest.raises(ClientError):
        raw_glue.create_database(DatabaseInput={"Name": "ok", "Description": "x" * 2049})
    assert call(glue, "GetDatabases")["DatabaseList"] == []


# --------------------------------------------------------------------------------------------
# Catalogs: accounts, regions, CatalogId
# --------------------------------------------------------------------------------------------


def test_accounts_do_not_see_each_other(client):
    a, b = new_account(), new_account()
    ga, gb = client("glue", account=a), client("glue", account=b)
    create_database(ga, "private")
    create_table(ga, "private", "t")
    assert [d["Name"] for d in call(ga, "GetDatabases")["DatabaseList"]] == ["private"]
    assert call(gb, "GetDatabases")["DatabaseList"] == []
    with pytest.raises(gb.exceptions.EntityNotFoundException):
        gb.get_database(Name="private")
    with pytest.raises(gb.exceptions.EntityNotFoundException):
        gb.get_table(DatabaseName="private", Name="t")
    # B may create its own database of the same name; A's is untouched.
    create_database(gb, "private", Description="B's")
    assert "Description" not in call(ga, "GetDatabase", Name="private")["Database"]


def test_regions_are_separate_catalogs(client, account):
    east = client("glue", account=account, region="us-east-1")
    west = client("glue", account=account, region="eu-west-1")
    create_database(east, "regional")
    assert call(west, "GetDatabases")["DatabaseList"] == []
    create_database(west, "regional")
    assert call(west, "GetDatabase", Name="regional")["Database"]["CatalogId"] == account


def test_catalog_id_must_be_the_callers_account(client, glue, account):
    create_database(glue, "cat")
    assert call(glue, "GetDatabase", CatalogId=account, Name="cat")["Database"]["Name"] == "cat"
    other = new_account()
    with pytest.raises(ClientError) as excinfo:
        glue.get_database(CatalogId=other, Name="cat")
    assert_error(excinfo, "AccessDeniedException", 400, other)
    with pytest.raises(ClientError) as excinfo:
        glue.create_database(CatalogId=other, DatabaseInput={"Name": "x"})
    assert_error(excinfo, "AccessDeniedException", 400)
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_databases(CatalogId="not-a-catalog")
    assert_error(excinfo, "EntityNotFoundException", 400, "Catalog not-a-catalog not found.")


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def test_create_and_get_table_returns_server_members(glue, account):
    create_database(glue, "sales")
    spec = table_input("Orders", Description="orders by region")
    call(glue, "CreateTable", DatabaseName="SALES", TableInput=spec)
    table = call(glue, "GetTable", DatabaseName="sales", Name="ORDERS")["Table"]
    assert table["Name"] == "orders"
    assert table["DatabaseName"] == "sales"
    assert table["CatalogId"] == account
    assert table["VersionId"] == "0"
    assert table["Retention"] == 0
    assert table["IsRegisteredWithLakeFormation"] is False
    assert table["CreatedBy"] == f"arn:aws:iam::{account}:user/{account}"
    assert table["CreateTime"] == table["UpdateTime"]
    assert_recent(table["CreateTime"])
    assert table["PartitionKeys"] == spec["PartitionKeys"]
    assert table["StorageDescriptor"] == spec["StorageDescriptor"]
    assert table["Parameters"] == spec["Parameters"]
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert table["Description"] == "orders by region"


def test_unpartitioned_table_has_empty_partition_keys(glue):
    create_database(glue, "sales")
    create_table(glue, "sales", "flat", keys=())
    assert call(glue, "GetTable", DatabaseName="sales", Name="flat")["Table"]["PartitionKeys"] == []


def test_table_errors(glue, raw_glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.create_table(DatabaseName="nodb", TableInput=table_input())
    assert_error(excinfo, "EntityNotFoundException", 400, "Database nodb not found.")
    create_database(glue, "sales")
    create_table(glue, "sales", "orders")
    with pytest.raises(glue.exceptions.AlreadyExistsException) as excinfo:
        glue.create_table(DatabaseName="sales", TableInput=table_input("ORDERS"))
    assert_error(excinfo, "AlreadyExistsException", 400, "Table already exists.")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_table(DatabaseName="sales", Name="nope")
    assert_error(excinfo, "EntityNotFoundException", 400, "Table nope not found.")
    with pytest.raises(ClientError) as excinfo:
        raw_glue.create_table(DatabaseName="sales")
    assert_error(excinfo, "InvalidInputException", 400, "TableInput")
    with pytest.raises(ClientError) as excinfo:
        raw_glue.create_table(DatabaseName="sales", TableInput={"Name": "t" * 256})
    assert_error(excinfo, "InvalidInputException", 400, "TableInput.Name")


def test_get_tables_filters_names_by_regular_expression(glue):
    create_database(glue, "sales")
    for name in ("orders", "orders_2024", "customers", "old_orders"):
        create_table(glue, "sales", name)

    def names(**kwargs):
        return [t["Name"] for t in call(glue, "GetTables", DatabaseName="sales", **kwargs)["TableList"]]

    assert names() == ["orders", "orders_2024", "customers", "old_orders"]
    assert names(Expression="orders*") == ["orders", "orders_2024"]
    assert names(Expression="*orders*") == ["orders", "orders_2024", "old_orders"]
    assert names(Expression="*") == ["orders", "orders_2024", "customers", "old_orders"]
    assert names(Expression="orders_\\d+") == ["orders_2024"]
    assert names(Expression="customers|old_orders") == ["customers", "old_orders"]
    assert names(Expression="CUSTOMERS") == ["customers"]
    assert names(Expression="nothing") == []
    assert names(Expression="") == ["orders", "orders_2024", "customers", "old_orders"]
    with pytest.raises(ClientError) as excinfo:
        glue.get_tables(DatabaseName="sales", Expression="(unclosed")
    assert_error(excinfo, "InvalidInputException", 400, "(unclosed")


def test_get_tables_paginates(glue):
    create_database(glue, "many")
    names = [f"t{i:02d}" for i in range(11)]
    for name in names:
        create_table(glue, "many", name, keys=())
    listed = list_all(glue, "GetTables", "TableList", page_size=4, DatabaseName="many")
    assert [t["Name"] for t in listed] == names
    filtered = list_all(glue, "GetTables", "TableList", page_size=2, DatabaseName="many", Expression="t0.*")
    assert [t["Name"] for t in filtered] == names[:10]


def test_get_tables_of_a_missing_database(glue):
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_tables(DatabaseName="nodb")
    assert_error(excinfo, "EntityNotFoundException", 400, "Database nodb not found.")


def test_update_table_replaces_and_bumps_version(glue):
    create_database(glue, "sales")
    create_table(glue, "sales", "orders")
    created = call(glue, "GetTable", DatabaseName="sales", Name="orders")["Table"]
    new = table_input("orders", keys=(("year", "int"),), Description="v1")
    new["StorageDescriptor"]["Location"] = "s3://emulator-data/orders-v1/"
    call(glue, "UpdateTable", DatabaseName="sales", TableInput=new)
    v1 = call(glue, "GetTable", DatabaseName="sales", Name="orders")["Table"]
    assert v1["VersionId"] == "1"
    assert v1["Description"] == "v1"
    assert v1["StorageDescriptor"]["Location"] == "s3://emulator-data/orders-v1/"
    assert v1["PartitionKeys"] == [{"Name": "year", "Type": "int"}]
    assert v1["CreateTime"] == created["CreateTime"]
    assert v1["UpdateTime"] >= created["UpdateTime"]
    call(glue, "UpdateTable", DatabaseName="sales", TableInput=table_input("orders"), SkipArchive=True, VersionId="1")
    assert call(glue, "GetTable", DatabaseName="sales", Name="orders")["Table"]["VersionId"] == "2"


def test_update_table_with_a_stale_version_is_rejected(glue):
    create_database(glue, "sales")
    create_table(glue, "sales", "orders")
    call(glue, "UpdateTable", DatabaseName="sales", TableInput=table_input("orders"))
    with pytest.raises(ClientError) as excinfo:
        glue.update_table(DatabaseName="sales", TableInput=table_input("orders"), VersionId="0")
    assert_error(excinfo, "ConcurrentModificationException", 400, "version 1")
    assert call(glue, "GetTable", DatabaseName="sales", Name="orders")["Table"]["VersionId"] == "1"


def test_update_missing_table_is_entity_not_found(glue):
    create_database(glue, "sales")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.update_table(DatabaseName="sales", TableInput=table_input("ghost"))
    assert_error(excinfo, "EntityNotFoundException", 400, "Table ghost not found.")


def test_update_table_keeps_partition_storage(glue):
    create_database(glue, "sales")
    create_table(glue, "sales", "orders")
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders",
         PartitionInput=partition_input("2024", "eu", location="s3://elsewhere/p/"))
    new = table_input("orders")
    new["StorageDescriptor"]["Location"] = "s3://moved/"
    call(glue, "UpdateTable", DatabaseName="sales", TableInput=new)
    partition = call(glue, "GetPartition", DatabaseName="sales", TableName="orders",
                     PartitionValues=["2024", "eu"])["Partition"]
    assert partition["StorageDescriptor"]["Location"] == "s3://elsewhere/p/"


def test_delete_table_cascades_to_partitions(glue):
    create_database(glue, "sales")
    create_table(glue, "sales", "orders")
    call(glue, "CreatePartition", DatabaseName="sales", TableName="orders", PartitionInput=partition_input("2024", "eu"))
    call(glue, "DeleteTable", DatabaseName="sales", Name="Orders")
    with pytest.raises(glue.exceptions.EntityNotFoundException) as excinfo:
        glue.get_table(DatabaseName="sales", Name="orders")
    assert_error(excinfo, "EntityNotFoundException", 400, "Table orders not found.")
    create_table(glue, "sales", "orders")
    assert call(glue, "GetPartitions", DatabaseName="sales", TableName="orders")["Partitions"] == []
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.delete_table(DatabaseName="sales", Name="never")


def test_batch_delete_table_reports_missing_tables(glue):
    create_database(glue, "sales")
    for name in ("a", "b"):
        create_table(glue, "sales", name, keys=())
    response = call(glue, "BatchDeleteTable", DatabaseName="sales", TablesToDelete=["A", "missing", "b"])
    assert response["Errors"] == [
        {"TableName": "missing",
         "ErrorDetail": {"ErrorCode": "EntityNotFoundException", "ErrorMessage": "Table missing not found."}}
    ]
    assert call(glue, "GetTables", DatabaseName="sales")["TableList"] == []
    create_table(glue, "sales", "c", keys=())
    assert call(glue, "BatchDeleteTable", DatabaseName="sales", TablesToDelete=["c"])["Errors"] == []
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.batch_delete_table(DatabaseName="nodb", TablesToDelete=["c"])


def test_unimplemented_glue_operation_is_501(glue):
    with pytest.raises(ClientError) as excinfo:
        glue.get_crawlers()
    response = excinfo.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "GetCrawlers" in response["Error"]["Message"]


# --------------------------------------------------------------------------------------------
# Durability
# --------------------------------------------------------------------------------------------


def snapshot(server, account: str) -> dict:
    g = server.client("glue", account=account)
    return {
        "databases": call(g, "GetDatabases")["DatabaseList"],
        "tables": call(g, "GetTables", DatabaseName="sales")["TableList"],
        "partitions": call(g, "GetPartitions", DatabaseName="sales", TableName="orders")["Partitions"],
    }


def test_catalog_survives_kill9_and_restart(fresh_emulator):
    account = new_account()
    g = fresh_emulator.client("glue", account=account)
    create_database(g, "sales", Description="durable")
    create_table(g, "sales", "orders")
    call(g, "BatchCreatePartition", DatabaseName="sales", TableName="orders",
         PartitionInputList=[partition_input("2024", "eu"), partition_input("2025", "us")])
    call(g, "UpdateTable", DatabaseName="sales", TableInput=table_input("orders", Description="v1"))
    before = snapshot(fresh_emulator, account)
    assert values_of(before["partitions"]) == [["2024", "eu"], ["2025", "us"]]

    fresh_emulator.kill9()
    fresh_emulator.start()
    assert snapshot(fresh_emulator, account) == before

    assert fresh_emulator.stop() == 0
    fresh_emulator.start()
    after = snapshot(fresh_emulator, account)
    assert after == before
    assert after["tables"][0]["VersionId"] == "1"


def test_glue_errors_carry_message_member_on_the_wire(emulator, account):
    """awsJson error bodies: __type plus the modeled `Message` member (spec §0, B.6)."""
    response = raw_request(
        emulator.url,
        "POST",
        "/",
        json.dumps({"Name": "absent"}),
        account=account,
        service="glue",
        headers={"X-Amz-Target": "AWSGlue.GetDatabase", "Content-Type": "application/x-amz-json-1.1"},
    )
    assert response.status == 400
    body = response.json()
    assert body == {"__type": "EntityNotFoundException", "Message": "Database absent not found."}
    assert response.header("x-amzn-ErrorType") == "EntityNotFoundException"


def test_non_numeric_access_key_uses_the_default_account(client):
    g = client("glue", access_key="AKIAEMULATORTEST", account="ignored")
    name = "default_" + new_account()
    create_database(g, name)
    try:
        assert call(g, "GetDatabase", Name=name)["Database"]["CatalogId"] == "123456789012"
    finally:
        call(g, "DeleteDatabase", Name=name)

