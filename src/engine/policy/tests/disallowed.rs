//! [`check_disallowed_output_columns`] over computed lineage.

use std::collections::{BTreeMap, BTreeSet};

use super::plan;
use crate::engine::policy::{check_disallowed_output_columns, output_lineage, PolicyError};

fn rule(entries: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    entries
        .iter()
        .map(|(table, columns)| {
            (
                table.to_string(),
                columns.iter().map(|c| c.to_string()).collect(),
            )
        })
        .collect()
}

async fn check(sql: &str, disallowed: &[(&str, &[&str])]) -> Result<(), PolicyError> {
    let lineage = output_lineage(&plan(sql).await).unwrap();
    check_disallowed_output_columns(&lineage, &rule(disallowed))
}

#[tokio::test]
async fn violation_names_table_column_and_output() {
    let err = check(
        "SELECT id, lower(email) AS contact FROM customers",
        &[("customers", &["email"])],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::DisallowedOutputColumn {
            table: "customers".into(),
            column: "email".into(),
            output: "contact".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "Column 'email' of table 'customers' cannot appear in the output (it is a disallowed \
         output column); output column 'contact' derives from it"
    );
}

#[tokio::test]
async fn filtering_joining_and_grouping_on_disallowed_columns_is_allowed() {
    let disallowed: &[(&str, &[&str])] =
        &[("customers", &["email"]), ("purchases", &["customer_id"])];
    for sql in [
        "SELECT count(*) FROM customers WHERE email LIKE '%x'",
        "SELECT p.product, count(*) AS n FROM customers c JOIN purchases p \
         ON c.id = p.customer_id GROUP BY p.product",
        "SELECT count(*) AS n FROM customers GROUP BY email",
        "WITH c AS (SELECT email, id FROM customers) SELECT id FROM c ORDER BY email",
        "SELECT name FROM customers WHERE email IN (SELECT product FROM purchases)",
    ] {
        assert_eq!(check(sql, disallowed).await, Ok(()), "{sql}");
    }
}

#[tokio::test]
async fn columns_compare_case_insensitively_and_tables_exactly() {
    assert!(
        check("SELECT email FROM customers", &[("customers", &["EMAIL"])])
            .await
            .is_err()
    );
    assert_eq!(
        check("SELECT email FROM customers", &[("Customers", &["email"])]).await,
        Ok(())
    );
    assert_eq!(
        check("SELECT email FROM customers", &[("purchases", &["email"])]).await,
        Ok(())
    );
}

#[tokio::test]
async fn first_violation_in_output_order() {
    let err = check(
        "SELECT name, (SELECT max(amount) FROM purchases) AS m, email FROM customers",
        &[("customers", &["email"]), ("purchases", &["amount"])],
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        PolicyError::DisallowedOutputColumn {
            table: "purchases".into(),
            column: "amount".into(),
            output: "m".into(),
        }
    );
}
