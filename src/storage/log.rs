//! The version log of a managed table: which Delta versions exist ([`readable_version`]) and
//! which of them retention kept (the `_managed_retention.json` record, [`retained_from`]). Reads
//! and retention both decide with it, so neither depends on the other.

use std::io::ErrorKind;
use std::path::Path;

use super::table_id::TableId;
use super::{latest_committed_version, StorageError};

/// File (in the table directory) recording the oldest version retention kept.
pub(super) const RETENTION_FILE: &str = "_managed_retention.json";

/// Key of the oldest kept version in [`RETENTION_FILE`].
const RETAINED_FROM_KEY: &str = "retainedFromVersion";

/// The oldest version retention kept in the table in `dir`, if retention ever ran.
pub(super) async fn retained_from(dir: &Path) -> Result<Option<i64>, StorageError> {
    let path = dir.join(RETENTION_FILE);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io(&path, e)),
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| StorageError::io(&path, std::io::Error::new(ErrorKind::InvalidData, e)))?;
    Ok(value
        .get(RETAINED_FROM_KEY)
        .and_then(serde_json::Value::as_i64))
}

/// Records (durably, replacing the file atomically) that versions before `version` are gone.
pub(super) async fn write_retained_from(dir: &Path, version: i64) -> Result<(), StorageError> {
    if retained_from(dir).await? >= Some(version) {
        return Ok(());
    }
    let path = dir.join(RETENTION_FILE);
    let temporary = dir.join(format!("{RETENTION_FILE}.tmp"));
    let body = serde_json::json!({ RETAINED_FROM_KEY: version }).to_string();
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<(), StorageError> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e| StorageError::io(p, e)
        };
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary).map_err(io(&temporary))?;
            file.write_all(body.as_bytes()).map_err(io(&temporary))?;
            file.sync_all().map_err(io(&temporary))?;
        }
        std::fs::rename(&temporary, &path).map_err(io(&path))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&dir))
    })
    .await
    .map_err(|e| StorageError::Task(e.to_string()))?
}

/// Checks that `delta_version` of the table in `dir` exists and still has its files.
pub(super) async fn readable_version(
    id: &TableId,
    dir: &std::path::Path,
    delta_version: i64,
) -> Result<u64, StorageError> {
    let Some(latest) = latest_committed_version(dir).await? else {
        return Err(StorageError::TableNotFound {
            table_id: id.to_string(),
        });
    };
    let version = u64::try_from(delta_version)
        .ok()
        .filter(|_| delta_version <= latest)
        .ok_or_else(|| StorageError::VersionNotFound {
            table_id: id.to_string(),
            version: delta_version,
        })?;
    if let Some(retained_from) = retained_from(dir).await? {
        if delta_version < retained_from {
            return Err(StorageError::VersionRemoved {
                table_id: id.to_string(),
                version: delta_version,
                retained_from,
            });
        }
    }
    Ok(version)
}
