//! Typed access to the Clean Rooms records in the metadata store, and the lookups every
//! operation shares (a collaboration the caller may see, its member records, the caller's own
//! membership behind a `/memberships/{id}` path).

use cleanrooms_emulator_api::cleanrooms::dto;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::errors::{access_denied, bad_token, conflict, not_found, ConflictReason, ResourceType};
use super::model::{kinds, Collaboration, Member, Membership};
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

/// The collaboration `id` in the caller's region, unless deleted.
pub async fn collaboration(state: &AppState, region: &str, id: &str) -> AwsResult<Collaboration> {
    let record = state.store().get(kinds::COLLABORATION, id).await?;
    match record {
        Some(r) if r.region == region => {
            let c: Collaboration = decode(&r)?;
            if c.deleted {
                Err(not_found(ResourceType::Collaboration, id))
            } else {
                Ok(c)
            }
        }
        _ => Err(not_found(ResourceType::Collaboration, id)),
    }
}

/// The collaboration record `id` in `region`, deleted or not (memberships outlive their
/// collaboration).
pub async fn collaboration_record(
    state: &AppState,
    region: &str,
    id: &str,
) -> AwsResult<Option<Collaboration>> {
    match state.store().get(kinds::COLLABORATION, id).await? {
        Some(r) if r.region == region => Ok(Some(decode(&r)?)),
        _ => Ok(None),
    }
}

/// The member record of `account` in collaboration `collaboration_id`, if any.
pub async fn member(
    state: &AppState,
    collaboration_id: &str,
    account: &str,
) -> AwsResult<Option<Member>> {
    let record = state
        .store()
        .get(kinds::MEMBER, &Member::record_id(collaboration_id, account))
        .await?;
    record.as_ref().map(decode).transpose()
}

/// All member records of a collaboration with their sequence numbers, in invitation order.
pub async fn members(
    state: &AppState,
    collaboration_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, Member)>> {
    let records = state
        .store()
        .query(
            &Query::kind(kinds::MEMBER)
                .parent(collaboration_id)
                .after(after),
        )
        .await?;
    records.iter().map(|r| Ok((r.seq, decode(r)?))).collect()
}

/// The collaboration and the caller's member record, when the caller is an invited or active
/// member; otherwise `AccessDeniedException` (or not-found for unknown/deleted collaborations).
pub async fn visible_collaboration(
    state: &AppState,
    region: &str,
    account: &str,
    id: &str,
) -> AwsResult<(Collaboration, Member)> {
    let collaboration = collaboration(state, region, id).await?;
    match member(state, id, account).await? {
        Some(m) if m.can_view() => Ok((collaboration, m)),
        _ => Err(access_denied(format!(
            "Account {account} is not a member of collaboration {id}"
        ))),
    }
}

/// The collaboration and the caller's member record when the caller is an `ACTIVE` member;
/// otherwise `AccessDeniedException` (or not-found for unknown/deleted collaborations).
pub async fn active_collaboration(
    state: &AppState,
    region: &str,
    account: &str,
    id: &str,
) -> AwsResult<(Collaboration, Member)> {
    let collaboration = collaboration(state, region, id).await?;
    match member(state, id, account).await? {
        Some(m) if m.status == dto::MemberStatus::Active => Ok((collaboration, m)),
        _ => Err(access_denied(format!(
            "Account {account} is not an active member of collaboration {id}"
        ))),
    }
}

/// The membership `id` when it exists in `region` and belongs to `account`; otherwise
/// `ResourceNotFoundException(MEMBERSHIP)` (another account's membership is not revealed).
pub async fn own_membership(
    state: &AppState,
    region: &str,
    account: &str,
    id: &str,
) -> AwsResult<Membership> {
    match state.store().get(kinds::MEMBERSHIP, id).await? {
        Some(r) if r.region == region && r.account == account => decode(&r),
        _ => Err(not_found(ResourceType::Membership, id)),
    }
}

/// `ConflictException(INVALID_STATE)` unless the membership is `ACTIVE`.
pub fn require_active(membership: &Membership) -> AwsResult<()> {
    if membership.is_active() {
        Ok(())
    } else {
        Err(conflict(
            ResourceType::Membership,
            &membership.id,
            ConflictReason::InvalidState,
            format!(
                "Membership {} is {}; only an ACTIVE membership can be changed",
                membership.id,
                membership.status.as_str()
            ),
        ))
    }
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

/// The collaboration and member record a membership is rendered with.
pub async fn membership_context(
    state: &AppState,
    region: &str,
    membership: &Membership,
) -> AwsResult<(Collaboration, Member)> {
    let collaboration = collaboration_record(state, region, &membership.collaboration_id)
        .await?
        .ok_or_else(|| {
            AwsError::internal(format!(
                "membership {} refers to missing collaboration {}",
                membership.id, membership.collaboration_id
            ))
        })?;
    let member = member(state, &membership.collaboration_id, &membership.account_id)
        .await?
        .ok_or_else(|| {
            AwsError::internal(format!(
                "membership {} has no member record in collaboration {}",
                membership.id, membership.collaboration_id
            ))
        })?;
    Ok((collaboration, member))
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
