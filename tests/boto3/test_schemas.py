"""Schemas derived from configured table associations: ListSchemas, GetSchema, BatchGetSchema,
with their columns, partition keys and READY / NOT_READY status.

Spec: shared/spec/cleanrooms.md §1.3 (schemas), §2.3 (schema rows), §3.5 (status reasons), §8.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers import (
    OMIT,
    A,
    B,
    C,
    add_table_rule,
    aggregation_policy,
    assert_error,
    call,
    custom_policy,
    create_configured_table,
    create_glue_table,
    joined_collaboration,
    list_all,
    list_policy,
    role_arn,
)

pytestmark = pytest.mark.usefixtures("reset")


@pytest.fixture
def setup(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    create_glue_table(client("glue", account=B))
    table = create_configured_table(b, allowedColumns=["user_id", "segment", "spend", "dt"])
    cta = call(
        b,
        "CreateConfiguredTableAssociation",
        membershipIdentifier=mb["id"],
        name="b_spend",
        configuredTableIdentifier=table["id"],
        roleArn=role_arn(B, "cleanrooms-read"),
        description="B's spend",
    )["configuredTableAssociation"]
    return {"a": a, "b": b, "c": client("cleanrooms", account=C), "coll": coll, "mb": mb, "table": table, "cta": cta}


def get_schema(client, coll_id: str, name: str = "b_spend") -> dict:
    return call(client, "GetSchema", collaborationIdentifier=coll_id, name=name)["schema"]


def reasons(schema: dict) -> dict:
    return {d["analysisType"]: sorted(r["code"] for r in d.get("reasons", [])) for d in schema["schemaStatusDetails"]}


def test_schema_fields_and_status_before_and_after_the_rule(setup):
    a, b, coll, cta = setup["a"], setup["b"], setup["coll"], setup["cta"]
    s = get_schema(a, coll["id"])
    assert s["name"] == "b_spend" and s["type"] == "TABLE" and s["creatorAccountId"] == B
    assert s["resourceArn"] == cta["arn"] and s["description"] == "B's spend"
    assert s["collaborationId"] == coll["id"] and s["collaborationArn"] == coll["arn"]
    assert s["columns"] == [
        {"name": "user_id", "type": "string"},
        {"name": "segment", "type": "string"},
        {"name": "spend", "type": "double"},
        {"name": "dt", "type": "string"},
    ]
    assert s["partitionKeys"] == [{"name": "dt", "type": "string"}]
    assert s["analysisRuleTypes"] == [] and s["analysisMethod"] == "DIRECT_QUERY"
    assert s["schemaTypeProperties"] == {"configuredTableAssociation": {"configuredTableAssociationId": cta["id"]}}
    assert [d["status"] for d in s["schemaStatusDetails"]] == ["NOT_READY"]
    assert reasons(s) == {"DIRECT_ANALYSIS": ["ANALYSIS_RULE_MISSING"]}
    add_table_rule(b, setup["table"]["id"], aggregation_policy())
    s = get_schema(b, coll["id"])
    assert s["analysisRuleTypes"] == ["AGGREGATION"]
    assert s["schemaStatusDetails"] == [{"status": "READY", "analysisRuleType": "AGGREGATION", "analysisType": "DIRECT_ANALYSIS"}]


def test_additional_analyses_and_collaboration_rule_reasons(setup):
    a, b, coll, mb, cta = setup["a"], setup["b"], setup["coll"], setup["mb"], setup["cta"]
    add_table_rule(b, setup["table"]["id"], aggregation_policy(additionalAnalyses="ALLOWED"))
    assert reasons(get_schema(a, coll["id"])) == {
        "DIRECT_ANALYSIS": [],
        "ADDITIONAL_ANALYSIS": ["COLLABORATION_ANALYSIS_RULE_NOT_CONFIGURED"],
    }
    call(
        b,
        "CreateConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=mb["id"],
        configuredTableAssociationIdentifier=cta["id"],
        analysisRuleType="AGGREGATION",
        analysisRulePolicy={"v1": {"aggregation": {"allowedResultReceivers": []}}},
    )
    assert reasons(get_schema(a, coll["id"])) == {
        "DIRECT_ANALYSIS": ["RESULT_RECEIVERS_NOT_CONFIGURED"],
        "ADDITIONAL_ANALYSIS": ["ADDITIONAL_ANALYSES_NOT_CONFIGURED"],
    }
    call(
        b,
        "UpdateConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=mb["id"],
        configuredTableAssociationIdentifier=cta["id"],
        analysisRuleType="AGGREGATION",
        analysisRulePolicy={"v1": {"aggregation": {"allowedResultReceivers": [A]}}},
    )
    assert reasons(get_schema(a, coll["id"]))["DIRECT_ANALYSIS"] == []


def test_batch_errors_permissions_and_unknown_names(setup):
    a, c, coll = setup["a"], setup["c"], setup["coll"]
    out = call(a, "BatchGetSchema", collaborationIdentifier=coll["id"], names=["b_spend", "nope"])
    assert [s["name"] for s in out["schemas"]] == ["b_spend"]
    assert [(e["name"], e["code"]) for e in out["errors"]] == [("nope", "ResourceNotFoundException")]
    with pytest.raises(ClientError) as e:
        get_schema(a, coll["id"], "nope")
    response = assert_error(e, "ResourceNotFoundException", 404, "nope")
    assert response["resourceType"] == "COLLABORATION"
    for op, kwargs in [("GetSchema", {"name": "b_spend"}), ("ListSchemas", {}), ("BatchGetSchema", {"names": ["b_spend"]})]:
        with pytest.raises(ClientError) as e:
            call(c, op, collaborationIdentifier=coll["id"], **kwargs)
        assert_error(e, "AccessDeniedException", 403)


def test_list_schemas_paginates_and_filters(setup, client):
    a, b, coll, mb = setup["a"], setup["b"], setup["coll"], setup["mb"]
    for name in ("t2", "t3"):
        create_glue_table(client("glue", account=B), table=name)
        t = create_configured_table(b, table=name)
        call(b, "CreateConfiguredTableAssociation", membershipIdentifier=mb["id"], name=name, configuredTableIdentifier=t["id"], roleArn=role_arn(B))
    page = call(a, "ListSchemas", collaborationIdentifier=coll["id"], maxResults=2)
    assert len(page["schemaSummaries"]) == 2 and page["nextToken"]
    names = [s["name"] for s in list_all(a, "ListSchemas", "schemaSummaries", page_size=2, collaborationIdentifier=coll["id"])]
    assert names == ["b_spend", "t2", "t3"]
    tables = list_all(a, "ListSchemas", "schemaSummaries", collaborationIdentifier=coll["id"], schemaType="TABLE")
    assert len(tables) == 3
    assert list_all(a, "ListSchemas", "schemaSummaries", collaborationIdentifier=coll["id"], schemaType="INTERMEDIATE_TABLE") == []


def test_schema_analysis_rules(setup):
    a, b, coll, mb, cta = setup["a"], setup["b"], setup["coll"], setup["mb"], setup["cta"]
    with pytest.raises(ClientError) as e:
        call(a, "GetSchemaAnalysisRule", collaborationIdentifier=coll["id"], name="b_spend", type="AGGREGATION")
    assert_error(e, "ResourceNotFoundException", 404)
    policy = aggregation_policy(additionalAnalyses="ALLOWED")
    add_table_rule(b, setup["table"]["id"], policy)
    rule = call(a, "GetSchemaAnalysisRule", collaborationIdentifier=coll["id"], name="b_spend", type="AGGREGATION")["analysisRule"]
    assert rule["name"] == "b_spend" and rule["type"] == "AGGREGATION" and rule["collaborationId"] == coll["id"]
    assert rule["policy"] == policy and "collaborationPolicy" not in rule
    cta_policy = {"v1": {"aggregation": {"allowedResultReceivers": [A], "allowedAdditionalAnalyses": ["arn:aws:cleanrooms:us-east-1:123456789012:membership/*/configuredaudiencemodelassociation/*"]}}}
    call(
        b,
        "CreateConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=mb["id"],
        configuredTableAssociationIdentifier=cta["id"],
        analysisRuleType="AGGREGATION",
        analysisRulePolicy=cta_policy,
    )
    out = call(
        a,
        "BatchGetSchemaAnalysisRule",
        collaborationIdentifier=coll["id"],
        schemaAnalysisRuleRequests=[{"name": "b_spend", "type": "AGGREGATION"}, {"name": "b_spend", "type": "LIST"}],
    )
    [rule] = out["analysisRules"]
    assert rule["collaborationPolicy"] == cta_policy
    consolidated = rule["consolidatedPolicy"]["v1"]["aggregation"]
    assert consolidated["allowedResultReceivers"] == [A]
    assert consolidated["allowedAdditionalAnalyses"] == cta_policy["v1"]["aggregation"]["allowedAdditionalAnalyses"]
    assert consolidated["dimensionColumns"] == ["segment"] and consolidated["additionalAnalyses"] == "ALLOWED"
    assert [(e["name"], e["type"], e["code"]) for e in out["errors"]] == [("b_spend", "LIST", "ResourceNotFoundException")]


AUDIENCE_ARNS = [f"arn:aws:cleanrooms:us-east-1:{A}:membership/*/configuredaudiencemodelassociation/*"]


def add_cta_rule(setup, rule_type: str, **policy) -> None:
    call(
        setup["b"],
        "CreateConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=setup["mb"]["id"],
        configuredTableAssociationIdentifier=setup["cta"]["id"],
        analysisRuleType=rule_type,
        analysisRulePolicy={"v1": {rule_type.lower(): policy}},
    )


def test_differential_privacy_needs_the_collaboration_budget_template(setup):
    a, b, coll, mb = setup["a"], setup["b"], setup["coll"], setup["mb"]
    add_table_rule(b, setup["table"]["id"], custom_policy(differentialPrivacy={"columns": [{"name": "user_id"}]}))
    s = get_schema(a, coll["id"])
    [direct] = s["schemaStatusDetails"]
    assert direct["status"] == "NOT_READY" and direct["configurations"] == ["DIFFERENTIAL_PRIVACY"]
    assert direct["analysisRuleType"] == "CUSTOM"
    assert [r["code"] for r in direct["reasons"]] == ["DIFFERENTIAL_PRIVACY_POLICY_NOT_CONFIGURED"]
    assert coll["id"] in direct["reasons"][0]["message"]
    call(
        b,
        "CreatePrivacyBudgetTemplate",
        membershipIdentifier=mb["id"],
        privacyBudgetType="DIFFERENTIAL_PRIVACY",
        autoRefresh="CALENDAR_MONTH",
        parameters={"differentialPrivacy": {"epsilon": 5, "usersNoisePerQuery": 20}},
    )
    s = get_schema(a, coll["id"])
    assert s["schemaStatusDetails"] == [
        {"status": "READY", "analysisRuleType": "CUSTOM", "configurations": ["DIFFERENTIAL_PRIVACY"], "analysisType": "DIRECT_ANALYSIS"}
    ]


def test_additional_analyses_not_allowed_by_the_table_rule(setup):
    a, b, coll = setup["a"], setup["b"], setup["coll"]
    add_table_rule(b, setup["table"]["id"], list_policy())  # additionalAnalyses left out: NOT_ALLOWED
    add_cta_rule(setup, "LIST", allowedResultReceivers=[A], allowedAdditionalAnalyses=AUDIENCE_ARNS)
    s = get_schema(a, coll["id"])
    assert reasons(s) == {"DIRECT_ANALYSIS": [], "ADDITIONAL_ANALYSIS": ["ADDITIONAL_ANALYSES_NOT_ALLOWED"]}
    additional = s["schemaStatusDetails"][1]
    assert additional["status"] == "NOT_READY" and additional["analysisRuleType"] == "LIST"
    # Without the collaboration rule listing additional analyses there is nothing to report.
    call(
        b,
        "UpdateConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=setup["mb"]["id"],
        configuredTableAssociationIdentifier=setup["cta"]["id"],
        analysisRuleType="LIST",
        analysisRulePolicy={"v1": {"list": {"allowedResultReceivers": [A]}}},
    )
    assert reasons(get_schema(a, coll["id"])) == {"DIRECT_ANALYSIS": []}


def test_required_additional_analyses_forbid_direct_results(setup):
    a, b, coll = setup["a"], setup["b"], setup["coll"]
    add_table_rule(b, setup["table"]["id"], custom_policy(additionalAnalyses="REQUIRED"))
    assert reasons(get_schema(a, coll["id"])) == {
        "DIRECT_ANALYSIS": ["COLLABORATION_ANALYSIS_RULE_NOT_CONFIGURED", "RESULT_RECEIVERS_NOT_ALLOWED"],
        "ADDITIONAL_ANALYSIS": ["COLLABORATION_ANALYSIS_RULE_NOT_CONFIGURED"],
    }
    # No receivers: direct results are not allowed anyway, so only that is reported for them.
    add_cta_rule(setup, "CUSTOM", allowedResultReceivers=[], allowedAdditionalAnalyses=AUDIENCE_ARNS)
    s = get_schema(a, coll["id"])
    assert reasons(s) == {"DIRECT_ANALYSIS": ["RESULT_RECEIVERS_NOT_ALLOWED"], "ADDITIONAL_ANALYSIS": []}
    assert [d["status"] for d in s["schemaStatusDetails"]] == ["NOT_READY", "READY"]


def test_custom_rule_reasons_for_templates_and_providers(setup):
    a, b, coll = setup["a"], setup["b"], setup["coll"]
    add_table_rule(b, setup["table"]["id"], custom_policy(allowedAnalyses=[], allowedAnalysisProviders=OMIT))
    assert reasons(get_schema(a, coll["id"])) == {"DIRECT_ANALYSIS": ["ANALYSIS_TEMPLATES_NOT_CONFIGURED"]}
