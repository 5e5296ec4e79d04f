//! Protected queries: StartProtectedQuery (GetProtectedQuery, ListProtectedQueries and
//! UpdateProtectedQuery, which protected jobs answer alike, are in [`super::runs`]).
//!
//! Only an ACTIVE member with CAN_QUERY may start one. The SQL (ad hoc, or an analysis template
//! of the collaboration with typed parameters) is planned and checked against the analysis rules
//! of every table it reads before anything is stored; then the query is stored SUBMITTED and runs
//! in the background, writing its results as CSV or Parquet under
//! `s3://<bucket>/<keyPrefix>/<queryId>/` in the emulator's S3. Queries are visible to the
//! membership that ran them and to a member receiving their results; the list shows them in the
//! order they were started.

use crate::services::cleanrooms::ops::Operation;
use crate::services::cleanrooms::workflows::query;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// StartProtectedQuery.
impl Operation for dto::StartProtectedQueryInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let protected_query = query::start(state, ctx, input).await?;
        Ok(protected_query.into())
    }
}
