//! Tests of the plan analyses against a session shaped like a protected query's: collaboration
//! tables registered as [`CollaborationTable`]s over in-memory data, one hiding a column.

mod dialects;
mod differential_privacy;
mod disallowed;
mod lineage;
mod rules;
mod scanned;
mod statement;
mod table;

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int64Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use super::{CollaborationTable, SourceColumn};

/// `raw_customers`: id, email, name, secret, tags (a list of strings), three rows.
fn customers_data() -> Arc<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("email", DataType::Utf8, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("secret", DataType::Utf8, true),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            true,
        ),
    ]));
    let mut tags = ListBuilder::new(StringBuilder::new());
    for row in [&["a", "b"][..], &["c"][..], &[][..]] {
        for tag in row {
            tags.values().append_value(tag);
        }
        tags.append(true);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3])),
        Arc::new(StringArray::from(vec!["a@x.com", "b@y.com", "c@x.com"])),
        Arc::new(StringArray::from(vec!["Ann", "Bob", "Cy"])),
        Arc::new(StringArray::from(vec!["s1", "s2", "s3"])),
        Arc::new(tags.finish()),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())
}

/// `raw_purchases`: id, customer_id, amount, product, four rows.
fn purchases_data() -> Arc<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("amount", DataType::Float64, true),
        Field::new("product", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![10, 11, 12, 13])),
        Arc::new(Int64Array::from(vec![1, 1, 2, 3])),
        Arc::new(Float64Array::from(vec![5.0, 7.5, 1.0, 2.5])),
        Arc::new(StringArray::from(vec!["tea", "cake", "tea", "pie"])),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())
}

/// A session with collaboration tables `customers` (id, email, name, tags; `secret` hidden)
/// and `purchases` (all columns), and a plain table `t1` (a, b).
fn session() -> SessionContext {
    let ctx = SessionContext::new();
    let customers = CollaborationTable::new(
        "customers",
        customers_data(),
        &["id", "email", "name", "tags"],
    )
    .unwrap();
    ctx.register_table("customers", Arc::new(customers))
        .unwrap();
    let purchases = CollaborationTable::all_columns("purchases", purchases_data());
    ctx.register_table("purchases", Arc::new(purchases))
        .unwrap();
    let t1_schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Utf8, true),
        Field::new("b", DataType::Int64, true),
    ]));
    let t1 = MemTable::try_new(t1_schema, vec![vec![]]).unwrap();
    ctx.register_table("t1", Arc::new(t1)).unwrap();
    ctx
}

/// The unoptimized plan of `sql` in [`session`], as the emulator gets it.
async fn plan(sql: &str) -> LogicalPlan {
    let ctx = session();
    match ctx.state().create_logical_plan(sql).await {
        Ok(plan) => plan,
        Err(e) => panic!("planning {sql}: {e}"),
    }
}

/// A source set from `table.column` strings.
fn sources(names: &[&str]) -> BTreeSet<SourceColumn> {
    names
        .iter()
        .map(|name| {
            let (table, column) = name.split_once('.').unwrap();
            SourceColumn::new(table, column)
        })
        .collect()
}
