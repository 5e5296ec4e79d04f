//! Store access to protected jobs (their receipts and lists: [`super::listing`]).

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::listing::{put_run, ProtectedRun};
use crate::services::cleanrooms::records::Versioned;
use crate::state::AppState;
use crate::store::{Expect, Write};

/// What a protected job is called in errors.
pub const JOB: &str = <StoredJob as ProtectedRun>::NOUN;

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
    put_run(region, j)
}

/// The store write of job `j` when it is new (StartProtectedJob).
pub fn put_new_job(region: &str, j: &StoredJob) -> AwsResult<Write> {
    Ok(put_job(region, j)?.expecting(Expect::Absent))
}

/// The store write of job `j` read as `read`, when nobody changed it since.
pub fn put_job_at(read: &Versioned<StoredJob>, j: &StoredJob) -> AwsResult<Write> {
    Ok(put_job(&read.region, j)?.expecting(read.expect()))
}
