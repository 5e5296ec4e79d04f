//! Store access to protected queries (their receipts and lists: [`super::listing`]).

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::records;
use crate::state::AppState;

/// Protected query `id` with the region it lives in; it must exist (a run or its settle asks
/// for its own query).
///
/// # Errors
/// `InternalServerException` when it vanished or is unreadable; store failures.
pub async fn load_query(state: &AppState, id: &str) -> AwsResult<(String, StoredQuery)> {
    records::load_existing(state, id, "protected query").await
}

/// Every protected query, in every region.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn all_queries(state: &AppState) -> AwsResult<Vec<StoredQuery>> {
    records::all(state).await
}
