//! Store access to the analysis rules of configured table associations.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::association::AssociationRule;
use crate::services::cleanrooms::records;
use crate::state::AppState;
use crate::store::Write;

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
