//! StartProtectedQuery, top-down: the runner (ACTIVE, CAN_QUERY) → an early quota check (so
//! a query that cannot be admitted is not planned) → the SQL bound → the result destination
//! resolved → admission ([`admit`](super::admit): compute, payer, plan and rules) → under the
//! write lock, the quota checked again and one commit of the query (SUBMITTED), the receivers'
//! receipts and the budget charge → the background run
//! ([`runs::spawn_query`](super::runs::spawn_query)).

use crate::services::cleanrooms::analysis::sql::bound_sql;
use crate::services::cleanrooms::analysis::Purpose;
use crate::services::cleanrooms::domain::protected_query::{StoredQuery, Submission};
use crate::services::cleanrooms::errors::{check_room, invalid_configuration};
use crate::services::cleanrooms::records::access::query_runner;
use crate::services::cleanrooms::records::listing::{put_new_run, run_receipt};
use crate::services::cleanrooms::workflows::admit::admit;
use crate::services::cleanrooms::workflows::admit::{commit_charged, Request};
use crate::services::cleanrooms::workflows::analysis_logs;
use crate::services::cleanrooms::workflows::delivery;
use crate::services::cleanrooms::workflows::runs::{ongoing_queries, spawn_query};
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::util::ids;

/// How many protected queries one membership may have SUBMITTED or STARTED at once (the Clean
/// Rooms quota "concurrent ongoing queries per membership").
pub const MAX_ONGOING_QUERIES_PER_MEMBERSHIP: usize = 5;

/// Refuses another query of membership `membership_id` when it already has
/// [`MAX_ONGOING_QUERIES_PER_MEMBERSHIP`] ongoing. Authoritative only under the write lock,
/// together with the commit and the start of the run; before it, an early refusal that saves
/// the planning of a query that cannot be admitted.
///
/// # Errors
/// `ServiceQuotaExceededException`.
fn within_quota(state: &AppState, membership_id: &str) -> AwsResult<()> {
    check_room(
        "Concurrent ongoing protected queries per membership",
        ongoing_queries(state, membership_id),
        MAX_ONGOING_QUERIES_PER_MEMBERSHIP,
    )
}

/// Starts the protected query `input` describes; returns it as stored (SUBMITTED).
///
/// # Errors
/// `AccessDeniedException` when the caller may not query; `ValidationException` for SQL,
/// parameters, destination, compute or payer at fault, a broken analysis rule, or a budget that
/// cannot pay; `ServiceQuotaExceededException` when the membership already has
/// [`MAX_ONGOING_QUERIES_PER_MEMBERSHIP`] queries ongoing; nothing is stored then.
pub async fn start(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartProtectedQueryInput,
) -> AwsResult<dto::ProtectedQuery> {
    let (m, collaboration, _) = query_runner(state, ctx, &input.membership_identifier).await?;
    // A cheap early refusal before the costly planning; the check under the lock below decides.
    within_quota(state, &m.id)?;
    let (sql, template) = bound_sql(
        state,
        &collaboration.id,
        &input.sql_parameters,
        "sqlParameters",
    )
    .await?;
    let result_configuration = match &input.result_configuration {
        Some(r) => r.clone(),
        None => match &m.default_result_configuration {
            Some(d) => {
                let dto::MembershipProtectedQueryOutputConfiguration::S3(s3) =
                    &d.output_configuration;
                dto::ProtectedQueryResultConfiguration {
                    output_configuration: dto::ProtectedQueryOutputConfiguration::S3(s3.clone()),
                }
            }
            None => {
                return Err(invalid_configuration(format!(
                    "No resultConfiguration was given and membership {} has no defaultResultConfiguration",
                    m.id
                )))
            }
        },
    };
    let delivery = delivery::resolve(
        state,
        &collaboration,
        &m,
        &result_configuration.output_configuration,
    )
    .await?;
    let receivers = delivery.receivers(&ctx.account_id);
    let request = Request {
        runner: &ctx.account_id,
        compute: (
            "computeConfiguration.worker",
            input.compute_configuration.as_ref().map(|c| match c {
                dto::ComputeConfiguration::Worker(w) => w,
            }),
        ),
        payer: (
            input.query_compute_payer_account_id.as_deref(),
            "queryComputePayerAccountId",
        ),
        purpose: Purpose::Results {
            receivers: &receivers,
        },
    };
    let admitted = admit(state, &collaboration, (&sql, template.as_ref()), request).await?;
    let id = ids::new_id();
    let log = analysis_logs::submission_log(state, &ctx.region, (&id, &m), &admitted).await?;
    let stored = StoredQuery::submitted(Submission {
        id: id.clone(),
        now: state.now(),
        membership_id: m.id.clone(),
        membership_arn: m.arn.clone(),
        account_id: ctx.account_id.clone(),
        collaboration_id: collaboration.id.clone(),
        compute_configuration: input.compute_configuration.clone(),
        payer: admitted.payer,
        result_configuration,
        sql_parameters: input.sql_parameters.clone(),
        populate: None,
        receivers,
    });
    let mut writes = put_new_run(&ctx.region, &stored)?;
    writes.extend(log);
    for account in delivery.member_receivers() {
        writes.extend(
            run_receipt::<StoredQuery>(state, &ctx.region, &collaboration.id, &account, &id)
                .await?,
        );
    }
    {
        // The quota check, the commit and the start of the run happen under one lock, so
        // concurrent starts cannot pass the quota together.
        let _guard = state.write_lock().await;
        within_quota(state, &m.id)?;
        commit_charged(state, &collaboration.id, &admitted.prepared, writes).await?;
        spawn_query(state, &id, &m.id, admitted.prepared, delivery);
    }
    Ok(stored.query)
}
