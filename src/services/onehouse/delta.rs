//! Reading a table's Delta log for the API: opening the table, its latest version, and the
//! commits between two versions — which of them a table service made (their `commitInfo` carries
//! the run id) and which were writes by anyone else (what AUTOMATIC services count).

use std::path::Path;
use std::sync::Arc;

use deltalake::{DeltaTable, DeltaTableError};

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
/// owner), so they are S3 objects like any other.
///
/// # Errors
/// The delta-rs error (no table, unreadable log), or a bucket that cannot be used.
pub async fn open_for_writes(
    state: &AppState,
    account: &str,
    lake: &LakeDir,
    dir: &Path,
) -> Result<DeltaTable, DeltaTableError> {
    let Some(bucket) = s3_bucket(&lake.lake.bucket_path) else {
        return open(dir).await;
    };
    let store = EmulatorS3Store::new(state, account, bucket).map_err(DeltaTableError::Generic)?;
    let url = table_url(dir).map_err(DeltaTableError::Generic)?;
    deltalake::DeltaTableBuilder::from_url(url.clone())?
        .with_storage_backend(Arc::new(store), url)
        .load()
        .await
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
