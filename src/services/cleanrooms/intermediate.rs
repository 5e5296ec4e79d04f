//! Intermediate tables as stored: the table (owned by the membership that created it), one
//! record per population (version), and its CUSTOM analysis rule; plus the status rules that
//! decide whether a table can be read by an analysis.
//!
//! A table's data lives in managed storage (`crate::storage`), one Delta table per intermediate
//! table; `ActiveVersion::delta_version` says which Delta version an analysis reads.

use std::collections::BTreeMap;

use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// ARN of an intermediate table, scoped under its membership.
pub fn intermediate_table_arn(region: &str, account: &str, membership_id: &str, id: &str) -> String {
    format!(
        "arn:aws:cleanrooms:{region}:{account}:membership/{membership_id}/intermediatetable/{id}"
    )
}

/// Retention applied when `CreateIntermediateTable` names none.
pub const DEFAULT_RETENTION_DAYS: i32 = 30;

/// An intermediate table as stored (kind `kinds::INTERMEDIATE_TABLE`, owner = creator account,
/// parent = membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntermediateTable {
    /// UUID.
    pub id: String,
    /// ARN (under the membership).
    pub arn: String,
    /// Owner (the creating membership's account).
    pub account_id: String,
    /// Membership id.
    pub membership_id: String,
    /// Membership ARN.
    pub membership_arn: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// Collaboration ARN.
    pub collaboration_arn: String,
    /// Name inside the collaboration (unique among its tables).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The stored query (SQL text or an analysis template ARN).
    pub population: dto::PopulationAnalysisConfiguration,
    /// KMS key for future populations.
    pub kms_key_arn: Option<String>,
    /// Days a successful version stays usable.
    pub retention_in_days: i32,
    /// Table status.
    pub status: dto::IntermediateTableStatus,
    /// Why the table is in its status (for failures, disallow, base removal, expiry).
    pub status_reason: Option<String>,
    /// Base tables: DIRECT ones named by the stored query, INDIRECT ones reached through
    /// intermediate tables it reads.
    pub dependencies: Vec<dto::IntermediateTableDependency>,
    /// The version analyses read, once a population succeeded.
    pub active: Option<ActiveVersion>,
    /// Columns of the active version (types may be changed by `UpdateIntermediateTable`).
    pub schema: Option<Vec<dto::Column>>,
    /// Whether its CUSTOM analysis rule exists.
    pub has_rule: bool,
    /// Version id of the population in progress, if any.
    pub populating: Option<String>,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

/// The version an intermediate table currently serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveVersion {
    /// Version UUID.
    pub version_id: String,
    /// The populating protected query.
    pub analysis_id: String,
    /// Delta version in managed storage holding its data.
    pub delta_version: i64,
    /// KMS key used.
    pub kms_key_arn: Option<String>,
    /// Effective parameters of the population.
    pub parameters: Option<BTreeMap<String, String>>,
    /// Deferred controls captured from the base tables at population.
    pub inherited: dto::IntermediateTableInheritedConstraints,
    /// Whether every base table (transitively) belongs to the owner.
    pub first_party: bool,
    /// When the version expires (emulator clock, epoch seconds).
    pub expiration_time: f64,
}

impl ActiveVersion {
    /// The `IntermediateTableActiveVersion` shape.
    pub fn to_dto(&self) -> dto::IntermediateTableActiveVersion {
        dto::IntermediateTableActiveVersion {
            analysis_id: self.analysis_id.clone(),
            analysis_type: dto::PopulateIntermediateTableAnalysisType::Query,
            expiration_time: Some(self.expiration_time),
            inherited_constraints: self.inherited.clone(),
            kms_key_arn: self.kms_key_arn.clone(),
            parameters: self.parameters.clone(),
            version_id: self.version_id.clone(),
        }
    }
}

impl IntermediateTable {
    /// Rule types attached (only CUSTOM exists).
    pub fn rule_types(&self) -> Vec<dto::IntermediateTableAnalysisRuleType> {
        if self.has_rule {
            vec![dto::IntermediateTableAnalysisRuleType::Custom]
        } else {
            Vec::new()
        }
    }

    /// Whether the status forbids any further population (terminal in the API).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.status,
            dto::IntermediateTableStatus::DisallowedByDataProvider
                | dto::IntermediateTableStatus::BaseTableRemoved
        )
    }

    /// The active version an analysis may read at `now`, or why there is none.
    pub fn readable_version(&self, now: f64) -> Result<&ActiveVersion, String> {
        use dto::IntermediateTableStatus as S;
        match self.status {
            S::DisallowedByDataProvider => {
                return Err(format!(
                    "Intermediate table '{}' was disallowed by a data provider",
                    self.name
                ))
            }
            S::BaseTableRemoved => {
                return Err(format!(
                    "A base table of intermediate table '{}' was removed from the collaboration",
                    self.name
                ))
            }
            S::RetentionPeriodExpired => {
                return Err(format!(
                    "Intermediate table '{}' expired (retention period of {} days); populate it again",
                    self.name, self.retention_in_days
                ))
            }
            S::Created => {
                return Err(format!(
                    "Intermediate table '{}' has not been populated",
                    self.name
                ))
            }
            S::PopulateStarted | S::PopulateSuccess | S::PopulateFailed => {}
        }
        match &self.active {
            Some(v) if v.expiration_time > now => Ok(v),
            Some(_) => Err(format!(
                "Intermediate table '{}' expired (retention period of {} days); populate it again",
                self.name, self.retention_in_days
            )),
            None => Err(format!(
                "Intermediate table '{}' has no successfully populated version",
                self.name
            )),
        }
    }

    /// The `IntermediateTable` shape; `children` are the tables built on it.
    pub fn to_dto(&self, children: Vec<dto::ChildResource>) -> dto::IntermediateTable {
        dto::IntermediateTable {
            analysis_rule_types: Some(self.rule_types()),
            arn: self.arn.clone(),
            child_resources: Some(children),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.id.clone(),
            intermediate_table_version: self.active.as_ref().map(ActiveVersion::to_dto),
            kms_key_arn: self.kms_key_arn.clone(),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
            name: self.name.clone(),
            population_analysis_configuration: self.population.clone(),
            retention_in_days: Some(self.retention_in_days),
            schema: self.schema.as_ref().map(|columns| dto::IntermediateTableSchema {
                columns: columns.clone(),
            }),
            status: self.status,
            status_reason: self.status_reason.clone(),
            table_dependencies: Some(self.dependencies.clone()),
            update_time: self.update_time,
        }
    }

    /// The `IntermediateTableSummary` shape.
    pub fn to_summary(&self) -> dto::IntermediateTableSummary {
        dto::IntermediateTableSummary {
            analysis_rule_types: Some(self.rule_types()),
            arn: self.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.id.clone(),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
            name: self.name.clone(),
            retention_in_days: Some(self.retention_in_days),
            status: self.status,
            update_time: self.update_time,
        }
    }

    /// The `ChildResource` entry naming this table under one of its base tables.
    pub fn to_child(&self) -> dto::ChildResource {
        dto::ChildResource {
            owner_account_id: self.account_id.clone(),
            resource_id: Some(self.id.clone()),
            resource_name: self.name.clone(),
            resource_status: Some(resource_status(self.status)),
            resource_type: dto::ChildResourceType::IntermediateTable,
        }
    }
}

/// The `ResourceStatus` value of a table status (same names).
pub fn resource_status(status: dto::IntermediateTableStatus) -> dto::ResourceStatus {
    use dto::IntermediateTableStatus as S;
    use dto::ResourceStatus as R;
    match status {
        S::Created => R::Created,
        S::PopulateStarted => R::PopulateStarted,
        S::PopulateSuccess => R::PopulateSuccess,
        S::PopulateFailed => R::PopulateFailed,
        S::DisallowedByDataProvider => R::DisallowedByDataProvider,
        S::BaseTableRemoved => R::BaseTableRemoved,
        S::RetentionPeriodExpired => R::RetentionPeriodExpired,
    }
}

/// One population of an intermediate table (kind `kinds::INTERMEDIATE_TABLE_VERSION`, id =
/// version id, parent = table id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntermediateTableVersion {
    /// Version UUID.
    pub version_id: String,
    /// Table id.
    pub table_id: String,
    /// The populating protected query.
    pub analysis_id: String,
    /// Version status.
    pub status: dto::IntermediateTableVersionStatus,
    /// KMS key used.
    pub kms_key_arn: Option<String>,
    /// Effective parameters.
    pub parameters: Option<BTreeMap<String, String>>,
    /// Delta version holding the data, once committed.
    pub delta_version: Option<i64>,
    /// Expiry, once successful.
    pub expiration_time: Option<f64>,
    /// Creation time.
    pub create_time: f64,
}

impl IntermediateTableVersion {
    /// The `IntermediateTableVersionSummary` shape.
    pub fn to_summary(&self) -> dto::IntermediateTableVersionSummary {
        dto::IntermediateTableVersionSummary {
            analysis_id: self.analysis_id.clone(),
            analysis_type: dto::PopulateIntermediateTableAnalysisType::Query,
            create_time: self.create_time,
            expiration_time: self.expiration_time,
            kms_key_arn: self.kms_key_arn.clone(),
            status: self.status,
            table_id: self.table_id.clone(),
            version_id: self.version_id.clone(),
        }
    }
}

/// The CUSTOM analysis rule of an intermediate table (kind
/// `kinds::INTERMEDIATE_TABLE_RULE`, id and parent = table id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntermediateTableRule {
    /// Table id.
    pub table_id: String,
    /// Table ARN.
    pub table_arn: String,
    /// The policy.
    pub policy: dto::IntermediateTableAnalysisRulePolicy,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl IntermediateTableRule {
    /// The custom policy inside the rule.
    pub fn custom(&self) -> &dto::IntermediateTableAnalysisRuleCustom {
        let dto::IntermediateTableAnalysisRulePolicy::V1(
            dto::IntermediateTableAnalysisRulePolicyV1::Custom(c),
        ) = &self.policy;
        c
    }

    /// The `IntermediateTableAnalysisRule` shape.
    pub fn to_dto(&self) -> dto::IntermediateTableAnalysisRule {
        dto::IntermediateTableAnalysisRule {
            analysis_rule_policy: self.policy.clone(),
            analysis_rule_type: dto::IntermediateTableAnalysisRuleType::Custom,
            create_time: self.create_time,
            intermediate_table_arn: self.table_arn.clone(),
            intermediate_table_identifier: self.table_id.clone(),
            update_time: self.update_time,
        }
    }
}
