//! Configured tables and their analysis rules as stored, and the pure rules about rule policies
//! (the policy's type, the `allowedAnalyses` wildcards, the size quota).

use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A configured table as stored (account-level).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfiguredTable {
    /// UUID.
    pub id: String,
    /// `arn:aws:cleanrooms:<region>:<account>:configuredtable/<id>`.
    pub arn: String,
    /// Owner.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Where the data is.
    pub table_reference: dto::TableReference,
    /// Columns collaborators may use.
    pub allowed_columns: Vec<String>,
    /// How the table may be analysed.
    pub analysis_method: dto::AnalysisMethod,
    /// The methods chosen when `analysis_method` is `MULTIPLE`.
    pub selected_analysis_methods: Option<Vec<dto::SelectedAnalysisMethod>>,
    /// Type of its analysis rule, when it has one.
    pub analysis_rule_type: Option<dto::ConfiguredTableAnalysisRuleType>,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl ConfiguredTable {
    /// Its analysis rule of type `rule_type` with `policy`, created at `now`; the table names
    /// the type from then on.
    pub fn add_rule(
        &mut self,
        rule_type: dto::ConfiguredTableAnalysisRuleType,
        policy: dto::ConfiguredTableAnalysisRulePolicy,
        now: f64,
    ) -> ConfiguredTableRule {
        self.analysis_rule_type = Some(rule_type);
        self.update_time = now;
        ConfiguredTableRule {
            configured_table_id: self.id.clone(),
            configured_table_arn: self.arn.clone(),
            rule_type,
            policy,
            create_time: now,
            update_time: now,
        }
    }

    /// The table reference's type.
    pub fn table_type(&self) -> dto::TableReferenceType {
        match &self.table_reference {
            dto::TableReference::Glue(_) => dto::TableReferenceType::Glue,
            dto::TableReference::Athena(_) => dto::TableReferenceType::Athena,
            dto::TableReference::Snowflake(_) => dto::TableReferenceType::Snowflake,
            dto::TableReference::Databricks(_) => dto::TableReferenceType::Databricks,
        }
    }

    fn rule_types(&self) -> Vec<dto::ConfiguredTableAnalysisRuleType> {
        self.analysis_rule_type.into_iter().collect()
    }

    /// The `ConfiguredTable` shape.
    pub fn to_dto(&self) -> dto::ConfiguredTable {
        dto::ConfiguredTable {
            allowed_columns: self.allowed_columns.clone(),
            analysis_method: self.analysis_method,
            analysis_rule_types: self.rule_types(),
            arn: self.arn.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.id.clone(),
            name: self.name.clone(),
            selected_analysis_methods: self.selected_analysis_methods.clone(),
            table_reference: self.table_reference.clone(),
            table_type: Some(self.table_type()),
            update_time: self.update_time,
        }
    }

    /// The `ConfiguredTableSummary` shape.
    pub fn to_summary(&self) -> dto::ConfiguredTableSummary {
        dto::ConfiguredTableSummary {
            analysis_method: self.analysis_method,
            analysis_rule_types: self.rule_types(),
            arn: self.arn.clone(),
            create_time: self.create_time,
            id: self.id.clone(),
            name: self.name.clone(),
            selected_analysis_methods: self.selected_analysis_methods.clone(),
            table_type: Some(self.table_type()),
            update_time: self.update_time,
        }
    }
}

/// The analysis rule of a configured table as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfiguredTableRule {
    /// Configured table id.
    pub configured_table_id: String,
    /// Configured table ARN.
    pub configured_table_arn: String,
    /// Rule type (equals the policy's member).
    pub rule_type: dto::ConfiguredTableAnalysisRuleType,
    /// The policy.
    pub policy: dto::ConfiguredTableAnalysisRulePolicy,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl ConfiguredTableRule {
    /// The `ConfiguredTableAnalysisRule` shape.
    pub fn to_dto(&self) -> dto::ConfiguredTableAnalysisRule {
        dto::ConfiguredTableAnalysisRule {
            configured_table_arn: self.configured_table_arn.clone(),
            configured_table_id: self.configured_table_id.clone(),
            create_time: self.create_time,
            policy: self.policy.clone(),
            r#type: self.rule_type,
            update_time: self.update_time,
        }
    }
}

/// Largest analysis rule policy, as JSON (the "analysis rule JSON size" quota).
pub const MAX_POLICY_BYTES: usize = 100 * 1024;

/// The wildcard that allows ad-hoc SQL queries by the allowed analysis providers.
pub const ANY_QUERY: &str = "ANY_QUERY";

/// The wildcard that allows PySpark jobs by the allowed analysis providers.
pub const ANY_JOB: &str = "ANY_JOB";

/// The type of a configured-table policy (its union member).
pub fn policy_type(
    policy: &dto::ConfiguredTableAnalysisRulePolicy,
) -> dto::ConfiguredTableAnalysisRuleType {
    let dto::ConfiguredTableAnalysisRulePolicy::V1(v1) = policy;
    match v1 {
        dto::ConfiguredTableAnalysisRulePolicyV1::Aggregation(_) => {
            dto::ConfiguredTableAnalysisRuleType::Aggregation
        }
        dto::ConfiguredTableAnalysisRulePolicyV1::List(_) => {
            dto::ConfiguredTableAnalysisRuleType::List
        }
        dto::ConfiguredTableAnalysisRulePolicyV1::Custom(_) => {
            dto::ConfiguredTableAnalysisRuleType::Custom
        }
    }
}

/// Whether a Glue column type is a character type (`string`, `varchar(n)`, `char(n)`).
pub fn is_string_type(t: &str) -> bool {
    let t = t.trim();
    t == "string" || t.starts_with("varchar") || t.starts_with("char")
}

/// The field (under aggregation threshold `i`) and the refusal of the first of its output column
/// thresholds `overrides` that asks for a minimum identity count of 1, if any.
pub fn identity_count_of_one(
    i: usize,
    overrides: &[dto::OutputColumnThreshold],
) -> Option<(String, String)> {
    let (j, o) = overrides
        .iter()
        .enumerate()
        .find(|(_, o)| o.minimum_identity_count == 1)?;
    Some((
        format!("aggregationThresholds[{i}].outputColumnThresholds[{j}].minimumIdentityCount"),
        format!(
            "1 is not allowed for output column '{}': use 0 to exempt the column or a value of 2 or more",
            o.output_column_name
        ),
    ))
}
