//! [`scanned_tables`] finds every table a query reads, by its collaboration name.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::datasource::ViewTable;

use super::{customers_data, plan, session};
use crate::engine::policy::{scanned_tables, CollaborationTable};

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn tables_everywhere_in_a_query() {
    let cases: &[(&str, &[&str])] = &[
        ("SELECT 1", &[]),
        ("SELECT email FROM customers", &["customers"]),
        ("SELECT c.email FROM customers AS c", &["customers"]),
        (
            "SELECT (SELECT max(amount) FROM purchases) AS m FROM customers",
            &["customers", "purchases"],
        ),
        (
            "SELECT (SELECT max(amount) FROM purchases) AS m",
            &["purchases"],
        ),
        (
            "SELECT a FROM t1 WHERE a IN (SELECT email FROM customers)",
            &["customers", "t1"],
        ),
        (
            "SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = t1.b)",
            &["purchases", "t1"],
        ),
        (
            "SELECT a FROM t1 WHERE b > ALL (SELECT customer_id FROM purchases)",
            &["purchases", "t1"],
        ),
        (
            "WITH c AS (SELECT id FROM customers), p AS (SELECT customer_id FROM purchases) \
             SELECT * FROM c JOIN p ON c.id = p.customer_id",
            &["customers", "purchases"],
        ),
        ("WITH unused AS (SELECT id FROM purchases) SELECT 1", &[]),
        (
            "SELECT a FROM t1 UNION ALL SELECT email FROM customers",
            &["customers", "t1"],
        ),
        (
            "SELECT id FROM customers INTERSECT SELECT customer_id FROM purchases",
            &["customers", "purchases"],
        ),
        (
            "SELECT id FROM customers EXCEPT SELECT customer_id FROM purchases",
            &["customers", "purchases"],
        ),
        (
            "SELECT * FROM (SELECT * FROM (SELECT id FROM customers) x) y",
            &["customers"],
        ),
        (
            "SELECT c.id FROM customers c LEFT JOIN purchases p ON c.id = p.customer_id \
             CROSS JOIN t1",
            &["customers", "purchases", "t1"],
        ),
        (
            "SELECT x.e FROM customers c, LATERAL (SELECT c.email AS e) x",
            &["customers"],
        ),
        (
            "SELECT id FROM customers ORDER BY (SELECT count(*) FROM purchases) LIMIT 1",
            &["customers", "purchases"],
        ),
        (
            "SELECT id, count(*) FROM customers GROUP BY id \
             HAVING count(*) > (SELECT count(*) FROM purchases)",
            &["customers", "purchases"],
        ),
        // The working table of a recursive CTE is not a table; what the CTE reads is.
        (
            "WITH RECURSIVE r(n) AS (SELECT id FROM customers UNION ALL \
             SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r",
            &["customers"],
        ),
        // Table functions appear under their planned name, so a caller that only admits
        // collaboration tables refuses them.
        (
            "SELECT * FROM generate_series(1, 3)",
            &["generate_series()"],
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(scanned_tables(&plan(sql).await), set(expected), "{sql}");
    }
}

/// A `ViewTable` is inlined at planning time: the plan scans the view's inner table and the
/// view's name survives only as a subquery alias. That is why collaboration tables are
/// registered as `CollaborationTable`s, which keep their name, even around a view.
#[tokio::test]
async fn views_are_inlined_but_collaboration_tables_keep_their_name() {
    let ctx = session();
    ctx.register_table("raw_customers", customers_data())
        .unwrap();
    let view_plan = ctx
        .state()
        .create_logical_plan("SELECT id, email FROM raw_customers")
        .await
        .unwrap();
    ctx.register_table(
        "v_customers",
        Arc::new(ViewTable::new(view_plan.clone(), None)),
    )
    .unwrap();
    let plan = ctx
        .state()
        .create_logical_plan("SELECT email FROM v_customers")
        .await
        .unwrap();
    assert_eq!(scanned_tables(&plan), set(&["raw_customers"]));
    assert!(plan
        .display_indent()
        .to_string()
        .contains("SubqueryAlias: v_customers"));

    let wrapped =
        CollaborationTable::all_columns("w_customers", Arc::new(ViewTable::new(view_plan, None)));
    ctx.register_table("w_customers", Arc::new(wrapped))
        .unwrap();
    let plan = ctx
        .state()
        .create_logical_plan("SELECT email FROM w_customers")
        .await
        .unwrap();
    assert_eq!(scanned_tables(&plan), set(&["w_customers"]));
    // And it still runs, through the view.
    let rows = ctx
        .sql("SELECT count(*) AS n FROM w_customers WHERE email LIKE '%x.com'")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let n = rows[0]
        .column(0)
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(n, 2);
}

/// Qualified references report the bare name.
#[tokio::test]
async fn qualified_names_are_reported_bare() {
    let plan = plan("SELECT email FROM datafusion.public.customers").await;
    assert_eq!(scanned_tables(&plan), set(&["customers"]));
}
