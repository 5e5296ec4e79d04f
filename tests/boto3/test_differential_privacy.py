"""Differential privacy on CUSTOM-rule tables: which queries run (the general-purpose query
structure, decided on the plan), the collaboration's DIFFERENTIAL_PRIVACY policy, the noise the
results get (contribution-bounded Laplace noise, reported as ``differentialPrivacy.
sensitivityParameters``), reproducible noise through ``POST /_emulator/dp-seed``, and DP on an
intermediate table.

Spec: shared/spec/cleanrooms.md §4.3 item 5, §5.9, §6.1–6.3; seed 001 ("differential").
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import CUSTOMERS, PURCHASES, build_world, custom_rule, read_csv_rows, start, wait
from helpers import assert_error, call

pytestmark = pytest.mark.usefixtures("reset")

NOISE = 20  # usersNoisePerQuery of the template
DP_RULE = custom_rule(differentialPrivacy={"columns": [{"name": "user_id"}]})
EXACT_COUNT = len(PURCHASES)
EXACT_SUM = sum(r[1] for r in PURCHASES)


def dp_template(world, epsilon=20, noise=NOISE):
    call(world.b, "CreatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"],
         privacyBudgetType="DIFFERENTIAL_PRIVACY",
         parameters={"differentialPrivacy": {"epsilon": epsilon, "usersNoisePerQuery": noise}})


@pytest.fixture
def world(client):
    """``purchases`` (B) has DP on user_id; ``customers`` (A) is a plain CUSTOM table."""
    w = build_world(client, purchases_rule=DP_RULE)
    dp_template(w)
    return w


@pytest.fixture
def both_dp(client):
    """Both tables have DP on user_id."""
    w = build_world(client, customers_rule=custom_rule(disallowedOutputColumns=["email"], differentialPrivacy={"columns": [{"name": "user_id"}]}),
                    purchases_rule=DP_RULE)
    dp_template(w)
    return w


def run_rows(world, sql):
    done = wait(world, start(world, sql))
    assert done["status"] == "SUCCESS", done.get("error")
    header, rows = read_csv_rows(world.s3a, done["result"]["output"]["s3"]["location"])
    return done, header, rows


def rejected(world, sql, *parts, code="ValidationException"):
    with pytest.raises(ClientError) as excinfo:
        start(world, sql)
    return assert_error(excinfo, code, 400, *parts)


# --------------------------------------------------------------------------------------------
# Which queries run
# --------------------------------------------------------------------------------------------


def test_aggregate_query_runs_and_reports_sensitivity_parameters(world):
    done, header, rows = run_rows(
        world,
        "SELECT item, COUNT(*) AS n, SUM(amount) AS total, AVG(amount) AS mean, "
        "COUNT(DISTINCT user_id) AS users, STDDEV(amount) AS sd FROM purchases GROUP BY item",
    )
    assert header == ["item", "n", "total", "mean", "users", "sd"]
    assert sorted(r[0] for r in rows) == sorted({r[2] for r in PURCHASES})
    params = done["differentialPrivacy"]["sensitivityParameters"]
    assert [p["aggregationType"] for p in params] == ["COUNT", "SUM", "AVG", "COUNT_DISTINCT", "STDDEV"]
    # u1 has two purchases: every user contributes at most 2 rows.
    assert {p["userContributionLimit"] for p in params} == {2}
    by_type = {p["aggregationType"]: p for p in params}
    # amounts lie in [3, 99]: bounds widened to [0, 128]; counts have no value bounds.
    for t in ("SUM", "AVG", "STDDEV"):
        assert (by_type[t]["minColumnValue"], by_type[t]["maxColumnValue"]) == (0.0, 128.0)
    assert "minColumnValue" not in by_type["COUNT"] and "maxColumnValue" not in by_type["COUNT"]
    assert "amount" in by_type["SUM"]["aggregationExpression"]
    listed = call(world.a, "ListProtectedQueries", membershipIdentifier=world.ma["id"])["protectedQueries"]
    assert done["id"] in [q["id"] for q in listed]


def test_ctes_joins_and_per_user_aggregation_are_accepted(both_dp):
    w = both_dp
    _, header, rows = run_rows(
        w,
        "WITH spend AS (SELECT user_id, SUM(amount) AS total FROM purchases GROUP BY user_id) "
        "SELECT c.segment, COUNT(*) AS buyers, AVG(s.total) AS mean FROM customers c "
        "JOIN spend s ON c.user_id = s.user_id GROUP BY c.segment ORDER BY c.segment",
    )
    assert header == ["segment", "buyers", "mean"]
    assert [r[0] for r in rows] == sorted({c[2] for c in CUSTOMERS if c[0] in {p[0] for p in PURCHASES}})


def test_disallowed_aggregate_is_rejected(world):
    rejected(world, "SELECT MAX(amount) FROM purchases", "purchases", "MAX", "AVG, COUNT, COUNT DISTINCT, SUM and STDDEV")


def test_user_level_output_is_rejected(world):
    rejected(world, "SELECT user_id, amount FROM purchases", "purchases", "must aggregate", "user-level rows")
    rejected(world, "SELECT user_id, COUNT(*) FROM purchases GROUP BY user_id", "purchases", "'user_id'", "grouping column")


def test_cte_must_keep_the_user_identifier(world):
    rejected(world, "WITH x AS (SELECT item, amount FROM purchases) SELECT item, SUM(amount) FROM x GROUP BY item",
             "purchases", "keep its user identifier column 'user_id'")
    rejected(world, "WITH x AS (SELECT item, SUM(amount) AS s FROM purchases GROUP BY item) SELECT SUM(s) FROM x",
             "purchases", "group by its user identifier column 'user_id'")


def test_dp_tables_join_only_on_the_user_identifier(both_dp):
    rejected(both_dp, "SELECT COUNT(*) FROM customers c JOIN purchases p ON c.segment = p.item",
             "'customers'", "'purchases'", "only be joined on the user identifier column")


def test_dp_tables_must_share_the_identifier_name(client):
    w = build_world(client, customers_rule=custom_rule(differentialPrivacy={"columns": [{"name": "segment"}]}),
                    purchases_rule=DP_RULE)
    dp_template(w)
    rejected(w, "SELECT COUNT(*) FROM customers c JOIN purchases p ON c.user_id = p.user_id",
             "'customers' (segment)", "'purchases' (user_id)", "same user identifier column name")


def test_dp_data_in_a_value_subquery_is_rejected(world):
    rejected(world, "SELECT segment, COUNT(*) FROM customers WHERE user_id IN (SELECT user_id FROM purchases) GROUP BY segment",
             "purchases", "subquery")


def test_without_a_dp_template_dp_tables_cannot_be_queried(client):
    w = build_world(client, purchases_rule=DP_RULE)
    response = rejected(w, "SELECT COUNT(*) FROM purchases", "DIFFERENTIAL_PRIVACY_POLICY_NOT_CONFIGURED", "purchases")
    assert response["reason"] == "INVALID_CONFIGURATION"
    assert call(w.a, "ListProtectedQueries", membershipIdentifier=w.ma["id"])["protectedQueries"] == []
    # Tables without DP are unaffected.
    done = wait(w, start(w, "SELECT segment FROM customers"))
    assert done["status"] == "SUCCESS" and "differentialPrivacy" not in done


def test_sql_rejections_are_invalid_query(world):
    response = rejected(world, "SELECT item FROM purchases")
    assert response["reason"] == "INVALID_QUERY"


# --------------------------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------------------------


def count_and_sum(world):
    done, _, rows = run_rows(world, "SELECT COUNT(*) AS n, SUM(amount) AS total FROM purchases")
    (n, total), = rows
    return done, int(n), float(total)


def test_noise_has_the_documented_size(world, emulator):
    status, body, _ = emulator.admin("POST", "/_emulator/dp-seed", {"seed": 12345})
    assert status == 200 and body == {"seed": 12345}
    runs = [count_and_sum(world) for _ in range(50)]
    params = {p["aggregationType"]: p for p in runs[0][0]["differentialPrivacy"]["sensitivityParameters"]}
    limit = params["COUNT"]["userContributionLimit"]
    bound = max(abs(params["SUM"]["minColumnValue"]), abs(params["SUM"]["maxColumnValue"]))
    # Documented expected absolute errors: L·U for COUNT (+0.5 rounding), L·M·U for SUM.
    count_scale, sum_scale = limit * NOISE, limit * bound * NOISE
    count_err = [abs(n - EXACT_COUNT) for _, n, _ in runs]
    sum_err = [abs(s - EXACT_SUM) for _, _, s in runs]
    mean_count_err = sum(count_err) / len(runs)
    mean_sum_err = sum(sum_err) / len(runs)
    assert 0.2 * count_scale < mean_count_err < 1.5 * count_scale + 0.5, (mean_count_err, count_scale)
    assert 0.4 * sum_scale < mean_sum_err < 1.5 * sum_scale, (mean_sum_err, sum_scale)
    assert sum(e > 0 for e in count_err) >= 0.8 * len(runs)
    assert sum(e > 1e-9 for e in sum_err) == len(runs)
    assert all(n >= 0 for _, n, _ in runs)


def test_same_seed_reproduces_results(world, emulator):
    def series(seed):
        emulator.admin("POST", "/_emulator/dp-seed", {"seed": seed})
        out = [count_and_sum(world)[1:] for _ in range(3)]
        # Grouped results too: each group gets the same draws again.
        out.append(tuple(map(tuple, run_rows(world, "SELECT item, COUNT(*) AS n FROM purchases GROUP BY item ORDER BY item")[2])))
        return out

    first = series(7)
    assert series(7) == first
    assert series(8) != first
    assert len(set(first)) > 1
    status, body, _ = emulator.admin("GET", "/_emulator/dp-seed")
    assert status == 200 and body == {"seed": 8}
    emulator.reset()
    assert emulator.admin("GET", "/_emulator/dp-seed")[1] == {"seed": None}


def test_dp_seed_errors(emulator):
    for bad in ({"seed": -1}, {"seed": "x"}, {"seed": 1.5}, {}):
        status, body, _ = emulator.admin("POST", "/_emulator/dp-seed", bad)
        assert status == 400 and body["message"], bad
    status, body, _ = emulator.admin("POST", "/_emulator/dp-seed", {"seed": None})
    assert status == 200 and body == {"seed": None}


# --------------------------------------------------------------------------------------------
# Intermediate tables: DP in their own rule treats them as a fresh dataset
# --------------------------------------------------------------------------------------------


def test_dp_on_an_intermediate_table(client):
    w = build_world(client)
    dp_template(w)
    table = call(w.a, "CreateIntermediateTable", membershipIdentifier=w.ma["id"], name="spend",
                 populationAnalysisConfiguration={"sqlParameters": {"queryString":
                     "SELECT c.user_id AS buyer, c.segment, p.amount FROM customers c JOIN purchases p ON c.user_id = p.user_id"}}
                 )["intermediateTable"]
    populated = call(w.a, "PopulateIntermediateTable", membershipIdentifier=w.ma["id"], intermediateTableIdentifier=table["id"])
    assert wait(w, {"id": populated["analysisId"]})["status"] == "SUCCESS"
    call(w.a, "CreateIntermediateTableAnalysisRule", membershipIdentifier=w.ma["id"], intermediateTableIdentifier=table["id"],
         analysisRuleType="CUSTOM", analysisRulePolicy=custom_rule(differentialPrivacy={"columns": [{"name": "buyer"}]}))
    rejected(w, "SELECT buyer, amount FROM spend", "spend", "must aggregate")
    done, header, rows = run_rows(w, "SELECT segment, COUNT(*) AS n, SUM(amount) AS total FROM spend GROUP BY segment")
    assert header == ["segment", "n", "total"]
    params = done["differentialPrivacy"]["sensitivityParameters"]
    # The table's own identifier column and rows: u1 bought twice.
    assert [p["userContributionLimit"] for p in params] == [2, 2]
    assert params[1]["maxColumnValue"] == 32.0  # joined amounts lie in [3, 20]


def test_populating_from_a_dp_table_follows_the_dp_rules_and_is_noised(world):
    def create(name, sql):
        return call(world.a, "CreateIntermediateTable", membershipIdentifier=world.ma["id"], name=name,
                    populationAnalysisConfiguration={"sqlParameters": {"queryString": sql}})["intermediateTable"]

    def populate(table):
        return call(world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"])

    user_level = create("raw", "SELECT user_id, amount FROM purchases")
    with pytest.raises(ClientError) as excinfo:
        populate(user_level)
    assert_error(excinfo, "ValidationException", 400, "purchases", "must aggregate")

    per_item = create("per_item", "SELECT item, COUNT(*) AS n FROM purchases GROUP BY item")
    done = wait(world, {"id": populate(per_item)["analysisId"]})
    assert done["status"] == "SUCCESS", done.get("error")
    params = done["differentialPrivacy"]["sensitivityParameters"]
    assert [(p["aggregationType"], p["userContributionLimit"]) for p in params] == [("COUNT", 2)]


def test_dp_queries_are_limited_to_8_kb(world):
    padding = " " * (8 * 1024)
    rejected(world, f"SELECT COUNT(*) FROM purchases{padding}", "purchases", "8192 bytes")
