//! The operations protected queries and protected jobs answer alike: Get and Update
//! (cancellation) of one run a membership ran or receives the results of, and the List of a
//! membership's runs. Each operation's input and output are tied to its run type by a small
//! trait ([`RunRequest`], [`RunList`]); one generic handler serves both families.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::protected_job::StoredJob;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::records::listing::{
    runs_page, visible_run, ProtectedRun, RunListInput,
};
use crate::services::cleanrooms::workflows::cancel::cancel_run;
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// A request naming one run of a membership: GetProtectedQuery, UpdateProtectedQuery,
/// GetProtectedJob, UpdateProtectedJob.
pub trait RunRequest {
    /// The run.
    type Run: ProtectedRun + Clone;
    /// The operation's output.
    type Output;
    /// `membershipIdentifier` and the run's identifier.
    fn target(&self) -> (&str, &str);
    /// The output showing `run`.
    fn output(run: Self::Run) -> Self::Output;
}

/// A List of a membership's runs: ListProtectedQueries, ListProtectedJobs.
pub trait RunList: RunListInput {
    /// The run.
    type Run: ProtectedRun;
    /// One list entry.
    type Entry;
    /// The operation's output.
    type Output;
    /// The entry of `run`.
    fn entry(run: &Self::Run) -> Self::Entry;
    /// The output of one page.
    fn output(entries: Vec<Self::Entry>, next_token: Option<String>) -> Self::Output;
}

/// Ties run requests to their run: `Input(identifier field) => Run => Output(field) from the
/// run's field holding the AWS shape by handler`.
macro_rules! run_requests {
    ($($input:ident($id:ident) => $run:ty => $output:ident($field:ident) from $shape:ident by $handler:ident;)*) => {
        $(impl RunRequest for dto::$input {
            type Run = $run;
            type Output = dto::$output;
            fn target(&self) -> (&str, &str) {
                (&self.membership_identifier, &self.$id)
            }
            fn output(run: $run) -> dto::$output {
                dto::$output { $field: run.$shape }
            }
        }
        operation!($input by $handler);)*
    };
}

run_requests! {
    GetProtectedQueryInput(protected_query_identifier) => StoredQuery => GetProtectedQueryOutput(protected_query) from query by get_run;
    UpdateProtectedQueryInput(protected_query_identifier) => StoredQuery => UpdateProtectedQueryOutput(protected_query) from query by cancel;
    GetProtectedJobInput(protected_job_identifier) => StoredJob => GetProtectedJobOutput(protected_job) from job by get_run;
    UpdateProtectedJobInput(protected_job_identifier) => StoredJob => UpdateProtectedJobOutput(protected_job) from job by cancel;
}

/// Ties run lists to their run: `Input => Run => Output(entries field) of Entry`.
macro_rules! run_lists {
    ($($input:ident => $run:ty => $output:ident($field:ident) of $entry:ident;)*) => {
        $(impl RunList for dto::$input {
            type Run = $run;
            type Entry = dto::$entry;
            type Output = dto::$output;
            fn entry(run: &$run) -> dto::$entry {
                run.to_summary()
            }
            fn output(entries: Vec<dto::$entry>, next_token: Option<String>) -> dto::$output {
                dto::$output { $field: entries, next_token }
            }
        }
        operation!($input by list_runs);)*
    };
}

run_lists! {
    ListProtectedQueriesInput => StoredQuery => ListProtectedQueriesOutput(protected_queries) of ProtectedQuerySummary;
    ListProtectedJobsInput => StoredJob => ListProtectedJobsOutput(protected_jobs) of ProtectedJobSummary;
}

/// GetProtectedQuery and GetProtectedJob: a run the caller's membership ran or receives the
/// results of.
async fn get_run<I: RunRequest>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let (membership, id) = input.target();
    Ok(I::output(visible_run(state, ctx, membership, id).await?))
}

/// ListProtectedQueries (in the order they were started) and ListProtectedJobs (newest first):
/// the membership's runs and the ones whose results it receives, optionally with one status.
async fn list_runs<I: RunList>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let (entries, next_token) = runs_page(state, ctx, &input, I::entry).await?;
    Ok(I::output(entries, next_token))
}

/// UpdateProtectedQuery and UpdateProtectedJob: `targetStatus=CANCELLED` stops a submitted or
/// running run (CANCELLING until its run has stopped, then CANCELLED). Finished runs cannot be
/// cancelled.
async fn cancel<I: RunRequest>(
    state: &AppState,
    ctx: &RequestContext,
    input: I,
) -> AwsResult<I::Output> {
    let (membership, id) = input.target();
    Ok(I::output(cancel_run(state, ctx, membership, id).await?))
}
