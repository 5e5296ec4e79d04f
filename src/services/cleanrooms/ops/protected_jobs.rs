//! Protected jobs: StartProtectedJob, GetProtectedJob, ListProtectedJobs and
//! UpdateProtectedJob (cancellation).
//!
//! Only an ACTIVE member with CAN_RUN_JOB may start one, on a PySpark analysis template of the
//! collaboration that every table it reads allows; the job is stored SUBMITTED and runs the
//! template's entry point on Spark in the background (`workflows::job`). Jobs are visible to
//! the membership that ran them and to a member receiving their results (read-only); the list
//! shows them newest first.

use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::records::listing::{runs_page, visible_run};
use crate::services::cleanrooms::workflows::{cancel::cancel_run, job};

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// StartProtectedJob.
pub async fn start_protected_job(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartProtectedJobInput,
) -> AwsResult<dto::StartProtectedJobOutput> {
    let protected_job = job::start(state, ctx, input).await?;
    Ok(dto::StartProtectedJobOutput { protected_job })
}

/// GetProtectedJob: a job the caller's membership ran or receives the results of.
pub async fn get_protected_job(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetProtectedJobInput,
) -> AwsResult<dto::GetProtectedJobOutput> {
    let (membership, id) = (
        &input.membership_identifier,
        &input.protected_job_identifier,
    );
    let protected_job = visible_run::<StoredJob>(state, ctx, membership, id)
        .await?
        .job;
    Ok(dto::GetProtectedJobOutput { protected_job })
}

/// ListProtectedJobs: the membership's jobs, newest first, optionally with one status.
pub async fn list_protected_jobs(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListProtectedJobsInput,
) -> AwsResult<dto::ListProtectedJobsOutput> {
    let (protected_jobs, next_token) = runs_page(state, ctx, &input, StoredJob::to_summary).await?;
    Ok(dto::ListProtectedJobsOutput {
        next_token,
        protected_jobs,
    })
}

/// UpdateProtectedJob: `targetStatus=CANCELLED` stops a submitted or running job (CANCELLING
/// until its Spark process has stopped, then CANCELLED). Finished jobs cannot be cancelled.
pub async fn update_protected_job(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateProtectedJobInput,
) -> AwsResult<dto::UpdateProtectedJobOutput> {
    let (membership, id) = (
        &input.membership_identifier,
        &input.protected_job_identifier,
    );
    let protected_job = cancel_run::<StoredJob>(state, ctx, membership, id)
        .await?
        .job;
    Ok(dto::UpdateProtectedJobOutput { protected_job })
}
