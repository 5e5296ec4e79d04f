//! Typed access to the Glue records in the metadata store, and the lookups every operation
//! shares: the caller's catalog, a database, a table (database first, so a missing database is
//! reported as such), a partition, and the writes of a cascading delete.

use serde::Serialize;

use super::errors::{access_denied, database_not_found, entity_not_found, table_not_found};
use super::model::{fold, kinds, Catalog, StoredDatabase, StoredPartition, StoredTable};
use crate::error::AwsResult;
use crate::state::AppState;
use crate::store::{Query, Record, Write};

pub use crate::store::decode;

/// A `Put` of a stored value into `catalog`.
pub fn put<T: Serialize>(
    catalog: Catalog<'_>,
    kind: &str,
    id: &str,
    parent: Option<&str>,
    value: &T,
) -> AwsResult<Write> {
    crate::store::put(kind, id, catalog.region, catalog.account, parent, value)
}

/// A `Delete` of one record.
pub fn delete(kind: &str, id: &str) -> Write {
    Write::Delete {
        kind: kind.to_string(),
        id: id.to_string(),
    }
}

/// Checks a request's `CatalogId`: absent or the caller's account is the caller's catalog;
/// another account's catalog is `AccessDeniedException` (no cross-account catalogs); anything
/// else names no catalog (`EntityNotFoundException`).
pub fn check_catalog_id(
    account: &str,
    region: &str,
    operation: &str,
    catalog_id: Option<&str>,
) -> AwsResult<()> {
    match catalog_id {
        None => Ok(()),
        Some(id) if id == account => Ok(()),
        Some(id) if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) => {
            Err(access_denied(format!(
                "User: arn:aws:iam::{account}:root is not authorized to perform: glue:{operation} on resource: arn:aws:glue:{region}:{id}:catalog (the emulator has no cross-account catalog access)"
            )))
        }
        Some(id) => Err(entity_not_found(format!("Catalog {id} not found."))),
    }
}

/// The database `name` (folded), if it exists.
pub async fn find_database(
    state: &AppState,
    catalog: Catalog<'_>,
    name: &str,
) -> AwsResult<Option<(std::sync::Arc<Record>, StoredDatabase)>> {
    let id = catalog.database_id(&fold(name));
    match state.store().get(kinds::DATABASE, &id).await? {
        Some(record) => {
            let db = decode(&record)?;
            Ok(Some((record, db)))
        }
        None => Ok(None),
    }
}

/// The database `name` (folded), or `EntityNotFoundException`.
pub async fn database(
    state: &AppState,
    catalog: Catalog<'_>,
    name: &str,
) -> AwsResult<StoredDatabase> {
    find_database(state, catalog, name)
        .await?
        .map(|(_, db)| db)
        .ok_or_else(|| database_not_found(&fold(name)))
}

/// The table `db.name` (both folded), if it exists; `EntityNotFoundException` when the database
/// does not.
pub async fn find_table(
    state: &AppState,
    catalog: Catalog<'_>,
    db: &str,
    name: &str,
) -> AwsResult<Option<StoredTable>> {
    database(state, catalog, db).await?;
    let id = catalog.table_id(&fold(db), &fold(name));
    state
        .store()
        .get(kinds::TABLE, &id)
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// The table `db.name`, or `EntityNotFoundException` for the database or the table.
pub async fn table(
    state: &AppState,
    catalog: Catalog<'_>,
    db: &str,
    name: &str,
) -> AwsResult<StoredTable> {
    find_table(state, catalog, db, name)
        .await?
        .ok_or_else(|| table_not_found(&fold(name)))
}

/// Applies an optional limit to a query.
fn limited(query: Query, limit: Option<usize>) -> Query {
    match limit {
        Some(n) => query.limit(n),
        None => query,
    }
}

/// The tables of database `db` (folded) after sequence number `after`, in creation order, at
/// most `limit` of them.
pub async fn tables(
    state: &AppState,
    catalog: Catalog<'_>,
    db: &str,
    after: Option<i64>,
    limit: Option<usize>,
) -> AwsResult<Vec<(i64, StoredTable)>> {
    let query = Query::kind(kinds::TABLE)
        .parent(&catalog.database_id(db))
        .after(after);
    let records = state.store().query(&limited(query, limit)).await?;
    records.iter().map(|r| Ok((r.seq, decode(r)?))).collect()
}

/// The partition of `table` with `values`, if it exists.
pub async fn find_partition(
    state: &AppState,
    catalog: Catalog<'_>,
    table: &StoredTable,
    values: &[String],
) -> AwsResult<Option<StoredPartition>> {
    let id = catalog.partition_id(table.database_name(), &table.table.name, values);
    state
        .store()
        .get(kinds::PARTITION, &id)
        .await?
        .map(|r| decode(&r))
        .transpose()
}

/// The partitions of `table` after sequence number `after`, in creation order, at most `limit`
/// of them.
pub async fn partitions(
    state: &AppState,
    catalog: Catalog<'_>,
    table: &StoredTable,
    after: Option<i64>,
    limit: Option<usize>,
) -> AwsResult<Vec<(i64, StoredPartition)>> {
    let parent = catalog.table_id(table.database_name(), &table.table.name);
    let query = Query::kind(kinds::PARTITION).parent(&parent).after(after);
    let records = state.store().query(&limited(query, limit)).await?;
    records.iter().map(|r| Ok((r.seq, decode(r)?))).collect()
}

/// The writes that delete table `db.table` (folded) with its partitions and archived versions.
pub async fn table_deletes(
    state: &AppState,
    catalog: Catalog<'_>,
    db: &str,
    table: &str,
) -> AwsResult<Vec<Write>> {
    let id = catalog.table_id(db, table);
    let mut writes = Vec::new();
    for kind in [kinds::PARTITION, kinds::TABLE_VERSION] {
        for record in state.store().query(&Query::kind(kind).parent(&id)).await? {
            writes.push(delete(kind, &record.id));
        }
    }
    writes.push(delete(kinds::TABLE, &id));
    Ok(writes)
}
