//! Durable metadata. Every resource is a [`Record`] (kind, id, owner, optional parent, JSON
//! body, revision) behind the [`MetadataStore`] trait; SQLite ([`sqlite::SqliteStore`]) is the
//! embedded backend. A committed write is on disk before the call returns, so a 2xx response
//! survives a kill -9. Services build typed repositories on top; a PostgreSQL backend only has
//! to implement the trait.
//!
//! # Revisions and preconditions
//!
//! Every stored record has a revision: 1 when it is first inserted, one more on every put that
//! replaces it (a record deleted and created again starts at 1). A [`Write::Put`] carries an
//! [`Expect`]: [`Expect::Any`] writes whatever is stored, [`Expect::Absent`] only creates, and
//! [`Expect::Revision`] only replaces the revision the writer read. [`MetadataStore::commit`]
//! applies every write of a batch or none of them: when one precondition does not hold it fails
//! with [`StoreError::Conflict`] (kind, id, what was expected and what was found) and nothing of
//! the batch is written. A writer that read a record, decided, and puts it back at the revision
//! it read therefore cannot overwrite a change it did not see — whichever process or replica
//! made it — which the process-local write lock alone cannot guarantee. Inside a request,
//! [`reads::ReadChecked`] makes every unconditional put of a record the request read such a
//! put, at the revision it read.

pub mod cache;
#[cfg(test)]
pub mod racing;
pub mod reads;
pub mod sqlite;

use std::sync::Arc;

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
    /// How many times it was put: 1 after the insert, +1 on every replacement; assigned by the
    /// store (a record not stored yet has 0).
    pub revision: i64,
    /// The resource itself.
    pub body: Value,
    /// The body decoded once, for a record shared through the cache ([`decode_shared`]).
    pub decoded: Decoded,
}

/// A record body decoded into its service type, kept with a shared record so that reading the
/// same cached record again does not decode it again. Not part of the record: a clone starts
/// empty and comparisons ignore it.
#[derive(Default)]
pub struct Decoded(std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>);

impl Clone for Decoded {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for Decoded {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decoded")
    }
}

impl Record {
    /// A record not stored yet (its sequence number and revision are assigned on insert).
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
            revision: 0,
            body,
            decoded: Decoded::default(),
        }
    }
}

/// A record of kind `thing` with body `{"n": n}`: the store's tests write these.
#[cfg(test)]
pub(crate) fn test_record(id: &str, n: i64) -> Record {
    Record::new(
        "thing",
        id,
        "us-east-1",
        "111111111111",
        None,
        serde_json::json!({ "n": n }),
    )
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

/// As [`decode`] for a shared (cached, immutable) record: the first read decodes the body and
/// keeps the value with the record; later reads of the same record clone it. Point reads on the
/// request path (a collaboration and the caller's member record on every Clean Rooms call) then
/// cost a clone instead of a decode.
pub fn decode_shared<T>(record: &Arc<Record>) -> Result<T, AwsError>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    if let Some(value) = record.decoded.0.get().and_then(|v| v.downcast_ref::<T>()) {
        return Ok(value.clone());
    }
    let value: T = decode(record)?;
    // A record decodes into one type; a second type simply decodes every time.
    let _ = record.decoded.0.set(Box::new(value.clone()));
    Ok(value)
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
    Ok(Write::put(Record::new(
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

/// What a [`Write::Put`] requires of the stored record it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expect {
    /// Nothing: insert or replace whatever is stored.
    #[default]
    Any,
    /// No record with this kind and id exists (a create whose id must be new).
    Absent,
    /// The record exists at exactly this revision (a read-modify-write).
    Revision(i64),
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("any revision"),
            Self::Absent => f.write_str("no record"),
            Self::Revision(n) => write!(f, "revision {n}"),
        }
    }
}

/// One change inside an atomic [`MetadataStore::commit`].
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert, or replace the body/parent of an existing record (keeping its sequence number
    /// and raising its revision), when `expect` holds.
    Put {
        /// The record to store (its `seq` and `revision` are the store's to assign).
        record: Record,
        /// What must be stored before.
        expect: Expect,
    },
    /// Remove a record if it exists.
    Delete {
        /// Kind of the record.
        kind: String,
        /// Id of the record.
        id: String,
    },
}

impl Write {
    /// The unconditional put of `record`.
    pub fn put(record: Record) -> Self {
        Self::put_if(record, Expect::Any)
    }

    /// The put of `record` when `expect` holds.
    pub fn put_if(record: Record, expect: Expect) -> Self {
        Self::Put { record, expect }
    }

    /// This write with precondition `expect` (a delete is unchanged: it has none).
    #[must_use]
    pub fn expecting(self, expect: Expect) -> Self {
        match self {
            Self::Put { record, .. } => Self::Put { record, expect },
            delete @ Self::Delete { .. } => delete,
        }
    }

    /// The kind and id of the record it changes.
    pub fn key(&self) -> (&str, &str) {
        match self {
            Self::Put { record, .. } => (&record.kind, &record.id),
            Self::Delete { kind, id } => (kind, id),
        }
    }
}

/// Store failures; they surface to callers as `InternalServerException` unless the caller
/// handles a [`StoreError::Conflict`].
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
    /// A precondition of a put did not hold; nothing of the batch was written.
    #[error("metadata store: conflict on {kind} {id}: expected {expected}, found {}", found.map_or_else(|| "no record".to_string(), |n| format!("revision {n}")))]
    Conflict {
        /// Kind of the record.
        kind: String,
        /// Id of the record.
        id: String,
        /// What the put required.
        expected: Expect,
        /// The revision stored, if any.
        found: Option<i64>,
    },
}

impl StoreError {
    /// Whether this is a failed precondition ([`StoreError::Conflict`]): another writer changed
    /// the record since it was read, and a fresh read may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

impl From<StoreError> for AwsError {
    /// A store failure as the caller sees it: a conflict in a request is its service's
    /// concurrent-modification error ([`reads::checked`]); anything else is internal.
    fn from(e: StoreError) -> Self {
        if let Some(answer) = e.is_conflict().then(|| reads::answer(&e)).flatten() {
            tracing::info!(error = %e, "write conflict answered to the client");
            return answer;
        }
        if e.is_conflict() {
            tracing::warn!(error = %e, "unhandled write conflict");
        } else {
            tracing::error!(error = %e, "store failure");
        }
        AwsError::internal(e.to_string())
    }
}

/// The metadata backend.
#[async_trait]
pub trait MetadataStore: Send + Sync + std::fmt::Debug {
    /// The record `kind`/`id`, if any. Shared: a cached record is handed out without a copy.
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Arc<Record>>, StoreError>;
    /// Records matching `query`, in sequence order.
    async fn query(&self, query: &Query) -> Result<Vec<Record>, StoreError>;
    /// Applies all writes atomically and durably, or none of them: the first put whose
    /// [`Expect`] does not hold fails the batch with [`StoreError::Conflict`].
    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Removes every record.
    async fn reset(&self) -> Result<(), StoreError>;
}
