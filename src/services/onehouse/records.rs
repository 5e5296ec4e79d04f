//! What the Resources API keeps in the metadata store, one record per resource, scoped by
//! (account uid, project uid): requests (`onehouse.request`), lakes, databases, table settings,
//! table services, runs and savepoints. Record ids hold the whole path as a JSON array, so a
//! lookup is a point read. Everything about the tables of a database (settings, services, runs,
//! savepoints) has the database as its parent, so a listing is one parent query (in creation
//! order) and deleting a database finds everything it owns.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::model::{Database, Lake, Run, Savepoint, ServiceKind, TableService, TableSettings};
use crate::error::AwsResult;
use crate::store::{MetadataStore, Query, Record, Write};

/// Record kinds.
pub mod kinds {
    /// A submitted statement and its outcome (id = request id).
    pub const REQUEST: &str = "onehouse.request";
    /// A lake.
    pub const LAKE: &str = "onehouse.lake";
    /// A database (parent: its lake).
    pub const DATABASE: &str = "onehouse.database";
    /// A table's settings (services cluster; parent: its database).
    pub const TABLE: &str = "onehouse.table";
    /// A table service (parent: its database).
    pub const SERVICE: &str = "onehouse.service";
    /// A run (id = run id; parent: its database).
    pub const RUN: &str = "onehouse.run";
    /// A savepoint (id = savepoint id; parent: its database).
    pub const SAVEPOINT: &str = "onehouse.savepoint";

    /// The kinds whose records belong to a database.
    pub const OF_DATABASE: [&str; 4] = [TABLE, SERVICE, RUN, SAVEPOINT];
}

/// Who is calling: the Onehouse account and project (the scope of every resource), the AWS
/// account and region the services act in, and the user recorded on runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `x-onehouse-account-uid`.
    pub account_uid: String,
    /// `x-onehouse-project-uid`.
    pub project_uid: String,
    /// The AWS account: the account uid when it has 12 digits, else the default account.
    pub aws_account: String,
    /// `x-onehouse-region`, else the emulator's region.
    pub region: String,
    /// `x-onehouse-uuid` (or `x-onehouse-user-uid`), recorded as `createdBy`.
    pub user: String,
}

fn id_of(parts: &[&str]) -> String {
    serde_json::to_string(parts).unwrap_or_default()
}

impl Scope {
    /// Record id of lake `name`.
    pub fn lake_id(&self, name: &str) -> String {
        id_of(&[&self.account_uid, &self.project_uid, "lake", name])
    }

    /// Record id of database `name` (database names are unique across lakes).
    pub fn database_id(&self, name: &str) -> String {
        id_of(&[&self.account_uid, &self.project_uid, "database", name])
    }

    /// Record id of the settings of table `lake.db.table`.
    pub fn table_id(&self, lake: &str, db: &str, table: &str) -> String {
        id_of(&[
            &self.account_uid,
            &self.project_uid,
            "table",
            lake,
            db,
            table,
        ])
    }

    /// Record id of `service` on `lake.db.table`.
    pub fn service_id(&self, lake: &str, db: &str, table: &str, service: ServiceKind) -> String {
        id_of(&[
            &self.account_uid,
            &self.project_uid,
            "service",
            lake,
            db,
            table,
            service.as_str(),
        ])
    }

    /// The parent id under which every lake of this scope is listed.
    pub fn root_id(&self) -> String {
        id_of(&[&self.account_uid, &self.project_uid])
    }

    /// A `Put` of `value` as record `kind`/`id` in this scope.
    pub fn put<T: Serialize>(
        &self,
        kind: &str,
        id: &str,
        parent: Option<&str>,
        value: &T,
    ) -> AwsResult<Write> {
        put_as(&self.region, &self.aws_account, kind, id, parent, value)
    }
}

/// A `Put` of `value` as record `kind`/`id` of `account` in `region`.
pub fn put_as<T: Serialize>(
    region: &str,
    account: &str,
    kind: &str,
    id: &str,
    parent: Option<&str>,
    value: &T,
) -> AwsResult<Write> {
    crate::store::put(kind, id, region, account, parent, value)
}

/// A `Delete` of one record.
pub fn delete(kind: &str, id: &str) -> Write {
    Write::Delete {
        kind: kind.to_string(),
        id: id.to_string(),
    }
}

pub use crate::store::decode;

/// Record `kind`/`id`, decoded, if it exists.
pub async fn get<T: DeserializeOwned>(
    store: &dyn MetadataStore,
    kind: &str,
    id: &str,
) -> AwsResult<Option<T>> {
    store.get(kind, id).await?.map(|r| decode(&r)).transpose()
}

/// Children of `parent` of `kind`, decoded, in creation order.
pub async fn children<T: DeserializeOwned>(
    store: &dyn MetadataStore,
    kind: &str,
    parent: &str,
) -> AwsResult<Vec<T>> {
    store
        .query(&Query::kind(kind).parent(parent))
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Every record of `kind` in every scope, decoded with its id (for recovery and the scheduler).
pub async fn all<T: DeserializeOwned>(
    store: &dyn MetadataStore,
    kind: &str,
) -> AwsResult<Vec<(Record, T)>> {
    store
        .query(&Query::kind(kind))
        .await?
        .into_iter()
        .map(|r| {
            let value = decode(&r)?;
            Ok((r, value))
        })
        .collect()
}

/// The lakes of a scope, in creation order.
pub async fn lakes(store: &dyn MetadataStore, scope: &Scope) -> AwsResult<Vec<Lake>> {
    children(store, kinds::LAKE, &scope.root_id()).await
}

/// Lake `name`.
pub async fn lake(store: &dyn MetadataStore, scope: &Scope, name: &str) -> AwsResult<Option<Lake>> {
    get(store, kinds::LAKE, &scope.lake_id(name)).await
}

/// Database `name` (in whichever lake holds it).
pub async fn database(
    store: &dyn MetadataStore,
    scope: &Scope,
    name: &str,
) -> AwsResult<Option<Database>> {
    get(store, kinds::DATABASE, &scope.database_id(name)).await
}

/// The databases of lake `lake`, in creation order.
pub async fn databases(
    store: &dyn MetadataStore,
    scope: &Scope,
    lake: &str,
) -> AwsResult<Vec<Database>> {
    children(store, kinds::DATABASE, &scope.lake_id(lake)).await
}

/// The settings of a table, if any were set.
pub async fn table_settings(
    store: &dyn MetadataStore,
    scope: &Scope,
    lake: &str,
    db: &str,
    table: &str,
) -> AwsResult<Option<TableSettings>> {
    get(store, kinds::TABLE, &scope.table_id(lake, db, table)).await
}

/// The services of table `db.table`, in creation order.
pub async fn services(
    store: &dyn MetadataStore,
    scope: &Scope,
    db: &str,
    table: &str,
) -> AwsResult<Vec<TableService>> {
    let all: Vec<TableService> = children(store, kinds::SERVICE, &scope.database_id(db)).await?;
    Ok(all.into_iter().filter(|s| s.table == table).collect())
}

/// The runs of `service` on table `db.table`, newest first.
pub async fn runs(
    store: &dyn MetadataStore,
    scope: &Scope,
    db: &str,
    table: &str,
    service: ServiceKind,
) -> AwsResult<Vec<Run>> {
    let all: Vec<Run> = children(store, kinds::RUN, &scope.database_id(db)).await?;
    let mut runs: Vec<Run> = all
        .into_iter()
        .filter(|r| r.table == table && r.service == service)
        .collect();
    runs.reverse();
    Ok(runs)
}

/// The savepoints of table `db.table`, oldest first.
pub async fn savepoints(
    store: &dyn MetadataStore,
    scope: &Scope,
    db: &str,
    table: &str,
) -> AwsResult<Vec<Savepoint>> {
    let all: Vec<Savepoint> = children(store, kinds::SAVEPOINT, &scope.database_id(db)).await?;
    Ok(all.into_iter().filter(|s| s.table == table).collect())
}

/// The writes deleting everything database `db` owns (settings, services, runs, savepoints)
/// and its own record.
pub async fn database_deletes(
    store: &dyn MetadataStore,
    scope: &Scope,
    db: &str,
) -> AwsResult<Vec<Write>> {
    let parent = scope.database_id(db);
    let mut writes = Vec::new();
    for kind in kinds::OF_DATABASE {
        for record in store.query(&Query::kind(kind).parent(&parent)).await? {
            writes.push(delete(kind, &record.id));
        }
    }
    writes.push(delete(kinds::DATABASE, &parent));
    Ok(writes)
}

/// A request record's body.
pub fn request_body(
    scope: &Scope,
    statement: &str,
    api_status: &str,
    api_response: Value,
    now: f64,
) -> Value {
    serde_json::json!({
        "accountUid": scope.account_uid,
        "projectUid": scope.project_uid,
        "statement": statement,
        "apiStatus": api_status,
        "apiResponse": api_response,
        "createdAt": now,
    })
}
