//! Store access to protected jobs.

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::records;
use crate::state::AppState;
use crate::store::Write;

/// Protected job `id` with the region it lives in; it must exist (a run or its settle asks for
/// its own job).
///
/// # Errors
/// `InternalServerException` when it vanished or is unreadable; store failures.
pub async fn load_job(state: &AppState, id: &str) -> AwsResult<(String, StoredJob)> {
    let record = records::record::<StoredJob>(state, id)
        .await?
        .ok_or_else(|| AwsError::internal(format!("protected job {id} vanished")))?;
    Ok((record.region.clone(), records::decode(&record)?))
}

/// Every protected job, in every region.
///
/// # Errors
/// Store failures and unreadable records.
pub async fn all_jobs(state: &AppState) -> AwsResult<Vec<StoredJob>> {
    state
        .store()
        .query(&records::query::<StoredJob>())
        .await?
        .iter()
        .map(records::decode)
        .collect()
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
