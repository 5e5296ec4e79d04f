//! The object store delta-rs uses for tables of lakes in the emulator's own S3. The objects of
//! a bucket are plain files under `<data-dir>/s3/<bucket>/`, so reads go straight to those
//! files; every write and delete goes through the S3 service (staged file, journal, object
//! record), so what a table service writes is an S3 object like any other — listed, served and
//! deleted by the S3 API — and a Delta commit (a create-only put) can never replace another.
//!
//! delta-rs opens the table with its `file://` URL and this store as the root backend: paths
//! are absolute file paths, and only those inside the bucket's directory are accepted.

use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use deltalake::logstore::object_store::local::LocalFileSystem;
use deltalake::logstore::object_store::path::Path;
use deltalake::logstore::object_store::{
    self as os, CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    UploadPart,
};
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::object_files;
use crate::services::s3::facade as objects;
use crate::services::s3::facade as records;
use crate::state::AppState;

/// Name reported in object-store errors.
const STORE: &str = "EmulatorS3";

/// What an [`EmulatorS3Store`] and its uploads share.
#[derive(Debug)]
struct Inner {
    state: AppState,
    account: String,
    bucket: String,
    bucket_dir: PathBuf,
    local: LocalFileSystem,
}

fn generic(message: impl Into<String>) -> os::Error {
    os::Error::Generic {
        store: STORE,
        source: message.into().into(),
    }
}

impl Inner {
    /// The object key of file path `location` (which must be inside the bucket).
    fn key_of(&self, location: &Path) -> os::Result<String> {
        let file = PathBuf::from(format!("/{location}"));
        file.strip_prefix(&self.bucket_dir)
            .ok()
            .and_then(|k| k.to_str())
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                generic(format!(
                    "{} is outside bucket {}",
                    file.display(),
                    self.bucket
                ))
            })
    }

    /// Stores the file `source` as the object at `location`.
    async fn put_file(
        &self,
        location: &Path,
        source: &std::path::Path,
        create_only: bool,
    ) -> os::Result<PutResult> {
        let key = self.key_of(location)?;
        let result = objects::put_local_file_if(
            &self.state,
            &self.account,
            &self.bucket,
            &key,
            source,
            None,
            create_only,
        )
        .await;
        let _ = std::fs::remove_file(source);
        match result {
            Ok(etag) => Ok(PutResult {
                e_tag: Some(etag),
                version: None,
            }),
            Err(e) if e.code == "PreconditionFailed" => Err(os::Error::AlreadyExists {
                path: location.to_string(),
                source: e.message.into(),
            }),
            Err(e) => Err(generic(format!("S3 {}: {}", e.code, e.message))),
        }
    }

    /// A new temporary file for an object being written.
    fn tmp_file(&self) -> os::Result<(PathBuf, std::fs::File)> {
        let path = object_files::new_tmp_path(self.state.data_dir())
            .map_err(|e| generic(format!("cannot stage an object: {e}")))?;
        let file = std::fs::File::create(&path)
            .map_err(|e| generic(format!("cannot stage an object: {e}")))?;
        Ok((path, file))
    }

    async fn delete_key(&self, location: &Path) -> os::Result<()> {
        let key = self.key_of(location)?;
        let bucket = records::get_bucket(self.state.store(), &self.bucket)
            .await
            .map_err(|e| generic(e.to_string()))?
            .ok_or_else(|| generic(format!("bucket {} no longer exists", self.bucket)))?;
        objects::delete_one(&self.state, &bucket, &key)
            .await
            .map_err(|e| generic(format!("S3 delete of {key} failed: {e:?}")))
    }
}

/// A multipart write staged in one temporary file, stored as one object on completion.
#[derive(Debug)]
struct StagedUpload {
    store: Arc<Inner>,
    location: Path,
    path: PathBuf,
    file: Option<std::fs::File>,
    failed: Option<String>,
}

#[async_trait]
impl MultipartUpload for StagedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        if self.failed.is_none() {
            if let Some(file) = self.file.as_mut() {
                for chunk in data.iter() {
                    if let Err(e) = file.write_all(chunk) {
                        self.failed = Some(e.to_string());
                        break;
                    }
                }
            }
        }
        Box::pin(futures::future::ready(Ok(())))
    }

    async fn complete(&mut self) -> os::Result<PutResult> {
        if let Some(why) = self.failed.take() {
            let _ = std::fs::remove_file(&self.path);
            return Err(generic(format!("cannot stage an object: {why}")));
        }
        if let Some(file) = self.file.take() {
            file.sync_all()
                .map_err(|e| generic(format!("cannot stage an object: {e}")))?;
        }
        self.store.put_file(&self.location, &self.path, false).await
    }

    async fn abort(&mut self) -> os::Result<()> {
        self.file = None;
        let _ = std::fs::remove_file(&self.path);
        Ok(())
    }
}

/// Writes through the emulator's S3 to one bucket, reads its files directly.
#[derive(Debug, Clone)]
pub struct EmulatorS3Store(Arc<Inner>);

impl EmulatorS3Store {
    /// A store writing to `bucket` of `account` through the S3 service of `state`.
    ///
    /// # Errors
    /// When the bucket name is not valid.
    pub fn new(state: &AppState, account: &str, bucket: &str) -> Result<Self, String> {
        let bucket_dir = object_files::bucket_dir(state.data_dir(), bucket)
            .ok_or_else(|| format!("'{bucket}' is not a valid bucket name"))?;
        Ok(Self(Arc::new(Inner {
            state: state.clone(),
            account: account.to_string(),
            bucket: bucket.to_string(),
            bucket_dir,
            local: LocalFileSystem::new(),
        })))
    }
}

impl fmt::Display for EmulatorS3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmulatorS3(s3://{})", self.0.bucket)
    }
}

#[async_trait]
impl ObjectStore for EmulatorS3Store {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> os::Result<PutResult> {
        let create_only = match opts.mode {
            PutMode::Overwrite => false,
            PutMode::Create => true,
            PutMode::Update(_) => {
                return Err(os::Error::NotImplemented {
                    operation: "conditional update".into(),
                    implementer: STORE.into(),
                })
            }
        };
        let (path, mut file) = self.0.tmp_file()?;
        for chunk in payload.iter() {
            file.write_all(chunk)
                .map_err(|e| generic(format!("cannot stage an object: {e}")))?;
        }
        file.sync_all()
            .map_err(|e| generic(format!("cannot stage an object: {e}")))?;
        drop(file);
        self.0.put_file(location, &path, create_only).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        _opts: PutMultipartOptions,
    ) -> os::Result<Box<dyn MultipartUpload>> {
        self.0.key_of(location)?;
        let (path, file) = self.0.tmp_file()?;
        Ok(Box::new(StagedUpload {
            store: Arc::clone(&self.0),
            location: location.clone(),
            path,
            file: Some(file),
            failed: None,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> os::Result<GetResult> {
        self.0.local.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, os::Result<Path>>,
    ) -> BoxStream<'static, os::Result<Path>> {
        let store = Arc::clone(&self.0);
        locations
            .then(move |location| {
                let store = Arc::clone(&store);
                async move {
                    let location = location?;
                    store.delete_key(&location).await?;
                    Ok(location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, os::Result<ObjectMeta>> {
        self.0.local.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> os::Result<ListResult> {
        self.0.local.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> os::Result<()> {
        let source = PathBuf::from(format!("/{from}"));
        let (path, _) = self.0.tmp_file()?;
        std::fs::copy(&source, &path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => os::Error::NotFound {
                path: from.to_string(),
                source: e.into(),
            },
            _ => generic(format!("cannot copy {from}: {e}")),
        })?;
        self.0
            .put_file(to, &path, options.mode == CopyMode::Create)
            .await
            .map(|_| ())
    }
}
