//! AWS Clean Rooms (rest-json, 2022-02-17). The operations served are listed in
//! `openapi/served.json` (checked against [`service`], rendered into
//! `docs/reference/operations.md`); the rest answer 501 naming the operation.
//!
//! Collaborations are regional and visible across accounts to their members; member records are
//! stored per (collaboration, account). Memberships, configured tables, associations and privacy
//! budget templates belong to one account and are invisible to others (templates and budgets are
//! also shown to every ACTIVE member through the collaboration operations); analysis templates
//! belong to their author's membership and are visible to every active member through the
//! collaboration views.
//!
//! The service is layered; each layer may use only itself and the layers below it, and
//! `cargo xtask layers` checks that:
//! - [`errors`]: the Clean Rooms error constructors;
//! - [`domain`]: the stored resource types, their invariants and status transitions;
//! - [`records`]: the metadata store access and the shared access checks;
//! - [`analysis`]: planning and checking one analysis (never commits);
//! - [`workflows`]: the procedures that commit (admission, populate, query, the background runs
//!   and their one settle, cascades, lifecycle);
//! - [`ops`]: the operation handlers, one module per resource family;
//! - [`service`]: the `CleanroomsApi` implementation, one line per operation.

pub mod analysis;
pub mod domain;
pub mod errors;
pub mod ops;
pub mod records;
pub mod service;
pub mod workflows;

pub use workflows::lifecycle::spawn_sweeper;

/// Startup recovery: analyses and protected jobs a stopped process left running can never
/// finish and become FAILED (populations leave the previous version active), analysis log
/// exports left in progress are written again ([`workflows::settle::recover`]).
pub const RECOVERY: crate::jobs::recovery::Recovery = crate::jobs::recovery::Recovery {
    name: "unfinished analyses",
    order: 10,
    run: |state| {
        Box::pin(async move {
            workflows::settle::recover(state)
                .await
                .map_err(|e| e.message)
        })
    },
};

use std::sync::OnceLock;

use axum::http::request::Parts;
use axum::response::Response;
use cleanrooms_emulator_api::cleanrooms::{api, routes};
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

/// Serves one Clean Rooms request.
pub async fn handle(
    state: &AppState,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let service = service::CleanRooms::new(state.clone());
    serve_rest_json(
        super::cleanrooms_model(),
        route_table(),
        state.faults(),
        ctx,
        parts,
        body,
        |ctx, input| async move { api::dispatch(&service, &ctx, input).await },
    )
    .await
}
