//! Schema mappings: CreateSchemaMapping, GetSchemaMapping, ListSchemaMappings,
//! UpdateSchemaMapping, DeleteSchemaMapping. A schema mapping names the columns of an input
//! table, their attribute types and the match keys rules compare.

use cleanrooms_emulator_api::entityresolution::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::entityresolution::errors::{bad_token, conflict, not_found};
use crate::services::entityresolution::model::{
    arn, check_mapped_fields, kinds, StoredIdMappingWorkflow, StoredIdNamespace,
    StoredSchemaMapping,
};
use crate::services::entityresolution::repo::{self, Scope};
use crate::state::AppState;
use crate::util::pagination;

/// Whether an ID namespace or ID mapping workflow of `scope` uses schema mapping `name`.
pub async fn in_use(state: &AppState, scope: Scope<'_>, name: &str) -> AwsResult<bool> {
    let namespaces: Vec<(i64, StoredIdNamespace)> =
        repo::list(state, scope, kinds::ID_NAMESPACE, None).await?;
    if namespaces.iter().any(|(_, n)| {
        n.input_source_config
            .iter()
            .flatten()
            .any(|s| s.schema_name.as_deref() == Some(name))
    }) {
        return Ok(true);
    }
    let workflows: Vec<(i64, StoredIdMappingWorkflow)> =
        repo::list(state, scope, kinds::ID_MAPPING_WORKFLOW, None).await?;
    Ok(workflows.iter().any(|(_, w)| {
        w.input_source_config
            .iter()
            .any(|s| s.schema_name.as_deref() == Some(name))
    }))
}

fn missing(name: &str) -> crate::error::AwsError {
    not_found(format!("The schema mapping {name} does not exist"))
}

/// CreateSchemaMapping.
pub async fn create_schema_mapping(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateSchemaMappingInput,
) -> AwsResult<dto::CreateSchemaMappingOutput> {
    check_mapped_fields(&input.mapped_input_fields)?;
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.schema_name;
    if repo::find::<StoredSchemaMapping>(state, scope, kinds::SCHEMA_MAPPING, name)
        .await?
        .is_some()
    {
        return Err(conflict(format!(
            "A schema mapping named {name} already exists"
        )));
    }
    let now = state.now();
    let stored = StoredSchemaMapping {
        created_at: now,
        description: input.description,
        has_workflows: false,
        mapped_input_fields: input.mapped_input_fields,
        schema_arn: arn(&ctx.region, &ctx.account_id, "schemamapping", name),
        schema_name: name.clone(),
        tags: input.tags.filter(|t| !t.is_empty()),
        updated_at: now,
    };
    state
        .store()
        .commit(vec![repo::put(
            scope,
            kinds::SCHEMA_MAPPING,
            name,
            &stored,
        )?])
        .await?;
    Ok(dto::CreateSchemaMappingOutput {
        description: stored.description.unwrap_or_default(),
        mapped_input_fields: stored.mapped_input_fields,
        schema_arn: stored.schema_arn,
        schema_name: stored.schema_name,
    })
}

/// GetSchemaMapping.
pub async fn get_schema_mapping(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetSchemaMappingInput,
) -> AwsResult<dto::GetSchemaMappingOutput> {
    let scope = Scope::of(ctx);
    let mut m: StoredSchemaMapping =
        repo::find(state, scope, kinds::SCHEMA_MAPPING, &input.schema_name)
            .await?
            .ok_or_else(|| missing(&input.schema_name))?;
    m.has_workflows = in_use(state, scope, &m.schema_name).await?;
    Ok(m)
}

/// ListSchemaMappings.
pub async fn list_schema_mappings(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListSchemaMappingsInput,
) -> AwsResult<dto::ListSchemaMappingsOutput> {
    let scope = Scope::of(ctx);
    let token_scope = "entityresolution:schemamappings";
    let after = pagination::resume(token_scope, input.next_token.as_deref(), bad_token)?;
    let mut items = Vec::new();
    for (seq, m) in
        repo::list::<StoredSchemaMapping>(state, scope, kinds::SCHEMA_MAPPING, after).await?
    {
        let has_workflows = in_use(state, scope, &m.schema_name).await?;
        items.push((
            seq,
            dto::SchemaMappingSummary {
                created_at: m.created_at,
                has_workflows,
                schema_arn: m.schema_arn,
                schema_name: m.schema_name,
                updated_at: m.updated_at,
            },
        ));
    }
    let (list, next_token) =
        pagination::page(token_scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListSchemaMappingsOutput {
        next_token,
        schema_list: Some(list),
    })
}

/// UpdateSchemaMapping: a schema mapping that ID namespaces or workflows use cannot change.
pub async fn update_schema_mapping(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateSchemaMappingInput,
) -> AwsResult<dto::UpdateSchemaMappingOutput> {
    check_mapped_fields(&input.mapped_input_fields)?;
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.schema_name;
    let mut m: StoredSchemaMapping = repo::find(state, scope, kinds::SCHEMA_MAPPING, name)
        .await?
        .ok_or_else(|| missing(name))?;
    if in_use(state, scope, name).await? {
        return Err(conflict(format!(
            "The schema mapping {name} is used by an ID namespace or workflow and cannot be updated"
        )));
    }
    m.mapped_input_fields = input.mapped_input_fields;
    if input.description.is_some() {
        m.description = input.description;
    }
    m.updated_at = state.now();
    state
        .store()
        .commit(vec![repo::put(scope, kinds::SCHEMA_MAPPING, name, &m)?])
        .await?;
    Ok(dto::UpdateSchemaMappingOutput {
        description: m.description,
        mapped_input_fields: m.mapped_input_fields,
        schema_arn: m.schema_arn,
        schema_name: m.schema_name,
    })
}

/// DeleteSchemaMapping: idempotent; a schema mapping in use cannot be deleted.
pub async fn delete_schema_mapping(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteSchemaMappingInput,
) -> AwsResult<dto::DeleteSchemaMappingOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.schema_name;
    if in_use(state, scope, name).await? {
        return Err(conflict(format!(
            "The schema mapping {name} is used by an ID namespace or workflow and cannot be deleted"
        )));
    }
    state
        .store()
        .commit(vec![repo::delete(scope, kinds::SCHEMA_MAPPING, name)])
        .await?;
    Ok(dto::DeleteSchemaMappingOutput {
        message: format!("The schema mapping {name} has been deleted"),
    })
}
