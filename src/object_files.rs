//! Where the emulator's S3 data lives on disk, and the rules that keep every key inside it: a
//! shared part below the services. The S3 service keeps the objects' metadata and answers the
//! S3 API; the engine, the table services and Clean Rooms read and write the same files
//! directly, so none of them needs the S3 service for where a file is.
//!
//! The layout is a contract:
//! - `<data-dir>/s3/<bucket>/<key>`: object `key` of `bucket` as a plain file; each `/` of the
//!   key is a directory (`data/part-0.csv` → directory `data/`, file `part-0.csv`). A file only
//!   appears there complete: uploads are written elsewhere, fsynced and renamed into place.
//! - `<data-dir>/s3-tmp/`: bodies being received (and concatenated multipart uploads); never
//!   read by anyone else.
//! - `<data-dir>/s3-multipart/<upload-id>/`: the parts of multipart uploads in progress.
//!
//! Key rules (S3 allows any UTF-8 up to 1,024 bytes; a file system does not): a key must not be
//! empty, contain NUL, start with `/`, contain an empty segment (`a//b`) or a `.`/`..` segment,
//! or have a segment longer than 255 bytes. A key ending in `/` is a "folder" marker: it must be
//! empty and is a directory, not a file. Everything else is stored byte for byte — backslashes,
//! full-width dots (`．．`) and other Unicode are ordinary file-name characters on Unix and
//! cannot leave the bucket directory. An object `a` and an object `a/b` cannot both exist (the
//! path `a` would have to be a file and a directory); the second write is refused.

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use md5::{Digest, Md5};
use tokio::io::AsyncWriteExt;

/// Sub-directory of the data dir holding the objects.
pub const OBJECTS_DIR: &str = "s3";
/// Sub-directory of the data dir holding bodies being received.
pub const TMP_DIR: &str = "s3-tmp";
/// Sub-directory of the data dir holding multipart-upload parts.
pub const MULTIPART_DIR: &str = "s3-multipart";
/// Longest key S3 accepts, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest `/`-separated key segment the file system accepts, in bytes.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// What a valid key is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyShape {
    /// A plain file.
    File,
    /// A "folder" marker (key ending in `/`): an empty object kept as a directory.
    Folder,
}

/// Why a key cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is empty.
    #[error("the object key is empty")]
    Empty,
    /// The key is longer than 1,024 bytes.
    #[error("the object key is {0} bytes long; keys are at most 1024 bytes")]
    TooLong(usize),
    /// The key contains NUL.
    #[error("the object key contains a NUL character")]
    Nul,
    /// The key starts with `/`.
    #[error("the object key starts with '/'; this emulator stores keys as relative file paths")]
    Absolute,
    /// The key contains `//`.
    #[error(
        "the object key contains an empty segment ('//'); this emulator stores keys as file paths"
    )]
    EmptySegment,
    /// The key has a `.` or `..` segment.
    #[error("the object key contains a '{0}' segment; this emulator stores keys as file paths and does not accept '.' or '..' segments")]
    DotSegment(&'static str),
    /// A segment is longer than the file system allows.
    #[error("a '/'-separated segment of the object key is longer than 255 bytes, which the file system does not allow")]
    SegmentTooLong,
}

impl KeyError {
    /// The S3 error code for this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLong(_) => "KeyTooLongError",
            _ => "InvalidArgument",
        }
    }
}

/// Checks that `key` can be stored under a bucket directory, and how.
pub fn check_key(key: &str) -> Result<KeyShape, KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong(key.len()));
    }
    if key.contains('\0') {
        return Err(KeyError::Nul);
    }
    if key.starts_with('/') {
        return Err(KeyError::Absolute);
    }
    let (body, shape) = match key.strip_suffix('/') {
        Some(body) => (body, KeyShape::Folder),
        None => (key, KeyShape::File),
    };
    for segment in body.split('/') {
        match segment {
            "" => return Err(KeyError::EmptySegment),
            "." => return Err(KeyError::DotSegment(".")),
            ".." => return Err(KeyError::DotSegment("..")),
            s if s.len() > MAX_SEGMENT_BYTES => return Err(KeyError::SegmentTooLong),
            _ => {}
        }
    }
    Ok(shape)
}

/// Whether `name` follows the S3 bucket naming rules (general purpose buckets): 3–63
/// characters of `a-z 0-9 . -`, starting and ending with a letter or digit, no `..`, not an IP
/// address, none of the reserved prefixes and suffixes.
pub fn is_valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if !(3..=63).contains(&bytes.len()) {
        return false;
    }
    if !bytes
        .iter()
        .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return false;
    }
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge(bytes[0]) || !edge(bytes[bytes.len() - 1]) {
        return false;
    }
    if name.contains("..") || name.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    const PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
    const SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    !PREFIXES.iter().any(|p| name.starts_with(p)) && !SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// `<data-dir>/s3`: the directory holding every bucket.
pub fn objects_root(data_dir: &Path) -> PathBuf {
    data_dir.join(OBJECTS_DIR)
}

/// `<data-dir>/s3/<bucket>`, or `None` for a name that is not a valid bucket name.
pub fn bucket_dir(data_dir: &Path, bucket: &str) -> Option<PathBuf> {
    is_valid_bucket_name(bucket).then(|| objects_root(data_dir).join(bucket))
}

/// The file holding object `key` of `bucket`: `<data-dir>/s3/<bucket>/<key>`. `None` when the
/// bucket name or the key is not valid, or the key is a folder marker (not a plain file).
/// The file exists only while the object does.
pub fn object_path(data_dir: &Path, bucket: &str, key: &str) -> Option<PathBuf> {
    match check_key(key) {
        Ok(KeyShape::File) => bucket_dir(data_dir, bucket).map(|dir| dir.join(key)),
        _ => None,
    }
}

/// The directory whose files are the objects of `bucket` under `prefix`: `prefix` is a
/// "folder" (`data/`, `data/year=2024/`; a missing trailing `/` is implied, so `data` means the
/// same), `""` or `"/"` is the whole bucket. `None` when the bucket name is not valid or the
/// prefix is not a valid folder key. The directory may not exist (no objects there yet).
pub fn prefix_dir(data_dir: &Path, bucket: &str, prefix: &str) -> Option<PathBuf> {
    let dir = bucket_dir(data_dir, bucket)?;
    let folder = prefix.strip_suffix('/').unwrap_or(prefix);
    if folder.is_empty() {
        return Some(dir);
    }
    match check_key(&format!("{folder}/")) {
        Ok(KeyShape::Folder) => Some(dir.join(folder)),
        _ => None,
    }
}

/// `<data-dir>/s3-tmp`.
pub fn tmp_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(TMP_DIR)
}

/// `<data-dir>/s3-multipart/<upload-id>`, or `None` for an id that is not a plain name.
pub fn upload_dir(data_dir: &Path, upload_id: &str) -> Option<PathBuf> {
    let plain = !upload_id.is_empty()
        && upload_id.len() <= 128
        && upload_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| data_dir.join(MULTIPART_DIR).join(upload_id))
}

/// Why an object cannot be placed at its path.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// A prefix of the key is an object (a file), so the key cannot be under it.
    #[error("'{0}' is an object, so no object can be stored under '{0}/' (this emulator keeps objects as files: the path '{0}' cannot be both a file and a directory)")]
    ParentIsObject(String),
    /// Other objects are stored under `key/`, so `key` cannot be a file.
    #[error("objects exist under '{0}/', so '{0}' cannot be stored as an object (this emulator keeps objects as files: the path '{0}' cannot be both a file and a directory)")]
    HasChildren(String),
    /// The file system failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Creates the directories `key` (a checked key of `bucket_dir`) needs, refusing when one of
/// them is an object. Returns the object's path. Folder markers get their directory created.
pub fn prepare_path(bucket_dir: &Path, key: &str) -> Result<PathBuf, PlaceError> {
    let folder = key.ends_with('/');
    let body = key.trim_end_matches('/');
    let segments: Vec<&str> = body.split('/').collect();
    let mut path = bucket_dir.to_path_buf();
    let dirs = if folder {
        segments.len()
    } else {
        segments.len() - 1
    };
    for (i, segment) in segments.iter().enumerate().take(dirs) {
        path.push(segment);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(PlaceError::ParentIsObject(segments[..=i].join("/"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::create_dir(&path)?;
                if let Some(parent) = path.parent() {
                    sync_dir(parent)?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if folder {
        return Ok(path);
    }
    path.push(segments[segments.len() - 1]);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.is_dir() => {
            // An empty directory left behind (no objects, no marker) may be replaced.
            if std::fs::remove_dir(&path).is_err() {
                return Err(PlaceError::HasChildren(body.to_string()));
            }
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    Ok(path)
}

/// Whether `path` is a directory with objects (or marker directories) inside.
pub fn is_nonempty_dir(path: &Path) -> bool {
    std::fs::read_dir(path)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false)
}

/// Removes the empty directories on the way from `key`'s parent up to (not including) the
/// bucket directory, stopping at the first directory that is not empty or that `keep` says is
/// a folder marker (given the folder key, e.g. `a/b/`).
pub fn prune_empty_dirs(bucket_dir: &Path, key: &str, keep: impl Fn(&str) -> bool) {
    let body = key.trim_end_matches('/');
    let mut folder = match body.rfind('/') {
        Some(i) => &body[..i],
        None => return,
    };
    loop {
        if keep(&format!("{folder}/")) || std::fs::remove_dir(bucket_dir.join(folder)).is_err() {
            return;
        }
        match folder.rfind('/') {
            Some(i) => folder = &folder[..i],
            None => return,
        }
    }
}

/// Removes `dir` and the directories below it that are empty (bottom-up); files someone put
/// there by hand, and the directories holding them, stay.
pub fn remove_empty_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_tree(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// Makes a directory entry change (rename, unlink) durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// The inode of `path`'s file (Unix), used to tell one version of an object's file from
/// another.
#[cfg(unix)]
pub fn file_id(meta: &std::fs::Metadata) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    Some(meta.ino())
}

/// No file identity off Unix.
#[cfg(not(unix))]
pub fn file_id(_meta: &std::fs::Metadata) -> Option<u64> {
    None
}

/// Why receiving a body failed.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The client's body stream failed (disconnect, short body).
    #[error("the request body could not be read: {0}")]
    Body(String),
    /// The body is larger than allowed.
    #[error("the body is larger than {0} bytes")]
    TooLarge(u64),
    /// The file system failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A body received completely into `<data-dir>/s3-tmp/`, fsynced; removed when dropped unless
/// it was moved into place.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    /// Bytes received.
    pub size: u64,
    /// MD5 of the bytes.
    pub md5: [u8; 16],
    /// Identity of the file (kept by the rename into place).
    pub file_id: Option<u64>,
    kept: bool,
}

impl Staged {
    /// A new empty temporary file under the data dir, open for writing (removed when the
    /// `Staged` is dropped unless kept).
    async fn create(data_dir: &Path) -> Result<(Staged, tokio::fs::File), StageError> {
        let mut staged = Staged {
            path: new_tmp_path(data_dir)?,
            size: 0,
            md5: [0; 16],
            file_id: None,
            kept: false,
        };
        let file = tokio::fs::File::create(&staged.path).await?;
        staged.file_id = file_id(&file.metadata().await?);
        Ok((staged, file))
    }

    /// The temporary file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lowercase hex of the MD5 (the single-part ETag without quotes).
    pub fn md5_hex(&self) -> String {
        hex(&self.md5)
    }

    /// Renames the file to `dest` (its directories must exist) and makes the rename durable.
    pub fn persist(mut self, dest: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, dest)?;
        self.kept = true;
        if let Some(parent) = dest.parent() {
            if let Err(e) = sync_dir(parent) {
                tracing::warn!(dir = %parent.display(), error = %e, "s3: cannot fsync a directory");
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A new temporary file name under `<data-dir>/s3-tmp/`.
pub fn new_tmp_path(data_dir: &Path) -> io::Result<PathBuf> {
    let dir = tmp_dir(data_dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(uuid::Uuid::new_v4().simple().to_string()))
}

/// Receives `stream` into a new temporary file, computing size and MD5 and showing every chunk
/// to `observe` (for request checksums); at most `max` bytes.
pub async fn stage<S, E>(
    data_dir: &Path,
    mut stream: S,
    max: u64,
    mut observe: impl FnMut(&[u8]),
) -> Result<Staged, StageError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (mut staged, mut file) = Staged::create(data_dir).await?;
    let mut md5 = Md5::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| StageError::Body(e.to_string()))?;
        staged.size += chunk.len() as u64;
        if staged.size > max {
            return Err(StageError::TooLarge(max));
        }
        md5.update(&chunk);
        observe(&chunk);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    file.sync_all().await?;
    staged.md5 = md5.finalize().into();
    Ok(staged)
}

/// Concatenates `parts` into a new temporary file, fsynced; the MD5 is of the whole content.
pub async fn stage_concat(data_dir: &Path, parts: &[PathBuf]) -> Result<Staged, StageError> {
    let (mut staged, mut out) = Staged::create(data_dir).await?;
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    for part in parts {
        let mut input = tokio::fs::File::open(part).await?;
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut input, &mut buf).await?;
            if n == 0 {
                break;
            }
            md5.update(&buf[..n]);
            out.write_all(&buf[..n]).await?;
            staged.size += n as u64;
        }
    }
    out.flush().await?;
    out.sync_all().await?;
    staged.md5 = md5.finalize().into();
    Ok(staged)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_would_leave_the_bucket_are_refused() {
        for key in [
            "../../etc/passwd",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "./a",
            "a/.",
            "..",
            "a\0b",
            "",
        ] {
            assert!(check_key(key).is_err(), "{key:?} accepted");
        }
        assert_eq!(check_key("a/b/c.csv"), Ok(KeyShape::File));
        assert_eq!(check_key("a/b/"), Ok(KeyShape::Folder));
        assert_eq!(check_key("..\\..\\x"), Ok(KeyShape::File));
        assert_eq!(check_key("．．/x"), Ok(KeyShape::File));
        assert_eq!(check_key("...").map(|_| ()), Ok(()));
        assert!(matches!(
            check_key(&"a".repeat(1025)),
            Err(KeyError::TooLong(1025))
        ));
        assert_eq!(check_key(&"a".repeat(256)), Err(KeyError::SegmentTooLong));
    }

    #[test]
    fn paths_stay_under_the_bucket_directory() {
        let d = Path::new("/data");
        assert_eq!(
            object_path(d, "bkt", "data/part-0.csv"),
            Some(PathBuf::from("/data/s3/bkt/data/part-0.csv"))
        );
        assert_eq!(object_path(d, "bkt", "../x"), None);
        assert_eq!(object_path(d, "bkt", "data/"), None);
        assert_eq!(object_path(d, "..", "x"), None);
        assert_eq!(object_path(d, "Bad_Bucket", "x"), None);
        assert_eq!(
            prefix_dir(d, "bkt", "data/"),
            Some(PathBuf::from("/data/s3/bkt/data"))
        );
        assert_eq!(
            prefix_dir(d, "bkt", "data"),
            Some(PathBuf::from("/data/s3/bkt/data"))
        );
        assert_eq!(
            prefix_dir(d, "bkt", ""),
            Some(PathBuf::from("/data/s3/bkt"))
        );
        assert_eq!(
            prefix_dir(d, "bkt", "/"),
            Some(PathBuf::from("/data/s3/bkt"))
        );
        assert_eq!(prefix_dir(d, "bkt", "a/../../"), None);
        assert_eq!(prefix_dir(d, "bkt", "//"), None);
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket.data", "a1b", &"a".repeat(63)] {
            assert!(is_valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "Upper",
            "under_score",
            "-start",
            "end-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "sthree-x",
            "x-s3alias",
            "x--ol-s3",
            "..",
        ] {
            assert!(!is_valid_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_path_cannot_be_both_file_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = dir.path();
        let a = prepare_path(bucket, "a").unwrap();
        std::fs::write(&a, b"x").unwrap();
        assert!(matches!(
            prepare_path(bucket, "a/b"),
            Err(PlaceError::ParentIsObject(p)) if p == "a"
        ));
        let c = prepare_path(bucket, "c/d").unwrap();
        std::fs::write(c, b"x").unwrap();
        assert!(matches!(
            prepare_path(bucket, "c"),
            Err(PlaceError::HasChildren(p)) if p == "c"
        ));
        std::fs::remove_file(bucket.join("c/d")).unwrap();
        prune_empty_dirs(bucket, "c/d", |_| false);
        assert!(!bucket.join("c").exists());
        prepare_path(bucket, "c").unwrap();
    }
}
