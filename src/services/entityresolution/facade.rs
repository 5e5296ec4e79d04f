//! What other services may ask of Entity Resolution: an ID namespace or ID mapping workflow by
//! ARN, and the run of a rule-based ID mapping workflow (its input tables and the SQL that
//! matches them), which Clean Rooms uses to populate ID mapping tables.

use cleanrooms_emulator_api::entityresolution::dto;

use super::matching;
use super::model::{kinds, parse_arn, GlueTableRef, StoredIdMappingWorkflow};
use super::repo::{self, Scope};
use super::resolve::{effective_rules, namespace_by_arn, resolve_inputs, InputTable};
use crate::error::AwsResult;
use crate::state::AppState;

pub use super::matching::{SOURCE_ID_COLUMN, TARGET_ID_COLUMN};

/// The two kinds of ID namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceType {
    /// Records to map from.
    Source,
    /// Records to map to.
    Target,
}

/// An ID namespace as other services see it.
#[derive(Debug, Clone)]
pub struct IdNamespace {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The owning account.
    pub account: String,
    /// SOURCE or TARGET.
    pub namespace_type: NamespaceType,
    /// The ID mapping types it supports (`RULE_BASED`, `PROVIDER`).
    pub id_mapping_types: Vec<String>,
}

/// The ID namespace `arn` in `region` (of any account), if it exists.
///
/// # Errors
/// Store failures.
pub async fn id_namespace(
    state: &AppState,
    region: &str,
    arn: &str,
) -> AwsResult<Option<IdNamespace>> {
    let Some(ns) = namespace_by_arn(state, region, arn).await? else {
        return Ok(None);
    };
    Ok(Some(IdNamespace {
        arn: ns.id_namespace_arn.clone(),
        name: ns.id_namespace_name.clone(),
        account: parse_arn(arn).map(|p| p.account).unwrap_or_default(),
        namespace_type: match ns.r#type {
            dto::IdNamespaceType::Source => NamespaceType::Source,
            dto::IdNamespaceType::Target => NamespaceType::Target,
        },
        id_mapping_types: ns
            .id_mapping_workflow_properties
            .iter()
            .flatten()
            .map(|p| p.id_mapping_type.as_str().to_string())
            .collect(),
    }))
}

/// An ID mapping workflow as other services see it.
#[derive(Debug, Clone)]
pub struct IdMappingWorkflow {
    /// Its ARN.
    pub arn: String,
    /// The owning account.
    pub account: String,
    /// The ID namespace ARNs among its input sources.
    pub namespaces: Vec<String>,
}

/// The ID mapping workflow `arn` in `region` (of any account), if it exists.
///
/// # Errors
/// Store failures.
pub async fn id_mapping_workflow(
    state: &AppState,
    region: &str,
    arn: &str,
) -> AwsResult<Option<IdMappingWorkflow>> {
    let Some((w, account)) = workflow(state, region, arn).await? else {
        return Ok(None);
    };
    Ok(Some(IdMappingWorkflow {
        arn: w.workflow_arn.clone(),
        account,
        namespaces: w
            .input_source_config
            .iter()
            .filter(|s| {
                parse_arn(&s.input_source_arn).is_some_and(|p| p.resource_type == "idnamespace")
            })
            .map(|s| s.input_source_arn.clone())
            .collect(),
    }))
}

async fn workflow(
    state: &AppState,
    region: &str,
    arn: &str,
) -> AwsResult<Option<(StoredIdMappingWorkflow, String)>> {
    let Some(p) = parse_arn(arn) else {
        return Ok(None);
    };
    if p.service != "entityresolution"
        || p.resource_type != "idmappingworkflow"
        || p.region != region
    {
        return Ok(None);
    }
    let scope = Scope {
        account: &p.account,
        region: &p.region,
    };
    Ok(
        repo::find(state, scope, kinds::ID_MAPPING_WORKFLOW, &p.path)
            .await?
            .map(|w| (w, p.account.clone())),
    )
}

/// One Glue table a mapping run reads, with the name the SQL refers to it by.
#[derive(Debug, Clone)]
pub struct MappingInput {
    /// The name to register the table under.
    pub registered_name: String,
    /// The Glue table.
    pub table: GlueTableRef,
}

/// A rule-based ID mapping ready to run: register each input, run the SQL, and its result is
/// the mapping (columns [`SOURCE_ID_COLUMN`], [`TARGET_ID_COLUMN`]).
#[derive(Debug, Clone)]
pub struct MappingRun {
    /// The tables to register.
    pub inputs: Vec<MappingInput>,
    /// The matching query.
    pub sql: String,
}

/// The run of ID mapping workflow `arn` as it is configured now.
///
/// # Errors
/// `ResourceNotFoundException` when the workflow is gone; `ValidationException` when its inputs
/// or rules no longer resolve (a deleted namespace or schema mapping, a missing key).
pub async fn mapping_run(state: &AppState, region: &str, arn: &str) -> AwsResult<MappingRun> {
    let Some((w, account)) = workflow(state, region, arn).await? else {
        return Err(super::errors::not_found(format!(
            "The ID mapping workflow {arn} does not exist"
        )));
    };
    let scope = Scope {
        account: &account,
        region,
    };
    let inputs = resolve_inputs(state, scope, &w.input_source_config).await?;
    let Some(rb) = &w.id_mapping_techniques.rule_based_properties else {
        return Err(super::model::provider_unsupported("idMappingTechniques"));
    };
    let rules = effective_rules(rb, &inputs)?;
    let name = |side: &str, i: usize| format!("idmapping_{side}_{i}");
    let source: Vec<(String, &InputTable)> = inputs
        .source
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (name("source", i), t))
        .collect();
    let target: Vec<(String, &InputTable)> = inputs
        .target
        .tables
        .iter()
        .enumerate()
        .map(|(i, t)| (name("target", i), t))
        .collect();
    let sql = matching::mapping_sql(
        &source,
        &target,
        &rules,
        rb.attribute_matching_model,
        rb.record_matching_model,
    );
    let inputs = source
        .iter()
        .chain(target.iter())
        .map(|(n, t)| MappingInput {
            registered_name: n.clone(),
            table: t.table.clone(),
        })
        .collect();
    Ok(MappingRun { inputs, sql })
}
