"""Intermediate tables without population: create (dependencies, validation, name space), get,
list, update, delete, versions, the CUSTOM analysis rule, DisallowIntermediateTable, base-table
removal and intermediate tables as schemas — in a three-party collaboration where A runs the
queries and A, B and C each contribute a table.

Population, retention expiry and the multi-party rule checks need populated tables; they are
covered by the population tests and by Rust unit tests (intermediate.rs, lifecycle.rs).

Spec: shared/spec/cleanrooms.md §1.3, §2.3 (intermediate table rows), §3.4, §3.5, §5.1-§5.3,
§5.6, §5.7.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from helpers import (
    A,
    B,
    C,
    D,
    UUID_RE,
    assert_error,
    assert_field_error,
    call,
    create_collaboration,
    create_configured_table,
    create_glue_table,
    create_membership,
    list_all,
    member,
    random_id,
    role_arn,
    s3_result_configuration,
)

pytestmark = pytest.mark.usefixtures("reset")

JOIN_SQL = "SELECT b.user_id, b.segment, c.spend FROM b_spend b JOIN c_orders c ON b.user_id = c.user_id"


@pytest.fixture
def setup(client):
    """A creates (CAN_QUERY, CAN_RECEIVE_RESULTS) with B (CAN_RECEIVE_RESULTS) and C (no
    abilities); all joined; A, B and C associate tables a_users, b_spend and c_orders."""
    a, b, c = (client("cleanrooms", account=x) for x in (A, B, C))
    coll = create_collaboration(a, members=[member(B, ["CAN_RECEIVE_RESULTS"]), member(C)])
    mb = create_membership(b, coll["id"])
    mc = create_membership(c, coll["id"])
    ma = create_membership(a, coll["id"], defaultResultConfiguration=s3_result_configuration())
    ctas = {}
    for cr, account, m, name in ((a, A, ma, "a_users"), (b, B, mb, "b_spend"), (c, C, mc, "c_orders")):
        create_glue_table(client("glue", account=account))
        table = create_configured_table(cr, allowedColumns=["user_id", "segment", "spend"])
        ctas[name] = call(
            cr,
            "CreateConfiguredTableAssociation",
            membershipIdentifier=m["id"],
            name=name,
            configuredTableIdentifier=table["id"],
            roleArn=role_arn(account),
        )["configuredTableAssociation"]
    return {"a": a, "b": b, "c": c, "coll": coll, "ma": ma, "mb": mb, "mc": mc, "ctas": ctas, "client": client}


def create(client, membership_id: str, name: str, sql: str | None = JOIN_SQL, **extra) -> dict:
    args = {"membershipIdentifier": membership_id, "name": name, **extra}
    if "populationAnalysisConfiguration" not in args:
        args["populationAnalysisConfiguration"] = {"sqlParameters": {"queryString": sql}}
    return call(client, "CreateIntermediateTable", **args)["intermediateTable"]


def get(client, membership_id: str, table_id: str) -> dict:
    return call(client, "GetIntermediateTable", membershipIdentifier=membership_id, intermediateTableIdentifier=table_id)["intermediateTable"]


def deps(table: dict) -> list[tuple[str, str, str, str]]:
    return [(d["name"], d["type"], d["parentType"], d["creatorAccountId"]) for d in table["tableDependencies"]]


def rule_policy(**custom) -> dict:
    return {"v1": {"custom": custom}}


def create_rule(client, membership_id: str, table_id: str, **custom) -> dict:
    return call(
        client,
        "CreateIntermediateTableAnalysisRule",
        membershipIdentifier=membership_id,
        intermediateTableIdentifier=table_id,
        analysisRuleType="CUSTOM",
        analysisRulePolicy=rule_policy(**custom),
    )["analysisRule"]


# ------------------------------------------------------------------------------------------------
# Create, get, list
# ------------------------------------------------------------------------------------------------


def test_create_and_get_a_table_with_direct_dependencies(setup):
    a, coll, ma, ctas = setup["a"], setup["coll"], setup["ma"], setup["ctas"]
    t = create(a, ma["id"], "Joined", description="B and C joined", tags={"team": "ads"})
    assert re.fullmatch(UUID_RE, t["id"])
    assert t["arn"] == f"arn:aws:cleanrooms:us-east-1:{A}:membership/{ma['id']}/intermediatetable/{t['id']}"
    assert t["name"] == "joined" and t["description"] == "B and C joined"
    assert t["membershipId"] == ma["id"] and t["membershipArn"] == ma["arn"]
    assert t["collaborationId"] == coll["id"] and t["collaborationArn"] == coll["arn"]
    assert t["status"] == "CREATED" and "statusReason" not in t
    assert t["retentionInDays"] == 30 and t["analysisRuleTypes"] == []
    assert "intermediateTableVersion" not in t and "schema" not in t
    assert t["populationAnalysisConfiguration"] == {"sqlParameters": {"queryString": JOIN_SQL}}
    assert deps(t) == [("b_spend", "TABLE", "DIRECT", B), ("c_orders", "TABLE", "DIRECT", C)]
    assert [d["id"] for d in t["tableDependencies"]] == [ctas["b_spend"]["id"], ctas["c_orders"]["id"]]
    got = get(a, ma["id"], t["id"])
    assert got["childResources"] == []
    assert {k: v for k, v in got.items() if k != "childResources"} == {k: v for k, v in t.items() if k != "childResources"}
    tags = call(a, "ListTagsForResource", resourceArn=t["arn"])["tags"]
    assert tags == {"team": "ads"}


def test_nested_tables_get_indirect_dependencies_and_child_resources(setup):
    a, b, ma, mb, ctas = setup["a"], setup["b"], setup["ma"], setup["mb"], setup["ctas"]
    t1 = create(a, ma["id"], "joined")
    t2 = create(a, ma["id"], "enriched", "SELECT j.user_id, u.segment FROM joined j JOIN a_users u ON j.user_id = u.user_id")
    assert deps(t2) == [
        ("joined", "INTERMEDIATE_TABLE", "DIRECT", A),
        ("a_users", "TABLE", "DIRECT", A),
        ("b_spend", "TABLE", "INDIRECT", B),
        ("c_orders", "TABLE", "INDIRECT", C),
    ]
    t3 = create(a, ma["id"], "summit", "WITH x AS (SELECT * FROM enriched) SELECT * FROM x JOIN b_spend USING (user_id)")
    assert deps(t3) == [
        ("enriched", "INTERMEDIATE_TABLE", "DIRECT", A),
        ("b_spend", "TABLE", "DIRECT", B),
        ("joined", "INTERMEDIATE_TABLE", "INDIRECT", A),
        ("a_users", "TABLE", "INDIRECT", A),
        ("c_orders", "TABLE", "INDIRECT", C),
    ]
    children = get(a, ma["id"], t1["id"])["childResources"]
    assert children == [
        {"resourceId": t2["id"], "resourceType": "INTERMEDIATE_TABLE", "resourceName": "enriched", "ownerAccountId": A, "resourceStatus": "CREATED"},
        {"resourceId": t3["id"], "resourceType": "INTERMEDIATE_TABLE", "resourceName": "summit", "ownerAccountId": A, "resourceStatus": "CREATED"},
    ]
    assert [c["resourceName"] for c in get(a, ma["id"], t3["id"])["childResources"]] == []
    cta = call(b, "GetConfiguredTableAssociation", membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=ctas["b_spend"]["id"])
    assert [c["resourceName"] for c in cta["configuredTableAssociation"]["childResources"]] == ["joined", "enriched", "summit"]


def test_create_from_a_sql_analysis_template(setup, client):
    a, ma = setup["a"], setup["ma"]
    template = call(
        a,
        "CreateAnalysisTemplate",
        membershipIdentifier=ma["id"],
        name="spend",
        format="SQL",
        source={"text": "SELECT user_id, spend FROM c_orders WHERE spend > :min"},
        analysisParameters=[{"name": "min", "type": "DOUBLE_PRECISION", "defaultValue": "0"}],
    )["analysisTemplate"]
    config = {"sqlParameters": {"analysisTemplateArn": template["arn"]}}
    t = create(a, ma["id"], "from_template", populationAnalysisConfiguration=config, retentionInDays=7)
    assert t["populationAnalysisConfiguration"] == config and t["retentionInDays"] == 7
    assert deps(t) == [("c_orders", "TABLE", "DIRECT", C)]

    # A template of another collaboration, or one that does not exist, cannot be used.
    other = create_collaboration(a, members=[member(B)])
    mo = create_membership(a, other["id"])
    foreign = call(a, "CreateAnalysisTemplate", membershipIdentifier=mo["id"], name="t", format="SQL", source={"text": "SELECT 1"})["analysisTemplate"]
    for arn in (foreign["arn"], template["arn"].replace(template["id"], random_id())):
        with pytest.raises(ClientError) as e:
            create(a, ma["id"], "bad_template", populationAnalysisConfiguration={"sqlParameters": {"analysisTemplateArn": arn}})
        response = assert_error(e, "ValidationException", 400, "analysisTemplateArn", arn)
        assert response["reason"] == "INVALID_CONFIGURATION"


def test_templates_may_read_intermediate_tables(setup):
    a, ma = setup["a"], setup["ma"]
    create(a, ma["id"], "joined")
    template = call(
        a, "CreateAnalysisTemplate", membershipIdentifier=ma["id"], name="on_joined", format="SQL", source={"text": "SELECT user_id FROM joined"}
    )["analysisTemplate"]
    assert template["schema"] == {"referencedTables": ["joined"]}
    t = create(a, ma["id"], "nested", populationAnalysisConfiguration={"sqlParameters": {"analysisTemplateArn": template["arn"]}})
    assert deps(t) == [
        ("joined", "INTERMEDIATE_TABLE", "DIRECT", A),
        ("b_spend", "TABLE", "INDIRECT", B),
        ("c_orders", "TABLE", "INDIRECT", C),
    ]


def test_create_validation_errors(setup):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
    cases = [
        ({"sqlParameters": {"queryString": "SELECT * FROM nowhere"}}, ["nowhere", "queryString"]),
        ({"sqlParameters": {"queryString": "SELEC user_id FRM b_spend"}}, ["queryString", "not valid SQL"]),
        ({"sqlParameters": {"queryString": "DELETE FROM b_spend"}}, ["queryString"]),
        ({"sqlParameters": {}}, ["queryString or analysisTemplateArn"]),
    ]
    for config, parts in cases:
        with pytest.raises(ClientError) as e:
            create(a, ma["id"], "bad", populationAnalysisConfiguration=config)
        assert_error(e, "ValidationException", 400, *parts)
    both = {"sqlParameters": {"queryString": JOIN_SQL, "analysisTemplateArn": f"arn:aws:cleanrooms:us-east-1:{A}:membership/{ma['id']}/analysistemplate/{random_id()}"}}
    with pytest.raises(ClientError) as e:
        create(a, ma["id"], "bad", populationAnalysisConfiguration=both)
    assert_error(e, "ValidationException", 400, "not both")
    for name in ("select", "my table", "a.b", "1abc"):
        with pytest.raises(ClientError) as e:
            create(a, ma["id"], name)
        assert_field_error(e, "name")
    with pytest.raises(ClientError) as e:  # botocore itself refuses values below the minimum
        create(a, ma["id"], "t", retentionInDays=366)
    assert_field_error(e, "retentionInDays")
    with pytest.raises(ClientError) as e:
        create(a, ma["id"], "t", tags={"aws:x": "y"})
    assert_error(e, "ValidationException", 400, "aws:")
    # Only the member that can query creates intermediate tables.
    with pytest.raises(ClientError) as e:
        create(b, mb["id"], "t")
    assert_error(e, "AccessDeniedException", 403, "CAN_QUERY")
    # Someone else's or an unknown membership is not found.
    for m in (mb["id"], random_id()):
        with pytest.raises(ClientError) as e:
            create(a, m, "t")
        assert assert_error(e, "ResourceNotFoundException", 404)["resourceType"] == "MEMBERSHIP"
    assert list_all(a, "ListIntermediateTables", "intermediateTableSummaries", membershipIdentifier=ma["id"]) == []


def test_names_are_unique_among_associations_and_intermediate_tables(setup, client):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
    for name in ("b_spend", "B_SPEND"):
        with pytest.raises(ClientError) as e:
            create(a, ma["id"], name)
        response = assert_error(e, "ConflictException", 409, "b_spend")
        assert response["reason"] == "ALREADY_EXISTS"
    t = create(a, ma["id"], "shared_name")
    with pytest.raises(ClientError) as e:
        create(a, ma["id"], "Shared_Name")
    assert assert_error(e, "ConflictException", 409)["resourceId"] == t["id"]
    create_glue_table(client("glue", account=B), table="more")
    other = create_configured_table(b, table="more")
    with pytest.raises(ClientError) as e:
        call(b, "CreateConfiguredTableAssociation", membershipIdentifier=mb["id"], name="shared_name", configuredTableIdentifier=other["id"], roleArn=role_arn(B))
    response = assert_error(e, "ConflictException", 409, "intermediate table", "shared_name")
    assert response["reason"] == "ALREADY_EXISTS"


def test_list_paginates_and_shows_only_the_callers_tables(setup):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
    made = [create(a, ma["id"], f"t{i}", "SELECT * FROM b_spend") for i in range(3)]
    page = call(a, "ListIntermediateTables", membershipIdentifier=ma["id"], maxResults=2)
    assert len(page["intermediateTableSummaries"]) == 2 and page["nextToken"]
    summaries = list_all(a, "ListIntermediateTables", "intermediateTableSummaries", page_size=2, membershipIdentifier=ma["id"])
    assert [s["id"] for s in summaries] == [t["id"] for t in made]
    s = summaries[0]
    assert s["status"] == "CREATED" and s["retentionInDays"] == 30 and s["analysisRuleTypes"] == []
    assert s["arn"] == made[0]["arn"] and s["membershipId"] == ma["id"]
    assert list_all(b, "ListIntermediateTables", "intermediateTableSummaries", membershipIdentifier=mb["id"]) == []
    with pytest.raises(ClientError) as e:
        call(a, "ListIntermediateTables", membershipIdentifier=ma["id"], nextToken="garbage")
    assert_error(e, "ValidationException", 400)


def test_only_the_owner_reads_or_changes_a_table(setup):
    a, b, c, ma, mb = setup["a"], setup["b"], setup["c"], setup["ma"], setup["mb"]
    t = create(a, ma["id"], "joined")
    calls = [
        ("GetIntermediateTable", {}),
        ("UpdateIntermediateTable", {"description": "x"}),
        ("DeleteIntermediateTable", {}),
        ("ListIntermediateTableVersions", {}),
        ("CreateIntermediateTableAnalysisRule", {"analysisRuleType": "CUSTOM", "analysisRulePolicy": rule_policy()}),
        ("GetIntermediateTableAnalysisRule", {"analysisRuleType": "CUSTOM"}),
        ("PopulateIntermediateTable", {}),
    ]
    for op, extra in calls:
        with pytest.raises(ClientError) as e:
            call(b, op, membershipIdentifier=mb["id"], intermediateTableIdentifier=t["id"], **extra)
        assert_error(e, "AccessDeniedException", 403, t["id"])
        with pytest.raises(ClientError) as e:
            call(b, op, membershipIdentifier=ma["id"], intermediateTableIdentifier=t["id"], **extra)
        assert assert_error(e, "ResourceNotFoundException", 404)["resourceType"] == "MEMBERSHIP"
    with pytest.raises(ClientError) as e:
        get(a, ma["id"], random_id())
    assert_error(e, "ResourceNotFoundException", 404, "intermediate table")
    assert get(a, ma["id"], t["id"])["status"] == "CREATED"


# ------------------------------------------------------------------------------------------------
# Update, delete, versions
# ------------------------------------------------------------------------------------------------


def test_update_description_kms_key_and_column_types(setup):
    a, ma = setup["a"], setup["ma"]
    t = create(a, ma["id"], "joined")
    key = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    out = call(a, "UpdateIntermediateTable", membershipIdentifier=ma["id"], intermediateTableIdentifier=t["id"], description="new", kmsKeyArn=key)
    u = out["intermediateTable"]
    assert u["description"] == "new" and u["kmsKeyArn"] == key and u["updateTime"] >= t["updateTime"]
    assert get(a, ma["id"], t["id"])["description"] == "new"
    # Column types can change only once a population recorded the schema.
    with pytest.raises(ClientError) as e:
        call(a, "UpdateIntermediateTable", membershipIdentifier=ma["id"], intermediateTableIdentifier=t["id"], columns=[{"name": "user_id", "type": "string"}])
    response = assert_error(e, "ValidationException", 400, "columns", "no schema")
    assert response["reason"] == "INVALID_CONFIGURATION"
    with pytest.raises(ClientError) as e:
        call(a, "UpdateIntermediateTable", membershipIdentifier=ma["id"], intermediateTableIdentifier=t["id"], kmsKeyArn="arn:aws:kms:us-east-1:123:key/abc")
    assert_field_error(e, "kmsKeyArn")


def test_delete_is_idempotent_and_leaves_children_base_table_removed(setup):
    a, ma = setup["a"], setup["ma"]
    t1 = create(a, ma["id"], "joined")
    t2 = create(a, ma["id"], "child", "SELECT * FROM joined")
    t3 = create(a, ma["id"], "grandchild", "SELECT * FROM child")
    loose = create(a, ma["id"], "loose", "SELECT * FROM a_users")
    create_rule(a, ma["id"], t1["id"], allowedAnalyses=["ANY_QUERY"], allowedAnalysisProviders=[A])
    out = call(a, "DeleteIntermediateTable", membershipIdentifier=ma["id"], intermediateTableIdentifier=t1["id"])
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        get(a, ma["id"], t1["id"])
    assert_error(e, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        call(a, "GetIntermediateTableAnalysisRule", membershipIdentifier=ma["id"], intermediateTableIdentifier=t1["id"], analysisRuleType="CUSTOM")
    assert_error(e, "ResourceNotFoundException", 404)
    for _ in range(2):
        out = call(a, "DeleteIntermediateTable", membershipIdentifier=ma["id"], intermediateTableIdentifier=t1["id"])
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    for t in (t2, t3):
        got = get(a, ma["id"], t["id"])
        assert got["status"] == "BASE_TABLE_REMOVED"
        assert "'joined'" in got["statusReason"] and t1["id"] in got["statusReason"]
    assert get(a, ma["id"], loose["id"])["status"] == "CREATED"
    assert [s["name"] for s in list_all(a, "ListIntermediateTables", "intermediateTableSummaries", membershipIdentifier=ma["id"])] == ["child", "grandchild", "loose"]
    # A table whose base is gone cannot be built on.
    with pytest.raises(ClientError) as e:
        create(a, ma["id"], "on_removed", "SELECT * FROM child")
    assert_error(e, "ValidationException", 400, "child", "BASE_TABLE_REMOVED")
    with pytest.raises(ClientError) as e:
        call(a, "DeleteIntermediateTable", membershipIdentifier=random_id(), intermediateTableIdentifier=t1["id"])
    assert_error(e, "ResourceNotFoundException", 404)


def test_versions_are_empty_before_any_population(setup):
    a, ma = setup["a"], setup["ma"]
    t = create(a, ma["id"], "joined")
    out = call(a, "ListIntermediateTableVersions", membershipIdentifier=ma["id"], intermediateTableIdentifier=t["id"])
    assert out["intermediateTableVersionSummaries"] == [] and "nextToken" not in out
    with pytest.raises(ClientError) as e:
        call(a, "ListIntermediateTableVersions", membershipIdentifier=ma["id"], intermediateTableIdentifier=random_id())
    assert_error(e, "ResourceNotFoundException", 404)


# ------------------------------------------------------------------------------------------------
# Analysis rule
# ------------------------------------------------------------------------------------------------


def test_analysis_rule_crud_keeps_the_rule_types_in_sync(setup):
    a, ma = setup["a"], setup["ma"]
    t = create(a, ma["id"], "joined")
    ids = {"membershipIdentifier": ma["id"], "intermediateTableIdentifier": t["id"]}
    with pytest.raises(ClientError) as e:
        call(a, "GetIntermediateTableAnalysisRule", analysisRuleType="CUSTOM", **ids)
    assert_error(e, "ResourceNotFoundException", 404, "no CUSTOM analysis rule")
    custom = {"allowedAnalyses": ["ANY_QUERY"], "allowedAnalysisProviders": [A], "allowedResultReceivers": [A, B], "disallowedOutputColumns": ["user_id"], "additionalAnalyses": "NOT_ALLOWED"}
    rule = create_rule(a, ma["id"], t["id"], **custom)
    assert rule["intermediateTableIdentifier"] == t["id"] and rule["intermediateTableArn"] == t["arn"]
    assert rule["analysisRuleType"] == "CUSTOM" and rule["analysisRulePolicy"] == rule_policy(**custom)
    assert get(a, ma["id"], t["id"])["analysisRuleTypes"] == ["CUSTOM"]
    summary = list_all(a, "ListIntermediateTables", "intermediateTableSummaries", membershipIdentifier=ma["id"])[0]
    assert summary["analysisRuleTypes"] == ["CUSTOM"]
    with pytest.raises(ClientError) as e:
        create_rule(a, ma["id"], t["id"])
    assert assert_error(e, "ConflictException", 409, "already has")["reason"] == "ALREADY_EXISTS"
    assert call(a, "GetIntermediateTableAnalysisRule", analysisRuleType="CUSTOM", **ids)["analysisRule"] == rule
    updated = call(a, "UpdateIntermediateTableAnalysisRule", analysisRuleType="CUSTOM", analysisRulePolicy=rule_policy(allowedAnalyses=[]), **ids)["analysisRule"]
    assert updated["analysisRulePolicy"] == rule_policy(allowedAnalyses=[]) and updated["createTime"] == rule["createTime"]
    out = call(a, "DeleteIntermediateTableAnalysisRule", analysisRuleType="CUSTOM", **ids)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert get(a, ma["id"], t["id"])["analysisRuleTypes"] == []
    for op, extra in (("DeleteIntermediateTableAnalysisRule", {}), ("UpdateIntermediateTableAnalysisRule", {"analysisRulePolicy": rule_policy()})):
        with pytest.raises(ClientError) as e:
            call(a, op, analysisRuleType="CUSTOM", **ids, **extra)
        assert_error(e, "ResourceNotFoundException", 404)
    # Every field of the policy is optional.
    create_rule(a, ma["id"], t["id"])


def test_analysis_rule_validation_errors(setup):
    a, ma = setup["a"], setup["ma"]
    t = create(a, ma["id"], "joined")
    template = f"arn:aws:cleanrooms:us-east-1:{A}:membership/{ma['id']}/analysistemplate/{random_id()}"
    threshold = {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
    cases = [
        ({"allowedAnalyses": ["ANY_QUERY"]}, ["allowedAnalysisProviders", "ANY_QUERY"]),
        ({"allowedAnalyses": [template], "allowedAnalysisProviders": [A]}, ["allowedAnalysisProviders"]),
        ({"allowedAnalyses": ["ANY_QUERY", template], "allowedAnalysisProviders": [A]}, ["cannot be combined"]),
        ({"allowedAnalyses": [template, template]}, ["allowedAnalyses", "more than once"]),
        ({"allowedResultReceivers": [A, A]}, ["allowedResultReceivers", "more than once"]),
        ({"allowedResultReceivers": [C]}, ["allowedResultReceivers", C, "CAN_RECEIVE_RESULTS"]),
        ({"allowedResultReceivers": [D]}, ["allowedResultReceivers", D, "not a member"]),
        ({"disallowedOutputColumns": ["x", "x"]}, ["disallowedOutputColumns", "more than once"]),
        ({"aggregationThresholds": [threshold], "differentialPrivacy": {"columns": [{"name": "user_id"}]}}, ["differentialPrivacy"]),
        (
            {"aggregationThresholds": [{**threshold, "outputColumnThresholds": [{"outputColumnName": "spend", "minimumIdentityCount": 1}]}]},
            ["minimumIdentityCount", "spend"],
        ),
        ({"comparisonControls": {"allowedLiteralComparisonColumns": ["user_id"], "allowedColumnComparisonColumns": []}, "aggregationThresholds": [threshold]}, ["identity column"]),
    ]
    for custom, parts in cases:
        with pytest.raises(ClientError) as e:
            create_rule(a, ma["id"], t["id"], **custom)
        response = assert_error(e, "ValidationException", 400, *parts)
        assert response["reason"] == "INVALID_CONFIGURATION"
    assert get(a, ma["id"], t["id"])["analysisRuleTypes"] == []
    with pytest.raises(ClientError) as e:
        call(
            a,
            "CreateIntermediateTableAnalysisRule",
            membershipIdentifier=ma["id"],
            intermediateTableIdentifier=t["id"],
            analysisRuleType="AGGREGATION",
            analysisRulePolicy=rule_policy(),
        )
    assert_field_error(e, "analysisRuleType", "enum")


# ------------------------------------------------------------------------------------------------
# Disallow, base table removal
# ------------------------------------------------------------------------------------------------


def test_a_data_provider_disallows_a_table_and_its_descendants(setup):
    a, b, c, ma, mb, mc = setup["a"], setup["b"], setup["c"], setup["ma"], setup["mb"], setup["mc"]
    t1 = create(a, ma["id"], "b_only", "SELECT * FROM b_spend")
    t2 = create(a, ma["id"], "child", "SELECT * FROM b_only JOIN a_users USING (user_id)")
    t3 = create(a, ma["id"], "grandchild", "SELECT * FROM child")
    # C provides nothing to b_only; A's own table is not among its bases either.
    for client, m in ((c, mc), (a, ma)):
        with pytest.raises(ClientError) as e:
            call(client, "DisallowIntermediateTable", membershipIdentifier=m["id"], intermediateTableName="b_only")
        assert_error(e, "AccessDeniedException", 403, "b_only")
    with pytest.raises(ClientError) as e:
        call(b, "DisallowIntermediateTable", membershipIdentifier=mb["id"], intermediateTableName="nope")
    assert_error(e, "ResourceNotFoundException", 404, "nope")
    # A owns a_users, a base of child (not of b_only): it may disallow child without descendants.
    out = call(a, "DisallowIntermediateTable", membershipIdentifier=ma["id"], intermediateTableName="child", includeDescendants=False)
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert get(a, ma["id"], t2["id"])["status"] == "DISALLOWED_BY_DATA_PROVIDER"
    assert get(a, ma["id"], t3["id"])["status"] == "CREATED"
    # B disallows b_only; by default every table built on it follows.
    for _ in range(2):  # idempotent
        call(b, "DisallowIntermediateTable", membershipIdentifier=mb["id"], intermediateTableName="B_Only")
    got = {t["id"]: get(a, ma["id"], t["id"]) for t in (t1, t2, t3)}
    assert {g["status"] for g in got.values()} == {"DISALLOWED_BY_DATA_PROVIDER"}
    assert B in got[t1["id"]]["statusReason"]
    assert "'b_only'" in got[t3["id"]]["statusReason"] and B in got[t3["id"]]["statusReason"]
    assert A in got[t2["id"]]["statusReason"]  # the first disallow stays
    assert [r["resourceStatus"] for r in got[t1["id"]]["childResources"]] == ["DISALLOWED_BY_DATA_PROVIDER"] * 2


def test_removing_a_base_table_cascades_to_every_dependant(setup):
    a, b, c, ma, mb, mc, ctas, coll = (setup[k] for k in ("a", "b", "c", "ma", "mb", "mc", "ctas", "coll"))
    joined = create(a, ma["id"], "joined")
    child = create(a, ma["id"], "child", "SELECT * FROM joined")
    b_only = create(a, ma["id"], "b_only", "SELECT * FROM b_spend")
    users = create(a, ma["id"], "users", "SELECT * FROM a_users")
    call(c, "DeleteConfiguredTableAssociation", membershipIdentifier=mc["id"], configuredTableAssociationIdentifier=ctas["c_orders"]["id"])
    for t in (joined, child):
        got = get(a, ma["id"], t["id"])
        assert got["status"] == "BASE_TABLE_REMOVED" and "'c_orders'" in got["statusReason"]
    assert get(a, ma["id"], b_only["id"])["status"] == "CREATED"
    # Removing B from the collaboration takes b_spend out too.
    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    got = get(a, ma["id"], b_only["id"])
    assert got["status"] == "BASE_TABLE_REMOVED" and "'b_spend'" in got["statusReason"]
    assert get(a, ma["id"], users["id"])["status"] == "CREATED"
    # Deleting the collaboration removes every base table.
    call(a, "DeleteCollaboration", collaborationIdentifier=coll["id"])
    assert get(a, ma["id"], users["id"])["status"] == "BASE_TABLE_REMOVED"


def test_managed_data_goes_with_delete_disallow_and_base_removal(setup, emulator):
    """Stands in for population: data files under <data-dir>/managed/<tableId>/ are removed."""
    a, b, c, ma, mb, mc, ctas = (setup[k] for k in ("a", "b", "c", "ma", "mb", "mc", "ctas"))
    managed = emulator.data_dir / "managed"
    tables = {
        name: create(a, ma["id"], name, sql)
        for name, sql in (
            ("deleted", "SELECT * FROM a_users"),
            ("disallowed", "SELECT * FROM b_spend"),
            ("removed", "SELECT * FROM c_orders"),
            ("kept", "SELECT * FROM a_users"),
        )
    }
    for t in tables.values():
        (managed / t["id"]).mkdir(parents=True)
        (managed / t["id"] / "part-0.parquet").write_bytes(b"PAR1")
    call(a, "DeleteIntermediateTable", membershipIdentifier=ma["id"], intermediateTableIdentifier=tables["deleted"]["id"])
    call(b, "DisallowIntermediateTable", membershipIdentifier=mb["id"], intermediateTableName="disallowed")
    call(c, "DeleteConfiguredTableAssociation", membershipIdentifier=mc["id"], configuredTableAssociationIdentifier=ctas["c_orders"]["id"])
    assert {name for name, t in tables.items() if (managed / t["id"]).exists()} == {"kept"}


def test_a_member_with_intermediate_tables_cannot_leave(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a, members=[member(B, ["CAN_QUERY", "CAN_RECEIVE_RESULTS"])], creatorMemberAbilities=[])
    create_membership(a, coll["id"])
    mb = create_membership(b, coll["id"])
    t = create(b, mb["id"], "mine", "SELECT 1 AS one")
    assert t["tableDependencies"] == []
    with pytest.raises(ClientError) as e:
        call(b, "DeleteMembership", membershipIdentifier=mb["id"])
    assert assert_error(e, "ConflictException", 409, "intermediate tables")["reason"] == "SUBRESOURCES_EXIST"
    call(b, "DeleteIntermediateTable", membershipIdentifier=mb["id"], intermediateTableIdentifier=t["id"])
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])


# ------------------------------------------------------------------------------------------------
# Schemas
# ------------------------------------------------------------------------------------------------


def reasons(schema: dict) -> dict:
    return {d["analysisType"]: sorted(r["code"] for r in d.get("reasons", [])) for d in schema["schemaStatusDetails"]}


def test_intermediate_tables_are_schemas(setup):
    a, b, coll, ma, mb = setup["a"], setup["b"], setup["coll"], setup["ma"], setup["mb"]
    t = create(a, ma["id"], "joined", description="joined data")
    for caller in (a, b):
        s = call(caller, "GetSchema", collaborationIdentifier=coll["id"], name="joined")["schema"]
        assert s["type"] == "INTERMEDIATE_TABLE" and s["name"] == "joined" and s["creatorAccountId"] == A
        assert s["schemaTypeProperties"] == {"intermediateTable": {"intermediateTableId": t["id"]}}
        assert s["columns"] == [] and s["partitionKeys"] == [] and s["analysisRuleTypes"] == []
        assert s["description"] == "joined data" and "resourceArn" not in s
        assert reasons(s) == {"DIRECT_ANALYSIS": ["INTERMEDIATE_TABLE_ANALYSIS_RULE_MISSING", "INTERMEDIATE_TABLE_NOT_POPULATED"]}
    names = [s["name"] for s in list_all(a, "ListSchemas", "schemaSummaries", collaborationIdentifier=coll["id"])]
    assert names == ["a_users", "b_spend", "c_orders", "joined"]
    only = list_all(b, "ListSchemas", "schemaSummaries", collaborationIdentifier=coll["id"], schemaType="INTERMEDIATE_TABLE")
    assert [(s["name"], s["type"], s["creatorAccountId"]) for s in only] == [("joined", "INTERMEDIATE_TABLE", A)]
    assert len(list_all(a, "ListSchemas", "schemaSummaries", page_size=1, collaborationIdentifier=coll["id"])) == 4
    assert "joined" not in [s["name"] for s in list_all(a, "ListSchemas", "schemaSummaries", collaborationIdentifier=coll["id"], schemaType="TABLE")]

    create_rule(a, ma["id"], t["id"], allowedAnalyses=["ANY_QUERY"], allowedAnalysisProviders=[A], additionalAnalyses="ALLOWED", disallowedOutputColumns=["user_id"])
    s = call(b, "BatchGetSchema", collaborationIdentifier=coll["id"], names=["joined", "b_spend", "nope"])
    assert [x["name"] for x in s["schemas"]] == ["joined", "b_spend"] and [e["name"] for e in s["errors"]] == ["nope"]
    joined = s["schemas"][0]
    assert joined["analysisRuleTypes"] == ["CUSTOM"]
    assert reasons(joined) == {
        "DIRECT_ANALYSIS": ["INTERMEDIATE_TABLE_NOT_POPULATED"],
        "ADDITIONAL_ANALYSIS": ["ADDITIONAL_ANALYSES_NOT_CONFIGURED", "INTERMEDIATE_TABLE_NOT_POPULATED"],
    }
    assert {d["analysisRuleType"] for d in joined["schemaStatusDetails"]} == {"CUSTOM"}

    rule = call(b, "GetSchemaAnalysisRule", collaborationIdentifier=coll["id"], name="joined", type="CUSTOM")["analysisRule"]
    assert rule["type"] == "CUSTOM" and rule["name"] == "joined" and rule["collaborationId"] == coll["id"]
    assert rule["policy"]["v1"]["custom"]["disallowedOutputColumns"] == ["user_id"]
    assert rule["consolidatedPolicy"]["v1"]["custom"]["allowedAnalysisProviders"] == [A]
    with pytest.raises(ClientError) as e:
        call(b, "GetSchemaAnalysisRule", collaborationIdentifier=coll["id"], name="joined", type="AGGREGATION")
    assert_error(e, "ResourceNotFoundException", 404)
    batch = call(
        a,
        "BatchGetSchemaAnalysisRule",
        collaborationIdentifier=coll["id"],
        schemaAnalysisRuleRequests=[{"name": "joined", "type": "CUSTOM"}, {"name": "joined", "type": "LIST"}],
    )
    assert [r["name"] for r in batch["analysisRules"]] == ["joined"] and [(e["name"], e["type"]) for e in batch["errors"]] == [("joined", "LIST")]

    call(b, "DisallowIntermediateTable", membershipIdentifier=mb["id"], intermediateTableName="joined")
    s = call(a, "GetSchema", collaborationIdentifier=coll["id"], name="joined")["schema"]
    assert "INTERMEDIATE_TABLE_DISALLOWED_BY_DATA_PROVIDER" in reasons(s)["DIRECT_ANALYSIS"]
    call(a, "DeleteIntermediateTable", membershipIdentifier=ma["id"], intermediateTableIdentifier=t["id"])
    with pytest.raises(ClientError) as e:
        call(a, "GetSchema", collaborationIdentifier=coll["id"], name="joined")
    assert_error(e, "ResourceNotFoundException", 404)
