//! Amazon S3 (REST-XML) on the shared endpoint, over the data dir: where Clean Rooms users keep
//! base data and receive results.
//!
//! The protocol — routing by method/path/query, XML (de)serialisation, header binding, the
//! error XML — is the `s3s` crate (pinned 0.14.1): its generated `S3` trait has one method per
//! S3 operation, defaulting to "not implemented" (HTTP 501 naming the operation).
//! [`service::EmulatorS3`] implements the supported operations over the file system and the
//! metadata store. `s3s` was chosen over a hand-written subset because it covers the whole S3
//! surface (every operation is at least routed and answered), and its DTOs follow the AWS model.
//!
//! How a request flows: the gateway has already identified the account (access key) and
//! region (credential scope); the object journal was replayed at start-up ([`records::recover`]).
//! [`handle`] rejects expired presigned URLs against the emulator clock,
//! strips the signature (signatures are not verified, and `s3s` would want the secret key),
//! attaches the caller as a request extension and lets `s3s` route it to `EmulatorS3`. Error
//! responses are then rendered uniformly by [`errors`] (with `Resource` and `RequestId`), and
//! every response gets `x-amz-request-id`.
//!
//! Modules: [`addressing`] (path vs virtual-hosted style), [`buckets`], [`objects`],
//! [`multipart`] (operations), [`records`] (metadata records and the write journal),
//! [`errors`]. Where the objects' files live and the rules that keep keys inside the data
//! dir are [`crate::object_files`], shared with the engine.

pub mod addressing;
pub mod buckets;
pub mod chunked;
pub mod errors;
pub mod facade;
pub mod multipart;
pub mod objects;
pub mod records;
pub mod service;

/// Startup recovery: every journalled write finished or rolled back and the leftovers of
/// interrupted requests removed ([`records::recover`]); first, since it removes every staged
/// temporary file.
pub const RECOVERY: crate::jobs::recovery::Recovery = crate::jobs::recovery::Recovery {
    name: "S3 write journal",
    order: 0,
    run: |state| {
        Box::pin(async move {
            records::recover(state.store(), state.data_dir())
                .await
                .map_err(|e| e.to_string())
        })
    },
};

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use cleanrooms_emulator_api::RequestContext;
use http_body_util::BodyExt;

use crate::state::AppState;

/// Who is calling: the account and region the gateway derived from the credential.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Account id of the caller.
    pub account: String,
    /// Region of the request.
    pub region: String,
    /// Request id (also in `x-amz-request-id`).
    pub request_id: String,
}

/// Where an operation writes its name, for the request log line.
#[derive(Debug, Clone, Default)]
pub struct OperationSlot(Arc<Mutex<&'static str>>);

impl OperationSlot {
    /// Records the operation being served.
    pub fn set(&self, name: &'static str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = name;
        }
    }

    /// The operation recorded, if any.
    pub fn get(&self) -> &'static str {
        self.0.lock().map(|s| *s).unwrap_or_default()
    }
}

/// Set by an operation that a fault rule drops: [`handle`] then closes the connection without
/// an answer.
#[derive(Debug, Clone, Default)]
pub struct DropConnection(Arc<std::sync::atomic::AtomicBool>);

impl DropConnection {
    /// Marks the request's connection to be dropped.
    pub fn set(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the connection is to be dropped.
    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Largest error body read back for re-rendering.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Query parameters of a presigned URL (SigV4 and SigV2), removed before `s3s` sees them.
const PRESIGN_PARAMS: &[&str] = &[
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// Whether a presigned URL's validity (`X-Amz-Date` + `X-Amz-Expires`) ended before `now`.
fn presigned_url_expired(uri: &Uri, now: f64) -> bool {
    let Some(query) = uri.query() else {
        return false;
    };
    let mut date = None;
    let mut expires = None;
    let mut v2_expires = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("X-Amz-Date", v)) => date = Some(v),
            Some(("X-Amz-Expires", v)) => expires = v.parse::<i64>().ok(),
            Some(("Expires", v)) => v2_expires = v.parse::<i64>().ok(),
            _ => {}
        }
    }
    if let (None, Some(at)) = (date, v2_expires) {
        // SigV2 presigned URL: `Expires` is the expiry time itself.
        return (at as f64) < now;
    }
    let (Some(date), Some(expires)) = (date, expires) else {
        return false;
    };
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    match time::PrimitiveDateTime::parse(date, &format) {
        Ok(t) => ((t.assume_utc().unix_timestamp() + expires) as f64) < now,
        Err(_) => false,
    }
}

/// The access key of a SigV2-signed request (`Authorization: AWS <key>:<signature>` or a
/// presigned URL's `AWSAccessKeyId`), which the gateway (SigV4 only) does not read.
fn sigv2_access_key(headers: &axum::http::HeaderMap, uri: &Uri) -> Option<String> {
    if let Some(key) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("AWS "))
        .and_then(|v| v.split(':').next())
    {
        return Some(key.trim().to_string());
    }
    uri.query()?.split('&').find_map(|pair| {
        let value = pair.strip_prefix("AWSAccessKeyId=")?;
        percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()
            .map(|v| v.into_owned())
    })
}

/// The URI without presigned-URL parameters.
fn without_presign_params(uri: &Uri) -> Uri {
    let Some(query) = uri.query() else {
        return uri.clone();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !PRESIGN_PARAMS.contains(&name)
        })
        .collect();
    let path_and_query = if kept.is_empty() {
        uri.path().to_string()
    } else {
        format!("{}?{}", uri.path(), kept.join("&"))
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// An S3 error response rendered directly (before `s3s` is involved).
fn error_response(
    status: u16,
    code: &str,
    message: &str,
    resource: &str,
    request_id: &str,
    head: bool,
) -> Response {
    let body = if head {
        String::new()
    } else {
        errors::body(
            code,
            &crate::services::unimplemented::xml_escape(message),
            resource,
            request_id,
        )
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    resp
}

/// Serves one S3 request (with its streaming body). Returns the response and the operation
/// name for the request log.
pub async fn handle(state: &AppState, ctx: RequestContext, req: Request) -> (Response, String) {
    let request_id = ctx.request_id.clone();
    let (mut parts, body) = req.into_parts();
    let head = parts.method == Method::HEAD;
    let resource = parts.uri.path().to_string();
    let mut response = if presigned_url_expired(&parts.uri, state.now()) {
        error_response(
            403,
            "AccessDenied",
            "Request has expired",
            &resource,
            &request_id,
            head,
        )
    } else {
        let account = match (
            &ctx.access_key_id,
            sigv2_access_key(&parts.headers, &parts.uri),
        ) {
            (None, Some(key)) => {
                crate::gateway::sigv4::account_for_key(&key, &state.config().default_account)
            }
            _ => ctx.account_id.clone(),
        };
        parts.headers.remove(header::AUTHORIZATION);
        parts.uri = without_presign_params(&parts.uri);
        let slot = OperationSlot::default();
        parts.extensions.insert(Caller {
            account,
            region: ctx.region.clone(),
            request_id: request_id.clone(),
        });
        parts.extensions.insert(slot.clone());
        let dropped = DropConnection::default();
        parts.extensions.insert(dropped.clone());
        let method = parts.method.to_string();
        let has_body = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
            || parts.headers.contains_key(header::TRANSFER_ENCODING);
        let body = s3s_body(&mut parts.headers, body);
        let req = axum::http::Request::from_parts(parts, body);
        let mut builder =
            s3s::service::S3ServiceBuilder::new(service::EmulatorS3::new(state.clone()));
        builder.set_host(addressing::EndpointHost::new(&state.config().host));
        let result = builder.build().call(req).await;
        if dropped.is_set() {
            return (
                crate::protocol::dropped_connection(),
                slot.get().to_string(),
            );
        }
        let mut response = match result {
            Ok(resp) => finish(resp, &method, &resource, &request_id, head).await,
            Err(e) => {
                tracing::error!(error = ?e, "s3s failed");
                error_response(
                    500,
                    "InternalError",
                    "We encountered an internal error. Please try again.",
                    &resource,
                    &request_id,
                    head,
                )
            }
        };
        if has_body && response.status().as_u16() >= 300 {
            // The body may not have been read: the connection cannot be reused.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        let operation = match slot.get() {
            "" => response
                .extensions()
                .get::<UnimplementedOperation>()
                .map(|u| u.0.clone())
                .unwrap_or_default(),
            name => name.to_string(),
        };
        return (with_request_id(response, &request_id), operation);
    };
    response = with_request_id(response, &request_id);
    (response, String::new())
}

/// The request body for `s3s`; an `aws-chunked` body is decoded (and its headers made those of
/// the plain payload), since `s3s` only decodes it when it verifies signatures.
fn s3s_body(headers: &mut axum::http::HeaderMap, body: Body) -> s3s::Body {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let encoding = text("content-encoding");
    if !chunked::is_aws_chunked(text("x-amz-content-sha256").as_deref(), encoding.as_deref()) {
        return s3s::Body::http_body_unsync(body);
    }
    let trailer = text("x-amz-trailer");
    match text("x-amz-decoded-content-length").and_then(|v| HeaderValue::from_str(&v).ok()) {
        Some(len) => headers.insert(header::CONTENT_LENGTH, len),
        None => headers.remove(header::CONTENT_LENGTH),
    };
    let rest: Vec<&str> = encoding
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && *e != "aws-chunked")
        .collect();
    match HeaderValue::from_str(&rest.join(", ")) {
        Ok(v) if !rest.is_empty() => headers.insert(header::CONTENT_ENCODING, v),
        _ => headers.remove(header::CONTENT_ENCODING),
    };
    headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    headers.remove("x-amz-trailer");
    headers.remove("x-amz-decoded-content-length");
    let stream = chunked::decode(body.into_data_stream(), trailer.as_deref());
    let frames = futures::TryStreamExt::map_ok(stream, http_body::Frame::data);
    s3s::Body::http_body_unsync(http_body_util::StreamBody::new(frames))
}

/// The operation a 501 response named (kept for the request log).
#[derive(Debug, Clone)]
struct UnimplementedOperation(String);

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amz-request-id", v);
    }
    response
}

/// Converts the `s3s` response; error responses are re-rendered in S3's full error format.
async fn finish(
    resp: s3s::HttpResponse,
    method: &str,
    resource: &str,
    request_id: &str,
    head: bool,
) -> Response {
    let (mut parts, body) = resp.into_parts();
    let status = parts.status.as_u16();
    if status == 304 {
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    }
    if status < 300 {
        return Response::from_parts(parts, Body::new(body));
    }
    let bytes = match http_body_util::Limited::new(body, MAX_ERROR_BODY)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => bytes::Bytes::new(),
    };
    let text = String::from_utf8_lossy(&bytes);
    let Some(rendered) = errors::interpret(status, &text, method) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let mut out = if head {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(errors::body(
            &rendered.code,
            &rendered.message_xml,
            resource,
            request_id,
        )))
    };
    *out.status_mut() = StatusCode::from_u16(rendered.status).unwrap_or(parts.status);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && name != header::CONTENT_TYPE {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    if rendered.status == 501 {
        if let Some(op) = errors::unimplemented_operation(&rendered.message_xml) {
            out.extensions_mut()
                .insert(UnimplementedOperation(op.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_urls_expire_on_the_emulator_clock() {
        let uri: Uri = "/b/k?X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-Signature=x"
            .parse()
            .unwrap();
        let t = 1_767_225_600.0; // 2026-01-01T00:00:00Z
        assert!(!presigned_url_expired(&uri, t + 59.0));
        assert!(presigned_url_expired(&uri, t + 61.0));
        assert_eq!(without_presign_params(&uri).to_string(), "/b/k");
        let uri: Uri = "/b?list-type=2&X-Amz-Signature=x".parse().unwrap();
        assert_eq!(without_presign_params(&uri).to_string(), "/b?list-type=2");
        let v2: Uri = "/b/k?AWSAccessKeyId=111111111111&Signature=x%2F&Expires=1767225660"
            .parse()
            .unwrap();
        assert!(!presigned_url_expired(&v2, t + 59.0));
        assert!(presigned_url_expired(&v2, t + 61.0));
        assert_eq!(
            sigv2_access_key(&axum::http::HeaderMap::new(), &v2).as_deref(),
            Some("111111111111")
        );
        assert_eq!(without_presign_params(&v2).to_string(), "/b/k");
    }
}
