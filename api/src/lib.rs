//! Wire-level types of the AWS services the emulator speaks, generated from the vendored botocore
//! models in `model/` by `cargo xtask codegen`, plus the few hand-written core types they use.
//!
//! Each service module (`cleanrooms`, `glue`, `athena`, `sts`, `entityresolution`) holds:
//! - `dto`: one Rust type per model shape (structures, unions as externally tagged enums, enums),
//!   serialised with the model's member names, so a `serde_json::Value` in model form converts
//!   losslessly into the typed input and back out of the typed output;
//! - `errors`: one struct per modelled exception, convertible into [`AwsError`];
//! - `routes`: the HTTP binding table ([`OperationBinding`]) of every operation;
//! - `api`: the operation trait (every method defaults to "not implemented") and `dispatch`, which
//!   turns a validated model-form input into a typed call and the typed output back into a value.
//!
//! Nothing here knows HTTP frameworks: the emulator's protocol layer does the wire encoding.

pub mod athena;
pub mod cleanrooms;
pub mod context;
pub mod entityresolution;
pub mod error;
pub mod glue;
pub mod sts;

pub use context::RequestContext;
pub use error::AwsError;

/// An operation's typed input (generated for every operation that takes one): it names the
/// operation's typed output, so a handler of the input cannot answer another operation's output.
pub trait OperationInput {
    /// The operation's typed output (`()` for an operation without one).
    type Output;
}

/// Epoch seconds (fractional allowed), the model-form value of every `timestamp` shape.
pub type Timestamp = f64;

/// The HTTP binding of one operation, as the model's `http` trait declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationBinding {
    /// Operation name as in the model (`CreateCollaboration`).
    pub name: &'static str,
    /// HTTP method (`POST`).
    pub method: &'static str,
    /// Request URI template, possibly with a query part (`/collaborations/{collaborationIdentifier}`).
    pub uri: &'static str,
    /// HTTP status of a successful response.
    pub response_code: u16,
    /// Input shape name, if the operation takes input.
    pub input: Option<&'static str>,
    /// Output shape name, if the operation returns output.
    pub output: Option<&'static str>,
}

/// Turns a model-form JSON value into a typed input; a mismatch is a `SerializationException`-style
/// validation error (it only happens when the value did not pass model validation).
pub fn from_value<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, AwsError> {
    serde_json::from_value(value).map_err(|e| AwsError::validation(format!("Invalid request: {e}")))
}

/// Turns a typed output into its model-form JSON value.
pub fn to_value<T: serde::Serialize>(value: &T) -> Result<serde_json::Value, AwsError> {
    serde_json::to_value(value)
        .map_err(|e| AwsError::internal(format!("cannot encode output: {e}")))
}
