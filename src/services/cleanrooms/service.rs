//! The Clean Rooms implementation of the generated `CleanroomsApi` trait: each method delegates
//! to its operation in `ops/`. Operations not listed here keep the trait's 501 default.

use cleanrooms_emulator_api::cleanrooms::api::CleanroomsApi;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use super::ops::{collaborations, memberships, tags};
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
}
