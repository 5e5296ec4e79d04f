//! The Data Catalog as the query engine reads it: a table's definition and its partitions, by
//! account, region and (case-insensitive) names, without going through the wire protocol; and
//! [`upsert_table`], through which table services' METASYNC registers a Delta table; and
//! [`create_partitions`], through which LakeFormation batch-creates partitions.
//!
//! Names are folded to lower case as Glue stores them. Errors are the Glue errors a GetTable or
//! GetPartitions call would give (`EntityNotFoundException` naming the database or table).

use cleanrooms_emulator_api::glue::dto;

use std::collections::HashSet;

use super::model::{Catalog, PartitionExtras, StoredPartition, StoredTable};
use super::repo;
use crate::error::{AwsError, AwsResult};
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

/// Why [`create_partitions`] refused one entry.
#[derive(Debug, Clone, PartialEq)]
pub enum PartitionRefusal {
    /// The values do not identify a partition of the table (unpartitioned table, wrong count).
    Values(AwsError),
    /// A partition with these values exists already.
    Exists,
    /// The values appear more than once in the request.
    Repeated,
}

/// Why [`create_partitions`] wrote nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum CreatePartitionsError {
    /// The database does not exist.
    DatabaseNotFound,
    /// The table does not exist in the database (named as stored).
    TableNotFound {
        /// The database's stored name.
        database: String,
    },
    /// Entry `index` cannot be created.
    Entry {
        /// Position of the entry in the request.
        index: usize,
        /// The table the entry was checked against.
        table: Box<StoredTable>,
        /// What is wrong with it.
        refusal: PartitionRefusal,
    },
    /// The metadata store failed.
    Store(AwsError),
}

/// What [`create_partitions`] committed.
#[derive(Debug, Clone)]
pub struct CreatedPartitions {
    /// The database's `uid`.
    pub database_uid: String,
    /// The table the partitions belong to.
    pub table: StoredTable,
    /// The created partitions with the position of their entry in the request.
    pub created: Vec<(usize, StoredPartition)>,
}

/// Creates partitions of `database.table` in one commit (LakeFormation's batch creation): each
/// entry is a Glue `PartitionInput` with what Glue cannot hold. Entries whose partition exists
/// (or repeats an earlier entry) are skipped when `skip_existing`, else they fail the whole call;
/// nothing is written unless every entry passes.
///
/// # Errors
/// [`CreatePartitionsError`]: a missing database or table, the first refused entry, or a store
/// failure.
pub async fn create_partitions(
    state: &AppState,
    catalog: Catalog<'_>,
    database: &str,
    table: &str,
    entries: Vec<(dto::PartitionInput, Option<PartitionExtras>)>,
    skip_existing: bool,
) -> Result<CreatedPartitions, CreatePartitionsError> {
    use super::ops::partitions::{check_values, new_partition, put_partition};
    use CreatePartitionsError as E;

    let _guard = state.write_lock().await;
    let Some((_, stored_database)) = repo::find_database(state, catalog, database)
        .await
        .map_err(E::Store)?
    else {
        return Err(E::DatabaseNotFound);
    };
    let Some(stored) = repo::find_table(state, catalog, database, table)
        .await
        .map_err(E::Store)?
    else {
        return Err(E::TableNotFound {
            database: stored_database.database.name,
        });
    };
    let refuse = |index: usize, refusal: PartitionRefusal| E::Entry {
        index,
        table: Box::new(stored.clone()),
        refusal,
    };
    let now = state.now();
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    let mut created = Vec::new();
    for (index, (input, extras)) in entries.into_iter().enumerate() {
        let values = input.values.clone().unwrap_or_default();
        check_values(&stored, &values).map_err(|e| refuse(index, PartitionRefusal::Values(e)))?;
        let refusal = if seen.contains(&values) {
            Some(PartitionRefusal::Repeated)
        } else if repo::find_partition(state, catalog, &stored, &values)
            .await
            .map_err(E::Store)?
            .is_some()
        {
            Some(PartitionRefusal::Exists)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            if skip_existing {
                continue;
            }
            return Err(refuse(index, refusal));
        }
        seen.insert(values);
        let mut partition = new_partition(catalog, &stored, input, now)
            .map_err(|e| refuse(index, PartitionRefusal::Values(e)))?;
        partition.lakeformation = extras;
        created.push((index, partition));
    }
    let writes = created
        .iter()
        .map(|(_, p)| put_partition(catalog, &stored, p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(E::Store)?;
    if !writes.is_empty() {
        state
            .store()
            .commit(writes)
            .await
            .map_err(|e| E::Store(e.into()))?;
    }
    Ok(CreatedPartitions {
        database_uid: stored_database.uid,
        table: stored,
        created,
    })
}
