//! Durable metadata. Every resource is a [`Record`] (kind, id, owner, optional parent, JSON
//! body) behind the [`MetadataStore`] trait; SQLite ([`sqlite::SqliteStore`]) is the embedded
//! backend. A committed write is on disk before the call returns, so a 2xx response survives a
//! kill -9. Services build typed repositories on top; a PostgreSQL backend only has to implement
//! the trait.

pub mod cache;
pub mod sqlite;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::AwsError;

/// A stored resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Resource kind (`collaboration`, `member`, …).
    pub kind: String,
    /// Id, unique within the kind.
    pub id: String,
    /// Region the resource lives in.
    pub region: String,
    /// Account that owns it.
    pub account: String,
    /// Parent id (e.g. the collaboration of a member record).
    pub parent: Option<String>,
    /// Position in creation order; assigned by the store on first insert.
    pub seq: i64,
    /// The resource itself.
    pub body: Value,
}

impl Record {
    /// A record not stored yet (its sequence number is assigned on insert).
    pub fn new(
        kind: &str,
        id: &str,
        region: &str,
        account: &str,
        parent: Option<&str>,
        body: Value,
    ) -> Self {
        Self {
            kind: kind.to_string(),
            id: id.to_string(),
            region: region.to_string(),
            account: account.to_string(),
            parent: parent.map(str::to_string),
            seq: 0,
            body,
        }
    }
}

/// Decodes a stored body into the service's type; an unreadable body is an internal error
/// naming the record.
pub fn decode<T: serde::de::DeserializeOwned>(record: &Record) -> Result<T, AwsError> {
    // Deserialized from the borrowed tree: no copy of the body first.
    T::deserialize(&record.body).map_err(|e| {
        AwsError::internal(format!(
            "stored {} {} is unreadable: {e}",
            record.kind, record.id
        ))
    })
}

/// The `Put` of `value` as record `kind`/`id` of `account` in `region`, under `parent`.
pub fn put<T: serde::Serialize>(
    kind: &str,
    id: &str,
    region: &str,
    account: &str,
    parent: Option<&str>,
    value: &T,
) -> Result<Write, AwsError> {
    let body = serde_json::to_value(value)
        .map_err(|e| AwsError::internal(format!("cannot store {kind} {id}: {e}")))?;
    Ok(Write::Put(Record::new(
        kind, id, region, account, parent, body,
    )))
}

/// Which records a [`MetadataStore::query`] returns, in sequence order (or in id order with
/// [`Query::ids_from`]).
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Kind (required).
    pub kind: String,
    /// Only this region.
    pub region: Option<String>,
    /// Only this owning account.
    pub account: Option<String>,
    /// Only children of this parent.
    pub parent: Option<String>,
    /// Only records after this sequence number.
    pub after: Option<i64>,
    /// Only records before this sequence number.
    pub before: Option<i64>,
    /// In descending sequence order (the newest first) instead of ascending.
    pub newest_first: bool,
    /// At most this many records.
    pub limit: Option<usize>,
    /// Only ids from this one on (inclusive or not), in id order: a range read that costs the
    /// page, not the collection (S3 listings by key).
    pub ids_from: Option<(String, bool)>,
    /// Only ids before this one (exclusive), with [`Query::ids_from`]: where the range ends.
    pub ids_before: Option<String>,
}

impl Query {
    /// All records of `kind`.
    pub fn kind(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            ..Self::default()
        }
    }

    /// Restricts to one region.
    #[must_use]
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_string());
        self
    }

    /// Restricts to one owning account.
    #[must_use]
    pub fn account(mut self, account: &str) -> Self {
        self.account = Some(account.to_string());
        self
    }

    /// Restricts to the children of `parent`.
    #[must_use]
    pub fn parent(mut self, parent: &str) -> Self {
        self.parent = Some(parent.to_string());
        self
    }

    /// Starts after sequence number `after`.
    #[must_use]
    pub fn after(mut self, after: Option<i64>) -> Self {
        self.after = after;
        self
    }

    /// Ends before sequence number `before`.
    #[must_use]
    pub fn before(mut self, before: Option<i64>) -> Self {
        self.before = before;
        self
    }

    /// Returns the records newest first (descending sequence order); with [`Query::limit`]
    /// that is the newest ones.
    #[must_use]
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// Returns the records whose id is after `id` (or equal to it, with `inclusive`), in id
    /// order (byte order of the UTF-8 ids) instead of sequence order.
    #[must_use]
    pub fn ids_from(mut self, id: &str, inclusive: bool) -> Self {
        self.ids_from = Some((id.to_string(), inclusive));
        self
    }

    /// Ends an [`Query::ids_from`] range before `id`.
    #[must_use]
    pub fn ids_before(mut self, id: &str) -> Self {
        self.ids_before = Some(id.to_string());
        self
    }

    /// Returns at most `limit` records.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// One change inside an atomic [`MetadataStore::commit`].
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert, or replace the body/parent of an existing record (keeping its sequence number).
    Put(Record),
    /// Remove a record if it exists.
    Delete {
        /// Kind of the record.
        kind: String,
        /// Id of the record.
        id: String,
    },
}

/// Store failures; they surface to callers as `InternalServerException`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("metadata store: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("metadata store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored body is not valid JSON.
    #[error("metadata store: corrupt record {0}")]
    Corrupt(String),
}

impl From<StoreError> for AwsError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        AwsError::internal(e.to_string())
    }
}

/// The metadata backend.
#[async_trait]
pub trait MetadataStore: Send + Sync + std::fmt::Debug {
    /// The record `kind`/`id`, if any.
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Record>, StoreError>;
    /// Records matching `query`, in sequence order.
    async fn query(&self, query: &Query) -> Result<Vec<Record>, StoreError>;
    /// Applies all writes atomically and durably.
    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Removes every record.
    async fn reset(&self) -> Result<(), StoreError>;
}
