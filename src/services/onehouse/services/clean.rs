//! CLEAN: removal of files the table no longer references, delta-rs `VACUUM` (full mode, so
//! files left by interrupted writers go too) with the retention of `cleaner.retention.days`
//! (0 allowed) on the emulator clock, keeping every file a savepointed version needs.

use std::sync::Arc;

use deltalake::operations::vacuum::{Clock, VacuumMode};
use deltalake::{DeltaTable, DeltaTableError};

use super::{Outcome, RunTag};

/// Deletes the unreferenced files of a table older than the retention period.
#[derive(Debug)]
pub struct CleanTable {
    table: DeltaTable,
    tag: RunTag,
    retention_days: i64,
    keep_versions: Vec<u64>,
    clock: Option<Arc<dyn Clock>>,
}

impl CleanTable {
    /// A clean of `table` committed as run `tag` (retention 7 days until set).
    pub fn new(table: DeltaTable, tag: RunTag) -> Self {
        Self {
            table,
            tag,
            retention_days: 7,
            keep_versions: Vec::new(),
            clock: None,
        }
    }

    /// Files removed from the table less than this many days ago are kept (at most a century).
    #[must_use]
    pub fn with_retention_days(mut self, days: i64) -> Self {
        self.retention_days = days.clamp(0, 36_500);
        self
    }

    /// Versions whose files must survive (the savepoints).
    #[must_use]
    pub fn with_keep_versions(mut self, versions: Vec<u64>) -> Self {
        self.keep_versions = versions;
        self
    }

    /// The clock retention is measured on (the emulator clock).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    async fn execute(self) -> Result<Outcome, DeltaTableError> {
        let mut builder = self
            .table
            .vacuum()
            .with_retention_period(chrono::Duration::days(self.retention_days))
            .with_enforce_retention_duration(false)
            .with_mode(VacuumMode::Full)
            .with_dry_run(false)
            .with_commit_properties(self.tag.commit_properties());
        if !self.keep_versions.is_empty() {
            builder = builder.with_keep_versions(&self.keep_versions);
        }
        if let Some(clock) = self.clock {
            builder = builder.with_clock(clock);
        }
        let (table, metrics) = builder.await?;
        let metrics = [
            (
                "numFilesDeleted".to_string(),
                metrics.files_deleted.len().to_string(),
            ),
            ("retentionDays".to_string(), self.retention_days.to_string()),
            (
                "savepointVersionsKept".to_string(),
                self.keep_versions.len().to_string(),
            ),
        ]
        .into();
        Ok(Outcome::at(&table, metrics))
    }
}

into_future!(CleanTable, Result<Outcome, DeltaTableError>);
