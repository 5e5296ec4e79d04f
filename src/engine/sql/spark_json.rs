//! Spark SQL's `to_json` (a struct, map or array as the JSON text Spark prints) and
//! `str_to_map` (a delimited text as a map of strings).

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use chrono::DateTime;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, MapBuilder, MapFieldNames, StringArray, StringBuilder,
    TimestampNanosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::common::{exec_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;
use fancy_regex::Regex;

use super::format::spark_datetime;
use super::text::split_one;
use super::udf::{strings, AnyArgsFunction, RowFunction};

/// How `to_json` writes dates and timestamps (its options `dateFormat`, `timestampFormat`)
/// and whether it leaves out NULL fields (`ignoreNullFields`), in the engine's notation.
struct JsonOptions {
    date: String,
    timestamp: String,
    ignore_null_fields: bool,
}

impl Default for JsonOptions {
    fn default() -> Self {
        Self {
            date: "%Y-%m-%d".to_string(),
            timestamp: "%Y-%m-%dT%H:%M:%S%.3fZ".to_string(),
            ignore_null_fields: true,
        }
    }
}

impl JsonOptions {
    /// The options of a `map(name, value, …)` argument (names as Spark spells them, any case).
    fn from_map(options: &ScalarValue) -> Result<Self> {
        let mut out = Self::default();
        let ScalarValue::Map(map) = options else {
            return exec_err!("TO_JSON: the options must be a map of strings, e.g. map('timestampFormat', 'dd/MM/yyyy')");
        };
        if map.is_empty() || map.is_null(0) {
            return Ok(out);
        }
        let entries = map.value(0);
        let keys = cast(entries.column(0), &DataType::Utf8)?;
        let values = cast(entries.column(1), &DataType::Utf8)?;
        let (keys, values) = (strings(&keys), strings(&values));
        for i in 0..keys.len() {
            if values.is_null(i) {
                continue;
            }
            let value = values.value(i);
            match keys.value(i).to_ascii_lowercase().as_str() {
                "timestampformat" => {
                    out.timestamp = spark_datetime(value).map_err(DataFusionError::Execution)?
                }
                "dateformat" => {
                    out.date = spark_datetime(value).map_err(DataFusionError::Execution)?
                }
                "ignorenullfields" => out.ignore_null_fields = !value.eq_ignore_ascii_case("false"),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Spark's `to_json(expr [, options])`: a struct, map or array as JSON text. NULL fields of a
/// struct are left out (Spark's `ignoreNullFields`), dates and timestamps are written in the
/// options' `dateFormat` / `timestampFormat` (Spark patterns; ISO 8601 in UTC by default) and
/// binary values as base64.
pub fn to_json() -> ScalarUDF {
    AnyArgsFunction::udf("to_json", 1, 2, DataType::Utf8, |a, rows| {
        let x = &a[0];
        if !matches!(
            x.data_type(),
            DataType::Struct(_)
                | DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(..)
                | DataType::Map(..)
        ) {
            return exec_err!(
                "Cannot resolve to_json due to data type mismatch: Input schema \"{}\" must be a struct, an array or a map.",
                x.data_type()
            );
        }
        let options = match a.get(1) {
            Some(options) if rows > 0 => {
                JsonOptions::from_map(&ScalarValue::try_from_array(options, 0)?)?
            }
            _ => JsonOptions::default(),
        };
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            if null_at(x.as_ref(), i) {
                out.push(None);
                continue;
            }
            let mut text = String::new();
            write_json(&mut text, x.as_ref(), i, &options)?;
            out.push(Some(text));
        }
        Ok(Arc::new(StringArray::from(out)) as ArrayRef)
    })
}

fn quoted(out: &mut String, s: &str) {
    out.push_str(&serde_json::Value::from(s).to_string());
}

/// Whether the `i`-th value of `a` is NULL (an untyped NULL column included).
fn null_at(a: &dyn Array, i: usize) -> bool {
    a.logical_nulls().is_some_and(|n| n.is_null(i))
}

/// The `i`-th value of `a` as JSON.
fn write_json(out: &mut String, a: &dyn Array, i: usize, options: &JsonOptions) -> Result<()> {
    if null_at(a, i) {
        out.push_str("null");
        return Ok(());
    }
    match a.data_type() {
        DataType::Struct(fields) => {
            let s = a.as_struct();
            out.push('{');
            let mut first = true;
            for (field, column) in fields.iter().zip(s.columns()) {
                if null_at(column.as_ref(), i) && options.ignore_null_fields {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                quoted(out, field.name());
                out.push(':');
                write_json(out, column.as_ref(), i, options)?;
            }
            out.push('}');
        }
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            let items = match a.data_type() {
                DataType::List(_) => a.as_list::<i32>().value(i),
                DataType::LargeList(_) => a.as_list::<i64>().value(i),
                _ => a.as_fixed_size_list().value(i),
            };
            out.push('[');
            for j in 0..items.len() {
                if j > 0 {
                    out.push(',');
                }
                write_json(out, items.as_ref(), j, options)?;
            }
            out.push(']');
        }
        DataType::Map(..) => {
            let entries = a.as_map().value(i);
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push(',');
                }
                let key = array_value_to_string(entries.column(0).as_ref(), j)?;
                quoted(out, &key);
                out.push(':');
                write_json(out, entries.column(1).as_ref(), j, options)?;
            }
            out.push('}');
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            quoted(out, &array_value_to_string(a, i)?);
        }
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => out.push_str(&array_value_to_string(a, i)?),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let text = array_value_to_string(a, i)?;
            if text.parse::<f64>().is_ok_and(f64::is_finite) {
                out.push_str(&text);
            } else {
                quoted(out, &text);
            }
        }
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(..) => {
            let ns = cast(
                &a.slice(i, 1),
                &DataType::Timestamp(TimeUnit::Nanosecond, None),
            )?;
            let ns = ns
                .as_any()
                .downcast_ref::<TimestampNanosecondArray>()
                .expect("cast to a nanosecond timestamp")
                .value(0);
            let t = DateTime::from_timestamp_nanos(ns).naive_utc();
            let pattern = if matches!(a.data_type(), DataType::Timestamp(..)) {
                &options.timestamp
            } else {
                &options.date
            };
            quoted(out, &t.format(pattern).to_string());
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let bytes = cast(&a.slice(i, 1), &DataType::Binary)?;
            let bytes = bytes.as_binary::<i32>().value(0);
            quoted(
                out,
                &base64::engine::general_purpose::STANDARD.encode(bytes),
            );
        }
        _ => quoted(out, &array_value_to_string(a, i)?),
    }
    Ok(())
}

/// The type of `str_to_map`: a map of strings to strings.
fn string_map() -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("key", DataType::Utf8, false),
                Field::new("value", DataType::Utf8, true),
            ])),
            false,
        )),
        false,
    )
}

/// Spark's `str_to_map(text [, pairDelim [, keyValueDelim]])`: `text` split into pairs at
/// the regular expression `pairDelim` (`,` by default), each split once at `keyValueDelim`
/// (`:`); a pair without the delimiter has a NULL value. A key given twice is an error, as
/// in Spark (`spark.sql.mapKeyDedupPolicy` EXCEPTION).
pub fn str_to_map() -> ScalarUDF {
    RowFunction::udf(
        "str_to_map",
        vec![DataType::Utf8, DataType::Utf8, DataType::Utf8],
        1,
        string_map(),
        |a| {
            let text = strings(&a[0]);
            let pair_delims = a.get(1).map(strings);
            let kv_delims = a.get(2).map(strings);
            let names = MapFieldNames {
                entry: "entries".to_string(),
                key: "key".to_string(),
                value: "value".to_string(),
            };
            let mut builder =
                MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
            let mut compiled: Vec<(String, Regex)> = Vec::new();
            let mut regex = |p: &str| -> Result<Regex> {
                if let Some((_, re)) = compiled.iter().find(|(text, _)| text == p) {
                    return Ok(re.clone());
                }
                let re = Regex::new(p).map_err(|e| {
                    DataFusionError::Execution(format!(
                        "STR_TO_MAP: invalid regular expression '{p}': {e}"
                    ))
                })?;
                compiled.push((p.to_string(), re.clone()));
                Ok(re)
            };
            for i in 0..text.len() {
                let pair = pair_delims.map_or(Some(","), |d| d.is_valid(i).then(|| d.value(i)));
                let kv = kv_delims.map_or(Some(":"), |d| d.is_valid(i).then(|| d.value(i)));
                let (Some(pair), Some(kv)) = (pair, kv) else {
                    builder.append(false)?;
                    continue;
                };
                if text.is_null(i) {
                    builder.append(false)?;
                    continue;
                }
                let (pair_re, kv_re) = (regex(pair)?, regex(kv)?);
                let mut seen = HashSet::new();
                for piece in split_one(text.value(i), &pair_re, -1)? {
                    let parts = split_one(piece, &kv_re, 2)?;
                    let key = parts.first().copied().unwrap_or("");
                    if !seen.insert(key.to_string()) {
                        return exec_err!(
                            "[DUPLICATED_MAP_KEY] Duplicate map key {key} was found, please check the input data."
                        );
                    }
                    builder.keys().append_value(key);
                    builder.values().append_option(parts.get(1).copied());
                }
                builder.append(true)?;
            }
            Ok(Arc::new(builder.finish()) as ArrayRef)
        },
    )
}
