//! Store access for ID mapping tables: finding a collaboration's table by name.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::records::collaboration_children;
use crate::state::AppState;

/// The ID mapping table of the collaboration named `name` (lower case), if any.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn id_mapping_table_named(
    state: &AppState,
    collaboration_id: &str,
    name: &str,
) -> AwsResult<Option<IdMappingTable>> {
    let name = name.trim().to_lowercase();
    Ok(
        collaboration_children::<IdMappingTable>(state, collaboration_id)
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .find(|t| t.name == name),
    )
}
