//! Entity Resolution errors as the model shapes them: `ValidationException` (400),
//! `ResourceNotFoundException` (404) and `ConflictException` (400), built in one place so every
//! operation words them the same way.

use crate::error::AwsError;
use cleanrooms_emulator_api::entityresolution::errors;

/// `ValidationException` with `message`.
pub fn validation(message: impl Into<String>) -> AwsError {
    errors::ValidationException::new(message).into()
}

/// `ResourceNotFoundException` with `message`.
pub fn not_found(message: impl Into<String>) -> AwsError {
    errors::ResourceNotFoundException::new(message).into()
}

/// `ConflictException` with `message`.
pub fn conflict(message: impl Into<String>) -> AwsError {
    errors::ConflictException::new(message).into()
}

/// The error for a pagination token of another list or one that does not decode.
pub fn bad_token(message: String) -> AwsError {
    validation(message)
}
