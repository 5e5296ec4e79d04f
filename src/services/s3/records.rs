//! What S3 keeps in the metadata store, and the journal that makes an object write atomic.
//!
//! Records: kind `s3.bucket` (id = bucket name, account = owner, region = bucket region),
//! `s3.object` (id = `<bucket>/<key>`, parent = bucket), `s3.upload` (id = upload id, parent =
//! bucket) and `s3.part` (id = `<upload-id>/<part number>`, parent = upload id). The store is the
//! source of truth for what exists; the files under `<data-dir>/s3/` mirror it.
//!
//! Putting a file into place and committing its record are two steps, so every object write
//! and delete is journalled (kind `s3.intent`): the intent is committed first, the file is
//! renamed (or unlinked), then the record and the removal of the intent are committed in one
//! transaction. After a crash, [`recover`] finishes or rolls back each intent it finds, so the
//! store and the files agree again before the first S3 request is served.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::object_files;
use crate::store::{MetadataStore, Query, Record, StoreError, Write};

/// Record kind of buckets.
pub const BUCKET: &str = "s3.bucket";
/// Record kind of objects.
pub const OBJECT: &str = "s3.object";
/// Record kind of multipart uploads in progress.
pub const UPLOAD: &str = "s3.upload";
/// Record kind of uploaded parts.
pub const PART: &str = "s3.part";
/// Record kind of journal entries.
pub const INTENT: &str = "s3.intent";

/// A bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketMeta {
    /// Bucket name.
    pub name: String,
    /// Owning account.
    pub owner: String,
    /// Region the bucket was created in.
    pub region: String,
    /// Creation time (emulator clock, epoch seconds).
    pub created: f64,
}

/// The HTTP attributes and user metadata stored with an object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    /// `Content-Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// `Cache-Control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// User metadata (`x-amz-meta-*`, names lowercase).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// An object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Bucket name.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes: MD5 hex, or `<hex>-<parts>` for multipart uploads.
    pub etag: String,
    /// Last-Modified (emulator clock, epoch seconds).
    pub last_modified: f64,
    /// Owning account (the bucket owner).
    pub owner: String,
    /// Content headers and user metadata.
    #[serde(default)]
    pub attributes: Attributes,
    /// Number of parts, for objects completed from a multipart upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_count: Option<u32>,
    /// Identity (inode) of the file holding this version, to detect a file replaced under us.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<u64>,
}

/// A multipart upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadMeta {
    /// Upload id.
    pub upload_id: String,
    /// Bucket name.
    pub bucket: String,
    /// Key of the object being uploaded.
    pub key: String,
    /// Account that initiated it (the bucket owner).
    pub owner: String,
    /// Initiation time (emulator clock).
    pub initiated: f64,
    /// Attributes the completed object gets.
    #[serde(default)]
    pub attributes: Attributes,
}

/// One uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartMeta {
    /// Part number (1–10000).
    pub number: i32,
    /// MD5 hex of the part.
    pub etag: String,
    /// Size in bytes.
    pub size: u64,
    /// Upload time (emulator clock).
    pub last_modified: f64,
    /// File name inside the upload's directory.
    pub file: String,
}

/// A journalled change whose file step may or may not have happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Intent {
    /// Rename `tmp` (a file name in `s3-tmp/`) to the object's path, then store `object`.
    #[serde(rename_all = "camelCase")]
    Put {
        /// Temporary file name.
        tmp: String,
        /// The record to store once the file is in place.
        object: Box<ObjectMeta>,
        /// Region of the bucket.
        region: String,
        /// A multipart upload this write completes (its records go with the intent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upload: Option<String>,
    },
    /// Unlink the object's file (its record is already gone).
    #[serde(rename_all = "camelCase")]
    Delete {
        /// Bucket name.
        bucket: String,
        /// Key.
        key: String,
    },
}

fn decode<T: for<'de> Deserialize<'de>>(record: &Record) -> Result<T, StoreError> {
    T::deserialize(&record.body)
        .map_err(|e| StoreError::Corrupt(format!("{} {}: {e}", record.kind, record.id)))
}

fn encode<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// Id of an object record.
pub fn object_id(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// The bucket `name`, if it exists.
pub async fn get_bucket(
    store: &dyn MetadataStore,
    name: &str,
) -> Result<Option<BucketMeta>, StoreError> {
    store
        .get(BUCKET, name)
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// Every bucket owned by `account`.
pub async fn list_buckets(
    store: &dyn MetadataStore,
    account: &str,
) -> Result<Vec<BucketMeta>, StoreError> {
    store
        .query(&Query::kind(BUCKET).account(account))
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// The record of a bucket.
pub fn bucket_record(bucket: &BucketMeta) -> Record {
    Record::new(
        BUCKET,
        &bucket.name,
        &bucket.region,
        &bucket.owner,
        None,
        encode(bucket),
    )
}

/// Object `key` of `bucket`, if it exists.
pub async fn get_object(
    store: &dyn MetadataStore,
    bucket: &str,
    key: &str,
) -> Result<Option<ObjectMeta>, StoreError> {
    store
        .get(OBJECT, &object_id(bucket, key))
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// At most `limit` objects of `bucket` in key order, from `key` on (`key` itself only with
/// `inclusive`) and before the key `before`: a range read over the records' ids
/// (`bucket/key`), so a listing page costs its own size, not the bucket's.
pub async fn objects_from(
    store: &dyn MetadataStore,
    bucket: &str,
    key: &str,
    inclusive: bool,
    before: &str,
    limit: usize,
) -> Result<Vec<ObjectMeta>, StoreError> {
    store
        .query(
            &Query::kind(OBJECT)
                .ids_from(&object_id(bucket, key), inclusive)
                .ids_before(&object_id(bucket, before))
                .limit(limit),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Whether `bucket` holds any object or multipart upload.
pub async fn bucket_is_empty(store: &dyn MetadataStore, bucket: &str) -> Result<bool, StoreError> {
    let objects = store
        .query(&Query::kind(OBJECT).parent(bucket).limit(1))
        .await?;
    let uploads = store
        .query(&Query::kind(UPLOAD).parent(bucket).limit(1))
        .await?;
    Ok(objects.is_empty() && uploads.is_empty())
}

/// The record of an object.
pub fn object_record(object: &ObjectMeta, region: &str) -> Record {
    Record::new(
        OBJECT,
        &object_id(&object.bucket, &object.key),
        region,
        &object.owner,
        Some(&object.bucket),
        encode(object),
    )
}

/// Removal of an object record.
pub fn delete_object_write(bucket: &str, key: &str) -> Write {
    Write::Delete {
        kind: OBJECT.into(),
        id: object_id(bucket, key),
    }
}

/// The upload `upload_id`, if it is in progress.
pub async fn get_upload(
    store: &dyn MetadataStore,
    upload_id: &str,
) -> Result<Option<UploadMeta>, StoreError> {
    store
        .get(UPLOAD, upload_id)
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// The record of an upload.
pub fn upload_record(upload: &UploadMeta, region: &str) -> Record {
    Record::new(
        UPLOAD,
        &upload.upload_id,
        region,
        &upload.owner,
        Some(&upload.bucket),
        encode(upload),
    )
}

/// Id of a part record.
pub fn part_id(upload_id: &str, number: i32) -> String {
    format!("{upload_id}/{number:05}")
}

/// The record of a part.
pub fn part_record(upload: &UploadMeta, part: &PartMeta, region: &str) -> Record {
    Record::new(
        PART,
        &part_id(&upload.upload_id, part.number),
        region,
        &upload.owner,
        Some(&upload.upload_id),
        encode(part),
    )
}

/// The parts of an upload, by part number.
pub async fn list_parts(
    store: &dyn MetadataStore,
    upload_id: &str,
) -> Result<Vec<PartMeta>, StoreError> {
    let mut parts: Vec<PartMeta> = store
        .query(&Query::kind(PART).parent(upload_id))
        .await?
        .iter()
        .map(decode)
        .collect::<Result<_, _>>()?;
    parts.sort_by_key(|p| p.number);
    Ok(parts)
}

/// At most `limit` parts of an upload with a number above `after`, by part number: a range read
/// over the part records' ids (`upload/number`), so a ListParts page costs its own size.
pub async fn parts_after(
    store: &dyn MetadataStore,
    upload_id: &str,
    after: i32,
    limit: usize,
) -> Result<Vec<PartMeta>, StoreError> {
    // Part numbers are 1..=10000 and ids pad them to five digits: id order is number order, and
    // every id of this upload sorts before `upload_id` + the character after '/'.
    let from = part_id(upload_id, after.clamp(0, 99_999));
    store
        .query(
            &Query::kind(PART)
                .ids_from(&from, false)
                .ids_before(&format!("{upload_id}0"))
                .limit(limit),
        )
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Removal of an upload and all its part records.
pub async fn delete_upload_writes(
    store: &dyn MetadataStore,
    upload_id: &str,
) -> Result<Vec<Write>, StoreError> {
    let mut writes: Vec<Write> = list_parts(store, upload_id)
        .await?
        .iter()
        .map(|p| Write::Delete {
            kind: PART.into(),
            id: part_id(upload_id, p.number),
        })
        .collect();
    writes.push(Write::Delete {
        kind: UPLOAD.into(),
        id: upload_id.to_string(),
    });
    Ok(writes)
}

/// A new journal entry (`Write::Put`) and its id.
pub fn intent_write(intent: &Intent) -> (String, Write) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let write = Write::put(Record::new(INTENT, &id, "", "", None, encode(intent)));
    (id, write)
}

/// Removal of a journal entry.
pub fn intent_done(id: &str) -> Write {
    Write::Delete {
        kind: INTENT.into(),
        id: id.to_string(),
    }
}

/// Finishes or rolls back every journalled change, then removes leftovers of interrupted
/// requests (temporary files, directories of uploads that no longer exist). Runs once at
/// start-up, before the server accepts a request ([`crate::server::open_state`]): it removes
/// every file in `s3-tmp/`, so it must never run while a request may be staging one.
pub async fn recover(store: &dyn MetadataStore, data_dir: &Path) -> Result<(), StoreError> {
    for record in store.query(&Query::kind(INTENT)).await? {
        let intent: Intent = decode(&record)?;
        let mut writes = vec![intent_done(&record.id)];
        match intent {
            Intent::Put {
                tmp,
                object,
                region,
                upload,
            } => {
                let tmp_path = object_files::tmp_dir(data_dir).join(&tmp);
                let placed = object_files::object_path(data_dir, &object.bucket, &object.key)
                    .and_then(|p| std::fs::symlink_metadata(p).ok())
                    .and_then(|m| object_files::file_id(&m));
                if tmp_path.exists() {
                    // Never renamed: the write did not happen.
                    let _ = std::fs::remove_file(&tmp_path);
                } else if placed.is_some() && placed == object.file_id {
                    // Renamed but not recorded: record it.
                    tracing::warn!(bucket = %object.bucket, key = %object.key, "s3: completing an interrupted object write");
                    writes.push(Write::put(object_record(&object, &region)));
                    if let Some(upload) = upload {
                        writes.extend(delete_upload_writes(store, &upload).await?);
                    }
                }
            }
            Intent::Delete { bucket, key } => {
                if get_object(store, &bucket, &key).await?.is_none() {
                    if let Some(path) = object_files::object_path(data_dir, &bucket, &key) {
                        let _ = std::fs::remove_file(path);
                    }
                }
            }
        }
        store.commit(writes).await?;
    }
    if let Ok(entries) = std::fs::read_dir(object_files::tmp_dir(data_dir)) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    if let Ok(entries) = std::fs::read_dir(data_dir.join(object_files::MULTIPART_DIR)) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if store.get(UPLOAD, &name).await?.is_none() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn object(key: &str, file_id: Option<u64>) -> ObjectMeta {
        ObjectMeta {
            bucket: "bkt".into(),
            key: key.into(),
            size: 3,
            etag: "e".into(),
            last_modified: 1.0,
            owner: "111111111111".into(),
            attributes: Attributes::default(),
            parts_count: None,
            file_id,
        }
    }

    fn ino(path: &Path) -> Option<u64> {
        object_files::file_id(&std::fs::metadata(path).unwrap())
    }

    async fn journal(store: &SqliteStore, intent: &Intent) {
        store.commit(vec![intent_write(intent).1]).await.unwrap();
    }

    #[tokio::test]
    async fn a_list_parts_page_reads_only_its_parts() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("metadata.db"))
            .await
            .unwrap();
        let upload = |id: &str| UploadMeta {
            upload_id: id.into(),
            bucket: "bkt".into(),
            key: "k".into(),
            owner: "111111111111".into(),
            initiated: 0.0,
            attributes: Attributes::default(),
        };
        let mut writes = Vec::new();
        // Two uploads whose ids share a prefix, and part numbers past 9999.
        for (id, numbers) in [("u1", vec![1, 2, 3, 10, 10_000]), ("u1x", vec![1, 4])] {
            for number in numbers {
                let part = PartMeta {
                    number,
                    etag: format!("{number}"),
                    size: 1,
                    last_modified: 0.0,
                    file: format!("{number}"),
                };
                writes.push(Write::put(part_record(&upload(id), &part, "us-east-1")));
            }
        }
        store.commit(writes).await.unwrap();
        let numbers = |parts: Vec<PartMeta>| parts.iter().map(|p| p.number).collect::<Vec<_>>();
        assert_eq!(
            numbers(parts_after(&store, "u1", 0, 10).await.unwrap()),
            [1, 2, 3, 10, 10_000]
        );
        assert_eq!(
            numbers(parts_after(&store, "u1", 2, 2).await.unwrap()),
            [3, 10]
        );
        assert_eq!(
            numbers(parts_after(&store, "u1", 10_000, 5).await.unwrap()),
            Vec::<i32>::new()
        );
        assert_eq!(
            numbers(parts_after(&store, "u1x", 1, 5).await.unwrap()),
            [4]
        );
    }

    #[tokio::test]
    async fn recovery_finishes_or_rolls_back_each_interrupted_write() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let store = SqliteStore::open(&data.join("metadata.db")).await.unwrap();
        let tmp = object_files::tmp_dir(data);
        let bucket = object_files::objects_root(data).join("bkt");
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::create_dir_all(&bucket).unwrap();

        // 1. Crash before the rename: the temporary file is still there.
        std::fs::write(tmp.join("t1"), b"new").unwrap();
        let id = ino(&tmp.join("t1"));
        journal(
            &store,
            &Intent::Put {
                tmp: "t1".into(),
                object: Box::new(object("not-renamed", id)),
                region: "us-east-1".into(),
                upload: None,
            },
        )
        .await;
        // 2. Crash after the rename, before the record: the file is in place.
        std::fs::write(bucket.join("renamed"), b"new").unwrap();
        let id = ino(&bucket.join("renamed"));
        journal(
            &store,
            &Intent::Put {
                tmp: "t2".into(),
                object: Box::new(object("renamed", id)),
                region: "us-east-1".into(),
                upload: None,
            },
        )
        .await;
        // 3. The file at the path is another one: nothing to record.
        std::fs::write(bucket.join("other"), b"old").unwrap();
        journal(
            &store,
            &Intent::Put {
                tmp: "t3".into(),
                object: Box::new(object("other", Some(u64::MAX))),
                region: "us-east-1".into(),
                upload: None,
            },
        )
        .await;
        // 4. Crash after a delete's record removal, before the unlink.
        std::fs::write(bucket.join("deleted"), b"old").unwrap();
        journal(
            &store,
            &Intent::Delete {
                bucket: "bkt".into(),
                key: "deleted".into(),
            },
        )
        .await;
        // Leftovers of interrupted requests.
        std::fs::write(tmp.join("stray"), b"x").unwrap();
        std::fs::create_dir_all(data.join(object_files::MULTIPART_DIR).join("gone")).unwrap();

        recover(&store, data).await.unwrap();

        assert!(store.query(&Query::kind(INTENT)).await.unwrap().is_empty());
        assert!(get_object(&store, "bkt", "not-renamed")
            .await
            .unwrap()
            .is_none());
        assert!(get_object(&store, "bkt", "renamed")
            .await
            .unwrap()
            .is_some());
        assert!(get_object(&store, "bkt", "other").await.unwrap().is_none());
        assert!(bucket.join("other").exists());
        assert!(!bucket.join("deleted").exists());
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
        assert!(!data.join(object_files::MULTIPART_DIR).join("gone").exists());
    }
}
