//! The life of a session after StartSession accepted it, as one worker task per session that
//! owns the session's runner process (`runtime`): start-up (restricted properties and a missing
//! runtime end in FAILED with a reason; a ready runner makes the session IDLE), calculations one
//! at a time (RUNNING → COMPLETED | FAILED | CANCELED, outputs written to the emulator's S3),
//! termination (requested, idle timeout on the emulator clock, workgroup deleted), and what a
//! restart finds (sessions whose process is gone become TERMINATED).
//!
//! Every state change goes through the transitions of `model` under the state's write lock, so
//! an API call and the worker never overwrite each other's change.

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc::UnboundedReceiver;

use super::model::{
    first_restricted, spark_settings, BadTransition, Outcome, StoredCalculation, StoredSession,
};
use super::repo::{self, Scope};
use super::runtime::{
    materialise_runner, runner_environment, CalculationReport, Runner, RunnerEvent, SessionCommand,
    INSTALL_HINT,
};
use crate::error::{AwsError, AwsResult};
use crate::state::AppState;

/// How long a runner may take to report ready.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a cancelled calculation may take to stop before its runner is killed.
const CANCEL_GRACE: Duration = Duration::from_secs(10);
/// How long a terminated runner may take to exit by itself.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How often idle sessions are checked against their timeout.
pub const IDLE_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Which session a worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The session id.
    pub id: String,
    /// The owning account.
    pub account: String,
    /// The region.
    pub region: String,
}

impl SessionKey {
    fn scope(&self) -> Scope<'_> {
        Scope {
            account: &self.account,
            region: &self.region,
        }
    }
}

/// Applies `change` to session `key` and commits it, under the write lock. Returns the session
/// after the change, or the unchanged session with the refused transition.
async fn change_session(
    state: &AppState,
    key: &SessionKey,
    change: impl FnOnce(&mut StoredSession, f64) -> Result<(), BadTransition>,
) -> AwsResult<Result<StoredSession, (StoredSession, BadTransition)>> {
    let _guard = state.write_lock().await;
    let mut session = repo::session(state, key.scope(), &key.id).await?;
    let before = session.clone();
    match change(&mut session, state.now()) {
        Ok(()) => {
            state
                .store()
                .commit(vec![repo::put_session(key.scope(), &session)?])
                .await?;
            Ok(Ok(session))
        }
        Err(refused) => Ok(Err((before, refused))),
    }
}

/// Ends a session that could not start (or whose runner died) as FAILED with `reason`.
async fn fail_session(state: &AppState, key: &SessionKey, reason: String) {
    tracing::info!(session = %key.id, reason = %reason, "Spark session failed");
    if let Err(e) = change_session(state, key, |s, now| s.fail(reason, now)).await {
        tracing::error!(session = %key.id, error = %e.message, "cannot record the session's failure");
    }
}

/// Marks a session TERMINATED (its runner is gone).
async fn end_session(state: &AppState, key: &SessionKey) {
    if let Err(e) = change_session(state, key, |s, now| s.terminated(now)).await {
        tracing::error!(session = %key.id, error = %e.message, "cannot record the session's end");
    }
}

/// Starts the worker of session `key` (stored CREATING, its slot taken with `commands`).
pub fn launch(state: &AppState, key: SessionKey, commands: UnboundedReceiver<SessionCommand>) {
    let slot = Slot {
        state: state.clone(),
        id: key.id.clone(),
    };
    tokio::spawn(async move {
        serve_session(&slot.state, &key, commands).await;
        drop(slot);
    });
}

/// A session's place among the live sessions, given back when its worker ends (even by a panic).
struct Slot {
    state: AppState,
    id: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.athena().unregister(&self.id);
    }
}

/// How a worker's session ended.
enum End {
    /// Terminated on request (TERMINATING → TERMINATED).
    Terminated,
    /// Failed with this reason.
    Failed(String),
    /// The emulator dropped the session (reset): nothing left to record.
    Dropped,
}

async fn serve_session(
    state: &AppState,
    key: &SessionKey,
    mut commands: UnboundedReceiver<SessionCommand>,
) {
    let mut runner = match start_runner(state, key, &mut commands).await {
        Ok(runner) => runner,
        Err(End::Failed(reason)) => return fail_session(state, key, reason).await,
        Err(End::Terminated) => return end_session(state, key).await,
        Err(End::Dropped) => return,
    };
    let end = loop {
        match commands.recv().await {
            None => break End::Dropped,
            Some(SessionCommand::Terminate) => break End::Terminated,
            Some(SessionCommand::Cancel(_)) => {}
            Some(SessionCommand::Run(id)) => {
                if let Some(end) =
                    run_calculation(state, key, &mut runner, &mut commands, &id).await
                {
                    break end;
                }
            }
        }
    };
    match end {
        End::Terminated => {
            runner.stop(STOP_GRACE).await;
            end_session(state, key).await;
        }
        End::Failed(reason) => {
            runner.kill().await;
            fail_session(state, key, reason).await;
        }
        End::Dropped => runner.kill().await,
    }
}

/// Starts the runner and waits until it is ready (session IDLE), handling a termination that
/// arrives meanwhile.
async fn start_runner(
    state: &AppState,
    key: &SessionKey,
    commands: &mut UnboundedReceiver<SessionCommand>,
) -> Result<Runner, End> {
    let session = repo::session(state, key.scope(), &key.id)
        .await
        .map_err(|e| End::Failed(e.message))?;
    let properties = session
        .engine_configuration
        .spark_properties
        .clone()
        .unwrap_or_default();
    if let Some(restricted) = first_restricted(&properties) {
        return Err(End::Failed(format!(
            "Session failed to start: the Spark property '{restricted}' is restricted and cannot be set (restricted: spark.athena.*, spark.app.id, spark.master, spark.driver.*, spark.executor.*, spark.dynamicAllocation.*)."
        )));
    }
    let Some(python) = state.athena().python().map(Path::to_path_buf) else {
        return Err(End::Failed(format!(
            "No Spark runtime is configured for this emulator: {INSTALL_HINT}."
        )));
    };
    let Some(endpoint) = state.athena().endpoint().map(str::to_string) else {
        return Err(End::Failed(
            "The emulator's endpoint is not known yet, so Spark cannot reach its Glue catalog and S3."
                .into(),
        ));
    };
    ensure_default_database(state, key).await;
    let settings = spark_settings(&properties);
    let env = runner_environment(
        &key.id,
        &endpoint,
        &key.account,
        &key.region,
        i64::from(session.idle_timeout_minutes) * 60,
        &settings.server_env,
        &settings.session_conf,
    );
    let script = materialise_runner(state.data_dir())
        .map_err(|e| End::Failed(format!("cannot write the Spark runner: {e}")))?;
    let log = state
        .data_dir()
        .join("athena/logs")
        .join(format!("{}.log", key.id));
    // One working directory per account (a 12-digit id, never a user-chosen name).
    let work = state.data_dir().join("athena/work").join(&key.account);
    let mut runner = Runner::spawn(&python, &script, &work, &env, &log).map_err(|e| {
        End::Failed(format!(
            "Cannot start the Spark runtime {}: {e}; {INSTALL_HINT}.",
            python.display()
        ))
    })?;
    // Terminated meanwhile is handled below, when the runner reports.
    if let Err(e) = change_session(state, key, |s, now| s.created(now)).await {
        runner.kill().await;
        return Err(End::Failed(e.message));
    }
    let ready = tokio::time::timeout(START_TIMEOUT, async {
        loop {
            tokio::select! {
                event = runner.next_event() => return match event {
                    Ok(Some(RunnerEvent::Ready)) => Ok(()),
                    Ok(Some(RunnerEvent::Failed(reason))) => Err(End::Failed(reason)),
                    Ok(Some(RunnerEvent::Done(_))) => continue,
                    Ok(None) | Err(_) => Err(End::Failed(format!(
                        "The Spark runtime exited during start-up (log: {}).",
                        log.display()
                    ))),
                },
                command = commands.recv() => match command {
                    None => return Err(End::Dropped),
                    Some(SessionCommand::Terminate) => return Err(End::Terminated),
                    Some(_) => {}
                },
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(End::Failed(format!(
            "The Spark runtime did not start within {} seconds.",
            START_TIMEOUT.as_secs()
        )))
    });
    if let Err(end) = ready {
        runner.kill().await;
        return Err(end);
    }
    match change_session(state, key, |s, now| s.ready(now)).await {
        Ok(Ok(_)) => Ok(runner),
        // Terminated while starting: the termination is already recorded as TERMINATING.
        Ok(Err(_)) => {
            runner.stop(STOP_GRACE).await;
            Err(End::Terminated)
        }
        Err(e) => {
            runner.kill().await;
            Err(End::Failed(e.message))
        }
    }
}

/// Creates the `default` Glue database of the session's account and region if it is missing:
/// Sail resolves unqualified table names there.
async fn ensure_default_database(state: &AppState, key: &SessionKey) {
    let made = crate::services::glue::catalog::ensure_database(
        state,
        &key.account,
        &key.region,
        "default",
        Some("Default Hive database"),
    )
    .await;
    if let Err(e) = made {
        tracing::warn!(error = %e.message, "cannot create the default Glue database");
    }
}

/// A transition of a session, applied together with a calculation's.
type SessionChange = dyn Fn(&mut StoredSession, f64) -> Result<(), BadTransition> + Sync;

/// Applies `change` to calculation `id` (and, when given, `session_change` to its session) in
/// one commit under the write lock.
async fn change_calculation(
    state: &AppState,
    key: &SessionKey,
    id: &str,
    change: impl FnOnce(&mut StoredCalculation, f64) -> Result<(), BadTransition>,
    session_change: Option<&SessionChange>,
) -> AwsResult<Result<StoredCalculation, BadTransition>> {
    let _guard = state.write_lock().await;
    let now = state.now();
    let mut calculation = repo::calculation(state, key.scope(), id).await?;
    if let Err(refused) = change(&mut calculation, now) {
        return Ok(Err(refused));
    }
    let mut writes = vec![repo::put_calculation(key.scope(), &calculation)?];
    if let Some(session_change) = session_change {
        let mut session = repo::session(state, key.scope(), &key.id).await?;
        if session_change(&mut session, now).is_ok() {
            writes.push(repo::put_session(key.scope(), &session)?);
        }
    }
    state.store().commit(writes).await?;
    Ok(Ok(calculation))
}

/// Runs calculation `id` in the runner. Returns how the session ends when it does (terminated
/// meanwhile, runner lost), `None` when it goes on (IDLE again).
async fn run_calculation(
    state: &AppState,
    key: &SessionKey,
    runner: &mut Runner,
    commands: &mut UnboundedReceiver<SessionCommand>,
    id: &str,
) -> Option<End> {
    let started = match change_calculation(state, key, id, |c, _| c.running(), None).await {
        Ok(Ok(c)) => c,
        Ok(Err(_)) => {
            // Stopped before it ran: CANCELING → CANCELED, and the session is free again.
            let _ = change_calculation(
                state,
                key,
                id,
                |c, now| c.finish(Outcome::Canceled, None, 0, now),
                Some(&|s: &mut StoredSession, now: f64| s.calculation_done(0, now)),
            )
            .await;
            return None;
        }
        Err(e) => return Some(End::Failed(e.message)),
    };
    if let Err(e) = runner
        .send(&json!({"op": "run", "id": id, "code": started.code}))
        .await
    {
        return Some(
            lost(
                state,
                key,
                id,
                &format!("cannot reach the Spark runner: {e}"),
            )
            .await,
        );
    }
    let mut cancel_deadline: Option<tokio::time::Instant> = None;
    let report = loop {
        let deadline = cancel_deadline;
        tokio::select! {
            event = runner.next_event() => match event {
                Ok(Some(RunnerEvent::Done(report))) if report.id.as_deref() == Some(id) => break report,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => {
                    return Some(lost(state, key, id, "The Spark runner exited while the calculation ran.").await);
                }
            },
            command = commands.recv() => match command {
                Some(SessionCommand::Cancel(target)) if target == id => {
                    if runner.cancel().await.is_err() {
                        return Some(lost(state, key, id, "cannot reach the Spark runner to cancel").await);
                    }
                    cancel_deadline.get_or_insert_with(|| tokio::time::Instant::now() + CANCEL_GRACE);
                }
                Some(SessionCommand::Terminate) => {
                    interrupted(state, key, id).await;
                    return Some(End::Terminated);
                }
                None => {
                    interrupted(state, key, id).await;
                    return Some(End::Dropped);
                }
                Some(_) => {}
            },
            () = async { tokio::time::sleep_until(deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if deadline.is_some() => {
                let _ = change_calculation(state, key, id, |c, now| c.finish(Outcome::Canceled, None, 0, now), None).await;
                return Some(End::Failed("A calculation did not stop within 10 seconds of being canceled; the session's Spark runtime was stopped.".into()));
            }
        }
    };
    finish_calculation(state, key, &started, report).await;
    None
}

/// Records a calculation whose session ended under it as FAILED.
async fn interrupted(state: &AppState, key: &SessionKey, id: &str) {
    let _ = change_calculation(
        state,
        key,
        id,
        |c, now| {
            c.finish(
                Outcome::Failed,
                Some("Session was terminated.".into()),
                0,
                now,
            )
        },
        None,
    )
    .await;
}

/// Records a calculation whose runner is gone as FAILED; the session fails with `reason`.
async fn lost(state: &AppState, key: &SessionKey, id: &str, reason: &str) -> End {
    let _ = change_calculation(
        state,
        key,
        id,
        |c, now| c.finish(Outcome::Failed, Some(reason.to_string()), 0, now),
        None,
    )
    .await;
    End::Failed(reason.to_string())
}

/// Writes a finished calculation's outputs and records its final state; the session is IDLE
/// again.
async fn finish_calculation(
    state: &AppState,
    key: &SessionKey,
    calculation: &StoredCalculation,
    report: CalculationReport,
) {
    let outcome = match report.status.as_str() {
        "COMPLETED" => Outcome::Completed,
        "CANCELED" => Outcome::Canceled,
        _ => Outcome::Failed,
    };
    let mut reason = report.error.clone();
    let mut outcome = outcome;
    let result = match write_outputs(state, key, calculation, &report).await {
        Ok(result) => result,
        Err(e) => {
            outcome = Outcome::Failed;
            reason = Some(format!(
                "Cannot write the calculation's output to {}: {}",
                calculation.working_directory.as_deref().unwrap_or("S3"),
                e.message
            ));
            None
        }
    };
    // One DPU (the coordinator) for the calculation's run time, at least a millisecond.
    let dpu = report.millis.max(1);
    let recorded = change_calculation(
        state,
        key,
        &calculation.calculation_id,
        |c, now| {
            c.result = result;
            c.finish(outcome, reason, dpu, now)
        },
        Some(&move |s: &mut StoredSession, now: f64| s.calculation_done(dpu, now)),
    )
    .await;
    if let Err(e) = recorded {
        tracing::error!(calculation = %calculation.calculation_id, error = %e.message, "cannot record the calculation's end");
    }
}

/// Splits `s3://bucket/prefix/` into bucket and key prefix.
pub fn split_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri
        .strip_prefix("s3://")
        .or_else(|| uri.strip_prefix("S3://"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, prefix))
}

/// Writes stdout, stderr and the result under the calculation's working directory in the
/// emulator's S3 (as the session's account); `None` when the workgroup has no output location.
async fn write_outputs(
    state: &AppState,
    key: &SessionKey,
    calculation: &StoredCalculation,
    report: &CalculationReport,
) -> AwsResult<Option<cleanrooms_emulator_api::athena::dto::CalculationResult>> {
    let Some(dir) = calculation.working_directory.as_deref() else {
        return Ok(None);
    };
    let Some((bucket, prefix)) = split_s3_uri(dir) else {
        return Err(AwsError::internal(format!("{dir} is not an S3 location")));
    };
    let result = json!({"text/plain": report.result.clone().unwrap_or_default()}).to_string();
    let files = [
        ("stdout.txt", report.stdout.as_str(), "text/plain"),
        ("stderr.txt", report.stderr.as_str(), "text/plain"),
        ("result.json", result.as_str(), "application/json"),
    ];
    // The three objects are written concurrently: each put is durable on its own.
    futures::future::try_join_all(files.into_iter().map(
        |(name, content, content_type)| async move {
            let mut tmp = tempfile::NamedTempFile::new_in(state.data_dir())
                .map_err(|e| AwsError::internal(format!("cannot stage {name}: {e}")))?;
            std::io::Write::write_all(&mut tmp, content.as_bytes())
                .map_err(|e| AwsError::internal(format!("cannot stage {name}: {e}")))?;
            crate::services::s3::facade::put_local_file(
                state,
                &key.account,
                bucket,
                &format!("{prefix}{name}"),
                tmp.path(),
                Some(content_type),
            )
            .await
        },
    ))
    .await?;
    Ok(Some(
        cleanrooms_emulator_api::athena::dto::CalculationResult {
            std_out_s3_uri: Some(format!("{dir}stdout.txt")),
            std_error_s3_uri: Some(format!("{dir}stderr.txt")),
            result_s3_uri: Some(format!("{dir}result.json")),
            result_type: Some("application/json".into()),
        },
    ))
}

/// Moves an active session to TERMINATING with `reason` and tells its worker to stop (a session
/// without a worker becomes TERMINATED at once). Inactive sessions are left as they are.
/// Returns the session afterwards.
///
/// # Errors
/// When the session is unknown or the store fails.
pub async fn terminate(
    state: &AppState,
    key: &SessionKey,
    reason: &str,
) -> AwsResult<StoredSession> {
    let session =
        match change_session(state, key, |s, now| s.terminating(reason.into(), now)).await? {
            Ok(session) => session,
            Err((unchanged, _)) => return Ok(unchanged),
        };
    if state.athena().send(&key.id, SessionCommand::Terminate) {
        Ok(session)
    } else {
        match change_session(state, key, |s, now| s.terminated(now)).await? {
            Ok(s) | Err((s, _)) => Ok(s),
        }
    }
}

/// Terminates `session` if its idle timeout has passed on the emulator clock; returns it as it
/// is afterwards.
///
/// # Errors
/// When the store fails.
pub async fn expire_if_idle(
    state: &AppState,
    key: &SessionKey,
    session: StoredSession,
) -> AwsResult<StoredSession> {
    if !session.idle_expired(state.now()) {
        return Ok(session);
    }
    let reason = format!(
        "Session was terminated after being idle for {} minutes.",
        session.idle_timeout_minutes
    );
    terminate(state, key, &reason).await
}

/// Checks the live sessions against their idle timeouts every [`IDLE_SWEEP_INTERVAL`].
pub fn spawn_idle_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(IDLE_SWEEP_INTERVAL);
        loop {
            tick.tick().await;
            for id in state.athena().live_ids() {
                let Ok(Some((record, session))) = repo::session_by_id(&state, &id).await else {
                    continue;
                };
                let key = SessionKey {
                    id,
                    account: record.account.clone(),
                    region: record.region.clone(),
                };
                if let Err(e) = expire_if_idle(&state, &key, session).await {
                    tracing::warn!(session = %key.id, error = %e.message, "idle check failed");
                }
            }
        }
    })
}

/// After a restart no runner process survives: sessions that were active (or terminating)
/// become TERMINATED and their unfinished calculations FAILED.
///
/// # Errors
/// When the store fails.
pub async fn recover(state: &AppState) -> AwsResult<()> {
    const REASON: &str = "The emulator restarted; the session's Spark process ended with it.";
    for (record, mut session) in repo::all_sessions(state).await? {
        let scope = Scope {
            account: &record.account,
            region: &record.region,
        };
        let now = state.now();
        let mut writes = Vec::new();
        if session.terminated(now).is_ok() {
            session
                .state_change_reason
                .get_or_insert_with(|| REASON.into());
            writes.push(repo::put_session(scope, &session)?);
        }
        for (_, mut calculation) in repo::calculations_of(state, &session.session_id).await? {
            if calculation
                .finish(Outcome::Failed, Some(REASON.into()), 0, now)
                .is_ok()
            {
                writes.push(repo::put_calculation(scope, &calculation)?);
            }
        }
        if !writes.is_empty() {
            state.store().commit(writes).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_s3_uri;

    #[test]
    fn s3_uris_split_into_bucket_and_prefix() {
        assert_eq!(split_s3_uri("s3://b/p/q/"), Some(("b", "p/q/")));
        assert_eq!(split_s3_uri("s3://b"), Some(("b", "")));
        assert_eq!(split_s3_uri("https://b/p"), None);
        assert_eq!(split_s3_uri("s3:///p"), None);
    }
}
