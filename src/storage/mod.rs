//! Managed storage: where intermediate tables keep their data. Each intermediate table is one
//! Delta Lake table (written and read with delta-rs) in `<data-dir>/managed/<table_id>/`, and
//! each successful population is one atomic Delta commit that replaces the previous content.
//! The metadata store maps Clean Rooms version ids to the Delta version numbers returned here.
//!
//! Guarantees:
//! - **Atomic populations.** Data files are written first, then one log entry
//!   (`_delta_log/<version>.json`) makes them visible. A write that fails, is cancelled (its
//!   future dropped) or dies with the process leaves at most unreferenced files behind: readers
//!   still see the previous version, and [`ManagedStorage::retain_only`] removes the leftovers.
//! - **Durable on return.** [`ManagedStorage::write_version`] flushes the new data files, the log
//!   entry and their directories to disk before it returns. (delta-rs commits before that flush,
//!   so only an operating-system crash or power loss inside that window can lose a version
//!   that was never reported as written.)
//! - **Time travel.** Older versions stay readable ([`ManagedStorage::provider`]) until
//!   [`ManagedStorage::retain_only`] deletes their files; after that they answer
//!   [`StorageError::VersionRemoved`].
//! - **One operation per table at a time.** Writes, retention and deletion of one table are
//!   serialised inside a `ManagedStorage` (and its clones), so retention never deletes the files
//!   of a write in progress. Use one `ManagedStorage` per data dir.
//!
//! Column names and types are whatever the query produced; types Delta Lake cannot hold exactly
//! are converted first (see [`columns`]).

mod columns;
mod error;
mod log;
mod read;
mod retention;
mod table_id;
mod write;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::SchemaRef;
use tokio::sync::OwnedMutexGuard;
use url::Url;

pub use error::StorageError;
use table_id::TableId;

/// Name of the managed-storage directory inside the data dir.
pub const MANAGED_DIR: &str = "managed";

/// Name of a Delta table's log directory.
const DELTA_LOG_DIR: &str = "_delta_log";

/// Root of managed storage, `<data_dir>/managed`. Cheap to clone; clones share the per-table
/// locks.
#[derive(Clone, Debug)]
pub struct ManagedStorage {
    root: Arc<PathBuf>,
    locks: TableLocks,
}

/// How [`ManagedStorage::write_version`] runs the query and lays out files.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// Parallelism of the query feeding the write (DataFusion `target_partitions`); `None` keeps
    /// the session's setting.
    pub target_partitions: Option<usize>,
    /// Start a new data file once the current one reaches about this many bytes; `None` uses
    /// the Delta Lake default (100 MiB). This sets how many files a population produces, not
    /// how much memory it uses: each writer holds at most one row group (64 MiB encoded).
    pub target_file_size: Option<NonZeroU64>,
    /// Entries added to the Delta commit's `commitInfo` (for example the Clean Rooms version
    /// id), so a commit can be traced back to the population that made it.
    pub commit_metadata: BTreeMap<String, serde_json::Value>,
}

/// What one successful [`ManagedStorage::write_version`] committed.
#[derive(Debug, Clone)]
pub struct WrittenVersion {
    /// The new Delta version number (0 for a table's first population).
    pub delta_version: i64,
    /// Rows in the new version.
    pub rows: u64,
    /// Data files in the new version (0 when the query returned no rows).
    pub files: usize,
    /// Total size of those files in bytes.
    pub bytes: u64,
    /// The schema readers of the version see ([`ManagedStorage::provider`]): the query's
    /// columns after type conversion, strings and binaries as `Utf8View` / `BinaryView`.
    pub schema: SchemaRef,
    /// Where the write's time went.
    pub timings: WriteTimings,
}

/// Where the time of one [`ManagedStorage::write_version`] went, for the breakdown of a
/// population (`docs/benchmarks.md`).
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteTimings {
    /// Waiting for the table's write lock and loading its current version.
    pub open: std::time::Duration,
    /// Running the query, encoding Parquet and committing the Delta version (delta-rs' write).
    pub write: std::time::Duration,
    /// Reading back the new version's files and reader schema.
    pub snapshot: std::time::Duration,
    /// `fsync` of the data files, the log entry and their directories.
    pub sync: std::time::Duration,
}

impl ManagedStorage {
    /// Managed storage under `<data_dir>/managed`. Creates nothing until the first write.
    pub fn new(data_dir: &Path) -> Self {
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        Self {
            root: Arc::new(data_dir.join(MANAGED_DIR)),
            locks: TableLocks::default(),
        }
    }

    /// The directory holding managed tables.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The newest committed Delta version of `table_id`, or `None` when the table has none
    /// (never written, or deleted). A version newer than the one the metadata store knows is
    /// a population whose commit landed but whose completion was never recorded.
    ///
    /// # Errors
    /// [`StorageError::InvalidTableId`], or [`StorageError::Io`] when the log cannot be listed.
    pub async fn latest_version(&self, table_id: &str) -> Result<Option<i64>, StorageError> {
        let id = TableId::parse(table_id)?;
        latest_committed_version(&self.table_dir(&id)).await
    }

    /// The directory of table `id`.
    fn table_dir(&self, id: &TableId) -> PathBuf {
        self.root.join(id.as_str())
    }
}

/// The `file://` URL of a table directory.
fn table_url(dir: &Path) -> Result<Url, StorageError> {
    Url::from_directory_path(dir).map_err(|()| {
        StorageError::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "managed storage needs an absolute directory",
            ),
        )
    })
}

/// The highest `_delta_log/<20 digits>.json` in `dir`, or `None` without any.
async fn latest_committed_version(dir: &Path) -> Result<Option<i64>, StorageError> {
    let log = dir.join(DELTA_LOG_DIR);
    let mut entries = match tokio::fs::read_dir(&log).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(&log, e)),
    };
    let mut latest = None;
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| StorageError::io(&log, e))?
    {
        if let Some(version) = entry.file_name().to_str().and_then(commit_file_version) {
            latest = latest.max(Some(version));
        }
    }
    Ok(latest)
}

/// The version of a commit file name (`00000000000000000007.json` → 7).
fn commit_file_version(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".json")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One async mutex per table id, created on first use.
#[derive(Clone, Debug, Default)]
struct TableLocks(Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

impl TableLocks {
    /// Waits until no other operation holds table `id`.
    async fn lock(&self, id: &TableId) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(id.as_str().to_string()).or_default().clone()
        };
        lock.lock_owned().await
    }
}
