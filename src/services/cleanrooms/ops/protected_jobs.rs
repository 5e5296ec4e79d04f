//! Protected jobs: StartProtectedJob, GetProtectedJob, ListProtectedJobs and
//! UpdateProtectedJob (cancellation).
//!
//! Only an ACTIVE member with CAN_RUN_JOB may start one, on a PySpark analysis template of the
//! collaboration that every table it reads allows; the job is stored SUBMITTED and runs the
//! template's entry point on Spark in the background (`workflows::job`). Jobs are visible to
//! the membership that ran them and to a member receiving their results (read-only).

use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::errors::{access_denied, not_found_msg, ResourceType};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::own_membership;
use crate::services::cleanrooms::records::protected_jobs::{job_received, jobs_page};
use crate::services::cleanrooms::workflows::job;

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
    Ok(dto::StartProtectedJobOutput {
        protected_job: job::start(state, ctx, input).await?,
    })
}

/// The job `id` run by the caller's membership `membership_id`.
async fn own_job(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<StoredJob> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    let received = job_received(state, id, &m.id).await?;
    match records::record::<StoredJob>(state, id).await? {
        Some(r)
            if (received || r.parent.as_deref() == Some(m.id.as_str()))
                && r.region == ctx.region =>
        {
            records::decode(&r)
        }
        _ => Err(not_found_msg(
            ResourceType::Membership,
            id,
            format!(
                "Could not find protected job with id {id} in membership {}",
                m.id
            ),
        )),
    }
}

/// GetProtectedJob.
pub async fn get_protected_job(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetProtectedJobInput,
) -> AwsResult<dto::GetProtectedJobOutput> {
    let j = own_job(
        state,
        ctx,
        &input.membership_identifier,
        &input.protected_job_identifier,
    )
    .await?;
    Ok(dto::GetProtectedJobOutput {
        protected_job: j.job,
    })
}

/// ListProtectedJobs: the membership's jobs, newest first, optionally with one status.
pub async fn list_protected_jobs(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListProtectedJobsInput,
) -> AwsResult<dto::ListProtectedJobsOutput> {
    let m = own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    let scope = format!(
        "protectedjobs:{}:{}",
        input.status.map_or("", |s| s.as_str()),
        m.id
    );
    // The membership's own jobs and the ones whose results it received, newest first.
    let (protected_jobs, next_token) = jobs_page(
        state,
        &scope,
        &m.id,
        (input.next_token.as_deref(), input.max_results),
        |j: StoredJob| {
            input
                .status
                .is_none_or(|s| j.job.status == s)
                .then(|| j.to_summary())
        },
    )
    .await?;
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
    let _guard = state.write_lock().await;
    let j = own_job(
        state,
        ctx,
        &input.membership_identifier,
        &input.protected_job_identifier,
    )
    .await?;
    if j.job.membership_id != input.membership_identifier {
        return Err(access_denied(format!(
            "Only the member who ran protected job {} can cancel it; membership {} received its results",
            j.job.id, input.membership_identifier
        )));
    }
    let j = job::cancel_job(state, &j.job.id).await?;
    state.jobs().cancel(&j.job.id);
    Ok(dto::UpdateProtectedJobOutput {
        protected_job: j.job,
    })
}
