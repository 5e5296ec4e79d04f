//! Store access to the tags of Clean Rooms resources (one record per resource ARN).

use crate::error::AwsResult;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::kinds;
use crate::state::AppState;
use crate::store::Write;
use std::collections::BTreeMap;

/// The write that stores `tags` for `arn`.
pub fn put_tags(
    region: &str,
    account: &str,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> AwsResult<Write> {
    records::put_kind(kinds::TAGS, arn, region, account, None, tags)
}

/// The write that removes every tag of `arn`.
pub fn delete_tags(arn: &str) -> Write {
    Write::Delete {
        kind: kinds::TAGS.to_string(),
        id: arn.to_string(),
    }
}

/// The tags of `arn` (none when it has none).
///
/// # Errors
/// Store failures.
pub async fn current_tags(state: &AppState, arn: &str) -> AwsResult<BTreeMap<String, String>> {
    match state.store().get(kinds::TAGS, arn).await? {
        Some(r) => records::decode(&r),
        None => Ok(BTreeMap::new()),
    }
}
