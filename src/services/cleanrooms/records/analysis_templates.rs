//! Store access to analysis templates.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::records::membership_children;
use crate::state::AppState;

/// The templates of a membership with their sequence numbers, in creation order.
pub async fn analysis_templates_in(
    state: &AppState,
    membership_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, AnalysisTemplate)>> {
    membership_children::<AnalysisTemplate>(state, membership_id, after).await
}
