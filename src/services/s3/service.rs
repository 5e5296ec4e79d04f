//! The `s3s::S3` implementation: one method per supported operation, each finding the caller
//! (a request extension set by [`super::handle`]), recording the operation name and handing
//! the typed input to [`super::buckets`], [`super::objects`] or [`super::multipart`]. Every
//! operation not listed here keeps `s3s`'s default: `NotImplemented` (HTTP 501) naming it.

use s3s::dto::*;
use s3s::{S3ErrorCode, S3Request, S3Response, S3Result, S3};

use super::{buckets, errors, multipart, objects, Caller, DropConnection, OperationSlot};
use crate::faults::Injected;
use crate::state::AppState;

/// S3 over the emulator's data dir and metadata store.
#[derive(Debug, Clone)]
pub struct EmulatorS3 {
    state: AppState,
}

impl EmulatorS3 {
    /// For the emulator `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The caller of `req`, after recording `operation` for the request log.
fn caller<T>(req: &S3Request<T>, operation: &'static str) -> S3Result<Caller> {
    if let Some(slot) = req.extensions.get::<OperationSlot>() {
        slot.set(operation);
    }
    req.extensions
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| errors::internal("the S3 request carries no caller"))
}

/// Applies the fault rules ([`crate::faults`]) to `operation` before it runs: an injected
/// error becomes the S3 error; a dropped connection is flagged for [`super::handle`].
async fn inject<T>(
    state: &AppState,
    req: &S3Request<T>,
    operation: &str,
    caller: &Caller,
) -> S3Result<()> {
    match state
        .faults()
        .inject("s3", operation, &caller.account)
        .await
    {
        None => Ok(()),
        Some(Injected::Error(e)) => {
            let code = S3ErrorCode::from_bytes(e.code.as_bytes())
                .unwrap_or_else(|| S3ErrorCode::Custom(e.code.clone().into()));
            let mut err = errors::error(code, e.message);
            if let Ok(status) = axum::http::StatusCode::from_u16(e.status) {
                err.set_status_code(status);
            }
            Err(err)
        }
        Some(Injected::DropConnection) => {
            if let Some(flag) = req.extensions.get::<DropConnection>() {
                flag.set();
            }
            Err(errors::internal("connection dropped by a fault rule"))
        }
    }
}

/// Serves an operation: `op!(self, req, "Name", module::function)`.
macro_rules! op {
    ($self:ident, $req:ident, $name:literal, $f:path) => {{
        let caller = caller(&$req, $name)?;
        inject(&$self.state, &$req, $name, &caller).await?;
        $f(&$self.state, &caller, $req.input)
            .await
            .map(S3Response::new)
    }};
}

#[async_trait::async_trait]
impl S3 for EmulatorS3 {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        op!(self, req, "CreateBucket", buckets::create_bucket)
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        op!(self, req, "HeadBucket", buckets::head_bucket)
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        op!(self, req, "ListBuckets", buckets::list_buckets)
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        op!(self, req, "DeleteBucket", buckets::delete_bucket)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        op!(self, req, "GetBucketLocation", buckets::get_bucket_location)
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        op!(self, req, "PutObject", objects::put_object)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        op!(self, req, "GetObject", objects::get_object)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        op!(self, req, "HeadObject", objects::head_object)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        op!(self, req, "DeleteObject", objects::delete_object)
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        op!(self, req, "DeleteObjects", objects::delete_objects)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        op!(self, req, "CopyObject", objects::copy_object)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        op!(self, req, "ListObjectsV2", objects::list_objects_v2)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        op!(self, req, "ListObjects", objects::list_objects)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        op!(
            self,
            req,
            "CreateMultipartUpload",
            multipart::create_multipart_upload
        )
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        op!(self, req, "UploadPart", multipart::upload_part)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        op!(self, req, "UploadPartCopy", multipart::upload_part_copy)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        op!(
            self,
            req,
            "CompleteMultipartUpload",
            multipart::complete_multipart_upload
        )
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        op!(
            self,
            req,
            "AbortMultipartUpload",
            multipart::abort_multipart_upload
        )
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        op!(self, req, "ListParts", multipart::list_parts)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        op!(
            self,
            req,
            "ListMultipartUploads",
            multipart::list_multipart_uploads
        )
    }
}
