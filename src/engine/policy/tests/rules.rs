//! AGGREGATION and LIST structure checks, threshold rewrites (executed) and comparison controls,
//! over the test session's `customers` (id, email, name, tags) and `purchases` (id,
//! customer_id, amount, product).

use datafusion::arrow::util::pretty::pretty_format_batches;

use super::{plan, session};
use crate::engine::policy::{
    apply_thresholds, check_aggregation, check_columns_only, check_comparisons, check_list,
    AggregationRule, ComparisonRule, JoinPolicy, ListRule, PolicyError, Threshold,
};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// AGGREGATION rules of `customers` (dimension `name`, `UPPER`) and `purchases`.
pub(super) fn aggregation_rules() -> Vec<AggregationRule> {
    vec![
        AggregationRule {
            table: "customers".into(),
            aggregate_columns: vec![("id".into(), "COUNT_DISTINCT".into())],
            join: JoinPolicy {
                join_columns: strings(&["id"]),
                allowed_join_operators: vec![],
            },
            dimension_columns: strings(&["name"]),
            scalar_functions: strings(&["UPPER"]),
            join_required: false,
            owned_by_runner: true,
        },
        AggregationRule {
            table: "purchases".into(),
            aggregate_columns: vec![("amount".into(), "SUM".into())],
            join: JoinPolicy {
                join_columns: strings(&["customer_id"]),
                allowed_join_operators: vec![],
            },
            dimension_columns: strings(&["product"]),
            scalar_functions: strings(&["ROUND"]),
            join_required: true,
            owned_by_runner: false,
        },
    ]
}

async fn aggregation(sql: &str) -> Result<(), PolicyError> {
    check_aggregation(&plan(sql).await, &aggregation_rules())
}

/// The message of a rejection.
pub(super) fn message(result: Result<(), PolicyError>) -> String {
    match result {
        Err(PolicyError::Rejected(m)) => m,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn aggregation_accepts_the_documented_shape() {
    aggregation(
        "SELECT UPPER(c.name) AS n, COUNT(DISTINCT c.id), ROUND(SUM(p.amount), 1) FROM customers c \
         JOIN purchases p ON c.id = p.customer_id WHERE p.product = 'tea' GROUP BY UPPER(c.name) \
         HAVING SUM(p.amount) > 1 ORDER BY n",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn aggregation_rejections_name_rule_table_and_column() {
    let m = message(
        aggregation(
            "SELECT c.email, COUNT(DISTINCT c.id) FROM customers c JOIN purchases p \
             ON c.id = p.customer_id GROUP BY c.email",
        )
        .await,
    );
    assert_eq!(
        m,
        "Column 'email' of table 'customers' cannot be used in GROUP BY under its AGGREGATION \
         analysis rule: only dimension columns (name) can"
    );
    let m = message(
        aggregation("SELECT SUM(c.id) FROM customers c JOIN purchases p ON c.id = p.customer_id")
            .await,
    );
    assert!(
        m.contains("SUM is not allowed on column 'id' of table 'customers'"),
        "{m}"
    );
    assert!(m.contains("COUNT_DISTINCT"), "{m}");
    let m =
        message(aggregation("SELECT product, SUM(amount) FROM purchases GROUP BY product").await);
    assert!(m.contains("Table 'purchases' must be joined"), "{m}");
    let m = message(
        aggregation(
            "SELECT UPPER(p.product), SUM(p.amount) FROM customers c JOIN purchases p \
             ON c.id = p.customer_id GROUP BY UPPER(p.product)",
        )
        .await,
    );
    assert!(
        m.contains("Function UPPER") && m.contains("'purchases'"),
        "{m}"
    );
    for (sql, part) in [
        ("SELECT COUNT(*) FROM customers", "COUNT(*)"),
        ("SELECT name FROM customers", "must aggregate"),
        ("SELECT COUNT(DISTINCT id) FROM customers LIMIT 1", "LIMIT"),
        (
            "WITH x AS (SELECT id FROM customers) SELECT COUNT(DISTINCT id) FROM x",
            "common table expressions",
        ),
        (
            "SELECT COUNT(DISTINCT c.id) FROM customers c LEFT JOIN purchases p ON c.id = p.customer_id",
            "LEFT joins",
        ),
        (
            "SELECT COUNT(DISTINCT c.id) FROM customers c JOIN purchases p ON c.id = p.customer_id OR c.id = p.customer_id",
            "JOIN operator OR",
        ),
    ] {
        let m = message(aggregation(sql).await);
        assert!(m.contains(part), "{sql}: {m}");
    }
}

/// LIST rules of `customers` (list column `name`) and `purchases` (`product`).
pub(super) fn list_rules() -> Vec<ListRule> {
    vec![
        ListRule {
            table: "customers".into(),
            join: JoinPolicy {
                join_columns: strings(&["id"]),
                allowed_join_operators: vec![],
            },
            list_columns: strings(&["name"]),
            owned_by_runner: true,
        },
        ListRule {
            table: "purchases".into(),
            join: JoinPolicy {
                join_columns: strings(&["customer_id"]),
                allowed_join_operators: vec![],
            },
            list_columns: strings(&["product"]),
            owned_by_runner: false,
        },
    ]
}

#[tokio::test]
async fn list_checks_shape_and_columns() {
    let rules = list_rules();
    let check = |sql: &'static str| {
        let rules = rules.clone();
        async move { check_list(&plan(sql).await, &rules) }
    };
    check(
        "SELECT DISTINCT c.name, p.product FROM customers c JOIN purchases p ON c.id = p.customer_id \
         WHERE p.product LIKE 't%' LIMIT 3",
    )
    .await
    .unwrap();
    for (sql, part) in [
        (
            "SELECT c.name FROM customers c JOIN purchases p ON c.id = p.customer_id",
            "SELECT DISTINCT is required",
        ),
        ("SELECT DISTINCT name FROM customers", "requires an INNER JOIN"),
        (
            "SELECT DISTINCT c.id FROM customers c JOIN purchases p ON c.id = p.customer_id",
            "join column",
        ),
        (
            "SELECT DISTINCT lower(c.name) FROM customers c JOIN purchases p ON c.id = p.customer_id",
            "functions",
        ),
        (
            "SELECT DISTINCT c.name FROM customers c JOIN purchases p ON c.id = p.customer_id ORDER BY c.name",
            "ORDER BY",
        ),
    ] {
        let m = message(check(sql).await);
        assert!(m.contains(part), "{sql}: {m}");
    }
}

async fn run_rewritten(sql: &str, thresholds: &[Threshold]) -> String {
    let ctx = session();
    let plan = ctx.state().create_logical_plan(sql).await.unwrap();
    let rewritten = apply_thresholds(&plan, thresholds).unwrap();
    assert_eq!(rewritten.schema(), plan.schema());
    let batches = ctx
        .execute_logical_plan(rewritten)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

fn threshold(table: &str, column: &str, minimum: u64) -> Threshold {
    Threshold {
        table: table.into(),
        column: column.into(),
        minimum,
        rule: "AGGREGATION".into(),
    }
}

#[tokio::test]
async fn thresholds_drop_groups_below_the_minimum() {
    // purchases: customer 1 bought tea and cake, 2 tea, 3 pie.
    let sql =
        "SELECT product, SUM(amount) AS total FROM purchases GROUP BY product ORDER BY product";
    let out = run_rewritten(sql, &[threshold("purchases", "customer_id", 2)]).await;
    assert!(
        out.contains("| tea ") && !out.contains("cake") && !out.contains("pie"),
        "{out}"
    );
    // The largest minimum on the same column wins: nothing has 3 buyers.
    let out = run_rewritten(
        sql,
        &[
            threshold("purchases", "customer_id", 2),
            threshold("purchases", "customer_id", 3),
        ],
    )
    .await;
    assert!(!out.contains("tea"), "{out}");
    // One group without GROUP BY; a minimum below 2 changes nothing.
    let out = run_rewritten(
        "SELECT COUNT(*) AS n FROM purchases",
        &[threshold("purchases", "customer_id", 3)],
    )
    .await;
    assert!(out.contains("| 4 "), "{out}");
    let out = run_rewritten(sql, &[threshold("purchases", "customer_id", 0)]).await;
    assert!(out.contains("pie"), "{out}");
}

#[tokio::test]
async fn thresholds_need_an_aggregation_that_sees_the_column() {
    let t = [threshold("purchases", "customer_id", 2)];
    let err = apply_thresholds(&plan("SELECT product FROM purchases").await, &t).unwrap_err();
    assert!(err.to_string().contains("must be aggregated"), "{err}");
    let err = apply_thresholds(
        &plan("WITH x AS (SELECT product FROM purchases) SELECT product, COUNT(*) FROM x GROUP BY product")
            .await,
        &t,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("cannot see purchases.customer_id"),
        "{err}"
    );
    // Through a CTE that keeps the column, and for a table the query does not read.
    let p = plan(
        "WITH x AS (SELECT customer_id, product FROM purchases) SELECT product, COUNT(*) FROM x GROUP BY product",
    )
    .await;
    apply_thresholds(&p, &t).unwrap();
    let p = plan("SELECT name FROM customers").await;
    apply_thresholds(&p, &t).unwrap();
}

#[tokio::test]
async fn columns_only_rejects_expressions_in_aggregates() {
    check_columns_only(
        &plan("SELECT SUM(amount), COUNT(*) FROM purchases").await,
        "purchases",
    )
    .unwrap();
    let err = check_columns_only(
        &plan("SELECT SUM(amount * 2) FROM purchases").await,
        "purchases",
    )
    .unwrap_err();
    assert!(err.to_string().contains("COLUMNS_ONLY"), "{err}");
}

#[tokio::test]
async fn comparison_controls_split_literal_and_column_comparisons() {
    let rules = [ComparisonRule {
        table: "purchases".into(),
        literal: strings(&["product"]),
        column: strings(&["customer_id"]),
    }];
    let check = |sql: &'static str| {
        let rules = rules.clone();
        async move { check_comparisons(&plan(sql).await, &rules) }
    };
    check(
        "SELECT COUNT(*) FROM customers c JOIN purchases p ON c.id = p.customer_id WHERE p.product = 'tea'",
    )
    .await
    .unwrap();
    let m = message(check("SELECT COUNT(*) FROM purchases WHERE amount > 2").await);
    assert!(
        m.contains("'amount' of table 'purchases'") && m.contains("literal"),
        "{m}"
    );
    let m = message(check("SELECT product, COUNT(*) FROM purchases GROUP BY product").await);
    assert!(m.contains("GROUP BY"), "{m}");
    // Traced through a CTE.
    let m = message(
        check("WITH x AS (SELECT amount AS a FROM purchases) SELECT COUNT(*) FROM x WHERE a IN (1, 2)")
            .await,
    );
    assert!(m.contains("'amount'"), "{m}");
    // Columns of tables without controls are free.
    check("SELECT name, COUNT(*) FROM customers WHERE email LIKE '%x' GROUP BY name")
        .await
        .unwrap();
}

#[tokio::test]
async fn comparing_an_aggregate_is_not_comparing_its_column() {
    let rules = [ComparisonRule {
        table: "purchases".into(),
        literal: vec![],
        column: strings(&["product"]),
    }];
    let p = plan("SELECT product, COUNT(DISTINCT customer_id) AS n FROM purchases GROUP BY product HAVING COUNT(DISTINCT customer_id) > 1").await;
    check_comparisons(&p, &rules).unwrap();
    let p = plan("SELECT product FROM purchases WHERE customer_id > 1").await;
    let m = message(check_comparisons(&p, &rules));
    assert!(m.contains("allowedLiteralComparisonColumns (none)"), "{m}");
}
