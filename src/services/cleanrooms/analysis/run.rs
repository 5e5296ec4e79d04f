//! Running prepared analyses in the background and recording what happened: the protected
//! query's status machine, its statistics and result or error, and — for populations — the
//! new intermediate table version and the table's status. Also the recovery at startup that
//! fails whatever a stopped process left running.

use std::collections::BTreeMap;
use std::time::Instant;

use cleanrooms_emulator_api::cleanrooms::dto;
use datafusion::error::DataFusionError;
use tokio_util::sync::CancellationToken;

use super::delivery::Delivery;
use super::results::write_results;
use super::{clean, storage, Prepared};
use crate::engine::hive_types;
use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::intermediate::{
    ActiveVersion, IntermediateTable, IntermediateTableVersion,
};
use crate::services::cleanrooms::model::kinds;
use crate::services::cleanrooms::protected_query::{error_codes, is_terminal, StoredQuery};
use crate::services::cleanrooms::repo;
use crate::state::AppState;
use crate::storage::{StorageError, WriteOptions};
use crate::store::Write;

/// A failure while running, as the query's `error`.
#[derive(Debug, Clone)]
pub struct RunError {
    /// `ProtectedQueryError.code`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl RunError {
    /// An error with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(error_codes::INTERNAL_ERROR, message)
    }

    /// An engine failure while executing: data problems are `INVALID_RESOURCE`, the rest
    /// `MALFORMED_QUERY` (the query cannot run on this data, e.g. a failing cast).
    pub fn engine(e: DataFusionError) -> Self {
        let code = match e.find_root() {
            DataFusionError::IoError(_)
            | DataFusionError::ObjectStore(_)
            | DataFusionError::ParquetError(_)
            | DataFusionError::External(_) => error_codes::INVALID_RESOURCE,
            _ => error_codes::MALFORMED_QUERY,
        };
        Self::new(code, clean(&e))
    }
}

/// A managed-storage failure as the populating query's error: the query failing while it runs
/// is the query's fault (`MALFORMED_QUERY`), a result that cannot be stored too; the rest is
/// internal.
fn storage_error(e: StorageError) -> RunError {
    match e {
        StorageError::DataFusion { source, .. } => RunError::engine(source),
        StorageError::Delta {
            source:
                deltalake::DeltaTableError::Arrow { .. }
                | deltalake::DeltaTableError::GenericError { .. },
            ..
        }
        | StorageError::NoColumns { .. }
        | StorageError::UnsupportedColumn { .. } => {
            RunError::new(error_codes::MALFORMED_QUERY, e.to_string())
        }
        other => RunError::internal(other.to_string()),
    }
}

/// Compute units billed for `millis` of work: CRPU-hours of the configured workers
/// (`CR.1X` = 1, `CR.4X` = 4, `CR.8X` = 8 per worker; default 16 × `CR.1X`).
pub fn billed_units(compute: Option<&dto::ComputeConfiguration>, millis: u64) -> f64 {
    let (kind, number) = match compute {
        Some(dto::ComputeConfiguration::Worker(w)) => (w.r#type, w.number),
        None => (None, None),
    };
    let per_worker = match kind {
        Some(dto::WorkerComputeType::Cr4x) => 4.0,
        Some(dto::WorkerComputeType::Cr8x) => 8.0,
        _ => 1.0,
    };
    let workers = f64::from(number.unwrap_or(16));
    (per_worker * workers * millis as f64 / 3_600_000.0 * 1e6).round() / 1e6
}

async fn load(state: &AppState, id: &str) -> AwsResult<StoredQuery> {
    let record = state
        .store()
        .get(kinds::PROTECTED_QUERY, id)
        .await?
        .ok_or_else(|| AwsError::internal(format!("protected query {id} vanished")))?;
    repo::decode(&record)
}

/// The store write of `q`.
pub fn put_query(region: &str, q: &StoredQuery) -> AwsResult<Write> {
    repo::put(
        kinds::PROTECTED_QUERY,
        &q.query.id,
        region,
        &q.account_id,
        Some(&q.query.membership_id),
        q,
    )
}

async fn region_of(state: &AppState, kind: &str, id: &str) -> AwsResult<String> {
    Ok(state
        .store()
        .get(kind, id)
        .await?
        .map(|r| r.region)
        .unwrap_or_else(|| state.config().region.clone()))
}

/// Moves a submitted query to STARTED; `false` when it was cancelled meanwhile (then it is
/// CANCELLED).
async fn mark_started(state: &AppState, id: &str) -> AwsResult<bool> {
    let region = region_of(state, kinds::PROTECTED_QUERY, id).await?;
    let _guard = state.write_lock().await;
    let mut q = load(state, id).await?;
    let go = match q.query.status {
        dto::ProtectedQueryStatus::Submitted => {
            q.query.status = dto::ProtectedQueryStatus::Started;
            true
        }
        dto::ProtectedQueryStatus::Cancelling => {
            q.query.status = dto::ProtectedQueryStatus::Cancelled;
            false
        }
        _ => false,
    };
    state.store().commit(vec![put_query(&region, &q)?]).await?;
    Ok(go)
}

/// How a run ended.
enum Outcome<T> {
    Done(T),
    Failed(RunError),
    Cancelled,
}

async fn until_cancelled<T>(
    token: &CancellationToken,
    work: impl std::future::Future<Output = Result<T, RunError>>,
) -> Outcome<T> {
    tokio::select! {
        () = token.cancelled() => Outcome::Cancelled,
        r = work => match r {
            Ok(v) => Outcome::Done(v),
            Err(e) => Outcome::Failed(e),
        },
    }
}

/// Sets the final status of query `id` (unless already final), with `edit` applied; a query
/// being cancelled ends CANCELLED whatever the run produced. Returns the final status.
async fn finish(
    state: &AppState,
    id: &str,
    started: Instant,
    outcome: Result<Option<dto::ProtectedQueryResult>, Option<RunError>>,
    extra: Vec<Write>,
) -> AwsResult<dto::ProtectedQueryStatus> {
    let region = region_of(state, kinds::PROTECTED_QUERY, id).await?;
    let mut q = load(state, id).await?;
    if is_terminal(q.query.status) {
        return Ok(q.query.status);
    }
    let millis = started.elapsed().as_millis() as u64;
    q.query.statistics = Some(dto::ProtectedQueryStatistics {
        billed_resource_utilization: Some(dto::BilledResourceUtilization {
            units: billed_units(q.query.compute_configuration.as_ref(), millis),
        }),
        total_duration_in_millis: Some(millis as i64),
    });
    let cancelling = q.query.status == dto::ProtectedQueryStatus::Cancelling;
    q.query.status = match (&outcome, cancelling) {
        (_, true) | (Err(None), _) => dto::ProtectedQueryStatus::Cancelled,
        (Ok(_), false) => dto::ProtectedQueryStatus::Success,
        (Err(Some(_)), false) => dto::ProtectedQueryStatus::Failed,
    };
    match outcome {
        Ok(result) if q.query.status == dto::ProtectedQueryStatus::Success => {
            q.query.result = result;
        }
        Err(Some(e)) if q.query.status == dto::ProtectedQueryStatus::Failed => {
            q.query.error = Some(dto::ProtectedQueryError {
                code: e.code.to_string(),
                message: e.message,
                retry: Some(dto::RetryInfo {
                    retryable: Some(false),
                }),
            });
        }
        _ => {}
    }
    let mut writes = vec![put_query(&region, &q)?];
    writes.extend(extra);
    state.store().commit(writes).await?;
    Ok(q.query.status)
}

/// Starts query `id` (already stored as SUBMITTED) delivering its results as `delivery` says.
pub fn spawn_query(state: &AppState, id: &str, prepared: Prepared, delivery: Delivery) {
    let job_state = state.clone();
    let query_id = id.to_string();
    state.jobs().spawn(id, move |token| async move {
        let state = job_state;
        if let Err(e) = run_query(&state, &query_id, prepared, delivery, token).await {
            tracing::error!(query = %query_id, error = %e.message, "protected query bookkeeping failed");
        }
    });
}

async fn run_query(
    state: &AppState,
    id: &str,
    prepared: Prepared,
    delivery: Delivery,
    token: CancellationToken,
) -> AwsResult<()> {
    if !mark_started(state, id).await? {
        return Ok(());
    }
    let started = Instant::now();
    let targets: Vec<_> = delivery
        .destinations
        .iter()
        .map(|d| d.target.clone())
        .collect();
    let outcome = until_cancelled(&token, async {
        let plan = noised(state, id, &prepared).await?;
        write_results(state, id, &prepared.ctx, plan, &targets).await
    })
    .await;
    let outcome = match outcome {
        Outcome::Done(written) => Ok(Some(dto::ProtectedQueryResult {
            output: delivery.output(&written),
        })),
        Outcome::Failed(e) => Err(Some(e)),
        Outcome::Cancelled => Err(None),
    };
    let _guard = state.write_lock().await;
    finish(state, id, started, outcome, Vec::new()).await?;
    Ok(())
}

/// The plan to run for `prepared`: with differential privacy, its final aggregation noised
/// (and the sensitivity parameters used recorded on query `id`); else the plan as prepared.
async fn noised(
    state: &AppState,
    id: &str,
    prepared: &Prepared,
) -> Result<datafusion::logical_expr::LogicalPlan, RunError> {
    let Some(dp) = &prepared.dp else {
        return Ok(prepared.plan.clone());
    };
    let (plan, parameters) = super::dp::apply(&prepared.ctx, prepared.plan.clone(), dp)
        .await
        .map_err(RunError::engine)?;
    let record = async {
        let region = region_of(state, kinds::PROTECTED_QUERY, id).await?;
        let _guard = state.write_lock().await;
        let mut q = load(state, id).await?;
        q.query.differential_privacy = Some(parameters);
        state.store().commit(vec![put_query(&region, &q)?]).await?;
        Ok::<(), AwsError>(())
    };
    record
        .await
        .map_err(|e: AwsError| RunError::internal(e.message))?;
    Ok(plan)
}

/// What a population records on success besides the data.
#[derive(Debug, Clone)]
pub struct PopulateJob {
    /// The populating query id.
    pub query_id: String,
    /// The intermediate table.
    pub table_id: String,
    /// The new version.
    pub version_id: String,
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
    let job_state = state.clone();
    let id = job.query_id.clone();
    state.jobs().spawn(&id, move |token| async move {
        let state = job_state;
        let query_id = job.query_id.clone();
        if let Err(e) = run_populate(&state, prepared, job, token).await {
            tracing::error!(query = %query_id, error = %e.message, "population bookkeeping failed");
        }
    });
}

async fn run_populate(
    state: &AppState,
    prepared: Prepared,
    job: PopulateJob,
    token: CancellationToken,
) -> AwsResult<()> {
    let started_ok = mark_started(state, &job.query_id).await?;
    let started = Instant::now();
    let storage = storage(state);
    let outcome = if started_ok {
        let session = prepared.ctx.state();
        until_cancelled(&token, async {
            let plan = noised(state, &job.query_id, &prepared).await?;
            storage
                .write_version(&job.table_id, &session, plan, &job.options)
                .await
                .map_err(storage_error)
        })
        .await
    } else {
        Outcome::Cancelled
    };

    let table_region = region_of(state, kinds::INTERMEDIATE_TABLE, &job.table_id).await?;
    let guard = state.write_lock().await;
    let table_record = state
        .store()
        .get(kinds::INTERMEDIATE_TABLE, &job.table_id)
        .await?;
    let mut table: Option<IntermediateTable> =
        table_record.as_ref().map(repo::decode).transpose()?;
    let mut version: Option<IntermediateTableVersion> = state
        .store()
        .get(kinds::INTERMEDIATE_TABLE_VERSION, &job.version_id)
        .await?
        .as_ref()
        .map(repo::decode)
        .transpose()?;
    let now = state.now();
    let mut written_version = None;
    let query_outcome = match outcome {
        Outcome::Done(written) => {
            // The table may have been deleted, disallowed or lost a base table meanwhile: then
            // the new data must not become visible.
            match table.as_mut() {
                Some(t) if !t.is_terminal() => {
                    let expiration = now + f64::from(t.retention_in_days) * 86_400.0;
                    t.active = Some(ActiveVersion {
                        version_id: job.version_id.clone(),
                        analysis_id: job.query_id.clone(),
                        delta_version: written.delta_version,
                        kms_key_arn: t.kms_key_arn.clone(),
                        parameters: job.parameters.clone(),
                        inherited: job.inherited.clone(),
                        first_party: job.first_party,
                        expiration_time: expiration,
                    });
                    t.schema = Some(
                        written
                            .schema
                            .fields()
                            .iter()
                            .map(|f| dto::Column {
                                name: f.name().clone(),
                                r#type: hive_types::to_hive(f.data_type()),
                            })
                            .collect(),
                    );
                    t.status = dto::IntermediateTableStatus::PopulateSuccess;
                    t.status_reason = None;
                    if let Some(v) = version.as_mut() {
                        v.status = dto::IntermediateTableVersionStatus::PopulateSuccess;
                        v.delta_version = Some(written.delta_version);
                        v.expiration_time = Some(expiration);
                    }
                    written_version = Some(written.delta_version);
                    Ok(None)
                }
                _ => Err(Some(RunError::new(
                    error_codes::RESOURCE_NOT_FOUND,
                    "The intermediate table was deleted or became unusable while it was being populated",
                ))),
            }
        }
        Outcome::Failed(e) => Err(Some(e)),
        Outcome::Cancelled => Err(None),
    };
    if query_outcome.is_err() {
        if let Some(v) = version.as_mut() {
            v.status = dto::IntermediateTableVersionStatus::PopulateFailed;
        }
        if let Some(t) = table.as_mut() {
            let reason = match &query_outcome {
                Err(Some(e)) => format!("Population {} failed: {}", job.version_id, e.message),
                _ => format!("Population {} was cancelled", job.version_id),
            };
            t.settle_failed_population(now, reason);
        }
    }
    let mut extra = Vec::new();
    if let Some(t) = table.as_mut() {
        if t.populating.as_deref() == Some(job.version_id.as_str()) {
            t.populating = None;
        }
        t.update_time = now;
        extra.push(repo::put(
            kinds::INTERMEDIATE_TABLE,
            &t.id,
            &table_region,
            &t.account_id,
            Some(&t.membership_id),
            t,
        )?);
    }
    if let Some(v) = &version {
        let owner = table
            .as_ref()
            .map_or_else(String::new, |t| t.account_id.clone());
        extra.push(repo::put(
            kinds::INTERMEDIATE_TABLE_VERSION,
            &v.version_id,
            &table_region,
            &owner,
            Some(&v.table_id),
            v,
        )?);
    }
    let status = finish(state, &job.query_id, started, query_outcome, extra).await?;
    drop(guard);
    if status == dto::ProtectedQueryStatus::Success {
        if let Some(delta_version) = written_version {
            // Older populations' files are no longer readable through the API.
            if let Err(e) = storage.retain_only(&job.table_id, delta_version).await {
                tracing::warn!(table = %job.table_id, error = %e, "cannot remove superseded data files");
            }
        }
    }
    Ok(())
}

/// After a restart: queries a stopped process left SUBMITTED or STARTED become FAILED (and
/// CANCELLING ones CANCELLED); their populations fail, leaving the previous version active.
///
/// # Errors
/// Store failures.
pub async fn recover(state: &AppState) -> AwsResult<()> {
    let records = state
        .store()
        .query(&crate::store::Query::kind(kinds::PROTECTED_QUERY))
        .await?;
    for record in records {
        let q: StoredQuery = repo::decode(&record)?;
        if is_terminal(q.query.status) || state.jobs().is_running(&q.query.id) {
            continue;
        }
        let outcome = if q.query.status == dto::ProtectedQueryStatus::Cancelling {
            Err(None)
        } else {
            Err(Some(RunError::internal(
                "The emulator stopped while the query was running; run it again",
            )))
        };
        match &q.populate {
            None => {
                let _guard = state.write_lock().await;
                finish(state, &q.query.id, Instant::now(), outcome, Vec::new()).await?;
            }
            Some(target) => {
                // Reuse the population bookkeeping with a run that failed.
                let job = PopulateJob {
                    query_id: q.query.id.clone(),
                    table_id: target.table_id.clone(),
                    version_id: target.version_id.clone(),
                    inherited: Default::default(),
                    first_party: false,
                    parameters: None,
                    options: WriteOptions::default(),
                };
                record_failed_population(state, job, outcome).await?;
            }
        }
    }
    Ok(())
}

async fn record_failed_population(
    state: &AppState,
    job: PopulateJob,
    outcome: Result<Option<dto::ProtectedQueryResult>, Option<RunError>>,
) -> AwsResult<()> {
    let table_region = region_of(state, kinds::INTERMEDIATE_TABLE, &job.table_id).await?;
    let _guard = state.write_lock().await;
    let now = state.now();
    let mut extra = Vec::new();
    if let Some(r) = state
        .store()
        .get(kinds::INTERMEDIATE_TABLE, &job.table_id)
        .await?
    {
        let mut t: IntermediateTable = repo::decode(&r)?;
        if t.populating.as_deref() == Some(job.version_id.as_str()) {
            t.populating = None;
        }
        if t.status == dto::IntermediateTableStatus::PopulateStarted {
            t.settle_failed_population(
                now,
                format!(
                    "Population {} did not finish: the emulator stopped while it ran",
                    job.version_id
                ),
            );
        }
        t.update_time = now;
        extra.push(repo::put(
            kinds::INTERMEDIATE_TABLE,
            &t.id,
            &table_region,
            &t.account_id,
            Some(&t.membership_id),
            &t,
        )?);
        if let Some(vr) = state
            .store()
            .get(kinds::INTERMEDIATE_TABLE_VERSION, &job.version_id)
            .await?
        {
            let mut v: IntermediateTableVersion = repo::decode(&vr)?;
            if v.status == dto::IntermediateTableVersionStatus::PopulateStarted {
                v.status = dto::IntermediateTableVersionStatus::PopulateFailed;
            }
            extra.push(repo::put(
                kinds::INTERMEDIATE_TABLE_VERSION,
                &v.version_id,
                &table_region,
                &t.account_id,
                Some(&v.table_id),
                &v,
            )?);
        }
    }
    finish(state, &job.query_id, Instant::now(), outcome, extra).await?;
    Ok(())
}
