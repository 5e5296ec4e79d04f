//! ID namespace associations: CreateIdNamespaceAssociation and DeleteIdNamespaceAssociation (the
//! owner, through its own membership); their Update and their Get and List operations, the
//! owner's and the collaboration's, are the shared handlers of [`super::children`].
//! The namespace is the caller's own Entity Resolution ID namespace, looked up through the
//! Entity Resolution facade.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::arn::id_namespace_association_arn;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::domain::id_mapping::IdNamespaceAssociation;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    conflict, invalid_configuration, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::ops::{new_header, own_input_reference, Operation};
use crate::services::cleanrooms::records::access::{
    active_own_membership, child_delete_writes, own_child, ChildRequest,
};
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::workflows::children::create_child;
use crate::services::entityresolution::facade::{self as entity_resolution, NamespaceType};
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// CreateIdNamespaceAssociation: an active membership brings one of its account's ID
/// namespaces into the collaboration; a namespace is associated once per collaboration.
impl Operation for dto::CreateIdNamespaceAssociationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        let arn = input.input_reference_config.input_reference_arn.clone();
        let _guard = state.write_lock().await;
        let (m, c, _) = active_own_membership(state, ctx, &input.membership_identifier).await?;
        let namespace = own_input_reference(
            ctx,
            ("ID namespace", &arn),
            entity_resolution::id_namespace(state, &ctx.region, &arn).await?,
            |n| &n.account,
            "a member can only associate its own ID namespaces",
        )?;
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
        let association = IdNamespaceAssociation {
            header: new_header(ctx, &m, id_namespace_association_arn),
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
        Ok(association.to_dto().into())
    }
}

/// DeleteIdNamespaceAssociation: the association and its tags; refused while an ID mapping
/// table of the collaboration is built on it.
impl Operation for dto::DeleteIdNamespaceAssociationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
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
}
