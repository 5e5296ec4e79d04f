//! One module per Athena resource family; each public function implements one operation. The
//! helpers here are what the families share: paging lists that are not store queries, and
//! comparing an idempotent retry with the original request.

pub mod calculations;
pub mod sessions;
pub mod workgroups;

use serde::Serialize;

use crate::error::AwsResult;
use crate::services::athena::errors::{idempotency_mismatch, invalid_request};
use crate::services::athena::model::Idempotent;
use crate::util::pagination;

/// One page of `items` for list `scope`: `next_token` (an index token of this list) says where
/// to start, `max_results` how many to return (`default` when absent).
pub(crate) fn index_page<T>(
    scope: &str,
    items: Vec<T>,
    next_token: Option<&str>,
    max_results: Option<i32>,
    default: usize,
) -> AwsResult<(Vec<T>, Option<String>)> {
    let start = pagination::resume(scope, next_token, invalid_request)?.unwrap_or(0);
    let start = usize::try_from(start).unwrap_or(0);
    let limit = max_results.map_or(default, |n| usize::try_from(n).unwrap_or(1).max(1));
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let end = start + page.len();
    let next = (end < total).then(|| pagination::encode(scope, end as i64));
    Ok((page, next))
}

/// A request's identity for idempotency: its JSON without the `ClientRequestToken`.
pub(crate) fn fingerprint<T: Serialize>(request: &T) -> String {
    let mut value = serde_json::to_value(request).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("ClientRequestToken");
    }
    value.to_string()
}

/// The resource an earlier call with the same `ClientRequestToken` created, among `records`;
/// `InvalidRequestException` when that call had other parameters.
pub(crate) fn retry_of<T: Idempotent>(
    records: Vec<(i64, T)>,
    token: &str,
    fingerprint: &str,
) -> AwsResult<Option<T>> {
    match records
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r.client_request_token() == Some(token))
    {
        Some(earlier) if earlier.request_fingerprint() != fingerprint => {
            Err(idempotency_mismatch())
        }
        earlier => Ok(earlier),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_pages_follow_their_tokens() {
        let (first, next) = index_page("l", vec![1, 2, 3], None, Some(2), 10).unwrap();
        assert_eq!(first, vec![1, 2]);
        let (second, last) = index_page("l", vec![1, 2, 3], next.as_deref(), Some(2), 10).unwrap();
        assert_eq!((second, last), (vec![3], None));
        assert!(index_page("other", vec![1], next.as_deref(), None, 10).is_err());
    }

    #[test]
    fn fingerprints_ignore_the_token() {
        let a = serde_json::json!({"WorkGroup": "w", "ClientRequestToken": "t1"});
        let b = serde_json::json!({"WorkGroup": "w", "ClientRequestToken": "t2"});
        let c = serde_json::json!({"WorkGroup": "x", "ClientRequestToken": "t1"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}
