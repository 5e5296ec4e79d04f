//! Store access to intermediate tables, their versions and their analysis rules.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::intermediate_table::{
    IntermediateTable, IntermediateTableRule, IntermediateTableVersion,
};
use crate::services::cleanrooms::domain::lineage::descendants;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::records::Versioned;
use crate::state::AppState;
use crate::store::{Expect, Write};
use cleanrooms_emulator_api::cleanrooms::dto;

/// The `Put` of a table (owner = its account, parent = its membership).
pub fn put_table(t: &IntermediateTable) -> AwsResult<Write> {
    records::put(
        &t.header.id,
        t.region(),
        &t.header.account_id,
        Some(&t.header.membership_id),
        t,
    )
}

/// The `Put` of a version of table `t`.
pub fn put_version(t: &IntermediateTable, v: &IntermediateTableVersion) -> AwsResult<Write> {
    records::put(
        &v.version_id,
        t.region(),
        &t.header.account_id,
        Some(&t.header.id),
        v,
    )
}

/// The `Put` of table `t` when it is still at the revision `read` was read at.
pub fn put_table_at<R>(read: &Versioned<R>, t: &IntermediateTable) -> AwsResult<Write> {
    Ok(put_table(t)?.expecting(read.expect()))
}

/// The `Put` of a new version of table `t` (its id must be new).
pub fn put_new_version(t: &IntermediateTable, v: &IntermediateTableVersion) -> AwsResult<Write> {
    Ok(put_version(t, v)?.expecting(Expect::Absent))
}

/// The `Put` of version `v` of table `t` when it is still at the revision `read` was read at.
pub fn put_version_at<R>(
    read: &Versioned<R>,
    t: &IntermediateTable,
    v: &IntermediateTableVersion,
) -> AwsResult<Write> {
    Ok(put_version(t, v)?.expecting(read.expect()))
}

/// The `Put` of the rule of table `t`.
pub fn put_rule(t: &IntermediateTable, rule: &IntermediateTableRule) -> AwsResult<Write> {
    records::put(
        &t.header.id,
        t.region(),
        &t.header.account_id,
        Some(&t.header.id),
        rule,
    )
}

/// Every intermediate table of collaboration `collaboration_id` (all memberships), in creation
/// order.
pub async fn intermediate_tables_of_collaboration(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<IntermediateTable>> {
    Ok(
        collaboration_children::<IntermediateTable>(state, collaboration_id)
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect(),
    )
}

/// The versions of table `table_id` with their sequence numbers, oldest first.
pub async fn versions_of(
    state: &AppState,
    table_id: &str,
) -> AwsResult<Vec<(i64, IntermediateTableVersion)>> {
    state
        .store()
        .query(&records::query::<IntermediateTableVersion>().parent(table_id))
        .await?
        .iter()
        .map(|r| Ok((r.seq, records::decode(r)?)))
        .collect()
}

/// The `ChildResource` entries of everything built on table or association `id`.
pub async fn child_resources(
    state: &AppState,
    collaboration_id: &str,
    id: &str,
) -> AwsResult<Vec<dto::ChildResource>> {
    let tables = intermediate_tables_of_collaboration(state, collaboration_id).await?;
    Ok(descendants(&tables, id)
        .into_iter()
        .map(IntermediateTable::to_child)
        .collect())
}
