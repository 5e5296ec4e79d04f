//! Glue errors as the model shapes them (`EntityNotFoundException`, `AlreadyExistsException`,
//! `InvalidInputException`, … — each with `Message`, HTTP 400), built in one place so every
//! operation words them the same way (spec B.6).

use crate::error::AwsError;

/// `EntityNotFoundException` with a custom message.
pub fn entity_not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("EntityNotFoundException", 400, message)
}

/// `EntityNotFoundException`: `Database <db> not found.`
pub fn database_not_found(database: &str) -> AwsError {
    entity_not_found(format!("Database {database} not found."))
}

/// `EntityNotFoundException`: `Table <t> not found.`
pub fn table_not_found(table: &str) -> AwsError {
    entity_not_found(format!("Table {table} not found."))
}

/// `EntityNotFoundException`: `Cannot find partition.`
pub fn partition_not_found() -> AwsError {
    entity_not_found("Cannot find partition.")
}

/// `AlreadyExistsException` with a custom message.
pub fn already_exists(message: impl Into<String>) -> AwsError {
    AwsError::new("AlreadyExistsException", 400, message)
}

/// `AlreadyExistsException`: `Database already exists.`
pub fn database_exists() -> AwsError {
    already_exists("Database already exists.")
}

/// `AlreadyExistsException`: `Table already exists.`
pub fn table_exists() -> AwsError {
    already_exists("Table already exists.")
}

/// `AlreadyExistsException`: `Partition already exists.`
pub fn partition_exists() -> AwsError {
    already_exists("Partition already exists.")
}

/// `InvalidInputException` (400).
pub fn invalid_input(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidInputException", 400, message)
}

/// `InvalidInputException`: the number of values differs from the number of partition keys.
pub fn value_count_mismatch() -> AwsError {
    invalid_input("The number of partition keys do not match the number of partition values")
}

/// `InvalidStateException` (400): stored data the request cannot work with.
pub fn invalid_state(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidStateException", 400, message)
}

/// `AccessDeniedException` (400): another account's catalog.
pub fn access_denied(message: impl Into<String>) -> AwsError {
    AwsError::new("AccessDeniedException", 400, message)
}

/// `ConcurrentModificationException` (400): a stale `VersionId`.
pub fn concurrent_modification(message: impl Into<String>) -> AwsError {
    AwsError::new("ConcurrentModificationException", 400, message)
}

/// The `InvalidInputException` of a bad pagination token.
pub fn bad_token(message: String) -> AwsError {
    invalid_input(message)
}

/// Glue names its server fault `InternalServiceException` (HTTP 500); the shared
/// `InternalServerException` is renamed on the way out.
pub fn glue_fault(mut err: AwsError) -> AwsError {
    if err.code == "InternalServerException" {
        err.code = "InternalServiceException".into();
    }
    err
}
