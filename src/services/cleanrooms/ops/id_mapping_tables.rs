//! ID mapping tables: CreateIdMappingTable (Get, List and Update: [`super::children`]),
//! DeleteIdMappingTable (intermediate tables built on the table become
//! `BASE_TABLE_REMOVED`) and PopulateIdMappingTable (the creating member,
//! through its own membership). A table is built on an Entity Resolution rule-based ID mapping
//! workflow whose input namespaces are associated with the collaboration (one SOURCE, one
//! TARGET); every member sees it as a schema of type `ID_MAPPING_TABLE`.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::arn::id_mapping_table_arn;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::domain::id_mapping::IdNamespaceAssociation;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{check_room, invalid_field, ResourceType};
use crate::services::cleanrooms::ops::{
    check_table_name_free, new_header, own_input_reference, remove_table, Operation, TableKind,
};
use crate::services::cleanrooms::records::access::{
    active_own_membership, child_delete_writes, own_child, require_active, ChildRequest,
};
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::workflows::children::create_child;
use crate::services::cleanrooms::workflows::id_mapping;
use crate::services::entityresolution::facade as entity_resolution;
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// ID mapping tables allowed per membership.
const MAX_PER_MEMBERSHIP: usize = 5;

/// CreateIdMappingTable: from a rule-based ID mapping workflow whose input ID namespaces are
/// associated with the collaboration, one SOURCE and one TARGET.
impl Operation for dto::CreateIdMappingTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        let name = input.name.trim().to_lowercase();
        let workflow_arn = input.input_reference_config.input_reference_arn.clone();
        let _guard = state.write_lock().await;
        let (m, c, _) = active_own_membership(state, ctx, &input.membership_identifier).await?;
        let workflow = own_input_reference(
            ctx,
            ("ID mapping workflow", &workflow_arn),
            entity_resolution::id_mapping_workflow(state, &ctx.region, &workflow_arn).await?,
            |w| &w.account,
            "an ID mapping table is built on the creator's own workflow",
        )?;
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
        let count =
            |t: dto::IdNamespaceType| input_sources.iter().filter(|s| s.r#type == t).count();
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
        check_table_name_free(state, &c.id, (&input.name, &name), ResourceType::Membership).await?;
        let mine = collaboration_children::<IdMappingTable>(state, &c.id)
            .await?
            .iter()
            .filter(|(_, t)| t.header.membership_id == m.id)
            .count();
        check_room("ID mapping tables per membership", mine, MAX_PER_MEMBERSHIP)?;
        let now = state.now();
        let table = IdMappingTable {
            header: new_header(ctx, &m, id_mapping_table_arn),
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
        Ok(table.to_dto().into())
    }
}

/// DeleteIdMappingTable: the table, its tags and its data in managed storage.
impl Operation for dto::DeleteIdMappingTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (_, t) = own_child::<IdMappingTable>(state, ctx, input.target()).await?;
        let table = (TableKind::IdMapping, t.header.id.as_str());
        remove_table(
            state,
            &t.header.collaboration_id,
            table,
            child_delete_writes(&t),
        )
        .await?;
        Ok(dto::DeleteIdMappingTableOutput {})
    }
}

/// PopulateIdMappingTable: runs the table's ID mapping workflow now (every `jobType` recomputes
/// the whole mapping) and returns the run's id once the new mapping is readable.
impl Operation for dto::PopulateIdMappingTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (m, t) = own_child::<IdMappingTable>(state, ctx, input.target()).await?;
        require_active(&m)?;
        let populated = id_mapping::populate(state, &ctx.region, t).await?;
        let id_mapping_job_id = populated.population.map(|p| p.job_id).unwrap_or_default();
        Ok(id_mapping_job_id.into())
    }
}
