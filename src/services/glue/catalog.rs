//! The Data Catalog as the query engine reads it: a table's definition and its partitions, by
//! account, region and (case-insensitive) names, without going through the wire protocol; and
//! [`upsert_table`], through which table services' METASYNC registers a Delta table.
//!
//! Names are folded to lower case as Glue stores them. Errors are the Glue errors a GetTable or
//! GetPartitions call would give (`EntityNotFoundException` naming the database or table).

use cleanrooms_emulator_api::glue::dto;

use super::model::Catalog;
use super::repo;
use crate::error::AwsResult;
use crate::state::AppState;

/// Whether database `database` exists in the catalog of `account` in `region`.
///
/// # Errors
/// Only when the metadata store fails.
pub async fn database_exists(
    state: &AppState,
    account: &str,
    region: &str,
    database: &str,
) -> AwsResult<bool> {
    Ok(
        repo::find_database(state, Catalog::new(account, region), database)
            .await?
            .is_some(),
    )
}

/// Table `database.name` as GetTable returns it (current version).
///
/// # Errors
/// `EntityNotFoundException` (`Database <db> not found.` / `Table <t> not found.`).
pub async fn table(
    state: &AppState,
    account: &str,
    region: &str,
    database: &str,
    name: &str,
) -> AwsResult<dto::Table> {
    let stored = repo::table(state, Catalog::new(account, region), database, name).await?;
    Ok(stored.table)
}

/// Every partition of table `database.table`, in creation order, as GetPartitions returns them
/// (a partition created without a `StorageDescriptor` has none: fall back to the table's).
///
/// # Errors
/// `EntityNotFoundException` for a missing database or table.
pub async fn partitions(
    state: &AppState,
    account: &str,
    region: &str,
    database: &str,
    table: &str,
) -> AwsResult<Vec<dto::Partition>> {
    let catalog = Catalog::new(account, region);
    let stored = repo::table(state, catalog, database, table).await?;
    Ok(repo::partitions(state, catalog, &stored, None, None)
        .await?
        .into_iter()
        .map(|(_, p)| p.partition)
        .collect())
}

/// What [`upsert_table`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    /// The table did not exist and was created.
    Created,
    /// The table existed with another definition and was updated (a new table version).
    Updated,
    /// The table already had this definition.
    Unchanged,
}

impl Upsert {
    /// `CREATED`, `UPDATED` or `UNCHANGED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Updated => "UPDATED",
            Self::Unchanged => "UNCHANGED",
        }
    }
}

/// Creates database `name` in the catalog of `account` in `region` unless it exists, through
/// CreateDatabase (so the same validation applies as for a Glue client).
///
/// # Errors
/// The Glue error of CreateDatabase, other than the database existing already.
pub async fn ensure_database(
    state: &AppState,
    account: &str,
    region: &str,
    name: &str,
    description: Option<&str>,
) -> AwsResult<()> {
    if database_exists(state, account, region, name).await? {
        return Ok(());
    }
    let ctx = cleanrooms_emulator_api::RequestContext {
        request_id: crate::util::ids::new_id(),
        account_id: account.to_string(),
        region: region.to_string(),
        access_key_id: None,
        service: "glue".to_string(),
        operation: "CreateDatabase".to_string(),
    };
    let created = super::ops::databases::create_database(
        state,
        &ctx,
        dto::CreateDatabaseRequest {
            database_input: dto::DatabaseInput {
                name: name.to_string(),
                description: description.map(str::to_string),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await;
    match created {
        // Another caller may have created it meanwhile.
        Err(e) if e.code != "AlreadyExistsException" => Err(e),
        _ => Ok(()),
    }
}

/// Creates table `input.Name` in `database` of the catalog of `account` in `region` (creating
/// the database when it is missing), or updates it when its storage descriptor, partition keys,
/// table type or parameters differ from `input`'s. Goes through CreateDatabase, CreateTable and
/// UpdateTable, so the same validation and versioning apply as for a Glue client.
///
/// # Errors
/// The Glue error of the failing step (for example `InvalidInputException`).
pub async fn upsert_table(
    state: &AppState,
    account: &str,
    region: &str,
    database: &str,
    input: dto::TableInput,
) -> AwsResult<Upsert> {
    use super::ops::tables;
    let ctx = |operation: &str| cleanrooms_emulator_api::RequestContext {
        request_id: crate::util::ids::new_id(),
        account_id: account.to_string(),
        region: region.to_string(),
        access_key_id: None,
        service: "glue".to_string(),
        operation: operation.to_string(),
    };
    ensure_database(state, account, region, database, None).await?;
    let catalog = Catalog::new(account, region);
    let Some(existing) = repo::find_table(state, catalog, database, &input.name).await? else {
        tables::create_table(
            state,
            &ctx("CreateTable"),
            dto::CreateTableRequest {
                database_name: database.to_string(),
                table_input: Some(input),
                ..Default::default()
            },
        )
        .await?;
        return Ok(Upsert::Created);
    };
    let current = &existing.table;
    let same = current.storage_descriptor == input.storage_descriptor
        && current.partition_keys.clone().unwrap_or_default()
            == input.partition_keys.clone().unwrap_or_default()
        && current.table_type == input.table_type
        && current.parameters == input.parameters;
    if same {
        return Ok(Upsert::Unchanged);
    }
    tables::update_table(
        state,
        &ctx("UpdateTable"),
        dto::UpdateTableRequest {
            database_name: database.to_string(),
            table_input: Some(input),
            ..Default::default()
        },
    )
    .await?;
    Ok(Upsert::Updated)
}
