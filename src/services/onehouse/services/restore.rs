//! RESTORE: the table back to a savepointed version, delta-rs `RESTORE`. Unlike Hudi, Delta
//! keeps the later history: the restore is itself a new version whose content is the old one.

use deltalake::{DeltaTable, DeltaTableError};

use super::{flatten_metrics, Outcome, RunTag};

/// Restores a table to an earlier version.
#[derive(Debug)]
pub struct RestoreTable {
    table: DeltaTable,
    tag: RunTag,
    version: u64,
}

impl RestoreTable {
    /// A restore of `table` to `version`, committed as run `tag`.
    pub fn new(table: DeltaTable, tag: RunTag, version: u64) -> Self {
        Self {
            table,
            tag,
            version,
        }
    }

    async fn execute(self) -> Result<Outcome, DeltaTableError> {
        if self.table.version() == Some(self.version) {
            // Already there: nothing to commit.
            let metrics = [
                ("numRemovedFile", "0"),
                ("numRestoredFile", "0"),
                ("restoredVersion", &self.version.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            return Ok(Outcome::at(&self.table, metrics));
        }
        let (table, metrics) = self
            .table
            .restore()
            .with_version_to_restore(self.version)
            .with_ignore_missing_files(false)
            .with_commit_properties(self.tag.commit_properties())
            .await?;
        let mut out = flatten_metrics(&serde_json::to_value(&metrics).unwrap_or_default());
        out.insert("restoredVersion".to_string(), self.version.to_string());
        Ok(Outcome::at(&table, out))
    }
}

into_future!(RestoreTable, Result<Outcome, DeltaTableError>);
