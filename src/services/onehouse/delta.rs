//! A table's Delta log for the API: opening the table (for a service, with the object store its
//! writes go through), its latest version, and the commits between two versions — which of
//! them a table service made (their `commitInfo` carries the run id) and which were writes by
//! anyone else (what AUTOMATIC services count).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deltalake::logstore::object_store::local::LocalFileSystem;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{
    self as os, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use deltalake::{DeltaTable, DeltaTableError};
use futures::stream::BoxStream;

use super::lake::{s3_bucket, table_url, LakeDir};
use super::s3_store::EmulatorS3Store;
use super::services::RUN_ID_KEY;
use crate::state::AppState;

/// Opens the Delta table in `dir` at its latest version.
///
/// # Errors
/// The delta-rs error (no table, unreadable log).
pub async fn open(dir: &Path) -> Result<DeltaTable, DeltaTableError> {
    let url = table_url(dir).map_err(DeltaTableError::Generic)?;
    deltalake::open_table(url).await
}

/// Opens the Delta table in `dir` of `lake` for a service that writes to it: in a lake in the
/// emulator's S3, its writes and deletes go through the S3 service as `account` (the bucket
/// owner), so they are S3 objects like any other. With `hold_commits`, each Delta commit waits
/// that long first (see [`HoldCommits`]).
///
/// # Errors
/// The delta-rs error (no table, unreadable log), or a bucket that cannot be used.
pub async fn open_for_writes(
    state: &AppState,
    account: &str,
    lake: &LakeDir,
    dir: &Path,
    hold_commits: Option<Duration>,
) -> Result<DeltaTable, DeltaTableError> {
    let mut store: Arc<dyn ObjectStore> = match s3_bucket(&lake.lake.bucket_path) {
        Some(bucket) => Arc::new(
            EmulatorS3Store::new(state, account, bucket).map_err(DeltaTableError::Generic)?,
        ),
        None => Arc::new(LocalFileSystem::new()),
    };
    if let Some(hold) = hold_commits {
        store = Arc::new(HoldCommits { inner: store, hold });
    }
    let url = table_url(dir).map_err(DeltaTableError::Generic)?;
    deltalake::DeltaTableBuilder::from_url(url.clone())?
        .with_storage_backend(store, url)
        .load()
        .await
}

/// An object store that delays every Delta commit (the create-only put of a
/// `_delta_log/<version>.json` entry) by `hold`, after the data files of the operation have
/// been written: what an emulator user needs to CANCEL a run or stop the emulator at the
/// moment a real service is most exposed.
#[derive(Debug)]
pub struct HoldCommits {
    inner: Arc<dyn ObjectStore>,
    hold: Duration,
}

impl fmt::Display for HoldCommits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HoldCommits({})", self.inner)
    }
}

fn is_commit(location: &ObjectPath) -> bool {
    let text = location.as_ref();
    text.contains("_delta_log/") && text.ends_with(".json")
}

#[async_trait]
impl ObjectStore for HoldCommits {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> os::Result<PutResult> {
        if is_commit(location) {
            tokio::time::sleep(self.hold).await;
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: PutMultipartOptions,
    ) -> os::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> os::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, os::Result<ObjectPath>>,
    ) -> BoxStream<'static, os::Result<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, os::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> os::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> os::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// The latest version of the Delta table in `dir`.
///
/// # Errors
/// The delta-rs error.
pub async fn latest_version(dir: &Path) -> Result<u64, DeltaTableError> {
    let url = table_url(dir).map_err(DeltaTableError::Generic)?;
    let table = deltalake::DeltaTableBuilder::from_url(url)?.build()?;
    table.get_latest_version().await
}

/// The version of the Delta table in `dir` that was current at `when` (delta-rs time travel).
///
/// # Errors
/// The delta-rs error, for example when `when` is before the table's first commit.
pub async fn version_at(
    dir: &Path,
    when: chrono::DateTime<chrono::Utc>,
) -> Result<u64, DeltaTableError> {
    let url = table_url(dir).map_err(DeltaTableError::Generic)?;
    let table = deltalake::DeltaTableBuilder::from_url(url)?
        .with_timestamp(when)
        .load()
        .await?;
    let version = table
        .version()
        .ok_or_else(|| DeltaTableError::Generic("the table has no version".into()))?;
    // delta-rs answers its first version for any earlier time.
    match table.snapshot()?.version_timestamp(version) {
        Some(at) if at > when.timestamp_millis() => Err(DeltaTableError::Generic(format!(
            "the table did not exist yet (its first version was committed at {})",
            crate::util::time::format_iso8601(at as f64 / 1000.0)
        ))),
        _ => Ok(version),
    }
}

/// The `commitInfo` of version `version`, if the commit file exists and has one.
async fn commit_info(
    table: &DeltaTable,
    version: u64,
) -> Result<Option<serde_json::Value>, DeltaTableError> {
    let Some(bytes) = table.log_store().read_commit_entry(version).await? else {
        return Ok(None);
    };
    Ok(String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find_map(|action| action.get("commitInfo").cloned()))
}

/// The run id a commit's `commitInfo` carries, if a table service made it.
fn run_id_of(info: &serde_json::Value) -> Option<&str> {
    info.get(RUN_ID_KEY).and_then(serde_json::Value::as_str)
}

/// How many of the versions `after+1 ..= latest` were not made by a table service.
///
/// # Errors
/// The delta-rs error reading the log.
pub async fn foreign_commits(dir: &Path, after: u64, latest: u64) -> Result<u64, DeltaTableError> {
    let url = table_url(dir).map_err(DeltaTableError::Generic)?;
    let table = deltalake::DeltaTableBuilder::from_url(url)?.build()?;
    let mut count = 0;
    for version in after.saturating_add(1)..=latest {
        match commit_info(&table, version).await? {
            Some(info) if run_id_of(&info).is_some() => {}
            _ => count += 1,
        }
    }
    Ok(count)
}

/// The version committed by run `run_id` after version `after`, if there is one.
///
/// # Errors
/// The delta-rs error reading the log.
pub async fn version_of_run(
    dir: &Path,
    after: u64,
    run_id: &str,
) -> Result<Option<u64>, DeltaTableError> {
    let latest = latest_version(dir).await?;
    let url = table_url(dir).map_err(DeltaTableError::Generic)?;
    let table = deltalake::DeltaTableBuilder::from_url(url)?.build()?;
    for version in after.saturating_add(1)..=latest {
        if let Some(info) = commit_info(&table, version).await? {
            if run_id_of(&info) == Some(run_id) {
                return Ok(Some(version));
            }
        }
    }
    Ok(None)
}
