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
/// A request that may write runs with its writes checked against its reads
/// ([`crate::store::reads`]): a record it read and writes back is written only if no other
/// writer changed it in between.
pub async fn handle(
    state: &AppState,
    service: Service,
    ctx: RequestContext,
    parts: &Parts,
    body: &[u8],
) -> (Response, String) {
    let dispatch = dispatch(state, service, ctx, parts, body);
    if may_write(parts) {
        crate::store::reads::checked(conflict_answer(service), dispatch).await
    } else {
        dispatch.await
    }
}

/// Whether a request may write: not a GET or HEAD, nor a JSON-protocol call (`X-Amz-Target`) of
/// an operation that only reads (`Get…`, `List…`, `Describe…`, `Search…`, `BatchGet…`), such as
/// the Glue catalogue reads a Spark job makes by the thousand.
fn may_write(parts: &Parts) -> bool {
    if parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD {
        return false;
    }
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .and_then(|t| t.rsplit_once('.'))
        .map(|(_, op)| op);
    !operation.is_some_and(|op| {
        ["Get", "List", "Describe", "Search", "BatchGet"]
            .iter()
            .any(|read| op.starts_with(read))
    })
}

/// How `service` answers a write that lost a race to another writer: its modelled
/// concurrent-modification error where it has one, else an internal error naming the record.
fn conflict_answer(service: Service) -> crate::store::reads::ConflictAnswer {
    use crate::error::AwsError;
    use crate::store::StoreError;

    /// What was changed meanwhile, for a message.
    fn changed(e: &StoreError) -> String {
        match e {
            StoreError::Conflict { id, .. } => {
                format!("{id} was changed by another request meanwhile; retry")
            }
            other => other.to_string(),
        }
    }
    match service {
        Service::CleanRooms => cleanrooms::records::conflict,
        // Glue and Lake Formation model ConcurrentModificationException (400).
        Service::Glue | Service::LakeFormation => {
            |e| AwsError::new("ConcurrentModificationException", 400, changed(e))
        }
        Service::EntityResolution => |e| AwsError::new("ConflictException", 400, changed(e)),
        Service::Athena | Service::Sts | Service::Onehouse | Service::S3 => {
            |e| AwsError::internal(e.to_string())
        }
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

#[cfg(test)]
mod conflict_tests {
    //! A request that may write is checked against its reads ([`crate::store::reads`]): when
    //! another writer (another replica, say) changes a record between the request's read and
    //! its commit, the request answers its service's concurrent-modification error and writes
    //! nothing.

    use std::sync::Arc;

    use axum::body::to_bytes;
    use serde_json::{json, Value};

    use super::*;
    use crate::store::racing::RacingStore;
    use crate::store::reads::ReadChecked;
    use crate::store::sqlite::SqliteStore;
    use crate::store::{MetadataStore, Query, Write};

    /// A state whose store has a racing writer behind the read check, as the server builds it.
    async fn racing() -> (tempfile::TempDir, Arc<ReadChecked<RacingStore>>, AppState) {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        let store = Arc::new(ReadChecked::new(RacingStore::new(sqlite)));
        let state = AppState::new(
            crate::config::Config::default(),
            dir.path().to_path_buf(),
            store.clone(),
            Arc::new(crate::clock::EmulatorClock::with_offset(0.0)),
        );
        (dir, store, state)
    }

    /// Sends one request to `service`; returns the status and the JSON body.
    async fn send(
        state: &AppState,
        service: Service,
        method: &str,
        uri: &str,
        target: Option<&str>,
        body: Value,
    ) -> (u16, Value) {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/x-amz-json-1.1");
        if let Some(target) = target {
            request = request.header("x-amz-target", target);
        }
        let (parts, ()) = request.body(()).unwrap().into_parts();
        let ctx = RequestContext {
            request_id: "r".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            access_key_id: None,
            service: String::new(),
            operation: String::new(),
        };
        let body = serde_json::to_vec(&body).unwrap();
        let (response, _) = handle(state, service, ctx, &parts, &body).await;
        let status = response.status().as_u16();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The one record of `kind`, with `field` of its body set to `value`: another writer's put.
    async fn changed_behind(store: &RacingStore, kind: &str, field: &str, value: &str) -> Write {
        let mut found = store.query(&Query::kind(kind)).await.unwrap();
        assert_eq!(found.len(), 1);
        let mut record = found.remove(0);
        record.body[field] = json!(value);
        Write::put(record)
    }

    #[tokio::test]
    async fn a_clean_rooms_update_that_loses_a_race_is_a_conflict_exception() {
        let (_dir, store, state) = racing().await;
        let (status, created) = send(
            &state,
            Service::CleanRooms,
            "POST",
            "/collaborations",
            None,
            json!({"members": [], "name": "c", "description": "d",
                   "creatorMemberAbilities": ["CAN_QUERY"], "creatorDisplayName": "A",
                   "queryLogStatus": "DISABLED"}),
        )
        .await;
        assert_eq!(status, 200, "{created}");
        let id = created["collaboration"]["id"].as_str().unwrap().to_string();
        let kind = crate::services::cleanrooms::records::kinds::COLLABORATION;
        let racing_write = changed_behind(store.inner(), kind, "description", "theirs").await;
        store.inner().interfere(vec![racing_write]);

        let (status, body) = send(
            &state,
            Service::CleanRooms,
            "PATCH",
            &format!("/collaborations/{id}"),
            None,
            json!({"name": "mine"}),
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["reason"], "INVALID_STATE", "{body}");
        assert_eq!(body["resourceId"], id.as_str(), "{body}");
        // The other writer's change stands; the update wrote nothing.
        let (_, got) = send(
            &state,
            Service::CleanRooms,
            "GET",
            &format!("/collaborations/{id}"),
            None,
            Value::Null,
        )
        .await;
        assert_eq!(got["collaboration"]["description"], "theirs");
        assert_eq!(got["collaboration"]["name"], "c");
    }

    #[test]
    fn reads_are_not_checked_writes_are() {
        let parts = |method: &str, target: Option<&str>| {
            let mut r = axum::http::Request::builder().method(method).uri("/");
            if let Some(t) = target {
                r = r.header("x-amz-target", t);
            }
            r.body(()).unwrap().into_parts().0
        };
        assert!(!may_write(&parts("GET", None)));
        assert!(!may_write(&parts("HEAD", None)));
        assert!(may_write(&parts("POST", None)));
        assert!(may_write(&parts("PATCH", None)));
        assert!(may_write(&parts("DELETE", None)));
        assert!(!may_write(&parts("POST", Some("AWSGlue.GetPartitions"))));
        assert!(!may_write(&parts(
            "POST",
            Some("AWSGlue.BatchGetPartition")
        )));
        assert!(!may_write(&parts(
            "POST",
            Some("AmazonAthena.ListSessions")
        )));
        assert!(may_write(&parts("POST", Some("AWSGlue.UpdateTable"))));
        assert!(may_write(&parts(
            "POST",
            Some("AWSGlue.BatchCreatePartition")
        )));
    }

    #[tokio::test]
    async fn a_glue_update_that_loses_a_race_is_a_concurrent_modification() {
        let (_dir, store, state) = racing().await;
        let (status, body) = send(
            &state,
            Service::Glue,
            "POST",
            "/",
            Some("AWSGlue.CreateDatabase"),
            json!({"DatabaseInput": {"Name": "db", "Description": "d"}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let kind = crate::services::glue::model::kinds::DATABASE;
        let racing_write = changed_behind(store.inner(), kind, "Description", "theirs").await;
        store.inner().interfere(vec![racing_write]);

        let (status, body) = send(
            &state,
            Service::Glue,
            "POST",
            "/",
            Some("AWSGlue.UpdateDatabase"),
            json!({"Name": "db", "DatabaseInput": {"Name": "db", "Description": "mine"}}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["__type"], "ConcurrentModificationException", "{body}");
    }
}
