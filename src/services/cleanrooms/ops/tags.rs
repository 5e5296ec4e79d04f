//! Tags on Clean Rooms resources: TagResource, UntagResource, ListTagsForResource. Tags are
//! stored per resource ARN; only the account that owns the resource may see or change them
//! (others get `ResourceNotFoundException`, as for a resource that does not exist).

use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::audience_model_association::AudienceModelAssociation;
use crate::services::cleanrooms::domain::configured_table::ConfiguredTable;
use crate::services::cleanrooms::domain::id_mapping::{IdMappingTable, IdNamespaceAssociation};
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::naming::{
    check_tag_keys, parse_arn, ResourceArn, MAX_TAGS,
};
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::errors::{invalid_field, not_found_msg};
use crate::services::cleanrooms::ops::Operation;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::collaboration;
use crate::services::cleanrooms::records::tags::current_tags;
use crate::services::cleanrooms::records::tags::{delete_tags, put_tags};
use crate::services::cleanrooms::records::Resource;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// The resources tags are kept on besides collaborations: the resource type as ARNs name it,
/// how many parts the ARN's resource path has, and the record kind it is stored as.
const TAGGABLE: [(&str, usize, &str); 9] = [
    ("membership", 2, Membership::KIND),
    ("configuredtable", 2, ConfiguredTable::KIND),
    ("configuredtableassociation", 4, Association::KIND),
    ("privacybudgettemplate", 4, PrivacyBudgetTemplate::KIND),
    ("analysistemplate", 4, AnalysisTemplate::KIND),
    ("intermediatetable", 4, IntermediateTable::KIND),
    (
        "configuredaudiencemodelassociation",
        4,
        AudienceModelAssociation::KIND,
    ),
    ("idnamespaceassociation", 4, IdNamespaceAssociation::KIND),
    ("idmappingtable", 4, IdMappingTable::KIND),
];

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
        "collaboration" => match collaboration(state, &ctx.region, parsed.resource_id()).await {
            Ok(c) => c.creator_account_id == ctx.account_id && c.arn == arn,
            Err(_) => false,
        },
        other => match TAGGABLE
            .iter()
            .find(|(name, parts, _)| *name == other && parsed.path.len() == *parts)
        {
            Some((_, _, kind)) => owned_record(state, ctx, kind, parsed.resource_id(), arn).await?,
            // Other taggable resources are created by later operations; until then none exists.
            None => false,
        },
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
    Ok(match records::record_of_kind(state, kind, id).await? {
        Some(r) => {
            r.region == ctx.region
                && r.account == ctx.account_id
                && r.body.get("arn").and_then(|a| a.as_str()) == Some(arn)
        }
        None => false,
    })
}

/// TagResource: adds tags, overwriting values of existing keys.
impl Operation for dto::TagResourceInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
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
}

/// UntagResource: removes the listed keys (unknown keys are ignored).
impl Operation for dto::UntagResourceInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
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
}

/// ListTagsForResource.
impl Operation for dto::ListTagsForResourceInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_owned(state, ctx, &input.resource_arn).await?;
        Ok((current_tags(state, &input.resource_arn).await?).into())
    }
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
