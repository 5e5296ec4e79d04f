//! The Athena implementation of the generated `AthenaApi` trait: each method delegates to its
//! operation in `ops/`. Operations not listed here (SQL queries, named queries, notebooks,
//! capacity reservations, …) keep the trait's 501 default.

use cleanrooms_emulator_api::athena::api::AthenaApi;
use cleanrooms_emulator_api::athena::dto;
use cleanrooms_emulator_api::RequestContext;

use super::ops::{calculations, sessions, workgroups};
use crate::error::AwsResult;
use crate::state::AppState;

/// Athena bound to the emulator state.
#[derive(Debug, Clone)]
pub struct Athena {
    state: AppState,
}

impl Athena {
    /// The service over `state`.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl AthenaApi for Athena {
    async fn create_work_group(
        &self,
        ctx: &RequestContext,
        input: dto::CreateWorkGroupInput,
    ) -> AwsResult<dto::CreateWorkGroupOutput> {
        workgroups::create_work_group(&self.state, ctx, input).await
    }

    async fn get_work_group(
        &self,
        ctx: &RequestContext,
        input: dto::GetWorkGroupInput,
    ) -> AwsResult<dto::GetWorkGroupOutput> {
        workgroups::get_work_group(&self.state, ctx, input).await
    }

    async fn list_work_groups(
        &self,
        ctx: &RequestContext,
        input: dto::ListWorkGroupsInput,
    ) -> AwsResult<dto::ListWorkGroupsOutput> {
        workgroups::list_work_groups(&self.state, ctx, input).await
    }

    async fn update_work_group(
        &self,
        ctx: &RequestContext,
        input: dto::UpdateWorkGroupInput,
    ) -> AwsResult<dto::UpdateWorkGroupOutput> {
        workgroups::update_work_group(&self.state, ctx, input).await
    }

    async fn delete_work_group(
        &self,
        ctx: &RequestContext,
        input: dto::DeleteWorkGroupInput,
    ) -> AwsResult<dto::DeleteWorkGroupOutput> {
        workgroups::delete_work_group(&self.state, ctx, input).await
    }

    async fn list_engine_versions(
        &self,
        ctx: &RequestContext,
        input: dto::ListEngineVersionsInput,
    ) -> AwsResult<dto::ListEngineVersionsOutput> {
        workgroups::list_engine_versions(&self.state, ctx, input).await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: dto::TagResourceInput,
    ) -> AwsResult<dto::TagResourceOutput> {
        workgroups::tag_resource(&self.state, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: dto::UntagResourceInput,
    ) -> AwsResult<dto::UntagResourceOutput> {
        workgroups::untag_resource(&self.state, ctx, input).await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: dto::ListTagsForResourceInput,
    ) -> AwsResult<dto::ListTagsForResourceOutput> {
        workgroups::list_tags_for_resource(&self.state, ctx, input).await
    }

    async fn start_session(
        &self,
        ctx: &RequestContext,
        input: dto::StartSessionRequest,
    ) -> AwsResult<dto::StartSessionResponse> {
        sessions::start_session(&self.state, ctx, input).await
    }

    async fn get_session(
        &self,
        ctx: &RequestContext,
        input: dto::GetSessionRequest,
    ) -> AwsResult<dto::GetSessionResponse> {
        sessions::get_session(&self.state, ctx, input).await
    }

    async fn get_session_status(
        &self,
        ctx: &RequestContext,
        input: dto::GetSessionStatusRequest,
    ) -> AwsResult<dto::GetSessionStatusResponse> {
        sessions::get_session_status(&self.state, ctx, input).await
    }

    async fn list_sessions(
        &self,
        ctx: &RequestContext,
        input: dto::ListSessionsRequest,
    ) -> AwsResult<dto::ListSessionsResponse> {
        sessions::list_sessions(&self.state, ctx, input).await
    }

    async fn terminate_session(
        &self,
        ctx: &RequestContext,
        input: dto::TerminateSessionRequest,
    ) -> AwsResult<dto::TerminateSessionResponse> {
        sessions::terminate_session(&self.state, ctx, input).await
    }

    async fn start_calculation_execution(
        &self,
        ctx: &RequestContext,
        input: dto::StartCalculationExecutionRequest,
    ) -> AwsResult<dto::StartCalculationExecutionResponse> {
        calculations::start_calculation_execution(&self.state, ctx, input).await
    }

    async fn get_calculation_execution(
        &self,
        ctx: &RequestContext,
        input: dto::GetCalculationExecutionRequest,
    ) -> AwsResult<dto::GetCalculationExecutionResponse> {
        calculations::get_calculation_execution(&self.state, ctx, input).await
    }

    async fn get_calculation_execution_status(
        &self,
        ctx: &RequestContext,
        input: dto::GetCalculationExecutionStatusRequest,
    ) -> AwsResult<dto::GetCalculationExecutionStatusResponse> {
        calculations::get_calculation_execution_status(&self.state, ctx, input).await
    }

    async fn get_calculation_execution_code(
        &self,
        ctx: &RequestContext,
        input: dto::GetCalculationExecutionCodeRequest,
    ) -> AwsResult<dto::GetCalculationExecutionCodeResponse> {
        calculations::get_calculation_execution_code(&self.state, ctx, input).await
    }

    async fn list_calculation_executions(
        &self,
        ctx: &RequestContext,
        input: dto::ListCalculationExecutionsRequest,
    ) -> AwsResult<dto::ListCalculationExecutionsResponse> {
        calculations::list_calculation_executions(&self.state, ctx, input).await
    }

    async fn stop_calculation_execution(
        &self,
        ctx: &RequestContext,
        input: dto::StopCalculationExecutionRequest,
    ) -> AwsResult<dto::StopCalculationExecutionResponse> {
        calculations::stop_calculation_execution(&self.state, ctx, input).await
    }
}
