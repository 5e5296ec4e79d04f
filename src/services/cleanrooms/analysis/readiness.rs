//! Whether a configured table association's schema is ready for analysis: the parts a schema is
//! derived from and its status details (spec §3.5), shared by the schema operations and by the
//! analysis pipeline, which refuses direct analysis of a schema that is not READY.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::association::{
    policy_parts, Association, AssociationRule,
};
use crate::services::cleanrooms::domain::configured_table::{ConfiguredTable, ConfiguredTableRule};
use crate::services::cleanrooms::domain::summary::summary_of;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::budgets::has_differential_privacy_template;
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;

type Code = dto::SchemaStatusReasonCode;

/// What a schema is derived from.
pub struct Parts {
    /// The association the schema is.
    pub association: Association,
    /// Its configured table.
    pub table: ConfiguredTable,
    /// The configured table's analysis rule, if any.
    pub rule: Option<ConfiguredTableRule>,
    /// The association's collaboration analysis rules.
    pub association_rules: Vec<AssociationRule>,
    /// Whether the collaboration has a DIFFERENTIAL_PRIVACY budget template (only looked up
    /// when the table's rule enables differential privacy).
    pub dp_policy_configured: bool,
}

impl Parts {
    /// The association's collaboration analysis rule of the configured table rule's type, if
    /// the table has a rule and the association one of that type.
    pub fn matching_association_rule(&self) -> Option<&AssociationRule> {
        let rule = self.rule.as_ref()?;
        self.association_rules
            .iter()
            .find(|r| r.rule_type.as_str() == rule.rule_type.as_str())
    }
}

/// Whether a configured table rule turns on differential privacy.
fn uses_differential_privacy(rule: &ConfiguredTableRule) -> bool {
    let dto::ConfiguredTableAnalysisRulePolicy::V1(v1) = &rule.policy;
    matches!(v1, dto::ConfiguredTableAnalysisRulePolicyV1::Custom(c) if c.differential_privacy.is_some())
}

/// What the schema of `association` is derived from; `None` when its configured table is gone.
pub async fn parts_of(state: &AppState, association: Association) -> AwsResult<Option<Parts>> {
    let Some(record) =
        records::record::<ConfiguredTable>(state, &association.configured_table_id).await?
    else {
        return Ok(None);
    };
    let table: ConfiguredTable = records::decode(&record)?;
    let rule = records::load::<ConfiguredTableRule>(state, &table.id).await?;
    let mut association_rules = Vec::new();
    for t in &association.analysis_rule_types {
        if let Some(r) = records::record::<AssociationRule>(
            state,
            &AssociationRule::record_id(&association.header.id, *t),
        )
        .await?
        {
            association_rules.push(records::decode(&r)?);
        }
    }
    let dp_policy_configured = match &rule {
        Some(r) if uses_differential_privacy(r) => {
            has_differential_privacy_template(state, &association.header.collaboration_id).await?
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

/// The schema analysis rule type of a configured table rule type.
pub fn rule_type(t: dto::ConfiguredTableAnalysisRuleType) -> dto::AnalysisRuleType {
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
pub fn status_details(p: &Parts) -> Vec<dto::SchemaStatusDetail> {
    let name = &p.association.name;
    let Some(rule) = &p.rule else {
        return vec![status_detail(
            dto::AnalysisType::DirectAnalysis,
            None,
            false,
            vec![reason(
                Code::AnalysisRuleMissing,
                format!(
                    "Configured table '{}' of table '{name}' has no analysis rule",
                    p.table.name
                ),
            )],
        )];
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
                p.association.header.collaboration_id
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
    let matching = p.matching_association_rule();
    let (receivers, allowed_additional) = match matching.map(|m| policy_parts(&m.policy)) {
        Some((_, receivers, analyses)) => {
            (receivers.unwrap_or_default(), analyses.unwrap_or_default())
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
    let entry =
        |analysis_type, reasons| status_detail(analysis_type, Some(table_type), dp, reasons);
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
    let Some(record) = records::record::<Association>(state, association_id).await? else {
        return Ok(Vec::new());
    };
    let Some(parts) = parts_of(state, records::decode(&record)?).await? else {
        return Ok(Vec::new());
    };
    Ok(status_details(&parts)
        .into_iter()
        .find(|d| d.analysis_type == dto::AnalysisType::DirectAnalysis)
        .and_then(|d| d.reasons)
        .unwrap_or_default())
}

/// One entry of a schema's `schemaStatusDetails`: analyses of `analysis_type` under the
/// `analysis_rule_type` rule (if any), with differential privacy or not, are `READY` when no
/// reason stands in their way, else `NOT_READY` with the `reasons`.
pub fn status_detail(
    analysis_type: dto::AnalysisType,
    analysis_rule_type: Option<dto::AnalysisRuleType>,
    differential_privacy: bool,
    reasons: Vec<dto::SchemaStatusReason>,
) -> dto::SchemaStatusDetail {
    dto::SchemaStatusDetail {
        analysis_rule_type,
        analysis_type,
        configurations: differential_privacy
            .then(|| vec![dto::SchemaConfiguration::DifferentialPrivacy]),
        status: if reasons.is_empty() {
            dto::SchemaStatus::Ready
        } else {
            dto::SchemaStatus::NotReady
        },
        reasons: (!reasons.is_empty()).then_some(reasons),
    }
}

/// The schema type that a schema's type `properties` describe.
pub fn schema_type(properties: &dto::SchemaTypeProperties) -> dto::SchemaType {
    match properties {
        dto::SchemaTypeProperties::ConfiguredTableAssociation(_) => dto::SchemaType::Table,
        dto::SchemaTypeProperties::IdMappingTable(_) => dto::SchemaType::IdMappingTable,
        dto::SchemaTypeProperties::IntermediateTable(_) => dto::SchemaType::IntermediateTable,
    }
}

/// The `Schema` of table `$t` that a member created in collaboration `$c` (an intermediate or
/// an ID mapping table: a resource with a `ChildHeader`): the collaboration, the creator, the
/// name, the description and the times filled in, the parts that depend on the kind of table
/// as written; its type follows from its type `$properties`.
macro_rules! member_table_schema {
    ($c:expr, $t:expr, $properties:expr => { $($rest:tt)* }) => {{
        let properties = $properties;
        cleanrooms_emulator_api::cleanrooms::dto::Schema {
            collaboration_arn: $c.arn.clone(),
            collaboration_id: $c.id.clone(),
            create_time: $t.create_time,
            creator_account_id: $t.header.account_id.clone(),
            description: $t.description.clone().unwrap_or_default(),
            name: $t.name.clone(),
            partition_keys: Vec::new(),
            selected_analysis_methods: None,
            update_time: $t.update_time,
            r#type: $crate::services::cleanrooms::analysis::readiness::schema_type(&properties),
            schema_type_properties: Some(properties),
            $($rest)*
        }
    }};
}
pub(crate) use member_table_schema;

/// The `SchemaSummary` of a schema.
pub fn schema_summary(s: dto::Schema) -> dto::SchemaSummary {
    summary_of!(s => dto::SchemaSummary {
        analysis_method, analysis_rule_types, collaboration_arn, collaboration_id, create_time,
        creator_account_id, name, resource_arn, selected_analysis_methods, r#type, update_time,
    })
}
