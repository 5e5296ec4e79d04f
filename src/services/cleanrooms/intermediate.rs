//! Intermediate tables as stored: the table (owned by the membership that created it), one
//! record per population (version), and its CUSTOM analysis rule; plus the status rules that
//! decide whether a table can be read by an analysis.
//!
//! A table's data lives in managed storage (`crate::storage`), one Delta table per intermediate
//! table; `ActiveVersion::delta_version` says which Delta version an analysis reads.
//!
//! Besides the stored types this module holds the pure rules other parts share — the base-table
//! dependencies of a stored query, the multi-party check of an owner's rule against the
//! inherited (deferred) controls, the effective policy an analysis enforces — and the typed store
//! access to intermediate tables, their versions and rules.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

use super::model::{kinds, Association};
use super::ops::tags;
use super::repo;
use crate::error::AwsResult;
use crate::state::AppState;
use crate::store::{Query, Write};

/// ARN of an intermediate table, scoped under its membership.
pub fn intermediate_table_arn(
    region: &str,
    account: &str,
    membership_id: &str,
    id: &str,
) -> String {
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
    /// The inherited controls analyses must honour besides the owner's rule: those of a
    /// multi-party table; a first-party owner has full control, so none for it.
    pub fn binding_inherited(&self) -> Option<&dto::IntermediateTableInheritedConstraints> {
        (!self.first_party).then_some(&self.inherited)
    }

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
    /// The region the table lives in (from its ARN).
    pub fn region(&self) -> &str {
        self.arn.split(':').nth(3).unwrap_or_default()
    }

    /// Whether the table reads base table `id`, directly or through other intermediate tables.
    pub fn depends_on(&self, id: &str) -> bool {
        self.dependencies.iter().any(|d| d.id == id)
    }

    /// The status after a population that did not succeed: the table keeps serving its previous
    /// version while that one is unexpired, else it is `POPULATE_FAILED`. Terminal statuses stay.
    pub fn settle_failed_population(&mut self, now: f64, reason: String) {
        if self.is_terminal() {
            return;
        }
        let usable = self
            .active
            .as_ref()
            .is_some_and(|a| a.expiration_time > now);
        self.status = if usable {
            dto::IntermediateTableStatus::PopulateSuccess
        } else {
            dto::IntermediateTableStatus::PopulateFailed
        };
        self.status_reason = Some(reason);
    }

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
            schema: self
                .schema
                .as_ref()
                .map(|columns| dto::IntermediateTableSchema {
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

// ---------------------------------------------------------------------------------------------
// Dependencies of a stored query
// ---------------------------------------------------------------------------------------------

/// Why the tables a stored query names cannot all be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependencyError {
    /// A name is neither an association nor an intermediate table of the collaboration.
    #[error("table '{0}' is not a table or intermediate table of the collaboration")]
    Unknown(String),
    /// A named intermediate table can never be read again.
    #[error("intermediate table '{name}' is {status} and can no longer be used as a base table")]
    Unusable {
        /// Its name.
        name: String,
        /// Its status.
        status: &'static str,
    },
}

/// The `tableDependencies` of a query naming `referenced` (lower-case names, in order): one
/// `DIRECT` entry per named association (`TABLE`, with the association's id, name and owner) or
/// intermediate table, then one `INDIRECT` entry per base table reached through the named
/// intermediate tables (their own dependencies, which are already transitive), each table once.
///
/// # Errors
/// The first name that is not a table of the collaboration, or an intermediate table whose
/// base tables are gone or that a data provider disallowed.
pub fn dependencies(
    referenced: &[String],
    associations: &[Association],
    tables: &[IntermediateTable],
) -> Result<Vec<dto::IntermediateTableDependency>, DependencyError> {
    let mut direct = Vec::new();
    let mut indirect = Vec::new();
    for name in referenced {
        if let Some(a) = associations.iter().find(|a| a.name == *name) {
            direct.push(dto::IntermediateTableDependency {
                creator_account_id: a.account_id.clone(),
                id: a.id.clone(),
                name: a.name.clone(),
                parent_type: dto::BaseTableParentType::Direct,
                r#type: dto::BaseTableDependencyType::Table,
            });
        } else if let Some(t) = tables.iter().find(|t| t.name == *name) {
            if t.is_terminal() {
                return Err(DependencyError::Unusable {
                    name: t.name.clone(),
                    status: t.status.as_str(),
                });
            }
            direct.push(dto::IntermediateTableDependency {
                creator_account_id: t.account_id.clone(),
                id: t.id.clone(),
                name: t.name.clone(),
                parent_type: dto::BaseTableParentType::Direct,
                r#type: dto::BaseTableDependencyType::IntermediateTable,
            });
            indirect.extend(
                t.dependencies
                    .iter()
                    .map(|d| dto::IntermediateTableDependency {
                        parent_type: dto::BaseTableParentType::Indirect,
                        ..d.clone()
                    }),
            );
        } else {
            return Err(DependencyError::Unknown(name.clone()));
        }
    }
    let mut seen = HashSet::new();
    Ok(direct
        .into_iter()
        .chain(indirect)
        .filter(|d| seen.insert(d.id.clone()))
        .collect())
}

/// The tables of `tables` built on table `id` (directly or transitively), in the given order.
pub fn descendants<'a>(tables: &'a [IntermediateTable], id: &str) -> Vec<&'a IntermediateTable> {
    tables
        .iter()
        .filter(|t| t.id != id && t.depends_on(id))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Deferred controls: the owner's rule against the inherited constraints
// ---------------------------------------------------------------------------------------------

/// How restrictive an `additionalAnalyses` value is (`REQUIRED > ALLOWED > NOT_ALLOWED`, as the
/// intermediate-table rule validation orders them).
pub fn restrictiveness(value: dto::AdditionalAnalyses) -> u8 {
    match value {
        dto::AdditionalAnalyses::NotAllowed => 0,
        dto::AdditionalAnalyses::Allowed => 1,
        dto::AdditionalAnalyses::Required => 2,
    }
}

/// The first way `rule` loosens the controls inherited by a multi-party table, as a message
/// naming the control and the values at fault; `None` when the rule is as or more restrictive.
///
/// A control the rule leaves out inherits the captured value unchanged, so only controls the
/// rule sets are compared: `allowedResultReceivers` and `allowedAdditionalAnalyses` must be
/// subsets of the inherited values, `disallowedOutputColumns` a superset, `additionalAnalyses`
/// at least as restrictive.
pub fn inherited_violation(
    rule: &dto::IntermediateTableAnalysisRuleCustom,
    inherited: &dto::IntermediateTableInheritedConstraints,
) -> Option<String> {
    let not_in = |values: &[String], allowed: &[String]| -> Vec<String> {
        values
            .iter()
            .filter(|v| !allowed.contains(v))
            .cloned()
            .collect()
    };
    if let (Some(mine), Some(inh)) = (
        &rule.allowed_result_receivers,
        &inherited.allowed_result_receivers,
    ) {
        let extra = not_in(mine, &inh.value);
        if !extra.is_empty() {
            return Some(format!(
                "allowedResultReceivers may only narrow the inherited receivers [{}]; [{}] are not among them",
                inh.value.join(", "),
                extra.join(", ")
            ));
        }
    }
    if let (Some(mine), Some(inh)) = (
        &rule.allowed_additional_analyses,
        &inherited.allowed_additional_analyses,
    ) {
        let extra = not_in(mine, &inh.value);
        if !extra.is_empty() {
            return Some(format!(
                "allowedAdditionalAnalyses may only narrow the inherited additional analyses [{}]; [{}] are not among them",
                inh.value.join(", "),
                extra.join(", ")
            ));
        }
    }
    if let (Some(mine), Some(inh)) = (
        &rule.disallowed_output_columns,
        &inherited.disallowed_output_columns,
    ) {
        let missing = not_in(&inh.value, mine);
        if !missing.is_empty() {
            return Some(format!(
                "disallowedOutputColumns must keep every inherited disallowed column [{}]; [{}] are missing",
                inh.value.join(", "),
                missing.join(", ")
            ));
        }
    }
    if let (Some(mine), Some(inh)) = (rule.additional_analyses, &inherited.additional_analyses) {
        if restrictiveness(mine) < restrictiveness(inh.value) {
            return Some(format!(
                "additionalAnalyses {} is less restrictive than the inherited {} (REQUIRED > ALLOWED > NOT_ALLOWED)",
                mine.as_str(),
                inh.value.as_str()
            ));
        }
    }
    None
}

/// The custom policy an analysis of the table enforces: the owner's rule combined with the
/// inherited constraints that bind it (`ActiveVersion::binding_inherited`) — result receivers and allowed additional analyses intersected,
/// disallowed output columns united, the more restrictive `additionalAnalyses`. A control set
/// on one side only is taken from that side.
pub fn effective_policy(
    rule: &dto::IntermediateTableAnalysisRuleCustom,
    inherited: Option<&dto::IntermediateTableInheritedConstraints>,
) -> dto::IntermediateTableAnalysisRuleCustom {
    let mut out = rule.clone();
    let Some(inh) = inherited else {
        return out;
    };
    let intersect = |mine: &Option<Vec<String>>, theirs: Option<&Vec<String>>| match (mine, theirs)
    {
        (Some(m), Some(t)) => Some(m.iter().filter(|v| t.contains(v)).cloned().collect()),
        (Some(m), None) => Some(m.clone()),
        (None, t) => t.cloned(),
    };
    out.allowed_result_receivers = intersect(
        &rule.allowed_result_receivers,
        inh.allowed_result_receivers.as_ref().map(|i| &i.value),
    );
    out.allowed_additional_analyses = intersect(
        &rule.allowed_additional_analyses,
        inh.allowed_additional_analyses.as_ref().map(|i| &i.value),
    );
    if let Some(i) = &inh.disallowed_output_columns {
        let mut columns = rule.disallowed_output_columns.clone().unwrap_or_default();
        let have: BTreeSet<String> = columns.iter().cloned().collect();
        columns.extend(i.value.iter().filter(|c| !have.contains(*c)).cloned());
        out.disallowed_output_columns = Some(columns);
    }
    if let Some(i) = &inh.additional_analyses {
        out.additional_analyses = Some(match rule.additional_analyses {
            Some(mine) if restrictiveness(mine) >= restrictiveness(i.value) => mine,
            _ => i.value,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Store access
// ---------------------------------------------------------------------------------------------

/// The `Put` of a table (owner = its account, parent = its membership).
pub fn put_table(t: &IntermediateTable) -> AwsResult<Write> {
    repo::put(
        kinds::INTERMEDIATE_TABLE,
        &t.id,
        t.region(),
        &t.account_id,
        Some(&t.membership_id),
        t,
    )
}

/// The `Put` of a version of table `t`.
pub fn put_version(t: &IntermediateTable, v: &IntermediateTableVersion) -> AwsResult<Write> {
    repo::put(
        kinds::INTERMEDIATE_TABLE_VERSION,
        &v.version_id,
        t.region(),
        &t.account_id,
        Some(&t.id),
        v,
    )
}

/// The `Put` of the rule of table `t`.
pub fn put_rule(t: &IntermediateTable, rule: &IntermediateTableRule) -> AwsResult<Write> {
    repo::put(
        kinds::INTERMEDIATE_TABLE_RULE,
        &t.id,
        t.region(),
        &t.account_id,
        Some(&t.id),
        rule,
    )
}

/// The intermediate table `id`, if it exists.
pub async fn intermediate_table(
    state: &AppState,
    id: &str,
) -> AwsResult<Option<IntermediateTable>> {
    match state.store().get(kinds::INTERMEDIATE_TABLE, id).await? {
        Some(r) => Ok(Some(repo::decode(&r)?)),
        None => Ok(None),
    }
}

/// Every intermediate table of collaboration `collaboration_id` (all memberships), in creation
/// order.
pub async fn intermediate_tables_of_collaboration(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<IntermediateTable>> {
    Ok(
        repo::collaboration_children(state, kinds::INTERMEDIATE_TABLE, collaboration_id)
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect(),
    )
}

/// Every intermediate table of every collaboration and region, in creation order.
pub async fn all_intermediate_tables(state: &AppState) -> AwsResult<Vec<IntermediateTable>> {
    state
        .store()
        .query(&Query::kind(kinds::INTERMEDIATE_TABLE))
        .await?
        .iter()
        .map(repo::decode)
        .collect()
}

/// The CUSTOM analysis rule of table `table_id`, if it has one.
pub async fn intermediate_table_rule(
    state: &AppState,
    table_id: &str,
) -> AwsResult<Option<IntermediateTableRule>> {
    match state
        .store()
        .get(kinds::INTERMEDIATE_TABLE_RULE, table_id)
        .await?
    {
        Some(r) => Ok(Some(repo::decode(&r)?)),
        None => Ok(None),
    }
}

/// The versions of table `table_id` with their sequence numbers, oldest first.
pub async fn versions_of(
    state: &AppState,
    table_id: &str,
) -> AwsResult<Vec<(i64, IntermediateTableVersion)>> {
    state
        .store()
        .query(&Query::kind(kinds::INTERMEDIATE_TABLE_VERSION).parent(table_id))
        .await?
        .iter()
        .map(|r| Ok((r.seq, repo::decode(r)?)))
        .collect()
}

/// The writes that delete table `t` with its versions, its rule, its tags and its access budget.
pub async fn table_delete_writes(state: &AppState, t: &IntermediateTable) -> AwsResult<Vec<Write>> {
    let mut writes = vec![
        Write::Delete {
            kind: kinds::INTERMEDIATE_TABLE.to_string(),
            id: t.id.clone(),
        },
        Write::Delete {
            kind: kinds::INTERMEDIATE_TABLE_RULE.to_string(),
            id: t.id.clone(),
        },
        tags::delete_tags(&t.arn),
    ];
    writes.extend(
        super::ops::privacy_budget_templates::resource_removal_writes(
            state,
            &t.membership_id,
            &t.arn,
        )
        .await?,
    );
    for (_, v) in versions_of(state, &t.id).await? {
        writes.push(Write::Delete {
            kind: kinds::INTERMEDIATE_TABLE_VERSION.to_string(),
            id: v.version_id,
        });
    }
    Ok(writes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A table named `name` owned by `account` with `deps`, in collaboration `c`.
    pub(crate) fn table(
        id: &str,
        name: &str,
        account: &str,
        deps: Vec<dto::IntermediateTableDependency>,
    ) -> IntermediateTable {
        IntermediateTable {
            id: id.into(),
            arn: intermediate_table_arn("us-east-1", account, "m", id),
            account_id: account.into(),
            membership_id: "m".into(),
            membership_arn: "arn:aws:cleanrooms:us-east-1:111111111111:membership/m".into(),
            collaboration_id: "c".into(),
            collaboration_arn: "arn:aws:cleanrooms:us-east-1:111111111111:collaboration/c".into(),
            name: name.into(),
            description: None,
            population: dto::PopulationAnalysisConfiguration::SqlParameters(
                dto::PopulationAnalysisSqlParameters {
                    analysis_template_arn: None,
                    query_string: Some("SELECT 1".into()),
                },
            ),
            kms_key_arn: None,
            retention_in_days: DEFAULT_RETENTION_DAYS,
            status: dto::IntermediateTableStatus::Created,
            status_reason: None,
            dependencies: deps,
            active: None,
            schema: None,
            has_rule: false,
            populating: None,
            create_time: 0.0,
            update_time: 0.0,
        }
    }

    fn association(id: &str, name: &str, account: &str) -> Association {
        Association {
            id: id.into(),
            arn: String::new(),
            account_id: account.into(),
            membership_id: "mb".into(),
            membership_arn: String::new(),
            collaboration_id: "c".into(),
            configured_table_id: "ct".into(),
            configured_table_arn: String::new(),
            name: name.into(),
            description: None,
            role_arn: String::new(),
            analysis_rule_types: Vec::new(),
            create_time: 0.0,
            update_time: 0.0,
        }
    }

    fn names(
        deps: &[dto::IntermediateTableDependency],
    ) -> Vec<(String, &'static str, &'static str)> {
        deps.iter()
            .map(|d| {
                (
                    d.name.clone(),
                    d.r#type.as_str(),
                    match d.parent_type {
                        dto::BaseTableParentType::Direct => "DIRECT",
                        dto::BaseTableParentType::Indirect => "INDIRECT",
                    },
                )
            })
            .collect()
    }

    #[test]
    fn dependencies_are_direct_then_indirect_without_duplicates() {
        let assocs = [
            association("a1", "b_spend", "222222222222"),
            association("a2", "c_orders", "333333333333"),
        ];
        let refs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let t1_deps = dependencies(&refs(&["b_spend", "c_orders"]), &assocs, &[]).unwrap();
        let t1 = table("t1", "t1", "111111111111", t1_deps);
        let deps = dependencies(
            &refs(&["t1", "b_spend"]),
            &assocs,
            std::slice::from_ref(&t1),
        )
        .unwrap();
        assert_eq!(
            names(&deps),
            vec![
                ("t1".into(), "INTERMEDIATE_TABLE", "DIRECT"),
                ("b_spend".into(), "TABLE", "DIRECT"),
                ("c_orders".into(), "TABLE", "INDIRECT"),
            ]
        );
        assert_eq!(deps[1].creator_account_id, "222222222222");
        assert_eq!(deps[1].id, "a1");
        let t2 = table("t2", "t2", "111111111111", deps);
        let deps = dependencies(&refs(&["t2"]), &assocs, &[t1, t2]).unwrap();
        assert_eq!(
            names(&deps),
            vec![
                ("t2".into(), "INTERMEDIATE_TABLE", "DIRECT"),
                ("t1".into(), "INTERMEDIATE_TABLE", "INDIRECT"),
                ("b_spend".into(), "TABLE", "INDIRECT"),
                ("c_orders".into(), "TABLE", "INDIRECT"),
            ]
        );
    }

    #[test]
    fn unknown_and_unusable_tables_are_named() {
        let err = dependencies(&["nope".into()], &[], &[]).unwrap_err();
        assert_eq!(err, DependencyError::Unknown("nope".into()));
        assert!(err.to_string().contains("'nope'"));
        let mut t = table("t1", "t1", "111111111111", Vec::new());
        t.status = dto::IntermediateTableStatus::BaseTableRemoved;
        let err = dependencies(&["t1".into()], &[], &[t]).unwrap_err();
        assert!(err.to_string().contains("BASE_TABLE_REMOVED"));
    }

    #[test]
    fn descendants_follow_the_transitive_dependencies() {
        let dep = |id: &str, parent| dto::IntermediateTableDependency {
            creator_account_id: "111111111111".into(),
            id: id.into(),
            name: id.into(),
            parent_type: parent,
            r#type: dto::BaseTableDependencyType::IntermediateTable,
        };
        let t1 = table("t1", "t1", "1", Vec::new());
        let t2 = table(
            "t2",
            "t2",
            "1",
            vec![dep("t1", dto::BaseTableParentType::Direct)],
        );
        let t3 = table(
            "t3",
            "t3",
            "1",
            vec![
                dep("t2", dto::BaseTableParentType::Direct),
                dep("t1", dto::BaseTableParentType::Indirect),
            ],
        );
        let all = [t1, t2, t3];
        let ids: Vec<&str> = descendants(&all, "t1")
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(ids, ["t2", "t3"]);
        assert!(descendants(&all, "t3").is_empty());
    }

    /// Inherited constraints with every control set.
    pub(crate) fn inherited() -> dto::IntermediateTableInheritedConstraints {
        dto::IntermediateTableInheritedConstraints {
            additional_analyses: Some(dto::InheritedAdditionalAnalyses {
                sources: Vec::new(),
                value: dto::AdditionalAnalyses::Allowed,
            }),
            allowed_additional_analyses: Some(dto::InheritedAllowedAdditionalAnalyses {
                sources: Vec::new(),
                value: vec!["arn:x".into(), "arn:y".into()],
            }),
            allowed_result_receivers: Some(dto::InheritedAllowedResultReceivers {
                sources: Vec::new(),
                value: vec!["111111111111".into(), "222222222222".into()],
            }),
            disallowed_output_columns: Some(dto::InheritedDisallowedOutputColumns {
                column_lineage: Vec::new(),
                value: vec!["email".into()],
            }),
        }
    }

    #[test]
    fn a_rule_may_only_tighten_inherited_controls() {
        let inh = inherited();
        let mut rule = dto::IntermediateTableAnalysisRuleCustom::default();
        assert_eq!(inherited_violation(&rule, &inh), None);
        rule.allowed_result_receivers = Some(vec!["111111111111".into()]);
        rule.allowed_additional_analyses = Some(vec!["arn:y".into()]);
        rule.disallowed_output_columns = Some(vec!["email".into(), "phone".into()]);
        rule.additional_analyses = Some(dto::AdditionalAnalyses::Required);
        assert_eq!(inherited_violation(&rule, &inh), None);

        let mut r = rule.clone();
        r.allowed_result_receivers = Some(vec!["333333333333".into()]);
        assert!(
            inherited_violation(&r, &inh).is_some_and(
                |m| m.starts_with("allowedResultReceivers") && m.contains("333333333333")
            )
        );
        let mut r = rule.clone();
        r.allowed_additional_analyses = Some(vec!["arn:z".into()]);
        assert!(inherited_violation(&r, &inh)
            .is_some_and(|m| m.starts_with("allowedAdditionalAnalyses") && m.contains("arn:z")));
        let mut r = rule.clone();
        r.disallowed_output_columns = Some(vec!["phone".into()]);
        assert!(inherited_violation(&r, &inh)
            .is_some_and(|m| m.starts_with("disallowedOutputColumns") && m.contains("email")));
        let mut r = rule;
        r.additional_analyses = Some(dto::AdditionalAnalyses::NotAllowed);
        assert!(inherited_violation(&r, &inh)
            .is_some_and(|m| m.starts_with("additionalAnalyses") && m.contains("NOT_ALLOWED")));
    }

    #[test]
    fn the_effective_policy_combines_rule_and_inherited_controls() {
        let rule = dto::IntermediateTableAnalysisRuleCustom {
            allowed_result_receivers: Some(vec!["222222222222".into(), "333333333333".into()]),
            disallowed_output_columns: Some(vec!["phone".into()]),
            additional_analyses: Some(dto::AdditionalAnalyses::NotAllowed),
            ..Default::default()
        };
        let e = effective_policy(&rule, Some(&inherited()));
        assert_eq!(
            e.allowed_result_receivers,
            Some(vec!["222222222222".into()])
        );
        assert_eq!(
            e.disallowed_output_columns,
            Some(vec!["phone".into(), "email".into()])
        );
        assert_eq!(
            e.allowed_additional_analyses,
            Some(vec!["arn:x".into(), "arn:y".into()])
        );
        assert_eq!(
            e.additional_analyses,
            Some(dto::AdditionalAnalyses::Allowed)
        );
        assert_eq!(effective_policy(&rule, None), rule);
    }

    #[test]
    fn region_comes_from_the_arn() {
        assert_eq!(
            table("t", "t", "111111111111", Vec::new()).region(),
            "us-east-1"
        );
    }
}
