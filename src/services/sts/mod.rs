//! AWS STS (query protocol, 2011-06-15): `GetCallerIdentity` tells a caller which account and
//! identity the emulator sees for its access key (a 12-digit key *is* the account; any other key
//! belongs to the default account).
//!
//! The operation comes from the `Action` form parameter (body or query string); responses are
//! XML. Every other STS action the model knows answers HTTP 501 naming it; an unknown action (or
//! another `Version`) is `InvalidAction` (400), a missing one `MissingAction` (400), both in STS's
//! `<ErrorResponse>` format.

use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use cleanrooms_emulator_api::sts::api::StsApi;
use cleanrooms_emulator_api::sts::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::{AwsError, AwsResult};
use crate::faults::Faults;
use crate::protocol::fault_response;
use crate::protocol::rest_json::parse_query;

/// The API version STS speaks.
pub const VERSION: &str = "2011-06-15";

/// STS's XML namespace.
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// STS (stateless: the caller's identity comes from the request context).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sts;

impl StsApi for Sts {
    async fn get_caller_identity(
        &self,
        ctx: &RequestContext,
        _input: dto::GetCallerIdentityRequest,
    ) -> AwsResult<dto::GetCallerIdentityResponse> {
        let user = ctx.access_key_id.as_deref().unwrap_or(&ctx.account_id);
        Ok(dto::GetCallerIdentityResponse {
            account: Some(ctx.account_id.clone()),
            arn: Some(format!("arn:aws:iam::{}:user/{user}", ctx.account_id)),
            user_id: Some(user.to_string()),
        })
    }
}

/// Escapes text for an XML element.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn xml_response(status: u16, body: String) -> Response {
    let mut resp = Response::new(axum::body::Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    resp
}

/// An error in the query protocol's `<ErrorResponse>` form.
fn error_response(err: &AwsError, request_id: &str) -> Response {
    let side = if err.sender_fault {
        "Sender"
    } else {
        "Receiver"
    };
    xml_response(
        err.status,
        format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{side}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            xml_escape(&err.code),
            xml_escape(&err.message),
            xml_escape(request_id)
        ),
    )
}

/// The `GetCallerIdentityResponse` document.
fn caller_identity_xml(out: &dto::GetCallerIdentityResponse, request_id: &str) -> String {
    let field = |name: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| format!("<{name}>{}</{name}>", xml_escape(v)))
            .unwrap_or_default()
    };
    format!(
        "<GetCallerIdentityResponse xmlns=\"{NAMESPACE}\"><GetCallerIdentityResult>{}{}{}</GetCallerIdentityResult><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        field("Arn", &out.arn),
        field("UserId", &out.user_id),
        field("Account", &out.account),
        xml_escape(request_id)
    )
}

/// Serves one STS request. Returns the response and the action for logging. Fault rules
/// ([`crate::faults`]) apply to known actions.
pub async fn handle(
    faults: &Faults,
    mut ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let form = String::from_utf8_lossy(body);
    let mut params = parse_query(parts.uri.query());
    params.extend(parse_query(Some(&form)));
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let action = param("Action").unwrap_or_default();
    let version = param("Version");
    ctx.operation.clone_from(&action);
    let result = if action.is_empty() {
        Err(AwsError::new(
            "MissingAction",
            400,
            "Missing Action: the request has no Action parameter",
        ))
    } else if version.as_deref().is_some_and(|v| v != VERSION)
        || !super::sts_model().operations.contains_key(&action)
    {
        Err(AwsError::new(
            "InvalidAction",
            400,
            format!(
                "Could not find operation {action} for version {}",
                version.as_deref().unwrap_or(VERSION)
            ),
        ))
    } else if let Some(fault) = faults.inject("sts", &action, &ctx.account_id).await {
        let request_id = ctx.request_id.clone();
        let response = fault_response(fault, |e| error_response(e, &request_id));
        return (response, action);
    } else if action == "GetCallerIdentity" {
        Sts.get_caller_identity(&ctx, dto::GetCallerIdentityRequest {})
            .await
            .map(|out| caller_identity_xml(&out, &ctx.request_id))
    } else {
        Err(AwsError::not_implemented("sts", &action))
    };
    let response = match result {
        Ok(xml) => xml_response(200, xml),
        Err(e) => error_response(&e, &ctx.request_id),
    };
    (response, action)
}
