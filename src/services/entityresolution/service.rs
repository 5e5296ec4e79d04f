//! The Entity Resolution implementation of the generated `EntityResolutionApi` trait: each
//! method delegates to its operation in `ops/`. Every other operation (matching workflows,
//! jobs, provider services, policies, tags) keeps the trait's 501 default.

use cleanrooms_emulator_api::entityresolution::api::EntityResolutionApi;
use cleanrooms_emulator_api::entityresolution::dto;
use cleanrooms_emulator_api::RequestContext;

use super::ops::{id_mapping_workflows, id_namespaces, schema_mappings};
use crate::error::AwsResult;
use crate::state::AppState;

/// Entity Resolution bound to the emulator state.
#[derive(Debug, Clone)]
pub struct EntityResolution {
    state: AppState,
}

impl EntityResolution {
    /// The service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl EntityResolutionApi for EntityResolution {
    async fn create_schema_mapping(
        &self,
        ctx: &RequestContext,
        input: dto::CreateSchemaMappingInput,
    ) -> AwsResult<dto::CreateSchemaMappingOutput> {
        schema_mappings::create_schema_mapping(&self.state, ctx, input).await
    }

    async fn get_schema_mapping(
        &self,
        ctx: &RequestContext,
        input: dto::GetSchemaMappingInput,
    ) -> AwsResult<dto::GetSchemaMappingOutput> {
        schema_mappings::get_schema_mapping(&self.state, ctx, input).await
    }

    async fn list_schema_mappings(
        &self,
        ctx: &RequestContext,
        input: dto::ListSchemaMappingsInput,
    ) -> AwsResult<dto::ListSchemaMappingsOutput> {
        schema_mappings::list_schema_mappings(&self.state, ctx, input).await
    }

    async fn update_schema_mapping(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateSchemaMappingInput,
    ) -> AwsResult<dto::UpdateSchemaMappingOutput> {
        schema_mappings::update_schema_mapping(&self.state, ctx, input).await
    }

    async fn delete_schema_mapping(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteSchemaMappingInput,
    ) -> AwsResult<dto::DeleteSchemaMappingOutput> {
        schema_mappings::delete_schema_mapping(&self.state, ctx, input).await
    }

    async fn create_id_namespace(
        &self,
        ctx: &RequestContext,
        input: dto::CreateIdNamespaceInput,
    ) -> AwsResult<dto::CreateIdNamespaceOutput> {
        id_namespaces::create_id_namespace(&self.state, ctx, input).await
    }

    async fn get_id_namespace(
        &self,
        ctx: &RequestContext,
        input: dto::GetIdNamespaceInput,
    ) -> AwsResult<dto::GetIdNamespaceOutput> {
        id_namespaces::get_id_namespace(&self.state, ctx, input).await
    }

    async fn list_id_namespaces(
        &self,
        ctx: &RequestContext,
        input: dto::ListIdNamespacesInput,
    ) -> AwsResult<dto::ListIdNamespacesOutput> {
        id_namespaces::list_id_namespaces(&self.state, ctx, input).await
    }

    async fn update_id_namespace(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateIdNamespaceInput,
    ) -> AwsResult<dto::UpdateIdNamespaceOutput> {
        id_namespaces::update_id_namespace(&self.state, ctx, input).await
    }

    async fn delete_id_namespace(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteIdNamespaceInput,
    ) -> AwsResult<dto::DeleteIdNamespaceOutput> {
        id_namespaces::delete_id_namespace(&self.state, ctx, input).await
    }

    async fn create_id_mapping_workflow(
        &self,
        ctx: &RequestContext,
        input: dto::CreateIdMappingWorkflowInput,
    ) -> AwsResult<dto::CreateIdMappingWorkflowOutput> {
        id_mapping_workflows::create_id_mapping_workflow(&self.state, ctx, input).await
    }

    async fn get_id_mapping_workflow(
        &self,
        ctx: &RequestContext,
        input: dto::GetIdMappingWorkflowInput,
    ) -> AwsResult<dto::GetIdMappingWorkflowOutput> {
        id_mapping_workflows::get_id_mapping_workflow(&self.state, ctx, input).await
    }

    async fn list_id_mapping_workflows(
        &self,
        ctx: &RequestContext,
        input: dto::ListIdMappingWorkflowsInput,
    ) -> AwsResult<dto::ListIdMappingWorkflowsOutput> {
        id_mapping_workflows::list_id_mapping_workflows(&self.state, ctx, input).await
    }

    async fn update_id_mapping_workflow(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateIdMappingWorkflowInput,
    ) -> AwsResult<dto::UpdateIdMappingWorkflowOutput> {
        id_mapping_workflows::update_id_mapping_workflow(&self.state, ctx, input).await
    }

    async fn delete_id_mapping_workflow(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteIdMappingWorkflowInput,
    ) -> AwsResult<dto::DeleteIdMappingWorkflowOutput> {
        id_mapping_workflows::delete_id_mapping_workflow(&self.state, ctx, input).await
    }
}
