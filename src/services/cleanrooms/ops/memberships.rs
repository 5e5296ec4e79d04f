//! Memberships and the member lifecycle: CreateMembership, GetMembership, ListMemberships,
//! UpdateMembership, DeleteMembership (a member leaves) and DeleteMember (the creator removes a
//! member).
//!
//! An invited account (the creator included) joins once with CreateMembership; its member record
//! becomes `ACTIVE` and carries the membership id. Leaving deletes the membership and leaves the
//! member `LEFT`; removal by the creator keeps the membership as `REMOVED`; deleting the
//! collaboration turns every membership `COLLABORATION_DELETED`. `LEFT` and `REMOVED` accounts
//! cannot join again. The membership's settings must agree with what the creator configured:
//! payment responsibilities are echoed, logging and metrics only where the collaboration enables
//! them, result defaults only for members that can receive results.

use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::arn::membership_arn;
use crate::services::cleanrooms::domain::audience_model_association::AudienceModelAssociation;
use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    access_denied, check_room, conflict, invalid_configuration, not_found_msg, ConflictReason,
    ResourceType,
};
use crate::services::cleanrooms::ops::{account_list, Operation};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    callers_membership, collaboration, member, membership_context, require_active, Standing,
};
use crate::services::cleanrooms::records::account_resources;
use crate::services::cleanrooms::records::memberships::remaining_subresources;
use crate::services::cleanrooms::records::memberships::{put_member, put_membership};
use crate::services::cleanrooms::records::tags::{delete_tags, put_tags};
use crate::services::cleanrooms::workflows::cascade::{
    associations_removal_writes, budget_templates_removal_writes, children_removal_writes,
    id_mapping_removal, Cascade,
};
use crate::services::cleanrooms::workflows::lifecycle;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::util::ids;

/// Active memberships one account may hold per region.
const MAX_MEMBERSHIPS_PER_ACCOUNT: usize = 100;

/// The payment responsibilities the creator assigned to `member`, in membership form.
fn assigned_payment(member: &Member) -> dto::MembershipPaymentConfiguration {
    let pc = &member.payment_configuration;
    dto::MembershipPaymentConfiguration {
        query_compute: dto::MembershipQueryComputePaymentConfig {
            is_responsible: pc.query_compute.is_responsible,
        },
        job_compute: pc
            .job_compute
            .as_ref()
            .map(|j| dto::MembershipJobComputePaymentConfig {
                is_responsible: j.is_responsible,
            }),
        machine_learning: pc
            .machine_learning
            .as_ref()
            .map(|ml| dto::MembershipMLPaymentConfig {
                model_training: ml.model_training.as_ref().map(|c| {
                    dto::MembershipModelTrainingPaymentConfig {
                        is_responsible: c.is_responsible,
                    }
                }),
                model_inference: ml.model_inference.as_ref().map(|c| {
                    dto::MembershipModelInferencePaymentConfig {
                        is_responsible: c.is_responsible,
                    }
                }),
                synthetic_data_generation: ml.synthetic_data_generation.as_ref().map(|c| {
                    dto::MembershipSyntheticDataGenerationPaymentConfig {
                        is_responsible: c.is_responsible,
                    }
                }),
            }),
    }
}

/// Checks that a stated responsibility (`given`) matches the creator's assignment.
fn echo(field: &str, given: Option<bool>, assigned: bool, what: &str) -> AwsResult<()> {
    match given {
        Some(g) if g != assigned => Err(invalid_configuration(if assigned {
            format!(
                "{field} is false, but the collaboration creator made this member responsible for {what} costs"
            )
        } else {
            format!(
                "{field} is true, but the collaboration creator did not make this member responsible for {what} costs"
            )
        })),
        _ => Ok(()),
    }
}

/// The machine-learning costs of a payment configuration (field, cost), in the order
/// [`ml_responsibilities`] lists who pays them.
const ML_COSTS: [(&str, &str); 3] = [
    ("machineLearning.modelTraining", "model training"),
    ("machineLearning.modelInference", "model inference"),
    (
        "machineLearning.syntheticDataGeneration",
        "synthetic data generation",
    ),
];

/// Whether the member pays each of [`ML_COSTS`] (`None` where the configuration does not say).
fn ml_responsibilities(ml: &dto::MembershipMLPaymentConfig) -> [Option<bool>; 3] {
    [
        ml.model_training.as_ref().map(|c| c.is_responsible),
        ml.model_inference.as_ref().map(|c| c.is_responsible),
        ml.synthetic_data_generation
            .as_ref()
            .map(|c| c.is_responsible),
    ]
}

/// Checks payment responsibilities stated by a member against the creator's assignment.
fn check_payment_echo(
    prefix: &str,
    query: Option<bool>,
    job: Option<bool>,
    ml: Option<&dto::MembershipMLPaymentConfig>,
    assigned: &dto::MembershipPaymentConfiguration,
) -> AwsResult<()> {
    let job_assigned = assigned
        .job_compute
        .as_ref()
        .is_some_and(|j| j.is_responsible);
    // (field under `prefix`, what the member states, what the creator assigned, the cost)
    let mut stated = vec![
        (
            "queryCompute",
            query,
            assigned.query_compute.is_responsible,
            "query compute",
        ),
        ("jobCompute", job, job_assigned, "job compute"),
    ];
    if let Some(ml) = ml {
        let assigned_ml = assigned
            .machine_learning
            .as_ref()
            .map(ml_responsibilities)
            .unwrap_or_default();
        let costs = ML_COSTS
            .iter()
            .zip(ml_responsibilities(ml))
            .zip(assigned_ml);
        for ((&(field, what), given), responsible) in costs {
            stated.push((field, given, responsible == Some(true), what));
        }
    }
    for (field, given, responsible, what) in stated {
        echo(
            &format!("{prefix}.{field}.isResponsible"),
            given,
            responsible,
            what,
        )?;
    }
    Ok(())
}

/// Checks what a member asks of its membership (CreateMembership, UpdateMembership): logging
/// (`logs`: query, job) only where the collaboration turned it on, result defaults only for a
/// member that can receive results. Returns the payment responsibilities the creator assigned
/// the member, which a stated payment configuration must echo.
fn check_requested(
    collaboration: &Collaboration,
    member: &Member,
    logs: (
        Option<dto::MembershipQueryLogStatus>,
        Option<dto::MembershipJobLogStatus>,
    ),
    query_default: Option<&dto::MembershipProtectedQueryResultConfiguration>,
    job_default: Option<&dto::MembershipProtectedJobResultConfiguration>,
) -> AwsResult<dto::MembershipPaymentConfiguration> {
    check_logging(collaboration, logs.0, logs.1)?;
    check_result_defaults(member, query_default, job_default)?;
    Ok(assigned_payment(member))
}

/// Logging may only be turned on where the collaboration turned it on.
fn check_logging(
    collaboration: &Collaboration,
    query: Option<dto::MembershipQueryLogStatus>,
    job: Option<dto::MembershipJobLogStatus>,
) -> AwsResult<()> {
    if query == Some(dto::MembershipQueryLogStatus::Enabled)
        && collaboration.query_log_status != dto::CollaborationQueryLogStatus::Enabled
    {
        return Err(invalid_configuration(format!(
            "queryLogStatus ENABLED is not allowed: collaboration {} has query logging DISABLED",
            collaboration.id
        )));
    }
    if job == Some(dto::MembershipJobLogStatus::Enabled)
        && collaboration.job_log_status != dto::CollaborationJobLogStatus::Enabled
    {
        return Err(invalid_configuration(format!(
            "jobLogStatus ENABLED is not allowed: collaboration {} has job logging DISABLED",
            collaboration.id
        )));
    }
    Ok(())
}

/// Result defaults may only be set by a member that can receive results.
fn check_result_defaults(
    member: &Member,
    query: Option<&dto::MembershipProtectedQueryResultConfiguration>,
    job: Option<&dto::MembershipProtectedJobResultConfiguration>,
) -> AwsResult<()> {
    if member
        .abilities
        .contains(&dto::MemberAbility::CanReceiveResults)
    {
        return Ok(());
    }
    let field = if query.is_some() {
        "defaultResultConfiguration"
    } else if job.is_some() {
        "defaultJobResultConfiguration"
    } else {
        return Ok(());
    };
    Err(invalid_configuration(format!(
        "{field} can only be set by a member that can receive results; account {} does not have the CAN_RECEIVE_RESULTS ability",
        member.account_id
    )))
}

/// CreateMembership: an invited account joins.
impl Operation for dto::CreateMembershipInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        let account = ctx.account_id.as_str();
        let _guard = state.write_lock().await;
        let collaboration =
            collaboration(state, &ctx.region, &input.collaboration_identifier).await?;
        let mut member = match member(state, &collaboration.id, account).await? {
            Some(m) => m,
            None => {
                return Err(access_denied(format!(
                    "Account {account} is not invited to collaboration {}",
                    collaboration.id
                )))
            }
        };
        match member.status {
            dto::MemberStatus::Invited => {}
            dto::MemberStatus::Active => {
                return Err(conflict(
                    ResourceType::Membership,
                    member.membership_id.as_deref().unwrap_or(&collaboration.id),
                    ConflictReason::AlreadyExists,
                    format!(
                        "Account {account} already has membership {} in collaboration {}",
                        member.membership_id.as_deref().unwrap_or("?"),
                        collaboration.id
                    ),
                ))
            }
            dto::MemberStatus::Left | dto::MemberStatus::Removed => {
                return Err(access_denied(format!(
                    "Account {account} is {} in collaboration {} and cannot join it again",
                    member.status.as_str(),
                    collaboration.id
                )))
            }
        }

        let assigned = check_requested(
            &collaboration,
            &member,
            (Some(input.query_log_status), input.job_log_status),
            input.default_result_configuration.as_ref(),
            input.default_job_result_configuration.as_ref(),
        )?;
        let can_query = member.abilities.contains(&dto::MemberAbility::CanQuery);
        match &input.payment_configuration {
            None if assigned.query_compute.is_responsible && !can_query => {
                return Err(invalid_configuration(format!(
                    "paymentConfiguration is required: the collaboration creator made account {account} responsible for query compute costs, which it must accept"
                )));
            }
            None => {}
            Some(pc) => check_payment_echo(
                "paymentConfiguration",
                Some(pc.query_compute.is_responsible),
                pc.job_compute.as_ref().map(|j| j.is_responsible),
                pc.machine_learning.as_ref(),
                &assigned,
            )?,
        }
        let metrics = input.is_metrics_enabled.unwrap_or(false);
        if metrics {
            if collaboration.is_metrics_enabled != Some(true) {
                return Err(invalid_configuration(format!(
                    "isMetricsEnabled true is not allowed: collaboration {} does not have metrics enabled",
                    collaboration.id
                )));
            }
            if !can_query && !assigned.query_compute.is_responsible {
                return Err(invalid_configuration(format!(
                    "isMetricsEnabled true is only allowed for the member who can query or a member who pays for queries; account {account} is neither"
                )));
            }
        }

        let active = account_resources::<Membership>(state, &ctx.region, account, None, None)
            .await?
            .into_iter()
            .filter(|(_, m)| m.is_active())
            .count();
        check_room(
            "Memberships per account",
            active,
            MAX_MEMBERSHIPS_PER_ACCOUNT,
        )?;

        let now = state.now();
        let id = ids::new_id();
        let membership = Membership {
            arn: membership_arn(&ctx.region, account, &id),
            id: id.clone(),
            collaboration_id: collaboration.id.clone(),
            account_id: account.to_string(),
            status: dto::MembershipStatus::Active,
            query_log_status: input.query_log_status,
            job_log_status: input
                .job_log_status
                .unwrap_or(dto::MembershipJobLogStatus::Disabled),
            default_result_configuration: input.default_result_configuration,
            default_job_result_configuration: input.default_job_result_configuration,
            payment_configuration: assigned,
            is_metrics_enabled: metrics,
            create_time: now,
            update_time: now,
        };
        member.status = dto::MemberStatus::Active;
        member.membership_id = Some(id.clone());
        member.membership_arn = Some(membership.arn.clone());
        member.update_time = now;
        let mut writes = vec![
            put_membership(&ctx.region, &membership)?,
            put_member(&ctx.region, &member)?,
        ];
        if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
            writes.push(put_tags(&ctx.region, account, &membership.arn, &t)?);
        }
        state.store().commit(writes).await?;
        let membership = membership.to_dto(&collaboration, &member);
        Ok(membership.into())
    }
}

/// GetMembership (owner only).
impl Operation for dto::GetMembershipInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let m = callers_membership(state, ctx, &input.membership_identifier).await?;
        let (c, member) = membership_context(state, &ctx.region, &m).await?;
        let membership = m.to_dto(&c, &member);
        Ok(membership.into())
    }
}

/// ListMemberships: the caller's memberships in this region, optionally by status.
impl Operation for dto::ListMembershipsInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let filter = input.status;
        let scope = format!(
            "memberships:{}:{}:{}",
            ctx.account_id,
            ctx.region,
            filter.map_or("*", |s| s.as_str())
        );
        let page = (input.next_token.as_deref(), input.max_results);
        let (membership_summaries, next_token) =
            account_list(state, ctx, &scope, page, |m: Membership| async move {
                if filter.is_some_and(|f| f != m.status) {
                    return Ok(None);
                }
                let (c, member) = membership_context(state, &ctx.region, &m).await?;
                Ok(Some(m.to_summary(&c, &member)))
            })
            .await?;
        Ok((membership_summaries, next_token).into())
    }
}

/// UpdateMembership (owner, ACTIVE only): logging, result defaults, payment acceptance.
impl Operation for dto::UpdateMembershipInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let mut m = callers_membership(state, ctx, &input.membership_identifier).await?;
        require_active(&m)?;
        let (c, member) = membership_context(state, &ctx.region, &m).await?;
        let assigned = check_requested(
            &c,
            &member,
            (input.query_log_status, input.job_log_status),
            input.default_result_configuration.as_ref(),
            input.default_job_result_configuration.as_ref(),
        )?;
        if let Some(pc) = &input.membership_payment_configuration {
            check_payment_echo(
                "membershipPaymentConfiguration",
                pc.query_compute.as_ref().map(|q| q.is_responsible),
                pc.job_compute.as_ref().map(|j| j.is_responsible),
                pc.machine_learning.as_ref(),
                &assigned,
            )?;
        }
        if let Some(s) = input.query_log_status {
            m.query_log_status = s;
        }
        if let Some(s) = input.job_log_status {
            m.job_log_status = s;
        }
        if let Some(r) = input.default_result_configuration {
            m.default_result_configuration = Some(r);
        }
        if let Some(r) = input.default_job_result_configuration {
            m.default_job_result_configuration = Some(r);
        }
        m.payment_configuration = assigned;
        m.update_time = state.now();
        state
            .store()
            .commit(vec![put_membership(&ctx.region, &m)?])
            .await?;
        let membership = m.to_dto(&c, &member);
        Ok(membership.into())
    }
}

/// DeleteMembership: the owner leaves. The membership disappears and the member becomes `LEFT`;
/// the creator cannot leave (it deletes the collaboration instead). Everything created under the
/// membership must be deleted first. A membership that is already `REMOVED` or
/// `COLLABORATION_DELETED` can be deleted to tidy up; its member status does not change.
impl Operation for dto::DeleteMembershipInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let m = callers_membership(state, ctx, &input.membership_identifier).await?;
        let (c, mut member) = membership_context(state, &ctx.region, &m).await?;
        if m.is_active() && c.creator_account_id == m.account_id {
            return Err(conflict(
                ResourceType::Membership,
                &m.id,
                ConflictReason::InvalidState,
                format!(
                    "The collaboration creator cannot leave collaboration {}; delete the collaboration instead",
                    c.id
                ),
            ));
        }
        if let Some(what) = remaining_subresources(state, &m.id).await? {
            return Err(conflict(
                ResourceType::Membership,
                &m.id,
                ConflictReason::SubresourcesExist,
                format!(
                    "Membership {} still has {what}; delete them before leaving the collaboration",
                    m.id
                ),
            ));
        }
        // The membership's associations are gone by now (checked above, or removed with the member),
        // so this finds nothing today; it keeps intermediate tables right should that rule change.
        let mut cascade = lifecycle::membership_tables_removed(state, &c.id, &m.id).await?;
        cascade.writes.extend([
            records::delete::<Membership>(m.id.clone()),
            delete_tags(&m.arn),
        ]);
        if m.is_active() {
            member.status = dto::MemberStatus::Left;
            member.update_time = state.now();
            cascade.writes.push(put_member(&ctx.region, &member)?);
        }
        cascade.commit(state).await?;
        Ok(dto::DeleteMembershipOutput {})
    }
}

/// DeleteMember (creator only): removes an invited or active member. Its membership, if any,
/// becomes `REMOVED`, and everything it contributed under that membership leaves the
/// collaboration: configured table associations (with their rules and access budgets), privacy
/// budget templates and analysis templates.
///
/// The spec (§3.2) names the member's datasets; the model says a removed member's data becomes
/// inaccessible to the remaining members. It is silent on analysis templates, but a removed
/// member can no longer run or maintain them and the others should not keep seeing them in
/// List/Get/BatchGetCollaborationAnalysisTemplate, so they are deleted with the tables (the
/// member can then delete its `REMOVED` membership without emptying it first).
impl Operation for dto::DeleteMemberInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (c, _) = Standing::Visible
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        if c.creator_account_id != ctx.account_id {
            return Err(access_denied(format!(
                "Only the collaboration creator ({}) can remove members from collaboration {}",
                c.creator_account_id, c.id
            )));
        }
        if input.account_id == ctx.account_id {
            return Err(invalid_configuration(format!(
                "accountId {} is the collaboration creator, who cannot be removed; delete the collaboration instead",
                input.account_id
            )));
        }
        let Some(mut member) = member(state, &c.id, &input.account_id).await? else {
            return Err(not_found_msg(
                ResourceType::Collaboration,
                &input.account_id,
                format!(
                    "Account {} is not a member of collaboration {}",
                    input.account_id, c.id
                ),
            ));
        };
        if !member.can_view() {
            return Err(conflict(
                ResourceType::Collaboration,
                &c.id,
                ConflictReason::InvalidState,
                format!(
                    "Account {} is already {} in collaboration {}",
                    input.account_id,
                    member.status.as_str(),
                    c.id
                ),
            ));
        }
        let now = state.now();
        let mut writes = Vec::new();
        let mut cascade = Cascade::default();
        if let Some(mid) = &member.membership_id {
            if let Some(record) = records::record::<Membership>(state, mid).await? {
                let mut m: Membership = records::decode(&record)?;
                m.status = dto::MembershipStatus::Removed;
                m.update_time = now;
                cascade = lifecycle::membership_tables_removed(state, &c.id, &m.id).await?;
                writes.extend(associations_removal_writes(state, &m.id).await?);
                writes.extend(budget_templates_removal_writes(state, &m.id).await?);
                writes.extend(children_removal_writes::<AnalysisTemplate>(state, &m.id).await?);
                writes.extend(
                    children_removal_writes::<AudienceModelAssociation>(state, &m.id).await?,
                );
                cascade.extend(id_mapping_removal(state, &m.id).await?);
                writes.push(put_membership(&ctx.region, &m)?);
            }
        }
        member.status = dto::MemberStatus::Removed;
        member.update_time = now;
        writes.push(put_member(&ctx.region, &member)?);
        cascade.writes.extend(writes);
        cascade.commit(state).await?;
        Ok(dto::DeleteMemberOutput {})
    }
}
