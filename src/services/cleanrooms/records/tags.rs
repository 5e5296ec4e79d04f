//! Store access to the tags of Clean Rooms resources (one record per resource ARN).

use crate::error::AwsResult;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::kinds;
use crate::store::Write;
use std::collections::BTreeMap;

/// The write that stores `tags` for `arn`.
pub fn put_tags(
    region: &str,
    account: &str,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> AwsResult<Write> {
    records::put(kinds::TAGS, arn, region, account, None, tags)
}

/// The write that removes every tag of `arn`.
pub fn delete_tags(arn: &str) -> Write {
    Write::Delete {
        kind: kinds::TAGS.to_string(),
        id: arn.to_string(),
    }
}
