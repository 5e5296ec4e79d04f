//! Store access to protected jobs.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::member;
use crate::services::cleanrooms::records::kinds;
use crate::services::cleanrooms::records::listing::{own_and_received_page, MergedList, Order};
use crate::services::cleanrooms::records::Versioned;
use crate::state::AppState;
use crate::store::{Expect, Write};

/// What a protected job is called in errors.
pub const JOB: &str = "protected job";

/// Protected job `id` with the region it lives in; it must exist (a run or its settle asks for
/// its own job).
///
/// # Errors
/// `InternalServerException` when it vanished or is unreadable; store failures.
pub async fn load_job(state: &AppState, id: &str) -> AwsResult<(String, StoredJob)> {
    records::load_existing(state, id, JOB).await
}

/// Every protected job, in every region.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn all_jobs(state: &AppState) -> AwsResult<Vec<StoredJob>> {
    records::all(state).await
}

/// The store write of `j`.
pub fn put_job(region: &str, j: &StoredJob) -> AwsResult<Write> {
    records::put(
        &j.job.id,
        region,
        &j.account_id,
        Some(&j.job.membership_id),
        j,
    )
}

/// The store write of job `j` when it is new (StartProtectedJob).
pub fn put_new_job(region: &str, j: &StoredJob) -> AwsResult<Write> {
    Ok(put_job(region, j)?.expecting(Expect::Absent))
}

/// The store write of job `j` read as `read`, when nobody changed it since.
pub fn put_job_at(read: &Versioned<StoredJob>, j: &StoredJob) -> AwsResult<Write> {
    Ok(put_job(&read.region, j)?.expecting(read.expect()))
}

fn receipt_id(job_id: &str, membership_id: &str) -> String {
    format!("{job_id}/{membership_id}")
}

/// The receipt letting member `account` read job `job_id` through its own membership (`None`
/// when it has no membership).
///
/// # Errors
/// Store failures.
pub async fn job_receipt(
    state: &AppState,
    region: &str,
    collaboration_id: &str,
    account: &str,
    job_id: &str,
) -> AwsResult<Option<Write>> {
    let Some(membership_id) = member(state, collaboration_id, account)
        .await?
        .and_then(|m| m.membership_id)
    else {
        return Ok(None);
    };
    Ok(Some(records::put_kind(
        kinds::PROTECTED_JOB_RECEIPT,
        &receipt_id(job_id, &membership_id),
        region,
        account,
        Some(&membership_id),
        &job_id,
    )?))
}

/// Whether membership `membership_id` received the results of job `job_id`.
///
/// # Errors
/// Store failures.
pub async fn job_received(state: &AppState, job_id: &str, membership_id: &str) -> AwsResult<bool> {
    Ok(state
        .store()
        .get(
            kinds::PROTECTED_JOB_RECEIPT,
            &receipt_id(job_id, membership_id),
        )
        .await?
        .is_some())
}

/// One page of ListProtectedJobs for membership `membership_id`: its own jobs and the ones
/// whose results it received, newest first, from `next_token` on (tokens name `scope`), each
/// turned into its entry by `entry` (`None` leaves it out), with the token of the next page.
///
/// # Errors
/// `ValidationException` for a token of another list; store failures and unreadable records.
pub async fn jobs_page<S>(
    state: &AppState,
    scope: &str,
    membership_id: &str,
    (next_token, max_results): (Option<&str>, Option<i32>),
    entry: impl FnMut(StoredJob) -> Option<S>,
) -> AwsResult<(Vec<S>, Option<String>)> {
    own_and_received_page(
        state,
        MergedList {
            scope,
            membership_id,
            receipt_kind: kinds::PROTECTED_JOB_RECEIPT,
            order: Order::NewestFirst,
            next_token,
            max_results,
        },
        entry,
    )
    .await
}
