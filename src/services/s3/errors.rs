//! S3's errors: constructors for the errors the operations raise, and the final rendering of
//! every error response as S3 writes it —
//! `<Error><Code/><Message/><Resource/><RequestId/></Error>` with the right HTTP status, no body
//! for `HEAD` — whether the error came from an operation or from request parsing in `s3s`.

use s3s::{S3Error, S3ErrorCode};

use crate::object_files::{KeyError, PlaceError, StageError};
use crate::services::unimplemented::xml_escape;
use crate::store::StoreError;

/// An error with a message.
pub fn error(code: S3ErrorCode, message: impl Into<String>) -> S3Error {
    S3Error::with_message(code, message.into())
}

/// `NoSuchBucket` (404).
pub fn no_such_bucket(bucket: &str) -> S3Error {
    error(
        S3ErrorCode::NoSuchBucket,
        format!("The specified bucket does not exist: {bucket}"),
    )
}

/// `NoSuchKey` (404).
pub fn no_such_key(key: &str) -> S3Error {
    error(
        S3ErrorCode::NoSuchKey,
        format!("The specified key does not exist: {key}"),
    )
}

/// `AccessDenied` (403) for a bucket of another account.
pub fn access_denied(bucket: &str) -> S3Error {
    error(
        S3ErrorCode::AccessDenied,
        format!("Access Denied: bucket {bucket} belongs to another account"),
    )
}

/// `NoSuchUpload` (404).
pub fn no_such_upload(upload_id: &str) -> S3Error {
    error(
        S3ErrorCode::NoSuchUpload,
        format!("The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed: {upload_id}"),
    )
}

/// `InvalidArgument` (400).
pub fn invalid_argument(message: impl Into<String>) -> S3Error {
    error(S3ErrorCode::InvalidArgument, message)
}

/// A key that cannot be stored.
pub fn key_error(key: &str, e: &KeyError) -> S3Error {
    let code = match e {
        KeyError::TooLong(_) => S3ErrorCode::KeyTooLongError,
        _ => S3ErrorCode::InvalidArgument,
    };
    let shown: String = key.chars().take(200).collect();
    error(code, format!("Invalid object key {shown:?}: {e}"))
}

/// A key whose path collides with another object's.
pub fn place_error(e: PlaceError) -> S3Error {
    match e {
        PlaceError::Io(e) => internal(format!("cannot create the object's directories: {e}")),
        other => error(S3ErrorCode::InvalidArgument, other.to_string()),
    }
}

/// A body that could not be received.
pub fn stage_error(e: StageError) -> S3Error {
    match e {
        StageError::Body(m) if m.contains(super::chunked::BAD_DIGEST) => error(
            S3ErrorCode::BadDigest,
            m.split(super::chunked::BAD_DIGEST)
                .nth(1)
                .unwrap_or_default()
                .trim()
                .to_string(),
        ),
        StageError::Body(m) => error(
            S3ErrorCode::IncompleteBody,
            format!("You did not provide the number of bytes specified by the Content-Length HTTP header: {m}"),
        ),
        StageError::TooLarge(max) => error(
            S3ErrorCode::EntityTooLarge,
            format!("Your proposed upload exceeds the maximum allowed size of {max} bytes"),
        ),
        StageError::Io(e) => internal(format!("cannot store the upload: {e}")),
    }
}

/// `InternalError` (500), logged.
pub fn internal(message: impl Into<String>) -> S3Error {
    let message = message.into();
    tracing::error!(error = %message, "s3 internal error");
    error(S3ErrorCode::InternalError, message)
}

/// A metadata store failure.
pub fn store(e: StoreError) -> S3Error {
    internal(e.to_string())
}

/// An I/O failure.
pub fn io(what: &str, e: &std::io::Error) -> S3Error {
    internal(format!("{what}: {e}"))
}

/// The message S3 gives for `code` when the raising code had none.
fn default_message(code: &str) -> &'static str {
    match code {
        "NoSuchBucket" => "The specified bucket does not exist",
        "NoSuchKey" => "The specified key does not exist.",
        "InvalidBucketName" => "The specified bucket is not valid.",
        "KeyTooLongError" => "Your key is too long",
        "InvalidURI" => "Couldn't parse the specified URI.",
        "MethodNotAllowed" => "The specified method is not allowed against this resource.",
        "NotImplemented" => "A header you provided implies functionality that is not implemented",
        "InvalidRange" => "The requested range is not satisfiable",
        "MalformedXML" => "The XML you provided was not well-formed or did not validate against our published schema",
        "MissingContentLength" => "You must provide the Content-Length HTTP header.",
        "IncompleteBody" => "You did not provide the number of bytes specified by the Content-Length HTTP header",
        "PreconditionFailed" => "At least one of the pre-conditions you specified did not hold",
        "InvalidArgument" => "Invalid Argument",
        "InvalidRequest" => "Invalid Request",
        "AccessDenied" => "Access Denied",
        "InternalError" => "We encountered an internal error. Please try again.",
        _ => "The request failed",
    }
}

/// The text between `<tag>` and `</tag>` in `xml`, as written (still escaped).
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// What an error response says, read back from the XML `s3s` rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// HTTP status.
    pub status: u16,
    /// Error code.
    pub code: String,
    /// Message, XML-escaped.
    pub message_xml: String,
}

/// Reads code and message from an `s3s` error body (`None` when it is not one); applies the
/// emulator's conventions: `NotImplemented` names the operation, an HTTP method S3 has no
/// operation for — or a method and resource that match no operation (`s3s`' "Unknown
/// operation", e.g. `POST /`) — is `MethodNotAllowed` (405) as S3 answers it, missing messages
/// get S3's standard text.
pub fn interpret(status: u16, body: &str, method: &str) -> Option<Rendered> {
    let code = element(body, "Code")?.to_string();
    let message = element(body, "Message").map(str::to_string);
    let standard_method = matches!(method, "GET" | "HEAD" | "PUT" | "POST" | "DELETE");
    if code == "NotImplemented" {
        if !standard_method || message.as_deref() == Some("Unknown operation") {
            return Some(Rendered {
                status: 405,
                code: "MethodNotAllowed".into(),
                message_xml: xml_escape(&format!(
                    "The specified method is not allowed against this resource: {method}"
                )),
            });
        }
        if let Some(op) = message
            .as_deref()
            .and_then(|m| m.strip_suffix(" is not implemented yet"))
        {
            return Some(Rendered {
                status: 501,
                code,
                message_xml: format!(
                    "The operation s3.{op} is not implemented by cleanrooms-emulator yet"
                ),
            });
        }
    }
    let message_xml = message
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| xml_escape(default_message(&code)));
    Some(Rendered {
        status,
        code,
        message_xml,
    })
}

/// The operation a `NotImplemented` error names (for logging).
pub fn unimplemented_operation(message_xml: &str) -> Option<&str> {
    message_xml
        .strip_prefix("The operation s3.")?
        .split(' ')
        .next()
}

/// The XML body of an S3 error.
pub fn body(code: &str, message_xml: &str, resource: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{message_xml}</Message><Resource>{}</Resource><RequestId>{}</RequestId></Error>",
        xml_escape(code),
        xml_escape(resource),
        xml_escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_s3s_errors_and_fills_the_gaps() {
        let r = interpret(
            404,
            "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>a &amp; b</Message></Error>",
            "GET",
        )
        .unwrap();
        assert_eq!(r.code, "NoSuchKey");
        assert_eq!(r.message_xml, "a &amp; b");
        let r = interpret(400, "<Error><Code>InvalidBucketName</Code></Error>", "GET").unwrap();
        assert_eq!(r.message_xml, "The specified bucket is not valid.");
        let r = interpret(
            501,
            "<Error><Code>NotImplemented</Code><Message>GetBucketAcl is not implemented yet</Message></Error>",
            "GET",
        )
        .unwrap();
        assert_eq!(
            unimplemented_operation(&r.message_xml),
            Some("GetBucketAcl")
        );
        let r = interpret(
            501,
            "<Error><Code>NotImplemented</Code><Message>Unknown operation</Message></Error>",
            "PATCH",
        )
        .unwrap();
        assert_eq!((r.status, r.code.as_str()), (405, "MethodNotAllowed"));
        let r = interpret(
            501,
            "<Error><Code>NotImplemented</Code><Message>Unknown operation</Message></Error>",
            "POST",
        )
        .unwrap();
        assert_eq!((r.status, r.code.as_str()), (405, "MethodNotAllowed"));
        assert!(interpret(200, "<ListBucketResult/>", "GET").is_none());
        assert!(body("NoSuchKey", "m", "/b/k<", "rid").contains("<Resource>/b/k&lt;</Resource>"));
    }
}
