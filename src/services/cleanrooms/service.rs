//! The Clean Rooms implementation of the generated `CleanroomsApi` trait: each method delegates
//! to its operation in `ops/`. Operations not listed here keep the trait's 501 default.

use cleanrooms_emulator_api::cleanrooms::api::CleanroomsApi;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use super::ops::{collaborations, tags};
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
}
