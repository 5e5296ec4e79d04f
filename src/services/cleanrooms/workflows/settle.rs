//! The end of a protected query, written once: [`settle_query`] records its final status,
//! statistics and result or error; [`settle_population`] first records what a population did
//! to its intermediate table and version (the new active version, or the failure) and commits
//! that with the query. The background runs call them when a run ends, and [`recover`] calls
//! them at startup for the runs a stopped process left unfinished, so a run that ends and a run
//! that was abandoned are settled by the same code.
//!
//! Both expect the caller to hold `state.write_lock()`.

use crate::services::cleanrooms::domain::intermediate_table::ActiveVersion;
use crate::services::cleanrooms::domain::protected_query::{
    error_codes, is_terminal, RunEnd, RunError,
};
use crate::services::cleanrooms::records::intermediate_tables::{
    intermediate_table, intermediate_table_version, put_table, put_version,
};
use crate::services::cleanrooms::records::listing::put_run;
use crate::services::cleanrooms::records::protected_queries::{all_queries, load_query};
use crate::services::cleanrooms::workflows::analysis_logs;
use cleanrooms_emulator_api::cleanrooms::dto;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::store::Write;

/// The error of a query the emulator stopped while it ran.
const INTERRUPTED: &str = "The emulator stopped while the query was running; run it again";

/// Records that query `id` ended as `end` after `millis` (unless it is final already), committed
/// together with `extra`. Returns the query's final status.
///
/// # Errors
/// Store failures.
pub async fn settle_query(
    state: &AppState,
    id: &str,
    millis: u64,
    end: RunEnd,
    extra: Vec<Write>,
) -> AwsResult<dto::ProtectedQueryStatus> {
    let (region, mut q) = load_query(state, id).await?;
    if q.finish(millis, end) {
        let mut writes = vec![put_run(&region, &q)?];
        writes.extend(analysis_logs::settled_log(state, &region, &q).await?);
        writes.extend(extra);
        state.store().commit(writes).await?;
    }
    // Its end is recorded: it no longer counts against the membership's quota (under the
    // caller's write lock, like the quota check that admits the next query).
    state.jobs().release_quota(id);
    Ok(q.query.status)
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
#[derive(Debug)]
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
    let mut table = intermediate_table(state, &p.table_id).await?;
    let mut version = intermediate_table_version(state, &p.version_id).await?;
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
    if let Some(t) = table.as_mut() {
        t.end_population(&p.version_id, now);
        extra.push(put_table(t)?);
        if let Some(v) = &version {
            extra.push(put_version(t, v)?);
        }
    }
    let status = settle_query(state, &p.query_id, millis, query_end, extra).await?;
    Ok(written.filter(|_| status == dto::ProtectedQueryStatus::Success))
}

/// After a restart: queries a stopped process left SUBMITTED or STARTED become FAILED (and
/// CANCELLING ones CANCELLED); their populations fail, leaving the previous version active.
/// Protected jobs recover the same way ([`super::job::recover`]); analysis log exports left
/// `IN_PROGRESS` are written again.
///
/// # Errors
/// Store failures.
pub async fn recover(state: &AppState) -> AwsResult<()> {
    for q in all_queries(state).await? {
        if is_terminal(q.query.status) || state.jobs().is_running(&q.query.id) {
            continue;
        }
        let _guard = state.write_lock().await;
        match &q.populate {
            None => {
                let end = RunEnd::Failed(RunError::internal(INTERRUPTED));
                settle_query(state, &q.query.id, 0, end, Vec::new()).await?;
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
    analysis_logs::resume_exports(state).await
}
