//! Typed access to the Athena records in the metadata store: workgroups (with the implicit
//! `primary`), sessions and calculations, each looked up within the caller's account and region
//! so another account's resources are unknown.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::errors::{calculation_not_found, session_not_found, work_group_not_found};
use super::model::{
    kinds, primary_work_group, work_group_id, StoredCalculation, StoredSession, StoredWorkGroup,
    PRIMARY,
};
use crate::error::{AwsError, AwsResult};
use crate::state::AppState;
use crate::store::decode;
use crate::store::{Query, Record, Write};

/// Who is asking: the account and region every lookup is scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// The caller's account.
    pub account: &'a str,
    /// The caller's region.
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

    fn owns(&self, record: &Record) -> bool {
        record.account == self.account && record.region == self.region
    }
}

/// A `Put` of `value` owned by `scope`.
fn put<T: Serialize>(
    scope: Scope<'_>,
    kind: &str,
    id: &str,
    parent: Option<&str>,
    value: &T,
) -> AwsResult<Write> {
    crate::store::put(kind, id, scope.region, scope.account, parent, value)
}

/// The record `kind`/`id` of the caller, decoded, or `not_found(id)`: another account's (or
/// region's) resource is unknown.
async fn owned<T: DeserializeOwned>(
    state: &AppState,
    scope: Scope<'_>,
    kind: &str,
    id: &str,
    not_found: fn(&str) -> AwsError,
) -> AwsResult<T> {
    match state.store().get(kind, id).await? {
        Some(record) if scope.owns(&record) => decode(&record),
        _ => Err(not_found(id)),
    }
}

/// The workgroup `name` (the implicit `primary` included), if it exists.
pub async fn find_work_group(
    state: &AppState,
    scope: Scope<'_>,
    name: &str,
) -> AwsResult<Option<StoredWorkGroup>> {
    let id = work_group_id(scope.account, scope.region, name);
    match state.store().get(kinds::WORK_GROUP, &id).await? {
        Some(record) => decode(&record).map(Some),
        None if name == PRIMARY => Ok(Some(primary_work_group(0.0))),
        None => Ok(None),
    }
}

/// The workgroup `name`, or `InvalidRequestException` "WorkGroup … is not found.".
pub async fn work_group(
    state: &AppState,
    scope: Scope<'_>,
    name: &str,
) -> AwsResult<StoredWorkGroup> {
    find_work_group(state, scope, name)
        .await?
        .ok_or_else(|| work_group_not_found(name))
}

/// Every workgroup of the caller, `primary` first, then in creation order.
pub async fn work_groups(state: &AppState, scope: Scope<'_>) -> AwsResult<Vec<StoredWorkGroup>> {
    let query = Query::kind(kinds::WORK_GROUP)
        .account(scope.account)
        .region(scope.region);
    let mut stored: Vec<StoredWorkGroup> = state
        .store()
        .query(&query)
        .await?
        .iter()
        .map(decode)
        .collect::<AwsResult<_>>()?;
    if !stored.iter().any(|w| w.work_group.name == PRIMARY) {
        stored.insert(0, primary_work_group(0.0));
    } else if let Some(i) = stored.iter().position(|w| w.work_group.name == PRIMARY) {
        let primary = stored.remove(i);
        stored.insert(0, primary);
    }
    Ok(stored)
}

/// The write that stores workgroup `wg`.
pub fn put_work_group(scope: Scope<'_>, wg: &StoredWorkGroup) -> AwsResult<Write> {
    let id = work_group_id(scope.account, scope.region, &wg.work_group.name);
    put(scope, kinds::WORK_GROUP, &id, None, wg)
}

/// The write that deletes workgroup `name`.
pub fn delete_work_group(scope: Scope<'_>, name: &str) -> Write {
    Write::Delete {
        kind: kinds::WORK_GROUP.into(),
        id: work_group_id(scope.account, scope.region, name),
    }
}

/// The session `id` of the caller, or the not-found error of spec A.4.
pub async fn session(state: &AppState, scope: Scope<'_>, id: &str) -> AwsResult<StoredSession> {
    owned(state, scope, kinds::SESSION, id, session_not_found).await
}

/// The session `id` whoever owns it (for the session's own workflow).
pub async fn session_by_id(
    state: &AppState,
    id: &str,
) -> AwsResult<Option<(std::sync::Arc<Record>, StoredSession)>> {
    match state.store().get(kinds::SESSION, id).await? {
        Some(record) => {
            let session = decode(&record)?;
            Ok(Some((record, session)))
        }
        None => Ok(None),
    }
}

/// The sessions of workgroup `name` with their sequence numbers, oldest first.
pub async fn sessions_of(
    state: &AppState,
    scope: Scope<'_>,
    work_group: &str,
) -> AwsResult<Vec<(i64, StoredSession)>> {
    let parent = work_group_id(scope.account, scope.region, work_group);
    let records = state
        .store()
        .query(&Query::kind(kinds::SESSION).parent(&parent))
        .await?;
    records.iter().map(|r| Ok((r.seq, decode(r)?))).collect()
}

/// Every session of every account (start-up recovery).
pub async fn all_sessions(state: &AppState) -> AwsResult<Vec<(Record, StoredSession)>> {
    let records = state.store().query(&Query::kind(kinds::SESSION)).await?;
    records
        .into_iter()
        .map(|r| {
            let s = decode(&r)?;
            Ok((r, s))
        })
        .collect()
}

/// The write that stores `session` (owned by `scope`).
pub fn put_session(scope: Scope<'_>, session: &StoredSession) -> AwsResult<Write> {
    let parent = work_group_id(scope.account, scope.region, &session.work_group);
    put(
        scope,
        kinds::SESSION,
        &session.session_id,
        Some(&parent),
        session,
    )
}

/// The calculation `id` of the caller, or the not-found error of spec A.4.
pub async fn calculation(
    state: &AppState,
    scope: Scope<'_>,
    id: &str,
) -> AwsResult<StoredCalculation> {
    owned(state, scope, kinds::CALCULATION, id, calculation_not_found).await
}

/// The calculations of session `id` with their sequence numbers, oldest first.
pub async fn calculations_of(
    state: &AppState,
    session_id: &str,
) -> AwsResult<Vec<(i64, StoredCalculation)>> {
    let records = state
        .store()
        .query(&Query::kind(kinds::CALCULATION).parent(session_id))
        .await?;
    records.iter().map(|r| Ok((r.seq, decode(r)?))).collect()
}

/// The write that stores `calculation` (owned by `scope`).
pub fn put_calculation(scope: Scope<'_>, calculation: &StoredCalculation) -> AwsResult<Write> {
    put(
        scope,
        kinds::CALCULATION,
        &calculation.calculation_id,
        Some(&calculation.session_id),
        calculation,
    )
}
