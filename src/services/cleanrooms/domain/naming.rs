//! Names and identifiers the service checks: intermediate table column names, tag keys and the
//! ARNs TagResource, UntagResource and ListTagsForResource accept; and the renaming of a
//! resource by an update.

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::{invalid_field, ResourceType};

/// Whether `name` is a valid Clean Rooms column name (`[a-z0-9_](([a-z0-9_ ]+-)*([a-z0-9_ ]+))?`,
/// at most 128 characters).
pub fn valid_column_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if name.len() > 128 || !(first.is_ascii_lowercase() || first.is_ascii_digit() || first == '_') {
        return false;
    }
    let rest = chars.as_str();
    rest.is_empty()
        || rest.split('-').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ' ')
        })
}

/// Most tags one resource may carry (the model's `TagMap` max).
pub const MAX_TAGS: usize = 200;

/// A parsed Clean Rooms ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceArn {
    /// Region.
    pub region: String,
    /// Owning account.
    pub account: String,
    /// Path segments after the account (`["collaboration", "<id>"]`,
    /// `["membership", "<m>", "analysistemplate", "<id>"]`).
    pub path: Vec<String>,
}

impl ResourceArn {
    /// The innermost resource type (`analysistemplate` in `membership/m/analysistemplate/t`).
    pub fn resource_type(&self) -> &str {
        let n = self.path.len();
        &self.path[n - 2]
    }

    /// The innermost resource id.
    pub fn resource_id(&self) -> &str {
        &self.path[self.path.len() - 1]
    }

    /// The `resourceType` of errors about this resource.
    pub fn error_type(&self) -> ResourceType {
        match self.path[0].as_str() {
            "collaboration" => ResourceType::Collaboration,
            "configuredtable" => ResourceType::ConfiguredTable,
            _ if self.resource_type() == "configuredtableassociation" => {
                ResourceType::ConfiguredTableAssociation
            }
            _ => ResourceType::Membership,
        }
    }
}

/// Parses `arn:aws:cleanrooms:<region>:<account>:<type>/<id>[/<type>/<id>]`.
///
/// # Errors
/// `ValidationException` naming `resourceArn` when the ARN is malformed or not taggable.
pub fn parse_arn(arn: &str) -> AwsResult<ResourceArn> {
    let bad =
        |why: &str| invalid_field("resourceArn", format!("Invalid resourceArn '{arn}': {why}"));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6
        || parts[0] != "arn"
        || !parts[1].starts_with("aws")
        || parts[2] != "cleanrooms"
    {
        return Err(bad(
            "expected arn:aws:cleanrooms:<region>:<account>:<resource>",
        ));
    }
    if parts[4].len() != 12 || !parts[4].bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the account must be 12 digits"));
    }
    let path: Vec<String> = parts[5].split('/').map(str::to_string).collect();
    if path.len() < 2 || !path.len().is_multiple_of(2) || path.iter().any(String::is_empty) {
        return Err(bad("expected <resourceType>/<id> after the account"));
    }
    let parsed = ResourceArn {
        region: parts[3].to_string(),
        account: parts[4].to_string(),
        path,
    };
    if !TAGGABLE.contains(&parsed.resource_type()) {
        return Err(bad(&format!(
            "resource type '{}' cannot be tagged",
            parsed.resource_type()
        )));
    }
    Ok(parsed)
}

/// Rejects tag keys AWS reserves.
///
/// # Errors
/// `ValidationException` for a key starting with `aws:`.
pub fn check_tag_keys<'a>(keys: impl IntoIterator<Item = &'a String>) -> AwsResult<()> {
    for key in keys {
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_field(
                "tags",
                format!("Tag key '{key}' is invalid: the prefix 'aws:' is reserved for AWS use"),
            ));
        }
    }
    Ok(())
}

/// Resource types of Clean Rooms ARNs that accept tags.
pub const TAGGABLE: &[&str] = &[
    "analysistemplate",
    "collaboration",
    "configuredaudiencemodelassociation",
    "configuredtable",
    "configuredtableassociation",
    "idmappingtable",
    "idnamespaceassociation",
    "intermediatetable",
    "membership",
    "privacybudgettemplate",
];

/// Applies an update's `new_name` and `new_description` (each only when given) to a resource's
/// `name` and `description`.
pub fn rename(
    name: &mut String,
    description: &mut Option<String>,
    new_name: Option<String>,
    new_description: Option<String>,
) {
    if let Some(n) = new_name {
        *name = n;
    }
    if let Some(d) = new_description {
        *description = Some(d);
    }
}

#[cfg(test)]
mod tests {
    use super::valid_column_name;

    #[test]
    fn column_names_follow_the_model_pattern() {
        for ok in ["a", "user_id", "total spend", "ab-c", "x1-y2-z3", "_"] {
            assert!(valid_column_name(ok), "{ok}");
        }
        for bad in [
            "", "A", "count(*)", "a-b", "ab-", "ab--c", "-a", "sum(x)", "é",
        ] {
            assert!(!valid_column_name(bad), "{bad}");
        }
    }
}
