//! How the Glue Data Catalog looks to a session's Spark engine. Sail reads a Glue table by its
//! SerDe and its `Parameters`, and cannot read the CSV tables users actually have: Hive's
//! `LazySimpleSerDe` (what crawlers and `ROW FORMAT DELIMITED` produce) has no data source in
//! Sail, and `skip.header.line.count` is not honoured. Sail does honour the Spark conventions
//! `spark.sql.sources.provider` and `option.<reader option>` in table parameters, so GetTable and
//! GetTables answers going to a session's runner carry those, derived from the SerDe settings.
//! The stored table is unchanged and every other caller sees it as registered.
//!
//! A runner is recognised by its session credentials: it signs with a security token of the form
//! [`SESSION_TOKEN_PREFIX`]`<session id>`, as a session running under its execution role would.

use axum::http::request::Parts;
use serde_json::{Map, Value};

/// Prefix of the security token a session's runner signs its requests with.
pub const SESSION_TOKEN_PREFIX: &str = "cleanrooms-emulator-spark-session:";

/// The security token of session `id`'s runner.
pub fn session_token(id: &str) -> String {
    format!("{SESSION_TOKEN_PREFIX}{id}")
}

/// Whether a request comes from a Spark session's runner.
pub fn is_spark_session(parts: &Parts) -> bool {
    parts
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(SESSION_TOKEN_PREFIX))
}

/// The Glue `operation`'s output as a Spark session should see it.
pub fn present(operation: &str, mut output: Value) -> Value {
    match operation {
        "GetTable" => {
            if let Some(table) = output.get_mut("Table") {
                readable_by_spark(table);
            }
        }
        "GetTables" => {
            if let Some(Value::Array(tables)) = output.get_mut("TableList") {
                tables.iter_mut().for_each(readable_by_spark);
            }
        }
        _ => {}
    }
    output
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// Adds `spark.sql.sources.provider` and reader options to a table Sail cannot read as
/// registered (CSV through a Hive SerDe, or a format named only by `classification`).
fn readable_by_spark(table: &mut Value) {
    if text(table, &["Parameters", "spark.sql.sources.provider"]).is_some()
        || text(table, &["TableType"]) == Some("VIRTUAL_VIEW")
    {
        return;
    }
    let serde = text(
        table,
        &["StorageDescriptor", "SerdeInfo", "SerializationLibrary"],
    )
    .unwrap_or_default()
    .to_ascii_lowercase();
    let classification = text(table, &["Parameters", "classification"])
        .unwrap_or_default()
        .to_ascii_lowercase();
    let serde_param = |key: &str| {
        text(
            table,
            &["StorageDescriptor", "SerdeInfo", "Parameters", key],
        )
        .map(str::to_string)
    };
    let mut added: Vec<(&str, String)> = Vec::new();
    let open_csv = serde.contains("opencsvserde");
    let lazy_simple = serde.contains("lazysimpleserde");
    if open_csv || lazy_simple || (serde.is_empty() && classification == "csv") {
        let default_sep = if lazy_simple && classification != "csv" {
            "\u{1}"
        } else {
            ","
        };
        let sep = serde_param("separatorChar")
            .or_else(|| serde_param("field.delim"))
            .unwrap_or_else(|| default_sep.to_string());
        let header = text(table, &["Parameters", "skip.header.line.count"])
            .and_then(|n| n.trim().parse::<u32>().ok())
            .is_some_and(|n| n >= 1);
        added.push(("spark.sql.sources.provider", "csv".into()));
        added.push(("option.sep", sep));
        added.push(("option.header", header.to_string()));
        if let Some(quote) = serde_param("quoteChar") {
            added.push(("option.quote", quote));
        }
        if let Some(escape) = serde_param("escapeChar").or_else(|| serde_param("escape.delim")) {
            added.push(("option.escape", escape));
        }
        if let Some(null) = serde_param("serialization.null.format") {
            added.push(("option.nullValue", null));
        }
    } else if serde.is_empty() && matches!(classification.as_str(), "parquet" | "json") {
        added.push(("spark.sql.sources.provider", classification));
    }
    if added.is_empty() {
        return;
    }
    let Some(object) = table.as_object_mut() else {
        return;
    };
    let parameters = object
        .entry("Parameters")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(parameters) = parameters.as_object_mut() {
        for (key, value) in added {
            parameters.insert(key.to_string(), Value::String(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hive_csv_tables_get_spark_reader_options() {
        let out = present(
            "GetTable",
            json!({"Table": {
                "Name": "people",
                "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
                "StorageDescriptor": {"SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                    "Parameters": {"field.delim": "|"}
                }}
            }}),
        );
        let params = &out["Table"]["Parameters"];
        assert_eq!(params["spark.sql.sources.provider"], "csv");
        assert_eq!(params["option.sep"], "|");
        assert_eq!(params["option.header"], "true");
        assert_eq!(params["classification"], "csv");
    }

    #[test]
    fn open_csv_defaults_and_other_tables() {
        let out = present(
            "GetTables",
            json!({"TableList": [
                {"Name": "a", "StorageDescriptor": {"SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde", "Parameters": {"quoteChar": "'"}}}},
                {"Name": "b", "StorageDescriptor": {"SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"}}},
                {"Name": "c", "Parameters": {"spark.sql.sources.provider": "delta"}, "StorageDescriptor": {"SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde"}}},
                {"Name": "d", "Parameters": {"classification": "json"}}
            ]}),
        );
        let tables = out["TableList"].as_array().unwrap();
        assert_eq!(tables[0]["Parameters"]["option.sep"], ",");
        assert_eq!(tables[0]["Parameters"]["option.header"], "false");
        assert_eq!(tables[0]["Parameters"]["option.quote"], "'");
        assert!(tables[1].get("Parameters").is_none());
        assert_eq!(
            tables[2]["Parameters"]["spark.sql.sources.provider"],
            "delta"
        );
        assert!(tables[2]["Parameters"].get("option.sep").is_none());
        assert_eq!(
            tables[3]["Parameters"]["spark.sql.sources.provider"],
            "json"
        );
        assert_eq!(present("GetDatabase", json!({"x": 1})), json!({"x": 1}));
    }
}
