//! Collaborations and their member lists: CreateCollaboration, GetCollaboration,
//! ListCollaborations, UpdateCollaboration, DeleteCollaboration, ListMembers (DeleteMember lives
//! with the membership lifecycle in `memberships`).
//!
//! The creator is a member like the others: it starts `INVITED` with no membership and joins by
//! calling CreateMembership. Only members that are invited or active see a collaboration; only the
//! creator may update or delete it.

use crate::services::cleanrooms::domain::arn::collaboration_arn;
use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::domain::naming::{check_tag_keys, rename};
use crate::services::cleanrooms::errors::{
    access_denied, bad_token, check_room, invalid_configuration, quota_exceeded,
};
use crate::services::cleanrooms::ops::{account_list, Operation};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{collaboration, members, Standing};
use crate::services::cleanrooms::records::account_resources;
use crate::services::cleanrooms::records::collaborations::unlist_deleted_collaboration;
use crate::services::cleanrooms::records::memberships::put_member;
use crate::services::cleanrooms::records::tags::{delete_tags, put_tags};
use crate::services::cleanrooms::workflows::lifecycle;
use std::collections::HashSet;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::util::{ids, pagination};

/// Collaborations one account may have created and not deleted, per region.
const MAX_COLLABORATIONS_PER_ACCOUNT: usize = 10;
/// Members one collaboration may invite besides its creator.
const MAX_INVITED_MEMBERS: usize = 5;

/// One member as requested at creation (the creator included).
struct Requested<'a> {
    account_id: &'a str,
    display_name: &'a str,
    abilities: &'a [dto::MemberAbility],
    ml_abilities: Option<&'a dto::MLMemberAbilities>,
    payment: Option<&'a dto::PaymentConfiguration>,
}

/// Checks abilities and payment rules and returns each member's effective payment configuration.
fn effective_payments(requested: &[Requested<'_>]) -> AwsResult<Vec<dto::PaymentConfiguration>> {
    let holders = |ability: dto::MemberAbility| -> Vec<&str> {
        requested
            .iter()
            .filter(|r| r.abilities.contains(&ability))
            .map(|r| r.account_id)
            .collect()
    };
    let query_runners = holders(dto::MemberAbility::CanQuery);
    if query_runners.len() > 1 {
        return Err(invalid_configuration(format!(
            "Only one member can have the CAN_QUERY ability; found {}",
            query_runners.join(", ")
        )));
    }
    let job_runners = holders(dto::MemberAbility::CanRunJob);
    if job_runners.len() > 1 {
        return Err(invalid_configuration(format!(
            "Only one member can have the CAN_RUN_JOB ability; found {}",
            job_runners.join(", ")
        )));
    }
    if let (Some(job), query) = (job_runners.first(), query_runners.first()) {
        if query != Some(job) {
            return Err(invalid_configuration(format!(
                "The member with CAN_RUN_JOB ({job}) must also be the member with CAN_QUERY"
            )));
        }
    }
    let query_runner = query_runners.first().copied();
    let job_runner = job_runners.first().copied();
    let query_payer_named = requested
        .iter()
        .any(|r| r.payment.is_some_and(|p| p.query_compute.is_responsible));
    let job_payer_named = requested.iter().any(|r| {
        r.payment
            .and_then(|p| p.job_compute.as_ref())
            .is_some_and(|j| j.is_responsible)
    });
    let mut out = Vec::with_capacity(requested.len());
    for r in requested {
        let mut pc = r.payment.cloned().unwrap_or(dto::PaymentConfiguration {
            query_compute: dto::QueryComputePaymentConfig {
                is_responsible: false,
            },
            machine_learning: None,
            job_compute: None,
        });
        if Some(r.account_id) == query_runner && !query_payer_named {
            if r.payment.is_some() {
                return Err(invalid_configuration(format!(
                    "The member who can query ({}) must pay for query compute unless another member is responsible for it",
                    r.account_id
                )));
            }
            pc.query_compute.is_responsible = true;
        }
        if job_runner.is_some() && pc.job_compute.is_none() {
            let responsible = Some(r.account_id) == job_runner && !job_payer_named;
            pc.job_compute = Some(dto::JobComputePaymentConfig {
                is_responsible: responsible,
            });
        } else if Some(r.account_id) == job_runner && !job_payer_named {
            return Err(invalid_configuration(format!(
                "The member who can run jobs ({}) must pay for job compute unless another member is responsible for it",
                r.account_id
            )));
        }
        out.push(pc);
    }
    Ok(out)
}

/// CreateCollaboration.
impl Operation for dto::CreateCollaborationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let creator = ctx.account_id.as_str();
        let mut seen = HashSet::from([creator]);
        for m in &input.members {
            if m.account_id == creator {
                return Err(invalid_configuration(format!(
                    "The creator account {creator} cannot be listed in members; give its abilities in creatorMemberAbilities"
                )));
            }
            if !seen.insert(m.account_id.as_str()) {
                return Err(invalid_configuration(format!(
                    "Account {} is listed more than once in members",
                    m.account_id
                )));
            }
        }
        if input.members.len() > MAX_INVITED_MEMBERS {
            return Err(quota_exceeded(
                "Members per collaboration",
                MAX_INVITED_MEMBERS as f64,
            ));
        }
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        let mut requested = vec![Requested {
            account_id: creator,
            display_name: &input.creator_display_name,
            abilities: &input.creator_member_abilities,
            ml_abilities: input.creator_ml_member_abilities.as_ref(),
            payment: input.creator_payment_configuration.as_ref(),
        }];
        requested.extend(input.members.iter().map(|m| Requested {
            account_id: &m.account_id,
            display_name: &m.display_name,
            abilities: &m.member_abilities,
            ml_abilities: m.ml_member_abilities.as_ref(),
            payment: m.payment_configuration.as_ref(),
        }));
        let payments = effective_payments(&requested)?;

        let _guard = state.write_lock().await;
        let created = account_resources::<Collaboration>(state, &ctx.region, creator, None, None)
            .await?
            .into_iter()
            .filter(|(_, c)| !c.deleted)
            .count();
        check_room(
            "Collaborations per account",
            created,
            MAX_COLLABORATIONS_PER_ACCOUNT,
        )?;
        let now = state.now();
        let id = ids::new_id();
        let collaboration = Collaboration {
            arn: collaboration_arn(&ctx.region, creator, &id),
            id: id.clone(),
            name: input.name,
            description: input.description,
            creator_account_id: creator.to_string(),
            creator_display_name: input.creator_display_name.clone(),
            create_time: now,
            update_time: now,
            data_encryption_metadata: input.data_encryption_metadata,
            query_log_status: input.query_log_status,
            job_log_status: input
                .job_log_status
                .unwrap_or(dto::CollaborationJobLogStatus::Disabled),
            analytics_engine: input
                .analytics_engine
                .unwrap_or(dto::AnalyticsEngine::Spark),
            auto_approved_change_types: input.auto_approved_change_request_types,
            allowed_result_regions: input.allowed_result_regions,
            is_metrics_enabled: input.is_metrics_enabled,
            deleted: false,
        };
        let members: Vec<Member> = requested
            .iter()
            .zip(payments)
            .map(|(r, payment)| Member {
                collaboration_id: id.clone(),
                account_id: r.account_id.to_string(),
                display_name: r.display_name.to_string(),
                abilities: r.abilities.to_vec(),
                ml_abilities: r.ml_abilities.cloned(),
                status: dto::MemberStatus::Invited,
                membership_id: None,
                membership_arn: None,
                payment_configuration: payment,
                create_time: now,
                update_time: now,
            })
            .collect();
        let mut writes = vec![records::put(
            &id,
            &ctx.region,
            creator,
            None,
            &collaboration,
        )?];
        for m in &members {
            writes.push(put_member(&ctx.region, m)?);
        }
        if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
            writes.push(put_tags(&ctx.region, creator, &collaboration.arn, &t)?);
        }
        state.store().commit(writes).await?;
        Ok(collaboration.to_dto(&members[0]).into())
    }
}

/// GetCollaboration.
impl Operation for dto::GetCollaborationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, me) = Standing::Visible
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        Ok(c.to_dto(&me).into())
    }
}

/// ListCollaborations: the collaborations the caller created, joined or is invited to.
impl Operation for dto::ListCollaborationsInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let filter = input.member_status.map(|s| s.as_str());
        let scope = format!(
            "collaborations:{}:{}:{}",
            ctx.account_id,
            ctx.region,
            filter.unwrap_or("*")
        );
        let page = (input.next_token.as_deref(), input.max_results);
        let (collaboration_list, next_token) =
            account_list(state, ctx, &scope, page, |me: Member| async move {
                if !me.can_view() || filter.is_some_and(|f| f != me.status.as_str()) {
                    return Ok(None);
                }
                Ok(collaboration(state, &ctx.region, &me.collaboration_id)
                    .await
                    .ok()
                    .map(|c| c.to_summary(&me)))
            })
            .await?;
        Ok((collaboration_list, next_token).into())
    }
}

/// Collaboration `identifier` as the caller sees it, for an operation only its creator may
/// `action` ("update", "delete").
///
/// # Errors
/// As `Standing::Visible`; `AccessDeniedException` for any caller but the creator.
async fn created_collaboration(
    state: &AppState,
    ctx: &RequestContext,
    identifier: &str,
    action: &str,
) -> AwsResult<(Collaboration, Member)> {
    let (c, me) = Standing::Visible.check(state, ctx, identifier).await?;
    if c.creator_account_id != ctx.account_id {
        return Err(access_denied(format!(
            "Only the collaboration creator ({}) can {action} collaboration {}",
            c.creator_account_id, c.id
        )));
    }
    Ok((c, me))
}

/// UpdateCollaboration (creator only): name, description, analytics engine.
impl Operation for dto::UpdateCollaborationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (mut c, me) =
            created_collaboration(state, ctx, &input.collaboration_identifier, "update").await?;
        rename(
            &mut c.name,
            &mut c.description,
            input.name,
            input.description,
        );
        if let Some(engine) = input.analytics_engine {
            c.analytics_engine = engine;
        }
        c.update_time = state.now();
        let write = records::put(&c.id, &ctx.region, &c.creator_account_id, None, &c)?;
        state.store().commit(vec![write]).await?;
        Ok(c.to_dto(&me).into())
    }
}

/// DeleteCollaboration (creator only). The record is kept, marked deleted, for the memberships
/// that refer to it; the collaboration itself is gone for every caller. Every membership becomes
/// `COLLABORATION_DELETED` (still readable by its owner) and its associations leave.
impl Operation for dto::DeleteCollaborationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (mut c, _) =
            created_collaboration(state, ctx, &input.collaboration_identifier, "delete").await?;
        c.deleted = true;
        c.update_time = state.now();
        let mut writes = unlist_deleted_collaboration(&ctx.region, &c)?.to_vec();
        writes.push(delete_tags(&c.arn));
        let mut cascade =
            lifecycle::collaboration_deleted_writes(state, &ctx.region, &c.id, c.update_time)
                .await?;
        cascade.writes.extend(writes);
        cascade.commit(state).await?;
        Ok(dto::DeleteCollaborationOutput {})
    }
}

/// ListMembers: every member record, the creator first, for invited or active members.
impl Operation for dto::ListMembersInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Visible
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        let scope = format!("members:{}", c.id);
        let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
        let members = members(state, &c.id, after).await?;
        let items = members
            .into_iter()
            .map(|(seq, m)| (seq, m.to_summary()))
            .collect();
        let (member_summaries, next_token) =
            pagination::page(&scope, items, pagination::page_size(input.max_results));
        Ok((member_summaries, next_token).into())
    }
}
