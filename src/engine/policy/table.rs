//! [`CollaborationTable`]: how a collaboration table is registered in a query session so that
//! the plan keeps its collaboration name and only its allowed columns are visible.
//!
//! Why not a `ViewTable`: DataFusion inlines a view while planning (the scan becomes
//! `SubqueryAlias(name) → Projection → TableScan(inner)`), so the plan only names the inner
//! table, and a user's `FROM (SELECT …) customers` would look the same. A `CollaborationTable`
//! exposes no logical plan, so the plan shows `TableScan: customers` and lineage reports the
//! collaboration name. Reads go straight to the wrapped table with the column positions mapped.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::{DataFusionError, Statistics};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;

use super::PolicyError;

/// A table as a collaboration sees it: a subset of the columns of the wrapped table, registered
/// under its collaboration name. Any `TableProvider` can be wrapped, a `ViewTable` included
/// (its plan then stays hidden from the query's plan).
#[derive(Debug)]
pub struct CollaborationTable {
    /// The collaboration name (for messages).
    name: String,
    /// The table holding the data.
    inner: Arc<dyn TableProvider>,
    /// Positions in the inner schema of the visible columns, in visible order.
    columns: Vec<usize>,
    /// The visible schema.
    schema: SchemaRef,
}

impl CollaborationTable {
    /// Exposes the columns `columns` of `inner` (in that order, duplicates dropped) as the table
    /// `name`. A column is matched by its exact name, else case-insensitively.
    ///
    /// # Errors
    /// [`PolicyError::UnknownColumn`] when `inner` has no such column.
    pub fn new(
        name: impl Into<String>,
        inner: Arc<dyn TableProvider>,
        columns: &[impl AsRef<str>],
    ) -> Result<Self, PolicyError> {
        let name = name.into();
        let inner_schema = inner.schema();
        let mut positions: Vec<usize> = Vec::with_capacity(columns.len());
        for column in columns {
            let column = column.as_ref();
            let fields = inner_schema.fields();
            let position = fields
                .iter()
                .position(|f| f.name() == column)
                .or_else(|| {
                    fields
                        .iter()
                        .position(|f| f.name().eq_ignore_ascii_case(column))
                })
                .ok_or_else(|| PolicyError::UnknownColumn {
                    table: name.clone(),
                    column: column.to_string(),
                })?;
            if !positions.contains(&position) {
                positions.push(position);
            }
        }
        Ok(Self::with_positions(name, inner, positions))
    }

    /// Exposes every column of `inner` as the table `name`.
    pub fn all_columns(name: impl Into<String>, inner: Arc<dyn TableProvider>) -> Self {
        let positions = (0..inner.schema().fields().len()).collect();
        Self::with_positions(name.into(), inner, positions)
    }

    /// Builds the table from resolved positions.
    fn with_positions(name: String, inner: Arc<dyn TableProvider>, columns: Vec<usize>) -> Self {
        let inner_schema = inner.schema();
        let fields: Vec<_> = columns
            .iter()
            .map(|i| Arc::clone(&inner_schema.fields()[*i]))
            .collect();
        let schema = Arc::new(Schema::new_with_metadata(
            fields,
            inner_schema.metadata().clone(),
        ));
        Self {
            name,
            inner,
            columns,
            schema,
        }
    }

    /// The collaboration name this table was built for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The table holding the data.
    pub fn inner(&self) -> &Arc<dyn TableProvider> {
        &self.inner
    }

    /// Maps a projection over the visible columns to one over the inner table.
    fn inner_projection(
        &self,
        projection: Option<&[usize]>,
    ) -> Result<Vec<usize>, DataFusionError> {
        match projection {
            None => Ok(self.columns.clone()),
            Some(projection) => projection
                .iter()
                .map(|i| {
                    self.columns.get(*i).copied().ok_or_else(|| {
                        DataFusionError::Internal(format!("table {} has no column {i}", self.name))
                    })
                })
                .collect(),
        }
    }
}

#[async_trait]
impl TableProvider for CollaborationTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.inner.get_column_default(column)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let projection = self.inner_projection(projection.map(Vec::as_slice))?;
        self.inner
            .scan(state, Some(&projection), filters, limit)
            .await
    }

    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> datafusion::common::Result<ScanResult> {
        let projection = self.inner_projection(args.projection())?;
        let inner_args = ScanArgs::default()
            .with_projection(Some(&projection))
            .with_filters(args.filters())
            .with_limit(args.limit())
            .with_statistics_requests(args.statistics_requests());
        self.inner.scan_with_args(state, inner_args).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        // Filters name columns, and visible columns keep their inner names.
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        let inner = self.inner.statistics()?;
        let column_statistics = self
            .columns
            .iter()
            .map(|i| inner.column_statistics.get(*i).cloned())
            .collect::<Option<Vec<_>>>()?;
        Some(Statistics {
            num_rows: inner.num_rows,
            total_byte_size: inner.total_byte_size,
            column_statistics,
        })
    }
}
