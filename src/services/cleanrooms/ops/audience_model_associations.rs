//! Configured audience model associations: CreateConfiguredAudienceModelAssociation (the owner,
//! through its own membership); their Update and Delete and their Get and List operations, the
//! owner's and the collaboration's, are the shared handlers of [`super::children`]. Clean Rooms ML itself is not
//! emulated: the model ARN is checked for its form and region only.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::arn::audience_model_association_arn;
use crate::services::cleanrooms::domain::audience_model_association::{
    check_configured_audience_model_arn, AudienceModelAssociation,
};
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{check_room, conflict, ConflictReason, ResourceType};
use crate::services::cleanrooms::ops::{new_header, Operation};
use crate::services::cleanrooms::records::access::active_own_membership;
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::workflows::children::create_child;
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// Configured audience model associations allowed per membership.
const MAX_PER_MEMBERSHIP: usize = 5;

/// CreateConfiguredAudienceModelAssociation: an active membership links a configured audience
/// model; one model is associated once per collaboration.
impl Operation for dto::CreateConfiguredAudienceModelAssociationInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        check_configured_audience_model_arn(&input.configured_audience_model_arn, &ctx.region)?;
        let _guard = state.write_lock().await;
        let (m, c, _) = active_own_membership(state, ctx, &input.membership_identifier).await?;
        let existing = collaboration_children::<AudienceModelAssociation>(state, &c.id).await?;
        if let Some((_, other)) = existing
            .iter()
            .find(|(_, a)| a.configured_audience_model_arn == input.configured_audience_model_arn)
        {
            return Err(conflict(
                ResourceType::Collaboration,
                &c.id,
                ConflictReason::AlreadyExists,
                format!(
                    "Configured audience model {} is already associated with collaboration {} (association {})",
                    input.configured_audience_model_arn, c.id, other.header.id
                ),
            ));
        }
        let mine = existing
            .iter()
            .filter(|(_, a)| a.header.membership_id == m.id)
            .count();
        check_room(
            "Configured audience model associations per membership",
            mine,
            MAX_PER_MEMBERSHIP,
        )?;
        let now = state.now();
        let association = AudienceModelAssociation {
            header: new_header(ctx, &m, audience_model_association_arn),
            collaboration_arn: c.arn.clone(),
            configured_audience_model_arn: input.configured_audience_model_arn,
            name: input.configured_audience_model_association_name,
            description: input.description,
            manage_resource_policies: input.manage_resource_policies,
            create_time: now,
            update_time: now,
        };
        create_child(state, ctx, &association, input.tags).await?;
        Ok(association.to_dto().into())
    }
}
