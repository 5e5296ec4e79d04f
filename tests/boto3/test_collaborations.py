"""Collaborations: create, read, list, update, delete, members, cross-account rules, validation.

Spec: shared/spec/cleanrooms.md §1.3 (caller-relative fields, creator INVITED), §2.2-2.4 (who may do
what, payment defaults), §3.1, §7 (errors), §8 (pagination), Appendix F step 1-2.
"""

from __future__ import annotations

import datetime
import re
import time

import pytest
from botocore.exceptions import ClientError

from helpers import (
    A,
    B,
    C,
    D,
    DEFAULT_ACCOUNT,
    E,
    F,
    OMIT,
    UUID_RE,
    assert_error,
    assert_field_error,
    call,
    collaboration_args,
    create_collaboration,
    list_all,
    list_collaboration_ids,
    member,
    members_by_account,
    random_id,
)

pytestmark = pytest.mark.usefixtures("reset")


def seconds_since_epoch(value: datetime.datetime) -> float:
    return value.timestamp()


def assert_recent(value: datetime.datetime, slack: float = 120) -> None:
    assert isinstance(value, datetime.datetime)
    assert abs(value.timestamp() - time.time()) < slack, f"{value} is not close to now"


# --------------------------------------------------------------------------------------------
# CreateCollaboration / GetCollaboration
# --------------------------------------------------------------------------------------------


def test_create_collaboration_returns_creator_view_with_invited_status(client):
    a = client("cleanrooms", account=A)
    args = collaboration_args()
    coll = call(a, "CreateCollaboration", **args)["collaboration"]

    assert re.fullmatch(UUID_RE, coll["id"])
    assert coll["arn"] == f"arn:aws:cleanrooms:us-east-1:{A}:collaboration/{coll['id']}"
    assert coll["name"] == args["name"]
    assert coll["description"] == args["description"]
    assert coll["creatorAccountId"] == A
    assert coll["creatorDisplayName"] == "Creator A"
    assert coll["queryLogStatus"] == "DISABLED"
    # the creator is a member but has not joined: INVITED, no membership yet (spec §1.3, §9.2)
    assert coll["memberStatus"] == "INVITED"
    assert "membershipId" not in coll
    assert "membershipArn" not in coll
    # defaults (spec §1.3): jobLogStatus DISABLED, analyticsEngine SPARK
    assert coll.get("jobLogStatus", "DISABLED") == "DISABLED"
    assert coll["analyticsEngine"] == "SPARK"
    assert_recent(coll["createTime"])
    assert coll["updateTime"] >= coll["createTime"]


def test_create_collaboration_echoes_optional_members(client):
    a = client("cleanrooms", account=A)
    encryption = {
        "allowCleartext": True,
        "allowDuplicates": False,
        "allowJoinsOnColumnsWithDifferentNames": True,
        "preserveNulls": False,
    }
    coll = create_collaboration(
        a,
        dataEncryptionMetadata=encryption,
        queryLogStatus="ENABLED",
        jobLogStatus="ENABLED",
        analyticsEngine="SPARK",
        autoApprovedChangeRequestTypes=["ADD_MEMBER"],
        allowedResultRegions=["us-east-1", "eu-west-1"],
        isMetricsEnabled=True,
        creatorMemberAbilities=["CAN_QUERY", "CAN_RUN_JOB", "CAN_RECEIVE_RESULTS"],
        creatorPaymentConfiguration={"queryCompute": {"isResponsible": True}, "jobCompute": {"isResponsible": True}},
    )
    assert coll["dataEncryptionMetadata"] == encryption
    assert coll["queryLogStatus"] == "ENABLED"
    assert coll["jobLogStatus"] == "ENABLED"
    assert coll["analyticsEngine"] == "SPARK"
    # input member autoApprovedChangeRequestTypes is output member autoApprovedChangeTypes
    assert coll["autoApprovedChangeTypes"] == ["ADD_MEMBER"]
    assert sorted(coll["allowedResultRegions"]) == ["eu-west-1", "us-east-1"]
    assert coll["isMetricsEnabled"] is True

    got = call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]
    assert got == coll


def test_create_collaboration_without_description_and_members(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, description=OMIT, members=[])
    assert "description" not in coll
    members = members_by_account(a, coll["id"])
    assert list(members) == [A]


def test_create_collaboration_non_ascii_name_round_trips(client):
    a = client("cleanrooms", account=A)
    name = "Café ünïcode 数据 — tab\there"
    coll = create_collaboration(a, name=name, creatorDisplayName="Créateur", description="multi\nline\r\ndescription")
    got = call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]
    assert got["name"] == name
    assert got["creatorDisplayName"] == "Créateur"
    assert got["description"] == "multi\nline\r\ndescription"


def test_create_collaboration_name_of_100_chars_is_accepted(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, name="n" * 100, description="d" * 255)
    assert coll["name"] == "n" * 100


def test_get_collaboration_returns_what_create_returned(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    got = call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]
    assert got == coll


def test_create_collaboration_non_numeric_access_key_uses_default_account(client):
    anonymous = client("cleanrooms", access_key="AKIAEMULATOREXAMPLE")
    coll = create_collaboration(anonymous)
    assert coll["creatorAccountId"] == DEFAULT_ACCOUNT
    assert f":{DEFAULT_ACCOUNT}:collaboration/" in coll["arn"]
    # the same account is reachable with its 12-digit key
    as_default = client("cleanrooms", account=DEFAULT_ACCOUNT)
    assert call(as_default, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]["id"] == coll["id"]


def test_create_collaboration_region_comes_from_the_signature(client):
    west = client("cleanrooms", account=A, region="us-west-2")
    coll = create_collaboration(west)
    assert coll["arn"] == f"arn:aws:cleanrooms:us-west-2:{A}:collaboration/{coll['id']}"
    # state is per region (spec §0)
    east = client("cleanrooms", account=A, region="us-east-1")
    assert coll["id"] not in list_collaboration_ids(east)
    assert coll["id"] in list_collaboration_ids(west)
    with pytest.raises(ClientError) as excinfo:
        east.get_collaboration(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


# --------------------------------------------------------------------------------------------
# ListMembers and payment defaults (spec §2.4)
# --------------------------------------------------------------------------------------------


def test_list_members_includes_creator_and_invitees_as_invited(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, members=[member(B, display_name="Bee"), member(C, ["CAN_RECEIVE_RESULTS"])])
    members = members_by_account(a, coll["id"])
    assert set(members) == {A, B, C}
    for account, summary in members.items():
        assert summary["status"] == "INVITED", summary
        assert "membershipId" not in summary and "membershipArn" not in summary
        assert "queryCompute" in summary["paymentConfiguration"]
        assert_recent(summary["createTime"])
    assert members[A]["displayName"] == "Creator A"
    assert sorted(members[A]["abilities"]) == ["CAN_QUERY", "CAN_RECEIVE_RESULTS"]
    assert members[B]["displayName"] == "Bee"
    assert members[B]["abilities"] == []
    assert members[C]["abilities"] == ["CAN_RECEIVE_RESULTS"]
    # nobody was marked as payer: the query runner (A, CAN_QUERY) pays by default
    assert members[A]["paymentConfiguration"]["queryCompute"]["isResponsible"] is True
    assert members[B]["paymentConfiguration"]["queryCompute"]["isResponsible"] is False
    assert members[C]["paymentConfiguration"]["queryCompute"]["isResponsible"] is False


def test_list_members_default_payer_is_the_member_who_can_query(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, creatorMemberAbilities=["CAN_RECEIVE_RESULTS"], members=[member(B, ["CAN_QUERY"])])
    members = members_by_account(a, coll["id"])
    assert members[A]["paymentConfiguration"]["queryCompute"]["isResponsible"] is False
    assert members[B]["paymentConfiguration"]["queryCompute"]["isResponsible"] is True


def test_list_members_echoes_explicit_payment_configuration(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(
        a,
        creatorPaymentConfiguration={"queryCompute": {"isResponsible": False}},
        members=[member(B, [], paymentConfiguration={"queryCompute": {"isResponsible": True}})],
    )
    members = members_by_account(a, coll["id"])
    assert members[A]["paymentConfiguration"]["queryCompute"]["isResponsible"] is False
    assert members[B]["paymentConfiguration"]["queryCompute"]["isResponsible"] is True


def test_create_collaboration_query_runner_not_paying_without_other_payer_is_rejected(client):
    a = client("cleanrooms", account=A)
    with pytest.raises(ClientError) as excinfo:
        a.create_collaboration(**collaboration_args(creatorPaymentConfiguration={"queryCompute": {"isResponsible": False}}))
    assert_error(excinfo, "ValidationException", 400)
    assert list_collaboration_ids(a) == []


def test_list_members_paginator_returns_every_member_once(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, members=[member(x) for x in (B, C, D, E)])
    pages = list(a.get_paginator("list_members").paginate(collaborationIdentifier=coll["id"], PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3
    accounts = [m["accountId"] for page in pages for m in page["memberSummaries"]]
    assert all(len(page["memberSummaries"]) <= 2 for page in pages)
    assert sorted(accounts) == sorted([A, B, C, D, E])
    assert "nextToken" not in pages[-1]


# --------------------------------------------------------------------------------------------
# Cross-account visibility (spec §2.2, §2.3)
# --------------------------------------------------------------------------------------------


def test_list_collaborations_invited_member_sees_collaboration(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)

    invited = list_all(b, "ListCollaborations", "collaborationList", memberStatus="INVITED")
    summary = next(s for s in invited if s["id"] == coll["id"])
    assert summary["memberStatus"] == "INVITED"
    assert summary["creatorAccountId"] == A
    assert summary["creatorDisplayName"] == "Creator A"
    assert summary["name"] == coll["name"]
    assert summary["arn"] == coll["arn"]
    assert "membershipId" not in summary
    assert coll["id"] in list_collaboration_ids(b)
    assert coll["id"] not in list_collaboration_ids(b, memberStatus="ACTIVE")


def test_list_collaborations_member_status_filter_for_creator(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    assert list_collaboration_ids(a) == [coll["id"]]
    assert list_collaboration_ids(a, memberStatus="INVITED") == [coll["id"]]
    assert list_collaboration_ids(a, memberStatus="ACTIVE") == []


def test_list_collaborations_non_member_does_not_see_collaboration(client):
    a, c = client("cleanrooms", account=A), client("cleanrooms", account=C)
    create_collaboration(a)
    response = call(c, "ListCollaborations")
    assert response["collaborationList"] == []
    assert "nextToken" not in response


def test_get_collaboration_invited_member_sees_own_status(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    seen = call(b, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]
    assert seen["memberStatus"] == "INVITED"
    assert seen["creatorAccountId"] == A
    assert seen["arn"] == coll["arn"]
    assert "membershipId" not in seen
    for key in ("name", "description", "createTime", "updateTime", "queryLogStatus"):
        assert seen[key] == coll[key]


def test_list_members_invited_member_can_list(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    assert set(members_by_account(b, coll["id"])) == {A, B}


def test_get_collaboration_non_member_access_denied(client):
    a, c = client("cleanrooms", account=A), client("cleanrooms", account=C)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        c.get_collaboration(collaborationIdentifier=coll["id"])
    response = assert_error(excinfo, "AccessDeniedException", 403)
    assert response.get("reason") == "INSUFFICIENT_PERMISSIONS"


def test_list_members_non_member_access_denied(client):
    a, c = client("cleanrooms", account=A), client("cleanrooms", account=C)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        c.list_members(collaborationIdentifier=coll["id"])
    response = assert_error(excinfo, "AccessDeniedException", 403)
    assert response.get("reason") == "INSUFFICIENT_PERMISSIONS"


# --------------------------------------------------------------------------------------------
# UpdateCollaboration / DeleteCollaboration
# --------------------------------------------------------------------------------------------


def test_update_collaboration_creator_changes_name_and_description(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    time.sleep(0.01)
    updated = call(
        a, "UpdateCollaboration", collaborationIdentifier=coll["id"], name="renamed", description="new description"
    )["collaboration"]
    assert updated["name"] == "renamed"
    assert updated["description"] == "new description"
    assert updated["updateTime"] >= coll["updateTime"]
    for key in ("id", "arn", "createTime", "creatorAccountId", "creatorDisplayName", "memberStatus", "queryLogStatus"):
        assert updated[key] == coll[key], key
    assert call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"] == updated
    # members see the change too
    b = client("cleanrooms", account=B)
    assert call(b, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]["name"] == "renamed"


def test_update_collaboration_only_given_members_change(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    updated = call(a, "UpdateCollaboration", collaborationIdentifier=coll["id"], description="only this")["collaboration"]
    assert updated["name"] == coll["name"]
    assert updated["description"] == "only this"
    updated = call(a, "UpdateCollaboration", collaborationIdentifier=coll["id"], analyticsEngine="CLEAN_ROOMS_SQL")[
        "collaboration"
    ]
    assert updated["analyticsEngine"] == "CLEAN_ROOMS_SQL"
    assert updated["description"] == "only this"


@pytest.mark.parametrize("account", [B, C], ids=["invited-member", "outsider"])
def test_update_collaboration_non_creator_access_denied(client, account):
    a, other = client("cleanrooms", account=A), client("cleanrooms", account=account)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        other.update_collaboration(collaborationIdentifier=coll["id"], name="hijacked")
    assert_error(excinfo, "AccessDeniedException", 403)
    assert call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]["name"] == coll["name"]


@pytest.mark.parametrize("account", [B, C], ids=["invited-member", "outsider"])
def test_delete_collaboration_non_creator_access_denied(client, account):
    a, other = client("cleanrooms", account=A), client("cleanrooms", account=account)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        other.delete_collaboration(collaborationIdentifier=coll["id"])
    assert_error(excinfo, "AccessDeniedException", 403)
    assert call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]["id"] == coll["id"]


def test_delete_collaboration_returns_204_and_hides_it(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll = create_collaboration(a)
    keep = create_collaboration(a)
    response = call(a, "DeleteCollaboration", collaborationIdentifier=coll["id"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert list_collaboration_ids(a) == [keep["id"]]
    assert list_collaboration_ids(b) == [keep["id"]]
    assert list_collaboration_ids(b, memberStatus="INVITED") == [keep["id"]]


def test_deleted_collaborations_leave_pages_and_the_quota(client):
    """Deleted collaborations are left out of every page, for the creator and the invited member
    alike, and free the creator's quota of 10 (the emulator no longer reads them at all)."""
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    kept = []
    for round in range(3):
        doomed = [create_collaboration(a) for _ in range(7)]
        kept.append(create_collaboration(a))
        for c in doomed:
            a.delete_collaboration(collaborationIdentifier=c["id"])
    expected = [c["id"] for c in kept]
    for caller in (a, b):
        pages = []
        token = None
        while True:
            page = caller.list_collaborations(maxResults=1, **({"nextToken": token} if token else {}))
            pages.append([c["id"] for c in page["collaborationList"]])
            token = page.get("nextToken")
            if not token:
                break
        assert pages == [[i] for i in expected]
    for _ in range(7):
        create_collaboration(a)  # 3 live + 7 = the quota
    with pytest.raises(ClientError) as excinfo:
        create_collaboration(a)
    assert_error(excinfo, "ServiceQuotaExceededException", 402)


@pytest.mark.parametrize("account", [A, B], ids=["creator", "invited-member"])
def test_get_collaboration_deleted_not_found(client, account):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    a.delete_collaboration(collaborationIdentifier=coll["id"])
    with pytest.raises(ClientError) as excinfo:
        client("cleanrooms", account=account).get_collaboration(collaborationIdentifier=coll["id"])
    response = assert_error(excinfo, "ResourceNotFoundException", 404, coll["id"])
    # botocore puts the modeled members of the error shape at the top level of e.response
    assert response["resourceType"] == "COLLABORATION"
    assert response["resourceId"] == coll["id"]
    assert response["message"] == response["Error"]["Message"]
    assert "resourceType" not in response["Error"]


def test_list_members_deleted_collaboration_not_found(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    a.delete_collaboration(collaborationIdentifier=coll["id"])
    with pytest.raises(ClientError) as excinfo:
        a.list_members(collaborationIdentifier=coll["id"])
    response = assert_error(excinfo, "ResourceNotFoundException", 404, coll["id"])
    assert response["resourceType"] == "COLLABORATION"
    assert response["resourceId"] == coll["id"]


def test_get_collaboration_unknown_id_not_found(client):
    unknown = random_id()
    with pytest.raises(ClientError) as excinfo:
        client("cleanrooms", account=A).get_collaboration(collaborationIdentifier=unknown)
    response = assert_error(excinfo, "ResourceNotFoundException", 404, unknown)
    assert response["resourceType"] == "COLLABORATION"
    assert response["resourceId"] == unknown


def test_list_members_unknown_collaboration_not_found(client):
    unknown = random_id()
    with pytest.raises(ClientError) as excinfo:
        client("cleanrooms", account=C).list_members(collaborationIdentifier=unknown)
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert (response["resourceType"], response["resourceId"]) == ("COLLABORATION", unknown)


def test_get_collaboration_not_found_is_catchable_as_modeled_exception(client):
    a = client("cleanrooms", account=A)
    with pytest.raises(a.exceptions.ResourceNotFoundException):
        a.get_collaboration(collaborationIdentifier=random_id())


# --------------------------------------------------------------------------------------------
# Server-side validation (parameter_validation=False so botocore sends what it is given)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides, field, rule",
    [
        ({"name": "x" * 101}, "name", "length"),
        ({"name": "   "}, "name", "pattern"),
        ({"name": ""}, "name", None),
        ({"name": OMIT}, "name", "required"),
        ({"description": "d" * 256}, "description", "length"),
        ({"description": "  \t "}, "description", "pattern"),
        ({"creatorDisplayName": "y" * 101}, "creatorDisplayName", "length"),
        ({"queryLogStatus": "MAYBE"}, "queryLogStatus", "enum"),
        ({"queryLogStatus": "enabled"}, "queryLogStatus", "enum"),
        ({"queryLogStatus": OMIT}, "queryLogStatus", "required"),
        ({"jobLogStatus": "SOMETIMES"}, "jobLogStatus", "enum"),
        ({"analyticsEngine": "PRESTO"}, "analyticsEngine", "enum"),
        ({"creatorMemberAbilities": ["CAN_FLY"]}, "creatorMemberAbilities", "enum"),
        ({"members": [member("12345")]}, "accountId", "length"),
        ({"members": [member("22222222222x")]}, "accountId", "pattern"),
        ({"members": [member(B, display_name=" ")]}, "displayName", "pattern"),
    ],
    ids=[
        "name-101-chars",
        "name-whitespace-only",
        "name-empty",
        "name-missing",
        "description-256-chars",
        "description-whitespace-only",
        "creator-display-name-101-chars",
        "query-log-status-maybe",
        "query-log-status-lower-case",
        "query-log-status-missing",
        "job-log-status-bad",
        "analytics-engine-bad",
        "creator-ability-bad",
        "member-account-too-short",
        "member-account-not-digits",
        "member-display-name-blank",
    ],
)
def test_create_collaboration_invalid_input_rejected(client, overrides, field, rule):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.create_collaboration(**collaboration_args(**overrides))
    assert_field_error(excinfo, field, rule)
    assert list_collaboration_ids(client("cleanrooms", account=A)) == [], "nothing may be written on a validation error"


def test_create_collaboration_creator_listed_as_member_rejected(client):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.create_collaboration(**collaboration_args(members=[member(B), member(A)]))
    assert_error(excinfo, "ValidationException", 400, A)
    assert list_collaboration_ids(a) == []


def test_create_collaboration_duplicate_member_accounts_rejected(client):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.create_collaboration(**collaboration_args(members=[member(B), member(C), member(B, display_name="again")]))
    assert_error(excinfo, "ValidationException", 400, B)
    assert list_collaboration_ids(a) == []


@pytest.mark.parametrize(
    "identifier",
    ["not-a-uuid", "0" * 35, "0" * 37, "ABCDEF01-2345-6789-ABCD-EF0123456789", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"],
    ids=["short", "35-chars", "37-chars", "upper-case", "not-hex"],
)
def test_get_collaboration_malformed_id_rejected(client, identifier):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.get_collaboration(collaborationIdentifier=identifier)
    assert_field_error(excinfo, "collaborationIdentifier")


@pytest.mark.parametrize("operation", ["list_members", "update_collaboration", "delete_collaboration"])
def test_collaboration_operations_malformed_id_rejected(client, operation):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        getattr(a, operation)(collaborationIdentifier="bad-id")
    assert_field_error(excinfo, "collaborationIdentifier")


def test_update_collaboration_invalid_name_rejected(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        client("cleanrooms", account=A, validate=False).update_collaboration(
            collaborationIdentifier=coll["id"], name="z" * 101
        )
    assert_field_error(excinfo, "name", "length")
    assert call(a, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]["name"] == coll["name"]


@pytest.mark.parametrize("max_results, rule", [(0, "min_value"), (101, "max_value"), (-1, "min_value")])
def test_list_collaborations_max_results_out_of_range_rejected(client, max_results, rule):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.list_collaborations(maxResults=max_results)
    assert_field_error(excinfo, "maxResults", rule)


def test_list_collaborations_bad_member_status_filter_rejected(client):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.list_collaborations(memberStatus="LEFT")  # MemberStatus has LEFT, FilterableMemberStatus does not
    assert_field_error(excinfo, "memberStatus", "enum")


@pytest.mark.parametrize("operation", ["list_collaborations", "list_members"])
def test_list_operations_invalid_next_token_rejected(client, operation):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    kwargs = {"collaborationIdentifier": coll["id"]} if operation == "list_members" else {}
    with pytest.raises(ClientError) as excinfo:
        getattr(a, operation)(nextToken="this is not a token the emulator issued!", **kwargs)
    assert_error(excinfo, "ValidationException", 400)


def test_list_members_max_results_out_of_range_rejected(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    with pytest.raises(ClientError) as excinfo:
        client("cleanrooms", account=A, validate=False).list_members(collaborationIdentifier=coll["id"], maxResults=0)
    assert_field_error(excinfo, "maxResults", "min_value")


# --------------------------------------------------------------------------------------------
# Pagination (spec §8)
# --------------------------------------------------------------------------------------------


def test_list_collaborations_paginator_returns_all_exactly_once_in_stable_order(client):
    a = client("cleanrooms", account=A)
    created = [create_collaboration(a, name=f"page-{i}")["id"] for i in range(7)]

    pages = list(a.get_paginator("list_collaborations").paginate(PaginationConfig={"PageSize": 3}))
    assert len(pages) >= 3
    assert all(len(page["collaborationList"]) <= 3 for page in pages)
    assert all("nextToken" in page for page in pages[:-1])
    assert "nextToken" not in pages[-1]
    seen = [s["id"] for page in pages for s in page["collaborationList"]]
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen)) == 7

    # the order is stable: again page by page, and in one page
    again = [s["id"] for page in a.get_paginator("list_collaborations").paginate(PaginationConfig={"PageSize": 3})
             for s in page["collaborationList"]]
    assert again == seen
    single = call(a, "ListCollaborations", maxResults=100)
    assert [s["id"] for s in single["collaborationList"]] == seen
    assert "nextToken" not in single
    # creation order or newest first
    assert seen in (created, created[::-1])


def test_list_collaborations_manual_pagination_with_max_results(client):
    a = client("cleanrooms", account=A)
    created = {create_collaboration(a)["id"] for _ in range(5)}
    first = call(a, "ListCollaborations", maxResults=2)
    assert len(first["collaborationList"]) == 2
    token = first["nextToken"]
    assert isinstance(token, str) and token
    second = call(a, "ListCollaborations", maxResults=2, nextToken=token)
    third = call(a, "ListCollaborations", maxResults=2, nextToken=second["nextToken"])
    ids = [s["id"] for r in (first, second, third) for s in r["collaborationList"]]
    assert set(ids) == created and len(ids) == 5
    assert "nextToken" not in third
    # a token can be replayed and gives the same page
    assert call(a, "ListCollaborations", maxResults=2, nextToken=token)["collaborationList"] == second["collaborationList"]


def test_list_collaborations_paginator_with_member_status_filter(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    ids = {create_collaboration(a)["id"] for _ in range(4)}
    create_collaboration(a, members=[member(C)])  # B is not in this one
    assert set(list_collaboration_ids(b, memberStatus="INVITED", page_size=1)) == ids
