//! cleanrooms-emulator: AWS Clean Rooms (and the S3, Glue, STS, Athena and Entity Resolution it
//! needs) on one local endpoint, for boto3, the AWS CLI and awswrangler via `endpoint_url`.
//!
//! A request flows through five stages that never mix:
//! 1. [`gateway`] — request id, SigV4 credential scope → account and region, service identification;
//! 2. [`protocol`] — the operation from the route table (rest-json) or `X-Amz-Target` (awsJson),
//!    input bound from labels, query, headers and body into one model-form JSON value, validated
//!    against the vendored botocore model;
//! 3. [`services`] — the generated `dispatch` turns the value into a typed input and calls the
//!    service's trait implementation (`services::<svc>::ops::*`), which uses the
//! 4. [`store`] (durable metadata) and the [`clock`];
//! 5. the output (or [`error::AwsError`]) is encoded back by [`protocol`].
//!
//! [`admin`] serves `/_emulator/*`. Generated types live in the `cleanrooms-emulator-api` crate.

pub mod admin;
pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
pub mod faults;
pub mod gateway;
pub mod jobs;
pub mod object_files;
pub mod protocol;
pub mod server;
pub mod services;
pub mod state;
/// Managed storage: one Delta Lake table per intermediate table, one commit per population.
pub mod storage;
pub mod store;
pub mod util;

use axum::Router;

pub use state::AppState;

/// Sub-directories of the data dir holding data (wiped by `/_emulator/reset`).
pub const DATA_SUBDIRS: &[&str] = &["s3", "s3-tmp", "s3-multipart", "managed", "athena"];

/// The whole HTTP application: admin routes, and the gateway for everything else.
pub fn app(state: AppState) -> Router {
    admin::router().fallback(gateway::handle).with_state(state)
}
