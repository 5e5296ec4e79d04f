"""Analysis templates: CreateAnalysisTemplate and friends (the author's membership) and the
collaboration views every active member sees, in the two-account set-up of the AWS user guide.

Spec: shared/spec/cleanrooms.md §1.2 (template ARN), §1.3 (analysis template), §2.3 (template rows),
§3.6, §8, Appendix C (25 per membership).
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
    call,
    create_configured_table,
    custom_policy,
    create_glue_table,
    joined_collaboration,
    list_all,
    members_by_account,
    role_arn,
)

pytestmark = pytest.mark.usefixtures("reset")

SQL = "SELECT segment, SUM(spend) FROM b_spend WHERE spend > :min_spend GROUP BY segment"
PARAMS = [{"name": "min_spend", "type": "DOUBLE_PRECISION", "defaultValue": "0"}]


@pytest.fixture
def setup(client):
    """A (CAN_QUERY, CAN_RECEIVE_RESULTS) and B joined; B's table associated as ``b_spend``."""
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    create_glue_table(client("glue", account=B))
    table = create_configured_table(b, allowedColumns=["user_id", "segment", "spend"])
    add_table_rule(b, table["id"], aggregation_policy())
    call(
        b,
        "CreateConfiguredTableAssociation",
        membershipIdentifier=mb["id"],
        name="b_spend",
        configuredTableIdentifier=table["id"],
        roleArn=role_arn(B, "cleanrooms-read"),
    )
    return {"a": a, "b": b, "c": client("cleanrooms", account=C), "coll": coll, "ma": ma, "mb": mb}


def create_template(client, membership_id: str, name: str = "spend_by_segment", text: str = SQL, params=PARAMS, **extra) -> dict:
    args = {"membershipIdentifier": membership_id, "name": name, "format": "SQL", "source": {"text": text}, **extra}
    if params is not None:
        args["analysisParameters"] = params
    return call(client, "CreateAnalysisTemplate", **args)["analysisTemplate"]


def test_create_and_get_template(setup):
    a, coll, ma = setup["a"], setup["coll"], setup["ma"]
    t = create_template(a, ma["id"], description="spend per segment")
    assert re.fullmatch(UUID_RE, t["id"])
    assert t["arn"] == f"arn:aws:cleanrooms:us-east-1:{A}:membership/{ma['id']}/analysistemplate/{t['id']}"
    assert t["collaborationId"] == coll["id"] and t["collaborationArn"] == coll["arn"]
    assert t["membershipId"] == ma["id"] and t["membershipArn"] == ma["arn"]
    assert t["format"] == "SQL" and t["source"] == {"text": SQL}
    assert t["analysisParameters"] == PARAMS
    assert t["schema"] == {"referencedTables": ["b_spend"]}
    got = call(a, "GetAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"])["analysisTemplate"]
    assert got == t


def test_referenced_tables_from_ctes_and_subqueries(setup, client):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
    create_glue_table(client("glue", account=B), table="orders")
    orders = create_configured_table(b, table="orders", allowedColumns=["user_id", "spend"])
    call(b, "CreateConfiguredTableAssociation", membershipIdentifier=mb["id"], name="B_Orders", configuredTableIdentifier=orders["id"], roleArn=role_arn(B))
    sql = (
        "WITH big AS (SELECT user_id FROM b_orders WHERE spend > 10) "
        "SELECT COUNT(DISTINCT s.user_id) FROM b_spend s JOIN big ON s.user_id = big.user_id "
        "WHERE s.segment IN (SELECT segment FROM b_spend)"
    )
    t = create_template(a, ma["id"], text=sql, params=None)
    assert t["schema"]["referencedTables"] == ["b_orders", "b_spend"]


def test_unknown_table_is_rejected(setup):
    a, ma = setup["a"], setup["ma"]
    with pytest.raises(ClientError) as e:
        create_template(a, ma["id"], text="SELECT COUNT(*) FROM nowhere", params=None)
    assert_error(e, "ValidationException", 400, "nowhere")
    assert list_all(a, "ListAnalysisTemplates", "analysisTemplateSummaries", membershipIdentifier=ma["id"]) == []


@pytest.mark.parametrize(
    "text,params,named",
    [
        (SQL, [], "min_spend"),
        ("SELECT COUNT(*) FROM b_spend", PARAMS, "min_spend"),
        (SQL, PARAMS + PARAMS, "min_spend"),
        (SQL.replace(":min_spend", ":other"), PARAMS, "other"),
    ],
    ids=["undeclared", "unused", "duplicate", "mismatch"],
)
def test_parameters_must_match_placeholders(setup, text, params, named):
    a, ma = setup["a"], setup["ma"]
    with pytest.raises(ClientError) as e:
        create_template(a, ma["id"], text=text, params=params)
    assert_error(e, "ValidationException", 400, named)


def test_invalid_sql_and_format_mismatch(setup):
    a, ma = setup["a"], setup["ma"]
    with pytest.raises(ClientError) as e:
        create_template(a, ma["id"], text="SELEC nonsense FROM", params=None)
    assert_error(e, "ValidationException", 400)
    with pytest.raises(ClientError) as e:
        create_template(a, ma["id"], text="DELETE FROM b_spend", params=None)
    assert_error(e, "ValidationException", 400)
    with pytest.raises(ClientError) as e:
        call(a, "CreateAnalysisTemplate", membershipIdentifier=ma["id"], name="x", format="PYSPARK_1_0", source={"text": SQL})
    assert_error(e, "ValidationException", 400, "artifacts")


def test_collaboration_views_for_every_active_member(setup):
    a, b, c, coll, ma = setup["a"], setup["b"], setup["c"], setup["coll"], setup["ma"]
    t = create_template(a, ma["id"])
    seen = call(b, "GetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArn=t["arn"])["collaborationAnalysisTemplate"]
    assert seen["creatorAccountId"] == A and seen["source"] == {"text": SQL} and seen["schema"] == t["schema"]
    summaries = list_all(b, "ListCollaborationAnalysisTemplates", "collaborationAnalysisTemplateSummaries", collaborationIdentifier=coll["id"])
    assert [s["arn"] for s in summaries] == [t["arn"]]
    # Only the author's membership reaches the membership-scoped operations.
    with pytest.raises(ClientError) as e:
        call(b, "GetAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"])
    assert_error(e, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        call(c, "GetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArn=t["arn"])
    assert_error(e, "AccessDeniedException", 403)
    with pytest.raises(ClientError) as e:
        call(c, "ListCollaborationAnalysisTemplates", collaborationIdentifier=coll["id"])
    assert_error(e, "AccessDeniedException", 403)


def test_batch_get_reports_unknown_arns(setup):
    a, b, coll, ma = setup["a"], setup["b"], setup["coll"], setup["ma"]
    t = create_template(a, ma["id"])
    missing = t["arn"][: -len(t["id"])] + "00000000-0000-0000-0000-000000000000"
    out = call(b, "BatchGetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArns=[t["arn"], missing])
    assert [x["arn"] for x in out["collaborationAnalysisTemplates"]] == [t["arn"]]
    assert [(x["arn"], x["code"]) for x in out["errors"]] == [(missing, "ResourceNotFoundException")]


def test_pagination_over_both_lists(setup):
    a, b, coll, ma, mb = setup["a"], setup["b"], setup["coll"], setup["ma"], setup["mb"]
    arns = [create_template(a, ma["id"], name=f"t{i}")["arn"] for i in range(3)]
    arns.append(create_template(b, mb["id"], name="by_b")["arn"])
    page = call(a, "ListAnalysisTemplates", membershipIdentifier=ma["id"], maxResults=2)
    assert len(page["analysisTemplateSummaries"]) == 2 and page["nextToken"]
    own = list_all(a, "ListAnalysisTemplates", "analysisTemplateSummaries", page_size=2, membershipIdentifier=ma["id"])
    assert [s["arn"] for s in own] == arns[:3]
    everyone = list_all(b, "ListCollaborationAnalysisTemplates", "collaborationAnalysisTemplateSummaries", page_size=3, collaborationIdentifier=coll["id"])
    assert [s["arn"] for s in everyone] == arns
    assert [s["creatorAccountId"] for s in everyone] == [A, A, A, B]


def test_update_changes_only_the_description_and_delete(setup):
    a, b, coll, ma = setup["a"], setup["b"], setup["coll"], setup["ma"]
    t = create_template(a, ma["id"])
    updated = call(a, "UpdateAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"], description="new")["analysisTemplate"]
    assert updated["description"] == "new"
    assert {k: v for k, v in updated.items() if k not in ("description", "updateTime")} == {k: v for k, v in t.items() if k not in ("description", "updateTime")}
    call(a, "DeleteAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"])
    with pytest.raises(ClientError) as e:
        call(a, "GetAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"])
    assert_error(e, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        call(b, "GetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArn=t["arn"])
    assert_error(e, "ResourceNotFoundException", 404)


def test_tags_on_templates(setup):
    a, ma = setup["a"], setup["ma"]
    t = create_template(a, ma["id"], tags={"team": "ads"})
    assert call(a, "ListTagsForResource", resourceArn=t["arn"])["tags"] == {"team": "ads"}
    call(a, "TagResource", resourceArn=t["arn"], tags={"env": "dev"})
    assert call(a, "ListTagsForResource", resourceArn=t["arn"])["tags"] == {"team": "ads", "env": "dev"}


def test_membership_with_templates_cannot_be_deleted(setup):
    b, mb = setup["b"], setup["mb"]
    t = create_template(b, mb["id"])
    for s in list_all(b, "ListConfiguredTableAssociations", "configuredTableAssociationSummaries", membershipIdentifier=mb["id"]):
        call(b, "DeleteConfiguredTableAssociation", membershipIdentifier=mb["id"], configuredTableAssociationIdentifier=s["id"])
    with pytest.raises(ClientError) as e:
        call(b, "DeleteMembership", membershipIdentifier=mb["id"])
    response = assert_error(e, "ConflictException", 409, "analysis templates")
    assert response["reason"] == "SUBRESOURCES_EXIST"
    call(b, "DeleteAnalysisTemplate", membershipIdentifier=mb["id"], analysisTemplateIdentifier=t["id"])
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])


def test_quota_of_25_templates_per_membership(setup):
    a, ma = setup["a"], setup["ma"]
    for i in range(25):
        create_template(a, ma["id"], name=f"t{i}", text="SELECT COUNT(*) FROM b_spend", params=None)
    with pytest.raises(ClientError) as e:
        create_template(a, ma["id"], name="one_too_many", text="SELECT COUNT(*) FROM b_spend", params=None)
    assert_error(e, "ServiceQuotaExceededException", 402)


def upload_script(client, account: str = A) -> None:
    """The entry point the PySpark templates below name: ``s3://code/job.py`` of ``account``."""
    s3 = client("s3", account=account)
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="job.py", Body=b"def entrypoint(context):\n    return {}\n")


def test_pyspark_templates_need_a_result_receiver(setup, client):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
    upload_script(client)
    artifacts = {"entryPoint": {"location": {"bucket": "code", "key": "job.py"}}, "roleArn": role_arn(A)}
    args = {"name": "spark", "format": "PYSPARK_1_0", "source": {"artifacts": artifacts}, "schema": {"referencedTables": ["b_spend"]}}
    t = call(a, "CreateAnalysisTemplate", membershipIdentifier=ma["id"], **args)["analysisTemplate"]
    assert t["format"] == "PYSPARK_1_0" and t["schema"] == {"referencedTables": ["b_spend"]}
    assert t["source"] == {"artifacts": artifacts}
    with pytest.raises(ClientError) as e:
        call(b, "CreateAnalysisTemplate", membershipIdentifier=mb["id"], **args)
    assert_error(e, "AccessDeniedException", 403, "receive results")
    with pytest.raises(ClientError) as e:
        call(a, "CreateAnalysisTemplate", membershipIdentifier=ma["id"], **{**args, "schema": {"referencedTables": ["nowhere"]}})
    assert_error(e, "ValidationException", 400, "nowhere")



# --------------------------------------------------------------------------------------------
# Differential-privacy validation (spec §3.6, §4.3 point 5)
# --------------------------------------------------------------------------------------------

DP_POLICY = custom_policy(differentialPrivacy={"columns": [{"name": "user_id"}]})


@pytest.fixture
def dp_setup(setup, client):
    """``setup`` plus B's ``b_dp`` table whose custom rule turns differential privacy on."""
    b, mb = setup["b"], setup["mb"]
    create_glue_table(client("glue", account=B), table="visits")
    table = create_configured_table(b, table="visits", allowedColumns=["user_id", "segment", "spend"])
    add_table_rule(b, table["id"], DP_POLICY)
    call(
        b,
        "CreateConfiguredTableAssociation",
        membershipIdentifier=mb["id"],
        name="b_dp",
        configuredTableIdentifier=table["id"],
        roleArn=role_arn(B, "cleanrooms-read"),
    )
    return {**setup, "dp_table": table}


def every_view(setup, t: dict) -> list[dict]:
    """The template as its author and as another member see it (Get, Update, collaboration Get/BatchGet)."""
    a, b, coll, ma = setup["a"], setup["b"], setup["coll"], setup["ma"]
    return [
        call(a, "GetAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"])["analysisTemplate"],
        call(a, "UpdateAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"], description="d")["analysisTemplate"],
        call(b, "GetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArn=t["arn"])["collaborationAnalysisTemplate"],
        call(b, "BatchGetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArns=[t["arn"]])["collaborationAnalysisTemplates"][0],
    ]


def test_template_on_dp_table_that_follows_the_structure_is_valid(dp_setup):
    text = (
        "WITH v AS (SELECT user_id, segment, spend FROM b_dp WHERE spend > :min_spend) "
        "SELECT segment, COUNT(DISTINCT user_id) AS users, SUM(spend), AVG(spend), STDDEV(spend) FROM v GROUP BY segment"
    )
    t = create_template(dp_setup["a"], dp_setup["ma"]["id"], text=text)
    assert t["validations"] == [{"type": "DIFFERENTIAL_PRIVACY", "status": "VALID"}]
    for view in every_view(dp_setup, t):
        assert view["validations"] == t["validations"]


@pytest.mark.parametrize(
    "text, words",
    [
        ("SELECT segment, MAX(spend) FROM b_dp WHERE spend > :min_spend GROUP BY segment", ["MAX", "AVG, COUNT, COUNT DISTINCT, STDDEV or SUM"]),
        ("SELECT user_id, spend FROM b_dp WHERE spend > :min_spend", ["must aggregate"]),
        ("WITH v AS (SELECT segment, spend FROM b_dp) SELECT segment, SUM(spend) FROM v WHERE spend > :min_spend GROUP BY segment", ["CTE v", "user_id"]),
        ("SELECT COUNT(*) FROM b_spend s WHERE s.spend > :min_spend AND s.user_id IN (SELECT user_id FROM b_dp)", ["WHERE clause", "b_dp"]),
        ("SELECT COUNT(*) FROM b_dp d CROSS JOIN b_dp e WHERE d.spend > :min_spend", ["CROSS JOIN"]),
    ],
)
def test_template_breaking_the_dp_structure_is_invalid_with_reasons(dp_setup, text, words):
    t = create_template(dp_setup["a"], dp_setup["ma"]["id"], text=text)
    [validation] = t["validations"]
    assert validation["type"] == "DIFFERENTIAL_PRIVACY" and validation["status"] == "INVALID"
    messages = " | ".join(r["message"] for r in validation["reasons"])
    for word in words:
        assert word in messages, messages
    for view in every_view(dp_setup, t):
        assert view["validations"] == t["validations"]


def test_templates_without_dp_tables_have_no_validations(dp_setup):
    t = create_template(dp_setup["a"], dp_setup["ma"]["id"])  # reads b_spend only
    assert "validations" not in t
    for view in every_view(dp_setup, t):
        assert "validations" not in view


def test_validation_follows_the_current_rules(setup):
    """Validation runs on every read: turning DP on later adds it, turning it off removes it."""
    a, b, ma = setup["a"], setup["b"], setup["ma"]
    t = create_template(a, ma["id"], text="SELECT segment, MAX(spend) FROM b_spend WHERE spend > :min_spend GROUP BY segment")
    assert "validations" not in t
    [s] = list_all(b, "ListConfiguredTables", "configuredTableSummaries")
    call(b, "DeleteConfiguredTableAnalysisRule", configuredTableIdentifier=s["id"], analysisRuleType="AGGREGATION")
    add_table_rule(b, s["id"], DP_POLICY)
    got = call(a, "GetAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"])["analysisTemplate"]
    assert [(v["type"], v["status"]) for v in got["validations"]] == [("DIFFERENTIAL_PRIVACY", "INVALID")]
    call(b, "DeleteConfiguredTableAnalysisRule", configuredTableIdentifier=s["id"], analysisRuleType="CUSTOM")
    got = call(a, "GetAnalysisTemplate", membershipIdentifier=ma["id"], analysisTemplateIdentifier=t["id"])["analysisTemplate"]
    assert "validations" not in got


def test_pyspark_template_on_dp_table_is_unable_to_validate(dp_setup, client):
    a, ma = dp_setup["a"], dp_setup["ma"]
    upload_script(client)
    artifacts = {"entryPoint": {"location": {"bucket": "code", "key": "job.py"}}, "roleArn": role_arn(A)}
    t = call(
        a,
        "CreateAnalysisTemplate",
        membershipIdentifier=ma["id"],
        name="spark",
        format="PYSPARK_1_0",
        source={"artifacts": artifacts},
        schema={"referencedTables": ["b_dp"]},
    )["analysisTemplate"]
    [validation] = t["validations"]
    assert validation["status"] == "UNABLE_TO_VALIDATE" and "PYSPARK_1_0" in validation["reasons"][0]["message"]


# --------------------------------------------------------------------------------------------
# A removed member's templates leave the collaboration (spec §3.2; DeleteMember)
# --------------------------------------------------------------------------------------------


def test_removed_member_templates_leave_the_collaboration(setup):
    a, b, coll, ma, mb = setup["a"], setup["b"], setup["coll"], setup["ma"], setup["mb"]
    by_a = create_template(a, ma["id"])
    by_b = create_template(b, mb["id"], name="by_b", tags={"team": "b"})
    listed = list_all(a, "ListCollaborationAnalysisTemplates", "collaborationAnalysisTemplateSummaries", collaborationIdentifier=coll["id"])
    assert [s["arn"] for s in listed] == [by_a["arn"], by_b["arn"]]

    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    assert members_by_account(a, coll["id"])[B]["status"] == "REMOVED"
    listed = list_all(a, "ListCollaborationAnalysisTemplates", "collaborationAnalysisTemplateSummaries", collaborationIdentifier=coll["id"])
    assert [s["arn"] for s in listed] == [by_a["arn"]]
    with pytest.raises(ClientError) as e:
        call(a, "GetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArn=by_b["arn"])
    assert_error(e, "ResourceNotFoundException", 404)
    out = call(a, "BatchGetCollaborationAnalysisTemplate", collaborationIdentifier=coll["id"], analysisTemplateArns=[by_a["arn"], by_b["arn"]])
    assert [t["arn"] for t in out["collaborationAnalysisTemplates"]] == [by_a["arn"]]
    assert [(x["arn"], x["code"]) for x in out["errors"]] == [(by_b["arn"], "ResourceNotFoundException")]
    # The removed member's own (read-only) membership no longer holds them either, tags included,
    # so it can tidy the membership away at once.
    assert call(b, "ListAnalysisTemplates", membershipIdentifier=mb["id"])["analysisTemplateSummaries"] == []
    with pytest.raises(ClientError) as e:
        call(b, "ListTagsForResource", resourceArn=by_b["arn"])
    assert_error(e, "ResourceNotFoundException", 404)
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])
