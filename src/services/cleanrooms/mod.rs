//! AWS Clean Rooms (rest-json, 2022-02-17).
//!
//! Implemented operations (the rest answer 501 naming the operation):
//! - collaborations: CreateCollaboration, GetCollaboration, ListCollaborations,
//!   UpdateCollaboration, DeleteCollaboration, ListMembers, DeleteMember;
//! - memberships: CreateMembership, GetMembership, ListMemberships, UpdateMembership,
//!   DeleteMembership;
//! - configured tables: Create/Get/List/Update/DeleteConfiguredTable,
//!   Create/Get/Update/DeleteConfiguredTableAnalysisRule;
//! - associations: Create/Get/List/Update/DeleteConfiguredTableAssociation,
//!   Create/Get/Update/DeleteConfiguredTableAssociationAnalysisRule;
//! - privacy budget templates: Create/Get/List/Update/DeletePrivacyBudgetTemplate,
//!   GetCollaborationPrivacyBudgetTemplate, ListCollaborationPrivacyBudgetTemplates, and the
//!   budgets they govern: ListPrivacyBudgets, ListCollaborationPrivacyBudgets (spent by analyses,
//!   see `budgets`), PreviewPrivacyImpact;
//! - schemas: ListSchemas, GetSchema, BatchGetSchema, Get/BatchGetSchemaAnalysisRule;
//! - analysis templates: Create/Get/List/Update/DeleteAnalysisTemplate,
//!   Get/List/BatchGetCollaborationAnalysisTemplate;
//! - protected queries: StartProtectedQuery, GetProtectedQuery, ListProtectedQueries,
//!   UpdateProtectedQuery; PopulateIntermediateTable (the pipeline is in `analysis`);
//! - intermediate tables: Create/Get/List/Update/DeleteIntermediateTable,
//!   ListIntermediateTableVersions, DisallowIntermediateTable,
//!   Create/Get/Update/DeleteIntermediateTableAnalysisRule (`lifecycle` holds what happens to
//!   them when base tables go, providers disallow or retention expires);
//! - TagResource, UntagResource, ListTagsForResource.
//!
//! Collaborations are regional and visible across accounts to their members; member records are
//! stored per (collaboration, account). Memberships, configured tables, associations and privacy
//! budget templates belong to one account and are invisible to others (templates and budgets are
//! also shown to every ACTIVE member through the collaboration operations); analysis templates
//! belong to their author's membership and are visible to every active member through the
//! collaboration views. `ops/` holds one module per resource family, `model`
//! the stored domain types, `repo` the typed access to the metadata store, `errors` the Clean
//! Rooms error constructors.

pub mod analysis;
pub mod budgets;
pub mod errors;
pub mod intermediate;
pub mod lifecycle;
pub mod model;
pub mod ops;
pub mod protected_query;
pub mod repo;
pub mod service;

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
