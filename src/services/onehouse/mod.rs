//! Table services: the Onehouse Resources API (spec `table-services.md`) on the emulator's
//! endpoint, for the real `onehouse-python-sdk` and `oh` CLI, acting on Delta tables.
//!
//! Requests carrying `x-onehouse-account-uid` come here (see `gateway`). `POST …/v1/resource/`
//! takes `{"statement": "…"}`, parses it ([`lexer`], [`parser`]), executes it ([`ops`]) and
//! commits its effects together with the request record before answering `{"requestId"}`; so
//! `GET …/v1/status/{requestId}` already has the final `{"apiStatus", "apiResponse"}` (shapes in
//! [`responses`]). A syntax error is HTTP 400 with a percent-encoded `grpc-message`; missing
//! credentials are 401; semantic errors are `API_OPERATION_STATUS_INVALID` with
//! `apiResponse.errorMessage`. `RUN SERVICE IN TABLE` returns a run id at once; the run goes on
//! in the background ([`runs`], one delta-rs builder per service in [`services`]), and the
//! [`scheduler`] starts AUTOMATIC runs as commits arrive.
//!
//! Identity: resources are scoped by (account uid, project uid); a 12-digit account uid is the
//! AWS account whose S3 and Glue the services use, any other the default account;
//! `x-onehouse-region` is the Glue region.

pub mod delta;
pub mod lake;
pub mod lexer;
pub mod model;
pub mod ops;
pub mod parser;
pub mod records;
pub mod responses;
pub mod runs;
pub mod s3_store;
pub mod scheduler;
pub mod services;

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;
use cleanrooms_emulator_api::RequestContext;
use serde_json::{json, Value};

use self::records::{kinds, Scope};
use self::responses::ApiStatus;
use crate::protocol::json_response;
use crate::state::AppState;
use crate::store::{Record, Write};
use crate::util::ids::new_id;

/// The header that routes a request to this API.
pub const ACCOUNT_HEADER: &str = "x-onehouse-account-uid";

const CONTENT_TYPE: &str = "application/json";

/// gRPC status codes the API's transcoder reports in `grpc-status`.
mod grpc {
    pub const INVALID_ARGUMENT: &str = "3";
    pub const NOT_FOUND: &str = "5";
    pub const UNAUTHENTICATED: &str = "16";
    pub const RESOURCE_EXHAUSTED: &str = "8";
    pub const INTERNAL: &str = "13";
    pub const UNAVAILABLE: &str = "14";
}

/// A JSON response with `grpc-status` and a percent-encoded `grpc-message` (what the SDK
/// reads for 400, 401 and 404).
fn grpc_error(status: u16, code: &'static str, message: &str) -> Response {
    let body =
        serde_json::to_vec(&json!({"code": code.parse::<u32>().unwrap_or(2), "message": message}))
            .unwrap_or_default();
    let mut response = json_response(status, CONTENT_TYPE, body);
    let encoded =
        percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    if let Ok(v) = HeaderValue::from_str(&encoded) {
        response.headers_mut().insert("grpc-message", v);
    }
    response
        .headers_mut()
        .insert("grpc-status", HeaderValue::from_static(code));
    response
}

fn ok_json(value: &Value) -> Response {
    json_response(
        200,
        CONTENT_TYPE,
        serde_json::to_vec(value).unwrap_or_default(),
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The caller, from the `x-onehouse-*` headers; the error names the first missing credential.
fn scope(state: &AppState, headers: &HeaderMap) -> Result<Scope, String> {
    let missing = |name: &str| format!("missing header {name}");
    let account_uid = header(headers, ACCOUNT_HEADER).ok_or_else(|| missing(ACCOUNT_HEADER))?;
    let project_uid = header(headers, "x-onehouse-project-uid")
        .ok_or_else(|| missing("x-onehouse-project-uid"))?;
    let bearer = header(headers, "authorization")
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    if !bearer {
        header(headers, "x-onehouse-api-key").ok_or_else(|| missing("x-onehouse-api-key"))?;
        header(headers, "x-onehouse-api-secret").ok_or_else(|| missing("x-onehouse-api-secret"))?;
    }
    let config = state.config();
    let aws_account = crate::gateway::sigv4::account_for_key(account_uid, &config.default_account);
    Ok(Scope {
        account_uid: account_uid.to_string(),
        project_uid: project_uid.to_string(),
        aws_account,
        region: header(headers, "x-onehouse-region")
            .unwrap_or(&config.region)
            .to_string(),
        user: header(headers, "x-onehouse-uuid")
            .or_else(|| header(headers, "x-onehouse-user-uid"))
            .unwrap_or(account_uid)
            .to_string(),
    })
}

/// Serves one Resources API request. Returns the response and the operation for the log.
pub async fn handle(
    state: &AppState,
    _ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let path = parts.uri.path();
    let scope = match scope(state, &parts.headers) {
        Ok(scope) => scope,
        Err(message) => {
            return (
                grpc_error(401, grpc::UNAUTHENTICATED, &message),
                String::new(),
            )
        }
    };
    let trimmed = path.trim_end_matches('/');
    if parts.method == Method::POST && trimmed.ends_with("/v1/resource") {
        if let Some(fault) = inject(state, "SubmitStatement", &scope).await {
            return (fault, "SubmitStatement".into());
        }
        return (submit(state, &scope, body).await, "SubmitStatement".into());
    }
    if parts.method == Method::GET {
        if let Some((_, id)) = path.rsplit_once("/v1/status/") {
            if !id.is_empty() && !id.contains('/') {
                if let Some(fault) = inject(state, "GetStatus", &scope).await {
                    return (fault, "GetStatus".into());
                }
                return (status(state, &scope, id).await, "GetStatus".into());
            }
        }
    }
    (
        grpc_error(
            404,
            grpc::NOT_FOUND,
            &format!(
                "{} {path} is not part of the Onehouse Resources API (POST /v1/resource/, GET /v1/status/{{requestId}})",
                parts.method
            ),
        ),
        String::new(),
    )
}

/// Applies the fault rules ([`crate::faults`]) of service `onehouse` to `operation`
/// (`SubmitStatement` or `GetStatus`) before it runs: an injected error is answered as this API
/// answers errors (JSON with `grpc-status` and `grpc-message`).
async fn inject(state: &AppState, operation: &str, scope: &Scope) -> Option<Response> {
    let fault = state
        .faults()
        .inject("onehouse", operation, &scope.aws_account)
        .await?;
    Some(crate::protocol::fault_response(fault, |e| {
        let code = match e.status {
            429 => grpc::RESOURCE_EXHAUSTED,
            503 => grpc::UNAVAILABLE,
            s if s >= 500 => grpc::INTERNAL,
            _ => grpc::INVALID_ARGUMENT,
        };
        grpc_error(e.status, code, &format!("{}: {}", e.code, e.message))
    }))
}

/// `POST /v1/resource/`.
async fn submit(state: &AppState, scope: &Scope, body: &[u8]) -> Response {
    let statement_text = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.get("statement")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let Some(text) = statement_text else {
        return grpc_error(
            400,
            grpc::INVALID_ARGUMENT,
            "Invalid request: the body must be JSON {\"statement\": \"<statement>\"}",
        );
    };
    let statement = match parser::parse(&text) {
        Ok(s) => s,
        Err(e) => return grpc_error(400, grpc::INVALID_ARGUMENT, &e.to_string()),
    };
    let request_id = new_id();
    let guard = if ops::needs_write_lock(statement.command) {
        Some(state.write_lock().await)
    } else {
        None
    };
    let (api_status, api_response, mut writes, start) =
        match ops::execute(state, scope, &statement).await {
            Ok(done) => (ApiStatus::Success, done.response, done.writes, done.start),
            Err(refusal) => (
                refusal.status,
                responses::error(&refusal.message),
                Vec::new(),
                None,
            ),
        };
    writes.push(Write::put(Record::new(
        kinds::REQUEST,
        &request_id,
        &scope.region,
        &scope.aws_account,
        None,
        records::request_body(scope, &text, api_status.wire(), api_response, state.now()),
    )));
    if let Err(e) = state.store().commit(writes).await {
        tracing::error!(error = %e, "cannot record a Resources API request");
        return json_response(
            500,
            CONTENT_TYPE,
            serde_json::to_vec(&json!({"message": format!("internal error: {e}")}))
                .unwrap_or_default(),
        );
    }
    drop(guard);
    if let Some(run) = start {
        runs::start(state, scope.clone(), run);
    }
    ok_json(&json!({ "requestId": request_id }))
}

/// `GET /v1/status/{requestId}`.
async fn status(state: &AppState, scope: &Scope, id: &str) -> Response {
    let not_found = || grpc_error(404, grpc::NOT_FOUND, &format!("request {id} not found"));
    let record = match state.store().get(kinds::REQUEST, id).await {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(),
        Err(e) => {
            return json_response(
                500,
                CONTENT_TYPE,
                serde_json::to_vec(&json!({"message": format!("internal error: {e}")}))
                    .unwrap_or_default(),
            )
        }
    };
    let body = &record.body;
    if body.get("accountUid").and_then(Value::as_str) != Some(scope.account_uid.as_str())
        || body.get("projectUid").and_then(Value::as_str) != Some(scope.project_uid.as_str())
    {
        return not_found();
    }
    ok_json(&json!({
        "apiStatus": body.get("apiStatus").cloned().unwrap_or(Value::Null),
        "apiResponse": body.get("apiResponse").cloned().unwrap_or(Value::Null),
    }))
}

/// Startup recovery: table-service runs a stopped process left active end FAILED, or
/// COMPLETED when their Delta commit made it ([`runs::recover`]).
pub const RECOVERY: crate::jobs::recovery::Recovery = crate::jobs::recovery::Recovery {
    name: "unfinished table-service runs",
    order: 20,
    run: |state| Box::pin(async move { runs::recover(state).await.map_err(|e| e.message) }),
};
