//! The table-service statements (spec §5.2, state machine §8): CREATE, ALTER, DELETE, PAUSE,
//! RESUME, CANCEL, DESCRIBE, SHOW TABLE_SERVICES, SHOW RUNS, ALTER SERVICES_CLUSTER and RUN.
//! Everything but CANCEL runs under the emulator's write lock, so the checks and the commit
//! see the same state; RUN records a QUEUED run that starts once the request is committed.

use std::collections::BTreeMap;

use super::{failed, invalid, service_kind, table_ref, Done, Refusal, TableRef};
use crate::services::onehouse::model::{
    self, check_options, Run, RunStatus, ServiceKind, ServiceStatus, TableService, TableSettings,
    TriggerMode, TriggerType,
};
use crate::services::onehouse::parser::{Command, Statement};
use crate::services::onehouse::records::{self, kinds, Scope};
use crate::services::onehouse::responses;
use crate::services::onehouse::{delta, runs};
use crate::state::AppState;
use crate::util::ids::new_id;

/// Runs a table-service statement.
///
/// # Errors
/// INVALID for unknown resources, bad values and transitions the state machine refuses.
pub async fn execute(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
) -> Result<Done, Refusal> {
    let table = table_ref(
        state,
        scope,
        statement.required("LAKE"),
        statement.required("DATABASE"),
        statement.table(),
    )
    .await?;
    // Services of a table whose files are gone can still be listed, described, paused and
    // deleted; nothing new can start on it.
    if matches!(
        statement.command,
        Command::CreateTableService
            | Command::RunServiceInTable
            | Command::AlterServicesClusterInTable
    ) {
        table.check_exists()?;
    }
    if statement.command == Command::ShowTableServices {
        return show(state, scope, &table).await;
    }
    if statement.command == Command::AlterServicesClusterInTable {
        let settings = TableSettings {
            lake: table.lake.lake.name.clone(),
            database: table.database.clone(),
            table: table.table.clone(),
            services_cluster: statement.required("SERVICES_CLUSTER").to_string(),
        };
        return Ok(Done {
            response: responses::empty(Command::AlterServicesClusterInTable),
            writes: vec![scope.put(
                kinds::TABLE,
                &table.key(scope),
                Some(&scope.database_id(&table.database)),
                &settings,
            )?],
            start: None,
        });
    }
    let kind = service_kind(statement.required("SERVICE"))?;
    let id = table.service_id(scope, kind);
    let existing: Option<TableService> = records::get(state.store(), kinds::SERVICE, &id).await?;
    let missing = || match table.check_exists() {
        Err(no_table) => no_table,
        Ok(()) => invalid(format!(
            "Table service {} does not exist on {}",
            kind.as_str(),
            table.display()
        )),
    };
    let put = |service: &TableService| {
        scope.put(
            kinds::SERVICE,
            &id,
            Some(&scope.database_id(&table.database)),
            service,
        )
    };
    match statement.command {
        Command::CreateTableService => {
            if existing.is_some() {
                return Err(invalid(format!(
                    "Table service {} already exists on {}",
                    kind.as_str(),
                    table.display()
                )));
            }
            let service = create(state, scope, statement, &table, kind).await?;
            Ok(Done {
                response: responses::empty(Command::CreateTableService),
                writes: vec![put(&service)?],
                start: None,
            })
        }
        Command::AlterTableService => {
            let mut service = existing.ok_or_else(missing)?;
            let mode = trigger_mode(statement.required("TRIGGER_MODE"))?;
            let options = check_options(kind, &statement.options).map_err(invalid)?;
            if mode == TriggerMode::Automatic && service.trigger_mode != TriggerMode::Automatic {
                // Commits (and AUTOSAVEPOINT's interval) count from the moment the service
                // becomes automatic.
                service.last_seen_version = current_version(&table).await?;
                service.commits_since_last_run = 0;
                service.last_automatic_run_at = Some(state.now());
            }
            service.trigger_mode = mode;
            service.options.extend(options);
            check_required_options(&service).map_err(invalid)?;
            service.updated_at = state.now();
            Ok(Done {
                response: responses::empty(Command::AlterTableService),
                writes: vec![put(&service)?],
                start: None,
            })
        }
        Command::DeleteTableService => {
            existing.ok_or_else(missing)?;
            let runs =
                records::runs(state.store(), scope, &table.database, &table.table, kind).await?;
            if let Some(active) = runs.iter().find(|r| r.status.is_active()) {
                return Err(invalid(format!(
                    "Table service {} on {} has an active run ({}); CANCEL it first",
                    kind.as_str(),
                    table.display(),
                    active.table_service_run_id
                )));
            }
            let mut writes: Vec<_> = runs
                .iter()
                .map(|r| records::delete(kinds::RUN, &r.table_service_run_id))
                .collect();
            writes.push(records::delete(kinds::SERVICE, &id));
            Ok(Done {
                response: responses::empty(Command::DeleteTableService),
                writes,
                start: None,
            })
        }
        Command::PauseTableService | Command::ResumeTableService => {
            let mut service = existing.ok_or_else(missing)?;
            service.status = if statement.command == Command::PauseTableService {
                model::pause(service.status)
            } else {
                model::resume(service.status).map_err(|why| {
                    invalid(format!(
                        "Table service {} on {} {why}",
                        kind.as_str(),
                        table.display()
                    ))
                })?
            };
            service.updated_at = state.now();
            Ok(Done {
                response: responses::empty(statement.command),
                writes: vec![put(&service)?],
                start: None,
            })
        }
        Command::CancelTableService => {
            if existing.is_none() && kind.needs_record_to_run() {
                return Err(missing());
            }
            cancel(state, scope, &table, kind).await
        }
        Command::DescribeTableService => {
            let service = existing.ok_or_else(missing)?;
            let runs =
                records::runs(state.store(), scope, &table.database, &table.table, kind).await?;
            let savepoints = if matches!(kind, ServiceKind::Autosavepoint | ServiceKind::Restore) {
                Some(
                    records::savepoints(state.store(), scope, &table.database, &table.table)
                        .await?,
                )
            } else {
                None
            };
            Ok(Done::answer(responses::describe(
                &service,
                &services_cluster(state, scope, &table).await?,
                runs.first(),
                savepoints.as_deref(),
            )))
        }
        Command::ShowRunsInTableService => {
            if existing.is_none() && kind.needs_record_to_run() {
                return Err(missing());
            }
            Ok(Done::answer(responses::runs(
                &records::runs(state.store(), scope, &table.database, &table.table, kind).await?,
            )))
        }
        Command::RunServiceInTable => run(state, scope, statement, &table, kind, existing).await,
        other => Err(failed(format!(
            "{other:?} is not a table-service statement"
        ))),
    }
}

fn trigger_mode(text: &str) -> Result<TriggerMode, Refusal> {
    TriggerMode::parse(text).ok_or_else(|| {
        invalid(format!(
            "Invalid TRIGGER_MODE '{text}': expected AUTOMATIC or ON_DEMAND"
        ))
    })
}

/// Options a service cannot work without (CLUSTER needs its columns).
fn check_required_options(service: &TableService) -> Result<(), String> {
    if service.service == ServiceKind::Cluster
        && !service.options.contains_key("cluster.field.names")
    {
        return Err(
            "Table service CLUSTER needs the option 'cluster.field.names' (the columns to cluster on)"
                .into(),
        );
    }
    Ok(())
}

async fn current_version(table: &TableRef) -> Result<Option<u64>, Refusal> {
    delta::latest_version(&table.dir())
        .await
        .map(Some)
        .map_err(|e| {
            failed(format!(
                "cannot read the Delta log of {}: {e}",
                table.display()
            ))
        })
}

async fn create(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
    table: &TableRef,
    kind: ServiceKind,
) -> Result<TableService, Refusal> {
    let mode = match statement.clause("TRIGGER_MODE") {
        Some(text) => trigger_mode(text)?,
        None => TriggerMode::Automatic,
    };
    let now = state.now();
    let service = TableService {
        account_uid: scope.account_uid.clone(),
        project_uid: scope.project_uid.clone(),
        lake: table.lake.lake.name.clone(),
        database: table.database.clone(),
        table: table.table.clone(),
        service: kind,
        trigger_mode: mode,
        status: ServiceStatus::Active,
        options: check_options(kind, &statement.options).map_err(invalid)?,
        created_at: now,
        updated_at: now,
        created_by: scope.user.clone(),
        last_seen_version: current_version(table).await?,
        commits_since_last_run: 0,
        last_automatic_run_at: Some(now),
    };
    check_required_options(&service).map_err(invalid)?;
    Ok(service)
}

async fn services_cluster(
    state: &AppState,
    scope: &Scope,
    table: &TableRef,
) -> Result<String, Refusal> {
    Ok(records::table_settings(
        state.store(),
        scope,
        &table.lake.lake.name,
        &table.database,
        &table.table,
    )
    .await?
    .map_or_else(
        || table.lake.lake.default_services_cluster.clone(),
        |s| s.services_cluster,
    ))
}

async fn show(state: &AppState, scope: &Scope, table: &TableRef) -> Result<Done, Refusal> {
    let cluster = services_cluster(state, scope, table).await?;
    let services = records::services(state.store(), scope, &table.database, &table.table).await?;
    if services.is_empty() {
        table.check_exists()?;
    }
    let mut items = Vec::new();
    for service in services {
        let runs = records::runs(
            state.store(),
            scope,
            &table.database,
            &table.table,
            service.service,
        )
        .await?;
        items.push(responses::service_summary(&service, &cluster, runs.first()));
    }
    Ok(Done::answer(responses::services(items)))
}

/// CANCEL: stops the active run of the service before its commit and waits until it has
/// stopped. A run whose commit happened first stays COMPLETED and CANCEL is INVALID.
async fn cancel(
    state: &AppState,
    scope: &Scope,
    table: &TableRef,
    kind: ServiceKind,
) -> Result<Done, Refusal> {
    let runs = records::runs(state.store(), scope, &table.database, &table.table, kind).await?;
    let Some(active) = runs.into_iter().find(|r| r.status.is_active()) else {
        return Err(invalid(format!(
            "Table service {} on {} has no active run to cancel",
            kind.as_str(),
            table.display()
        )));
    };
    let run = runs::cancel_and_wait(state, &active.table_service_run_id).await?;
    if run.status == RunStatus::Canceled {
        Ok(Done::answer(responses::canceled(&run)))
    } else {
        Err(invalid(format!(
            "Table service {} on {} has no active run to cancel: run {} ended {} first",
            kind.as_str(),
            table.display(),
            run.table_service_run_id,
            run.status.wire()
        )))
    }
}

/// RUN: records a QUEUED run (or returns the active one) to start after the commit.
async fn run(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
    table: &TableRef,
    kind: ServiceKind,
    existing: Option<TableService>,
) -> Result<Done, Refusal> {
    let mut options = match &existing {
        Some(service) => {
            model::may_run(service.status).map_err(|why| {
                invalid(format!(
                    "Table service {} on {} {why}",
                    kind.as_str(),
                    table.display()
                ))
            })?;
            service.effective_options()
        }
        None if kind.needs_record_to_run() => {
            return Err(invalid(format!(
                "Table service {} does not exist on {}; CREATE TABLE_SERVICE first",
                kind.as_str(),
                table.display()
            )))
        }
        None => kind.default_options(),
    };
    options.extend(check_options(kind, &statement.options).map_err(invalid)?);
    let runs = records::runs(state.store(), scope, &table.database, &table.table, kind).await?;
    if let Some(active) = runs.iter().find(|r| r.status.is_active()) {
        return Ok(Done::answer(responses::run_started(active)));
    }
    if kind == ServiceKind::Restore {
        let version = restore_version(state, scope, table, &options).await?;
        options.insert("restore.version".into(), version.to_string());
    }
    let run = new_run(
        scope,
        table,
        kind,
        TriggerType::OnDemand,
        options,
        state.now(),
    );
    Ok(Done {
        response: responses::run_started(&run),
        writes: vec![runs::put_run(scope, &run)?],
        start: Some(run),
    })
}

/// A new QUEUED run.
pub fn new_run(
    scope: &Scope,
    table: &TableRef,
    kind: ServiceKind,
    trigger: TriggerType,
    options: BTreeMap<String, String>,
    now: f64,
) -> Run {
    Run {
        table_service_run_id: new_id(),
        lake: table.lake.lake.name.clone(),
        database: table.database.clone(),
        table: table.table.clone(),
        service: kind,
        trigger_type: trigger,
        status: RunStatus::Queued,
        created_at: now,
        started_at: None,
        finished_at: None,
        duration_ms: None,
        table_version_before: None,
        table_version_after: None,
        metrics: BTreeMap::new(),
        error_message: None,
        created_by: scope.user.clone(),
        options,
    }
}

/// The version RESTORE returns to: `restore.version`, the version current at
/// `restore.timestamp` (RFC 3339 or epoch seconds), the savepoint `restore.savepoint.id`, or the
/// latest savepoint.
async fn restore_version(
    state: &AppState,
    scope: &Scope,
    table: &TableRef,
    options: &BTreeMap<String, String>,
) -> Result<u64, Refusal> {
    if let Some(v) = options.get("restore.version") {
        let version = v.trim().parse::<u64>().map_err(|_| {
            invalid(format!(
                "Option 'restore.version' must be a version number, got '{v}'"
            ))
        })?;
        let latest = current_version(table).await?.unwrap_or_default();
        if version > latest {
            return Err(invalid(format!(
                "Cannot restore {} to version {version}: its latest version is {latest}",
                table.display()
            )));
        }
        return Ok(version);
    }
    if let Some(text) = options.get("restore.timestamp") {
        let when = crate::util::time::parse_iso8601(text)
            .and_then(|epoch| chrono::DateTime::from_timestamp_millis((epoch * 1000.0) as i64))
            .ok_or_else(|| {
                invalid(format!(
                    "Option 'restore.timestamp' must be an RFC 3339 timestamp, got '{text}'"
                ))
            })?;
        return delta::version_at(&table.dir(), when)
            .await
            .map_err(|e| invalid(format!("Cannot restore {} to {text}: {e}", table.display())));
    }
    let savepoints =
        records::savepoints(state.store(), scope, &table.database, &table.table).await?;
    if let Some(id) = options.get("restore.savepoint.id") {
        return savepoints
            .iter()
            .find(|p| p.savepoint_id == *id)
            .map(|p| p.table_version)
            .ok_or_else(|| {
                invalid(format!(
                    "Savepoint '{id}' does not exist on {}",
                    table.display()
                ))
            });
    }
    savepoints
        .last()
        .map(|p| p.table_version)
        .ok_or_else(|| {
            invalid(format!(
                "Table {} has no savepoint to restore to; run AUTOSAVEPOINT first (or give 'restore.version')",
                table.display()
            ))
        })
}
