//! ID namespace associations: CreateIdNamespaceAssociation, GetIdNamespaceAssociation,
//! ListIdNamespaceAssociations, UpdateIdNamespaceAssociation, DeleteIdNamespaceAssociation (the
//! owner, through its own membership) and GetCollaborationIdNamespaceAssociation,
//! ListCollaborationIdNamespaceAssociations (any active member). The namespace is the caller's
//! own Entity Resolution ID namespace, looked up through the Entity Resolution facade.

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::domain::arn::id_namespace_association_arn;
use crate::services::cleanrooms::domain::id_mapping::IdNamespaceAssociation;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    bad_token, conflict, invalid_configuration, invalid_field, not_found_msg, ConflictReason,
    ResourceType,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    active_collaboration, membership_context, own_membership, own_membership_child, require_active,
};
use crate::services::cleanrooms::records::id_mapping::{
    id_mapping_tables_of_collaboration, id_namespace_associations_of_collaboration,
};
use crate::services::cleanrooms::records::own_page;
use crate::services::cleanrooms::records::tags::{delete_tags, put_tags};
use crate::services::entityresolution::facade::{self as entity_resolution, NamespaceType};
use crate::state::AppState;
use crate::store::Write;
use crate::util::{ids, pagination};
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

fn association_not_found(resource_type: ResourceType, id: &str) -> AwsError {
    not_found_msg(
        resource_type,
        id,
        format!("Could not find ID namespace association with id {id}"),
    )
}

fn put_association(region: &str, a: &IdNamespaceAssociation) -> AwsResult<Write> {
    records::put(&a.id, region, &a.account_id, Some(&a.membership_id), a)
}

/// The caller's association `id` under its membership `membership_id`.
async fn own_association(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<(Membership, IdNamespaceAssociation)> {
    own_membership_child(state, ctx, membership_id, id, || {
        association_not_found(ResourceType::Membership, id)
    })
    .await
}

/// CreateIdNamespaceAssociation: an active membership brings one of its account's ID
/// namespaces into the collaboration; a namespace is associated once per collaboration.
pub async fn create_id_namespace_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateIdNamespaceAssociationInput,
) -> AwsResult<dto::CreateIdNamespaceAssociationOutput> {
    if let Some(t) = &input.tags {
        check_tag_keys(t.keys())?;
    }
    let arn = input.input_reference_config.input_reference_arn.clone();
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
    let Some(namespace) = entity_resolution::id_namespace(state, &ctx.region, &arn).await? else {
        return Err(invalid_field(
            "inputReferenceArn",
            format!("inputReferenceArn: the Entity Resolution ID namespace {arn} does not exist in region {}", ctx.region),
        ));
    };
    if namespace.account != ctx.account_id {
        return Err(invalid_field(
            "inputReferenceArn",
            format!(
                "inputReferenceArn: the ID namespace {arn} belongs to account {}; a member can only associate its own ID namespaces",
                namespace.account
            ),
        ));
    }
    let existing = id_namespace_associations_of_collaboration(state, &c.id).await?;
    if let Some((_, other)) = existing.iter().find(|(_, a)| a.id_namespace_arn == arn) {
        return Err(conflict(
            ResourceType::Collaboration,
            &c.id,
            ConflictReason::AlreadyExists,
            format!(
                "ID namespace {arn} is already associated with collaboration {} (association {})",
                c.id, other.id
            ),
        ));
    }
    if let Some((_, other)) = existing.iter().find(|(_, a)| a.name == input.name) {
        return Err(conflict(
            ResourceType::Collaboration,
            &other.id,
            ConflictReason::AlreadyExists,
            format!(
                "name '{}': collaboration {} already has an ID namespace association with that name",
                input.name, c.id
            ),
        ));
    }
    let now = state.now();
    let id = ids::new_id();
    let association = IdNamespaceAssociation {
        arn: id_namespace_association_arn(&ctx.region, &ctx.account_id, &m.id, &id),
        id,
        account_id: ctx.account_id.clone(),
        membership_id: m.id.clone(),
        membership_arn: m.arn.clone(),
        collaboration_id: c.id.clone(),
        collaboration_arn: c.arn.clone(),
        name: input.name,
        description: input.description,
        id_namespace_arn: arn,
        manage_resource_policies: input.input_reference_config.manage_resource_policies,
        id_namespace_type: match namespace.namespace_type {
            NamespaceType::Source => dto::IdNamespaceType::Source,
            NamespaceType::Target => dto::IdNamespaceType::Target,
        },
        id_mapping_workflows_supported: namespace.id_mapping_types,
        id_mapping_config: input.id_mapping_config,
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
    Ok(dto::CreateIdNamespaceAssociationOutput {
        id_namespace_association: association.to_dto(),
    })
}

/// GetIdNamespaceAssociation (the owner's membership only).
pub async fn get_id_namespace_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetIdNamespaceAssociationInput,
) -> AwsResult<dto::GetIdNamespaceAssociationOutput> {
    let (_, a) = own_association(
        state,
        ctx,
        &input.membership_identifier,
        &input.id_namespace_association_identifier,
    )
    .await?;
    Ok(dto::GetIdNamespaceAssociationOutput {
        id_namespace_association: a.to_dto(),
    })
}

/// ListIdNamespaceAssociations: the associations of the caller's membership.
pub async fn list_id_namespace_associations(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListIdNamespaceAssociationsInput,
) -> AwsResult<dto::ListIdNamespaceAssociationsOutput> {
    let (id_namespace_association_summaries, next_token) = own_page::<IdNamespaceAssociation, _>(
        state,
        ctx,
        &input.membership_identifier,
        "idnamespaceassociations",
        (input.next_token.as_deref(), input.max_results),
        |a: IdNamespaceAssociation| Some(a.to_summary()),
    )
    .await?;
    Ok(dto::ListIdNamespaceAssociationsOutput {
        id_namespace_association_summaries,
        next_token,
    })
}

/// UpdateIdNamespaceAssociation: name, description and whether the id column may be used as a
/// dimension column.
pub async fn update_id_namespace_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateIdNamespaceAssociationInput,
) -> AwsResult<dto::UpdateIdNamespaceAssociationOutput> {
    let _guard = state.write_lock().await;
    let (m, mut a) = own_association(
        state,
        ctx,
        &input.membership_identifier,
        &input.id_namespace_association_identifier,
    )
    .await?;
    require_active(&m)?;
    if let Some(name) = input.name {
        a.name = name;
    }
    if let Some(description) = input.description {
        a.description = Some(description);
    }
    if let Some(config) = input.id_mapping_config {
        a.id_mapping_config = Some(config);
    }
    a.update_time = state.now();
    state
        .store()
        .commit(vec![put_association(&ctx.region, &a)?])
        .await?;
    Ok(dto::UpdateIdNamespaceAssociationOutput {
        id_namespace_association: a.to_dto(),
    })
}

/// DeleteIdNamespaceAssociation: the association and its tags; refused while an ID mapping
/// table of the collaboration is built on it.
pub async fn delete_id_namespace_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteIdNamespaceAssociationInput,
) -> AwsResult<dto::DeleteIdNamespaceAssociationOutput> {
    let _guard = state.write_lock().await;
    let (_, a) = own_association(
        state,
        ctx,
        &input.membership_identifier,
        &input.id_namespace_association_identifier,
    )
    .await?;
    if let Some((_, t)) = id_mapping_tables_of_collaboration(state, &a.collaboration_id)
        .await?
        .into_iter()
        .find(|(_, t)| {
            t.input_sources
                .iter()
                .any(|s| s.id_namespace_association_id == a.id)
        })
    {
        return Err(invalid_configuration(format!(
            "ID namespace association {} is an input of ID mapping table '{}' ({}); delete the ID mapping table first",
            a.id, t.name, t.id
        )));
    }
    state
        .store()
        .commit(vec![
            records::delete::<IdNamespaceAssociation>(a.id.clone()),
            delete_tags(&a.arn),
        ])
        .await?;
    Ok(dto::DeleteIdNamespaceAssociationOutput {})
}

/// GetCollaborationIdNamespaceAssociation (any active member).
pub async fn get_collaboration_id_namespace_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetCollaborationIdNamespaceAssociationInput,
) -> AwsResult<dto::GetCollaborationIdNamespaceAssociationOutput> {
    let (c, _) = active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let id = &input.id_namespace_association_identifier;
    match records::load::<IdNamespaceAssociation>(state, id).await? {
        Some(a) if a.collaboration_id == c.id => {
            Ok(dto::GetCollaborationIdNamespaceAssociationOutput {
                collaboration_id_namespace_association: a.to_collaboration_dto(),
            })
        }
        _ => Err(association_not_found(ResourceType::Collaboration, id)),
    }
}

/// ListCollaborationIdNamespaceAssociations (any active member): every member's associations,
/// oldest first.
pub async fn list_collaboration_id_namespace_associations(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListCollaborationIdNamespaceAssociationsInput,
) -> AwsResult<dto::ListCollaborationIdNamespaceAssociationsOutput> {
    let (c, _) = active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let scope = format!("collaborationidnamespaceassociations:{}", c.id);
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let items = id_namespace_associations_of_collaboration(state, &c.id)
        .await?
        .into_iter()
        .filter(|(seq, _)| after.is_none_or(|a| *seq > a))
        .map(|(seq, a)| (seq, a.to_collaboration_summary()))
        .collect();
    let (collaboration_id_namespace_association_summaries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListCollaborationIdNamespaceAssociationsOutput {
        collaboration_id_namespace_association_summaries,
        next_token,
    })
}
