//! Store access to protected jobs (their receipts and lists: [`super::listing`]).

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::listing::{put_run, run_writes, ProtectedRun};
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

/// The store write of `j`.
pub fn put_job(region: &str, j: &StoredJob) -> AwsResult<Write> {
    put_run(region, j)
}

/// The store writes of job `j` (with its unfinished mark) when it is new (StartProtectedJob).
pub fn put_new_job(region: &str, j: &StoredJob) -> AwsResult<Vec<Write>> {
    run_writes(region, j, Expect::Absent)
}

/// The store writes of job `j` (and its unfinished mark) read as `read`, when nobody changed it since.
pub fn put_job_at(read: &Versioned<StoredJob>, j: &StoredJob) -> AwsResult<Vec<Write>> {
    run_writes(&read.region, j, read.expect())
}
