//! One folder per AWS service. Each has the generated types (in the `cleanrooms-emulator-api`
//! crate), its runtime model, and an implementation of the generated operation trait; operations
//! it does not implement yet answer HTTP 501 naming the operation. `onehouse` is the one API
//! that is not AWS's: the Onehouse Resources API for table services on Delta tables.

pub mod athena;
pub mod cleanrooms;
pub mod entityresolution;
pub mod glue;
pub mod lakeformation;
pub mod onehouse;
pub mod s3;
pub mod sts;
pub mod unimplemented;

use axum::http::request::Parts;
use axum::response::Response;
use cleanrooms_emulator_api::RequestContext;
use serde_json::{json, Value};

use crate::gateway::identify::Service;
use crate::protocol::model::ServiceModel;
use crate::state::AppState;

/// Loads a vendored model once per process.
macro_rules! vendored_model {
    ($name:ident, $file:literal) => {
        /// The vendored botocore model of this service, parsed on first use.
        pub fn $name() -> &'static ServiceModel {
            static MODEL: std::sync::OnceLock<ServiceModel> = std::sync::OnceLock::new();
            MODEL.get_or_init(|| {
                ServiceModel::parse(include_str!(concat!("../../model/", $file))).expect(concat!(
                    "vendored model ",
                    $file,
                    " parses"
                ))
            })
        }
    };
}

vendored_model!(cleanrooms_model, "cleanrooms.json");
vendored_model!(glue_model, "glue.json");
vendored_model!(athena_model, "athena.json");
vendored_model!(athena_rest_json_model, "athena-rest-json.json");
vendored_model!(sts_model, "sts.json");
vendored_model!(entityresolution_model, "entityresolution.json");

/// Hands a request to its service. Returns the response and the operation name for logging.
///
/// A request that may write (any method but GET and HEAD) runs with its writes checked against
/// its reads ([`crate::store::reads`]): a record it read and writes back is written only if no
/// other writer changed it in between.
pub async fn handle(
    state: &AppState,
    service: Service,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let dispatch = dispatch(state, service, ctx, parts, body);
    if parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD {
        dispatch.await
    } else {
        crate::store::reads::checked(dispatch).await
    }
}

/// The service's answer to a request.
async fn dispatch(
    state: &AppState,
    service: Service,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    match service {
        Service::CleanRooms => cleanrooms::handle(state, ctx, parts, body).await,
        Service::Glue => glue::handle(state, ctx, parts, body).await,
        Service::Athena => athena::handle(state, ctx, parts, body).await,
        Service::EntityResolution => entityresolution::handle(state, ctx, parts, body).await,
        Service::Sts => sts::handle(state.faults(), ctx, parts, body).await,
        Service::LakeFormation => lakeformation::handle(state, ctx, parts, body).await,
        Service::Onehouse => onehouse::handle(state, ctx, parts, body).await,
        // S3 is served by `handle_s3` with the streaming body; reaching here is a gateway bug.
        Service::S3 => unimplemented::s3(ctx, parts),
    }
}

/// Hands an S3 request (with its streaming body) to the S3 service.
pub async fn handle_s3(
    state: &AppState,
    ctx: RequestContext,
    req: axum::extract::Request,
) -> (Response, String) {
    s3::handle(state, ctx, req).await
}

/// What `/_emulator/health` reports per service.
pub fn status() -> Value {
    json!({
        "cleanrooms": {"protocol": "rest-json", "apiVersion": "2022-02-17"},
        "glue": {"protocol": "json", "apiVersion": "2017-03-31"},
        "athena": {"protocol": "json", "protocols": ["json", "rest-json"], "apiVersion": "2017-05-18"},
        "sts": {"protocol": "query", "apiVersion": "2011-06-15"},
        "entityresolution": {"protocol": "rest-json", "apiVersion": "2018-05-10"},
        "s3": {"protocol": "rest-xml", "apiVersion": "2006-03-01"},
        "onehouse": {"protocol": "onehouse-resources", "paths": ["/v1/resource/", "/v1/status/{requestId}"]},
    })
}

/// Every service's recovery, in the order they run: the S3 write journal first (it removes the
/// temporary files of interrupted writes, so nothing may stage a file before it has run), then
/// Clean Rooms analyses and jobs a stopped process left running, table-service runs left
/// active, and Athena sessions whose runner processes died with the process.
pub fn recoveries() -> Vec<crate::jobs::recovery::Recovery> {
    let mut all = vec![
        s3::RECOVERY,
        cleanrooms::RECOVERY,
        onehouse::RECOVERY,
        athena::RECOVERY,
    ];
    all.sort_by_key(|r| r.order);
    all
}

#[cfg(test)]
mod recovery_tests {
    use super::*;

    #[test]
    fn the_s3_journal_runs_first_and_every_place_is_taken_once() {
        let all = recoveries();
        assert_eq!(all[0].name, "S3 write journal");
        let mut orders: Vec<u8> = all.iter().map(|r| r.order).collect();
        orders.dedup();
        assert_eq!(orders.len(), all.len());
        assert_eq!(
            all.iter().map(|r| r.name).collect::<Vec<_>>(),
            [
                "S3 write journal",
                "unfinished analyses",
                "unfinished table-service runs",
                "Athena sessions"
            ]
        );
    }
}
