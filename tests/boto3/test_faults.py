"""Fault injection for users' retry tests (/_emulator/faults): rules that make matching requests
fail as AWS fails — an error of the protocol's own shape, added latency, a dropped connection —
proved through boto3's standard retry mode, which retries what is retryable and gives up as
configured. An injected error changes nothing. Every test clears the rules it set.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from helpers import A, B, call, collaboration_args, create_collaboration, list_collaboration_ids


@pytest.fixture
def faults(emulator):
    """Adds rules through the admin API; every rule is gone after the test."""

    class Rules:
        def add(self, **rule) -> dict:
            status, body, _ = emulator.admin("POST", "/_emulator/faults", rule)
            assert status == 201, body
            return body

        def list(self) -> list[dict]:
            status, body, _ = emulator.admin("GET", "/_emulator/faults")
            assert status == 200
            return body["rules"]

    yield Rules()
    status, body, _ = emulator.admin("DELETE", "/_emulator/faults")
    assert status == 200 and body == {"rules": []}


def retrying(emulator, service: str, max_attempts: int, account: str = A, **config):
    """A client as a user's code makes it: standard retry mode with ``max_attempts`` attempts in
    all (botocore's ``total_max_attempts``: the first try and its retries)."""
    return boto3.session.Session().client(
        service,
        region_name="us-east-1",
        endpoint_url=emulator.url,
        aws_access_key_id=account,
        aws_secret_access_key="emulator-dummy-secret-key",
        config=Config(retries={"mode": "standard", "total_max_attempts": max_attempts}, **config),
    )


def test_standard_retry_mode_retries_injected_throttles_until_it_succeeds(emulator, faults, client):
    coll = create_collaboration(client("cleanrooms", account=A))
    faults.add(service="cleanrooms", operation="GetCollaboration", count=2,
               error={"code": "ThrottlingException"})
    cr = retrying(emulator, "cleanrooms", max_attempts=3)
    got = cr.get_collaboration(collaborationIdentifier=coll["id"])
    assert got["collaboration"]["id"] == coll["id"]
    assert got["ResponseMetadata"]["RetryAttempts"] == 2
    [rule] = faults.list()
    assert rule["injected"] == 2 and rule["remaining"] == 0


def test_standard_retry_mode_gives_up_as_configured(emulator, faults):
    faults.add(service="cleanrooms", operation="ListCollaborations", error={"code": "ThrottlingException"})
    cr = retrying(emulator, "cleanrooms", max_attempts=2)
    with pytest.raises(ClientError) as excinfo:
        cr.list_collaborations()
    error = excinfo.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["ResponseMetadata"]["RetryAttempts"] == 1
    assert "injected" in error["Error"]["Message"]
    assert faults.list()[0]["injected"] == 2


def test_an_injected_error_changes_nothing(emulator, faults, client):
    a = client("cleanrooms", account=A)
    before = list_collaboration_ids(a)
    faults.add(service="cleanrooms", operation="CreateCollaboration", count=1,
               error={"code": "InternalServerException", "message": "try again later"})
    with pytest.raises(ClientError) as excinfo:
        a.create_collaboration(**collaboration_args())
    assert excinfo.value.response["Error"] == {"Code": "InternalServerException", "Message": "try again later"}
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert list_collaboration_ids(a) == before
    create_collaboration(a)  # the rule is used up
    assert len(list_collaboration_ids(a)) == len(before) + 1


def test_json_protocol_errors_have_the_protocols_shape(emulator, faults, client):
    faults.add(service="glue", operation="GetDatabases", count=1,
               error={"code": "InternalServiceException", "message": "glue is down"})
    with pytest.raises(ClientError) as excinfo:
        client("glue", account=A).get_databases()
    assert excinfo.value.response["Error"] == {"Code": "InternalServiceException", "Message": "glue is down"}
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert client("glue", account=A).get_databases()["DatabaseList"] is not None


def test_rules_narrow_by_account(emulator, faults, client):
    faults.add(service="sts", account=B, error={"code": "Throttling", "status": 400})
    assert client("sts", account=A).get_caller_identity()["Account"] == A
    with pytest.raises(ClientError) as excinfo:
        client("sts", account=B).get_caller_identity()
    assert excinfo.value.response["Error"]["Code"] == "Throttling"


def test_s3_slowdown_is_retried_and_a_dropped_connection_is_retried(emulator, faults, client):
    s3 = client("s3", account=A)
    s3.create_bucket(Bucket="faulty")
    s3.put_object(Bucket="faulty", Key="k", Body=b"hello")
    faults.add(service="s3", operation="GetObject", count=1, error={"code": "SlowDown"})
    faults.add(service="s3", operation="GetObject", count=1, dropConnection=True)
    user_s3 = retrying(emulator, "s3", max_attempts=4)
    got = user_s3.get_object(Bucket="faulty", Key="k")
    assert got["Body"].read() == b"hello"
    assert got["ResponseMetadata"]["RetryAttempts"] == 2
    assert [r["injected"] for r in faults.list()] == [1, 1]


def test_s3_errors_are_s3_errors_and_a_drop_without_retries_fails_the_call(emulator, faults, client):
    s3 = client("s3", account=A)
    s3.create_bucket(Bucket="faulty2")
    faults.add(service="s3", operation="PutObject", count=1, error={"code": "SlowDown"})
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket="faulty2", Key="k", Body=b"x")
    assert excinfo.value.response["Error"]["Code"] == "SlowDown"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "Contents" not in s3.list_objects_v2(Bucket="faulty2"), "the throttled put wrote nothing"

    faults.add(service="s3", operation="ListObjectsV2", count=1, dropConnection=True)
    with pytest.raises(ConnectionClosedError):
        s3.list_objects_v2(Bucket="faulty2")


def test_added_latency_reaches_the_clients_read_timeout(emulator, faults):
    faults.add(service="sts", operation="GetCallerIdentity", count=1, latencyMs=3000)
    impatient = retrying(emulator, "sts", max_attempts=1, read_timeout=0.5)
    with pytest.raises(ReadTimeoutError):
        impatient.get_caller_identity()
    assert faults.list()[0]["injected"] == 1


def test_bad_rules_are_refused_with_a_reason(emulator, faults):
    for rule, says in [
        ({"operation": "GetCollaboration"}, "exactly one thing"),
        ({"error": {"code": "MyError"}}, "error.status is required"),
        ({"latencyMs": -1}, "latencyMs"),
        ({"dropConnection": True, "probability": 2}, "probability"),
    ]:
        status, body, _ = emulator.admin("POST", "/_emulator/faults", rule)
        assert status == 400 and says in body["message"], (rule, body)
    status, body, _ = emulator.admin("POST", "/_emulator/faults", raw=b"{not json")
    assert status == 400
    assert faults.list() == []


def test_rules_are_removed_by_id_and_by_reset(emulator, faults):
    rule = faults.add(service="cleanrooms", dropConnection=True, probability=0.5)
    assert rule["id"] and rule["probability"] == 0.5 and rule["action"] == "dropConnection"
    status, body, _ = emulator.admin("DELETE", f"/_emulator/faults/{rule['id']}")
    assert status == 200 and body == {"rules": []}
    status, body, _ = emulator.admin("DELETE", f"/_emulator/faults/{rule['id']}")
    assert status == 404 and rule["id"] in body["message"]

    faults.add(error={"code": "ThrottlingException"})
    emulator.reset()
    assert faults.list() == []


def test_table_services_api_faults_use_its_error_form(emulator, faults):
    import json
    import urllib.error
    import urllib.request

    headers = {"x-onehouse-account-uid": "555555555555", "x-onehouse-project-uid": "p",
               "x-onehouse-api-key": "k", "x-onehouse-api-secret": "s", "Content-Type": "application/json"}

    def submit():
        request = urllib.request.Request(f"{emulator.url}/v1/resource/", method="POST", headers=headers,
                                         data=json.dumps({"statement": "SHOW LAKES"}).encode())
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    faults.add(service="onehouse", operation="SubmitStatement", count=1, error={"code": "ServiceUnavailable"})
    status, got_headers, body = submit()
    assert status == 503 and got_headers["grpc-status"] == "14", (status, body)
    assert "ServiceUnavailable" in body["message"]
    status, _, body = submit()
    assert status == 200 and body["requestId"]


def test_a_fail_analysis_rule_fails_the_next_protected_query_with_the_chosen_error(reset, faults, client):
    from analysis_helpers import build_world, run, start, wait

    world = build_world(client)
    sql = "SELECT c.segment, COUNT(DISTINCT c.user_id) AS n FROM customers c GROUP BY c.segment"
    faults.add(service="cleanrooms", operation="StartProtectedQuery", account=A, count=1,
               failAnalysis={"code": "RESOURCE_NOT_FOUND", "message": "the table went away"})
    failed = wait(world, start(world, sql))
    assert failed["status"] == "FAILED"
    assert (failed["error"]["code"], failed["error"]["message"]) == ("RESOURCE_NOT_FOUND", "the table went away")
    assert faults.list()[0]["injected"] == 1
    run(world, sql)  # the rule is used up: the next one succeeds
