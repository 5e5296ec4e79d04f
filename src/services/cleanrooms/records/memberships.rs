//! Store access to memberships and member records.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::collaboration::Member;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::kinds;
use crate::store::Write;

/// The write that stores a membership.
pub fn put_membership(region: &str, m: &Membership) -> AwsResult<Write> {
    records::put(
        kinds::MEMBERSHIP,
        &m.id,
        region,
        &m.account_id,
        Some(&m.collaboration_id),
        m,
    )
}

/// The write that stores a member record.
pub fn put_member(region: &str, m: &Member) -> AwsResult<Write> {
    records::put(
        kinds::MEMBER,
        &Member::record_id(&m.collaboration_id, &m.account_id),
        region,
        &m.account_id,
        Some(&m.collaboration_id),
        m,
    )
}
