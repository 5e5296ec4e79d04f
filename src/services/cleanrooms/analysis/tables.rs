//! The tables an analysis can name in a collaboration — configured table associations,
//! intermediate tables and ID mapping tables, by their collaboration names — with where their
//! data is and the controls their analysis rules put on analyses.

use crate::services::cleanrooms::analysis::id_mapping_schemas::dimension_columns;
use crate::services::cleanrooms::domain::association::{Association, AssociationRule};
use crate::services::cleanrooms::domain::configured_table::{ConfiguredTable, ConfiguredTableRule};
use crate::services::cleanrooms::domain::id_mapping::{
    IdMappingTable, IdNamespaceAssociation, SOURCE_ID_COLUMN, TARGET_ID_COLUMN,
};
use crate::services::cleanrooms::domain::intermediate_table::{
    ActiveVersion, IntermediateTable, IntermediateTableRule,
};
use crate::services::cleanrooms::domain::lineage::effective_policy;
use crate::services::cleanrooms::errors::invalid_configuration;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::collaboration_children;
use std::sync::Arc;

use cleanrooms_emulator_api::cleanrooms::dto;
use datafusion::datasource::TableProvider;

use crate::engine::policy::CollaborationTable;
use crate::engine::Engine;
use crate::error::{AwsError, AwsResult};
use crate::services::glue::catalog;
use crate::state::AppState;
use crate::storage::ManagedStorage;

/// One table of a collaboration as analyses see it.
#[derive(Debug, Clone)]
pub struct AnalysisTable {
    /// Name inside the collaboration (what SQL refers to).
    pub name: String,
    /// Association id, intermediate table id or ID mapping table id.
    pub id: String,
    /// TABLE (an association), INTERMEDIATE_TABLE or ID_MAPPING_TABLE.
    pub kind: dto::BaseTableDependencyType,
    /// Account owning the table (association owner, intermediate table creator).
    pub owner: String,
    /// Where its rows come from.
    pub source: Source,
    /// What its analysis rules allow.
    pub controls: Controls,
    /// For intermediate tables, the base tables it was built from (direct and indirect).
    pub dependencies: Vec<dto::IntermediateTableDependency>,
}

/// Where a collaboration table's rows are.
#[derive(Debug, Clone)]
pub enum Source {
    /// A Glue table of the owner, narrowed to the allowed columns.
    Glue {
        /// Owner account.
        account: String,
        /// Region of the Glue catalog.
        region: String,
        /// Glue database.
        database: String,
        /// Glue table.
        table: String,
        /// The columns collaborators may use.
        columns: Vec<String>,
    },
    /// A version of an intermediate table in managed storage.
    Managed {
        /// Intermediate table id.
        table_id: String,
        /// Delta version to read.
        delta_version: i64,
    },
    /// The table cannot be read; the message says why.
    Unavailable(String),
}

/// The analysis rule type governing a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// No analysis rule: the table cannot be analysed.
    Missing,
    /// AGGREGATION.
    Aggregation,
    /// LIST.
    List,
    /// CUSTOM (always the case for intermediate tables).
    Custom,
    /// The managed ID_MAPPING_TABLE rule of ID mapping tables (compatible with every other
    /// rule type: it only governs how the table itself is joined).
    IdMappingTable,
}

impl RuleKind {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "none",
            Self::Aggregation => "AGGREGATION",
            Self::List => "LIST",
            Self::Custom => "CUSTOM",
            Self::IdMappingTable => "ID_MAPPING_TABLE",
        }
    }
}

/// The controls of a table's analysis rules (configured table rule + association rule, or the
/// intermediate table's own rule plus what it inherited).
#[derive(Debug, Clone)]
pub struct Controls {
    /// The rule type.
    pub rule: RuleKind,
    /// Template ARNs or `ANY_QUERY` (empty: nothing is allowed).
    pub allowed_analyses: Option<Vec<String>>,
    /// Accounts whose ad-hoc queries and templates `ANY_QUERY` admits.
    pub allowed_providers: Option<Vec<String>>,
    /// Columns that may not reach an output (the rule's own).
    pub disallowed_columns: Vec<String>,
    /// Accounts allowed to receive results (intersection of the rules' lists); `None` = any
    /// member that can receive results.
    pub receivers: Option<Vec<String>>,
    /// Whether results may or must feed additional analyses.
    pub additional_analyses: Option<dto::AdditionalAnalyses>,
    /// Which additional analyses may consume results.
    pub allowed_additional_analyses: Option<Vec<String>>,
    /// The AGGREGATION rule's policy, when that is the rule type.
    pub aggregation: Option<dto::AnalysisRuleAggregation>,
    /// The LIST rule's policy, when that is the rule type.
    pub list: Option<dto::AnalysisRuleList>,
    /// CUSTOM rules: differential privacy on a user identifier column.
    pub differential_privacy: Option<dto::DifferentialPrivacyConfiguration>,
    /// CUSTOM rules: minimum aggregation threshold (at most one).
    pub aggregation_thresholds: Option<Vec<dto::AggregationThreshold>>,
    /// CUSTOM rules: which columns may be compared with literals or other columns.
    pub comparison_controls: Option<dto::ComparisonControls>,
}

/// Sets `$controls` from the custom policy `$c` of a configured table
/// (`dto::AnalysisRuleCustom`) or of an intermediate table
/// (`dto::IntermediateTableAnalysisRuleCustom`): the same fields, but only the first requires
/// `allowedAnalyses`, which the caller passes as `$allowed`.
macro_rules! set_custom_controls {
    ($controls:ident, $c:expr, $allowed:expr) => {{
        let c = &$c;
        $controls.rule = RuleKind::Custom;
        $controls.allowed_analyses = Some($allowed);
        $controls.allowed_providers =
            Some(c.allowed_analysis_providers.clone().unwrap_or_default());
        $controls.disallowed_columns = c.disallowed_output_columns.clone().unwrap_or_default();
        $controls.receivers = c.allowed_result_receivers.clone();
        $controls.additional_analyses = c.additional_analyses;
        $controls.allowed_additional_analyses = c.allowed_additional_analyses.clone();
        $controls.differential_privacy = c.differential_privacy.clone();
        $controls.aggregation_thresholds = c.aggregation_thresholds.clone();
        $controls.comparison_controls = c.comparison_controls.clone();
    }};
}

impl Controls {
    /// No analysis rule: nothing allowed, no controls.
    pub fn missing() -> Self {
        Self {
            rule: RuleKind::Missing,
            allowed_analyses: None,
            allowed_providers: None,
            disallowed_columns: Vec::new(),
            receivers: None,
            additional_analyses: None,
            allowed_additional_analyses: None,
            aggregation: None,
            list: None,
            differential_privacy: None,
            aggregation_thresholds: None,
            comparison_controls: None,
        }
    }
}

/// Intersection of two optional allow-lists (`None` = unrestricted).
pub fn intersect(a: Option<Vec<String>>, b: Option<&Vec<String>>) -> Option<Vec<String>> {
    match (a, b) {
        (None, None) => None,
        (Some(a), None) => Some(a),
        (None, Some(b)) => Some(b.clone()),
        (Some(a), Some(b)) => Some(a.into_iter().filter(|x| b.contains(x)).collect()),
    }
}

/// Every table of collaboration `collaboration_id` (associations first, then intermediate
/// tables), each with its source and controls.
pub async fn collaboration_tables(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<AnalysisTable>> {
    let mut out = Vec::new();
    for (_, a) in collaboration_children::<Association>(state, collaboration_id).await? {
        out.push(association_table(state, a).await?);
    }
    let tables: Vec<(i64, IntermediateTable)> =
        collaboration_children::<IntermediateTable>(state, collaboration_id).await?;
    let now = state.now();
    for (_, t) in tables {
        let rule: Option<IntermediateTableRule> =
            records::load::<IntermediateTableRule>(state, &t.header.id).await?;
        out.push(intermediate_table(&t, rule.as_ref(), now));
    }
    for (_, t) in collaboration_children::<IdMappingTable>(state, collaboration_id).await? {
        let dimension = dimension_columns(state, &t).await?;
        let mut table = id_mapping_table(&t, &dimension);
        if let Some(gone) = missing_input(state, &t).await? {
            table.source = Source::Unavailable(format!(
                "ID mapping table '{}' cannot be read: its ID namespace association {gone} left the collaboration",
                t.name
            ));
        }
        out.push(table);
    }
    Ok(out)
}

/// The first ID namespace association of `t` that no longer exists (its member left or was
/// removed), if any.
///
/// # Errors
/// Store failures.
pub async fn missing_input(state: &AppState, t: &IdMappingTable) -> AwsResult<Option<String>> {
    for s in &t.input_sources {
        if records::load::<IdNamespaceAssociation>(state, &s.id_namespace_association_id)
            .await?
            .is_none()
        {
            return Ok(Some(s.id_namespace_association_id.clone()));
        }
    }
    Ok(None)
}

/// An ID mapping table as analyses see it: its latest population, and its id columns
/// protected (they may only be joined on) except those allowed as dimension columns.
fn id_mapping_table(t: &IdMappingTable, dimension: &[String]) -> AnalysisTable {
    let source = match &t.population {
        Some(p) => Source::Managed {
            table_id: t.header.id.clone(),
            delta_version: p.delta_version,
        },
        None => Source::Unavailable(format!(
            "ID mapping table '{}' is not ready (ID_MAPPING_TABLE_NOT_POPULATED): populate it with PopulateIdMappingTable first",
            t.name
        )),
    };
    let mut controls = Controls::missing();
    controls.rule = RuleKind::IdMappingTable;
    controls.disallowed_columns = [SOURCE_ID_COLUMN, TARGET_ID_COLUMN]
        .iter()
        .filter(|c| !dimension.iter().any(|d| d == *c))
        .map(|c| (*c).to_string())
        .collect();
    AnalysisTable {
        name: t.name.clone(),
        id: t.header.id.clone(),
        kind: dto::BaseTableDependencyType::IdMappingTable,
        owner: t.header.account_id.clone(),
        source,
        controls,
        dependencies: Vec::new(),
    }
}

async fn association_table(state: &AppState, a: Association) -> AwsResult<AnalysisTable> {
    let table_record = records::record::<ConfiguredTable>(state, &a.configured_table_id).await?;
    let Some(record) = table_record else {
        return Ok(AnalysisTable {
            name: a.name.clone(),
            id: a.header.id.clone(),
            kind: dto::BaseTableDependencyType::Table,
            owner: a.header.account_id.clone(),
            source: Source::Unavailable(format!(
                "The configured table of table '{}' no longer exists",
                a.name
            )),
            controls: Controls::missing(),
            dependencies: Vec::new(),
        });
    };
    let configured: ConfiguredTable = records::decode(&record)?;
    let source = match &configured.table_reference {
        dto::TableReference::Glue(g) => Source::Glue {
            account: configured.account_id.clone(),
            region: g
                .region
                .map_or(record.region.clone(), |r| r.as_str().to_string()),
            database: g.database_name.clone(),
            table: g.table_name.clone(),
            columns: configured.allowed_columns.clone(),
        },
        other => Source::Unavailable(format!(
            "Table '{}' refers to a {} table; the emulator reads Glue tables only",
            a.name,
            match other {
                dto::TableReference::Athena(_) => "Athena",
                dto::TableReference::Snowflake(_) => "Snowflake",
                dto::TableReference::Databricks(_) => "Databricks",
                dto::TableReference::Glue(_) => "Glue",
            }
        )),
    };
    let rule: Option<ConfiguredTableRule> =
        records::load::<ConfiguredTableRule>(state, &configured.id).await?;
    let mut controls = Controls::missing();
    if let Some(rule) = rule {
        let dto::ConfiguredTableAnalysisRulePolicy::V1(policy) = &rule.policy;
        match policy {
            dto::ConfiguredTableAnalysisRulePolicyV1::Custom(c) => {
                set_custom_controls!(controls, c, c.allowed_analyses.clone());
            }
            dto::ConfiguredTableAnalysisRulePolicyV1::Aggregation(p) => {
                controls.rule = RuleKind::Aggregation;
                // The model: additionalAnalyses is only honoured for LIST and CUSTOM rules.
                controls.aggregation = Some(p.clone());
            }
            dto::ConfiguredTableAnalysisRulePolicyV1::List(p) => {
                controls.rule = RuleKind::List;
                controls.additional_analyses = p.additional_analyses;
                controls.list = Some(p.clone());
            }
        }
    }
    // The association's own (collaboration) rule of the same type narrows receivers and
    // additional analyses.
    if let Some(rule_type) = association_rule_type(controls.rule) {
        if let Some(r) = records::record::<AssociationRule>(
            state,
            &AssociationRule::record_id(&a.header.id, rule_type),
        )
        .await?
        {
            let rule: AssociationRule = records::decode(&r)?;
            let dto::ConfiguredTableAssociationAnalysisRulePolicy::V1(policy) = &rule.policy;
            let (receivers, additional) = match policy {
                dto::ConfiguredTableAssociationAnalysisRulePolicyV1::Custom(c) => (
                    c.allowed_result_receivers.as_ref(),
                    c.allowed_additional_analyses.as_ref(),
                ),
                dto::ConfiguredTableAssociationAnalysisRulePolicyV1::Aggregation(c) => (
                    c.allowed_result_receivers.as_ref(),
                    c.allowed_additional_analyses.as_ref(),
                ),
                dto::ConfiguredTableAssociationAnalysisRulePolicyV1::List(c) => (
                    c.allowed_result_receivers.as_ref(),
                    c.allowed_additional_analyses.as_ref(),
                ),
            };
            controls.receivers = intersect(controls.receivers, receivers);
            controls.allowed_additional_analyses =
                intersect(controls.allowed_additional_analyses, additional);
        }
    }
    Ok(AnalysisTable {
        name: a.name.clone(),
        id: a.header.id.clone(),
        kind: dto::BaseTableDependencyType::Table,
        owner: a.header.account_id.clone(),
        source,
        controls,
        dependencies: Vec::new(),
    })
}

/// The association rule type that matches a configured table rule type.
fn association_rule_type(
    rule: RuleKind,
) -> Option<dto::ConfiguredTableAssociationAnalysisRuleType> {
    use dto::ConfiguredTableAssociationAnalysisRuleType as T;
    match rule {
        RuleKind::Missing => None,
        RuleKind::Aggregation => Some(T::Aggregation),
        RuleKind::List => Some(T::List),
        RuleKind::Custom => Some(T::Custom),
        RuleKind::IdMappingTable => None,
    }
}

fn intermediate_table(
    t: &IntermediateTable,
    rule: Option<&IntermediateTableRule>,
    now: f64,
) -> AnalysisTable {
    let source = match t.readable_version(now) {
        Ok(v) => Source::Managed {
            table_id: t.header.id.clone(),
            delta_version: v.delta_version,
        },
        Err(why) => Source::Unavailable(why),
    };
    let mut controls = Controls::missing();
    if let Some(rule) = rule {
        // The owner's rule with the inherited controls that bind it (multi-party tables).
        let c = effective_policy(
            rule.custom(),
            t.active.as_ref().and_then(ActiveVersion::binding_inherited),
        );
        set_custom_controls!(controls, c, c.allowed_analyses.clone().unwrap_or_default());
    }
    AnalysisTable {
        name: t.name.clone(),
        id: t.header.id.clone(),
        kind: dto::BaseTableDependencyType::IntermediateTable,
        owner: t.header.account_id.clone(),
        source,
        controls,
        dependencies: t.dependencies.clone(),
    }
}

impl AnalysisTable {
    /// The DataFusion table to register under [`AnalysisTable::name`].
    ///
    /// # Errors
    /// `ValidationException` when the table cannot be read (missing Glue table, unusable
    /// intermediate table, unreadable files).
    pub async fn provider(
        &self,
        state: &AppState,
        storage: &ManagedStorage,
    ) -> AwsResult<Arc<dyn TableProvider>> {
        match &self.source {
            Source::Unavailable(why) => Err(invalid_configuration(why.clone())),
            Source::Glue {
                account,
                region,
                database,
                table,
                columns,
            } => {
                let glue = catalog::table(state, account, region, database, table)
                    .await
                    .map_err(|e| {
                        invalid_configuration(format!(
                            "Table '{}' cannot be read: its Glue table {database}.{table} is not available ({})",
                            self.name, e.message
                        ))
                    })?;
                let partitions = catalog::partitions(state, account, region, database, table)
                    .await
                    .unwrap_or_default();
                let engine = Engine::new(state.data_dir());
                let inner = engine.glue_table(&glue, &partitions).await.map_err(|e| {
                    invalid_configuration(format!("Table '{}' cannot be read: {e}", self.name))
                })?;
                let restricted =
                    CollaborationTable::new(&self.name, inner, columns).map_err(|e| {
                        invalid_configuration(format!("Table '{}' cannot be read: {e}", self.name))
                    })?;
                Ok(Arc::new(restricted))
            }
            Source::Managed {
                table_id,
                delta_version,
            } => storage
                .provider(table_id, *delta_version)
                .await
                .map_err(|e| {
                    AwsError::internal(format!(
                        "intermediate table '{}' version {delta_version} cannot be read: {e}",
                        self.name
                    ))
                }),
        }
    }
}
