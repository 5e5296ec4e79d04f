//! Amazon Athena for Apache Spark (awsJson1.1, `X-Amz-Target: AmazonAthena.<Operation>`,
//! 2017-05-18): Spark workgroups, sessions and calculations that run PySpark for real on Sail
//! over the caller's Glue catalog and S3 (spec A).
//!
//! Implemented operations (the rest answer 501 naming the operation): CreateWorkGroup,
//! GetWorkGroup, ListWorkGroups, UpdateWorkGroup, DeleteWorkGroup, ListEngineVersions,
//! TagResource, UntagResource, ListTagsForResource, StartSession, GetSession, GetSessionStatus,
//! ListSessions, TerminateSession, StartCalculationExecution, GetCalculationExecution,
//! GetCalculationExecutionStatus, GetCalculationExecutionCode, ListCalculationExecutions,
//! StopCalculationExecution.
//!
//! Layers: `model` (stored records, state machines, Spark property rules — no I/O), `repo`
//! (typed store access scoped to the caller's account and region), `runtime` (the per-session
//! runner processes), `lifecycle` (each session's worker: start-up, calculations, termination,
//! idle timeout, recovery after a restart), `ops/` (one module per resource family), `errors`
//! (the Athena error constructors), `spark_catalog` (the Glue catalog as a session's engine sees
//! it).

pub mod errors;
pub mod lifecycle;
pub mod model;
pub mod ops;
pub mod repo;
pub mod runtime;
pub mod service;
pub mod spark_catalog;

use axum::http::request::Parts;
use axum::response::Response;
use cleanrooms_emulator_api::athena::api;
use cleanrooms_emulator_api::RequestContext;

use crate::protocol::serve_aws_json;
use crate::state::AppState;

/// Serves one Athena request.
pub async fn handle(
    state: &AppState,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let service = service::Athena::new(state.clone());
    serve_aws_json(
        super::athena_model(),
        state.faults(),
        ctx,
        parts,
        body,
        |ctx, input| async move { api::dispatch(&service, &ctx, input).await },
    )
    .await
}
