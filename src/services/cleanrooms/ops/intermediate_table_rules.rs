//! The CUSTOM analysis rule of an intermediate table: Create/Get/Update/Delete
//! IntermediateTableAnalysisRule (the table's owner only; one rule per table).
//!
//! The policy is checked like a configured table's CUSTOM rule (templates or `ANY_QUERY`/`ANY_JOB`
//! with analysis providers, no duplicates, thresholds and comparison controls not with
//! differential privacy), except that every field is optional and columns are the table's schema
//! columns — checked only once a population recorded them. Result receivers must be members that
//! can receive results. For a multi-party table (a base table of another account) the rule may
//! only tighten the controls inherited at the latest successful population
//! ([`inherited_violation`]). The table's `analysisRuleTypes` follows the rule.

use crate::services::cleanrooms::domain::intermediate_table::PREFIX;
use crate::services::cleanrooms::domain::intermediate_table::{
    policy_problem, IntermediateTable, IntermediateTableRule,
};
use crate::services::cleanrooms::domain::lineage::inherited_violation;
use crate::services::cleanrooms::errors::{
    conflict, invalid_configuration, not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::ops::{check_policy_size, check_result_receiver, Operation};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{owned_active_table, ChildRequest};
use crate::services::cleanrooms::records::intermediate_tables::{put_rule, put_table};
use crate::services::cleanrooms::workflows::lifecycle;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// Checks a rule for table `t`: size, structure, receivers, and for a multi-party table the
/// inherited controls.
async fn check_policy(
    state: &AppState,
    t: &IntermediateTable,
    policy: &dto::IntermediateTableAnalysisRulePolicy,
) -> AwsResult<()> {
    check_policy_size(policy)?;
    let dto::IntermediateTableAnalysisRulePolicy::V1(
        dto::IntermediateTableAnalysisRulePolicyV1::Custom(rule),
    ) = policy;
    if let Some(problem) = policy_problem(rule, t.schema.as_deref()) {
        return Err(invalid_configuration(problem));
    }
    for account in rule.allowed_result_receivers.iter().flatten() {
        check_result_receiver(state, &t.header.collaboration_id, PREFIX, account).await?;
    }
    if let Some(inherited) = t.active.as_ref().and_then(|a| a.binding_inherited()) {
        if let Some(problem) = inherited_violation(rule, inherited) {
            return Err(invalid_configuration(format!(
                "{PREFIX}: intermediate table '{}' is multi-party, so its rule may only tighten the controls inherited from its base tables: {problem}",
                t.name
            )));
        }
    }
    Ok(())
}

fn rule_not_found(t: &IntermediateTable) -> crate::error::AwsError {
    not_found_msg(
        ResourceType::Membership,
        &t.header.id,
        format!(
            "Intermediate table {} has no CUSTOM analysis rule",
            t.header.id
        ),
    )
}

/// CreateIntermediateTableAnalysisRule: the table's one rule.
impl Operation for dto::CreateIntermediateTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (_, mut t) = owned_active_table(state, ctx, input.target()).await?;
        if t.has_rule
            || records::load::<IntermediateTableRule>(state, &t.header.id)
                .await?
                .is_some()
        {
            return Err(conflict(
                ResourceType::Membership,
                &t.header.id,
                ConflictReason::AlreadyExists,
                format!(
                    "Intermediate table '{}' already has a CUSTOM analysis rule; a table can have only one",
                    t.name
                ),
            ));
        }
        check_policy(state, &t, &input.analysis_rule_policy).await?;
        let now = state.now();
        let rule = IntermediateTableRule {
            table_id: t.header.id.clone(),
            table_arn: t.header.arn.clone(),
            policy: input.analysis_rule_policy,
            create_time: now,
            update_time: now,
        };
        t.has_rule = true;
        t.update_time = now;
        state
            .store()
            .commit(vec![put_rule(&t, &rule)?, put_table(&t)?])
            .await?;
        Ok(rule.to_dto().into())
    }
}

/// GetIntermediateTableAnalysisRule.
impl Operation for dto::GetIntermediateTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (membership, id) = input.target();
        let t = lifecycle::read_owned_table(state, ctx, membership, id).await?;
        let rule = records::load::<IntermediateTableRule>(state, &t.header.id)
            .await?
            .ok_or_else(|| rule_not_found(&t))?;
        Ok(rule.to_dto().into())
    }
}

/// UpdateIntermediateTableAnalysisRule: replaces the policy.
impl Operation for dto::UpdateIntermediateTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (_, t) = owned_active_table(state, ctx, input.target()).await?;
        let mut rule = records::load::<IntermediateTableRule>(state, &t.header.id)
            .await?
            .ok_or_else(|| rule_not_found(&t))?;
        check_policy(state, &t, &input.analysis_rule_policy).await?;
        rule.policy = input.analysis_rule_policy;
        rule.update_time = state.now();
        state.store().commit(vec![put_rule(&t, &rule)?]).await?;
        Ok(rule.to_dto().into())
    }
}

/// DeleteIntermediateTableAnalysisRule: the table cannot be analysed until a new rule exists.
impl Operation for dto::DeleteIntermediateTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (_, mut t) = owned_active_table(state, ctx, input.target()).await?;
        if records::load::<IntermediateTableRule>(state, &t.header.id)
            .await?
            .is_none()
        {
            return Err(rule_not_found(&t));
        }
        t.has_rule = false;
        t.update_time = state.now();
        state
            .store()
            .commit(vec![
                records::delete::<IntermediateTableRule>(t.header.id.clone()),
                put_table(&t)?,
            ])
            .await?;
        Ok(dto::DeleteIntermediateTableAnalysisRuleOutput {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::cleanrooms::domain::configured_table::ANY_QUERY;

    fn col(name: &str, t: &str) -> dto::Column {
        dto::Column {
            name: name.into(),
            r#type: t.into(),
        }
    }

    use crate::services::cleanrooms::domain::lineage::tests::any_query_custom as custom;

    #[test]
    fn an_empty_policy_is_valid() {
        assert_eq!(
            policy_problem(&dto::IntermediateTableAnalysisRuleCustom::default(), None),
            None
        );
        assert_eq!(policy_problem(&custom(), None), None);
    }

    #[test]
    fn wildcards_need_providers_and_templates_refuse_them() {
        let mut r = custom();
        r.allowed_analysis_providers = None;
        assert!(policy_problem(&r, None)
            .is_some_and(|m| m.contains("allowedAnalysisProviders") && m.contains("ANY_QUERY")));
        r.allowed_analyses = Some(vec!["arn:t".into()]);
        r.allowed_analysis_providers = Some(vec!["111111111111".into()]);
        assert!(policy_problem(&r, None).is_some_and(|m| m.contains("allowedAnalysisProviders")));
        r.allowed_analyses = Some(vec!["arn:t".into(), ANY_QUERY.into()]);
        assert!(policy_problem(&r, None).is_some_and(|m| m.contains("cannot be combined")));
    }

    #[test]
    fn columns_are_checked_once_the_schema_is_known() {
        let mut r = custom();
        r.disallowed_output_columns = Some(vec!["email".into()]);
        assert_eq!(policy_problem(&r, None), None);
        let cols = [col("user_id", "string"), col("spend", "double")];
        assert!(policy_problem(&r, Some(&cols))
            .is_some_and(|m| m.contains("disallowedOutputColumns") && m.contains("'email'")));
        r.disallowed_output_columns = Some(vec!["spend".into(), "spend".into()]);
        assert!(policy_problem(&r, Some(&cols)).is_some_and(|m| m.contains("more than once")));
    }

    #[test]
    fn thresholds_need_text_identity_columns_and_no_dp() {
        let cols = [col("user_id", "string"), col("spend", "double")];
        let mut r = custom();
        r.aggregation_thresholds = Some(vec![dto::AggregationThreshold {
            allowed_aggregate_expression_type: dto::AllowedAggregateExpressionType::ColumnsOnly,
            identity_columns: vec!["spend".into()],
            minimum_identity_count: 2,
            output_column_thresholds: None,
            r#type: dto::AggregationThresholdType::CountDistinct,
        }]);
        assert!(policy_problem(&r, Some(&cols)).is_some_and(|m| m.contains("type 'double'")));
        if let Some(t) = r.aggregation_thresholds.as_mut() {
            t[0].identity_columns = vec!["user_id".into()];
        }
        assert_eq!(policy_problem(&r, Some(&cols)), None);
        r.differential_privacy = Some(dto::DifferentialPrivacyConfiguration {
            columns: vec![dto::DifferentialPrivacyColumn {
                name: "user_id".into(),
            }],
        });
        assert!(policy_problem(&r, Some(&cols)).is_some_and(|m| m.contains("differentialPrivacy")));
    }

    #[tokio::test]
    async fn a_multi_party_rule_may_only_tighten_the_inherited_controls() {
        use crate::services::cleanrooms::domain::lineage::tests::{active_version, table};
        let (_dir, state) = crate::server::temp_state().await;
        let mut t = table("t", "joined", "111111111111", Vec::new());
        t.schema = Some(vec![col("user_id", "string"), col("email", "string")]);
        t.active = Some(active_version(false, f64::MAX));
        let policy = |custom| {
            dto::IntermediateTableAnalysisRulePolicy::V1(
                dto::IntermediateTableAnalysisRulePolicyV1::Custom(custom),
            )
        };
        let mut loose = custom();
        loose.additional_analyses = Some(dto::AdditionalAnalyses::NotAllowed);
        loose.disallowed_output_columns = Some(vec!["user_id".into()]);
        let err = check_policy(&state, &t, &policy(loose.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.code, "ValidationException");
        assert_eq!(
            err.fields.get("reason").and_then(|r| r.as_str()),
            Some("INVALID_CONFIGURATION")
        );
        assert!(err.message.contains("multi-party") && err.message.contains("email"));
        let mut tight = custom();
        tight.additional_analyses = Some(dto::AdditionalAnalyses::Required);
        tight.disallowed_output_columns = Some(vec!["email".into(), "user_id".into()]);
        assert!(check_policy(&state, &t, &policy(tight)).await.is_ok());
        if let Some(a) = t.active.as_mut() {
            a.first_party = true;
        }
        assert!(check_policy(&state, &t, &policy(loose)).await.is_ok());
    }
}
