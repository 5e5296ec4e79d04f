"""Analysis logs: a protected query run while query logging is on leaves a log; its runner or
payer with CAN_EXPORT_QUERY_ANALYSIS_LOG exports it to S3 (IN_PROGRESS → SUCCESS | FAILED).

Spec: shared/spec/cleanrooms.md §2.3 (StartAnalysisLogExport row), §2.4 (abilities, logging),
§3.6 (AnalysisLogExport status), §8 (ListAnalysisLogExports newest first).
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import RESULTS_BUCKET, build_world, run
from helpers import A, B, C, assert_error, assert_field_error, call, list_all, random_id

pytestmark = pytest.mark.usefixtures("reset")

LOGS_BUCKET = "a-logs"
JOIN = "SELECT c.segment, COUNT(p.amount) AS n FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.segment"


@pytest.fixture
def world(client):
    w = build_world(
        client,
        queryLogStatus="ENABLED",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS", "CAN_EXPORT_QUERY_ANALYSIS_LOG"],
    )
    w.s3a.create_bucket(Bucket=LOGS_BUCKET)
    return w


def enable_logging(world) -> None:
    call(world.a, "UpdateMembership", membershipIdentifier=world.ma["id"], queryLogStatus="ENABLED")


def start_export(client, membership_id: str, analysis_id: str, bucket: str = LOGS_BUCKET, **s3) -> dict:
    return call(
        client,
        "StartAnalysisLogExport",
        membershipIdentifier=membership_id,
        analysisId=analysis_id,
        analysisType="PROTECTED_QUERY",
        resultConfiguration={"outputConfiguration": {"s3": {"bucket": bucket, **s3}}},
    )["analysisLogExport"]


def wait_export(client, membership_id: str, export: dict, timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while True:
        got = call(
            client,
            "GetAnalysisLogExport",
            membershipIdentifier=membership_id,
            analysisLogExportIdentifier=export["analysisLogExportId"],
        )["analysisLogExport"]
        if got["status"] != "IN_PROGRESS":
            return got
        assert time.time() < deadline, f"export still {got['status']}"
        time.sleep(0.05)


def test_logged_query_exports_its_log_to_s3(world):
    enable_logging(world)
    done = run(world, JOIN)
    started = start_export(world.a, world.ma["id"], done["id"], keyPrefix="audit/")
    assert started["status"] in ("IN_PROGRESS", "SUCCESS")
    assert started["analysisId"] == done["id"] and started["analysisType"] == "PROTECTED_QUERY"
    assert started["membershipId"] == world.ma["id"]
    assert started["resultConfiguration"]["outputConfiguration"]["s3"] == {"bucket": LOGS_BUCKET, "keyPrefix": "audit/"}
    finished = wait_export(world.a, world.ma["id"], started)
    assert finished["status"] == "SUCCESS", finished.get("error")
    assert "error" not in finished

    key = f"audit/{done['id']}/analysis-log-{started['analysisLogExportId']}.json"
    log = json.loads(world.s3a.get_object(Bucket=LOGS_BUCKET, Key=key)["Body"].read())
    assert log["analysisId"] == done["id"]
    assert log["runnerAccountId"] == A and log["runnerMembershipId"] == world.ma["id"]
    assert log["payerAccountId"] == A
    assert log["sql"] == JOIN
    assert sorted((t["name"], t["ownerAccountId"]) for t in log["tables"]) == [("customers", A), ("purchases", B)]
    assert log["status"] == "SUCCESS"
    assert log["durationMillis"] == done["statistics"]["totalDurationInMillis"]
    assert log["endTime"] >= log["submitTime"]
    assert log["differentialPrivacy"] is False


def test_failed_queries_are_logged_and_exports_can_fail(world):
    enable_logging(world)
    failed = run_failing(world)
    ok = wait_export(world.a, world.ma["id"], start_export(world.a, world.ma["id"], failed["id"]))
    assert ok["status"] == "SUCCESS"
    key = f"{failed['id']}/analysis-log-{ok['analysisLogExportId']}.json"
    log = json.loads(world.s3a.get_object(Bucket=LOGS_BUCKET, Key=key)["Body"].read())
    assert log["status"] == "FAILED" and log["error"]["code"] == failed["error"]["code"]

    missing = wait_export(world.a, world.ma["id"], start_export(world.a, world.ma["id"], failed["id"], bucket="no-such-bucket"))
    assert missing["status"] == "FAILED"
    assert missing["error"]["code"] == "RESOURCE_NOT_FOUND" and "no-such-bucket" in missing["error"]["message"]
    world.s3b.create_bucket(Bucket="b-owned")
    foreign = wait_export(world.a, world.ma["id"], start_export(world.a, world.ma["id"], failed["id"], bucket="b-owned"))
    assert foreign["status"] == "FAILED" and foreign["error"]["code"] == "RESOURCE_ACCESS_DENIED"
    assert "Contents" not in world.s3b.list_objects_v2(Bucket="b-owned")


def run_failing(world) -> dict:
    """A query that is admitted but fails while running: its results bucket is gone."""
    from analysis_helpers import start, wait

    started = start(world, "SELECT segment FROM customers", resultConfiguration={
        "outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": "vanished-bucket"}}})
    done = wait(world, started)
    if done["status"] != "FAILED":
        pytest.skip("the emulator checks result buckets at admission")
    return done


def test_export_rules(world, emulator):
    # logging off when the query ran → no log to export
    quiet = run(world, JOIN)
    with pytest.raises(ClientError) as e:
        start_export(world.a, world.ma["id"], quiet["id"])
    assert_error(e, "ValidationException", 400, quiet["id"], "DISABLED")

    enable_logging(world)
    done = run(world, JOIN)
    # a member without the ability
    with pytest.raises(ClientError) as e:
        start_export(world.b, world.mb["id"], done["id"])
    assert_error(e, "AccessDeniedException", 403, "CAN_EXPORT_QUERY_ANALYSIS_LOG")
    # granted through a change request, but B neither ran nor paid for the query
    coll = world.collaboration["id"]
    req = call(world.a, "CreateCollaborationChangeRequest", collaborationIdentifier=coll, changes=[{
        "specificationType": "MEMBER",
        "specification": {"member": {"accountId": B, "memberAbilities": ["CAN_EXPORT_QUERY_ANALYSIS_LOG"]}},
    }])["collaborationChangeRequest"]
    call(world.b, "UpdateCollaborationChangeRequest", collaborationIdentifier=coll, changeRequestIdentifier=req["id"], action="APPROVE")
    call(world.a, "UpdateCollaborationChangeRequest", collaborationIdentifier=coll, changeRequestIdentifier=req["id"], action="COMMIT")
    with pytest.raises(ClientError) as e:
        start_export(world.b, world.mb["id"], done["id"])
    assert_error(e, "AccessDeniedException", 403, "neither ran nor paid")
    # unknown query, someone else's membership
    unknown = random_id()
    with pytest.raises(ClientError) as e:
        start_export(world.a, world.ma["id"], unknown)
    assert_error(e, "ResourceNotFoundException", 404, unknown)
    c = emulator.client("cleanrooms", account=C)
    for call_it in (
        lambda: start_export(c, world.ma["id"], done["id"]),
        lambda: call(c, "ListAnalysisLogExports", membershipIdentifier=world.ma["id"]),
        lambda: call(c, "GetAnalysisLogExport", membershipIdentifier=world.ma["id"], analysisLogExportIdentifier=random_id()),
    ):
        with pytest.raises(ClientError) as e:
            call_it()
        assert_error(e, "ResourceNotFoundException", 404, world.ma["id"])
    # a bucket in another region
    emulator.client("s3", account=A, region="eu-west-1").create_bucket(
        Bucket="a-logs-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError) as e:
        start_export(world.a, world.ma["id"], done["id"], bucket="a-logs-eu")
    assert_error(e, "ValidationException", 400, "eu-west-1")
    # bad input, checked by the server
    raw = emulator.client("cleanrooms", account=A, validate=False)
    good = {"outputConfiguration": {"s3": {"bucket": LOGS_BUCKET}}}
    for kwargs, field, rule in (
        ({"analysisType": "PROTECTED_JOB", "analysisId": done["id"], "resultConfiguration": good}, "analysisType", "enum"),
        ({"analysisType": "PROTECTED_QUERY", "analysisId": "q-1", "resultConfiguration": good}, "analysisId", None),
        ({"analysisType": "PROTECTED_QUERY", "analysisId": done["id"],
          "resultConfiguration": {"outputConfiguration": {"s3": {"bucket": "ab"}}}}, "bucket", "length"),
    ):
        with pytest.raises(ClientError) as e:
            raw.start_analysis_log_export(membershipIdentifier=world.ma["id"], **kwargs)
        assert_field_error(e, field, rule)
    with pytest.raises(ClientError) as e:
        raw.list_analysis_log_exports(membershipIdentifier=world.ma["id"], status="DONE")
    assert_field_error(e, "status", "enum")
    assert call(world.a, "ListAnalysisLogExports", membershipIdentifier=world.ma["id"])["analysisLogExports"] == []


def test_list_is_newest_first_filters_and_pages(world):
    enable_logging(world)
    first, second = run(world, JOIN), run(world, "SELECT segment FROM customers")
    exports = []
    for query, prefix in ((first, "one"), (second, "two"), (first, "three")):
        exports.append(wait_export(world.a, world.ma["id"], start_export(world.a, world.ma["id"], query["id"], keyPrefix=prefix)))
    listed = list_all(world.a, "ListAnalysisLogExports", "analysisLogExports", page_size=1, membershipIdentifier=world.ma["id"])
    assert [x["analysisLogExportId"] for x in listed] == [e["analysisLogExportId"] for e in reversed(exports)]
    assert all(x["status"] == "SUCCESS" for x in listed)
    by_query = list_all(world.a, "ListAnalysisLogExports", "analysisLogExports",
                        membershipIdentifier=world.ma["id"], analysisIdentifier=first["id"])
    assert [x["analysisLogExportId"] for x in by_query] == [exports[2]["analysisLogExportId"], exports[0]["analysisLogExportId"]]
    assert list_all(world.a, "ListAnalysisLogExports", "analysisLogExports",
                    membershipIdentifier=world.ma["id"], status="FAILED") == []
    # the results of the queries still went where they were asked to
    assert world.s3a.list_objects_v2(Bucket=RESULTS_BUCKET)["KeyCount"] >= 2


def test_differentially_private_queries_cannot_be_exported(client):
    from analysis_helpers import custom_rule

    w = build_world(
        client,
        purchases_rule=custom_rule(differentialPrivacy={"columns": [{"name": "user_id"}]}),
        queryLogStatus="ENABLED",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS", "CAN_EXPORT_QUERY_ANALYSIS_LOG"],
    )
    call(w.b, "CreatePrivacyBudgetTemplate", membershipIdentifier=w.mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY",
         parameters={"differentialPrivacy": {"epsilon": 20, "usersNoisePerQuery": 20}})
    w.s3a.create_bucket(Bucket=LOGS_BUCKET)
    enable_logging(w)
    done = run(w, "SELECT COUNT(*) AS n FROM purchases")
    assert done.get("differentialPrivacy")
    with pytest.raises(ClientError) as e:
        start_export(w.a, w.ma["id"], done["id"])
    assert_error(e, "ValidationException", 400, "differential privacy")
    assert call(w.a, "ListAnalysisLogExports", membershipIdentifier=w.ma["id"])["analysisLogExports"] == []


def test_logs_exports_and_change_requests_survive_kill9(fresh_emulator):
    w = build_world(
        fresh_emulator.client,
        queryLogStatus="ENABLED",
        creatorMemberAbilities=["CAN_QUERY", "CAN_RECEIVE_RESULTS", "CAN_EXPORT_QUERY_ANALYSIS_LOG"],
    )
    w.s3a.create_bucket(Bucket=LOGS_BUCKET)
    enable_logging(w)
    done = run(w, JOIN)
    export = wait_export(w.a, w.ma["id"], start_export(w.a, w.ma["id"], done["id"]))
    coll = w.collaboration["id"]
    req = call(w.a, "CreateCollaborationChangeRequest", collaborationIdentifier=coll, changes=[{
        "specificationType": "MEMBER", "specification": {"member": {"accountId": C, "memberAbilities": [], "displayName": "Sea"}},
    }])["collaborationChangeRequest"]
    call(w.b, "UpdateCollaborationChangeRequest", collaborationIdentifier=coll, changeRequestIdentifier=req["id"], action="APPROVE")
    fresh_emulator.kill9()
    fresh_emulator.start()
    a = fresh_emulator.client("cleanrooms", account=A)
    got = call(a, "GetAnalysisLogExport", membershipIdentifier=w.ma["id"], analysisLogExportIdentifier=export["analysisLogExportId"])
    assert got["analysisLogExport"] == export
    after = call(a, "GetCollaborationChangeRequest", collaborationIdentifier=coll, changeRequestIdentifier=req["id"])
    assert after["collaborationChangeRequest"]["status"] == "APPROVED"
    call(a, "UpdateCollaborationChangeRequest", collaborationIdentifier=coll, changeRequestIdentifier=req["id"], action="COMMIT")
    again = wait_export(a, w.ma["id"], start_export(a, w.ma["id"], done["id"], keyPrefix="after-restart"))
    assert again["status"] == "SUCCESS"


def test_intermediate_table_populations_are_logged(world):
    from analysis_helpers import wait

    enable_logging(world)
    sql = "SELECT c.user_id, c.segment FROM customers c JOIN purchases p ON c.user_id = p.user_id"
    table = call(world.a, "CreateIntermediateTable", membershipIdentifier=world.ma["id"], name="buyers",
                 populationAnalysisConfiguration={"sqlParameters": {"queryString": sql}})["intermediateTable"]
    populated = call(world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"],
                     intermediateTableIdentifier=table["id"])
    done = wait(world, {"id": populated["analysisId"]})
    assert done["status"] == "SUCCESS", done.get("error")
    export = wait_export(world.a, world.ma["id"], start_export(world.a, world.ma["id"], done["id"]))
    assert export["status"] == "SUCCESS"
    key = f"{done['id']}/analysis-log-{export['analysisLogExportId']}.json"
    log = json.loads(world.s3a.get_object(Bucket=LOGS_BUCKET, Key=key)["Body"].read())
    assert log["sql"] == sql and log["status"] == "SUCCESS"
    assert sorted(t["name"] for t in log["tables"]) == ["customers", "purchases"]
