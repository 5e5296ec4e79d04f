"""The intermediate-table flow end to end: create from SQL over both parties' tables, populate
(DataFusion runs the SQL over the real data and writes a new Delta version in managed storage),
attach a CUSTOM rule, query it with a protected query whose results land in S3, refresh it, and
watch versions, statuses, inherited controls, retention, disallow, base-table removal,
cancellation and a kill -9 during a population.

Spec: shared/spec/cleanrooms.md §3.4, §5; seeds 000 (PopulateIntermediateTable) and 001.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import CUSTOMERS, PURCHASES, build_world, custom_rule, read_csv_rows, run, start, wait
from conftest import Emulator
from helpers import A, B, C, assert_error, call, list_all

pytestmark = pytest.mark.usefixtures("reset")

SPEND_SQL = (
    "SELECT c.user_id, c.segment, SUM(p.amount) AS total "
    "FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.user_id, c.segment"
)
SLOW_SQL = (
    "SELECT p.user_id, p.amount AS total FROM purchases p CROSS JOIN generate_series(1, 5000000000) g "
    "WHERE g.value < 0"
)


def spend_by_user():
    segment = {u: s for u, _, s in CUSTOMERS}
    totals = defaultdict(float)
    for user, amount, _ in PURCHASES:
        if user in segment:
            totals[user] += amount
    return {u: (segment[u], t) for u, t in totals.items()}


def create_table(world, name="spend", sql=SPEND_SQL, **extra):
    return call(world.a, "CreateIntermediateTable", membershipIdentifier=world.ma["id"], name=name,
                populationAnalysisConfiguration={"sqlParameters": {"queryString": sql}}, **extra)["intermediateTable"]


def get_table(world, table):
    return call(world.a, "GetIntermediateTable", membershipIdentifier=world.ma["id"],
                intermediateTableIdentifier=table["id"])["intermediateTable"]


def populate(world, table, client=None, **kwargs):
    return call(client or world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"],
                intermediateTableIdentifier=table["id"], **kwargs)


def wait_analysis(world, populated, timeout=60):
    return wait(world, {"id": populated["analysisId"]}, timeout=timeout)


def populate_ok(world, table, **kwargs):
    populated = populate(world, table, **kwargs)
    done = wait_analysis(world, populated)
    assert done["status"] == "SUCCESS", done.get("error")
    return populated, done


def add_rule(world, table, **policy):
    return call(world.a, "CreateIntermediateTableAnalysisRule", membershipIdentifier=world.ma["id"],
                intermediateTableIdentifier=table["id"], analysisRuleType="CUSTOM",
                analysisRulePolicy=custom_rule(**policy))


@pytest.fixture
def world(client):
    return build_world(client)


def test_create_populate_query_refresh(world):
    table = create_table(world)
    assert table["status"] == "CREATED"
    populated = populate(world, table)
    assert populated["analysisType"] == "QUERY"
    done = wait_analysis(world, populated)
    assert done["status"] == "SUCCESS", done.get("error")
    assert done["resultConfiguration"]["outputConfiguration"]["intermediateTable"] == {
        "id": table["id"], "arn": table["arn"], "name": "spend"}
    assert "result" not in done
    assert done["statistics"]["totalDurationInMillis"] >= 0

    got = get_table(world, table)
    assert got["status"] == "POPULATE_SUCCESS"
    version = got["intermediateTableVersion"]
    assert version["versionId"] == populated["versionId"]
    assert version["analysisId"] == populated["analysisId"]
    assert version["expirationTime"].timestamp() - time.time() == pytest.approx(30 * 86400, abs=600)
    assert got["schema"]["columns"] == [
        {"name": "user_id", "type": "string"}, {"name": "segment", "type": "string"}, {"name": "total", "type": "double"}]
    # B's table is another party's: the population read a multi-party base.
    assert {d["name"] for d in got["tableDependencies"]} == {"customers", "purchases"}

    # Without a rule the table cannot be queried; with one it can.
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT segment FROM spend")
    assert_error(excinfo, "ValidationException", 400, "spend")
    add_rule(world, table)
    result = run(world, "SELECT user_id, segment, total FROM spend ORDER BY user_id")
    _, rows = read_csv_rows(world.s3a, result["result"]["output"]["s3"]["location"])
    expected = spend_by_user()
    assert {r[0]: (r[1], float(r[2])) for r in rows} == expected

    # Refresh: a new version becomes active; versions are listed newest first.
    again, _ = populate_ok(world, table)
    versions = list_all(world.a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                        membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"])
    assert [v["versionId"] for v in versions] == [again["versionId"], populated["versionId"]]
    assert all(v["status"] == "POPULATE_SUCCESS" and v["analysisType"] == "QUERY" for v in versions)
    assert get_table(world, table)["intermediateTableVersion"]["versionId"] == again["versionId"]
    result = run(world, "SELECT count(*) AS n FROM spend")
    _, rows = read_csv_rows(world.s3a, result["result"]["output"]["s3"]["location"])
    assert rows == [[str(len(expected))]]


def test_inherited_controls_are_captured_and_enforced(client):
    world = build_world(client, purchases_rule=custom_rule(disallowedOutputColumns=["item"], allowedResultReceivers=[A]))
    table = create_table(world, name="items", sql="SELECT p.user_id, upper(p.item) AS product, p.amount FROM purchases p")
    populate_ok(world, table)
    inherited = get_table(world, table)["intermediateTableVersion"]["inheritedConstraints"]
    assert inherited["disallowedOutputColumns"]["value"] == ["product"]
    lineage = inherited["disallowedOutputColumns"]["columnLineage"]
    assert lineage == [{"column": "product", "sourceColumn": "item", "sourceName": "purchases",
                        "sourceId": world.associations["purchases"]["id"], "sourceType": "TABLE",
                        "sourceAccountId": B}]
    assert inherited["allowedResultReceivers"]["value"] == [A]
    assert inherited["allowedResultReceivers"]["sources"][0]["name"] == "purchases"

    add_rule(world, table, disallowedOutputColumns=["product"], allowedResultReceivers=[A])
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT product FROM items")
    assert_error(excinfo, "ValidationException", 400, "product", "items")
    done = run(world, "SELECT user_id, amount FROM items WHERE product = 'BOOK' ORDER BY user_id")
    _, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    assert rows == [[u, str(a)] for u, a, i in sorted(PURCHASES) if i == "book"]


def test_populate_errors(world, client):
    table = create_table(world)
    raw = client("cleanrooms", account=A, validate=False)
    for kwargs, code, status, part in [
        ({"computeConfiguration": {"queryComputeConfiguration": {"number": 1}}}, "ValidationException", 400, "number"),
        ({"computeConfiguration": {"queryComputeConfiguration": {"number": 401}}}, "ValidationException", 400, "400"),
        ({"computeConfiguration": {"queryComputeConfiguration": {"properties": {"spark": {f"k{i}": "v" for i in range(51)}}}}},
         "ValidationException", 400, "50"),
        ({"computeConfiguration": {"queryComputeConfiguration": {"properties": {"spark": {"k": "v" * 501}}}}},
         "ValidationException", 400, "500"),
        ({"analysisPayerAccountId": C}, "ValidationException", 400, C),
        ({"parameters": {"x": "1"}}, "ValidationException", 400, "template"),
    ]:
        with pytest.raises(ClientError) as excinfo:
            populate(world, table, client=raw, **kwargs)
        assert_error(excinfo, code, status, part)
    with pytest.raises(ClientError) as excinfo:
        call(world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"],
             intermediateTableIdentifier="00000000-0000-0000-0000-000000000000")
    assert_error(excinfo, "ResourceNotFoundException", 404)

    bad_names = create_table(world, name="counts", sql="SELECT segment, count(*) FROM customers GROUP BY segment")
    with pytest.raises(ClientError) as excinfo:
        populate(world, bad_names)
    assert_error(excinfo, "ValidationException", 400, "count(*)", "alias")
    assert get_table(world, bad_names)["status"] == "CREATED"
    assert list_all(world.a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                    membershipIdentifier=world.ma["id"], intermediateTableIdentifier=bad_names["id"]) == []


def test_spark_properties_are_honoured_where_meaningful(world):
    table = create_table(world, name="tz", sql="SELECT user_id, CAST('2024-01-01T00:00:00' AS TIMESTAMP) AS ts FROM customers")
    _, done = populate_ok(world, table, computeConfiguration={"queryComputeConfiguration": {
        "type": "CR.4X", "number": 8,
        "properties": {"spark": {"spark.sql.shuffle.partitions": "2", "spark.sql.session.timeZone": "UTC",
                                 "spark.executor.memory": "4g"}}}})
    assert done["computeConfiguration"]["worker"]["type"] == "CR.4X"
    assert get_table(world, table)["schema"]["columns"][1] == {"name": "ts", "type": "timestamp"}


def test_cancelled_population_leaves_the_active_version(world):
    table = create_table(world)
    first, _ = populate_ok(world, table)
    slow_table = create_table(world, name="slow", sql=SLOW_SQL)
    running = populate(world, slow_table)
    with pytest.raises(ClientError) as excinfo:
        populate(world, slow_table)
    assert_error(excinfo, "ConflictException", 409, "already being populated")
    call(world.a, "UpdateProtectedQuery", membershipIdentifier=world.ma["id"],
         protectedQueryIdentifier=running["analysisId"], targetStatus="CANCELLED")
    assert wait_analysis(world, running, timeout=30)["status"] == "CANCELLED"
    slow = get_table(world, slow_table)
    assert slow["status"] == "POPULATE_FAILED"
    versions = list_all(world.a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                        membershipIdentifier=world.ma["id"], intermediateTableIdentifier=slow_table["id"])
    assert [v["status"] for v in versions] == ["POPULATE_FAILED"]
    assert get_table(world, table)["intermediateTableVersion"]["versionId"] == first["versionId"]


def test_disallow_during_a_population_stops_it(world):
    slow_table = create_table(world, name="slow", sql=SLOW_SQL)
    running = populate(world, slow_table)
    time.sleep(0.5)
    # Without stopping the population, the disallow would wait for it to finish (never).
    call(world.b, "DisallowIntermediateTable", membershipIdentifier=world.mb["id"], intermediateTableName="slow")
    done = wait_analysis(world, running, timeout=30)
    assert done["status"] in ("CANCELLED", "FAILED")
    got = get_table(world, slow_table)
    assert got["status"] == "DISALLOWED_BY_DATA_PROVIDER"
    assert "intermediateTableVersion" not in got


def test_retention_expiry_deletes_data_and_repopulating_restores(world, emulator):
    table = create_table(world, retentionInDays=1)
    populate_ok(world, table)
    add_rule(world, table)
    run(world, "SELECT count(*) AS n FROM spend")
    status, _, _ = emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": 2 * 86400})
    assert status == 200
    got = get_table(world, table)
    assert got["status"] == "RETENTION_PERIOD_EXPIRED"
    managed = emulator.data_dir / "managed" / table["id"]
    assert not managed.exists() or not any(p.suffix == ".parquet" for p in managed.rglob("*"))
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT count(*) AS n FROM spend")
    assert_error(excinfo, "ValidationException", 400, "spend", "expired")
    versions = list_all(world.a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                        membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"])
    assert versions[0]["status"] == "RETENTION_PERIOD_EXPIRED"
    populate_ok(world, table)
    assert get_table(world, table)["status"] == "POPULATE_SUCCESS"
    run(world, "SELECT count(*) AS n FROM spend")


def test_disallow_and_base_table_removal_make_tables_unusable(world):
    table = create_table(world)
    populate_ok(world, table)
    add_rule(world, table)
    call(world.b, "DisallowIntermediateTable", membershipIdentifier=world.mb["id"], intermediateTableName="spend")
    assert get_table(world, table)["status"] == "DISALLOWED_BY_DATA_PROVIDER"
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT count(*) AS n FROM spend")
    assert_error(excinfo, "ValidationException", 400, "spend", "disallowed")
    with pytest.raises(ClientError) as excinfo:
        populate(world, table)
    assert_error(excinfo, "ConflictException", 409, "DISALLOWED_BY_DATA_PROVIDER")

    other = create_table(world, name="segments", sql="SELECT user_id, segment FROM customers")
    populate_ok(world, other)
    dependant = create_table(world, name="purchasers", sql="SELECT p.user_id, p.amount FROM purchases p")
    populate_ok(world, dependant)
    call(world.b, "DeleteConfiguredTableAssociation", membershipIdentifier=world.mb["id"],
         configuredTableAssociationIdentifier=world.associations["purchases"]["id"])
    assert get_table(world, dependant)["status"] == "BASE_TABLE_REMOVED"
    assert get_table(world, other)["status"] == "POPULATE_SUCCESS"


def test_kill_during_population_keeps_the_previous_version(fresh_emulator):
    """A population killed mid-way leaves no partial version: after restart its query and version
    are FAILED and the previous version still answers queries."""
    client = fresh_emulator.client
    world = build_world(client)
    # A triple self-join: instant on six customers, practically endless on 20,000 of one segment.
    sql = ("SELECT a.user_id, b.segment FROM customers a JOIN customers b ON a.segment = b.segment "
           "JOIN customers c ON b.segment = c.segment WHERE concat(a.user_id, b.user_id, c.user_id) <> 'x'")
    table = create_table(world, name="t", sql=sql)
    first, _ = populate_ok(world, table)
    add_rule(world, table)
    expected = run(world, "SELECT count(*) AS n FROM t")
    _, expected_rows = read_csv_rows(world.s3a, expected["result"]["output"]["s3"]["location"])
    big = "user_id,email,segment\n" + "".join(f"x{i},x{i}@example.com,gold\n" for i in range(20000))
    world.s3a.put_object(Bucket="a-data", Key="customers/part-1.csv", Body=big.encode())
    running = populate(world, table)
    time.sleep(1.5)
    assert get_table(world, table)["status"] == "POPULATE_STARTED"
    fresh_emulator.kill9()
    fresh_emulator.restart()
    world.a = fresh_emulator.client("cleanrooms", account=A)
    world.s3a = fresh_emulator.client("s3", account=A)
    failed = wait_analysis(world, running)
    assert failed["status"] == "FAILED"
    assert "stopped" in failed["error"]["message"]
    got = get_table(world, table)
    assert got["status"] == "POPULATE_SUCCESS"
    assert got["intermediateTableVersion"]["versionId"] == first["versionId"]
    versions = list_all(world.a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                        membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"])
    assert [v["status"] for v in versions] == ["POPULATE_FAILED", "POPULATE_SUCCESS"]
    world.s3a.delete_object(Bucket="a-data", Key="customers/part-1.csv")
    again = run(world, "SELECT count(*) AS n FROM t")
    _, rows = read_csv_rows(world.s3a, again["result"]["output"]["s3"]["location"])
    assert rows == expected_rows


def test_sigterm_during_population_fails_it_with_the_reason_after_the_grace_period(tmp_path):
    """SIGTERM while a population runs longer than the shutdown grace period: the emulator stops
    it, records it FAILED with a reason that says so, and exits 0; after a restart the query is
    FAILED with that reason (not failed again by the recovery of an abandoned run) and the
    table says why it has no data."""
    server = Emulator(tmp_path / "data", tmp_path / "server.log", extra_args=("--shutdown-grace-seconds", "1"))
    server.start()
    try:
        world = build_world(server.client)
        slow_table = create_table(world, name="slow", sql=SLOW_SQL)
        running = populate(world, slow_table)
        assert get_table(world, slow_table)["status"] == "POPULATE_STARTED"
        assert server.stop() == 0
        server.start()
        world.a = server.client("cleanrooms", account=A)
        failed = wait_analysis(world, running)
        assert failed["status"] == "FAILED"
        assert failed["error"]["code"] == "INTERNAL_ERROR"
        assert "shut down before the analysis finished" in failed["error"]["message"]
        slow = get_table(world, slow_table)
        assert slow["status"] == "POPULATE_FAILED"
        versions = list_all(world.a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                            membershipIdentifier=world.ma["id"], intermediateTableIdentifier=slow_table["id"])
        assert [v["status"] for v in versions] == ["POPULATE_FAILED"]
    finally:
        if server.running:
            server.stop()


def test_sigterm_lets_a_running_population_finish_within_the_grace_period(fresh_emulator):
    """SIGTERM right after PopulateIntermediateTable: the population finishes within the grace
    period (default 30 s) before the process exits, and its version is there after a restart."""
    world = build_world(fresh_emulator.client)
    table = create_table(world)
    populated = populate(world, table)
    assert fresh_emulator.stop() == 0
    fresh_emulator.start()
    world.a = fresh_emulator.client("cleanrooms", account=A)
    done = wait_analysis(world, populated)
    assert done["status"] == "SUCCESS", done.get("error")
    assert get_table(world, table)["status"] == "POPULATE_SUCCESS"
