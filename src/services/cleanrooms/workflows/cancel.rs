//! UpdateProtectedQuery and UpdateProtectedJob: the cancellation of a run by the member who
//! started it.

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::access_denied;
use crate::services::cleanrooms::records::listing::{put_run, visible_run, ProtectedRun};
use crate::state::AppState;
use cleanrooms_emulator_api::RequestContext;

/// Cancels run `id` of the caller's membership `membership_id`: `CANCELLING` while its run is
/// going (the run settles it `CANCELLED`), else `CANCELLED` at once; returns it as stored.
///
/// # Errors
/// `ResourceNotFoundException` for a run the membership cannot read; `AccessDeniedException`
/// when the membership only receives its results; `ConflictException` when it is final.
pub async fn cancel_run<T: ProtectedRun>(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<T> {
    let _guard = state.write_lock().await;
    let mut run: T = visible_run(state, ctx, membership_id, id).await?;
    if run.runner_membership() != membership_id {
        return Err(access_denied(format!(
            "Only the member who ran {} {} can cancel it; membership {membership_id} received its results",
            T::NOUN,
            run.run_id(),
        )));
    }
    if run.cancel(state.jobs().is_running(run.run_id()))? {
        state
            .store()
            .commit(vec![put_run(&ctx.region, &run)?])
            .await?;
    }
    state.jobs().cancel(run.run_id());
    Ok(run)
}
