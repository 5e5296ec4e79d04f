//! Collaboration change requests: CreateCollaborationChangeRequest,
//! GetCollaborationChangeRequest, ListCollaborationChangeRequests and
//! UpdateCollaborationChangeRequest. Any member that can see the collaboration reads its
//! requests; creating and acting on them goes through `workflows::change_requests`.

use crate::error::AwsResult;
use crate::services::cleanrooms::ops::Operation;
use crate::services::cleanrooms::records::access::Standing;
use crate::services::cleanrooms::records::change_requests::{change_request, change_request_page};
use crate::services::cleanrooms::workflows::change_requests;
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// CreateCollaborationChangeRequest.
impl Operation for dto::CreateCollaborationChangeRequestInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let request = change_requests::create(state, ctx, input).await?;
        Ok(request.to_dto().into())
    }
}

/// GetCollaborationChangeRequest: any member that can see the collaboration.
impl Operation for dto::GetCollaborationChangeRequestInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Visible
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        let request = change_request(state, &c.id, &input.change_request_identifier).await?;
        Ok(request.to_dto().into())
    }
}

/// ListCollaborationChangeRequests: oldest first, optionally filtered by status.
impl Operation for dto::ListCollaborationChangeRequestsInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Visible
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        let (requests, next_token) = change_request_page(
            state,
            &c.id,
            input.status,
            input.next_token.as_deref(),
            input.max_results,
        )
        .await?;
        Ok(dto::ListCollaborationChangeRequestsOutput {
            collaboration_change_request_summaries: requests
                .iter()
                .map(|r| r.to_summary())
                .collect(),
            next_token,
        })
    }
}

/// UpdateCollaborationChangeRequest.
impl Operation for dto::UpdateCollaborationChangeRequestInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let request = change_requests::act(state, ctx, input).await?;
        Ok(request.to_dto().into())
    }
}
