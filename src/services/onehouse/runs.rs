//! Runs in the background. A run is recorded QUEUED with the request that asked for it, then
//! started here as a job: it waits for its table (runs on one table are serialised), becomes
//! RUNNING, does the service's delta-rs operation and ends COMPLETED (metrics, the version it
//! committed), FAILED (the delta-rs message) or CANCELED. CANCEL drops the operation before its
//! commit — a Delta commit is atomic, so the table is untouched — and a run whose commit won the
//! race is recorded COMPLETED. After a restart, [`recover`] ends every run a stopped process
//! left active: COMPLETED if its commit is in the table's log, FAILED otherwise.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::delta;
use super::lake::LakeDir;
use super::model::{self, Run, RunStatus, Savepoint, ServiceKind, TableService};
use super::ops::{failed, Refusal};
use super::records::{self, kinds, Scope};
use super::services::clean::CleanTable;
use super::services::cluster::ClusterTable;
use super::services::compact::CompactTable;
use super::services::metasync::{GlueTarget, MetasyncTable};
use super::services::restore::RestoreTable;
use super::services::savepoint::SavepointTable;
use super::services::{Outcome, RunTag};
use crate::error::{AwsError, AwsResult};
use crate::state::AppState;
use crate::store::{Record, Write};
use crate::util::ids::new_id;

/// Option (emulator only, given with `RUN … WITH`) making each Delta commit of a run wait this
/// many seconds once the operation's data files are written, so CANCEL and crashes can be
/// exercised at the moment that matters.
pub const DELAY_OPTION: &str = "emulator.run.delay.seconds";

/// How long CANCEL waits for a run to stop.
const CANCEL_WAIT: Duration = Duration::from_secs(60);

/// The `Put` of a run record (its parent is the database).
///
/// # Errors
/// When the run cannot be serialised.
pub fn put_run(scope: &Scope, run: &Run) -> AwsResult<Write> {
    scope.put(
        kinds::RUN,
        &run.table_service_run_id,
        Some(&scope.database_id(&run.database)),
        run,
    )
}

/// One async lock per table directory: runs on a table never overlap.
fn table_lock(dir: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let map = LOCKS.get_or_init(Mutex::default);
    let mut guard = map
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(guard.entry(dir.to_path_buf()).or_default())
}

/// Starts `run` (already committed QUEUED) in the background for `scope`.
pub fn start(state: &AppState, scope: Scope, run: Run) {
    let job_state = state.clone();
    let id = run.table_service_run_id.clone();
    state.jobs().spawn(&id, move |token| async move {
        let run_id = run.table_service_run_id.clone();
        if let Err(e) = execute(&job_state, &scope, run, token).await {
            tracing::error!(run = %run_id, error = %e.message, "table service run could not record its outcome");
        }
    });
}

/// Cancels run `run_id` and waits until it has stopped; returns the run as it ended.
///
/// # Errors
/// FAILED when the run does not stop in time or its record is gone.
pub async fn cancel_and_wait(state: &AppState, run_id: &str) -> Result<Run, Refusal> {
    state.jobs().cancel(run_id);
    let deadline = Instant::now() + CANCEL_WAIT;
    while state.jobs().is_running(run_id) {
        if Instant::now() > deadline {
            return Err(failed(format!(
                "run {run_id} did not stop within {}s",
                CANCEL_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    records::get::<Run>(state.store(), kinds::RUN, run_id)
        .await?
        .ok_or_else(|| failed(format!("run {run_id} no longer exists")))
}

/// A [`deltalake::operations::vacuum::Clock`] reading the emulator clock.
#[derive(Debug)]
struct EmulatorTime(AppState);

impl deltalake::operations::vacuum::Clock for EmulatorTime {
    fn current_timestamp_millis(&self) -> i64 {
        (self.0.now() * 1000.0) as i64
    }
}

/// The work of one run: the service's delta-rs operation on the table in `dir`.
async fn perform(
    state: &AppState,
    scope: &Scope,
    run: &Run,
    lake: &LakeDir,
    dir: &Path,
) -> Result<Outcome, String> {
    let hold = run
        .options
        .get(DELAY_OPTION)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)));
    let table = delta::open_for_writes(state, &scope.aws_account, lake, dir, hold)
        .await
        .map_err(|e| e.to_string())?;
    let tag = RunTag {
        run_id: run.table_service_run_id.clone(),
        service: run.service,
    };
    let option = |key: &str| run.options.get(key).map(|v| v.trim().to_string());
    let result = match run.service {
        ServiceKind::Compact => {
            let target = option("compaction.max.bytes")
                .and_then(|v| v.parse::<u64>().ok())
                .and_then(NonZeroU64::new);
            CompactTable::new(table, tag).with_target_size(target).await
        }
        ServiceKind::Cluster => {
            ClusterTable::new(table, tag)
                .with_columns(&option("cluster.field.names").unwrap_or_default())
                .await
        }
        ServiceKind::Clean => {
            let days = option("cleaner.retention.days")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(7);
            let keep = records::savepoints(state.store(), scope, &run.database, &run.table)
                .await
                .map_err(|e| e.message)?
                .into_iter()
                .map(|p| p.table_version)
                .collect();
            CleanTable::new(table, tag)
                .with_retention_days(days)
                .with_keep_versions(keep)
                .with_clock(Arc::new(EmulatorTime(state.clone())))
                .await
        }
        ServiceKind::Metasync => {
            let target = GlueTarget {
                account: scope.aws_account.clone(),
                region: scope.region.clone(),
                database: run.database.clone(),
                table: run.table.clone(),
                location: lake.table_uri(&run.database, &run.table),
                lake: lake.lake.name.clone(),
            };
            MetasyncTable::new(state.clone(), table, target).await
        }
        ServiceKind::Autosavepoint => SavepointTable::new(table).await,
        ServiceKind::Restore => {
            let version = option("restore.version")
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or("RESTORE needs a version to restore to")?;
            RestoreTable::new(table, tag, version).await
        }
    };
    result.map_err(|e| e.to_string())
}

/// Runs `run` to its end and records the outcome.
async fn execute(
    state: &AppState,
    scope: &Scope,
    mut run: Run,
    token: CancellationToken,
) -> AwsResult<()> {
    let lake = match records::lake(state.store(), scope, &run.lake).await? {
        Some(lake) => LakeDir::new(state.data_dir(), lake).map_err(AwsError::internal),
        None => Err(AwsError::internal(format!(
            "lake '{}' no longer exists",
            run.lake
        ))),
    };
    let lake = match lake {
        Ok(lake) => lake,
        Err(e) => return finish(state, run, RunStatus::Failed, Err(e.message), None).await,
    };
    let dir = lake.table_dir(&run.database, &run.table);
    let lock = table_lock(&dir);
    // `biased`: a CANCEL that has arrived wins over a table lock or a result that is ready too.
    let _turn = tokio::select! {
        biased;
        () = token.cancelled() => return finish(state, run, RunStatus::Canceled, Ok(Outcome::default()), None).await,
        guard = lock.lock_owned() => guard,
    };
    let started = Instant::now();
    run.status = RunStatus::Running;
    run.started_at = Some(state.now());
    run.table_version_before = delta::latest_version(&dir).await.ok();
    run.options.insert(
        "emulator.table.dir".into(),
        dir.to_string_lossy().into_owned(),
    );
    {
        let _guard = state.write_lock().await;
        state.store().commit(vec![put_run(scope, &run)?]).await?;
    }
    let outcome = tokio::select! {
        biased;
        () = token.cancelled() => None,
        result = perform(state, scope, &run, &lake, &dir) => Some(result),
    };
    match outcome {
        Some(Ok(outcome)) => {
            finish(state, run, RunStatus::Completed, Ok(outcome), Some(started)).await
        }
        Some(Err(message)) => {
            finish(state, run, RunStatus::Failed, Err(message), Some(started)).await
        }
        None => {
            // Dropped mid-operation: the commit may have happened just before.
            let before = run.table_version_before.unwrap_or_default();
            match delta::version_of_run(&dir, before, &run.table_service_run_id).await {
                Ok(Some(version)) => {
                    let outcome = Outcome {
                        version_after: Some(version),
                        metrics: Default::default(),
                    };
                    finish(state, run, RunStatus::Completed, Ok(outcome), Some(started)).await
                }
                _ => {
                    finish(
                        state,
                        run,
                        RunStatus::Canceled,
                        Ok(Outcome::default()),
                        Some(started),
                    )
                    .await
                }
            }
        }
    }
}

/// Records how `run` ended, updates its service's status, and for a completed AUTOSAVEPOINT
/// records the savepoint (pruning the oldest beyond `autosavepoint.max.savepoints`).
async fn finish(
    state: &AppState,
    mut run: Run,
    status: RunStatus,
    result: Result<Outcome, String>,
    started: Option<Instant>,
) -> AwsResult<()> {
    let _guard = state.write_lock().await;
    let Some(record) = state
        .store()
        .get(kinds::RUN, &run.table_service_run_id)
        .await?
    else {
        return Ok(()); // deleted meanwhile (DELETE LAKE/DATABASE … CASCADE refuses; reset)
    };
    run.status = status;
    run.finished_at = Some(state.now());
    run.duration_ms = started.map(|s| s.elapsed().as_millis() as u64);
    match result {
        Ok(outcome) => {
            run.table_version_after = outcome.version_after.or(run.table_version_before);
            run.metrics = outcome.metrics;
        }
        Err(message) => run.error_message = Some(message),
    }
    let mut writes = vec![rewrite(
        &record,
        kinds::RUN,
        &run.table_service_run_id,
        &run,
    )?];
    writes.extend(service_update(state, &record, &run).await?);
    if run.service == ServiceKind::Autosavepoint && status == RunStatus::Completed {
        writes.extend(savepoint_writes(state, &record, &run).await?);
    }
    state.store().commit(writes).await?;
    Ok(())
}

/// A `Put` of `value` as `kind`/`id` in the same account, region and parent as `like`.
fn rewrite<T: serde::Serialize>(
    like: &Record,
    kind: &str,
    id: &str,
    value: &T,
) -> AwsResult<Write> {
    records::put_as(
        &like.region,
        &like.account,
        kind,
        id,
        like.parent.as_deref(),
        value,
    )
}

/// The update of the service a run belongs to (its status after the run), if it has a record.
async fn service_update(state: &AppState, run_record: &Record, run: &Run) -> AwsResult<Vec<Write>> {
    let Some(parent) = run_record.parent.as_deref() else {
        return Ok(Vec::new());
    };
    let mut writes = Vec::new();
    for record in state
        .store()
        .query(&crate::store::Query::kind(kinds::SERVICE).parent(parent))
        .await?
    {
        let mut service: TableService = records::decode(&record)?;
        if service.table == run.table && service.service == run.service {
            service.status = model::after_run(service.status, run.status);
            writes.push(rewrite(&record, kinds::SERVICE, &record.id, &service)?);
        }
    }
    Ok(writes)
}

/// The savepoint a completed AUTOSAVEPOINT run took, and the deletes of the oldest ones beyond
/// `autosavepoint.max.savepoints`.
async fn savepoint_writes(
    state: &AppState,
    run_record: &Record,
    run: &Run,
) -> AwsResult<Vec<Write>> {
    let Some(version) = run.table_version_after else {
        return Ok(Vec::new());
    };
    let point = Savepoint {
        savepoint_id: new_id(),
        lake: run.lake.clone(),
        table: run.table.clone(),
        table_version: version,
        created_at: state.now(),
        table_service_run_id: run.table_service_run_id.clone(),
    };
    let mut writes = vec![rewrite(
        run_record,
        kinds::SAVEPOINT,
        &point.savepoint_id,
        &point,
    )?];
    let max = run
        .options
        .get("autosavepoint.max.savepoints")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(7)
        .max(1);
    let Some(parent) = run_record.parent.as_deref() else {
        return Ok(writes);
    };
    let existing: Vec<Savepoint> =
        records::children::<Savepoint>(state.store(), kinds::SAVEPOINT, parent)
            .await?
            .into_iter()
            .filter(|p: &Savepoint| p.table == run.table && p.lake == run.lake)
            .collect();
    let excess = (existing.len() + 1).saturating_sub(max);
    for old in existing.iter().take(excess) {
        writes.push(records::delete(kinds::SAVEPOINT, &old.savepoint_id));
    }
    Ok(writes)
}

/// Ends every run a stopped process left QUEUED or RUNNING: COMPLETED when its commit is in
/// the table's log, FAILED otherwise; its service follows (FAILED after a failed run).
///
/// # Errors
/// When the store fails.
pub async fn recover(state: &AppState) -> AwsResult<()> {
    for (record, run) in records::all::<Run>(state.store(), kinds::RUN).await? {
        if !run.status.is_active() {
            continue;
        }
        let committed = match run.options.get("emulator.table.dir") {
            Some(dir) => delta::version_of_run(
                Path::new(dir),
                run.table_version_before.unwrap_or_default(),
                &run.table_service_run_id,
            )
            .await
            .ok()
            .flatten(),
            None => None,
        };
        let mut run = run;
        run.finished_at = Some(state.now());
        match committed {
            Some(version) => {
                run.status = RunStatus::Completed;
                run.table_version_after = Some(version);
            }
            None => {
                run.status = RunStatus::Failed;
                run.error_message = Some(
                    "The emulator stopped before the run finished; the table was left at its previous version"
                        .into(),
                );
            }
        }
        let mut writes = vec![rewrite(&record, kinds::RUN, &record.id, &run)?];
        writes.extend(service_update(state, &record, &run).await?);
        state.store().commit(writes).await?;
    }
    Ok(())
}
