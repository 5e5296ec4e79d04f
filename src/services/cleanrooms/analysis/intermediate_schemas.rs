//! Intermediate tables as schemas (type `INTERMEDIATE_TABLE`) for ListSchemas, GetSchema,
//! BatchGetSchema and Get/BatchGetSchemaAnalysisRule; `ops::schemas` calls in here.
//!
//! Like every schema they are derived on each read: columns from the latest population's
//! schema, `analysisRuleTypes` `[CUSTOM]` once the rule exists, the owner as creator, and a
//! `NOT_READY` status with the reasons an analysis could not use the table yet (not populated,
//! no rule, disallowed, base table removed, expired, rule looser than the inherited controls).
//! The schema analysis rule shows the owner's rule as `policy` and, as `consolidatedPolicy`,
//! that rule combined with the controls a multi-party table inherits from its base tables.

use crate::services::cleanrooms::analysis::readiness::{
    member_table_schema, schema_summary, status_detail,
};
use crate::services::cleanrooms::domain::collaboration::Collaboration;
use crate::services::cleanrooms::domain::configured_table::{ANY_JOB, ANY_QUERY};
use crate::services::cleanrooms::domain::intermediate_table::{
    IntermediateTable, IntermediateTableRule,
};
use crate::services::cleanrooms::domain::lineage::{effective_policy, inherited_violation};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::records::intermediate_tables::intermediate_tables_of_collaboration;
use cleanrooms_emulator_api::cleanrooms::dto;

use crate::error::AwsResult;
use crate::state::AppState;

type Code = dto::SchemaStatusReasonCode;

fn reason(code: Code, message: String) -> dto::SchemaStatusReason {
    dto::SchemaStatusReason { code, message }
}

/// The status entries of an intermediate table's schema at `now` (spec §3.5).
pub fn status_details(
    t: &IntermediateTable,
    rule: Option<&IntermediateTableRule>,
    now: f64,
) -> Vec<dto::SchemaStatusDetail> {
    use dto::IntermediateTableStatus as S;
    let name = &t.name;
    let mut common = Vec::new();
    match t.status {
        S::DisallowedByDataProvider => common.push(reason(
            Code::IntermediateTableDisallowedByDataProvider,
            format!("Intermediate table '{name}' was disallowed by a data provider"),
        )),
        S::BaseTableRemoved => common.push(reason(
            Code::IntermediateTableBaseTableRemoved,
            format!(
                "A base table of intermediate table '{name}' was removed from the collaboration"
            ),
        )),
        S::RetentionPeriodExpired => common.push(reason(
            Code::IntermediateTableRetentionPeriodExpired,
            format!("Intermediate table '{name}' expired; populate it again"),
        )),
        S::Created | S::PopulateStarted | S::PopulateSuccess | S::PopulateFailed => {
            match &t.active {
                None => common.push(reason(
                    Code::IntermediateTableNotPopulated,
                    format!("Intermediate table '{name}' has not been populated successfully"),
                )),
                Some(v) if v.expiration_time <= now => common.push(reason(
                    Code::IntermediateTableRetentionPeriodExpired,
                    format!("Intermediate table '{name}' expired; populate it again"),
                )),
                Some(_) => {}
            }
        }
    }
    let custom = rule.map(IntermediateTableRule::custom);
    let Some(custom) = custom else {
        common.push(reason(
            Code::IntermediateTableAnalysisRuleMissing,
            format!("Intermediate table '{name}' has no analysis rule"),
        ));
        return vec![status_detail(
            dto::AnalysisType::DirectAnalysis,
            None,
            false,
            common,
        )];
    };
    let analyses = custom.allowed_analyses.as_deref().unwrap_or(&[]);
    if analyses.is_empty() {
        common.push(reason(
            Code::AnalysisTemplatesNotConfigured,
            format!("The analysis rule of intermediate table '{name}' allows no analyses"),
        ));
    }
    if analyses.iter().any(|a| a == ANY_QUERY || a == ANY_JOB)
        && custom
            .allowed_analysis_providers
            .as_ref()
            .is_none_or(|p| p.is_empty())
    {
        common.push(reason(
            Code::AnalysisProvidersNotConfigured,
            format!(
                "The analysis rule of intermediate table '{name}' allows any query but names no analysis providers"
            ),
        ));
    }
    let binding = t.active.as_ref().and_then(|v| v.binding_inherited());
    if let Some(inherited) = binding {
        if let Some(problem) = inherited_violation(custom, inherited) {
            common.push(reason(
                Code::IntermediateTableInheritedConstraintsViolated,
                format!("The analysis rule of intermediate table '{name}' is looser than the controls it inherits: {problem}"),
            ));
        }
    }
    let effective = effective_policy(custom, binding);
    let dp = custom.differential_privacy.is_some();
    let mut direct = common.clone();
    if effective.additional_analyses == Some(dto::AdditionalAnalyses::Required) {
        direct.push(reason(
            Code::ResultReceiversNotAllowed,
            format!("Intermediate table '{name}' requires additional analyses"),
        ));
    }
    if effective
        .allowed_result_receivers
        .as_ref()
        .is_some_and(|r| r.is_empty())
    {
        direct.push(reason(
            Code::ResultReceiversNotConfigured,
            format!("No member may receive results of analyses of intermediate table '{name}'"),
        ));
    }
    let entry = |analysis_type, reasons| {
        status_detail(
            analysis_type,
            Some(dto::AnalysisRuleType::Custom),
            dp,
            reasons,
        )
    };
    let mut out = vec![entry(dto::AnalysisType::DirectAnalysis, direct)];
    if matches!(
        effective.additional_analyses,
        Some(dto::AdditionalAnalyses::Allowed | dto::AdditionalAnalyses::Required)
    ) {
        let mut extra = common;
        if effective
            .allowed_additional_analyses
            .as_ref()
            .is_none_or(|a| a.is_empty())
        {
            extra.push(reason(
                Code::AdditionalAnalysesNotConfigured,
                format!("The analysis rule of intermediate table '{name}' allows no additional analyses"),
            ));
        }
        out.push(entry(dto::AnalysisType::AdditionalAnalysis, extra));
    }
    out
}

async fn schema(
    state: &AppState,
    c: &Collaboration,
    t: &IntermediateTable,
) -> AwsResult<dto::Schema> {
    let rule = records::load::<IntermediateTableRule>(state, &t.header.id).await?;
    let properties = dto::IntermediateTableSchemaTypeProperties {
        intermediate_table_id: t.header.id.clone(),
    };
    Ok(
        member_table_schema!(c, t, dto::SchemaTypeProperties::IntermediateTable(properties) => {
            analysis_method: None,
            analysis_rule_types: if t.has_rule {
                vec![dto::AnalysisRuleType::Custom]
            } else {
                Vec::new()
            },
            columns: t.schema.clone().unwrap_or_default(),
            resource_arn: None,
            schema_status_details: status_details(t, rule.as_ref(), state.now()),
        }),
    )
}

/// The summaries of the collaboration's intermediate-table schemas after position `after`,
/// with their sequence numbers, in creation order.
///
/// # Errors
/// Store failures.
pub async fn summaries(
    state: &AppState,
    c: &Collaboration,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, dto::SchemaSummary)>> {
    let mut out = Vec::new();
    for (seq, t) in collaboration_children::<IntermediateTable>(state, &c.id).await? {
        if after.is_some_and(|a| seq <= a) {
            continue;
        }
        out.push((seq, schema_summary(schema(state, c, &t).await?)));
    }
    Ok(out)
}

async fn named(
    state: &AppState,
    c: &Collaboration,
    name: &str,
) -> AwsResult<Option<IntermediateTable>> {
    let name = name.trim().to_lowercase();
    Ok(intermediate_tables_of_collaboration(state, &c.id)
        .await?
        .into_iter()
        .find(|t| t.name == name))
}

/// The schema of the collaboration's intermediate table named `name`, if there is one.
///
/// # Errors
/// Store failures.
pub async fn schema_named(
    state: &AppState,
    c: &Collaboration,
    name: &str,
) -> AwsResult<Option<dto::Schema>> {
    match named(state, c, name).await? {
        Some(t) => Ok(Some(schema(state, c, &t).await?)),
        None => Ok(None),
    }
}

/// The CUSTOM schema analysis rule of the intermediate table named `name`, if it has one (the
/// only type an intermediate table has): the owner's rule as `policy`, combined with the
/// inherited controls as `consolidatedPolicy`.
///
/// # Errors
/// Store failures.
pub async fn custom_rule_named(
    state: &AppState,
    c: &Collaboration,
    name: &str,
) -> AwsResult<Option<dto::AnalysisRule>> {
    let Some(t) = named(state, c, name).await? else {
        return Ok(None);
    };
    let Some(rule) = records::load::<IntermediateTableRule>(state, &t.header.id).await? else {
        return Ok(None);
    };
    let mine = rule.custom();
    let merged = effective_policy(mine, t.active.as_ref().and_then(|v| v.binding_inherited()));
    let policy = dto::AnalysisRuleCustom {
        additional_analyses: mine.additional_analyses,
        aggregation_thresholds: mine.aggregation_thresholds.clone(),
        allowed_additional_analyses: mine.allowed_additional_analyses.clone(),
        allowed_analyses: mine.allowed_analyses.clone().unwrap_or_default(),
        allowed_analysis_providers: mine.allowed_analysis_providers.clone(),
        allowed_result_receivers: mine.allowed_result_receivers.clone(),
        comparison_controls: mine.comparison_controls.clone(),
        differential_privacy: mine.differential_privacy.clone(),
        disallowed_output_columns: mine.disallowed_output_columns.clone(),
    };
    let consolidated = dto::ConsolidatedPolicyCustom {
        additional_analyses: merged.additional_analyses,
        aggregation_thresholds: merged.aggregation_thresholds,
        allowed_additional_analyses: merged.allowed_additional_analyses,
        allowed_analyses: merged.allowed_analyses.unwrap_or_default(),
        allowed_analysis_providers: merged.allowed_analysis_providers,
        allowed_result_receivers: merged.allowed_result_receivers,
        comparison_controls: merged.comparison_controls,
        differential_privacy: merged.differential_privacy,
        disallowed_output_columns: merged.disallowed_output_columns,
    };
    Ok(Some(dto::AnalysisRule {
        collaboration_id: c.id.clone(),
        collaboration_policy: None,
        consolidated_policy: Some(dto::ConsolidatedPolicy::V1(
            dto::ConsolidatedPolicyV1::Custom(consolidated),
        )),
        create_time: rule.create_time,
        name: t.name.clone(),
        policy: dto::AnalysisRulePolicy::V1(dto::AnalysisRulePolicyV1::Custom(policy)),
        r#type: dto::AnalysisRuleType::Custom,
        update_time: rule.update_time,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::cleanrooms::domain::lineage::tests::{active_version, table};

    fn codes(details: &[dto::SchemaStatusDetail]) -> Vec<(dto::AnalysisType, Vec<Code>)> {
        details
            .iter()
            .map(|d| {
                let mut codes: Vec<Code> = d.reasons.iter().flatten().map(|r| r.code).collect();
                codes.sort_by_key(|c| c.as_str());
                (d.analysis_type, codes)
            })
            .collect()
    }

    fn populated(first_party: bool, expires: f64) -> IntermediateTable {
        let mut t = table("t", "t", "111111111111", Vec::new());
        t.status = dto::IntermediateTableStatus::PopulateSuccess;
        t.has_rule = true;
        t.active = Some(active_version(first_party, expires));
        t
    }

    fn rule(custom: dto::IntermediateTableAnalysisRuleCustom) -> IntermediateTableRule {
        IntermediateTableRule {
            table_id: "t".into(),
            table_arn: String::new(),
            policy: dto::IntermediateTableAnalysisRulePolicy::V1(
                dto::IntermediateTableAnalysisRulePolicyV1::Custom(custom),
            ),
            create_time: 0.0,
            update_time: 0.0,
        }
    }

    use crate::services::cleanrooms::domain::lineage::tests::any_query_custom as any_query;

    #[test]
    fn a_populated_table_with_a_rule_is_ready_until_it_expires() {
        let t = populated(true, 100.0);
        let r = rule(any_query());
        let details = status_details(&t, Some(&r), 50.0);
        assert_eq!(
            codes(&details),
            vec![(dto::AnalysisType::DirectAnalysis, vec![])]
        );
        assert_eq!(details[0].status, dto::SchemaStatus::Ready);
        assert_eq!(
            details[0].analysis_rule_type,
            Some(dto::AnalysisRuleType::Custom)
        );
        // A first-party owner's rule is not combined with what the table inherits.
        assert_eq!(details.len(), 1);
        let details = status_details(&populated(false, 100.0), Some(&r), 50.0);
        assert_eq!(
            codes(&details),
            vec![
                (dto::AnalysisType::DirectAnalysis, vec![]),
                (dto::AnalysisType::AdditionalAnalysis, vec![]),
            ],
            "the inherited ALLOWED additional analyses (with allowed ARNs) bind a multi-party table"
        );
        let details = status_details(&t, Some(&r), 100.0);
        assert_eq!(
            codes(&details)[0].1,
            vec![Code::IntermediateTableRetentionPeriodExpired]
        );
    }

    #[test]
    fn a_multi_party_rule_looser_than_its_inherited_controls_is_not_ready() {
        let t = populated(false, 100.0);
        let mut custom = any_query();
        custom.allowed_result_receivers = Some(vec!["333333333333".into()]);
        let details = status_details(&t, Some(&rule(custom.clone())), 50.0);
        assert!(codes(&details)[0]
            .1
            .contains(&Code::IntermediateTableInheritedConstraintsViolated));
        // The same rule on a first-party table is fine.
        let details = status_details(&populated(true, 100.0), Some(&rule(custom)), 50.0);
        assert!(!codes(&details)[0]
            .1
            .contains(&Code::IntermediateTableInheritedConstraintsViolated));
    }

    #[test]
    fn a_refresh_keeps_the_previous_version_usable() {
        let mut t = populated(true, 100.0);
        t.status = dto::IntermediateTableStatus::PopulateStarted;
        t.populating = Some("v2".into());
        let details = status_details(&t, Some(&rule(any_query())), 50.0);
        assert_eq!(details[0].status, dto::SchemaStatus::Ready);
        t.active = None;
        let details = status_details(&t, None, 50.0);
        assert_eq!(
            codes(&details)[0].1,
            vec![
                Code::IntermediateTableAnalysisRuleMissing,
                Code::IntermediateTableNotPopulated
            ]
        );
    }
}
