//! Protected queries: StartProtectedQuery, GetProtectedQuery, ListProtectedQueries and
//! UpdateProtectedQuery (cancellation).
//!
//! Only an ACTIVE member with CAN_QUERY may start one. The SQL (ad hoc, or an analysis template
//! of the collaboration with typed parameters) is planned and checked against the analysis rules
//! of every table it reads before anything is stored; then the query is stored SUBMITTED and runs
//! in the background, writing its results as CSV or Parquet under
//! `s3://<bucket>/<keyPrefix>/<queryId>/` in the emulator's S3. Queries are visible to the
//! membership that ran them.

use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::errors::{access_denied, not_found_msg, ResourceType};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::own_membership;
use crate::services::cleanrooms::records::protected_queries::queries_page;
use crate::services::cleanrooms::records::protected_queries::received;
use crate::services::cleanrooms::workflows::query;
use crate::services::cleanrooms::workflows::query::cancel_query;

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
    Ok(dto::StartProtectedQueryOutput {
        protected_query: query::start(state, ctx, input).await?,
    })
}

/// The query `id` run by, or received by, the caller's membership `membership_id`.
async fn own_query(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<StoredQuery> {
    let m = own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    let received = received(state, id, &m.id).await?;
    match records::record::<StoredQuery>(state, id).await? {
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
                "Could not find protected query with id {id} in membership {}",
                m.id
            ),
        )),
    }
}

/// GetProtectedQuery.
pub async fn get_protected_query(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetProtectedQueryInput,
) -> AwsResult<dto::GetProtectedQueryOutput> {
    let q = own_query(
        state,
        ctx,
        &input.membership_identifier,
        &input.protected_query_identifier,
    )
    .await?;
    Ok(dto::GetProtectedQueryOutput {
        protected_query: q.query,
    })
}

/// ListProtectedQueries: the membership's queries in the order they were started, optionally
/// with one status.
pub async fn list_protected_queries(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListProtectedQueriesInput,
) -> AwsResult<dto::ListProtectedQueriesOutput> {
    let m = own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    // The status filter is part of the list a token belongs to.
    let scope = format!(
        "protectedqueries:{}:{}",
        input.status.map_or("", |s| s.as_str()),
        m.id
    );
    // The membership's own queries, and the ones whose results it received, in start order.
    let (protected_queries, next_token) = queries_page(
        state,
        &scope,
        &m.id,
        (input.next_token.as_deref(), input.max_results),
        |q: StoredQuery| {
            input
                .status
                .is_none_or(|s| q.query.status == s)
                .then(|| q.to_summary())
        },
    )
    .await?;
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
    let _guard = state.write_lock().await;
    let q = own_query(
        state,
        ctx,
        &input.membership_identifier,
        &input.protected_query_identifier,
    )
    .await?;
    if q.query.membership_id != input.membership_identifier {
        return Err(access_denied(format!(
            "Only the member who ran protected query {} can cancel it; membership {} received its results",
            q.query.id, input.membership_identifier
        )));
    }
    let q = cancel_query(state, &q.query.id).await?;
    state.jobs().cancel(&q.query.id);
    Ok(dto::UpdateProtectedQueryOutput {
        protected_query: q.query,
    })
}
