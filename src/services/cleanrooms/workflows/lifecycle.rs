//! What happens to intermediate tables when something else happens: a base table leaves the
//! collaboration (`BASE_TABLE_REMOVED`), a data provider disallows a table
//! (`DISALLOWED_BY_DATA_PROVIDER`), the active version outlives its retention
//! (`RETENTION_PERIOD_EXPIRED`). Each of these deletes the table's data in managed storage.
//!
//! Changes are computed as a [`Cascade`] — the metadata writes plus the tables whose data goes —
//! so a caller can commit them together with its own change, then call [`Cascade::finish`] to
//! delete the data once the commit succeeded. Functions that take no write lock expect the
//! caller to hold `state.write_lock()`; [`expire_due`] takes it itself.

use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::audience_model_association::AudienceModelAssociation;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTableVersion;
use crate::services::cleanrooms::domain::lineage::descendants;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::members;
use crate::services::cleanrooms::records::access::owned_table;
use crate::services::cleanrooms::records::collaborations::unlist_member_of_deleted_collaboration;
use crate::services::cleanrooms::records::intermediate_tables::{
    intermediate_tables_of_collaboration, put_table, put_version,
};
use crate::services::cleanrooms::records::membership_children;
use crate::services::cleanrooms::records::memberships::put_membership;
use crate::services::cleanrooms::records::memberships_of;
use crate::services::cleanrooms::workflows::cascade::associations_removal_writes;
use crate::services::cleanrooms::workflows::cascade::budget_templates_removal_writes;
use crate::services::cleanrooms::workflows::cascade::children_removal_writes;
use crate::services::cleanrooms::workflows::cascade::id_mapping_removal;
use crate::services::cleanrooms::workflows::cascade::Cascade;
use std::time::Duration;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// How often [`spawn_sweeper`] expires intermediate tables.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Writes `t` (just moved to a terminal status) and schedules its data for deletion.
fn terminated(cascade: &mut Cascade, t: IntermediateTable) -> AwsResult<()> {
    cascade.writes.push(put_table(&t)?);
    cascade.data.push(t.header.id);
    Ok(())
}

/// The cascade of base table `base_id` leaving collaboration `collaboration_id`: every
/// intermediate table built on it (directly or transitively) becomes `BASE_TABLE_REMOVED`
/// and loses its data. `except` names tables that are being deleted themselves.
///
/// # Errors
/// Store failures.
pub async fn base_removed(
    state: &AppState,
    collaboration_id: &str,
    base_ids: &[&str],
    except: &[&str],
) -> AwsResult<Cascade> {
    let now = state.now();
    let tables = intermediate_tables_of_collaboration(state, collaboration_id).await?;
    let mut cascade = Cascade::default();
    for t in tables {
        if except.contains(&t.header.id.as_str()) {
            continue;
        }
        let Some(base) = t
            .dependencies
            .iter()
            .find(|d| base_ids.contains(&d.id.as_str()))
            .cloned()
        else {
            continue;
        };
        let mut t = t;
        if t.base_removed(&base, now) {
            terminated(&mut cascade, t)?;
        }
    }
    Ok(cascade)
}

/// The cascade of every configured table association and ID mapping table of membership
/// `membership_id` leaving
/// collaboration `collaboration_id` (the member left or was removed, or the collaboration was
/// deleted).
///
/// # Errors
/// Store failures.
pub async fn membership_tables_removed(
    state: &AppState,
    collaboration_id: &str,
    membership_id: &str,
) -> AwsResult<Cascade> {
    let associations = membership_children::<Association>(state, membership_id, None).await?;
    let mapping_tables =
        records::membership_children::<IdMappingTable>(state, membership_id, None).await?;
    let ids: Vec<&str> = associations
        .iter()
        .map(|(_, a)| a.header.id.as_str())
        .chain(mapping_tables.iter().map(|(_, t)| t.header.id.as_str()))
        .collect();
    if ids.is_empty() {
        return Ok(Cascade::default());
    }
    base_removed(state, collaboration_id, &ids, &[]).await
}

/// Marks every intermediate table of `collaboration_id` built on base table `base_id` (directly
/// or transitively) `BASE_TABLE_REMOVED`, with a status reason naming the removed table, and
/// deletes their data. The caller holds `state.write_lock()`; prefer [`base_removed`] to commit
/// the change together with the removal itself.
///
/// # Errors
/// Store failures.
pub async fn mark_base_removed(
    state: &AppState,
    collaboration_id: &str,
    base_id: &str,
) -> AwsResult<()> {
    base_removed(state, collaboration_id, &[base_id], &[])
        .await?
        .commit(state)
        .await
}

/// The cascade of a data provider (`provider`) disallowing `table`: the table, and with
/// `include_descendants` every table built on it, becomes `DISALLOWED_BY_DATA_PROVIDER` and
/// loses its data. Tables already disallowed or without base tables are left as they are.
///
/// # Errors
/// Store failures.
pub async fn disallowed(
    state: &AppState,
    table: &IntermediateTable,
    provider: &str,
    include_descendants: bool,
) -> AwsResult<Cascade> {
    let now = state.now();
    let mut cascade = Cascade::default();
    let mut disallowed = table.clone();
    if disallowed.disallow(provider, None, now) {
        terminated(&mut cascade, disallowed)?;
    }
    if include_descendants {
        let all =
            intermediate_tables_of_collaboration(state, &table.header.collaboration_id).await?;
        for t in descendants(&all, &table.header.id) {
            let mut t = t.clone();
            if t.disallow(provider, Some(&table.name), now) {
                terminated(&mut cascade, t)?;
            }
        }
    }
    Ok(cascade)
}

/// Whether anything is due for expiry at `now`: a successful version past its expiration time,
/// or a table whose active version is.
async fn anything_due(state: &AppState, now: f64) -> AwsResult<bool> {
    if records::all::<IntermediateTable>(state)
        .await?
        .iter()
        .any(|t| t.expires(now))
    {
        return Ok(true);
    }
    Ok(records::all::<IntermediateTableVersion>(state)
        .await?
        .iter()
        .any(|v| v.is_due(now)))
}

/// Applies retention at the emulator clock's now: every successful version past its
/// `expirationTime` becomes `RETENTION_PERIOD_EXPIRED`; a table whose active version expired
/// becomes `RETENTION_PERIOD_EXPIRED` too (unless a population is running, terminal, or already
/// expired) and its data is deleted. Cheap when nothing is due (reads only); takes the write
/// lock otherwise, so the caller must not hold it.
///
/// # Errors
/// Store failures.
pub async fn expire_due(state: &AppState) -> AwsResult<()> {
    if !anything_due(state, state.now()).await? {
        return Ok(());
    }
    let _guard = state.write_lock().await;
    let now = state.now();
    let mut cascade = Cascade::default();
    let tables = records::all::<IntermediateTable>(state).await?;
    for mut v in records::all::<IntermediateTableVersion>(state).await? {
        if !v.is_due(now) {
            continue;
        }
        let Some(t) = tables.iter().find(|t| t.header.id == v.table_id) else {
            continue;
        };
        v.expire();
        cascade.writes.push(put_version(t, &v)?);
    }
    for mut t in tables {
        if t.expire(now) {
            cascade.writes.push(put_table(&t)?);
            cascade.data.push(t.header.id);
        }
    }
    cascade.commit(state).await
}

/// The caller's intermediate table `table_identifier` of membership `membership_identifier` as a
/// read sees it: retention applied first (see [`expire_due`]; the caller must not hold the write
/// lock), then `records::access::owned_table`.
///
/// # Errors
/// As `records::access::owned_table`; store failures.
pub async fn read_owned_table(
    state: &AppState,
    ctx: &RequestContext,
    membership_identifier: &str,
    table_identifier: &str,
) -> AwsResult<IntermediateTable> {
    expire_due(state).await?;
    let (_, t) = owned_table(state, ctx, membership_identifier, table_identifier).await?;
    Ok(t)
}

/// Runs [`expire_due`] every [`SWEEP_INTERVAL`] for as long as the process lives.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = expire_due(&state).await {
                tracing::warn!(error = %e.message, "intermediate table retention sweep failed");
            }
        }
    })
}

/// The writes that mark every membership of a deleted collaboration `COLLABORATION_DELETED`
/// and take their configured table associations and privacy budget templates out of it; the
/// intermediate tables built on those associations become `BASE_TABLE_REMOVED` (their data goes
/// when the cascade is committed). The member records stay (memberships are rendered with them)
/// but are owned by no account from then on, so no ListCollaborations reads them again.
pub async fn collaboration_deleted_writes(
    state: &AppState,
    region: &str,
    collaboration_id: &str,
    now: f64,
) -> AwsResult<Cascade> {
    let mut cascade = Cascade::default();
    for mut m in memberships_of(state, collaboration_id).await? {
        if m.status != dto::MembershipStatus::Active {
            continue;
        }
        cascade.extend(membership_tables_removed(state, collaboration_id, &m.id).await?);
        cascade
            .writes
            .extend(associations_removal_writes(state, &m.id).await?);
        cascade
            .writes
            .extend(budget_templates_removal_writes(state, &m.id).await?);
        cascade
            .writes
            .extend(children_removal_writes::<AudienceModelAssociation>(state, &m.id).await?);
        cascade.extend(id_mapping_removal(state, &m.id).await?);
        m.status = dto::MembershipStatus::CollaborationDeleted;
        m.update_time = now;
        cascade.writes.push(put_membership(region, &m)?);
    }
    for (_, member) in members(state, collaboration_id, None).await? {
        cascade
            .writes
            .extend(unlist_member_of_deleted_collaboration(region, &member)?);
    }
    Ok(cascade)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::cleanrooms::domain::intermediate_table::ActiveVersion;
    use crate::services::cleanrooms::domain::intermediate_table::IntermediateTableVersion;
    use crate::services::cleanrooms::domain::lineage::tests::{inherited, table};
    use crate::services::cleanrooms::domain::membership::Membership;
    use crate::services::cleanrooms::records;
    use crate::services::cleanrooms::records::intermediate_tables::versions_of;

    use crate::services::cleanrooms::domain::collaboration::Member;
    use crate::services::cleanrooms::records::memberships::put_member;
    use crate::services::cleanrooms::workflows::cascade::delete_table_data;
    use crate::util::ids;

    const DAY: f64 = 86_400.0;

    use crate::server::temp_state as state;

    /// A populated table `name` (fresh UUID) whose version expires in `days`, with data on disk.
    async fn populated(state: &AppState, name: &str, days: f64) -> IntermediateTable {
        let now = state.now();
        let mut t = table(&ids::new_id(), name, "111111111111", Vec::new());
        let version = IntermediateTableVersion {
            version_id: ids::new_id(),
            table_id: t.header.id.clone(),
            analysis_id: ids::new_id(),
            status: dto::IntermediateTableVersionStatus::PopulateSuccess,
            kms_key_arn: None,
            parameters: None,
            delta_version: Some(0),
            expiration_time: Some(now + days * DAY),
            create_time: now,
        };
        t.status = dto::IntermediateTableStatus::PopulateSuccess;
        t.active = Some(ActiveVersion {
            version_id: version.version_id.clone(),
            analysis_id: version.analysis_id.clone(),
            delta_version: 0,
            kms_key_arn: None,
            parameters: None,
            inherited: inherited(),
            first_party: false,
            expiration_time: now + days * DAY,
        });
        state
            .store()
            .commit(vec![
                put_table(&t).unwrap(),
                put_version(&t, &version).unwrap(),
            ])
            .await
            .unwrap();
        let data = state.data_dir().join("managed").join(&t.header.id);
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("part-0.parquet"), b"x").unwrap();
        t
    }

    async fn reload(state: &AppState, t: &IntermediateTable) -> IntermediateTable {
        records::load::<IntermediateTable>(state, &t.header.id)
            .await
            .unwrap()
            .unwrap()
    }

    fn has_data(state: &AppState, t: &IntermediateTable) -> bool {
        state.data_dir().join("managed").join(&t.header.id).exists()
    }

    /// Asserts that a cascade ended each of `ended` with `status`, a reason naming `named`
    /// and no data left, and left `untouched` populated, with its data.
    async fn assert_cascade(
        state: &AppState,
        (ended, status, named): (&[&IntermediateTable], dto::IntermediateTableStatus, &str),
        untouched: &IntermediateTable,
    ) {
        for t in ended {
            let t = reload(state, t).await;
            assert_eq!(t.status, status, "{}", t.name);
            assert!(t.status_reason.as_ref().is_some_and(|r| r.contains(named)));
            assert!(!has_data(state, &t));
        }
        let kept = reload(state, untouched).await;
        assert_eq!(kept.status, dto::IntermediateTableStatus::PopulateSuccess);
        assert!(has_data(state, &kept));
    }

    #[tokio::test]
    async fn retention_expires_versions_tables_and_data_on_the_emulator_clock() {
        let (_dir, state) = state().await;
        let short = populated(&state, "short", 1.0).await;
        let long = populated(&state, "long", 30.0).await;
        let mut running = populated(&state, "running", 1.0).await;
        running.status = dto::IntermediateTableStatus::PopulateStarted;
        running.populating = Some(ids::new_id());
        state
            .store()
            .commit(vec![put_table(&running).unwrap()])
            .await
            .unwrap();

        expire_due(&state).await.unwrap();
        assert_eq!(
            reload(&state, &short).await.status,
            dto::IntermediateTableStatus::PopulateSuccess
        );
        state.emulator_clock().advance(DAY + 1.0);
        expire_due(&state).await.unwrap();

        let s = reload(&state, &short).await;
        assert_eq!(
            s.status,
            dto::IntermediateTableStatus::RetentionPeriodExpired
        );
        assert!(s
            .status_reason
            .is_some_and(|r| r.contains("1-day") || r.contains("30-day")));
        assert!(!has_data(&state, &short));
        let v = &versions_of(&state, &short.header.id).await.unwrap()[0].1;
        assert_eq!(
            v.status,
            dto::IntermediateTableVersionStatus::RetentionPeriodExpired
        );

        let l = reload(&state, &long).await;
        assert_eq!(l.status, dto::IntermediateTableStatus::PopulateSuccess);
        assert!(has_data(&state, &long));

        // A population in progress keeps its status (and the data it is replacing); the expired
        // version is still marked.
        let r = reload(&state, &running).await;
        assert_eq!(r.status, dto::IntermediateTableStatus::PopulateStarted);
        assert!(has_data(&state, &running));
        let v = &versions_of(&state, &running.header.id).await.unwrap()[0].1;
        assert_eq!(
            v.status,
            dto::IntermediateTableVersionStatus::RetentionPeriodExpired
        );

        // Idempotent.
        expire_due(&state).await.unwrap();
        assert_eq!(
            reload(&state, &short).await.status,
            dto::IntermediateTableStatus::RetentionPeriodExpired
        );
    }

    /// Stores membership "m" of collaboration "c" (the one `table` puts tables under).
    async fn membership(state: &AppState) {
        let m = Membership {
            id: "m".into(),
            arn: "arn:aws:cleanrooms:us-east-1:111111111111:membership/m".into(),
            collaboration_id: "c".into(),
            account_id: "111111111111".into(),
            status: dto::MembershipStatus::Active,
            query_log_status: dto::MembershipQueryLogStatus::Disabled,
            job_log_status: dto::MembershipJobLogStatus::Disabled,
            default_result_configuration: None,
            default_job_result_configuration: None,
            payment_configuration: dto::MembershipPaymentConfiguration::default(),
            is_metrics_enabled: false,
            create_time: 0.0,
            update_time: 0.0,
        };
        let put = records::put("m", "us-east-1", "111111111111", Some("c"), &m).unwrap();
        state.store().commit(vec![put]).await.unwrap();
    }

    fn dependency(
        id: &str,
        name: &str,
        kind: dto::BaseTableDependencyType,
    ) -> dto::IntermediateTableDependency {
        dto::IntermediateTableDependency {
            creator_account_id: "222222222222".into(),
            id: id.into(),
            name: name.into(),
            parent_type: dto::BaseTableParentType::Direct,
            r#type: kind,
        }
    }

    #[tokio::test]
    async fn disallow_cascades_to_descendants_and_deletes_data() {
        let (_dir, state) = state().await;
        membership(&state).await;
        let base = populated(&state, "base", 30.0).await;
        let mut child = populated(&state, "child", 30.0).await;
        child.dependencies = vec![dependency(
            &base.header.id,
            "base",
            dto::BaseTableDependencyType::IntermediateTable,
        )];
        let other = populated(&state, "other", 30.0).await;
        state
            .store()
            .commit(vec![put_table(&child).unwrap()])
            .await
            .unwrap();

        let only = disallowed(&state, &base, "222222222222", false)
            .await
            .unwrap();
        assert_eq!(only.data, vec![base.header.id.clone()]);
        disallowed(&state, &base, "222222222222", true)
            .await
            .unwrap()
            .commit(&state)
            .await
            .unwrap();
        let disallowed_by = dto::IntermediateTableStatus::DisallowedByDataProvider;
        let ended = (&[&base, &child][..], disallowed_by, "222222222222");
        assert_cascade(&state, ended, &other).await;
        // Idempotent: nothing left to change.
        let again = disallowed(&state, &reload(&state, &base).await, "222222222222", true)
            .await
            .unwrap();
        assert!(again.writes.is_empty() && again.data.is_empty());
    }

    #[tokio::test]
    async fn a_removed_base_table_cascades_transitively() {
        let (_dir, state) = state().await;
        membership(&state).await;
        let assoc = ids::new_id();
        let mut direct = populated(&state, "direct", 30.0).await;
        direct.dependencies = vec![dependency(
            &assoc,
            "b_spend",
            dto::BaseTableDependencyType::Table,
        )];
        let mut indirect = populated(&state, "indirect", 30.0).await;
        indirect.dependencies = vec![
            dependency(
                &direct.header.id,
                "direct",
                dto::BaseTableDependencyType::IntermediateTable,
            ),
            dto::IntermediateTableDependency {
                parent_type: dto::BaseTableParentType::Indirect,
                ..dependency(&assoc, "b_spend", dto::BaseTableDependencyType::Table)
            },
        ];
        let unrelated = populated(&state, "unrelated", 30.0).await;
        state
            .store()
            .commit(vec![
                put_table(&direct).unwrap(),
                put_table(&indirect).unwrap(),
            ])
            .await
            .unwrap();

        mark_base_removed(&state, "c", &assoc).await.unwrap();
        let removed = dto::IntermediateTableStatus::BaseTableRemoved;
        let ended = (&[&direct, &indirect][..], removed, "'b_spend'");
        assert_cascade(&state, ended, &unrelated).await;
    }

    #[tokio::test]
    async fn table_data_paths_must_be_uuids() {
        let (_dir, state) = state().await;
        assert!(delete_table_data(&state, "../metadata.db").await.is_err());
        assert!(delete_table_data(&state, &ids::new_id()).await.is_ok());
    }

    fn member(collaboration_id: &str, status: dto::MemberStatus) -> Member {
        Member {
            collaboration_id: collaboration_id.into(),
            account_id: "222222222222".into(),
            display_name: "b".into(),
            abilities: vec![],
            ml_abilities: None,
            status,
            membership_id: None,
            membership_arn: None,
            payment_configuration: dto::PaymentConfiguration::default(),
            create_time: 0.0,
            update_time: 0.0,
        }
    }

    #[tokio::test]
    async fn an_accounts_collaboration_listing_reads_only_members_it_can_show() {
        let (_dir, state) = state().await;
        let listed = |state: AppState| async move {
            records::account_resources::<Member>(&state, "us-east-1", "222222222222", None, None)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, m)| m.collaboration_id)
                .collect::<Vec<_>>()
        };
        let mut writes = vec![];
        for (c, status) in [
            ("c1", dto::MemberStatus::Invited),
            ("c2", dto::MemberStatus::Active),
            ("c3", dto::MemberStatus::Left),
            ("c4", dto::MemberStatus::Removed),
        ] {
            writes.push(put_member("us-east-1", &member(c, status)).unwrap());
        }
        state.store().commit(writes).await.unwrap();
        // Members who left or were removed are read and filtered out by the handler.
        assert_eq!(listed(state.clone()).await, ["c1", "c2", "c3", "c4"]);

        let cascade = collaboration_deleted_writes(&state, "us-east-1", "c1", 1.0)
            .await
            .unwrap();
        cascade.commit(&state).await.unwrap();
        assert_eq!(
            listed(state.clone()).await,
            ["c2", "c3", "c4"],
            "a deleted collaboration's member is not read"
        );
        // The record is still there for the memberships rendered with it.
        let kept = records::access::member(&state, "c1", "222222222222")
            .await
            .unwrap();
        assert_eq!(kept.unwrap().status, dto::MemberStatus::Invited);
    }
}
