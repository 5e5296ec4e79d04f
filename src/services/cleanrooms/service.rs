//! The Clean Rooms implementation of the generated `CleanroomsApi` trait: each method delegates
//! to its operation in `ops/`. Operations not listed here keep the trait's 501 default.

use cleanrooms_emulator_api::cleanrooms::api::CleanroomsApi;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use super::ops::{
    analysis_logs, analysis_templates, associations, audience_model_associations, change_requests,
    children, collaborations, configured_tables, id_mapping_tables, id_namespace_associations,
    intermediate_table_rules, intermediate_tables, memberships, privacy_budget_templates,
    protected_jobs, protected_queries, runs, schemas, tags,
};
use crate::error::AwsResult;
use crate::state::AppState;

/// Clean Rooms bound to the emulator state.
#[derive(Debug, Clone)]
pub struct CleanRooms {
    state: AppState,
}

impl CleanRooms {
    /// The service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl CleanroomsApi for CleanRooms {
    async fn create_collaboration(
        &self,
        ctx: &RequestContext,
        input: dto::CreateCollaborationInput,
    ) -> AwsResult<dto::CreateCollaborationOutput> {
        collaborations::create_collaboration(&self.state, ctx, input).await
    }

    async fn get_collaboration(
        &self,
        ctx: &RequestContext,
        input: dto::GetCollaborationInput,
    ) -> AwsResult<dto::GetCollaborationOutput> {
        collaborations::get_collaboration(&self.state, ctx, input).await
    }

    async fn list_collaborations(
        &self,
        ctx: &RequestContext,
        input: dto::ListCollaborationsInput,
    ) -> AwsResult<dto::ListCollaborationsOutput> {
        collaborations::list_collaborations(&self.state, ctx, input).await
    }

    async fn update_collaboration(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateCollaborationInput,
    ) -> AwsResult<dto::UpdateCollaborationOutput> {
        collaborations::update_collaboration(&self.state, ctx, input).await
    }

    async fn delete_collaboration(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteCollaborationInput,
    ) -> AwsResult<dto::DeleteCollaborationOutput> {
        collaborations::delete_collaboration(&self.state, ctx, input).await
    }

    async fn list_members(
        &self,
        ctx: &RequestContext,
        input: dto::ListMembersInput,
    ) -> AwsResult<dto::ListMembersOutput> {
        collaborations::list_members(&self.state, ctx, input).await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: dto::TagResourceInput,
    ) -> AwsResult<dto::TagResourceOutput> {
        tags::tag_resource(&self.state, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: dto::UntagResourceInput,
    ) -> AwsResult<dto::UntagResourceOutput> {
        tags::untag_resource(&self.state, ctx, input).await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: dto::ListTagsForResourceInput,
    ) -> AwsResult<dto::ListTagsForResourceOutput> {
        tags::list_tags_for_resource(&self.state, ctx, input).await
    }

    async fn create_membership(
        &self,
        ctx: &RequestContext,
        input: dto::CreateMembershipInput,
    ) -> AwsResult<dto::CreateMembershipOutput> {
        memberships::create_membership(&self.state, ctx, input).await
    }

    async fn get_membership(
        &self,
        ctx: &RequestContext,
        input: dto::GetMembershipInput,
    ) -> AwsResult<dto::GetMembershipOutput> {
        memberships::get_membership(&self.state, ctx, input).await
    }

    async fn list_memberships(
        &self,
        ctx: &RequestContext,
        input: dto::ListMembershipsInput,
    ) -> AwsResult<dto::ListMembershipsOutput> {
        memberships::list_memberships(&self.state, ctx, input).await
    }

    async fn update_membership(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateMembershipInput,
    ) -> AwsResult<dto::UpdateMembershipOutput> {
        memberships::update_membership(&self.state, ctx, input).await
    }

    async fn delete_membership(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteMembershipInput,
    ) -> AwsResult<dto::DeleteMembershipOutput> {
        memberships::delete_membership(&self.state, ctx, input).await
    }

    async fn delete_member(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteMemberInput,
    ) -> AwsResult<dto::DeleteMemberOutput> {
        memberships::delete_member(&self.state, ctx, input).await
    }

    async fn create_configured_table(
        &self,
        ctx: &RequestContext,
        input: dto::CreateConfiguredTableInput,
    ) -> AwsResult<dto::CreateConfiguredTableOutput> {
        configured_tables::create_configured_table(&self.state, ctx, input).await
    }

    async fn get_configured_table(
        &self,
        ctx: &RequestContext,
        input: dto::GetConfiguredTableInput,
    ) -> AwsResult<dto::GetConfiguredTableOutput> {
        configured_tables::get_configured_table(&self.state, ctx, input).await
    }

    async fn list_configured_tables(
        &self,
        ctx: &RequestContext,
        input: dto::ListConfiguredTablesInput,
    ) -> AwsResult<dto::ListConfiguredTablesOutput> {
        configured_tables::list_configured_tables(&self.state, ctx, input).await
    }

    async fn update_configured_table(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateConfiguredTableInput,
    ) -> AwsResult<dto::UpdateConfiguredTableOutput> {
        configured_tables::update_configured_table(&self.state, ctx, input).await
    }

    async fn delete_configured_table(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteConfiguredTableInput,
    ) -> AwsResult<dto::DeleteConfiguredTableOutput> {
        configured_tables::delete_configured_table(&self.state, ctx, input).await
    }

    async fn create_configured_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::CreateConfiguredTableAnalysisRuleInput,
    ) -> AwsResult<dto::CreateConfiguredTableAnalysisRuleOutput> {
        configured_tables::create_configured_table_analysis_rule(&self.state, ctx, input).await
    }

    async fn get_configured_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::GetConfiguredTableAnalysisRuleInput,
    ) -> AwsResult<dto::GetConfiguredTableAnalysisRuleOutput> {
        configured_tables::get_configured_table_analysis_rule(&self.state, ctx, input).await
    }

    async fn update_configured_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateConfiguredTableAnalysisRuleInput,
    ) -> AwsResult<dto::UpdateConfiguredTableAnalysisRuleOutput> {
        configured_tables::update_configured_table_analysis_rule(&self.state, ctx, input).await
    }

    async fn delete_configured_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteConfiguredTableAnalysisRuleInput,
    ) -> AwsResult<dto::DeleteConfiguredTableAnalysisRuleOutput> {
        configured_tables::delete_configured_table_analysis_rule(&self.state, ctx, input).await
    }

    async fn create_configured_table_association(
        &self,
        ctx: &RequestContext,
        input: dto::CreateConfiguredTableAssociationInput,
    ) -> AwsResult<dto::CreateConfiguredTableAssociationOutput> {
        associations::create_configured_table_association(&self.state, ctx, input).await
    }

    async fn get_configured_table_association(
        &self,
        ctx: &RequestContext,
        input: dto::GetConfiguredTableAssociationInput,
    ) -> AwsResult<dto::GetConfiguredTableAssociationOutput> {
        associations::get_configured_table_association(&self.state, ctx, input).await
    }

    async fn list_configured_table_associations(
        &self,
        ctx: &RequestContext,
        input: dto::ListConfiguredTableAssociationsInput,
    ) -> AwsResult<dto::ListConfiguredTableAssociationsOutput> {
        children::list_own(&self.state, ctx, input).await
    }

    async fn update_configured_table_association(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateConfiguredTableAssociationInput,
    ) -> AwsResult<dto::UpdateConfiguredTableAssociationOutput> {
        associations::update_configured_table_association(&self.state, ctx, input).await
    }

    async fn delete_configured_table_association(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteConfiguredTableAssociationInput,
    ) -> AwsResult<dto::DeleteConfiguredTableAssociationOutput> {
        associations::delete_configured_table_association(&self.state, ctx, input).await
    }

    async fn create_configured_table_association_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::CreateConfiguredTableAssociationAnalysisRuleInput,
    ) -> AwsResult<dto::CreateConfiguredTableAssociationAnalysisRuleOutput> {
        associations::create_configured_table_association_analysis_rule(&self.state, ctx, input)
            .await
    }

    async fn get_configured_table_association_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::GetConfiguredTableAssociationAnalysisRuleInput,
    ) -> AwsResult<dto::GetConfiguredTableAssociationAnalysisRuleOutput> {
        associations::get_configured_table_association_analysis_rule(&self.state, ctx, input).await
    }

    async fn update_configured_table_association_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateConfiguredTableAssociationAnalysisRuleInput,
    ) -> AwsResult<dto::UpdateConfiguredTableAssociationAnalysisRuleOutput> {
        associations::update_configured_table_association_analysis_rule(&self.state, ctx, input)
            .await
    }

    async fn delete_configured_table_association_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteConfiguredTableAssociationAnalysisRuleInput,
    ) -> AwsResult<dto::DeleteConfiguredTableAssociationAnalysisRuleOutput> {
        associations::delete_configured_table_association_analysis_rule(&self.state, ctx, input)
            .await
    }

    async fn create_privacy_budget_template(
        &self,
        ctx: &RequestContext,
        input: dto::CreatePrivacyBudgetTemplateInput,
    ) -> AwsResult<dto::CreatePrivacyBudgetTemplateOutput> {
        privacy_budget_templates::create_privacy_budget_template(&self.state, ctx, input).await
    }

    async fn get_privacy_budget_template(
        &self,
        ctx: &RequestContext,
        input: dto::GetPrivacyBudgetTemplateInput,
    ) -> AwsResult<dto::GetPrivacyBudgetTemplateOutput> {
        children::get_own(&self.state, ctx, input).await
    }

    async fn list_privacy_budget_templates(
        &self,
        ctx: &RequestContext,
        input: dto::ListPrivacyBudgetTemplatesInput,
    ) -> AwsResult<dto::ListPrivacyBudgetTemplatesOutput> {
        children::list_own(&self.state, ctx, input).await
    }

    async fn update_privacy_budget_template(
        &self,
        ctx: &RequestContext,
        input: dto::UpdatePrivacyBudgetTemplateInput,
    ) -> AwsResult<dto::UpdatePrivacyBudgetTemplateOutput> {
        privacy_budget_templates::update_privacy_budget_template(&self.state, ctx, input).await
    }

    async fn delete_privacy_budget_template(
        &self,
        ctx: &RequestContext,
        input: dto::DeletePrivacyBudgetTemplateInput,
    ) -> AwsResult<dto::DeletePrivacyBudgetTemplateOutput> {
        privacy_budget_templates::delete_privacy_budget_template(&self.state, ctx, input).await
    }

    async fn get_collaboration_privacy_budget_template(
        &self,
        ctx: &RequestContext,
        input: dto::GetCollaborationPrivacyBudgetTemplateInput,
    ) -> AwsResult<dto::GetCollaborationPrivacyBudgetTemplateOutput> {
        privacy_budget_templates::get_collaboration_privacy_budget_template(&self.state, ctx, input)
            .await
    }

    async fn list_collaboration_privacy_budget_templates(
        &self,
        ctx: &RequestContext,
        input: dto::ListCollaborationPrivacyBudgetTemplatesInput,
    ) -> AwsResult<dto::ListCollaborationPrivacyBudgetTemplatesOutput> {
        privacy_budget_templates::list_collaboration_privacy_budget_templates(
            &self.state,
            ctx,
            input,
        )
        .await
    }

    async fn list_privacy_budgets(
        &self,
        ctx: &RequestContext,
        input: dto::ListPrivacyBudgetsInput,
    ) -> AwsResult<dto::ListPrivacyBudgetsOutput> {
        privacy_budget_templates::list_privacy_budgets(&self.state, ctx, input).await
    }

    async fn list_collaboration_privacy_budgets(
        &self,
        ctx: &RequestContext,
        input: dto::ListCollaborationPrivacyBudgetsInput,
    ) -> AwsResult<dto::ListCollaborationPrivacyBudgetsOutput> {
        privacy_budget_templates::list_collaboration_privacy_budgets(&self.state, ctx, input).await
    }

    async fn preview_privacy_impact(
        &self,
        ctx: &RequestContext,
        input: dto::PreviewPrivacyImpactInput,
    ) -> AwsResult<dto::PreviewPrivacyImpactOutput> {
        privacy_budget_templates::preview_privacy_impact(&self.state, ctx, input).await
    }

    async fn create_analysis_template(
        &self,
        ctx: &RequestContext,
        input: dto::CreateAnalysisTemplateInput,
    ) -> AwsResult<dto::CreateAnalysisTemplateOutput> {
        analysis_templates::create_analysis_template(&self.state, ctx, input).await
    }

    async fn get_analysis_template(
        &self,
        ctx: &RequestContext,
        input: dto::GetAnalysisTemplateInput,
    ) -> AwsResult<dto::GetAnalysisTemplateOutput> {
        analysis_templates::get_analysis_template(&self.state, ctx, input).await
    }

    async fn list_analysis_templates(
        &self,
        ctx: &RequestContext,
        input: dto::ListAnalysisTemplatesInput,
    ) -> AwsResult<dto::ListAnalysisTemplatesOutput> {
        children::list_own(&self.state, ctx, input).await
    }

    async fn update_analysis_template(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateAnalysisTemplateInput,
    ) -> AwsResult<dto::UpdateAnalysisTemplateOutput> {
        analysis_templates::update_analysis_template(&self.state, ctx, input).await
    }

    async fn delete_analysis_template(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteAnalysisTemplateInput,
    ) -> AwsResult<dto::DeleteAnalysisTemplateOutput> {
        children::delete_own(&self.state, ctx, input).await
    }

    async fn get_collaboration_analysis_template(
        &self,
        ctx: &RequestContext,
        input: dto::GetCollaborationAnalysisTemplateInput,
    ) -> AwsResult<dto::GetCollaborationAnalysisTemplateOutput> {
        analysis_templates::get_collaboration_analysis_template(&self.state, ctx, input).await
    }

    async fn list_collaboration_analysis_templates(
        &self,
        ctx: &RequestContext,
        input: dto::ListCollaborationAnalysisTemplatesInput,
    ) -> AwsResult<dto::ListCollaborationAnalysisTemplatesOutput> {
        children::list_in_collaboration(&self.state, ctx, input).await
    }

    async fn batch_get_collaboration_analysis_template(
        &self,
        ctx: &RequestContext,
        input: dto::BatchGetCollaborationAnalysisTemplateInput,
    ) -> AwsResult<dto::BatchGetCollaborationAnalysisTemplateOutput> {
        analysis_templates::batch_get_collaboration_analysis_template(&self.state, ctx, input).await
    }

    async fn list_schemas(
        &self,
        ctx: &RequestContext,
        input: dto::ListSchemasInput,
    ) -> AwsResult<dto::ListSchemasOutput> {
        schemas::list_schemas(&self.state, ctx, input).await
    }

    async fn get_schema(
        &self,
        ctx: &RequestContext,
        input: dto::GetSchemaInput,
    ) -> AwsResult<dto::GetSchemaOutput> {
        schemas::get_schema(&self.state, ctx, input).await
    }

    async fn batch_get_schema(
        &self,
        ctx: &RequestContext,
        input: dto::BatchGetSchemaInput,
    ) -> AwsResult<dto::BatchGetSchemaOutput> {
        schemas::batch_get_schema(&self.state, ctx, input).await
    }

    async fn get_schema_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::GetSchemaAnalysisRuleInput,
    ) -> AwsResult<dto::GetSchemaAnalysisRuleOutput> {
        schemas::get_schema_analysis_rule(&self.state, ctx, input).await
    }

    async fn batch_get_schema_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::BatchGetSchemaAnalysisRuleInput,
    ) -> AwsResult<dto::BatchGetSchemaAnalysisRuleOutput> {
        schemas::batch_get_schema_analysis_rule(&self.state, ctx, input).await
    }

    async fn start_protected_query(
        &self,
        ctx: &RequestContext,
        input: dto::StartProtectedQueryInput,
    ) -> AwsResult<dto::StartProtectedQueryOutput> {
        protected_queries::start_protected_query(&self.state, ctx, input).await
    }

    async fn get_protected_query(
        &self,
        ctx: &RequestContext,
        input: dto::GetProtectedQueryInput,
    ) -> AwsResult<dto::GetProtectedQueryOutput> {
        runs::get_run(&self.state, ctx, input).await
    }

    async fn list_protected_queries(
        &self,
        ctx: &RequestContext,
        input: dto::ListProtectedQueriesInput,
    ) -> AwsResult<dto::ListProtectedQueriesOutput> {
        runs::list_runs(&self.state, ctx, input).await
    }

    async fn update_protected_query(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateProtectedQueryInput,
    ) -> AwsResult<dto::UpdateProtectedQueryOutput> {
        runs::cancel(&self.state, ctx, input).await
    }

    async fn start_protected_job(
        &self,
        ctx: &RequestContext,
        input: dto::StartProtectedJobInput,
    ) -> AwsResult<dto::StartProtectedJobOutput> {
        protected_jobs::start_protected_job(&self.state, ctx, input).await
    }

    async fn get_protected_job(
        &self,
        ctx: &RequestContext,
        input: dto::GetProtectedJobInput,
    ) -> AwsResult<dto::GetProtectedJobOutput> {
        runs::get_run(&self.state, ctx, input).await
    }

    async fn list_protected_jobs(
        &self,
        ctx: &RequestContext,
        input: dto::ListProtectedJobsInput,
    ) -> AwsResult<dto::ListProtectedJobsOutput> {
        runs::list_runs(&self.state, ctx, input).await
    }

    async fn update_protected_job(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateProtectedJobInput,
    ) -> AwsResult<dto::UpdateProtectedJobOutput> {
        runs::cancel(&self.state, ctx, input).await
    }

    async fn populate_intermediate_table(
        &self,
        ctx: &RequestContext,
        input: dto::PopulateIntermediateTableInput,
    ) -> AwsResult<dto::PopulateIntermediateTableOutput> {
        intermediate_tables::populate_intermediate_table(&self.state, ctx, input).await
    }

    async fn create_intermediate_table(
        &self,
        ctx: &RequestContext,
        input: dto::CreateIntermediateTableInput,
    ) -> AwsResult<dto::CreateIntermediateTableOutput> {
        intermediate_tables::create_intermediate_table(&self.state, ctx, input).await
    }

    async fn get_intermediate_table(
        &self,
        ctx: &RequestContext,
        input: dto::GetIntermediateTableInput,
    ) -> AwsResult<dto::GetIntermediateTableOutput> {
        intermediate_tables::get_intermediate_table(&self.state, ctx, input).await
    }

    async fn list_intermediate_tables(
        &self,
        ctx: &RequestContext,
        input: dto::ListIntermediateTablesInput,
    ) -> AwsResult<dto::ListIntermediateTablesOutput> {
        intermediate_tables::list_intermediate_tables(&self.state, ctx, input).await
    }

    async fn update_intermediate_table(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateIntermediateTableInput,
    ) -> AwsResult<dto::UpdateIntermediateTableOutput> {
        intermediate_tables::update_intermediate_table(&self.state, ctx, input).await
    }

    async fn delete_intermediate_table(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteIntermediateTableInput,
    ) -> AwsResult<dto::DeleteIntermediateTableOutput> {
        intermediate_tables::delete_intermediate_table(&self.state, ctx, input).await
    }

    async fn list_intermediate_table_versions(
        &self,
        ctx: &RequestContext,
        input: dto::ListIntermediateTableVersionsInput,
    ) -> AwsResult<dto::ListIntermediateTableVersionsOutput> {
        intermediate_tables::list_intermediate_table_versions(&self.state, ctx, input).await
    }

    async fn disallow_intermediate_table(
        &self,
        ctx: &RequestContext,
        input: dto::DisallowIntermediateTableInput,
    ) -> AwsResult<dto::DisallowIntermediateTableOutput> {
        intermediate_tables::disallow_intermediate_table(&self.state, ctx, input).await
    }

    async fn create_intermediate_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::CreateIntermediateTableAnalysisRuleInput,
    ) -> AwsResult<dto::CreateIntermediateTableAnalysisRuleOutput> {
        intermediate_table_rules::create_intermediate_table_analysis_rule(&self.state, ctx, input)
            .await
    }

    async fn get_intermediate_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::GetIntermediateTableAnalysisRuleInput,
    ) -> AwsResult<dto::GetIntermediateTableAnalysisRuleOutput> {
        intermediate_table_rules::get_intermediate_table_analysis_rule(&self.state, ctx, input)
            .await
    }

    async fn update_intermediate_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateIntermediateTableAnalysisRuleInput,
    ) -> AwsResult<dto::UpdateIntermediateTableAnalysisRuleOutput> {
        intermediate_table_rules::update_intermediate_table_analysis_rule(&self.state, ctx, input)
            .await
    }

    async fn delete_intermediate_table_analysis_rule(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteIntermediateTableAnalysisRuleInput,
    ) -> AwsResult<dto::DeleteIntermediateTableAnalysisRuleOutput> {
        intermediate_table_rules::delete_intermediate_table_analysis_rule(&self.state, ctx, input)
            .await
    }

    async fn create_collaboration_change_request(
        &self,
        ctx: &RequestContext,
        input: dto::CreateCollaborationChangeRequestInput,
    ) -> AwsResult<dto::CreateCollaborationChangeRequestOutput> {
        change_requests::create_collaboration_change_request(&self.state, ctx, input).await
    }

    async fn get_collaboration_change_request(
        &self,
        ctx: &RequestContext,
        input: dto::GetCollaborationChangeRequestInput,
    ) -> AwsResult<dto::GetCollaborationChangeRequestOutput> {
        change_requests::get_collaboration_change_request(&self.state, ctx, input).await
    }

    async fn list_collaboration_change_requests(
        &self,
        ctx: &RequestContext,
        input: dto::ListCollaborationChangeRequestsInput,
    ) -> AwsResult<dto::ListCollaborationChangeRequestsOutput> {
        change_requests::list_collaboration_change_requests(&self.state, ctx, input).await
    }

    async fn update_collaboration_change_request(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateCollaborationChangeRequestInput,
    ) -> AwsResult<dto::UpdateCollaborationChangeRequestOutput> {
        change_requests::update_collaboration_change_request(&self.state, ctx, input).await
    }

    async fn create_configured_audience_model_association(
        &self,
        ctx: &RequestContext,
        input: dto::CreateConfiguredAudienceModelAssociationInput,
    ) -> AwsResult<dto::CreateConfiguredAudienceModelAssociationOutput> {
        audience_model_associations::create_configured_audience_model_association(
            &self.state,
            ctx,
            input,
        )
        .await
    }

    async fn get_configured_audience_model_association(
        &self,
        ctx: &RequestContext,
        input: dto::GetConfiguredAudienceModelAssociationInput,
    ) -> AwsResult<dto::GetConfiguredAudienceModelAssociationOutput> {
        children::get_own(&self.state, ctx, input).await
    }

    async fn list_configured_audience_model_associations(
        &self,
        ctx: &RequestContext,
        input: dto::ListConfiguredAudienceModelAssociationsInput,
    ) -> AwsResult<dto::ListConfiguredAudienceModelAssociationsOutput> {
        children::list_own(&self.state, ctx, input).await
    }

    async fn update_configured_audience_model_association(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateConfiguredAudienceModelAssociationInput,
    ) -> AwsResult<dto::UpdateConfiguredAudienceModelAssociationOutput> {
        audience_model_associations::update_configured_audience_model_association(
            &self.state,
            ctx,
            input,
        )
        .await
    }

    async fn delete_configured_audience_model_association(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteConfiguredAudienceModelAssociationInput,
    ) -> AwsResult<dto::DeleteConfiguredAudienceModelAssociationOutput> {
        children::delete_own(&self.state, ctx, input).await
    }

    async fn get_collaboration_configured_audience_model_association(
        &self,
        ctx: &RequestContext,
        input: dto::GetCollaborationConfiguredAudienceModelAssociationInput,
    ) -> AwsResult<dto::GetCollaborationConfiguredAudienceModelAssociationOutput> {
        children::get_in_collaboration(&self.state, ctx, input).await
    }

    async fn list_collaboration_configured_audience_model_associations(
        &self,
        ctx: &RequestContext,
        input: dto::ListCollaborationConfiguredAudienceModelAssociationsInput,
    ) -> AwsResult<dto::ListCollaborationConfiguredAudienceModelAssociationsOutput> {
        children::list_in_collaboration(&self.state, ctx, input).await
    }

    async fn start_analysis_log_export(
        &self,
        ctx: &RequestContext,
        input: dto::StartAnalysisLogExportInput,
    ) -> AwsResult<dto::StartAnalysisLogExportOutput> {
        analysis_logs::start_analysis_log_export(&self.state, ctx, input).await
    }

    async fn get_analysis_log_export(
        &self,
        ctx: &RequestContext,
        input: dto::GetAnalysisLogExportInput,
    ) -> AwsResult<dto::GetAnalysisLogExportOutput> {
        analysis_logs::get_analysis_log_export(&self.state, ctx, input).await
    }

    async fn list_analysis_log_exports(
        &self,
        ctx: &RequestContext,
        input: dto::ListAnalysisLogExportsInput,
    ) -> AwsResult<dto::ListAnalysisLogExportsOutput> {
        analysis_logs::list_analysis_log_exports(&self.state, ctx, input).await
    }

    async fn create_id_namespace_association(
        &self,
        ctx: &RequestContext,
        input: dto::CreateIdNamespaceAssociationInput,
    ) -> AwsResult<dto::CreateIdNamespaceAssociationOutput> {
        id_namespace_associations::create_id_namespace_association(&self.state, ctx, input).await
    }

    async fn get_id_namespace_association(
        &self,
        ctx: &RequestContext,
        input: dto::GetIdNamespaceAssociationInput,
    ) -> AwsResult<dto::GetIdNamespaceAssociationOutput> {
        children::get_own(&self.state, ctx, input).await
    }

    async fn list_id_namespace_associations(
        &self,
        ctx: &RequestContext,
        input: dto::ListIdNamespaceAssociationsInput,
    ) -> AwsResult<dto::ListIdNamespaceAssociationsOutput> {
        children::list_own(&self.state, ctx, input).await
    }

    async fn update_id_namespace_association(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateIdNamespaceAssociationInput,
    ) -> AwsResult<dto::UpdateIdNamespaceAssociationOutput> {
        id_namespace_associations::update_id_namespace_association(&self.state, ctx, input).await
    }

    async fn delete_id_namespace_association(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteIdNamespaceAssociationInput,
    ) -> AwsResult<dto::DeleteIdNamespaceAssociationOutput> {
        id_namespace_associations::delete_id_namespace_association(&self.state, ctx, input).await
    }

    async fn get_collaboration_id_namespace_association(
        &self,
        ctx: &RequestContext,
        input: dto::GetCollaborationIdNamespaceAssociationInput,
    ) -> AwsResult<dto::GetCollaborationIdNamespaceAssociationOutput> {
        children::get_in_collaboration(&self.state, ctx, input).await
    }

    async fn list_collaboration_id_namespace_associations(
        &self,
        ctx: &RequestContext,
        input: dto::ListCollaborationIdNamespaceAssociationsInput,
    ) -> AwsResult<dto::ListCollaborationIdNamespaceAssociationsOutput> {
        children::list_in_collaboration(&self.state, ctx, input).await
    }

    async fn create_id_mapping_table(
        &self,
        ctx: &RequestContext,
        input: dto::CreateIdMappingTableInput,
    ) -> AwsResult<dto::CreateIdMappingTableOutput> {
        id_mapping_tables::create_id_mapping_table(&self.state, ctx, input).await
    }

    async fn get_id_mapping_table(
        &self,
        ctx: &RequestContext,
        input: dto::GetIdMappingTableInput,
    ) -> AwsResult<dto::GetIdMappingTableOutput> {
        children::get_own(&self.state, ctx, input).await
    }

    async fn list_id_mapping_tables(
        &self,
        ctx: &RequestContext,
        input: dto::ListIdMappingTablesInput,
    ) -> AwsResult<dto::ListIdMappingTablesOutput> {
        children::list_own(&self.state, ctx, input).await
    }

    async fn update_id_mapping_table(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateIdMappingTableInput,
    ) -> AwsResult<dto::UpdateIdMappingTableOutput> {
        id_mapping_tables::update_id_mapping_table(&self.state, ctx, input).await
    }

    async fn delete_id_mapping_table(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteIdMappingTableInput,
    ) -> AwsResult<dto::DeleteIdMappingTableOutput> {
        id_mapping_tables::delete_id_mapping_table(&self.state, ctx, input).await
    }

    async fn populate_id_mapping_table(
        &self,
        ctx: &RequestContext,
        input: dto::PopulateIdMappingTableInput,
    ) -> AwsResult<dto::PopulateIdMappingTableOutput> {
        id_mapping_tables::populate_id_mapping_table(&self.state, ctx, input).await
    }
}
