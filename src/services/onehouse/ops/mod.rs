//! Executing a parsed statement: one module per resource family (`lakes`: lakes, databases,
//! tables; `table_services`: every table-service statement). Each returns what to answer and
//! the store writes to commit with the request record, or a [`Refusal`] (INVALID for a
//! semantic error, FAILED for an execution failure) that changes nothing.

pub mod lakes;
pub mod table_services;

use serde_json::Value;

use super::lake::{self, LakeDir};
use super::model::{Database, Lake, Run, ServiceKind};
use super::parser::{Command, Statement};
use super::records::{self, Scope};
use super::responses::ApiStatus;
use crate::error::AwsError;
use crate::state::AppState;
use crate::store::Write;

/// A statement that succeeded: the `apiResponse`, the writes to commit with the request, and a
/// run to start once they are committed.
#[derive(Debug, Default)]
pub struct Done {
    /// The `apiResponse`.
    pub response: Value,
    /// Store writes, committed atomically with the request record.
    pub writes: Vec<Write>,
    /// A run to start after the commit.
    pub start: Option<Run>,
}

impl Done {
    /// A success answering `response` with nothing to write.
    pub fn answer(response: Value) -> Self {
        Self {
            response,
            ..Self::default()
        }
    }
}

/// A statement that was refused or failed; nothing it would have written is committed.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// INVALID or FAILED.
    pub status: ApiStatus,
    /// What is wrong.
    pub message: String,
}

/// A semantic error (`API_OPERATION_STATUS_INVALID`).
pub fn invalid(message: impl Into<String>) -> Refusal {
    Refusal {
        status: ApiStatus::Invalid,
        message: message.into(),
    }
}

/// An execution failure (`API_OPERATION_STATUS_FAILED`).
pub fn failed(message: impl Into<String>) -> Refusal {
    Refusal {
        status: ApiStatus::Failed,
        message: message.into(),
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Self {
        AwsError::from(e).into()
    }
}

impl From<AwsError> for Refusal {
    fn from(e: AwsError) -> Self {
        failed(format!("{}: {}", e.code, e.message))
    }
}

/// Whether executing `command` must hold the emulator's write lock from its first read to the
/// commit: every command that changes something, except CANCEL, which waits for a run that
/// needs the lock to finish (and writes nothing itself). Reads never take it.
pub fn needs_write_lock(command: Command) -> bool {
    !matches!(
        command,
        Command::CancelTableService
            | Command::ShowLakes
            | Command::ShowDatabases
            | Command::ShowTables
            | Command::ShowTableServices
            | Command::ShowRunsInTableService
            | Command::DescribeTableService
    )
}

/// Runs `statement` for `scope`.
///
/// # Errors
/// A [`Refusal`] saying what is wrong.
pub async fn execute(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
) -> Result<Done, Refusal> {
    match statement.command {
        Command::ShowLakes
        | Command::CreateLake
        | Command::AlterLake
        | Command::DeleteLake
        | Command::CreateDatabase
        | Command::DeleteDatabase
        | Command::ShowDatabases
        | Command::ShowTables => lakes::execute(state, scope, statement).await,
        _ => table_services::execute(state, scope, statement).await,
    }
}

/// Lake `name` with its directory, or INVALID.
pub async fn lake_dir(state: &AppState, scope: &Scope, name: &str) -> Result<LakeDir, Refusal> {
    let lake: Lake = records::lake(state.store(), scope, name)
        .await?
        .ok_or_else(|| invalid(format!("Lake '{name}' does not exist")))?;
    LakeDir::new(state.data_dir(), lake).map_err(failed)
}

/// Database `db` of lake `lake`, or INVALID.
pub async fn database_in(
    state: &AppState,
    scope: &Scope,
    lake: &str,
    db: &str,
) -> Result<Database, Refusal> {
    match records::database(state.store(), scope, db).await? {
        Some(d) if d.lake == lake => Ok(d),
        Some(d) => Err(invalid(format!(
            "Database '{db}' belongs to lake '{}', not '{lake}'",
            d.lake
        ))),
        None => Err(invalid(format!(
            "Database '{db}' does not exist in lake '{lake}'"
        ))),
    }
}

/// A Delta table of a lake, addressed by lake, database and table name.
#[derive(Debug, Clone)]
pub struct TableRef {
    /// The lake and its directory.
    pub lake: LakeDir,
    /// Database name.
    pub database: String,
    /// Table name.
    pub table: String,
}

impl TableRef {
    /// The table's directory.
    pub fn dir(&self) -> std::path::PathBuf {
        self.lake.table_dir(&self.database, &self.table)
    }

    /// The key of this table's records in `scope`.
    pub fn key(&self, scope: &Scope) -> String {
        scope.table_id(&self.lake.lake.name, &self.database, &self.table)
    }

    /// The record id of `service` on this table in `scope`.
    pub fn service_id(&self, scope: &Scope, service: ServiceKind) -> String {
        scope.service_id(&self.lake.lake.name, &self.database, &self.table, service)
    }

    /// `lake.database.table`, for messages.
    pub fn display(&self) -> String {
        format!("{}.{}.{}", self.lake.lake.name, self.database, self.table)
    }
}

/// The table `lake.db.table` (lake and database must exist; the Delta table itself may not,
/// see [`TableRef::check_exists`]), or INVALID naming what is missing.
pub async fn table_ref(
    state: &AppState,
    scope: &Scope,
    lake_name: &str,
    db: &str,
    table: &str,
) -> Result<TableRef, Refusal> {
    let lake = lake_dir(state, scope, lake_name).await?;
    database_in(state, scope, lake_name, db).await?;
    lake::check_segment("table", table).map_err(invalid)?;
    Ok(TableRef {
        lake,
        database: db.to_string(),
        table: table.to_string(),
    })
}

impl TableRef {
    /// Whether the Delta table is there.
    pub fn exists(&self) -> bool {
        lake::is_delta_table(&self.dir())
    }

    /// INVALID when there is no Delta table at the table's path.
    ///
    /// # Errors
    /// INVALID naming the table and its path.
    pub fn check_exists(&self) -> Result<(), Refusal> {
        if self.exists() {
            return Ok(());
        }
        Err(invalid(format!(
            "Table '{}' does not exist in {}.{} (no Delta table at {})",
            self.table,
            self.lake.lake.name,
            self.database,
            self.lake.table_uri(&self.database, &self.table)
        )))
    }
}

/// Parses a service name, or INVALID listing the services.
pub fn service_kind(text: &str) -> Result<ServiceKind, Refusal> {
    ServiceKind::parse(text).ok_or_else(|| {
        invalid(format!(
            "Unknown service '{text}': expected one of CLUSTER, COMPACT, CLEAN, METASYNC, AUTOSAVEPOINT, RESTORE"
        ))
    })
}
