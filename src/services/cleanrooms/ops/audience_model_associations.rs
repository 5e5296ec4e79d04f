//! Configured audience model associations: CreateConfiguredAudienceModelAssociation,
//! GetConfiguredAudienceModelAssociation, ListConfiguredAudienceModelAssociations,
//! UpdateConfiguredAudienceModelAssociation, DeleteConfiguredAudienceModelAssociation (the
//! owner, through its own membership) and GetCollaborationConfiguredAudienceModelAssociation,
//! ListCollaborationConfiguredAudienceModelAssociations (any active member). Clean Rooms ML
//! itself is not emulated: the model ARN is checked for its form and region only.

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::domain::arn::audience_model_association_arn;
use crate::services::cleanrooms::domain::audience_model_association::{
    check_configured_audience_model_arn, AudienceModelAssociation,
};
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    bad_token, conflict, not_found_msg, quota_exceeded, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    active_collaboration, membership_context, own_membership, own_membership_child, require_active,
};
use crate::services::cleanrooms::records::tags::{delete_tags, put_tags};
use crate::services::cleanrooms::records::{collaboration_children, own_page};
use crate::state::AppState;
use crate::store::Write;
use crate::util::{ids, pagination};
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// Configured audience model associations allowed per membership.
const MAX_PER_MEMBERSHIP: usize = 5;

fn association_not_found(resource_type: ResourceType, id: &str) -> AwsError {
    not_found_msg(
        resource_type,
        id,
        format!("Could not find configured audience model association with id {id}"),
    )
}

fn put_association(region: &str, a: &AudienceModelAssociation) -> AwsResult<Write> {
    records::put(&a.id, region, &a.account_id, Some(&a.membership_id), a)
}

/// The caller's association `id` under its membership `membership_id`.
async fn own_association(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<(Membership, AudienceModelAssociation)> {
    own_membership_child(state, ctx, membership_id, id, || {
        association_not_found(ResourceType::Membership, id)
    })
    .await
}

/// CreateConfiguredAudienceModelAssociation: an active membership links a configured audience
/// model; one model is associated once per collaboration.
pub async fn create_configured_audience_model_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateConfiguredAudienceModelAssociationInput,
) -> AwsResult<dto::CreateConfiguredAudienceModelAssociationOutput> {
    if let Some(t) = &input.tags {
        check_tag_keys(t.keys())?;
    }
    check_configured_audience_model_arn(&input.configured_audience_model_arn, &ctx.region)?;
    let _guard = state.write_lock().await;
    let m = own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    require_active(&m)?;
    let (c, _) = membership_context(state, &ctx.region, &m).await?;
    let existing = collaboration_children::<AudienceModelAssociation>(state, &c.id).await?;
    if let Some((_, other)) = existing
        .iter()
        .find(|(_, a)| a.configured_audience_model_arn == input.configured_audience_model_arn)
    {
        return Err(conflict(
            ResourceType::Collaboration,
            &c.id,
            ConflictReason::AlreadyExists,
            format!(
                "Configured audience model {} is already associated with collaboration {} (association {})",
                input.configured_audience_model_arn, c.id, other.id
            ),
        ));
    }
    if existing
        .iter()
        .filter(|(_, a)| a.membership_id == m.id)
        .count()
        >= MAX_PER_MEMBERSHIP
    {
        return Err(quota_exceeded(
            "Configured audience model associations per membership",
            MAX_PER_MEMBERSHIP as f64,
        ));
    }
    let now = state.now();
    let id = ids::new_id();
    let association = AudienceModelAssociation {
        arn: audience_model_association_arn(&ctx.region, &ctx.account_id, &m.id, &id),
        id,
        account_id: ctx.account_id.clone(),
        membership_id: m.id.clone(),
        membership_arn: m.arn.clone(),
        collaboration_id: c.id.clone(),
        collaboration_arn: c.arn.clone(),
        configured_audience_model_arn: input.configured_audience_model_arn,
        name: input.configured_audience_model_association_name,
        description: input.description,
        manage_resource_policies: input.manage_resource_policies,
        create_time: now,
        update_time: now,
    };
    let mut writes = vec![put_association(&ctx.region, &association)?];
    if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
        writes.push(put_tags(
            &ctx.region,
            &ctx.account_id,
            &association.arn,
            &t,
        )?);
    }
    state.store().commit(writes).await?;
    Ok(dto::CreateConfiguredAudienceModelAssociationOutput {
        configured_audience_model_association: association.to_dto(),
    })
}

/// GetConfiguredAudienceModelAssociation (the owner's membership only).
pub async fn get_configured_audience_model_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetConfiguredAudienceModelAssociationInput,
) -> AwsResult<dto::GetConfiguredAudienceModelAssociationOutput> {
    let (_, a) = own_association(
        state,
        ctx,
        &input.membership_identifier,
        &input.configured_audience_model_association_identifier,
    )
    .await?;
    Ok(dto::GetConfiguredAudienceModelAssociationOutput {
        configured_audience_model_association: a.to_dto(),
    })
}

/// ListConfiguredAudienceModelAssociations: the associations of the caller's membership.
pub async fn list_configured_audience_model_associations(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListConfiguredAudienceModelAssociationsInput,
) -> AwsResult<dto::ListConfiguredAudienceModelAssociationsOutput> {
    let (configured_audience_model_association_summaries, next_token) =
        own_page::<AudienceModelAssociation, _>(
            state,
            ctx,
            &input.membership_identifier,
            "configuredaudiencemodelassociations",
            (input.next_token.as_deref(), input.max_results),
            |a: AudienceModelAssociation| Some(a.to_summary()),
        )
        .await?;
    Ok(dto::ListConfiguredAudienceModelAssociationsOutput {
        configured_audience_model_association_summaries,
        next_token,
    })
}

/// UpdateConfiguredAudienceModelAssociation: name and description.
pub async fn update_configured_audience_model_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateConfiguredAudienceModelAssociationInput,
) -> AwsResult<dto::UpdateConfiguredAudienceModelAssociationOutput> {
    let _guard = state.write_lock().await;
    let (m, mut a) = own_association(
        state,
        ctx,
        &input.membership_identifier,
        &input.configured_audience_model_association_identifier,
    )
    .await?;
    require_active(&m)?;
    if let Some(name) = input.name {
        a.name = name;
    }
    if let Some(description) = input.description {
        a.description = Some(description);
    }
    a.update_time = state.now();
    state
        .store()
        .commit(vec![put_association(&ctx.region, &a)?])
        .await?;
    Ok(dto::UpdateConfiguredAudienceModelAssociationOutput {
        configured_audience_model_association: a.to_dto(),
    })
}

/// DeleteConfiguredAudienceModelAssociation: the association and its tags.
pub async fn delete_configured_audience_model_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteConfiguredAudienceModelAssociationInput,
) -> AwsResult<dto::DeleteConfiguredAudienceModelAssociationOutput> {
    let _guard = state.write_lock().await;
    let (_, a) = own_association(
        state,
        ctx,
        &input.membership_identifier,
        &input.configured_audience_model_association_identifier,
    )
    .await?;
    state
        .store()
        .commit(vec![
            records::delete::<AudienceModelAssociation>(a.id.clone()),
            delete_tags(&a.arn),
        ])
        .await?;
    Ok(dto::DeleteConfiguredAudienceModelAssociationOutput {})
}

/// GetCollaborationConfiguredAudienceModelAssociation (any active member).
pub async fn get_collaboration_configured_audience_model_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetCollaborationConfiguredAudienceModelAssociationInput,
) -> AwsResult<dto::GetCollaborationConfiguredAudienceModelAssociationOutput> {
    let (c, _) = active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let id = &input.configured_audience_model_association_identifier;
    match records::load::<AudienceModelAssociation>(state, id).await? {
        Some(a) if a.collaboration_id == c.id => Ok(
            dto::GetCollaborationConfiguredAudienceModelAssociationOutput {
                collaboration_configured_audience_model_association: a.to_collaboration_dto(),
            },
        ),
        _ => Err(association_not_found(ResourceType::Collaboration, id)),
    }
}

/// ListCollaborationConfiguredAudienceModelAssociations (any active member): every member's
/// associations, oldest first.
pub async fn list_collaboration_configured_audience_model_associations(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListCollaborationConfiguredAudienceModelAssociationsInput,
) -> AwsResult<dto::ListCollaborationConfiguredAudienceModelAssociationsOutput> {
    let (c, _) = active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let scope = format!("collaborationconfiguredaudiencemodelassociations:{}", c.id);
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let items = collaboration_children::<AudienceModelAssociation>(state, &c.id)
        .await?
        .into_iter()
        .filter(|(seq, _)| after.is_none_or(|a| *seq > a))
        .map(|(seq, a)| (seq, a.to_collaboration_summary()))
        .collect();
    let (collaboration_configured_audience_model_association_summaries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(
        dto::ListCollaborationConfiguredAudienceModelAssociationsOutput {
            collaboration_configured_audience_model_association_summaries,
            next_token,
        },
    )
}
