//! Configured table associations and their (collaboration) analysis rules:
//! Create/Get/Update/DeleteConfiguredTableAssociation (List: [`super::children`]) and
//! Create/Get/Update/DeleteConfiguredTableAssociationAnalysisRule.
//!
//! An association puts one of the caller's configured tables into a collaboration through the
//! caller's membership, under a name that is unique in the collaboration (kept in lower case, as
//! queries name it). A configured table is associated at most once per membership. Association
//! rules (at most one per type, and of the configured table's rule type) name the members that
//! may receive results and the additional analyses allowed on them. Only the membership's owner
//! sees its associations; other members will see them as schemas. Intermediate tables share the
//! name space; deleting an association leaves the intermediate tables built on it
//! `BASE_TABLE_REMOVED`.

use crate::services::cleanrooms::domain::arn::association_arn;
use crate::services::cleanrooms::domain::association::{
    policy_parts, Association, AssociationRule, RuleType,
};
use crate::services::cleanrooms::domain::child::ChildHeader;
use crate::services::cleanrooms::domain::configured_table::ConfiguredTable;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    conflict, invalid_configuration, not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    callers_membership, member, own_active_child, own_child, own_table, put_child, require_active,
    ChildRequest,
};
use crate::services::cleanrooms::records::configured_tables::associations_of_table;
use crate::services::cleanrooms::records::id_mapping::id_mapping_table_named;
use crate::services::cleanrooms::records::intermediate_tables::{
    child_resources, intermediate_tables_of_collaboration,
};
use crate::services::cleanrooms::records::membership_children;
use crate::services::cleanrooms::records::memberships_of;
use crate::services::cleanrooms::workflows::cascade::association_delete_writes;
use crate::services::cleanrooms::workflows::children::{create_child, update_child};
use crate::services::cleanrooms::workflows::lifecycle;
use std::collections::HashSet;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::store::Write;
use crate::util::ids;

/// CreateConfiguredTableAssociation.
pub async fn create_configured_table_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateConfiguredTableAssociationInput,
) -> AwsResult<dto::CreateConfiguredTableAssociationOutput> {
    if let Some(t) = &input.tags {
        check_tag_keys(t.keys())?;
    }
    let name = input.name.to_lowercase();
    let _guard = state.write_lock().await;
    let m = callers_membership(state, ctx, &input.membership_identifier).await?;
    require_active(&m)?;
    let table = own_table(state, ctx, &input.configured_table_identifier).await?;
    if let Some(existing) = associations_of_table(state, ctx, &table.id)
        .await?
        .into_iter()
        .find(|a| a.header.membership_id == m.id)
    {
        return Err(conflict(
            ResourceType::ConfiguredTableAssociation,
            &existing.header.id,
            ConflictReason::AlreadyExists,
            format!(
                "Configured table {} is already associated with membership {} as '{}'",
                table.id, m.id, existing.name
            ),
        ));
    }
    for other in memberships_of(state, &m.collaboration_id).await? {
        for (_, a) in membership_children::<Association>(state, &other.id, None).await? {
            if a.name == name {
                return Err(conflict(
                    ResourceType::ConfiguredTableAssociation,
                    &a.header.id,
                    ConflictReason::AlreadyExists,
                    format!(
                        "name '{}': collaboration {} already has a table named '{name}'",
                        input.name, m.collaboration_id
                    ),
                ));
            }
        }
    }
    if let Some(t) = id_mapping_table_named(state, &m.collaboration_id, &name).await? {
        return Err(conflict(
            ResourceType::ConfiguredTableAssociation,
            &t.header.id,
            ConflictReason::AlreadyExists,
            format!(
                "name '{}': collaboration {} already has an ID mapping table named '{name}'",
                input.name, m.collaboration_id
            ),
        ));
    }
    if let Some(t) = intermediate_tables_of_collaboration(state, &m.collaboration_id)
        .await?
        .into_iter()
        .find(|t| t.name == name)
    {
        return Err(conflict(
            ResourceType::ConfiguredTableAssociation,
            &t.header.id,
            ConflictReason::AlreadyExists,
            format!(
                "name '{}': collaboration {} already has an intermediate table named '{name}'",
                input.name, m.collaboration_id
            ),
        ));
    }
    let now = state.now();
    let id = ids::new_id();
    let association = Association {
        header: ChildHeader::new(&ctx.region, &ctx.account_id, &m, id, association_arn),
        configured_table_id: table.id.clone(),
        configured_table_arn: table.arn.clone(),
        name,
        description: input.description,
        role_arn: input.role_arn,
        analysis_rule_types: Vec::new(),
        create_time: now,
        update_time: now,
    };
    create_child(state, ctx, &association, input.tags).await?;
    Ok(dto::CreateConfiguredTableAssociationOutput {
        configured_table_association: association.to_dto(),
    })
}

/// GetConfiguredTableAssociation (membership owner only), with the intermediate tables built on
/// it, if any, as `childResources`.
pub async fn get_configured_table_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetConfiguredTableAssociationInput,
) -> AwsResult<dto::GetConfiguredTableAssociationOutput> {
    let (_, a) = own_child::<Association>(state, ctx, input.target()).await?;
    let mut configured_table_association = a.to_dto();
    let children = child_resources(state, &a.header.collaboration_id, &a.header.id).await?;
    configured_table_association.child_resources = (!children.is_empty()).then_some(children);
    Ok(dto::GetConfiguredTableAssociationOutput {
        configured_table_association,
    })
}

/// UpdateConfiguredTableAssociation: description and role.
pub async fn update_configured_table_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateConfiguredTableAssociationInput,
) -> AwsResult<dto::UpdateConfiguredTableAssociationOutput> {
    let a = update_child(state, ctx, input, |a: &mut Association, input| {
        if let Some(description) = input.description {
            a.description = Some(description);
        }
        if let Some(role) = input.role_arn {
            a.role_arn = role;
        }
        Ok(Vec::new())
    })
    .await?;
    let configured_table_association = a.to_dto();
    Ok(dto::UpdateConfiguredTableAssociationOutput {
        configured_table_association,
    })
}

/// DeleteConfiguredTableAssociation: the table leaves the collaboration, with its association
/// rules and tags; intermediate tables built on it become `BASE_TABLE_REMOVED`.
pub async fn delete_configured_table_association(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteConfiguredTableAssociationInput,
) -> AwsResult<dto::DeleteConfiguredTableAssociationOutput> {
    let _guard = state.write_lock().await;
    let (_, a) = own_active_child::<Association>(state, ctx, input.target()).await?;
    let mut cascade =
        lifecycle::base_removed(state, &a.header.collaboration_id, &[&a.header.id], &[]).await?;
    cascade
        .writes
        .extend(association_delete_writes(state, &a).await?);
    cascade.commit(state).await?;
    Ok(dto::DeleteConfiguredTableAssociationOutput {})
}

// ---------------------------------------------------------------------------------------------
// Association analysis rules
// ---------------------------------------------------------------------------------------------

/// Checks an association rule: its type is the policy's member and the configured table's rule
/// type, and its result receivers are members that can receive results.
async fn check_rule(
    state: &AppState,
    ctx: &RequestContext,
    m: &Membership,
    a: &Association,
    declared: RuleType,
    policy: &dto::ConfiguredTableAssociationAnalysisRulePolicy,
) -> AwsResult<()> {
    let (actual, receivers, additional) = policy_parts(policy);
    if actual != declared {
        return Err(invalid_configuration(format!(
            "analysisRuleType {} does not match analysisRulePolicy, which is a {} policy (v1.{})",
            declared.as_str(),
            actual.as_str(),
            actual.as_str().to_lowercase()
        )));
    }
    let table: ConfiguredTable = own_table(state, ctx, &a.configured_table_id).await?;
    match table.analysis_rule_type {
        Some(t) if t.as_str() == declared.as_str() => {}
        Some(t) => {
            return Err(invalid_configuration(format!(
                "analysisRuleType {}: configured table '{}' ({}) has a {} analysis rule; the association rule must be of the same type",
                declared.as_str(),
                table.name,
                table.id,
                t.as_str()
            )))
        }
        None => {
            return Err(invalid_configuration(format!(
                "analysisRuleType {}: configured table '{}' ({}) has no analysis rule; add one before the collaboration analysis rule",
                declared.as_str(),
                table.name,
                table.id
            )))
        }
    }
    let prefix = format!("analysisRulePolicy.v1.{}", declared.as_str().to_lowercase());
    let mut seen = HashSet::new();
    for account in receivers.unwrap_or(&[]) {
        if !seen.insert(account) {
            return Err(invalid_configuration(format!(
                "{prefix}.allowedResultReceivers: '{account}' is listed more than once"
            )));
        }
        let member = member(state, &m.collaboration_id, account).await?;
        match member {
            Some(mem)
                if mem.can_view()
                    && mem
                        .abilities
                        .contains(&dto::MemberAbility::CanReceiveResults) => {}
            Some(mem) if mem.can_view() => {
                return Err(invalid_configuration(format!(
                    "{prefix}.allowedResultReceivers: account '{account}' cannot receive results in collaboration {} (no CAN_RECEIVE_RESULTS ability)",
                    m.collaboration_id
                )))
            }
            _ => {
                return Err(invalid_configuration(format!(
                    "{prefix}.allowedResultReceivers: account '{account}' is not a member of collaboration {}",
                    m.collaboration_id
                )))
            }
        }
    }
    let mut seen = HashSet::new();
    for arn in additional.unwrap_or(&[]) {
        if !seen.insert(arn) {
            return Err(invalid_configuration(format!(
                "{prefix}.allowedAdditionalAnalyses: '{arn}' is listed more than once"
            )));
        }
    }
    Ok(())
}

/// The association's rule of type `rule_type`, or not-found.
async fn rule_of(
    state: &AppState,
    a: &Association,
    rule_type: RuleType,
) -> AwsResult<AssociationRule> {
    match records::record::<AssociationRule>(
        state,
        &AssociationRule::record_id(&a.header.id, rule_type),
    )
    .await?
    {
        Some(r) => records::decode(&r),
        None => Err(not_found_msg(
            ResourceType::ConfiguredTableAssociation,
            &a.header.id,
            format!(
                "Configured table association {} has no {} analysis rule",
                a.header.id,
                rule_type.as_str()
            ),
        )),
    }
}

fn put_rule(region: &str, account: &str, rule: &AssociationRule) -> AwsResult<Write> {
    records::put(
        &AssociationRule::record_id(&rule.association_id, rule.rule_type),
        region,
        account,
        Some(&rule.association_id),
        rule,
    )
}

/// CreateConfiguredTableAssociationAnalysisRule.
pub async fn create_configured_table_association_analysis_rule(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateConfiguredTableAssociationAnalysisRuleInput,
) -> AwsResult<dto::CreateConfiguredTableAssociationAnalysisRuleOutput> {
    let _guard = state.write_lock().await;
    let (m, mut a) = own_active_child::<Association>(state, ctx, input.target()).await?;
    if a.analysis_rule_types.contains(&input.analysis_rule_type) {
        return Err(conflict(
            ResourceType::ConfiguredTableAssociation,
            &a.header.id,
            ConflictReason::AlreadyExists,
            format!(
                "Configured table association {} already has a {} analysis rule",
                a.header.id,
                input.analysis_rule_type.as_str()
            ),
        ));
    }
    let (kind, policy) = (input.analysis_rule_type, &input.analysis_rule_policy);
    check_rule(state, ctx, &m, &a, kind, policy).await?;
    let rule = a.add_rule(kind, input.analysis_rule_policy, state.now());
    state
        .store()
        .commit(vec![
            put_rule(&ctx.region, &ctx.account_id, &rule)?,
            put_child(&ctx.region, &a)?,
        ])
        .await?;
    Ok(dto::CreateConfiguredTableAssociationAnalysisRuleOutput {
        analysis_rule: rule.to_dto(),
    })
}

/// GetConfiguredTableAssociationAnalysisRule.
pub async fn get_configured_table_association_analysis_rule(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetConfiguredTableAssociationAnalysisRuleInput,
) -> AwsResult<dto::GetConfiguredTableAssociationAnalysisRuleOutput> {
    let (_, a) = own_child::<Association>(state, ctx, input.target()).await?;
    let rule = rule_of(state, &a, input.analysis_rule_type).await?;
    Ok(dto::GetConfiguredTableAssociationAnalysisRuleOutput {
        analysis_rule: rule.to_dto(),
    })
}

/// UpdateConfiguredTableAssociationAnalysisRule: replaces the policy (same type).
pub async fn update_configured_table_association_analysis_rule(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateConfiguredTableAssociationAnalysisRuleInput,
) -> AwsResult<dto::UpdateConfiguredTableAssociationAnalysisRuleOutput> {
    let _guard = state.write_lock().await;
    let (m, a) = own_active_child::<Association>(state, ctx, input.target()).await?;
    let mut rule = rule_of(state, &a, input.analysis_rule_type).await?;
    let (kind, policy) = (input.analysis_rule_type, &input.analysis_rule_policy);
    check_rule(state, ctx, &m, &a, kind, policy).await?;
    rule.policy = input.analysis_rule_policy;
    rule.update_time = state.now();
    state
        .store()
        .commit(vec![put_rule(&ctx.region, &ctx.account_id, &rule)?])
        .await?;
    Ok(dto::UpdateConfiguredTableAssociationAnalysisRuleOutput {
        analysis_rule: rule.to_dto(),
    })
}

/// DeleteConfiguredTableAssociationAnalysisRule.
pub async fn delete_configured_table_association_analysis_rule(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteConfiguredTableAssociationAnalysisRuleInput,
) -> AwsResult<dto::DeleteConfiguredTableAssociationAnalysisRuleOutput> {
    let _guard = state.write_lock().await;
    let (_, mut a) = own_active_child::<Association>(state, ctx, input.target()).await?;
    let rule = rule_of(state, &a, input.analysis_rule_type).await?;
    a.analysis_rule_types.retain(|t| *t != rule.rule_type);
    a.update_time = state.now();
    state
        .store()
        .commit(vec![
            records::delete::<AssociationRule>(AssociationRule::record_id(
                &a.header.id,
                rule.rule_type,
            )),
            put_child(&ctx.region, &a)?,
        ])
        .await?;
    Ok(dto::DeleteConfiguredTableAssociationAnalysisRuleOutput {})
}
