//! Store access to protected jobs (their receipts and lists: [`super::listing`]).

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::records;
use crate::state::AppState;

/// Protected job `id` with the region it lives in; it must exist (a run or its settle asks for
/// its own job).
///
/// # Errors
/// `InternalServerException` when it vanished or is unreadable; store failures.
pub async fn load_job(state: &AppState, id: &str) -> AwsResult<(String, StoredJob)> {
    records::load_existing(state, id, "protected job").await
}

/// Every protected job, in every region.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn all_jobs(state: &AppState) -> AwsResult<Vec<StoredJob>> {
    records::all(state).await
}
