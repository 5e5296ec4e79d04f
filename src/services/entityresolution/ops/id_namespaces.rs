//! ID namespaces: CreateIdNamespace, GetIdNamespace, ListIdNamespaces, UpdateIdNamespace,
//! DeleteIdNamespace. An ID namespace is a SOURCE or TARGET set of records: Glue tables of the
//! caller, each read through a schema mapping, with optional rule-based matching properties.
//! Provider-based properties are refused (the emulator has no provider services).

use std::collections::BTreeMap;

use cleanrooms_emulator_api::entityresolution::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::entityresolution::errors::{bad_token, conflict, not_found, validation};
use crate::services::entityresolution::model::{
    arn, check_rules, glue_table_ref, kinds, match_keys, provider_unsupported,
    StoredIdMappingWorkflow, StoredIdNamespace, StoredSchemaMapping,
};
use crate::services::entityresolution::repo::{self, Scope};
use crate::services::glue::catalog;
use crate::state::AppState;
use crate::util::pagination;

fn missing(name: &str) -> crate::error::AwsError {
    not_found(format!("The ID namespace {name} does not exist"))
}

/// Checks the input sources (Glue tables of the caller that exist, each with a schema mapping
/// of the caller) and returns the match keys every source's schema mapping defines.
///
/// # Errors
/// `ValidationException` naming the source at fault.
pub async fn check_input_sources(
    state: &AppState,
    scope: Scope<'_>,
    sources: &[dto::IdNamespaceInputSource],
) -> AwsResult<Vec<BTreeMap<String, Vec<String>>>> {
    let mut keys = Vec::new();
    for s in sources {
        let arn = &s.input_source_arn;
        let Some(t) = glue_table_ref(arn) else {
            return Err(validation(format!(
                "inputSourceConfig: {arn} is not a Glue table ARN (arn:aws:glue:<region>:<account>:table/<database>/<table>); the emulator's ID namespaces read Glue tables only"
            )));
        };
        if t.region != scope.region || t.account != scope.account {
            return Err(validation(format!(
                "inputSourceConfig: the Glue table {arn} must be in the caller's account {} and region {}",
                scope.account, scope.region
            )));
        }
        if let Err(e) = catalog::table(state, &t.account, &t.region, &t.database, &t.table).await {
            return Err(validation(format!(
                "inputSourceConfig: the Glue table {}.{} cannot be used: {}",
                t.database, t.table, e.message
            )));
        }
        let Some(schema) = s.schema_name.as_deref() else {
            return Err(validation(format!(
                "inputSourceConfig: the Glue table source {arn} needs a schemaName"
            )));
        };
        let Some(mapping) =
            repo::find::<StoredSchemaMapping>(state, scope, kinds::SCHEMA_MAPPING, schema).await?
        else {
            return Err(validation(format!(
                "inputSourceConfig: the schema mapping {schema} does not exist"
            )));
        };
        keys.push(match_keys(&mapping));
    }
    Ok(keys)
}

/// Checks the ID mapping workflow properties against the sources' match keys.
fn check_properties(
    properties: Option<&[dto::IdNamespaceIdMappingWorkflowProperties]>,
    source_keys: &[BTreeMap<String, Vec<String>>],
) -> AwsResult<()> {
    for p in properties.into_iter().flatten() {
        match p.id_mapping_type {
            dto::IdMappingType::Provider => {
                return Err(provider_unsupported("idMappingWorkflowProperties"))
            }
            dto::IdMappingType::RuleBased => {
                // A namespace may support rule-based mapping without defining rules itself
                // (the workflow or the other namespace defines them).
                let Some(rb) = &p.rule_based_properties else {
                    continue;
                };
                let rules = rb.rules.as_deref().unwrap_or_default();
                check_rules(
                    rules,
                    "idMappingWorkflowProperties.ruleBasedProperties.rules",
                )?;
                for r in rules {
                    for k in &r.matching_keys {
                        if let Some(i) = source_keys.iter().position(|keys| !keys.contains_key(k)) {
                            return Err(validation(format!(
                                "Rule {} uses matching key {k}, which the schema mapping of input source {} does not define",
                                r.rule_name,
                                i + 1
                            )));
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// CreateIdNamespace.
pub async fn create_id_namespace(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateIdNamespaceInput,
) -> AwsResult<dto::CreateIdNamespaceOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.id_namespace_name;
    if repo::find::<StoredIdNamespace>(state, scope, kinds::ID_NAMESPACE, name)
        .await?
        .is_some()
    {
        return Err(conflict(format!(
            "An ID namespace named {name} already exists"
        )));
    }
    let sources = input.input_source_config.clone().unwrap_or_default();
    if input.r#type == dto::IdNamespaceType::Source && sources.is_empty() {
        return Err(validation(
            "inputSourceConfig: a SOURCE ID namespace needs at least one input source",
        ));
    }
    let keys = check_input_sources(state, scope, &sources).await?;
    check_properties(input.id_mapping_workflow_properties.as_deref(), &keys)?;
    let now = state.now();
    let stored = StoredIdNamespace {
        created_at: now,
        description: input.description,
        id_mapping_workflow_properties: input.id_mapping_workflow_properties,
        id_namespace_arn: arn(&ctx.region, &ctx.account_id, "idnamespace", name),
        id_namespace_name: name.clone(),
        input_source_config: input.input_source_config,
        role_arn: input.role_arn,
        tags: input.tags.filter(|t| !t.is_empty()),
        r#type: input.r#type,
        updated_at: now,
    };
    state
        .store()
        .commit(vec![repo::put(scope, kinds::ID_NAMESPACE, name, &stored)?])
        .await?;
    Ok(dto::CreateIdNamespaceOutput {
        created_at: stored.created_at,
        description: stored.description,
        id_mapping_workflow_properties: stored.id_mapping_workflow_properties,
        id_namespace_arn: stored.id_namespace_arn,
        id_namespace_name: stored.id_namespace_name,
        input_source_config: stored.input_source_config,
        role_arn: stored.role_arn,
        tags: stored.tags,
        r#type: stored.r#type,
        updated_at: stored.updated_at,
    })
}

/// GetIdNamespace.
pub async fn get_id_namespace(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetIdNamespaceInput,
) -> AwsResult<dto::GetIdNamespaceOutput> {
    repo::find(
        state,
        Scope::of(ctx),
        kinds::ID_NAMESPACE,
        &input.id_namespace_name,
    )
    .await?
    .ok_or_else(|| missing(&input.id_namespace_name))
}

/// ListIdNamespaces.
pub async fn list_id_namespaces(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListIdNamespacesInput,
) -> AwsResult<dto::ListIdNamespacesOutput> {
    let token_scope = "entityresolution:idnamespaces";
    let after = pagination::resume(token_scope, input.next_token.as_deref(), bad_token)?;
    let items = repo::list::<StoredIdNamespace>(state, Scope::of(ctx), kinds::ID_NAMESPACE, after)
        .await?
        .into_iter()
        .map(|(seq, n)| {
            (
                seq,
                dto::IdNamespaceSummary {
                    created_at: n.created_at,
                    description: n.description,
                    id_mapping_workflow_properties: n.id_mapping_workflow_properties.map(|ps| {
                        ps.iter()
                            .map(|p| dto::IdNamespaceIdMappingWorkflowMetadata {
                                id_mapping_type: p.id_mapping_type,
                            })
                            .collect()
                    }),
                    id_namespace_arn: n.id_namespace_arn,
                    id_namespace_name: n.id_namespace_name,
                    r#type: n.r#type,
                    updated_at: n.updated_at,
                },
            )
        })
        .collect();
    let (summaries, next_token) =
        pagination::page(token_scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListIdNamespacesOutput {
        id_namespace_summaries: Some(summaries),
        next_token,
    })
}

/// UpdateIdNamespace: description, input sources, workflow properties and role.
pub async fn update_id_namespace(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateIdNamespaceInput,
) -> AwsResult<dto::UpdateIdNamespaceOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.id_namespace_name;
    let mut n: StoredIdNamespace = repo::find(state, scope, kinds::ID_NAMESPACE, name)
        .await?
        .ok_or_else(|| missing(name))?;
    if let Some(d) = input.description {
        n.description = Some(d);
    }
    if let Some(s) = input.input_source_config {
        n.input_source_config = Some(s);
    }
    if let Some(p) = input.id_mapping_workflow_properties {
        n.id_mapping_workflow_properties = Some(p);
    }
    if let Some(r) = input.role_arn {
        n.role_arn = Some(r);
    }
    let sources = n.input_source_config.clone().unwrap_or_default();
    if n.r#type == dto::IdNamespaceType::Source && sources.is_empty() {
        return Err(validation(
            "inputSourceConfig: a SOURCE ID namespace needs at least one input source",
        ));
    }
    let keys = check_input_sources(state, scope, &sources).await?;
    check_properties(n.id_mapping_workflow_properties.as_deref(), &keys)?;
    n.updated_at = state.now();
    state
        .store()
        .commit(vec![repo::put(scope, kinds::ID_NAMESPACE, name, &n)?])
        .await?;
    Ok(dto::UpdateIdNamespaceOutput {
        created_at: n.created_at,
        description: n.description,
        id_mapping_workflow_properties: n.id_mapping_workflow_properties,
        id_namespace_arn: n.id_namespace_arn,
        id_namespace_name: n.id_namespace_name,
        input_source_config: n.input_source_config,
        role_arn: n.role_arn,
        r#type: n.r#type,
        updated_at: n.updated_at,
    })
}

/// DeleteIdNamespace: idempotent; an ID namespace an ID mapping workflow of the caller reads
/// cannot be deleted.
pub async fn delete_id_namespace(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteIdNamespaceInput,
) -> AwsResult<dto::DeleteIdNamespaceOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let name = &input.id_namespace_name;
    let namespace_arn = arn(scope.region, scope.account, "idnamespace", name);
    let workflows: Vec<(i64, StoredIdMappingWorkflow)> =
        repo::list(state, scope, kinds::ID_MAPPING_WORKFLOW, None).await?;
    if let Some((_, w)) = workflows.iter().find(|(_, w)| {
        w.input_source_config
            .iter()
            .any(|s| s.input_source_arn == namespace_arn)
    }) {
        return Err(validation(format!(
            "The ID namespace {name} is an input source of ID mapping workflow {} and cannot be deleted",
            w.workflow_name
        )));
    }
    state
        .store()
        .commit(vec![repo::delete(scope, kinds::ID_NAMESPACE, name)])
        .await?;
    Ok(dto::DeleteIdNamespaceOutput {
        message: format!("The ID namespace {name} has been deleted"),
    })
}
