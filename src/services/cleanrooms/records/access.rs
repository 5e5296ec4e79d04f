//! The access checks every operation shares: a collaboration the caller may see, its member
//! records, the caller's own membership behind a `/memberships/{id}` path, the runner of an
//! analysis (ACTIVE and CAN_QUERY), and the caller's own configured and intermediate tables.
//! Each check exists once; every operation uses it, so the same situation always gets the same
//! error.

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::domain::configured_table::ConfiguredTable;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::errors::{
    access_denied, conflict, not_found, not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::decode;
use crate::services::cleanrooms::records::intermediate_tables::intermediate_table;
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// The collaboration `id` in the caller's region, unless deleted.
pub async fn collaboration(state: &AppState, region: &str, id: &str) -> AwsResult<Collaboration> {
    let record = records::record::<Collaboration>(state, id).await?;
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
    match records::record::<Collaboration>(state, id).await? {
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
    let record =
        records::record::<Member>(state, &Member::record_id(collaboration_id, account)).await?;
    record.map(|r| decode(&r)).transpose()
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
            &records::query::<Member>()
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
    match records::record::<Membership>(state, id).await? {
        Some(r) if r.region == region && r.account == account => decode(&r),
        _ => Err(not_found(ResourceType::Membership, id)),
    }
}

/// The caller's membership `membership_id` and its child resource `id` of type `T` (a
/// configured table association, an analysis or privacy budget template, an ID namespace or
/// audience-model association, an ID mapping table); `missing()` is the error when no such
/// resource lives under that membership, whoever owns one with that id elsewhere.
///
/// # Errors
/// `ResourceNotFoundException(MEMBERSHIP)` for a membership that is not the caller's, else
/// `missing()`.
pub async fn own_membership_child<T: records::Resource>(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
    missing: impl FnOnce() -> AwsError,
) -> AwsResult<(Membership, T)> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    match records::record::<T>(state, id).await? {
        Some(r) if r.parent.as_deref() == Some(m.id.as_str()) => Ok((m, decode(&r)?)),
        _ => Err(missing()),
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

/// The runner's membership, collaboration and member record, checked: ACTIVE and CAN_QUERY.
pub async fn query_runner(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
) -> AwsResult<(Membership, Collaboration, Member)> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    require_active(&m)?;
    let (collaboration, member) = membership_context(state, &ctx.region, &m).await?;
    if !member.abilities.contains(&dto::MemberAbility::CanQuery) {
        return Err(access_denied(format!(
            "Account {} does not have the CAN_QUERY ability in collaboration {}",
            ctx.account_id, collaboration.id
        )));
    }
    Ok((m, collaboration, member))
}

fn table_not_found(id: &str) -> AwsError {
    not_found_msg(
        ResourceType::Membership,
        id,
        format!("Could not find intermediate table with id {id}"),
    )
}

/// The caller's membership `membership_id` and its intermediate table `id`. A table of another
/// membership of the same collaboration is `AccessDeniedException` (only the owner may act on
/// it); anything else is not found.
pub async fn owned_table(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<(Membership, IntermediateTable)> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    match intermediate_table(state, id).await? {
        Some(t) if t.membership_id == m.id => Ok((m, t)),
        Some(t) if t.collaboration_id == m.collaboration_id => Err(access_denied(format!(
            "Intermediate table {id} belongs to account {}; only its owner can access it",
            t.account_id
        ))),
        _ => Err(table_not_found(id)),
    }
}

/// The caller's configured table `id` in its region; others' tables are not found.
pub async fn own_table(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> AwsResult<ConfiguredTable> {
    match records::record::<ConfiguredTable>(state, id).await? {
        Some(r) if r.region == ctx.region && r.account == ctx.account_id => records::decode(&r),
        _ => Err(not_found(ResourceType::ConfiguredTable, id)),
    }
}
