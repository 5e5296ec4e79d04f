//! Configured table associations and their analysis rules.

use crate::error::AwsResult;
use crate::services::cleanrooms::model::{kinds, Association};
use crate::services::cleanrooms::ops::tags;
use crate::services::cleanrooms::repo;
use crate::state::AppState;
use crate::store::{Query, Write};

/// The writes that delete every configured table association of a membership, with their
/// analysis rules and tags (the membership's tables leave the collaboration).
pub async fn removal_writes(state: &AppState, membership_id: &str) -> AwsResult<Vec<Write>> {
    let mut writes = Vec::new();
    let records = state
        .store()
        .query(&Query::kind(kinds::ASSOCIATION).parent(membership_id))
        .await?;
    for record in &records {
        let a: Association = repo::decode(record)?;
        writes.extend(association_delete_writes(state, &a).await?);
    }
    Ok(writes)
}

/// The writes that delete one association, its analysis rules and its tags.
async fn association_delete_writes(state: &AppState, a: &Association) -> AwsResult<Vec<Write>> {
    let mut writes = vec![
        Write::Delete {
            kind: kinds::ASSOCIATION.to_string(),
            id: a.id.clone(),
        },
        tags::delete_tags(&a.arn),
    ];
    for rule in state
        .store()
        .query(&Query::kind(kinds::ASSOCIATION_RULE).parent(&a.id))
        .await?
    {
        writes.push(Write::Delete {
            kind: kinds::ASSOCIATION_RULE.to_string(),
            id: rule.id,
        });
    }
    Ok(writes)
}
