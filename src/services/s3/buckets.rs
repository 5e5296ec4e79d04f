//! Bucket operations: CreateBucket, HeadBucket, ListBuckets, DeleteBucket, GetBucketLocation;
//! and the ownership rule every operation applies. Bucket names are global: a name another
//! account holds is `BucketAlreadyExists`, and everything in another account's bucket is
//! `AccessDenied`.

use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Result};

use super::records::{self, BucketMeta};
use super::{errors, Caller};
use crate::object_files;
use crate::state::AppState;

/// The S3 canonical user id of an account: its id, left-padded with zeros to 64 characters.
pub fn canonical_id(account: &str) -> String {
    format!("{account:0>64}")
}

/// The `Owner` element for an account.
pub fn owner(account: &str) -> Owner {
    Owner {
        display_name: Some(account.to_string()),
        id: Some(canonical_id(account)),
    }
}

/// Epoch seconds as an S3 timestamp.
pub fn timestamp(epoch: f64) -> Timestamp {
    let nanos = (epoch * 1e9) as i128;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .into()
}

/// Epoch seconds of an S3 timestamp.
pub fn epoch(ts: &Timestamp) -> f64 {
    let t: time::OffsetDateTime = ts.clone().into();
    t.unix_timestamp_nanos() as f64 / 1e9
}

/// The bucket `name` if the caller owns it: `NoSuchBucket` when it does not exist,
/// `AccessDenied` when another account owns it.
pub async fn owned_bucket(state: &AppState, caller: &Caller, name: &str) -> S3Result<BucketMeta> {
    match records::get_bucket(state.store(), name)
        .await
        .map_err(errors::store)?
    {
        None => Err(errors::no_such_bucket(name)),
        Some(b) if b.owner != caller.account => Err(errors::access_denied(name)),
        Some(b) => Ok(b),
    }
}

/// CreateBucket.
pub async fn create_bucket(
    state: &AppState,
    caller: &Caller,
    input: CreateBucketInput,
) -> S3Result<CreateBucketOutput> {
    let name = input.bucket;
    if !object_files::is_valid_bucket_name(&name) {
        return Err(errors::error(
            S3ErrorCode::InvalidBucketName,
            format!("The specified bucket is not valid: {name:?} (3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit)"),
        ));
    }
    let constraint = input
        .create_bucket_configuration
        .and_then(|c| c.location_constraint)
        .map(|l| l.as_str().to_string())
        .filter(|l| !l.is_empty());
    let region = match constraint {
        None => caller.region.clone(),
        Some(c) if c == "us-east-1" => {
            return Err(errors::error(
                S3ErrorCode::InvalidLocationConstraint,
                "The specified location-constraint is not valid: us-east-1 is the default and must not be given",
            ))
        }
        Some(c) if c != caller.region => {
            return Err(errors::error(
                S3ErrorCode::IllegalLocationConstraintException,
                format!("The {c} location constraint is incompatible for the region specific endpoint this request was sent to ({}).", caller.region),
            ))
        }
        Some(c) => c,
    };
    let dir = object_files::bucket_dir(state.data_dir(), &name)
        .ok_or_else(|| errors::error(S3ErrorCode::InvalidBucketName, "invalid bucket name"))?;
    let _guard = state.write_lock().await;
    if let Some(existing) = records::get_bucket(state.store(), &name)
        .await
        .map_err(errors::store)?
    {
        return Err(if existing.owner == caller.account {
            errors::error(
                S3ErrorCode::BucketAlreadyOwnedByYou,
                format!("Your previous request to create the named bucket succeeded and you already own it: {name}"),
            )
        } else {
            errors::error(
                S3ErrorCode::BucketAlreadyExists,
                format!("The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again: {name}"),
            )
        });
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| errors::io("cannot create the bucket directory", &e))?;
    let bucket = BucketMeta {
        name: name.clone(),
        owner: caller.account.clone(),
        region,
        created: state.now().floor(),
    };
    state
        .store()
        .commit(vec![crate::store::Write::put(records::bucket_record(
            &bucket,
        ))])
        .await
        .map_err(errors::store)?;
    Ok(CreateBucketOutput {
        location: Some(format!("/{name}")),
    })
}

/// HeadBucket.
pub async fn head_bucket(
    state: &AppState,
    caller: &Caller,
    input: HeadBucketInput,
) -> S3Result<HeadBucketOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    Ok(HeadBucketOutput {
        bucket_region: Some(bucket.region),
        ..Default::default()
    })
}

/// GetBucketLocation (`LocationConstraint` is empty for us-east-1, as in S3).
pub async fn get_bucket_location(
    state: &AppState,
    caller: &Caller,
    input: GetBucketLocationInput,
) -> S3Result<GetBucketLocationOutput> {
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    Ok(GetBucketLocationOutput {
        location_constraint: (bucket.region != "us-east-1")
            .then(|| BucketLocationConstraint::from(bucket.region)),
    })
}

/// ListBuckets: the caller's buckets by name, with `Prefix`, `BucketRegion`, `MaxBuckets` and
/// a continuation token.
pub async fn list_buckets(
    state: &AppState,
    caller: &Caller,
    input: ListBucketsInput,
) -> S3Result<ListBucketsOutput> {
    let mut buckets = records::list_buckets(state.store(), &caller.account)
        .await
        .map_err(errors::store)?;
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let max = match input.max_buckets {
        None => usize::MAX,
        Some(n) if (1..=10_000).contains(&n) => n as usize,
        Some(_) => {
            return Err(errors::invalid_argument(
                "max-buckets must be between 1 and 10000",
            ))
        }
    };
    let after = input.continuation_token.as_deref();
    let mut selected: Vec<Bucket> = Vec::new();
    let mut next = None;
    for b in buckets.iter().filter(|b| {
        input
            .prefix
            .as_deref()
            .is_none_or(|p| b.name.starts_with(p))
            && input.bucket_region.as_deref().is_none_or(|r| b.region == r)
            && after.is_none_or(|a| b.name.as_str() > a)
    }) {
        if selected.len() == max {
            next = selected.last().and_then(|s: &Bucket| s.name.clone());
            break;
        }
        selected.push(Bucket {
            name: Some(b.name.clone()),
            creation_date: Some(timestamp(b.created)),
            bucket_region: Some(b.region.clone()),
        });
    }
    Ok(ListBucketsOutput {
        buckets: Some(selected),
        owner: Some(owner(&caller.account)),
        prefix: input.prefix,
        continuation_token: next,
    })
}

/// DeleteBucket: only an empty bucket (no objects, no multipart uploads in progress).
pub async fn delete_bucket(
    state: &AppState,
    caller: &Caller,
    input: DeleteBucketInput,
) -> S3Result<DeleteBucketOutput> {
    let _guard = state.write_lock().await;
    let bucket = owned_bucket(state, caller, &input.bucket).await?;
    if !records::bucket_is_empty(state.store(), &bucket.name)
        .await
        .map_err(errors::store)?
    {
        return Err(S3Error::with_message(
            S3ErrorCode::BucketNotEmpty,
            format!(
                "The bucket you tried to delete is not empty: {}",
                bucket.name
            ),
        ));
    }
    state
        .store()
        .commit(vec![crate::store::Write::Delete {
            kind: records::BUCKET.into(),
            id: bucket.name.clone(),
        }])
        .await
        .map_err(errors::store)?;
    if let Some(dir) = object_files::bucket_dir(state.data_dir(), &bucket.name) {
        object_files::remove_empty_tree(&dir);
        if dir.exists() {
            tracing::warn!(dir = %dir.display(), "s3: a deleted bucket's directory holds files the S3 API did not write; they are left in place");
        }
    }
    Ok(DeleteBucketOutput {})
}
