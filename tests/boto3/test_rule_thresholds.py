"""Output suppression: AGGREGATION output constraints and CUSTOM minimum aggregation thresholds
(with per-output-column overrides) drop result rows silently; the expected rows are computed here
from the world's data. Intermediate tables' own thresholds and comparison controls. Also: what cannot run on AGGREGATION tables (templates, populating an
intermediate table) and rule-type homogeneity.

Spec: shared/spec/cleanrooms.md §4.0 steps 5 and 7, §4.1 (output constraints), §4.3 item 3, §5.4.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import CUSTOMERS, PURCHASES, build_world, custom_rule, read_csv_rows, run, start, wait
from helpers import A, assert_error, call

pytestmark = pytest.mark.usefixtures("reset")


def aggregation_rule(dimensions, aggregates, minimum, join_required=False) -> dict:
    rule = {
        "aggregateColumns": [{"columnNames": [c], "function": f} for c, f in aggregates],
        "joinColumns": ["user_id"],
        "dimensionColumns": dimensions,
        "scalarFunctions": [],
        "outputConstraints": [{"columnName": "user_id", "minimum": minimum, "type": "COUNT_DISTINCT"}],
    }
    if join_required:
        rule["joinRequired"] = "QUERY_RUNNER"
    return {"v1": {"aggregation": rule}}


def joined():
    """(segment, user_id, amount, item) of customers ⋈ purchases."""
    segment = {u: s for u, _, s in CUSTOMERS}
    return [(segment[u], u, a, i) for u, a, i in PURCHASES if u in segment]


def rows_of(world, sql):
    done = run(world, sql)
    _, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    return sorted(rows)


def groups(rows, key):
    out = defaultdict(list)
    for r in rows:
        out[key(r)].append(r)
    return out


def fmt(x: float) -> str:
    return str(float(x))


def test_aggregation_output_constraints_largest_minimum_wins(client):
    world = build_world(
        client,
        customers_rule=aggregation_rule(["segment"], [("user_id", "COUNT_DISTINCT")], 2),
        purchases_rule=aggregation_rule(["item"], [("amount", "SUM"), ("user_id", "COUNT_DISTINCT")], 3, join_required=True),
    )
    sql = ("SELECT c.segment, SUM(p.amount) AS total, COUNT(DISTINCT c.user_id) AS users "
           "FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.segment")
    expected = sorted(
        [seg, fmt(sum(r[2] for r in rs)), str(len({r[1] for r in rs}))]
        for seg, rs in groups(joined(), lambda r: r[0]).items()
        if len({r[1] for r in rs}) >= 3  # max(2, 3)
    )
    assert expected == [["gold", fmt(34.75), "3"]]  # silver has 2 users: enough for customers, not purchases
    assert rows_of(world, sql) == expected

    # The constraint applies although the query never mentions user_id outside ON.
    sql = ("SELECT p.item, SUM(p.amount) AS total FROM customers c JOIN purchases p "
           "ON c.user_id = p.user_id GROUP BY p.item")
    expected = sorted(
        [item, fmt(sum(r[2] for r in rs))]
        for item, rs in groups(joined(), lambda r: r[3]).items()
        if len({r[1] for r in rs}) >= 3
    )
    assert rows_of(world, sql) == expected == []

    # One group for the whole query: kept when it has enough users.
    sql = "SELECT SUM(p.amount) AS total FROM customers c JOIN purchases p ON c.user_id = p.user_id"
    assert rows_of(world, sql) == [[fmt(sum(r[2] for r in joined()))]]


def test_custom_thresholds_with_output_column_overrides(client):
    threshold = {
        "identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT",
        "allowedAggregateExpressionType": "ANY_EXPRESSION",
        "outputColumnThresholds": [{"outputColumnName": "item", "minimumIdentityCount": 3},
                                   {"outputColumnName": "n_rows", "minimumIdentityCount": 0}],
    }
    world = build_world(client, purchases_rule=custom_rule(aggregationThresholds=[threshold]))
    by_item = groups(PURCHASES, lambda r: r[2])

    def expected(minimum):
        return sorted([item, str(len(rs))] for item, rs in by_item.items() if len({r[0] for r in rs}) >= minimum)

    # 'product' is not overridden: default minimum 2 (book and pen have 2 buyers each).
    assert rows_of(world, "SELECT item AS product, COUNT(*) AS n FROM purchases GROUP BY item") == expected(2)
    assert expected(2) == [["book", "2"], ["pen", "2"]]
    # 'item' raises the minimum to 3: every group disappears.
    assert rows_of(world, "SELECT item, COUNT(*) AS n FROM purchases GROUP BY item") == expected(3) == []
    # Only exempt output columns: nothing is suppressed, even a single buyer.
    assert rows_of(world, "SELECT COUNT(*) AS n_rows FROM purchases WHERE item = 'desk'") == [["1"]]
    # The same group under a non-exempt name is suppressed.
    assert rows_of(world, "SELECT COUNT(*) AS n FROM purchases WHERE item = 'desk'") == []
    # ANY_EXPRESSION admits expressions inside aggregates.
    rows = rows_of(world, "SELECT item AS product, SUM(amount * 2) AS doubled FROM purchases GROUP BY item")
    want = sorted([i, fmt(2 * sum(r[1] for r in rs))] for i, rs in by_item.items() if len({r[0] for r in rs}) >= 2)
    assert rows == want
    # Row-level results cannot be checked against the threshold.
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item FROM purchases")
    assert_error(excinfo, "ValidationException", 400, "purchases", "minimum aggregation threshold", "aggregated")


def test_custom_threshold_on_joined_query_applies_to_the_constrained_table_only(client):
    threshold = {"identityColumns": ["user_id"], "minimumIdentityCount": 3, "type": "COUNT_DISTINCT",
                 "allowedAggregateExpressionType": "COLUMNS_ONLY"}
    world = build_world(client, customers_rule=custom_rule(aggregationThresholds=[threshold]))
    sql = ("SELECT c.segment, SUM(p.amount) AS total FROM customers c JOIN purchases p "
           "ON c.user_id = p.user_id GROUP BY c.segment")
    expected = sorted(
        [seg, fmt(sum(r[2] for r in rs))]
        for seg, rs in groups(joined(), lambda r: r[0]).items()
        if len({r[1] for r in rs}) >= 3
    )
    assert rows_of(world, sql) == expected == [["gold", fmt(34.75)]]
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT c.segment, SUM(p.amount + 1) AS t FROM customers c JOIN purchases p "
                     "ON c.user_id = p.user_id GROUP BY c.segment")
    assert_error(excinfo, "ValidationException", 400, "customers", "COLUMNS_ONLY")


def test_aggregation_tables_admit_neither_templates_nor_intermediate_tables(client):
    world = build_world(
        client,
        customers_rule=aggregation_rule(["segment"], [("user_id", "COUNT_DISTINCT")], 2),
        purchases_rule=aggregation_rule(["item"], [("amount", "SUM")], 2),
    )
    sql = ("SELECT c.segment, COUNT(DISTINCT c.user_id) AS n FROM customers c JOIN purchases p "
           "ON c.user_id = p.user_id GROUP BY c.segment")
    template = call(world.a, "CreateAnalysisTemplate", membershipIdentifier=world.ma["id"], name="agg",
                    format="SQL", source={"text": sql})["analysisTemplate"]
    with pytest.raises(ClientError) as excinfo:
        start(world, sqlParameters={"analysisTemplateArn": template["arn"]})
    assert_error(excinfo, "ValidationException", 400, "customers", "AGGREGATION", "CUSTOM")

    table = call(world.a, "CreateIntermediateTable", membershipIdentifier=world.ma["id"], name="agg_segments",
                 populationAnalysisConfiguration={"sqlParameters": {"queryString": sql}})["intermediateTable"]
    with pytest.raises(ClientError) as excinfo:
        call(world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"],
             intermediateTableIdentifier=table["id"])
    assert_error(excinfo, "ValidationException", 400, "customers", "AGGREGATION",
                 "intermediate tables can only be populated from tables with CUSTOM analysis rules")
    got = call(world.a, "GetIntermediateTable", membershipIdentifier=world.ma["id"],
               intermediateTableIdentifier=table["id"])["intermediateTable"]
    assert "intermediateTableVersion" not in got


def test_rule_types_must_match(client):
    world = build_world(client, purchases_rule=aggregation_rule(["item"], [("amount", "SUM")], 2))
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT SUM(p.amount) FROM customers c JOIN purchases p ON c.user_id = p.user_id")
    assert_error(excinfo, "ValidationException", 400, "different analysis rule types", "customers", "CUSTOM",
                 "purchases", "AGGREGATION")
    assert call(world.a, "ListProtectedQueries", membershipIdentifier=world.ma["id"])["protectedQueries"] == []


def test_intermediate_table_rule_thresholds_suppress_rows(client):
    world = build_world(client)
    table = call(world.a, "CreateIntermediateTable", membershipIdentifier=world.ma["id"], name="buys",
                 populationAnalysisConfiguration={"sqlParameters": {
                     "queryString": "SELECT p.user_id, p.item, p.amount FROM purchases p"}})["intermediateTable"]
    populated = call(world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"],
                     intermediateTableIdentifier=table["id"])
    assert wait(world, {"id": populated["analysisId"]})["status"] == "SUCCESS"
    threshold = {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT",
                 "allowedAggregateExpressionType": "COLUMNS_ONLY"}
    call(world.a, "CreateIntermediateTableAnalysisRule", membershipIdentifier=world.ma["id"],
         intermediateTableIdentifier=table["id"], analysisRuleType="CUSTOM",
         analysisRulePolicy=custom_rule(aggregationThresholds=[threshold],
                                        comparisonControls={"allowedLiteralComparisonColumns": ["item"],
                                                            "allowedColumnComparisonColumns": ["item"]}))
    expected = sorted(
        [item, fmt(sum(r[1] for r in rs))]
        for item, rs in groups(PURCHASES, lambda r: r[2]).items()
        if len({r[0] for r in rs}) >= 2
    )
    assert expected == [["book", fmt(17.25)], ["pen", fmt(8.5)]]
    assert rows_of(world, "SELECT item, SUM(amount) AS total FROM buys GROUP BY item") == expected
    with pytest.raises(ClientError) as excinfo:
        start(world, "SELECT item, SUM(amount) AS total FROM buys WHERE amount > 5 GROUP BY item")
    assert_error(excinfo, "ValidationException", 400, "'amount' of table 'buys'", "allowedLiteralComparisonColumns")
