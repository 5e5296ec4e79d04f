//! Clean Rooms errors as the model shapes them (`ResourceNotFoundException` with `resourceId` and
//! `resourceType`, `ValidationException` with `reason`, …), built in one place so every
//! operation words them the same way.

use crate::error::{AwsError, AwsResult};

/// `ResourceType` values of the model (`ResourceNotFoundException`, `ConflictException`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    /// A collaboration (and what is addressed under `/collaborations/{id}`).
    Collaboration,
    /// A membership (and what is addressed under `/memberships/{id}`).
    Membership,
    /// A configured table (and its analysis rule).
    ConfiguredTable,
    /// A configured table association (and its analysis rules).
    ConfiguredTableAssociation,
}

impl ResourceType {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Collaboration => "COLLABORATION",
            Self::Membership => "MEMBERSHIP",
            Self::ConfiguredTable => "CONFIGURED_TABLE",
            Self::ConfiguredTableAssociation => "CONFIGURED_TABLE_ASSOCIATION",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Collaboration => "collaboration",
            Self::Membership => "membership",
            Self::ConfiguredTable => "configured table",
            Self::ConfiguredTableAssociation => "configured table association",
        }
    }
}

/// `ResourceNotFoundException` (404).
pub fn not_found(resource_type: ResourceType, id: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        404,
        format!("Could not find {} with id {id}", resource_type.noun()),
    )
    .with_field("resourceId", id)
    .with_field("resourceType", resource_type.as_str())
}

/// `ResourceNotFoundException` (404) with a custom message.
pub fn not_found_msg(
    resource_type: ResourceType,
    id: &str,
    message: impl Into<String>,
) -> AwsError {
    AwsError::new("ResourceNotFoundException", 404, message)
        .with_field("resourceId", id)
        .with_field("resourceType", resource_type.as_str())
}

/// `AccessDeniedException` (403) with `reason=INSUFFICIENT_PERMISSIONS`.
pub fn access_denied(message: impl Into<String>) -> AwsError {
    AwsError::new("AccessDeniedException", 403, message)
        .with_field("reason", "INSUFFICIENT_PERMISSIONS")
}

/// `ValidationException` (400) for valid-looking input that breaks a business rule
/// (`reason=INVALID_CONFIGURATION`).
pub fn invalid_configuration(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", 400, message).with_field("reason", "INVALID_CONFIGURATION")
}

/// `ValidationException` (400) for a query the analysis rules or the engine reject
/// (`reason=INVALID_QUERY`).
pub fn invalid_query(message: impl Into<String>) -> AwsError {
    AwsError::new("ValidationException", 400, message).with_field("reason", "INVALID_QUERY")
}

/// `ValidationException` (400) about one field (`reason=FIELD_VALIDATION_FAILED`, `fieldList`).
pub fn invalid_field(field: &str, message: impl Into<String>) -> AwsError {
    let message = message.into();
    AwsError::new("ValidationException", 400, message.clone())
        .with_field("reason", "FIELD_VALIDATION_FAILED")
        .with_field(
            "fieldList",
            serde_json::json!([{"name": field, "message": message}]),
        )
}

/// `ConflictException` reasons of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictReason {
    /// A resource that may exist once exists already.
    AlreadyExists,
    /// A delete is blocked by resources that still depend on the target.
    SubresourcesExist,
    /// The resource is in a state that does not allow the operation.
    InvalidState,
}

impl ConflictReason {
    /// Wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlreadyExists => "ALREADY_EXISTS",
            Self::SubresourcesExist => "SUBRESOURCES_EXIST",
            Self::InvalidState => "INVALID_STATE",
        }
    }
}

/// `ConflictException` (409) about resource `id` of `resource_type`.
pub fn conflict(
    resource_type: ResourceType,
    id: &str,
    reason: ConflictReason,
    message: impl Into<String>,
) -> AwsError {
    conflict_on(Some(resource_type), id, reason, message)
}

/// `ConflictException` (409) about resource `id`, with `resourceType` when the model's
/// `ResourceType` has a value for it (it names four).
pub fn conflict_on(
    resource_type: Option<ResourceType>,
    id: &str,
    reason: ConflictReason,
    message: impl Into<String>,
) -> AwsError {
    let e = AwsError::new("ConflictException", 409, message).with_field("resourceId", id);
    match resource_type {
        Some(t) => e.with_field("resourceType", t.as_str()),
        None => e,
    }
    .with_field("reason", reason.as_str())
}

/// `ServiceQuotaExceededException` (402, as the model declares it).
pub fn quota_exceeded(quota_name: &str, quota_value: f64) -> AwsError {
    AwsError::new(
        "ServiceQuotaExceededException",
        402,
        format!("Service quota exceeded: {quota_name} is limited to {quota_value}"),
    )
    .with_field("quotaName", quota_name)
    .with_field("quotaValue", quota_value)
}

/// The check before creating one more resource under quota `quota_name`, limited to `limit`:
/// `count` resources already exist.
///
/// # Errors
/// [`quota_exceeded`] when `count` has reached `limit`.
pub fn check_room(quota_name: &str, count: usize, limit: usize) -> AwsResult<()> {
    if count >= limit {
        return Err(quota_exceeded(quota_name, limit as f64));
    }
    Ok(())
}

/// The validation error of a bad pagination token.
pub fn bad_token(message: String) -> AwsError {
    invalid_field("nextToken", message)
}
