//! Intermediate tables as stored: the table (owned by the membership that created it), one
//! record per population (version), and its CUSTOM analysis rule; plus the status rules that
//! decide whether a table can be read by an analysis.
//!
//! A table's data lives in managed storage (`crate::storage`), one Delta table per intermediate
//! table; `ActiveVersion::delta_version` says which Delta version an analysis reads.
//!
//! Every status change of a table is decided here, by the transitions of [`IntermediateTable`]
//! (`begin_population`, `complete_population`, `fail_population`, `end_population`,
//! `base_removed`, `disallow`, `expire`); the lineage rules are in `domain::lineage`, the
//! store access in `records::intermediate_tables`.

use crate::services::cleanrooms::domain::configured_table::{
    identity_count_of_one, is_string_type, ANY_JOB, ANY_QUERY,
};
use crate::services::cleanrooms::errors::{conflict, ConflictReason, ResourceType};
use std::collections::{BTreeMap, HashSet};

use crate::services::cleanrooms::domain::child::{child_shape, ChildHeader};
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

use crate::error::{AwsError, AwsResult};

/// The input field every message about an intermediate table rule policy names first.
pub const PREFIX: &str = "analysisRulePolicy.v1.custom";

/// Retention applied when `CreateIntermediateTable` names none.
pub const DEFAULT_RETENTION_DAYS: i32 = 30;

/// An intermediate table as stored (kind `records::kinds::INTERMEDIATE_TABLE`, owner = creator account,
/// parent = membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntermediateTable {
    /// Its id, ARN, owner, membership and collaboration.
    #[serde(flatten)]
    pub header: ChildHeader,
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
        self.header.arn.split(':').nth(3).unwrap_or_default()
    }

    /// Whether the table reads base table `id`, directly or through other intermediate tables.
    pub fn depends_on(&self, id: &str) -> bool {
        self.dependencies.iter().any(|d| d.id == id)
    }

    /// Starts population `version_id`: the table becomes `POPULATE_STARTED` until the run
    /// settles.
    ///
    /// # Errors
    /// `ConflictException` when the table is terminal (it can never be populated again) or
    /// another population is running.
    pub fn begin_population(&mut self, version_id: &str, now: f64) -> AwsResult<()> {
        self.check_populatable()?;
        self.status = dto::IntermediateTableStatus::PopulateStarted;
        self.status_reason = None;
        self.populating = Some(version_id.to_string());
        self.update_time = now;
        Ok(())
    }

    /// Whether a population may start now.
    ///
    /// # Errors
    /// As [`IntermediateTable::begin_population`].
    pub fn check_populatable(&self) -> AwsResult<()> {
        if self.is_terminal() {
            return Err(self.invalid_state(format!(
                "Intermediate table '{}' is {} and cannot be populated; delete it and create a new one",
                self.name,
                self.status.as_str()
            )));
        }
        if let Some(running) = &self.populating {
            return Err(self.invalid_state(format!(
                "Intermediate table '{}' is already being populated (version {running})",
                self.name
            )));
        }
        Ok(())
    }

    /// The `ConflictException` (`INVALID_STATE`) refusing what the table's state does not
    /// allow now, with `message` saying why.
    pub fn invalid_state(&self, message: String) -> AwsError {
        conflict(
            ResourceType::Membership,
            &self.header.id,
            ConflictReason::InvalidState,
            message,
        )
    }

    /// A population succeeded: `active` becomes the version analyses read (with the table's KMS
    /// key, expiring after the retention period), `schema` the table's columns, and `version`
    /// (its record) `POPULATE_SUCCESS`.
    ///
    /// # Errors
    /// When the table became terminal while the population ran (deleted base table, disallowed):
    /// the new data must not become visible; the caller fails the population instead.
    pub fn complete_population(
        &mut self,
        mut active: ActiveVersion,
        schema: Vec<dto::Column>,
        version: Option<&mut IntermediateTableVersion>,
        now: f64,
    ) -> Result<(), String> {
        if self.is_terminal() {
            return Err(
                "The intermediate table was deleted or became unusable while it was being populated"
                    .to_string(),
            );
        }
        let expiration = now + f64::from(self.retention_in_days) * 86_400.0;
        active.expiration_time = expiration;
        active.kms_key_arn.clone_from(&self.kms_key_arn);
        if let Some(v) = version {
            v.status = dto::IntermediateTableVersionStatus::PopulateSuccess;
            v.delta_version = Some(active.delta_version);
            v.expiration_time = Some(expiration);
        }
        self.active = Some(active);
        self.schema = Some(schema);
        self.status = dto::IntermediateTableStatus::PopulateSuccess;
        self.status_reason = None;
        Ok(())
    }

    /// A population that was running did not succeed (failed, cancelled, or the emulator stopped
    /// while it ran): the table keeps serving its previous version while that one is unexpired,
    /// else it is `POPULATE_FAILED`; `version` (its record) is `POPULATE_FAILED`. A table no
    /// longer populating (terminal meanwhile) keeps its status.
    pub fn fail_population(
        &mut self,
        version: Option<&mut IntermediateTableVersion>,
        reason: String,
        now: f64,
    ) {
        if let Some(v) = version {
            if v.status == dto::IntermediateTableVersionStatus::PopulateStarted {
                v.status = dto::IntermediateTableVersionStatus::PopulateFailed;
            }
        }
        if self.status != dto::IntermediateTableStatus::PopulateStarted {
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

    /// Population `version_id` settled (whichever way): the table is free for the next one.
    pub fn end_population(&mut self, version_id: &str, now: f64) {
        if self.populating.as_deref() == Some(version_id) {
            self.populating = None;
        }
        self.update_time = now;
    }

    /// A base table (`kind`, `name`, `id`) left the collaboration: `BASE_TABLE_REMOVED` for
    /// good. `false` when the table was terminal already (nothing changes).
    pub fn base_removed(&mut self, base: &dto::IntermediateTableDependency, now: f64) -> bool {
        let kind = match base.r#type {
            dto::BaseTableDependencyType::Table => "table",
            dto::BaseTableDependencyType::IntermediateTable => "intermediate table",
            dto::BaseTableDependencyType::IdMappingTable => "ID mapping table",
        };
        self.terminate(
            dto::IntermediateTableStatus::BaseTableRemoved,
            format!(
                "Base {kind} '{}' ({}) was removed from the collaboration",
                base.name, base.id
            ),
            now,
        )
    }

    /// A data provider disallowed the table (or, with `through`, the intermediate table it is
    /// built on): `DISALLOWED_BY_DATA_PROVIDER` for good. `false` when the table was terminal
    /// already.
    pub fn disallow(&mut self, provider: &str, through: Option<&str>, now: f64) -> bool {
        let reason = match through {
            None => format!("Disallowed by data provider {provider}"),
            Some(base) => format!(
                "Base intermediate table '{base}' was disallowed by data provider {provider}"
            ),
        };
        self.terminate(
            dto::IntermediateTableStatus::DisallowedByDataProvider,
            reason,
            now,
        )
    }

    /// Moves the table to terminal `status` with `reason`, unless it is terminal already.
    fn terminate(
        &mut self,
        status: dto::IntermediateTableStatus,
        reason: String,
        now: f64,
    ) -> bool {
        if self.is_terminal() {
            return false;
        }
        self.status = status;
        self.status_reason = Some(reason);
        self.update_time = now;
        true
    }

    /// Whether the active version expired at `now` and the table changes status for it: not
    /// when it already expired, is terminal, or a population is running (that population will
    /// replace the version).
    pub fn expires(&self, now: f64) -> bool {
        self.active
            .as_ref()
            .is_some_and(|v| v.expiration_time <= now)
            && !self.is_terminal()
            && self.status != dto::IntermediateTableStatus::RetentionPeriodExpired
            && self.populating.is_none()
    }

    /// The active version outlived its retention: `RETENTION_PERIOD_EXPIRED` (the data goes).
    /// `false` when [`IntermediateTable::expires`] does not hold at `now`.
    pub fn expire(&mut self, now: f64) -> bool {
        if !self.expires(now) {
            return false;
        }
        let Some(active) = &self.active else {
            return false;
        };
        self.status_reason = Some(format!(
            "Version {} expired at the end of the {}-day retention period; populate the table again",
            active.version_id, self.retention_in_days
        ));
        self.status = dto::IntermediateTableStatus::RetentionPeriodExpired;
        self.update_time = now;
        true
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
        child_shape!(owner self => dto::IntermediateTable {
            analysis_rule_types: Some(self.rule_types()),
            child_resources: Some(children),
            intermediate_table_version: self.active.as_ref().map(ActiveVersion::to_dto),
            kms_key_arn: self.kms_key_arn.clone(),
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
        })
    }

    /// The `IntermediateTableSummary` shape.
    pub fn to_summary(&self) -> dto::IntermediateTableSummary {
        child_shape!(owner self => dto::IntermediateTableSummary {
            analysis_rule_types: Some(self.rule_types()),
            retention_in_days: Some(self.retention_in_days),
            status: self.status,
        })
    }

    /// The `ChildResource` entry naming this table under one of its base tables.
    pub fn to_child(&self) -> dto::ChildResource {
        dto::ChildResource {
            owner_account_id: self.header.account_id.clone(),
            resource_id: Some(self.header.id.clone()),
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

/// One population of an intermediate table (kind `records::kinds::INTERMEDIATE_TABLE_VERSION`, id =
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
    /// Whether this successful version's expiration time has passed at `now`.
    pub fn is_due(&self, now: f64) -> bool {
        self.status == dto::IntermediateTableVersionStatus::PopulateSuccess
            && self.expiration_time.is_some_and(|t| t <= now)
    }

    /// The version outlived its retention: `RETENTION_PERIOD_EXPIRED`.
    pub fn expire(&mut self) {
        self.status = dto::IntermediateTableVersionStatus::RetentionPeriodExpired;
    }

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
/// `records::kinds::INTERMEDIATE_TABLE_RULE`, id and parent = table id).
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

/// The first value listed twice.
fn duplicate<'a>(values: impl IntoIterator<Item = &'a String>) -> Option<&'a String> {
    let mut seen = HashSet::new();
    values.into_iter().find(|v| !seen.insert(*v))
}

/// Whether a schema column type holds text.
fn is_text(t: &str) -> bool {
    let t = t.trim().to_ascii_lowercase();
    is_string_type(&t) || t.contains("utf8")
}

/// A message about the first of `names` that is not one of `columns` (when they are known).
fn unknown_column<'a>(
    columns: Option<&[dto::Column]>,
    field: &str,
    names: impl IntoIterator<Item = &'a String>,
) -> Option<String> {
    let cols = columns?;
    let bad = names
        .into_iter()
        .find(|n| !cols.iter().any(|c| c.name == **n))?;
    let all: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    Some(format!(
        "{PREFIX}.{field}: '{bad}' is not a column of the intermediate table; its columns are {}",
        all.join(", ")
    ))
}

/// The structural checks of a custom policy against the table's `columns` (when known): a
/// message naming the field at fault, or `None`.
pub fn policy_problem(
    rule: &dto::IntermediateTableAnalysisRuleCustom,
    columns: Option<&[dto::Column]>,
) -> Option<String> {
    let fail = |field: &str, message: String| Some(format!("{PREFIX}.{field}: {message}"));
    let analyses = rule.allowed_analyses.as_deref().unwrap_or(&[]);
    if let Some(d) = duplicate(analyses) {
        return fail("allowedAnalyses", format!("'{d}' is listed more than once"));
    }
    let wildcard = analyses.iter().find(|a| *a == ANY_QUERY || *a == ANY_JOB);
    let template = analyses.iter().find(|a| *a != ANY_QUERY && *a != ANY_JOB);
    if let (Some(w), Some(t)) = (wildcard, template) {
        return fail(
            "allowedAnalyses",
            format!(
                "'{w}' and the analysis template '{t}' cannot be combined: allow either analysis templates or {ANY_QUERY}/{ANY_JOB} with allowedAnalysisProviders"
            ),
        );
    }
    let providers = rule.allowed_analysis_providers.as_deref().unwrap_or(&[]);
    if let Some(d) = duplicate(providers) {
        return fail(
            "allowedAnalysisProviders",
            format!("'{d}' is listed more than once"),
        );
    }
    match (wildcard, providers.first()) {
        (Some(w), None) => {
            return fail(
                "allowedAnalysisProviders",
                format!("is required when allowedAnalyses contains '{w}'"),
            )
        }
        (None, Some(p)) => {
            return fail(
                "allowedAnalysisProviders",
                format!(
                    "'{p}' is not allowed: analysis providers go with {ANY_QUERY} or {ANY_JOB} in allowedAnalyses"
                ),
            )
        }
        _ => {}
    }
    if let Some(cols) = &rule.disallowed_output_columns {
        if let Some(d) = duplicate(cols) {
            return fail(
                "disallowedOutputColumns",
                format!("'{d}' is listed more than once"),
            );
        }
        if let Some(m) = unknown_column(columns, "disallowedOutputColumns", cols.iter()) {
            return Some(m);
        }
    }
    if let Some(dp) = &rule.differential_privacy {
        if let Some(m) = unknown_column(
            columns,
            "differentialPrivacy.columns",
            dp.columns.iter().map(|c| &c.name),
        ) {
            return Some(m);
        }
    }
    let jobs_only = !analyses.is_empty() && analyses.iter().all(|a| a == ANY_JOB);
    for (field, present) in [
        (
            "aggregationThresholds",
            rule.aggregation_thresholds.is_some(),
        ),
        ("comparisonControls", rule.comparison_controls.is_some()),
    ] {
        if present && rule.differential_privacy.is_some() {
            return fail(field, "cannot be combined with differentialPrivacy".into());
        }
        if present && jobs_only {
            return fail(
                field,
                format!("cannot be used when allowedAnalyses allows only jobs ({ANY_JOB})"),
            );
        }
    }
    let mut identity = None;
    for (i, threshold) in rule.aggregation_thresholds.iter().flatten().enumerate() {
        let field = format!("aggregationThresholds[{i}].identityColumns");
        if let Some(m) = unknown_column(columns, &field, threshold.identity_columns.iter()) {
            return Some(m);
        }
        if let Some(column) = threshold.identity_columns.first() {
            identity = Some(column.clone());
            let t = columns
                .and_then(|cols| cols.iter().find(|c| c.name == *column))
                .map(|c| c.r#type.as_str());
            if let Some(t) = t.filter(|t| !is_text(t)) {
                return fail(
                    &field,
                    format!(
                        "identity column '{column}' has type '{t}'; it must be string, varchar or char"
                    ),
                );
            }
        }
        let overrides = threshold.output_column_thresholds.as_deref().unwrap_or(&[]);
        if let Some(d) = duplicate(overrides.iter().map(|o| &o.output_column_name)) {
            return fail(
                &format!("aggregationThresholds[{i}].outputColumnThresholds"),
                format!("'{d}' is listed more than once"),
            );
        }
        if let Some((field, message)) = identity_count_of_one(i, overrides) {
            return fail(&field, message);
        }
    }
    if let Some(controls) = &rule.comparison_controls {
        for (field, list) in [
            (
                "comparisonControls.allowedLiteralComparisonColumns",
                &controls.allowed_literal_comparison_columns,
            ),
            (
                "comparisonControls.allowedColumnComparisonColumns",
                &controls.allowed_column_comparison_columns,
            ),
        ] {
            if let Some(m) = unknown_column(columns, field, list.iter()) {
                return Some(m);
            }
            if let Some(d) = duplicate(list) {
                return fail(field, format!("'{d}' is listed more than once"));
            }
        }
        if let Some(id) =
            identity.filter(|id| controls.allowed_literal_comparison_columns.contains(id))
        {
            return fail(
                "comparisonControls.allowedLiteralComparisonColumns",
                format!(
                    "column '{id}' is the aggregation threshold identity column and cannot be compared with literals"
                ),
            );
        }
    }
    if let Some(d) = rule.allowed_result_receivers.as_ref().and_then(duplicate) {
        return fail(
            "allowedResultReceivers",
            format!("'{d}' is listed more than once"),
        );
    }
    if let Some(d) = rule
        .allowed_additional_analyses
        .as_ref()
        .and_then(duplicate)
    {
        return fail(
            "allowedAdditionalAnalyses",
            format!("'{d}' is listed more than once"),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::cleanrooms::domain::lineage::tests::{inherited, table};

    const DAY: f64 = 86_400.0;

    fn version(id: &str) -> IntermediateTableVersion {
        IntermediateTableVersion {
            version_id: id.into(),
            table_id: "t".into(),
            analysis_id: format!("q-{id}"),
            status: dto::IntermediateTableVersionStatus::PopulateStarted,
            kms_key_arn: None,
            parameters: None,
            delta_version: None,
            expiration_time: None,
            create_time: 0.0,
        }
    }

    fn active(id: &str, delta_version: i64) -> ActiveVersion {
        ActiveVersion {
            version_id: id.into(),
            analysis_id: format!("q-{id}"),
            delta_version,
            kms_key_arn: None,
            parameters: None,
            inherited: inherited(),
            first_party: true,
            expiration_time: 0.0,
        }
    }

    fn column() -> Vec<dto::Column> {
        vec![dto::Column {
            name: "n".into(),
            r#type: "bigint".into(),
        }]
    }

    #[test]
    fn a_population_begins_once_and_completes_with_the_retention_period() {
        let mut t = table("t", "spend", "111111111111", Vec::new());
        t.kms_key_arn = Some("key".into());
        t.begin_population("v1", 10.0).unwrap();
        assert_eq!(t.status, dto::IntermediateTableStatus::PopulateStarted);
        assert_eq!(t.populating.as_deref(), Some("v1"));
        let err = t.begin_population("v2", 11.0).unwrap_err();
        assert!(
            err.message.contains("already being populated (version v1)"),
            "{}",
            err.message
        );

        let mut v = version("v1");
        t.complete_population(active("v1", 3), column(), Some(&mut v), 100.0)
            .unwrap();
        t.end_population("v1", 100.0);
        let a = t.active.as_ref().unwrap();
        assert_eq!(
            (a.delta_version, a.kms_key_arn.as_deref()),
            (3, Some("key"))
        );
        assert_eq!(a.expiration_time, 100.0 + 30.0 * DAY);
        assert_eq!(t.status, dto::IntermediateTableStatus::PopulateSuccess);
        assert!(t.populating.is_none() && t.schema.is_some());
        assert_eq!(
            v.status,
            dto::IntermediateTableVersionStatus::PopulateSuccess
        );
        assert_eq!(
            (v.delta_version, v.expiration_time),
            (Some(3), Some(100.0 + 30.0 * DAY))
        );
    }

    #[test]
    fn a_failed_population_keeps_an_unexpired_version_and_frees_the_table() {
        let mut t = table("t", "spend", "111111111111", Vec::new());
        t.begin_population("v1", 0.0).unwrap();
        t.complete_population(active("v1", 1), column(), None, 0.0)
            .unwrap();
        t.end_population("v1", 0.0);

        t.begin_population("v2", 1.0).unwrap();
        let mut v2 = version("v2");
        t.fail_population(Some(&mut v2), "Population v2 failed: boom".into(), 2.0);
        t.end_population("v2", 2.0);
        assert_eq!(t.status, dto::IntermediateTableStatus::PopulateSuccess);
        assert_eq!(
            t.status_reason.as_deref(),
            Some("Population v2 failed: boom")
        );
        assert_eq!(t.active.as_ref().unwrap().version_id, "v1");
        assert_eq!(
            v2.status,
            dto::IntermediateTableVersionStatus::PopulateFailed
        );
        assert!(t.populating.is_none());

        // Once the previous version expired, a failure leaves nothing to read.
        t.begin_population("v3", 40.0 * DAY).unwrap();
        t.fail_population(None, "cancelled".into(), 40.0 * DAY);
        assert_eq!(t.status, dto::IntermediateTableStatus::PopulateFailed);
    }

    #[test]
    fn terminal_tables_stay_terminal() {
        let mut t = table("t", "spend", "111111111111", Vec::new());
        t.begin_population("v1", 0.0).unwrap();
        assert!(t.disallow("222222222222", None, 1.0));
        assert_eq!(
            t.status,
            dto::IntermediateTableStatus::DisallowedByDataProvider
        );
        assert!(!t.disallow("222222222222", Some("base"), 2.0));
        let base = dto::IntermediateTableDependency {
            creator_account_id: "222222222222".into(),
            id: "a".into(),
            name: "purchases".into(),
            parent_type: dto::BaseTableParentType::Direct,
            r#type: dto::BaseTableDependencyType::Table,
        };
        assert!(!t.base_removed(&base, 3.0));
        // The data of a population that ends after the table became unusable is refused.
        let mut v = version("v1");
        let refused = t.complete_population(active("v1", 1), column(), Some(&mut v), 4.0);
        assert!(refused.unwrap_err().contains("unusable"));
        assert!(t.active.is_none());
        t.fail_population(Some(&mut v), "late".into(), 4.0);
        assert_eq!(
            t.status,
            dto::IntermediateTableStatus::DisallowedByDataProvider
        );
        assert_eq!(
            v.status,
            dto::IntermediateTableVersionStatus::PopulateFailed
        );
        assert!(t.begin_population("v2", 5.0).is_err());
    }

    #[test]
    fn retention_expires_the_active_version_unless_a_population_runs() {
        let mut t = table("t", "spend", "111111111111", Vec::new());
        t.retention_in_days = 1;
        t.begin_population("v1", 0.0).unwrap();
        t.complete_population(active("v1", 1), column(), None, 0.0)
            .unwrap();
        t.end_population("v1", 0.0);
        assert!(!t.expire(DAY - 1.0));
        t.begin_population("v2", DAY).unwrap();
        assert!(
            !t.expire(DAY + 1.0),
            "a running population replaces the version"
        );
        t.fail_population(None, "failed".into(), DAY + 1.0);
        t.end_population("v2", DAY + 1.0);
        assert!(t.expire(DAY + 2.0));
        assert_eq!(
            t.status,
            dto::IntermediateTableStatus::RetentionPeriodExpired
        );
        assert!(t
            .status_reason
            .as_deref()
            .unwrap()
            .contains("1-day retention"));
        assert!(!t.expire(DAY + 3.0), "expires once");
    }
}
