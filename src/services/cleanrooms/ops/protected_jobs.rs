//! Protected jobs: StartProtectedJob (GetProtectedJob, ListProtectedJobs and
//! UpdateProtectedJob, which protected queries answer alike, are in [`super::runs`]).
//!
//! Only an ACTIVE member with CAN_RUN_JOB may start one, on a PySpark analysis template of the
//! collaboration that every table it reads allows; the job is stored SUBMITTED and runs the
//! template's entry point on Spark in the background (`workflows::job`). Jobs are visible to
//! the membership that ran them and to a member receiving their results (read-only); the list
//! shows them newest first.

use crate::services::cleanrooms::ops::Operation;
use crate::services::cleanrooms::workflows::job;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// StartProtectedJob.
impl Operation for dto::StartProtectedJobInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let protected_job = job::start(state, ctx, input).await?;
        Ok(protected_job.into())
    }
}
