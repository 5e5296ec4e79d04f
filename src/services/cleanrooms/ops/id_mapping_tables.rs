//! ID mapping tables: CreateIdMappingTable (Get and List: [`super::children`]),
//! UpdateIdMappingTable, DeleteIdMappingTable (intermediate tables built on the table become
//! `BASE_TABLE_REMOVED`) and PopulateIdMappingTable (the creating member,
//! through its own membership). A table is built on an Entity Resolution rule-based ID mapping
//! workflow whose input namespaces are associated with the collaboration (one SOURCE, one
//! TARGET); every member sees it as a schema of type `ID_MAPPING_TABLE`.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::arn::id_mapping_table_arn;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::child::ChildHeader;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::domain::id_mapping::IdNamespaceAssociation;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    check_room, conflict, invalid_field, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records::access::{
    active_own_membership, child_delete_writes, own_child, require_active, ChildRequest,
};
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::records::id_mapping::id_mapping_table_named;
use crate::services::cleanrooms::records::intermediate_tables::intermediate_tables_of_collaboration;
use crate::services::cleanrooms::workflows::children::{create_child, update_child};
use crate::services::cleanrooms::workflows::{id_mapping, lifecycle};
use crate::services::entityresolution::facade as entity_resolution;
use crate::state::AppState;
use crate::util::ids;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// ID mapping tables allowed per membership.
const MAX_PER_MEMBERSHIP: usize = 5;

/// CreateIdMappingTable: from a rule-based ID mapping workflow whose input ID namespaces are
/// associated with the collaboration, one SOURCE and one TARGET.
pub async fn create_id_mapping_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateIdMappingTableInput,
) -> AwsResult<dto::CreateIdMappingTableOutput> {
    if let Some(t) = &input.tags {
        check_tag_keys(t.keys())?;
    }
    let name = input.name.trim().to_lowercase();
    let workflow_arn = input.input_reference_config.input_reference_arn.clone();
    let _guard = state.write_lock().await;
    let (m, c, _) = active_own_membership(state, ctx, &input.membership_identifier).await?;
    let Some(workflow) =
        entity_resolution::id_mapping_workflow(state, &ctx.region, &workflow_arn).await?
    else {
        return Err(invalid_field(
            "inputReferenceArn",
            format!("inputReferenceArn: the Entity Resolution ID mapping workflow {workflow_arn} does not exist in region {}", ctx.region),
        ));
    };
    if workflow.account != ctx.account_id {
        return Err(invalid_field(
            "inputReferenceArn",
            format!(
                "inputReferenceArn: the ID mapping workflow {workflow_arn} belongs to account {}; an ID mapping table is built on the creator's own workflow",
                workflow.account
            ),
        ));
    }
    let associations = collaboration_children::<IdNamespaceAssociation>(state, &c.id).await?;
    let mut input_sources = Vec::new();
    for ns in &workflow.namespaces {
        let Some((_, a)) = associations.iter().find(|(_, a)| &a.id_namespace_arn == ns) else {
            return Err(invalid_field(
                "inputReferenceArn",
                format!(
                    "inputReferenceArn: input ID namespace {ns} of workflow {workflow_arn} is not associated with collaboration {}",
                    c.id
                ),
            ));
        };
        input_sources.push(dto::IdMappingTableInputSource {
            id_namespace_association_id: a.header.id.clone(),
            r#type: a.id_namespace_type,
        });
    }
    let count = |t: dto::IdNamespaceType| input_sources.iter().filter(|s| s.r#type == t).count();
    if input_sources.len() != 2
        || count(dto::IdNamespaceType::Source) != 1
        || count(dto::IdNamespaceType::Target) != 1
    {
        return Err(invalid_field(
            "inputReferenceArn",
            format!(
                "inputReferenceArn: workflow {workflow_arn} must read exactly two ID namespaces associated with the collaboration, one SOURCE and one TARGET (it reads {})",
                input_sources.len()
            ),
        ));
    }
    let taken = collaboration_children::<Association>(state, &c.id)
        .await?
        .into_iter()
        .any(|(_, a)| a.name == name)
        || intermediate_tables_of_collaboration(state, &c.id)
            .await?
            .iter()
            .any(|t| t.name == name)
        || id_mapping_table_named(state, &c.id, &name).await?.is_some();
    if taken {
        return Err(conflict(
            ResourceType::Membership,
            &m.id,
            ConflictReason::AlreadyExists,
            format!(
                "name '{}': collaboration {} already has a table named '{name}'",
                input.name, c.id
            ),
        ));
    }
    let mine = collaboration_children::<IdMappingTable>(state, &c.id)
        .await?
        .iter()
        .filter(|(_, t)| t.header.membership_id == m.id)
        .count();
    check_room("ID mapping tables per membership", mine, MAX_PER_MEMBERSHIP)?;
    let now = state.now();
    let id = ids::new_id();
    let table = IdMappingTable {
        header: ChildHeader::new(&ctx.region, &ctx.account_id, &m, id, id_mapping_table_arn),
        collaboration_arn: c.arn.clone(),
        name,
        description: input.description,
        workflow_arn,
        manage_resource_policies: input.input_reference_config.manage_resource_policies,
        input_sources,
        kms_key_arn: input.kms_key_arn,
        create_time: now,
        update_time: now,
        population: None,
    };
    create_child(state, ctx, &table, input.tags).await?;
    Ok(dto::CreateIdMappingTableOutput {
        id_mapping_table: table.to_dto(),
    })
}

/// UpdateIdMappingTable: description and KMS key.
pub async fn update_id_mapping_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateIdMappingTableInput,
) -> AwsResult<dto::UpdateIdMappingTableOutput> {
    let t = update_child(state, ctx, input, |t: &mut IdMappingTable, input| {
        if let Some(d) = input.description {
            t.description = Some(d);
        }
        if let Some(k) = input.kms_key_arn {
            t.kms_key_arn = Some(k);
        }
        Ok(Vec::new())
    })
    .await?;
    let id_mapping_table = t.to_dto();
    Ok(dto::UpdateIdMappingTableOutput { id_mapping_table })
}

/// DeleteIdMappingTable: the table, its tags and its data in managed storage.
pub async fn delete_id_mapping_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteIdMappingTableInput,
) -> AwsResult<dto::DeleteIdMappingTableOutput> {
    let _guard = state.write_lock().await;
    let (_, t) = own_child::<IdMappingTable>(state, ctx, input.target()).await?;
    // Intermediate tables built on it lose their base table.
    let mut cascade = lifecycle::base_removed(
        state,
        &t.header.collaboration_id,
        &[t.header.id.as_str()],
        &[],
    )
    .await?;
    cascade.writes.extend(child_delete_writes(&t));
    cascade.data.push(t.header.id.clone());
    cascade.commit(state).await?;
    Ok(dto::DeleteIdMappingTableOutput {})
}

/// PopulateIdMappingTable: runs the table's ID mapping workflow now (every `jobType` recomputes
/// the whole mapping) and returns the run's id once the new mapping is readable.
pub async fn populate_id_mapping_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::PopulateIdMappingTableInput,
) -> AwsResult<dto::PopulateIdMappingTableOutput> {
    let _guard = state.write_lock().await;
    let (m, t) = own_child::<IdMappingTable>(state, ctx, input.target()).await?;
    require_active(&m)?;
    let populated = id_mapping::populate(state, &ctx.region, t).await?;
    let id_mapping_job_id = populated.population.map(|p| p.job_id).unwrap_or_default();
    Ok(dto::PopulateIdMappingTableOutput { id_mapping_job_id })
}
