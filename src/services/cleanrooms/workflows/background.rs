//! A membership's protected query or job as a background job: it counts among the
//! membership's ongoing runs of its kind (the quota `StartProtectedQuery` and
//! `StartProtectedJob` check) until its run has settled. The runs themselves are in
//! [`runs`](super::runs) and [`job`](super::job).

use std::future::Future;

use tokio_util::sync::CancellationToken;

use crate::error::AwsResult;
use crate::jobs::Job;
use crate::state::AppState;

/// Starts `work` as the background run `id` of a membership (a protected query or job),
/// counted among the membership's ongoing runs of its kind — quota group `group` — until it
/// has settled. `work` gets the state, the id and the token that cancels it; a bookkeeping
/// failure it returns is logged, naming the run by its `noun`.
pub fn spawn_membership_run<F, Fut>(
    state: &AppState,
    id: &str,
    (noun, group): (&'static str, String),
    work: F,
) where
    F: FnOnce(AppState, String, CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = AwsResult<()>> + Send + 'static,
{
    state.jobs().start(MembershipRun {
        state: state.clone(),
        id: id.to_string(),
        noun,
        group,
        work,
    });
}

/// A membership's run as a background job (see [`spawn_membership_run`]).
struct MembershipRun<F> {
    state: AppState,
    id: String,
    noun: &'static str,
    group: String,
    work: F,
}

impl<F, Fut> Job for MembershipRun<F>
where
    F: FnOnce(AppState, String, CancellationToken) -> Fut + Send + 'static,
    Fut: Future<Output = AwsResult<()>> + Send + 'static,
{
    fn id(&self) -> String {
        self.id.clone()
    }

    fn quota_group(&self) -> Option<String> {
        Some(self.group.clone())
    }

    async fn run(self, token: CancellationToken) {
        let MembershipRun {
            state,
            id,
            noun,
            work,
            ..
        } = self;
        if let Err(e) = work(state, id.clone(), token).await {
            tracing::error!(run = %id, error = %e.message, "{noun} bookkeeping failed");
        }
    }
}
