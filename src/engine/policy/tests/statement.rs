//! Only a single read-only query passes [`check_statement`].

use super::{plan, session};
use crate::engine::policy::{check_statement, PolicyError};

#[tokio::test]
async fn queries_pass() {
    for sql in [
        "SELECT 1",
        "SELECT email FROM customers WHERE id > 1",
        "WITH c AS (SELECT id FROM customers) SELECT * FROM c",
        "SELECT id FROM customers UNION SELECT customer_id FROM purchases",
        "VALUES (1, 2)",
        "SELECT * FROM customers WHERE id IN (SELECT customer_id FROM purchases)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r",
    ] {
        assert_eq!(check_statement(&plan(sql).await), Ok(()), "{sql}");
    }
}

/// Each non-query statement is refused with its kind in the message.
#[tokio::test]
async fn statements_are_refused_by_kind() {
    let cases = [
        ("EXPLAIN SELECT 1", "EXPLAIN"),
        ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE"),
        ("SET datafusion.execution.batch_size = 1", "SET"),
        ("RESET datafusion.execution.batch_size", "RESET"),
        ("PREPARE p AS SELECT 1", "PREPARE"),
        ("EXECUTE p", "EXECUTE"),
        ("DEALLOCATE p", "DEALLOCATE"),
        ("COMMIT", "COMMIT/ROLLBACK"),
        ("ROLLBACK", "COMMIT/ROLLBACK"),
        ("START TRANSACTION", "START TRANSACTION"),
        ("CREATE VIEW v AS SELECT id FROM customers", "CREATE VIEW"),
        (
            "CREATE TABLE x AS SELECT email FROM customers",
            "CREATE TABLE",
        ),
        ("SELECT email INTO x FROM customers", "CREATE TABLE"),
        (
            "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/tmp/none.csv'",
            "CREATE EXTERNAL TABLE",
        ),
        ("DROP TABLE t1", "DROP TABLE"),
        ("DROP VIEW IF EXISTS v", "DROP VIEW"),
        ("CREATE SCHEMA s", "CREATE SCHEMA"),
        ("INSERT INTO t1 VALUES ('x', 1)", "INSERT"),
        ("UPDATE t1 SET b = 2", "UPDATE"),
        ("DELETE FROM t1", "DELETE"),
        ("TRUNCATE t1", "TRUNCATE"),
        ("COPY t1 TO '/tmp/none.csv'", "COPY"),
        (
            "COPY (SELECT email FROM customers) TO '/tmp/none.csv'",
            "COPY",
        ),
        ("DESCRIBE customers", "DESCRIBE"),
    ];
    for (sql, kind) in cases {
        let plan = plan(sql).await;
        let err = check_statement(&plan).expect_err(sql);
        assert_eq!(
            err,
            PolicyError::NotAQuery {
                statement: kind.to_string()
            },
            "{sql}"
        );
        assert_eq!(
            err.to_string(),
            format!("Only a single SELECT query is allowed; this statement is {kind}")
        );
    }
}

/// DataFusion's planner refuses several statements in one string before any check runs; a
/// bare `BEGIN` does not even parse as a supported statement.
#[tokio::test]
async fn multiple_statements_never_reach_the_check() {
    let ctx = session();
    for sql in [
        "SELECT 1; SELECT 2",
        "SELECT id FROM customers; DROP TABLE t1",
        "SELECT 1;SELECT 2;",
    ] {
        let err = ctx.state().create_logical_plan(sql).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("only supports a single SQL statement"),
            "{sql}: {err}"
        );
    }
    assert!(ctx.state().create_logical_plan("BEGIN").await.is_err());
    // A single statement with a trailing semicolon is still one statement.
    let plan = ctx.state().create_logical_plan("SELECT 1;").await.unwrap();
    assert_eq!(check_statement(&plan), Ok(()));
}
