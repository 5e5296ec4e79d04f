//! What an ID mapping workflow reads and how it matches: its input sources resolved to the
//! Glue tables and schema mappings behind them (directly, or through ID namespaces of any
//! account), grouped into the SOURCE and TARGET sides, and the rules that apply (the
//! workflow's own, else those of the ID namespace its `ruleDefinitionType` names).

use std::collections::BTreeMap;

use cleanrooms_emulator_api::entityresolution::dto;

use super::errors::validation;
use super::model::{
    glue_table_ref, kinds, match_keys, parse_arn, provider_unsupported, unique_id_column,
    GlueTableRef, StoredIdNamespace, StoredSchemaMapping,
};
use super::repo::{self, Scope};
use crate::error::AwsResult;
use crate::state::AppState;

/// One input table of a side: the Glue table and the columns the schema mapping gives it.
#[derive(Debug, Clone)]
pub struct InputTable {
    /// The Glue table.
    pub table: GlueTableRef,
    /// The `UNIQUE_ID` column (the record id the mapping returns).
    pub unique_id: String,
    /// Match key → the columns carrying it.
    pub match_keys: BTreeMap<String, Vec<String>>,
}

/// One side (SOURCE or TARGET) of an ID mapping.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// The ID namespaces of this side (ARNs), if the inputs were namespaces.
    pub namespaces: Vec<String>,
    /// Its input tables.
    pub tables: Vec<InputTable>,
    /// The rules its ID namespaces define (rule-based properties), first namespace first.
    pub namespace_rules: Vec<dto::Rule>,
}

/// A workflow's input sources resolved.
#[derive(Debug, Clone, Default)]
pub struct ResolvedInputs {
    /// The SOURCE side.
    pub source: Side,
    /// The TARGET side.
    pub target: Side,
}

/// The ID namespace `arn` (of any account, in `region`), if it exists.
///
/// # Errors
/// Store failures.
pub async fn namespace_by_arn(
    state: &AppState,
    region: &str,
    arn: &str,
) -> AwsResult<Option<StoredIdNamespace>> {
    let Some(p) = parse_arn(arn) else {
        return Ok(None);
    };
    if p.service != "entityresolution" || p.resource_type != "idnamespace" || p.region != region {
        return Ok(None);
    }
    let scope = Scope {
        account: &p.account,
        region: &p.region,
    };
    repo::find(state, scope, kinds::ID_NAMESPACE, &p.path).await
}

async fn input_table(
    state: &AppState,
    owner: Scope<'_>,
    table_arn: &str,
    schema_name: Option<&str>,
) -> AwsResult<InputTable> {
    let table = glue_table_ref(table_arn).ok_or_else(|| {
        validation(format!(
            "inputSourceConfig: {table_arn} is neither an ID namespace nor a Glue table ARN"
        ))
    })?;
    let schema = schema_name.ok_or_else(|| {
        validation(format!(
            "inputSourceConfig: the Glue table source {table_arn} needs a schemaName"
        ))
    })?;
    let mapping: StoredSchemaMapping = repo::find(state, owner, kinds::SCHEMA_MAPPING, schema)
        .await?
        .ok_or_else(|| {
            validation(format!(
                "inputSourceConfig: the schema mapping {schema} does not exist"
            ))
        })?;
    let unique_id = unique_id_column(&mapping).ok_or_else(|| {
        validation(format!(
            "The schema mapping {schema} has no UNIQUE_ID field"
        ))
    })?;
    Ok(InputTable {
        table,
        unique_id,
        match_keys: match_keys(&mapping),
    })
}

/// Resolves the input sources of a workflow of `owner`.
///
/// # Errors
/// `ValidationException` for an unknown ID namespace or schema mapping, a Glue source without
/// a type or schema, a provider-based namespace, or a side left empty.
pub async fn resolve_inputs(
    state: &AppState,
    owner: Scope<'_>,
    sources: &[dto::IdMappingWorkflowInputSource],
) -> AwsResult<ResolvedInputs> {
    let mut out = ResolvedInputs::default();
    for s in sources {
        let arn = &s.input_source_arn;
        let is_namespace = parse_arn(arn)
            .is_some_and(|p| p.service == "entityresolution" && p.resource_type == "idnamespace");
        if is_namespace {
            let ns = namespace_by_arn(state, owner.region, arn)
                .await?
                .ok_or_else(|| {
                    validation(format!(
                        "inputSourceConfig: the ID namespace {arn} does not exist"
                    ))
                })?;
            let ns_owner = parse_arn(arn).map(|p| p.account).unwrap_or_default();
            let ns_scope = Scope {
                account: &ns_owner,
                region: owner.region,
            };
            let side = match ns.r#type {
                dto::IdNamespaceType::Source => &mut out.source,
                dto::IdNamespaceType::Target => &mut out.target,
            };
            side.namespaces.push(arn.clone());
            for p in ns.id_mapping_workflow_properties.iter().flatten() {
                if p.id_mapping_type == dto::IdMappingType::Provider {
                    return Err(provider_unsupported("inputSourceConfig"));
                }
                if let Some(rules) = p
                    .rule_based_properties
                    .as_ref()
                    .and_then(|r| r.rules.as_ref())
                {
                    side.namespace_rules.extend(rules.iter().cloned());
                }
            }
            for i in ns.input_source_config.iter().flatten() {
                side.tables.push(
                    input_table(
                        state,
                        ns_scope,
                        &i.input_source_arn,
                        i.schema_name.as_deref(),
                    )
                    .await?,
                );
            }
        } else {
            let Some(t) = s.r#type else {
                return Err(validation(format!(
                    "inputSourceConfig: the Glue table source {arn} needs a type (SOURCE or TARGET)"
                )));
            };
            let table = input_table(state, owner, arn, s.schema_name.as_deref()).await?;
            match t {
                dto::IdNamespaceType::Source => out.source.tables.push(table),
                dto::IdNamespaceType::Target => out.target.tables.push(table),
            }
        }
    }
    if out.source.tables.is_empty() {
        return Err(validation(
            "inputSourceConfig: a rule-based ID mapping workflow needs a SOURCE input with at least one table",
        ));
    }
    if out.target.tables.is_empty() {
        return Err(validation(
            "inputSourceConfig: a rule-based ID mapping workflow needs a TARGET input with at least one table",
        ));
    }
    Ok(out)
}

/// The rules a rule-based workflow applies: its own, else those of the side its
/// `ruleDefinitionType` names; each rule's keys must be defined on both sides.
///
/// # Errors
/// `ValidationException` when there are no rules or a key is missing on a side.
pub fn effective_rules(
    properties: &dto::IdMappingRuleBasedProperties,
    inputs: &ResolvedInputs,
) -> AwsResult<Vec<dto::Rule>> {
    let rules = match properties.rules.as_ref().filter(|r| !r.is_empty()) {
        Some(r) => r.clone(),
        None => match properties.rule_definition_type {
            dto::IdMappingWorkflowRuleDefinitionType::Source => {
                inputs.source.namespace_rules.clone()
            }
            dto::IdMappingWorkflowRuleDefinitionType::Target => {
                inputs.target.namespace_rules.clone()
            }
        },
    };
    if rules.is_empty() {
        return Err(validation(format!(
            "idMappingTechniques.ruleBasedProperties: no rules — give rules, or define them on the {} ID namespace",
            properties.rule_definition_type.as_str()
        )));
    }
    super::model::check_rules(&rules, "idMappingTechniques.ruleBasedProperties.rules")?;
    for r in &rules {
        for k in &r.matching_keys {
            for (side, name) in [(&inputs.source, "SOURCE"), (&inputs.target, "TARGET")] {
                if let Some(t) = side.tables.iter().find(|t| !t.match_keys.contains_key(k)) {
                    return Err(validation(format!(
                        "Rule {} uses matching key {k}, which the schema mapping of {name} table {}.{} does not define",
                        r.rule_name, t.table.database, t.table.table
                    )));
                }
            }
        }
    }
    Ok(rules)
}
