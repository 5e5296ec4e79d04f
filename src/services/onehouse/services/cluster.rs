//! CLUSTER: data layout by `cluster.field.names`, delta-rs `OPTIMIZE ZORDER BY`. Z-order and
//! Hilbert strategies both map to Z-order; `linear` on one column is the same as a Z-order on
//! it (an exact sort), on several columns a Z-order approximates it. delta-rs refuses
//! partition columns ("Z-order columns cannot be partition columns"), which fails the run.

use deltalake::operations::optimize::OptimizeType;
use deltalake::{DeltaTable, DeltaTableError};

use super::{flatten_metrics, Outcome, RunTag};

/// Rewrites a table's files clustered on some columns.
#[derive(Debug)]
pub struct ClusterTable {
    table: DeltaTable,
    tag: RunTag,
    columns: Vec<String>,
}

impl ClusterTable {
    /// A clustering of `table` committed as run `tag`.
    pub fn new(table: DeltaTable, tag: RunTag) -> Self {
        Self {
            table,
            tag,
            columns: Vec::new(),
        }
    }

    /// The columns to cluster on (`cluster.field.names`, comma-separated).
    #[must_use]
    pub fn with_columns(mut self, field_names: &str) -> Self {
        self.columns = field_names
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        self
    }

    async fn execute(self) -> Result<Outcome, DeltaTableError> {
        if self.columns.is_empty() {
            return Err(DeltaTableError::Generic(
                "CLUSTER needs the option 'cluster.field.names' (the columns to cluster on)".into(),
            ));
        }
        let (table, metrics) = self
            .table
            .optimize()
            .with_type(OptimizeType::ZOrder(self.columns))
            .with_commit_properties(self.tag.commit_properties())
            .await?;
        let value = serde_json::to_value(&metrics).unwrap_or_default();
        Ok(Outcome::at(&table, flatten_metrics(&value)))
    }
}

into_future!(ClusterTable, Result<Outcome, DeltaTableError>);
