//! Writing a population: the query's rows become one new Delta version (save mode Overwrite,
//! schema mode Overwrite) in a single commit.
//!
//! delta-rs plans the query in the caller's session and streams its batches through a bounded
//! channel into a Parquet writer that hands each completed row group (at most 64 MiB here) to
//! the file system, so memory does not grow with the row count. The commit is the last step: until `_delta_log/<version>.json` exists,
//! nothing the write produced is visible.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use deltalake::delta_datafusion::planner::DeltaPlanner;
use deltalake::delta_datafusion::{DeltaScanNext, SessionFallbackPolicy};
use deltalake::kernel::transaction::CommitProperties;
use deltalake::operations::write::SchemaMode;
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;

use super::table_id::TableId;
use super::DELTA_LOG_DIR;
use super::{
    columns, table_url, ManagedStorage, StorageError, WriteOptions, WriteTimings, WrittenVersion,
};

/// Size (estimated, encoded) at which a row group is written out. Parquet's own limit counts
/// rows only (about a million), which for wide rows would hold gigabytes in memory.
const ROW_GROUP_BYTES: usize = 64 * 1024 * 1024;

impl ManagedStorage {
    /// Writes the rows produced by `plan` (a DataFusion logical plan built in `state`, which has
    /// the source tables registered) as a new Delta version of `table_id`, replacing the previous
    /// content and schema. Rows are streamed: memory does not grow with the row count. Returns
    /// once the version is committed and flushed to disk.
    ///
    /// Dropping the returned future cancels the write; the previous version stays current.
    ///
    /// The query runs with `state`'s configuration, catalogs, functions and runtime, but with
    /// delta-rs' query planner: a custom query planner set on `state` is not used.
    ///
    /// # Errors
    /// [`StorageError::InvalidTableId`]; [`StorageError::NoColumns`] or
    /// [`StorageError::UnsupportedColumn`] for results that cannot be stored (nothing is
    /// written); [`StorageError::Delta`] when the query fails while running or the commit fails
    /// (the previous version stays current); [`StorageError::Io`].
    pub async fn write_version(
        &self,
        table_id: &str,
        state: &SessionState,
        plan: LogicalPlan,
        options: &WriteOptions,
    ) -> Result<WrittenVersion, StorageError> {
        let id = TableId::parse(table_id)?;
        let plan = columns::storable_plan(&id, plan)?;
        let began = Instant::now();
        let _guard = self.locks.lock(&id).await;

        let dir = self.table_dir(&id);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| StorageError::io(&dir, e))?;
        let delta = |e| StorageError::delta(id.as_str(), e);
        let table = DeltaTable::try_from_url(table_url(&dir)?)
            .await
            .map_err(delta)?;

        let mut commit = CommitProperties::default()
            // The Delta default deletes log entries by wall-clock age; the emulator's clock and
            // retention decide what is kept, through `retain_only`.
            .with_cleanup_expired_logs(Some(false));
        if !options.commit_metadata.is_empty() {
            commit = commit.with_metadata(options.commit_metadata.clone());
        }
        let mut builder = table
            .write(Vec::<RecordBatch>::new())
            .with_input_plan(plan)
            .with_session_state(Arc::new(session_for_write(state, options)))
            .with_session_fallback_policy(SessionFallbackPolicy::RequireSessionState)
            .with_save_mode(SaveMode::Overwrite)
            .with_schema_mode(SchemaMode::Overwrite)
            .with_writer_properties(writer_properties())
            .with_commit_properties(commit);
        if let Some(size) = options.target_file_size {
            builder = builder.with_target_file_size(Some(size));
        }
        let opened = Instant::now();
        let table = builder.await.map_err(delta)?;
        let written = Instant::now();

        let snapshot = table.snapshot().map_err(delta)?;
        let version = snapshot.version();
        let mut paths = Vec::new();
        let (mut rows, mut bytes) = (0u64, 0u64);
        for file in snapshot.log_data().iter() {
            paths.push(file.path().into_owned());
            rows += file.num_records().unwrap_or(0) as u64;
            bytes += u64::try_from(file.size()).unwrap_or(0);
        }
        // The schema a reader of this version sees (strings as views, for example).
        let schema = DeltaScanNext::builder()
            .with_eager_snapshot(snapshot.snapshot().clone())
            .build()
            .await
            .map_err(|e| StorageError::datafusion(id.as_str(), e))?
            .schema();
        let files = paths.len();
        let read_back = Instant::now();
        sync_version(dir, version, paths).await?;

        Ok(WrittenVersion {
            delta_version: i64::try_from(version).unwrap_or(i64::MAX),
            rows,
            files,
            bytes,
            schema,
            timings: WriteTimings {
                open: opened - began,
                write: written - opened,
                snapshot: read_back - written,
                sync: read_back.elapsed(),
            },
        })
    }
}

/// `state` with delta-rs' query planner (it plans the write's own logical nodes) and the
/// write's parallelism.
pub(super) fn session_for_write(state: &SessionState, options: &WriteOptions) -> SessionState {
    let mut builder = SessionStateBuilder::new_from_existing(state.clone())
        .with_query_planner(DeltaPlanner::new());
    if let Some(n) = options.target_partitions {
        builder = builder.with_config(state.config().clone().with_target_partitions(n.max(1)));
    }
    builder.build()
}

/// Parquet settings of the data files: Snappy (the Delta Lake default) and row groups bounded in
/// bytes as well as rows.
fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
        .build()
}

/// Flushes a committed version to disk: its data files, its log entry and the directories
/// naming them.
async fn sync_version(
    dir: std::path::PathBuf,
    version: u64,
    data_files: Vec<String>,
) -> Result<(), StorageError> {
    tokio::task::spawn_blocking(move || {
        for file in &data_files {
            // Files written by this emulator are relative paths inside the table directory.
            if !file.contains("://") {
                sync_path(&dir.join(file))?;
            }
        }
        let log = dir.join(DELTA_LOG_DIR);
        sync_path(&log.join(format!("{version:020}.json")))?;
        sync_path(&log)?;
        sync_path(&dir)?;
        match dir.parent() {
            Some(root) => sync_path(root),
            None => Ok(()),
        }
    })
    .await
    .map_err(|e| StorageError::Task(e.to_string()))?
}

/// `fsync` of one file or directory.
fn sync_path(path: &Path) -> Result<(), StorageError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StorageError::io(path, e))
}
