"""Configured table analysis rules: one per table, AGGREGATION / LIST / CUSTOM, and what a valid
policy is (enforcement on queries is a later issue).

Spec: shared/spec/cleanrooms.md §1.3 (Configured table analysis rule), §2.3
(Create/Get/Update/DeleteConfiguredTableAnalysisRule), §4.1-4.3 (rule creation validation),
Appendix C (rule size), Appendix F step 4.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from helpers import (
    A,
    B,
    OMIT,
    add_table_rule,
    aggregation_policy,
    assert_error,
    assert_field_error,
    call,
    create_configured_table,
    create_glue_table,
    custom_policy,
    list_policy,
    random_id,
)

pytestmark = pytest.mark.usefixtures("reset")

ALLOWED = ["user_id", "segment", "spend", "email", "age"]
TEMPLATE = f"arn:aws:cleanrooms:us-east-1:{B}:membership/{'0' * 8}-0000-4000-8000-{'0' * 12}/analysistemplate/{'1' * 8}-0000-4000-8000-{'1' * 12}"


@pytest.fixture
def a(client):
    create_glue_table(client("glue", account=A))
    return client("cleanrooms", account=A)


@pytest.fixture
def raw(client):
    """Account A without client-side parameter validation."""
    return client("cleanrooms", account=A, validate=False)


@pytest.fixture
def table(a):
    return create_configured_table(a, allowedColumns=ALLOWED)


def rule_type_of(policy: dict) -> str:
    return next(iter(policy["v1"])).upper()


def get_rule(client, table_id: str, rule_type: str) -> dict:
    return call(client, "GetConfiguredTableAnalysisRule", configuredTableIdentifier=table_id, analysisRuleType=rule_type)[
        "analysisRule"
    ]


def rejected(client, table_id: str, policy: dict, *message_parts: str, rule_type: str | None = None) -> dict:
    """The create is a ValidationException naming ``message_parts``; the table keeps no rule."""
    with pytest.raises(ClientError) as excinfo:
        client.create_configured_table_analysis_rule(
            configuredTableIdentifier=table_id, analysisRuleType=rule_type or rule_type_of(policy), analysisRulePolicy=policy
        )
    response = assert_error(excinfo, "ValidationException", 400, *message_parts)
    table = client.get_configured_table(configuredTableIdentifier=table_id)["configuredTable"]
    assert table["analysisRuleTypes"] == []
    return response


def field_rejected(client, table_id: str, policy: dict, field: str, rule: str | None = None) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.create_configured_table_analysis_rule(
            configuredTableIdentifier=table_id, analysisRuleType=rule_type_of(policy), analysisRulePolicy=policy
        )
    assert_field_error(excinfo, field, rule)


# --------------------------------------------------------------------------------------------
# Lifecycle (Appendix F step 4)
# --------------------------------------------------------------------------------------------


def test_create_aggregation_rule_and_read_it_back(a, table):
    policy = aggregation_policy()
    rule = add_table_rule(a, table["id"], policy)
    assert rule["configuredTableId"] == table["id"]
    assert rule["configuredTableArn"] == table["arn"]
    assert rule["type"] == "AGGREGATION"
    assert rule["policy"] == policy
    assert rule["updateTime"] >= rule["createTime"]
    assert get_rule(a, table["id"], "AGGREGATION") == rule
    t = call(a, "GetConfiguredTable", configuredTableIdentifier=table["id"])["configuredTable"]
    assert t["analysisRuleTypes"] == ["AGGREGATION"]
    [summary] = call(a, "ListConfiguredTables")["configuredTableSummaries"]
    assert summary["analysisRuleTypes"] == ["AGGREGATION"]


def test_a_table_has_at_most_one_rule(a, table):
    add_table_rule(a, table["id"], aggregation_policy())
    for policy in (aggregation_policy(), list_policy(), custom_policy()):
        with pytest.raises(ClientError) as excinfo:
            add_table_rule(a, table["id"], policy)
        response = assert_error(excinfo, "ConflictException", 409, "AGGREGATION")
        assert response["reason"] == "ALREADY_EXISTS"
        assert response["resourceType"] == "CONFIGURED_TABLE"
    assert get_rule(a, table["id"], "AGGREGATION")["policy"] == aggregation_policy()


def test_rule_type_must_match_the_policy(a, table):
    rejected(a, table["id"], aggregation_policy(), "LIST", "AGGREGATION", rule_type="LIST")
    rejected(a, table["id"], custom_policy(), "AGGREGATION", "CUSTOM", rule_type="AGGREGATION")


def test_get_rule_of_other_type_or_missing_is_not_found(a, table):
    with pytest.raises(ClientError) as excinfo:
        a.get_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="LIST")
    response = assert_error(excinfo, "ResourceNotFoundException", 404, "LIST")
    assert response["resourceType"] == "CONFIGURED_TABLE"
    add_table_rule(a, table["id"], list_policy())
    with pytest.raises(ClientError) as excinfo:
        a.get_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="CUSTOM")
    assert_error(excinfo, "ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as excinfo:
        a.get_configured_table_analysis_rule(configuredTableIdentifier=random_id(), analysisRuleType="LIST")
    assert_error(excinfo, "ResourceNotFoundException", 404)


def test_rules_are_the_table_owners(client, a, table):
    b = client("cleanrooms", account=B)
    with pytest.raises(ClientError) as excinfo:
        add_table_rule(b, table["id"], aggregation_policy())
    response = assert_error(excinfo, "ResourceNotFoundException", 404)
    assert response["resourceType"] == "CONFIGURED_TABLE"
    add_table_rule(a, table["id"], aggregation_policy())
    for call_it in (
        lambda: b.get_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION"),
        lambda: b.update_configured_table_analysis_rule(
            configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION", analysisRulePolicy=aggregation_policy()
        ),
        lambda: b.delete_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call_it()
        assert_error(excinfo, "ResourceNotFoundException", 404)


def test_update_rule_replaces_the_policy(a, table):
    rule = add_table_rule(a, table["id"], aggregation_policy())
    new = aggregation_policy(
        scalarFunctions=["ROUND", "UPPER"],
        outputConstraints=[{"columnName": "user_id", "minimum": 2, "type": "COUNT_DISTINCT"}],
        joinRequired="QUERY_RUNNER",
        allowedJoinOperators=["AND", "OR"],
        additionalAnalyses="NOT_ALLOWED",
    )
    updated = call(
        a, "UpdateConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION", analysisRulePolicy=new
    )["analysisRule"]
    assert updated["policy"] == new
    assert updated["createTime"] == rule["createTime"]
    assert updated["updateTime"] >= rule["updateTime"]
    assert get_rule(a, table["id"], "AGGREGATION") == updated
    # invalid updates change nothing
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table_analysis_rule(
            configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION", analysisRulePolicy=aggregation_policy(dimensionColumns=["nope"])
        )
    assert_error(excinfo, "ValidationException", 400, "dimensionColumns", "nope")
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table_analysis_rule(
            configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION", analysisRulePolicy=list_policy()
        )
    assert_error(excinfo, "ValidationException", 400, "LIST")
    with pytest.raises(ClientError) as excinfo:
        a.update_configured_table_analysis_rule(
            configuredTableIdentifier=table["id"], analysisRuleType="LIST", analysisRulePolicy=list_policy()
        )
    assert_error(excinfo, "ResourceNotFoundException", 404)
    assert get_rule(a, table["id"], "AGGREGATION") == updated


def test_delete_rule_then_another_type_can_be_added(a, table):
    add_table_rule(a, table["id"], aggregation_policy())
    response = call(a, "DeleteConfiguredTableAnalysisRule", configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert call(a, "GetConfiguredTable", configuredTableIdentifier=table["id"])["configuredTable"]["analysisRuleTypes"] == []
    with pytest.raises(ClientError) as excinfo:
        a.delete_configured_table_analysis_rule(configuredTableIdentifier=table["id"], analysisRuleType="AGGREGATION")
    assert_error(excinfo, "ResourceNotFoundException", 404)
    rule = add_table_rule(a, table["id"], list_policy())
    assert rule["type"] == "LIST"
    assert call(a, "GetConfiguredTable", configuredTableIdentifier=table["id"])["configuredTable"]["analysisRuleTypes"] == ["LIST"]


# --------------------------------------------------------------------------------------------
# Aggregation rule validation (spec §4.1)
# --------------------------------------------------------------------------------------------


def test_aggregation_rule_full_policy_is_accepted(a, table):
    policy = aggregation_policy(
        aggregateColumns=[
            {"columnNames": ["spend", "age"], "function": "SUM"},
            {"columnNames": ["user_id"], "function": "COUNT_DISTINCT"},
            {"columnNames": ["spend"], "function": "AVG"},
        ],
        joinColumns=["user_id", "email"],
        dimensionColumns=["segment"],
        scalarFunctions=["ABS", "CAST", "COALESCE", "TRUNC"],
        outputConstraints=[
            {"columnName": "user_id", "minimum": 100000, "type": "COUNT_DISTINCT"},
            {"columnName": "email", "minimum": 2, "type": "COUNT_DISTINCT"},
        ],
        allowedJoinOperators=["OR"],
        joinRequired="QUERY_RUNNER",
        additionalAnalyses="ALLOWED",
    )
    assert add_table_rule(a, table["id"], policy)["policy"] == policy


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"aggregateColumns": [{"columnNames": ["dt"], "function": "SUM"}]}, ("aggregateColumns[0].columnNames", "'dt'")),
        ({"joinColumns": ["phone"]}, ("joinColumns", "'phone'")),
        ({"dimensionColumns": ["segment", "city"]}, ("dimensionColumns", "'city'")),
        (
            {"outputConstraints": [{"columnName": "dt", "minimum": 2, "type": "COUNT_DISTINCT"}]},
            ("outputConstraints[0].columnName", "'dt'"),
        ),
    ],
    ids=["aggregate", "join", "dimension", "output-constraint"],
)
def test_aggregation_rule_columns_must_be_allowed(a, table, overrides, words):
    response = rejected(a, table["id"], aggregation_policy(**overrides), *words, table["name"])
    assert response["reason"] == "INVALID_CONFIGURATION"


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"dimensionColumns": ["user_id"]}, ("dimensionColumns", "joinColumns", "'user_id'")),
        ({"dimensionColumns": ["spend"]}, ("dimensionColumns", "aggregateColumns", "'spend'")),
        ({"joinColumns": ["user_id", "user_id"]}, ("joinColumns", "user_id", "more than once")),
        ({"dimensionColumns": ["segment", "segment"]}, ("dimensionColumns", "segment")),
        ({"scalarFunctions": ["ABS", "ABS"]}, ("scalarFunctions", "ABS")),
        (
            {"aggregateColumns": [{"columnNames": ["spend"], "function": "SUM"}, {"columnNames": ["spend"], "function": "SUM"}]},
            ("aggregateColumns", "SUM(spend)"),
        ),
        (
            {"outputConstraints": [
                {"columnName": "user_id", "minimum": 2, "type": "COUNT_DISTINCT"},
                {"columnName": "user_id", "minimum": 5, "type": "COUNT_DISTINCT"},
            ]},
            ("outputConstraints", "user_id"),
        ),
        ({"joinColumns": ["user_id", "email"], "allowedJoinOperators": []}, ("allowedJoinOperators", "2 join columns")),
        ({"allowedJoinOperators": ["AND", "AND"]}, ("allowedJoinOperators", "AND")),
        ({"joinColumns": [], "joinRequired": "QUERY_RUNNER"}, ("joinRequired", "joinColumns")),
    ],
    ids=[
        "dimension-is-join",
        "dimension-is-aggregate",
        "duplicate-join",
        "duplicate-dimension",
        "duplicate-scalar",
        "duplicate-aggregate",
        "duplicate-constraint",
        "no-operator-for-two-joins",
        "duplicate-operator",
        "join-required-without-join",
    ],
)
def test_aggregation_rule_consistency(a, table, overrides, words):
    rejected(a, table["id"], aggregation_policy(**overrides), *words)


def test_aggregation_rule_join_column_may_be_aggregated(a, table):
    policy = aggregation_policy(aggregateColumns=[{"columnNames": ["user_id"], "function": "COUNT_DISTINCT"}])
    assert add_table_rule(a, table["id"], policy)["type"] == "AGGREGATION"


@pytest.mark.parametrize(
    "overrides, field, rule",
    [
        ({"aggregateColumns": []}, "aggregateColumns", "length"),
        ({"aggregateColumns": [{"columnNames": [], "function": "SUM"}]}, "columnNames", None),
        ({"aggregateColumns": [{"columnNames": ["spend"], "function": "MAX"}]}, "function", "enum"),
        ({"scalarFunctions": ["SIN"]}, "scalarFunctions", "enum"),
        ({"outputConstraints": []}, "outputConstraints", "length"),
        ({"outputConstraints": [{"columnName": "user_id", "minimum": 1, "type": "COUNT_DISTINCT"}]}, "minimum", "min_value"),
        ({"outputConstraints": [{"columnName": "user_id", "minimum": 100001, "type": "COUNT_DISTINCT"}]}, "minimum", "max_value"),
        ({"outputConstraints": [{"columnName": "user_id", "minimum": 2, "type": "COUNT"}]}, "type", "enum"),
        ({"allowedJoinOperators": ["AND", "OR", "XOR"]}, "allowedJoinOperators", None),
        ({"joinRequired": "ALWAYS"}, "joinRequired", "enum"),
        ({"dimensionColumns": ["Segment"]}, "dimensionColumns", "pattern"),
        ({"additionalAnalyses": "MAYBE"}, "additionalAnalyses", "enum"),
        ({"joinColumns": OMIT}, "joinColumns", "required"),
    ],
    ids=[
        "no-aggregate",
        "empty-column-names",
        "unknown-function",
        "unknown-scalar",
        "no-output-constraint",
        "minimum-1",
        "minimum-too-big",
        "constraint-type",
        "three-operators",
        "join-required-enum",
        "upper-case-column",
        "additional-analyses-enum",
        "join-columns-missing",
    ],
)
def test_aggregation_rule_field_constraints(raw, table, overrides, field, rule):
    field_rejected(raw, table["id"], aggregation_policy(**overrides), field, rule)


# --------------------------------------------------------------------------------------------
# List rule validation (spec §4.2)
# --------------------------------------------------------------------------------------------


def test_list_rule_is_accepted(a, table):
    policy = list_policy(
        joinColumns=["user_id", "email"], listColumns=["segment", "age"], allowedJoinOperators=["AND", "OR"], additionalAnalyses="REQUIRED"
    )
    rule = add_table_rule(a, table["id"], policy)
    assert rule["type"] == "LIST"
    assert rule["policy"] == policy


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"listColumns": ["segment", "user_id"]}, ("listColumns", "joinColumns", "'user_id'")),
        ({"listColumns": ["city"]}, ("listColumns", "'city'")),
        ({"joinColumns": ["phone"]}, ("joinColumns", "'phone'")),
        ({"listColumns": ["segment", "segment"]}, ("listColumns", "segment")),
        ({"joinColumns": ["user_id", "email"], "allowedJoinOperators": []}, ("allowedJoinOperators",)),
    ],
    ids=["join-is-list", "list-not-allowed", "join-not-allowed", "duplicate-list", "no-operator"],
)
def test_list_rule_validation(a, table, overrides, words):
    rejected(a, table["id"], list_policy(**overrides), *words)


def test_list_rule_needs_a_join_column(raw, table):
    field_rejected(raw, table["id"], list_policy(joinColumns=[]), "joinColumns", "length")


# --------------------------------------------------------------------------------------------
# Custom rule validation (spec §4.3)
# --------------------------------------------------------------------------------------------


def test_custom_rule_with_templates(a, table):
    policy = custom_policy(allowedAnalyses=[TEMPLATE], allowedAnalysisProviders=OMIT)
    assert add_table_rule(a, table["id"], policy)["policy"] == policy


def test_custom_rule_with_every_option(a, table):
    policy = custom_policy(
        allowedAnalyses=["ANY_QUERY", "ANY_JOB"],
        allowedAnalysisProviders=[A, B],
        additionalAnalyses="ALLOWED",
        disallowedOutputColumns=["email"],
        aggregationThresholds=[
            {
                "identityColumns": ["user_id"],
                "minimumIdentityCount": 10,
                "type": "COUNT_DISTINCT",
                "outputColumnThresholds": [
                    {"outputColumnName": "segment", "minimumIdentityCount": 0},
                    {"outputColumnName": "total_spend", "minimumIdentityCount": 50},
                ],
                "allowedAggregateExpressionType": "COLUMNS_ONLY",
            }
        ],
        comparisonControls={"allowedLiteralComparisonColumns": ["segment"], "allowedColumnComparisonColumns": ["user_id"]},
        allowedResultReceivers=[A],
        allowedAdditionalAnalyses=[f"arn:aws:cleanrooms:us-east-1:{A}:membership/*/configuredaudiencemodelassociation/*"],
    )
    rule = add_table_rule(a, table["id"], policy)
    assert rule["policy"] == policy
    assert get_rule(a, table["id"], "CUSTOM")["policy"] == policy


def test_custom_rule_with_differential_privacy(a, table):
    policy = custom_policy(differentialPrivacy={"columns": [{"name": "user_id"}]})
    assert add_table_rule(a, table["id"], policy)["policy"] == policy


def test_custom_rule_with_no_analyses_yet(a, table):
    # nobody can analyse it yet (schemas will say ANALYSIS_TEMPLATES_NOT_CONFIGURED), but it is valid
    policy = custom_policy(allowedAnalyses=[], allowedAnalysisProviders=OMIT)
    assert add_table_rule(a, table["id"], policy)["policy"] == policy


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"allowedAnalysisProviders": OMIT}, ("allowedAnalysisProviders", "ANY_QUERY")),
        ({"allowedAnalysisProviders": []}, ("allowedAnalysisProviders", "ANY_QUERY")),
        ({"allowedAnalyses": ["ANY_QUERY", TEMPLATE]}, ("allowedAnalyses", "ANY_QUERY", TEMPLATE)),
        ({"allowedAnalyses": [TEMPLATE]}, ("allowedAnalysisProviders", A)),
        ({"allowedAnalyses": ["ANY_QUERY", "ANY_QUERY"]}, ("allowedAnalyses", "ANY_QUERY", "more than once")),
        ({"allowedAnalysisProviders": [A, A]}, ("allowedAnalysisProviders", A)),
        ({"disallowedOutputColumns": ["phone"]}, ("disallowedOutputColumns", "'phone'")),
        ({"differentialPrivacy": {"columns": [{"name": "device_id"}]}}, ("differentialPrivacy.columns", "'device_id'")),
        (
            {"differentialPrivacy": {"columns": [{"name": "user_id"}]}, "aggregationThresholds": [
                {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
            ]},
            ("aggregationThresholds", "differentialPrivacy"),
        ),
        (
            {"differentialPrivacy": {"columns": [{"name": "user_id"}]}, "comparisonControls": {
                "allowedLiteralComparisonColumns": [], "allowedColumnComparisonColumns": []
            }},
            ("comparisonControls", "differentialPrivacy"),
        ),
        (
            {"allowedAnalyses": ["ANY_JOB"], "aggregationThresholds": [
                {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
            ]},
            ("aggregationThresholds", "ANY_JOB"),
        ),
        (
            {"aggregationThresholds": [
                {"identityColumns": ["phone"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
            ]},
            ("aggregationThresholds[0].identityColumns", "'phone'"),
        ),
        (
            {"aggregationThresholds": [
                {"identityColumns": ["age"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
            ]},
            ("identityColumns", "'age'", "int", "string"),
        ),
        (
            {"aggregationThresholds": [
                {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT",
                 "allowedAggregateExpressionType": "COLUMNS_ONLY",
                 "outputColumnThresholds": [{"outputColumnName": "segment", "minimumIdentityCount": 1}]}
            ]},
            ("outputColumnThresholds[0].minimumIdentityCount", "segment", "1"),
        ),
        (
            {"aggregationThresholds": [
                {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT",
                 "allowedAggregateExpressionType": "COLUMNS_ONLY",
                 "outputColumnThresholds": [
                     {"outputColumnName": "segment", "minimumIdentityCount": 0},
                     {"outputColumnName": "segment", "minimumIdentityCount": 5},
                 ]}
            ]},
            ("outputColumnThresholds", "segment", "more than once"),
        ),
        (
            {"aggregationThresholds": [
                {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
            ], "comparisonControls": {"allowedLiteralComparisonColumns": ["user_id"], "allowedColumnComparisonColumns": []}},
            ("allowedLiteralComparisonColumns", "'user_id'", "identity"),
        ),
        (
            {"comparisonControls": {"allowedLiteralComparisonColumns": [], "allowedColumnComparisonColumns": ["dt"]}},
            ("allowedColumnComparisonColumns", "'dt'"),
        ),
    ],
    ids=[
        "any-query-without-providers",
        "any-query-with-empty-providers",
        "wildcard-and-template",
        "providers-with-templates",
        "duplicate-analysis",
        "duplicate-provider",
        "disallowed-not-allowed",
        "dp-column-not-allowed",
        "thresholds-with-dp",
        "comparison-with-dp",
        "thresholds-for-jobs-only",
        "identity-not-allowed",
        "identity-not-string",
        "override-of-one",
        "duplicate-override",
        "identity-compared-with-literals",
        "comparison-column-not-allowed",
    ],
)
def test_custom_rule_validation(a, table, overrides, words):
    rejected(a, table["id"], custom_policy(**overrides), *words)


@pytest.mark.parametrize(
    "overrides, field, rule",
    [
        ({"allowedAnalyses": ["arn:aws:cleanrooms:us-east-1:111111111111:collaboration/x"]}, "allowedAnalyses", "pattern"),
        ({"allowedAnalyses": ["ANY_SQL"]}, "allowedAnalyses", "pattern"),
        ({"allowedAnalysisProviders": ["1234"]}, "allowedAnalysisProviders", "length"),
        ({"allowedAdditionalAnalyses": [f"arn:aws:cleanrooms:us-east-1:{A}:membership/m{i}/configuredaudiencemodelassociation/x" for i in range(26)]},
         "allowedAdditionalAnalyses", "length"),
        ({"allowedResultReceivers": ["abcdefghijkl"]}, "allowedResultReceivers", "pattern"),
        ({"differentialPrivacy": {"columns": [{"name": "user_id"}, {"name": "email"}]}}, "columns", "length"),
        ({"aggregationThresholds": [
            {"identityColumns": ["user_id"], "minimumIdentityCount": 1, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
        ]}, "minimumIdentityCount", "min_value"),
        ({"aggregationThresholds": [
            {"identityColumns": ["user_id", "email"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT", "allowedAggregateExpressionType": "COLUMNS_ONLY"}
        ]}, "identityColumns", "length"),
        ({"aggregationThresholds": [
            {"identityColumns": ["user_id"], "minimumIdentityCount": 2, "type": "COUNT_DISTINCT"}
        ]}, "allowedAggregateExpressionType", "required"),
    ],
    ids=[
        "analysis-not-a-template-arn",
        "unknown-wildcard",
        "short-provider",
        "too-many-additional-analyses",
        "receiver-not-an-account",
        "two-dp-columns",
        "threshold-of-one",
        "two-identity-columns",
        "expression-type-missing",
    ],
)
def test_custom_rule_field_constraints(raw, table, overrides, field, rule):
    field_rejected(raw, table["id"], custom_policy(**overrides), field, rule)


def test_rule_policy_size_is_limited(a, table):
    arns = [
        f"arn:aws:cleanrooms:us-east-1:{B}:membership/{'0' * 8}-0000-4000-8000-{'0' * 12}/analysistemplate/{i:08d}-0000-4000-8000-{'1' * 12}"
        for i in range(800)
    ]
    rejected(a, table["id"], custom_policy(allowedAnalyses=arns, allowedAnalysisProviders=OMIT), "analysisRulePolicy", "bytes")
    rule = add_table_rule(a, table["id"], custom_policy(allowedAnalyses=arns[:600], allowedAnalysisProviders=OMIT))
    assert len(rule["policy"]["v1"]["custom"]["allowedAnalyses"]) == 600


# --------------------------------------------------------------------------------------------
# Tables outside Glue take CUSTOM rules only (spec §1.3)
# --------------------------------------------------------------------------------------------


def test_non_glue_table_accepts_only_custom_rules(a):
    athena = {"athena": {"workGroup": "primary", "databaseName": "sales", "tableName": "orders"}}
    t = create_configured_table(a, tableReference=athena, allowedColumns=ALLOWED)
    rejected(a, t["id"], aggregation_policy(), "AGGREGATION", "ATHENA", "CUSTOM")
    rejected(a, t["id"], list_policy(), "LIST", "CUSTOM")
    assert add_table_rule(a, t["id"], custom_policy())["type"] == "CUSTOM"


def test_unknown_rule_type_is_a_field_error(raw, table):
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table_analysis_rule(
            configuredTableIdentifier=table["id"], analysisRuleType="ID_MAPPING_TABLE", analysisRulePolicy=custom_policy()
        )
    assert_field_error(excinfo, "analysisRuleType", "enum")
    with pytest.raises(ClientError) as excinfo:
        raw.create_configured_table_analysis_rule(
            configuredTableIdentifier=table["id"],
            analysisRuleType="CUSTOM",
            analysisRulePolicy={"v1": {"custom": custom_policy()["v1"]["custom"], "list": list_policy()["v1"]["list"]}},
        )
    assert_field_error(excinfo, "v1")
