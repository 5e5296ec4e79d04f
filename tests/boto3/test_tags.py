"""TagResource / UntagResource / ListTagsForResource on collaborations (spec §1.2, §2.3, §2.4)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers import A, B, C, assert_error, assert_field_error, call, create_collaboration, random_id

pytestmark = pytest.mark.usefixtures("reset")

RESOURCE_TYPES = {"CONFIGURED_TABLE", "COLLABORATION", "MEMBERSHIP", "CONFIGURED_TABLE_ASSOCIATION"}


def tags_of(client, arn: str) -> dict:
    return call(client, "ListTagsForResource", resourceArn=arn)["tags"]


def test_list_tags_for_resource_returns_tags_given_at_create(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, tags={"team": "data", "env": "test", "empty": ""})
    assert tags_of(a, coll["arn"]) == {"team": "data", "env": "test", "empty": ""}


def test_list_tags_for_resource_without_tags_is_empty_map(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    response = call(a, "ListTagsForResource", resourceArn=coll["arn"])
    assert response["tags"] == {}


def test_tag_resource_merges_and_overwrites(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, tags={"team": "data", "env": "test"})
    response = call(a, "TagResource", resourceArn=coll["arn"], tags={"env": "prod", "owner": "alice"})
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert tags_of(a, coll["arn"]) == {"team": "data", "env": "prod", "owner": "alice"}


def test_tag_resource_keys_and_values_with_special_characters(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a)
    tags = {"aws-cost:center/x y": "a=b&c", "ключ": "значение", "k+plus": "v%20literal"}
    call(a, "TagResource", resourceArn=coll["arn"], tags=tags)
    assert tags_of(a, coll["arn"]) == tags
    call(a, "UntagResource", resourceArn=coll["arn"], tagKeys=["aws-cost:center/x y", "k+plus"])
    assert tags_of(a, coll["arn"]) == {"ключ": "значение"}


def test_untag_resource_removes_several_keys_and_ignores_unknown(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, tags={"a": "1", "b": "2", "c": "3", "d": "4"})
    # botocore sends tagKeys as repeated query parameters: ?tagKeys=a&tagKeys=c&tagKeys=zzz
    response = call(a, "UntagResource", resourceArn=coll["arn"], tagKeys=["a", "c", "not-there"])
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert tags_of(a, coll["arn"]) == {"b": "2", "d": "4"}
    call(a, "UntagResource", resourceArn=coll["arn"], tagKeys=["b", "d"])
    assert tags_of(a, coll["arn"]) == {}


def test_tag_resource_tags_do_not_leak_between_collaborations(client):
    a = client("cleanrooms", account=A)
    first = create_collaboration(a, tags={"which": "first"})
    second = create_collaboration(a)
    call(a, "TagResource", resourceArn=second["arn"], tags={"which": "second"})
    assert tags_of(a, first["arn"]) == {"which": "first"}
    assert tags_of(a, second["arn"]) == {"which": "second"}


def test_list_tags_for_resource_unknown_collaboration_not_found(client):
    a = client("cleanrooms", account=A)
    unknown = random_id()
    arn = f"arn:aws:cleanrooms:us-east-1:{A}:collaboration/{unknown}"
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=arn)
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] in RESOURCE_TYPES
    assert response["resourceId"]


@pytest.mark.parametrize("operation", ["tag_resource", "untag_resource"])
def test_tag_operations_unknown_collaboration_not_found(client, operation):
    a = client("cleanrooms", account=A)
    arn = f"arn:aws:cleanrooms:us-east-1:{A}:collaboration/{random_id()}"
    kwargs = {"tags": {"k": "v"}} if operation == "tag_resource" else {"tagKeys": ["k"]}
    with pytest.raises(ClientError) as excinfo:
        getattr(a, operation)(resourceArn=arn, **kwargs)
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_list_tags_for_resource_deleted_collaboration_not_found(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, tags={"k": "v"})
    a.delete_collaboration(collaborationIdentifier=coll["id"])
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=coll["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    "arn",
    [
        "not-an-arn",
        "arn:aws:s3:::some-bucket",
        "arn:aws:cleanrooms:us-east-1:12345:collaboration/x",
        "arn:aws:cleanrooms:us-east-1:111111111111:collaboration/bad id",
    ],
    ids=["not-an-arn", "other-service", "short-account", "space-in-id"],
)
def test_list_tags_for_resource_malformed_arn_rejected(client, arn):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.list_tags_for_resource(resourceArn=arn)
    assert_field_error(excinfo, "resourceArn", "pattern")


def test_tag_resource_malformed_arn_rejected(client):
    a = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        a.tag_resource(resourceArn="not-an-arn", tags={"k": "v"})
    assert_field_error(excinfo, "resourceArn", "pattern")


def test_tag_resource_value_too_long_rejected(client):
    a = client("cleanrooms", account=A)
    coll = create_collaboration(a, tags={"keep": "me"})
    with pytest.raises(ClientError) as excinfo:
        client("cleanrooms", account=A, validate=False).tag_resource(resourceArn=coll["arn"], tags={"k": "v" * 257})
    assert_error(excinfo, "ValidationException", 400)
    assert tags_of(a, coll["arn"]) == {"keep": "me"}


def test_create_collaboration_with_too_many_tags_rejected(client):
    a = client("cleanrooms", account=A, validate=False)
    tags = {f"k{i}": "v" for i in range(201)}
    with pytest.raises(ClientError) as excinfo:
        a.create_collaboration(
            name="too-many-tags", members=[], creatorMemberAbilities=[], creatorDisplayName="A",
            queryLogStatus="DISABLED", tags=tags,
        )
    assert_field_error(excinfo, "tags")


@pytest.mark.parametrize("account", [B, C], ids=["invited-member", "outsider"])
def test_list_tags_for_resource_non_owner_not_found(client, account):
    a, other = client("cleanrooms", account=A), client("cleanrooms", account=account)
    coll = create_collaboration(a, tags={"k": "v"})
    with pytest.raises(ClientError) as excinfo:
        other.list_tags_for_resource(resourceArn=coll["arn"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


@pytest.mark.parametrize("account", [B, C], ids=["invited-member", "outsider"])
def test_tag_resource_non_owner_not_found_and_tags_unchanged(client, account):
    a, other = client("cleanrooms", account=A), client("cleanrooms", account=account)
    coll = create_collaboration(a, tags={"k": "v"})
    with pytest.raises(ClientError) as excinfo:
        other.tag_resource(resourceArn=coll["arn"], tags={"k": "stolen", "new": "x"})
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        other.untag_resource(resourceArn=coll["arn"], tagKeys=["k"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert tags_of(a, coll["arn"]) == {"k": "v"}
