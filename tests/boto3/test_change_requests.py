"""Collaboration change requests: proposal, the members' vote, cancel and commit, and what a
committed change does to the collaboration (new members, abilities, payer candidates,
auto-approved change types).

Spec: shared/spec/cleanrooms.md §2.3 (Create/Update CollaborationChangeRequest row), §2.4
(updates only through change requests), §3.6 (change request status machine).
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
    create_membership,
    joined_collaboration,
    list_all,
    list_collaboration_ids,
    member,
    members_by_account,
    random_id,
)

pytestmark = pytest.mark.usefixtures("reset")


def add_member_change(account: str, abilities=(), **extra) -> dict:
    return {"specificationType": "MEMBER", "specification": {"member": member(account, abilities, **extra)}}


def edit_member_change(account: str, abilities=(), **extra) -> dict:
    spec = {"accountId": account, "memberAbilities": list(abilities)}
    spec.update(extra)
    return {"specificationType": "MEMBER", "specification": {"member": spec}}


def request_changes(client, collaboration_id: str, *changes) -> dict:
    return call(
        client, "CreateCollaborationChangeRequest", collaborationIdentifier=collaboration_id, changes=list(changes)
    )["collaborationChangeRequest"]


def act(client, collaboration_id: str, request_id: str, action: str) -> dict:
    return call(
        client,
        "UpdateCollaborationChangeRequest",
        collaborationIdentifier=collaboration_id,
        changeRequestIdentifier=request_id,
        action=action,
    )["collaborationChangeRequest"]


def get_request(client, collaboration_id: str, request_id: str) -> dict:
    return call(
        client, "GetCollaborationChangeRequest", collaborationIdentifier=collaboration_id, changeRequestIdentifier=request_id
    )["collaborationChangeRequest"]


def list_requests(client, collaboration_id: str, **kwargs) -> list[dict]:
    return list_all(
        client,
        "ListCollaborationChangeRequests",
        "collaborationChangeRequestSummaries",
        collaborationIdentifier=collaboration_id,
        **kwargs,
    )


def test_auto_approved_add_member_commits_and_the_new_member_joins(client):
    a, c = client("cleanrooms", account=A), client("cleanrooms", account=C)
    coll, _, _ = joined_collaboration(a, client("cleanrooms", account=B), autoApprovedChangeRequestTypes=["ADD_MEMBER"])
    assert C not in list_collaboration_ids(c)

    payment = {"queryCompute": {"isResponsible": False}}
    req = request_changes(a, coll["id"], add_member_change(C, ["CAN_RECEIVE_RESULTS"], paymentConfiguration=payment))
    assert re.fullmatch(UUID_RE, req["id"])
    assert req["collaborationId"] == coll["id"]
    assert req["status"] == "APPROVED"
    assert req["isAutoApproved"] is True
    assert req["changes"][0]["types"] == ["ADD_MEMBER"]
    assert req["changes"][0]["specification"]["member"]["accountId"] == C
    # nothing changes before the commit
    assert C not in members_by_account(a, coll["id"])

    done = act(a, coll["id"], req["id"], "COMMIT")
    assert done["status"] == "COMMITTED"
    assert done["updateTime"] >= req["updateTime"]
    members = members_by_account(a, coll["id"])
    assert members[C]["status"] == "INVITED"
    assert members[C]["abilities"] == ["CAN_RECEIVE_RESULTS"]
    assert members[C]["displayName"] == f"Member {C}"
    assert members[C]["paymentConfiguration"] == payment

    # the new member's account sees the collaboration and joins it
    assert coll["id"] in list_collaboration_ids(c)
    mc = create_membership(c, coll["id"])
    assert mc["status"] == "ACTIVE"
    assert mc["memberAbilities"] == ["CAN_RECEIVE_RESULTS"]
    assert members_by_account(a, coll["id"])[C]["status"] == "ACTIVE"


def test_every_active_member_votes_then_the_requester_commits(client):
    a, b, c = client("cleanrooms", account=A), client("cleanrooms", account=B), client("cleanrooms", account=C)
    coll, _, _ = joined_collaboration(a, b)
    req = request_changes(a, coll["id"], add_member_change(C))
    assert req["status"] == "PENDING"
    assert req["isAutoApproved"] is False
    assert req["approvals"] == {A: {"status": "APPROVED"}, B: {"status": "PENDING"}}

    # wrong actor → AccessDeniedException; wrong status → ConflictException
    with pytest.raises(ClientError) as e:
        act(b, coll["id"], req["id"], "COMMIT")
    assert_error(e, "AccessDeniedException", 403, req["id"])
    with pytest.raises(ClientError) as e:
        act(b, coll["id"], req["id"], "CANCEL")
    assert_error(e, "AccessDeniedException", 403, A)
    with pytest.raises(ClientError) as e:
        act(a, coll["id"], req["id"], "APPROVE")
    assert_error(e, "AccessDeniedException", 403, "cannot APPROVE")
    with pytest.raises(ClientError) as e:
        act(a, coll["id"], req["id"], "COMMIT")
    assert_error(e, "ConflictException", 409, "PENDING", "COMMIT")
    assert get_request(b, coll["id"], req["id"])["status"] == "PENDING"

    approved = act(b, coll["id"], req["id"], "APPROVE")
    assert approved["status"] == "APPROVED"
    assert approved["approvals"][B] == {"status": "APPROVED"}
    with pytest.raises(ClientError) as e:
        act(b, coll["id"], req["id"], "DENY")
    assert_error(e, "ConflictException", 409, "APPROVED")
    assert C not in list_collaboration_ids(c)

    assert act(a, coll["id"], req["id"], "COMMIT")["status"] == "COMMITTED"
    assert coll["id"] in list_collaboration_ids(c)
    for action in ("CANCEL", "COMMIT"):
        with pytest.raises(ClientError) as e:
            act(a, coll["id"], req["id"], action)
        assert_error(e, "ConflictException", 409, "COMMITTED")
    assert get_request(b, coll["id"], req["id"])["status"] == "COMMITTED"


def test_a_denial_denies_and_a_cancel_cancels_without_changing_members(client):
    a, b, c = client("cleanrooms", account=A), client("cleanrooms", account=B), client("cleanrooms", account=C)
    coll, _, _ = joined_collaboration(a, b)
    denied = request_changes(a, coll["id"], add_member_change(C))
    assert act(b, coll["id"], denied["id"], "DENY")["status"] == "DENIED"
    with pytest.raises(ClientError) as e:
        act(a, coll["id"], denied["id"], "COMMIT")
    assert_error(e, "ConflictException", 409, "DENIED")
    with pytest.raises(ClientError) as e:
        act(a, coll["id"], denied["id"], "CANCEL")
    assert_error(e, "ConflictException", 409, "DENIED")

    cancelled = request_changes(a, coll["id"], add_member_change(C))
    assert act(a, coll["id"], cancelled["id"], "CANCEL")["status"] == "CANCELLED"
    with pytest.raises(ClientError) as e:
        act(b, coll["id"], cancelled["id"], "APPROVE")
    assert_error(e, "ConflictException", 409, "CANCELLED")
    assert C not in members_by_account(a, coll["id"])
    assert coll["id"] not in list_collaboration_ids(c)


def test_ability_and_payer_changes_take_effect_on_commit(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, _, _ = joined_collaboration(
        a,
        b,
        autoApprovedChangeRequestTypes=["GRANT_RECEIVE_RESULTS_ABILITY", "GRANT_EXPORT_QUERY_ANALYSIS_LOG_ABILITY"],
    )
    grant = request_changes(a, coll["id"], edit_member_change(B, ["CAN_RECEIVE_RESULTS", "CAN_EXPORT_QUERY_ANALYSIS_LOG"]))
    assert grant["status"] == "APPROVED" and grant["isAutoApproved"] is True
    assert grant["changes"][0]["types"] == ["GRANT_RECEIVE_RESULTS_ABILITY", "GRANT_EXPORT_QUERY_ANALYSIS_LOG_ABILITY"]
    act(a, coll["id"], grant["id"], "COMMIT")
    assert sorted(members_by_account(a, coll["id"])[B]["abilities"]) == ["CAN_EXPORT_QUERY_ANALYSIS_LOG", "CAN_RECEIVE_RESULTS"]

    payer = request_changes(
        b,
        coll["id"],
        edit_member_change(
            B,
            ["CAN_EXPORT_QUERY_ANALYSIS_LOG"],
            paymentConfiguration={"queryCompute": {"isResponsible": True}},
        ),
    )
    assert sorted(payer["changes"][0]["types"]) == ["ADD_PAYER_CANDIDATE", "REVOKE_RECEIVE_RESULTS_ABILITY"]
    assert payer["status"] == "PENDING"
    assert payer["approvals"] == {A: {"status": "PENDING"}, B: {"status": "APPROVED"}}
    act(a, coll["id"], payer["id"], "APPROVE")
    act(b, coll["id"], payer["id"], "COMMIT")
    mb = members_by_account(b, coll["id"])[B]
    assert mb["abilities"] == ["CAN_EXPORT_QUERY_ANALYSIS_LOG"]
    assert mb["paymentConfiguration"]["queryCompute"] == {"isResponsible": True}


def test_editing_auto_approved_change_types(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, _, _ = joined_collaboration(a, b)
    change = {
        "specificationType": "COLLABORATION",
        "specification": {"collaboration": {"autoApprovedChangeTypes": ["ADD_MEMBER"]}},
    }
    req = request_changes(a, coll["id"], change)
    assert req["changes"][0]["types"] == ["EDIT_AUTO_APPROVED_CHANGE_TYPES"]
    assert req["status"] == "PENDING"
    act(b, coll["id"], req["id"], "APPROVE")
    act(a, coll["id"], req["id"], "COMMIT")
    got = call(b, "GetCollaboration", collaborationIdentifier=coll["id"])["collaboration"]
    assert got["autoApprovedChangeTypes"] == ["ADD_MEMBER"]
    # from now on adding a member needs no vote
    assert request_changes(b, coll["id"], add_member_change(D))["status"] == "APPROVED"


def test_impossible_changes_are_rejected_and_store_nothing(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, _, _ = joined_collaboration(a, b)
    cases = [
        (add_member_change(C, ["CAN_QUERY"]), "CAN_QUERY"),
        (edit_member_change(B, ["CAN_RUN_JOB"]), "CAN_RUN_JOB"),
        (edit_member_change(B, []), "changes nothing"),
        (edit_member_change(C, []), "displayName"),
        (edit_member_change(A, ["CAN_RECEIVE_RESULTS"]), "CAN_QUERY"),
        (
            {"specificationType": "COLLABORATION", "specification": {"member": member(C)}},
            "specificationType",
        ),
        (
            edit_member_change(A, ["CAN_QUERY", "CAN_RECEIVE_RESULTS"], paymentConfiguration={"queryCompute": {"isResponsible": False}}),
            "query compute",
        ),
    ]
    for change, words in cases:
        with pytest.raises(ClientError) as e:
            request_changes(a, coll["id"], change)
        assert_error(e, "ValidationException", 400, words)
    assert list_requests(a, coll["id"]) == []


def test_bad_input_is_rejected_by_the_server(emulator):
    raw = emulator.client("cleanrooms", account=A, validate=False)
    b = emulator.client("cleanrooms", account=B)
    coll, _, _ = joined_collaboration(emulator.client("cleanrooms", account=A), b)
    with pytest.raises(ClientError) as e:
        raw.create_collaboration_change_request(collaborationIdentifier=coll["id"], changes=[])
    assert_field_error(e, "changes", "length")
    with pytest.raises(ClientError) as e:
        raw.create_collaboration_change_request(
            collaborationIdentifier=coll["id"], changes=[add_member_change("12345")]
        )
    assert_field_error(e, "accountId")
    with pytest.raises(ClientError) as e:
        raw.create_collaboration_change_request(collaborationIdentifier="not-a-uuid", changes=[add_member_change(C)])
    assert_field_error(e, "collaborationIdentifier")
    req = request_changes(emulator.client("cleanrooms", account=A), coll["id"], add_member_change(C))
    with pytest.raises(ClientError) as e:
        raw.update_collaboration_change_request(
            collaborationIdentifier=coll["id"], changeRequestIdentifier=req["id"], action="MERGE"
        )
    assert_field_error(e, "action", "enum")
    with pytest.raises(ClientError) as e:
        raw.list_collaboration_change_requests(collaborationIdentifier=coll["id"], maxResults=0)
    assert_field_error(e, "maxResults")
    assert get_request(b, coll["id"], req["id"])["status"] == "PENDING"
    assert len(list_requests(b, coll["id"])) == 1


def test_outsiders_and_unknown_requests(client):
    a, b, c = client("cleanrooms", account=A), client("cleanrooms", account=B), client("cleanrooms", account=C)
    coll, _, _ = joined_collaboration(a, b)
    req = request_changes(b, coll["id"], add_member_change(D))
    for call_it in (
        lambda: request_changes(c, coll["id"], add_member_change(D)),
        lambda: get_request(c, coll["id"], req["id"]),
        lambda: list_requests(c, coll["id"]),
        lambda: act(c, coll["id"], req["id"], "APPROVE"),
    ):
        with pytest.raises(ClientError) as e:
            call_it()
        assert_error(e, "AccessDeniedException", 403, C)
    unknown = random_id()
    with pytest.raises(ClientError) as e:
        get_request(a, coll["id"], unknown)
    response = assert_error(e, "ResourceNotFoundException", 404, unknown)
    assert response["resourceId"] == unknown
    with pytest.raises(ClientError) as e:
        act(a, random_id(), req["id"], "APPROVE")
    assert_error(e, "ResourceNotFoundException", 404)
    # an invited member that has not joined sees the requests but cannot create one
    coll2, _, _ = joined_collaboration(a, b, members=[member(B), member(C)])
    with pytest.raises(ClientError) as e:
        request_changes(c, coll2["id"], add_member_change(D))
    assert_error(e, "AccessDeniedException", 403, "not an active member")
    assert list_requests(c, coll2["id"]) == []


def test_list_pages_and_filters_by_status(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, _, _ = joined_collaboration(a, b)
    ids = [request_changes(a, coll["id"], add_member_change(acct))["id"] for acct in (C, D)]
    ids.append(request_changes(b, coll["id"], edit_member_change(B, ["CAN_RECEIVE_RESULTS"]))["id"])
    act(a, coll["id"], ids[0], "CANCEL")
    listed = list_requests(b, coll["id"], page_size=1)
    assert [r["id"] for r in listed] == ids
    assert all(r["collaborationId"] == coll["id"] for r in listed)
    first = call(b, "ListCollaborationChangeRequests", collaborationIdentifier=coll["id"], maxResults=2)
    assert len(first["collaborationChangeRequestSummaries"]) == 2 and first["nextToken"]
    assert [r["id"] for r in list_requests(a, coll["id"], status="PENDING")] == ids[1:]
    assert [r["id"] for r in list_requests(a, coll["id"], status="CANCELLED")] == ids[:1]
    with pytest.raises(ClientError) as e:
        call(a, "ListCollaborationChangeRequests", collaborationIdentifier=coll["id"], nextToken="bogus")
    assert_error(e, "ValidationException", 400, "nextToken")
