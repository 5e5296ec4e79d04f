//! Privacy budget templates and the privacy budgets they govern:
//! Create/Get/List/Update/DeletePrivacyBudgetTemplate (in the caller's membership),
//! GetCollaborationPrivacyBudgetTemplate and ListCollaborationPrivacyBudgetTemplates (any ACTIVE
//! member), ListPrivacyBudgets and ListCollaborationPrivacyBudgets.
//!
//! A `DIFFERENTIAL_PRIVACY` template is the collaboration's one DP policy (any ACTIVE member may
//! create it, once per collaboration). An `ACCESS_BUDGET` template limits how often one
//! configured table association of the caller's own membership may be used (one template per
//! budgeted resource). Template ARNs use the IAM form
//! `arn:aws:cleanrooms:<region>:<account>:membership/<membershipId>/privacybudgettemplate/<id>`.
//!
//! Every template governs exactly one privacy budget, derived when listed: a DP budget shows the
//! aggregation counts of spec §6.3 for its epsilon and noise, an access budget one detail per
//! budget parameter with the current period taken from the emulator clock. Nothing consumes
//! budgets yet, so remaining equals the full budget.

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;
use time::{Date, Month, OffsetDateTime, Time};

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::errors::{
    access_denied, bad_token, conflict, invalid_configuration, not_found, not_found_msg,
    ConflictReason, ResourceType,
};
use crate::services::cleanrooms::model::{
    kinds, privacy_budget_template_arn, Association, Collaboration, Membership,
    PrivacyBudgetTemplate,
};
use crate::services::cleanrooms::ops::tags;
use crate::services::cleanrooms::repo;
use crate::state::AppState;
use crate::store::Write;
use crate::util::{ids, pagination};

type BudgetType = dto::PrivacyBudgetType;
type TemplateRefresh = dto::PrivacyBudgetTemplateAutoRefresh;

/// The templates of a membership (with their sequence numbers), in creation order.
async fn templates_in(
    state: &AppState,
    membership_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, PrivacyBudgetTemplate)>> {
    repo::membership_children(state, kinds::PRIVACY_BUDGET_TEMPLATE, membership_id, after).await
}

/// Every template of a collaboration (with sequence numbers), in creation order.
async fn templates_of_collaboration(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<(i64, PrivacyBudgetTemplate)>> {
    repo::collaboration_children(state, kinds::PRIVACY_BUDGET_TEMPLATE, collaboration_id).await
}

/// Whether collaboration `collaboration_id` has its DIFFERENTIAL_PRIVACY privacy budget template
/// (the collaboration's DP policy; without it DP tables are not queryable).
pub async fn has_differential_privacy_template(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<bool> {
    Ok(templates_of_collaboration(state, collaboration_id)
        .await?
        .iter()
        .any(|(_, t)| t.privacy_budget_type == BudgetType::DifferentialPrivacy))
}

/// The writes that delete every privacy budget template of a membership, with their tags.
pub async fn removal_writes(state: &AppState, membership_id: &str) -> AwsResult<Vec<Write>> {
    Ok(templates_in(state, membership_id, None)
        .await?
        .iter()
        .flat_map(|(_, t)| delete_writes(t))
        .collect())
}

/// The writes that delete the access budget templates of association `a` (the association
/// leaves the collaboration, so its budget goes with it).
pub async fn association_removal_writes(
    state: &AppState,
    a: &Association,
) -> AwsResult<Vec<Write>> {
    Ok(templates_in(state, &a.membership_id, None)
        .await?
        .iter()
        .filter(|(_, t)| t.resource_arn() == Some(a.arn.as_str()))
        .flat_map(|(_, t)| delete_writes(t))
        .collect())
}

fn delete_writes(t: &PrivacyBudgetTemplate) -> Vec<Write> {
    vec![
        Write::Delete {
            kind: kinds::PRIVACY_BUDGET_TEMPLATE.to_string(),
            id: t.id.clone(),
        },
        tags::delete_tags(&t.arn),
    ]
}

fn put_template(region: &str, t: &PrivacyBudgetTemplate) -> AwsResult<Write> {
    repo::put(
        kinds::PRIVACY_BUDGET_TEMPLATE,
        &t.id,
        region,
        &t.account_id,
        Some(&t.membership_id),
        t,
    )
}

fn template_not_found(id: &str) -> AwsError {
    not_found_msg(
        ResourceType::Membership,
        id,
        format!("Could not find privacy budget template with id {id}"),
    )
}

/// The caller's membership `membership_id` and its template `id`.
async fn own_template(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<(Membership, PrivacyBudgetTemplate)> {
    let m = repo::own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    match state
        .store()
        .get(kinds::PRIVACY_BUDGET_TEMPLATE, id)
        .await?
    {
        Some(r) if r.parent.as_deref() == Some(m.id.as_str()) => Ok((m, repo::decode(&r)?)),
        _ => Err(template_not_found(id)),
    }
}

/// The collaboration `id` when the caller is an ACTIVE member of it.
async fn active_collaboration(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> AwsResult<Collaboration> {
    let (c, member) = repo::visible_collaboration(state, &ctx.region, &ctx.account_id, id).await?;
    if member.status != dto::MemberStatus::Active {
        return Err(access_denied(format!(
            "Account {} has not joined collaboration {id}; only ACTIVE members can see its privacy budgets",
            ctx.account_id
        )));
    }
    Ok(c)
}

/// `AccessDeniedException` unless the membership is ACTIVE (read operations whose model has no
/// `ConflictException`).
fn require_active_reader(m: &Membership) -> AwsResult<()> {
    if m.is_active() {
        Ok(())
    } else {
        Err(access_denied(format!(
            "Membership {} is {}; only ACTIVE members can see privacy budgets",
            m.id,
            m.status.as_str()
        )))
    }
}

/// Checks access budget parameters: at most one calendar period and at most one lifetime
/// budget; `autoRefresh` only on calendar periods.
fn check_budget_parameters(params: &[dto::BudgetParameter]) -> AwsResult<()> {
    let mut calendar = None;
    let mut lifetime = false;
    for p in params {
        if p.r#type == dto::AccessBudgetType::Lifetime {
            if lifetime {
                return Err(invalid_configuration(
                    "parameters.accessBudget.budgetParameters: at most one LIFETIME budget is allowed",
                ));
            }
            lifetime = true;
            if let Some(mode) = p.auto_refresh {
                return Err(invalid_configuration(format!(
                    "parameters.accessBudget.budgetParameters: a LIFETIME budget never refreshes; remove autoRefresh ({})",
                    mode.as_str()
                )));
            }
        } else {
            if let Some(first) = calendar {
                return Err(invalid_configuration(format!(
                    "parameters.accessBudget.budgetParameters: at most one calendar budget is allowed (got {} and {})",
                    dto::AccessBudgetType::as_str(&first),
                    p.r#type.as_str()
                )));
            }
            calendar = Some(p.r#type);
        }
    }
    Ok(())
}

/// The association an access budget names: it must be a configured table association of the
/// caller's membership `m` (only its owner may budget it).
async fn budgeted_association(
    state: &AppState,
    ctx: &RequestContext,
    m: &Membership,
    resource_arn: &str,
) -> AwsResult<Association> {
    let field = "parameters.accessBudget.resourceArn";
    let Some(rest) = resource_arn.strip_prefix("arn:aws:cleanrooms:") else {
        return Err(invalid_configuration(format!(
            "{field} '{resource_arn}' is not a Clean Rooms ARN"
        )));
    };
    let parts: Vec<&str> = rest.splitn(3, ':').collect();
    let path: Vec<&str> = parts.get(2).map_or(Vec::new(), |p| p.split('/').collect());
    if parts.len() != 3 || path.len() != 4 || path[0] != "membership" {
        return Err(invalid_configuration(format!(
            "{field} '{resource_arn}' must name a configured table association or intermediate table of a membership"
        )));
    }
    let (region, account, membership_id, kind, id) =
        (parts[0], parts[1], path[1], path[2], path[3]);
    if region != ctx.region || account != ctx.account_id || membership_id != m.id {
        return Err(access_denied(format!(
            "{field} '{resource_arn}': only the owner of a resource can give it an access budget, through its own membership ({})",
            m.id
        )));
    }
    match kind {
        "configuredtableassociation" => {
            match state.store().get(kinds::ASSOCIATION, id).await? {
                Some(r) if r.parent.as_deref() == Some(m.id.as_str()) => {
                    let a: Association = repo::decode(&r)?;
                    if a.arn == resource_arn {
                        return Ok(a);
                    }
                }
                _ => {}
            }
            Err(not_found(ResourceType::ConfiguredTableAssociation, id))
        }
        "intermediatetable" => Err(not_found_msg(
            ResourceType::Membership,
            id,
            format!("Could not find intermediate table with id {id} in membership {}", m.id),
        )),
        other => Err(invalid_configuration(format!(
            "{field} '{resource_arn}': resource type '{other}' cannot have an access budget (configuredtableassociation or intermediatetable)"
        ))),
    }
}

/// CreatePrivacyBudgetTemplate.
pub async fn create_privacy_budget_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreatePrivacyBudgetTemplateInput,
) -> AwsResult<dto::CreatePrivacyBudgetTemplateOutput> {
    if let Some(t) = &input.tags {
        tags::check_tag_keys(t.keys())?;
    }
    let _guard = state.write_lock().await;
    let m = repo::own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    repo::require_active(&m)?;
    let (c, _) = repo::membership_context(state, &ctx.region, &m).await?;
    let existing = templates_of_collaboration(state, &m.collaboration_id).await?;
    let (auto_refresh, parameters) = match (input.privacy_budget_type, input.parameters) {
        (
            BudgetType::DifferentialPrivacy,
            dto::PrivacyBudgetTemplateParametersInput::DifferentialPrivacy(p),
        ) => {
            if let Some((_, t)) = existing
                .iter()
                .find(|(_, t)| t.privacy_budget_type == BudgetType::DifferentialPrivacy)
            {
                return Err(conflict(
                    ResourceType::Collaboration,
                    &c.id,
                    ConflictReason::AlreadyExists,
                    format!(
                        "Collaboration {} already has a DIFFERENTIAL_PRIVACY privacy budget template ({}); update it instead",
                        c.id, t.id
                    ),
                ));
            }
            (
                input.auto_refresh.unwrap_or(TemplateRefresh::None),
                dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(
                    dto::DifferentialPrivacyTemplateParametersOutput {
                        epsilon: p.epsilon,
                        users_noise_per_query: p.users_noise_per_query,
                    },
                ),
            )
        }
        (BudgetType::AccessBudget, dto::PrivacyBudgetTemplateParametersInput::AccessBudget(p)) => {
            if input.auto_refresh == Some(TemplateRefresh::CalendarMonth) {
                return Err(invalid_configuration(
                    "autoRefresh CALENDAR_MONTH applies to DIFFERENTIAL_PRIVACY templates; access budgets refresh per budget parameter (budgetParameters[].autoRefresh)",
                ));
            }
            check_budget_parameters(&p.budget_parameters)?;
            let a = budgeted_association(state, ctx, &m, &p.resource_arn).await?;
            if let Some((_, t)) = existing
                .iter()
                .find(|(_, t)| t.resource_arn() == Some(a.arn.as_str()))
            {
                return Err(conflict(
                    ResourceType::ConfiguredTableAssociation,
                    &a.id,
                    ConflictReason::AlreadyExists,
                    format!(
                        "Resource {} already has an access budget (privacy budget template {}); update it instead",
                        a.arn, t.id
                    ),
                ));
            }
            (
                TemplateRefresh::None,
                dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(
                    dto::AccessBudgetsPrivacyTemplateParametersOutput {
                        budget_parameters: p.budget_parameters,
                        resource_arn: p.resource_arn,
                    },
                ),
            )
        }
        (declared, _) => {
            return Err(invalid_configuration(format!(
                "privacyBudgetType {} does not match parameters, which hold {} parameters",
                declared.as_str(),
                other_type(declared).as_str()
            )))
        }
    };
    let now = state.now();
    let id = ids::new_id();
    let template = PrivacyBudgetTemplate {
        arn: privacy_budget_template_arn(&ctx.region, &ctx.account_id, &m.id, &id),
        id,
        account_id: ctx.account_id.clone(),
        membership_id: m.id.clone(),
        membership_arn: m.arn.clone(),
        collaboration_id: c.id.clone(),
        collaboration_arn: c.arn.clone(),
        privacy_budget_type: input.privacy_budget_type,
        auto_refresh,
        parameters,
        budget_id: ids::new_id(),
        create_time: now,
        update_time: now,
    };
    let mut writes = vec![put_template(&ctx.region, &template)?];
    if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
        writes.push(tags::put_tags(
            &ctx.region,
            &ctx.account_id,
            &template.arn,
            &t,
        )?);
    }
    state.store().commit(writes).await?;
    Ok(dto::CreatePrivacyBudgetTemplateOutput {
        privacy_budget_template: template.to_dto(),
    })
}

fn other_type(t: BudgetType) -> BudgetType {
    match t {
        BudgetType::DifferentialPrivacy => BudgetType::AccessBudget,
        BudgetType::AccessBudget => BudgetType::DifferentialPrivacy,
    }
}

/// GetPrivacyBudgetTemplate (the template owner's membership).
pub async fn get_privacy_budget_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetPrivacyBudgetTemplateInput,
) -> AwsResult<dto::GetPrivacyBudgetTemplateOutput> {
    let (_, t) = own_template(
        state,
        ctx,
        &input.membership_identifier,
        &input.privacy_budget_template_identifier,
    )
    .await?;
    Ok(dto::GetPrivacyBudgetTemplateOutput {
        privacy_budget_template: t.to_dto(),
    })
}

/// ListPrivacyBudgetTemplates: the templates of the caller's membership.
pub async fn list_privacy_budget_templates(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListPrivacyBudgetTemplatesInput,
) -> AwsResult<dto::ListPrivacyBudgetTemplatesOutput> {
    let m = repo::own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    let (privacy_budget_template_summaries, next_token) = repo::membership_page(
        state,
        kinds::PRIVACY_BUDGET_TEMPLATE,
        "privacybudgettemplates",
        &m.id,
        input.next_token.as_deref(),
        input.max_results,
        |t: PrivacyBudgetTemplate| Some(t.to_summary()),
    )
    .await?;
    Ok(dto::ListPrivacyBudgetTemplatesOutput {
        privacy_budget_template_summaries,
        next_token,
    })
}

/// UpdatePrivacyBudgetTemplate: DP epsilon/noise (each optional) or the access budget's
/// parameters (replaced as a whole); the type cannot change.
pub async fn update_privacy_budget_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdatePrivacyBudgetTemplateInput,
) -> AwsResult<dto::UpdatePrivacyBudgetTemplateOutput> {
    let _guard = state.write_lock().await;
    let (m, mut t) = own_template(
        state,
        ctx,
        &input.membership_identifier,
        &input.privacy_budget_template_identifier,
    )
    .await?;
    repo::require_active(&m)?;
    if input.privacy_budget_type != t.privacy_budget_type {
        return Err(invalid_configuration(format!(
            "privacyBudgetType {}: privacy budget template {} is of type {}; the type cannot change",
            input.privacy_budget_type.as_str(),
            t.id,
            t.privacy_budget_type.as_str()
        )));
    }
    match (input.parameters, &mut t.parameters) {
        (None, _) => {}
        (
            Some(dto::PrivacyBudgetTemplateUpdateParameters::DifferentialPrivacy(new)),
            dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(current),
        ) => {
            if let Some(e) = new.epsilon {
                current.epsilon = e;
            }
            if let Some(n) = new.users_noise_per_query {
                current.users_noise_per_query = n;
            }
        }
        (
            Some(dto::PrivacyBudgetTemplateUpdateParameters::AccessBudget(new)),
            dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(current),
        ) => {
            check_budget_parameters(&new.budget_parameters)?;
            current.budget_parameters = new.budget_parameters;
        }
        (Some(_), _) => {
            return Err(invalid_configuration(format!(
                "parameters: privacy budget template {} is of type {} and takes {} parameters",
                t.id,
                t.privacy_budget_type.as_str(),
                match t.privacy_budget_type {
                    BudgetType::DifferentialPrivacy => "differentialPrivacy",
                    BudgetType::AccessBudget => "accessBudget",
                }
            )))
        }
    }
    t.update_time = state.now();
    state
        .store()
        .commit(vec![put_template(&ctx.region, &t)?])
        .await?;
    Ok(dto::UpdatePrivacyBudgetTemplateOutput {
        privacy_budget_template: t.to_dto(),
    })
}

/// DeletePrivacyBudgetTemplate: the template, its budget and its tags go.
pub async fn delete_privacy_budget_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeletePrivacyBudgetTemplateInput,
) -> AwsResult<dto::DeletePrivacyBudgetTemplateOutput> {
    let _guard = state.write_lock().await;
    let (m, t) = own_template(
        state,
        ctx,
        &input.membership_identifier,
        &input.privacy_budget_template_identifier,
    )
    .await?;
    repo::require_active(&m)?;
    state.store().commit(delete_writes(&t)).await?;
    Ok(dto::DeletePrivacyBudgetTemplateOutput {})
}

/// GetCollaborationPrivacyBudgetTemplate (any ACTIVE member).
pub async fn get_collaboration_privacy_budget_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetCollaborationPrivacyBudgetTemplateInput,
) -> AwsResult<dto::GetCollaborationPrivacyBudgetTemplateOutput> {
    let c = active_collaboration(state, ctx, &input.collaboration_identifier).await?;
    let id = &input.privacy_budget_template_identifier;
    let t = match state
        .store()
        .get(kinds::PRIVACY_BUDGET_TEMPLATE, id)
        .await?
    {
        Some(r) => {
            let t: PrivacyBudgetTemplate = repo::decode(&r)?;
            if t.collaboration_id != c.id {
                return Err(template_not_found(id));
            }
            t
        }
        None => return Err(template_not_found(id)),
    };
    Ok(dto::GetCollaborationPrivacyBudgetTemplateOutput {
        collaboration_privacy_budget_template: t.to_collaboration_dto(),
    })
}

/// ListCollaborationPrivacyBudgetTemplates (any ACTIVE member): every member's templates.
pub async fn list_collaboration_privacy_budget_templates(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListCollaborationPrivacyBudgetTemplatesInput,
) -> AwsResult<dto::ListCollaborationPrivacyBudgetTemplatesOutput> {
    let c = active_collaboration(state, ctx, &input.collaboration_identifier).await?;
    let scope = format!("collaborationprivacybudgettemplates:{}", c.id);
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let items = templates_of_collaboration(state, &c.id)
        .await?
        .into_iter()
        .filter(|(seq, _)| after.is_none_or(|a| *seq > a))
        .map(|(seq, t)| (seq, t.to_collaboration_summary()))
        .collect();
    let (collaboration_privacy_budget_template_summaries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListCollaborationPrivacyBudgetTemplatesOutput {
        collaboration_privacy_budget_template_summaries,
        next_token,
    })
}

// ---------------------------------------------------------------------------------------------
// Privacy budgets
// ---------------------------------------------------------------------------------------------

/// Per-call weight of each aggregation type (spec §6.3: cost = weight / usersNoisePerQuery).
const AGGREGATION_WEIGHTS: &[(dto::DifferentialPrivacyAggregationType, i32)] = &[
    (dto::DifferentialPrivacyAggregationType::Avg, 2),
    (dto::DifferentialPrivacyAggregationType::Count, 1),
    (dto::DifferentialPrivacyAggregationType::CountDistinct, 1),
    (dto::DifferentialPrivacyAggregationType::Sum, 1),
    (dto::DifferentialPrivacyAggregationType::Stddev, 3),
];

/// The unspent DP budget of `epsilon` with `noise` users hidden per query.
fn dp_budget(epsilon: i32, noise: i32) -> dto::DifferentialPrivacyPrivacyBudget {
    dto::DifferentialPrivacyPrivacyBudget {
        aggregations: AGGREGATION_WEIGHTS
            .iter()
            .map(|(t, w)| {
                let max = epsilon.saturating_mul(noise) / w;
                dto::DifferentialPrivacyPrivacyBudgetAggregation {
                    max_count: max,
                    remaining_count: max,
                    r#type: *t,
                }
            })
            .collect(),
        epsilon,
    }
}

/// Start and end (exclusive) of the calendar period containing `now` (UTC; weeks start on
/// Monday).
fn period(budget_type: dto::AccessBudgetType, now: f64) -> (f64, Option<f64>) {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(now.floor() as i64) else {
        return (now, None);
    };
    let day = at.date();
    let midnight = |d: Date| d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp() as f64;
    let (start, end) = match budget_type {
        dto::AccessBudgetType::Lifetime => return (now, None),
        dto::AccessBudgetType::CalendarDay => (Some(day), day.next_day()),
        dto::AccessBudgetType::CalendarWeek => {
            let monday = day.checked_sub(time::Duration::days(i64::from(
                day.weekday().number_days_from_monday(),
            )));
            (
                monday,
                monday.and_then(|d| d.checked_add(time::Duration::days(7))),
            )
        }
        dto::AccessBudgetType::CalendarMonth => {
            let first = Date::from_calendar_date(day.year(), day.month(), 1).ok();
            let next = if day.month() == Month::December {
                Date::from_calendar_date(day.year() + 1, Month::January, 1).ok()
            } else {
                Date::from_calendar_date(day.year(), day.month().next(), 1).ok()
            };
            (first, next)
        }
    };
    (start.map_or(now, midnight), end.map(midnight))
}

/// The budget a template governs, as of `now`.
fn budget_of(t: &PrivacyBudgetTemplate, now: f64) -> dto::PrivacyBudget {
    match &t.parameters {
        dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(p) => {
            dto::PrivacyBudget::DifferentialPrivacy(dp_budget(p.epsilon, p.users_noise_per_query))
        }
        dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(p) => {
            let details: Vec<dto::AccessBudgetDetails> = p
                .budget_parameters
                .iter()
                .map(|bp| {
                    let (start, end) = if bp.r#type == dto::AccessBudgetType::Lifetime {
                        (t.create_time, None)
                    } else {
                        period(bp.r#type, now)
                    };
                    dto::AccessBudgetDetails {
                        auto_refresh: if bp.r#type == dto::AccessBudgetType::Lifetime {
                            None
                        } else {
                            Some(bp.auto_refresh.unwrap_or(dto::AutoRefreshMode::Disabled))
                        },
                        budget: bp.budget,
                        budget_type: bp.r#type,
                        end_time: end,
                        remaining_budget: bp.budget,
                        start_time: start,
                    }
                })
                .collect();
            dto::PrivacyBudget::AccessBudget(dto::AccessBudget {
                aggregate_remaining_budget: details
                    .iter()
                    .map(|d| d.remaining_budget)
                    .min()
                    .unwrap_or(0),
                details,
                resource_arn: p.resource_arn.clone(),
            })
        }
    }
}

/// The templates of a collaboration that govern the budgets a list shows.
async fn budget_templates(
    state: &AppState,
    collaboration_id: &str,
    budget_type: BudgetType,
    resource_arn: Option<&str>,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, PrivacyBudgetTemplate)>> {
    Ok(templates_of_collaboration(state, collaboration_id)
        .await?
        .into_iter()
        .filter(|(seq, t)| {
            after.is_none_or(|a| *seq > a)
                && t.privacy_budget_type == budget_type
                && resource_arn.is_none_or(|arn| t.resource_arn() == Some(arn))
        })
        .collect())
}

/// ListPrivacyBudgets: the collaboration's budgets of one type, seen from the caller's ACTIVE
/// membership (each shows the membership of the member whose template governs it).
pub async fn list_privacy_budgets(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListPrivacyBudgetsInput,
) -> AwsResult<dto::ListPrivacyBudgetsOutput> {
    let m = repo::own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    require_active_reader(&m)?;
    let scope = format!(
        "privacybudgets:{}:{}:{}",
        m.id,
        input.privacy_budget_type.as_str(),
        input.access_budget_resource_arn.as_deref().unwrap_or("")
    );
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let now = state.now();
    let items = budget_templates(
        state,
        &m.collaboration_id,
        input.privacy_budget_type,
        input.access_budget_resource_arn.as_deref(),
        after,
    )
    .await?
    .into_iter()
    .map(|(seq, t)| {
        (
            seq,
            dto::PrivacyBudgetSummary {
                budget: budget_of(&t, now),
                collaboration_arn: t.collaboration_arn.clone(),
                collaboration_id: t.collaboration_id.clone(),
                create_time: t.create_time,
                id: t.budget_id.clone(),
                membership_arn: t.membership_arn.clone(),
                membership_id: t.membership_id.clone(),
                privacy_budget_template_arn: t.arn.clone(),
                privacy_budget_template_id: t.id.clone(),
                r#type: t.privacy_budget_type,
                update_time: t.update_time,
            },
        )
    })
    .collect();
    let (privacy_budget_summaries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListPrivacyBudgetsOutput {
        privacy_budget_summaries,
        next_token,
    })
}

/// ListCollaborationPrivacyBudgets (any ACTIVE member): the collaboration's budgets of one type.
pub async fn list_collaboration_privacy_budgets(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListCollaborationPrivacyBudgetsInput,
) -> AwsResult<dto::ListCollaborationPrivacyBudgetsOutput> {
    let c = active_collaboration(state, ctx, &input.collaboration_identifier).await?;
    let scope = format!(
        "collaborationprivacybudgets:{}:{}:{}",
        c.id,
        input.privacy_budget_type.as_str(),
        input.access_budget_resource_arn.as_deref().unwrap_or("")
    );
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let now = state.now();
    let items = budget_templates(
        state,
        &c.id,
        input.privacy_budget_type,
        input.access_budget_resource_arn.as_deref(),
        after,
    )
    .await?
    .into_iter()
    .map(|(seq, t)| {
        (
            seq,
            dto::CollaborationPrivacyBudgetSummary {
                budget: budget_of(&t, now),
                collaboration_arn: t.collaboration_arn.clone(),
                collaboration_id: t.collaboration_id.clone(),
                create_time: t.create_time,
                creator_account_id: t.account_id.clone(),
                id: t.budget_id.clone(),
                privacy_budget_template_arn: t.arn.clone(),
                privacy_budget_template_id: t.id.clone(),
                r#type: t.privacy_budget_type,
                update_time: t.update_time,
            },
        )
    })
    .collect();
    let (collaboration_privacy_budget_summaries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListCollaborationPrivacyBudgetsOutput {
        collaboration_privacy_budget_summaries,
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(y: i32, m: Month, d: u8, h: u8) -> f64 {
        Date::from_calendar_date(y, m, d)
            .unwrap()
            .with_hms(h, 30, 0)
            .unwrap()
            .assume_utc()
            .unix_timestamp() as f64
    }

    fn midnight(y: i32, m: Month, d: u8) -> f64 {
        ts(y, m, d, 0) - 1800.0
    }

    #[test]
    fn calendar_periods_are_utc_day_iso_week_and_month() {
        // Wednesday 2025-12-31 13:30 UTC
        let now = ts(2025, Month::December, 31, 13);
        assert_eq!(
            period(dto::AccessBudgetType::CalendarDay, now),
            (
                midnight(2025, Month::December, 31),
                Some(midnight(2026, Month::January, 1))
            )
        );
        assert_eq!(
            period(dto::AccessBudgetType::CalendarWeek, now),
            (
                midnight(2025, Month::December, 29),
                Some(midnight(2026, Month::January, 5))
            )
        );
        assert_eq!(
            period(dto::AccessBudgetType::CalendarMonth, now),
            (
                midnight(2025, Month::December, 1),
                Some(midnight(2026, Month::January, 1))
            )
        );
        // a Monday starts its own week; February of a leap year ends on the 29th
        let monday = ts(2024, Month::February, 26, 0);
        assert_eq!(
            period(dto::AccessBudgetType::CalendarWeek, monday).0,
            midnight(2024, Month::February, 26)
        );
        assert_eq!(
            period(dto::AccessBudgetType::CalendarMonth, monday).1,
            Some(midnight(2024, Month::March, 1))
        );
        assert_eq!(period(dto::AccessBudgetType::Lifetime, now), (now, None));
    }

    #[test]
    fn dp_counts_grow_with_epsilon_and_noise() {
        let counts = |e, n| {
            dp_budget(e, n)
                .aggregations
                .iter()
                .map(|a| (a.r#type, a.max_count, a.remaining_count))
                .collect::<Vec<_>>()
        };
        use dto::DifferentialPrivacyAggregationType as T;
        assert_eq!(
            counts(2, 10),
            vec![
                (T::Avg, 10, 10),
                (T::Count, 20, 20),
                (T::CountDistinct, 20, 20),
                (T::Sum, 20, 20),
                (T::Stddev, 6, 6)
            ]
        );
        assert_eq!(counts(20, 100)[1].1, 2000);
    }
}
