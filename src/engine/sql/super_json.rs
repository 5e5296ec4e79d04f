//! The SUPER type of AWS Clean Rooms SQL and the functions over it: JSON (`JSON_PARSE`,
//! `CAN_JSON_PARSE`, `JSON_EXTRACT_PATH_TEXT`, `JSON_EXTRACT_ARRAY_ELEMENT_TEXT`,
//! `JSON_SERIALIZE`, `JSON_SERIALIZE_TO_VARBYTE`), arrays (`ARRAY`, `ARRAY_CONCAT`,
//! `ARRAY_FLATTEN`, `GET_ARRAY_LENGTH`, `SPLIT_TO_ARRAY`, `SUBARRAY`) and type information
//! (`IS_ARRAY` … `IS_VARCHAR`, `DECIMAL_PRECISION`, `DECIMAL_SCALE`, `JSON_TYPEOF`).
//!
//! A SUPER value travels through the engine as its JSON text in a `LargeUtf8` column, which
//! keeps it apart from a VARCHAR (`Utf8`): a VARCHAR given where a SUPER is expected is a SUPER
//! string, a SUPER given to a VARCHAR function is its JSON text. The text keeps the kind of a
//! number the way Clean Rooms SQL prints it: an integer without a point, a DECIMAL with one, a
//! FLOAT in exponent form (`2.22e+0`).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanArray, BooleanBuilder, Int64Builder, LargeStringBuilder,
    StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;
use datafusion::sql::sqlparser::ast::{
    DataType as SqlType, ExactNumberInfo, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, UnaryOperator, Value,
};

use super::udf::{ints, strings, AnyArgsFunction};

/// The Arrow type that carries SUPER values (their JSON text).
pub const SUPER: DataType = DataType::LargeUtf8;

/// A SUPER value: a JSON value whose numbers keep their text (and so their kind).
#[derive(Debug, Clone, PartialEq)]
pub enum Super {
    /// JSON `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number as written: an integer, a decimal (with a point) or a float (with an exponent).
    Number(String),
    /// A string.
    Text(String),
    /// An array.
    Array(Vec<Super>),
    /// An object, its keys in order.
    Object(Vec<(String, Super)>),
}

/// What kind of number a SUPER number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberKind {
    Integer,
    Decimal,
    Float,
}

fn number_kind(text: &str) -> NumberKind {
    if text.contains(['e', 'E']) {
        NumberKind::Float
    } else if text.contains('.') {
        NumberKind::Decimal
    } else {
        NumberKind::Integer
    }
}

impl Super {
    /// Parses JSON text; `None` when it is no single JSON value.
    pub fn parse(text: &str) -> Option<Self> {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            text,
            at: 0,
        };
        let value = reader.value(0)?;
        reader.blank();
        (reader.at == text.len()).then_some(value)
    }

    /// The value's JSON text without blanks.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Number(n) => out.push_str(n),
            Self::Text(s) => out.push_str(&quoted(s)),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Self::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quoted(key));
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    /// The value as `JSON_EXTRACT_*_TEXT` shows it: a string's text, JSON for the rest, `None`
    /// for JSON `null`.
    fn as_text(&self) -> Option<String> {
        match self {
            Self::Null => None,
            Self::Text(s) => Some(s.clone()),
            other => Some(other.to_json()),
        }
    }

    /// The name `JSON_TYPEOF` gives the value's type.
    fn type_name(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool(_) => "boolean",
            Self::Number(_) => "number",
            Self::Text(_) => "string",
            Self::Array(_) => "array",
            Self::Object(_) => "object",
        }
    }

    /// The integer value of an integer number.
    fn integer(&self) -> Option<i128> {
        match self {
            Self::Number(n) if number_kind(n) == NumberKind::Integer => n.parse().ok(),
            _ => None,
        }
    }

    /// The precision and scale of a DECIMAL (or integer) number.
    fn precision_scale(&self) -> Option<(i64, i64)> {
        let Self::Number(n) = self else {
            return None;
        };
        if number_kind(n) == NumberKind::Float {
            return None;
        }
        let digits = n.trim_start_matches('-');
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let whole = whole.trim_start_matches('0');
        let precision = (whole.len() + fraction.len()).max(1);
        Some((precision as i64, fraction.len() as i64))
    }
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A reader of JSON text.
struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

/// How deeply arrays and objects may nest.
const MAX_DEPTH: usize = 512;

impl Reader<'_> {
    fn blank(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<Super> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.blank();
        match *self.bytes.get(self.at)? {
            b'n' => self.eat("null").then_some(Super::Null),
            b't' => self.eat("true").then_some(Super::Bool(true)),
            b'f' => self.eat("false").then_some(Super::Bool(false)),
            b'"' => self.string().map(Super::Text),
            b'[' => self
                .sequence(b']', |r| r.value(depth + 1))
                .map(Super::Array),
            b'{' => self
                .sequence(b'}', |r| {
                    r.blank();
                    let key = r.string()?;
                    r.blank();
                    r.eat(":").then_some(())?;
                    Some((key, r.value(depth + 1)?))
                })
                .map(Super::Object),
            b'-' | b'0'..=b'9' => self.number().map(Super::Number),
            _ => None,
        }
    }

    /// The comma-separated items after an opening bracket, up to `close`.
    fn sequence<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.at += 1;
        let mut items = Vec::new();
        self.blank();
        if self.bytes.get(self.at) == Some(&close) {
            self.at += 1;
            return Some(items);
        }
        loop {
            items.push(item(self)?);
            self.blank();
            match self.bytes.get(self.at) {
                Some(&b) if b == close => {
                    self.at += 1;
                    return Some(items);
                }
                Some(b',') => self.at += 1,
                _ => return None,
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Option<String> {
        let start = self.at;
        self.eat("-");
        let whole = self.digits();
        if whole == 0 || (whole > 1 && self.bytes[self.at - whole] == b'0') {
            return None;
        }
        if self.eat(".") && self.digits() == 0 {
            return None;
        }
        if self.eat("e") || self.eat("E") {
            let _ = self.eat("+") || self.eat("-");
            if self.digits() == 0 {
                return None;
            }
        }
        Some(self.text[start..self.at].to_string())
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat("\"") {
            return None;
        }
        let mut out = String::new();
        loop {
            let rest = &self.text[self.at..];
            let c = rest.chars().next()?;
            self.at += c.len_utf8();
            match c {
                '"' => return Some(out),
                '\\' => {
                    let e = *self.bytes.get(self.at)?;
                    self.at += 1;
                    out.push(match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return None,
                    });
                }
                c if u32::from(c) < 0x20 => return None,
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        let value = u32::from_str_radix(digits, 16).ok()?;
        self.at += 4;
        Some(value)
    }

    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if !self.eat("\\u") {
                return None;
            }
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return None;
            }
            return char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00));
        }
        char::from_u32(first)
    }
}

/// A FLOAT as Clean Rooms SQL prints it in a SUPER value: `2.22e+0`.
fn float_text(f: impl std::fmt::LowerExp) -> String {
    let text = format!("{f:e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if !exponent.starts_with('-') => {
            format!("{mantissa}e+{exponent}")
        }
        _ => text,
    }
}

/// The SUPER value of row `row` of `array` given to `function`; `None` for SQL NULL. A
/// `LargeUtf8` is SUPER text, a VARCHAR a SUPER string, a number or boolean that scalar.
fn super_at(function: &str, array: &ArrayRef, row: usize) -> Result<Option<Super>> {
    if array.is_null(row) {
        return Ok(None);
    }
    let value = ScalarValue::try_from_array(array, row)?;
    Ok(Some(match value {
        ScalarValue::LargeUtf8(Some(text)) => match Super::parse(&text) {
            Some(v) => v,
            None => return exec_err!("{function}: the SUPER value '{text}' is no JSON"),
        },
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => Super::Text(s),
        ScalarValue::Null => return Ok(None),
        ScalarValue::Boolean(Some(b)) => Super::Bool(b),
        ScalarValue::Float32(Some(f)) if f.is_finite() => Super::Number(float_text(f)),
        ScalarValue::Float32(Some(f)) => Super::Text(f.to_string()),
        ScalarValue::Float64(Some(f)) => float_super(f),
        v @ (ScalarValue::Int8(_)
        | ScalarValue::Int16(_)
        | ScalarValue::Int32(_)
        | ScalarValue::Int64(_)
        | ScalarValue::UInt8(_)
        | ScalarValue::UInt16(_)
        | ScalarValue::UInt32(_)
        | ScalarValue::UInt64(_)
        | ScalarValue::Decimal128(..)
        | ScalarValue::Decimal256(..)) => Super::Number(v.to_string()),
        other => {
            return exec_err!(
                "{function} does not accept a value of type {}",
                other.data_type()
            )
        }
    }))
}

fn float_super(f: f64) -> Super {
    if f.is_finite() {
        Super::Number(float_text(f))
    } else {
        Super::Text(f.to_string())
    }
}

/// The text of row `row` of a VARCHAR (or SUPER) argument cast to Utf8.
fn text_column(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(array, &DataType::Utf8)?)
}

fn super_column(values: impl Iterator<Item = Option<Super>>) -> ArrayRef {
    let mut out = LargeStringBuilder::new();
    for value in values {
        out.append_option(value.map(|v| v.to_json()));
    }
    Arc::new(out.finish())
}

/// The SUPER values of every row of `array`.
fn supers(function: &str, array: &ArrayRef, rows: usize) -> Result<Vec<Option<Super>>> {
    (0..rows).map(|i| super_at(function, array, i)).collect()
}

/// `JSON_PARSE(json_string)`: the SUPER value of a JSON text; an error for invalid JSON.
pub fn json_parse() -> ScalarUDF {
    AnyArgsFunction::udf("json_parse", 1, 1, SUPER, |a, _| {
        let text = text_column(&a[0])?;
        let mut out = Vec::with_capacity(text.len());
        for t in strings(&text) {
            out.push(match t {
                None => None,
                Some(t) => match Super::parse(t) {
                    Some(v) => Some(v),
                    None => return exec_err!("JSON_PARSE: invalid JSON: '{t}'"),
                },
            });
        }
        Ok(super_column(out.into_iter()))
    })
}

/// `CAN_JSON_PARSE(json_string)`: whether `JSON_PARSE` would accept the text.
pub fn can_json_parse() -> ScalarUDF {
    AnyArgsFunction::udf("can_json_parse", 1, 1, DataType::Boolean, |a, _| {
        let text = text_column(&a[0])?;
        let out: BooleanArray = strings(&text)
            .iter()
            .map(|t| t.map(|t| Super::parse(t).is_some()))
            .collect();
        Ok(Arc::new(out))
    })
}

/// `JSON_SERIALIZE(super)`: the JSON text of a SUPER value, as a VARCHAR.
pub fn json_serialize() -> ScalarUDF {
    AnyArgsFunction::udf("json_serialize", 1, 1, DataType::Utf8, |a, rows| {
        text_of_each(a, rows, "JSON_SERIALIZE", Super::to_json)
    })
}

/// A VARCHAR column of `show` of each SUPER value of `a[0]` (NULL for SQL NULL).
fn text_of_each(
    a: &[ArrayRef],
    rows: usize,
    name: &str,
    show: fn(&Super) -> String,
) -> Result<ArrayRef> {
    let mut out = StringBuilder::new();
    for v in supers(name, &a[0], rows)? {
        out.append_option(v.as_ref().map(show));
    }
    Ok(Arc::new(out.finish()))
}

/// `JSON_SERIALIZE_TO_VARBYTE(super)`: the JSON text of a SUPER value as VARBYTE (UTF-8).
pub fn json_serialize_to_varbyte() -> ScalarUDF {
    AnyArgsFunction::udf(
        "json_serialize_to_varbyte",
        1,
        1,
        DataType::Binary,
        |a, rows| {
            let mut out = BinaryBuilder::new();
            for v in supers("JSON_SERIALIZE_TO_VARBYTE", &a[0], rows)? {
                out.append_option(v.map(|v| v.to_json().into_bytes()));
            }
            Ok(Arc::new(out.finish()))
        },
    )
}

/// Whether the last argument of a `JSON_EXTRACT_*` call is its `null_if_invalid` flag.
fn trailing_flag(a: &[ArrayRef]) -> bool {
    a.len() > 1 && a[a.len() - 1].data_type() == &DataType::Boolean
}

/// Parses row `row` of a `JSON_EXTRACT_*` call's JSON text: `Ok(None)` for a NULL text or for
/// invalid JSON with `null_if_invalid`, an error for invalid JSON without it.
fn extract_source(
    function: &str,
    text: Option<&str>,
    null_if_invalid: bool,
) -> Result<Option<Super>> {
    let Some(text) = text else {
        return Ok(None);
    };
    match Super::parse(text) {
        Some(v) => Ok(Some(v)),
        None if null_if_invalid => Ok(None),
        None => exec_err!("{function}: invalid JSON: '{text}'"),
    }
}

fn flag_at(flags: Option<&ArrayRef>, row: usize) -> bool {
    flags
        .and_then(|f| f.as_any().downcast_ref::<BooleanArray>())
        .is_some_and(|f| f.is_valid(row) && f.value(row))
}

/// `JSON_EXTRACT_PATH_TEXT(json_string, path_elem [, …] [, null_if_invalid])`: the value at a
/// path of object keys (up to five), as text; an empty string when the path names nothing.
pub fn json_extract_path_text() -> ScalarUDF {
    AnyArgsFunction::udf("json_extract_path_text", 2, 7, DataType::Utf8, |a, rows| {
        let flagged = trailing_flag(a);
        let paths = &a[1..a.len() - usize::from(flagged)];
        if paths.len() > 5 {
            return exec_err!(
                "JSON_EXTRACT_PATH_TEXT takes at most 5 path elements, got {}",
                paths.len()
            );
        }
        let text = text_column(&a[0])?;
        let keys = paths.iter().map(text_column).collect::<Result<Vec<_>>>()?;
        let flags = flagged.then(|| &a[a.len() - 1]);
        let mut out = StringBuilder::new();
        for row in 0..rows {
            let source = extract_source(
                "JSON_EXTRACT_PATH_TEXT",
                strings(&text)
                    .is_valid(row)
                    .then(|| strings(&text).value(row)),
                flag_at(flags, row),
            )?;
            let Some(mut value) = source else {
                out.append_null();
                continue;
            };
            let mut missing = false;
            for key in &keys {
                let key = strings(key);
                if key.is_null(row) {
                    missing = true;
                    break;
                }
                let found = match std::mem::replace(&mut value, Super::Null) {
                    Super::Object(fields) => fields
                        .into_iter()
                        .find(|(k, _)| k == key.value(row))
                        .map(|(_, v)| v),
                    _ => None,
                };
                match found {
                    Some(v) => value = v,
                    None => {
                        missing = true;
                        break;
                    }
                }
            }
            if missing {
                out.append_value("");
            } else {
                out.append_option(value.as_text());
            }
        }
        Ok(Arc::new(out.finish()))
    })
}

/// `JSON_EXTRACT_ARRAY_ELEMENT_TEXT(json_string, pos [, null_if_invalid])`: the element at a
/// 0-based position of a JSON array, as text; an empty string for a position out of range.
pub fn json_extract_array_element_text() -> ScalarUDF {
    AnyArgsFunction::udf(
        "json_extract_array_element_text",
        2,
        3,
        DataType::Utf8,
        |a, rows| {
            let text = text_column(&a[0])?;
            let text = strings(&text);
            let positions = cast(&a[1], &DataType::Int64)?;
            let positions = ints(&positions);
            let flags = (a.len() == 3).then(|| &a[2]);
            if flags.is_some_and(|f| f.data_type() != &DataType::Boolean) {
                return exec_err!(
                    "JSON_EXTRACT_ARRAY_ELEMENT_TEXT: null_if_invalid must be a boolean"
                );
            }
            let mut out = StringBuilder::new();
            for row in 0..rows {
                let source = extract_source(
                    "JSON_EXTRACT_ARRAY_ELEMENT_TEXT",
                    text.is_valid(row).then(|| text.value(row)),
                    flag_at(flags, row),
                )?;
                let (Some(value), true) = (source, positions.is_valid(row)) else {
                    out.append_null();
                    continue;
                };
                let element = match (value, usize::try_from(positions.value(row))) {
                    (Super::Array(mut items), Ok(i)) if i < items.len() => {
                        Some(items.swap_remove(i))
                    }
                    _ => None,
                };
                match element {
                    Some(e) => out.append_option(e.as_text()),
                    None => out.append_value(""),
                }
            }
            Ok(Arc::new(out.finish()))
        },
    )
}

/// `ARRAY(expr, …)`: a SUPER array of the values (a NULL is a JSON `null`).
pub fn array() -> ScalarUDF {
    AnyArgsFunction::udf("array", 0, usize::MAX, SUPER, |a, rows| {
        let columns = a
            .iter()
            .map(|c| supers("ARRAY", c, rows))
            .collect::<Result<Vec<_>>>()?;
        Ok(super_column((0..rows).map(|row| {
            Some(Super::Array(
                columns
                    .iter()
                    .map(|c| c[row].clone().unwrap_or(Super::Null))
                    .collect(),
            ))
        })))
    })
}

/// The items of a SUPER array argument of `function`; an error for another value.
fn items(function: &str, value: Super) -> Result<Vec<Super>> {
    match value {
        Super::Array(items) => Ok(items),
        other => exec_err!(
            "{function} takes SUPER arrays, got the {} {}",
            other.type_name(),
            other.to_json()
        ),
    }
}

/// `ARRAY_CONCAT(super_array, super_array)`: the items of both arrays; NULL when one is NULL.
pub fn array_concat() -> ScalarUDF {
    AnyArgsFunction::udf("array_concat", 2, 2, SUPER, |a, rows| {
        let first = supers("ARRAY_CONCAT", &a[0], rows)?;
        let second = supers("ARRAY_CONCAT", &a[1], rows)?;
        let mut out = Vec::with_capacity(rows);
        for (x, y) in first.into_iter().zip(second) {
            out.push(match (x, y) {
                (Some(x), Some(y)) => {
                    let mut all = items("ARRAY_CONCAT", x)?;
                    all.extend(items("ARRAY_CONCAT", y)?);
                    Some(Super::Array(all))
                }
                _ => None,
            });
        }
        Ok(super_column(out.into_iter()))
    })
}

fn flatten_into(items: Vec<Super>, out: &mut Vec<Super>) {
    for item in items {
        match item {
            Super::Array(inner) => flatten_into(inner, out),
            other => out.push(other),
        }
    }
}

/// `ARRAY_FLATTEN(super_array)`: the scalars of a nested array in order, as one flat array.
pub fn array_flatten() -> ScalarUDF {
    AnyArgsFunction::udf("array_flatten", 1, 1, SUPER, |a, rows| {
        let mut out = Vec::with_capacity(rows);
        for v in supers("ARRAY_FLATTEN", &a[0], rows)? {
            out.push(match v {
                None => None,
                Some(v) => {
                    let mut flat = Vec::new();
                    flatten_into(items("ARRAY_FLATTEN", v)?, &mut flat);
                    Some(Super::Array(flat))
                }
            });
        }
        Ok(super_column(out.into_iter()))
    })
}

/// `GET_ARRAY_LENGTH(super_array)`: the number of items; NULL for a value that is no array.
pub fn get_array_length() -> ScalarUDF {
    AnyArgsFunction::udf("get_array_length", 1, 1, DataType::Int64, |a, rows| {
        let mut out = Int64Builder::new();
        for v in supers("GET_ARRAY_LENGTH", &a[0], rows)? {
            out.append_option(match v {
                Some(Super::Array(items)) => Some(items.len() as i64),
                _ => None,
            });
        }
        Ok(Arc::new(out.finish()))
    })
}

/// `SPLIT_TO_ARRAY(string [, delimiter])`: the pieces of the string between the delimiter
/// (`,` by default), as a SUPER array of strings.
pub fn split_to_array() -> ScalarUDF {
    AnyArgsFunction::udf("split_to_array", 1, 2, SUPER, |a, rows| {
        let text = text_column(&a[0])?;
        let text = strings(&text);
        let delimiters = a.get(1).map(text_column).transpose()?;
        let delimiters = delimiters.as_ref().map(strings);
        Ok(super_column((0..rows).map(|row| {
            if text.is_null(row) || delimiters.is_some_and(|d| d.is_null(row)) {
                return None;
            }
            let delimiter = delimiters.map_or(",", |d| d.value(row));
            let pieces: Vec<Super> = if delimiter.is_empty() {
                vec![Super::Text(text.value(row).to_string())]
            } else {
                text.value(row)
                    .split(delimiter)
                    .map(|p| Super::Text(p.to_string()))
                    .collect()
            };
            Some(Super::Array(pieces))
        })))
    })
}

/// `SUBARRAY(super_array, start, length)`: `length` items from the 0-based `start` (a
/// negative start counts from the end); NULL for a value that is no array.
pub fn subarray() -> ScalarUDF {
    AnyArgsFunction::udf("subarray", 3, 3, SUPER, |a, rows| {
        let values = supers("SUBARRAY", &a[0], rows)?;
        let starts = cast(&a[1], &DataType::Int64)?;
        let lengths = cast(&a[2], &DataType::Int64)?;
        let (starts, lengths) = (ints(&starts), ints(&lengths));
        Ok(super_column(values.into_iter().enumerate().map(
            |(row, v)| {
                let Some(Super::Array(items)) = v else {
                    return None;
                };
                if starts.is_null(row) || lengths.is_null(row) {
                    return None;
                }
                let len = items.len() as i64;
                let start = starts.value(row);
                let start = if start < 0 { len + start } else { start }.clamp(0, len);
                let end = start.saturating_add(lengths.value(row).max(0)).min(len);
                let (start, end) = (start as usize, end as usize);
                Some(Super::Array(items[start..end].to_vec()))
            },
        )))
    })
}

/// The column of a SUPER type test (`IS_ARRAY` …) of `a[0]`: `false` for SQL NULL.
fn type_test(
    a: &[ArrayRef],
    rows: usize,
    name: &str,
    test: fn(&Super) -> bool,
) -> Result<ArrayRef> {
    let mut out = BooleanBuilder::with_capacity(rows);
    for v in supers(name, &a[0], rows)? {
        out.append_value(v.as_ref().is_some_and(test));
    }
    Ok(Arc::new(out.finish()))
}

/// Whether a SUPER value is an integer within the range of `T`.
fn integer_within<T: TryFrom<i128>>(v: &Super) -> bool {
    v.integer().is_some_and(|i| T::try_from(i).is_ok())
}

/// Whether a SUPER value is a number of the kind `kind`, or with `not` of another kind.
fn number_of_kind(v: &Super, kind: NumberKind, not: bool) -> bool {
    matches!(v, Super::Number(n) if (number_kind(n) == kind) != not)
}

/// The SUPER type tests `IS_ARRAY`, `IS_BIGINT`, `IS_BOOLEAN`, `IS_CHAR`, `IS_DECIMAL` (any
/// number but a FLOAT), `IS_FLOAT`, `IS_INTEGER`, `IS_OBJECT`, `IS_SCALAR` (no array, object
/// or null), `IS_SMALLINT` and `IS_VARCHAR`.
pub fn type_tests() -> Vec<ScalarUDF> {
    let boolean = || DataType::Boolean;
    vec![
        AnyArgsFunction::udf("is_array", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_ARRAY", |v| matches!(v, Super::Array(_)))
        }),
        AnyArgsFunction::udf("is_bigint", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_BIGINT", integer_within::<i64>)
        }),
        AnyArgsFunction::udf("is_boolean", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_BOOLEAN", |v| matches!(v, Super::Bool(_)))
        }),
        AnyArgsFunction::udf("is_char", 1, 1, boolean(), |a, rows| {
            type_test(
                a,
                rows,
                "IS_CHAR",
                |v| matches!(v, Super::Text(s) if s.is_ascii()),
            )
        }),
        AnyArgsFunction::udf("is_decimal", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_DECIMAL", |v| {
                number_of_kind(v, NumberKind::Float, true)
            })
        }),
        AnyArgsFunction::udf("is_float", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_FLOAT", |v| {
                number_of_kind(v, NumberKind::Float, false)
            })
        }),
        AnyArgsFunction::udf("is_integer", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_INTEGER", integer_within::<i32>)
        }),
        AnyArgsFunction::udf("is_object", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_OBJECT", |v| matches!(v, Super::Object(_)))
        }),
        AnyArgsFunction::udf("is_scalar", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_SCALAR", |v| {
                !matches!(v, Super::Array(_) | Super::Object(_) | Super::Null)
            })
        }),
        AnyArgsFunction::udf("is_smallint", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_SMALLINT", integer_within::<i16>)
        }),
        AnyArgsFunction::udf("is_varchar", 1, 1, boolean(), |a, rows| {
            type_test(a, rows, "IS_VARCHAR", |v| matches!(v, Super::Text(_)))
        }),
    ]
}

/// `DECIMAL_PRECISION(super)` and `DECIMAL_SCALE(super)`: the precision or scale of a SUPER
/// DECIMAL (an integer has scale 0); NULL for any other value.
pub fn decimal_precision_and_scale() -> [ScalarUDF; 2] {
    fn measure(a: &[ArrayRef], rows: usize, name: &str, scale: bool) -> Result<ArrayRef> {
        let mut out = Int64Builder::with_capacity(rows);
        for v in supers(name, &a[0], rows)? {
            out.append_option(
                v.and_then(|v| v.precision_scale())
                    .map(|(p, s)| if scale { s } else { p }),
            );
        }
        Ok(Arc::new(out.finish()))
    }
    [
        AnyArgsFunction::udf("decimal_precision", 1, 1, DataType::Int64, |a, rows| {
            measure(a, rows, "DECIMAL_PRECISION", false)
        }),
        AnyArgsFunction::udf("decimal_scale", 1, 1, DataType::Int64, |a, rows| {
            measure(a, rows, "DECIMAL_SCALE", true)
        }),
    ]
}

/// `JSON_TYPEOF(super)`: `boolean`, `number`, `string`, `object`, `array` or `null`.
pub fn json_typeof() -> ScalarUDF {
    AnyArgsFunction::udf("json_typeof", 1, 1, DataType::Utf8, |a, rows| {
        text_of_each(a, rows, "JSON_TYPEOF", |v| v.type_name().to_string())
    })
}

/// Every function of this module.
pub fn functions() -> Vec<ScalarUDF> {
    let mut all = vec![
        json_parse(),
        can_json_parse(),
        json_serialize(),
        json_serialize_to_varbyte(),
        json_extract_path_text(),
        json_extract_array_element_text(),
        json_typeof(),
        array(),
        array_concat(),
        array_flatten(),
        get_array_length(),
        split_to_array(),
        subarray(),
    ];
    all.extend(type_tests());
    all.extend(decimal_precision_and_scale());
    all
}

/// The functions whose arguments are SUPER values, where a decimal literal (`1.22`) is a
/// DECIMAL as Clean Rooms SQL reads it rather than the engine's DOUBLE.
const TAKES_SUPER: [&str; 21] = [
    "array",
    "array_concat",
    "array_flatten",
    "get_array_length",
    "subarray",
    "json_serialize",
    "json_serialize_to_varbyte",
    "json_typeof",
    "is_array",
    "is_bigint",
    "is_boolean",
    "is_char",
    "is_decimal",
    "is_float",
    "is_integer",
    "is_object",
    "is_scalar",
    "is_smallint",
    "is_varchar",
    "decimal_precision",
    "decimal_scale",
];

/// Types the decimal literals among the arguments of a SUPER function call as DECIMALs of
/// their digits (`1.22` is `DECIMAL(3, 2)`), so that the SUPER value is a DECIMAL, not a FLOAT.
pub fn decimal_literals(f: &mut Function) {
    let [part] = f.name.0.as_slice() else {
        return;
    };
    let Some(ident) = part.as_ident() else {
        return;
    };
    let name = ident.value.to_ascii_lowercase();
    if !TAKES_SUPER.contains(&name.as_str()) {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    for arg in &mut list.args {
        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg {
            if let Some(typed) = decimal_literal(e) {
                *e = typed;
            }
        }
    }
}

/// `CAST(literal AS DECIMAL(p, s))` for a (possibly negated) number literal with a point.
fn decimal_literal(e: &Expr) -> Option<Expr> {
    let (number, sign) = match e {
        Expr::Value(v) => (&v.value, ""),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => (&v.value, "-"),
            _ => return None,
        },
        _ => return None,
    };
    let Value::Number(text, _) = number else {
        return None;
    };
    if text.contains(['e', 'E']) || !text.contains('.') {
        return None;
    }
    let (p, s) = Super::Number(text.clone()).precision_scale()?;
    let p = u64::try_from(p.max(s)).ok()?;
    if p > 38 {
        return None;
    }
    // From the literal's text, so that no digit goes through a DOUBLE.
    Some(Expr::Cast {
        kind: datafusion::sql::sqlparser::ast::CastKind::Cast,
        expr: Box::new(Expr::value(Value::SingleQuotedString(format!(
            "{sign}{text}"
        )))),
        data_type: SqlType::Decimal(ExactNumberInfo::PrecisionAndScale(p, s)),
        array: false,
        format: None,
    })
}

#[cfg(test)]
mod tests {

    use super::{float_text, Super};
    use crate::engine::sql::{self, SqlDialect};

    #[test]
    fn json_text_keeps_order_and_number_kinds() {
        let v =
            Super::parse(r#" {"b": [1, 2.50, -3e2, "\u00e9\n"], "a": {"x": null, "y": false}} "#)
                .unwrap();
        assert_eq!(
            v.to_json(),
            r#"{"b":[1,2.50,-3e2,"é\n"],"a":{"x":null,"y":false}}"#
        );
        assert_eq!(
            Super::parse("3.14159").unwrap().precision_scale(),
            Some((6, 5))
        );
        assert_eq!(
            Super::parse("-0.05").unwrap().precision_scale(),
            Some((2, 2))
        );
        assert_eq!(Super::parse("1e3").unwrap().precision_scale(), None);
        for bad in [
            "", "[1,]", "{\"a\":}", "01", "1.", "\"\\x\"", "[1] 2", "tru", "{1:2}",
        ] {
            assert_eq!(Super::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Super::parse(r#""\ud83d\ude00""#),
            Some(Super::Text("😀".into()))
        );
        assert_eq!(float_text(2.22_f64), "2.22e+0");
        assert_eq!(float_text(-0.0015_f64), "-1.5e-3");
    }

    async fn run(query: &str) -> Result<String, String> {
        let batches = sql::run_query(SqlDialect::CleanRoomsSql, query, 0.0).await?;
        let column = batches[0].column(0);
        datafusion::arrow::util::display::array_value_to_string(column, 0)
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn invalid_json_is_an_error_unless_null_if_invalid() {
        for query in [
            "SELECT JSON_PARSE(x) FROM (SELECT CAST('{\"a\":' AS VARCHAR) AS x)",
            "SELECT JSON_EXTRACT_PATH_TEXT(x, 'a') FROM (SELECT CAST('{\"a\":' AS VARCHAR) AS x)",
            "SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT(x, 0, false) FROM (SELECT CAST('[1,' AS VARCHAR) AS x)",
        ] {
            let error = run(query).await.unwrap_err();
            assert!(error.contains("invalid JSON"), "{query}: {error}");
        }
        assert_eq!(
            run("SELECT JSON_EXTRACT_ARRAY_ELEMENT_TEXT(x, 0, true) IS NULL FROM (SELECT CAST('[1,' AS VARCHAR) AS x)")
                .await
                .unwrap(),
            "true"
        );
        let error = run("SELECT ARRAY_CONCAT(ARRAY(1), JSON_PARSE('{\"a\":1}'))")
            .await
            .unwrap_err();
        assert!(error.contains("ARRAY_CONCAT takes SUPER arrays"), "{error}");
        let error = run("SELECT ARRAY(CURRENT_DATE)").await.unwrap_err();
        assert!(
            error.contains("ARRAY does not accept a value of type Date32"),
            "{error}"
        );
    }
}
