//! Store access for ID namespace associations and ID mapping tables: the ones of a
//! collaboration, and whether a table name is taken by any of the collaboration's tables.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::id_mapping::{IdMappingTable, IdNamespaceAssociation};
use crate::services::cleanrooms::records::collaboration_children;
use crate::state::AppState;

/// Every ID mapping table of a collaboration, with sequence numbers, in creation order.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn id_mapping_tables_of_collaboration(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<(i64, IdMappingTable)>> {
    collaboration_children::<IdMappingTable>(state, collaboration_id).await
}

/// Every ID namespace association of a collaboration, with sequence numbers, in creation order.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn id_namespace_associations_of_collaboration(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<(i64, IdNamespaceAssociation)>> {
    collaboration_children::<IdNamespaceAssociation>(state, collaboration_id).await
}

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
    Ok(id_mapping_tables_of_collaboration(state, collaboration_id)
        .await?
        .into_iter()
        .map(|(_, t)| t)
        .find(|t| t.name == name))
}
