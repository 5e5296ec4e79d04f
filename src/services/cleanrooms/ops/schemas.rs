//! Schemas: ListSchemas, GetSchema, BatchGetSchema (any active member of the collaboration).
//!
//! A schema is not stored: it is derived on every read from a configured table association of
//! the collaboration (its name, the configured table's allowed columns with their Glue types, its
//! analysis rule) and the association's collaboration analysis rules, so its `READY`/`NOT_READY`
//! status always reflects the current rules and the collaboration's differential-privacy budget
//! template (spec §3.5). Intermediate tables are schemas of type `INTERMEDIATE_TABLE`, derived in
//! `analysis::intermediate_schemas`.

use crate::services::cleanrooms::analysis::id_mapping_schemas;
use crate::services::cleanrooms::analysis::intermediate_schemas;
use crate::services::cleanrooms::analysis::readiness::schema_summary;
use crate::services::cleanrooms::analysis::readiness::{
    parts_of, rule_type, status_details, Parts,
};
use crate::services::cleanrooms::domain::association::policy_parts;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::collaboration::Collaboration;
use crate::services::cleanrooms::errors::{bad_token, not_found_msg, ResourceType};
use crate::services::cleanrooms::ops::{batch_get, Operation};
use crate::services::cleanrooms::records::access::Standing;
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::workflows::lifecycle;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::glue::catalog;
use crate::state::AppState;
use crate::util::pagination;
use cleanrooms_emulator_api::glue::dto::Column as GlueColumn;

/// A Glue column as (lower-case name, type), `string` when it has no type.
fn name_and_type(c: GlueColumn) -> (String, String) {
    (
        c.name.to_lowercase(),
        c.r#type.unwrap_or_else(|| "string".into()),
    )
}

/// The schema's columns and partition keys: the allowed columns with their Glue types (`string`
/// when the Glue table or column is gone).
async fn columns(
    state: &AppState,
    ctx: &RequestContext,
    p: &Parts,
) -> (Vec<dto::Column>, Vec<dto::Column>) {
    let glue = match &p.table.table_reference {
        dto::TableReference::Glue(g) => catalog::table(
            state,
            &p.table.account_id,
            &ctx.region,
            &g.database_name,
            &g.table_name,
        )
        .await
        .ok(),
        _ => None,
    };
    let data: Vec<(String, String)> = glue
        .as_ref()
        .and_then(|t| t.storage_descriptor.as_ref())
        .and_then(|sd| sd.columns.clone())
        .unwrap_or_default()
        .into_iter()
        .map(name_and_type)
        .collect();
    let keys: Vec<(String, String)> = glue
        .and_then(|t| t.partition_keys)
        .unwrap_or_default()
        .into_iter()
        .map(name_and_type)
        .collect();
    let mut cols = Vec::new();
    let mut parts = Vec::new();
    for name in &p.table.allowed_columns {
        let lower = name.to_lowercase();
        if let Some((_, t)) = keys.iter().find(|(n, _)| *n == lower) {
            let c = dto::Column {
                name: name.clone(),
                r#type: t.clone(),
            };
            parts.push(c.clone());
            cols.push(c);
        } else {
            let t = data
                .iter()
                .find(|(n, _)| *n == lower)
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| "string".into());
            cols.push(dto::Column {
                name: name.clone(),
                r#type: t,
            });
        }
    }
    (cols, parts)
}

async fn schema(
    state: &AppState,
    ctx: &RequestContext,
    c: &Collaboration,
    p: &Parts,
) -> dto::Schema {
    let (columns, partition_keys) = columns(state, ctx, p).await;
    let a = &p.association;
    dto::Schema {
        analysis_method: Some(p.table.analysis_method),
        analysis_rule_types: p
            .rule
            .as_ref()
            .map(|r| vec![rule_type(r.rule_type)])
            .unwrap_or_default(),
        collaboration_arn: c.arn.clone(),
        collaboration_id: c.id.clone(),
        columns,
        create_time: a.create_time,
        creator_account_id: a.header.account_id.clone(),
        description: a.description.clone().unwrap_or_default(),
        name: a.name.clone(),
        partition_keys,
        resource_arn: Some(a.header.arn.clone()),
        schema_status_details: status_details(p),
        schema_type_properties: Some(dto::SchemaTypeProperties::ConfiguredTableAssociation(
            dto::ConfiguredTableAssociationSchemaTypeProperties {
                configured_table_association_id: a.header.id.clone(),
            },
        )),
        selected_analysis_methods: p.table.selected_analysis_methods.clone(),
        r#type: dto::SchemaType::Table,
        update_time: a.update_time.max(p.table.update_time),
    }
}

/// The schema named `name` of the collaboration, if any.
async fn find(state: &AppState, collaboration_id: &str, name: &str) -> AwsResult<Option<Parts>> {
    let name = name.to_lowercase();
    for (_, a) in collaboration_children::<Association>(state, collaboration_id).await? {
        if a.name == name {
            return parts_of(state, a).await;
        }
    }
    Ok(None)
}

/// ListSchemas (any active member).
impl Operation for dto::ListSchemasInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Active
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        let scope = format!(
            "schemas:{}:{}",
            c.id,
            input.schema_type.map(|t| t.as_str()).unwrap_or("ALL")
        );
        let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
        let mut items = Vec::new();
        if input
            .schema_type
            .is_none_or(|t| t == dto::SchemaType::Table)
        {
            for (seq, a) in collaboration_children::<Association>(state, &c.id).await? {
                if after.is_some_and(|x| seq <= x) {
                    continue;
                }
                if let Some(p) = parts_of(state, a).await? {
                    let s = schema(state, ctx, &c, &p).await;
                    items.push((seq, schema_summary(s)));
                }
            }
        }
        if input
            .schema_type
            .is_none_or(|t| t == dto::SchemaType::IntermediateTable)
        {
            // Reads of intermediate tables see retention applied first.
            lifecycle::expire_due(state).await?;
            items.extend(intermediate_schemas::summaries(state, &c, after).await?);
            items.sort_by_key(|(seq, _)| *seq);
        }
        if input
            .schema_type
            .is_none_or(|t| t == dto::SchemaType::IdMappingTable)
        {
            items.extend(id_mapping_schemas::summaries(state, &c, after).await?);
            items.sort_by_key(|(seq, _)| *seq);
        }
        let (schema_summaries, next_token) =
            pagination::page(&scope, items, pagination::page_size(input.max_results));
        Ok((schema_summaries, next_token).into())
    }
}

/// The schema `name` of collaboration `c`: an intermediate table, an ID mapping table, or a
/// configured table association (reads of intermediate tables see retention applied first).
async fn schema_of(
    state: &AppState,
    ctx: &RequestContext,
    c: &Collaboration,
    name: &str,
) -> AwsResult<Option<dto::Schema>> {
    lifecycle::expire_due(state).await?;
    if let Some(schema) = intermediate_schemas::schema_named(state, c, name).await? {
        return Ok(Some(schema));
    }
    if let Some(schema) = id_mapping_schemas::schema_named(state, c, name).await? {
        return Ok(Some(schema));
    }
    Ok(match find(state, &c.id, name).await? {
        Some(p) => Some(schema(state, ctx, c, &p).await),
        None => None,
    })
}

/// GetSchema (any active member).
impl Operation for dto::GetSchemaInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Active
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        match schema_of(state, ctx, &c, &input.name).await? {
            Some(schema) => Ok(schema.into()),
            None => Err(not_found_msg(
                ResourceType::Collaboration,
                &input.name,
                format!(
                    "Could not find schema '{}' in collaboration {}",
                    input.name, c.id
                ),
            )),
        }
    }
}

/// BatchGetSchema (any active member): unknown names are reported in `errors`.
impl Operation for dto::BatchGetSchemaInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Active
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        let c = &c;
        let (schemas, errors) = batch_get(
            &input.names,
            |name| schema_of(state, ctx, c, name),
            |name| dto::BatchGetSchemaError {
                code: "ResourceNotFoundException".into(),
                message: format!("Could not find schema '{name}' in collaboration {}", c.id),
                name: name.clone(),
            },
        )
        .await?;
        Ok((errors, schemas).into())
    }
}

// ---------------------------------------------------------------------------------------------
// Schema analysis rules
// ---------------------------------------------------------------------------------------------

/// The schema analysis rule of type `wanted` of a schema, if it has one: the table rule as
/// `policy`, the association rule of that type as `collaborationPolicy`, and both merged as
/// `consolidatedPolicy`.
fn analysis_rule(
    c: &Collaboration,
    p: &Parts,
    wanted: dto::AnalysisRuleType,
) -> Option<dto::AnalysisRule> {
    let rule = p.rule.as_ref()?;
    if rule_type(rule.rule_type) != wanted {
        return None;
    }
    let matching = p
        .association_rules
        .iter()
        .find(|r| r.rule_type.as_str() == rule.rule_type.as_str());
    let (receivers, additional) = matching
        .map(|m| policy_parts(&m.policy))
        .map_or((None, None), |(_, r, a)| {
            (r.map(<[String]>::to_vec), a.map(<[String]>::to_vec))
        });
    let dto::ConfiguredTableAnalysisRulePolicy::V1(v1) = &rule.policy;
    let (policy, consolidated) = match v1.clone() {
        dto::ConfiguredTableAnalysisRulePolicyV1::Aggregation(a) => (
            dto::AnalysisRulePolicyV1::Aggregation(a.clone()),
            dto::ConsolidatedPolicyV1::Aggregation(dto::ConsolidatedPolicyAggregation {
                additional_analyses: a.additional_analyses,
                aggregate_columns: a.aggregate_columns,
                allowed_additional_analyses: additional,
                allowed_join_operators: a.allowed_join_operators,
                allowed_result_receivers: receivers,
                dimension_columns: a.dimension_columns,
                join_columns: a.join_columns,
                join_required: a.join_required,
                output_constraints: a.output_constraints,
                scalar_functions: a.scalar_functions,
            }),
        ),
        dto::ConfiguredTableAnalysisRulePolicyV1::List(l) => (
            dto::AnalysisRulePolicyV1::List(l.clone()),
            dto::ConsolidatedPolicyV1::List(dto::ConsolidatedPolicyList {
                additional_analyses: l.additional_analyses,
                allowed_additional_analyses: additional,
                allowed_join_operators: l.allowed_join_operators,
                allowed_result_receivers: receivers,
                join_columns: l.join_columns,
                list_columns: l.list_columns,
            }),
        ),
        dto::ConfiguredTableAnalysisRulePolicyV1::Custom(cu) => (
            dto::AnalysisRulePolicyV1::Custom(cu.clone()),
            dto::ConsolidatedPolicyV1::Custom(dto::ConsolidatedPolicyCustom {
                additional_analyses: cu.additional_analyses,
                aggregation_thresholds: cu.aggregation_thresholds,
                allowed_additional_analyses: additional,
                allowed_analyses: cu.allowed_analyses,
                allowed_analysis_providers: cu.allowed_analysis_providers,
                allowed_result_receivers: receivers,
                comparison_controls: cu.comparison_controls,
                differential_privacy: cu.differential_privacy,
                disallowed_output_columns: cu.disallowed_output_columns,
            }),
        ),
    };
    let update_time = matching
        .map(|m| m.update_time)
        .unwrap_or(0.0)
        .max(rule.update_time)
        .max(p.association.create_time);
    Some(dto::AnalysisRule {
        collaboration_id: c.id.clone(),
        collaboration_policy: matching.map(|m| m.policy.clone()),
        consolidated_policy: Some(dto::ConsolidatedPolicy::V1(consolidated)),
        create_time: p.association.create_time,
        name: p.association.name.clone(),
        policy: dto::AnalysisRulePolicy::V1(policy),
        r#type: wanted,
        update_time,
    })
}

/// The analysis rule of type `wanted` of the schema `name` of collaboration `c`: an
/// intermediate table's, an ID mapping table's, or a configured table association's (reads of
/// intermediate tables see retention applied first).
async fn schema_rule(
    state: &AppState,
    c: &Collaboration,
    name: &str,
    wanted: dto::AnalysisRuleType,
) -> AwsResult<Option<dto::AnalysisRule>> {
    lifecycle::expire_due(state).await?;
    let managed = match wanted {
        dto::AnalysisRuleType::Custom => {
            intermediate_schemas::custom_rule_named(state, c, name).await?
        }
        dto::AnalysisRuleType::IdMappingTable => {
            id_mapping_schemas::id_mapping_rule_named(state, c, name).await?
        }
        _ => None,
    };
    if managed.is_some() {
        return Ok(managed);
    }
    Ok(find(state, &c.id, name)
        .await?
        .and_then(|p| analysis_rule(c, &p, wanted)))
}

/// The message for a schema `name` of collaboration `collaboration_id` without a `wanted` rule.
fn missing_rule(wanted: dto::AnalysisRuleType, name: &str, collaboration_id: &str) -> String {
    format!(
        "Could not find a {} analysis rule of schema '{name}' in collaboration {collaboration_id}",
        wanted.as_str()
    )
}

/// GetSchemaAnalysisRule (any active member).
impl Operation for dto::GetSchemaAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Active
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        match schema_rule(state, &c, &input.name, input.r#type).await? {
            Some(analysis_rule) => Ok(analysis_rule.into()),
            None => Err(not_found_msg(
                ResourceType::Collaboration,
                &input.name,
                missing_rule(input.r#type, &input.name, &c.id),
            )),
        }
    }
}

/// BatchGetSchemaAnalysisRule (any active member): missing rules are reported in `errors`.
impl Operation for dto::BatchGetSchemaAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Active
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        let c = &c;
        let (analysis_rules, errors) = batch_get(
            &input.schema_analysis_rule_requests,
            |req| schema_rule(state, c, &req.name, req.r#type),
            |req| dto::BatchGetSchemaAnalysisRuleError {
                code: "ResourceNotFoundException".into(),
                message: missing_rule(req.r#type, &req.name, &c.id),
                name: req.name.clone(),
                r#type: req.r#type,
            },
        )
        .await?;
        Ok(dto::BatchGetSchemaAnalysisRuleOutput {
            analysis_rules,
            errors,
        })
    }
}
