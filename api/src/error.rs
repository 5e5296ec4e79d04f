//! The one error value every layer returns; the protocol layer decides how it looks on the wire.

use serde_json::{Map, Value};

/// An AWS error: code (the error shape name), HTTP status, fault side, message and the shape's
/// other modelled members (already under their wire names, e.g. `resourceType`).
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    /// Error code: the exception shape's name (`ResourceNotFoundException`).
    pub code: String,
    /// HTTP status code.
    pub status: u16,
    /// `true` when the caller is at fault (4xx), `false` for server faults.
    pub sender_fault: bool,
    /// Human-readable message.
    pub message: String,
    /// Other modelled members of the exception shape (boxed to keep `Result`s small).
    pub fields: Box<Map<String, Value>>,
}

impl AwsError {
    /// An error with the given code, status and message and no extra members.
    pub fn new(code: impl Into<String>, status: u16, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            status,
            sender_fault: status < 500,
            message: message.into(),
            fields: Box::default(),
        }
    }

    /// Adds a modelled member to the error body.
    #[must_use]
    pub fn with_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_string(), value.into());
        self
    }

    /// A generic `ValidationException` (HTTP 400).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", 400, message)
    }

    /// An operation the model knows but the emulator does not implement yet (HTTP 501).
    pub fn not_implemented(service: &str, operation: &str) -> Self {
        Self::new(
            "NotImplementedException",
            501,
            format!(
                "The operation {service}.{operation} is not implemented by cleanrooms-emulator yet"
            ),
        )
    }

    /// An unexpected failure inside the emulator (HTTP 500); the message says what broke.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalServerException", 500, message)
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for AwsError {}

/// Builds the [`AwsError`] of a serialisable modelled exception (used by the generated
/// `errors` modules): the message member becomes the message, every other present member a field
/// under its wire name.
pub fn from_exception<T: serde::Serialize>(
    error: &T,
    code: &str,
    status: u16,
    sender_fault: bool,
    message_member: &str,
) -> AwsError {
    let mut fields = match serde_json::to_value(error) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    let message = match fields.remove(message_member) {
        Some(Value::String(message)) => message,
        _ => String::new(),
    };
    AwsError {
        code: code.to_string(),
        status,
        sender_fault,
        message,
        fields: Box::new(fields),
    }
}
