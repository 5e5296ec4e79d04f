//! `POST /_emulator/sql`: run SQL with the emulator's engine over an account's Glue catalog, as
//! the engine sees it — a developer's window onto what Clean Rooms analyses will read (and the
//! way the engine benchmark drives the emulator). Tables are named `database.table`; the answer
//! holds the column names, the rows as JSON objects and the physical plan.
//!
//! Body: `{"sql": "...", "accountId": "111111111111", "region": "us-east-1"}` (account and
//! region default to the emulator's defaults).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::physical_plan::displayable;
use serde_json::{json, Value};

use super::admin_error;
use crate::engine::{Engine, SessionSettings};
use crate::services::glue::catalog;
use crate::state::AppState;

/// Handler of `POST /_emulator/sql`.
pub async fn run_sql(State(state): State<AppState>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return admin_error(
            StatusCode::BAD_REQUEST,
            "expected a JSON body {\"sql\": \"...\"}",
        );
    };
    let Some(sql) = req.get("sql").and_then(Value::as_str) else {
        return admin_error(StatusCode::BAD_REQUEST, "missing \"sql\"");
    };
    let account = req
        .get("accountId")
        .and_then(Value::as_str)
        .unwrap_or(&state.config().default_account)
        .to_string();
    let region = req
        .get("region")
        .and_then(Value::as_str)
        .unwrap_or(&state.config().region)
        .to_string();
    match execute(&state, &account, &region, sql).await {
        Ok(v) => Json(v).into_response(),
        Err((status, message)) => admin_error(status, &message),
    }
}

async fn execute(
    state: &AppState,
    account: &str,
    region: &str,
    sql: &str,
) -> Result<Value, (StatusCode, String)> {
    let bad = |e: String| (StatusCode::BAD_REQUEST, e);
    let engine = Engine::new(state.data_dir());
    let ctx = engine.session(&SessionSettings::default());
    let session = ctx.state();
    let statement = session
        .sql_to_statement(sql, &datafusion::common::config::Dialect::default())
        .map_err(|e| bad(e.to_string()))?;
    let references = session
        .resolve_table_references(&statement)
        .map_err(|e| bad(e.to_string()))?;
    let default_catalog = ctx.catalog("datafusion").ok_or_else(|| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "no default catalog".to_string(),
        )
    })?;
    for reference in references {
        let (Some(database), table) = (reference.schema(), reference.table()) else {
            return Err(bad(format!(
                "table '{reference}' must be named as database.table (a Glue database and table)"
            )));
        };
        let glue_table = catalog::table(state, account, region, database, table)
            .await
            .map_err(|e| (StatusCode::NOT_FOUND, e.message))?;
        let partitions = catalog::partitions(state, account, region, database, table)
            .await
            .map_err(|e| (StatusCode::NOT_FOUND, e.message))?;
        let provider = engine
            .glue_table(&glue_table, &partitions)
            .await
            .map_err(|e| bad(e.to_string()))?;
        if default_catalog.schema(database).is_none() {
            default_catalog
                .register_schema(database, Arc::new(MemorySchemaProvider::new()))
                .map_err(|e| bad(e.to_string()))?;
        }
        ctx.register_table(reference.clone(), provider)
            .map_err(|e| bad(e.to_string()))?;
    }
    let df = ctx.sql(sql).await.map_err(|e| bad(e.to_string()))?;
    let plan = df
        .clone()
        .create_physical_plan()
        .await
        .map_err(|e| bad(e.to_string()))?;
    let plan_text = displayable(plan.as_ref()).indent(true).to_string();
    let columns: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = df.collect().await.map_err(|e| bad(e.to_string()))?;
    let mut writer = datafusion::arrow::json::ArrayWriter::new(Vec::new());
    for batch in &batches {
        writer.write(batch).map_err(|e| bad(e.to_string()))?;
    }
    writer.finish().map_err(|e| bad(e.to_string()))?;
    let bytes = writer.into_inner();
    let rows: Value = if bytes.is_empty() {
        json!([])
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    };
    Ok(json!({"columns": columns, "rows": rows, "plan": plan_text}))
}
