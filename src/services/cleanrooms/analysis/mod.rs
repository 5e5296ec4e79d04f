//! Layer 3a of the Clean Rooms service: planning one analysis, shared by `StartProtectedQuery`
//! and `PopulateIntermediateTable`. Bind the SQL and its typed parameters ([`sql`]), map the
//! compute configuration ([`compute`]), resolve the collaboration tables it names ([`tables`]),
//! plan it with DataFusion, enforce the tables' analysis rules on the plan ([`rules`] for what
//! CUSTOM rules allow and who receives results, [`enforce`] for each rule type's query structure
//! and the output suppression rewritten into the plan) and plan its differential privacy
//! ([`dp`]). This layer reads records and never commits or spawns: running the plan is
//! `workflows::runs`.
//!
//! Everything that can be decided before running is decided in [`prepare`] and answered
//! synchronously as a `ValidationException`; what fails while running becomes the protected
//! query's `FAILED` status with an error code.

pub mod compute;
pub mod dp;
pub mod dp_validation;
pub mod enforce;
pub mod id_mapping_schemas;
pub mod intermediate_schemas;
pub mod outcome;
pub mod readiness;
pub mod rules;
pub mod sql;
pub mod tables;
pub mod usage;

use crate::services::cleanrooms::analysis::readiness::direct_analysis_blockers;
use crate::services::cleanrooms::analysis::rules::Analysis;
use crate::services::cleanrooms::analysis::sql::BoundSql;
use crate::services::cleanrooms::analysis::tables::AnalysisTable;
use crate::services::cleanrooms::analysis::usage::Usage;
use crate::services::cleanrooms::domain::budget::touched;
use crate::services::cleanrooms::domain::budget::{Read, Touched};
use crate::services::cleanrooms::errors::invalid_query;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;

use crate::engine::policy::{self, OutputColumn};
use crate::engine::{Engine, SessionSettings};
use crate::error::AwsResult;
use crate::state::AppState;
use crate::storage::ManagedStorage;
use cleanrooms_emulator_api::cleanrooms::dto;

/// Longest SQL text (bytes) of a query on differential-privacy tables (Clean Rooms quota).
pub const DP_MAX_SQL_BYTES: usize = 8 * 1024;

/// What the analysis output is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// Results delivered to these accounts.
    Results {
        /// Receiving accounts.
        receivers: &'a [String],
    },
    /// A new version of an intermediate table; deferred controls are captured, not enforced.
    Populate,
}

/// A planned, rule-checked analysis ready to run.
pub struct Prepared {
    /// The session holding the registered tables.
    pub ctx: SessionContext,
    /// The plan with its parameters bound.
    pub plan: LogicalPlan,
    /// The collaboration tables the analysis reads.
    pub tables: Vec<AnalysisTable>,
    /// Where each output column's values come from.
    pub lineage: Vec<OutputColumn>,
    /// What the analysis spends from the collaboration's budgets.
    pub usage: Usage,
    /// For analyses over differential-privacy tables: how their result is noised.
    pub dp: Option<dp::DpPlan>,
}

impl Prepared {
    /// Every table the analysis uses, as its budgets are charged: the tables it reads, then the
    /// base tables of the intermediate ones, each once.
    pub fn touched(&self) -> Vec<Touched> {
        let read: Vec<Read<'_>> = self
            .tables
            .iter()
            .map(|t| Read {
                id: &t.id,
                name: &t.name,
                dependencies: &t.dependencies,
            })
            .collect();
        touched(&read)
    }
}

/// The managed storage of this emulator.
pub fn storage(state: &AppState) -> ManagedStorage {
    state.storage().clone()
}

/// Plans `sql` over the tables of collaboration `collaboration_id` and enforces their rules for
/// `analysis` and `purpose`.
///
/// # Errors
/// `ValidationException` naming the table, rule and column at fault when the SQL is not a
/// single query, names unknown tables or columns, or breaks an analysis rule.
pub async fn prepare(
    state: &AppState,
    collaboration_id: &str,
    analysis: Analysis<'_>,
    sql: &BoundSql,
    purpose: Purpose<'_>,
    settings: &SessionSettings,
) -> AwsResult<Prepared> {
    let ctx = Engine::new(state.data_dir()).session(settings);
    let session = ctx.state();
    let statement = crate::engine::sql::parse(&ctx, &sql.sql, settings.dialect, state.now())
        .map_err(invalid_query)?;
    let references = session
        .resolve_table_references(&statement)
        .map_err(|e| invalid_query(format!("The query could not be parsed: {e}")))?;
    let all = tables::collaboration_tables(state, collaboration_id).await?;
    let storage = storage(state);
    let mut used: Vec<AnalysisTable> = Vec::new();
    for reference in references {
        if reference.schema().is_some() {
            return Err(invalid_query(format!(
                "Table '{reference}' must be named by its name in the collaboration, without a database or catalog"
            )));
        }
        let name = reference.table();
        if used.iter().any(|t| t.name == name) {
            continue;
        }
        let Some(table) = all.iter().find(|t| t.name == name) else {
            // Built-in table functions (generate_series, range) read no data.
            if ctx.table_function(name).is_ok() {
                continue;
            }
            return Err(rules::unknown_table(name));
        };
        if let Purpose::Results { receivers } = purpose {
            rules::check_receivers(std::slice::from_ref(table), receivers)?;
        }
        rules::check_usable(table)?;
        if let Some(first) = used.first() {
            enforce::check_rule_types(&[first.clone(), table.clone()])?;
        }
        rules::check_allowed_analysis(table, analysis)?;
        // Whatever else keeps the table's schema NOT_READY (e.g. a collaboration analysis rule
        // of another type than the table's rule).
        if matches!(purpose, Purpose::Results { .. })
            && table.kind == dto::BaseTableDependencyType::Table
        {
            let blockers = direct_analysis_blockers(state, &table.id).await?;
            rules::check_ready(table, &blockers)?;
        }
        let provider = table.provider(state, &storage).await?;
        ctx.register_table(name, provider).map_err(|e| {
            crate::error::AwsError::internal(format!("cannot register table '{name}': {e}"))
        })?;
        used.push(table.clone());
    }
    let plan = ctx
        .state()
        .statement_to_plan(statement)
        .await
        .map_err(|e| {
            let message = clean(&e);
            invalid_query(
                crate::engine::sql::explain_plan_error(&message, settings.dialect)
                    .unwrap_or_else(|| format!("The query is not valid: {message}")),
            )
        })?;
    policy::check_statement(&plan).map_err(|e| invalid_query(e.to_string()))?;
    let lineage = policy::output_lineage(&plan).map_err(|e| invalid_query(e.to_string()))?;
    if let Purpose::Results { .. } = purpose {
        rules::check_direct_results(&used)?;
        rules::check_disallowed_columns(&used, &lineage)?;
    }
    if let Purpose::Populate = purpose {
        enforce::check_populate_sources(&used)?;
    }
    let plan = enforce::enforce(plan, &used, analysis.runner)?;
    let plan = plan
        .with_param_values(sql.values.clone())
        .map_err(|e| invalid_query(format!("The query parameters do not fit: {}", clean(&e))))?;
    let dp_tables: std::collections::BTreeMap<String, String> = used
        .iter()
        .filter_map(|t| {
            let column = t.controls.differential_privacy.as_ref()?.columns.first()?;
            Some((t.name.clone(), column.name.clone()))
        })
        .collect();
    let mut usage = Usage::default();
    let mut dp_plan = None;
    if let Some(first) = dp_tables.keys().next() {
        if sql.sql.len() > DP_MAX_SQL_BYTES {
            return Err(invalid_query(format!(
                "Table '{first}' has differential privacy; queries on differential-privacy tables are limited to {DP_MAX_SQL_BYTES} bytes of SQL (this one has {})",
                sql.sql.len()
            )));
        }
        let users_noise_per_query =
            dp::users_noise_per_query(state, collaboration_id, first).await?;
        if let Some(query) = policy::check_differential_privacy(&plan, &dp_tables)
            .map_err(|e| invalid_query(e.to_string()))?
        {
            usage.dp_aggregations = dp::aggregations(&query);
            dp_plan = Some(dp::DpPlan {
                query,
                users_noise_per_query,
                rng_seed: state.dp_noise().next_query_seed(),
            });
        }
    }
    Ok(Prepared {
        ctx,
        plan,
        tables: used,
        lineage,
        usage,
        dp: dp_plan,
    })
}

/// A DataFusion error without its internal prefixes ("Error during planning: ").
pub fn clean(e: &datafusion::error::DataFusionError) -> String {
    let s = e.to_string();
    for prefix in [
        "Error during planning: ",
        "Schema error: ",
        "SQL error: ",
        "This feature is not implemented: ",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    s
}
