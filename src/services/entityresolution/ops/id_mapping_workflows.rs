//! ID mapping workflows: CreateIdMappingWorkflow, GetIdMappingWorkflow, ListIdMappingWorkflows,
//! UpdateIdMappingWorkflow, DeleteIdMappingWorkflow. Only RULE_BASED workflows are accepted;
//! their input sources and rules are checked when stored. They run when a Clean Rooms ID
//! mapping table built on them is populated (StartIdMappingJob is not served).

use cleanrooms_emulator_api::entityresolution::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::entityresolution::errors::{bad_token, conflict, not_found, validation};
use crate::services::entityresolution::model::{
    arn, kinds, provider_unsupported, StoredIdMappingWorkflow,
};
use crate::services::entityresolution::repo::{self, Scope};
use crate::services::entityresolution::resolve::{effective_rules, resolve_inputs};
use crate::state::AppState;
use crate::util::pagination;

fn missing(name: &str) -> crate::error::AwsError {
    not_found(format!("The ID mapping workflow {name} does not exist"))
}

/// Checks a workflow's techniques and input sources.
async fn check_workflow(
    state: &AppState,
    scope: Scope<'_>,
    techniques: &dto::IdMappingTechniques,
    sources: &[dto::IdMappingWorkflowInputSource],
) -> AwsResult<()> {
    if techniques.id_mapping_type == dto::IdMappingType::Provider
        || techniques.provider_properties.is_some()
    {
        return Err(provider_unsupported("idMappingTechniques"));
    }
    let Some(rb) = &techniques.rule_based_properties else {
        return Err(validation(
            "idMappingTechniques: RULE_BASED workflows need ruleBasedProperties",
        ));
    };
    let inputs = resolve_inputs(state, scope, sources).await?;
    effective_rules(rb, &inputs)?;
    Ok(())
}

/// CreateIdMappingWorkflow.
pub async fn create_id_mapping_workflow(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateIdMappingWorkflowInput,
) -> AwsResult<dto::CreateIdMappingWorkflowOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.workflow_name;
    if repo::find::<StoredIdMappingWorkflow>(state, scope, kinds::ID_MAPPING_WORKFLOW, name)
        .await?
        .is_some()
    {
        return Err(conflict(format!(
            "An ID mapping workflow named {name} already exists"
        )));
    }
    check_workflow(
        state,
        scope,
        &input.id_mapping_techniques,
        &input.input_source_config,
    )
    .await?;
    let now = state.now();
    let stored = StoredIdMappingWorkflow {
        created_at: now,
        description: input.description,
        id_mapping_techniques: input.id_mapping_techniques,
        incremental_run_config: input.incremental_run_config,
        input_source_config: input.input_source_config,
        output_source_config: input.output_source_config,
        role_arn: input.role_arn,
        tags: input.tags.filter(|t| !t.is_empty()),
        updated_at: now,
        workflow_arn: arn(&ctx.region, &ctx.account_id, "idmappingworkflow", name),
        workflow_name: name.clone(),
    };
    state
        .store()
        .commit(vec![repo::put(
            scope,
            kinds::ID_MAPPING_WORKFLOW,
            name,
            &stored,
        )?])
        .await?;
    Ok(dto::CreateIdMappingWorkflowOutput {
        description: stored.description,
        id_mapping_techniques: stored.id_mapping_techniques,
        incremental_run_config: stored.incremental_run_config,
        input_source_config: stored.input_source_config,
        output_source_config: stored.output_source_config,
        role_arn: stored.role_arn,
        workflow_arn: stored.workflow_arn,
        workflow_name: stored.workflow_name,
    })
}

/// GetIdMappingWorkflow.
pub async fn get_id_mapping_workflow(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetIdMappingWorkflowInput,
) -> AwsResult<dto::GetIdMappingWorkflowOutput> {
    repo::find(
        state,
        Scope::of(ctx),
        kinds::ID_MAPPING_WORKFLOW,
        &input.workflow_name,
    )
    .await?
    .ok_or_else(|| missing(&input.workflow_name))
}

/// ListIdMappingWorkflows.
pub async fn list_id_mapping_workflows(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListIdMappingWorkflowsInput,
) -> AwsResult<dto::ListIdMappingWorkflowsOutput> {
    let token_scope = "entityresolution:idmappingworkflows";
    let after = pagination::resume(token_scope, input.next_token.as_deref(), bad_token)?;
    let items = repo::list::<StoredIdMappingWorkflow>(
        state,
        Scope::of(ctx),
        kinds::ID_MAPPING_WORKFLOW,
        after,
    )
    .await?
    .into_iter()
    .map(|(seq, w)| {
        (
            seq,
            dto::IdMappingWorkflowSummary {
                created_at: w.created_at,
                updated_at: w.updated_at,
                workflow_arn: w.workflow_arn,
                workflow_name: w.workflow_name,
            },
        )
    })
    .collect();
    let (summaries, next_token) =
        pagination::page(token_scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListIdMappingWorkflowsOutput {
        next_token,
        workflow_summaries: Some(summaries),
    })
}

/// UpdateIdMappingWorkflow: replaces the workflow's configuration.
pub async fn update_id_mapping_workflow(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateIdMappingWorkflowInput,
) -> AwsResult<dto::UpdateIdMappingWorkflowOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.workflow_name;
    let mut w: StoredIdMappingWorkflow = repo::find(state, scope, kinds::ID_MAPPING_WORKFLOW, name)
        .await?
        .ok_or_else(|| missing(name))?;
    check_workflow(
        state,
        scope,
        &input.id_mapping_techniques,
        &input.input_source_config,
    )
    .await?;
    w.description = input.description;
    w.id_mapping_techniques = input.id_mapping_techniques;
    w.incremental_run_config = input.incremental_run_config;
    w.input_source_config = input.input_source_config;
    w.output_source_config = input.output_source_config;
    w.role_arn = input.role_arn;
    w.updated_at = state.now();
    state
        .store()
        .commit(vec![repo::put(
            scope,
            kinds::ID_MAPPING_WORKFLOW,
            name,
            &w,
        )?])
        .await?;
    Ok(dto::UpdateIdMappingWorkflowOutput {
        description: w.description,
        id_mapping_techniques: w.id_mapping_techniques,
        incremental_run_config: w.incremental_run_config,
        input_source_config: w.input_source_config,
        output_source_config: w.output_source_config,
        role_arn: w.role_arn,
        workflow_arn: w.workflow_arn,
        workflow_name: w.workflow_name,
    })
}

/// DeleteIdMappingWorkflow: idempotent.
pub async fn delete_id_mapping_workflow(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteIdMappingWorkflowInput,
) -> AwsResult<dto::DeleteIdMappingWorkflowOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.workflow_name;
    state
        .store()
        .commit(vec![repo::delete(scope, kinds::ID_MAPPING_WORKFLOW, name)])
        .await?;
    Ok(dto::DeleteIdMappingWorkflowOutput {
        message: format!("The ID mapping workflow {name} has been deleted"),
    })
}
