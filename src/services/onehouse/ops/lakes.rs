//! Lakes, databases and tables, as far as table services need them (spec §5.1): CREATE, ALTER,
//! DELETE and SHOW LAKE(S); CREATE, DELETE and SHOW DATABASE(S); SHOW TABLES. A lake names an
//! existing directory (it creates none); a database creates its directory; tables are found,
//! not registered. Deleting removes Onehouse metadata only, never table data.

use super::{database_in, failed, invalid, lake_dir, Done, Refusal};
use crate::services::onehouse::delta;
use crate::services::onehouse::lake;
use crate::services::onehouse::model::{Database, Lake, LakeType, Run};
use crate::services::onehouse::parser::{Command, Statement};
use crate::services::onehouse::records::{self, kinds, Scope};
use crate::services::onehouse::responses::{self, TableEntry};
use crate::state::AppState;
use crate::store::Write;

/// The services cluster of a lake created without one.
pub const DEFAULT_SERVICES_CLUSTER: &str = "default";

/// Runs a lake, database or table statement.
///
/// # Errors
/// INVALID for unknown or conflicting resources and bad values.
pub async fn execute(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
) -> Result<Done, Refusal> {
    let name = statement.name.as_deref().unwrap_or_default();
    match statement.command {
        Command::ShowLakes => Ok(Done::answer(responses::lakes(
            &records::lakes(state.store(), scope).await?,
        ))),
        Command::CreateLake => create_lake(state, scope, statement, name).await,
        Command::AlterLake => {
            let mut dir = lake_dir(state, scope, name).await?;
            dir.lake.default_services_cluster =
                statement.required("DEFAULT_SERVICES_CLUSTER").to_string();
            Ok(Done {
                response: responses::empty(Command::AlterLake),
                writes: vec![scope.put(
                    kinds::LAKE,
                    &scope.lake_id(name),
                    Some(&scope.root_id()),
                    &dir.lake,
                )?],
                start: None,
            })
        }
        Command::DeleteLake => delete_lake(state, scope, name, statement.cascade).await,
        Command::CreateDatabase => create_database(state, scope, statement, name).await,
        Command::DeleteDatabase => delete_database(state, scope, statement, name).await,
        Command::ShowDatabases => {
            let lake = statement.required("LAKE");
            lake_dir(state, scope, lake).await?;
            Ok(Done::answer(responses::databases(
                &records::databases(state.store(), scope, lake).await?,
            )))
        }
        Command::ShowTables => show_tables(state, scope, statement).await,
        other => Err(failed(format!("{other:?} is not a lake statement"))),
    }
}

/// Names the API accepts for lakes (the SDK's safe-mode identifier rule, plus what fits a
/// directory name for databases).
fn check_name(what: &str, name: &str) -> Result<(), Refusal> {
    let ok = name.len() <= 255
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid {what} name '{name}': it must start with a letter, contain only letters, digits, '_' and '-', and have at most 255 characters"
        )))
    }
}

async fn create_lake(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
    name: &str,
) -> Result<Done, Refusal> {
    check_name("lake", name)?;
    let lakes = records::lakes(state.store(), scope).await?;
    if let Some(existing) = lakes.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
        return Err(invalid(format!("Lake '{}' already exists", existing.name)));
    }
    let lake_type = statement.required("LAKE_TYPE");
    let lake_type = LakeType::parse(lake_type).ok_or_else(|| {
        invalid(format!(
            "Invalid LAKE_TYPE '{lake_type}': expected MANAGED or OBSERVED"
        ))
    })?;
    let bucket_path = statement.required("BUCKET_PATH").trim().to_string();
    let dir = lake::root_dir(state.data_dir(), &bucket_path).map_err(invalid)?;
    if let Some(bucket) = lake::s3_bucket(&bucket_path) {
        let owner = crate::services::s3::facade::get_bucket(state.store(), bucket)
            .await?
            .map(|b| b.owner);
        let why = match owner {
            None => format!("bucket '{bucket}' does not exist"),
            Some(owner) if owner != scope.aws_account => format!(
                "bucket '{bucket}' belongs to another account than {}",
                scope.aws_account
            ),
            Some(_) => String::new(),
        };
        if !why.is_empty() {
            return Err(invalid(format!(
                "Invalid BUCKET_PATH '{bucket_path}': {why}"
            )));
        }
    } else if !dir.is_dir() {
        return Err(invalid(format!(
            "Invalid BUCKET_PATH '{bucket_path}': {} is not an existing directory (a lake does not create one)",
            dir.display()
        )));
    }
    let lake = Lake {
        name: name.to_string(),
        lake_type,
        bucket_path,
        default_services_cluster: statement
            .clause("DEFAULT_SERVICES_CLUSTER")
            .unwrap_or(DEFAULT_SERVICES_CLUSTER)
            .to_string(),
        created_at: state.now(),
    };
    Ok(Done {
        response: responses::empty(Command::CreateLake),
        writes: vec![scope.put(
            kinds::LAKE,
            &scope.lake_id(name),
            Some(&scope.root_id()),
            &lake,
        )?],
        start: None,
    })
}

/// The writes that remove the Onehouse metadata of database `db` (its services, runs,
/// savepoints and table settings), refusing while one of its runs is active.
async fn database_metadata_deletes(
    state: &AppState,
    scope: &Scope,
    db: &str,
) -> Result<Vec<Write>, Refusal> {
    let runs: Vec<Run> =
        records::children(state.store(), kinds::RUN, &scope.database_id(db)).await?;
    if let Some(run) = runs.iter().find(|r| r.status.is_active()) {
        return Err(invalid(format!(
            "Table {}.{db}.{} has an active {} run ({}); CANCEL it first",
            run.lake,
            run.table,
            run.service.as_str(),
            run.table_service_run_id
        )));
    }
    Ok(records::database_deletes(state.store(), scope, db).await?)
}

async fn delete_lake(
    state: &AppState,
    scope: &Scope,
    name: &str,
    cascade: bool,
) -> Result<Done, Refusal> {
    lake_dir(state, scope, name).await?;
    let databases = records::databases(state.store(), scope, name).await?;
    if !databases.is_empty() && !cascade {
        return Err(invalid(format!(
            "Lake '{name}' has {} database(s) ({}); delete them first or use CASCADE",
            databases.len(),
            databases
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut writes = Vec::new();
    for db in &databases {
        writes.extend(database_metadata_deletes(state, scope, &db.name).await?);
    }
    writes.push(records::delete(kinds::LAKE, &scope.lake_id(name)));
    Ok(Done {
        response: responses::empty(Command::DeleteLake),
        writes,
        start: None,
    })
}

async fn create_database(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
    name: &str,
) -> Result<Done, Refusal> {
    check_name("database", name)?;
    lake::check_segment("database", name).map_err(invalid)?;
    let lake_name = statement.required("LAKE");
    let lake = lake_dir(state, scope, lake_name).await?;
    for existing_lake in records::lakes(state.store(), scope).await? {
        for db in records::databases(state.store(), scope, &existing_lake.name).await? {
            if db.name.eq_ignore_ascii_case(name) {
                return Err(invalid(format!(
                    "Database '{}' already exists in lake '{}' (database names are unique across lakes)",
                    db.name, db.lake
                )));
            }
        }
    }
    // S3 has no directories: a database in an S3 lake is a key prefix.
    if lake::s3_bucket(&lake.lake.bucket_path).is_none() {
        let dir = lake.database_dir(name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    }
    let database = Database {
        name: name.to_string(),
        lake: lake_name.to_string(),
        created_at: state.now(),
    };
    Ok(Done {
        response: responses::empty(Command::CreateDatabase),
        writes: vec![scope.put(
            kinds::DATABASE,
            &scope.database_id(name),
            Some(&scope.lake_id(lake_name)),
            &database,
        )?],
        start: None,
    })
}

async fn delete_database(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
    name: &str,
) -> Result<Done, Refusal> {
    let lake_name = statement.required("LAKE");
    let lake = lake_dir(state, scope, lake_name).await?;
    database_in(state, scope, lake_name, name).await?;
    let tables = lake.tables(name).map_err(|e| failed(e.to_string()))?;
    if !tables.is_empty() && !statement.cascade {
        return Err(invalid(format!(
            "Database '{name}' has {} dependent table(s) ({}); use CASCADE",
            tables.len(),
            tables.join(", ")
        )));
    }
    Ok(Done {
        response: responses::empty(Command::DeleteDatabase),
        writes: database_metadata_deletes(state, scope, name).await?,
        start: None,
    })
}

async fn show_tables(
    state: &AppState,
    scope: &Scope,
    statement: &Statement,
) -> Result<Done, Refusal> {
    let lake_name = statement.required("LAKE");
    let db = statement.required("DATABASE");
    let lake = lake_dir(state, scope, lake_name).await?;
    database_in(state, scope, lake_name, db).await?;
    let mut entries = Vec::new();
    for table in lake.tables(db).map_err(|e| failed(e.to_string()))? {
        let opened = delta::open(&lake.table_dir(db, &table)).await.ok();
        let partition_columns = opened
            .as_ref()
            .and_then(|t| t.snapshot().ok())
            .map(|s| s.metadata().partition_columns().to_vec())
            .unwrap_or_default();
        let services_cluster = records::table_settings(state.store(), scope, lake_name, db, &table)
            .await?
            .map_or_else(
                || lake.lake.default_services_cluster.clone(),
                |s| s.services_cluster,
            );
        entries.push(TableEntry {
            path: lake.table_uri(db, &table),
            version: opened.as_ref().and_then(deltalake::DeltaTable::version),
            name: table,
            lake: lake_name.to_string(),
            database: db.to_string(),
            services_cluster,
            partition_columns,
        });
    }
    Ok(Done::answer(responses::tables(&entries)))
}
