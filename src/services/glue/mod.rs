//! AWS Glue Data Catalog (awsJson1.1, `X-Amz-Target: AWSGlue.<Operation>`, 2017-03-31): the
//! subset that registers base data (spec B).
//!
//! Implemented operations (the rest answer 501 naming the operation): CreateDatabase,
//! GetDatabase, GetDatabases, UpdateDatabase, DeleteDatabase, CreateTable, GetTable, GetTables,
//! UpdateTable, DeleteTable, BatchDeleteTable, CreatePartition, BatchCreatePartition,
//! GetPartition, GetPartitions, BatchGetPartition, UpdatePartition, DeletePartition,
//! BatchDeletePartition.
//!
//! Every catalog belongs to one account (the caller's; `CatalogId` may only name it) in one
//! region, and is durable. Database and table names are folded to lower case, on write and on
//! lookup. `ops/` holds one module per resource family, `model` the stored records, `repo` the
//! typed store access, `errors` the Glue error constructors, `expression` the GetPartitions
//! filter language, and `catalog` the read API the query engine and the LakeFormation partition
//! API use.

pub mod catalog;
pub mod errors;
pub mod expression;
pub mod model;
pub mod ops;
pub mod repo;
pub mod service;

use axum::http::request::Parts;
use axum::response::Response;
use cleanrooms_emulator_api::glue::api;
use cleanrooms_emulator_api::RequestContext;

use crate::protocol::serve_aws_json;
use crate::state::AppState;

/// Serves one Glue request.
pub async fn handle(
    state: &AppState,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let service = service::Glue::new(state.clone());
    // An Athena Spark session's engine sees tables in a form it can read (athena::spark_catalog).
    let spark_session = crate::services::athena::spark_catalog::is_spark_session(parts);
    serve_aws_json(
        super::glue_model(),
        state.faults(),
        ctx,
        parts,
        body,
        |ctx, input| async move {
            let output = api::dispatch(&service, &ctx, input)
                .await
                .map_err(errors::glue_fault)?;
            Ok(if spark_session {
                crate::services::athena::spark_catalog::present(&ctx.operation, output)
            } else {
                output
            })
        },
    )
    .await
}
