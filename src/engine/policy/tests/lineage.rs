//! [`output_lineage`] and [`column_usage`] over every construct a protected query can use.

use super::{plan, sources};
use crate::engine::policy::{column_usage, output_lineage, OutputColumn};

/// Asserts the output columns of `sql`, in order, with their sources (`table.column`).
async fn assert_lineage(sql: &str, expected: &[(&str, &[&str])]) {
    let plan = plan(sql).await;
    let actual = match output_lineage(&plan) {
        Ok(actual) => actual,
        Err(e) => panic!("lineage of {sql}: {e}\n{}", plan.display_indent()),
    };
    let expected: Vec<OutputColumn> = expected
        .iter()
        .map(|(name, names)| OutputColumn {
            name: name.to_string(),
            sources: sources(names),
        })
        .collect();
    assert_eq!(actual, expected, "{sql}\n{}", plan.display_indent());
}

/// Asserts the columns `sql` uses anywhere.
async fn assert_usage(sql: &str, expected: &[&str]) {
    let plan = plan(sql).await;
    assert_eq!(column_usage(&plan).unwrap(), sources(expected), "{sql}");
}

#[tokio::test]
async fn direct_and_aliased_columns() {
    assert_lineage(
        "SELECT email, id AS ident FROM customers",
        &[
            ("email", &["customers.email"]),
            ("ident", &["customers.id"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT c.email AS contact FROM customers c",
        &[("contact", &["customers.email"])],
    )
    .await;
}

#[tokio::test]
async fn derived_tables_and_ctes() {
    assert_lineage(
        "SELECT x FROM (SELECT email AS x FROM customers) t",
        &[("x", &["customers.email"])],
    )
    .await;
    assert_lineage(
        "WITH c AS (SELECT upper(email) e FROM customers) SELECT e FROM c",
        &[("e", &["customers.email"])],
    )
    .await;
    // CTE columns renamed in the CTE's header, and CTEs built on CTEs.
    assert_lineage(
        "WITH c(k, v) AS (SELECT id, email FROM customers), d AS (SELECT v AS w, k FROM c) \
         SELECT w, k + 1 AS k1 FROM d",
        &[("w", &["customers.email"]), ("k1", &["customers.id"])],
    )
    .await;
    // A CTE column that is not selected in the end does not count.
    assert_lineage(
        "WITH c AS (SELECT id, email FROM customers) SELECT id FROM c",
        &[("id", &["customers.id"])],
    )
    .await;
    // Derived table aliased with column names.
    assert_lineage(
        "SELECT q FROM (SELECT email FROM customers) AS t(q)",
        &[("q", &["customers.email"])],
    )
    .await;
}

#[tokio::test]
async fn expressions_and_transformations() {
    assert_lineage(
        "SELECT CASE WHEN email IS NULL THEN 1 ELSE 0 END AS has_no_email FROM customers",
        &[("has_no_email", &["customers.email"])],
    )
    .await;
    assert_lineage(
        "SELECT name || '<' || email || '>' AS contact FROM customers",
        &[("contact", &["customers.email", "customers.name"])],
    )
    .await;
    assert_lineage(
        "SELECT concat(name, email) AS c, CAST(id AS VARCHAR) AS s, id * 2 + 1 AS n, \
         coalesce(email, name) AS f, length(email) > 3 AS long, 'k' AS lit FROM customers",
        &[
            ("c", &["customers.email", "customers.name"]),
            ("s", &["customers.id"]),
            ("n", &["customers.id"]),
            ("f", &["customers.email", "customers.name"]),
            ("long", &["customers.email"]),
            ("lit", &[]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT email LIKE '%x.com' AS at_x, id BETWEEN 1 AND 2 AS low, \
         id IN (1, 2) AS listed, NOT (email = 'a') AS other FROM customers",
        &[
            ("at_x", &["customers.email"]),
            ("low", &["customers.id"]),
            ("listed", &["customers.id"]),
            ("other", &["customers.email"]),
        ],
    )
    .await;
    // A CASE whose condition reads one column and whose branches read another.
    assert_lineage(
        "SELECT CASE WHEN email LIKE '%x' THEN name END AS n FROM customers",
        &[("n", &["customers.email", "customers.name"])],
    )
    .await;
}

#[tokio::test]
async fn scalar_in_and_exists_subqueries_in_the_select_list() {
    assert_lineage(
        "SELECT (SELECT max(email) FROM customers) AS m",
        &[("m", &["customers.email"])],
    )
    .await;
    assert_lineage(
        "SELECT product, (SELECT max(email) FROM customers) AS m FROM purchases",
        &[
            ("product", &["purchases.product"]),
            ("m", &["customers.email"]),
        ],
    )
    .await;
    // A correlation used only to filter the subquery does not count...
    assert_lineage(
        "SELECT (SELECT max(p.amount) FROM purchases p WHERE p.customer_id = c.id) AS top \
         FROM customers c",
        &[("top", &["purchases.amount"])],
    )
    .await;
    // ...but an outer column the subquery outputs does.
    assert_lineage(
        "SELECT (SELECT max(c.email) FROM purchases p WHERE p.customer_id = c.id) AS e \
         FROM customers c",
        &[("e", &["customers.email"])],
    )
    .await;
    assert_lineage(
        "SELECT a IN (SELECT email FROM customers) AS known FROM t1",
        &[("known", &["customers.email", "t1.a"])],
    )
    .await;
    assert_lineage(
        "SELECT b > ANY (SELECT amount FROM purchases) AS big FROM t1",
        &[("big", &["purchases.amount", "t1.b"])],
    )
    .await;
    // EXISTS derives from the subquery's output only (its WHERE is filtering).
    assert_lineage(
        "SELECT EXISTS (SELECT 1 FROM customers WHERE email = t1.a) AS known FROM t1",
        &[("known", &[])],
    )
    .await;
    assert_lineage(
        "SELECT EXISTS (SELECT email FROM customers) AS any_email",
        &[("any_email", &["customers.email"])],
    )
    .await;
}

#[tokio::test]
async fn set_operations_union_sources_by_position() {
    assert_lineage(
        "SELECT a FROM t1 UNION ALL SELECT email FROM customers",
        &[("a", &["customers.email", "t1.a"])],
    )
    .await;
    assert_lineage(
        "SELECT a, b FROM t1 UNION SELECT email, id FROM customers UNION SELECT product, 1 FROM purchases",
        &[
            ("a", &["customers.email", "purchases.product", "t1.a"]),
            ("b", &["customers.id", "t1.b"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT a, b FROM t1 UNION ALL BY NAME SELECT id AS b, email AS a FROM customers",
        &[
            ("a", &["customers.email", "t1.a"]),
            ("b", &["customers.id", "t1.b"]),
        ],
    )
    .await;
    // INTERSECT's rows equal the right side's values, so both sides count.
    assert_lineage(
        "SELECT a FROM t1 INTERSECT SELECT email FROM customers",
        &[("a", &["customers.email", "t1.a"])],
    )
    .await;
    assert_lineage(
        "SELECT a FROM t1 INTERSECT ALL SELECT email FROM customers",
        &[("a", &["customers.email", "t1.a"])],
    )
    .await;
    // EXCEPT: counted conservatively as well.
    assert_lineage(
        "SELECT a, b FROM t1 EXCEPT SELECT email, id FROM customers",
        &[
            ("a", &["customers.email", "t1.a"]),
            ("b", &["customers.id", "t1.b"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn aggregates() {
    assert_lineage(
        "SELECT count(*) AS n FROM customers WHERE email LIKE '%x'",
        &[("n", &[])],
    )
    .await;
    assert_lineage(
        "SELECT count(email) AS n, count(DISTINCT name) AS d, max(email) AS m, \
         sum(id) AS s, count(1) AS one FROM customers",
        &[
            ("n", &["customers.email"]),
            ("d", &["customers.name"]),
            ("m", &["customers.email"]),
            ("s", &["customers.id"]),
            ("one", &[]),
        ],
    )
    .await;
    // Aggregate FILTER and ORDER BY count (they shape the aggregated value).
    assert_lineage(
        "SELECT count(*) FILTER (WHERE email LIKE '%x') AS n, \
         array_agg(name ORDER BY email) AS names FROM customers",
        &[
            ("n", &["customers.email"]),
            ("names", &["customers.email", "customers.name"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT max(upper(email)) || name AS m FROM customers GROUP BY name",
        &[("m", &["customers.email", "customers.name"])],
    )
    .await;
}

#[tokio::test]
async fn grouping_columns_count_only_when_projected() {
    assert_lineage(
        "SELECT count(*) AS n FROM customers GROUP BY email",
        &[("n", &[])],
    )
    .await;
    assert_lineage(
        "SELECT email, count(*) AS n FROM customers GROUP BY email HAVING count(*) > 1",
        &[("email", &["customers.email"]), ("n", &[])],
    )
    .await;
    assert_lineage(
        "SELECT lower(email) AS e, count(*) AS n FROM customers GROUP BY lower(email)",
        &[("e", &["customers.email"]), ("n", &[])],
    )
    .await;
    assert_lineage(
        "SELECT sum(amount) AS total FROM purchases GROUP BY product HAVING max(customer_id) > 1",
        &[("total", &["purchases.amount"])],
    )
    .await;
    assert_lineage(
        "SELECT product, customer_id, sum(amount) AS total FROM purchases \
         GROUP BY GROUPING SETS ((product), (customer_id), ())",
        &[
            ("product", &["purchases.product"]),
            ("customer_id", &["purchases.customer_id"]),
            ("total", &["purchases.amount"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT product, sum(amount) AS total FROM purchases GROUP BY ROLLUP (product, customer_id)",
        &[
            ("product", &["purchases.product"]),
            ("total", &["purchases.amount"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT product, grouping(product) AS g FROM purchases GROUP BY CUBE (product)",
        &[
            ("product", &["purchases.product"]),
            ("g", &["purchases.product"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn window_functions_count_partition_and_order_keys() {
    assert_lineage(
        "SELECT id, row_number() OVER (PARTITION BY email) AS rn FROM customers",
        &[("id", &["customers.id"]), ("rn", &["customers.email"])],
    )
    .await;
    assert_lineage(
        "SELECT rank() OVER (ORDER BY name) AS r, \
         sum(id) OVER (PARTITION BY email ORDER BY name) AS s FROM customers",
        &[
            ("r", &["customers.name"]),
            ("s", &["customers.email", "customers.id", "customers.name"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT lag(email) OVER (ORDER BY id) AS prev FROM customers",
        &[("prev", &["customers.email", "customers.id"])],
    )
    .await;
    // A window over an aggregate.
    assert_lineage(
        "SELECT product, sum(sum(amount)) OVER () AS grand FROM purchases GROUP BY product",
        &[
            ("product", &["purchases.product"]),
            ("grand", &["purchases.amount"]),
        ],
    )
    .await;
}

#[tokio::test]
async fn joins() {
    assert_lineage(
        "SELECT c.name, p.amount FROM customers c JOIN purchases p ON c.id = p.customer_id",
        &[
            ("name", &["customers.name"]),
            ("amount", &["purchases.amount"]),
        ],
    )
    .await;
    // Join keys used only in ON do not count.
    assert_lineage(
        "SELECT p.product FROM customers c JOIN purchases p ON c.email = p.product",
        &[("product", &["purchases.product"])],
    )
    .await;
    // USING: the projected key comes from one side.
    assert_lineage(
        "SELECT id, name FROM customers JOIN (SELECT customer_id AS id, product FROM purchases) p \
         USING (id)",
        &[("id", &["customers.id"]), ("name", &["customers.name"])],
    )
    .await;
    // `SELECT *` with USING lists the key once, from the left side.
    assert_lineage(
        "SELECT * FROM customers c LEFT JOIN (SELECT customer_id AS id, amount FROM purchases) p \
         USING (id)",
        &[
            ("id", &["customers.id"]),
            ("email", &["customers.email"]),
            ("name", &["customers.name"]),
            ("tags", &["customers.tags"]),
            ("amount", &["purchases.amount"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT c.email, t1.b FROM customers c FULL JOIN t1 ON c.name = t1.a AND t1.b > 2 \
         CROSS JOIN purchases",
        &[("email", &["customers.email"]), ("b", &["t1.b"])],
    )
    .await;
    // LATERAL: the right side outputs a left column.
    assert_lineage(
        "SELECT x.e FROM customers c, LATERAL (SELECT c.email AS e) x",
        &[("e", &["customers.email"])],
    )
    .await;
    // Self-join.
    assert_lineage(
        "SELECT a.email AS e1, b.name AS n2 FROM customers a JOIN customers b ON a.id = b.id",
        &[("e1", &["customers.email"]), ("n2", &["customers.name"])],
    )
    .await;
}

#[tokio::test]
async fn select_star_distinct_order_limit() {
    assert_lineage(
        "SELECT * FROM customers",
        &[
            ("id", &["customers.id"]),
            ("email", &["customers.email"]),
            ("name", &["customers.name"]),
            ("tags", &["customers.tags"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT c.*, p.amount FROM customers c JOIN purchases p ON c.id = p.customer_id",
        &[
            ("id", &["customers.id"]),
            ("email", &["customers.email"]),
            ("name", &["customers.name"]),
            ("tags", &["customers.tags"]),
            ("amount", &["purchases.amount"]),
        ],
    )
    .await;
    assert_lineage(
        "SELECT * EXCLUDE (email, tags) FROM customers",
        &[("id", &["customers.id"]), ("name", &["customers.name"])],
    )
    .await;
    assert_lineage(
        "SELECT DISTINCT name FROM customers ORDER BY name LIMIT 2 OFFSET 1",
        &[("name", &["customers.name"])],
    )
    .await;
    // ORDER BY a column that is not output: it does not count.
    assert_lineage(
        "SELECT name FROM customers ORDER BY email DESC LIMIT 1",
        &[("name", &["customers.name"])],
    )
    .await;
    assert_lineage(
        "SELECT DISTINCT ON (email) name FROM customers ORDER BY email, id",
        &[("name", &["customers.name"])],
    )
    .await;
}

#[tokio::test]
async fn values_unnest_and_recursion() {
    assert_lineage(
        "VALUES (1, 'a'), (2, 'b')",
        &[("column1", &[]), ("column2", &[])],
    )
    .await;
    assert_lineage("SELECT x FROM (VALUES (1), (2)) v(x)", &[("x", &[])]).await;
    // A subquery inside VALUES carries its sources.
    assert_lineage(
        "SELECT x FROM (VALUES ((SELECT max(email) FROM customers))) v(x)",
        &[("x", &["customers.email"])],
    )
    .await;
    assert_lineage(
        "SELECT id, unnest(tags) AS tag FROM customers",
        &[("id", &["customers.id"]), ("tag", &["customers.tags"])],
    )
    .await;
    assert_lineage(
        "SELECT t FROM (SELECT unnest(tags) AS t FROM customers) u WHERE t <> 'a'",
        &[("t", &["customers.tags"])],
    )
    .await;
    assert_lineage(
        "SELECT * FROM unnest([1, 2])",
        &[("UNNEST(make_array(Int64(1),Int64(2)))", &[])],
    )
    .await;
    // The recursive term's contribution flows back into the CTE's columns.
    assert_lineage(
        "WITH RECURSIVE r(n, e) AS (SELECT id, 'x' FROM customers UNION ALL \
         SELECT n + 1, e || name FROM r JOIN customers ON r.n = customers.id WHERE n < 3) \
         SELECT n, e FROM r",
        &[("n", &["customers.id"]), ("e", &["customers.name"])],
    )
    .await;
    // A column fed by another column of the working table two rounds later.
    assert_lineage(
        "WITH RECURSIVE r(a, b, c) AS (SELECT email, 'x', 'y' FROM customers UNION ALL \
         SELECT a, a AS a2, b FROM r WHERE a IS NULL) SELECT c FROM r",
        &[("c", &["customers.email"])],
    )
    .await;
}

#[tokio::test]
async fn constants_and_table_functions() {
    assert_lineage(
        "SELECT 1 AS one, now() IS NOT NULL AS t",
        &[("one", &[]), ("t", &[])],
    )
    .await;
    assert_lineage(
        "SELECT value FROM generate_series(1, 3)",
        &[("value", &["generate_series().value"])],
    )
    .await;
}

#[tokio::test]
async fn usage_covers_filters_joins_grouping_and_ordering() {
    assert_usage(
        "SELECT count(*) FROM customers WHERE email LIKE '%x'",
        &["customers.email"],
    )
    .await;
    assert_usage(
        "SELECT p.product FROM customers c JOIN purchases p ON c.id = p.customer_id \
         WHERE c.name <> 'x' GROUP BY p.product HAVING sum(p.amount) > 1 ORDER BY p.product",
        &[
            "customers.id",
            "customers.name",
            "purchases.amount",
            "purchases.customer_id",
            "purchases.product",
        ],
    )
    .await;
    assert_usage(
        "WITH c AS (SELECT email AS e FROM customers) SELECT 1 FROM c WHERE e IS NOT NULL",
        &["customers.email"],
    )
    .await;
    assert_usage(
        "SELECT a FROM t1 WHERE EXISTS (SELECT 1 FROM customers WHERE email = t1.a)",
        &["customers.email", "t1.a"],
    )
    .await;
    assert_usage("SELECT count(*) FROM customers", &[]).await;
}

#[tokio::test]
async fn non_queries_have_no_lineage() {
    let plan = plan("CREATE VIEW v AS SELECT email FROM customers").await;
    assert!(output_lineage(&plan).is_err());
}

#[tokio::test]
async fn nested_correlation_and_qualified_names() {
    // An outer reference two levels up, output by the innermost subquery.
    assert_lineage(
        "SELECT (SELECT (SELECT c.email) FROM purchases p WHERE p.customer_id = c.id LIMIT 1) AS e \
         FROM customers c",
        &[("e", &["customers.email"])],
    )
    .await;
    assert_lineage(
        "SELECT customers.email, public.customers.name FROM datafusion.public.customers",
        &[
            ("email", &["customers.email"]),
            ("name", &["customers.name"]),
        ],
    )
    .await;
}
