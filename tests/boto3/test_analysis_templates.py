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
    create_glue_table,
    joined_collaboration,
    list_all,
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


def test_pyspark_templates_need_a_result_receiver(setup):
    a, b, ma, mb = setup["a"], setup["b"], setup["ma"], setup["mb"]
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
