//! Removing data: [`ManagedStorage::retain_only`] deletes the files an older population no
//! longer needs, [`ManagedStorage::delete_table`] deletes a whole table.
//!
//! Retention records the oldest version it kept in `_managed_retention.json` (before deleting
//! anything), so reading an older version answers [`StorageError::VersionRemoved`] instead of
//! failing half-way through a scan. The Delta log itself is kept; it is small.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use deltalake::DeltaTableBuilder;

use super::log::{readable_version, write_retained_from, RETENTION_FILE};
use super::table_id::TableId;
use super::{table_url, ManagedStorage, StorageError, DELTA_LOG_DIR};

/// Directory (in the managed root) where deleted tables wait for removal.
const TRASH_DIR: &str = ".trash";

impl ManagedStorage {
    /// Deletes every file of `table_id` that neither `delta_version` nor a later version
    /// references: the files of older populations and anything a failed, cancelled or killed
    /// write left behind. Storage then holds one population's data, not one per refresh.
    ///
    /// By design, versions older than `delta_version` become unreadable
    /// ([`StorageError::VersionRemoved`]), and a query still scanning one of them fails;
    /// `delta_version` and later versions are untouched. Waits for a write of the same table in
    /// progress, so its new files are never taken for orphans.
    ///
    /// # Errors
    /// [`StorageError::InvalidTableId`], [`StorageError::TableNotFound`],
    /// [`StorageError::VersionNotFound`], [`StorageError::VersionRemoved`] (already removed),
    /// [`StorageError::Delta`] when a version's file list cannot be read, [`StorageError::Io`].
    pub async fn retain_only(
        &self,
        table_id: &str,
        delta_version: i64,
    ) -> Result<(), StorageError> {
        let id = TableId::parse(table_id)?;
        let _guard = self.locks.lock(&id).await;
        let dir = self.table_dir(&id);
        let first = readable_version(&id, &dir, delta_version).await?;
        let latest = super::latest_committed_version(&dir)
            .await?
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(first);

        let url = table_url(&dir)?;
        let mut keep = HashSet::new();
        for version in first..=latest {
            let table = DeltaTableBuilder::from_url(url.clone())
                .map(|builder| builder.with_version(version))
                .map_err(|e| StorageError::delta(id.as_str(), e))?
                .load()
                .await
                .map_err(|e| StorageError::delta(id.as_str(), e))?;
            let snapshot = table
                .snapshot()
                .map_err(|e| StorageError::delta(id.as_str(), e))?;
            keep.extend(
                snapshot
                    .log_data()
                    .iter()
                    .map(|f| dir.join(f.path().as_ref())),
            );
        }

        write_retained_from(&dir, delta_version).await?;
        tokio::task::spawn_blocking(move || remove_unreferenced(&dir, &keep))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))?
    }

    /// Deletes every data file and the log of `table_id` (a disallowed, expired or deleted
    /// intermediate table). Deleting a table that does not exist succeeds. A later write starts
    /// the table again at version 0.
    ///
    /// The directory is first renamed into `<managed>/.trash/`, so a crash half-way never
    /// leaves a partly deleted table in place; leftovers in the trash are removed by the next
    /// deletion.
    ///
    /// # Errors
    /// [`StorageError::InvalidTableId`], [`StorageError::Io`].
    pub async fn delete_table(&self, table_id: &str) -> Result<(), StorageError> {
        let id = TableId::parse(table_id)?;
        let _guard = self.locks.lock(&id).await;
        let dir = self.table_dir(&id);
        let trash = self.root.join(TRASH_DIR);
        tokio::task::spawn_blocking(move || move_to_trash_and_empty(&dir, &trash, &id))
            .await
            .map_err(|e| StorageError::Task(e.to_string()))?
    }
}

/// Deletes every file under the table directory `dir` that is not in `keep`, except the Delta
/// log and the retention record, and removes directories left empty. In the log it deletes only
/// the staging files (`…#<n>`) of interrupted commits.
fn remove_unreferenced(dir: &Path, keep: &HashSet<PathBuf>) -> Result<(), StorageError> {
    for entry in read_dir(dir)? {
        let name = entry.file_name();
        let path = entry.path();
        if name == DELTA_LOG_DIR {
            for log_entry in read_dir(&path)? {
                if log_entry.file_name().to_string_lossy().contains('#') {
                    remove_file(&log_entry.path())?;
                }
            }
        } else if !name.to_string_lossy().starts_with(RETENTION_FILE) {
            remove_unreferenced_under(&path, keep)?;
        }
    }
    Ok(())
}

/// Removes `path` unless it is in `keep`, recursing into directories.
fn remove_unreferenced_under(path: &Path, keep: &HashSet<PathBuf>) -> Result<(), StorageError> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StorageError::io(path, e)),
    };
    if !metadata.is_dir() {
        return if keep.contains(path) {
            Ok(())
        } else {
            remove_file(path)
        };
    }
    for entry in read_dir(path)? {
        remove_unreferenced_under(&entry.path(), keep)?;
    }
    match std::fs::remove_dir(path) {
        // Still holds referenced files.
        Err(e) if e.kind() == ErrorKind::DirectoryNotEmpty => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other.map_err(|e| StorageError::io(path, e)),
    }
}

/// Renames the table directory into the trash, then empties the trash.
fn move_to_trash_and_empty(dir: &Path, trash: &Path, id: &TableId) -> Result<(), StorageError> {
    match std::fs::symlink_metadata(dir) {
        Ok(_) => {
            std::fs::create_dir_all(trash).map_err(|e| StorageError::io(trash, e))?;
            let target = trash.join(format!("{id}-{}", uuid::Uuid::new_v4()));
            std::fs::rename(dir, &target).map_err(|e| StorageError::io(dir, e))?;
            remove_tree(&target)?;
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(StorageError::io(dir, e)),
    }
    // Leftovers of deletions interrupted by a crash; another deletion may be removing them too.
    if let Ok(entries) = std::fs::read_dir(trash) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}

/// `remove_dir_all`, tolerating a tree that is already gone.
fn remove_tree(path: &Path) -> Result<(), StorageError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(StorageError::io(path, e)),
        _ => Ok(()),
    }
}

/// `remove_file`, tolerating a file that is already gone.
fn remove_file(path: &Path) -> Result<(), StorageError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(StorageError::io(path, e)),
        _ => Ok(()),
    }
}

/// The entries of directory `path`.
fn read_dir(path: &Path) -> Result<Vec<std::fs::DirEntry>, StorageError> {
    std::fs::read_dir(path)
        .and_then(|entries| entries.collect())
        .map_err(|e| StorageError::io(path, e))
}
