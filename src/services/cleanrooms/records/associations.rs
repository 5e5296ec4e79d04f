//! Store access to configured table associations.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::association::AssociationRule;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::{collaboration_children, membership_children};
use crate::state::AppState;
use crate::store::Write;

/// The associations of a membership (with their sequence numbers), in creation order.
pub async fn associations_in(
    state: &AppState,
    membership_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, Association)>> {
    membership_children::<Association>(state, membership_id, after).await
}

/// Every configured table association of collaboration `collaboration_id` (the tables of the
/// collaboration, across all its memberships) with their sequence numbers, in creation order.
pub async fn associations_of_collaboration(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<(i64, Association)>> {
    collaboration_children::<Association>(state, collaboration_id).await
}

/// The writes that delete every analysis rule of association `association_id`.
///
/// # Errors
/// Store failures.
pub async fn association_rule_deletes(
    state: &AppState,
    association_id: &str,
) -> AwsResult<Vec<Write>> {
    Ok(state
        .store()
        .query(&records::query::<AssociationRule>().parent(association_id))
        .await?
        .into_iter()
        .map(|rule| records::delete::<AssociationRule>(rule.id))
        .collect())
}
