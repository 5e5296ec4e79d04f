//! The LakeFormation (Huawei Cloud style) partition REST API (spec C, seed 003):
//! `POST /v1/{project_id}/instances/{instance_id}/catalogs/{catalog_name}/databases/{database_name}/tables/{table_name}/partitions/batch-create`
//! with an `X-Auth-Token` header, snake_case JSON, `201` with a bare array of the created
//! partitions, and `{error_code, error_msg, solution_msg?}` errors.
//!
//! It reads and writes the same Data Catalog as Glue, so a partition created here is visible to
//! `glue:GetPartitions` and the other way round. The mapping:
//! - `project_id` is the account: a 12-digit project id *is* the account id (as a 12-digit access
//!   key is for the AWS APIs); any other project id is the default account
//!   (`--default-account`).
//! - `X-Auth-Token` must be present and non-empty (else 401 `APIG.1002`). Tokens are not
//!   verified, except that a 12-digit token names an account: if it is not the project's
//!   account the call is 403 (a token of another project).
//! - `instance_id` is any identifier; the region is the emulator's default region (`--region`).
//! - `catalog_name` is `hive` (LakeFormation's default catalog, any case) or the account id:
//!   both name the account's Glue Data Catalog; any other valid name is 404.
//! - `database_name`/`table_name` are Glue names (folded to lower case); unknown ones are 404.
//!
//! Timestamps are ISO-8601 strings here and epoch seconds in Glue; `last_access_time` keeps whole
//! seconds; `create_time` is set by the server (the emulator clock), as Glue's `CreationTime` is.
//! Other LakeFormation APIs answer 501 naming the request.

pub mod errors;
pub mod partitions;
pub mod request;

use axum::http::request::Parts;
use axum::http::Method;
use axum::response::Response;
use cleanrooms_emulator_api::RequestContext;

use crate::state::AppState;
use errors::{bad_input, forbidden, json_response, not_implemented, unauthorized, LfError};

/// The LakeFormation catalog name that maps to the account's Glue Data Catalog.
pub const DEFAULT_CATALOG: &str = "hive";

/// Where a batch-create request writes, from its path and the emulator's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The account (from `project_id`).
    pub account: String,
    /// The region (the emulator's default region).
    pub region: String,
    /// `catalog_name` as given.
    pub catalog_name: String,
    /// `database_name` as given.
    pub database: String,
    /// `table_name` as given.
    pub table: String,
}

impl Target {
    /// Whether `catalog_name` names the account's Glue Data Catalog.
    pub fn catalog_known(&self) -> bool {
        self.catalog_name.eq_ignore_ascii_case(DEFAULT_CATALOG) || self.catalog_name == self.account
    }
}

/// The path parameters of a batch-create request, percent-decoded.
struct PathParams {
    project_id: String,
    instance_id: String,
    catalog_name: String,
    database_name: String,
    table_name: String,
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The path parameters when `path` is a batch-create path.
fn batch_create_path(path: &str) -> Option<PathParams> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["", "v1", project, "instances", instance, "catalogs", catalog, "databases", database, "tables", table, "partitions", "batch-create"] => {
            Some(PathParams {
                project_id: decode(project),
                instance_id: decode(instance),
                catalog_name: decode(catalog),
                database_name: decode(database),
                table_name: decode(table),
            })
        }
        _ => None,
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a path name: `max` characters at most, each accepted by `allowed`.
fn check_name(
    param: &str,
    value: &str,
    max: usize,
    allowed: fn(char) -> bool,
    described: &str,
) -> Result<(), LfError> {
    let len = value.chars().count();
    if len == 0 || len > max || !value.chars().all(allowed) {
        return Err(bad_input(
            format!("path parameter '{param}' must be 1 to {max} {described} (got '{value}')"),
            "ConstraintViolationException",
        ));
    }
    Ok(())
}

/// Resolves the token, project and path into a [`Target`].
fn target(state: &AppState, parts: &Parts, params: PathParams) -> Result<Target, LfError> {
    let token = parts
        .headers
        .get("x-auth-token")
        .map(|v| v.to_str().map(str::trim))
        .transpose()
        .map_err(|_| unauthorized())?
        .filter(|t| !t.is_empty())
        .ok_or_else(unauthorized)?;
    let config = state.config();
    let account = if is_account_id(&params.project_id) {
        params.project_id.clone()
    } else {
        config.default_account.clone()
    };
    if is_account_id(token) && token != account {
        return Err(forbidden());
    }
    if params.project_id.is_empty() || params.instance_id.is_empty() {
        return Err(bad_input(
            "path parameters 'project_id' and 'instance_id' must not be empty",
            "ConstraintViolationException",
        ));
    }
    check_name(
        "catalog_name",
        &params.catalog_name,
        256,
        |c| c.is_ascii_alphanumeric() || c == '_',
        "letters, digits or underscores",
    )?;
    let name_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    check_name(
        "database_name",
        &params.database_name,
        128,
        name_char,
        "letters, digits, hyphens or underscores",
    )?;
    check_name(
        "table_name",
        &params.table_name,
        256,
        name_char,
        "letters, digits, hyphens or underscores",
    )?;
    Ok(Target {
        account,
        region: config.region.clone(),
        catalog_name: params.catalog_name,
        database: params.database_name,
        table: params.table_name,
    })
}

/// Serves one LakeFormation API request. Returns the response and the operation for logging.
pub async fn handle(
    state: &AppState,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let path = parts.uri.path();
    let Some(params) = batch_create_path(path).filter(|_| parts.method == Method::POST) else {
        return (
            not_implemented(parts.method.as_str(), path).into_response(),
            String::new(),
        );
    };
    let operation = "BatchCreatePartitions".to_string();
    if let Some(fault) = state
        .faults()
        .inject("lakeformation", &operation, &ctx.account_id)
        .await
    {
        let response = crate::protocol::fault_response(fault, |e| {
            errors::LfError::injected(e).into_response()
        });
        return (response, operation);
    }
    let result = match target(state, parts, params) {
        Ok(target) => partitions::batch_create(state, &target, body).await,
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(created) => json_response(201, &created),
        Err(e) => e.into_response(),
    };
    (response, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_batch_create_paths() {
        let p = batch_create_path(
            "/v1/111111111111/instances/i-1/catalogs/hive/databases/d%C3%A9b/tables/t/partitions/batch-create",
        )
        .unwrap();
        assert_eq!(p.project_id, "111111111111");
        assert_eq!(p.database_name, "déb");
        assert!(
            batch_create_path("/v1/p/instances/i/catalogs/c/databases/d/tables/t/partitions")
                .is_none()
        );
        assert!(batch_create_path(
            "/v1/p/instances/i/catalogs/c/databases/d/tables/t/partitions/batch-create/x"
        )
        .is_none());
    }
}
