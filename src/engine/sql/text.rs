//! Spark SQL's string and JSON functions the engine lacks: `split` by a regular expression with
//! a limit, `get_json_object` with a JSON path, and `format_string` with Java's `printf`
//! conversions.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ListBuilder, StringArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;
use fancy_regex::Regex;
use serde_json::Value as Json;

use super::udf::{ints, strings, AnyArgsFunction, RowFunction};

/// Spark's `split(s, regex [, limit])`: the pieces of `s` between the matches of `regex`. A
/// positive `limit` gives at most that many pieces, the last one holding the rest; zero or a
/// negative one (the default) splits at every match. As in Java, a match of nothing at the
/// very start gives no empty first piece, and trailing empty pieces are kept.
pub fn split() -> ScalarUDF {
    let item = Arc::new(Field::new("item", DataType::Utf8, true));
    RowFunction::udf(
        "split",
        vec![DataType::Utf8, DataType::Utf8, DataType::Int64],
        2,
        DataType::List(item),
        |a| {
            let s = strings(&a[0]);
            let pattern = strings(&a[1]);
            let limit = a.get(2).map(ints);
            let mut builder = ListBuilder::new(StringBuilder::new());
            let mut compiled: Option<(String, Regex)> = None;
            for i in 0..s.len() {
                if s.is_null(i) || pattern.is_null(i) || limit.is_some_and(|l| l.is_null(i)) {
                    builder.append(false);
                    continue;
                }
                let p = pattern.value(i);
                if compiled.as_ref().is_none_or(|(text, _)| text != p) {
                    match Regex::new(p) {
                        Ok(re) => compiled = Some((p.to_string(), re)),
                        Err(e) => return exec_err!("SPLIT: invalid regular expression '{p}': {e}"),
                    }
                }
                let re = &compiled.as_ref().expect("compiled above").1;
                let limit = limit.map_or(-1, |l| l.value(i));
                for piece in split_one(s.value(i), re, limit)? {
                    builder.values().append_value(piece);
                }
                builder.append(true);
            }
            Ok(Arc::new(builder.finish()) as ArrayRef)
        },
    )
}

pub(super) fn split_one<'a>(s: &'a str, re: &Regex, limit: i64) -> Result<Vec<&'a str>> {
    if s.is_empty() {
        return Ok(vec![""]);
    }
    let mut pieces = Vec::new();
    let mut start = 0;
    for m in re.find_iter(s) {
        let m = match m {
            Ok(m) => m,
            Err(e) => return exec_err!("SPLIT: {e}"),
        };
        if limit > 0 && pieces.len() as i64 == limit - 1 {
            break;
        }
        if m.end() == 0 {
            // A match of nothing at the start: no empty first piece (Java's rule).
            continue;
        }
        if m.start() == m.end() && m.start() == s.len() {
            break;
        }
        pieces.push(&s[start..m.start()]);
        start = m.end();
    }
    pieces.push(&s[start..]);
    Ok(pieces)
}

/// Spark's `get_json_object(json, path)`: the value at a JSON path (`$`, `.name`, `['name']`,
/// `[index]`) of a JSON text; a string as its text, any other value as compact JSON. NULL when
/// the text is no JSON, the path is invalid or names nothing, or the value is `null`.
pub fn get_json_object() -> ScalarUDF {
    RowFunction::udf(
        "get_json_object",
        vec![DataType::Utf8, DataType::Utf8],
        2,
        DataType::Utf8,
        |a| {
            let json = strings(&a[0]);
            let path = strings(&a[1]);
            let out: StringArray = json
                .iter()
                .zip(path.iter())
                .map(|(j, p)| match (j, p) {
                    (Some(j), Some(p)) => json_at(j, p),
                    _ => None,
                })
                .collect();
            Ok(Arc::new(out))
        },
    )
}

/// One step of a JSON path.
enum Step {
    Key(String),
    Index(usize),
}

fn json_path(path: &str) -> Option<Vec<Step>> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() || key == "*" {
                return None;
            }
            steps.push(Step::Key(key.to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']")?;
            steps.push(Step::Key(after[..end].to_string()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            steps.push(Step::Index(after[..end].trim().parse().ok()?));
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

fn json_at(text: &str, path: &str) -> Option<String> {
    let steps = json_path(path)?;
    let mut value: Json = serde_json::from_str(text).ok()?;
    for step in steps {
        value = match (step, value) {
            (Step::Key(k), Json::Object(mut map)) => map.remove(&k)?,
            (Step::Index(i), Json::Array(mut items)) if i < items.len() => items.swap_remove(i),
            _ => return None,
        };
    }
    match value {
        Json::Null => None,
        Json::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Spark's `format_string(format, args…)` (also `printf`): Java's `String.format` with the
/// conversions `%s`, `%d`, `%f`, `%e`, `%x`, `%X`, `%o`, `%c`, `%b`, `%%` and `%n`, the flags
/// `-`, `0`, `+`, space and `,`, a width, a precision and `n$` argument indexes. A NULL argument
/// prints as `null`; a NULL format gives NULL.
pub fn format_string() -> ScalarUDF {
    AnyArgsFunction::udf("format_string", 1, 256, DataType::Utf8, |a, rows| {
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            let format = ScalarValue::try_from_array(&a[0], i)?;
            let format = match format {
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => s,
                v if v.is_null() => {
                    out.push(None);
                    continue;
                }
                v => return exec_err!("The format of FORMAT_STRING must be a string, not {v}"),
            };
            let args = a[1..]
                .iter()
                .map(|arg| ScalarValue::try_from_array(arg, i))
                .collect::<Result<Vec<_>>>()?;
            out.push(Some(java_format(&format, &args)?));
        }
        Ok(Arc::new(StringArray::from(out)) as ArrayRef)
    })
}

/// One `%` conversion of a Java format string.
#[derive(Default)]
struct Spec {
    index: Option<usize>,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    group: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

fn java_format(format: &str, args: &[ScalarValue]) -> Result<String> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut next = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        let mut digits = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            digits.push(d);
            chars.next();
        }
        if chars.peek() == Some(&'$') && !digits.is_empty() {
            chars.next();
            spec.index = digits.parse::<usize>().ok().map(|n| n.saturating_sub(1));
            digits.clear();
        }
        if digits.is_empty() {
            while let Some(f) = chars.peek().copied() {
                match f {
                    '-' => spec.left = true,
                    '0' => spec.zero = true,
                    '+' => spec.plus = true,
                    ' ' => spec.space = true,
                    ',' => spec.group = true,
                    _ => break,
                }
                chars.next();
            }
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                digits.push(d);
                chars.next();
            }
        } else if digits.starts_with('0') && digits.len() > 1 {
            spec.zero = true;
            digits.remove(0);
        }
        spec.width = digits.parse().ok();
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                p.push(d);
                chars.next();
            }
            spec.precision = Some(p.parse().unwrap_or(0));
        }
        let Some(conversion) = chars.next() else {
            return exec_err!("FORMAT_STRING: the format ends inside a conversion");
        };
        let text = match conversion {
            '%' => "%".to_string(),
            'n' => "\n".to_string(),
            _ => {
                let at = spec.index.unwrap_or_else(|| {
                    next += 1;
                    next - 1
                });
                let Some(arg) = args.get(at) else {
                    return exec_err!(
                        "FORMAT_STRING: the format asks for argument {} of {}",
                        at + 1,
                        args.len()
                    );
                };
                convert(conversion, &spec, arg)?
            }
        };
        out.push_str(&pad(text, &spec));
    }
    Ok(out)
}

fn pad(text: String, spec: &Spec) -> String {
    let Some(width) = spec.width else {
        return text;
    };
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let fill = width - len;
    if spec.left {
        format!("{text}{}", " ".repeat(fill))
    } else if spec.zero {
        let (sign, digits) = match text.strip_prefix(['-', '+', ' ']) {
            Some(rest) => (&text[..1], rest),
            None => ("", text.as_str()),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

fn group_thousands(digits: &str) -> String {
    let (int, frac) = match digits.find('.') {
        Some(p) => (&digits[..p], &digits[p..]),
        None => (digits, ""),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out + frac
}

fn signed(magnitude: String, negative: bool, spec: &Spec) -> String {
    let magnitude = if spec.group {
        group_thousands(&magnitude)
    } else {
        magnitude
    };
    if negative {
        format!("-{magnitude}")
    } else if spec.plus {
        format!("+{magnitude}")
    } else if spec.space {
        format!(" {magnitude}")
    } else {
        magnitude
    }
}

fn as_i128(v: &ScalarValue) -> Option<i128> {
    match v {
        ScalarValue::Int8(Some(n)) => Some(i128::from(*n)),
        ScalarValue::Int16(Some(n)) => Some(i128::from(*n)),
        ScalarValue::Int32(Some(n)) => Some(i128::from(*n)),
        ScalarValue::Int64(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt8(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt16(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt32(Some(n)) => Some(i128::from(*n)),
        ScalarValue::UInt64(Some(n)) => Some(i128::from(*n)),
        _ => None,
    }
}

fn as_f64(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Float32(Some(f)) => Some(f64::from(*f)),
        ScalarValue::Float64(Some(f)) => Some(*f),
        ScalarValue::Decimal128(Some(n), _, s) => Some(*n as f64 / 10f64.powi(i32::from(*s))),
        other => as_i128(other).map(|n| n as f64),
    }
}

/// The text of `arg` as `%<conversion>` (before padding to the width).
fn convert(conversion: char, spec: &Spec, arg: &ScalarValue) -> Result<String> {
    let bad = || {
        exec_err!(
            "FORMAT_STRING: %{conversion} does not accept a value of type {}",
            arg.data_type()
        )
    };
    if arg.is_null() {
        return Ok(match conversion {
            'b' => "false".to_string(),
            'B' => "FALSE".to_string(),
            'S' => "NULL".to_string(),
            _ => "null".to_string(),
        });
    }
    Ok(match conversion {
        's' | 'S' => {
            let text = match arg {
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)) => s.clone(),
                other => other.to_string(),
            };
            let text = match spec.precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            };
            if conversion == 'S' {
                text.to_uppercase()
            } else {
                text
            }
        }
        'b' | 'B' => {
            let b = match arg {
                ScalarValue::Boolean(Some(b)) => *b,
                _ => true,
            };
            let text = b.to_string();
            if conversion == 'B' {
                text.to_uppercase()
            } else {
                text
            }
        }
        'd' => {
            let Some(n) = as_i128(arg) else {
                return bad();
            };
            signed(n.unsigned_abs().to_string(), n < 0, spec)
        }
        'x' | 'X' | 'o' => {
            let Some(n) = as_i128(arg) else {
                return bad();
            };
            // Java writes a negative number as its two's complement in the value's width.
            let bits: u64 = match arg {
                ScalarValue::Int8(_) => (n as i8) as u8 as u64,
                ScalarValue::Int16(_) => (n as i16) as u16 as u64,
                ScalarValue::Int32(_) => (n as i32) as u32 as u64,
                _ => n as u64,
            };
            match conversion {
                'x' => format!("{bits:x}"),
                'X' => format!("{bits:X}"),
                _ => format!("{bits:o}"),
            }
        }
        'f' => {
            let Some(f) = as_f64(arg) else {
                return bad();
            };
            if !f.is_finite() {
                return Ok(if f.is_nan() {
                    "NaN".to_string()
                } else if f > 0.0 {
                    "Infinity".to_string()
                } else {
                    "-Infinity".to_string()
                });
            }
            let p = spec.precision.unwrap_or(6);
            signed(
                format!("{:.p$}", f.abs()),
                f.is_sign_negative() && f != 0.0,
                spec,
            )
        }
        'e' | 'E' => {
            let Some(f) = as_f64(arg) else {
                return bad();
            };
            let p = spec.precision.unwrap_or(6);
            let text = format!("{:.p$e}", f.abs());
            // Rust writes `1.5e2`, Java `1.500000e+02`.
            let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
            let exponent: i32 = exponent.parse().unwrap_or(0);
            let sign = if exponent < 0 { '-' } else { '+' };
            let text = format!("{mantissa}e{sign}{:02}", exponent.abs());
            let text = signed(text, f.is_sign_negative() && f != 0.0, spec);
            if conversion == 'E' {
                text.to_uppercase()
            } else {
                text
            }
        }
        'c' => match arg {
            ScalarValue::Utf8(Some(s)) if s.chars().count() == 1 => s.clone(),
            other => match as_i128(other)
                .and_then(|n| u32::try_from(n).ok())
                .and_then(char::from_u32)
            {
                Some(c) => c.to_string(),
                None => return bad(),
            },
        },
        other => return exec_err!("FORMAT_STRING: the conversion %{other} is not supported"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_formats() {
        let args = [
            ScalarValue::Int64(Some(100)),
            ScalarValue::Utf8(Some("days".into())),
        ];
        assert_eq!(
            java_format("Hello World %d %s", &args).unwrap(),
            "Hello World 100 days"
        );
        assert_eq!(
            java_format("%2$s|%1$05d|%-4s|", &args).unwrap(),
            "days|00100|100 |"
        );
        let f = [ScalarValue::Float64(Some(-1.23456))];
        assert_eq!(
            java_format("%.2f|%8.3f|%e", &[f[0].clone(), f[0].clone(), f[0].clone()]).unwrap(),
            "-1.23|  -1.235|-1.234560e+00"
        );
        assert_eq!(
            java_format("%,d", &[ScalarValue::Int64(Some(1234567))]).unwrap(),
            "1,234,567"
        );
        assert_eq!(
            java_format(
                "%s %d",
                &[ScalarValue::Utf8(None), ScalarValue::Int64(None)]
            )
            .unwrap(),
            "null null"
        );
    }

    #[test]
    fn splits_like_java() {
        let re = Regex::new("[ABC]").unwrap();
        assert_eq!(
            split_one("oneAtwoBthreeC", &re, -1).unwrap(),
            ["one", "two", "three", ""]
        );
        assert_eq!(
            split_one("oneAtwoBthreeC", &re, 2).unwrap(),
            ["one", "twoBthreeC"]
        );
        let empty = Regex::new("").unwrap();
        assert_eq!(split_one("abc", &empty, -1).unwrap(), ["a", "b", "c"]);
    }

    #[test]
    fn json_paths() {
        let doc = r#"{"a":"b","c":{"d":[1,{"e":2}]},"n":null}"#;
        assert_eq!(json_at(doc, "$.a").as_deref(), Some("b"));
        assert_eq!(json_at(doc, "$.c.d[1].e").as_deref(), Some("2"));
        assert_eq!(json_at(doc, "$['c']['d'][0]").as_deref(), Some("1"));
        assert_eq!(json_at(doc, "$.c").as_deref(), Some(r#"{"d":[1,{"e":2}]}"#));
        assert_eq!(json_at(doc, "$.n"), None);
        assert_eq!(json_at(doc, "$.missing"), None);
        assert_eq!(json_at("not json", "$.a"), None);
    }
}
