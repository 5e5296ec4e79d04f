//! Table locations → local paths. `s3://bucket/prefix/` is the emulator's own S3, stored under
//! `<data-dir>/s3/<bucket>/<prefix>`; `file:///absolute/path/` is a local directory or file.
//! Bucket names and key segments that could leave the data dir are rejected.

use std::path::{Path, PathBuf};

/// Maps a Glue `StorageDescriptor.Location` to a local path (directory or file).
///
/// # Errors
/// A message saying why the location is not usable.
pub fn resolve(data_dir: &Path, location: &str) -> Result<PathBuf, String> {
    let trimmed = location.trim();
    for scheme in ["s3://", "s3a://", "s3n://"] {
        if let Some(rest) = trimmed.strip_prefix(scheme) {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            // The same layout and key rules as the emulator's S3 (objects are files there).
            return crate::object_files::prefix_dir(data_dir, bucket, key).ok_or_else(|| {
                format!(
                    "location {location}: not a valid S3 bucket and prefix (bucket naming rules apply; empty, '.' and '..' key segments are not allowed)"
                )
            });
        }
    }
    if let Some(rest) = trimmed.strip_prefix("file://") {
        let path = PathBuf::from(
            percent_encoding::percent_decode_str(rest)
                .decode_utf8_lossy()
                .as_ref(),
        );
        if !path.is_absolute() {
            return Err(format!(
                "location {location}: file:// locations must be absolute paths"
            ));
        }
        return Ok(path);
    }
    Err(format!(
        "location '{location}' is not supported: use s3://bucket/prefix/ (the emulator's S3) or file:///absolute/path/"
    ))
}

/// The data files under `path` (itself, if it is a file), recursively, sorted; hidden files and
/// bookkeeping files (names starting with `.` or `_`) and empty files are skipped, as Athena
/// skips them. A path that does not exist holds no files (an S3 prefix without objects).
///
/// # Errors
/// When a directory cannot be read.
pub fn data_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(out);
    }
    if !path.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                stack.push(entry.path());
            } else if file_type.is_file() && entry.metadata()?.len() > 0 {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_locations_stay_in_the_data_dir() {
        let d = Path::new("/data");
        assert_eq!(
            resolve(d, "s3://my-bucket/sales/2024/").unwrap(),
            Path::new("/data/s3/my-bucket/sales/2024")
        );
        assert!(resolve(d, "s3://my-bucket/../../etc").is_err());
        assert!(resolve(d, "s3://../x").is_err());
        assert!(resolve(d, "s3://Bad_Bucket/x").is_err());
        assert_eq!(resolve(d, "file:///tmp/x/").unwrap(), Path::new("/tmp/x/"));
        assert!(resolve(d, "file://relative").is_err());
        assert!(resolve(d, "hdfs://x").is_err());
    }

    #[test]
    fn data_files_skip_hidden_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.csv"), "1\n").unwrap();
        std::fs::write(dir.path().join("sub/b.csv"), "2\n").unwrap();
        std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
        std::fs::write(dir.path().join(".a.csv.crc"), "x").unwrap();
        std::fs::write(dir.path().join("empty.csv"), "").unwrap();
        let files = data_files(dir.path()).unwrap();
        assert_eq!(
            files,
            vec![dir.path().join("a.csv"), dir.path().join("sub/b.csv")]
        );
        assert!(data_files(&dir.path().join("missing")).unwrap().is_empty());
    }
}
