//! Athena errors as the model shapes them (spec A.7), built in one place so every operation
//! words them the same way: `InvalidRequestException` (with `AthenaErrorCode`),
//! `ResourceNotFoundException` (with `ResourceName`) and `TooManyRequestsException` (with
//! `Reason`), all HTTP 400.

use crate::error::AwsError;

/// `InvalidRequestException` with `AthenaErrorCode: INVALID_INPUT`.
pub fn invalid_request(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidRequestException", 400, message)
        .with_field("AthenaErrorCode", "INVALID_INPUT")
}

/// `InvalidRequestException`: `WorkGroup <name> is not found.`
pub fn work_group_not_found(name: &str) -> AwsError {
    invalid_request(format!("WorkGroup {name} is not found."))
}

/// `ResourceNotFoundException` naming the missing resource.
pub fn resource_not_found(name: &str, message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", 400, message).with_field("ResourceName", name)
}

/// The error for a session id the caller has no session with: `InvalidRequestException` when
/// the id is not even UUID-shaped, else `ResourceNotFoundException` (spec A.4).
pub fn session_not_found(id: &str) -> AwsError {
    if crate::util::ids::is_uuid(id) {
        resource_not_found(id, format!("Session {id} is not found."))
    } else {
        invalid_request(format!("SessionId {id} is not a valid session id."))
    }
}

/// The error for an unknown calculation id, shaped like [`session_not_found`].
pub fn calculation_not_found(id: &str) -> AwsError {
    if crate::util::ids::is_uuid(id) {
        resource_not_found(id, format!("Calculation {id} is not found."))
    } else {
        invalid_request(format!(
            "CalculationExecutionId {id} is not a valid calculation id."
        ))
    }
}

/// `TooManyRequestsException` with `Reason: CONCURRENT_QUERY_LIMIT_EXCEEDED`.
pub fn too_many_sessions(limit: usize) -> AwsError {
    AwsError::new(
        "TooManyRequestsException",
        400,
        format!(
            "The emulator runs at most {limit} Spark sessions at once; terminate one (or start the emulator with a higher --max-spark-sessions)."
        ),
    )
    .with_field("Reason", "CONCURRENT_QUERY_LIMIT_EXCEEDED")
}

/// `InvalidRequestException` of a reused `ClientRequestToken` with other parameters.
pub fn idempotency_mismatch() -> AwsError {
    invalid_request("Idempotent parameters do not match")
}

/// `SessionAlreadyExistsException`: the notebook already has an active session.
pub fn notebook_has_session(notebook_id: &str, session_id: &str) -> AwsError {
    AwsError::new(
        "SessionAlreadyExistsException",
        400,
        format!("Notebook {notebook_id} already has an active session ({session_id})."),
    )
}
