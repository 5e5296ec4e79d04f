//! The Data Catalog as the query engine reads it: a table's definition and its partitions, by
//! account, region and (case-insensitive) names, without going through the wire protocol.
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
