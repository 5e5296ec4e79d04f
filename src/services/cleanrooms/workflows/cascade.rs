//! Deletion cascades: the writes that remove a resource with everything that belongs to it
//! (rules, tags, access budget templates and their ledgers, versions), and [`Cascade`], which
//! carries those writes with the intermediate tables whose managed data goes once they are
//! committed.

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::id_mapping::{IdMappingTable, IdNamespaceAssociation};
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTableRule;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTableVersion;
use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{child_delete_writes, MembershipChild};
use crate::services::cleanrooms::records::associations::association_rule_deletes;
use crate::services::cleanrooms::records::budgets::delete_ledger;
use crate::services::cleanrooms::records::intermediate_tables::versions_of;
use crate::services::cleanrooms::records::membership_children;
use crate::services::cleanrooms::records::tags::delete_tags;
use crate::state::AppState;
use crate::store::Write;
use crate::util::ids;

/// The writes that delete table `t` with its versions, its rule, its tags and its access budget.
pub async fn intermediate_table_delete_writes(
    state: &AppState,
    t: &IntermediateTable,
) -> AwsResult<Vec<Write>> {
    let mut writes = vec![
        records::delete::<IntermediateTable>(t.header.id.clone()),
        records::delete::<IntermediateTableRule>(t.header.id.clone()),
        delete_tags(&t.header.arn),
    ];
    writes.extend(
        resource_budget_removal_writes(state, &t.header.membership_id, &t.header.arn).await?,
    );
    for (_, v) in versions_of(state, &t.header.id).await? {
        writes.push(records::delete::<IntermediateTableVersion>(v.version_id));
    }
    Ok(writes)
}

/// Metadata writes about intermediate tables, and the tables whose data must be deleted once
/// they are committed.
#[derive(Debug, Default)]
pub struct Cascade {
    /// Writes to commit (with the caller's own, in one commit).
    pub writes: Vec<Write>,
    /// Ids of the tables whose managed data goes after the commit.
    pub data: Vec<String>,
}

impl Cascade {
    /// Adds another cascade.
    pub fn extend(&mut self, other: Cascade) {
        self.writes.extend(other.writes);
        self.data.extend(other.data);
    }

    /// Deletes the data of the tables the cascade changed (call after the commit). Failures are
    /// logged, not returned: the metadata change is already durable.
    pub async fn finish(self, state: &AppState) {
        for id in self.data {
            if let Err(e) = delete_table_data(state, &id).await {
                tracing::error!(table = %id, error = %e.message, "cannot delete intermediate table data");
            }
        }
    }

    /// Commits the writes, then deletes the data.
    ///
    /// # Errors
    /// When the commit fails (nothing is deleted then).
    pub async fn commit(self, state: &AppState) -> AwsResult<()> {
        if !self.writes.is_empty() {
            state.store().commit(self.writes.clone()).await?;
        }
        self.finish(state).await;
        Ok(())
    }
}

/// Deletes everything managed storage holds for intermediate table `table_id` (every version);
/// nothing to delete is fine.
///
/// # Errors
/// `InternalServerException` when the id is not a UUID or the files cannot be removed.
pub async fn delete_table_data(state: &AppState, table_id: &str) -> AwsResult<()> {
    if !ids::is_uuid(table_id) {
        return Err(AwsError::internal(format!(
            "refusing to delete managed data of '{table_id}': not a table id"
        )));
    }
    // A population still writing holds the table in managed storage: stop it first, so the
    // deletion does not wait for the whole run (its bookkeeping then records the failure).
    if let Some(t) = records::load::<IntermediateTable>(state, table_id).await? {
        if let Some(version_id) = &t.populating {
            if let Some(v) = records::load::<IntermediateTableVersion>(state, version_id).await? {
                state.jobs().cancel(&v.analysis_id);
            }
        }
    }
    state
        .storage()
        .delete_table(table_id)
        .await
        .map_err(|e| AwsError::internal(format!("cannot delete intermediate table data: {e}")))
}

/// The writes that delete every `T` of membership `membership_id` with their tags (the member
/// left the collaboration or was removed: what it owned there leaves with it).
///
/// # Errors
/// Store failures.
pub async fn children_removal_writes<T: MembershipChild>(
    state: &AppState,
    membership_id: &str,
) -> AwsResult<Vec<Write>> {
    Ok(membership_children::<T>(state, membership_id, None)
        .await?
        .iter()
        .flat_map(|(_, child)| child_delete_writes(child))
        .collect())
}

/// The writes that delete every configured table association of a membership, with their
/// analysis rules, tags and access budget templates (the membership's tables leave the
/// collaboration).
pub async fn associations_removal_writes(
    state: &AppState,
    membership_id: &str,
) -> AwsResult<Vec<Write>> {
    let mut writes = Vec::new();
    for a in membership_children::<Association>(state, membership_id, None).await? {
        writes.extend(association_delete_writes(state, &a.1).await?);
    }
    Ok(writes)
}

/// The writes that delete one association, its analysis rules, its tags and its access budget
/// template.
pub async fn association_delete_writes(state: &AppState, a: &Association) -> AwsResult<Vec<Write>> {
    let mut writes = child_delete_writes(a).to_vec();
    writes.extend(association_budget_removal_writes(state, a).await?);
    writes.extend(association_rule_deletes(state, &a.header.id).await?);
    Ok(writes)
}

/// The removal of every ID mapping table and ID namespace association of a membership, with
/// their tags; the ID mapping tables' data goes once it is committed (the member left the
/// collaboration, was removed, or the collaboration was deleted).
///
/// # Errors
/// Store failures.
pub async fn id_mapping_removal(state: &AppState, membership_id: &str) -> AwsResult<Cascade> {
    let mut cascade = Cascade::default();
    // (Intermediate tables built on these ID mapping tables: see
    // `lifecycle::membership_tables_removed`, which the callers run first.)
    for (_, t) in membership_children::<IdMappingTable>(state, membership_id, None).await? {
        cascade.writes.extend(child_delete_writes(&t));
        cascade.data.push(t.header.id);
    }
    cascade
        .writes
        .extend(children_removal_writes::<IdNamespaceAssociation>(state, membership_id).await?);
    Ok(cascade)
}

/// The writes that delete every privacy budget template of a membership, with their tags.
pub async fn budget_templates_removal_writes(
    state: &AppState,
    membership_id: &str,
) -> AwsResult<Vec<Write>> {
    template_removal_writes(state, membership_id, |_| true).await
}

/// The writes that delete the access budget templates of association `a` (the association
/// leaves the collaboration, so its budget goes with it).
pub async fn association_budget_removal_writes(
    state: &AppState,
    a: &Association,
) -> AwsResult<Vec<Write>> {
    resource_budget_removal_writes(state, &a.header.membership_id, &a.header.arn).await
}

/// The writes that delete the access budget template of resource `arn` (an association or an
/// intermediate table of membership `membership_id` that is going away), with its ledger.
pub async fn resource_budget_removal_writes(
    state: &AppState,
    membership_id: &str,
    arn: &str,
) -> AwsResult<Vec<Write>> {
    template_removal_writes(state, membership_id, |t| t.resource_arn() == Some(arn)).await
}

/// The writes that delete the privacy budget templates of membership `membership_id` that
/// `doomed` picks, with their tags and ledgers.
async fn template_removal_writes(
    state: &AppState,
    membership_id: &str,
    doomed: impl Fn(&PrivacyBudgetTemplate) -> bool,
) -> AwsResult<Vec<Write>> {
    Ok(
        membership_children::<PrivacyBudgetTemplate>(state, membership_id, None)
            .await?
            .iter()
            .filter(|(_, t)| doomed(t))
            .flat_map(|(_, t)| budget_template_delete_writes(t))
            .collect(),
    )
}

/// The writes that delete template `t` with its tags and its ledger.
pub fn budget_template_delete_writes(t: &PrivacyBudgetTemplate) -> Vec<Write> {
    let mut writes = child_delete_writes(t).to_vec();
    writes.push(delete_ledger(&t.header.id));
    writes
}
