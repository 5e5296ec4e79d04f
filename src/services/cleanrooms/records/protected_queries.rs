//! Store access to protected queries (their receipts and lists: [`super::listing`]).

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::listing::{put_run, run_writes, ProtectedRun};
use crate::services::cleanrooms::records::Versioned;
use crate::state::AppState;
use crate::store::{Expect, Write};

/// What a protected query is called in errors.
pub const QUERY: &str = <StoredQuery as ProtectedRun>::NOUN;

/// Protected query `id` with the region it lives in; it must exist (a run or its settle asks
/// for its own query).
///
/// # Errors
/// `InternalServerException` when it vanished or is unreadable; store failures.
pub async fn load_query(state: &AppState, id: &str) -> AwsResult<(String, StoredQuery)> {
    records::load_existing(state, id, QUERY).await
}

/// As [`load_query`], with the revision read (for [`put_query_at`]).
///
/// # Errors
/// As [`load_query`].
pub async fn load_query_at(state: &AppState, id: &str) -> AwsResult<Versioned<StoredQuery>> {
    records::load_existing_versioned(state, id, QUERY).await
}

/// The store write of `q`.
pub fn put_query(region: &str, q: &StoredQuery) -> AwsResult<Write> {
    put_run(region, q)
}

/// The store writes of query `q` (with its unfinished mark) when it is new (StartProtectedQuery, a population).
pub fn put_new_query(region: &str, q: &StoredQuery) -> AwsResult<Vec<Write>> {
    run_writes(region, q, Expect::Absent)
}

/// The store writes of query `q` (and its unfinished mark) read as `read`, when nobody changed it since.
pub fn put_query_at(read: &Versioned<StoredQuery>, q: &StoredQuery) -> AwsResult<Vec<Write>> {
    run_writes(&read.region, q, read.expect())
}
