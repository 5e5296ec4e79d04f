//! A table narrowed to some of its columns: how a collaboration table exposes only the
//! `allowedColumns` of its configured table. It stays a table in the plan (its scans carry the
//! collaboration name it is registered under), unlike a view, so plan analysis sees the
//! collaboration table and not what it is built from.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;

/// `inner` showing only the columns at `indices` (in that order).
pub struct RestrictedTable {
    inner: Arc<dyn TableProvider>,
    indices: Vec<usize>,
    schema: SchemaRef,
}

impl fmt::Debug for RestrictedTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestrictedTable")
            .field("columns", &self.schema.fields().len())
            .finish()
    }
}

impl RestrictedTable {
    /// `inner` restricted to `columns` (matched case-insensitively, in the given order).
    ///
    /// # Errors
    /// When a column is not in `inner`.
    pub fn new(inner: Arc<dyn TableProvider>, columns: &[String]) -> Result<Self> {
        let full = inner.schema();
        let mut indices = Vec::with_capacity(columns.len());
        for c in columns {
            let i = full
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(c))
                .ok_or_else(|| {
                    DataFusionError::Plan(format!("column '{c}' is not in the underlying table"))
                })?;
            indices.push(i);
        }
        let schema = Arc::new(Schema::new_with_metadata(
            indices.iter().map(|&i| full.field(i).clone()).collect::<Vec<_>>(),
            full.metadata().clone(),
        ));
        Ok(Self {
            inner,
            indices,
            schema,
        })
    }
}

#[async_trait]
impl TableProvider for RestrictedTable {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filters name columns, and our columns keep their names in the inner table.
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mapped: Vec<usize> = match projection {
            Some(p) => p.iter().map(|&i| self.indices[i]).collect(),
            None => self.indices.clone(),
        };
        self.inner.scan(state, Some(&mapped), filters, limit).await
    }
}
