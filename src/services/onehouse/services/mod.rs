//! The table services as delta-rs operations, one builder per service in the style of delta-rs
//! itself: construct it on an open [`DeltaTable`], set options with `with_*`, `.await` it.
//! Each yields an [`Outcome`] — the table version after the run and the metrics recorded on it
//! — and every commit it makes carries the run id in its `commitInfo`
//! ([`RunTag::commit_properties`]), so the automatic scheduler never counts a service's own
//! commits as new writes.

use std::collections::BTreeMap;

use deltalake::kernel::transaction::CommitProperties;
use deltalake::DeltaTable;
use serde_json::json;

use super::model::ServiceKind;

/// The `commitInfo` key holding the id of the run that made a commit.
pub const RUN_ID_KEY: &str = "onehouse.tableServiceRunId";
/// The `commitInfo` key holding the service that made a commit.
pub const SERVICE_KEY: &str = "onehouse.service";

/// Which run a service's commits belong to.
#[derive(Debug, Clone)]
pub struct RunTag {
    /// The run id.
    pub run_id: String,
    /// The service.
    pub service: ServiceKind,
}

impl RunTag {
    /// Commit properties tagging a commit with this run.
    pub fn commit_properties(&self) -> CommitProperties {
        CommitProperties::default().with_metadata([
            (RUN_ID_KEY.to_string(), json!(self.run_id)),
            (SERVICE_KEY.to_string(), json!(self.service.as_str())),
        ])
    }
}

/// What a run produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The table version after the run.
    pub version_after: Option<u64>,
    /// Service-specific figures, as strings (proto3 JSON writes int64 as strings).
    pub metrics: BTreeMap<String, String>,
}

impl Outcome {
    /// An outcome at `table`'s current version with `metrics`.
    pub fn at(table: &DeltaTable, metrics: BTreeMap<String, String>) -> Self {
        Self {
            version_after: table.version(),
            metrics,
        }
    }
}

/// Flattens a serialisable metrics struct into `camelCase` string entries (nested objects
/// become `parentChild` keys).
pub fn flatten_metrics(value: &serde_json::Value) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        let mut chars = k.chars();
                        let first = chars.next().map(|c| c.to_ascii_uppercase());
                        format!("{prefix}{}{}", first.unwrap_or_default(), chars.as_str())
                    };
                    walk(&key, v, out);
                }
            }
            // delta-rs writes some nested figures as JSON text.
            serde_json::Value::String(s) => match serde_json::from_str(s) {
                Ok(nested @ serde_json::Value::Object(_)) => walk(prefix, &nested, out),
                _ => {
                    out.insert(prefix.to_string(), s.clone());
                }
            },
            serde_json::Value::Null | serde_json::Value::Array(_) => {}
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}

/// Implements `IntoFuture` for a service builder through its `execute` method, as delta-rs
/// does for its operations (in scope for the service modules declared below it).
macro_rules! into_future {
    ($builder:ty, $output:ty) => {
        impl std::future::IntoFuture for $builder {
            type Output = $output;
            type IntoFuture = futures::future::BoxFuture<'static, Self::Output>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.execute())
            }
        }
    };
}
pub mod clean;
pub mod cluster;
pub mod compact;
pub mod metasync;
pub mod restore;
pub mod savepoint;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_flatten_to_strings() {
        let m = flatten_metrics(
            &json!({"numFilesAdded": 1, "filesAdded": {"totalSize": 10, "avg": 2.5}, "x": null}),
        );
        assert_eq!(m.get("numFilesAdded").map(String::as_str), Some("1"));
        assert_eq!(m.get("filesAddedTotalSize").map(String::as_str), Some("10"));
        assert_eq!(m.get("filesAddedAvg").map(String::as_str), Some("2.5"));
        assert!(!m.contains_key("x"));
    }
}
