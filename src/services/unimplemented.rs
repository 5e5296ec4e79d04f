//! Services whose operations are routed and validated but not implemented yet: every operation
//! the model knows answers HTTP 501 naming it, in the service's own error format.

use axum::http::request::Parts;
use axum::response::Response;
use cleanrooms_emulator_api::RequestContext;

fn xml_error(
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
    query_style: bool,
) -> Response {
    let body = if query_style {
        format!(
            "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            if status < 500 { "Sender" } else { "Receiver" },
            xml_escape(message)
        )
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
            xml_escape(message)
        )
    };
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::NOT_IMPLEMENTED);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/xml"),
    );
    resp
}

/// Escapes text for an XML element.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Serves an S3 request.
pub fn s3(ctx: RequestContext, parts: &Parts) -> (Response, String) {
    let message = format!(
        "S3 ({} {}) is not implemented by cleanrooms-emulator yet",
        parts.method,
        parts.uri.path()
    );
    (
        xml_error(501, "NotImplemented", &message, &ctx.request_id, false),
        String::new(),
    )
}
