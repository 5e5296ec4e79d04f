//! The batch-create request body (spec C.3), read and checked as a whole before anything is
//! looked up or written: JSON types (booleans may also be the strings `"true"`/`"false"`, as in
//! the official example), mandatory fields, name patterns and lengths, column types, and the
//! size limits of maps and comments. The first problem found is reported with the path of the
//! offending field (`partitions[0].storage_descriptor.columns[1].column_name`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::errors::{bad_input, LfError};
use crate::services::glue::model::ExtraOrder;
use crate::util::time::parse_iso8601;

/// Column types the API accepts (the base name; `decimal(10,2)`, `varchar(20)`,
/// `array<string>` … are accepted by their base).
pub const COLUMN_TYPES: &[&str] = &[
    "array",
    "bigint",
    "binary",
    "boolean",
    "char",
    "date",
    "decimal",
    "double",
    "float",
    "int",
    "interval",
    "map",
    "set",
    "smallint",
    "string",
    "struct",
    "timestamp",
    "tinyint",
    "union",
    "varchar",
];

/// Longest column name.
pub const MAX_COLUMN_NAME: usize = 767;
/// Longest column comment.
pub const MAX_COMMENT: usize = 4000;
/// Longest parameter key.
pub const MAX_PARAMETER_KEY: usize = 255;
/// Longest parameter value.
pub const MAX_PARAMETER_VALUE: usize = 4000;
/// Longest partition value.
pub const MAX_PARTITION_VALUE: usize = 1024;

/// The whole request.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchCreateRequest {
    /// Skip partitions that already exist instead of failing.
    pub if_not_exist: bool,
    /// The partitions to add.
    pub partitions: Vec<PartitionInput>,
}

/// One partition to add.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionInput {
    /// Values, one per partition key.
    pub partition_values: Vec<String>,
    /// `create_time` as epoch seconds (read, but the server sets the creation time).
    pub create_time: f64,
    /// `last_access_time` as epoch seconds (whole seconds).
    pub last_access_time: f64,
    /// Partition parameters.
    pub parameters: BTreeMap<String, String>,
    /// Storage.
    pub storage_descriptor: StorageDescriptor,
}

/// Storage of a partition.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageDescriptor {
    /// Non-partition columns.
    pub columns: Vec<Column>,
    /// Location (`obs://…`, `s3://…`, `file://…`).
    pub location: Option<String>,
    /// Compressed data.
    pub compressed: bool,
    /// Input format class.
    pub input_format: Option<String>,
    /// Output format class.
    pub output_format: Option<String>,
    /// Bucket count (default 0).
    pub number_of_buckets: i32,
    /// Bucketing columns.
    pub bucket_columns: Vec<String>,
    /// Sort order of the buckets.
    pub sort_columns: Vec<ExtraOrder>,
    /// SerDe.
    pub serde_info: SerDeInfo,
    /// Storage parameters.
    pub parameters: BTreeMap<String, String>,
    /// Skewed values.
    pub skewed_info: Option<SkewedInfo>,
    /// Stored in sub-directories.
    pub stored_as_sub_directories: Option<bool>,
}

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Type (`string`, `decimal(10,2)`, …).
    pub column_type: String,
    /// Name.
    pub column_name: String,
    /// Comment.
    pub comment: Option<String>,
}

/// Serialisation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SerDeInfo {
    /// Name.
    pub name: Option<String>,
    /// SerDe class.
    pub serialization_library: Option<String>,
    /// SerDe parameters.
    pub parameters: BTreeMap<String, String>,
}

/// Skewed values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkewedInfo {
    /// Skewed columns.
    pub skewed_column_names: Vec<String>,
    /// Skewed value → location.
    pub skewed_column_value_location_maps: BTreeMap<String, String>,
    /// Skewed values, one list per skewed value combination.
    pub skewed_column_values: Vec<Vec<String>>,
}

type Result<T> = std::result::Result<T, LfError>;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn mismatch(path: &str, expected: &str, got: &Value) -> LfError {
    bad_input(
        format!(
            "Type mismatch. '{path}' must be {expected}, got {}",
            type_name(got)
        ),
        "TypeMismatchException",
    )
}

fn constraint(path: &str, rule: impl AsRef<str>) -> LfError {
    bad_input(
        format!("'{path}' {}", rule.as_ref()),
        "ConstraintViolationException",
    )
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// An object's field (JSON null counts as absent).
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn required<'a>(obj: &'a Map<String, Value>, path: &str, name: &str) -> Result<&'a Value> {
    field(obj, name).ok_or_else(|| {
        bad_input(
            format!("Missing mandatory field '{}'", join(path, name)),
            "MissingFieldException",
        )
    })
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| mismatch(path, "an object", v))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>> {
    v.as_array().ok_or_else(|| mismatch(path, "an array", v))
}

fn string(v: &Value, path: &str) -> Result<String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| mismatch(path, "a string", v))
}

/// A boolean: JSON `true`/`false` or the strings `"true"`/`"false"` (any case).
fn boolean(v: &Value, path: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(mismatch(path, "a boolean", other)),
    }
}

fn integer(v: &Value, path: &str) -> Result<i32> {
    v.as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| mismatch(path, "a 32-bit integer", v))
}

fn opt_string(obj: &Map<String, Value>, path: &str, name: &str) -> Result<Option<String>> {
    field(obj, name)
        .map(|v| string(v, &join(path, name)))
        .transpose()
}

fn strings(v: &Value, path: &str) -> Result<Vec<String>> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{path}[{i}]")))
        .collect()
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// A `Map<String,String>`; `limits` = (key max, value max) when the API bounds them.
fn string_map(
    v: &Value,
    path: &str,
    limits: Option<(usize, usize)>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, value) in object(v, path)? {
        let item_path = format!("{path}.{k}");
        let value = string(value, &item_path)?;
        if let Some((key_max, value_max)) = limits {
            if k.is_empty() || chars(k) > key_max {
                return Err(constraint(
                    path,
                    format!(
                        "keys must be 1 to {key_max} characters long (got {})",
                        chars(k)
                    ),
                ));
            }
            if chars(&value) > value_max {
                return Err(constraint(
                    &item_path,
                    format!(
                        "must be at most {value_max} characters long (got {})",
                        chars(&value)
                    ),
                ));
            }
        }
        out.insert(k.clone(), value);
    }
    Ok(out)
}

const PARAMETER_LIMITS: Option<(usize, usize)> = Some((MAX_PARAMETER_KEY, MAX_PARAMETER_VALUE));

/// Whether `name` is a valid column name: 1..767 letters, digits and `_ - + * ( ) ,`.
pub fn valid_column_name(name: &str) -> bool {
    (1..=MAX_COLUMN_NAME).contains(&chars(name))
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_-+*(),".contains(c))
}

/// Whether `column_type` is one of [`COLUMN_TYPES`] (by its base name, any case).
pub fn valid_column_type(column_type: &str) -> bool {
    let base = column_type
        .split(['(', '<'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    COLUMN_TYPES.contains(&base.as_str())
}

fn column_name(v: &Value, path: &str) -> Result<String> {
    let name = string(v, path)?;
    if !valid_column_name(&name) {
        return Err(constraint(
            path,
            format!("must be 1 to {MAX_COLUMN_NAME} letters, digits or _-+*(), characters (got '{name}')"),
        ));
    }
    Ok(name)
}

fn column(v: &Value, path: &str) -> Result<Column> {
    let obj = object(v, path)?;
    let type_path = join(path, "column_type");
    let column_type = string(required(obj, path, "column_type")?, &type_path)?;
    if !valid_column_type(&column_type) {
        return Err(constraint(
            &type_path,
            format!(
                "must be one of {} (got '{column_type}')",
                COLUMN_TYPES.join(", ")
            ),
        ));
    }
    let column_name = column_name(
        required(obj, path, "column_name")?,
        &join(path, "column_name"),
    )?;
    let comment = opt_string(obj, path, "comment")?;
    if let Some(c) = &comment {
        if chars(c) > MAX_COMMENT {
            return Err(constraint(
                &join(path, "comment"),
                format!(
                    "must be at most {MAX_COMMENT} characters long (got {})",
                    chars(c)
                ),
            ));
        }
    }
    Ok(Column {
        column_type,
        column_name,
        comment,
    })
}

fn order(v: &Value, path: &str) -> Result<ExtraOrder> {
    let obj = object(v, path)?;
    let column = field(obj, "column")
        .map(|c| column_name(c, &join(path, "column")))
        .transpose()?;
    let sort_order = field(obj, "sort_order")
        .map(|o| integer(o, &join(path, "sort_order")))
        .transpose()?;
    if let Some(o) = sort_order {
        if o != 0 && o != 1 {
            return Err(constraint(
                &join(path, "sort_order"),
                format!("must be 1 (ascending) or 0 (descending), got {o}"),
            ));
        }
    }
    Ok(ExtraOrder { column, sort_order })
}

fn serde_info(v: &Value, path: &str) -> Result<SerDeInfo> {
    let obj = object(v, path)?;
    Ok(SerDeInfo {
        name: opt_string(obj, path, "name")?,
        serialization_library: opt_string(obj, path, "serialization_library")?,
        parameters: field(obj, "parameters")
            .map(|p| string_map(p, &join(path, "parameters"), PARAMETER_LIMITS))
            .transpose()?
            .unwrap_or_default(),
    })
}

fn skewed_info(v: &Value, path: &str) -> Result<SkewedInfo> {
    let obj = object(v, path)?;
    let names_path = join(path, "skewed_column_names");
    let maps_path = join(path, "skewed_column_value_location_maps");
    let values_path = join(path, "skewed_column_values");
    let values = array(required(obj, path, "skewed_column_values")?, &values_path)?
        .iter()
        .enumerate()
        .map(|(i, inner)| strings(inner, &format!("{values_path}[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    Ok(SkewedInfo {
        skewed_column_names: strings(required(obj, path, "skewed_column_names")?, &names_path)?,
        skewed_column_value_location_maps: string_map(
            required(obj, path, "skewed_column_value_location_maps")?,
            &maps_path,
            None,
        )?,
        skewed_column_values: values,
    })
}

fn storage_descriptor(v: &Value, path: &str) -> Result<StorageDescriptor> {
    let obj = object(v, path)?;
    let columns_path = join(path, "columns");
    let columns = array(required(obj, path, "columns")?, &columns_path)?
        .iter()
        .enumerate()
        .map(|(i, c)| column(c, &format!("{columns_path}[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let compressed = boolean(
        required(obj, path, "compressed")?,
        &join(path, "compressed"),
    )?;
    let serde_info = serde_info(
        required(obj, path, "serde_info")?,
        &join(path, "serde_info"),
    )?;
    let parameters = string_map(
        required(obj, path, "parameters")?,
        &join(path, "parameters"),
        PARAMETER_LIMITS,
    )?;
    let sort_path = join(path, "sort_columns");
    let sort_columns = field(obj, "sort_columns")
        .map(|s| {
            array(s, &sort_path)?
                .iter()
                .enumerate()
                .map(|(i, o)| order(o, &format!("{sort_path}[{i}]")))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(StorageDescriptor {
        columns,
        location: opt_string(obj, path, "location")?,
        compressed,
        input_format: opt_string(obj, path, "input_format")?,
        output_format: opt_string(obj, path, "output_format")?,
        number_of_buckets: field(obj, "number_of_buckets")
            .map(|n| integer(n, &join(path, "number_of_buckets")))
            .transpose()?
            .unwrap_or(0),
        bucket_columns: field(obj, "bucket_columns")
            .map(|b| strings(b, &join(path, "bucket_columns")))
            .transpose()?
            .unwrap_or_default(),
        sort_columns,
        serde_info,
        parameters,
        skewed_info: field(obj, "skewed_info")
            .map(|s| skewed_info(s, &join(path, "skewed_info")))
            .transpose()?,
        stored_as_sub_directories: field(obj, "stored_as_sub_directories")
            .map(|b| boolean(b, &join(path, "stored_as_sub_directories")))
            .transpose()?,
    })
}

fn timestamp(v: &Value, path: &str) -> Result<f64> {
    let text = string(v, path)?;
    parse_iso8601(&text)
        .filter(|_| text.contains('T'))
        .ok_or_else(|| {
            bad_input(
                format!("'{path}' must be an ISO-8601 timestamp such as 2023-05-26T08:03:42.267Z, got '{text}'"),
                "DateTimeParseException",
            )
        })
}

fn partition(v: &Value, path: &str) -> Result<PartitionInput> {
    let obj = object(v, path)?;
    let values_path = join(path, "partition_values");
    let partition_values = strings(required(obj, path, "partition_values")?, &values_path)?;
    for (i, value) in partition_values.iter().enumerate() {
        if value.is_empty() || chars(value) > MAX_PARTITION_VALUE {
            return Err(constraint(
                &format!("{values_path}[{i}]"),
                format!(
                    "must be 1 to {MAX_PARTITION_VALUE} characters long (got {})",
                    chars(value)
                ),
            ));
        }
    }
    let create_time = timestamp(
        required(obj, path, "create_time")?,
        &join(path, "create_time"),
    )?;
    let last_access_time = timestamp(
        required(obj, path, "last_access_time")?,
        &join(path, "last_access_time"),
    )?
    .floor();
    let parameters = string_map(
        required(obj, path, "parameters")?,
        &join(path, "parameters"),
        PARAMETER_LIMITS,
    )?;
    let storage_descriptor = storage_descriptor(
        required(obj, path, "storage_descriptor")?,
        &join(path, "storage_descriptor"),
    )?;
    Ok(PartitionInput {
        partition_values,
        create_time,
        last_access_time,
        parameters,
        storage_descriptor,
    })
}

/// Reads and checks a batch-create body.
///
/// # Errors
/// A 400 [`LfError`] naming the first problem.
pub fn parse(body: &[u8]) -> Result<BatchCreateRequest> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        bad_input(
            format!("the body is not valid JSON ({e})"),
            "JsonParseException",
        )
    })?;
    let obj = object(&value, "body")?;
    let if_not_exist = boolean(required(obj, "", "if_not_exist")?, "if_not_exist")?;
    let partitions = array(required(obj, "", "partitions")?, "partitions")?
        .iter()
        .enumerate()
        .map(|(i, p)| partition(p, &format!("partitions[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    Ok(BatchCreateRequest {
        if_not_exist,
        partitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "if_not_exist": "false",
            "partitions": [{
                "partition_values": ["2024"],
                "create_time": "2023-05-26T08:03:42.267Z",
                "last_access_time": "2023-05-26T08:03:42.267Z",
                "parameters": {"k": "v"},
                "storage_descriptor": {
                    "columns": [{"column_type": "decimal(10,2)", "column_name": "c1", "comment": "x"}],
                    "location": "obs://bucket/p/",
                    "compressed": false,
                    "number_of_buckets": 0,
                    "bucket_columns": ["c1"],
                    "sort_columns": [{"column": "c1", "sort_order": 1}, {}],
                    "serde_info": {"name": "s", "parameters": {"a": "b"}},
                    "parameters": {},
                    "skewed_info": {
                        "skewed_column_names": [],
                        "skewed_column_value_location_maps": {},
                        "skewed_column_values": [["a", "b"], []]
                    },
                    "stored_as_sub_directories": "true"
                }
            }]
        })
    }

    fn parse_value(v: &Value) -> Result<BatchCreateRequest> {
        parse(v.to_string().as_bytes())
    }

    fn rejected(v: &Value, needle: &str) {
        let e = parse_value(v).unwrap_err();
        assert_eq!(e.status, 400);
        assert!(
            e.message().contains(needle),
            "{needle:?} not in {}",
            e.message()
        );
    }

    #[test]
    fn reads_the_documented_example() {
        let r = parse_value(&sample()).unwrap();
        assert!(!r.if_not_exist);
        let p = &r.partitions[0];
        assert_eq!(p.partition_values, vec!["2024"]);
        assert_eq!(p.last_access_time.fract(), 0.0);
        let sd = &p.storage_descriptor;
        assert_eq!(sd.columns[0].column_type, "decimal(10,2)");
        assert_eq!(sd.stored_as_sub_directories, Some(true));
        assert_eq!(sd.sort_columns[1], ExtraOrder::default());
        assert_eq!(
            sd.skewed_info.as_ref().unwrap().skewed_column_values,
            vec![vec!["a".to_string(), "b".to_string()], vec![]]
        );
    }

    #[test]
    fn booleans_may_be_strings() {
        let mut v = sample();
        v["if_not_exist"] = json!(true);
        assert!(parse_value(&v).unwrap().if_not_exist);
        v["if_not_exist"] = json!("TRUE");
        assert!(parse_value(&v).unwrap().if_not_exist);
        v["if_not_exist"] = json!("yes");
        rejected(&v, "if_not_exist");
        v["if_not_exist"] = json!(1);
        rejected(&v, "TypeMismatchException");
    }

    #[test]
    fn mandatory_fields() {
        for pointer in [
            "/if_not_exist",
            "/partitions",
            "/partitions/0/partition_values",
            "/partitions/0/create_time",
            "/partitions/0/last_access_time",
            "/partitions/0/parameters",
            "/partitions/0/storage_descriptor",
            "/partitions/0/storage_descriptor/columns",
            "/partitions/0/storage_descriptor/compressed",
            "/partitions/0/storage_descriptor/serde_info",
            "/partitions/0/storage_descriptor/parameters",
            "/partitions/0/storage_descriptor/columns/0/column_type",
            "/partitions/0/storage_descriptor/columns/0/column_name",
            "/partitions/0/storage_descriptor/skewed_info/skewed_column_values",
        ] {
            let mut v = sample();
            let (parent, name) = pointer.rsplit_once('/').unwrap();
            v.pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove(name);
            rejected(&v, "MissingFieldException");
            rejected(&v, name);
        }
    }

    #[test]
    fn constraints() {
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/partitions/0/partition_values/0",
                json!(""),
                "partition_values[0]",
            ),
            (
                "/partitions/0/partition_values/0",
                json!("x".repeat(1025)),
                "1024",
            ),
            (
                "/partitions/0/partition_values/0",
                json!(5),
                "TypeMismatchException",
            ),
            (
                "/partitions/0/create_time",
                json!("yesterday"),
                "create_time",
            ),
            (
                "/partitions/0/last_access_time",
                json!(12),
                "last_access_time",
            ),
            (
                "/partitions/0/storage_descriptor/columns/0/column_type",
                json!("blob"),
                "column_type",
            ),
            (
                "/partitions/0/storage_descriptor/columns/0/column_name",
                json!("a b"),
                "column_name",
            ),
            (
                "/partitions/0/storage_descriptor/columns/0/column_name",
                json!("c".repeat(768)),
                "column_name",
            ),
            (
                "/partitions/0/storage_descriptor/columns/0/column_name",
                json!(""),
                "column_name",
            ),
            (
                "/partitions/0/storage_descriptor/columns/0/comment",
                json!("c".repeat(4001)),
                "4000",
            ),
            (
                "/partitions/0/storage_descriptor/parameters",
                json!({"k": "v".repeat(4001)}),
                "4000",
            ),
            (
                "/partitions/0/storage_descriptor/parameters",
                json!({"k".repeat(256): "v"}),
                "255",
            ),
            (
                "/partitions/0/storage_descriptor/parameters",
                json!({"": "v"}),
                "keys",
            ),
            (
                "/partitions/0/storage_descriptor/parameters",
                json!({"k": 1}),
                "TypeMismatchException",
            ),
            (
                "/partitions/0/parameters",
                json!({"k": "v".repeat(4001)}),
                "4000",
            ),
            (
                "/partitions/0/storage_descriptor/serde_info/parameters",
                json!({"k".repeat(256): "v"}),
                "255",
            ),
            (
                "/partitions/0/storage_descriptor/sort_columns/0/sort_order",
                json!(2),
                "sort_order",
            ),
            (
                "/partitions/0/storage_descriptor/sort_columns/0/column",
                json!("bad name"),
                "column",
            ),
            (
                "/partitions/0/storage_descriptor/number_of_buckets",
                json!("0"),
                "number_of_buckets",
            ),
            (
                "/partitions/0/storage_descriptor/number_of_buckets",
                json!(1.5),
                "number_of_buckets",
            ),
            (
                "/partitions/0/storage_descriptor/compressed",
                json!("maybe"),
                "compressed",
            ),
            (
                "/partitions/0/storage_descriptor/skewed_info/skewed_column_values",
                json!(["a"]),
                "skewed_column_values[0]",
            ),
            (
                "/partitions/0/storage_descriptor/columns",
                json!({}),
                "columns",
            ),
            ("/partitions", json!({}), "partitions"),
        ];
        for (pointer, value, needle) in cases {
            let mut v = sample();
            *v.pointer_mut(pointer).unwrap() = value;
            rejected(&v, needle);
        }
    }

    #[test]
    fn column_names_and_types() {
        assert!(valid_column_name("a_b-c+d*(e),f"));
        assert!(valid_column_name("列名"));
        assert!(valid_column_name(&"c".repeat(767)));
        assert!(!valid_column_name("a.b"));
        assert!(valid_column_type("STRING"));
        assert!(valid_column_type("map<string,int>"));
        assert!(valid_column_type("varchar(10)"));
        assert!(!valid_column_type("text"));
    }

    #[test]
    fn not_json() {
        let e = parse(b"{nope").unwrap_err();
        assert!(e.message().contains("JsonParseException"));
        let e = parse(b"[]").unwrap_err();
        assert!(e.message().contains("TypeMismatchException"));
    }
}
