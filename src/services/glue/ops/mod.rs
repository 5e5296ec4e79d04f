//! One module per Glue resource family; each public function implements one operation. The
//! helpers here are what every family shares: the caller's catalog, page sizes, and converting
//! an input shape into the output shape that carries the same members.

pub mod databases;
pub mod partitions;
pub mod tables;

use cleanrooms_emulator_api::RequestContext;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::model::Catalog;
use super::repo;
use crate::error::{AwsError, AwsResult};

/// The caller's catalog, after checking the request's `CatalogId` against it.
pub(crate) fn catalog<'a>(
    ctx: &'a RequestContext,
    catalog_id: Option<&str>,
) -> AwsResult<Catalog<'a>> {
    repo::check_catalog_id(&ctx.account_id, &ctx.region, &ctx.operation, catalog_id)?;
    Ok(Catalog::new(&ctx.account_id, &ctx.region))
}

/// The page size for `MaxResults` (already validated against the model's range).
pub(crate) fn page_size(max_results: Option<i32>, default: usize) -> usize {
    max_results.map_or(default, |n| usize::try_from(n).unwrap_or(1).max(1))
}

/// Converts an input shape (`TableInput`, `DatabaseInput`, …) into the output shape with the
/// same member names; members only the output has stay unset.
pub(crate) fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> AwsResult<B> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| AwsError::internal(format!("cannot convert the input shape: {e}")))
}
