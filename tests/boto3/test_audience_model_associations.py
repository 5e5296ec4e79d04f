"""Configured audience model associations: a member links a Clean Rooms ML configured audience
model to its membership; every active member sees the collaboration's associations. Clean Rooms
ML itself is not emulated: only the model ARN's form and region are checked.

Spec: shared/spec/cleanrooms.md §1.2 (ARN table), §2.3 (DeleteMembership SUBRESOURCES_EXIST),
Appendix A (operations), quota "Configured audience model associations per membership".
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers import (
    A,
    B,
    C,
    assert_error,
    assert_field_error,
    call,
    joined_collaboration,
    list_all,
    random_id,
)

pytestmark = pytest.mark.usefixtures("reset")


def model_arn(name: str = "audience-1", account: str = B, region: str = "us-east-1") -> str:
    return f"arn:aws:cleanrooms-ml:{region}:{account}:configured-audience-model/{name}"


def create(client, membership_id: str, **overrides) -> dict:
    args = {
        "membershipIdentifier": membership_id,
        "configuredAudienceModelArn": model_arn(),
        "configuredAudienceModelAssociationName": "lookalikes",
        "manageResourcePolicies": True,
        "description": "seed audience",
    }
    args.update(overrides)
    return call(client, "CreateConfiguredAudienceModelAssociation", **args)["configuredAudienceModelAssociation"]


@pytest.fixture
def setup(client):
    a, b = client("cleanrooms", account=A), client("cleanrooms", account=B)
    coll, ma, mb = joined_collaboration(a, b)
    return {"a": a, "b": b, "c": client("cleanrooms", account=C), "coll": coll, "ma": ma, "mb": mb}


def test_create_get_update_list_delete(setup):
    b, mb, coll = setup["b"], setup["mb"], setup["coll"]
    created = create(b, mb["id"], tags={"team": "ads"})
    assert created["arn"] == (
        f"arn:aws:cleanrooms:us-east-1:{B}:membership/{mb['id']}/configuredaudiencemodelassociation/{created['id']}"
    )
    assert created["membershipId"] == mb["id"] and created["membershipArn"] == mb["arn"]
    assert created["collaborationId"] == coll["id"] and created["collaborationArn"] == coll["arn"]
    assert created["configuredAudienceModelArn"] == model_arn()
    assert created["name"] == "lookalikes" and created["manageResourcePolicies"] is True
    assert created["description"] == "seed audience"
    assert call(b, "ListTagsForResource", resourceArn=created["arn"])["tags"] == {"team": "ads"}

    got = call(
        b,
        "GetConfiguredAudienceModelAssociation",
        membershipIdentifier=mb["id"],
        configuredAudienceModelAssociationIdentifier=created["id"],
    )["configuredAudienceModelAssociation"]
    assert got == created

    updated = call(
        b,
        "UpdateConfiguredAudienceModelAssociation",
        membershipIdentifier=mb["id"],
        configuredAudienceModelAssociationIdentifier=created["id"],
        name="lookalikes-v2",
        description="second seed",
    )["configuredAudienceModelAssociation"]
    assert updated["name"] == "lookalikes-v2" and updated["description"] == "second seed"
    assert updated["configuredAudienceModelArn"] == created["configuredAudienceModelArn"]
    assert updated["updateTime"] >= created["updateTime"]

    summaries = list_all(
        b,
        "ListConfiguredAudienceModelAssociations",
        "configuredAudienceModelAssociationSummaries",
        membershipIdentifier=mb["id"],
    )
    assert [s["id"] for s in summaries] == [created["id"]]
    assert summaries[0]["name"] == "lookalikes-v2"

    call(
        b,
        "DeleteConfiguredAudienceModelAssociation",
        membershipIdentifier=mb["id"],
        configuredAudienceModelAssociationIdentifier=created["id"],
    )
    with pytest.raises(ClientError) as e:
        call(
            b,
            "GetConfiguredAudienceModelAssociation",
            membershipIdentifier=mb["id"],
            configuredAudienceModelAssociationIdentifier=created["id"],
        )
    assert assert_error(e, "ResourceNotFoundException", 404, created["id"])["resourceId"] == created["id"]
    assert list_all(
        b, "ListConfiguredAudienceModelAssociations", "configuredAudienceModelAssociationSummaries", membershipIdentifier=mb["id"]
    ) == []


def test_collaboration_views_for_every_active_member(setup):
    a, b, c, coll, ma, mb = setup["a"], setup["b"], setup["c"], setup["coll"], setup["ma"], setup["mb"]
    mine = create(b, mb["id"])
    theirs = create(a, ma["id"], configuredAudienceModelArn=model_arn("other", A), configuredAudienceModelAssociationName="a-model")
    seen = call(
        a,
        "GetCollaborationConfiguredAudienceModelAssociation",
        collaborationIdentifier=coll["id"],
        configuredAudienceModelAssociationIdentifier=mine["id"],
    )["collaborationConfiguredAudienceModelAssociation"]
    assert seen["creatorAccountId"] == B
    assert seen["configuredAudienceModelArn"] == mine["configuredAudienceModelArn"]
    assert seen["arn"] == mine["arn"] and seen["collaborationId"] == coll["id"]
    listed = list_all(
        b,
        "ListCollaborationConfiguredAudienceModelAssociations",
        "collaborationConfiguredAudienceModelAssociationSummaries",
        page_size=1,
        collaborationIdentifier=coll["id"],
    )
    assert [(s["id"], s["creatorAccountId"]) for s in listed] == [(mine["id"], B), (theirs["id"], A)]

    # the other member's association is not reachable through one's own membership
    with pytest.raises(ClientError) as e:
        call(
            a,
            "GetConfiguredAudienceModelAssociation",
            membershipIdentifier=ma["id"],
            configuredAudienceModelAssociationIdentifier=mine["id"],
        )
    assert_error(e, "ResourceNotFoundException", 404)
    # outsiders: another account's membership is not found, the collaboration is denied
    with pytest.raises(ClientError) as e:
        call(c, "ListConfiguredAudienceModelAssociations", membershipIdentifier=mb["id"])
    assert_error(e, "ResourceNotFoundException", 404, mb["id"])
    with pytest.raises(ClientError) as e:
        call(
            c,
            "UpdateConfiguredAudienceModelAssociation",
            membershipIdentifier=mb["id"],
            configuredAudienceModelAssociationIdentifier=mine["id"],
            name="stolen",
        )
    assert_error(e, "ResourceNotFoundException", 404)
    for op, extra in (
        ("ListCollaborationConfiguredAudienceModelAssociations", {}),
        ("GetCollaborationConfiguredAudienceModelAssociation", {"configuredAudienceModelAssociationIdentifier": mine["id"]}),
    ):
        with pytest.raises(ClientError) as e:
            call(c, op, collaborationIdentifier=coll["id"], **extra)
        assert_error(e, "AccessDeniedException", 403, C)
    with pytest.raises(ClientError) as e:
        call(
            a,
            "GetCollaborationConfiguredAudienceModelAssociation",
            collaborationIdentifier=coll["id"],
            configuredAudienceModelAssociationIdentifier=(missing := random_id()),
        )
    assert assert_error(e, "ResourceNotFoundException", 404, missing)["resourceType"] == "COLLABORATION"


def test_bad_model_arns_duplicates_and_quota(setup, emulator):
    b, mb = setup["b"], setup["mb"]
    raw = emulator.client("cleanrooms", account=B, validate=False)
    for arn in (
        "arn:aws:cleanrooms:us-east-1:222222222222:configured-audience-model/x",
        "arn:aws:cleanrooms-ml:us-east-1:2222:configured-audience-model/x",
        "arn:aws:cleanrooms-ml:us-east-1:222222222222:training-dataset/x",
        "not-an-arn-at-all-really",
    ):
        with pytest.raises(ClientError) as e:
            raw.create_configured_audience_model_association(
                membershipIdentifier=mb["id"],
                configuredAudienceModelArn=arn,
                configuredAudienceModelAssociationName="x",
                manageResourcePolicies=False,
            )
        assert_field_error(e, "configuredAudienceModelArn")
    with pytest.raises(ClientError) as e:
        create(b, mb["id"], configuredAudienceModelArn=model_arn(region="eu-west-1"))
    assert_error(e, "ValidationException", 400, "eu-west-1", "us-east-1")
    with pytest.raises(ClientError) as e:
        raw.create_configured_audience_model_association(
            membershipIdentifier=mb["id"], configuredAudienceModelArn=model_arn(), configuredAudienceModelAssociationName="x"
        )
    assert_field_error(e, "manageResourcePolicies", "required")
    with pytest.raises(ClientError) as e:
        raw.update_configured_audience_model_association(
            membershipIdentifier=mb["id"], configuredAudienceModelAssociationIdentifier=random_id(), name=""
        )
    assert_field_error(e, "name", "length")
    assert list_all(
        b, "ListConfiguredAudienceModelAssociations", "configuredAudienceModelAssociationSummaries", membershipIdentifier=mb["id"]
    ) == []

    create(b, mb["id"])
    with pytest.raises(ClientError) as e:
        create(b, mb["id"])
    assert assert_error(e, "ConflictException", 409, model_arn())["reason"] == "ALREADY_EXISTS"
    for i in range(4):
        create(b, mb["id"], configuredAudienceModelArn=model_arn(f"m{i}"))
    with pytest.raises(ClientError) as e:
        create(b, mb["id"], configuredAudienceModelArn=model_arn("m9"))
    assert assert_error(e, "ServiceQuotaExceededException", 402)["quotaValue"] == 5


def test_membership_with_associations_cannot_be_deleted(setup):
    b, mb = setup["b"], setup["mb"]
    created = create(b, mb["id"])
    with pytest.raises(ClientError) as e:
        call(b, "DeleteMembership", membershipIdentifier=mb["id"])
    response = assert_error(e, "ConflictException", 409, "configured audience model associations")
    assert response["reason"] == "SUBRESOURCES_EXIST"
    call(
        b,
        "DeleteConfiguredAudienceModelAssociation",
        membershipIdentifier=mb["id"],
        configuredAudienceModelAssociationIdentifier=created["id"],
    )
    call(b, "DeleteMembership", membershipIdentifier=mb["id"])


def test_associations_leave_with_their_member_and_collaboration(setup):
    a, b, coll, ma, mb = setup["a"], setup["b"], setup["coll"], setup["ma"], setup["mb"]
    removed = create(b, mb["id"])
    kept = create(a, ma["id"], configuredAudienceModelArn=model_arn("a-model", A))
    call(a, "DeleteMember", collaborationIdentifier=coll["id"], accountId=B)
    listed = list_all(
        a,
        "ListCollaborationConfiguredAudienceModelAssociations",
        "collaborationConfiguredAudienceModelAssociationSummaries",
        collaborationIdentifier=coll["id"],
    )
    assert [s["id"] for s in listed] == [kept["id"]]
    with pytest.raises(ClientError) as e:
        call(b, "ListTagsForResource", resourceArn=removed["arn"])
    assert_error(e, "ResourceNotFoundException", 404)

    call(a, "DeleteCollaboration", collaborationIdentifier=coll["id"])
    assert list_all(
        a, "ListConfiguredAudienceModelAssociations", "configuredAudienceModelAssociationSummaries", membershipIdentifier=ma["id"]
    ) == []
