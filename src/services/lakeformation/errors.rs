//! LakeFormation API errors (spec C.5): an HTTP status and a JSON body
//! `{"error_code", "error_msg", "solution_msg"?}` (403 has its own nested form), built in one
//! place so every check words them the same way.

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

/// One LakeFormation error response.
#[derive(Debug, Clone, PartialEq)]
pub struct LfError {
    /// HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
}

impl LfError {
    fn new(status: u16, code: &str, msg: String, solution: Option<&str>) -> Self {
        let mut body = json!({"error_code": code, "error_msg": msg});
        if let Some(s) = solution {
            body["solution_msg"] = Value::String(s.to_string());
        }
        Self { status, body }
    }

    /// The `error_msg` of the body.
    pub fn message(&self) -> &str {
        self.body["error_msg"].as_str().unwrap_or_default()
    }

    /// An error injected by a fault rule ([`crate::faults`]), in this API's body form.
    pub fn injected(err: &crate::error::AwsError) -> Self {
        Self::new(err.status, &err.code, err.message.clone(), None)
    }

    /// The HTTP response.
    pub fn into_response(self) -> Response {
        json_response(self.status, &self.body)
    }
}

/// A JSON response with `status`.
pub fn json_response(status: u16, body: &Value) -> Response {
    let mut resp = Response::new(axum::body::Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// 400 for input that cannot be read as the request: `reason` says what is wrong and where,
/// `cause` names the kind of failure (`TypeMismatchException`, `MissingFieldException`,
/// `ConstraintViolationException`, `JsonParseException`).
pub fn bad_input(reason: impl AsRef<str>, cause: &str) -> LfError {
    LfError::new(
        400,
        "common.01000001",
        format!(
            "failed to read http request, please check your input, code: 400, reason: {}, cause: {cause}",
            reason.as_ref()
        ),
        None,
    )
}

/// 400 for a readable request that cannot be applied (wrong value count, existing partition).
pub fn bad_request(message: impl Into<String>, solution: Option<&str>) -> LfError {
    LfError::new(400, "common.01000001", message.into(), solution)
}

/// 401: no token, or one that cannot be read.
pub fn unauthorized() -> LfError {
    LfError::new(
        401,
        "APIG.1002",
        "Incorrect token or token resolution failed".into(),
        Some("Send a tenant token in the X-Auth-Token header"),
    )
}

/// 403: a token that belongs to another project.
pub fn forbidden() -> LfError {
    let message = "X-Auth-Token is invalid in the request";
    LfError {
        status: 403,
        body: json!({
            "error": {
                "code": "403",
                "message": message,
                "error_code": null,
                "error_msg": null,
                "title": "Forbidden",
            },
            "error_code": "403",
            "error_msg": message,
            "title": "Forbidden",
        }),
    }
}

/// 404: unknown catalog, database or table; `what` names it.
pub fn not_found(what: impl AsRef<str>) -> LfError {
    LfError::new(
        404,
        "common.01000001",
        format!(
            "response status exception, code: 404, reason: {}",
            what.as_ref()
        ),
        None,
    )
}

/// 500: the emulator failed.
pub fn internal(detail: impl AsRef<str>) -> LfError {
    tracing::error!(detail = detail.as_ref(), "lakeformation internal error");
    LfError::new(
        500,
        "common.00000500",
        format!("internal error: {}", detail.as_ref()),
        None,
    )
}

/// 501: a LakeFormation API the emulator does not serve.
pub fn not_implemented(method: &str, path: &str) -> LfError {
    LfError::new(
        501,
        "common.00000501",
        format!("{method} {path} is not implemented by cleanrooms-emulator (it serves POST …/partitions/batch-create)"),
        None,
    )
}
