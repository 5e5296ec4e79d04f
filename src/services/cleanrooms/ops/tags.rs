//! Tags on Clean Rooms resources: TagResource, UntagResource, ListTagsForResource. Tags are
//! stored per resource ARN; only the account that owns the resource may see or change them
//! (others get `ResourceNotFoundException`, as for a resource that does not exist).

use std::collections::BTreeMap;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::{invalid_field, not_found_msg, ResourceType};
use crate::services::cleanrooms::model::kinds;
use crate::services::cleanrooms::repo;
use crate::state::AppState;
use crate::store::Write;

/// Most tags one resource may carry (the model's `TagMap` max).
pub const MAX_TAGS: usize = 200;

/// Resource types of Clean Rooms ARNs that accept tags.
const TAGGABLE: &[&str] = &[
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

    fn error_type(&self) -> ResourceType {
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

/// Checks that the caller owns the resource the ARN names and that it exists.
async fn check_owned(state: &AppState, ctx: &RequestContext, arn: &str) -> AwsResult<ResourceArn> {
    let parsed = parse_arn(arn)?;
    let missing = || {
        not_found_msg(
            parsed.error_type(),
            parsed.resource_id(),
            format!(
                "Could not find a resource with ARN {arn} owned by account {}",
                ctx.account_id
            ),
        )
    };
    if parsed.region != ctx.region || parsed.account != ctx.account_id {
        return Err(missing());
    }
    let exists = match parsed.resource_type() {
        "collaboration" => {
            match repo::collaboration(state, &ctx.region, parsed.resource_id()).await {
                Ok(c) => c.creator_account_id == ctx.account_id && c.arn == arn,
                Err(_) => false,
            }
        }
        "membership" if parsed.path.len() == 2 => {
            owned_record(state, ctx, kinds::MEMBERSHIP, parsed.resource_id(), arn).await?
        }
        "configuredtable" if parsed.path.len() == 2 => {
            owned_record(
                state,
                ctx,
                kinds::CONFIGURED_TABLE,
                parsed.resource_id(),
                arn,
            )
            .await?
        }
        "configuredtableassociation" if parsed.path.len() == 4 => {
            owned_record(state, ctx, kinds::ASSOCIATION, parsed.resource_id(), arn).await?
        }
        "privacybudgettemplate" if parsed.path.len() == 4 => {
            owned_record(
                state,
                ctx,
                kinds::PRIVACY_BUDGET_TEMPLATE,
                parsed.resource_id(),
                arn,
            )
            .await?
        }
        "analysistemplate" if parsed.path.len() == 4 => {
            owned_record(
                state,
                ctx,
                kinds::ANALYSIS_TEMPLATE,
                parsed.resource_id(),
                arn,
            )
            .await?
        }
        "intermediatetable" if parsed.path.len() == 4 => {
            owned_record(
                state,
                ctx,
                kinds::INTERMEDIATE_TABLE,
                parsed.resource_id(),
                arn,
            )
            .await?
        }
        // Other taggable resources are created by later operations; until then none exists.
        _ => false,
    };
    if exists {
        Ok(parsed)
    } else {
        Err(missing())
    }
}

/// Whether record `kind`/`id` exists in the caller's region, belongs to the caller and has ARN
/// `arn` (every resource stores its ARN in the `arn` member of its body).
async fn owned_record(
    state: &AppState,
    ctx: &RequestContext,
    kind: &str,
    id: &str,
    arn: &str,
) -> AwsResult<bool> {
    Ok(match state.store().get(kind, id).await? {
        Some(r) => {
            r.region == ctx.region
                && r.account == ctx.account_id
                && r.body.get("arn").and_then(|a| a.as_str()) == Some(arn)
        }
        None => false,
    })
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

/// The write that stores `tags` for `arn`.
pub fn put_tags(
    region: &str,
    account: &str,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> AwsResult<Write> {
    repo::put(kinds::TAGS, arn, region, account, None, tags)
}

/// The write that removes every tag of `arn`.
pub fn delete_tags(arn: &str) -> Write {
    Write::Delete {
        kind: kinds::TAGS.to_string(),
        id: arn.to_string(),
    }
}

async fn current_tags(state: &AppState, arn: &str) -> AwsResult<BTreeMap<String, String>> {
    match state.store().get(kinds::TAGS, arn).await? {
        Some(r) => repo::decode(&r),
        None => Ok(BTreeMap::new()),
    }
}

/// TagResource: adds tags, overwriting values of existing keys.
pub async fn tag_resource(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::TagResourceInput,
) -> AwsResult<dto::TagResourceOutput> {
    check_tag_keys(input.tags.keys())?;
    let _guard = state.write_lock().await;
    check_owned(state, ctx, &input.resource_arn).await?;
    let mut tags = current_tags(state, &input.resource_arn).await?;
    tags.extend(input.tags);
    if tags.len() > MAX_TAGS {
        return Err(invalid_field(
            "tags",
            format!(
                "A resource can have at most {MAX_TAGS} tags; this request would leave {}",
                tags.len()
            ),
        ));
    }
    let write = put_tags(&ctx.region, &ctx.account_id, &input.resource_arn, &tags)?;
    state.store().commit(vec![write]).await?;
    Ok(dto::TagResourceOutput {})
}

/// UntagResource: removes the listed keys (unknown keys are ignored).
pub async fn untag_resource(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UntagResourceInput,
) -> AwsResult<dto::UntagResourceOutput> {
    let _guard = state.write_lock().await;
    check_owned(state, ctx, &input.resource_arn).await?;
    let mut tags = current_tags(state, &input.resource_arn).await?;
    for key in &input.tag_keys {
        tags.remove(key);
    }
    let write = if tags.is_empty() {
        delete_tags(&input.resource_arn)
    } else {
        put_tags(&ctx.region, &ctx.account_id, &input.resource_arn, &tags)?
    };
    state.store().commit(vec![write]).await?;
    Ok(dto::UntagResourceOutput {})
}

/// ListTagsForResource.
pub async fn list_tags_for_resource(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListTagsForResourceInput,
) -> AwsResult<dto::ListTagsForResourceOutput> {
    check_owned(state, ctx, &input.resource_arn).await?;
    Ok(dto::ListTagsForResourceOutput {
        tags: current_tags(state, &input.resource_arn).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scoped_arns() {
        let a = parse_arn(
            "arn:aws:cleanrooms:us-east-1:111111111111:membership/m1/analysistemplate/t1",
        )
        .unwrap();
        assert_eq!(a.resource_type(), "analysistemplate");
        assert_eq!(a.resource_id(), "t1");
        assert!(parse_arn("arn:aws:s3:::bucket").is_err());
        assert!(parse_arn("arn:aws:cleanrooms:us-east-1:111111111111:collaboration").is_err());
        assert!(parse_arn("arn:aws:cleanrooms:us-east-1:111111111111:protectedquery/x").is_err());
    }
}
