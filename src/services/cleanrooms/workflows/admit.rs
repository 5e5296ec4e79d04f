//! Admission of an analysis, shared by StartProtectedQuery ([`query`](super::query)) and
//! PopulateIntermediateTable ([`populate`](super::populate)). The caller has found the runner
//! (`records::access::query_runner`) and bound the SQL (`analysis::sql::bound_sql`), and checked
//! what only it knows (the result destination, the table to populate); then:
//!
//! 1. [`admit`]: the compute configuration becomes engine settings, the payer of query compute
//!    is checked, and the analysis is planned and checked against every table's rules
//!    (`analysis::prepare`) — every refusal is a synchronous `ValidationException` and nothing
//!    is stored;
//! 2. under the state's write lock, [`commit_charged`] charges the analysis to the
//!    collaboration's privacy budgets and commits the charge in the same commit as the
//!    analysis's own records, so an analysis exists exactly when it has paid and concurrent
//!    analyses never overspend.

use crate::services::cleanrooms::analysis::compute::{compute_payer, compute_settings};
use crate::services::cleanrooms::analysis::rules::Analysis;
use crate::services::cleanrooms::analysis::sql::BoundSql;
use crate::services::cleanrooms::analysis::{prepare, Prepared, Purpose};
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::budget::{resource_id, spend};
use crate::services::cleanrooms::domain::collaboration::Collaboration;
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::budgets::{ledger_at, put_ledger};
use crate::services::cleanrooms::records::collaboration_children;
use cleanrooms_emulator_api::cleanrooms::dto;

use crate::engine::sql::SqlDialect;
use crate::engine::SessionSettings;
use crate::error::AwsResult;
use crate::state::AppState;
use crate::store::Write;

/// How an analysis is asked for: by whom, on which workers, paid by whom, for what.
pub struct Request<'a> {
    /// Runner account.
    pub runner: &'a str,
    /// The requested workers, and the input field they came in (for error messages).
    pub compute: (&'a str, Option<&'a dto::WorkerComputeConfiguration>),
    /// The requested payer of query compute, and its input field.
    pub payer: (Option<&'a str>, &'a str),
    /// What the output is for.
    pub purpose: Purpose<'a>,
}

/// An admitted analysis: planned and checked, not yet charged or stored.
pub struct Admitted {
    /// The plan with its tables and rules.
    pub prepared: Prepared,
    /// The engine settings it runs with.
    pub settings: SessionSettings,
    /// The member paying for query compute.
    pub payer: Option<String>,
    /// The SQL as run (placeholders rewritten).
    pub sql: String,
    /// The analysis template run, if any.
    pub template_arn: Option<String>,
}

/// Plans and checks the analysis `request` describes.
///
/// # Errors
/// `ValidationException` naming the field, table, rule or column at fault.
pub async fn admit(
    state: &AppState,
    collaboration: &Collaboration,
    (sql, template): (&BoundSql, Option<&AnalysisTemplate>),
    request: Request<'_>,
) -> AwsResult<Admitted> {
    let (compute_field, worker) = request.compute;
    let mut settings = compute_settings(compute_field, worker)?;
    settings.dialect = match collaboration.analytics_engine {
        dto::AnalyticsEngine::CleanRoomsSql => SqlDialect::CleanRoomsSql,
        dto::AnalyticsEngine::Spark => SqlDialect::Spark,
    };
    let (requested_payer, payer_field) = request.payer;
    let payer = compute_payer(state, &collaboration.id, requested_payer, payer_field).await?;
    let prepared = prepare(
        state,
        &collaboration.id,
        Analysis {
            runner: request.runner,
            template,
        },
        sql,
        request.purpose,
        &settings,
    )
    .await?;
    Ok(Admitted {
        prepared,
        settings,
        payer,
        sql: sql.sql.clone(),
        template_arn: template.map(|t| t.header.arn.clone()),
    })
}

/// Charges `prepared` to the budgets of collaboration `collaboration_id` and commits the charge
/// with `writes` (the analysis's own records). The caller holds the state's write lock.
///
/// # Errors
/// `ValidationException` (`INVALID_CONFIGURATION`) naming the table or budget that cannot pay,
/// what remains and when it refreshes; nothing is stored then. `ConflictException` when a record
/// that must be new exists already or one read was changed meanwhile. Store failures.
pub async fn commit_charged(
    state: &AppState,
    collaboration_id: &str,
    prepared: &Prepared,
    writes: Vec<Write>,
) -> AwsResult<()> {
    let touched = prepared.touched();
    let dp = &prepared.usage.dp_aggregations;
    let mut templates = Vec::new();
    // What each ledger's write expects: two analyses charging the same budget at once cannot
    // both spend from the same balance (the second gets a ConflictException).
    let mut read = Vec::new();
    for (_, t) in collaboration_children::<PrivacyBudgetTemplate>(state, collaboration_id).await? {
        let relevant = match t.resource_arn() {
            Some(arn) => touched.iter().any(|x| x.id == resource_id(arn)),
            None => !dp.is_empty(),
        };
        if relevant {
            let (ledger, expect) = ledger_at(state, &t.header.id).await?;
            templates.push((t, ledger));
            read.push(expect);
        }
    }
    let spent = spend(&templates, &touched, dp, state.now())?
        .iter()
        .map(|(i, ledger)| Ok(put_ledger(&templates[*i].0, ledger)?.expecting(read[*i])))
        .collect::<AwsResult<Vec<_>>>()?;
    records::commit(state, writes.into_iter().chain(spent).collect()).await
}
