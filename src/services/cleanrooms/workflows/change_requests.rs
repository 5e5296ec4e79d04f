//! CreateCollaborationChangeRequest and UpdateCollaborationChangeRequest, top-down: the
//! caller's standing in the collaboration, the change types each change amounts to
//! (`domain::change_request::classify`), the vote, and — on `COMMIT` — the changes applied to
//! the collaboration's member records and settings in the same commit as the request's new
//! status.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::change_request::{
    apply_member_change, auto_approved, classify, ChangeRequest,
};
use crate::services::cleanrooms::domain::collaboration::Member;
use crate::services::cleanrooms::errors::{
    conflict, invalid_configuration, quota_exceeded, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{members, Standing};
use crate::services::cleanrooms::records::change_requests::{change_request, put_change_request};
use crate::services::cleanrooms::records::memberships::put_member;
use crate::state::AppState;
use crate::util::ids;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// Members one collaboration may have besides its creator (as at CreateCollaboration).
const MAX_INVITED_MEMBERS: usize = 5;

/// Members that still count towards the collaboration's member limit.
fn counted(m: &Member) -> bool {
    m.status != dto::MemberStatus::Removed && m.status != dto::MemberStatus::Left
}

/// Checks that after applying `changes` to `members`, some member still pays for query compute.
fn check_payer_remains(changes: &[dto::ChangeInput], members: &[Member]) -> AwsResult<()> {
    let payer_after = |m: &Member| {
        changes
            .iter()
            .filter_map(|c| match &c.specification {
                dto::ChangeSpecification::Member(s) if s.account_id == m.account_id => {
                    s.payment_configuration.as_ref()
                }
                _ => None,
            })
            .next_back()
            .map_or(m.payment_configuration.query_compute.is_responsible, |p| {
                p.query_compute.is_responsible
            })
    };
    if members.iter().filter(|m| counted(m)).any(payer_after) {
        return Ok(());
    }
    Err(invalid_configuration(
        "The change would leave no member responsible for query compute costs",
    ))
}

/// CreateCollaborationChangeRequest: an `ACTIVE` member proposes changes; every other active
/// member votes unless every change type is auto-approved.
///
/// # Errors
/// `AccessDeniedException` for a caller that is not an active member; `ValidationException`
/// for changes that are not possible; `ServiceQuotaExceededException` when added members would
/// exceed the member limit; store failures.
pub async fn create(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateCollaborationChangeRequestInput,
) -> AwsResult<ChangeRequest> {
    let _guard = state.write_lock().await;
    let (c, me) = Standing::Active
        .check(state, ctx, &input.collaboration_identifier)
        .await?;
    let all: Vec<Member> = members(state, &c.id, None)
        .await?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let mut changes = Vec::with_capacity(input.changes.len());
    let mut added = Vec::new();
    for change in &input.changes {
        let types = classify(change, &c, &all)?;
        if let dto::ChangeSpecification::Member(m) = &change.specification {
            if types.contains(&dto::ChangeType::AddMember) {
                if added.contains(&m.account_id) {
                    return Err(invalid_configuration(format!(
                        "Account {} is added more than once in one change request",
                        m.account_id
                    )));
                }
                added.push(m.account_id.clone());
            }
        }
        changes.push(dto::Change {
            specification: change.specification.clone(),
            specification_type: change.specification_type,
            types,
        });
    }
    let invited = all
        .iter()
        .filter(|m| counted(m) && m.account_id != c.creator_account_id)
        .count();
    if invited + added.len() > MAX_INVITED_MEMBERS {
        return Err(quota_exceeded(
            "Members per collaboration",
            MAX_INVITED_MEMBERS as f64,
        ));
    }
    check_payer_remains(&input.changes, &all)?;
    let types: Vec<dto::ChangeType> = changes.iter().flat_map(|c| c.types.clone()).collect();
    let auto = auto_approved(&types, &c);
    let voters: Vec<String> = all
        .iter()
        .filter(|m| m.status == dto::MemberStatus::Active)
        .map(|m| m.account_id.clone())
        .collect();
    let request = ChangeRequest::new(
        ids::new_id(),
        c.id.clone(),
        &me.account_id,
        changes,
        &voters,
        auto,
        state.now(),
    );
    state
        .store()
        .commit(vec![put_change_request(&ctx.region, &request)?])
        .await?;
    Ok(request)
}

/// UpdateCollaborationChangeRequest: `APPROVE` / `DENY` by a voting member, `CANCEL` /
/// `COMMIT` by the requester; a commit applies every change.
///
/// # Errors
/// `AccessDeniedException` for a caller that is not a member or may not take `action`;
/// `ResourceNotFoundException` for an unknown request; `ConflictException` when the action is
/// not possible in the request's status or the collaboration changed so that a change no
/// longer applies; store failures.
pub async fn act(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateCollaborationChangeRequestInput,
) -> AwsResult<ChangeRequest> {
    let _guard = state.write_lock().await;
    let (mut c, _) = Standing::Visible
        .check(state, ctx, &input.collaboration_identifier)
        .await?;
    let mut request = change_request(state, &c.id, &input.change_request_identifier).await?;
    let now = state.now();
    let account = ctx.account_id.as_str();
    let mut writes = Vec::new();
    match input.action {
        dto::ChangeRequestAction::Approve => request.vote(account, true, now)?,
        dto::ChangeRequestAction::Deny => request.vote(account, false, now)?,
        dto::ChangeRequestAction::Cancel => request.cancel(account, now)?,
        dto::ChangeRequestAction::Commit => {
            request.commit(account, now)?;
            let all: Vec<Member> = members(state, &c.id, None)
                .await?
                .into_iter()
                .map(|(_, m)| m)
                .collect();
            let mut collaboration_changed = false;
            for change in &request.changes {
                match &change.specification {
                    dto::ChangeSpecification::Member(spec) => {
                        let existing = all.iter().find(|m| m.account_id == spec.account_id);
                        let adding = change.types.contains(&dto::ChangeType::AddMember);
                        if adding && existing.is_some_and(counted) {
                            return Err(conflict(
                                ResourceType::Collaboration,
                                &request.id,
                                ConflictReason::AlreadyExists,
                                format!(
                                    "Account {} became a member of collaboration {} after change request {} was made",
                                    spec.account_id, c.id, request.id
                                ),
                            ));
                        }
                        let existing = existing.filter(|m| !adding || counted(m));
                        let member = apply_member_change(spec, existing, &c.id, now);
                        writes.push(put_member(&ctx.region, &member)?);
                    }
                    dto::ChangeSpecification::Collaboration(spec) => {
                        c.auto_approved_change_types = spec.auto_approved_change_types.clone();
                        collaboration_changed = true;
                    }
                }
            }
            if collaboration_changed || !writes.is_empty() {
                c.update_time = now;
                writes.push(records::put(
                    &c.id,
                    &ctx.region,
                    &c.creator_account_id,
                    None,
                    &c,
                )?);
            }
        }
    }
    writes.push(put_change_request(&ctx.region, &request)?);
    state.store().commit(writes).await?;
    Ok(request)
}
