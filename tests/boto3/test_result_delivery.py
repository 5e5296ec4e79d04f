"""Where protected query results go: the runner's S3, a receiving member (``member``), or several
places at once (``distribute``, SPARK collaborations only); who may receive them (the tables'
allowed result receivers, from the configured table rule and the collaboration analysis rule); and
what receivers see through their own membership."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from analysis_helpers import (
    B_RESULTS_BUCKET,
    RESULTS_BUCKET,
    build_world,
    custom_rule,
    read_csv_rows,
    s3_objects,
    start,
    wait,
)
from helpers import A, B, assert_error, call, list_all

SQL = "SELECT item, amount FROM purchases WHERE amount > 6"
EXPECTED = sorted([["book", "10.0"], ["lamp", "20.0"], ["book", "7.25"], ["mug", "12.0"], ["desk", "99.0"]])

RECEIVER = ("CAN_RECEIVE_RESULTS",)

pytestmark = pytest.mark.usefixtures("reset")


def member_output(account: str) -> dict:
    return {"outputConfiguration": {"member": {"accountId": account}}}


def test_member_output_lands_in_the_receivers_default_location(client):
    world = build_world(client, b_abilities=RECEIVER, b_results_format="CSV")
    done = wait(world, start(world, SQL, resultConfiguration=member_output(B)))
    assert done["status"] == "SUCCESS", done.get("error")
    assert done["result"]["output"] == {"memberList": [{"accountId": B}]}
    location = f"s3://{B_RESULTS_BUCKET}/inbox/{done['id']}/"
    header, rows = read_csv_rows(world.s3b, location)
    assert header == ["item", "amount"]
    assert sorted(rows) == EXPECTED
    # Nothing went to the runner's own bucket.
    assert s3_objects(world.s3a, f"s3://{RESULTS_BUCKET}/default/{done['id']}/") == []

    # The receiver reads the query through its own membership, and lists it.
    got = call(world.b, "GetProtectedQuery", membershipIdentifier=world.mb["id"],
               protectedQueryIdentifier=done["id"])["protectedQuery"]
    assert got["id"] == done["id"] and got["membershipId"] == world.ma["id"]
    listed = list_all(world.b, "ListProtectedQueries", "protectedQueries", membershipIdentifier=world.mb["id"])
    assert [q["id"] for q in listed] == [done["id"]]
    assert listed[0]["receiverConfigurations"][0]["configurationDetails"] == {
        "directAnalysisConfigurationDetails": {"receiverAccountIds": [B]}}
    # ... but only the runner can cancel it.
    with pytest.raises(ClientError) as excinfo:
        call(world.b, "UpdateProtectedQuery", membershipIdentifier=world.mb["id"],
             protectedQueryIdentifier=done["id"], targetStatus="CANCELLED")
    assert_error(excinfo, "AccessDeniedException", 403, "Only the member who ran")

    # The runner's queries that went elsewhere are not the receiver's: an S3 query stays private.
    own = wait(world, start(world, SQL))
    with pytest.raises(ClientError) as excinfo:
        call(world.b, "GetProtectedQuery", membershipIdentifier=world.mb["id"], protectedQueryIdentifier=own["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_member_output_needs_a_receiver_with_a_result_location(client, emulator):
    world = build_world(client)  # B cannot receive results
    with pytest.raises(ClientError) as excinfo:
        start(world, SQL, resultConfiguration=member_output(B))
    assert_error(excinfo, "ValidationException", 400, B, "CAN_RECEIVE_RESULTS")
    with pytest.raises(ClientError) as excinfo:
        start(world, SQL, resultConfiguration=member_output("333333333333"))
    assert_error(excinfo, "ValidationException", 400, "333333333333", "not an active member")

    emulator.reset()
    world = build_world(client, b_abilities=RECEIVER)  # can receive, but no default location
    with pytest.raises(ClientError) as excinfo:
        start(world, SQL, resultConfiguration=member_output(B))
    assert_error(excinfo, "ValidationException", 400, B, "default result configuration")
    listed = list_all(world.a, "ListProtectedQueries", "protectedQueries", membershipIdentifier=world.ma["id"])
    assert listed == []


def test_allowed_result_receivers_decide_who_may_receive(client, emulator):
    # The configured table rule lets only A receive results of purchases.
    world = build_world(client, purchases_rule=custom_rule(allowedResultReceivers=[A]),
                        b_abilities=RECEIVER, b_results_format="CSV")
    with pytest.raises(ClientError) as excinfo:
        start(world, SQL, resultConfiguration=member_output(B))
    assert_error(excinfo, "ValidationException", 400, B, "purchases", "result receiver")
    assert wait(world, start(world, SQL))["status"] == "SUCCESS"

    # The collaboration analysis rule narrows it further: nobody but B for customers.
    emulator.reset()
    world = build_world(client, b_abilities=RECEIVER, b_results_format="CSV")
    call(world.a, "CreateConfiguredTableAssociationAnalysisRule", membershipIdentifier=world.ma["id"],
         configuredTableAssociationIdentifier=world.associations["customers"]["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy={"v1": {"custom": {"allowedResultReceivers": [B]}}})
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT segment FROM customers")
    assert_error(excinfo, "ValidationException", 400, A, "customers", "result receiver")
    done = wait(world, start(world, "SELECT segment FROM customers", resultConfiguration=member_output(B)))
    assert done["status"] == "SUCCESS", done.get("error")
    _, rows = read_csv_rows(world.s3b, f"s3://{B_RESULTS_BUCKET}/inbox/{done['id']}/")
    assert sorted(r[0] for r in rows) == sorted(["gold", "silver", "gold", "bronze", "silver", "gold"])


def distribute(*locations) -> dict:
    return {"outputConfiguration": {"distribute": {"locations": list(locations)}}}


S3_LOCATION = {"s3": {"resultFormat": "CSV", "bucket": RESULTS_BUCKET, "keyPrefix": "shared"}}


def test_distribute_writes_every_location_in_one_run(client):
    world = build_world(client, b_abilities=RECEIVER, b_results_format="PARQUET", analyticsEngine="SPARK")
    done = wait(world, start(world, SQL, resultConfiguration=distribute(S3_LOCATION, {"member": {"accountId": B}})))
    assert done["status"] == "SUCCESS", done.get("error")
    output = done["result"]["output"]["distribute"]
    assert output["s3"]["location"] == f"s3://{RESULTS_BUCKET}/shared/{done['id']}/"
    assert output["memberList"] == [{"accountId": B}]
    # The runner's copy is CSV (its location's format), B's is Parquet (B's default format).
    _, rows = read_csv_rows(world.s3a, output["s3"]["location"])
    assert sorted(rows) == EXPECTED
    keys = s3_objects(world.s3b, f"s3://{B_RESULTS_BUCKET}/inbox/{done['id']}/")
    assert keys and all(k.endswith(".parquet") for k in keys)
    parquet_rows = []
    for key in keys:
        table = pq.read_table(io.BytesIO(world.s3b.get_object(Bucket=B_RESULTS_BUCKET, Key=key)["Body"].read()))
        parquet_rows += [[i, str(a)] for i, a in zip(table.column("item").to_pylist(), table.column("amount").to_pylist())]
    assert sorted(parquet_rows) == EXPECTED
    got = call(world.b, "GetProtectedQuery", membershipIdentifier=world.mb["id"],
               protectedQueryIdentifier=done["id"])["protectedQuery"]
    assert got["result"]["output"]["distribute"]["memberList"] == [{"accountId": B}]


def test_distribute_rules(client, emulator):
    world = build_world(client, b_abilities=RECEIVER, b_results_format="CSV", analyticsEngine="CLEAN_ROOMS_SQL")
    with pytest.raises(ClientError) as excinfo:
        start(world, SQL, resultConfiguration=distribute(S3_LOCATION))
    assert_error(excinfo, "ValidationException", 400, "SPARK")

    emulator.reset()
    world = build_world(client, b_abilities=RECEIVER, b_results_format="CSV", analyticsEngine="SPARK")
    cases = [
        (distribute(S3_LOCATION, S3_LOCATION), "more than one S3 location"),
        (distribute({"member": {"accountId": A}}), "query runner"),
        (distribute({"member": {"accountId": B}}, {"member": {"accountId": B}}), "more than once"),
    ]
    for config, part in cases:
        with pytest.raises(ClientError) as excinfo:
            start(world, SQL, resultConfiguration=config)
        assert_error(excinfo, "ValidationException", 400, part)
    only_member = wait(world, start(world, SQL, resultConfiguration=distribute({"member": {"accountId": B}})))
    assert only_member["status"] == "SUCCESS", only_member.get("error")
    assert only_member["result"]["output"] == {"distribute": {"memberList": [{"accountId": B}]}}


def test_receivers_of_list_and_aggregation_tables_come_from_their_collaboration_rules(client):
    # A LIST-rule association's collaboration rule sets its receivers too (checked before the
    # rule's query checks, so it applies even to queries the rule would otherwise refuse).
    world = build_world(client, b_abilities=RECEIVER, b_results_format="CSV")
    table = world.tables["purchases"]
    call(world.b, "DeleteConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM")
    call(world.b, "CreateConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="LIST",
         analysisRulePolicy={"v1": {"list": {"joinColumns": ["user_id"], "listColumns": ["item"]}}})
    call(world.b, "CreateConfiguredTableAssociationAnalysisRule", membershipIdentifier=world.mb["id"],
         configuredTableAssociationIdentifier=world.associations["purchases"]["id"], analysisRuleType="LIST",
         analysisRulePolicy={"v1": {"list": {"allowedResultReceivers": [B]}}})
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT DISTINCT item FROM purchases")
    assert_error(excinfo, "ValidationException", 400, A, "purchases", "result receiver")


def test_a_table_whose_schema_is_not_ready_cannot_be_queried(client):
    # A collaboration analysis rule of another type than the table's rule: ANALYSIS_RULE_TYPES_NOT_COMPATIBLE.
    world = build_world(client)
    table = world.tables["purchases"]
    call(world.b, "CreateConfiguredTableAssociationAnalysisRule", membershipIdentifier=world.mb["id"],
         configuredTableAssociationIdentifier=world.associations["purchases"]["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy={"v1": {"custom": {"allowedResultReceivers": [A]}}})
    assert wait(world, start(world, SQL))["status"] == "SUCCESS"
    call(world.b, "DeleteConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM")
    call(world.b, "CreateConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="LIST",
         analysisRulePolicy={"v1": {"list": {"joinColumns": ["user_id"], "listColumns": ["item"]}}})
    schema = call(world.a, "GetSchema", collaborationIdentifier=world.collaboration["id"], name="purchases")["schema"]
    codes = [r["code"] for d in schema["schemaStatusDetails"] for r in d.get("reasons", [])]
    assert "ANALYSIS_RULE_TYPES_NOT_COMPATIBLE" in codes
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT DISTINCT item FROM purchases")
    assert_error(excinfo, "ValidationException", 400, "purchases", "NOT_READY", "ANALYSIS_RULE_TYPES_NOT_COMPATIBLE")
