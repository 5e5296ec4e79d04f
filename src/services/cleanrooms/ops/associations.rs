//! Configured table associations and their (collaboration) analysis rules:
//! Create/Get/DeleteConfiguredTableAssociation (List and Update: [`super::children`]) and
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
use crate::services::cleanrooms::domain::configured_table::ConfiguredTable;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    conflict, invalid_configuration, not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::ops::{
    check_result_receiver, check_table_name_free, commit_rule, new_header, remove_table, Operation,
    TableKind,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    callers_membership, own_active_child, own_child, own_table, put_child, require_active,
    ChildRequest,
};
use crate::services::cleanrooms::records::configured_tables::associations_of_table;
use crate::services::cleanrooms::records::intermediate_tables::child_resources;
use crate::services::cleanrooms::workflows::cascade::association_delete_writes;
use crate::services::cleanrooms::workflows::children::create_child;
use std::collections::HashSet;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// CreateConfiguredTableAssociation.
impl Operation for dto::CreateConfiguredTableAssociationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
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
        check_table_name_free(
            state,
            &m.collaboration_id,
            (&input.name, &name),
            ResourceType::ConfiguredTableAssociation,
        )
        .await?;
        let now = state.now();
        let association = Association {
            header: new_header(ctx, &m, association_arn),
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
        Ok(association.to_dto().into())
    }
}

/// GetConfiguredTableAssociation (membership owner only), with the intermediate tables built on
/// it, if any, as `childResources`.
impl Operation for dto::GetConfiguredTableAssociationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (_, a) = own_child::<Association>(state, ctx, input.target()).await?;
        let mut configured_table_association = a.to_dto();
        let children = child_resources(state, &a.header.collaboration_id, &a.header.id).await?;
        configured_table_association.child_resources = (!children.is_empty()).then_some(children);
        Ok(configured_table_association.into())
    }
}

/// DeleteConfiguredTableAssociation: the table leaves the collaboration, with its association
/// rules and tags; intermediate tables built on it become `BASE_TABLE_REMOVED`.
impl Operation for dto::DeleteConfiguredTableAssociationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (_, a) = own_active_child::<Association>(state, ctx, input.target()).await?;
        let writes = association_delete_writes(state, &a).await?;
        let table = (TableKind::Association, a.header.id.as_str());
        remove_table(state, &a.header.collaboration_id, table, writes).await?;
        Ok(dto::DeleteConfiguredTableAssociationOutput {})
    }
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
        check_result_receiver(state, &m.collaboration_id, &prefix, account).await?;
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

/// CreateConfiguredTableAssociationAnalysisRule.
impl Operation for dto::CreateConfiguredTableAssociationAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
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
        let id = AssociationRule::record_id(&rule.association_id, rule.rule_type);
        let parent = put_child(&ctx.region, &a)?;
        commit_rule(state, ctx, (&id, &rule.association_id), &rule, Some(parent)).await?;
        Ok(dto::CreateConfiguredTableAssociationAnalysisRuleOutput {
            analysis_rule: rule.to_dto(),
        })
    }
}

/// GetConfiguredTableAssociationAnalysisRule.
impl Operation for dto::GetConfiguredTableAssociationAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (_, a) = own_child::<Association>(state, ctx, input.target()).await?;
        let rule = rule_of(state, &a, input.analysis_rule_type).await?;
        Ok(dto::GetConfiguredTableAssociationAnalysisRuleOutput {
            analysis_rule: rule.to_dto(),
        })
    }
}

/// UpdateConfiguredTableAssociationAnalysisRule: replaces the policy (same type).
impl Operation for dto::UpdateConfiguredTableAssociationAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (m, a) = own_active_child::<Association>(state, ctx, input.target()).await?;
        let mut rule = rule_of(state, &a, input.analysis_rule_type).await?;
        let (kind, policy) = (input.analysis_rule_type, &input.analysis_rule_policy);
        check_rule(state, ctx, &m, &a, kind, policy).await?;
        rule.policy = input.analysis_rule_policy;
        rule.update_time = state.now();
        let id = AssociationRule::record_id(&rule.association_id, rule.rule_type);
        commit_rule(state, ctx, (&id, &rule.association_id), &rule, None).await?;
        Ok(dto::UpdateConfiguredTableAssociationAnalysisRuleOutput {
            analysis_rule: rule.to_dto(),
        })
    }
}

/// DeleteConfiguredTableAssociationAnalysisRule.
impl Operation for dto::DeleteConfiguredTableAssociationAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
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
}
