//! Spark SQL's value conversions the engine lacks: `timestamp(expr)` (Spark's cast to a
//! timestamp, numbers as epoch seconds), `to_char` of a number in Spark's numeric format,
//! `encode` / `decode` with a character set, and the list an `explode` unnests (an array as
//! it is, a map as its entries).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, Float64Array, Int64Array, ListArray, MapArray, StringArray,
    TimestampNanosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::udf::{strings, AnyArgsFunction, RowFunction};

const NS: DataType = DataType::Timestamp(TimeUnit::Nanosecond, None);

/// Spark's `timestamp(expr)`, a cast to TIMESTAMP: a number is seconds since the Unix epoch
/// (fractions kept to the microsecond), a string or date is read as a cast reads it (NULL when
/// it is no timestamp, as Spark without ANSI mode).
pub fn timestamp() -> ScalarUDF {
    AnyArgsFunction::udf("spark_timestamp", 1, 1, NS, |a, _| {
        let x = &a[0];
        let t = x.data_type();
        if t.is_integer() {
            let seconds = cast(x, &DataType::Int64)?;
            let seconds = seconds
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("cast to Int64 gives an Int64Array");
            let out: TimestampNanosecondArray = seconds
                .iter()
                .map(|s| s.and_then(|s| s.checked_mul(1_000_000_000)))
                .collect();
            return Ok(Arc::new(out));
        }
        if t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
            let seconds = cast(x, &DataType::Float64)?;
            let seconds = seconds
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64 gives a Float64Array");
            let out: TimestampNanosecondArray = seconds
                .iter()
                .map(|s| {
                    let micros = (s? * 1e6).round();
                    (micros.is_finite() && micros.abs() < 9.2e15).then(|| micros as i64 * 1000)
                })
                .collect();
            return Ok(Arc::new(out));
        }
        if matches!(t, DataType::Boolean) {
            return exec_err!("TIMESTAMP cannot cast a BOOLEAN to a TIMESTAMP");
        }
        Ok(cast(x, &NS)?)
    })
}

/// One element of a Spark numeric format (`to_char(number, format)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberPart {
    /// `9` (`zero` false) or `0`.
    Digit { zero: bool },
    /// `.` or `D`.
    Point,
    /// `,` or `G`.
    Group,
    /// `$`.
    Dollar,
    /// `S`: `-` or `+`.
    Sign,
    /// `MI`: `-` or a space.
    Minus,
    /// `PR`: negative values in angle brackets.
    Brackets,
}

/// The elements of a Spark numeric format, checked as Spark checks them.
///
/// # Errors
/// Why the format is invalid.
pub fn number_format(format: &str) -> std::result::Result<Vec<NumberPart>, String> {
    let invalid = |why: &str| Err(format!("The format is invalid: '{format}'. {why}"));
    let chars: Vec<char> = format.chars().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let two: String = chars[i..(i + 2).min(chars.len())]
            .iter()
            .collect::<String>()
            .to_ascii_uppercase();
        let (part, width) = match (two.as_str(), chars[i].to_ascii_uppercase()) {
            ("MI", _) => (NumberPart::Minus, 2),
            ("PR", _) => (NumberPart::Brackets, 2),
            (_, '9') => (NumberPart::Digit { zero: false }, 1),
            (_, '0') => (NumberPart::Digit { zero: true }, 1),
            (_, '.' | 'D') => (NumberPart::Point, 1),
            (_, ',' | 'G') => (NumberPart::Group, 1),
            (_, '$') => (NumberPart::Dollar, 1),
            (_, 'S') => (NumberPart::Sign, 1),
            (_, c) => return invalid(&format!("Unexpected character '{c}' in the format.")),
        };
        parts.push(part);
        i += width;
    }
    let digit = |p: &NumberPart| matches!(p, NumberPart::Digit { .. });
    if !parts.iter().any(digit) {
        return invalid("The format must contain at least one digit (0 or 9).");
    }
    let count = |want: fn(&NumberPart) -> bool| parts.iter().filter(|p| want(p)).count();
    if count(|p| *p == NumberPart::Point) > 1 {
        return invalid("The decimal point may appear only once.");
    }
    if count(|p| *p == NumberPart::Dollar) > 1 {
        return invalid("The currency sign '$' may appear only once.");
    }
    let signs = count(|p| {
        matches!(
            p,
            NumberPart::Sign | NumberPart::Minus | NumberPart::Brackets
        )
    });
    if signs > 1 {
        return invalid("Only one of S, MI and PR may appear, once.");
    }
    let last = parts.len() - 1;
    let point = parts.iter().position(|p| *p == NumberPart::Point);
    for (at, p) in parts.iter().enumerate() {
        match p {
            NumberPart::Sign | NumberPart::Minus if at != 0 && at != last => {
                return invalid("S and MI are allowed only at the beginning or the end.")
            }
            NumberPart::Brackets if at != last => return invalid("PR is allowed only at the end."),
            NumberPart::Group => {
                let between = at > 0
                    && digit(&parts[at - 1])
                    && parts.get(at + 1).is_some_and(digit)
                    && point.is_none_or(|d| at < d);
                if !between {
                    return invalid(
                        "Each grouping separator needs a digit on its left and right, before the decimal point.",
                    );
                }
            }
            NumberPart::Dollar => {
                let first_digit = parts.iter().position(digit).unwrap_or(0);
                let last_digit = parts.iter().rposition(digit).unwrap_or(0);
                if at > first_digit && at < last_digit {
                    return invalid("The currency sign '$' must be before or after the digits.");
                }
            }
            _ => {}
        }
    }
    Ok(parts)
}

/// `number` (its decimal text) in the Spark numeric format `parts`.
fn format_number(number: &str, parts: &[NumberPart]) -> Option<String> {
    let (negative, text) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let point = parts.iter().position(|p| *p == NumberPart::Point);
    let digits_in = |range: &[NumberPart]| {
        range
            .iter()
            .filter(|p| matches!(p, NumberPart::Digit { .. }))
            .count()
    };
    let (int_places, frac_places) = match point {
        Some(at) => (digits_in(&parts[..at]), digits_in(&parts[at..])),
        None => (digits_in(parts), 0),
    };
    // Round half up to the places of the format.
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let mut kept = int.len() + frac_places;
    let round_up = digits.get(kept).is_some_and(|d| *d >= 5);
    digits.resize(kept, 0);
    if round_up {
        let mut at = kept;
        loop {
            if at == 0 {
                digits.insert(0, 1);
                kept += 1;
                break;
            }
            at -= 1;
            if digits[at] == 9 {
                digits[at] = 0;
            } else {
                digits[at] += 1;
                break;
            }
        }
    }
    let int_len = kept - frac_places;
    let mut int_digits: Vec<u8> = digits[..int_len].to_vec();
    let frac_digits: Vec<u8> = digits[int_len..].to_vec();
    while int_digits.len() > 1 && int_digits[0] == 0 {
        int_digits.remove(0);
    }
    if int_digits.is_empty() {
        int_digits.push(0);
    }
    let negative = negative && digits.iter().any(|d| *d != 0);
    let overflow = int_digits.len() > int_places;
    let zero_pad = parts
        .iter()
        .find(|p| matches!(p, NumberPart::Digit { .. }))
        .is_some_and(|p| *p == NumberPart::Digit { zero: true });
    let pad = int_places.saturating_sub(int_digits.len());
    let mut out = String::new();
    let mut int_seen = 0;
    let mut frac_seen = 0;
    let mut printed_digit = false;
    let mut after_point = false;
    for part in parts {
        match part {
            NumberPart::Digit { .. } if overflow => out.push('#'),
            NumberPart::Digit { .. } if after_point => {
                out.push(char::from(b'0' + frac_digits[frac_seen]));
                frac_seen += 1;
            }
            NumberPart::Digit { .. } => {
                if int_seen < pad {
                    out.push(if zero_pad { '0' } else { ' ' });
                    printed_digit |= zero_pad;
                } else {
                    out.push(char::from(b'0' + int_digits[int_seen - pad]));
                    printed_digit = true;
                }
                int_seen += 1;
            }
            NumberPart::Point => {
                after_point = true;
                out.push('.');
            }
            NumberPart::Group => out.push(if printed_digit || overflow { ',' } else { ' ' }),
            NumberPart::Dollar => out.push('$'),
            NumberPart::Sign => out.push(if negative { '-' } else { '+' }),
            NumberPart::Minus => out.push(if negative { '-' } else { ' ' }),
            NumberPart::Brackets => {}
        }
    }
    let signed = parts
        .iter()
        .any(|p| matches!(p, NumberPart::Sign | NumberPart::Minus));
    if negative && parts.last() == Some(&NumberPart::Brackets) {
        out = format!("<{out}>");
    } else if negative && !signed {
        out.insert(0, '-');
    }
    Some(out)
}

/// The plain decimal text of a number as the engine prints it (no exponent).
fn plain_decimal(text: &str) -> String {
    if !text.contains(['e', 'E']) {
        return text.to_string();
    }
    match text.parse::<f64>() {
        Ok(x) => {
            let s = format!("{x:.20}");
            let s = s.trim_end_matches('0');
            s.trim_end_matches('.').to_string()
        }
        Err(_) => text.to_string(),
    }
}

/// Spark's `to_char(number, format)`: the number in a numeric format of `0`, `9`, `.`/`D`,
/// `,`/`G`, `$`, `S`, `MI` and `PR` (the statement rewrite checks the format).
pub fn to_char_number() -> ScalarUDF {
    RowFunction::udf(
        "spark_to_char_number",
        vec![DataType::Utf8, DataType::Utf8],
        2,
        DataType::Utf8,
        |a| {
            let x = strings(&a[0]);
            let format = strings(&a[1]);
            let mut out = Vec::with_capacity(x.len());
            for i in 0..x.len() {
                if x.is_null(i) || format.is_null(i) {
                    out.push(None);
                    continue;
                }
                let parts = match number_format(format.value(i)) {
                    Ok(parts) => parts,
                    Err(e) => return exec_err!("TO_CHAR: {e}"),
                };
                let number = plain_decimal(x.value(i));
                match format_number(&number, &parts) {
                    Some(s) => out.push(Some(s)),
                    None => return exec_err!("TO_CHAR: '{}' is not a number", x.value(i)),
                }
            }
            Ok(Arc::new(StringArray::from(out)) as ArrayRef)
        },
    )
}

/// The character sets of Spark's `encode` and `decode`, as their canonical names.
const CHARSETS: [&str; 6] = [
    "US-ASCII",
    "ISO-8859-1",
    "UTF-8",
    "UTF-16BE",
    "UTF-16LE",
    "UTF-16",
];

/// The canonical name of a character set of Spark's `encode` / `decode` (any case).
pub fn charset(name: &str) -> Option<&'static str> {
    CHARSETS
        .into_iter()
        .find(|c| c.eq_ignore_ascii_case(name.trim()))
}

/// Spark's message for a character set `encode` / `decode` do not know.
pub fn charset_error(function: &str, name: &str) -> String {
    format!(
        "The value of parameter(s) charset in {function} is invalid: expects one of the {}, but got {name}.",
        CHARSETS.map(str::to_ascii_lowercase).join(", ")
    )
}

fn encode_text(s: &str, charset: &str) -> Vec<u8> {
    match charset {
        "US-ASCII" => s
            .chars()
            .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
            .collect(),
        "ISO-8859-1" => s
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
            .collect(),
        "UTF-16BE" => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        "UTF-16LE" => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        // Java writes a big-endian byte-order mark first.
        "UTF-16" => [0xFE, 0xFF]
            .into_iter()
            .chain(s.encode_utf16().flat_map(u16::to_be_bytes))
            .collect(),
        _ => s.as_bytes().to_vec(),
    }
}

fn decode_bytes(b: &[u8], charset: &str) -> String {
    let utf16 = |b: &[u8], big: bool| {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| match (c, big) {
                ([x, y], true) => u16::from_be_bytes([*x, *y]),
                ([x, y], false) => u16::from_le_bytes([*x, *y]),
                _ => 0xFFFD,
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match charset {
        "US-ASCII" => b
            .iter()
            .map(|&x| if x < 0x80 { char::from(x) } else { '\u{FFFD}' })
            .collect(),
        "ISO-8859-1" => b.iter().map(|&x| char::from(x)).collect(),
        "UTF-16BE" => utf16(b, true),
        "UTF-16LE" => utf16(b, false),
        "UTF-16" => match b {
            [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
            [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
            _ => utf16(b, true),
        },
        _ => String::from_utf8_lossy(b).into_owned(),
    }
}

/// Spark's `encode(string, charset)`: the string's bytes in the character set.
pub fn encode_charset() -> ScalarUDF {
    RowFunction::udf(
        "encode_charset",
        vec![DataType::Utf8, DataType::Utf8],
        2,
        DataType::Binary,
        |a| {
            let (s, names) = (strings(&a[0]), strings(&a[1]));
            let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(s.len());
            for i in 0..s.len() {
                if s.is_null(i) || names.is_null(i) {
                    out.push(None);
                    continue;
                }
                let Some(set) = charset(names.value(i)) else {
                    return exec_err!("{}", charset_error("encode", names.value(i)));
                };
                out.push(Some(encode_text(s.value(i), set)));
            }
            Ok(Arc::new(BinaryArray::from_iter(out)) as ArrayRef)
        },
    )
}

/// Spark's `decode(binary, charset)`: the bytes read in the character set (a byte sequence
/// the set cannot read becomes U+FFFD, as Java's decoder does).
pub fn decode_charset() -> ScalarUDF {
    RowFunction::udf(
        "decode_charset",
        vec![DataType::Binary, DataType::Utf8],
        2,
        DataType::Utf8,
        |a| {
            let b = a[0]
                .as_any()
                .downcast_ref::<BinaryArray>()
                .expect("cast to Binary gives a BinaryArray");
            let names = strings(&a[1]);
            let mut out = Vec::with_capacity(b.len());
            for i in 0..b.len() {
                if b.is_null(i) || names.is_null(i) {
                    out.push(None);
                    continue;
                }
                let Some(set) = charset(names.value(i)) else {
                    return exec_err!("{}", charset_error("decode", names.value(i)));
                };
                out.push(Some(decode_bytes(b.value(i), set)));
            }
            Ok(Arc::new(StringArray::from(out)) as ArrayRef)
        },
    )
}

/// The list an `explode` unnests: an array as it is, a map as the list of its entries (each a
/// struct of `key` and `value`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExplodeValues {
    signature: Signature,
}

/// `explode_values(array_or_map)`: see [`ExplodeValues`].
pub fn explode_values() -> ScalarUDF {
    ScalarUDF::new_from_impl(ExplodeValues {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

impl ScalarUDFImpl for ExplodeValues {
    fn name(&self) -> &str {
        "explode_values"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types {
            [t @ DataType::List(_)] => Ok(t.clone()),
            [DataType::LargeList(f) | DataType::FixedSizeList(f, _)] => {
                Ok(DataType::List(Arc::clone(f)))
            }
            [DataType::Map(entries, _)] => Ok(DataType::List(Arc::new(Field::new(
                "item",
                entries.data_type().clone(),
                true,
            )))),
            [other] => plan_err!("EXPLODE takes an ARRAY or a MAP, not {other}"),
            _ => plan_err!(
                "Function 'EXPLODE' takes 1 argument, got {}",
                arg_types.len()
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = matches!(args.args[0], ColumnarValue::Scalar(_));
        let rows = if scalar { 1 } else { args.number_rows };
        let x = args.args[0].to_array(rows)?;
        let out: ArrayRef = match x.data_type() {
            DataType::List(_) => x,
            DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
                cast(&x, &DataType::List(Arc::clone(f)))?
            }
            DataType::Map(entries, _) => {
                let map = x
                    .as_any()
                    .downcast_ref::<MapArray>()
                    .expect("a Map is a MapArray");
                let field = Arc::new(Field::new("item", entries.data_type().clone(), true));
                Arc::new(ListArray::try_new(
                    field,
                    map.offsets().clone(),
                    Arc::new(map.entries().clone()),
                    map.nulls().cloned(),
                )?)
            }
            other => return exec_err!("EXPLODE takes an ARRAY or a MAP, not {other}"),
        };
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_char(number: &str, format: &str) -> String {
        let parts = number_format(format).unwrap();
        format_number(number, &parts).unwrap()
    }

    #[test]
    fn spark_numeric_formats() {
        // Spark's documented examples.
        assert_eq!(to_char("454", "999"), "454");
        assert_eq!(to_char("454.00", "000D00"), "454.00");
        assert_eq!(to_char("12454", "99G999"), "12,454");
        assert_eq!(to_char("78.12", "$99.99"), "$78.12");
        assert_eq!(to_char("-12454.8", "99G999D9S"), "12,454.8-");
        // The AWS Clean Rooms page's example.
        assert_eq!(to_char("-125.8", "999D99S"), "125.80-");
        assert_eq!(to_char("5", "0099"), "0005");
        assert_eq!(to_char("5", "9,999"), "    5");
        assert_eq!(to_char("0", "999"), "  0");
        assert_eq!(to_char("2.456", "9.99"), "2.46");
        assert_eq!(to_char("9.996", "9.99"), "#.##");
        assert_eq!(to_char("-3", "9PR"), "<3>");
        assert_eq!(to_char("3", "S9"), "+3");
        assert_eq!(to_char("3", "9MI"), "3 ");
        assert_eq!(to_char("123", "99"), "##");
        assert!(number_format("99RN").is_err());
        assert!(number_format("9S9").is_err());
        assert!(number_format("G99").is_err());
        assert!(number_format("9.9.9").is_err());
        assert!(number_format("$").is_err());
        assert_eq!(plain_decimal("1e21"), "1000000000000000000000");
    }

    #[test]
    fn charsets() {
        assert_eq!(
            encode_text("abc", "UTF-16"),
            vec![0xFE, 0xFF, 0, b'a', 0, b'b', 0, b'c']
        );
        assert_eq!(encode_text("é€", "ISO-8859-1"), vec![0xE9, b'?']);
        assert_eq!(
            decode_bytes(&[0xFF, 0xFE, b'h', 0, b'i', 0], "UTF-16"),
            "hi"
        );
        assert_eq!(decode_bytes(&[b'a', 0xE9], "US-ASCII"), "a\u{FFFD}");
        assert_eq!(charset("utf-8"), Some("UTF-8"));
        assert_eq!(charset("windows-1252"), None);
    }
}
