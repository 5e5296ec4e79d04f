//! Privacy budget templates and the privacy budgets they govern:
//! Create/Update/DeletePrivacyBudgetTemplate (in the caller's membership; Get and List:
//! [`super::children`]),
//! GetCollaborationPrivacyBudgetTemplate and ListCollaborationPrivacyBudgetTemplates (any ACTIVE
//! member), ListPrivacyBudgets, ListCollaborationPrivacyBudgets and PreviewPrivacyImpact.
//!
//! A `DIFFERENTIAL_PRIVACY` template is the collaboration's one DP policy (any ACTIVE member may
//! create it, once per collaboration). An `ACCESS_BUDGET` template limits how often one
//! configured table association or intermediate table of the caller's own membership may be used
//! (one template per budgeted resource). Template ARNs use the IAM form
//! `arn:aws:cleanrooms:<region>:<account>:membership/<membershipId>/privacybudgettemplate/<id>`.
//!
//! Every template governs exactly one privacy budget, derived when listed from the template and
//! what analyses spent from it (`domain::budget`): a DP budget shows the aggregation counts of spec §6.3
//! for its epsilon, noise and spent epsilon, an access budget one detail per budget parameter
//! with its period taken from the emulator clock. Updating an access budget replaces its
//! configuration and starts its ledger afresh; updating the DP policy keeps the spent epsilon;
//! deleting a template deletes its ledger.

use crate::services::cleanrooms::domain::arn::privacy_budget_template_arn;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::budget::{budget_of, preview};
use crate::services::cleanrooms::domain::collaboration::Collaboration;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::errors::{
    access_denied, bad_token, conflict, invalid_configuration, invalid_field, not_found,
    not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::ops::{new_header, Operation};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    active_own_membership, callers_membership, collaboration_children_page, own_child,
    require_active, ChildRequest, MembershipChild, Standing,
};
use crate::services::cleanrooms::records::budgets::{delete_ledger, ledger_of};
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::workflows::cascade::budget_template_delete_writes;
use crate::services::cleanrooms::workflows::children::{create_child, update_child};
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::util::{ids, pagination};

type BudgetType = dto::PrivacyBudgetType;
type TemplateRefresh = dto::PrivacyBudgetTemplateAutoRefresh;

/// The collaboration `id` when the caller is an ACTIVE member of it.
async fn active_collaboration(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> AwsResult<Collaboration> {
    let (c, member) = Standing::Visible.check(state, ctx, id).await?;
    if member.status != dto::MemberStatus::Active {
        return Err(access_denied(format!(
            "Account {} has not joined collaboration {id}; only ACTIVE members can see its privacy budgets",
            ctx.account_id
        )));
    }
    Ok(c)
}

/// The caller's membership `id`, which must be ACTIVE (`AccessDeniedException` otherwise: the
/// read operations using it have no `ConflictException` in the model).
async fn active_reader(state: &AppState, ctx: &RequestContext, id: &str) -> AwsResult<Membership> {
    let m = callers_membership(state, ctx, id).await?;
    if m.is_active() {
        Ok(m)
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

/// The resource an access budget names (its ARN, id and the conflict resource type): a
/// configured table association or an intermediate table of the caller's membership `m` (only
/// its owner may budget it).
async fn budgeted_resource(
    state: &AppState,
    ctx: &RequestContext,
    m: &Membership,
    resource_arn: &str,
) -> AwsResult<(String, String, ResourceType)> {
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
    let (header, resource_type) = match kind {
        "configuredtableassociation" => (
            records::load::<Association>(state, id).await?.map(|a| a.header),
            ResourceType::ConfiguredTableAssociation,
        ),
        "intermediatetable" => (
            records::load::<IntermediateTable>(state, id).await?.map(|t| t.header),
            ResourceType::Membership,
        ),
        other => {
            return Err(invalid_configuration(format!(
                "{field} '{resource_arn}': resource type '{other}' cannot have an access budget (configuredtableassociation or intermediatetable)"
            )))
        }
    };
    match header {
        Some(h) if h.membership_id == m.id && h.arn == resource_arn => {
            Ok((h.arn, h.id, resource_type))
        }
        _ if kind == "intermediatetable" => Err(not_found_msg(
            resource_type,
            id,
            format!(
                "Could not find intermediate table with id {id} in membership {}",
                m.id
            ),
        )),
        _ => Err(not_found(resource_type, id)),
    }
}

/// CreatePrivacyBudgetTemplate.
impl Operation for dto::CreatePrivacyBudgetTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        let _guard = state.write_lock().await;
        let (m, c, _) = active_own_membership(state, ctx, &input.membership_identifier).await?;
        let existing =
            collaboration_children::<PrivacyBudgetTemplate>(state, &m.collaboration_id).await?;
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
                            c.id, t.header.id
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
            (
                BudgetType::AccessBudget,
                dto::PrivacyBudgetTemplateParametersInput::AccessBudget(p),
            ) => {
                if input.auto_refresh == Some(TemplateRefresh::CalendarMonth) {
                    return Err(invalid_configuration(
                        "autoRefresh CALENDAR_MONTH applies to DIFFERENTIAL_PRIVACY templates; access budgets refresh per budget parameter (budgetParameters[].autoRefresh)",
                    ));
                }
                check_budget_parameters(&p.budget_parameters)?;
                let (arn, id, resource_type) =
                    budgeted_resource(state, ctx, &m, &p.resource_arn).await?;
                if let Some((_, t)) = existing
                    .iter()
                    .find(|(_, t)| t.resource_arn() == Some(arn.as_str()))
                {
                    return Err(conflict(
                        resource_type,
                        &id,
                        ConflictReason::AlreadyExists,
                        format!(
                            "Resource {arn} already has an access budget (privacy budget template {}); update it instead",
                            t.header.id
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
        let template = PrivacyBudgetTemplate {
            header: new_header(ctx, &m, privacy_budget_template_arn),
            collaboration_arn: c.arn.clone(),
            privacy_budget_type: input.privacy_budget_type,
            auto_refresh,
            parameters,
            budget_id: ids::new_id(),
            create_time: now,
            update_time: now,
        };
        create_child(state, ctx, &template, input.tags).await?;
        Ok(template.to_dto().into())
    }
}

fn other_type(t: BudgetType) -> BudgetType {
    match t {
        BudgetType::DifferentialPrivacy => BudgetType::AccessBudget,
        BudgetType::AccessBudget => BudgetType::DifferentialPrivacy,
    }
}

/// UpdatePrivacyBudgetTemplate: DP epsilon/noise (each optional) or the access budget's
/// parameters (replaced as a whole); the type cannot change.
impl Operation for dto::UpdatePrivacyBudgetTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let t = update_child(state, ctx, input, |t: &mut PrivacyBudgetTemplate, input| {
        if input.privacy_budget_type != t.privacy_budget_type {
            return Err(invalid_configuration(format!(
                "privacyBudgetType {}: privacy budget template {} is of type {}; the type cannot change",
                input.privacy_budget_type.as_str(),
                t.header.id,
                t.privacy_budget_type.as_str()
            )));
        }
        let mut fresh_budget = false;
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
                // The configuration is replaced as a whole: the budget starts afresh.
                fresh_budget = true;
            }
            (Some(_), _) => {
                return Err(invalid_configuration(format!(
                    "parameters: privacy budget template {} is of type {} and takes {} parameters",
                    t.header.id,
                    t.privacy_budget_type.as_str(),
                    match t.privacy_budget_type {
                        BudgetType::DifferentialPrivacy => "differentialPrivacy",
                        BudgetType::AccessBudget => "accessBudget",
                    }
                )))
            }
        }
        // A fresh budget forgets what was spent.
        Ok(fresh_budget.then(|| delete_ledger(&t.header.id)).into_iter().collect())
        })
        .await?;
        let privacy_budget_template = t.to_dto();
        Ok(privacy_budget_template.into())
    }
}

/// DeletePrivacyBudgetTemplate: the template, its budget and its tags go.
impl Operation for dto::DeletePrivacyBudgetTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (m, t) = own_child::<PrivacyBudgetTemplate>(state, ctx, input.target()).await?;
        require_active(&m)?;
        state
            .store()
            .commit(budget_template_delete_writes(&t))
            .await?;
        Ok(dto::DeletePrivacyBudgetTemplateOutput {})
    }
}

/// GetCollaborationPrivacyBudgetTemplate (any ACTIVE member).
impl Operation for dto::GetCollaborationPrivacyBudgetTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let c = active_collaboration(state, ctx, &input.collaboration_identifier).await?;
        let id = &input.privacy_budget_template_identifier;
        // Not found here names the membership, as for the owner's read.
        let t = records::load::<PrivacyBudgetTemplate>(state, id)
            .await?
            .filter(|t| t.header.collaboration_id == c.id)
            .ok_or_else(|| PrivacyBudgetTemplate::missing(ResourceType::Membership, id))?;
        let collaboration_privacy_budget_template = t.to_collaboration_dto();
        Ok(collaboration_privacy_budget_template.into())
    }
}

/// ListCollaborationPrivacyBudgetTemplates (any ACTIVE member): every member's templates.
impl Operation for dto::ListCollaborationPrivacyBudgetTemplatesInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let c = active_collaboration(state, ctx, &input.collaboration_identifier).await?;
        let page = (input.next_token.as_deref(), input.max_results);
        let entry = PrivacyBudgetTemplate::to_collaboration_summary;
        let (collaboration_privacy_budget_template_summaries, next_token) =
            collaboration_children_page(state, &c.id, page, entry).await?;
        Ok(dto::ListCollaborationPrivacyBudgetTemplatesOutput {
            collaboration_privacy_budget_template_summaries,
            next_token,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Privacy budgets
// ---------------------------------------------------------------------------------------------

/// A list of budgets (ListPrivacyBudgets, ListCollaborationPrivacyBudgets): which ones it shows,
/// one type and optionally one budgeted resource, and which page.
trait BudgetList {
    /// `privacyBudgetType`.
    fn budget_type(&self) -> BudgetType;
    /// `accessBudgetResourceArn`.
    fn resource_arn(&self) -> Option<&str>;
    /// `nextToken` and `maxResults`.
    fn page(&self) -> (Option<&str>, Option<i32>);
}

/// Ties the budget lists to their fields.
macro_rules! budget_lists {
    ($($input:ident),*) => {
        $(impl BudgetList for dto::$input {
            fn budget_type(&self) -> BudgetType {
                self.privacy_budget_type
            }
            fn resource_arn(&self) -> Option<&str> {
                self.access_budget_resource_arn.as_deref()
            }
            fn page(&self) -> (Option<&str>, Option<i32>) {
                (self.next_token.as_deref(), self.max_results)
            }
        })*
    };
}

budget_lists!(
    ListPrivacyBudgetsInput,
    ListCollaborationPrivacyBudgetsInput
);

/// The list entry `dto::$shape` of the budget of template `$t` that stands at `$budget`: the
/// fields every budget summary has, and the view's own `$field: $value` ones.
macro_rules! budget_summary {
    ($shape:ident of $t:ident, $budget:ident { $($field:ident: $value:expr,)* }) => {
        dto::$shape {
            budget: $budget,
            collaboration_arn: $t.collaboration_arn.clone(),
            collaboration_id: $t.header.collaboration_id.clone(),
            create_time: $t.create_time,
            id: $t.budget_id.clone(),
            privacy_budget_template_arn: $t.header.arn.clone(),
            privacy_budget_template_id: $t.header.id.clone(),
            r#type: $t.privacy_budget_type,
            update_time: $t.update_time,
            $($field: $value,)*
        }
    };
}

/// One page of the budgets `list` asks for among collaboration `collaboration_id`'s, in a list
/// named `scope` (the page tokens name it): each budget with what has been spent from it as of
/// now, as its list entry `entry(template, budget)`, with the token of the next page.
async fn budget_page<S>(
    state: &AppState,
    scope: &str,
    collaboration_id: &str,
    list: &impl BudgetList,
    entry: impl Fn(&PrivacyBudgetTemplate, dto::PrivacyBudget) -> S,
) -> AwsResult<(Vec<S>, Option<String>)> {
    let (budget_type, resource_arn) = (list.budget_type(), list.resource_arn());
    let (next_token, max_results) = list.page();
    let scope = format!(
        "{scope}:{}:{}",
        budget_type.as_str(),
        resource_arn.unwrap_or("")
    );
    let after = pagination::resume(&scope, next_token, bad_token)?;
    let now = state.now();
    let mut items = Vec::new();
    for (seq, t) in collaboration_children::<PrivacyBudgetTemplate>(state, collaboration_id).await?
    {
        if after.is_none_or(|a| seq > a)
            && t.privacy_budget_type == budget_type
            && resource_arn.is_none_or(|arn| t.resource_arn() == Some(arn))
        {
            let ledger = ledger_of(state, &t.header.id).await?;
            let budget = budget_of(&t, ledger.as_ref(), now);
            items.push((seq, entry(&t, budget)));
        }
    }
    Ok(pagination::page(
        &scope,
        items,
        pagination::page_size(max_results),
    ))
}

/// ListPrivacyBudgets: the collaboration's budgets of one type, seen from the caller's ACTIVE
/// membership (each shows the membership of the member whose template governs it).
impl Operation for dto::ListPrivacyBudgetsInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let m = active_reader(state, ctx, &input.membership_identifier).await?;
        let scope = format!("privacybudgets:{}", m.id);
        let (privacy_budget_summaries, next_token) =
            budget_page(state, &scope, &m.collaboration_id, &input, |t, budget| {
                budget_summary!(PrivacyBudgetSummary of t, budget {
                    membership_arn: t.header.membership_arn.clone(),
                    membership_id: t.header.membership_id.clone(),
                })
            })
            .await?;
        Ok((privacy_budget_summaries, next_token).into())
    }
}

/// ListCollaborationPrivacyBudgets (any ACTIVE member): the collaboration's budgets of one type.
impl Operation for dto::ListCollaborationPrivacyBudgetsInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let c = active_collaboration(state, ctx, &input.collaboration_identifier).await?;
        let scope = format!("collaborationprivacybudgets:{}", c.id);
        let (collaboration_privacy_budget_summaries, next_token) =
            budget_page(state, &scope, &c.id, &input, |t, budget| {
                budget_summary!(CollaborationPrivacyBudgetSummary of t, budget {
                    creator_account_id: t.header.account_id.clone(),
                })
            })
            .await?;
        Ok(dto::ListCollaborationPrivacyBudgetsOutput {
            collaboration_privacy_budget_summaries,
            next_token,
        })
    }
}

/// PreviewPrivacyImpact: the aggregations a fresh differential privacy budget with the given
/// epsilon and noise would allow (the formula of the live budget). Changes nothing.
impl Operation for dto::PreviewPrivacyImpactInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        active_reader(state, ctx, &input.membership_identifier).await?;
        let dto::PreviewPrivacyImpactParametersInput::DifferentialPrivacy(p) = &input.parameters;
        if !(1..=20).contains(&p.epsilon) {
            return Err(invalid_field(
                "parameters.differentialPrivacy.epsilon",
                format!("epsilon must be between 1 and 20, got {}", p.epsilon),
            ));
        }
        if !(10..=100).contains(&p.users_noise_per_query) {
            return Err(invalid_field(
                "parameters.differentialPrivacy.usersNoisePerQuery",
                format!(
                    "usersNoisePerQuery must be between 10 and 100, got {}",
                    p.users_noise_per_query
                ),
            ));
        }
        Ok(dto::PreviewPrivacyImpactOutput {
            privacy_impact: dto::PrivacyImpact::DifferentialPrivacy(
                dto::DifferentialPrivacyPrivacyImpact {
                    aggregations: preview(p.epsilon, p.users_noise_per_query),
                },
            ),
        })
    }
}
