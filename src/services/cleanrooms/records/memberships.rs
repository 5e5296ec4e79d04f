//! Store access to memberships and member records.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::collaboration::Member;
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::kinds;
use crate::state::AppState;
use crate::store::Query;
use crate::store::Write;

/// The write that stores a membership.
pub fn put_membership(region: &str, m: &Membership) -> AwsResult<Write> {
    records::put(&m.id, region, &m.account_id, Some(&m.collaboration_id), m)
}

/// The write that stores a member record of a live collaboration, owned by (indexed under) the
/// member's account: ListCollaborations reads an account's member records.
pub fn put_member(region: &str, m: &Member) -> AwsResult<Write> {
    records::put(
        &Member::record_id(&m.collaboration_id, &m.account_id),
        region,
        &m.account_id,
        Some(&m.collaboration_id),
        m,
    )
}

/// What a membership may still hold that must be deleted before it is: the first kind of
/// resource found under membership `membership_id` (`"configured table associations"`,
/// `"privacy budget templates"`, `"analysis templates"`, `"intermediate tables"`,
/// `"configured audience model associations"`), if any.
///
/// # Errors
/// Store failures.
pub async fn remaining_subresources(
    state: &AppState,
    membership_id: &str,
) -> AwsResult<Option<&'static str>> {
    const SUBRESOURCES: &[(&str, &str)] = &[
        (kinds::ASSOCIATION, "configured table associations"),
        (kinds::PRIVACY_BUDGET_TEMPLATE, "privacy budget templates"),
        (kinds::ANALYSIS_TEMPLATE, "analysis templates"),
        (kinds::INTERMEDIATE_TABLE, "intermediate tables"),
        (
            kinds::CONFIGURED_AUDIENCE_MODEL_ASSOCIATION,
            "configured audience model associations",
        ),
        (kinds::ID_MAPPING_TABLE, "ID mapping tables"),
        (kinds::ID_NAMESPACE_ASSOCIATION, "ID namespace associations"),
    ];
    for (kind, what) in SUBRESOURCES {
        let children = state
            .store()
            .query(&Query::kind(kind).parent(membership_id).limit(1))
            .await?;
        if !children.is_empty() {
            return Ok(Some(what));
        }
    }
    Ok(None)
}
