"""Configured table associations and their (collaboration) analysis rules, in the two-account
set-up of the AWS user guide.

Spec: shared/spec/cleanrooms.md §1.2 (association ARN), §1.3 (CTA, CTA analysis rule), §2.2 item 2
(membership-scoped paths), §2.3 (association rows, DeleteMembership), §4.5, §8, Appendix F steps
1-5 and 8.
"""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from helpers import (
    A,
    B,
    C,
    UUID_RE,
    add_table_rule,
    aggregation_policy,
    assert_error,
    assert_field_error,
    call,
    create_collaboration,
    create_configured_table,
    create_glue_table,
    create_membership,
    custom_policy,
    joined_collaboration,
    list_all,
    list_policy,
    member,
    members_by_account,
    random_id,
    role_arn,
)

pytestmark = pytest.mark.usefixtures("reset")


def cta_rule_policy(rule_type: str = "aggregation", **lists) -> dict:
    return {"v1": {rule_type: lists}}


@pytest.fixture
def setup(client):
    """Appendix F steps 1-4: A (CAN_QUERY, CAN_RECEIVE_RESULTS) and B (data contributor) joined;
    B's configured table over its Glue table sales.customers with the step-4 aggregation rule."""
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    create_glue_table(client("glue", account=B))
    table = create_configured_table(b, allowedColumns=["user_id", "segment", "spend"])
    add_table_rule(b, table["id"], aggregation_policy())
    return {"a": a, "b": b, "coll": coll, "ma": ma, "mb": mb, "table": table}


def associate(client, membership_id: str, table_id: str, name: str = "b_spend", **extra) -> dict:
    return call(
        client,
        "CreateConfiguredTableAssociation",
        membershipIdentifier=membership_id,
        name=name,
        configuredTableIdentifier=table_id,
        roleArn=extra.pop("roleArn", role_arn(B, "cleanrooms-read")),
        **extra,
    )["configuredTableAssociation"]


def get_association(client, membership_id: str, association_id: str) -> dict:
    return call(
        client, "GetConfiguredTableAssociation", membershipIdentifier=membership_id, configuredTableAssociationIdentifier=association_id
    )["configuredTableAssociation"]


def add_cta_rule(client, membership_id: str, association_id: str, policy: dict) -> dict:
    return call(
        client,
        "CreateConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=membership_id,
        configuredTableAssociationIdentifier=association_id,
        analysisRuleType=next(iter(policy["v1"])).upper(),
        analysisRulePolicy=policy,
    )["analysisRule"]


# --------------------------------------------------------------------------------------------
# Appendix F step 5
# --------------------------------------------------------------------------------------------


def test_associate_configured_table_and_add_collaboration_rule(setup):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"], description="B's spend", tags={"src": "crm"})
    assert re.fullmatch(UUID_RE, cta["id"])
    assert cta["arn"] == f"arn:aws:cleanrooms:us-east-1:{B}:membership/{mb['id']}/configuredtableassociation/{cta['id']}"
    assert cta["name"] == "b_spend"
    assert cta["description"] == "B's spend"
    assert cta["configuredTableId"] == table["id"]
    assert cta["configuredTableArn"] == table["arn"]
    assert cta["membershipId"] == mb["id"]
    assert cta["membershipArn"] == mb["arn"]
    assert cta["roleArn"] == role_arn(B, "cleanrooms-read")
    assert cta["analysisRuleTypes"] == []
    assert cta["updateTime"] >= cta["createTime"]
    assert get_association(b, mb["id"], cta["id"]) == cta

    policy = cta_rule_policy(allowedResultReceivers=[A])
    rule = add_cta_rule(b, mb["id"], cta["id"], policy)
    assert rule["membershipIdentifier"] == mb["id"]
    assert rule["configuredTableAssociationId"] == cta["id"]
    assert rule["configuredTableAssociationArn"] == cta["arn"]
    assert rule["type"] == "AGGREGATION"
    assert rule["policy"] == policy
    got = call(
        b,
        "GetConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=mb["id"],
        configuredTableAssociationIdentifier=cta["id"],
        analysisRuleType="AGGREGATION",
    )["analysisRule"]
    assert got == rule
    assert get_association(b, mb["id"], cta["id"])["analysisRuleTypes"] == ["AGGREGATION"]

    # tags on the (long, membership-scoped) association ARN
    assert call(b, "ListTagsForResource", resourceArn=cta["arn"])["tags"] == {"src": "crm"}
    call(b, "TagResource", resourceArn=cta["arn"], tags={"env": "test"})
    call(b, "UntagResource", resourceArn=cta["arn"], tagKeys=["src"])
    assert call(b, "ListTagsForResource", resourceArn=cta["arn"])["tags"] == {"env": "test"}


def test_other_members_do_not_see_the_association(setup, client):
    a, b, ma, mb, table = setup["a"], setup["b"], setup["ma"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    # through A's own membership the association does not exist; B's membership is not A's
    for membership_id, resource_type in ((ma["id"], "CONFIGURED_TABLE_ASSOCIATION"), (mb["id"], "MEMBERSHIP")):
        with pytest.raises(ClientError) as excinfo:
            a.get_configured_table_association(membershipIdentifier=membership_id, configuredTableAssociationIdentifier=cta["id"])
        response = assert_error(excinfo, "ResourceNotFoundException", 404)
        assert response["resourceType"] == resource_type
    with pytest.raises(ClientError) as excinfo:
        a.list_configured_table_associations(membershipIdentifier=mb["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert call(a, "ListConfiguredTableAssociations", membershipIdentifier=ma["id"])["configuredTableAssociationSummaries"] == []
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=cta["arn"])
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "CONFIGURED_TABLE_ASSOCIATION"
    c = client("cleanrooms", account=C)
    with pytest.raises(ClientError) as excinfo:
        c.update_configured_table_association(membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"], description="x")
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        c.delete_configured_table_association(membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert get_association(b, mb["id"], cta["id"]) == cta


# --------------------------------------------------------------------------------------------
# CreateConfiguredTableAssociation rules
# --------------------------------------------------------------------------------------------


def test_association_name_is_lower_case_and_unique_in_the_collaboration(setup, client):
    a, b, ma, mb, table = setup["a"], setup["b"], setup["ma"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"], name="B_Spend")
    assert cta["name"] == "b_spend"
    # A's table of the same name (any case) clashes across members
    create_glue_table(client("glue", account=A))
    a_table = create_configured_table(a)
    for name in ("b_spend", "B_SPEND"):
        with pytest.raises(ClientError) as excinfo:
            associate(a, ma["id"], a_table["id"], name=name, roleArn=role_arn(A))
        response = assert_error(excinfo, "ConflictException", 409, "b_spend")
        assert response["reason"] == "ALREADY_EXISTS"
    assert associate(a, ma["id"], a_table["id"], name="a customers", roleArn=role_arn(A))["name"] == "a customers"
    # the same name in another collaboration is fine
    other, _, mb2 = joined_collaboration(a, b)
    assert associate(b, mb2["id"], table["id"], name="b_spend")["name"] == "b_spend"


def test_association_name_and_role_are_validated(setup, client):
    mb, table = setup["mb"], setup["table"]
    raw = client("cleanrooms", account=B, validate=False)
    for name in ("-bad", "two--hyphens", "x" * 129, "bad!"):
        with pytest.raises(ClientError) as excinfo:
            raw.create_configured_table_association(
                membershipIdentifier=mb["id"], name=name, configuredTableIdentifier=table["id"], roleArn=role_arn(B)
            )
        assert_field_error(excinfo, "name")
    for role in ("arn:aws:iam::222222222222:user/someone-not-a-role", "short"):
        with pytest.raises(ClientError) as excinfo:
            raw.create_configured_table_association(
                membershipIdentifier=mb["id"], name="ok", configuredTableIdentifier=table["id"], roleArn=role
            )
        assert_field_error(excinfo, "roleArn")
    assert call(raw, "ListConfiguredTableAssociations", membershipIdentifier=mb["id"])["configuredTableAssociationSummaries"] == []


def test_same_configured_table_twice_in_a_membership_is_a_conflict(setup):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    first = associate(b, mb["id"], table["id"])
    with pytest.raises(ClientError) as excinfo:
        associate(b, mb["id"], table["id"], name="b_spend_again")
    response = assert_error(excinfo, "ConflictException", 409, table["id"], "b_spend")
    assert response["reason"] == "ALREADY_EXISTS"
    assert response["resourceId"] == first["id"]


def test_association_needs_the_callers_own_configured_table(setup):
    a, ma, table = setup["a"], setup["ma"], setup["table"]
    for table_id in (table["id"], random_id()):
        with pytest.raises(ClientError) as excinfo:
            associate(a, ma["id"], table_id, name="stolen", roleArn=role_arn(A))
        response = assert_error(excinfo, "ResourceNotFoundException", 404)
        assert response["resourceType"] == "CONFIGURED_TABLE"
        assert response["resourceId"] == table_id


def test_association_needs_an_active_membership_of_the_caller(setup, client):
    a, b, coll, mb, table = setup["a"], setup["b"], setup["coll"], setup["mb"], setup["table"]
    with pytest.raises(ClientError) as excinfo:
        associate(a, mb["id"], table["id"])
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "MEMBERSHIP"
    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    with pytest.raises(ClientError) as excinfo:
        associate(b, mb["id"], table["id"])
    response = assert_error(excinfo, "ConflictException", 409, "REMOVED")
    assert response["reason"] == "INVALID_STATE"
    assert response["resourceType"] == "MEMBERSHIP"


# --------------------------------------------------------------------------------------------
# List / Update / Delete
# --------------------------------------------------------------------------------------------


def test_list_associations_paginates(setup):
    b, mb = setup["b"], setup["mb"]
    created = []
    for i in range(5):
        t = create_configured_table(b, name=f"t{i}")
        created.append(associate(b, mb["id"], t["id"], name=f"table_{i}")["id"])
    pages = list(
        b.get_paginator("list_configured_table_associations").paginate(
            membershipIdentifier=mb["id"], PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["configuredTableAssociationSummaries"]) for p in pages] == [2, 2, 1]
    assert "nextToken" not in pages[-1]
    summaries = [s for p in pages for s in p["configuredTableAssociationSummaries"]]
    assert [s["id"] for s in summaries] == created
    full = get_association(b, mb["id"], created[0])
    for key, value in summaries[0].items():
        assert full[key] == value, key
    all_items = list_all(b, "ListConfiguredTableAssociations", "configuredTableAssociationSummaries", membershipIdentifier=mb["id"])
    assert len(all_items) == 5


def test_list_associations_token_is_bound_to_its_membership(setup):
    a, b, ma, mb, table = setup["a"], setup["b"], setup["ma"], setup["mb"], setup["table"]
    associate(b, mb["id"], table["id"])
    associate(b, mb["id"], create_configured_table(b)["id"], name="second")
    token = call(b, "ListConfiguredTableAssociations", membershipIdentifier=mb["id"], maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as excinfo:
        a.list_configured_table_associations(membershipIdentifier=ma["id"], nextToken=token)
    assert_error(excinfo, "ValidationException", 400, "nextToken")


def test_update_association_description_and_role(setup):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    updated = call(
        b,
        "UpdateConfiguredTableAssociation",
        membershipIdentifier=mb["id"],
        configuredTableAssociationIdentifier=cta["id"],
        description="new",
        roleArn=role_arn(B, "other-role"),
    )["configuredTableAssociation"]
    assert updated["description"] == "new"
    assert updated["roleArn"] == role_arn(B, "other-role")
    for key in ("id", "arn", "name", "createTime", "configuredTableId"):
        assert updated[key] == cta[key], key
    assert get_association(b, mb["id"], cta["id"]) == updated


def test_delete_association_removes_rules_and_tags(setup):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"], tags={"k": "v"})
    add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy(allowedResultReceivers=[A]))
    response = call(b, "DeleteConfiguredTableAssociation", membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        b.get_configured_table_association(membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"])
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "CONFIGURED_TABLE_ASSOCIATION"
    with pytest.raises(ClientError) as excinfo:
        b.list_tags_for_resource(resourceArn=cta["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # the name is free again, and the rule went with the association
    again = associate(b, mb["id"], table["id"])
    assert again["analysisRuleTypes"] == []


# --------------------------------------------------------------------------------------------
# Leaving and removal (Appendix F step 8)
# --------------------------------------------------------------------------------------------


def test_delete_membership_blocked_by_associations(setup):
    a, b, coll, mb, table = setup["a"], setup["b"], setup["coll"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    with pytest.raises(ClientError) as excinfo:
        b.delete_membership(membershipIdentifier=mb["id"])
    response = assert_error(excinfo, "ConflictException", 409, "configured table associations")
    assert response["reason"] == "SUBRESOURCES_EXIST"
    assert members_by_account(a, coll["id"])[B]["status"] == "ACTIVE"
    call(b, "DeleteConfiguredTableAssociation", membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"])
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])
    assert members_by_account(a, coll["id"])[B]["status"] == "LEFT"


def test_removed_member_tables_leave_the_collaboration(setup):
    a, b, coll, mb, table = setup["a"], setup["b"], setup["coll"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    assert call(b, "ListConfiguredTableAssociations", membershipIdentifier=mb["id"])["configuredTableAssociationSummaries"] == []
    with pytest.raises(ClientError) as excinfo:
        b.get_configured_table_association(membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # its configured table is free again
    call(b, "DeleteConfiguredTable", configuredTableIdentifier=table["id"])


# --------------------------------------------------------------------------------------------
# Association analysis rules (spec §4.5)
# --------------------------------------------------------------------------------------------


def test_association_rule_type_must_match_policy_and_table_rule(setup):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    with pytest.raises(ClientError) as excinfo:
        b.create_configured_table_association_analysis_rule(
            membershipIdentifier=mb["id"],
            configuredTableAssociationIdentifier=cta["id"],
            analysisRuleType="LIST",
            analysisRulePolicy=cta_rule_policy(allowedResultReceivers=[A]),
        )
    assert_error(excinfo, "ValidationException", 400, "LIST", "AGGREGATION")
    with pytest.raises(ClientError) as excinfo:
        add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy("list", allowedResultReceivers=[A]))
    response = assert_error(excinfo, "ValidationException", 400, "LIST", "AGGREGATION", table["name"])
    assert response["reason"] == "INVALID_CONFIGURATION"
    # a table without a rule takes no association rule
    bare = create_configured_table(b, name="bare")
    cta2 = associate(b, mb["id"], bare["id"], name="bare")
    with pytest.raises(ClientError) as excinfo:
        add_cta_rule(b, mb["id"], cta2["id"], cta_rule_policy("custom", allowedResultReceivers=[A]))
    assert_error(excinfo, "ValidationException", 400, "no analysis rule")
    assert get_association(b, mb["id"], cta["id"])["analysisRuleTypes"] == []


def test_association_rule_once_per_type(setup):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy(allowedResultReceivers=[A]))
    with pytest.raises(ClientError) as excinfo:
        add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy(allowedResultReceivers=[]))
    response = assert_error(excinfo, "ConflictException", 409, "AGGREGATION")
    assert response["reason"] == "ALREADY_EXISTS"
    assert response["resourceType"] == "CONFIGURED_TABLE_ASSOCIATION"


def test_association_rule_receivers_must_be_members_that_receive_results(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a, members=[member(B), member(C)])
    mb = create_membership(b, coll["id"])
    create_glue_table(client("glue", account=B))
    table = create_configured_table(b)
    add_table_rule(b, table["id"], custom_policy(allowedAnalysisProviders=[A]))
    cta = associate(b, mb["id"], table["id"])
    for receivers, words in (
        (["999999999999"], ("allowedResultReceivers", "999999999999", "not a member")),
        ([C], ("allowedResultReceivers", C, "CAN_RECEIVE_RESULTS")),
        ([B], ("allowedResultReceivers", B, "CAN_RECEIVE_RESULTS")),
        ([A, A], ("allowedResultReceivers", A, "more than once")),
    ):
        with pytest.raises(ClientError) as excinfo:
            add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy("custom", allowedResultReceivers=receivers))
        assert_error(excinfo, "ValidationException", 400, *words)
    # an invited (not yet joined) receiver is a member
    policy = cta_rule_policy(
        "custom",
        allowedResultReceivers=[A],
        allowedAdditionalAnalyses=[f"arn:aws:cleanrooms:us-east-1:{A}:membership/*/configuredaudiencemodelassociation/*"],
    )
    assert add_cta_rule(b, mb["id"], cta["id"], policy)["policy"] == policy


def test_association_rule_additional_analyses_are_limited(setup, client):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    arns = [f"arn:aws:cleanrooms:us-east-1:{A}:membership/m{i}/configuredaudiencemodelassociation/x" for i in range(26)]
    raw = client("cleanrooms", account=B, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table_association_analysis_rule(
            membershipIdentifier=mb["id"],
            configuredTableAssociationIdentifier=cta["id"],
            analysisRuleType="AGGREGATION",
            analysisRulePolicy=cta_rule_policy(allowedAdditionalAnalyses=arns),
        )
    assert_field_error(excinfo, "allowedAdditionalAnalyses", "length")
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table_association_analysis_rule(
            membershipIdentifier=mb["id"],
            configuredTableAssociationIdentifier=cta["id"],
            analysisRuleType="AGGREGATION",
            analysisRulePolicy=cta_rule_policy(allowedAdditionalAnalyses=["arn:aws:s3:::bucket"]),
        )
    assert_field_error(excinfo, "allowedAdditionalAnalyses", "pattern")
    rule = add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy(allowedAdditionalAnalyses=arns[:25]))
    assert len(rule["policy"]["v1"]["aggregation"]["allowedAdditionalAnalyses"]) == 25


def test_association_rule_update_get_delete(setup):
    b, mb, table = setup["b"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    rule = add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy(allowedResultReceivers=[A]))
    new = cta_rule_policy(allowedResultReceivers=[])
    updated = call(
        b,
        "UpdateConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=mb["id"],
        configuredTableAssociationIdentifier=cta["id"],
        analysisRuleType="AGGREGATION",
        analysisRulePolicy=new,
    )["analysisRule"]
    assert updated["policy"] == new
    assert updated["createTime"] == rule["createTime"]
    with pytest.raises(ClientError) as excinfo:
        b.update_configured_table_association_analysis_rule(
            membershipIdentifier=mb["id"],
            configuredTableAssociationIdentifier=cta["id"],
            analysisRuleType="AGGREGATION",
            analysisRulePolicy=cta_rule_policy(allowedResultReceivers=[C]),
        )
    assert_error(excinfo, "ValidationException", 400, C)
    for rule_type in ("LIST", "CUSTOM"):
        with pytest.raises(ClientError) as excinfo:
            b.get_configured_table_association_analysis_rule(
                membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"], analysisRuleType=rule_type
            )
        response = assert_error(excinfo, "ResourceNotFoundException", 404, rule_type)
        assert response["resourceType"] == "CONFIGURED_TABLE_ASSOCIATION"
    response = call(
        b,
        "DeleteConfiguredTableAssociationAnalysisRule",
        membershipIdentifier=mb["id"],
        configuredTableAssociationIdentifier=cta["id"],
        analysisRuleType="AGGREGATION",
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert get_association(b, mb["id"], cta["id"])["analysisRuleTypes"] == []
    with pytest.raises(ClientError) as excinfo:
        b.delete_configured_table_association_analysis_rule(
            membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"], analysisRuleType="AGGREGATION"
        )
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_association_rules_are_the_owners(setup):
    a, b, ma, mb, table = setup["a"], setup["b"], setup["ma"], setup["mb"], setup["table"]
    cta = associate(b, mb["id"], table["id"])
    add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy(allowedResultReceivers=[A]))
    for membership_id in (ma["id"], mb["id"]):
        with pytest.raises(ClientError) as excinfo:
            a.get_configured_table_association_analysis_rule(
                membershipIdentifier=membership_id, configuredTableAssociationIdentifier=cta["id"], analysisRuleType="AGGREGATION"
            )
        assert_error(excinfo, "ResourceNotFoundException", 404)
        with pytest.raises(ClientError) as excinfo:
            add_cta_rule(a, membership_id, cta["id"], cta_rule_policy("list", allowedResultReceivers=[A]))
        assert_error(excinfo, "ResourceNotFoundException", 404)


def test_association_rule_of_a_list_table(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    create_glue_table(client("glue", account=B))
    table = create_configured_table(b)
    add_table_rule(b, table["id"], list_policy())
    cta = associate(b, mb["id"], table["id"])
    rule = add_cta_rule(b, mb["id"], cta["id"], cta_rule_policy("list", allowedResultReceivers=[A]))
    assert rule["type"] == "LIST"
    assert get_association(b, mb["id"], cta["id"])["analysisRuleTypes"] == ["LIST"]
