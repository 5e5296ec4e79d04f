//! Amazon Athena for Apache Spark (2017-05-18): Spark workgroups, sessions and calculations that
//! run PySpark for real on Sail over the caller's Glue catalog and S3 (spec A).
//!
//! Both wire forms of the API are served: awsJson1.1 (`X-Amz-Target: AmazonAthena.<Operation>`,
//! botocore up to 1.44.13) and restJson1 (method and path, e.g. `POST /workgroups`, botocore
//! 1.44.18 and later). A request is restJson1 when it has no `X-Amz-Target`; its input is bound
//! with the HTTP bindings of `model/athena-rest-json.json` into the same input document, so
//! both reach the same operations.
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

/// Startup recovery: sessions whose runner processes died with the process become TERMINATED
/// and their unfinished calculations FAILED ([`lifecycle::recover`]).
pub const RECOVERY: crate::jobs::recovery::Recovery = crate::jobs::recovery::Recovery {
    name: "Athena sessions",
    order: 30,
    run: |state| Box::pin(async move { lifecycle::recover(state).await.map_err(|e| e.message) }),
};

use axum::http::request::Parts;
use axum::response::Response;
use cleanrooms_emulator_api::athena::api;
use cleanrooms_emulator_api::RequestContext;

use std::sync::OnceLock;

use crate::protocol::rest_json::RouteTable;
use crate::protocol::{serve_aws_json, serve_rest_json};
use crate::state::AppState;

/// The restJson1 routes of Athena, from the HTTP bindings of its restJson1 model.
fn rest_json_routes() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        RouteTable::new(
            super::athena_rest_json_model()
                .operations
                .values()
                .map(|o| (o.name.as_str(), o.method.as_str(), o.uri.as_str())),
        )
    })
}

/// Serves one Athena request.
pub async fn handle(
    state: &AppState,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let service = service::Athena::new(state.clone());
    if !parts.headers.contains_key("x-amz-target") {
        return serve_rest_json(
            super::athena_rest_json_model(),
            rest_json_routes(),
            state.faults(),
            ctx,
            parts,
            body,
            |ctx, input| async move { api::dispatch(&service, &ctx, input).await },
        )
        .await;
    }
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
