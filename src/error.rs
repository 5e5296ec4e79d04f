//! The error type of request paths: [`AwsError`] (code, status, message, modelled members), shared
//! with the generated API crate. Domain code builds it with the helpers here.

pub use cleanrooms_emulator_api::AwsError;

/// Result of a request-path operation.
pub type AwsResult<T> = Result<T, AwsError>;
