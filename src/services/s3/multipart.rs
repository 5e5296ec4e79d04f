//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy, ListParts,
//! CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads.
//!
//! Parts are files `<data-dir>/s3-multipart/<upload-id>/<number>-<md5>` (a re-uploaded part
//! gets a new file, so the record always names a complete one), with an `s3.part` record each.
//! Completion checks the list S3's way (`InvalidPartOrder`, `InvalidPart`, `EntityTooSmall` for
//! parts under 5 MiB except the last), concatenates the parts into `s3-tmp/` and commits the
//! object with the multipart ETag `"<md5 of the concatenated part MD5s>-<N>"`.

use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3ErrorCode, S3Result};

use super::buckets::{self, owned_bucket, timestamp};
use super::objects::{self, NewObject, Opened, RequestChecksums};
use super::records::{self, PartMeta, UploadMeta};
use super::{errors, Caller};
use crate::object_files::{self, KeyShape, Staged};
use crate::state::AppState;
use crate::store::Write;

/// Smallest part S3 accepts, except the last (5 MiB).
pub const MIN_PART_BYTES: u64 = 5 * 1024 * 1024;
/// Highest part number.
pub const MAX_PART_NUMBER: i32 = 10_000;

/// The upload `upload_id` of `bucket`/`key`, or `NoSuchUpload`.
async fn upload_of(
    state: &AppState,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> S3Result<UploadMeta> {
    match records::get_upload(state.store(), upload_id)
        .await
        .map_err(errors::store)?
    {
        Some(u) if u.bucket == bucket && u.key == key => Ok(u),
        _ => Err(errors::no_such_upload(upload_id)),
    }
}

fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(errors::invalid_argument(format!(
            "Part number must be an integer between 1 and 10000, inclusive (got {n})"
        )))
    }
}

/// CreateMultipartUpload.
pub async fn create_multipart_upload(
    state: &AppState,
    caller: &Caller,
    input: CreateMultipartUploadInput,
) -> S3Result<CreateMultipartUploadOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let shape =
        object_files::check_key(&input.key).map_err(|e| errors::key_error(&input.key, &e))?;
    if shape == KeyShape::Folder {
        return Err(errors::invalid_argument(format!(
            "The object key {:?} ends with '/', which this emulator stores as an (empty) folder; it cannot be uploaded in parts",
            input.key
        )));
    }
    let upload_id = uuid::Uuid::new_v4().simple().to_string();
    let dir = object_files::upload_dir(state.data_dir(), &upload_id)
        .ok_or_else(|| errors::internal("invalid upload id"))?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| errors::io("cannot create the upload directory", &e))?;
    let upload = UploadMeta {
        upload_id: upload_id.clone(),
        bucket: bucket.name.clone(),
        key: input.key.clone(),
        owner: bucket.owner.clone(),
        initiated: state.now().floor(),
        attributes: objects::attributes(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.metadata,
        ),
    };
    state
        .store()
        .commit(vec![Write::put(records::upload_record(
            &upload,
            &bucket.region,
        ))])
        .await
        .map_err(errors::store)?;
    Ok(CreateMultipartUploadOutput {
        bucket: Some(bucket.name),
        key: Some(input.key),
        upload_id: Some(upload_id),
        ..Default::default()
    })
}

/// Moves a received part into the upload's directory and records it (replacing an earlier
/// upload of the same number).
async fn commit_part(
    state: &AppState,
    upload: &UploadMeta,
    region: &str,
    number: i32,
    staged: Staged,
) -> S3Result<PartMeta> {
    let dir = object_files::upload_dir(state.data_dir(), &upload.upload_id)
        .ok_or_else(|| errors::no_such_upload(&upload.upload_id))?;
    let etag = staged.md5_hex();
    let part = PartMeta {
        number,
        etag: etag.clone(),
        size: staged.size,
        last_modified: state.now().floor(),
        file: format!("{number:05}-{etag}"),
    };
    let store = state.store();
    let _guard = state.write_lock().await;
    if records::get_upload(store, &upload.upload_id)
        .await
        .map_err(errors::store)?
        .is_none()
    {
        return Err(errors::no_such_upload(&upload.upload_id));
    }
    let previous = store
        .get(records::PART, &records::part_id(&upload.upload_id, number))
        .await
        .map_err(errors::store)?
        .and_then(|r| <PartMeta as serde::Deserialize>::deserialize(&r.body).ok());
    std::fs::create_dir_all(&dir)
        .map_err(|e| errors::io("cannot create the upload directory", &e))?;
    staged
        .persist(&dir.join(&part.file))
        .map_err(|e| errors::io("cannot store the part", &e))?;
    store
        .commit(vec![Write::put(records::part_record(
            upload, &part, region,
        ))])
        .await
        .map_err(errors::store)?;
    if let Some(previous) = previous.filter(|p| p.file != part.file) {
        let _ = std::fs::remove_file(dir.join(previous.file));
    }
    Ok(part)
}

/// UploadPart.
pub async fn upload_part(
    state: &AppState,
    caller: &Caller,
    input: UploadPartInput,
) -> S3Result<UploadPartOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    check_part_number(input.part_number)?;
    let upload = upload_of(state, &bucket.name, &input.key, &input.upload_id).await?;
    let md5 = input
        .content_md5
        .as_deref()
        .map(objects::parse_content_md5)
        .transpose()?;
    let mut sums = RequestChecksums::new(
        input.checksum_crc32,
        input.checksum_crc32c,
        input.checksum_crc64nvme,
        input.checksum_sha1,
        input.checksum_sha256,
    );
    let staged = objects::stage_body(state, input.body, |c| sums.observe(c)).await?;
    objects::verify_md5(md5, &staged)?;
    let checksum = sums.verify()?;
    let part = commit_part(state, &upload, &bucket.region, input.part_number, staged).await?;
    Ok(UploadPartOutput {
        e_tag: Some(ETag::Strong(part.etag)),
        checksum_crc32: checksum.checksum_crc32,
        checksum_crc32c: checksum.checksum_crc32c,
        checksum_crc64nvme: checksum.checksum_crc64nvme,
        checksum_sha1: checksum.checksum_sha1,
        checksum_sha256: checksum.checksum_sha256,
        ..Default::default()
    })
}

/// Parses `x-amz-copy-source-range: bytes=first-last` against a source of `size` bytes.
fn copy_range(range: Option<&str>, size: u64) -> S3Result<(u64, u64)> {
    let Some(range) = range else {
        return Ok((0, size));
    };
    let invalid = || {
        errors::invalid_argument(format!(
            "Range specified is not valid for source object of size: {size}"
        ))
    };
    let (first, last) = range
        .trim()
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(invalid)?;
    let first: u64 = first.parse().map_err(|_| invalid())?;
    let last: u64 = last.parse().map_err(|_| invalid())?;
    if first > last || last >= size {
        return Err(invalid());
    }
    Ok((first, last - first + 1))
}

/// UploadPartCopy: a part copied from (a byte range of) an existing object of the caller.
pub async fn upload_part_copy(
    state: &AppState,
    caller: &Caller,
    input: UploadPartCopyInput,
) -> S3Result<UploadPartCopyOutput> {
    let (src_bucket, src_key) = objects::copy_source(&input.copy_source)?;
    owned_bucket(state, caller, src_bucket).await?;
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    check_part_number(input.part_number)?;
    let upload = upload_of(state, &bucket.name, &input.key, &input.upload_id).await?;
    let Opened { meta: src, file } = objects::open_object(state, src_bucket, src_key).await?;
    objects::check_copy_conditions(
        &src,
        input.copy_source_if_match.as_ref(),
        input.copy_source_if_none_match.as_ref(),
        input.copy_source_if_modified_since.as_ref(),
        input.copy_source_if_unmodified_since.as_ref(),
    )?;
    let (start, len) = copy_range(input.copy_source_range.as_deref(), src.size)?;
    let staged = objects::stage_copy(state, file, start, len).await?;
    let part = commit_part(state, &upload, &bucket.region, input.part_number, staged).await?;
    Ok(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(part.etag)),
            last_modified: Some(timestamp(part.last_modified)),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// ListParts, by part number, with `part-number-marker` and `max-parts`.
pub async fn list_parts(
    state: &AppState,
    caller: &Caller,
    input: ListPartsInput,
) -> S3Result<ListPartsOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let upload = upload_of(state, &bucket.name, &input.key, &input.upload_id).await?;
    let max = match input.max_parts {
        None => 1000,
        Some(n) if n < 0 => return Err(errors::invalid_argument("max-parts must not be negative")),
        Some(n) => (n as usize).min(1000),
    };
    let after = input.part_number_marker.unwrap_or(0);
    // One more than fits, to know whether the page is truncated.
    let mut parts = records::parts_after(state.store(), &upload.upload_id, after, max + 1)
        .await
        .map_err(errors::store)?;
    let truncated = parts.len() > max;
    parts.truncate(max);
    let page: Vec<&PartMeta> = parts.iter().collect();
    let owner = buckets::owner(&upload.owner);
    Ok(ListPartsOutput {
        bucket: Some(bucket.name),
        key: Some(upload.key.clone()),
        upload_id: Some(upload.upload_id.clone()),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: page.last().map(|p| p.number),
        max_parts: Some(max as i32),
        is_truncated: Some(truncated),
        parts: Some(
            page.iter()
                .map(|p| Part {
                    part_number: Some(p.number),
                    e_tag: Some(ETag::Strong(p.etag.clone())),
                    size: Some(p.size as i64),
                    last_modified: Some(timestamp(p.last_modified)),
                    ..Default::default()
                })
                .collect(),
        ),
        initiator: Some(Initiator {
            display_name: owner.display_name.clone(),
            id: owner.id.clone(),
        }),
        owner: Some(owner),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        ..Default::default()
    })
}

/// The S3 multipart ETag (without quotes): MD5 of the concatenated binary part MD5s, `-N`.
pub fn multipart_etag(part_md5_hex: &[&str]) -> Option<String> {
    let mut md5 = Md5::new();
    for hex in part_md5_hex {
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| {
                hex.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()?;
        md5.update(&bytes);
    }
    Some(format!(
        "{}-{}",
        object_files::hex(&md5.finalize()),
        part_md5_hex.len()
    ))
}

/// CompleteMultipartUpload.
pub async fn complete_multipart_upload(
    state: &AppState,
    caller: &Caller,
    input: CompleteMultipartUploadInput,
) -> S3Result<CompleteMultipartUploadOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let upload = upload_of(state, &bucket.name, &input.key, &input.upload_id).await?;
    let requested = input
        .multipart_upload
        .and_then(|m| m.parts)
        .unwrap_or_default();
    if requested.is_empty() {
        return Err(errors::error(
            S3ErrorCode::MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema: CompleteMultipartUpload must list at least one part",
        ));
    }
    let stored = records::list_parts(state.store(), &upload.upload_id)
        .await
        .map_err(errors::store)?;
    let invalid_part = |n: i32| {
        errors::error(
            S3ErrorCode::InvalidPart,
            format!("One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag (part {n})."),
        )
    };
    let mut previous = 0;
    let mut chosen: Vec<&PartMeta> = Vec::with_capacity(requested.len());
    for part in &requested {
        let n = part.part_number.unwrap_or(0);
        if n <= previous {
            return Err(errors::error(
                S3ErrorCode::InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
            ));
        }
        previous = n;
        let found = stored
            .iter()
            .find(|p| p.number == n)
            .ok_or_else(|| invalid_part(n))?;
        let given = part
            .e_tag
            .as_ref()
            .map(|e| e.value().trim_matches('"').to_ascii_lowercase());
        if given.as_deref() != Some(found.etag.as_str()) {
            return Err(invalid_part(n));
        }
        chosen.push(found);
    }
    if let Some(small) = chosen[..chosen.len() - 1]
        .iter()
        .find(|p| p.size < MIN_PART_BYTES)
    {
        return Err(errors::error(
            S3ErrorCode::EntityTooSmall,
            format!("Your proposed upload is smaller than the minimum allowed object size: part {} is {} bytes; every part but the last must be at least 5 MiB", small.number, small.size),
        ));
    }
    let etags: Vec<&str> = chosen.iter().map(|p| p.etag.as_str()).collect();
    let etag =
        multipart_etag(&etags).ok_or_else(|| errors::internal("a stored part ETag is not hex"))?;
    let dir = object_files::upload_dir(state.data_dir(), &upload.upload_id)
        .ok_or_else(|| errors::no_such_upload(&upload.upload_id))?;
    let files: Vec<_> = chosen.iter().map(|p| dir.join(&p.file)).collect();
    let staged = object_files::stage_concat(state.data_dir(), &files)
        .await
        .map_err(errors::stage_error)?;
    let new = NewObject {
        key: &upload.key,
        staged,
        etag,
        attributes: upload.attributes.clone(),
        parts_count: Some(chosen.len() as u32),
        upload: Some(&upload.upload_id),
    };
    let meta = objects::commit_object(state, &bucket, new, |_| Ok(())).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(CompleteMultipartUploadOutput {
        bucket: Some(bucket.name.clone()),
        key: Some(meta.key.clone()),
        e_tag: Some(ETag::Strong(meta.etag)),
        location: Some(format!("/{}/{}", bucket.name, meta.key)),
        ..Default::default()
    })
}

/// AbortMultipartUpload: the upload and its parts are gone.
pub async fn abort_multipart_upload(
    state: &AppState,
    caller: &Caller,
    input: AbortMultipartUploadInput,
) -> S3Result<AbortMultipartUploadOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let store = state.store();
    let _guard = state.write_lock().await;
    let upload = upload_of(state, &bucket.name, &input.key, &input.upload_id).await?;
    let writes = records::delete_upload_writes(store, &upload.upload_id)
        .await
        .map_err(errors::store)?;
    store.commit(writes).await.map_err(errors::store)?;
    if let Some(dir) = object_files::upload_dir(state.data_dir(), &upload.upload_id) {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(AbortMultipartUploadOutput::default())
}

/// ListMultipartUploads: uploads in progress by key then initiation, with `prefix`,
/// `delimiter` (common prefixes), `key-marker`/`upload-id-marker` and `max-uploads`. Reads the
/// bucket's uploads (a bucket has few in progress); ListParts reads only its page.
pub async fn list_multipart_uploads(
    state: &AppState,
    caller: &Caller,
    input: ListMultipartUploadsInput,
) -> S3Result<ListMultipartUploadsOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    let max = match input.max_uploads {
        None => 1000,
        Some(n) if n < 0 => {
            return Err(errors::invalid_argument("max-uploads must not be negative"))
        }
        Some(n) => (n as usize).min(1000),
    };
    let mut uploads: Vec<UploadMeta> = state
        .store()
        .query(&crate::store::Query::kind(records::UPLOAD).parent(&bucket.name))
        .await
        .map_err(errors::store)?
        .into_iter()
        .filter_map(|r| serde_json::from_value(r.body).ok())
        .collect();
    uploads.sort_by(|a, b| {
        a.key
            .cmp(&b.key)
            .then(a.initiated.total_cmp(&b.initiated))
            .then(a.upload_id.cmp(&b.upload_id))
    });
    let prefix = input.prefix.clone().unwrap_or_default();
    let key_marker = input.key_marker.clone().unwrap_or_default();
    let start = match &input.upload_id_marker {
        Some(id) => uploads
            .iter()
            .position(|u| u.key == key_marker && &u.upload_id == id)
            .map_or_else(
                || uploads.partition_point(|u| u.key <= key_marker),
                |i| i + 1,
            ),
        None => uploads.partition_point(|u| u.key <= key_marker),
    };
    // Keys under the prefix; with a delimiter, those with it after the prefix are rolled up
    // into one common prefix each (which counts toward max-uploads like an upload).
    let mut page: Vec<&UploadMeta> = Vec::new();
    let mut common_prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut next: Option<(String, Option<String>)> = None;
    for upload in uploads[start..]
        .iter()
        .filter(|u| u.key.starts_with(&prefix))
    {
        let group = objects::common_prefix(&upload.key, &prefix, input.delimiter.as_deref());
        if let Some(cp) = &group {
            let seen = common_prefixes.last() == Some(cp);
            if seen || (!key_marker.is_empty() && cp.as_str() <= key_marker.as_str()) {
                continue;
            }
        }
        if page.len() + common_prefixes.len() == max {
            truncated = true;
            break;
        }
        match group {
            Some(cp) => {
                next = Some((cp.clone(), None));
                common_prefixes.push(cp);
            }
            None => {
                next = Some((upload.key.clone(), Some(upload.upload_id.clone())));
                page.push(upload);
            }
        }
    }
    let (next_key_marker, next_upload_id_marker) = match next {
        Some((key, id)) => (Some(key), id),
        None => (None, None),
    };
    Ok(ListMultipartUploadsOutput {
        bucket: Some(bucket.name.clone()),
        prefix: input.prefix,
        delimiter: input.delimiter,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker,
        next_upload_id_marker,
        common_prefixes: (!common_prefixes.is_empty()).then(|| {
            common_prefixes
                .into_iter()
                .map(|prefix| CommonPrefix {
                    prefix: Some(prefix),
                })
                .collect()
        }),
        uploads: Some(
            page.iter()
                .map(|u| {
                    let owner = buckets::owner(&u.owner);
                    MultipartUpload {
                        key: Some(u.key.clone()),
                        upload_id: Some(u.upload_id.clone()),
                        initiated: Some(timestamp(u.initiated)),
                        initiator: Some(Initiator {
                            display_name: owner.display_name.clone(),
                            id: owner.id.clone(),
                        }),
                        owner: Some(owner),
                        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                        ..Default::default()
                    }
                })
                .collect(),
        ),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etag_is_md5_of_part_md5s() {
        // Two parts "a" and "b": md5("a") = 0cc175b9c0f1b6a831c399e269772661,
        // md5("b") = 92eb5ffee6ae2fec3ad71c777531578f.
        let etag = multipart_etag(&[
            "0cc175b9c0f1b6a831c399e269772661",
            "92eb5ffee6ae2fec3ad71c777531578f",
        ])
        .unwrap();
        let mut md5 = Md5::new();
        md5.update([
            0x0c, 0xc1, 0x75, 0xb9, 0xc0, 0xf1, 0xb6, 0xa8, 0x31, 0xc3, 0x99, 0xe2, 0x69, 0x77,
            0x26, 0x61, 0x92, 0xeb, 0x5f, 0xfe, 0xe6, 0xae, 0x2f, 0xec, 0x3a, 0xd7, 0x1c, 0x77,
            0x75, 0x31, 0x57, 0x8f,
        ]);
        assert_eq!(etag, format!("{}-2", object_files::hex(&md5.finalize())));
        assert_eq!(copy_range(Some("bytes=0-4"), 10).unwrap(), (0, 5));
        assert!(copy_range(Some("bytes=5-10"), 10).is_err());
        assert_eq!(copy_range(None, 10).unwrap(), (0, 10));
    }
}
