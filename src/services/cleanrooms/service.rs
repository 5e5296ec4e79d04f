//! The Clean Rooms implementation of the generated `CleanroomsApi` trait: each method hands its
//! input to the operation's handler in `ops/` (the input's [`Operation`] implementation), one
//! line per operation in `handlers!`. Operations not listed here keep the trait's 501 default.

use cleanrooms_emulator_api::cleanrooms::api::CleanroomsApi;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use super::ops::Operation;
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

/// Declares `CleanroomsApi` methods that hand their input to its handler: `fn method(Input) ->
/// Output;` is the method `method` taking `dto::Input` and answering, as `dto::Output`, what
/// `Input`'s [`Operation`] implementation in `ops/` does. It is invoked with brackets, so each
/// `fn method` stands directly in the impl block, where `cargo xtask` reads the operations
/// served.
macro_rules! handlers {
    ($(fn $method:ident($input:ident) -> $output:ident;)*) => {
        $(async fn $method(
            &self,
            ctx: &RequestContext,
            input: dto::$input,
        ) -> AwsResult<dto::$output> {
            <dto::$input as Operation>::run(&self.state, ctx, input).await
        })*
    };
}

impl CleanroomsApi for CleanRooms {
    handlers![
        fn create_collaboration(CreateCollaborationInput) -> CreateCollaborationOutput;
        fn get_collaboration(GetCollaborationInput) -> GetCollaborationOutput;
        fn list_collaborations(ListCollaborationsInput) -> ListCollaborationsOutput;
        fn update_collaboration(UpdateCollaborationInput) -> UpdateCollaborationOutput;
        fn delete_collaboration(DeleteCollaborationInput) -> DeleteCollaborationOutput;
        fn list_members(ListMembersInput) -> ListMembersOutput;
        fn tag_resource(TagResourceInput) -> TagResourceOutput;
        fn untag_resource(UntagResourceInput) -> UntagResourceOutput;
        fn list_tags_for_resource(ListTagsForResourceInput) -> ListTagsForResourceOutput;
        fn create_membership(CreateMembershipInput) -> CreateMembershipOutput;
        fn get_membership(GetMembershipInput) -> GetMembershipOutput;
        fn list_memberships(ListMembershipsInput) -> ListMembershipsOutput;
        fn update_membership(UpdateMembershipInput) -> UpdateMembershipOutput;
        fn delete_membership(DeleteMembershipInput) -> DeleteMembershipOutput;
        fn delete_member(DeleteMemberInput) -> DeleteMemberOutput;
        fn create_configured_table(CreateConfiguredTableInput) -> CreateConfiguredTableOutput;
        fn get_configured_table(GetConfiguredTableInput) -> GetConfiguredTableOutput;
        fn list_configured_tables(ListConfiguredTablesInput) -> ListConfiguredTablesOutput;
        fn update_configured_table(UpdateConfiguredTableInput) -> UpdateConfiguredTableOutput;
        fn delete_configured_table(DeleteConfiguredTableInput) -> DeleteConfiguredTableOutput;
        fn create_configured_table_analysis_rule(CreateConfiguredTableAnalysisRuleInput) -> CreateConfiguredTableAnalysisRuleOutput;
        fn get_configured_table_analysis_rule(GetConfiguredTableAnalysisRuleInput) -> GetConfiguredTableAnalysisRuleOutput;
        fn update_configured_table_analysis_rule(UpdateConfiguredTableAnalysisRuleInput) -> UpdateConfiguredTableAnalysisRuleOutput;
        fn delete_configured_table_analysis_rule(DeleteConfiguredTableAnalysisRuleInput) -> DeleteConfiguredTableAnalysisRuleOutput;
        fn create_configured_table_association(CreateConfiguredTableAssociationInput) -> CreateConfiguredTableAssociationOutput;
        fn get_configured_table_association(GetConfiguredTableAssociationInput) -> GetConfiguredTableAssociationOutput;
        fn list_configured_table_associations(ListConfiguredTableAssociationsInput) -> ListConfiguredTableAssociationsOutput;
        fn update_configured_table_association(UpdateConfiguredTableAssociationInput) -> UpdateConfiguredTableAssociationOutput;
        fn delete_configured_table_association(DeleteConfiguredTableAssociationInput) -> DeleteConfiguredTableAssociationOutput;
        fn create_configured_table_association_analysis_rule(CreateConfiguredTableAssociationAnalysisRuleInput) -> CreateConfiguredTableAssociationAnalysisRuleOutput;
        fn get_configured_table_association_analysis_rule(GetConfiguredTableAssociationAnalysisRuleInput) -> GetConfiguredTableAssociationAnalysisRuleOutput;
        fn update_configured_table_association_analysis_rule(UpdateConfiguredTableAssociationAnalysisRuleInput) -> UpdateConfiguredTableAssociationAnalysisRuleOutput;
        fn delete_configured_table_association_analysis_rule(DeleteConfiguredTableAssociationAnalysisRuleInput) -> DeleteConfiguredTableAssociationAnalysisRuleOutput;
        fn create_privacy_budget_template(CreatePrivacyBudgetTemplateInput) -> CreatePrivacyBudgetTemplateOutput;
        fn get_privacy_budget_template(GetPrivacyBudgetTemplateInput) -> GetPrivacyBudgetTemplateOutput;
        fn list_privacy_budget_templates(ListPrivacyBudgetTemplatesInput) -> ListPrivacyBudgetTemplatesOutput;
        fn update_privacy_budget_template(UpdatePrivacyBudgetTemplateInput) -> UpdatePrivacyBudgetTemplateOutput;
        fn delete_privacy_budget_template(DeletePrivacyBudgetTemplateInput) -> DeletePrivacyBudgetTemplateOutput;
        fn get_collaboration_privacy_budget_template(GetCollaborationPrivacyBudgetTemplateInput) -> GetCollaborationPrivacyBudgetTemplateOutput;
        fn list_collaboration_privacy_budget_templates(ListCollaborationPrivacyBudgetTemplatesInput) -> ListCollaborationPrivacyBudgetTemplatesOutput;
        fn list_privacy_budgets(ListPrivacyBudgetsInput) -> ListPrivacyBudgetsOutput;
        fn list_collaboration_privacy_budgets(ListCollaborationPrivacyBudgetsInput) -> ListCollaborationPrivacyBudgetsOutput;
        fn preview_privacy_impact(PreviewPrivacyImpactInput) -> PreviewPrivacyImpactOutput;
        fn create_analysis_template(CreateAnalysisTemplateInput) -> CreateAnalysisTemplateOutput;
        fn get_analysis_template(GetAnalysisTemplateInput) -> GetAnalysisTemplateOutput;
        fn list_analysis_templates(ListAnalysisTemplatesInput) -> ListAnalysisTemplatesOutput;
        fn update_analysis_template(UpdateAnalysisTemplateInput) -> UpdateAnalysisTemplateOutput;
        fn delete_analysis_template(DeleteAnalysisTemplateInput) -> DeleteAnalysisTemplateOutput;
        fn get_collaboration_analysis_template(GetCollaborationAnalysisTemplateInput) -> GetCollaborationAnalysisTemplateOutput;
        fn list_collaboration_analysis_templates(ListCollaborationAnalysisTemplatesInput) -> ListCollaborationAnalysisTemplatesOutput;
        fn batch_get_collaboration_analysis_template(BatchGetCollaborationAnalysisTemplateInput) -> BatchGetCollaborationAnalysisTemplateOutput;
        fn list_schemas(ListSchemasInput) -> ListSchemasOutput;
        fn get_schema(GetSchemaInput) -> GetSchemaOutput;
        fn batch_get_schema(BatchGetSchemaInput) -> BatchGetSchemaOutput;
        fn get_schema_analysis_rule(GetSchemaAnalysisRuleInput) -> GetSchemaAnalysisRuleOutput;
        fn batch_get_schema_analysis_rule(BatchGetSchemaAnalysisRuleInput) -> BatchGetSchemaAnalysisRuleOutput;
        fn start_protected_query(StartProtectedQueryInput) -> StartProtectedQueryOutput;
        fn get_protected_query(GetProtectedQueryInput) -> GetProtectedQueryOutput;
        fn list_protected_queries(ListProtectedQueriesInput) -> ListProtectedQueriesOutput;
        fn update_protected_query(UpdateProtectedQueryInput) -> UpdateProtectedQueryOutput;
        fn start_protected_job(StartProtectedJobInput) -> StartProtectedJobOutput;
        fn get_protected_job(GetProtectedJobInput) -> GetProtectedJobOutput;
        fn list_protected_jobs(ListProtectedJobsInput) -> ListProtectedJobsOutput;
        fn update_protected_job(UpdateProtectedJobInput) -> UpdateProtectedJobOutput;
        fn populate_intermediate_table(PopulateIntermediateTableInput) -> PopulateIntermediateTableOutput;
        fn create_intermediate_table(CreateIntermediateTableInput) -> CreateIntermediateTableOutput;
        fn get_intermediate_table(GetIntermediateTableInput) -> GetIntermediateTableOutput;
        fn list_intermediate_tables(ListIntermediateTablesInput) -> ListIntermediateTablesOutput;
        fn update_intermediate_table(UpdateIntermediateTableInput) -> UpdateIntermediateTableOutput;
        fn delete_intermediate_table(DeleteIntermediateTableInput) -> DeleteIntermediateTableOutput;
        fn list_intermediate_table_versions(ListIntermediateTableVersionsInput) -> ListIntermediateTableVersionsOutput;
        fn disallow_intermediate_table(DisallowIntermediateTableInput) -> DisallowIntermediateTableOutput;
        fn create_intermediate_table_analysis_rule(CreateIntermediateTableAnalysisRuleInput) -> CreateIntermediateTableAnalysisRuleOutput;
        fn get_intermediate_table_analysis_rule(GetIntermediateTableAnalysisRuleInput) -> GetIntermediateTableAnalysisRuleOutput;
        fn update_intermediate_table_analysis_rule(UpdateIntermediateTableAnalysisRuleInput) -> UpdateIntermediateTableAnalysisRuleOutput;
        fn delete_intermediate_table_analysis_rule(DeleteIntermediateTableAnalysisRuleInput) -> DeleteIntermediateTableAnalysisRuleOutput;
        fn create_collaboration_change_request(CreateCollaborationChangeRequestInput) -> CreateCollaborationChangeRequestOutput;
        fn get_collaboration_change_request(GetCollaborationChangeRequestInput) -> GetCollaborationChangeRequestOutput;
        fn list_collaboration_change_requests(ListCollaborationChangeRequestsInput) -> ListCollaborationChangeRequestsOutput;
        fn update_collaboration_change_request(UpdateCollaborationChangeRequestInput) -> UpdateCollaborationChangeRequestOutput;
        fn create_configured_audience_model_association(CreateConfiguredAudienceModelAssociationInput) -> CreateConfiguredAudienceModelAssociationOutput;
        fn get_configured_audience_model_association(GetConfiguredAudienceModelAssociationInput) -> GetConfiguredAudienceModelAssociationOutput;
        fn list_configured_audience_model_associations(ListConfiguredAudienceModelAssociationsInput) -> ListConfiguredAudienceModelAssociationsOutput;
        fn update_configured_audience_model_association(UpdateConfiguredAudienceModelAssociationInput) -> UpdateConfiguredAudienceModelAssociationOutput;
        fn delete_configured_audience_model_association(DeleteConfiguredAudienceModelAssociationInput) -> DeleteConfiguredAudienceModelAssociationOutput;
        fn get_collaboration_configured_audience_model_association(GetCollaborationConfiguredAudienceModelAssociationInput) -> GetCollaborationConfiguredAudienceModelAssociationOutput;
        fn list_collaboration_configured_audience_model_associations(ListCollaborationConfiguredAudienceModelAssociationsInput) -> ListCollaborationConfiguredAudienceModelAssociationsOutput;
        fn start_analysis_log_export(StartAnalysisLogExportInput) -> StartAnalysisLogExportOutput;
        fn get_analysis_log_export(GetAnalysisLogExportInput) -> GetAnalysisLogExportOutput;
        fn list_analysis_log_exports(ListAnalysisLogExportsInput) -> ListAnalysisLogExportsOutput;
        fn create_id_namespace_association(CreateIdNamespaceAssociationInput) -> CreateIdNamespaceAssociationOutput;
        fn get_id_namespace_association(GetIdNamespaceAssociationInput) -> GetIdNamespaceAssociationOutput;
        fn list_id_namespace_associations(ListIdNamespaceAssociationsInput) -> ListIdNamespaceAssociationsOutput;
        fn update_id_namespace_association(UpdateIdNamespaceAssociationInput) -> UpdateIdNamespaceAssociationOutput;
        fn delete_id_namespace_association(DeleteIdNamespaceAssociationInput) -> DeleteIdNamespaceAssociationOutput;
        fn get_collaboration_id_namespace_association(GetCollaborationIdNamespaceAssociationInput) -> GetCollaborationIdNamespaceAssociationOutput;
        fn list_collaboration_id_namespace_associations(ListCollaborationIdNamespaceAssociationsInput) -> ListCollaborationIdNamespaceAssociationsOutput;
        fn create_id_mapping_table(CreateIdMappingTableInput) -> CreateIdMappingTableOutput;
        fn get_id_mapping_table(GetIdMappingTableInput) -> GetIdMappingTableOutput;
        fn list_id_mapping_tables(ListIdMappingTablesInput) -> ListIdMappingTablesOutput;
        fn update_id_mapping_table(UpdateIdMappingTableInput) -> UpdateIdMappingTableOutput;
        fn delete_id_mapping_table(DeleteIdMappingTableInput) -> DeleteIdMappingTableOutput;
        fn populate_id_mapping_table(PopulateIdMappingTableInput) -> PopulateIdMappingTableOutput;
    ];
}
