//! Where lakes, databases and tables are on disk. A lake's `BUCKET_PATH` is
//! `file:///absolute/dir` or `s3://bucket/prefix` (the emulator's own S3, under the data dir); a
//! database is the directory `<lake>/<db>/`; a table is any `<lake>/<db>/<table>/` holding a
//! `_delta_log/`, whoever wrote it. Database and table names become directory names, so names
//! that could leave the lake (`..`, `/`, NUL) are refused.

use std::path::{Path, PathBuf};

use url::Url;

use super::model::Lake;
use crate::engine::location;

/// The Delta log directory of a table.
pub const DELTA_LOG_DIR: &str = "_delta_log";

/// Checks that `name` (of a `what`: database, table) can be a directory name inside a lake.
///
/// # Errors
/// A message naming the problem.
pub fn check_segment(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.starts_with('_')
        || name.starts_with('.')
        || name.len() > 255
    {
        return Err(format!(
            "Invalid {what} name '{name}': it must be a non-empty directory name without '/', '\\' or NUL, not starting with '_' or '.', at most 255 bytes"
        ));
    }
    Ok(())
}

/// The local directory a `BUCKET_PATH` names.
///
/// # Errors
/// A message saying why the path is not usable.
pub fn root_dir(data_dir: &Path, bucket_path: &str) -> Result<PathBuf, String> {
    let trimmed = bucket_path.trim();
    if !(trimmed.starts_with("file://") || trimmed.starts_with("s3://")) {
        return Err(format!(
            "Invalid BUCKET_PATH '{bucket_path}': use s3://bucket/prefix (the emulator's S3) or file:///absolute/dir"
        ));
    }
    location::resolve(data_dir, trimmed).map_err(|e| format!("Invalid BUCKET_PATH: {e}"))
}

/// The bucket of an `s3://` lake, if it is one.
pub fn s3_bucket(bucket_path: &str) -> Option<&str> {
    let rest = bucket_path.trim().strip_prefix("s3://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// A lake with its directory resolved.
#[derive(Debug, Clone)]
pub struct LakeDir {
    /// The lake.
    pub lake: Lake,
    /// Its root directory.
    pub dir: PathBuf,
}

impl LakeDir {
    /// Resolves `lake`'s directory.
    ///
    /// # Errors
    /// A message when the stored path no longer resolves.
    pub fn new(data_dir: &Path, lake: Lake) -> Result<Self, String> {
        let dir = root_dir(data_dir, &lake.bucket_path)?;
        Ok(Self { lake, dir })
    }

    /// The directory of database `db`.
    pub fn database_dir(&self, db: &str) -> PathBuf {
        self.dir.join(db)
    }

    /// The directory of table `db.table`.
    pub fn table_dir(&self, db: &str, table: &str) -> PathBuf {
        self.dir.join(db).join(table)
    }

    /// The URI of table `db.table` as a catalog should record it (the lake's scheme).
    pub fn table_uri(&self, db: &str, table: &str) -> String {
        format!(
            "{}/{db}/{table}/",
            self.lake.bucket_path.trim().trim_end_matches('/')
        )
    }

    /// The Delta tables of database `db`, sorted by name.
    pub fn tables(&self, db: &str) -> std::io::Result<Vec<String>> {
        let dir = self.database_dir(db);
        let mut out = Vec::new();
        if !dir.is_dir() {
            return Ok(out);
        }
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if check_segment("table", &name).is_ok() && is_delta_table(&entry.path()) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// Whether `dir` holds a Delta table (a `_delta_log/` directory).
pub fn is_delta_table(dir: &Path) -> bool {
    dir.join(DELTA_LOG_DIR).is_dir()
}

/// The `file://` URL delta-rs opens a table directory with.
///
/// # Errors
/// When the path is not absolute.
pub fn table_url(dir: &Path) -> Result<Url, String> {
    Url::from_directory_path(dir).map_err(|()| format!("{} is not an absolute path", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_inside_the_lake() {
        for bad in ["", ".", "..", "a/b", "_delta_log", ".hidden", "a\0b"] {
            assert!(check_segment("table", bad).is_err(), "{bad:?}");
        }
        assert!(check_segment("table", "page_views-2").is_ok());
    }

    #[test]
    fn bucket_paths() {
        let data = Path::new("/data");
        assert_eq!(
            root_dir(data, "s3://bkt/lake").unwrap(),
            Path::new("/data/s3/bkt/lake")
        );
        assert_eq!(root_dir(data, "file:///x/y").unwrap(), Path::new("/x/y"));
        assert!(root_dir(data, "/x/y").is_err());
        assert!(root_dir(data, "s3://../x").is_err());
        assert_eq!(s3_bucket("s3://bkt/lake"), Some("bkt"));
        assert_eq!(s3_bucket("file:///x"), None);
    }
}
