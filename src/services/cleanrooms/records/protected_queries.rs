//! Store access to protected queries.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::member;
use crate::services::cleanrooms::records::kinds;
use crate::services::cleanrooms::records::listing::{own_and_received_page, MergedList, Order};
use crate::services::cleanrooms::records::Versioned;
use crate::state::AppState;
use crate::store::{Expect, Write};

/// What a protected query is called in errors.
pub const QUERY: &str = "protected query";

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

/// Every protected query, in every region.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn all_queries(state: &AppState) -> AwsResult<Vec<StoredQuery>> {
    records::all(state).await
}

/// The store write of `q`.
pub fn put_query(region: &str, q: &StoredQuery) -> AwsResult<Write> {
    records::put(
        &q.query.id,
        region,
        &q.account_id,
        Some(&q.query.membership_id),
        q,
    )
}

/// The store write of query `q` when it is new (StartProtectedQuery, a population).
pub fn put_new_query(region: &str, q: &StoredQuery) -> AwsResult<Write> {
    Ok(put_query(region, q)?.expecting(Expect::Absent))
}

/// The store write of query `q` read as `read`, when nobody changed it since.
pub fn put_query_at(read: &Versioned<StoredQuery>, q: &StoredQuery) -> AwsResult<Write> {
    Ok(put_query(&read.region, q)?.expecting(read.expect()))
}

/// Store id of membership `membership_id`'s receipt of query `query_id`.
pub fn receipt_id(query_id: &str, membership_id: &str) -> String {
    format!("{query_id}/{membership_id}")
}

/// The receipt letting member `account` read query `query_id` through its own membership.
pub async fn receipt(
    state: &AppState,
    region: &str,
    collaboration_id: &str,
    account: &str,
    query_id: &str,
) -> AwsResult<Option<crate::store::Write>> {
    let Some(membership_id) = member(state, collaboration_id, account)
        .await?
        .and_then(|m| m.membership_id)
    else {
        return Ok(None);
    };
    Ok(Some(records::put_kind(
        kinds::PROTECTED_QUERY_RECEIPT,
        &receipt_id(query_id, &membership_id),
        region,
        account,
        Some(&membership_id),
        &query_id,
    )?))
}

/// Whether membership `membership_id` received the results of query `query_id`.
///
/// # Errors
/// Store failures.
pub async fn received(state: &AppState, query_id: &str, membership_id: &str) -> AwsResult<bool> {
    Ok(state
        .store()
        .get(
            kinds::PROTECTED_QUERY_RECEIPT,
            &receipt_id(query_id, membership_id),
        )
        .await?
        .is_some())
}

/// One page of ListProtectedQueries for membership `membership_id`: its own queries and the
/// ones whose results it received, in the order they were started (received), from
/// `next_token` on (tokens name `scope`), each turned into its entry by `entry` (`None` leaves
/// it out), with the token of the next page.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures and unreadable records.
pub async fn queries_page<S>(
    state: &AppState,
    scope: &str,
    membership_id: &str,
    (next_token, max_results): (Option<&str>, Option<i32>),
    entry: impl FnMut(StoredQuery) -> Option<S>,
) -> AwsResult<(Vec<S>, Option<String>)> {
    own_and_received_page(
        state,
        MergedList {
            scope,
            membership_id,
            receipt_kind: kinds::PROTECTED_QUERY_RECEIPT,
            order: Order::OldestFirst,
            next_token,
            max_results,
        },
        entry,
    )
    .await
}
