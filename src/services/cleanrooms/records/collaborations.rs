//! Store access to collaborations beyond the typed basics: what DeleteCollaboration does to the
//! records that account-scoped lists read.
//!
//! A deleted collaboration and its member records are kept (GetMembership still renders a
//! `COLLABORATION_DELETED` membership with them) but owned by no account from then on, so neither
//! ListCollaborations (which walks an account's member records) nor the collaborations-per-account
//! quota of CreateCollaboration (which counts the creator's collaborations) reads them again: their
//! cost follows what an account has now, not everything it ever deleted.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::records::{self, Resource};
use crate::store::Write;

/// The owner column of a record no account-scoped list reads: not an account id (those are 12
/// digits), so no account's listing ever meets it.
const UNLISTED: &str = "";

/// The writes that store collaboration `c`, just marked deleted, owned by no account.
pub fn unlist_deleted_collaboration(region: &str, c: &Collaboration) -> AwsResult<[Write; 2]> {
    unlisted(&c.id, region, None, c)
}

/// The writes that keep member record `m` of a collaboration being deleted, owned by no account.
pub fn unlist_member_of_deleted_collaboration(region: &str, m: &Member) -> AwsResult<[Write; 2]> {
    unlisted(
        &Member::record_id(&m.collaboration_id, &m.account_id),
        region,
        Some(&m.collaboration_id),
        m,
    )
}

/// Record `id` stored anew owned by no account: a record's owner is fixed when it is first
/// stored, hence delete, then store (in one batch, so it is never absent).
fn unlisted<T: Resource>(
    id: &str,
    region: &str,
    parent: Option<&str>,
    value: &T,
) -> AwsResult<[Write; 2]> {
    Ok([
        records::delete::<T>(id),
        records::put(id, region, UNLISTED, parent, value)?,
    ])
}
