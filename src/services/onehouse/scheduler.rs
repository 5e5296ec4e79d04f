//! The AUTOMATIC trigger: once a second, for every AUTOMATIC service that is not paused (and
//! only those: tables without one are never read), count the commits made to its table since
//! it last looked — skipping commits a table service made, which carry a run id — and start a
//! run when `<service>.frequency` is reached (METASYNC: every commit). AUTOSAVEPOINT runs every
//! `autosavepoint.interval.hours` of emulator time. Runs record `triggerType: AUTOMATIC`.

use std::time::Duration;

use super::delta;
use super::lake::LakeDir;
use super::model::{self, ServiceKind, ServiceStatus, TableService, TriggerMode, TriggerType};
use super::ops::table_services::new_run;
use super::ops::TableRef;
use super::records::{self, kinds, Scope};
use super::runs;
use crate::error::AwsResult;
use crate::state::AppState;

/// How often the scheduler looks at the automatic services.
pub const TICK: Duration = Duration::from_secs(1);

/// The user automatic runs are recorded as created by.
const SCHEDULER_USER: &str = "onehouse-scheduler";

/// Starts the scheduler; abort the handle to stop it.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if let Err(e) = tick(&state).await {
                tracing::warn!(error = %e.message, "table-service scheduler tick failed");
            }
        }
    })
}

/// One look at every automatic service.
///
/// # Errors
/// When the store fails.
pub async fn tick(state: &AppState) -> AwsResult<()> {
    for (record, service) in records::all::<TableService>(state.store(), kinds::SERVICE).await? {
        if service.trigger_mode != TriggerMode::Automatic
            || service.status == ServiceStatus::Paused
            || service.service == ServiceKind::Restore
        {
            continue;
        }
        let scope = Scope {
            account_uid: service.account_uid.clone(),
            project_uid: service.project_uid.clone(),
            aws_account: record.account.clone(),
            region: record.region.clone(),
            user: SCHEDULER_USER.to_string(),
        };
        if let Err(e) = consider(state, &scope, &record.id, &service).await {
            tracing::warn!(service = %record.id, error = %e.message, "automatic table service skipped");
        }
    }
    Ok(())
}

/// Counts the new commits of one service's table and starts a run when it is due.
async fn consider(state: &AppState, scope: &Scope, id: &str, seen: &TableService) -> AwsResult<()> {
    let Some(lake) = records::lake(state.store(), scope, &seen.lake).await? else {
        return Ok(());
    };
    let Ok(lake) = LakeDir::new(state.data_dir(), lake) else {
        return Ok(());
    };
    let table = TableRef {
        lake,
        database: seen.database.clone(),
        table: seen.table.clone(),
    };
    let dir = table.dir();
    let Ok(latest) = delta::latest_version(&dir).await else {
        return Ok(()); // no table (yet): nothing to count
    };
    let new_commits = match seen.last_seen_version {
        Some(last) if latest > last => delta::foreign_commits(&dir, last, latest)
            .await
            .unwrap_or_default(),
        _ => 0,
    };
    let _guard = state.write_lock().await;
    let Some(mut service) = records::get::<TableService>(state.store(), kinds::SERVICE, id).await?
    else {
        return Ok(());
    };
    if service.last_seen_version != seen.last_seen_version
        || service.trigger_mode != TriggerMode::Automatic
        || service.status == ServiceStatus::Paused
    {
        return Ok(()); // changed meanwhile; look again next tick
    }
    let now = state.now();
    service.last_seen_version = Some(latest);
    service.commits_since_last_run += new_commits;
    let due = if service.service == ServiceKind::Autosavepoint {
        let hours = service
            .effective_options()
            .get("autosavepoint.interval.hours")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(24.0);
        now - service.last_automatic_run_at.unwrap_or(service.created_at) >= hours * 3600.0
    } else {
        model::automatic_due(&service, service.commits_since_last_run)
    };
    let active = records::runs(
        state.store(),
        scope,
        &service.database,
        &service.table,
        service.service,
    )
    .await?
    .iter()
    .any(|r| r.status.is_active());
    let mut writes = Vec::new();
    let mut start = None;
    if due && !active {
        let run = new_run(
            scope,
            &table,
            service.service,
            TriggerType::Automatic,
            service.effective_options(),
            now,
        );
        writes.push(runs::put_run(scope, &run)?);
        service.commits_since_last_run = 0;
        service.last_automatic_run_at = Some(now);
        start = Some(run);
    }
    if Some(&service) != Some(seen) || start.is_some() {
        writes.push(scope.put(
            kinds::SERVICE,
            id,
            Some(&scope.database_id(&service.database)),
            &service,
        )?);
        state.store().commit(writes).await?;
    }
    if let Some(run) = start {
        runs::start(state, scope.clone(), run);
    }
    Ok(())
}
