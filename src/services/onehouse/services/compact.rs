//! COMPACT: small-file compaction, delta-rs `OPTIMIZE` in bin-packing mode. Onehouse compacts
//! Hudi log files into base files; a Delta table has no log files, so compaction here rewrites
//! small data files into files of about `compaction.max.bytes`.

use std::num::NonZeroU64;

use deltalake::operations::optimize::OptimizeType;
use deltalake::{DeltaTable, DeltaTableError};

use super::{flatten_metrics, Outcome, RunTag};

/// Compacts the small files of a table into files of about the target size.
#[derive(Debug)]
pub struct CompactTable {
    table: DeltaTable,
    tag: RunTag,
    target_size: Option<NonZeroU64>,
}

impl CompactTable {
    /// A compaction of `table` committed as run `tag`.
    pub fn new(table: DeltaTable, tag: RunTag) -> Self {
        Self {
            table,
            tag,
            target_size: None,
        }
    }

    /// Target file size in bytes (`compaction.max.bytes`); the table's default otherwise.
    #[must_use]
    pub fn with_target_size(mut self, bytes: Option<NonZeroU64>) -> Self {
        self.target_size = bytes;
        self
    }

    async fn execute(self) -> Result<Outcome, DeltaTableError> {
        let mut builder = self
            .table
            .optimize()
            .with_type(OptimizeType::Compact)
            .with_commit_properties(self.tag.commit_properties());
        if let Some(size) = self.target_size {
            builder = builder.with_target_size(size);
        }
        let (table, metrics) = builder.await?;
        let value = serde_json::to_value(&metrics).unwrap_or_default();
        Ok(Outcome::at(&table, flatten_metrics(&value)))
    }
}

into_future!(CompactTable, Result<Outcome, DeltaTableError>);
