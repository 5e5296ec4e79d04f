//! ID namespace associations: CreateIdNamespaceAssociation, UpdateIdNamespaceAssociation and
//! DeleteIdNamespaceAssociation (the owner, through its own membership); their Get and List
//! operations, the owner's and the collaboration's, are the shared reads of [`super::children`].
//! The namespace is the caller's own Entity Resolution ID namespace, looked up through the
//! Entity Resolution facade.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::arn::id_namespace_association_arn;
use crate::services::cleanrooms::domain::child::ChildHeader;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::domain::id_mapping::IdNamespaceAssociation;
use crate::services::cleanrooms::domain::naming::{check_tag_keys, rename};
use crate::services::cleanrooms::errors::{
    conflict, invalid_configuration, invalid_field, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records::access::{
    active_own_membership, child_delete_writes, own_child, ChildRequest,
};
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::workflows::children::{create_child, update_child};
use crate::services::entityresolution::facade::{self as entity_resolution, NamespaceType};
use crate::state::AppState;
use crate::util::ids;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

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
    let (m, c, _) = active_own_membership(state, ctx, &input.membership_identifier).await?;
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
    let existing = collaboration_children::<IdNamespaceAssociation>(state, &c.id).await?;
    if let Some((_, other)) = existing.iter().find(|(_, a)| a.id_namespace_arn == arn) {
        return Err(conflict(
            ResourceType::Collaboration,
            &c.id,
            ConflictReason::AlreadyExists,
            format!(
                "ID namespace {arn} is already associated with collaboration {} (association {})",
                c.id, other.header.id
            ),
        ));
    }
    if let Some((_, other)) = existing.iter().find(|(_, a)| a.name == input.name) {
        return Err(conflict(
            ResourceType::Collaboration,
            &other.header.id,
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
        header: ChildHeader::new(
            &ctx.region,
            &ctx.account_id,
            &m,
            id,
            id_namespace_association_arn,
        ),
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
    create_child(state, ctx, &association, input.tags).await?;
    Ok(dto::CreateIdNamespaceAssociationOutput {
        id_namespace_association: association.to_dto(),
    })
}

/// UpdateIdNamespaceAssociation: name, description and whether the id column may be used as a
/// dimension column.
pub async fn update_id_namespace_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateIdNamespaceAssociationInput,
) -> AwsResult<dto::UpdateIdNamespaceAssociationOutput> {
    let a = update_child(
        state,
        ctx,
        input,
        |a: &mut IdNamespaceAssociation, input| {
            rename(
                &mut a.name,
                &mut a.description,
                input.name,
                input.description,
            );
            if let Some(config) = input.id_mapping_config {
                a.id_mapping_config = Some(config);
            }
            Ok(Vec::new())
        },
    )
    .await?;
    let id_namespace_association = a.to_dto();
    Ok(dto::UpdateIdNamespaceAssociationOutput {
        id_namespace_association,
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
    let (_, a) = own_child::<IdNamespaceAssociation>(state, ctx, input.target()).await?;
    if let Some((_, t)) =
        collaboration_children::<IdMappingTable>(state, &a.header.collaboration_id)
            .await?
            .into_iter()
            .find(|(_, t)| {
                t.input_sources
                    .iter()
                    .any(|s| s.id_namespace_association_id == a.header.id)
            })
    {
        return Err(invalid_configuration(format!(
            "ID namespace association {} is an input of ID mapping table '{}' ({}); delete the ID mapping table first",
            a.header.id, t.name, t.header.id
        )));
    }
    state.store().commit(child_delete_writes(&a).into()).await?;
    Ok(dto::DeleteIdNamespaceAssociationOutput {})
}
