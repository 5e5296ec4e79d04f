"""Memberships: join, read, list, update, leave, removal by the creator, collaboration deletion.

Spec: shared/spec/cleanrooms.md §1.3 (Membership), §2.2 (membership-scoped paths), §2.3 (operation
matrix rows CreateMembership … DeleteMember), §2.4 (payment, logging, metrics, result defaults),
§3.1, §3.2 (state machines), §8 (pagination), Appendix F steps 1-3 and 8.
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
    E,
    UUID_RE,
    assert_error,
    assert_field_error,
    call,
    create_collaboration,
    create_membership,
    joined_collaboration,
    list_all,
    list_collaboration_ids,
    member,
    members_by_account,
    random_id,
    role_arn,
    s3_result_configuration,
)

pytestmark = pytest.mark.usefixtures("reset")


def memberships(client, **kwargs) -> list[dict]:
    return list_all(client, "ListMemberships", "membershipSummaries", **kwargs)


def get_membership(client, membership_id: str) -> dict:
    return call(client, "GetMembership", membershipIdentifier=membership_id)["membership"]


# --------------------------------------------------------------------------------------------
# CreateMembership / GetMembership (Appendix F steps 1-3)
# --------------------------------------------------------------------------------------------


def test_create_membership_invited_member_joins_and_becomes_active(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    m = create_membership(b, coll["id"])

    assert re.fullmatch(UUID_RE, m["id"])
    assert m["arn"] == f"arn:aws:cleanrooms:us-east-1:{B}:membership/{m['id']}"
    assert m["status"] == "ACTIVE"
    assert m["collaborationId"] == coll["id"]
    assert m["collaborationArn"] == coll["arn"]
    assert m["collaborationCreatorAccountId"] == A
    assert m["collaborationCreatorDisplayName"] == "Creator A"
    assert m["collaborationName"] == coll["name"]
    assert m["memberAbilities"] == []
    assert m["queryLogStatus"] == "DISABLED"
    assert m["jobLogStatus"] == "DISABLED"
    assert m["isMetricsEnabled"] is False
    assert m["paymentConfiguration"] == {"queryCompute": {"isResponsible": False}}
    assert "defaultResultConfiguration" not in m
    assert m["updateTime"] >= m["createTime"]

    # the member record and B's view of the collaboration follow (spec §3.1)
    members = members_by_account(a, coll["id"])
    assert members[B]["status"] == "ACTIVE"
    assert members[B]["membershipId"] == m["id"]
    assert members[B]["membershipArn"] == m["arn"]
    assert members[A]["status"] == "INVITED"
    seen = call(b, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]
    assert seen["memberStatus"] == "ACTIVE"
    assert seen["membershipId"] == m["id"]
    assert seen["membershipArn"] == m["arn"]
    assert coll["id"] in list_collaboration_ids(b, memberStatus="ACTIVE")
    assert coll["id"] not in list_collaboration_ids(b, memberStatus="INVITED")

    assert get_membership(b, m["id"]) == m


def test_create_membership_creator_joins_with_result_defaults(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    assert ma["arn"] == f"arn:aws:cleanrooms:us-east-1:{A}:membership/{ma['id']}"
    assert sorted(ma["memberAbilities"]) == ["CAN_QUERY", "CAN_RECEIVE_RESULTS"]
    # the query runner pays by default (spec §2.4) and may omit paymentConfiguration
    assert ma["paymentConfiguration"] == {"queryCompute": {"isResponsible": True}}
    assert ma["defaultResultConfiguration"] == s3_result_configuration()
    creator_view = call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]
    assert creator_view["memberStatus"] == "ACTIVE"
    assert creator_view["membershipId"] == ma["id"]
    assert {s["id"] for s in memberships(a)} == {ma["id"]}
    assert {s["id"] for s in memberships(b)} == {mb["id"]}


def test_create_membership_echoes_every_optional_member(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(
        a,
        queryLogStatus="ENABLED",
        jobLogStatus="ENABLED",
        isMetricsEnabled=True,
        creatorMemberAbilities=["CAN_QUERY", "CAN_RUN_JOB", "CAN_RECEIVE_RESULTS"],
    )
    result = s3_result_configuration("my-results", keyPrefix="runs/q", singleFileOutput=True)
    result["roleArn"] = role_arn(A, "results-writer")
    job_result = {"outputConfiguration": {"s3": {"bucket": "job-results", "keyPrefix": "jobs"}}, "roleArn": role_arn(A)}
    m = create_membership(
        a,
        coll["id"],
        queryLogStatus="ENABLED",
        jobLogStatus="ENABLED",
        isMetricsEnabled=True,
        defaultResultConfiguration=result,
        defaultJobResultConfiguration=job_result,
        paymentConfiguration={"queryCompute": {"isResponsible": True}, "jobCompute": {"isResponsible": True}},
        tags={"team": "analytics"},
    )
    assert m["queryLogStatus"] == "ENABLED"
    assert m["jobLogStatus"] == "ENABLED"
    assert m["isMetricsEnabled"] is True
    assert m["defaultResultConfiguration"] == result
    assert m["defaultJobResultConfiguration"] == job_result
    assert m["paymentConfiguration"] == {"queryCompute": {"isResponsible": True}, "jobCompute": {"isResponsible": True}}
    assert call(a, "ListTagsForResource", resourceArn=m["arn"])["tags"] == {"team": "analytics"}
    assert get_membership(a, m["id"]) == m


def test_create_membership_twice_is_a_conflict(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    m = create_membership(b, coll["id"])
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")
    response = assert_error(excinfo, "ConflictException", 409, m["id"])
    assert response["reason"] == "ALREADY_EXISTS"
    assert response["resourceType"] == "MEMBERSHIP"
    assert len(memberships(b)) == 1


def test_create_membership_not_invited_is_access_denied(client):
    a, c = client("cleanrooms", account=A), client("cleanrooms", account=C)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        c.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")
    response = assert_error(excinfo, "AccessDeniedException", 403, C)
    assert response["reason"] == "INSUFFICIENT_PERMISSIONS"
    assert memberships(c) == []


def test_create_membership_unknown_or_deleted_collaboration_not_found(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    unknown = random_id()
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=unknown, queryLogStatus="DISABLED")
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "COLLABORATION"
    assert response["resourceId"] == unknown

    coll = create_collaboration(a)
    call(a, "DeleteCollaboration", collaborationIdentifier=coll["id"])
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_create_membership_malformed_collaboration_id_is_a_field_error(client):
    b = client("cleanrooms", account=B, validate=False)
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier="not-a-uuid", queryLogStatus="DISABLED")
    assert_field_error(excinfo, "collaborationIdentifier")


def test_create_membership_unknown_log_status_is_a_field_error(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B, validate=False)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="SOMETIMES")
    assert_field_error(excinfo, "queryLogStatus", "enum")


def test_create_membership_bad_result_bucket_is_a_field_error(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    raw = client("cleanrooms", account=A, validate=False)
    for bucket in ("Upper_Case", "x" * 64, "192.168.1.1"):
        with pytest.raises(ClientError) as excinfo:
            raw.create_membership(
                collaborationIdentifier=coll["id"],
                queryLogStatus="DISABLED",
                defaultResultConfiguration=s3_result_configuration(bucket),
            )
        assert_field_error(excinfo, "bucket")
    with pytest.raises(ClientError) as excinfo:
        raw.create_membership(
            collaborationIdentifier=coll["id"],
            queryLogStatus="DISABLED",
            defaultResultConfiguration={**s3_result_configuration(), "roleArn": "arn:aws:iam::1:user/not-a-role-arn-at-all"},
        )
    assert_field_error(excinfo, "roleArn", "pattern")
    assert memberships(a) == []


# --------------------------------------------------------------------------------------------
# Logging, metrics, result defaults, payment (spec §2.4)
# --------------------------------------------------------------------------------------------


def test_create_membership_query_logging_only_if_collaboration_enables_it(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    off = create_collaboration(a, queryLogStatus="DISABLED")
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=off["id"], queryLogStatus="ENABLED")
    response = assert_error(excinfo, "ValidationException", 400, "queryLogStatus")
    assert response["reason"] == "INVALID_CONFIGURATION"
    assert members_by_account(a, off["id"])[B]["status"] == "INVITED"

    on = create_collaboration(a, queryLogStatus="ENABLED")
    assert create_membership(b, on["id"], queryLogStatus="ENABLED")["queryLogStatus"] == "ENABLED"


def test_create_membership_job_logging_only_if_collaboration_enables_it(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)  # jobLogStatus defaults to DISABLED
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED", jobLogStatus="ENABLED")
    assert_error(excinfo, "ValidationException", 400, "jobLogStatus")


def test_create_membership_result_defaults_need_receive_results_ability(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a, members=[member(B), member(C, ["CAN_RECEIVE_RESULTS"])])
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(
            collaborationIdentifier=coll["id"], queryLogStatus="DISABLED", defaultResultConfiguration=s3_result_configuration()
        )
    response = assert_error(excinfo, "ValidationException", 400, "defaultResultConfiguration", "CAN_RECEIVE_RESULTS")
    assert response["reason"] == "INVALID_CONFIGURATION"
    job_result = {"outputConfiguration": {"s3": {"bucket": "job-results"}}, "roleArn": role_arn(B)}
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED", defaultJobResultConfiguration=job_result)
    assert_error(excinfo, "ValidationException", 400, "defaultJobResultConfiguration")
    # a receiver may set it
    c = client("cleanrooms", account=C)
    m = create_membership(c, coll["id"], defaultResultConfiguration=s3_result_configuration("c-results"))
    assert m["defaultResultConfiguration"]["outputConfiguration"]["s3"]["bucket"] == "c-results"


def test_create_membership_payer_that_cannot_query_must_accept_payment(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(
        a,
        creatorPaymentConfiguration={"queryCompute": {"isResponsible": False}},
        members=[member(B, [], paymentConfiguration={"queryCompute": {"isResponsible": True}})],
    )
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")
    assert_error(excinfo, "ValidationException", 400, "paymentConfiguration")
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(
            collaborationIdentifier=coll["id"],
            queryLogStatus="DISABLED",
            paymentConfiguration={"queryCompute": {"isResponsible": False}},
        )
    assert_error(excinfo, "ValidationException", 400, "paymentConfiguration.queryCompute.isResponsible", "false")
    assert members_by_account(a, coll["id"])[B]["status"] == "INVITED"

    m = create_membership(b, coll["id"], paymentConfiguration={"queryCompute": {"isResponsible": True}})
    assert m["paymentConfiguration"] == {"queryCompute": {"isResponsible": True}}
    # the creator (the query runner, not paying) may omit it; it shows what the creator assigned
    ma = create_membership(a, coll["id"])
    assert ma["paymentConfiguration"] == {"queryCompute": {"isResponsible": False}}


def test_create_membership_claiming_payment_not_assigned_is_rejected(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(
            collaborationIdentifier=coll["id"],
            queryLogStatus="DISABLED",
            paymentConfiguration={"queryCompute": {"isResponsible": True}},
        )
    assert_error(excinfo, "ValidationException", 400, "paymentConfiguration.queryCompute.isResponsible", "true")
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(
            collaborationIdentifier=coll["id"],
            queryLogStatus="DISABLED",
            paymentConfiguration={"queryCompute": {"isResponsible": False}, "jobCompute": {"isResponsible": True}},
        )
    assert_error(excinfo, "ValidationException", 400, "jobCompute")
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(
            collaborationIdentifier=coll["id"],
            queryLogStatus="DISABLED",
            paymentConfiguration={
                "queryCompute": {"isResponsible": False},
                "machineLearning": {"modelTraining": {"isResponsible": True}},
            },
        )
    assert_error(excinfo, "ValidationException", 400, "modelTraining")
    # echoing the assignment is fine
    m = create_membership(b, coll["id"], paymentConfiguration={"queryCompute": {"isResponsible": False}})
    assert m["paymentConfiguration"]["queryCompute"]["isResponsible"] is False


def test_create_membership_query_runner_refusing_default_payment_is_rejected(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)  # A can query, nobody marked: A pays
    with pytest.raises(ClientError) as excinfo:
        a.create_membership(
            collaborationIdentifier=coll["id"],
            queryLogStatus="DISABLED",
            paymentConfiguration={"queryCompute": {"isResponsible": False}},
        )
    assert_error(excinfo, "ValidationException", 400, "isResponsible")


def test_create_membership_metrics_rules(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    without = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        a.create_membership(collaborationIdentifier=without["id"], queryLogStatus="DISABLED", isMetricsEnabled=True)
    assert_error(excinfo, "ValidationException", 400, "isMetricsEnabled")
    # false is always fine
    assert create_membership(a, without["id"], isMetricsEnabled=False)["isMetricsEnabled"] is False

    coll = create_collaboration(a, isMetricsEnabled=True)
    # B neither queries nor pays
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED", isMetricsEnabled=True)
    assert_error(excinfo, "ValidationException", 400, "isMetricsEnabled", B)
    assert create_membership(a, coll["id"], isMetricsEnabled=True)["isMetricsEnabled"] is True

    # a payer that cannot query may enable metrics too
    paid = create_collaboration(
        a,
        isMetricsEnabled=True,
        creatorPaymentConfiguration={"queryCompute": {"isResponsible": False}},
        members=[member(B, [], paymentConfiguration={"queryCompute": {"isResponsible": True}})],
    )
    m = create_membership(
        b, paid["id"], isMetricsEnabled=True, paymentConfiguration={"queryCompute": {"isResponsible": True}}
    )
    assert m["isMetricsEnabled"] is True


# --------------------------------------------------------------------------------------------
# Who sees a membership (spec §2.2)
# --------------------------------------------------------------------------------------------


def test_get_membership_of_another_account_is_not_found(client):
    a, b, c = (client("cleanrooms", account=x) for x in (A, B, C))
    coll, ma, mb = joined_collaboration(a, b)
    for caller, membership_id in ((a, mb["id"]), (b, ma["id"]), (c, mb["id"]), (a, random_id())):
        with pytest.raises(ClientError) as excinfo:
            caller.get_membership(membershipIdentifier=membership_id)
        response = assert_error(excinfo, "ResourceNotFoundException", 404)
        assert response["resourceType"] == "MEMBERSHIP"
        assert response["resourceId"] == membership_id


def test_membership_is_regional(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    m = create_membership(b, coll["id"])
    west = client("cleanrooms", account=B, region="us-west-2")
    with pytest.raises(ClientError) as excinfo:
        west.get_membership(membershipIdentifier=m["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert memberships(west) == []


def test_update_and_delete_membership_of_another_account_not_found(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    with pytest.raises(ClientError) as excinfo:
        a.update_membership(membershipIdentifier=mb["id"], queryLogStatus="DISABLED")
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        a.delete_membership(membershipIdentifier=mb["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert get_membership(b, mb["id"])["status"] == "ACTIVE"


def test_membership_tags_belong_to_its_owner(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    m = create_membership(b, coll["id"], tags={"k": "v"})
    call(b, "TagResource", resourceArn=m["arn"], tags={"env": "test"})
    assert call(b, "ListTagsForResource", resourceArn=m["arn"])["tags"] == {"k": "v", "env": "test"}
    call(b, "UntagResource", resourceArn=m["arn"], tagKeys=["k"])
    assert call(b, "ListTagsForResource", resourceArn=m["arn"])["tags"] == {"env": "test"}
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=m["arn"])
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "MEMBERSHIP"
    with pytest.raises(ClientError) as excinfo:
        b.tag_resource(resourceArn=f"arn:aws:cleanrooms:us-east-1:{B}:membership/{random_id()}", tags={"a": "b"})
    assert_error(excinfo, "ResourceNotFoundException", 404)


# --------------------------------------------------------------------------------------------
# ListMemberships (spec §8)
# --------------------------------------------------------------------------------------------


def test_list_memberships_summaries_match_get(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    [summary] = memberships(b)
    full = get_membership(b, mb["id"])
    for key, value in summary.items():
        assert full[key] == value, key
    assert summary["collaborationName"] == coll["name"]


def test_list_memberships_paginates_over_several_pages(client):
    c = client("cleanrooms", account=C)
    created = []
    for creator in (A, B, D, E):
        x = client("cleanrooms", account=creator)
        for _ in range(2):
            coll = create_collaboration(x, members=[member(C)])
            created.append(create_membership(c, coll["id"])["id"])
    pages = list(c.get_paginator("list_memberships").paginate(PaginationConfig={"PageSize": 3}))
    assert len(pages) == 3
    assert all(len(p["membershipSummaries"]) <= 3 for p in pages)
    assert "nextToken" not in pages[-1]
    ids = [s["id"] for p in pages for s in p["membershipSummaries"]]
    assert ids == created  # creation order, each once
    assert [s["id"] for s in memberships(c, page_size=1)] == created


def test_list_memberships_status_filter(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    kept, _, kept_b = joined_collaboration(a, b)
    deleted, deleted_a, deleted_b = joined_collaboration(a, b)
    removed, _, removed_b = joined_collaboration(a, b)
    call(a, "DeleteCollaboration", collaborationIdentifier=deleted["id"])
    call(a, "DeleteMember", collaborationIdentifier=removed["id"], accountId=B)

    def ids(status=None):
        kwargs = {"status": status} if status else {}
        return [s["id"] for s in memberships(b, **kwargs)]

    assert ids() == [kept_b["id"], deleted_b["id"], removed_b["id"]]
    assert ids("ACTIVE") == [kept_b["id"]]
    assert ids("COLLABORATION_DELETED") == [deleted_b["id"]]
    assert ids("REMOVED") == [removed_b["id"]]
    assert deleted_a["id"] in [s["id"] for s in memberships(a, status="COLLABORATION_DELETED")]


def test_list_memberships_rejects_bad_parameters(client):
    b = client("cleanrooms", account=B, validate=False)
    with pytest.raises(ClientError) as excinfo:
        b.list_memberships(maxResults=0)
    assert_field_error(excinfo, "maxResults", "min_value")
    with pytest.raises(ClientError) as excinfo:
        b.list_memberships(maxResults=101)
    assert_field_error(excinfo, "maxResults", "max_value")
    with pytest.raises(ClientError) as excinfo:
        b.list_memberships(status="LEFT")
    assert_field_error(excinfo, "status", "enum")
    with pytest.raises(ClientError) as excinfo:
        b.list_memberships(nextToken="not-a-token")
    assert_error(excinfo, "ValidationException", 400, "nextToken")


def test_list_memberships_token_of_another_list_is_rejected(client):
    a, c = client("cleanrooms", account=A), client("cleanrooms", account=C)
    for _ in range(3):
        create_membership(c, create_collaboration(a, members=[member(C)])["id"])
    token = call(c, "ListMemberships", maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as excinfo:
        c.list_memberships(nextToken=token, status="ACTIVE")
    assert_error(excinfo, "ValidationException", 400, "nextToken")
    with pytest.raises(ClientError) as excinfo:
        a.list_memberships(nextToken=token)
    assert_error(excinfo, "ValidationException", 400, "nextToken")


# --------------------------------------------------------------------------------------------
# UpdateMembership
# --------------------------------------------------------------------------------------------


def test_update_membership_changes_only_given_members(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b, queryLogStatus="ENABLED")
    new_result = s3_result_configuration("other-bucket", keyPrefix="p", singleFileOutput=False)
    updated = call(
        a, "UpdateMembership", membershipIdentifier=ma["id"], queryLogStatus="ENABLED", defaultResultConfiguration=new_result
    )["membership"]
    assert updated["queryLogStatus"] == "ENABLED"
    assert updated["defaultResultConfiguration"] == new_result
    assert updated["updateTime"] >= ma["updateTime"]
    for key in ("id", "arn", "createTime", "status", "paymentConfiguration", "memberAbilities", "collaborationId"):
        assert updated[key] == ma[key], key
    assert get_membership(a, ma["id"]) == updated
    same = call(a, "UpdateMembership", membershipIdentifier=ma["id"])["membership"]
    assert same["queryLogStatus"] == "ENABLED"
    assert same["defaultResultConfiguration"] == new_result


def test_update_membership_enforces_create_rules(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    with pytest.raises(ClientError) as excinfo:
        a.update_membership(membershipIdentifier=ma["id"], queryLogStatus="ENABLED")
    assert_error(excinfo, "ValidationException", 400, "queryLogStatus")
    with pytest.raises(ClientError) as excinfo:
        b.update_membership(membershipIdentifier=mb["id"], defaultResultConfiguration=s3_result_configuration())
    assert_error(excinfo, "ValidationException", 400, "defaultResultConfiguration")
    with pytest.raises(ClientError) as excinfo:
        b.update_membership(
            membershipIdentifier=mb["id"], membershipPaymentConfiguration={"queryCompute": {"isResponsible": True}}
        )
    assert_error(excinfo, "ValidationException", 400, "membershipPaymentConfiguration.queryCompute.isResponsible")
    echoed = call(
        a, "UpdateMembership", membershipIdentifier=ma["id"], membershipPaymentConfiguration={"queryCompute": {"isResponsible": True}}
    )["membership"]
    assert echoed["paymentConfiguration"] == {"queryCompute": {"isResponsible": True}}
    assert get_membership(a, ma["id"])["queryLogStatus"] == "DISABLED"


def test_update_membership_reflects_collaboration_rename(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    call(a, "UpdateCollaboration", collaborationIdentifier=coll["id"], name="renamed")
    assert get_membership(b, mb["id"])["collaborationName"] == "renamed"
    assert memberships(b)[0]["collaborationName"] == "renamed"


# --------------------------------------------------------------------------------------------
# DeleteMembership: leaving (spec §3.1, §3.2, Appendix F step 8)
# --------------------------------------------------------------------------------------------


def test_delete_membership_member_leaves(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    response = call(b, "DeleteMembership", membershipIdentifier=mb["id"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204

    with pytest.raises(ClientError) as excinfo:
        b.get_membership(membershipIdentifier=mb["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert memberships(b) == []
    members = members_by_account(a, coll["id"])
    assert members[B]["status"] == "LEFT"
    assert members[A]["status"] == "ACTIVE"
    # a leaver no longer sees the collaboration and cannot join again
    with pytest.raises(ClientError) as excinfo:
        b.get_collaboration(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "AccessDeniedException", 403)
    assert coll["id"] not in list_collaboration_ids(b)
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")
    assert_error(excinfo, "AccessDeniedException", 403, "LEFT")
    # its tags are gone with it
    with pytest.raises(ClientError) as excinfo:
        b.list_tags_for_resource(resourceArn=mb["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_delete_membership_creator_cannot_leave(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    with pytest.raises(ClientError) as excinfo:
        a.delete_membership(membershipIdentifier=ma["id"])
    response = assert_error(excinfo, "ConflictException", 409, "creator")
    assert response["reason"] == "INVALID_STATE"
    assert get_membership(a, ma["id"])["status"] == "ACTIVE"


def test_delete_membership_unknown_is_not_found(client):
    b = client("cleanrooms", account=B)
    with pytest.raises(ClientError) as excinfo:
        b.delete_membership(membershipIdentifier=random_id())
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "MEMBERSHIP"


# --------------------------------------------------------------------------------------------
# DeleteMember: removal by the creator (spec §2.3, §3.1, §3.2)
# --------------------------------------------------------------------------------------------


def test_delete_member_active_member_is_removed_and_keeps_a_removed_membership(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    response = call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204

    assert members_by_account(a, coll["id"])[B]["status"] == "REMOVED"
    removed = get_membership(b, mb["id"])
    assert removed["status"] == "REMOVED"
    assert removed["updateTime"] >= mb["updateTime"]
    with pytest.raises(ClientError) as excinfo:
        b.get_collaboration(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "AccessDeniedException", 403)
    # a REMOVED membership is read-only
    with pytest.raises(ClientError) as excinfo:
        b.update_membership(membershipIdentifier=mb["id"], queryLogStatus="DISABLED")
    response = assert_error(excinfo, "ConflictException", 409)
    assert response["reason"] == "INVALID_STATE"
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")
    assert_error(excinfo, "AccessDeniedException", 403, "REMOVED")
    # deleting the removed membership tidies it away; the member stays REMOVED
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])
    assert memberships(b) == []
    assert members_by_account(a, coll["id"])[B]["status"] == "REMOVED"


def test_delete_member_invited_member_is_removed(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    assert members_by_account(a, coll["id"])[B]["status"] == "REMOVED"
    assert coll["id"] not in list_collaboration_ids(b)
    with pytest.raises(ClientError) as excinfo:
        b.create_membership(collaborationIdentifier=coll["id"], queryLogStatus="DISABLED")
    assert_error(excinfo, "AccessDeniedException", 403)


def test_delete_member_permission_and_state_errors(client):
    a, b, c = (client("cleanrooms", account=x) for x in (A, B, C))
    coll, ma, mb = joined_collaboration(a, b)
    # not the creator
    with pytest.raises(ClientError) as excinfo:
        b.delete_member(collaborationIdentifier=coll["id"], accountId=A)
    assert_error(excinfo, "AccessDeniedException", 403)
    # an outsider
    with pytest.raises(ClientError) as excinfo:
        c.delete_member(collaborationIdentifier=coll["id"], accountId=B)
    assert_error(excinfo, "AccessDeniedException", 403)
    # the creator itself
    with pytest.raises(ClientError) as excinfo:
        a.delete_member(collaborationIdentifier=coll["id"], accountId=A)
    assert_error(excinfo, "ValidationException", 400, A)
    # not a member
    with pytest.raises(ClientError) as excinfo:
        a.delete_member(collaborationIdentifier=coll["id"], accountId=C)
    response = assert_error(excinfo, "ResourceNotFoundException", 404, C)
    assert response["resourceId"] == C
    # already removed
    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    with pytest.raises(ClientError) as excinfo:
        a.delete_member(collaborationIdentifier=coll["id"], accountId=B)
    response = assert_error(excinfo, "ConflictException", 409, "REMOVED")
    assert response["reason"] == "INVALID_STATE"
    # unknown collaboration
    with pytest.raises(ClientError) as excinfo:
        a.delete_member(collaborationIdentifier=random_id(), accountId=B)
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # malformed account id
    raw = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        raw.delete_member(collaborationIdentifier=coll["id"], accountId="12345")
    assert_field_error(excinfo, "accountId", "length")


def test_delete_member_left_member_is_a_conflict(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])
    with pytest.raises(ClientError) as excinfo:
        a.delete_member(collaborationIdentifier=coll["id"], accountId=B)
    assert_error(excinfo, "ConflictException", 409, "LEFT")


# --------------------------------------------------------------------------------------------
# DeleteCollaboration turns memberships COLLABORATION_DELETED (spec §3.2, Appendix F step 8)
# --------------------------------------------------------------------------------------------


def test_delete_collaboration_memberships_become_collaboration_deleted(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    call(a, "DeleteCollaboration", collaborationIdentifier=coll["id"])
    for caller, m in ((a, ma), (b, mb)):
        seen = get_membership(caller, m["id"])
        assert seen["status"] == "COLLABORATION_DELETED"
        assert seen["collaborationName"] == coll["name"]
        with pytest.raises(ClientError) as excinfo:
            caller.update_membership(membershipIdentifier=m["id"], queryLogStatus="DISABLED")
        assert_error(excinfo, "ConflictException", 409)
    with pytest.raises(ClientError) as excinfo:
        a.get_collaboration(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # the creator may now delete its own (dead) membership
    call(a, "DeleteMembership", membershipIdentifier=ma["id"])
    assert memberships(a) == []


# --------------------------------------------------------------------------------------------
# Durability
# --------------------------------------------------------------------------------------------


def test_membership_survives_restart(fresh_emulator):
    a = fresh_emulator.client("cleanrooms", account=A)
    b = fresh_emulator.client("cleanrooms", account=B)
    coll = create_collaboration(a)
    mb = create_membership(b, coll["id"], tags={"durable": "yes"})
    before_members = members_by_account(a, coll["id"])
    fresh_emulator.kill9()
    fresh_emulator.start()
    a = fresh_emulator.client("cleanrooms", account=A)
    b = fresh_emulator.client("cleanrooms", account=B)
    assert get_membership(b, mb["id"]) == mb
    assert members_by_account(a, coll["id"]) == before_members
    assert call(b, "ListTagsForResource", resourceArn=mb["arn"])["tags"] == {"durable": "yes"}
    assert [s["id"] for s in memberships(b)] == [mb["id"]]


def test_memberships_per_account_quota(client):
    c = client("cleanrooms", account=C)
    creators = [f"7000000000{i:02d}" for i in range(11)]
    collaborations = [
        create_collaboration(client("cleanrooms", account=creator), members=[member(C)])["id"]
        for creator in creators
        for _ in range(10)
    ]
    for collaboration_id in collaborations[:100]:
        c.create_membership(collaborationIdentifier=collaboration_id, queryLogStatus="DISABLED")
    with pytest.raises(ClientError) as excinfo:
        c.create_membership(collaborationIdentifier=collaborations[100], queryLogStatus="DISABLED")
    response = assert_error(excinfo, "ServiceQuotaExceededException", 402)
    assert response["quotaValue"] == 100
    # leaving one frees a place
    first = memberships(c, status="ACTIVE")[0]
    call(c, "DeleteMembership", membershipIdentifier=first["id"])
    assert create_membership(c, collaborations[100])["status"] == "ACTIVE"
