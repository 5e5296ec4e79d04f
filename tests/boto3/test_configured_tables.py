"""Configured tables: create over the caller's Glue Data Catalog, read, list, update, delete.

Spec: shared/spec/cleanrooms.md §1.3 (Configured table), §1.4 (constraints), §2.2 item 1
(account-level resources), §2.3 (Create/Get/List/Update/DeleteConfiguredTable), §8 (pagination),
Appendix F step 4.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from helpers import (
    A,
    B,
    OMIT,
    UUID_RE,
    add_table_rule,
    aggregation_policy,
    assert_error,
    assert_field_error,
    call,
    configured_table_args,
    create_configured_table,
    create_glue_table,
    joined_collaboration,
    list_all,
    random_id,
    role_arn,
)

pytestmark = pytest.mark.usefixtures("reset")

ATHENA = {"athena": {"workGroup": "primary", "databaseName": "sales", "tableName": "orders", "outputLocation": "s3://athena-out/x/"}}
SNOWFLAKE = {
    "snowflake": {
        "secretArn": f"arn:aws:secretsmanager:us-east-1:{A}:secret:snow-abc",
        "accountIdentifier": "org-acct",
        "databaseName": "DB",
        "tableName": "ORDERS",
        "schemaName": "PUBLIC",
        "tableSchema": {"v1": [{"columnName": "user_id", "columnType": "VARCHAR"}]},
    }
}
DATABRICKS = {
    "databricks": {
        "schemaName": "default",
        "tableName": "orders",
        "workspaceUrl": "https://dbc-1234.cloud.databricks.com",
        "connectionType": {
            "deltaSharing": {
                "deltaShareEndpoint": "https://dbc-1234.cloud.databricks.com/api/2.0/delta-sharing/metastores/"
                "0123abcd-0000-4000-8000-0123456789ab/recipients/0123abcd-0000-4000-8000-0123456789ac",
                "shareName": "orders_share",
            }
        },
    }
}


@pytest.fixture
def a(client):
    """Account A with the Glue table sales.customers (user_id, segment, spend, email, age; dt)."""
    create_glue_table(client("glue", account=A))
    return client("cleanrooms", account=A)


def get_table(client, table_id: str) -> dict:
    return call(client, "GetConfiguredTable", configuredTableIdentifier=table_id)["configuredTable"]


def table_ids(client, **kwargs) -> list[str]:
    return [t["id"] for t in list_all(client, "ListConfiguredTables", "configuredTableSummaries", **kwargs)]


# --------------------------------------------------------------------------------------------
# Create / Get
# --------------------------------------------------------------------------------------------


def test_create_configured_table_over_glue_table(a):
    args = configured_table_args(tags={"team": "data"})
    t = call(a, "CreateConfiguredTable", **args)["configuredTable"]
    assert re.fullmatch(UUID_RE, t["id"])
    assert t["arn"] == f"arn:aws:cleanrooms:us-east-1:{A}:configuredtable/{t['id']}"
    assert t["name"] == args["name"]
    assert t["description"] == args["description"]
    assert t["tableReference"] == {"glue": {"databaseName": "sales", "tableName": "customers"}}
    assert t["tableType"] == "GLUE"
    assert t["allowedColumns"] == ["user_id", "segment", "spend"]
    assert t["analysisMethod"] == "DIRECT_QUERY"
    assert t["analysisRuleTypes"] == []
    assert "selectedAnalysisMethods" not in t
    assert t["updateTime"] >= t["createTime"]
    assert get_table(a, t["id"]) == t
    assert call(a, "ListTagsForResource", resourceArn=t["arn"])["tags"] == {"team": "data"}


def test_create_configured_table_partition_keys_are_columns(a):
    t = create_configured_table(a, allowedColumns=["dt", "user_id", "age"], description=OMIT)
    assert t["allowedColumns"] == ["dt", "user_id", "age"]
    assert "description" not in t


def test_create_configured_table_glue_region_and_case(client, a):
    t = create_configured_table(
        a, tableReference={"glue": {"databaseName": "Sales", "tableName": "CUSTOMERS", "region": "us-east-1"}}
    )
    assert t["tableReference"]["glue"]["region"] == "us-east-1"
    # the table lives in us-east-1: a reference to another region finds nothing there
    with pytest.raises(ClientError) as excinfo:
        a.create_configured_table(
            **configured_table_args(tableReference={"glue": {"databaseName": "sales", "tableName": "customers", "region": "eu-west-1"}})
        )
    assert_error(excinfo, "ValidationException", 400, "customers")


def test_create_configured_table_missing_glue_table_or_database(a):
    for database, table in (("sales", "nope"), ("nodb", "customers")):
        with pytest.raises(ClientError) as excinfo:
            a.create_configured_table(**configured_table_args(database, table))
        response = assert_error(excinfo, "ValidationException", 400, table, database)
        assert response["reason"] == "INVALID_CONFIGURATION"
    assert table_ids(a) == []


def test_create_configured_table_glue_table_of_another_account_does_not_count(client, a):
    b = client("cleanrooms", account=B)
    with pytest.raises(ClientError) as excinfo:
        b.create_configured_table(**configured_table_args())
    assert_error(excinfo, "ValidationException", 400, "customers", B)


def test_create_configured_table_unknown_column_is_named(a):
    with pytest.raises(ClientError) as excinfo:
        a.create_configured_table(**configured_table_args(allowedColumns=["user_id", "phone"]))
    response = assert_error(excinfo, "ValidationException", 400, "allowedColumns", "'phone'", "customers")
    assert response["reason"] == "INVALID_CONFIGURATION"


def test_create_configured_table_duplicate_column_rejected(a):
    with pytest.raises(ClientError) as excinfo:
        a.create_configured_table(**configured_table_args(allowedColumns=["user_id", "user_id"]))
    assert_error(excinfo, "ValidationException", 400, "allowedColumns", "user_id")


def test_create_configured_table_column_name_pattern_and_count(client, a):
    raw = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table(**configured_table_args(allowedColumns=["User_Id"]))
    assert_field_error(excinfo, "allowedColumns", "pattern")
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table(**configured_table_args(allowedColumns=[]))
    assert_field_error(excinfo, "allowedColumns", "length")
    many = [f"c{i}" for i in range(101)]
    create_glue_table(client("glue", account=A), table="wide", columns=[(c, "string") for c in many], partition_keys=[])
    with pytest.raises(ClientError) as excinfo:
        a.create_configured_table(**configured_table_args(table="wide", allowedColumns=many))
    assert_error(excinfo, "ValidationException", 400, "allowedColumns", "100")
    assert len(create_configured_table(a, table="wide", allowedColumns=many[:100])["allowedColumns"]) == 100


def test_create_configured_table_name_is_validated(client, a):
    raw = client("cleanrooms", account=A, validate=False)
    for name, rule in (("   ", "pattern"), ("n" * 101, "length")):
        with pytest.raises(ClientError) as excinfo:
            raw.create_configured_table(**configured_table_args(name=name))
        assert_field_error(excinfo, "name", rule)
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table(**configured_table_args(analysisMethod="SOMETIMES"))
    assert_field_error(excinfo, "analysisMethod", "enum")
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table(
            **configured_table_args(tableReference={"glue": {"databaseName": "sales", "tableName": "customers"}, "athena": ATHENA["athena"]})
        )
    assert_field_error(excinfo, "tableReference")


@pytest.mark.parametrize("reference, table_type", [(ATHENA, "ATHENA"), (SNOWFLAKE, "SNOWFLAKE"), (DATABRICKS, "DATABRICKS")])
def test_create_configured_table_other_references_are_stored(a, reference, table_type):
    t = create_configured_table(a, tableReference=reference, allowedColumns=["user_id", "anything"])
    assert t["tableType"] == table_type
    assert t["tableReference"] == reference
    assert get_table(a, t["id"])["tableReference"] == reference


def test_create_configured_table_analysis_methods(a):
    t = create_configured_table(a, analysisMethod="MULTIPLE", selectedAnalysisMethods=["DIRECT_QUERY", "DIRECT_JOB"])
    assert t["analysisMethod"] == "MULTIPLE"
    assert sorted(t["selectedAnalysisMethods"]) == ["DIRECT_JOB", "DIRECT_QUERY"]
    assert create_configured_table(a, analysisMethod="DIRECT_JOB")["analysisMethod"] == "DIRECT_JOB"
    for method, selected, words in (
        ("MULTIPLE", OMIT, ("MULTIPLE", "selectedAnalysisMethods")),
        ("MULTIPLE", ["DIRECT_QUERY"], ("selectedAnalysisMethods", "DIRECT_QUERY")),
        ("MULTIPLE", ["DIRECT_QUERY", "DIRECT_QUERY"], ("selectedAnalysisMethods",)),
        ("DIRECT_QUERY", ["DIRECT_QUERY", "DIRECT_JOB"], ("selectedAnalysisMethods", "DIRECT_QUERY")),
        ("DIRECT_JOB", ["DIRECT_JOB"], ("selectedAnalysisMethods", "MULTIPLE")),
    ):
        with pytest.raises(ClientError) as excinfo:
            a.create_configured_table(**configured_table_args(analysisMethod=method, selectedAnalysisMethods=selected))
        assert_error(excinfo, "ValidationException", 400, *words)


# --------------------------------------------------------------------------------------------
# Account-level visibility (spec §2.2 item 1)
# --------------------------------------------------------------------------------------------


def test_configured_table_is_invisible_to_other_accounts(client, a):
    b = client("cleanrooms", account=B)
    t = create_configured_table(a)
    assert table_ids(b) == []
    for call_it in (
        lambda: b.get_configured_table(configuredTableIdentifier=t["id"]),
        lambda: b.update_configured_table(configuredTableIdentifier=t["id"], name="mine"),
        lambda: b.delete_configured_table(configuredTableIdentifier=t["id"]),
        lambda: b.get_configured_table_analysis_rule(configuredTableIdentifier=t["id"], analysisRuleType="AGGREGATION"),
        lambda: b.list_tags_for_resource(resourceArn=t["arn"]),
    ):
        with pytest.raises(ClientError) as excinfo:
            call_it()
        response = assert_error(excinfo, "ResourceNotFoundException", 404)
        assert response["resourceType"] == "CONFIGURED_TABLE"
        assert response["resourceId"] == t["id"]
    assert get_table(a, t["id"])["name"] == t["name"]
    # regional too
    west = client("cleanrooms", account=A, region="us-west-2")
    with pytest.raises(ClientError) as excinfo:
        west.get_configured_table(configuredTableIdentifier=t["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_get_configured_table_unknown_and_malformed(client, a):
    unknown = random_id()
    with pytest.raises(ClientError) as excinfo:
        a.get_configured_table(configuredTableIdentifier=unknown)
    response = assert_error(excinfo, "ResourceNotFoundException", 404, unknown)
    assert response["resourceType"] == "CONFIGURED_TABLE"
    raw = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.get_configured_table(configuredTableIdentifier="x" * 36)
    assert_field_error(excinfo, "configuredTableIdentifier", "pattern")


# --------------------------------------------------------------------------------------------
# List
# --------------------------------------------------------------------------------------------


def test_list_configured_tables_paginates_in_creation_order(a):
    created = [create_configured_table(a, name=f"t{i}")["id"] for i in range(5)]
    pages = list(a.get_paginator("list_configured_tables").paginate(PaginationConfig={"PageSize": 2}))
    assert [len(p["configuredTableSummaries"]) for p in pages] == [2, 2, 1]
    assert "nextToken" not in pages[-1]
    assert [s["id"] for p in pages for s in p["configuredTableSummaries"]] == created
    summary = pages[0]["configuredTableSummaries"][0]
    full = get_table(a, created[0])
    for key, value in summary.items():
        assert full[key] == value, key


def test_list_configured_tables_rejects_foreign_token(client, a):
    for _ in range(2):
        create_configured_table(a)
    token = call(a, "ListConfiguredTables", maxResults=1)["nextToken"]
    b = client("cleanrooms", account=B)
    with pytest.raises(ClientError) as excinfo:
        b.list_configured_tables(nextToken=token)
    assert_error(excinfo, "ValidationException", 400, "nextToken")


# --------------------------------------------------------------------------------------------
# Update
# --------------------------------------------------------------------------------------------


def test_update_configured_table_changes_given_members(a):
    t = create_configured_table(a)
    updated = call(
        a,
        "UpdateConfiguredTable",
        configuredTableIdentifier=t["id"],
        name="renamed",
        description="new",
        allowedColumns=["user_id", "email", "dt"],
    )["configuredTable"]
    assert updated["name"] == "renamed"
    assert updated["description"] == "new"
    assert updated["allowedColumns"] == ["user_id", "email", "dt"]
    for key in ("id", "arn", "createTime", "tableReference", "analysisMethod", "analysisRuleTypes"):
        assert updated[key] == t[key], key
    assert updated["updateTime"] >= t["updateTime"]
    assert get_table(a, t["id"]) == updated

    multi = call(
        a,
        "UpdateConfiguredTable",
        configuredTableIdentifier=t["id"],
        analysisMethod="MULTIPLE",
        selectedAnalysisMethods=["DIRECT_JOB", "DIRECT_QUERY"],
    )["configuredTable"]
    assert multi["analysisMethod"] == "MULTIPLE"
    back = call(a, "UpdateConfiguredTable", configuredTableIdentifier=t["id"], analysisMethod="DIRECT_QUERY")["configuredTable"]
    assert back["analysisMethod"] == "DIRECT_QUERY"
    assert "selectedAnalysisMethods" not in back


def test_update_configured_table_revalidates(client, a):
    t = create_configured_table(a)
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table(configuredTableIdentifier=t["id"], allowedColumns=["user_id", "phone"])
    assert_error(excinfo, "ValidationException", 400, "phone")
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table(
            configuredTableIdentifier=t["id"], tableReference={"glue": {"databaseName": "sales", "tableName": "gone"}}
        )
    assert_error(excinfo, "ValidationException", 400, "gone")
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table(configuredTableIdentifier=t["id"], analysisMethod="MULTIPLE")
    assert_error(excinfo, "ValidationException", 400, "MULTIPLE")
    assert get_table(a, t["id"]) == t

    # another Glue table with the right columns is fine
    create_glue_table(client("glue", account=A), table="customers_v2")
    moved = call(
        a,
        "UpdateConfiguredTable",
        configuredTableIdentifier=t["id"],
        tableReference={"glue": {"databaseName": "sales", "tableName": "customers_v2"}},
    )["configuredTable"]
    assert moved["tableReference"]["glue"]["tableName"] == "customers_v2"


def test_update_configured_table_keeps_its_rule_valid(a):
    t = create_configured_table(a)
    add_table_rule(a, t["id"], aggregation_policy())
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table(configuredTableIdentifier=t["id"], allowedColumns=["user_id", "spend"])
    assert_error(excinfo, "ValidationException", 400, "segment", "dimensionColumns")
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table(configuredTableIdentifier=t["id"], tableReference=ATHENA)
    assert_error(excinfo, "ValidationException", 400, "CUSTOM")
    widened = call(
        a, "UpdateConfiguredTable", configuredTableIdentifier=t["id"], allowedColumns=["user_id", "segment", "spend", "age"]
    )["configuredTable"]
    assert widened["analysisRuleTypes"] == ["AGGREGATION"]


# --------------------------------------------------------------------------------------------
# Delete
# --------------------------------------------------------------------------------------------


def test_delete_configured_table_removes_table_rule_and_tags(a):
    t = create_configured_table(a, tags={"k": "v"})
    add_table_rule(a, t["id"], aggregation_policy())
    response = call(a, "DeleteConfiguredTable", configuredTableIdentifier=t["id"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        a.get_configured_table(configuredTableIdentifier=t["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        a.get_configured_table_analysis_rule(configuredTableIdentifier=t["id"], analysisRuleType="AGGREGATION")
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=t["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert table_ids(a) == []
    with pytest.raises(ClientError) as excinfo:
        a.delete_configured_table(configuredTableIdentifier=t["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_delete_configured_table_while_associated_is_a_conflict(client, a):
    b = client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    t = create_configured_table(a)
    assoc = call(
        a,
        "CreateConfiguredTableAssociation",
        membershipIdentifier=ma["id"],
        name="a_customers",
        configuredTableIdentifier=t["id"],
        roleArn=role_arn(A),
    )["configuredTableAssociation"]
    with pytest.raises(ClientError) as excinfo:
        a.delete_configured_table(configuredTableIdentifier=t["id"])
    response = assert_error(excinfo, "ConflictException", 409, "a_customers")
    assert response["reason"] == "SUBRESOURCES_EXIST"
    assert response["resourceType"] == "CONFIGURED_TABLE"
    assert get_table(a, t["id"])["id"] == t["id"]

    call(a, "DeleteConfiguredTableAssociation", membershipIdentifier=ma["id"], configuredTableAssociationIdentifier=assoc["id"])
    call(a, "DeleteConfiguredTable", configuredTableIdentifier=t["id"])
    assert table_ids(a) == []


def test_delete_collaboration_releases_configured_tables(client, a):
    b = client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    t = create_configured_table(a)
    call(
        a,
        "CreateConfiguredTableAssociation",
        membershipIdentifier=ma["id"],
        name="a_customers",
        configuredTableIdentifier=t["id"],
        roleArn=role_arn(A),
    )
    call(a, "DeleteCollaboration", collaborationIdentifier=coll["id"])
    # the association left with the collaboration; the account-level table stays, and can go
    assert get_table(a, t["id"])["id"] == t["id"]
    call(a, "DeleteConfiguredTable", configuredTableIdentifier=t["id"])


def test_configured_tables_per_account_quota(client, a):
    athena = {"athena": {"workGroup": "primary", "databaseName": "sales", "tableName": "orders"}}
    for i in range(250):
        a.create_configured_table(
            name=f"t{i}", tableReference=athena, allowedColumns=["user_id"], analysisMethod="DIRECT_QUERY"
        )
    with pytest.raises(ClientError) as excinfo:
        a.create_configured_table(**configured_table_args())
    response = assert_error(excinfo, "ServiceQuotaExceededException", 402)
    assert response["quotaValue"] == 250
    assert response["quotaName"]
    # the quota is per account
    create_glue_table(client("glue", account=B))
    assert create_configured_table(client("cleanrooms", account=B))["id"]
