//! Schemas: ListSchemas, GetSchema, BatchGetSchema (any active member of the collaboration).
//!
//! A schema is not stored: it is derived on every read from a configured table association of
//! the collaboration (its name, the configured table's allowed columns with their Glue types, its
//! analysis rule) and the association's collaboration analysis rules, so its `READY`/`NOT_READY`
//! status always reflects the current rules and the collaboration's differential-privacy budget
//! template (spec §3.5). Intermediate tables are schemas of type `INTERMEDIATE_TABLE`, derived in
//! `ops::intermediate_schemas`.

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::{bad_token, not_found_msg, ResourceType};
use crate::services::cleanrooms::model::{
    kinds, Association, AssociationRule, Collaboration, ConfiguredTable, ConfiguredTableRule,
};
use crate::services::cleanrooms::ops::associations::{associations_of_collaboration, policy_parts};
use crate::services::cleanrooms::ops::intermediate_schemas;
use crate::services::cleanrooms::ops::privacy_budget_templates;
use crate::services::cleanrooms::repo;
use crate::services::glue::catalog;
use crate::state::AppState;
use crate::util::pagination;

type Code = dto::SchemaStatusReasonCode;

/// What a schema is derived from.
struct Parts {
    association: Association,
    table: ConfiguredTable,
    rule: Option<ConfiguredTableRule>,
    association_rules: Vec<AssociationRule>,
    /// Whether the collaboration has a DIFFERENTIAL_PRIVACY budget template (only looked up
    /// when the table's rule enables differential privacy).
    dp_policy_configured: bool,
}

/// Whether a configured table rule turns on differential privacy.
fn uses_differential_privacy(rule: &ConfiguredTableRule) -> bool {
    let dto::ConfiguredTableAnalysisRulePolicy::V1(v1) = &rule.policy;
    matches!(v1, dto::ConfiguredTableAnalysisRulePolicyV1::Custom(c) if c.differential_privacy.is_some())
}

async fn parts_of(state: &AppState, association: Association) -> AwsResult<Option<Parts>> {
    let Some(record) = state
        .store()
        .get(kinds::CONFIGURED_TABLE, &association.configured_table_id)
        .await?
    else {
        return Ok(None);
    };
    let table: ConfiguredTable = repo::decode(&record)?;
    let rule = match state
        .store()
        .get(kinds::CONFIGURED_TABLE_RULE, &table.id)
        .await?
    {
        Some(r) => Some(repo::decode(&r)?),
        None => None,
    };
    let mut association_rules = Vec::new();
    for t in &association.analysis_rule_types {
        if let Some(r) = state
            .store()
            .get(
                kinds::ASSOCIATION_RULE,
                &AssociationRule::record_id(&association.id, *t),
            )
            .await?
        {
            association_rules.push(repo::decode(&r)?);
        }
    }
    let dp_policy_configured = match &rule {
        Some(r) if uses_differential_privacy(r) => {
            privacy_budget_templates::has_differential_privacy_template(
                state,
                &association.collaboration_id,
            )
            .await?
        }
        _ => false,
    };
    Ok(Some(Parts {
        association,
        table,
        rule,
        association_rules,
        dp_policy_configured,
    }))
}

fn rule_type(t: dto::ConfiguredTableAnalysisRuleType) -> dto::AnalysisRuleType {
    match t {
        dto::ConfiguredTableAnalysisRuleType::Aggregation => dto::AnalysisRuleType::Aggregation,
        dto::ConfiguredTableAnalysisRuleType::List => dto::AnalysisRuleType::List,
        dto::ConfiguredTableAnalysisRuleType::Custom => dto::AnalysisRuleType::Custom,
    }
}

fn reason(code: Code, message: String) -> dto::SchemaStatusReason {
    dto::SchemaStatusReason { code, message }
}

/// The status entries of a schema (spec §3.5): a `DIRECT_ANALYSIS` entry always, and an
/// `ADDITIONAL_ANALYSIS` entry when the table rule allows or requires additional analyses, or
/// when the collaboration analysis rule lists additional analyses the table rule does not allow.
fn status_details(p: &Parts) -> Vec<dto::SchemaStatusDetail> {
    let name = &p.association.name;
    let Some(rule) = &p.rule else {
        return vec![dto::SchemaStatusDetail {
            analysis_rule_type: None,
            analysis_type: dto::AnalysisType::DirectAnalysis,
            configurations: None,
            reasons: Some(vec![reason(
                Code::AnalysisRuleMissing,
                format!(
                    "Configured table '{}' of table '{name}' has no analysis rule",
                    p.table.name
                ),
            )]),
            status: dto::SchemaStatus::NotReady,
        }];
    };
    let dto::ConfiguredTableAnalysisRulePolicy::V1(v1) = &rule.policy;
    let mut common = Vec::new();
    let additional = match v1 {
        dto::ConfiguredTableAnalysisRulePolicyV1::Aggregation(a) => a.additional_analyses,
        dto::ConfiguredTableAnalysisRulePolicyV1::List(l) => l.additional_analyses,
        dto::ConfiguredTableAnalysisRulePolicyV1::Custom(c) => {
            if c.allowed_analyses.is_empty() {
                common.push(reason(
                    Code::AnalysisTemplatesNotConfigured,
                    format!("The custom analysis rule of table '{name}' allows no analyses"),
                ));
            }
            let any = c
                .allowed_analyses
                .iter()
                .any(|a| a == "ANY_QUERY" || a == "ANY_JOB");
            if any
                && c.allowed_analysis_providers
                    .as_ref()
                    .is_none_or(|v| v.is_empty())
            {
                common.push(reason(
                    Code::AnalysisProvidersNotConfigured,
                    format!(
                        "The custom analysis rule of table '{name}' allows any query but names no analysis providers"
                    ),
                ));
            }
            c.additional_analyses
        }
    };
    let dp = uses_differential_privacy(rule);
    if dp && !p.dp_policy_configured {
        common.push(reason(
            Code::DifferentialPrivacyPolicyNotConfigured,
            format!(
                "Table '{name}' uses differential privacy, but collaboration {} has no DIFFERENTIAL_PRIVACY privacy budget template",
                p.association.collaboration_id
            ),
        ));
    }
    let table_type = rule_type(rule.rule_type);
    for r in &p.association_rules {
        if r.rule_type.as_str() != rule.rule_type.as_str() {
            common.push(reason(
                Code::AnalysisRuleTypesNotCompatible,
                format!(
                    "Table '{name}' has a {} collaboration analysis rule but a {} configured table rule",
                    r.rule_type.as_str(),
                    rule.rule_type.as_str()
                ),
            ));
        }
    }
    let matching = p
        .association_rules
        .iter()
        .find(|r| r.rule_type.as_str() == rule.rule_type.as_str());
    let (receivers, allowed_additional) = match matching {
        Some(m) => {
            let (_, receivers, analyses) = policy_parts(&m.policy);
            (receivers.unwrap_or(&[]), analyses.unwrap_or(&[]))
        }
        None => (&[][..], &[][..]),
    };
    let missing_cta = || {
        reason(
            Code::CollaborationAnalysisRuleNotConfigured,
            format!(
                "Table '{name}' has no {} collaboration analysis rule",
                rule.rule_type.as_str()
            ),
        )
    };
    let additional = additional.unwrap_or(dto::AdditionalAnalyses::NotAllowed);
    let mut direct = common.clone();
    if additional == dto::AdditionalAnalyses::Required {
        // Direct results are not allowed at all, so no receiver list can make them ready.
        direct.push(reason(
            Code::ResultReceiversNotAllowed,
            format!("The analysis rule of table '{name}' requires additional analyses"),
        ));
        if matching.is_none() {
            direct.push(missing_cta());
        }
    } else if matching.is_some() && receivers.is_empty() {
        direct.push(reason(
            Code::ResultReceiversNotConfigured,
            format!("The collaboration analysis rule of table '{name}' names no result receivers"),
        ));
    }
    let configurations = dp.then(|| vec![dto::SchemaConfiguration::DifferentialPrivacy]);
    let entry = |analysis_type, reasons: Vec<dto::SchemaStatusReason>| dto::SchemaStatusDetail {
        analysis_rule_type: Some(table_type),
        analysis_type,
        configurations: configurations.clone(),
        status: if reasons.is_empty() {
            dto::SchemaStatus::Ready
        } else {
            dto::SchemaStatus::NotReady
        },
        reasons: (!reasons.is_empty()).then_some(reasons),
    };
    let mut out = vec![entry(dto::AnalysisType::DirectAnalysis, direct)];
    let mut extra = common;
    match additional {
        dto::AdditionalAnalyses::Allowed | dto::AdditionalAnalyses::Required => {
            if matching.is_none() {
                extra.push(missing_cta());
            } else if allowed_additional.is_empty() {
                extra.push(reason(
                    Code::AdditionalAnalysesNotConfigured,
                    format!(
                        "The collaboration analysis rule of table '{name}' allows no additional analyses"
                    ),
                ));
            }
            out.push(entry(dto::AnalysisType::AdditionalAnalysis, extra));
        }
        dto::AdditionalAnalyses::NotAllowed if !allowed_additional.is_empty() => {
            extra.push(reason(
                Code::AdditionalAnalysesNotAllowed,
                format!(
                    "The collaboration analysis rule of table '{name}' lists additional analyses, but the table's analysis rule does not allow additional analyses"
                ),
            ));
            out.push(entry(dto::AnalysisType::AdditionalAnalysis, extra));
        }
        dto::AdditionalAnalyses::NotAllowed => {}
    }
    out
}

/// Why the schema of association `association_id` is not ready for direct analysis (empty when
/// it is READY, or when the association is gone — the analysis reports that itself).
pub async fn direct_analysis_blockers(
    state: &AppState,
    association_id: &str,
) -> AwsResult<Vec<dto::SchemaStatusReason>> {
    let Some(record) = state
        .store()
        .get(kinds::ASSOCIATION, association_id)
        .await?
    else {
        return Ok(Vec::new());
    };
    let Some(parts) = parts_of(state, repo::decode(&record)?).await? else {
        return Ok(Vec::new());
    };
    Ok(status_details(&parts)
        .into_iter()
        .find(|d| d.analysis_type == dto::AnalysisType::DirectAnalysis)
        .and_then(|d| d.reasons)
        .unwrap_or_default())
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
        .map(|c| {
            (
                c.name.to_lowercase(),
                c.r#type.unwrap_or_else(|| "string".into()),
            )
        })
        .collect();
    let keys: Vec<(String, String)> = glue
        .and_then(|t| t.partition_keys)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            (
                c.name.to_lowercase(),
                c.r#type.unwrap_or_else(|| "string".into()),
            )
        })
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
        creator_account_id: a.account_id.clone(),
        description: a.description.clone().unwrap_or_default(),
        name: a.name.clone(),
        partition_keys,
        resource_arn: Some(a.arn.clone()),
        schema_status_details: status_details(p),
        schema_type_properties: Some(dto::SchemaTypeProperties::ConfiguredTableAssociation(
            dto::ConfiguredTableAssociationSchemaTypeProperties {
                configured_table_association_id: a.id.clone(),
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
    for (_, a) in associations_of_collaboration(state, collaboration_id).await? {
        if a.name == name {
            return parts_of(state, a).await;
        }
    }
    Ok(None)
}

/// ListSchemas (any active member).
pub async fn list_schemas(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListSchemasInput,
) -> AwsResult<dto::ListSchemasOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
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
        for (seq, a) in associations_of_collaboration(state, &c.id).await? {
            if after.is_some_and(|x| seq <= x) {
                continue;
            }
            if let Some(p) = parts_of(state, a).await? {
                let s = schema(state, ctx, &c, &p).await;
                items.push((
                    seq,
                    dto::SchemaSummary {
                        analysis_method: s.analysis_method,
                        analysis_rule_types: s.analysis_rule_types,
                        collaboration_arn: s.collaboration_arn,
                        collaboration_id: s.collaboration_id,
                        create_time: s.create_time,
                        creator_account_id: s.creator_account_id,
                        name: s.name,
                        resource_arn: s.resource_arn,
                        selected_analysis_methods: s.selected_analysis_methods,
                        r#type: s.r#type,
                        update_time: s.update_time,
                    },
                ));
            }
        }
    }
    if input
        .schema_type
        .is_none_or(|t| t == dto::SchemaType::IntermediateTable)
    {
        items.extend(intermediate_schemas::summaries(state, &c, after).await?);
        items.sort_by_key(|(seq, _)| *seq);
    }
    let (schema_summaries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListSchemasOutput {
        schema_summaries,
        next_token,
    })
}

/// GetSchema (any active member).
pub async fn get_schema(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetSchemaInput,
) -> AwsResult<dto::GetSchemaOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    if let Some(schema) = intermediate_schemas::schema_named(state, &c, &input.name).await? {
        return Ok(dto::GetSchemaOutput { schema });
    }
    match find(state, &c.id, &input.name).await? {
        Some(p) => Ok(dto::GetSchemaOutput {
            schema: schema(state, ctx, &c, &p).await,
        }),
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

/// BatchGetSchema (any active member): unknown names are reported in `errors`.
pub async fn batch_get_schema(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::BatchGetSchemaInput,
) -> AwsResult<dto::BatchGetSchemaOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let mut schemas = Vec::new();
    let mut errors = Vec::new();
    for name in &input.names {
        if let Some(s) = intermediate_schemas::schema_named(state, &c, name).await? {
            schemas.push(s);
            continue;
        }
        match find(state, &c.id, name).await? {
            Some(p) => schemas.push(schema(state, ctx, &c, &p).await),
            None => errors.push(dto::BatchGetSchemaError {
                code: "ResourceNotFoundException".into(),
                message: format!("Could not find schema '{name}' in collaboration {}", c.id),
                name: name.clone(),
            }),
        }
    }
    Ok(dto::BatchGetSchemaOutput { errors, schemas })
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
    let (receivers, additional) = match matching {
        Some(m) => {
            let (_, r, a) = policy_parts(&m.policy);
            (r.map(<[String]>::to_vec), a.map(<[String]>::to_vec))
        }
        None => (None, None),
    };
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

/// GetSchemaAnalysisRule (any active member).
pub async fn get_schema_analysis_rule(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetSchemaAnalysisRuleInput,
) -> AwsResult<dto::GetSchemaAnalysisRuleOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let found =
        match intermediate_schemas::analysis_rule_named(state, &c, &input.name, input.r#type)
            .await?
        {
            Some(rule) => Some(rule),
            None => find(state, &c.id, &input.name)
                .await?
                .and_then(|p| analysis_rule(&c, &p, input.r#type)),
        };
    match found {
        Some(analysis_rule) => Ok(dto::GetSchemaAnalysisRuleOutput { analysis_rule }),
        None => Err(not_found_msg(
            ResourceType::Collaboration,
            &input.name,
            format!(
                "Could not find a {} analysis rule of schema '{}' in collaboration {}",
                input.r#type.as_str(),
                input.name,
                c.id
            ),
        )),
    }
}

/// BatchGetSchemaAnalysisRule (any active member): missing rules are reported in `errors`.
pub async fn batch_get_schema_analysis_rule(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::BatchGetSchemaAnalysisRuleInput,
) -> AwsResult<dto::BatchGetSchemaAnalysisRuleOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let mut analysis_rules = Vec::new();
    let mut errors = Vec::new();
    for req in &input.schema_analysis_rule_requests {
        let found =
            match intermediate_schemas::analysis_rule_named(state, &c, &req.name, req.r#type)
                .await?
            {
                Some(rule) => Some(rule),
                None => find(state, &c.id, &req.name)
                    .await?
                    .and_then(|p| analysis_rule(&c, &p, req.r#type)),
            };
        match found {
            Some(r) => analysis_rules.push(r),
            None => errors.push(dto::BatchGetSchemaAnalysisRuleError {
                code: "ResourceNotFoundException".into(),
                message: format!(
                    "Could not find a {} analysis rule of schema '{}' in collaboration {}",
                    req.r#type.as_str(),
                    req.name,
                    c.id
                ),
                name: req.name.clone(),
                r#type: req.r#type,
            }),
        }
    }
    Ok(dto::BatchGetSchemaAnalysisRuleOutput {
        analysis_rules,
        errors,
    })
}
