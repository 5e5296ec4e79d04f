//! The background runs of admitted analyses. A run starts its query (`SUBMITTED → STARTED`,
//! unless it was cancelled first), executes the prepared plan — noised when the analysis is
//! differentially private — until it ends or is cancelled, then settles through
//! [`settle`](super::settle), the one place that records how a run ended:
//!
//! - [`spawn_query`]: StartProtectedQuery's run writes result files ([`results`](super::results))
//!   and delivers them to the receivers ([`delivery`](super::delivery));
//! - [`spawn_populate`]: PopulateIntermediateTable's run writes a new version of the
//!   intermediate table into managed storage, settles the table, version and query in one commit,
//!   then removes the data files no version can read any more.

use crate::services::cleanrooms::analysis::outcome::{engine_error, storage_error};
use crate::services::cleanrooms::analysis::{dp, Prepared};
use crate::services::cleanrooms::domain::intermediate_table::ActiveVersion;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::domain::protected_query::{RunEnd, RunError};
use crate::services::cleanrooms::domain::run_status::Run;
use crate::services::cleanrooms::records::listing::put_run_at;
use crate::services::cleanrooms::records::{self, Listed};
use crate::services::cleanrooms::workflows::background::spawn_membership_run;
use crate::services::cleanrooms::workflows::delivery::Delivery;
use crate::services::cleanrooms::workflows::results::write_results;
use crate::services::cleanrooms::workflows::settle::{
    settle_population, settle_query, Population, PopulationEnd,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use cleanrooms_emulator_api::cleanrooms::dto;
use datafusion::logical_expr::LogicalPlan;
use tokio_util::sync::CancellationToken;

use crate::engine::hive_types;
use crate::error::{AwsError, AwsResult};
use crate::jobs::Job;
use crate::state::AppState;
use crate::storage::WriteOptions;

/// Starts query `id` (already stored as SUBMITTED) of membership `membership_id`, delivering
/// its results as `delivery` says. It counts among the membership's ongoing queries
/// ([`ongoing_queries`]) until its run has settled.
pub fn spawn_query(
    state: &AppState,
    id: &str,
    membership_id: &str,
    prepared: Prepared,
    delivery: Delivery,
) {
    let quota = ("protected query", query_group(membership_id));
    spawn_membership_run(state, id, quota, move |state, id, token| async move {
        run_query(&state, &id, prepared, delivery, token).await
    });
}

/// How many protected queries of membership `membership_id` are queued or running in this
/// process (after a restart, recovery has failed the ones that were running before).
pub fn ongoing_queries(state: &AppState, membership_id: &str) -> usize {
    state.jobs().ongoing_in(&query_group(membership_id))
}

/// The quota group of a membership's protected queries.
fn query_group(membership_id: &str) -> String {
    format!("protected-queries/{membership_id}")
}

async fn run_query(
    state: &AppState,
    id: &str,
    prepared: Prepared,
    delivery: Delivery,
    token: CancellationToken,
) -> AwsResult<()> {
    let Some(account) = start(state, id).await? else {
        return Ok(());
    };
    let started = Instant::now();
    let targets: Vec<_> = delivery
        .destinations
        .iter()
        .map(|d| d.target.clone())
        .collect();
    let ran = match injected_failure(state, "StartProtectedQuery", &account) {
        Some(failure) => Some(Err(failure)),
        None => {
            until_cancelled(&token, async {
                let plan = noised(state, id, &prepared).await?;
                write_results(state, id, &prepared.ctx, plan, &targets).await
            })
            .await
        }
    };
    let end = match ran {
        Some(Ok(written)) => RunEnd::Succeeded(Some(dto::ProtectedQueryResult {
            output: delivery.output(&written),
        })),
        Some(Err(e)) => RunEnd::Failed(e),
        None if state.jobs().shutting_down() => RunEnd::Failed(shut_down()),
        None => RunEnd::Cancelled,
    };
    let _guard = state.write_lock().await;
    settle_query(state, id, elapsed_millis(started), end).await?;
    Ok(())
}

/// What a population records on success besides the data.
#[derive(Debug, Clone)]
pub struct PopulateJob {
    /// The query, table and version it fills.
    pub population: Population,
    /// Deferred controls captured from the base tables.
    pub inherited: dto::IntermediateTableInheritedConstraints,
    /// Whether every base table belongs to the owner.
    pub first_party: bool,
    /// Effective parameters.
    pub parameters: Option<BTreeMap<String, String>>,
    /// Managed-storage settings.
    pub options: WriteOptions,
}

/// Starts the population `job` (its query stored as SUBMITTED, its version as
/// POPULATE_STARTED).
pub fn spawn_populate(state: &AppState, prepared: Prepared, job: PopulateJob) {
    state.jobs().start(PopulationRun {
        state: state.clone(),
        prepared,
        job,
    });
}

/// The background run of a population.
struct PopulationRun {
    state: AppState,
    prepared: Prepared,
    job: PopulateJob,
}

impl Job for PopulationRun {
    fn id(&self) -> String {
        self.job.population.query_id.clone()
    }

    async fn run(self, token: CancellationToken) {
        let query_id = self.id();
        if let Err(e) = run_populate(&self.state, self.prepared, self.job, token).await {
            tracing::error!(query = %query_id, error = %e.message, "population bookkeeping failed");
        }
    }
}

async fn run_populate(
    state: &AppState,
    prepared: Prepared,
    job: PopulateJob,
    token: CancellationToken,
) -> AwsResult<()> {
    let p = &job.population;
    let queued = Instant::now();
    let go = start(state, &p.query_id).await?;
    let started = Instant::now();
    let mut planned = started;
    let storage = state.storage().clone();
    let mut timings = None;
    let end = if let Some(account) = go {
        let session = prepared.ctx.state();
        let ran = match injected_failure(state, "PopulateIntermediateTable", &account) {
            Some(failure) => Some(Err(failure)),
            None => {
                until_cancelled(&token, async {
                    let plan = noised(state, &p.query_id, &prepared).await?;
                    planned = Instant::now();
                    storage
                        .write_version(&p.table_id, &session, plan, &job.options)
                        .await
                        .map_err(storage_error)
                })
                .await
            }
        };
        match ran {
            Some(Ok(written)) => {
                timings = Some(written.timings);
                PopulationEnd::Written {
                    active: Box::new(ActiveVersion {
                        version_id: p.version_id.clone(),
                        analysis_id: p.query_id.clone(),
                        delta_version: written.delta_version,
                        kms_key_arn: None,
                        parameters: job.parameters.clone(),
                        inherited: job.inherited.clone(),
                        first_party: job.first_party,
                        expiration_time: 0.0,
                    }),
                    schema: written
                        .schema
                        .fields()
                        .iter()
                        .map(|f| dto::Column {
                            name: f.name().clone(),
                            r#type: hive_types::to_hive(f.data_type()),
                        })
                        .collect(),
                }
            }
            Some(Err(e)) => PopulationEnd::Failed(e),
            None if state.jobs().shutting_down() => PopulationEnd::Failed(shut_down()),
            None => PopulationEnd::Cancelled,
        }
    } else {
        PopulationEnd::Cancelled
    };
    let ran = Instant::now();
    let guard = state.write_lock().await;
    let retained = settle_population(state, p, elapsed_millis(started), end).await?;
    drop(guard);
    let settled = Instant::now();
    if let Some(delta_version) = retained {
        // Older populations' files are no longer readable through the API.
        if let Err(e) = storage.retain_only(&p.table_id, delta_version).await {
            tracing::warn!(table = %p.table_id, error = %e, "cannot remove superseded data files");
        }
    }
    if let Some(w) = timings {
        // Where a population's time went (`CLEANROOMS_EMULATOR_LOG=cleanrooms_emulator::timings=info`;
        // bench/populate.py reads it for the breakdown in docs/benchmarks.md).
        tracing::info!(
            target: "cleanrooms_emulator::timings",
            query = %p.query_id,
            start_ms = ms(started - queued),
            plan_ms = ms(planned - started),
            open_ms = ms(w.open),
            write_ms = ms(w.write),
            snapshot_ms = ms(w.snapshot),
            sync_ms = ms(w.sync),
            settle_ms = ms(settled - ran),
            retain_ms = ms(settled.elapsed()),
            "population timings"
        );
    }
    Ok(())
}

/// Starts query `id`: the account that runs it, or `None` when the run must not go on (it was
/// cancelled meanwhile).
async fn start(state: &AppState, id: &str) -> AwsResult<Option<String>> {
    let _guard = state.write_lock().await;
    let (go, q) =
        records::change(state, id, StoredQuery::NOUN, put_run_at, StoredQuery::start).await?;
    Ok(go.then_some(q.account_id))
}

/// The failure a fault rule ([`crate::faults`]) decides for the run that `operation` of
/// `account` started, if any: the run then ends FAILED with it instead of running.
fn injected_failure(state: &AppState, operation: &str, account: &str) -> Option<RunError> {
    let (code, message) = state.faults().analysis_failure(operation, account)?;
    let code = crate::faults::ANALYSIS_ERROR_CODES
        .iter()
        .find(|c| **c == code)
        .copied()?;
    Some(RunError::new(code, message))
}

/// How a run stopped by the end of the process ends.
fn shut_down() -> RunError {
    RunError::internal(
        "The emulator shut down before the analysis finished (after its shutdown grace period); run it again",
    )
}

/// `work`'s result, or `None` when `token` is cancelled first.
async fn until_cancelled<T>(
    token: &CancellationToken,
    work: impl Future<Output = Result<T, RunError>>,
) -> Option<Result<T, RunError>> {
    tokio::select! {
        () = token.cancelled() => None,
        r = work => Some(r),
    }
}

/// `d` in milliseconds, with microsecond precision.
fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Milliseconds since `started`.
fn elapsed_millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The plan to run for `prepared`: with differential privacy, its final aggregation noised
/// (and the sensitivity parameters used recorded on query `id`); else the plan as prepared.
async fn noised(state: &AppState, id: &str, prepared: &Prepared) -> Result<LogicalPlan, RunError> {
    let Some(dp) = &prepared.dp else {
        return Ok(prepared.plan.clone());
    };
    let (plan, parameters) = dp::apply(&prepared.ctx, prepared.plan.clone(), dp)
        .await
        .map_err(engine_error)?;
    let _guard = state.write_lock().await;
    records::change(
        state,
        id,
        StoredQuery::NOUN,
        put_run_at,
        |q: &mut StoredQuery| {
            q.query.differential_privacy = Some(parameters.clone());
        },
    )
    .await
    .map_err(|e: AwsError| RunError::internal(e.message))?;
    Ok(plan)
}
