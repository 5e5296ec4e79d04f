//! The emulator's own API under `/_emulator/`, outside every AWS namespace: health, reset of all
//! state and data, the clock (read it, move it forward), and `sql` (run SQL with the engine over
//! an account's Glue catalog), `dp-seed` (make differential-privacy noise reproducible) and
//! `faults` (fault rules for users' retry tests, [`crate::faults`]).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub mod sql;

use crate::state::AppState;
use crate::store::{Record, Write};

/// Record kind and id under which the clock offset is persisted.
const CLOCK_KIND: &str = "emulator";
const CLOCK_ID: &str = "clock";

/// Routes of the admin API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/clock", get(get_clock).post(advance_clock))
        .route("/_emulator/sql", post(sql::run_sql))
        .route("/_emulator/dp-seed", get(get_dp_seed).post(set_dp_seed))
        .route(
            "/_emulator/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/faults/{id}", delete(remove_fault))
        .layer(axum::middleware::map_response(with_request_id))
}

/// Admin responses carry a request id like every other response.
async fn with_request_id(mut resp: Response) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&crate::util::ids::new_id()) {
        resp.headers_mut().insert("x-amzn-RequestId", v);
    }
    resp
}

pub(crate) fn admin_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"error": status.canonical_reason(), "message": message})),
    )
        .into_response()
}

async fn health() -> Json<Value> {
    Json(json!({
        "status": "ready",
        "version": env!("CARGO_PKG_VERSION"),
        "services": crate::services::status(),
    }))
}

async fn reset(State(state): State<AppState>) -> Response {
    // Running analyses would write into what is being wiped.
    state.jobs().cancel_all();
    // Spark sessions' runners stop when their workers lose their handles.
    state.athena().stop_all();
    let _guard = state.write_lock().await;
    if let Err(e) = state.store().reset().await {
        return admin_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    for sub in crate::DATA_SUBDIRS {
        let dir = state.data_dir().join(sub);
        if dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&dir) {
                return admin_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("cannot wipe {}: {e}", dir.display()),
                );
            }
        }
    }
    state.emulator_clock().reset();
    state.dp_noise().clear();
    state.faults().clear();
    Json(json!({"status": "reset"})).into_response()
}

fn clock_body(state: &AppState) -> Value {
    json!({"now": state.now(), "offsetSeconds": state.emulator_clock().offset_seconds()})
}

async fn get_clock(State(state): State<AppState>) -> Json<Value> {
    Json(clock_body(&state))
}

async fn advance_clock(State(state): State<AppState>, body: Bytes) -> Response {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let seconds = match parsed.as_ref().ok().and_then(|v| v.get("advanceSeconds")) {
        Some(v) => match v.as_f64() {
            Some(s) if s >= 0.0 && s.is_finite() => s,
            _ => {
                return admin_error(
                    StatusCode::BAD_REQUEST,
                    "advanceSeconds must be a non-negative number of seconds (the clock only moves forward)",
                )
            }
        },
        None => return admin_error(StatusCode::BAD_REQUEST, "expected a JSON body {\"advanceSeconds\": N}"),
    };
    let _guard = state.write_lock().await;
    let offset = state.emulator_clock().advance(seconds);
    let record = Record::new(
        CLOCK_KIND,
        CLOCK_ID,
        "",
        "",
        None,
        json!({"offsetSeconds": offset}),
    );
    if let Err(e) = state.store().commit(vec![Write::put(record)]).await {
        return admin_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    Json(clock_body(&state)).into_response()
}

/// The persisted clock offset, so a restart keeps the emulator's notion of time.
pub async fn load_clock_offset(store: &dyn crate::store::MetadataStore) -> f64 {
    match store.get(CLOCK_KIND, CLOCK_ID).await {
        Ok(Some(r)) => r
            .body
            .get("offsetSeconds")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

fn dp_seed_body(state: &AppState) -> Value {
    json!({"seed": state.dp_noise().seed()})
}

async fn get_dp_seed(State(state): State<AppState>) -> Json<Value> {
    Json(dp_seed_body(&state))
}

/// `{"seed": N}` (a non-negative integer below 2^64) seeds the differential-privacy noise of
/// the queries admitted from now on; `{"seed": null}` returns to OS randomness.
async fn set_dp_seed(State(state): State<AppState>, body: Bytes) -> Response {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    match parsed.as_ref().ok().and_then(|v| v.get("seed")) {
        Some(Value::Null) => state.dp_noise().clear(),
        Some(v) => match v.as_u64() {
            Some(seed) => state.dp_noise().set(seed),
            None => {
                return admin_error(
                    StatusCode::BAD_REQUEST,
                    "seed must be a non-negative integer below 2^64, or null to return to OS randomness",
                )
            }
        },
        None => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                "expected a JSON body {\"seed\": N} (or {\"seed\": null})",
            )
        }
    }
    Json(dp_seed_body(&state)).into_response()
}

fn faults_body(state: &AppState) -> Value {
    json!({"rules": state.faults().list()})
}

async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    Json(faults_body(&state))
}

/// Adds one rule (see [`crate::faults`] for its fields); answers the rule with its id.
async fn add_fault(State(state): State<AppState>, body: Bytes) -> Response {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return admin_error(
                StatusCode::BAD_REQUEST,
                &format!("expected a JSON object describing one fault rule: {e}"),
            )
        }
    };
    match state.faults().add(&parsed) {
        Ok(rule) => (StatusCode::CREATED, Json(json!(rule))).into_response(),
        Err(message) => admin_error(StatusCode::BAD_REQUEST, &message),
    }
}

async fn clear_faults(State(state): State<AppState>) -> Json<Value> {
    state.faults().clear();
    Json(faults_body(&state))
}

async fn remove_fault(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    if state.faults().remove(&id) {
        Json(faults_body(&state)).into_response()
    } else {
        admin_error(
            StatusCode::NOT_FOUND,
            &format!("no fault rule with id '{id}'"),
        )
    }
}
