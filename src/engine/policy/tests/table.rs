//! [`CollaborationTable`] shows only its allowed columns, keeps its name in plans and reads the
//! wrapped table's data correctly.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array, StringArray};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionContext;

use super::{customers_data, session};
use crate::engine::policy::{CollaborationTable, PolicyError};

async fn run(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql).await.unwrap().collect().await.unwrap()
}

fn strings(batches: &[RecordBatch], column: usize) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let array = b
                .column(column)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            (0..array.len())
                .map(|i| array.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn hidden_columns_cannot_be_referenced() {
    let ctx = session();
    for sql in [
        "SELECT secret FROM customers",
        "SELECT id FROM customers WHERE secret = 's1'",
    ] {
        let err = ctx.state().create_logical_plan(sql).await.unwrap_err();
        assert!(err.to_string().contains("secret"), "{sql}: {err}");
    }
    let batches = run(&ctx, "SELECT * FROM customers LIMIT 1").await;
    let names: Vec<_> = batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "email", "name", "tags"]);
}

#[tokio::test]
async fn reads_the_right_columns_in_the_declared_order() {
    let ctx = SessionContext::new();
    let table = CollaborationTable::new("c", customers_data(), &["name", "ID", "name"]).unwrap();
    assert_eq!(
        table
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>(),
        ["name", "id"]
    );
    ctx.register_table("c", Arc::new(table)).unwrap();
    let batches = run(&ctx, "SELECT id, name FROM c WHERE id > 1 ORDER BY id").await;
    assert_eq!(strings(&batches, 1), ["Bob", "Cy"]);
    let ids = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(ids.values().to_vec(), [2, 3]);
    let batches = run(&ctx, "SELECT * FROM c ORDER BY id DESC LIMIT 1").await;
    assert_eq!(strings(&batches, 0), ["Cy"]);
    let batches = run(&ctx, "SELECT count(*) FROM c").await;
    let n = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(n.value(0), 3);
}

#[tokio::test]
async fn plans_scan_the_collaboration_name() {
    let plan = session()
        .state()
        .create_logical_plan("SELECT email FROM customers")
        .await
        .unwrap();
    let text = plan.display_indent().to_string();
    assert!(text.contains("TableScan: customers"), "{text}");
}

#[test]
fn unknown_columns_are_refused() {
    let err = CollaborationTable::new("customers", customers_data(), &["id", "phone"]).unwrap_err();
    assert_eq!(
        err,
        PolicyError::UnknownColumn {
            table: "customers".into(),
            column: "phone".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "Column 'phone' does not exist in the data of table 'customers'"
    );
}
