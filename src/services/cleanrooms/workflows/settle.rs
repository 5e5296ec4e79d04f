//! The end of a protected query, written once: [`settle_query`] records its final status,
//! statistics and result or error; [`settle_population`] first records what a population did
//! to its intermediate table and version (the new active version, or the failure) and commits
//! that with the query. The background runs call them when a run ends, and [`recover`] calls
//! them at startup for the runs a stopped process left unfinished, so a run that ends and a run
//! that was abandoned are settled by the same code.
//!
//! Both expect the caller to hold `state.write_lock()`; neither relies on it: each reads the
//! records it changes with their revisions and writes them back only at those revisions, and a
//! settle that lost a race to another writer (a cancel, a lifecycle sweep, another process on
//! the same store) reads again and decides anew.

use crate::services::cleanrooms::domain::intermediate_table::ActiveVersion;
use crate::services::cleanrooms::domain::intermediate_table::{
    IntermediateTable, IntermediateTableVersion,
};
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::domain::protected_query::{
    error_codes, is_terminal, RunEnd, RunError,
};
use crate::services::cleanrooms::domain::run_status::Run;
use crate::services::cleanrooms::records::intermediate_tables::{put_table_at, put_version_at};
use crate::services::cleanrooms::records::listing::{
    load_run_at, possibly_unfinished, put_run_at, runs_indexed,
};
use crate::services::cleanrooms::records::{
    load_versioned, lost_races, try_commit, Listed, ATTEMPTS,
};
use crate::services::cleanrooms::workflows::analysis_logs;
use cleanrooms_emulator_api::cleanrooms::dto;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::store::Write;

/// The error of a query the emulator stopped while it ran.
const INTERRUPTED: &str = "The emulator stopped while the query was running; run it again";

/// Records that query `id` ended as `end` after `millis` (unless it is final already). Returns
/// the query's final status.
///
/// # Errors
/// Store failures; an internal error when the query kept changing under it.
pub async fn settle_query(
    state: &AppState,
    id: &str,
    millis: u64,
    end: RunEnd,
) -> AwsResult<dto::ProtectedQueryStatus> {
    for _ in 0..ATTEMPTS {
        if let Some(status) = try_settle_query(state, id, millis, end.clone(), Vec::new()).await? {
            return Ok(status);
        }
    }
    Err(lost_races(StoredQuery::NOUN, id))
}

/// One attempt of [`settle_query`], committed together with `extra`: `None` when another
/// writer changed the query (or a record of `extra`) since it was read, and nothing was written.
async fn try_settle_query(
    state: &AppState,
    id: &str,
    millis: u64,
    end: RunEnd,
    extra: Vec<Write>,
) -> AwsResult<Option<dto::ProtectedQueryStatus>> {
    let read = load_run_at::<StoredQuery>(state, id).await?;
    let mut q = read.value.clone();
    if q.finish(millis, end) {
        let mut writes = put_run_at(&read, &q)?;
        writes.extend(analysis_logs::settled_log(state, &read.region, &q).await?);
        writes.extend(extra);
        if !try_commit(state, writes).await? {
            return Ok(None);
        }
    }
    // Its end is recorded: it no longer counts against the membership's quota (under the
    // caller's write lock, like the quota check that admits the next query).
    state.jobs().release_quota(id);
    Ok(Some(q.query.status))
}

/// The records a population fills: its query, its table and its version.
#[derive(Debug, Clone)]
pub struct Population {
    /// The populating query id.
    pub query_id: String,
    /// The intermediate table.
    pub table_id: String,
    /// The new version.
    pub version_id: String,
}

/// How a population ended.
#[derive(Debug, Clone)]
pub enum PopulationEnd {
    /// The data is written: `active` is the version to serve, `schema` its columns.
    Written {
        /// The new active version (its expiration is set when the table accepts it).
        active: Box<ActiveVersion>,
        /// The columns of the written data.
        schema: Vec<dto::Column>,
    },
    /// The run failed.
    Failed(RunError),
    /// The run was cancelled.
    Cancelled,
    /// The emulator stopped while it ran.
    Interrupted,
}

/// Records that population `p` ended as `end` after `millis`: the table serves the new version
/// (when it is still usable) or fails the population, the version follows, the table is free
/// for the next population, and the query settles — all in one commit. Returns the Delta
/// version whose predecessors may be removed from managed storage (the population succeeded).
///
/// # Errors
/// Store failures.
pub async fn settle_population(
    state: &AppState,
    p: &Population,
    millis: u64,
    end: PopulationEnd,
) -> AwsResult<Option<i64>> {
    for _ in 0..ATTEMPTS {
        if let Some(retained) = try_settle_population(state, p, millis, end.clone()).await? {
            return Ok(retained);
        }
    }
    Err(lost_races("population", &p.version_id))
}

/// One attempt of [`settle_population`] from a fresh read of the table, its version and the
/// query: `None` when another writer changed one of them meanwhile, and nothing was written.
async fn try_settle_population(
    state: &AppState,
    p: &Population,
    millis: u64,
    end: PopulationEnd,
) -> AwsResult<Option<Option<i64>>> {
    let table_read = load_versioned::<IntermediateTable>(state, &p.table_id).await?;
    let version_read = load_versioned::<IntermediateTableVersion>(state, &p.version_id).await?;
    let mut table = table_read.as_ref().map(|r| r.value.clone());
    let mut version = version_read.as_ref().map(|r| r.value.clone());
    let now = state.now();
    let mut written = None;
    let failed = |message: &str| format!("Population {} failed: {message}", p.version_id);
    let (query_end, failure) = match end {
        PopulationEnd::Written { active, schema } => {
            let delta_version = active.delta_version;
            let accepted = match table.as_mut() {
                Some(t) => t.complete_population(*active, schema, version.as_mut(), now),
                None => Err(
                    "The intermediate table was deleted or became unusable while it was being populated"
                        .to_string(),
                ),
            };
            match accepted {
                Ok(()) => {
                    written = Some(delta_version);
                    (RunEnd::Succeeded(None), None)
                }
                Err(message) => (
                    RunEnd::Failed(RunError::new(error_codes::RESOURCE_NOT_FOUND, &message)),
                    Some(failed(&message)),
                ),
            }
        }
        PopulationEnd::Failed(e) => {
            let reason = failed(&e.message);
            (RunEnd::Failed(e), Some(reason))
        }
        PopulationEnd::Cancelled => (
            RunEnd::Cancelled,
            Some(format!("Population {} was cancelled", p.version_id)),
        ),
        PopulationEnd::Interrupted => (
            RunEnd::Failed(RunError::internal(INTERRUPTED)),
            Some(format!(
                "Population {} did not finish: the emulator stopped while it ran",
                p.version_id
            )),
        ),
    };
    if let (Some(t), Some(reason)) = (table.as_mut(), failure) {
        t.fail_population(version.as_mut(), reason, now);
    }
    let mut extra = Vec::new();
    if let (Some(t), Some(read)) = (table.as_mut(), &table_read) {
        t.end_population(&p.version_id, now);
        extra.push(put_table_at(read, t)?);
        if let (Some(v), Some(v_read)) = (&version, &version_read) {
            extra.push(put_version_at(v_read, t, v)?);
        }
    }
    let Some(status) = try_settle_query(state, &p.query_id, millis, query_end, extra).await? else {
        return Ok(None);
    };
    Ok(Some(
        written.filter(|_| status == dto::ProtectedQueryStatus::Success),
    ))
}

/// After a restart: queries a stopped process left SUBMITTED or STARTED become FAILED (and
/// CANCELLING ones CANCELLED); their populations fail, leaving the previous version active.
/// Only the runs marked unfinished are read ([`possibly_unfinished`]), so a start-up costs what
/// was running, not everything ever run.
/// Protected jobs recover the same way ([`super::job::recover`]); analysis log exports left
/// `IN_PROGRESS` are written again.
///
/// # Errors
/// Store failures.
pub async fn recover(state: &AppState) -> AwsResult<()> {
    for q in possibly_unfinished::<StoredQuery>(state).await? {
        if is_terminal(q.query.status) || state.jobs().is_running(&q.query.id) {
            continue;
        }
        let _guard = state.write_lock().await;
        match &q.populate {
            None => {
                let end = RunEnd::Failed(RunError::internal(INTERRUPTED));
                settle_query(state, &q.query.id, 0, end).await?;
            }
            Some(target) => {
                let population = Population {
                    query_id: q.query.id.clone(),
                    table_id: target.table_id.clone(),
                    version_id: target.version_id.clone(),
                };
                settle_population(state, &population, 0, PopulationEnd::Interrupted).await?;
            }
        }
    }
    super::job::recover(state).await?;
    // Every run has ended now: from here on the unfinished marks cover them all.
    runs_indexed(state).await?;
    analysis_logs::resume_exports(state).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::services::cleanrooms::domain::protected_query::tests::submitted;
    use crate::services::cleanrooms::records;
    use crate::services::cleanrooms::records::listing::{put_new_run, put_run};
    use crate::services::cleanrooms::workflows::cancel::cancel_stored;
    use crate::store::racing::RacingStore;
    use crate::store::sqlite::SqliteStore;

    /// A state over a store with a racing writer, and a STARTED query `q` in it.
    async fn racing() -> (tempfile::TempDir, Arc<RacingStore>, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        let store = Arc::new(RacingStore::new(sqlite));
        let state = AppState::new(
            crate::config::Config::default(),
            dir.path().to_path_buf(),
            store.clone(),
            Arc::new(crate::clock::EmulatorClock::with_offset(0.0)),
        );
        let mut q = submitted();
        assert!(q.start());
        state
            .store()
            .commit(vec![put_run("us-east-1", &q).unwrap()])
            .await
            .unwrap();
        (dir, store, state)
    }

    /// Asserts that query `q` is stored with `status` at `revision`.
    async fn assert_stored(state: &AppState, status: dto::ProtectedQueryStatus, revision: i64) {
        let stored = load_run_at::<StoredQuery>(state, "q").await.unwrap();
        assert_eq!(
            (stored.value.query.status, stored.revision),
            (status, revision)
        );
    }

    #[tokio::test]
    async fn a_settle_that_loses_to_a_cancel_reads_again_and_keeps_the_cancel() {
        let (_dir, store, state) = racing().await;
        // The user cancels between the settle's read and its commit.
        let mut cancelled = load_run_at::<StoredQuery>(&state, "q").await.unwrap().value;
        assert!(cancelled.cancel(true).unwrap());
        store.interfere(vec![put_run("us-east-1", &cancelled).unwrap()]);
        let status = settle_query(&state, "q", 5, RunEnd::Succeeded(None))
            .await
            .unwrap();
        // Settled on the fresh read: the cancellation wins over the run's result.
        assert_eq!(status, dto::ProtectedQueryStatus::Cancelled);
        // Inserted, cancelled by the racing writer, settled once.
        assert_stored(&state, dto::ProtectedQueryStatus::Cancelled, 3).await;
    }

    #[tokio::test]
    async fn a_cancel_that_loses_to_a_settle_is_a_conflict_and_writes_nothing() {
        let (_dir, store, state) = racing().await;
        let mut settled = load_run_at::<StoredQuery>(&state, "q").await.unwrap().value;
        assert!(settled.finish(5, RunEnd::Succeeded(None)));
        store.interfere(vec![put_run("us-east-1", &settled).unwrap()]);
        let e = cancel_stored::<crate::services::cleanrooms::domain::protected_query::StoredQuery>(
            &state, "q",
        )
        .await
        .unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("ConflictException", 409));
        assert_eq!(e.fields["reason"], "INVALID_STATE");
        assert_eq!(e.fields["resourceId"], "q");
        assert!(!e.fields.contains_key("resourceType"));
        assert!(e.message.contains("protected query q"), "{}", e.message);
        assert_stored(&state, dto::ProtectedQueryStatus::Success, 2).await;
    }

    #[tokio::test]
    async fn a_create_whose_id_exists_is_already_exists_and_writes_nothing() {
        let (_dir, _, state) = racing().await;
        let mut again = load_run_at::<StoredQuery>(&state, "q").await.unwrap().value;
        again.query.membership_id = "other".into();
        let e = records::commit(&state, put_new_run("us-east-1", &again).unwrap())
            .await
            .unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("ConflictException", 409));
        assert_eq!(e.fields["reason"], "ALREADY_EXISTS");
        assert_eq!(e.message, "The protected query q already exists");
        let after = load_run_at::<StoredQuery>(&state, "q").await.unwrap();
        assert_eq!(
            (after.revision, after.value.query.membership_id.as_str()),
            (1, "m")
        );
    }

    #[tokio::test]
    async fn recovery_reads_the_unfinished_marks_once_the_data_dir_is_indexed() {
        let (_dir, _, state) = racing().await;
        // A data dir from before the marks: "q" (STARTED, unmarked) is found by the full scan.
        let found = possibly_unfinished::<StoredQuery>(&state).await.unwrap();
        assert_eq!(found.len(), 1);
        recover(&state).await.unwrap();
        assert_stored(&state, dto::ProtectedQueryStatus::Failed, 2).await;

        // From then on only marked runs are read: a new run is marked, its end removes the mark.
        let mut fresh = submitted();
        fresh.query.id = "fresh".into();
        records::commit(&state, put_new_run("us-east-1", &fresh).unwrap())
            .await
            .unwrap();
        let mut unmarked = submitted();
        unmarked.query.id = "unmarked".into();
        records::commit(&state, vec![put_run("us-east-1", &unmarked).unwrap()])
            .await
            .unwrap();
        let ids = |runs: Vec<StoredQuery>| runs.into_iter().map(|q| q.query.id).collect::<Vec<_>>();
        assert_eq!(ids(possibly_unfinished(&state).await.unwrap()), ["fresh"]);
        settle_query(&state, "fresh", 1, RunEnd::Succeeded(None))
            .await
            .unwrap();
        assert!(possibly_unfinished::<StoredQuery>(&state)
            .await
            .unwrap()
            .is_empty());
        let marks = state
            .store()
            .query(&crate::store::Query::kind(
                crate::services::cleanrooms::records::kinds::PROTECTED_QUERY_UNFINISHED,
            ))
            .await
            .unwrap();
        assert!(marks.is_empty(), "the end of a run removes its mark");
    }
}
