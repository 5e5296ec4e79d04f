//! Opaque, stable pagination tokens: a token names the list it belongs to and the position
//! (store sequence number) after which the next page starts. A token from another list, or one
//! that does not decode, is rejected.

use base64::Engine as _;

use crate::error::AwsError;

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Default page size when `maxResults` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// The page size a list operation uses: `maxResults` when given (the model keeps it in 1..=100),
/// else [`DEFAULT_PAGE_SIZE`].
pub fn page_size(max_results: Option<i32>) -> usize {
    max_results.map_or(DEFAULT_PAGE_SIZE, |n| {
        usize::try_from(n).unwrap_or(1).max(1)
    })
}

/// Encodes a token for list `scope` continuing after sequence number `after`.
pub fn encode(scope: &str, after: i64) -> String {
    ENGINE.encode(format!("v1|{scope}|{after}"))
}

/// Decodes a token of list `scope`.
///
/// # Errors
/// `error` (the service's validation error) when the token is malformed or from another list.
pub fn decode(
    scope: &str,
    token: &str,
    error: impl Fn(String) -> AwsError,
) -> Result<i64, AwsError> {
    let invalid = || error(format!("The nextToken '{token}' is invalid or has expired"));
    let bytes = ENGINE.decode(token).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(s), Some(after)) if s == scope => after.parse().map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// Where a list resumes: `None` without a token, else the decoded position.
///
/// # Errors
/// `error` (the service's validation error) when the token is malformed or from another list.
pub fn resume(
    scope: &str,
    token: Option<&str>,
    error: impl Fn(String) -> AwsError,
) -> Result<Option<i64>, AwsError> {
    token.map(|t| decode(scope, t, error)).transpose()
}

/// One page of `items` (already ordered, each with its sequence number): at most `limit` items
/// and the token for the next page when more remain.
pub fn page<T>(scope: &str, mut items: Vec<(i64, T)>, limit: usize) -> (Vec<T>, Option<String>) {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more {
        items.last().map(|(seq, _)| encode(scope, *seq))
    } else {
        None
    };
    (items.into_iter().map(|(_, t)| t).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_foreign_lists() {
        let t = encode("collaborations:111111111111", 42);
        assert_eq!(
            decode("collaborations:111111111111", &t, AwsError::validation).unwrap(),
            42
        );
        assert!(decode("members:x", &t, AwsError::validation).is_err());
        assert!(decode(
            "collaborations:111111111111",
            "garbage!",
            AwsError::validation
        )
        .is_err());
    }

    #[test]
    fn pages_split_with_a_token() {
        let (items, next) = page("s", vec![(1, 'a'), (2, 'b'), (3, 'c')], 2);
        assert_eq!(items, vec!['a', 'b']);
        assert_eq!(
            decode("s", &next.unwrap(), AwsError::validation).unwrap(),
            2
        );
        let (_, next) = page("s", vec![(1, 'a')], 2);
        assert!(next.is_none());
    }
}
