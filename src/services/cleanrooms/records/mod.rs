//! Layer 2 of the Clean Rooms service: persistence. Typed access to the Clean Rooms records in
//! the metadata store (decode, the `Put` of a domain value, the children of a membership or
//! collaboration, one page of a list), one module per resource family, and the access checks
//! every operation shares ([`access`]). The layers above reach the store through here.

pub mod access;
pub mod analysis_templates;
pub mod associations;
pub mod budgets;
pub mod configured_tables;
pub mod intermediate_tables;
pub mod kinds;
pub mod memberships;
pub mod protected_queries;
pub mod tags;

use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::errors::bad_token;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{AwsError, AwsResult};
use crate::state::AppState;
use crate::store::{Query, Record, Write};
use crate::util::pagination;

/// Decodes a stored body.
pub fn decode<T: DeserializeOwned>(record: &Record) -> AwsResult<T> {
    serde_json::from_value(record.body.clone()).map_err(|e| {
        AwsError::internal(format!(
            "stored {} {} is unreadable: {e}",
            record.kind, record.id
        ))
    })
}

/// A `Put` of a domain value.
pub fn put<T: Serialize>(
    kind: &str,
    id: &str,
    region: &str,
    account: &str,
    parent: Option<&str>,
    value: &T,
) -> AwsResult<Write> {
    let body = serde_json::to_value(value)
        .map_err(|e| AwsError::internal(format!("cannot store {kind} {id}: {e}")))?;
    Ok(Write::Put(Record::new(
        kind, id, region, account, parent, body,
    )))
}

/// The records of `kind` under membership `membership_id` (after position `after`), decoded,
/// with their sequence numbers, in creation order.
pub async fn membership_children<T: DeserializeOwned>(
    state: &AppState,
    kind: &str,
    membership_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, T)>> {
    state
        .store()
        .query(&Query::kind(kind).parent(membership_id).after(after))
        .await?
        .iter()
        .map(|r| Ok((r.seq, decode(r)?)))
        .collect()
}

/// The records of `kind` under every membership of collaboration `collaboration_id`, decoded,
/// with their sequence numbers, in creation order.
pub async fn collaboration_children<T: DeserializeOwned>(
    state: &AppState,
    kind: &str,
    collaboration_id: &str,
) -> AwsResult<Vec<(i64, T)>> {
    let mut all = Vec::new();
    for m in memberships_of(state, collaboration_id).await? {
        all.extend(membership_children(state, kind, &m.id, None).await?);
    }
    all.sort_by_key(|(seq, _)| *seq);
    Ok(all)
}

/// One page of a membership-scoped list operation: the records of `kind` under membership
/// `membership_id` in creation order, resumed from `next_token` (tokens name `scope` and the
/// membership), each turned into its list entry by `entry` (`None` leaves a record out), with
/// the token of the next page.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures.
pub async fn membership_page<T: DeserializeOwned, S>(
    state: &AppState,
    kind: &str,
    scope: &str,
    membership_id: &str,
    next_token: Option<&str>,
    max_results: Option<i32>,
    entry: impl FnMut(T) -> Option<S>,
) -> AwsResult<(Vec<S>, Option<String>)> {
    let mut entry = entry;
    let scope = format!("{scope}:{membership_id}");
    let after = pagination::resume(&scope, next_token, bad_token)?;
    let items = membership_children::<T>(state, kind, membership_id, after)
        .await?
        .into_iter()
        .filter_map(|(seq, t)| entry(t).map(|s| (seq, s)))
        .collect();
    Ok(pagination::page(
        &scope,
        items,
        pagination::page_size(max_results),
    ))
}

/// Every membership of a collaboration, in creation order.
pub async fn memberships_of(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<Membership>> {
    state
        .store()
        .query(&Query::kind(kinds::MEMBERSHIP).parent(collaboration_id))
        .await?
        .iter()
        .map(decode)
        .collect()
}
