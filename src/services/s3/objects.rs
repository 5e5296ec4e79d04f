//! Object operations: PutObject, GetObject (ranges, conditions), HeadObject, DeleteObject,
//! DeleteObjects, CopyObject, ListObjectsV2 and ListObjects; plus [`commit_object`], the one
//! way an object comes into existence (also used by multipart completion and by the engine via
//! [`put_local_file`]).
//!
//! ETags are S3's: the quoted MD5 hex of the content for single-part writes (copies included),
//! `"<md5 of the concatenated part MD5s>-<parts>"` for multipart uploads. `Last-Modified` comes
//! from the emulator clock, in whole seconds as S3 keeps it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use base64::Engine;
use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::crypto::Checksum as _;
use s3s::dto::*;
use s3s::{S3ErrorCode, S3Result};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::buckets::{self, owned_bucket, timestamp};
use super::records::{self, Attributes, BucketMeta, Intent, ObjectMeta};
use super::{errors, Caller};
use crate::object_files::{self, KeyShape, Staged};
use crate::state::AppState;
use crate::store::Write;

/// Largest single PUT S3 accepts (5 GiB).
pub const MAX_PUT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
/// Content type of objects stored without one, as S3 reports it.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// Attributes from request headers; user-metadata names are lowercased as S3 stores them.
pub(crate) fn attributes(
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    metadata: Option<Metadata>,
) -> Attributes {
    Attributes {
        content_type,
        content_encoding,
        content_disposition,
        content_language,
        cache_control,
        metadata: metadata
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// The decoded `Content-MD5` header: `InvalidDigest` unless it is base64 of 16 bytes.
pub(crate) fn parse_content_md5(value: &str) -> S3Result<[u8; 16]> {
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            errors::error(
                S3ErrorCode::InvalidDigest,
                format!("The Content-MD5 you specified is not valid: {value:?}"),
            )
        })
}

/// Checks the body's MD5 against `Content-MD5`.
pub(crate) fn verify_md5(expected: Option<[u8; 16]>, staged: &Staged) -> S3Result<()> {
    match expected {
        Some(m) if m != staged.md5 => Err(errors::error(
            S3ErrorCode::BadDigest,
            "The Content-MD5 you specified did not match what we received.",
        )),
        _ => Ok(()),
    }
}

/// The `x-amz-checksum-*` values a request declared, verified against the body received.
#[derive(Default)]
pub(crate) struct RequestChecksums {
    expected: Checksum,
    hasher: s3s::checksum::ChecksumHasher,
}

impl RequestChecksums {
    /// Hashes with every algorithm the request declared a value for.
    pub fn new(
        crc32: Option<String>,
        crc32c: Option<String>,
        crc64nvme: Option<String>,
        sha1: Option<String>,
        sha256: Option<String>,
    ) -> Self {
        let mut hasher = s3s::checksum::ChecksumHasher::default();
        if crc32.is_some() {
            hasher.crc32 = Some(s3s::crypto::Crc32::new());
        }
        if crc32c.is_some() {
            hasher.crc32c = Some(s3s::crypto::Crc32c::new());
        }
        if crc64nvme.is_some() {
            hasher.crc64nvme = Some(s3s::crypto::Crc64Nvme::new());
        }
        if sha1.is_some() {
            hasher.sha1 = Some(s3s::crypto::Sha1::new());
        }
        if sha256.is_some() {
            hasher.sha256 = Some(s3s::crypto::Sha256::new());
        }
        Self {
            expected: Checksum {
                checksum_crc32: crc32,
                checksum_crc32c: crc32c,
                checksum_crc64nvme: crc64nvme,
                checksum_sha1: sha1,
                checksum_sha256: sha256,
                ..Default::default()
            },
            hasher,
        }
    }

    /// Feeds body bytes.
    pub fn observe(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    /// `BadDigest` when a declared checksum differs from the body's; else the checksums.
    pub fn verify(self) -> S3Result<Checksum> {
        let got = self.hasher.finalize();
        let pairs = [
            ("CRC32", &self.expected.checksum_crc32, &got.checksum_crc32),
            (
                "CRC32C",
                &self.expected.checksum_crc32c,
                &got.checksum_crc32c,
            ),
            (
                "CRC64NVME",
                &self.expected.checksum_crc64nvme,
                &got.checksum_crc64nvme,
            ),
            ("SHA1", &self.expected.checksum_sha1, &got.checksum_sha1),
            (
                "SHA256",
                &self.expected.checksum_sha256,
                &got.checksum_sha256,
            ),
        ];
        for (name, expected, actual) in pairs {
            if let Some(expected) = expected {
                if Some(expected) != actual.as_ref() {
                    return Err(errors::error(
                        S3ErrorCode::BadDigest,
                        format!("The {name} you specified did not match the calculated checksum."),
                    ));
                }
            }
        }
        Ok(got)
    }
}

/// Whether an `If-Match`/`If-None-Match` value matches an ETag (`*` matches any).
fn etag_matches(condition: &ETagCondition, etag: &str) -> bool {
    match condition {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == etag,
    }
}

/// `If-Match` / `If-None-Match` on writes (conditional writes): `PreconditionFailed` (412).
#[derive(Debug, Clone, Default)]
pub(crate) struct WriteCondition {
    /// The current object must exist with this ETag.
    pub if_match: Option<ETagCondition>,
    /// The object must not exist (`*`) / not have this ETag.
    pub if_none_match: Option<ETagCondition>,
}

impl WriteCondition {
    /// Checks the condition against the current version.
    pub fn check(&self, current: Option<&ObjectMeta>) -> S3Result<()> {
        let failed = || {
            errors::error(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            )
        };
        if let Some(cond) = &self.if_match {
            match current {
                Some(o) if etag_matches(cond, &o.etag) => {}
                Some(_) => return Err(failed()),
                None => return Err(errors::no_such_key("(conditional write)")),
            }
        }
        if let (Some(cond), Some(o)) = (&self.if_none_match, current) {
            if etag_matches(cond, &o.etag) {
                return Err(failed());
            }
        }
        Ok(())
    }
}

/// Read conditions (`If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`)
/// as S3 evaluates them: 412 `PreconditionFailed` or 304 `NotModified`.
fn check_read_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let failed = || {
        errors::error(
            S3ErrorCode::PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold",
        )
    };
    let not_modified = || errors::error(S3ErrorCode::NotModified, "Not Modified");
    match (if_match, if_unmodified_since) {
        (Some(c), _) if !etag_matches(c, &meta.etag) => return Err(failed()),
        (None, Some(t)) if meta.last_modified > buckets::epoch(t) => return Err(failed()),
        _ => {}
    }
    match (if_none_match, if_modified_since) {
        (Some(c), _) if etag_matches(c, &meta.etag) => return Err(not_modified()),
        (None, Some(t)) if meta.last_modified <= buckets::epoch(t) => return Err(not_modified()),
        _ => {}
    }
    Ok(())
}

/// Orders "make a new version visible" (rename + record commit, exclusive) against "read a
/// version" (record + open, shared), so a reader never pairs one version's record with
/// another's file.
fn publication() -> &'static tokio::sync::RwLock<()> {
    static LOCK: std::sync::OnceLock<tokio::sync::RwLock<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(Default::default)
}

/// A new version of an object, ready to be committed.
pub(crate) struct NewObject<'a> {
    /// Key.
    pub key: &'a str,
    /// The content (already received, verified).
    pub staged: Staged,
    /// ETag without quotes.
    pub etag: String,
    /// Content headers and user metadata.
    pub attributes: Attributes,
    /// Parts, for multipart completions.
    pub parts_count: Option<u32>,
    /// The multipart upload this completes (removed in the same commit).
    pub upload: Option<&'a str>,
}

/// Makes `new` the current version of its key in `bucket`, atomically and durably: after
/// `Ok`, the file is at its path and the record committed; on any failure neither changed.
/// `precondition` sees the current version under the write lock.
pub(crate) async fn commit_object(
    state: &AppState,
    bucket: &BucketMeta,
    new: NewObject<'_>,
    precondition: impl FnOnce(Option<&ObjectMeta>) -> S3Result<()>,
) -> S3Result<ObjectMeta> {
    let shape = object_files::check_key(new.key).map_err(|e| errors::key_error(new.key, &e))?;
    if shape == KeyShape::Folder && new.staged.size > 0 {
        return Err(errors::invalid_argument(format!(
            "The object key {:?} ends with '/', which this emulator stores as a folder (a directory): such objects must be empty",
            new.key
        )));
    }
    let store = state.store();
    let _guard = state.write_lock().await;
    match records::get_bucket(store, &bucket.name)
        .await
        .map_err(errors::store)?
    {
        Some(b) if b.owner == bucket.owner => {}
        _ => return Err(errors::no_such_bucket(&bucket.name)),
    }
    let current = records::get_object(store, &bucket.name, new.key)
        .await
        .map_err(errors::store)?;
    precondition(current.as_ref())?;
    if let Some(upload) = new.upload {
        if records::get_upload(store, upload)
            .await
            .map_err(errors::store)?
            .is_none()
        {
            return Err(errors::no_such_upload(upload));
        }
    }
    let bucket_dir = object_files::bucket_dir(state.data_dir(), &bucket.name)
        .ok_or_else(|| errors::no_such_bucket(&bucket.name))?;
    std::fs::create_dir_all(&bucket_dir)
        .map_err(|e| errors::io("cannot create the bucket directory", &e))?;
    let dest = object_files::prepare_path(&bucket_dir, new.key).map_err(errors::place_error)?;
    let meta = ObjectMeta {
        bucket: bucket.name.clone(),
        key: new.key.to_string(),
        size: new.staged.size,
        etag: new.etag,
        last_modified: state.now().floor(),
        owner: bucket.owner.clone(),
        attributes: new.attributes,
        parts_count: new.parts_count,
        file_id: match shape {
            KeyShape::File => new.staged.file_id,
            KeyShape::Folder => None,
        },
    };
    let mut writes = vec![Write::put(records::object_record(&meta, &bucket.region))];
    if let Some(upload) = new.upload {
        writes.extend(
            records::delete_upload_writes(store, upload)
                .await
                .map_err(errors::store)?,
        );
    }
    if shape == KeyShape::Folder {
        drop(new.staged);
        store.commit(writes).await.map_err(errors::store)?;
        return Ok(meta);
    }
    let tmp = new
        .staged
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (intent_id, intent) = records::intent_write(&Intent::Put {
        tmp,
        object: Box::new(meta.clone()),
        region: bucket.region.clone(),
        upload: new.upload.map(str::to_string),
    });
    store.commit(vec![intent]).await.map_err(errors::store)?;
    let _publishing = publication().write().await;
    if let Err(e) = new.staged.persist(&dest) {
        let _ = store.commit(vec![records::intent_done(&intent_id)]).await;
        return Err(errors::io("cannot move the object into place", &e));
    }
    writes.push(records::intent_done(&intent_id));
    store.commit(writes).await.map_err(errors::store)?;
    Ok(meta)
}

/// Stores the local file `source` as object `key` of `bucket` (owned by `account`), the way
/// PutObject would: the file is copied into `<data-dir>/s3-tmp/`, fsynced and renamed into
/// place, and its record committed. For the engine writing query results. Returns the ETag.
pub async fn put_local_file(
    state: &AppState,
    account: &str,
    bucket: &str,
    key: &str,
    source: &Path,
    content_type: Option<&str>,
) -> Result<String, crate::error::AwsError> {
    put_local_file_if(state, account, bucket, key, source, content_type, false).await
}

/// [`put_local_file`], or with `create_only` a conditional create (`If-None-Match: *`): the
/// error is `PreconditionFailed` (412) when `key` already exists. For table services writing
/// Delta tables in the emulator's S3 (a Delta commit must never replace another).
pub async fn put_local_file_if(
    state: &AppState,
    account: &str,
    bucket: &str,
    key: &str,
    source: &Path,
    content_type: Option<&str>,
    create_only: bool,
) -> Result<String, crate::error::AwsError> {
    let to_aws = |e: s3s::S3Error| {
        crate::error::AwsError::new(
            e.code().as_str(),
            e.status_code().map_or(500, |s| s.as_u16()),
            e.message().unwrap_or("S3 write failed").to_string(),
        )
    };
    let caller = Caller {
        account: account.to_string(),
        region: state.config().region.clone(),
        request_id: String::new(),
    };
    let bucket = owned_bucket(state, &caller, bucket).await.map_err(to_aws)?;
    let file = tokio::fs::File::open(source).await.map_err(|e| {
        crate::error::AwsError::internal(format!("cannot read {}: {e}", source.display()))
    })?;
    let staged = object_files::stage(
        state.data_dir(),
        tokio_util::io::ReaderStream::new(file),
        MAX_PUT_BYTES,
        |_| {},
    )
    .await
    .map_err(|e| to_aws(errors::stage_error(e)))?;
    let etag = staged.md5_hex();
    let new = NewObject {
        key,
        staged,
        etag,
        attributes: Attributes {
            content_type: content_type.map(str::to_string),
            ..Default::default()
        },
        parts_count: None,
        upload: None,
    };
    let condition = WriteCondition {
        if_match: None,
        if_none_match: create_only.then_some(ETagCondition::Any),
    };
    commit_object(state, &bucket, new, |current| condition.check(current))
        .await
        .map(|m| m.etag)
        .map_err(to_aws)
}

/// PutObject: the body is streamed to a temporary file (MD5 and declared checksums computed on
/// the way), verified, then committed.
pub async fn put_object(
    state: &AppState,
    caller: &Caller,
    input: PutObjectInput,
) -> S3Result<PutObjectOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    object_files::check_key(&input.key).map_err(|e| errors::key_error(&input.key, &e))?;
    let md5 = input
        .content_md5
        .as_deref()
        .map(parse_content_md5)
        .transpose()?;
    let condition = WriteCondition {
        if_match: input.if_match,
        if_none_match: input.if_none_match,
    };
    if condition.if_match.is_some() || condition.if_none_match.is_some() {
        let current = records::get_object(state.store(), &bucket.name, &input.key)
            .await
            .map_err(errors::store)?;
        condition.check(current.as_ref())?;
    }
    let mut sums = RequestChecksums::new(
        input.checksum_crc32,
        input.checksum_crc32c,
        input.checksum_crc64nvme,
        input.checksum_sha1,
        input.checksum_sha256,
    );
    let staged = stage_body(state, input.body, |c| sums.observe(c)).await?;
    verify_md5(md5, &staged)?;
    let checksum = sums.verify()?;
    let etag = staged.md5_hex();
    let new = NewObject {
        key: &input.key,
        staged,
        etag,
        attributes: attributes(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.metadata,
        ),
        parts_count: None,
        upload: None,
    };
    let meta = commit_object(state, &bucket, new, |current| condition.check(current)).await?;
    Ok(PutObjectOutput {
        e_tag: Some(ETag::Strong(meta.etag)),
        checksum_crc32: checksum.checksum_crc32,
        checksum_crc32c: checksum.checksum_crc32c,
        checksum_crc64nvme: checksum.checksum_crc64nvme,
        checksum_sha1: checksum.checksum_sha1,
        checksum_sha256: checksum.checksum_sha256,
        ..Default::default()
    })
}

/// Receives a request body (absent = empty) into a temporary file.
pub(crate) async fn stage_body(
    state: &AppState,
    body: Option<StreamingBlob>,
    observe: impl FnMut(&[u8]),
) -> S3Result<Staged> {
    let result = match body {
        Some(body) => object_files::stage(state.data_dir(), body, MAX_PUT_BYTES, observe).await,
        None => {
            object_files::stage(
                state.data_dir(),
                futures::stream::empty::<Result<Bytes, std::io::Error>>(),
                MAX_PUT_BYTES,
                observe,
            )
            .await
        }
    };
    result.map_err(errors::stage_error)
}

/// An object's current version, with its file opened (`None` for folder markers).
pub(crate) struct Opened {
    /// The record.
    pub meta: ObjectMeta,
    /// The file, matching the record.
    pub file: Option<tokio::fs::File>,
}

/// Opens object `key` of `bucket` so that record and file are the same version (a concurrent
/// overwrite is retried). `NoSuchKey` when it does not exist.
pub(crate) async fn open_object(state: &AppState, bucket: &str, key: &str) -> S3Result<Opened> {
    let shape = object_files::check_key(key).map_err(|_| errors::no_such_key(key))?;
    for _ in 0..5 {
        let reading = publication().read().await;
        let meta = records::get_object(state.store(), bucket, key)
            .await
            .map_err(errors::store)?
            .ok_or_else(|| errors::no_such_key(key))?;
        if shape == KeyShape::Folder {
            return Ok(Opened { meta, file: None });
        }
        let path = object_files::object_path(state.data_dir(), bucket, key)
            .ok_or_else(|| errors::no_such_key(key))?;
        match tokio::fs::File::open(&path).await {
            Ok(file) => {
                let m = file
                    .metadata()
                    .await
                    .map_err(|e| errors::io("cannot stat the object file", &e))?;
                let same_file = meta.file_id.is_none() || object_files::file_id(&m) == meta.file_id;
                if m.is_file() && m.len() == meta.size && same_file {
                    return Ok(Opened {
                        meta,
                        file: Some(file),
                    });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(errors::io("cannot open the object file", &e)),
        }
        drop(reading);
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Err(errors::internal(format!(
        "the file of object {bucket}/{key} does not match its metadata (was it changed outside the emulator?)"
    )))
}

/// GetObject, with `Range` (206 + `Content-Range`, `InvalidRange` 416) and conditions.
pub async fn get_object(
    state: &AppState,
    caller: &Caller,
    input: GetObjectInput,
) -> S3Result<GetObjectOutput> {
    owned_bucket(state, caller, &input.bucket).await?;
    if input.part_number.is_some() {
        return Err(errors::error(
            S3ErrorCode::NotImplemented,
            "GetObject with partNumber is not implemented by cleanrooms-emulator yet; use Range",
        ));
    }
    let Opened { meta, file } = open_object(state, &input.bucket, &input.key).await?;
    check_read_conditions(
        &meta,
        input.if_match.as_ref(),
        input.if_none_match.as_ref(),
        input.if_modified_since.as_ref(),
        input.if_unmodified_since.as_ref(),
    )?;
    let (start, len, content_range) = match &input.range {
        None => (0, meta.size, None),
        Some(range) => {
            let r = range.check(meta.size).map_err(|_| {
                errors::error(
                    S3ErrorCode::InvalidRange,
                    format!(
                        "The requested range is not satisfiable (object size {})",
                        meta.size
                    ),
                )
            })?;
            (
                r.start,
                r.end - r.start,
                Some(format!("bytes {}-{}/{}", r.start, r.end - 1, meta.size)),
            )
        }
    };
    let body = match file {
        Some(mut file) => {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| errors::io("cannot read the object file", &e))?;
            StreamingBlob::wrap(tokio_util::io::ReaderStream::with_capacity(
                file.take(len),
                64 * 1024,
            ))
        }
        None => StreamingBlob::wrap(futures::stream::empty::<Result<Bytes, std::io::Error>>()),
    };
    let a = meta.attributes;
    Ok(GetObjectOutput {
        body: Some(body),
        content_length: Some(len as i64),
        content_range,
        accept_ranges: Some("bytes".into()),
        e_tag: Some(ETag::Strong(meta.etag)),
        last_modified: Some(timestamp(meta.last_modified)),
        content_type: Some(
            a.content_type
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into()),
        ),
        content_encoding: a.content_encoding,
        content_disposition: a.content_disposition,
        content_language: a.content_language,
        cache_control: a.cache_control,
        metadata: (!a.metadata.is_empty()).then(|| a.metadata.into_iter().collect()),
        ..Default::default()
    })
}

/// HeadObject: GetObject's headers without the body.
pub async fn head_object(
    state: &AppState,
    caller: &Caller,
    input: HeadObjectInput,
) -> S3Result<HeadObjectOutput> {
    owned_bucket(state, caller, &input.bucket).await?;
    let meta = records::get_object(state.store(), &input.bucket, &input.key)
        .await
        .map_err(errors::store)?
        .ok_or_else(|| errors::no_such_key(&input.key))?;
    check_read_conditions(
        &meta,
        input.if_match.as_ref(),
        input.if_none_match.as_ref(),
        input.if_modified_since.as_ref(),
        input.if_unmodified_since.as_ref(),
    )?;
    let a = meta.attributes;
    Ok(HeadObjectOutput {
        content_length: Some(meta.size as i64),
        accept_ranges: Some("bytes".into()),
        e_tag: Some(ETag::Strong(meta.etag)),
        last_modified: Some(timestamp(meta.last_modified)),
        content_type: Some(
            a.content_type
                .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into()),
        ),
        content_encoding: a.content_encoding,
        content_disposition: a.content_disposition,
        content_language: a.content_language,
        cache_control: a.cache_control,
        metadata: (!a.metadata.is_empty()).then(|| a.metadata.into_iter().collect()),
        ..Default::default()
    })
}

/// Removes object `key` of `bucket` if it exists (journalled like a write).
pub async fn delete_one(state: &AppState, bucket: &BucketMeta, key: &str) -> S3Result<()> {
    let Ok(shape) = object_files::check_key(key) else {
        return Ok(());
    };
    let store = state.store();
    let _guard = state.write_lock().await;
    if records::get_object(store, &bucket.name, key)
        .await
        .map_err(errors::store)?
        .is_none()
    {
        return Ok(());
    }
    let Some(bucket_dir) = object_files::bucket_dir(state.data_dir(), &bucket.name) else {
        return Ok(());
    };
    // Folder markers above the key keep their directories.
    let mut markers = HashSet::new();
    let body = key.trim_end_matches('/');
    for (i, _) in body.match_indices('/') {
        let folder = &key[..=i];
        if records::get_object(store, &bucket.name, folder)
            .await
            .map_err(errors::store)?
            .is_some()
        {
            markers.insert(folder.to_string());
        }
    }
    let keep = |folder: &str| markers.contains(folder);
    match shape {
        KeyShape::Folder => {
            store
                .commit(vec![records::delete_object_write(&bucket.name, key)])
                .await
                .map_err(errors::store)?;
            let _ = std::fs::remove_dir(bucket_dir.join(body));
            object_files::prune_empty_dirs(&bucket_dir, key, keep);
        }
        KeyShape::File => {
            let (intent_id, intent) = records::intent_write(&Intent::Delete {
                bucket: bucket.name.clone(),
                key: key.to_string(),
            });
            store
                .commit(vec![
                    records::delete_object_write(&bucket.name, key),
                    intent,
                ])
                .await
                .map_err(errors::store)?;
            let path = bucket_dir.join(key);
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    if let Some(parent) = path.parent() {
                        let _ = object_files::sync_dir(parent);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "s3: cannot remove a deleted object's file")
                }
            }
            object_files::prune_empty_dirs(&bucket_dir, key, keep);
            store
                .commit(vec![records::intent_done(&intent_id)])
                .await
                .map_err(errors::store)?;
        }
    }
    Ok(())
}

/// DeleteObject (204 whether or not the key existed, as S3 answers).
pub async fn delete_object(
    state: &AppState,
    caller: &Caller,
    input: DeleteObjectInput,
) -> S3Result<DeleteObjectOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    if let Some(cond) = &input.if_match {
        let current = records::get_object(state.store(), &bucket.name, &input.key)
            .await
            .map_err(errors::store)?;
        if let Some(current) = current {
            if !etag_matches(cond, &current.etag) {
                return Err(errors::error(
                    S3ErrorCode::PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold",
                ));
            }
        }
    }
    delete_one(state, &bucket, &input.key).await?;
    Ok(DeleteObjectOutput::default())
}

/// DeleteObjects: up to 1000 keys; `Quiet` reports only failures.
pub async fn delete_objects(
    state: &AppState,
    caller: &Caller,
    input: DeleteObjectsInput,
) -> S3Result<DeleteObjectsOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let objects = input.delete.objects;
    if objects.is_empty() || objects.len() > 1000 {
        return Err(errors::error(
            S3ErrorCode::MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: Delete must list 1 to 1000 objects",
        ));
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for object in objects {
        match delete_one(state, &bucket, &object.key).await {
            Ok(()) if quiet => {}
            Ok(()) => deleted.push(DeletedObject {
                key: Some(object.key),
                ..Default::default()
            }),
            Err(e) => failed.push(Error {
                code: Some(e.code().as_str().to_string()),
                key: Some(object.key),
                message: e.message().map(str::to_string),
                version_id: None,
            }),
        }
    }
    Ok(DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!failed.is_empty()).then_some(failed),
        ..Default::default()
    })
}

/// The bucket and key of an `x-amz-copy-source`.
pub(crate) fn copy_source(source: &CopySource) -> S3Result<(&str, &str)> {
    match source {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            if version_id.as_deref().is_some_and(|v| v != "null") {
                return Err(errors::invalid_argument(
                    "Versioning is not supported by cleanrooms-emulator: a copy source cannot name a versionId",
                ));
            }
            Ok((bucket, key))
        }
        _ => Err(errors::error(
            S3ErrorCode::NotImplemented,
            "Copy sources other than <bucket>/<key> (access points, outposts) are not implemented by cleanrooms-emulator",
        )),
    }
}

/// `x-amz-copy-source-if-*`: any failing condition is `PreconditionFailed`.
pub(crate) fn check_copy_conditions(
    meta: &ObjectMeta,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    check_read_conditions(
        meta,
        if_match,
        if_none_match,
        if_modified_since,
        if_unmodified_since,
    )
    .map_err(|e| {
        if *e.code() == S3ErrorCode::NotModified {
            errors::error(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            )
        } else {
            e
        }
    })
}

/// Copies `len` bytes from `start` of an opened object into a temporary file.
pub(crate) async fn stage_copy(
    state: &AppState,
    file: Option<tokio::fs::File>,
    start: u64,
    len: u64,
) -> S3Result<Staged> {
    match file {
        Some(mut file) => {
            file.seek(std::io::SeekFrom::Start(start))
                .await
                .map_err(|e| errors::io("cannot read the source object", &e))?;
            object_files::stage(
                state.data_dir(),
                tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024),
                MAX_PUT_BYTES,
                |_| {},
            )
            .await
            .map_err(errors::stage_error)
        }
        None => stage_body(state, None, |_| {}).await,
    }
}

/// CopyObject, within and across the caller's buckets. `MetadataDirective` `COPY` (default)
/// keeps the source's attributes, `REPLACE` takes the request's.
pub async fn copy_object(
    state: &AppState,
    caller: &Caller,
    input: CopyObjectInput,
) -> S3Result<CopyObjectOutput> {
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    owned_bucket(state, caller, src_bucket).await?;
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    object_files::check_key(&input.key).map_err(|e| errors::key_error(&input.key, &e))?;
    let replace = input
        .metadata_directive
        .as_ref()
        .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
    if src_bucket == input.bucket && src_key == input.key && !replace {
        return Err(errors::error(
            S3ErrorCode::InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    let Opened { meta: src, file } = open_object(state, src_bucket, src_key).await?;
    check_copy_conditions(
        &src,
        input.copy_source_if_match.as_ref(),
        input.copy_source_if_none_match.as_ref(),
        input.copy_source_if_modified_since.as_ref(),
        input.copy_source_if_unmodified_since.as_ref(),
    )?;
    if src.size > MAX_PUT_BYTES {
        return Err(errors::invalid_argument(
            "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120",
        ));
    }
    let staged = stage_copy(state, file, 0, src.size).await?;
    let etag = staged.md5_hex();
    let attributes = if replace {
        attributes(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.metadata,
        )
    } else {
        src.attributes.clone()
    };
    let new = NewObject {
        key: &input.key,
        staged,
        etag,
        attributes,
        parts_count: None,
        upload: None,
    };
    let meta = commit_object(state, &bucket, new, |_| Ok(())).await?;
    Ok(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(meta.etag)),
            last_modified: Some(timestamp(meta.last_modified)),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Characters S3's `encoding-type=url` leaves as they are.
const URL_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Encodes a key or prefix for `encoding-type=url` responses.
fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_KEEP).to_string()
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// Objects on the page.
    pub contents: Vec<ObjectMeta>,
    /// Common prefixes on the page.
    pub prefixes: Vec<String>,
    /// Whether more follow.
    pub truncated: bool,
    /// The last key or common prefix on the page (where the next page starts after).
    pub last: Option<String>,
    /// Object records read to build the page (what a listing costs).
    pub rows_read: usize,
}

/// A key after every key that starts with `prefix` (its last character is followed by the
/// largest one), to seek past a whole common prefix.
fn past(prefix: &str) -> String {
    format!("{prefix}{}", char::MAX)
}

/// The common prefix `key` rolls up into in a delimited listing: `key` up to and including the
/// first `delimiter` after `prefix` (`key` starts with `prefix`); `None` without a delimiter or
/// when none follows the prefix.
pub(crate) fn common_prefix(key: &str, prefix: &str, delimiter: Option<&str>) -> Option<String> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    key[prefix.len()..]
        .find(d)
        .map(|i| key[..prefix.len() + i + d.len()].to_string())
}

/// Lists the objects of `bucket` S3's way: keys under `prefix`, after `marker`, grouped into
/// common prefixes at the first `delimiter` after the prefix, at most `max` entries. It reads
/// about one page of records, in key order ([`records::objects_from`]): it starts at the prefix
/// (or the marker) and seeks past each common prefix instead of reading the keys under it.
pub(crate) async fn paginate(
    store: &dyn crate::store::MetadataStore,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    marker: Option<&str>,
    max: usize,
) -> Result<Page, crate::store::StoreError> {
    let mut page = Page::default();
    if max == 0 {
        return Ok(page);
    }
    let delimiter = delimiter.filter(|d| !d.is_empty());
    // Every key under the prefix sorts before this one: the range read ends there.
    let end = past(prefix);
    let (mut from, mut inclusive) = match marker {
        Some(m) if m >= prefix => (m.to_string(), false),
        _ => (prefix.to_string(), true),
    };
    // With a delimiter, the next key after a seek may start another common prefix: read one
    // row, and twice as many each time no common prefix interrupts the keys.
    let mut batch_size = if delimiter.is_some() { 1 } else { max + 1 };
    loop {
        // At most one more than fits, to know whether the page is truncated.
        let want = (max - page.contents.len() - page.prefixes.len() + 1).min(batch_size);
        let batch = records::objects_from(store, bucket, &from, inclusive, &end, want).await?;
        page.rows_read += batch.len();
        let complete = batch.len() < want;
        let mut seek = None;
        for object in batch {
            let group = common_prefix(&object.key, prefix, delimiter);
            if let Some(cp) = &group {
                if marker.is_some_and(|m| cp.as_str() <= m)
                    || page.prefixes.last().is_some_and(|p| p == cp)
                {
                    seek = Some(past(cp));
                    break;
                }
            }
            if page.contents.len() + page.prefixes.len() == max {
                page.truncated = true;
                return Ok(page);
            }
            match group {
                Some(cp) => {
                    seek = Some(past(&cp));
                    page.last = Some(cp.clone());
                    page.prefixes.push(cp);
                    break;
                }
                None => {
                    page.last = Some(object.key.clone());
                    from.clone_from(&object.key);
                    inclusive = false;
                    page.contents.push(object);
                }
            }
        }
        match seek {
            Some(next) => {
                from = next;
                inclusive = false;
                batch_size = 1;
            }
            None if complete => return Ok(page),
            None => batch_size = batch_size.saturating_mul(2),
        }
    }
}

/// `max-keys`: default and cap 1000; negative is `InvalidArgument`.
fn max_keys(value: Option<i32>) -> S3Result<usize> {
    match value {
        None => Ok(1000),
        Some(n) if n < 0 => Err(errors::invalid_argument(
            "Provided max-keys not an integer or within integer range",
        )),
        Some(n) => Ok((n as usize).min(1000)),
    }
}

fn list_entry(o: &ObjectMeta, url: bool, with_owner: bool) -> Object {
    Object {
        key: Some(if url {
            url_encode(&o.key)
        } else {
            o.key.clone()
        }),
        size: Some(o.size as i64),
        e_tag: Some(ETag::Strong(o.etag.clone())),
        last_modified: Some(timestamp(o.last_modified)),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        owner: with_owner.then(|| buckets::owner(&o.owner)),
        ..Default::default()
    }
}

fn encode_token(marker: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{marker}"))
}

fn decode_token(token: &str) -> S3Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("v1:").map(str::to_string))
        .ok_or_else(|| errors::invalid_argument("The continuation token provided is incorrect"))
}

/// ListObjectsV2.
pub async fn list_objects_v2(
    state: &AppState,
    caller: &Caller,
    input: ListObjectsV2Input,
) -> S3Result<ListObjectsV2Output> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let max = max_keys(input.max_keys)?;
    let url = input
        .encoding_type
        .as_ref()
        .is_some_and(|e| e.as_str() == EncodingType::URL);
    let marker = match &input.continuation_token {
        Some(token) => Some(decode_token(token)?),
        None => input.start_after.clone(),
    };
    let prefix = input.prefix.clone().unwrap_or_default();
    let page = paginate(
        state.store(),
        &bucket.name,
        &prefix,
        input.delimiter.as_deref(),
        marker.as_deref(),
        max,
    )
    .await
    .map_err(errors::store)?;
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let with_owner = input.fetch_owner.unwrap_or(false);
    Ok(ListObjectsV2Output {
        name: Some(bucket.name.clone()),
        prefix: Some(enc(&prefix)),
        max_keys: Some(max as i32),
        key_count: Some((page.contents.len() + page.prefixes.len()) as i32),
        continuation_token: input.continuation_token,
        is_truncated: Some(page.truncated),
        next_continuation_token: page
            .truncated
            .then(|| page.last.as_deref().map(encode_token))
            .flatten(),
        contents: Some(
            page.contents
                .iter()
                .map(|o| list_entry(o, url, with_owner))
                .collect(),
        ),
        common_prefixes: Some(
            page.prefixes
                .iter()
                .map(|p| CommonPrefix {
                    prefix: Some(enc(p)),
                })
                .collect(),
        ),
        delimiter: input.delimiter.as_deref().map(enc),
        encoding_type: input.encoding_type,
        start_after: input.start_after.as_deref().map(enc),
        ..Default::default()
    })
}

/// ListObjects (version 1): `marker`, and `NextMarker` when a delimiter is given.
pub async fn list_objects(
    state: &AppState,
    caller: &Caller,
    input: ListObjectsInput,
) -> S3Result<ListObjectsOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let max = max_keys(input.max_keys)?;
    let url = input
        .encoding_type
        .as_ref()
        .is_some_and(|e| e.as_str() == EncodingType::URL);
    let prefix = input.prefix.clone().unwrap_or_default();
    let page = paginate(
        state.store(),
        &bucket.name,
        &prefix,
        input.delimiter.as_deref(),
        input.marker.as_deref(),
        max,
    )
    .await
    .map_err(errors::store)?;
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let delimited = input.delimiter.as_deref().is_some_and(|d| !d.is_empty());
    Ok(ListObjectsOutput {
        name: Some(bucket.name.clone()),
        prefix: Some(enc(&prefix)),
        marker: Some(input.marker.as_deref().map(enc).unwrap_or_default()),
        max_keys: Some(max as i32),
        is_truncated: Some(page.truncated),
        next_marker: (page.truncated && delimited)
            .then(|| page.last.as_deref().map(enc))
            .flatten(),
        contents: Some(
            page.contents
                .iter()
                .map(|o| list_entry(o, url, true))
                .collect(),
        ),
        common_prefixes: Some(
            page.prefixes
                .iter()
                .map(|p| CommonPrefix {
                    prefix: Some(enc(p)),
                })
                .collect(),
        ),
        delimiter: input.delimiter.as_deref().map(enc),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MD5 of zero bytes.
    const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

    fn obj(key: &str) -> ObjectMeta {
        ObjectMeta {
            bucket: "b".into(),
            key: key.into(),
            size: 0,
            etag: EMPTY_MD5.into(),
            last_modified: 0.0,
            owner: "1".into(),
            attributes: Attributes::default(),
            parts_count: None,
            file_id: None,
        }
    }

    fn listed(page: &Page) -> Vec<String> {
        page.contents.iter().map(|o| o.key.clone()).collect()
    }

    /// A store holding objects with `keys` in bucket "b" (and a few in the buckets whose ids
    /// sort just before and after it, which no page of "b" may show).
    async fn bucket_of(keys: &[String]) -> (tempfile::TempDir, crate::store::sqlite::SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("m.db"))
            .await
            .unwrap();
        let mut writes: Vec<_> = keys
            .iter()
            .map(|k| crate::store::Write::put(records::object_record(&obj(k), "us-east-1")))
            .collect();
        for (bucket, key) in [("a", "z"), ("b-", "a"), ("b0", "a")] {
            let mut other = obj(key);
            other.bucket = bucket.into();
            writes.push(crate::store::Write::put(records::object_record(
                &other,
                "us-east-1",
            )));
        }
        crate::store::MetadataStore::commit(&store, writes)
            .await
            .unwrap();
        (dir, store)
    }

    async fn page(
        store: &crate::store::sqlite::SqliteStore,
        prefix: &str,
        delimiter: Option<&str>,
        marker: Option<&str>,
        max: usize,
    ) -> Page {
        paginate(store, "b", prefix, delimiter, marker, max)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn pages_group_common_prefixes_and_resume_after_them() {
        let stored: Vec<String> = ["a-1", "a/b/1", "a/b/2", "a/c", "b", "c/d"]
            .iter()
            .map(|k| k.to_string())
            .collect();
        let (_dir, objects) = bucket_of(&stored).await;
        let p = page(&objects, "", Some("/"), None, 1000).await;
        assert_eq!(listed(&p), ["a-1", "b"]);
        assert_eq!(p.prefixes, ["a/", "c/"]);
        assert!(!p.truncated);
        let p = page(&objects, "", Some("/"), None, 2).await;
        assert_eq!(listed(&p), ["a-1"]);
        assert_eq!(p.prefixes, ["a/"]);
        assert!(p.truncated);
        let p = page(&objects, "", Some("/"), p.last.as_deref(), 2).await;
        assert_eq!(listed(&p), ["b"]);
        assert_eq!(p.prefixes, ["c/"]);
        assert!(!p.truncated);
        let p = page(&objects, "a/", Some("/"), None, 1000).await;
        assert_eq!(listed(&p), ["a/c"]);
        assert_eq!(p.prefixes, ["a/b/"]);
        let p = page(&objects, "a/", None, Some("a/b/1"), 1000).await;
        assert_eq!(listed(&p), ["a/b/2", "a/c"]);
        let p = page(&objects, "a/", None, Some("0"), 1).await;
        assert_eq!(
            listed(&p),
            ["a/b/1"],
            "a marker before the prefix starts at the prefix"
        );
        assert!(page(&objects, "", None, None, 0).await.contents.is_empty());
    }

    #[tokio::test]
    async fn a_page_reads_about_its_own_size_whatever_the_bucket_holds() {
        // 10,000 keys under "logs/", 100 under "data/", and 50 folders of 100 keys each.
        let mut keys: Vec<String> = (0..10_000).map(|i| format!("logs/{i:05}")).collect();
        keys.extend((0..100).map(|i| format!("data/{i:03}")));
        keys.extend((0..5_000).map(|i| format!("dirs/{:02}/{:03}", i / 100, i % 100)));
        let (_dir, objects) = bucket_of(&keys).await;

        let p = page(&objects, "data/", None, None, 10).await;
        assert_eq!(p.contents.len(), 10);
        assert!(p.truncated);
        assert_eq!(
            p.rows_read, 11,
            "one page and one more row to know it is truncated"
        );
        let next = page(&objects, "data/", None, p.last.as_deref(), 1000).await;
        assert_eq!(next.contents.len(), 90);
        assert!(next.rows_read <= 91, "{} rows read", next.rows_read);

        // Common prefixes are skipped, not read: 50 folders cost about 50 rows, not 5,000.
        let p = page(&objects, "dirs/", Some("/"), None, 1000).await;
        assert_eq!(p.prefixes.len(), 50);
        assert!(!p.truncated);
        assert!(p.rows_read <= 51, "{} rows read", p.rows_read);
        let p = page(&objects, "", Some("/"), None, 1000).await;
        assert_eq!(p.prefixes, ["data/", "dirs/", "logs/"]);
        assert!(p.rows_read <= 4, "{} rows read", p.rows_read);
    }

    #[tokio::test]
    async fn the_engine_can_store_a_local_file_as_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let state =
            crate::server::open_state(crate::config::Config::default(), dir.path().join("data"))
                .await
                .unwrap();
        let caller = Caller {
            account: "111111111111".into(),
            region: "us-east-1".into(),
            request_id: "r".into(),
        };
        let input = CreateBucketInput {
            bucket: "results".into(),
            ..Default::default()
        };
        buckets::create_bucket(&state, &caller, input)
            .await
            .unwrap();
        let source = dir.path().join("result.csv");
        std::fs::write(&source, b"n\n42\n").unwrap();
        let etag = put_local_file(
            &state,
            "111111111111",
            "results",
            "q1/result.csv",
            &source,
            Some("text/csv"),
        )
        .await
        .unwrap();
        assert_eq!(etag.len(), 32);
        let path = object_files::object_path(state.data_dir(), "results", "q1/result.csv").unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"n\n42\n");
        let meta = records::get_object(state.store(), "results", "q1/result.csv")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((meta.size, meta.etag), (5, etag));
        assert_eq!(meta.attributes.content_type.as_deref(), Some("text/csv"));
        let denied = put_local_file(&state, "222222222222", "results", "x", &source, None).await;
        assert_eq!(denied.unwrap_err().code, "AccessDenied");
    }

    #[test]
    fn url_encoding_and_tokens() {
        assert_eq!(url_encode("a b+c/é"), "a%20b%2Bc/%C3%A9");
        assert_eq!(decode_token(&encode_token("a/b")).unwrap(), "a/b");
        assert!(decode_token("garbage!").is_err());
        assert_eq!(
            parse_content_md5("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap().len(),
            16
        );
        assert!(parse_content_md5("nope").is_err());
    }
}
