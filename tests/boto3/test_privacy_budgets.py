"""Privacy budgets are spent: access budgets decrease with every protected query and population
that reads the budgeted table (directly or through intermediate tables built on it), analyses
that would overspend are rejected and spend nothing, budgets refresh on the emulator clock as
their periods say, concurrent queries never overspend, spends survive kill -9, and
PreviewPrivacyImpact shows what a differential privacy budget would allow.

Spec: shared/spec/cleanrooms.md §5.9, §6 (6.1-6.5); seed 001 (budgets with intermediate tables).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from botocore.exceptions import ClientError

from analysis_helpers import build_world, custom_rule, start, wait
from helpers import A, B, C, assert_error, assert_field_error, call, list_all

pytestmark = pytest.mark.usefixtures("reset")

PURCHASES_SQL = "SELECT count(*) AS n FROM purchases"
JOIN_SQL = (
    "SELECT c.segment, count(*) AS n FROM customers c JOIN purchases p ON c.user_id = p.user_id "
    "GROUP BY c.segment"
)
SPEND_SQL = (
    "SELECT c.user_id, c.segment, SUM(p.amount) AS total "
    "FROM customers c JOIN purchases p ON c.user_id = p.user_id GROUP BY c.user_id, c.segment"
)
DAY = 86400


@pytest.fixture
def world(client):
    return build_world(client)


# -- helpers ---------------------------------------------------------------------------------


def owner(world, arn):
    """(client, membership) of the member owning the budgeted resource ``arn``."""
    return (world.b, world.mb) if f":{B}:" in arn else (world.a, world.ma)


def add_budget(world, arn, *params):
    client, membership = owner(world, arn)
    return call(client, "CreatePrivacyBudgetTemplate", membershipIdentifier=membership["id"], privacyBudgetType="ACCESS_BUDGET",
                parameters={"accessBudget": {"resourceArn": arn, "budgetParameters": list(params)}})["privacyBudgetTemplate"]


def lifetime(n):
    return {"type": "LIFETIME", "budget": n}


def budget(world, arn, client=None, membership=None):
    """The access budget of ``arn`` as ListPrivacyBudgets shows it (from A's membership by default)."""
    summaries = call(client or world.a, "ListPrivacyBudgets", membershipIdentifier=(membership or world.ma)["id"],
                     privacyBudgetType="ACCESS_BUDGET", accessBudgetResourceArn=arn)["privacyBudgetSummaries"]
    assert len(summaries) == 1, summaries
    return summaries[0]["budget"]["accessBudget"]


def left(world, arn):
    return budget(world, arn)["aggregateRemainingBudget"]


def arn_of(world, name):
    return world.associations[name]["arn"]


def rejected(world, sql, *message_parts):
    with pytest.raises(ClientError) as excinfo:
        start(world, sql)
    response = assert_error(excinfo, "ValidationException", 400, *message_parts)
    assert response["reason"] == "INVALID_CONFIGURATION"
    return response["Error"]["Message"]


def create_table(world, name="spend", sql=SPEND_SQL):
    return call(world.a, "CreateIntermediateTable", membershipIdentifier=world.ma["id"], name=name,
                populationAnalysisConfiguration={"sqlParameters": {"queryString": sql}})["intermediateTable"]


def populate(world, table):
    return call(world.a, "PopulateIntermediateTable", membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"])


def populate_ok(world, table):
    done = wait(world, {"id": populate(world, table)["analysisId"]})
    assert done["status"] == "SUCCESS", done.get("error")


def add_rule(world, table):
    call(world.a, "CreateIntermediateTableAnalysisRule", membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"],
         analysisRuleType="CUSTOM", analysisRulePolicy=custom_rule())


def clock_now(emulator) -> float:
    status, body, _ = emulator.admin("GET", "/_emulator/clock")
    assert status == 200
    return body["now"]


def advance_to(emulator, target: dt.datetime) -> None:
    seconds = target.timestamp() - clock_now(emulator)
    assert seconds > 0
    status, _, _ = emulator.admin("POST", "/_emulator/clock", {"advanceSeconds": seconds})
    assert status == 200


def next_period_start(now: float, period: str) -> dt.datetime:
    at = dt.datetime.fromtimestamp(now, dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "CALENDAR_DAY":
        return at + dt.timedelta(days=1)
    if period == "CALENDAR_WEEK":
        return at + dt.timedelta(days=7 - at.weekday())
    first = at.replace(day=1)
    return (first + dt.timedelta(days=32)).replace(day=1)


def concurrent_starts(world, sql, n) -> list[str]:
    """Start ``sql`` from ``n`` threads at once; each outcome is "ok" or the error code."""
    barrier, outcomes, lock = threading.Barrier(n), [], threading.Lock()

    def attempt():
        barrier.wait()
        try:
            start(world, sql)
            outcome = "ok"
        except ClientError as error:
            outcome = error.response["Error"]["Code"]
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=attempt) for _ in range(n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    return outcomes


def utc(ts) -> dt.datetime:
    return ts.astimezone(dt.timezone.utc)


# -- spending --------------------------------------------------------------------------------


def test_queries_and_populations_spend_access_budgets(world):
    purchases, customers = arn_of(world, "purchases"), arn_of(world, "customers")
    add_budget(world, purchases, lifetime(10))
    add_budget(world, customers, {"type": "CALENDAR_DAY", "budget": 5, "autoRefresh": "ENABLED"}, lifetime(20))
    assert (left(world, purchases), left(world, customers)) == (10, 5)

    start(world, PURCHASES_SQL)
    assert (left(world, purchases), left(world, customers)) == (9, 5)
    start(world, JOIN_SQL)
    assert (left(world, purchases), left(world, customers)) == (8, 4)
    details = budget(world, customers)["details"]
    assert [(d["budgetType"], d["remainingBudget"]) for d in details] == [("CALENDAR_DAY", 4), ("LIFETIME", 19)]

    # a population reads both base tables
    table = create_table(world)
    populate_ok(world, table)
    assert (left(world, purchases), left(world, customers)) == (7, 3)

    # the intermediate table has its own budget; using it also spends its base tables' budgets
    add_budget(world, table["arn"], lifetime(4))
    add_rule(world, table)
    query = start(world, "SELECT segment, count(*) AS n FROM spend GROUP BY segment")
    assert (left(world, table["arn"]), left(world, purchases), left(world, customers)) == (3, 6, 2)
    # reading the intermediate table and one of its bases in one query spends each budget once
    start(world, "SELECT count(*) AS n FROM spend s JOIN purchases p ON s.user_id = p.user_id")
    assert (left(world, table["arn"]), left(world, purchases), left(world, customers)) == (2, 5, 1)
    assert wait(world, query)["status"] == "SUCCESS"

    # every member sees the same remaining values, through both list operations
    assert budget(world, purchases, world.b, world.mb) == budget(world, purchases)
    collab = call(world.b, "ListCollaborationPrivacyBudgets", collaborationIdentifier=world.collaboration["id"],
                  privacyBudgetType="ACCESS_BUDGET")["collaborationPrivacyBudgetSummaries"]
    assert {s["budget"]["accessBudget"]["resourceArn"]: s["budget"]["accessBudget"]["aggregateRemainingBudget"] for s in collab} == {
        purchases: 5, customers: 1, table["arn"]: 2}


def test_analysis_without_budgets_or_dp_spends_nothing(world):
    """Tables without a template are unlimited; non-DP queries leave the DP budget untouched."""
    call(world.b, "CreatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY",
         parameters={"differentialPrivacy": {"epsilon": 1, "usersNoisePerQuery": 10}})
    add_budget(world, arn_of(world, "customers"), lifetime(2))
    for _ in range(3):
        start(world, PURCHASES_SQL)
    assert left(world, arn_of(world, "customers")) == 2
    dp = call(world.a, "ListPrivacyBudgets", membershipIdentifier=world.ma["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY")[
        "privacyBudgetSummaries"][0]["budget"]["differentialPrivacy"]
    assert all(a["remainingCount"] == a["maxCount"] for a in dp["aggregations"])


def test_exhausted_budget_rejects_and_spends_nothing(world):
    purchases, customers = arn_of(world, "purchases"), arn_of(world, "customers")
    add_budget(world, purchases, lifetime(10))
    add_budget(world, customers, lifetime(3))
    table = create_table(world)
    populate_ok(world, table)  # customers 2, purchases 9
    add_rule(world, table)
    add_budget(world, table["arn"], lifetime(10))
    start(world, "SELECT count(*) AS n FROM spend")  # customers 1
    start(world, JOIN_SQL)  # customers 0
    assert (left(world, purchases), left(world, customers), left(world, table["arn"])) == (7, 0, 9)

    message = rejected(world, JOIN_SQL, "customers", "0 remaining", "LIFETIME")
    assert "never refreshes" in message
    # through the intermediate table: the base table is named, and nothing is spent anywhere
    rejected(world, "SELECT count(*) AS n FROM spend", "Intermediate table 'spend'", "base table 'customers'")
    assert (left(world, purchases), left(world, customers), left(world, table["arn"])) == (7, 0, 9)
    # a population needing the exhausted table starts nothing
    with pytest.raises(ClientError) as excinfo:
        populate(world, table)
    assert_error(excinfo, "ValidationException", 400, "customers")
    versions = list_all(world.a, "ListIntermediateTableVersions", "intermediateTableVersionSummaries",
                        membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"])
    assert len(versions) == 1
    assert (left(world, purchases), left(world, table["arn"])) == (7, 9)
    # other tables stay usable
    start(world, PURCHASES_SQL)
    assert left(world, purchases) == 6

    # a budget of 0 blocks the table from the start
    call(world.b, "UpdatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"],
         privacyBudgetTemplateIdentifier=budget_template_id(world, purchases), privacyBudgetType="ACCESS_BUDGET",
         parameters={"accessBudget": {"budgetParameters": [lifetime(0)]}})
    rejected(world, PURCHASES_SQL, "purchases", "budget 0: 0 remaining")


def budget_template_id(world, arn):
    client, membership = owner(world, arn)
    summaries = call(client, "ListPrivacyBudgets", membershipIdentifier=membership["id"], privacyBudgetType="ACCESS_BUDGET",
                     accessBudgetResourceArn=arn)["privacyBudgetSummaries"]
    return summaries[0]["privacyBudgetTemplateId"]


def test_deleting_the_template_makes_the_table_unlimited_again(world):
    purchases = arn_of(world, "purchases")
    t = add_budget(world, purchases, lifetime(1))
    start(world, PURCHASES_SQL)
    rejected(world, PURCHASES_SQL, "purchases")
    call(world.b, "DeletePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"], privacyBudgetTemplateIdentifier=t["id"])
    for _ in range(3):
        start(world, PURCHASES_SQL)
    # a new template starts with its full budget, not the old ledger
    add_budget(world, purchases, lifetime(2))
    assert left(world, purchases) == 2


def test_intermediate_table_budgets_belong_to_the_table_owner(world):
    table = create_table(world)
    params = {"accessBudget": {"resourceArn": table["arn"], "budgetParameters": [lifetime(1)]}}
    with pytest.raises(ClientError) as excinfo:
        call(world.b, "CreatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"], privacyBudgetType="ACCESS_BUDGET", parameters=params)
    assert_error(excinfo, "AccessDeniedException", 403, "owner")
    t = add_budget(world, table["arn"], lifetime(1))
    with pytest.raises(ClientError) as excinfo:
        add_budget(world, table["arn"], lifetime(1))
    assert_error(excinfo, "ConflictException", 409, t["id"])
    # deleting the table takes its budget with it
    call(world.a, "DeleteIntermediateTable", membershipIdentifier=world.ma["id"], intermediateTableIdentifier=table["id"])
    assert call(world.a, "ListPrivacyBudgetTemplates", membershipIdentifier=world.ma["id"])["privacyBudgetTemplateSummaries"] == []


# -- refresh ---------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["CALENDAR_DAY", "CALENDAR_WEEK", "CALENDAR_MONTH"])
def test_enabled_period_budgets_refresh_at_the_next_period(world, emulator, period):
    purchases = arn_of(world, "purchases")
    # start just after a period boundary, so the test never straddles one by accident
    advance_to(emulator, next_period_start(clock_now(emulator), period) + dt.timedelta(hours=1))
    add_budget(world, purchases, {"type": period, "budget": 2, "autoRefresh": "ENABLED"})
    start(world, PURCHASES_SQL)
    start(world, PURCHASES_SQL)
    detail = budget(world, purchases)["details"][0]
    assert detail["remainingBudget"] == 0
    end = utc(detail["endTime"])
    message = rejected(world, PURCHASES_SQL, "purchases", "0 remaining")
    assert f"refreshes at {end.strftime('%Y-%m-%dT%H:%M:%S')}" in message
    # the last hour of the period: still exhausted
    advance_to(emulator, end - dt.timedelta(minutes=30))
    assert left(world, purchases) == 0
    # the next period: the full budget, with the period moved
    advance_to(emulator, end + dt.timedelta(hours=1))
    detail = budget(world, purchases)["details"][0]
    assert detail["remainingBudget"] == 2 and utc(detail["startTime"]) == end
    start(world, PURCHASES_SQL)
    assert left(world, purchases) == 1


def test_disabled_budgets_stay_exhausted_until_the_template_is_updated(world, emulator):
    purchases = arn_of(world, "purchases")
    advance_to(emulator, next_period_start(clock_now(emulator), "CALENDAR_DAY") + dt.timedelta(hours=1))
    t = add_budget(world, purchases, {"type": "CALENDAR_DAY", "budget": 1, "autoRefresh": "DISABLED"})
    start(world, PURCHASES_SQL)
    granted = budget(world, purchases)["details"][0]
    advance_to(emulator, utc(granted["endTime"]) + dt.timedelta(days=3))
    detail = budget(world, purchases)["details"][0]
    assert detail["remainingBudget"] == 0 and detail["startTime"] == granted["startTime"]
    rejected(world, PURCHASES_SQL, "purchases", "does not refresh (autoRefresh DISABLED)")
    # updating the template replaces the configuration: a fresh budget for the current period
    call(world.b, "UpdatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"], privacyBudgetTemplateIdentifier=t["id"],
         privacyBudgetType="ACCESS_BUDGET",
         parameters={"accessBudget": {"budgetParameters": [{"type": "CALENDAR_DAY", "budget": 1, "autoRefresh": "DISABLED"}]}})
    detail = budget(world, purchases)["details"][0]
    assert detail["remainingBudget"] == 1 and utc(detail["startTime"]) > utc(granted["startTime"])
    start(world, PURCHASES_SQL)
    rejected(world, PURCHASES_SQL, "purchases")


def test_lifetime_budgets_never_refresh_and_limit_period_budgets(world, emulator):
    purchases = arn_of(world, "purchases")
    advance_to(emulator, next_period_start(clock_now(emulator), "CALENDAR_DAY") + dt.timedelta(hours=1))
    add_budget(world, purchases, {"type": "CALENDAR_DAY", "budget": 2, "autoRefresh": "ENABLED"}, lifetime(3))
    start(world, PURCHASES_SQL)
    start(world, PURCHASES_SQL)
    assert [d["remainingBudget"] for d in budget(world, purchases)["details"]] == [0, 1]
    advance_to(emulator, next_period_start(clock_now(emulator), "CALENDAR_DAY") + dt.timedelta(hours=1))
    access = budget(world, purchases)
    assert [d["remainingBudget"] for d in access["details"]] == [2, 1] and access["aggregateRemainingBudget"] == 1
    start(world, PURCHASES_SQL)
    # the day still has budget, the lifetime does not
    message = rejected(world, PURCHASES_SQL, "purchases", "LIFETIME budget 3: 0 remaining")
    assert "CALENDAR_DAY budget 2: 1 remaining" in message
    advance_to(emulator, dt.datetime.fromtimestamp(clock_now(emulator), dt.timezone.utc) + dt.timedelta(days=60))
    assert [d["remainingBudget"] for d in budget(world, purchases)["details"]] == [2, 0]
    rejected(world, PURCHASES_SQL, "purchases")


# -- concurrency and durability -----------------------------------------------------------------


def test_concurrent_queries_never_overspend(world):
    purchases = arn_of(world, "purchases")
    add_budget(world, purchases, lifetime(5))
    # Finished first, so that the membership's quota of 5 ongoing queries is not what refuses.
    wait(world, start(world, PURCHASES_SQL))
    wait(world, start(world, PURCHASES_SQL))
    assert left(world, purchases) == 3
    outcomes = concurrent_starts(world, PURCHASES_SQL, 8)
    assert sorted(outcomes) == ["ValidationException"] * 5 + ["ok"] * 3
    assert left(world, purchases) == 0
    queries = list_all(world.a, "ListProtectedQueries", "protectedQueries", membershipIdentifier=world.ma["id"])
    assert len(queries) == 5


def test_spend_survives_kill9(fresh_emulator):
    world = build_world(fresh_emulator.client)
    purchases = arn_of(world, "purchases")
    add_budget(world, purchases, lifetime(3))
    start(world, PURCHASES_SQL)
    fresh_emulator.kill9()  # right after the 2xx
    fresh_emulator.restart()
    world.a = fresh_emulator.client("cleanrooms", account=A)
    world.b = fresh_emulator.client("cleanrooms", account=B)
    assert left(world, purchases) == 2
    start(world, PURCHASES_SQL)
    start(world, PURCHASES_SQL)
    fresh_emulator.kill9()
    fresh_emulator.restart()
    world.a = fresh_emulator.client("cleanrooms", account=A)
    assert left(world, purchases) == 0
    rejected(world, PURCHASES_SQL, "purchases")


# -- PreviewPrivacyImpact ----------------------------------------------------------------------


def preview(client, membership_id, epsilon, noise):
    return call(client, "PreviewPrivacyImpact", membershipIdentifier=membership_id,
                parameters={"differentialPrivacy": {"epsilon": epsilon, "usersNoisePerQuery": noise}})


def impact(client, membership_id, epsilon, noise):
    out = preview(client, membership_id, epsilon, noise)["privacyImpact"]["differentialPrivacy"]["aggregations"]
    return {a["type"]: a["maxCount"] for a in out}


def test_preview_privacy_impact_matches_a_fresh_budget(world):
    counts = impact(world.a, world.ma["id"], 2, 10)
    assert counts == {"COUNT": 20, "COUNT_DISTINCT": 20, "SUM": 20, "AVG": 10, "STDDEV": 6}
    assert impact(world.b, world.mb["id"], 20, 100)["COUNT"] == 2000
    # more epsilon or more noise: more aggregations of every type
    base = impact(world.a, world.ma["id"], 3, 30)
    for more in (impact(world.a, world.ma["id"], 4, 30), impact(world.a, world.ma["id"], 3, 40)):
        assert all(more[t] > base[t] for t in base)
    # nothing was created, and the live budget of the same parameters agrees
    assert call(world.a, "ListPrivacyBudgets", membershipIdentifier=world.ma["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY")[
        "privacyBudgetSummaries"] == []
    call(world.b, "CreatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY",
         parameters={"differentialPrivacy": {"epsilon": 3, "usersNoisePerQuery": 30}})
    live = call(world.a, "ListPrivacyBudgets", membershipIdentifier=world.ma["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY")[
        "privacyBudgetSummaries"][0]["budget"]["differentialPrivacy"]["aggregations"]
    assert {a["type"]: a["maxCount"] for a in live} == base
    assert {a["type"]: a["remainingCount"] for a in live} == base


@pytest.mark.parametrize(
    "epsilon, noise, field, rule",
    [
        (0, 20, "epsilon", "min_value"),
        (21, 20, "epsilon", "max_value"),
        (5, 9, "usersNoisePerQuery", "min_value"),
        (5, 101, "usersNoisePerQuery", "max_value"),
    ],
)
def test_preview_privacy_impact_validates_parameters(world, client, epsilon, noise, field, rule):
    raw = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        preview(raw, world.ma["id"], epsilon, noise)
    assert_field_error(excinfo, field, rule)


def test_preview_privacy_impact_needs_an_own_active_membership(world, client):
    raw = client("cleanrooms", account=A, validate=False)
    with pytest.raises(ClientError) as excinfo:
        call(raw, "PreviewPrivacyImpact", membershipIdentifier=world.ma["id"], parameters={})
    assert_error(excinfo, "ValidationException", 400)
    with pytest.raises(ClientError) as excinfo:
        call(raw, "PreviewPrivacyImpact", membershipIdentifier=world.ma["id"], parameters={"differentialPrivacy": {"epsilon": 5}})
    assert_field_error(excinfo, "usersNoisePerQuery", "required")
    # another account's membership does not exist for the caller
    c = client("cleanrooms", account=C)
    with pytest.raises(ClientError) as excinfo:
        preview(c, world.ma["id"], 5, 20)
    assert_error(excinfo, "ResourceNotFoundException", 404)
    # a removed member cannot preview
    call(world.a, "DeleteMember", collaborationIdentifier=world.collaboration["id"], accountId=B)
    with pytest.raises(ClientError) as excinfo:
        preview(world.b, world.mb["id"], 5, 20)
    assert_error(excinfo, "AccessDeniedException", 403, world.mb["id"])


# -- the differential-privacy budget, end to end ----------------------------------------------

DP_SQL = "SELECT COUNT(*) AS n, SUM(amount) AS total FROM purchases"  # 2 aggregations: 2/U epsilon


def dp_world(client, auto_refresh="NONE"):
    """``purchases`` has DP on user_id; B's template: epsilon 1, 10 users of noise per query, so
    one COUNT costs 0.1 and DP_SQL 0.2 of the epsilon."""
    w = build_world(client, purchases_rule=custom_rule(differentialPrivacy={"columns": [{"name": "user_id"}]}))
    call(w.b, "CreatePrivacyBudgetTemplate", membershipIdentifier=w.mb["id"], privacyBudgetType="DIFFERENTIAL_PRIVACY",
         autoRefresh=auto_refresh, parameters={"differentialPrivacy": {"epsilon": 1, "usersNoisePerQuery": 10}})
    return w


def dp_counts(world):
    summaries = call(world.a, "ListPrivacyBudgets", membershipIdentifier=world.ma["id"],
                     privacyBudgetType="DIFFERENTIAL_PRIVACY")["privacyBudgetSummaries"]
    assert len(summaries) == 1, summaries
    aggregations = summaries[0]["budget"]["differentialPrivacy"]["aggregations"]
    return {a["type"]: (a["remainingCount"], a["maxCount"]) for a in aggregations}


def test_dp_queries_spend_epsilon_until_it_runs_out(client):
    world = dp_world(client)
    assert dp_counts(world)["COUNT"] == (10, 10)
    assert dp_counts(world)["STDDEV"] == (3, 3)
    for spent in range(1, 6):
        done = wait(world, start(world, DP_SQL))
        assert done["status"] == "SUCCESS", done.get("error")
        assert dp_counts(world)["COUNT"] == (10 - 2 * spent, 10)
    assert dp_counts(world)["AVG"] == (0, 5)
    message = rejected(world, DP_SQL, "epsilon")
    # A query of the non-DP table alone spends nothing and still runs.
    assert wait(world, start(world, "SELECT segment FROM customers"))["status"] == "SUCCESS"
    assert dp_counts(world)["COUNT"] == (0, 10)
    # Raising the epsilon keeps what was spent: 2 - 1 = 1 epsilon left, 10 COUNTs.
    template = call(world.b, "ListPrivacyBudgetTemplates", membershipIdentifier=world.mb["id"])["privacyBudgetTemplateSummaries"][0]
    call(world.b, "UpdatePrivacyBudgetTemplate", membershipIdentifier=world.mb["id"], privacyBudgetTemplateIdentifier=template["id"],
         privacyBudgetType="DIFFERENTIAL_PRIVACY", parameters={"differentialPrivacy": {"epsilon": 2}})
    assert dp_counts(world)["COUNT"] == (10, 20)
    assert wait(world, start(world, DP_SQL))["status"] == "SUCCESS"
    assert dp_counts(world)["COUNT"] == (8, 20), message


def test_dp_budget_refreshes_each_calendar_month(client, emulator):
    world = dp_world(client, auto_refresh="CALENDAR_MONTH")
    for _ in range(5):
        assert wait(world, start(world, DP_SQL))["status"] == "SUCCESS"
    rejected(world, DP_SQL, "epsilon")
    advance_to(emulator, next_period_start(clock_now(emulator), "CALENDAR_MONTH"))
    assert dp_counts(world)["COUNT"] == (10, 10)
    assert wait(world, start(world, DP_SQL))["status"] == "SUCCESS"
    assert dp_counts(world)["COUNT"] == (8, 10)


def test_concurrent_dp_queries_never_overspend_epsilon(client):
    world = dp_world(client)
    for _ in range(3):
        wait(world, start(world, DP_SQL))  # finished: the quota of 5 ongoing queries stays free
    assert dp_counts(world)["COUNT"] == (4, 10)  # 0.4 epsilon left: room for exactly 2 more
    outcomes = concurrent_starts(world, DP_SQL, 6)
    assert sorted(outcomes) == ["ValidationException"] * 4 + ["ok"] * 2
    assert dp_counts(world)["COUNT"] == (0, 10)
