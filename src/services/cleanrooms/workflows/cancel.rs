//! UpdateProtectedQuery and UpdateProtectedJob: the cancellation of a run by the member who
//! started it.

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::access_denied;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::listing::{run_writes, visible_run, ProtectedRun};
use crate::services::cleanrooms::records::Versioned;
use crate::state::AppState;
use cleanrooms_emulator_api::RequestContext;

/// Cancels run `id` of the caller's membership `membership_id`: `CANCELLING` while its run is
/// going (the run settles it `CANCELLED`), else `CANCELLED` at once; returns it as stored.
///
/// # Errors
/// `ResourceNotFoundException` for a run the membership cannot read; `AccessDeniedException`
/// when the membership only receives its results; `ConflictException` when it is final or
/// another request changed it meanwhile.
pub async fn cancel_run<T: ProtectedRun + Clone>(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<T> {
    let _guard = state.write_lock().await;
    let run: T = visible_run(state, ctx, membership_id, id).await?;
    if run.runner_membership() != membership_id {
        return Err(access_denied(format!(
            "Only the member who ran {} {} can cancel it; membership {membership_id} received its results",
            T::NOUN,
            run.run_id(),
        )));
    }
    let run = cancel_stored::<T>(state, id).await?;
    state.jobs().cancel(run.run_id());
    Ok(run)
}

/// The cancellation of run `id` decided on the run as stored (`CANCELLING` while its run is
/// going, else `CANCELLED`) and committed at the revision read: a run that settled meanwhile
/// makes it a ConflictException, never an overwritten end. Returns the run after it.
///
/// # Errors
/// `ConflictException` when the run is final or changed meanwhile; store failures.
pub async fn cancel_stored<T: ProtectedRun + Clone>(state: &AppState, id: &str) -> AwsResult<T> {
    let running = state.jobs().is_running(id);
    records::change_requested(
        state,
        id,
        T::NOUN,
        |read: &Versioned<T>, run: &T| run_writes(&read.region, run, read.expect()),
        |run: &mut T| run.cancel(running),
    )
    .await
}
