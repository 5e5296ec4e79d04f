//! Tables: CreateTable, GetTable, GetTables, UpdateTable, DeleteTable, BatchDeleteTable.
//!
//! Names are folded to lower case. A table as returned carries what the server adds to the
//! input (spec B.2): `DatabaseName`, `CreateTime`, `UpdateTime`, `CreatedBy`,
//! `IsRegisteredWithLakeFormation` (false), `CatalogId`, `VersionId` (starting at "0", bumped by
//! every UpdateTable), `Retention` (0 when unset) and `PartitionKeys` (`[]` when unset).
//! UpdateTable replaces the definition and archives the previous version unless `SkipArchive`.
//! Deleting a table deletes its partitions and archived versions in the same commit.

use cleanrooms_emulator_api::glue::dto;
use cleanrooms_emulator_api::RequestContext;

use super::{catalog, convert, page_size};
use crate::error::AwsResult;
use crate::services::glue::errors::{
    bad_token, concurrent_modification, invalid_input, table_exists, table_not_found,
};
use crate::services::glue::model::{
    caller_arn, fold, kinds, new_uid, table_version_id, Catalog, StoredTable,
};
use crate::services::glue::repo;
use crate::state::AppState;
use crate::util::pagination;

/// Tables per page when `MaxResults` is absent.
const DEFAULT_PAGE: usize = 100;

/// Tables read from the store at a time while filtering a page.
const SCAN_CHUNK: usize = 256;

/// The first `VersionId` of a table.
const FIRST_VERSION: &str = "0";

/// The table a `TableInput` describes, with the server-set members filled in.
fn table_from_input(
    input: &dto::TableInput,
    catalog: Catalog<'_>,
    database: &str,
    created: (f64, String),
    now: f64,
    version: String,
) -> AwsResult<dto::Table> {
    let mut table: dto::Table = convert(input)?;
    table.name = fold(&input.name);
    table.database_name = Some(database.to_string());
    table.catalog_id = Some(catalog.account.to_string());
    table.create_time = Some(created.0);
    table.created_by = Some(created.1);
    table.update_time = Some(now);
    table.is_registered_with_lake_formation = Some(false);
    table.version_id = Some(version);
    table.retention = Some(input.retention.unwrap_or(0));
    table.partition_keys = Some(input.partition_keys.clone().unwrap_or_default());
    Ok(table)
}

/// CreateTable (non-Iceberg: `TableInput` is required).
pub async fn create_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateTableRequest,
) -> AwsResult<dto::CreateTableResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let Some(table_input) = input.table_input else {
        return Err(invalid_input(if input.open_table_format_input.is_some() {
            "Creating Iceberg tables through OpenTableFormatInput is not supported by the emulator; send a TableInput"
        } else {
            "TableInput is required"
        }));
    };
    let db = fold(&input.database_name);
    let name = fold(&table_input.name);
    let _guard = state.write_lock().await;
    if repo::find_table(state, catalog, &db, &name)
        .await?
        .is_some()
    {
        return Err(table_exists());
    }
    let now = state.now();
    let table = table_from_input(
        &table_input,
        catalog,
        &db,
        (
            now,
            caller_arn(catalog.account, ctx.access_key_id.as_deref()),
        ),
        now,
        FIRST_VERSION.to_string(),
    )?;
    let stored = StoredTable {
        table,
        uid: new_uid(),
    };
    let write = repo::put(
        catalog,
        kinds::TABLE,
        &catalog.table_id(&db, &name),
        Some(&catalog.database_id(&db)),
        &stored,
    )?;
    state.store().commit(vec![write]).await?;
    Ok(dto::CreateTableResponse {})
}

/// GetTable.
pub async fn get_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetTableRequest,
) -> AwsResult<dto::GetTableResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let stored = repo::table(state, catalog, &input.database_name, &input.name).await?;
    Ok(dto::GetTableResponse {
        table: Some(stored.table),
    })
}

/// The regular expression of GetTables' `Expression`: a `*` not preceded by `.` is Hive's
/// wildcard (`sales*` means `sales.*`); the whole name must match, ignoring case.
fn name_pattern(expression: &str) -> AwsResult<fancy_regex::Regex> {
    let mut pattern = String::with_capacity(expression.len() + 8);
    let mut previous: Option<char> = None;
    let mut escaped = false;
    for c in expression.chars() {
        if c == '*' && !escaped && previous != Some('.') {
            pattern.push_str(".*");
        } else {
            pattern.push(c);
        }
        escaped = c == '\\' && !escaped;
        previous = Some(c);
    }
    fancy_regex::Regex::new(&format!("(?i)^(?:{pattern})$")).map_err(|e| {
        invalid_input(format!(
            "Expression '{expression}' is not a valid regular expression: {e}"
        ))
    })
}

/// Whether `name` matches the compiled GetTables expression (a failed match counts as no match).
fn name_matches(pattern: &fancy_regex::Regex, name: &str) -> bool {
    pattern.is_match(name).unwrap_or(false)
}

/// GetTables: the tables of a database in creation order, filtered by `Expression`, paginated.
/// `AttributesToGet` returns only the name and the attributes asked for.
pub async fn get_tables(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetTablesRequest,
) -> AwsResult<dto::GetTablesResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let db = fold(&input.database_name);
    repo::database(state, catalog, &db).await?;
    let expression = input.expression.as_deref().unwrap_or_default();
    let scope = format!(
        "glue.tables:{}:{}:{db}:{expression}",
        catalog.account, catalog.region
    );
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let pattern = if expression.trim().is_empty() {
        None
    } else {
        Some(name_pattern(expression)?)
    };
    let limit = page_size(input.max_results, DEFAULT_PAGE);
    let attributes = input.attributes_to_get.as_deref();
    let mut items = Vec::new();
    let mut cursor = after;
    let chunk = (limit + 1).max(SCAN_CHUNK);
    'scan: loop {
        let batch = repo::tables(state, catalog, &db, cursor, Some(chunk)).await?;
        let exhausted = batch.len() < chunk;
        for (seq, stored) in batch {
            cursor = Some(seq);
            if pattern
                .as_ref()
                .is_some_and(|p| !name_matches(p, &stored.table.name))
            {
                continue;
            }
            let table = match attributes {
                None => stored.table,
                Some(wanted) if wanted.contains(&dto::TableAttributes::Default) => stored.table,
                Some(wanted) => dto::Table {
                    name: stored.table.name,
                    table_type: stored
                        .table
                        .table_type
                        .filter(|_| wanted.contains(&dto::TableAttributes::TableType)),
                    ..dto::Table::default()
                },
            };
            items.push((seq, table));
            if items.len() > limit {
                break 'scan;
            }
        }
        if exhausted {
            break;
        }
    }
    let (table_list, next_token) = pagination::page(&scope, items, limit);
    Ok(dto::GetTablesResponse {
        table_list: Some(table_list),
        next_token,
    })
}

/// UpdateTable: replaces the definition, bumps `VersionId`, archives the previous version unless
/// `SkipArchive`; a `VersionId` in the request must be the current one.
pub async fn update_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateTableRequest,
) -> AwsResult<dto::UpdateTableResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let Some(table_input) = input.table_input else {
        return Err(invalid_input(
            "TableInput is required (UpdateOpenTableFormatInput is not supported by the emulator)",
        ));
    };
    let db = fold(&input.database_name);
    let name = fold(input.name.as_deref().unwrap_or(&table_input.name));
    if fold(&table_input.name) != name {
        return Err(invalid_input(format!(
            "Table {name} cannot be renamed to {} (TableInput.Name must name the table being updated)",
            fold(&table_input.name)
        )));
    }
    let _guard = state.write_lock().await;
    let mut stored = repo::table(state, catalog, &db, &name).await?;
    let current = stored
        .table
        .version_id
        .clone()
        .unwrap_or_else(|| FIRST_VERSION.to_string());
    if let Some(expected) = input.version_id.as_deref() {
        if expected != current {
            return Err(concurrent_modification(format!(
                "Table {name} is at version {current}, not {expected}"
            )));
        }
    }
    let next = current.parse::<u64>().map_or(1, |v| v + 1).to_string();
    let table_id = catalog.table_id(&db, &name);
    let mut writes = Vec::new();
    if !input.skip_archive.unwrap_or(false) {
        writes.push(repo::put(
            catalog,
            kinds::TABLE_VERSION,
            &table_version_id(&table_id, &current),
            Some(&table_id),
            &stored.table,
        )?);
    }
    let created = (
        stored.table.create_time.unwrap_or_else(|| state.now()),
        stored
            .table
            .created_by
            .clone()
            .unwrap_or_else(|| caller_arn(catalog.account, ctx.access_key_id.as_deref())),
    );
    stored.table = table_from_input(&table_input, catalog, &db, created, state.now(), next)?;
    writes.push(repo::put(
        catalog,
        kinds::TABLE,
        &table_id,
        Some(&catalog.database_id(&db)),
        &stored,
    )?);
    state.store().commit(writes).await?;
    Ok(dto::UpdateTableResponse {})
}

/// DeleteTable, with its partitions and archived versions.
pub async fn delete_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteTableRequest,
) -> AwsResult<dto::DeleteTableResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let db = fold(&input.database_name);
    let name = fold(&input.name);
    let _guard = state.write_lock().await;
    repo::table(state, catalog, &db, &name).await?;
    let writes = repo::table_deletes(state, catalog, &db, &name).await?;
    state.store().commit(writes).await?;
    Ok(dto::DeleteTableResponse {})
}

/// BatchDeleteTable: deletes the tables that exist, reports the others in `Errors`
/// (`EntityNotFoundException`); a missing database fails the whole call.
pub async fn batch_delete_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::BatchDeleteTableRequest,
) -> AwsResult<dto::BatchDeleteTableResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let db = fold(&input.database_name);
    let _guard = state.write_lock().await;
    repo::database(state, catalog, &db).await?;
    let mut writes = Vec::new();
    let mut errors = Vec::new();
    let mut deleted = std::collections::HashSet::new();
    for requested in &input.tables_to_delete {
        let name = fold(requested);
        let exists = !deleted.contains(&name)
            && repo::find_table(state, catalog, &db, &name)
                .await?
                .is_some();
        if exists {
            writes.extend(repo::table_deletes(state, catalog, &db, &name).await?);
            deleted.insert(name);
        } else {
            let err = table_not_found(&name);
            errors.push(dto::TableError {
                table_name: Some(requested.clone()),
                error_detail: Some(dto::ErrorDetail {
                    error_code: Some(err.code),
                    error_message: Some(err.message),
                }),
            });
        }
    }
    if !writes.is_empty() {
        state.store().commit(writes).await?;
    }
    Ok(dto::BatchDeleteTableResponse {
        errors: Some(errors),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_tables_expressions() {
        let m = |e: &str, n: &str| name_matches(&name_pattern(e).unwrap(), n);
        assert!(m("sales*", "sales_2024"));
        assert!(m("sales*", "sales"));
        assert!(!m("sales*", "old_sales"));
        assert!(m("*", "anything"));
        assert!(m("sal.*", "sales"));
        assert!(m("orders|sales", "sales"));
        assert!(!m("orders|sales", "sales2"));
        assert!(m("SALES", "sales"));
        assert!(m("s\\*", "s*"));
        assert!(!m("s\\*", "sx"));
        assert!(name_pattern("(unclosed").is_err());
    }
}
