//! The front door for every AWS request: assigns the request id, reads the SigV4 credential
//! (access key → account, region), identifies the service and hands the request to it; stamps
//! `x-amzn-RequestId` on every response and logs one line per request.

pub mod identify;
pub mod sigv4;

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::response::Response;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsError;
use crate::protocol::{json_error_response, rest_json};
use crate::state::AppState;
use crate::util::ids::new_id;

/// The answer to a request whose body was not read to its end: the error, and the connection
/// closed, since it cannot carry another request.
fn closing_error(err: &AwsError) -> Response {
    let mut response = json_error_response(err, rest_json::CONTENT_TYPE, false);
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        HeaderValue::from_static("close"),
    );
    response
}

/// Axum fallback handler: every request that is not an admin route.
pub async fn handle(State(state): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let request_id = new_id();
    let (parts, body) = req.into_parts();
    let credential = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::from_authorization)
        .or_else(|| parts.uri.query().and_then(sigv4::from_query));
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    // An unsigned request on a LakeFormation path without a token still goes to LakeFormation,
    // which answers 401 as that API does.
    let service = if identify::is_onehouse(
        parts
            .headers
            .contains_key(crate::services::onehouse::ACCOUNT_HEADER),
        credential.is_some(),
    ) {
        Some(identify::Service::Onehouse)
    } else if identify::is_lakeformation(
        parts.uri.path(),
        parts.headers.contains_key("x-auth-token") || credential.is_none(),
    ) {
        Some(identify::Service::LakeFormation)
    } else {
        identify::identify(
            credential.as_ref(),
            target,
            parts.uri.path(),
            parts
                .headers
                .get(axum::http::header::HOST)
                .and_then(|v| v.to_str().ok()),
            &state.config().host,
        )
    };
    let config = state.config();
    let ctx = RequestContext {
        request_id: request_id.clone(),
        account_id: credential.as_ref().map_or_else(
            || config.default_account.clone(),
            |c| sigv4::account_for_key(&c.access_key_id, &config.default_account),
        ),
        region: credential
            .as_ref()
            .map(|c| c.region.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| config.region.clone()),
        access_key_id: credential.as_ref().map(|c| c.access_key_id.clone()),
        service: service
            .map(identify::Service::signing_name)
            .unwrap_or_default()
            .to_string(),
        operation: String::new(),
    };
    let account = ctx.account_id.clone();
    let (mut response, operation) = if service == Some(identify::Service::S3) {
        // S3 streams its bodies (objects can be large): it gets the request as it came.
        crate::services::handle_s3(&state, ctx, Request::from_parts(parts, body)).await
    } else {
        let limit = state.config().max_request_body_bytes;
        // A body that stalls is given as long as headers are (S3's streamed bodies excepted).
        let patience = state.config().header_read_timeout;
        match tokio::time::timeout(patience, axum::body::to_bytes(body, limit)).await {
            Err(_) => {
                let err = AwsError::new(
                    "RequestTimeout",
                    408,
                    format!(
                        "The request body was not received within {} s \
                         (--header-read-timeout-seconds)",
                        patience.as_secs()
                    ),
                );
                (closing_error(&err), String::new())
            }
            Ok(Err(e)) => {
                let err = AwsError::new(
                    "RequestEntityTooLarge",
                    413,
                    format!(
                        "The request body could not be read within the limit of {limit} bytes \
                         (--max-request-body-bytes): {e}"
                    ),
                );
                (closing_error(&err), String::new())
            }
            Ok(Ok(body)) => match service {
                Some(service) => crate::services::handle(&state, service, ctx, &parts, &body).await,
                None => {
                    let err = AwsError::new(
                    "UnknownOperationException",
                    404,
                    format!(
                        "No AWS service of this emulator matches {} {}: sign the request (SigV4) for cleanrooms, glue, athena, sts or s3",
                        parts.method,
                        parts.uri.path()
                    ),
                );
                    (
                        json_error_response(&err, rest_json::CONTENT_TYPE, false),
                        String::new(),
                    )
                }
            },
        }
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-RequestId", v);
    }
    tracing::info!(
        request_id = %request_id,
        service = service.map(identify::Service::signing_name).unwrap_or("-"),
        operation = %operation,
        account = %account,
        status = response.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
