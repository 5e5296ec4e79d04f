//! [`check_differential_privacy`]: the query structure differential privacy admits.

use std::collections::BTreeMap;

use super::plan;
use crate::engine::policy::{check_differential_privacy, DpFunction, DpQuery, PolicyError};

fn dp(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect()
}

async fn check(sql: &str, tables: &[(&str, &str)]) -> Result<Option<DpQuery>, PolicyError> {
    check_differential_privacy(&plan(sql).await, &dp(tables))
}

async fn accepted(sql: &str, tables: &[(&str, &str)]) -> DpQuery {
    match check(sql, tables).await {
        Ok(Some(q)) => q,
        other => panic!("{sql}: expected acceptance, got {other:?}"),
    }
}

async fn rejected(sql: &str, tables: &[(&str, &str)], wanted: &[&str]) {
    match check(sql, tables).await {
        Err(PolicyError::DifferentialPrivacy(m)) => {
            for w in wanted {
                assert!(m.contains(w), "{sql}: message {m:?} lacks {w:?}");
            }
        }
        other => panic!("{sql}: expected a rejection, got {other:?}"),
    }
}

const CUSTOMERS: &[(&str, &str)] = &[("customers", "id")];
const BOTH: &[(&str, &str)] = &[("customers", "id"), ("purchases", "id")];

#[tokio::test]
async fn queries_without_dp_tables_are_not_concerned() {
    assert!(check("SELECT id FROM customers", &[("purchases", "id")])
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn allowed_aggregates_are_listed_in_order() {
    let q = accepted(
        "SELECT name, COUNT(*), COUNT(DISTINCT email), SUM(id), AVG(id) AS a, STDDEV(id) \
         FROM customers GROUP BY name ORDER BY 2 DESC LIMIT 3",
        CUSTOMERS,
    )
    .await;
    let kinds: Vec<DpFunction> = q.aggregates.iter().map(|a| a.function).collect();
    assert_eq!(
        kinds,
        [
            DpFunction::Count,
            DpFunction::CountDistinct,
            DpFunction::Sum,
            DpFunction::Avg,
            DpFunction::Stddev
        ]
    );
    assert!(q.aggregates[0].argument.is_none());
    assert_eq!(q.user_column.name, "id");
    assert_eq!(q.group_expr.len(), 1);
}

#[tokio::test]
async fn other_aggregates_are_rejected() {
    rejected(
        "SELECT MAX(id) FROM customers",
        CUSTOMERS,
        &["customers", "MAX", "AVG, COUNT"],
    )
    .await;
    rejected(
        "SELECT SUM(DISTINCT id) FROM customers",
        CUSTOMERS,
        &["DISTINCT"],
    )
    .await;
}

#[tokio::test]
async fn user_level_output_is_rejected() {
    rejected(
        "SELECT name FROM customers",
        CUSTOMERS,
        &["customers", "must aggregate", "user-level"],
    )
    .await;
    rejected(
        "SELECT id, COUNT(*) FROM customers GROUP BY id",
        CUSTOMERS,
        &["'id'", "grouping column"],
    )
    .await;
}

#[tokio::test]
async fn ctes_must_keep_the_identifier() {
    accepted(
        "WITH c AS (SELECT id AS uid, name FROM customers WHERE name <> 'x') \
         SELECT name, COUNT(*) FROM c GROUP BY name",
        CUSTOMERS,
    )
    .await;
    rejected(
        "WITH c AS (SELECT name FROM customers) SELECT name, COUNT(*) FROM c GROUP BY name",
        CUSTOMERS,
        &["customers", "keep its user identifier column 'id'"],
    )
    .await;
}

#[tokio::test]
async fn ctes_may_aggregate_per_user_only() {
    accepted(
        "WITH per_user AS (SELECT id, MAX(name) AS n FROM customers GROUP BY id) \
         SELECT COUNT(*), AVG(id) FROM per_user",
        CUSTOMERS,
    )
    .await;
    rejected(
        "WITH c AS (SELECT name, COUNT(*) AS n FROM customers GROUP BY name) \
         SELECT SUM(n) FROM c",
        CUSTOMERS,
        &["customers", "group by its user identifier column 'id'"],
    )
    .await;
}

#[tokio::test]
async fn dp_tables_join_on_the_identifier_only() {
    accepted(
        "SELECT c.name, SUM(p.amount) FROM customers c JOIN purchases p ON c.id = p.id GROUP BY c.name",
        BOTH,
    )
    .await;
    rejected(
        "SELECT COUNT(*) FROM customers c JOIN purchases p ON c.id = p.customer_id",
        BOTH,
        &["'customers'", "'purchases'", "user identifier column"],
    )
    .await;
    rejected(
        "SELECT COUNT(*) FROM customers c JOIN purchases p ON c.id = p.id AND c.name = p.product",
        BOTH,
        &["no other condition"],
    )
    .await;
    // A DP table joins a non-DP table on anything.
    accepted(
        "SELECT COUNT(*) FROM customers c JOIN purchases p ON c.id = p.customer_id",
        CUSTOMERS,
    )
    .await;
}

#[tokio::test]
async fn dp_tables_must_share_the_identifier_name() {
    rejected(
        "SELECT COUNT(*) FROM customers c JOIN purchases p ON c.id = p.customer_id",
        &[("customers", "id"), ("purchases", "customer_id")],
        &[
            "same user identifier column name",
            "'customers' (id)",
            "'purchases' (customer_id)",
        ],
    )
    .await;
}

#[tokio::test]
async fn dp_data_in_value_subqueries_is_rejected() {
    rejected(
        "SELECT COUNT(*) FROM purchases WHERE customer_id IN (SELECT id FROM customers)",
        CUSTOMERS,
        &["customers", "subquery"],
    )
    .await;
}

#[tokio::test]
async fn cross_user_steps_before_the_aggregation_are_rejected() {
    rejected(
        "SELECT COUNT(*) FROM (SELECT id FROM customers LIMIT 2) c",
        CUSTOMERS,
        &["LIMIT"],
    )
    .await;
    rejected(
        "SELECT SUM(r) FROM (SELECT id, row_number() OVER (ORDER BY name) AS r FROM customers) c",
        CUSTOMERS,
        &["window", "PARTITION BY", "'id'"],
    )
    .await;
    // Per-user windows are fine.
    accepted(
        "SELECT SUM(r) FROM (SELECT id, row_number() OVER (PARTITION BY id ORDER BY name) AS r FROM customers) c",
        CUSTOMERS,
    )
    .await;
}

#[tokio::test]
async fn unions_keep_user_rows_only_with_user_rows() {
    accepted(
        "WITH u AS (SELECT id, name FROM customers UNION ALL SELECT id, product FROM purchases) \
         SELECT name, COUNT(DISTINCT id) FROM u GROUP BY name",
        BOTH,
    )
    .await;
    rejected(
        "WITH u AS (SELECT id, name FROM customers UNION ALL SELECT b, a FROM t1) \
         SELECT name, COUNT(*) FROM u GROUP BY name",
        CUSTOMERS,
        &["customers", "UNION"],
    )
    .await;
}

#[tokio::test]
async fn aggregate_clauses_and_grouping_sets_are_rejected() {
    rejected(
        "SELECT COUNT(*) FILTER (WHERE name = 'Ann') FROM customers",
        CUSTOMERS,
        &["FILTER"],
    )
    .await;
    rejected(
        "SELECT name, COUNT(*) FROM customers GROUP BY ROLLUP(name)",
        CUSTOMERS,
        &["GROUPING SETS"],
    )
    .await;
}

#[tokio::test]
async fn steps_above_the_final_aggregation_are_free() {
    let q = accepted(
        "SELECT DISTINCT name, COUNT(*) * 2 AS twice FROM customers GROUP BY name \
         HAVING COUNT(*) > 1 ORDER BY twice DESC LIMIT 1",
        CUSTOMERS,
    )
    .await;
    // HAVING's COUNT(*) is the same aggregate as the SELECT's: one call.
    assert_eq!(q.aggregates.len(), 1);
    rejected(
        "SELECT COUNT(*) AS n FROM customers UNION ALL SELECT COUNT(*) FROM customers",
        CUSTOMERS,
        &["UNION"],
    )
    .await;
}
