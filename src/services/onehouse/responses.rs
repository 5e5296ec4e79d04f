//! Every `apiResponse` body the API emits, in one place (spec §6.2): the wrapper key is the
//! command's (`<camelCaseCommand>ApiResponse`), int64 values are JSON strings, timestamps
//! RFC 3339 UTC, enums carry their type prefix, arrays are always present, unset optional
//! scalars are omitted. Failures carry `errorMessage`.

use serde_json::{json, Map, Value};

use super::model::{shown_status, Database, Lake, Run, Savepoint, TableService};
use super::parser::Command;
use crate::util::time::format_iso8601;

/// The `apiStatus` of a finished request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiStatus {
    /// Done.
    Success,
    /// The statement is semantically wrong (unknown resource, bad option, wrong state).
    Invalid,
    /// Executing it failed.
    Failed,
}

impl ApiStatus {
    /// The wire name.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Success => "API_OPERATION_STATUS_SUCCESS",
            Self::Invalid => "API_OPERATION_STATUS_INVALID",
            Self::Failed => "API_OPERATION_STATUS_FAILED",
        }
    }
}

/// `{"errorMessage": message}`.
pub fn error(message: &str) -> Value {
    json!({ "errorMessage": message })
}

/// `{<wrapper>: body}`.
pub fn wrap(command: Command, body: Value) -> Value {
    let mut map = Map::new();
    map.insert(command.response_key().to_string(), body);
    Value::Object(map)
}

/// The wrapper with an empty body (CREATE, ALTER, DELETE, PAUSE, RESUME, ALTER SERVICES_CLUSTER).
pub fn empty(command: Command) -> Value {
    wrap(command, json!({}))
}

fn time(epoch: f64) -> Value {
    Value::String(format_iso8601(epoch))
}

/// Inserts `key` when `value` is set.
fn set<T>(map: &mut Map<String, Value>, key: &str, value: Option<T>, f: impl Fn(T) -> Value) {
    if let Some(v) = value {
        map.insert(key.to_string(), f(v));
    }
}

/// SHOW LAKES.
pub fn lakes(lakes: &[Lake]) -> Value {
    let items: Vec<Value> = lakes
        .iter()
        .map(|l| {
            json!({
                "name": l.name,
                "lakeType": l.lake_type,
                "bucketPath": l.bucket_path,
                "defaultServicesCluster": l.default_services_cluster,
                "createdAt": time(l.created_at),
            })
        })
        .collect();
    wrap(Command::ShowLakes, json!({ "lakes": items }))
}

/// SHOW DATABASES.
pub fn databases(databases: &[Database]) -> Value {
    let items: Vec<Value> = databases
        .iter()
        .map(|d| json!({"name": d.name, "lake": d.lake, "createdAt": time(d.created_at)}))
        .collect();
    wrap(Command::ShowDatabases, json!({ "databases": items }))
}

/// One entry of SHOW TABLES.
#[derive(Debug, Clone)]
pub struct TableEntry {
    /// Table name.
    pub name: String,
    /// Lake.
    pub lake: String,
    /// Database.
    pub database: String,
    /// Table URI.
    pub path: String,
    /// Current Delta version, when it could be read.
    pub version: Option<u64>,
    /// The services cluster in effect.
    pub services_cluster: String,
    /// Partition columns.
    pub partition_columns: Vec<String>,
}

/// SHOW TABLES.
pub fn tables(tables: &[TableEntry]) -> Value {
    let items: Vec<Value> = tables
        .iter()
        .map(|t| {
            let mut m = Map::new();
            m.insert("name".into(), json!(t.name));
            m.insert("lake".into(), json!(t.lake));
            m.insert("database".into(), json!(t.database));
            m.insert("tableFormat".into(), json!("DELTA"));
            m.insert("path".into(), json!(t.path));
            set(&mut m, "tableVersion", t.version, |v| json!(v.to_string()));
            m.insert("servicesCluster".into(), json!(t.services_cluster));
            m.insert("partitionColumns".into(), json!(t.partition_columns));
            Value::Object(m)
        })
        .collect();
    wrap(Command::ShowTables, json!({ "tables": items }))
}

/// A run as SHOW RUNS and DESCRIBE show it.
pub fn run(run: &Run) -> Value {
    let mut m = Map::new();
    m.insert("tableServiceRunId".into(), json!(run.table_service_run_id));
    m.insert("service".into(), json!(run.service.as_str()));
    m.insert("triggerType".into(), json!(run.trigger_type));
    m.insert("status".into(), json!(run.status.wire()));
    m.insert("createdAt".into(), time(run.created_at));
    set(&mut m, "startedAt", run.started_at, time);
    set(&mut m, "finishedAt", run.finished_at, time);
    set(&mut m, "durationMs", run.duration_ms, |v| {
        json!(v.to_string())
    });
    set(
        &mut m,
        "tableVersionBefore",
        run.table_version_before,
        |v| json!(v.to_string()),
    );
    set(&mut m, "tableVersionAfter", run.table_version_after, |v| {
        json!(v.to_string())
    });
    m.insert("metrics".into(), json!(run.metrics));
    set(&mut m, "errorMessage", run.error_message.as_ref(), |v| {
        json!(v)
    });
    m.insert("createdBy".into(), json!(run.created_by));
    Value::Object(m)
}

/// A service as SHOW TABLE_SERVICES lists it (`last` = its newest run).
pub fn service_summary(service: &TableService, cluster: &str, last: Option<&Run>) -> Value {
    let active = last.is_some_and(|r| r.status.is_active());
    let mut m = Map::new();
    m.insert("lake".into(), json!(service.lake));
    m.insert("database".into(), json!(service.database));
    m.insert("table".into(), json!(service.table));
    m.insert("service".into(), json!(service.service.as_str()));
    m.insert("triggerMode".into(), json!(service.trigger_mode.as_str()));
    m.insert("status".into(), json!(shown_status(service.status, active)));
    m.insert("servicesCluster".into(), json!(cluster));
    set(&mut m, "lastRunStatus", last, |r| json!(r.status.wire()));
    set(&mut m, "lastRunAt", last, |r| time(r.created_at));
    Value::Object(m)
}

/// SHOW TABLE_SERVICES.
pub fn services(items: Vec<Value>) -> Value {
    wrap(
        Command::ShowTableServices,
        json!({ "tableServices": items }),
    )
}

/// DESCRIBE TABLE_SERVICE.
pub fn describe(
    service: &TableService,
    cluster: &str,
    last: Option<&Run>,
    savepoints: Option<&[Savepoint]>,
) -> Value {
    let mut summary = service_summary(service, cluster, last);
    if let Value::Object(m) = &mut summary {
        m.remove("lastRunStatus");
        m.remove("lastRunAt");
        m.insert("options".into(), json!(service.options));
        m.insert(
            "effectiveOptions".into(),
            json!(service.effective_options()),
        );
        m.insert("createdAt".into(), time(service.created_at));
        m.insert("updatedAt".into(), time(service.updated_at));
        m.insert("createdBy".into(), json!(service.created_by));
        m.insert(
            "commitsSinceLastRun".into(),
            json!(service.commits_since_last_run.to_string()),
        );
        set(m, "lastRun", last, run);
        if let Some(points) = savepoints {
            let items: Vec<Value> = points
                .iter()
                .map(|p| {
                    json!({
                        "savepointId": p.savepoint_id,
                        "tableVersion": p.table_version.to_string(),
                        "createdAt": time(p.created_at),
                    })
                })
                .collect();
            m.insert("savepoints".into(), json!(items));
        }
    }
    wrap(
        Command::DescribeTableService,
        json!({ "tableService": summary }),
    )
}

/// SHOW RUNS IN TABLE_SERVICE (newest first).
pub fn runs(runs: &[Run]) -> Value {
    let items: Vec<Value> = runs.iter().map(run).collect();
    wrap(
        Command::ShowRunsInTableService,
        json!({ "tableServiceRuns": items }),
    )
}

/// RUN SERVICE IN TABLE.
pub fn run_started(run: &Run) -> Value {
    wrap(
        Command::RunServiceInTable,
        json!({
            "tableServiceRunId": run.table_service_run_id,
            "service": run.service.as_str(),
            "status": run.status.wire(),
        }),
    )
}

/// CANCEL TABLE_SERVICE.
pub fn canceled(run: &Run) -> Value {
    wrap(
        Command::CancelTableService,
        json!({
            "tableServiceRunId": run.table_service_run_id,
            "status": run.status.wire(),
        }),
    )
}
