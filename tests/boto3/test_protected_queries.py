"""Protected queries run for real: StartProtectedQuery over two parties' data (CSV in A's S3,
Parquet in B's), results written to A's S3 as CSV or Parquet and checked against answers computed
here; custom analysis rules (allowed analyses, providers, disallowed output columns through
aliases and expressions, result receivers); typed template parameters; failures, cancellation,
listing; and every response validated against the model.

Spec: shared/spec/cleanrooms.md §3.3, §4.0, §4.3, §4.6.
"""

from __future__ import annotations

import io
from collections import defaultdict

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from analysis_helpers import (
    CUSTOMERS,
    PURCHASES,
    RESULTS_BUCKET,
    build_world,
    custom_rule,
    read_csv_rows,
    run,
    s3_objects,
    start,
    wait,
)
from helpers import A, B, assert_error, call, list_all

pytestmark = pytest.mark.usefixtures("reset")

JOIN = (
    "SELECT c.segment, SUM(p.amount) AS total, COUNT(*) AS purchases "
    "FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.segment ORDER BY c.segment"
)


def expected_join():
    segment = {u: s for u, _, s in CUSTOMERS}
    totals, counts = defaultdict(float), defaultdict(int)
    for user, amount, _ in PURCHASES:
        if user in segment:
            totals[segment[user]] += amount
            counts[segment[user]] += 1
    return [[s, totals[s], counts[s]] for s in sorted(totals)]


# A query that runs until it is cancelled.
# Spark SQL (without ANSI mode) casts a malformed string to NULL; decrypting text that is no
# ciphertext fails at run time in Spark as here.
FAILS_AT_RUN_TIME = "SELECT CAST(aes_decrypt(CAST(item AS BINARY), '1234567890abcdef') AS STRING) AS n FROM purchases"
SLOW = "SELECT count(*) AS n FROM purchases CROSS JOIN generate_series(1, 5000000000) g WHERE g.value < 0"


@pytest.fixture
def world(client):
    return build_world(client)


def test_join_over_both_parties_writes_correct_csv_results(world):
    started = start(world, JOIN, resultConfiguration={
        "outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": RESULTS_BUCKET, "keyPrefix": "runs/q1"}}})
    assert started["status"] == "SUBMITTED"
    assert started["membershipId"] == world.ma["id"]
    done = wait(world, started)
    assert done["status"] == "SUCCESS", done.get("error")
    location = done["result"]["output"]["s3"]["location"]
    assert location == f"s3://{RESULTS_BUCKET}/runs/q1/{done['id']}/"
    assert done["statistics"]["totalDurationInMillis"] >= 0
    assert done["statistics"]["billedResourceUtilization"]["units"] >= 0
    header, rows = read_csv_rows(world.s3a, location)
    assert header == ["segment", "total", "purchases"]
    got = sorted([r[0], float(r[1]), int(r[2])] for r in rows)
    assert got == expected_join()


def test_default_result_configuration_and_single_parquet_file(world):
    done = run(world, "SELECT user_id, segment FROM customers")
    assert done["resultConfiguration"]["outputConfiguration"]["s3"]["keyPrefix"] == "default"
    assert done["result"]["output"]["s3"]["location"].startswith(f"s3://{RESULTS_BUCKET}/default/{done['id']}/")

    done = run(world, "SELECT item, amount FROM purchases WHERE amount > 6 ORDER BY amount", resultConfiguration={
        "outputConfiguration": {"s3": {"resultFormat": "PARQUET", "bucket": RESULTS_BUCKET, "keyPrefix": "pq",
                                       "singleFileOutput": True}}})
    location = done["result"]["output"]["s3"]["location"]
    assert location == f"s3://{RESULTS_BUCKET}/pq/{done['id']}/result.parquet"
    body = world.s3a.get_object(Bucket=RESULTS_BUCKET, Key=location.split("/", 3)[3])["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert table.column_names == ["item", "amount"]
    expected = sorted(((i, a) for _, a, i in PURCHASES if a > 6), key=lambda r: r[1])
    assert list(zip(table.column("item").to_pylist(), table.column("amount").to_pylist())) == expected


def test_empty_result_still_writes_a_header(world):
    done = run(world, "SELECT user_id FROM customers WHERE segment = 'platinum'", resultConfiguration={
        "outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": RESULTS_BUCKET, "singleFileOutput": True}}})
    header, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    assert header == ["user_id"] and rows == []


@pytest.mark.parametrize("sql", [
    "SELECT email FROM customers",
    "SELECT user_id, email AS contact FROM customers",
    "SELECT upper(email) AS e FROM customers",
    "SELECT x FROM (SELECT email AS x FROM customers) t",
    "WITH m AS (SELECT concat(user_id, email) AS k FROM customers) SELECT k FROM m",
    "SELECT max(email) AS m FROM customers",
    "SELECT * FROM customers",
])
def test_disallowed_output_column_is_rejected_however_it_is_derived(world, sql):
    with pytest.raises(ClientError) as excinfo:
        start(world, sql)
    body = assert_error(excinfo, "ValidationException", 400, "email", "customers")
    assert body["reason"] == "INVALID_QUERY"


def test_disallowed_column_may_filter_and_join(world):
    done = run(world, "SELECT segment, count(*) AS n FROM customers WHERE email LIKE '%@example.com' GROUP BY segment")
    _, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    assert sorted((r[0], int(r[1])) for r in rows) == [("bronze", 1), ("gold", 3), ("silver", 2)]


def test_queries_the_sql_or_the_rules_reject(world):
    cases = [
        ("SELECT * FROM nowhere", "nowhere"),
        ("SELECT no_such_column FROM purchases", "no_such_column"),
        ("SELEC 1", "parsed"),
        ("INSERT INTO purchases VALUES ('u1', 1.0, 'x')", ""),
        ("CREATE TABLE t AS SELECT * FROM purchases", ""),
        ("SELECT * FROM shop.purchases", "shop.purchases"),
    ]
    for sql, part in cases:
        with pytest.raises(ClientError) as excinfo:
            start(world, sql)
        assert_error(excinfo, "ValidationException", 400, part)
    assert list_all(world.a, "ListProtectedQueries", "protectedQueries", membershipIdentifier=world.ma["id"]) == []


def test_only_members_who_can_query_start_queries(world):
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item FROM purchases", client=world.b, membership=world.mb)
    assert_error(excinfo, "AccessDeniedException", 403, "CAN_QUERY")
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item FROM purchases", membership=world.mb)
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_allowed_analyses_and_providers_are_enforced(client):
    world = build_world(client, purchases_rule=custom_rule(allowedAnalysisProviders=[B]))
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item FROM purchases")
    assert_error(excinfo, "ValidationException", 400, A, "purchases", "allowedAnalysisProviders")


def test_template_only_tables_reject_ad_hoc_sql_and_accept_the_listed_template(client):
    world = build_world(client, purchases_rule=custom_rule(allowedAnalyses=[], allowedAnalysisProviders=None))
    template = call(
        world.a, "CreateAnalysisTemplate", membershipIdentifier=world.ma["id"], name="spend_over", format="SQL",
        source={"text": "SELECT item, amount FROM purchases WHERE amount >= :min_amount ORDER BY amount"},
        analysisParameters=[{"name": "min_amount", "type": "DOUBLE_PRECISION", "defaultValue": "10"}],
    )["analysisTemplate"]
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item FROM purchases")
    assert_error(excinfo, "ValidationException", 400, "purchases", "ANY_QUERY")
    with pytest.raises(ClientError) as excinfo:
        start(world, sqlParameters={"analysisTemplateArn": template["arn"]})
    assert_error(excinfo, "ValidationException", 400, template["arn"], "purchases")

    rule = call(world.b, "GetConfiguredTableAnalysisRule", configuredTableIdentifier=world.tables["purchases"]["id"],
                analysisRuleType="CUSTOM")["analysisRule"]
    policy = rule["policy"]
    policy["v1"]["custom"]["allowedAnalyses"] = [template["arn"]]
    call(world.b, "UpdateConfiguredTableAnalysisRule", configuredTableIdentifier=world.tables["purchases"]["id"],
         analysisRuleType="CUSTOM", analysisRulePolicy=policy)
    done = wait(world, start(world, sqlParameters={"analysisTemplateArn": template["arn"], "parameters": {"min_amount": "12"}}))
    assert done["status"] == "SUCCESS", done.get("error")
    assert done["sqlParameters"]["parameters"] == {"min_amount": "12"}
    _, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    assert [(r[0], float(r[1])) for r in rows] == sorted(((i, a) for _, a, i in PURCHASES if a >= 12), key=lambda r: r[1])


def test_template_parameters_are_typed_values_not_sql(world):
    template = call(
        world.a, "CreateAnalysisTemplate", membershipIdentifier=world.ma["id"], name="by_segment", format="SQL",
        source={"text": "SELECT user_id FROM customers WHERE segment = :seg AND length(user_id) < :max_len ORDER BY user_id"},
        analysisParameters=[{"name": "seg", "type": "VARCHAR", "defaultValue": "gold"},
                            {"name": "max_len", "type": "INTEGER"}],
    )["analysisTemplate"]
    arn = template["arn"]

    def run_template(parameters):
        return wait(world, start(world, sqlParameters={"analysisTemplateArn": arn, "parameters": parameters}))

    done = run_template({"max_len": "5"})
    assert done["status"] == "SUCCESS", done.get("error")
    _, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    assert [r[0] for r in rows] == sorted(u for u, _, s in CUSTOMERS if s == "gold")

    injected = run_template({"seg": "x' OR '1'='1", "max_len": "5"})
    _, rows = read_csv_rows(world.s3a, injected["result"]["output"]["s3"]["location"])
    assert rows == []

    for parameters, part in [
        ({}, "max_len"),  # no value and no default
        ({"max_len": "five"}, "max_len"),
        ({"max_len": "5", "other": "1"}, "other"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            start(world, sqlParameters={"analysisTemplateArn": arn, "parameters": parameters})
        assert_error(excinfo, "ValidationException", 400, part)
    with pytest.raises(ClientError) as excinfo:
        start(world, sqlParameters={"queryString": "SELECT item FROM purchases", "parameters": {"a": "1"}})
    assert_error(excinfo, "ValidationException", 400, "template")
    with pytest.raises(ClientError) as excinfo:
        start(world, sqlParameters={"queryString": "SELECT item FROM purchases", "analysisTemplateArn": arn})
    assert_error(excinfo, "ValidationException", 400, "Exactly one")


def test_result_receivers_and_tables_without_rules(client):
    world = build_world(client, purchases_rule=custom_rule(allowedResultReceivers=[B]), customers_rule={})
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item FROM purchases")
    assert_error(excinfo, "ValidationException", 400, A, "purchases", "result receiver")
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT segment FROM customers")
    assert_error(excinfo, "ValidationException", 400, "customers", "no analysis rule")


def test_runtime_failures_become_failed_queries(world):
    failed = wait(world, start(world, FAILS_AT_RUN_TIME))
    assert failed["status"] == "FAILED"
    assert failed["error"]["code"] == "MALFORMED_QUERY"
    assert "AES_CRYPTO_ERROR" in failed["error"]["message"]

    missing = wait(world, start(world, "SELECT item FROM purchases", resultConfiguration={
        "outputConfiguration": {"s3": {"resultFormat": "CSV", "bucket": "no-such-bucket"}}}))
    assert missing["status"] == "FAILED"
    assert missing["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert "no-such-bucket" in missing["error"]["message"]


def test_cancel_stops_a_running_query(world):
    slow = start(world, SLOW)
    updated = call(world.a, "UpdateProtectedQuery", membershipIdentifier=world.ma["id"],
                   protectedQueryIdentifier=slow["id"], targetStatus="CANCELLED")["protectedQuery"]
    assert updated["status"] in ("CANCELLING", "CANCELLED")
    done = wait(world, slow, timeout=30)
    assert done["status"] == "CANCELLED"
    with pytest.raises(ClientError) as excinfo:
        call(world.a, "UpdateProtectedQuery", membershipIdentifier=world.ma["id"],
             protectedQueryIdentifier=slow["id"], targetStatus="CANCELLED")
    assert_error(excinfo, "ConflictException", 409, "CANCELLED")


def test_a_membership_has_at_most_five_ongoing_queries(world):
    slow = [start(world, SLOW) for _ in range(5)]
    listed = list_all(world.a, "ListProtectedQueries", "protectedQueries", membershipIdentifier=world.ma["id"])
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item FROM purchases")
    assert_error(excinfo, "ServiceQuotaExceededException", 402, "5")
    assert excinfo.value.response["quotaValue"] == 5
    assert "ongoing" in excinfo.value.response["quotaName"]
    # The quota is checked before the query is planned: SQL that would not plan gets the same.
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT no_such_column FROM no_such_table")
    assert_error(excinfo, "ServiceQuotaExceededException", 402, "5")
    # Nothing was stored.
    assert list_all(world.a, "ListProtectedQueries", "protectedQueries",
                    membershipIdentifier=world.ma["id"]) == listed
    # An ended query frees its place.
    call(world.a, "UpdateProtectedQuery", membershipIdentifier=world.ma["id"],
         protectedQueryIdentifier=slow[0]["id"], targetStatus="CANCELLED")
    assert wait(world, slow[0], timeout=30)["status"] == "CANCELLED"
    admitted = start(world, "SELECT item FROM purchases")
    # It runs once the emulator's runner has a free slot (4 of the slow queries hold them).
    for q in slow[1:]:
        call(world.a, "UpdateProtectedQuery", membershipIdentifier=world.ma["id"],
             protectedQueryIdentifier=q["id"], targetStatus="CANCELLED")
    assert wait(world, admitted)["status"] == "SUCCESS"


def test_list_get_and_status_filter(world):
    ok = run(world, "SELECT item FROM purchases")
    bad = wait(world, start(world, FAILS_AT_RUN_TIME))
    ids = [q["id"] for q in list_all(world.a, "ListProtectedQueries", "protectedQueries", page_size=1,
                                     membershipIdentifier=world.ma["id"])]
    assert ids == [ok["id"], bad["id"]]
    failed = list_all(world.a, "ListProtectedQueries", "protectedQueries", membershipIdentifier=world.ma["id"], status="FAILED")
    assert [q["id"] for q in failed] == [bad["id"]]
    assert failed[0]["receiverConfigurations"] == [{
        "analysisType": "DIRECT_ANALYSIS",
        "configurationDetails": {"directAnalysisConfigurationDetails": {"receiverAccountIds": [A]}},
    }]
    # Another account cannot see them, even through its own membership.
    with pytest.raises(ClientError) as excinfo:
        call(world.b, "GetProtectedQuery", membershipIdentifier=world.mb["id"], protectedQueryIdentifier=ok["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        call(world.b, "GetProtectedQuery", membershipIdentifier=world.ma["id"], protectedQueryIdentifier=ok["id"])
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_compute_configuration_is_validated_and_echoed(world, client):
    done = run(world, "SELECT item FROM purchases", computeConfiguration={"worker": {
        "type": "CR.4X", "number": 4, "properties": {"spark": {"spark.sql.shuffle.partitions": "3", "x.custom": "kept"}}}})
    assert done["computeConfiguration"]["worker"]["number"] == 4
    raw = client("cleanrooms", account=A, validate=False)
    for worker, part in [
        ({"type": "CR.1X", "number": 401}, "400"),
        ({"properties": {"spark": {"spark.sql.shuffle.partitions": "zero"}}}, "shuffle"),
        ({"properties": {"spark": {f"k{i}": "v" for i in range(51)}}}, "50"),
        ({"properties": {"spark": {"k" * 201: "v"}}}, "200"),
        ({"properties": {"spark": {"spark.sql.session.timeZone": "Mars/Olympus"}}}, "timeZone"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            start(world, "SELECT item FROM purchases", client=raw, computeConfiguration={"worker": worker})
        assert_error(excinfo, "ValidationException", 400, part)
