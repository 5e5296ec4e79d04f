//! Protected queries: StartProtectedQuery, GetProtectedQuery, ListProtectedQueries and
//! UpdateProtectedQuery (cancellation).
//!
//! Only an ACTIVE member with CAN_QUERY may start one. The SQL (ad hoc, or an analysis template
//! of the collaboration with typed parameters) is planned and checked against the analysis rules
//! of every table it reads before anything is stored; then the query is stored SUBMITTED and runs
//! in the background, writing its results as CSV or Parquet under
//! `s3://<bucket>/<keyPrefix>/<queryId>/` in the emulator's S3. Queries are visible to the
//! membership that ran them and to a member receiving their results; the list shows them in the
//! order they were started.

use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::records::listing::{runs_page, visible_run};
use crate::services::cleanrooms::workflows::{cancel::cancel_run, query};

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// StartProtectedQuery.
pub async fn start_protected_query(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartProtectedQueryInput,
) -> AwsResult<dto::StartProtectedQueryOutput> {
    let protected_query = query::start(state, ctx, input).await?;
    Ok(dto::StartProtectedQueryOutput { protected_query })
}

/// GetProtectedQuery: a query the caller's membership ran or receives the results of.
pub async fn get_protected_query(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetProtectedQueryInput,
) -> AwsResult<dto::GetProtectedQueryOutput> {
    let (membership, id) = (
        &input.membership_identifier,
        &input.protected_query_identifier,
    );
    let protected_query = visible_run::<StoredQuery>(state, ctx, membership, id)
        .await?
        .query;
    Ok(dto::GetProtectedQueryOutput { protected_query })
}

/// ListProtectedQueries: the membership's queries in the order they were started, optionally
/// with one status.
pub async fn list_protected_queries(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListProtectedQueriesInput,
) -> AwsResult<dto::ListProtectedQueriesOutput> {
    let (protected_queries, next_token) =
        runs_page(state, ctx, &input, StoredQuery::to_summary).await?;
    Ok(dto::ListProtectedQueriesOutput {
        next_token,
        protected_queries,
    })
}

/// UpdateProtectedQuery: `targetStatus=CANCELLED` stops a submitted or running query
/// (CANCELLING until the run has stopped, then CANCELLED). Finished queries cannot be cancelled.
pub async fn update_protected_query(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateProtectedQueryInput,
) -> AwsResult<dto::UpdateProtectedQueryOutput> {
    let (membership, id) = (
        &input.membership_identifier,
        &input.protected_query_identifier,
    );
    let protected_query = cancel_run::<StoredQuery>(state, ctx, membership, id)
        .await?
        .query;
    Ok(dto::UpdateProtectedQueryOutput { protected_query })
}
