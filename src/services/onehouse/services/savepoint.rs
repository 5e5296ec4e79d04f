//! AUTOSAVEPOINT: a savepoint of the table's current version. Delta keeps every version in its
//! log, so a savepoint writes nothing to the table: the version is recorded by the caller (CLEAN
//! keeps its files, RESTORE returns to it) and checkpointed here so it stays cheap to load.

use deltalake::checkpoints::create_checkpoint;
use deltalake::{DeltaTable, DeltaTableError};

use super::Outcome;

/// Checkpoints the current version of a table for a savepoint.
#[derive(Debug)]
pub struct SavepointTable {
    table: DeltaTable,
}

impl SavepointTable {
    /// A savepoint of `table` at the version it is loaded at.
    pub fn new(table: DeltaTable) -> Self {
        Self { table }
    }

    async fn execute(self) -> Result<Outcome, DeltaTableError> {
        let version = self
            .table
            .version()
            .ok_or_else(|| DeltaTableError::Generic("the table has no version yet".into()))?;
        create_checkpoint(&self.table, None).await?;
        Ok(Outcome {
            version_after: Some(version),
            metrics: [("savepointVersion".to_string(), version.to_string())].into(),
        })
    }
}

into_future!(SavepointTable, Result<Outcome, DeltaTableError>);
