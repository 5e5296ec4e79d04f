//! Databases: CreateDatabase, GetDatabase, GetDatabases, UpdateDatabase, DeleteDatabase.
//!
//! Names are folded to lower case. Deleting a database deletes its tables, their partitions and
//! archived versions in the same commit (AWS cleans them up asynchronously; the emulator at once).

use cleanrooms_emulator_api::glue::dto;
use cleanrooms_emulator_api::RequestContext;

use super::{catalog, convert, page_size};
use crate::error::AwsResult;
use crate::services::glue::errors::{bad_token, database_exists, invalid_input};
use crate::services::glue::model::{fold, kinds, new_uid, StoredDatabase};
use crate::services::glue::repo;
use crate::state::AppState;
use crate::store::Query;
use crate::util::pagination;

/// Databases per page when `MaxResults` is absent.
const DEFAULT_PAGE: usize = 100;

/// What AWS grants on new tables when `CreateTableDefaultPermissions` is not given.
fn default_permissions() -> Vec<dto::PrincipalPermissions> {
    vec![dto::PrincipalPermissions {
        permissions: Some(vec![dto::Permission::All]),
        principal: Some(dto::DataLakePrincipal {
            data_lake_principal_identifier: Some("IAM_ALLOWED_PRINCIPALS".into()),
        }),
    }]
}

/// The stored form of a `DatabaseInput`, keeping what the server set (`CreateTime`, …).
fn database_from_input(
    input: &dto::DatabaseInput,
    name: String,
    account: &str,
    create_time: f64,
) -> AwsResult<dto::Database> {
    let mut database: dto::Database = convert(input)?;
    database.name = name;
    database.catalog_id = Some(account.to_string());
    database.create_time = Some(create_time);
    if database.create_table_default_permissions.is_none() {
        database.create_table_default_permissions = Some(default_permissions());
    }
    Ok(database)
}

/// CreateDatabase.
pub async fn create_database(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateDatabaseRequest,
) -> AwsResult<dto::CreateDatabaseResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let name = fold(&input.database_input.name);
    let _guard = state.write_lock().await;
    if repo::find_database(state, catalog, &name).await?.is_some() {
        return Err(database_exists());
    }
    let stored = StoredDatabase {
        database: database_from_input(
            &input.database_input,
            name.clone(),
            catalog.account,
            state.now(),
        )?,
        uid: new_uid(),
        tags: input.tags.unwrap_or_default(),
    };
    let write = repo::put(
        catalog,
        kinds::DATABASE,
        &catalog.database_id(&name),
        None,
        &stored,
    )?;
    state.store().commit(vec![write]).await?;
    Ok(dto::CreateDatabaseResponse {})
}

/// GetDatabase.
pub async fn get_database(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetDatabaseRequest,
) -> AwsResult<dto::GetDatabaseResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let stored = repo::database(state, catalog, &input.name).await?;
    Ok(dto::GetDatabaseResponse {
        database: Some(stored.database),
    })
}

/// GetDatabases: the caller's databases in creation order, paginated. `ResourceShareType`
/// `FOREIGN` and `FEDERATED` list nothing (the emulator has no shared or federated databases);
/// `AttributesToGet` returns only the name and the attributes asked for.
pub async fn get_databases(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetDatabasesRequest,
) -> AwsResult<dto::GetDatabasesResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let scope = format!("glue.databases:{}:{}", catalog.account, catalog.region);
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    if matches!(
        input.resource_share_type,
        Some(dto::ResourceShareType::Foreign | dto::ResourceShareType::Federated)
    ) {
        return Ok(dto::GetDatabasesResponse {
            database_list: Vec::new(),
            next_token: None,
        });
    }
    let limit = page_size(input.max_results, DEFAULT_PAGE);
    let records = state
        .store()
        .query(
            &Query::kind(kinds::DATABASE)
                .account(catalog.account)
                .region(catalog.region)
                .after(after)
                .limit(limit + 1),
        )
        .await?;
    let attributes = input.attributes_to_get.as_deref();
    let mut items = Vec::with_capacity(records.len());
    for record in &records {
        let stored: StoredDatabase = repo::decode(record)?;
        let database = match attributes {
            None => stored.database,
            Some(wanted) => dto::Database {
                name: stored.database.name,
                target_database: stored
                    .database
                    .target_database
                    .filter(|_| wanted.contains(&dto::DatabaseAttributes::TargetDatabase)),
                ..dto::Database::default()
            },
        };
        items.push((record.seq, database));
    }
    let (database_list, next_token) = pagination::page(&scope, items, limit);
    Ok(dto::GetDatabasesResponse {
        database_list,
        next_token,
    })
}

/// UpdateDatabase: replaces the definition (description, location, parameters, default
/// permissions, target); the name cannot change.
pub async fn update_database(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateDatabaseRequest,
) -> AwsResult<dto::UpdateDatabaseResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let name = fold(&input.name);
    if fold(&input.database_input.name) != name {
        return Err(invalid_input(format!(
            "Database {name} cannot be renamed to {} (DatabaseInput.Name must name the database being updated)",
            fold(&input.database_input.name)
        )));
    }
    let _guard = state.write_lock().await;
    let mut stored = repo::database(state, catalog, &name).await?;
    let create_time = stored.database.create_time.unwrap_or_else(|| state.now());
    stored.database = database_from_input(
        &input.database_input,
        name.clone(),
        catalog.account,
        create_time,
    )?;
    let write = repo::put(
        catalog,
        kinds::DATABASE,
        &catalog.database_id(&name),
        None,
        &stored,
    )?;
    state.store().commit(vec![write]).await?;
    Ok(dto::UpdateDatabaseResponse {})
}

/// DeleteDatabase, with its tables and their partitions and versions.
pub async fn delete_database(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteDatabaseRequest,
) -> AwsResult<dto::DeleteDatabaseResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let name = fold(&input.name);
    let _guard = state.write_lock().await;
    repo::database(state, catalog, &name).await?;
    let mut writes = Vec::new();
    for (_, table) in repo::tables(state, catalog, &name, None, None).await? {
        writes.extend(repo::table_deletes(state, catalog, &name, &table.table.name).await?);
    }
    writes.push(repo::delete(kinds::DATABASE, &catalog.database_id(&name)));
    state.store().commit(writes).await?;
    Ok(dto::DeleteDatabaseResponse {})
}
