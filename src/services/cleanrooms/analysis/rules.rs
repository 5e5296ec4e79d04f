//! Analysis rule controls enforced on an analysis (mostly CUSTOM rules): which analyses and providers a table allows,
//! who may receive results, which columns may not reach the output (decided on the plan's
//! column lineage), and the deferred controls an intermediate table inherits when populated.
//! Every rejection names the table, the rule and the column or account at fault.

use crate::services::cleanrooms::analysis::tables::{intersect, AnalysisTable, RuleKind};
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::configured_table::{ANY_JOB, ANY_QUERY};
use crate::services::cleanrooms::errors::{invalid_configuration, invalid_query};
use std::collections::{BTreeMap, BTreeSet};

use cleanrooms_emulator_api::cleanrooms::dto;

use crate::engine::policy::OutputColumn;
use crate::error::{AwsError, AwsResult};

/// Who runs what.
#[derive(Debug, Clone, Copy)]
pub struct Analysis<'a> {
    /// Account running the analysis.
    pub runner: &'a str,
    /// The template run, if any (else ad-hoc SQL).
    pub template: Option<&'a AnalysisTemplate>,
}

/// Rejects tables that cannot be analysed at all: no analysis rule.
pub fn check_usable(table: &AnalysisTable) -> AwsResult<()> {
    if table.controls.rule == RuleKind::Missing {
        return Err(invalid_configuration(format!(
            "Table '{}' has no analysis rule and cannot be used in an analysis",
            table.name
        )));
    }
    Ok(())
}

/// A table whose schema is NOT_READY for direct analysis cannot be read by a query.
pub fn check_ready(table: &AnalysisTable, reasons: &[dto::SchemaStatusReason]) -> AwsResult<()> {
    if reasons.is_empty() {
        return Ok(());
    }
    let why: Vec<String> = reasons
        .iter()
        .map(|r| format!("{}: {}", r.code.as_str(), r.message))
        .collect();
    Err(invalid_configuration(format!(
        "Table '{}' is not ready for direct analysis (schema status NOT_READY) — {}",
        table.name,
        why.join("; ")
    )))
}

/// `allowedAnalyses` / `allowedAnalysisProviders` of one table against the analysis.
pub fn check_allowed_analysis(table: &AnalysisTable, analysis: Analysis<'_>) -> AwsResult<()> {
    let c = &table.controls;
    if c.rule == RuleKind::IdMappingTable {
        // The managed rule admits any analysis the other tables' rules admit.
        return Ok(());
    }
    if c.rule != RuleKind::Custom {
        // AGGREGATION and LIST tables admit ad-hoc queries of their shape, not templates.
        if let Some(t) = analysis.template {
            return Err(invalid_query(format!(
                "Analysis template {} cannot run on table '{}': it has a {} analysis rule, and analysis templates only run on tables with CUSTOM analysis rules",
                t.header.arn,
                table.name,
                c.rule.as_str()
            )));
        }
        return Ok(());
    }
    let providers_allow =
        |account: &str| c.allowed_providers.iter().flatten().any(|a| a == account);
    let any_query = c.allowed_analyses.iter().flatten().any(|x| x == ANY_QUERY);
    match analysis.template {
        None => {
            if !any_query {
                return Err(invalid_query(format!(
                    "The analysis rule of table '{}' does not allow ad-hoc queries (allowedAnalyses does not contain ANY_QUERY); run one of its allowed analysis templates",
                    table.name
                )));
            }
            if !providers_allow(analysis.runner) {
                return Err(invalid_query(format!(
                    "Account {} is not an allowed analysis provider of table '{}' (allowedAnalysisProviders)",
                    analysis.runner, table.name
                )));
            }
        }
        Some(t) => {
            let listed = c
                .allowed_analyses
                .as_ref()
                .is_some_and(|a| a.iter().any(|x| x == &t.header.arn));
            let allowed = listed || (any_query && providers_allow(&t.header.account_id));
            if !allowed {
                return Err(invalid_query(format!(
                    "Analysis template {} is not allowed by the analysis rule of table '{}'",
                    t.header.arn, table.name
                )));
            }
        }
    }
    Ok(())
}

/// Whether `table` lets PySpark template `template` run as a protected job: only CUSTOM rules
/// admit jobs, and then the template's ARN must be listed in `allowedAnalyses`, or `ANY_JOB`
/// listed with the template's author among `allowedAnalysisProviders`.
pub fn check_allowed_job(table: &AnalysisTable, template: &AnalysisTemplate) -> AwsResult<()> {
    let c = &table.controls;
    if c.rule != RuleKind::Custom {
        return Err(invalid_configuration(format!(
            "Analysis template {} cannot run on table '{}': it has a {} analysis rule, and PySpark jobs only run on tables with CUSTOM analysis rules",
            template.header.arn,
            table.name,
            c.rule.as_str()
        )));
    }
    let allowed = c.allowed_analyses.iter().flatten();
    let listed = allowed.clone().any(|x| x == &template.header.arn);
    let any_job = allowed.clone().any(|x| x == ANY_JOB);
    let provider = c
        .allowed_providers
        .iter()
        .flatten()
        .any(|a| a == &template.header.account_id);
    if listed || (any_job && provider) {
        return Ok(());
    }
    Err(invalid_configuration(format!(
        "Analysis template {} is not allowed by the analysis rule of table '{}' (allowedAnalyses lists neither the template nor ANY_JOB with its author {} among allowedAnalysisProviders)",
        template.header.arn, table.name, template.header.account_id
    )))
}

/// The accounts allowed to receive results of analyses over `table` (`None` = unrestricted).
pub fn effective_receivers(table: &AnalysisTable) -> Option<Vec<String>> {
    table.controls.receivers.clone()
}

/// Every receiver must be allowed by every table.
pub fn check_receivers(tables: &[AnalysisTable], receivers: &[String]) -> AwsResult<()> {
    for t in tables {
        if let Some(allowed) = effective_receivers(t) {
            if let Some(r) = receivers.iter().find(|r| !allowed.contains(r)) {
                return Err(invalid_configuration(format!(
                    "Account {r} is not an allowed result receiver of table '{}' (allowed: {})",
                    t.name,
                    if allowed.is_empty() {
                        "none".to_string()
                    } else {
                        allowed.join(", ")
                    }
                )));
            }
        }
    }
    Ok(())
}

/// Direct results are refused when a table must only feed additional analyses.
pub fn check_direct_results(tables: &[AnalysisTable]) -> AwsResult<()> {
    for t in tables {
        if effective_additional(t) == Some(dto::AdditionalAnalyses::Required) {
            return Err(invalid_configuration(format!(
                "Table '{}' may only be used in additional analyses (additionalAnalyses is REQUIRED); its results cannot be returned directly",
                t.name
            )));
        }
    }
    Ok(())
}

fn restrictiveness(a: dto::AdditionalAnalyses) -> u8 {
    match a {
        dto::AdditionalAnalyses::NotAllowed => 0,
        dto::AdditionalAnalyses::Allowed => 1,
        dto::AdditionalAnalyses::Required => 2,
    }
}

fn stricter(
    a: Option<dto::AdditionalAnalyses>,
    b: Option<dto::AdditionalAnalyses>,
) -> Option<dto::AdditionalAnalyses> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if restrictiveness(x) >= restrictiveness(y) {
            x
        } else {
            y
        }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn effective_additional(t: &AnalysisTable) -> Option<dto::AdditionalAnalyses> {
    t.controls.additional_analyses
}

/// Columns of `table` that may not reach an output (for intermediate tables, its rule's and the
/// inherited ones that bind it).
pub fn effective_disallowed(table: &AnalysisTable) -> BTreeSet<String> {
    table
        .controls
        .disallowed_columns
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// No output column may derive from a disallowed column.
pub fn check_disallowed_columns(
    tables: &[AnalysisTable],
    lineage: &[OutputColumn],
) -> AwsResult<()> {
    for out in lineage {
        for src in &out.sources {
            let Some(t) = tables.iter().find(|t| t.name == src.table) else {
                continue;
            };
            if effective_disallowed(t).contains(&src.column.to_ascii_lowercase()) {
                let how = if out.name.eq_ignore_ascii_case(&src.column) {
                    String::new()
                } else {
                    format!(" (output column '{}' derives from it)", out.name)
                };
                return Err(invalid_query(format!(
                    "Column '{}' of table '{}' is a disallowed output column and cannot appear in the query output{how}",
                    src.column, t.name
                )));
            }
        }
    }
    Ok(())
}

/// The deferred controls an intermediate table inherits from the base tables a population
/// read, mapped onto its output columns; and whether all of them (transitively) belong to
/// `owner`.
pub fn capture_inherited(
    tables: &[AnalysisTable],
    lineage: &[OutputColumn],
    owner: &str,
) -> (dto::IntermediateTableInheritedConstraints, bool) {
    let mut inherited = dto::IntermediateTableInheritedConstraints::default();
    // The `$shape` entry naming table `$t` as a source of `$value`.
    macro_rules! source {
        ($shape:ident, $t:expr, $value:expr) => {
            dto::$shape {
                id: $t.id.clone(),
                name: $t.name.clone(),
                source_account_id: $t.owner.clone(),
                r#type: $t.kind,
                value: $value,
            }
        };
    }

    let mut receivers: Option<Vec<String>> = None;
    let mut receiver_sources = Vec::new();
    let mut additional_analyses: Option<Vec<String>> = None;
    let mut additional_sources = Vec::new();
    let mut strictest: Option<dto::AdditionalAnalyses> = None;
    let mut strictest_sources = Vec::new();
    for t in tables {
        if let Some(r) = effective_receivers(t) {
            receivers = intersect(receivers, Some(&r));
            receiver_sources.push(source!(InheritedAllowedResultReceiversSource, t, r));
        }
        if let Some(a) = t.controls.allowed_additional_analyses.clone() {
            additional_analyses = intersect(additional_analyses, Some(&a));
            additional_sources.push(source!(InheritedAllowedAdditionalAnalysesSource, t, a));
        }
        if let Some(v) = effective_additional(t) {
            strictest = stricter(strictest, Some(v));
            strictest_sources.push(source!(InheritedAdditionalAnalysesSource, t, v));
        }
    }
    if let Some(value) = receivers {
        inherited.allowed_result_receivers = Some(dto::InheritedAllowedResultReceivers {
            sources: receiver_sources,
            value,
        });
    }
    if let Some(value) = additional_analyses {
        inherited.allowed_additional_analyses = Some(dto::InheritedAllowedAdditionalAnalyses {
            sources: additional_sources,
            value,
        });
    }
    if let Some(value) = strictest {
        inherited.additional_analyses = Some(dto::InheritedAdditionalAnalyses {
            sources: strictest_sources,
            value,
        });
    }

    let disallowed: BTreeMap<&str, BTreeSet<String>> = tables
        .iter()
        .map(|t| (t.name.as_str(), effective_disallowed(t)))
        .collect();
    let mut columns = Vec::new();
    let mut entries = Vec::new();
    for out in lineage {
        for src in &out.sources {
            let Some(t) = tables.iter().find(|t| t.name == src.table) else {
                continue;
            };
            if disallowed
                .get(t.name.as_str())
                .is_some_and(|d| d.contains(&src.column.to_ascii_lowercase()))
            {
                if !columns.contains(&out.name) {
                    columns.push(out.name.clone());
                }
                entries.push(dto::ColumnLineageEntry {
                    column: out.name.clone(),
                    source_account_id: t.owner.clone(),
                    source_column: src.column.clone(),
                    source_id: t.id.clone(),
                    source_name: t.name.clone(),
                    source_type: t.kind,
                });
            }
        }
    }
    if !columns.is_empty() {
        inherited.disallowed_output_columns = Some(dto::InheritedDisallowedOutputColumns {
            column_lineage: entries,
            value: columns,
        });
    }

    let first_party = tables
        .iter()
        .all(|t| t.owner == owner && t.dependencies.iter().all(|d| d.creator_account_id == owner));
    (inherited, first_party)
}

/// An error for a table name the collaboration does not have.
pub fn unknown_table(name: &str) -> AwsError {
    invalid_query(format!(
        "Table '{name}' is not a table of this collaboration (use the name of a configured table association or an intermediate table)"
    ))
}
