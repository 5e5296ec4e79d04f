//! Typed access to the Entity Resolution records in the metadata store, scoped to one account
//! and region (another account's resources are unknown to the caller), plus the look-ups by ARN
//! the facade and cross-resource checks use.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::model::record_id;
use crate::error::AwsResult;
use crate::state::AppState;
use crate::store::{decode, Query, Write};

/// Who is asking: the account and region every lookup is scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// The account.
    pub account: &'a str,
    /// The region.
    pub region: &'a str,
}

impl<'a> Scope<'a> {
    /// The scope of a request.
    pub fn of(ctx: &'a cleanrooms_emulator_api::RequestContext) -> Self {
        Self {
            account: &ctx.account_id,
            region: &ctx.region,
        }
    }
}

/// The resource `name` of kind `kind` in `scope`, if it exists.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn find<T: DeserializeOwned>(
    state: &AppState,
    scope: Scope<'_>,
    kind: &str,
    name: &str,
) -> AwsResult<Option<T>> {
    let id = record_id(scope.region, scope.account, name);
    match state.store().get(kind, &id).await? {
        Some(record) => decode(&record).map(Some),
        None => Ok(None),
    }
}

/// The `Put` of resource `name` of kind `kind` in `scope`.
///
/// # Errors
/// When the value cannot be encoded.
pub fn put<T: Serialize>(scope: Scope<'_>, kind: &str, name: &str, value: &T) -> AwsResult<Write> {
    crate::store::put(
        kind,
        &record_id(scope.region, scope.account, name),
        scope.region,
        scope.account,
        None,
        value,
    )
}

/// The `Delete` of resource `name` of kind `kind` in `scope`.
pub fn delete(scope: Scope<'_>, kind: &str, name: &str) -> Write {
    Write::Delete {
        kind: kind.to_string(),
        id: record_id(scope.region, scope.account, name),
    }
}

/// Every resource of kind `kind` in `scope` after sequence number `after`, with sequence
/// numbers, in creation order.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn list<T: DeserializeOwned>(
    state: &AppState,
    scope: Scope<'_>,
    kind: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, T)>> {
    state
        .store()
        .query(
            &Query::kind(kind)
                .region(scope.region)
                .account(scope.account)
                .after(after),
        )
        .await?
        .iter()
        .map(|r| Ok((r.seq, decode(r)?)))
        .collect()
}
