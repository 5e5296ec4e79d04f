//! awsJson1.1 (Glue, Athena): the operation comes from `X-Amz-Target: <Prefix>.<Operation>`,
//! the input is the JSON body, the output is the JSON body, errors carry `__type`.

use serde_json::Value;

use super::model::ServiceModel;
use super::validate::validate;
use super::{serialization_error, validation_error};
use crate::error::AwsError;

/// Content type of awsJson1.1 responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Finds the operation named by `X-Amz-Target`.
///
/// # Errors
/// `UnknownOperationException` when the target names no operation of this service.
pub fn operation<'m>(model: &'m ServiceModel, target: Option<&str>) -> Result<&'m str, AwsError> {
    let target = target.ok_or_else(|| {
        AwsError::new(
            "UnknownOperationException",
            400,
            "Missing X-Amz-Target header",
        )
    })?;
    let (prefix, name) = target.split_once('.').unwrap_or(("", target));
    model
        .operations
        .get_key_value(name)
        .filter(|_| model.target_prefix.as_deref() == Some(prefix))
        .map(|(k, _)| k.as_str())
        .ok_or_else(|| {
            AwsError::new(
                "UnknownOperationException",
                400,
                format!(
                    "Unknown operation {target} for service {}",
                    model.signing_name
                ),
            )
        })
}

/// Parses and validates the JSON body of operation `op`.
///
/// # Errors
/// `SerializationException` for a body that is not a JSON object; the service's validation
/// error when the input breaks the model's constraints.
pub fn bind_input(model: &ServiceModel, op: &str, body: &[u8]) -> Result<Value, AwsError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| serialization_error(&e.to_string()))?
    };
    if !value.is_object() {
        return Err(serialization_error("the body must be a JSON object"));
    }
    if let Some(shape) = model.operations.get(op).and_then(|o| o.input.as_deref()) {
        let errors = validate(model, shape, &value);
        if !errors.is_empty() {
            return Err(validation_error(model, &errors));
        }
    }
    Ok(value)
}
