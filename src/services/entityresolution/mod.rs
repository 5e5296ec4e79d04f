//! AWS Entity Resolution (rest-json, 2018-05-10), the subset a Clean Rooms user calls to
//! prepare an ID mapping table: schema mappings, ID namespaces over Glue tables and rule-based
//! ID mapping workflows. The operations served are listed in `openapi/served.json`; the rest
//! (matching workflows, jobs, provider services, policies, tags) answer 501 naming the
//! operation. Workflows run when Clean Rooms populates an ID mapping table built on them.
//!
//! Layers: `model` (stored resources, ARNs, checks without I/O), `repo` (typed store access
//! scoped to an account and region), `resolve` (a workflow's inputs and rules resolved),
//! `matching` (rule-based matching as SQL), `ops/` (one module per resource family),
//! `service` (the trait implementation), `facade` (what other services may use), `errors`.

pub mod errors;
pub mod facade;
pub mod matching;
pub mod model;
pub mod ops;
pub mod repo;
pub mod resolve;
pub mod service;

use std::sync::OnceLock;

use axum::http::request::Parts;
use axum::response::Response;
use cleanrooms_emulator_api::entityresolution::{api, routes};
use cleanrooms_emulator_api::RequestContext;

use crate::protocol::rest_json::RouteTable;
use crate::protocol::serve_rest_json;
use crate::state::AppState;

/// The route table built once from the generated bindings.
fn route_table() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        RouteTable::new(routes::OPERATIONS.iter().map(|o| (o.name, o.method, o.uri)))
    })
}

/// Serves one Entity Resolution request.
pub async fn handle(
    state: &AppState,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let service = service::EntityResolution::new(state.clone());
    serve_rest_json(
        super::entityresolution_model(),
        route_table(),
        state.faults(),
        ctx,
        parts,
        body,
        |ctx, input| async move { api::dispatch(&service, &ctx, input).await },
    )
    .await
}
