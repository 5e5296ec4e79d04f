"""Privacy budget templates (differential privacy and access budgets) and the privacy budgets they
govern, in the two-account set-up of the AWS user guide.

Spec: shared/spec/cleanrooms.md §1.2 (template ARN: the IAM form under the membership), §2.3
(privacy budget rows, DeleteMembership), §6 (DP policy, budgets, access budgets), Appendix B.
"""

from __future__ import annotations

import calendar
import datetime as dt
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
    create_configured_table,
    create_glue_table,
    joined_collaboration,
    list_all,
    random_id,
    role_arn,
)

pytestmark = pytest.mark.usefixtures("reset")


@pytest.fixture
def setup(client):
    """A (CAN_QUERY, CAN_RECEIVE_RESULTS) and B joined; B's table associated as b_spend."""
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    create_glue_table(client("glue", account=B))
    table = create_configured_table(b, allowedColumns=["user_id", "segment", "spend"])
    add_table_rule(b, table["id"], aggregation_policy())
    cta = associate(b, mb["id"], table["id"])
    return {"a": a, "b": b, "coll": coll, "ma": ma, "mb": mb, "table": table, "cta": cta}


def associate(client, membership_id: str, table_id: str, name: str = "b_spend") -> dict:
    return call(
        client,
        "CreateConfiguredTableAssociation",
        membershipIdentifier=membership_id,
        name=name,
        configuredTableIdentifier=table_id,
        roleArn=role_arn(B, "cleanrooms-read"),
    )["configuredTableAssociation"]


def dp_params(epsilon: int = 5, noise: int = 20) -> dict:
    return {"differentialPrivacy": {"epsilon": epsilon, "usersNoisePerQuery": noise}}


def access_params(resource_arn: str, *budgets: dict) -> dict:
    return {"accessBudget": {"resourceArn": resource_arn, "budgetParameters": list(budgets) or [{"type": "CALENDAR_DAY", "budget": 10, "autoRefresh": "ENABLED"}]}}


def create_template(client, membership_id: str, budget_type: str, parameters: dict, **extra) -> dict:
    return call(
        client,
        "CreatePrivacyBudgetTemplate",
        membershipIdentifier=membership_id,
        privacyBudgetType=budget_type,
        parameters=parameters,
        **extra,
    )["privacyBudgetTemplate"]


def get_template(client, membership_id: str, template_id: str) -> dict:
    return call(client, "GetPrivacyBudgetTemplate", membershipIdentifier=membership_id, privacyBudgetTemplateIdentifier=template_id)[
        "privacyBudgetTemplate"
    ]


def template_arn(account: str, membership_id: str, template_id: str) -> str:
    return f"arn:aws:cleanrooms:us-east-1:{account}:membership/{membership_id}/privacybudgettemplate/{template_id}"


# --------------------------------------------------------------------------------------------
# Differential privacy template
# --------------------------------------------------------------------------------------------


def test_dp_template_create_get_list_update_delete(setup):
    a, ma, coll = setup["a"], setup["ma"], setup["coll"]
    t = create_template(a, ma["id"], "DIFFERENTIAL_PRIVACY", dp_params(), autoRefresh="CALENDAR_MONTH", tags={"k": "v"})
    assert re.fullmatch(UUID_RE, t["id"])
    assert t["arn"] == template_arn(A, ma["id"], t["id"])
    assert t["membershipId"] == ma["id"] and t["membershipArn"] == ma["arn"]
    assert t["collaborationId"] == coll["id"] and t["collaborationArn"] == coll["arn"]
    assert t["privacyBudgetType"] == "DIFFERENTIAL_PRIVACY"
    assert t["autoRefresh"] == "CALENDAR_MONTH"
    assert t["parameters"] == dp_params()
    assert get_template(a, ma["id"], t["id"]) == t
    summaries = list_all(a, "ListPrivacyBudgetTemplates", "privacyBudgetTemplateSummaries", membershipIdentifier=ma["id"])
    assert [(s["id"], s["arn"], s["privacyBudgetType"], s["membershipId"]) for s in summaries] == [
        (t["id"], t["arn"], "DIFFERENTIAL_PRIVACY", ma["id"])
    ]
    assert call(a, "ListTagsForResource", resourceArn=t["arn"])["tags"] == {"k": "v"}
    call(a, "TagResource", resourceArn=t["arn"], tags={"env": "test"})
    call(a, "UntagResource", resourceArn=t["arn"], tagKeys=["k"])
    assert call(a, "ListTagsForResource", resourceArn=t["arn"])["tags"] == {"env": "test"}

    # update: each DP parameter is optional; the other keeps its value
    updated = call(
        a,
        "UpdatePrivacyBudgetTemplate",
        membershipIdentifier=ma["id"],
        privacyBudgetTemplateIdentifier=t["id"],
        privacyBudgetType="DIFFERENTIAL_PRIVACY",
        parameters={"differentialPrivacy": {"epsilon": 7}},
    )["privacyBudgetTemplate"]
    assert updated["parameters"] == dp_params(7, 20)
    assert updated["updateTime"] >= t["updateTime"] and updated["createTime"] == t["createTime"]
    updated = call(
        a,
        "UpdatePrivacyBudgetTemplate",
        membershipIdentifier=ma["id"],
        privacyBudgetTemplateIdentifier=t["id"],
        privacyBudgetType="DIFFERENTIAL_PRIVACY",
        parameters={"differentialPrivacy": {"usersNoisePerQuery": 50}},
    )["privacyBudgetTemplate"]
    assert updated["parameters"] == dp_params(7, 50)
    assert get_template(a, ma["id"], t["id"]) == updated

    response = call(a, "DeletePrivacyBudgetTemplate", membershipIdentifier=ma["id"], privacyBudgetTemplateIdentifier=t["id"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as excinfo:
        a.get_privacy_budget_template(membershipIdentifier=ma["id"], privacyBudgetTemplateIdentifier=t["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404, t["id"])
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=t["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # the collaboration can have a DP template again
    create_template(a, ma["id"], "DIFFERENTIAL_PRIVACY", dp_params())


def test_dp_template_auto_refresh_defaults_to_none(setup):
    t = create_template(setup["b"], setup["mb"]["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    assert t["autoRefresh"] == "NONE"


def test_one_dp_template_per_collaboration(setup):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
    first = create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    for client, membership_id in ((a, ma["id"]), (b, mb["id"])):
        with pytest.raises(ClientError) as excinfo:
            client.create_privacy_budget_template(
                membershipIdentifier=membership_id, privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters=dp_params(3, 30)
            )
        response = assert_error(excinfo, "ConflictException", 409, first["id"])
        assert response["reason"] == "ALREADY_EXISTS"
    # an access budget next to the DP policy is fine
    create_template(b, mb["id"], "ACCESS_BUDGET", access_params(setup["cta"]["arn"]))
    assert get_template(b, mb["id"], first["id"]) == first


@pytest.mark.parametrize(
    "params, field, rule",
    [
        (dp_params(0, 20), "epsilon", "min_value"),
        (dp_params(21, 20), "epsilon", "max_value"),
        (dp_params(5, 9), "usersNoisePerQuery", "min_value"),
        (dp_params(5, 101), "usersNoisePerQuery", "max_value"),
        ({"differentialPrivacy": {"epsilon": 5}}, "usersNoisePerQuery", "required"),
    ],
)
def test_dp_parameters_are_validated(setup, client, params, field, rule):
    raw = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.create_privacy_budget_template(membershipIdentifier=setup["ma"]["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters=params)
    assert_field_error(excinfo, field, rule)
    assert call(raw, "ListPrivacyBudgetTemplates", membershipIdentifier=setup["ma"]["id"])["privacyBudgetTemplateSummaries"] == []


def test_type_and_parameters_must_agree(setup, client):
    raw = client("cleanrooms", account=B, validate=False)
    mb, cta = setup["mb"], setup["cta"]
    for budget_type, params in (("ACCESS_BUDGET", dp_params()), ("DIFFERENTIAL_PRIVACY", access_params(cta["arn"]))):
        with pytest.raises(ClientError) as excinfo:
            raw.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType=budget_type, parameters=params)
        response = assert_error(excinfo, "ValidationException", 400, budget_type)
        assert response["reason"] == "INVALID_CONFIGURATION"
    # a union with two members, or none
    for params in ({**dp_params(), **access_params(cta["arn"])}, {}):
        with pytest.raises(ClientError) as excinfo:
            raw.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters=params)
        assert_error(excinfo, "ValidationException", 400)
    for value, field in (("DP", "privacyBudgetType"),):
        with pytest.raises(ClientError) as excinfo:
            raw.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType=value, parameters=dp_params())
        assert_field_error(excinfo, field, "enum")
    with pytest.raises(ClientError) as excinfo:
        raw.create_privacy_budget_template(
            membershipIdentifier=mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters=dp_params(), autoRefresh="WEEKLY"
        )
    assert_field_error(excinfo, "autoRefresh", "enum")
    assert call(raw, "ListPrivacyBudgetTemplates", membershipIdentifier=mb["id"])["privacyBudgetTemplateSummaries"] == []


def test_update_cannot_change_the_type(setup):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    dp = create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    access = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"]))
    cases = [
        (dp, "ACCESS_BUDGET", {"accessBudget": {"budgetParameters": [{"type": "LIFETIME", "budget": 5}]}}),
        (dp, "DIFFERENTIAL_PRIVACY", {"accessBudget": {"budgetParameters": [{"type": "LIFETIME", "budget": 5}]}}),
        (access, "DIFFERENTIAL_PRIVACY", {"differentialPrivacy": {"epsilon": 3}}),
        (access, "ACCESS_BUDGET", {"differentialPrivacy": {"epsilon": 3}}),
    ]
    for template, budget_type, params in cases:
        with pytest.raises(ClientError) as excinfo:
            b.update_privacy_budget_template(
                membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=template["id"], privacyBudgetType=budget_type, parameters=params
            )
        response = assert_error(excinfo, "ValidationException", 400, template["id"])
        assert response["reason"] == "INVALID_CONFIGURATION"
    assert get_template(b, mb["id"], dp["id"]) == dp
    assert get_template(b, mb["id"], access["id"]) == access


# --------------------------------------------------------------------------------------------
# Access budgets
# --------------------------------------------------------------------------------------------


def test_access_budget_template_on_own_association(setup):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    budgets = [{"type": "CALENDAR_WEEK", "budget": 100, "autoRefresh": "ENABLED"}, {"type": "LIFETIME", "budget": 1000}]
    t = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"], *budgets))
    assert t["arn"] == template_arn(B, mb["id"], t["id"])
    assert t["privacyBudgetType"] == "ACCESS_BUDGET"
    assert t["autoRefresh"] == "NONE"
    assert t["parameters"] == {"accessBudget": {"resourceArn": cta["arn"], "budgetParameters": budgets}}
    assert get_template(b, mb["id"], t["id"]) == t
    # update replaces the budget parameters as a whole
    new = [{"type": "LIFETIME", "budget": 0}]
    updated = call(
        b,
        "UpdatePrivacyBudgetTemplate",
        membershipIdentifier=mb["id"],
        privacyBudgetTemplateIdentifier=t["id"],
        privacyBudgetType="ACCESS_BUDGET",
        parameters={"accessBudget": {"budgetParameters": new}},
    )["privacyBudgetTemplate"]
    assert updated["parameters"] == {"accessBudget": {"resourceArn": cta["arn"], "budgetParameters": new}}
    # update without parameters changes nothing but the update time
    same = call(
        b, "UpdatePrivacyBudgetTemplate", membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=t["id"], privacyBudgetType="ACCESS_BUDGET"
    )["privacyBudgetTemplate"]
    assert same["parameters"] == updated["parameters"]


def test_second_access_budget_for_the_same_resource_conflicts(setup):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    first = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"]))
    with pytest.raises(ClientError) as excinfo:
        b.create_privacy_budget_template(
            membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(cta["arn"], {"type": "LIFETIME", "budget": 3})
        )
    response = assert_error(excinfo, "ConflictException", 409, first["id"])
    assert response["reason"] == "ALREADY_EXISTS"
    # after deleting it, the resource can be budgeted again
    call(b, "DeletePrivacyBudgetTemplate", membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=first["id"])
    create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"], {"type": "LIFETIME", "budget": 3}))


@pytest.mark.parametrize(
    "budgets, words",
    [
        ([{"type": "CALENDAR_DAY", "budget": 1}, {"type": "CALENDAR_MONTH", "budget": 1}], "calendar"),
        ([{"type": "CALENDAR_WEEK", "budget": 1}, {"type": "CALENDAR_WEEK", "budget": 2}], "calendar"),
        ([{"type": "LIFETIME", "budget": 1}, {"type": "LIFETIME", "budget": 2}], "LIFETIME"),
        ([{"type": "LIFETIME", "budget": 1, "autoRefresh": "ENABLED"}], "autoRefresh"),
    ],
)
def test_access_budget_parameter_combinations(setup, budgets, words):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    with pytest.raises(ClientError) as excinfo:
        b.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(cta["arn"], *budgets))
    response = assert_error(excinfo, "ValidationException", 400, words)
    assert response["reason"] == "INVALID_CONFIGURATION"
    # the same rules hold on update
    t = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"]))
    with pytest.raises(ClientError) as excinfo:
        b.update_privacy_budget_template(
            membershipIdentifier=mb["id"],
            privacyBudgetTemplateIdentifier=t["id"],
            privacyBudgetType="ACCESS_BUDGET",
            parameters={"accessBudget": {"budgetParameters": budgets}},
        )
    assert_error(excinfo, "ValidationException", 400, words)
    assert get_template(b, mb["id"], t["id"]) == t


@pytest.mark.parametrize(
    "budgets, field, rule",
    [
        ([{"type": "LIFETIME", "budget": -1}], "budget", "min_value"),
        ([{"type": "LIFETIME", "budget": 1000001}], "budget", "max_value"),
        ([{"type": "YEARLY", "budget": 1}], "type", "enum"),
        ([{"type": "CALENDAR_DAY", "budget": 1, "autoRefresh": "SOMETIMES"}], "autoRefresh", "enum"),
        ([], "budgetParameters", "length"),
        ([{"type": "CALENDAR_DAY", "budget": 1}, {"type": "LIFETIME", "budget": 1}, {"type": "LIFETIME", "budget": 1}], "budgetParameters", "length"),
    ],
)
def test_access_budget_fields_are_validated(setup, client, budgets, field, rule):
    raw = client("cleanrooms", account=B, validate=False)
    mb, cta = setup["mb"], setup["cta"]
    with pytest.raises(ClientError) as excinfo:
        raw.create_privacy_budget_template(
            membershipIdentifier=mb["id"],
            privacyBudgetType="ACCESS_BUDGET",
            parameters={"accessBudget": {"resourceArn": cta["arn"], "budgetParameters": budgets}},
        )
    assert_field_error(excinfo, field, rule)


def test_budget_bounds_are_accepted(setup):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    t = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"], {"type": "CALENDAR_MONTH", "budget": 0}, {"type": "LIFETIME", "budget": 1000000}))
    assert [p["budget"] for p in t["parameters"]["accessBudget"]["budgetParameters"]] == [0, 1000000]


def test_access_budget_template_rejects_calendar_month_auto_refresh(setup):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    with pytest.raises(ClientError) as excinfo:
        b.create_privacy_budget_template(
            membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(cta["arn"]), autoRefresh="CALENDAR_MONTH"
        )
    assert_error(excinfo, "ValidationException", 400, "autoRefresh")
    assert create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"]), autoRefresh="NONE")["autoRefresh"] == "NONE"


def test_access_budget_resource_must_be_the_callers_association(setup, client):
    a, b, ma, mb, cta = setup["a"], setup["b"], setup["ma"], setup["mb"], setup["cta"]
    # A (a member, not the owner) cannot budget B's association, through its own membership
    with pytest.raises(ClientError) as excinfo:
        a.create_privacy_budget_template(membershipIdentifier=ma["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(cta["arn"]))
    assert_error(excinfo, "AccessDeniedException", 403, "owner")
    # B's ARN naming a different membership of B
    other_membership = cta["arn"].replace(mb["id"], random_id())
    with pytest.raises(ClientError) as excinfo:
        b.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(other_membership))
    assert_error(excinfo, "AccessDeniedException", 403)
    # an association of B's membership that does not exist
    missing = cta["arn"].replace(cta["id"], random_id())
    with pytest.raises(ClientError) as excinfo:
        b.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(missing))
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "CONFIGURED_TABLE_ASSOCIATION"
    # an intermediate table of B's membership (none exist yet)
    it = f"arn:aws:cleanrooms:us-east-1:{B}:membership/{mb['id']}/intermediatetable/{random_id()}"
    with pytest.raises(ClientError) as excinfo:
        b.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(it))
    assert_error(excinfo, "ResourceNotFoundException", 404, "intermediate table")
    # not a budgetable ARN at all
    raw = client("cleanrooms", account=B, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.create_privacy_budget_template(
            membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=access_params(setup["table"]["arn"])
        )
    assert_error(excinfo, "ValidationException", 400)
    assert call(b, "ListPrivacyBudgetTemplates", membershipIdentifier=mb["id"])["privacyBudgetTemplateSummaries"] == []


def test_deleting_the_association_deletes_its_access_budget(setup):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    t = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"]), tags={"k": "v"})
    call(b, "DeleteConfiguredTableAssociation", membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=cta["id"])
    with pytest.raises(ClientError) as excinfo:
        b.get_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=t["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        b.list_tags_for_resource(resourceArn=t["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


# --------------------------------------------------------------------------------------------
# Permissions
# --------------------------------------------------------------------------------------------


def test_only_the_owner_sees_and_changes_a_template_through_its_membership(setup, client):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
    t = create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    c = client("cleanrooms", account=C)
    for caller in (a, c):
        with pytest.raises(ClientError) as excinfo:
            caller.get_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=t["id"])
        response = assert_error(excinfo, "ResourceNotFoundException", 404)
        assert response["resourceType"] == "MEMBERSHIP"
        with pytest.raises(ClientError) as excinfo:
            caller.update_privacy_budget_template(
                membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=t["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters={"differentialPrivacy": {"epsilon": 1}}
            )
        assert_error(excinfo, "ResourceNotFoundException", 404)
        with pytest.raises(ClientError) as excinfo:
            caller.delete_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=t["id"])
        assert_error(excinfo, "ResourceNotFoundException", 404)
        with pytest.raises(ClientError) as excinfo:
            caller.list_privacy_budget_templates(membershipIdentifier=mb["id"])
        assert_error(excinfo, "ResourceNotFoundException", 404)
        with pytest.raises(ClientError) as excinfo:
            caller.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters=dp_params())
        assert_error(excinfo, "ResourceNotFoundException", 404)
        with pytest.raises(ClientError) as excinfo:
            caller.list_tags_for_resource(resourceArn=t["arn"])
        assert_error(excinfo, "ResourceNotFoundException", 404)
    # through A's own membership B's template is not there
    with pytest.raises(ClientError) as excinfo:
        a.get_privacy_budget_template(membershipIdentifier=ma["id"], privacyBudgetTemplateIdentifier=t["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert call(a, "ListPrivacyBudgetTemplates", membershipIdentifier=ma["id"])["privacyBudgetTemplateSummaries"] == []
    with pytest.raises(ClientError) as excinfo:
        b.get_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=random_id())
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert get_template(b, mb["id"], t["id"]) == t


def test_collaboration_views_are_for_active_members(setup, client):
    a, b, coll, mb, cta = setup["a"], setup["b"], setup["coll"], setup["mb"], setup["cta"]
    dp = create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    access = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"]))
    for caller in (a, b):
        got = call(caller, "GetCollaborationPrivacyBudgetTemplate", collaborationIdentifier=coll["id"], privacyBudgetTemplateIdentifier=dp["id"])[
            "collaborationPrivacyBudgetTemplate"
        ]
        assert got["creatorAccountId"] == B
        assert got["parameters"] == dp["parameters"] and got["autoRefresh"] == "NONE"
        assert got["arn"] == dp["arn"] and got["collaborationArn"] == coll["arn"]
        summaries = list_all(caller, "ListCollaborationPrivacyBudgetTemplates", "collaborationPrivacyBudgetTemplateSummaries", collaborationIdentifier=coll["id"])
        assert [(s["id"], s["privacyBudgetType"], s["creatorAccountId"]) for s in summaries] == [
            (dp["id"], "DIFFERENTIAL_PRIVACY", B),
            (access["id"], "ACCESS_BUDGET", B),
        ]
    with pytest.raises(ClientError) as excinfo:
        a.get_collaboration_privacy_budget_template(collaborationIdentifier=coll["id"], privacyBudgetTemplateIdentifier=random_id())
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # outsider
    c = client("cleanrooms", account=C)
    with pytest.raises(ClientError) as excinfo:
        c.list_collaboration_privacy_budget_templates(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "AccessDeniedException", 403)
    with pytest.raises(ClientError) as excinfo:
        c.get_collaboration_privacy_budget_template(collaborationIdentifier=coll["id"], privacyBudgetTemplateIdentifier=dp["id"])
    assert_error(excinfo, "AccessDeniedException", 403)
    with pytest.raises(ClientError) as excinfo:
        c.list_collaboration_privacy_budgets(collaborationIdentifier=coll["id"], privacyBudgetType="ACCESS_BUDGET")
    assert_error(excinfo, "AccessDeniedException", 403)
    # a template of another collaboration is not found through this one
    other, ma2, _ = joined_collaboration(a, b)
    with pytest.raises(ClientError) as excinfo:
        a.get_collaboration_privacy_budget_template(collaborationIdentifier=other["id"], privacyBudgetTemplateIdentifier=dp["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_invited_member_cannot_see_collaboration_templates(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = call(
        a,
        "CreateCollaboration",
        name="invited-only",
        description="d",
        members=[{"accountId": B, "memberAbilities": [], "displayName": "B"}],
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS"],
        creatorDisplayName="A",
        queryLogStatus="DISABLED",
    )["collaboration"]
    with pytest.raises(ClientError) as excinfo:
        b.list_collaboration_privacy_budget_templates(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "AccessDeniedException", 403, "ACTIVE")


def test_delete_membership_with_templates_is_blocked(setup):
    b, mb = setup["b"], setup["mb"]
    call(b, "DeleteConfiguredTableAssociation", membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=setup["cta"]["id"])
    t = create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    with pytest.raises(ClientError) as excinfo:
        b.delete_membership(membershipIdentifier=mb["id"])
    response = assert_error(excinfo, "ConflictException", 409, "privacy budget templates")
    assert response["reason"] == "SUBRESOURCES_EXIST"
    call(b, "DeletePrivacyBudgetTemplate", membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=t["id"])
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])


def test_removed_member_templates_leave_the_collaboration(setup):
    a, b, coll, mb = setup["a"], setup["b"], setup["coll"], setup["mb"]
    create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    assert list_all(a, "ListCollaborationPrivacyBudgetTemplates", "collaborationPrivacyBudgetTemplateSummaries", collaborationIdentifier=coll["id"]) == []
    # the collaboration's DP policy can be set again by a remaining member
    create_template(a, setup["ma"]["id"], "DIFFERENTIAL_PRIVACY", dp_params())


# --------------------------------------------------------------------------------------------
# Pagination
# --------------------------------------------------------------------------------------------


def test_template_lists_paginate(setup, client):
    b, mb, coll = setup["b"], setup["mb"], setup["coll"]
    glue = client("glue", account=B)
    ids = [create_template(b, mb["id"], "ACCESS_BUDGET", access_params(setup["cta"]["arn"]))["id"]]
    for i in range(4):
        create_glue_table(glue, table=f"t{i}")
        table = create_configured_table(b, name=f"t{i}", tableReference={"glue": {"databaseName": "sales", "tableName": f"t{i}"}}, allowedColumns=["user_id"])
        cta = associate(b, mb["id"], table["id"], name=f"t{i}")
        ids.append(create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"]))["id"])
    ids.append(create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())["id"])
    page = call(b, "ListPrivacyBudgetTemplates", membershipIdentifier=mb["id"], maxResults=2)
    assert len(page["privacyBudgetTemplateSummaries"]) == 2 and page["nextToken"]
    got = list_all(b, "ListPrivacyBudgetTemplates", "privacyBudgetTemplateSummaries", page_size=2, membershipIdentifier=mb["id"])
    assert [s["id"] for s in got] == ids
    got = list_all(
        setup["a"], "ListCollaborationPrivacyBudgetTemplates", "collaborationPrivacyBudgetTemplateSummaries", page_size=4, collaborationIdentifier=coll["id"]
    )
    assert [s["id"] for s in got] == ids
    budgets = list_all(
        setup["a"], "ListCollaborationPrivacyBudgets", "collaborationPrivacyBudgetSummaries", page_size=2, collaborationIdentifier=coll["id"], privacyBudgetType="ACCESS_BUDGET"
    )
    assert [s["privacyBudgetTemplateId"] for s in budgets] == ids[:-1]
    budgets = list_all(b, "ListPrivacyBudgets", "privacyBudgetSummaries", page_size=3, membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET")
    assert [s["privacyBudgetTemplateId"] for s in budgets] == ids[:-1]
    with pytest.raises(ClientError) as excinfo:
        b.list_privacy_budget_templates(membershipIdentifier=mb["id"], nextToken="garbage")
    assert_field_error(excinfo, "nextToken")
    # a token of one list is not valid for another
    with pytest.raises(ClientError) as excinfo:
        b.list_privacy_budgets(membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", nextToken=page["nextToken"])
    assert_field_error(excinfo, "nextToken")


# --------------------------------------------------------------------------------------------
# Privacy budgets
# --------------------------------------------------------------------------------------------


def _utc(ts) -> dt.datetime:
    return ts.astimezone(dt.timezone.utc)


def test_access_budgets_show_current_periods(setup, emulator):
    a, b, coll, ma, mb, cta = setup["a"], setup["b"], setup["coll"], setup["ma"], setup["mb"], setup["cta"]
    budgets = [{"type": "CALENDAR_MONTH", "budget": 30, "autoRefresh": "ENABLED"}, {"type": "LIFETIME", "budget": 12}]
    t = create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"], *budgets))
    _, clock, _ = emulator.admin("GET", "/_emulator/clock")
    now = dt.datetime.fromtimestamp(clock["now"], dt.timezone.utc)
    summaries = call(b, "ListPrivacyBudgets", membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET")["privacyBudgetSummaries"]
    assert len(summaries) == 1
    s = summaries[0]
    assert re.fullmatch(UUID_RE, s["id"]) and s["id"] != t["id"]
    assert (s["privacyBudgetTemplateId"], s["privacyBudgetTemplateArn"], s["type"]) == (t["id"], t["arn"], "ACCESS_BUDGET")
    assert (s["membershipId"], s["membershipArn"], s["collaborationId"]) == (mb["id"], mb["arn"], coll["id"])
    access = s["budget"]["accessBudget"]
    assert access["resourceArn"] == cta["arn"]
    assert access["aggregateRemainingBudget"] == 12
    month, lifetime = access["details"]
    assert (month["budgetType"], month["budget"], month["remainingBudget"], month["autoRefresh"]) == ("CALENDAR_MONTH", 30, 30, "ENABLED")
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=calendar.monthrange(start.year, start.month)[1]))
    assert _utc(month["startTime"]) == start and _utc(month["endTime"]) == end
    assert (lifetime["budgetType"], lifetime["budget"], lifetime["remainingBudget"]) == ("LIFETIME", 12, 12)
    assert "autoRefresh" not in lifetime and "endTime" not in lifetime
    # the same budget, seen by the collaboration (A is a member)
    collab = call(a, "ListCollaborationPrivacyBudgets", collaborationIdentifier=coll["id"], privacyBudgetType="ACCESS_BUDGET")[
        "collaborationPrivacyBudgetSummaries"
    ]
    assert [(x["id"], x["creatorAccountId"], x["budget"]) for x in collab] == [(s["id"], B, s["budget"])]
    # and from A's membership
    through_a = call(a, "ListPrivacyBudgets", membershipIdentifier=ma["id"], privacyBudgetType="ACCESS_BUDGET")["privacyBudgetSummaries"]
    assert [x["id"] for x in through_a] == [s["id"]]
    # filter by resource ARN, and by type
    assert call(a, "ListCollaborationPrivacyBudgets", collaborationIdentifier=coll["id"], privacyBudgetType="ACCESS_BUDGET", accessBudgetResourceArn=cta["arn"])[
        "collaborationPrivacyBudgetSummaries"
    ] == collab
    other = cta["arn"].replace(cta["id"], random_id())
    assert call(b, "ListPrivacyBudgets", membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET", accessBudgetResourceArn=other)["privacyBudgetSummaries"] == []
    assert call(b, "ListPrivacyBudgets", membershipIdentifier=mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY")["privacyBudgetSummaries"] == []


@pytest.mark.parametrize("budget_type", ["CALENDAR_DAY", "CALENDAR_WEEK"])
def test_access_budget_day_and_week_periods(setup, emulator, budget_type):
    b, mb, cta = setup["b"], setup["mb"], setup["cta"]
    create_template(b, mb["id"], "ACCESS_BUDGET", access_params(cta["arn"], {"type": budget_type, "budget": 4}))
    _, clock, _ = emulator.admin("GET", "/_emulator/clock")
    now = dt.datetime.fromtimestamp(clock["now"], dt.timezone.utc)
    detail = call(b, "ListPrivacyBudgets", membershipIdentifier=mb["id"], privacyBudgetType="ACCESS_BUDGET")["privacyBudgetSummaries"][0]["budget"][
        "accessBudget"
    ]["details"][0]
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    length = dt.timedelta(days=1)
    if budget_type == "CALENDAR_WEEK":
        start -= dt.timedelta(days=start.weekday())
        length = dt.timedelta(days=7)
    assert _utc(detail["startTime"]) == start and _utc(detail["endTime"]) == start + length
    assert detail["autoRefresh"] == "DISABLED"  # the default when the parameter omits it
    assert detail["remainingBudget"] == 4


def test_dp_budget_shows_aggregation_counts(setup):
    a, b, coll, mb = setup["a"], setup["b"], setup["coll"], setup["mb"]
    t = create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params(2, 10))
    summaries = call(a, "ListCollaborationPrivacyBudgets", collaborationIdentifier=coll["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY")[
        "collaborationPrivacyBudgetSummaries"
    ]
    assert len(summaries) == 1 and summaries[0]["privacyBudgetTemplateId"] == t["id"]
    dp = summaries[0]["budget"]["differentialPrivacy"]
    assert dp["epsilon"] == 2
    counts = {x["type"]: (x["maxCount"], x["remainingCount"]) for x in dp["aggregations"]}
    assert counts == {"COUNT": (20, 20), "COUNT_DISTINCT": (20, 20), "SUM": (20, 20), "AVG": (10, 10), "STDDEV": (6, 6)}
    # more epsilon or more noise means more aggregations
    call(
        b,
        "UpdatePrivacyBudgetTemplate",
        membershipIdentifier=mb["id"],
        privacyBudgetTemplateIdentifier=t["id"],
        privacyBudgetType="DIFFERENTIAL_PRIVACY",
        parameters={"differentialPrivacy": {"epsilon": 4}},
    )
    dp = call(b, "ListPrivacyBudgets", membershipIdentifier=mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY")["privacyBudgetSummaries"][0]["budget"][
        "differentialPrivacy"
    ]
    assert {x["type"]: x["maxCount"] for x in dp["aggregations"]}["COUNT"] == 40


def test_budget_lists_require_the_type(setup, client):
    raw = client("cleanrooms", account=B, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.list_privacy_budgets(membershipIdentifier=setup["mb"]["id"])
    assert_field_error(excinfo, "privacyBudgetType")
    with pytest.raises(ClientError) as excinfo:
        raw.list_collaboration_privacy_budgets(collaborationIdentifier=setup["coll"]["id"], privacyBudgetType="NOPE")
    assert_field_error(excinfo, "privacyBudgetType", "enum")
    c = client("cleanrooms", account=C)
    with pytest.raises(ClientError) as excinfo:
        c.list_privacy_budgets(membershipIdentifier=setup["mb"]["id"], privacyBudgetType="ACCESS_BUDGET")
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_deleted_collaboration_takes_templates_and_budgets_with_it(setup):
    a, b, coll, ma, mb = setup["a"], setup["b"], setup["coll"], setup["ma"], setup["mb"]
    dp = create_template(b, mb["id"], "DIFFERENTIAL_PRIVACY", dp_params())
    create_template(b, mb["id"], "ACCESS_BUDGET", access_params(setup["cta"]["arn"]))
    call(a, "DeleteCollaboration", collaborationIdentifier=coll["id"])
    assert call(b, "ListPrivacyBudgetTemplates", membershipIdentifier=mb["id"])["privacyBudgetTemplateSummaries"] == []
    with pytest.raises(ClientError) as excinfo:
        b.get_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetTemplateIdentifier=dp["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # the membership is no longer ACTIVE: nothing can be created, budgets are not shown
    with pytest.raises(ClientError) as excinfo:
        b.create_privacy_budget_template(membershipIdentifier=mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters=dp_params())
    response = assert_error(excinfo, "ConflictException", 409)
    assert response["reason"] == "INVALID_STATE"
    with pytest.raises(ClientError) as excinfo:
        a.list_privacy_budgets(membershipIdentifier=ma["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY")
    assert_error(excinfo, "AccessDeniedException", 403, "ACTIVE")
