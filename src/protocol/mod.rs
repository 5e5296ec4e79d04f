//! Wire protocols, interpreted from the service models: request binding, validation, response
//! and error encoding. This is the only layer (with the gateway) that sees HTTP types.

pub mod aws_json;
pub mod model;
pub mod rest_json;
pub mod validate;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::error::AwsError;
use crate::faults::{Faults, Injected};
use model::ServiceModel;
use validate::FieldError;

/// Turns broken rules into the service's validation error: Clean Rooms' `ValidationException`
/// with `reason` and `fieldList`, Glue's `InvalidInputException`, Athena's
/// `InvalidRequestException`, else a plain `ValidationException`.
pub fn validation_error(model: &ServiceModel, errors: &[FieldError]) -> AwsError {
    // Service-specific names first: Glue also models a `ValidationException` (declared by a few
    // newer operations), but every catalog operation reports bad input as `InvalidInputException`.
    let code = [
        "InvalidInputException",
        "InvalidRequestException",
        "ValidationException",
    ]
    .into_iter()
    .find(|c| model.shapes.contains_key(*c))
    .unwrap_or("ValidationException");
    let count = errors.len();
    let message = format!(
        "{count} validation error{} detected: {}",
        if count == 1 { "" } else { "s" },
        errors
            .iter()
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut err = AwsError::new(code, 400, message);
    let members: Vec<&str> = model
        .members(code)
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    if members.contains(&"reason") {
        err = err.with_field("reason", "FIELD_VALIDATION_FAILED");
    }
    if members.contains(&"AthenaErrorCode") {
        err = err.with_field("AthenaErrorCode", "INVALID_INPUT");
    }
    if members.contains(&"fieldList") {
        let list: Vec<Value> = errors
            .iter()
            .map(|e| json!({"name": e.path, "message": e.message}))
            .collect();
        err = err.with_field("fieldList", list);
    }
    err
}

/// The malformed-body error every JSON protocol answers with.
pub fn serialization_error(detail: &str) -> AwsError {
    AwsError::new(
        "SerializationException",
        400,
        format!("Could not parse the request body as JSON: {detail}"),
    )
}

/// A JSON response with the given status and content type.
pub fn json_response(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    resp
}

/// The JSON body of an error: `message` plus the exception's other members.
pub fn error_body(err: &AwsError) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    body.insert("message".into(), Value::String(err.message.clone()));
    for (k, v) in err.fields.iter() {
        body.insert(k.clone(), v.clone());
    }
    body
}

/// Encodes an error for the JSON protocols: the status, `x-amzn-ErrorType` and a JSON body;
/// `with_type` adds `__type` to the body, as awsJson does.
pub fn json_error_response(
    err: &AwsError,
    content_type: &'static str,
    with_type: bool,
) -> Response {
    let mut body = error_body(err);
    if with_type {
        body.insert("__type".into(), Value::String(err.code.clone()));
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = json_response(err.status, content_type, bytes);
    if let Ok(v) = HeaderValue::from_str(&err.code) {
        resp.headers_mut().insert("x-amzn-ErrorType", v);
    }
    resp
}

/// The answer to a request that a fault rule ([`crate::faults`]) affects: the error encoded by
/// `encode` (the protocol's own error encoding), or a [`dropped_connection`].
pub fn fault_response(fault: Injected, encode: impl FnOnce(&AwsError) -> Response) -> Response {
    match fault {
        Injected::Error(e) => encode(&e),
        Injected::DropConnection => dropped_connection(),
    }
}

/// A response whose body fails at once: the server closes the connection without an answer.
pub fn dropped_connection() -> Response {
    let body = futures::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by a fault rule",
        ))
    });
    Response::new(axum::body::Body::from_stream(body))
}

/// Serves one rest-json request end to end: route, bind and validate the input, `call` the
/// service with it, encode the output or error. Returns the response and the operation name
/// (empty when nothing matched). Fault rules are applied once the operation is known.
pub async fn serve_rest_json<F, Fut>(
    model: &ServiceModel,
    routes: &rest_json::RouteTable,
    faults: &Faults,
    mut ctx: cleanrooms_emulator_api::RequestContext,
    parts: &axum::http::request::Parts,
    body: &[u8],
    call: F,
) -> (Response, String)
where
    F: FnOnce(cleanrooms_emulator_api::RequestContext, Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, AwsError>>,
{
    let query = rest_json::parse_query(parts.uri.query());
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let Some(matched) = routes.find(method, path, &query) else {
        let err = AwsError::new(
            "UnknownOperationException",
            404,
            format!(
                "No {} operation matches {method} {path}",
                model.signing_name
            ),
        );
        return (
            modeled_error_response(model, &err, rest_json::CONTENT_TYPE, false),
            String::new(),
        );
    };
    ctx.operation.clone_from(&matched.operation);
    let operation = matched.operation.clone();
    if let Some(fault) = faults
        .inject(&model.signing_name, &operation, &ctx.account_id)
        .await
    {
        let response = fault_response(fault, |e| {
            modeled_error_response(model, e, rest_json::CONTENT_TYPE, false)
        });
        return (response, operation);
    }
    let result = match rest_json::bind_input(
        model,
        &operation,
        &matched.labels,
        &query,
        &parts.headers,
        body,
    ) {
        Ok(input) => call(ctx, input).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(output) => {
            let encoded = rest_json::encode_output(model, &operation, output);
            let mut resp = json_response(encoded.status, rest_json::CONTENT_TYPE, encoded.body);
            for (k, v) in encoded.headers {
                if let (Ok(k), Ok(v)) = (
                    axum::http::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    resp.headers_mut().insert(k, v);
                }
            }
            resp
        }
        Err(e) => modeled_error_response(model, &e, rest_json::CONTENT_TYPE, false),
    };
    (response, operation)
}

/// Serves one awsJson1.1 request end to end (operation from `X-Amz-Target`). Fault rules are
/// applied once the operation is known.
pub async fn serve_aws_json<F, Fut>(
    model: &ServiceModel,
    faults: &Faults,
    mut ctx: cleanrooms_emulator_api::RequestContext,
    parts: &axum::http::request::Parts,
    body: &[u8],
    call: F,
) -> (Response, String)
where
    F: FnOnce(cleanrooms_emulator_api::RequestContext, Value) -> Fut,
    Fut: std::future::Future<Output = Result<Value, AwsError>>,
{
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let operation = match aws_json::operation(model, target) {
        Ok(op) => op.to_string(),
        Err(e) => {
            return (
                json_error_response(&e, aws_json::CONTENT_TYPE, true),
                String::new(),
            )
        }
    };
    ctx.operation.clone_from(&operation);
    if let Some(fault) = faults
        .inject(&model.signing_name, &operation, &ctx.account_id)
        .await
    {
        let response = fault_response(fault, |e| aws_json_error_response(model, e));
        return (response, operation);
    }
    let result = match aws_json::bind_input(model, &operation, body) {
        Ok(input) => call(ctx, input).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(output) => json_response(
            200,
            aws_json::CONTENT_TYPE,
            serde_json::to_vec(&output).unwrap_or_else(|_| b"{}".to_vec()),
        ),
        Err(e) => aws_json_error_response(model, &e),
    };
    (response, operation)
}

/// Encodes an awsJson error: like [`json_error_response`] with `__type`, and the message under
/// the member name the exception's shape uses.
fn aws_json_error_response(model: &ServiceModel, err: &AwsError) -> Response {
    modeled_error_response(model, err, aws_json::CONTENT_TYPE, true)
}

/// Encodes an error for a JSON protocol with the message under the member name the exception's
/// shape uses (`Message` for Glue and Athena, else `message`); `with_type` adds `__type`.
fn modeled_error_response(
    model: &ServiceModel,
    err: &AwsError,
    content_type: &'static str,
    with_type: bool,
) -> Response {
    let mut body = error_body(err);
    if model.members(&err.code).iter().any(|m| m.name == "Message") {
        if let Some(message) = body.shift_remove("message") {
            body.insert("Message".into(), message);
        }
    }
    if with_type {
        body.insert("__type".into(), Value::String(err.code.clone()));
    }
    let bytes = serde_json::to_vec(&Value::Object(body)).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = json_response(err.status, content_type, bytes);
    if let Ok(v) = HeaderValue::from_str(&err.code) {
        resp.headers_mut().insert("x-amzn-ErrorType", v);
    }
    resp
}
