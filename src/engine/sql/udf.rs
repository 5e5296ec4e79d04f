//! The scalar functions the dialects add to DataFusion: date arithmetic with AWS Clean Rooms
//! date parts (`DATEADD`, `DATEDIFF`, `ADD_MONTHS`), Spark's `months_between`, the `TRUNC` of
//! both references (a number, or a date or timestamp to a date), `TO_NUMBER` with its numeric
//! format, `REGEXP_SUBSTR` with its position, occurrence and parameters, and `CONVERT_TIMEZONE`.
//!
//! Every function is row-wise over Arrow arrays; the statement rewrite ([`super::rewrite`])
//! casts arguments to the types a function expects, and each function casts again on entry so
//! a direct call works too.

use std::sync::Arc;

use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
use datafusion::arrow::array::timezone::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, StringArray, TimestampNanosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::parts::{DatePart, UNIX_EPOCH_DAYS};

/// The body of a row-wise function: its arguments, already cast to its input types.
type Body = fn(&[ArrayRef]) -> Result<ArrayRef>;

/// A scalar function with fixed input types (the last ones optional) and one result type.
#[derive(Debug)]
pub(super) struct RowFunction {
    name: &'static str,
    inputs: Vec<DataType>,
    required: usize,
    output: DataType,
    signature: Signature,
    body: Body,
}

impl PartialEq for RowFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.inputs == other.inputs && self.output == other.output
    }
}

impl Eq for RowFunction {}

impl std::hash::Hash for RowFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.inputs.hash(state);
    }
}

impl RowFunction {
    /// A function `name` whose arguments are cast to `inputs` (the first `required` of them
    /// must be given) and whose result is `output`, computed by `body`.
    pub(super) fn udf(
        name: &'static str,
        inputs: Vec<DataType>,
        required: usize,
        output: DataType,
        body: Body,
    ) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            name,
            inputs,
            required,
            output,
            signature: Signature::variadic_any(Volatility::Immutable),
            body,
        })
    }
}

impl ScalarUDFImpl for RowFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() < self.required || arg_types.len() > self.inputs.len() {
            return plan_err!(
                "Function '{}' takes {} arguments, got {}",
                self.name.to_ascii_uppercase(),
                arity(self.required, self.inputs.len()),
                arg_types.len()
            );
        }
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let mut typed = Vec::with_capacity(arrays.len());
        for (array, to) in arrays.iter().zip(&self.inputs) {
            typed.push(cast(array, to)?);
        }
        let out = (self.body)(&typed)?;
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// The body of a function that takes its arguments as they come: the argument arrays (all of
/// the batch's length) and the number of rows.
pub(super) type AnyBody = fn(&[ArrayRef], usize) -> Result<ArrayRef>;

/// A scalar function of any argument types (between `min` and `max` arguments) that looks at
/// the types itself; its result is `output`.
#[derive(Debug)]
pub(super) struct AnyArgsFunction {
    name: &'static str,
    min: usize,
    max: usize,
    output: DataType,
    signature: Signature,
    body: AnyBody,
}

impl PartialEq for AnyArgsFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.output == other.output
    }
}

impl Eq for AnyArgsFunction {}

impl std::hash::Hash for AnyArgsFunction {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl AnyArgsFunction {
    /// A function `name` of `min` to `max` arguments of any type whose result is `output`.
    pub(super) fn udf(
        name: &'static str,
        min: usize,
        max: usize,
        output: DataType,
        body: AnyBody,
    ) -> ScalarUDF {
        ScalarUDF::new_from_impl(Self {
            name,
            min,
            max,
            output,
            signature: if min == 0 {
                Signature::one_of(
                    vec![TypeSignature::Nullary, TypeSignature::VariadicAny],
                    Volatility::Immutable,
                )
            } else {
                Signature::variadic_any(Volatility::Immutable)
            },
            body,
        })
    }
}

impl ScalarUDFImpl for AnyArgsFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() < self.min || arg_types.len() > self.max {
            return plan_err!(
                "Function '{}' takes {} arguments, got {}",
                self.name.to_ascii_uppercase(),
                arity(self.min, self.max),
                arg_types.len()
            );
        }
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let rows = if scalar { 1 } else { args.number_rows };
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let out = (self.body)(&arrays, rows)?;
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

fn arity(required: usize, max: usize) -> String {
    if required == max {
        required.to_string()
    } else {
        format!("{required} to {max}")
    }
}

const NS: DataType = DataType::Timestamp(TimeUnit::Nanosecond, None);

/// `dateadd(part, n, timestamp)`: the timestamp moved by `n` date parts (Clean Rooms SQL).
pub fn dateadd(name: &'static str) -> ScalarUDF {
    RowFunction::udf(
        name,
        vec![DataType::Utf8, DataType::Int64, NS],
        3,
        NS,
        |a| {
            let parts = strings(&a[0]);
            let n = ints(&a[1]);
            let ts = timestamps(&a[2]);
            let mut out = Vec::with_capacity(ts.len());
            for i in 0..ts.len() {
                out.push(match (parts.is_valid(i), n.is_valid(i), ts.is_valid(i)) {
                    (true, true, true) => {
                        let part = DatePart::parse_arithmetic(parts.value(i), "DATEADD")?;
                        Some(to_nanos(add_part(
                            from_nanos(ts.value(i)),
                            part,
                            n.value(i),
                        )?)?)
                    }
                    _ => None,
                });
            }
            Ok(Arc::new(TimestampNanosecondArray::from(out)))
        },
    )
}

/// `datediff(part, start, end)`: how many date-part boundaries lie between two timestamps.
pub fn datediff(name: &'static str) -> ScalarUDF {
    RowFunction::udf(
        name,
        vec![DataType::Utf8, NS, NS],
        3,
        DataType::Int64,
        |a| {
            let parts = strings(&a[0]);
            let start = timestamps(&a[1]);
            let end = timestamps(&a[2]);
            let mut out = Vec::with_capacity(start.len());
            for i in 0..start.len() {
                out.push(
                    if parts.is_valid(i) && start.is_valid(i) && end.is_valid(i) {
                        let part = DatePart::parse_arithmetic(parts.value(i), "DATEDIFF")?;
                        Some(boundaries(
                            part,
                            from_nanos(start.value(i)),
                            from_nanos(end.value(i)),
                        ))
                    } else {
                        None
                    },
                );
            }
            Ok(Arc::new(Int64Array::from(out)))
        },
    )
}

/// `add_months(timestamp, n)` of Clean Rooms SQL: `n` months later; the last day of a month
/// stays the last day of the month it lands in.
pub fn add_months_clean_rooms() -> ScalarUDF {
    RowFunction::udf("add_months", vec![NS, DataType::Int64], 2, NS, |a| {
        let ts = timestamps(&a[0]);
        let n = ints(&a[1]);
        let mut out = Vec::with_capacity(ts.len());
        for i in 0..ts.len() {
            out.push(if ts.is_valid(i) && n.is_valid(i) {
                let t = from_nanos(ts.value(i));
                let moved = add_months(t, n.value(i))?;
                let moved = if is_last_day(t.date()) {
                    last_day_of(moved.date()).and_time(moved.time())
                } else {
                    moved
                };
                Some(to_nanos(moved)?)
            } else {
                None
            });
        }
        Ok(Arc::new(TimestampNanosecondArray::from(out)))
    })
}

/// `months_between(end, start)` of Spark SQL: whole months when both fall on the same day of
/// the month or both on the last day, otherwise months plus the rest over 31-day months,
/// rounded to 8 digits.
pub fn months_between() -> ScalarUDF {
    RowFunction::udf(
        "months_between",
        vec![NS, NS, DataType::Boolean],
        2,
        DataType::Float64,
        |a| {
            let end = timestamps(&a[0]);
            let start = timestamps(&a[1]);
            let round = a.get(2).map(|r| {
                r.as_any()
                    .downcast_ref::<datafusion::arrow::array::BooleanArray>()
                    .cloned()
            });
            let mut out = Vec::with_capacity(end.len());
            for i in 0..end.len() {
                if !end.is_valid(i) || !start.is_valid(i) {
                    out.push(None);
                    continue;
                }
                let (e, s) = (from_nanos(end.value(i)), from_nanos(start.value(i)));
                let months = f64::from(
                    (e.year() * 12 + e.month() as i32) - (s.year() * 12 + s.month() as i32),
                );
                if e.day() == s.day() || (is_last_day(e.date()) && is_last_day(s.date())) {
                    out.push(Some(months));
                    continue;
                }
                let secs = |t: NaiveDateTime| {
                    f64::from(t.day() - 1) * 86_400.0 + f64::from(t.num_seconds_from_midnight())
                };
                let value = months + (secs(e) - secs(s)) / (31.0 * 86_400.0);
                let round_off = match &round {
                    Some(Some(r)) if r.is_valid(i) => r.value(i),
                    _ => true,
                };
                out.push(Some(if round_off {
                    (value * 1e8).round() / 1e8
                } else {
                    value
                }));
            }
            Ok(Arc::new(Float64Array::from(out)))
        },
    )
}

/// `last_day(date)` of Spark SQL: the last day of the date's month.
pub fn last_day() -> ScalarUDF {
    RowFunction::udf(
        "last_day",
        vec![DataType::Date32],
        1,
        DataType::Date32,
        |a| {
            let d = a[0]
                .as_any()
                .downcast_ref::<Date32Array>()
                .expect("cast to Date32 gives a Date32Array");
            let out: Date32Array = d
                .iter()
                .map(|v| v.map(|v| days(last_day_of(date_of(v)))))
                .collect();
            Ok(Arc::new(out))
        },
    )
}

/// `convert_timezone(source, target, timestamp)`: the wall-clock time `timestamp` in the zone
/// `source` as the wall-clock time in `target` (both references). A zone is an IANA name
/// (`America/New_York`), an offset (`+05:30`) or a common abbreviation (`PST`, `EDT`, …).
pub fn convert_timezone() -> ScalarUDF {
    RowFunction::udf(
        "convert_timezone",
        vec![DataType::Utf8, DataType::Utf8, NS],
        3,
        NS,
        |a| {
            let source = strings(&a[0]);
            let target = strings(&a[1]);
            let ts = timestamps(&a[2]);
            let mut out = Vec::with_capacity(ts.len());
            for i in 0..ts.len() {
                out.push(
                    if source.is_valid(i) && target.is_valid(i) && ts.is_valid(i) {
                        let from = zone(source.value(i))?;
                        let to = zone(target.value(i))?;
                        Some(to_nanos(shift_zone(from_nanos(ts.value(i)), &from, &to))?)
                    } else {
                        None
                    },
                );
            }
            Ok(Arc::new(TimestampNanosecondArray::from(out)))
        },
    )
}

/// The time zone a name stands for.
fn zone(name: &str) -> Result<Tz> {
    let offset = match name.trim().to_ascii_uppercase().as_str() {
        "UTC" | "GMT" | "Z" => Some("+00:00"),
        "EST" => Some("-05:00"),
        "EDT" => Some("-04:00"),
        "CST" => Some("-06:00"),
        "CDT" => Some("-05:00"),
        "MST" => Some("-07:00"),
        "MDT" => Some("-06:00"),
        "PST" => Some("-08:00"),
        "PDT" => Some("-07:00"),
        "CET" => Some("+01:00"),
        "CEST" => Some("+02:00"),
        _ => None,
    };
    match offset.unwrap_or(name.trim()).parse::<Tz>() {
        Ok(tz) => Ok(tz),
        Err(_) => exec_err!("CONVERT_TIMEZONE does not know the time zone '{name}'"),
    }
}

/// The wall-clock time `t` in `from` as the wall-clock time in `to`. A time that `from` skips
/// (a daylight-saving gap) counts from the offset before the gap; a repeated one is the first.
fn shift_zone(t: NaiveDateTime, from: &Tz, to: &Tz) -> NaiveDateTime {
    let instant = match from.from_local_datetime(&t) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
        LocalResult::None => {
            let before = from.offset_from_utc_datetime(&(t - Duration::hours(3)));
            (t - Duration::seconds(i64::from(before.fix().local_minus_utc()))).and_utc()
        }
    };
    instant.with_timezone(to).naive_local()
}

/// `to_number(string, format)`: the number a string shows in a numeric format (`9`, `0`,
/// `D`/`.`, `G`/`,`, `S`, `MI`, `PR`, `L`/`$`).
pub fn to_number() -> ScalarUDF {
    RowFunction::udf(
        "to_number",
        vec![DataType::Utf8, DataType::Utf8],
        2,
        DataType::Float64,
        |a| {
            let text = strings(&a[0]);
            let format = strings(&a[1]);
            let mut out = Vec::with_capacity(text.len());
            for i in 0..text.len() {
                out.push(if text.is_valid(i) && format.is_valid(i) {
                    Some(super::format::parse_number(text.value(i), format.value(i))?)
                } else {
                    None
                });
            }
            Ok(Arc::new(Float64Array::from(out)))
        },
    )
}

/// `soundex(string)`: the American Soundex code of a string's letters (a letter and three
/// digits), `''` when it has no letter.
pub fn soundex() -> ScalarUDF {
    RowFunction::udf("soundex", vec![DataType::Utf8], 1, DataType::Utf8, |a| {
        let text = strings(&a[0]);
        let out: StringArray = text.iter().map(|v| v.map(soundex_of)).collect();
        Ok(Arc::new(out))
    })
}

fn soundex_code(c: char) -> Option<char> {
    Some(match c {
        'B' | 'F' | 'P' | 'V' => '1',
        'C' | 'G' | 'J' | 'K' | 'Q' | 'S' | 'X' | 'Z' => '2',
        'D' | 'T' => '3',
        'L' => '4',
        'M' | 'N' => '5',
        'R' => '6',
        _ => return None,
    })
}

fn soundex_of(s: &str) -> String {
    let letters: Vec<char> = s
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let Some(first) = letters.first() else {
        return String::new();
    };
    let mut out = first.to_string();
    let mut last = soundex_code(*first);
    for c in &letters[1..] {
        let code = soundex_code(*c);
        if let Some(d) = code {
            if code != last {
                out.push(d);
                if out.len() == 4 {
                    break;
                }
            }
        }
        // H and W do not separate equal codes; vowels do.
        if !matches!(c, 'H' | 'W') {
            last = code;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

/// `to_char_number(number, format)`: `TO_CHAR` of a number in a numeric format.
pub fn to_char_number() -> ScalarUDF {
    RowFunction::udf(
        "to_char_number",
        vec![DataType::Float64, DataType::Utf8],
        2,
        DataType::Utf8,
        |a| {
            let x = a[0]
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("cast to Float64 gives a Float64Array");
            let format = strings(&a[1]);
            let out: StringArray = (0..x.len())
                .map(|i| {
                    (x.is_valid(i) && format.is_valid(i))
                        .then(|| super::format::format_number(x.value(i), format.value(i)))
                })
                .collect();
            Ok(Arc::new(out))
        },
    )
}

/// `regexp_substr(string, pattern [, position [, occurrence [, parameters]]])`: the
/// `occurrence`-th match from character `position`; `''` without a match, NULL when the
/// occurrence is past the last match; parameters `c`, `i`, `p`, `e`.
pub fn regexp_substr() -> ScalarUDF {
    RowFunction::udf(
        "regexp_substr",
        vec![
            DataType::Utf8,
            DataType::Utf8,
            DataType::Int64,
            DataType::Int64,
            DataType::Utf8,
        ],
        2,
        DataType::Utf8,
        |a| {
            let text = strings(&a[0]);
            let pattern = strings(&a[1]);
            let position = a.get(2).map(ints);
            let occurrence = a.get(3).map(ints);
            let params = a.get(4).map(strings);
            let mut out: Vec<Option<String>> = Vec::with_capacity(text.len());
            for i in 0..text.len() {
                let opt_int = |c: &Option<&Int64Array>| match c {
                    Some(c) if c.is_valid(i) => Some(c.value(i)),
                    Some(_) => None,
                    None => Some(1),
                };
                let (Some(pos), Some(occ)) = (opt_int(&position), opt_int(&occurrence)) else {
                    out.push(None);
                    continue;
                };
                if !text.is_valid(i) || !pattern.is_valid(i) {
                    out.push(None);
                    continue;
                }
                let flags = match &params {
                    Some(p) if p.is_valid(i) => p.value(i).to_string(),
                    _ => String::new(),
                };
                out.push(regexp_substr_one(
                    text.value(i),
                    pattern.value(i),
                    pos,
                    occ,
                    &flags,
                )?);
            }
            Ok(Arc::new(StringArray::from(out)))
        },
    )
}

fn regexp_substr_one(
    text: &str,
    pattern: &str,
    position: i64,
    occurrence: i64,
    flags: &str,
) -> Result<Option<String>> {
    if position < 1 {
        return exec_err!("REGEXP_SUBSTR position must be 1 or more, got {position}");
    }
    if occurrence < 1 {
        return exec_err!("REGEXP_SUBSTR occurrence must be 1 or more, got {occurrence}");
    }
    let mut insensitive = false;
    let mut group = false;
    for f in flags.chars() {
        match f {
            'c' => insensitive = false,
            'i' => insensitive = true,
            'e' => group = true,
            // Perl-compatible syntax is what the engine speaks anyway.
            'p' => {}
            other => {
                return exec_err!("REGEXP_SUBSTR parameter '{other}' is not one of c, i, e, p")
            }
        }
    }
    // String literals of both references unescape a doubled backslash ('\\w' is \w).
    let pattern = pattern.replace("\\\\", "\\");
    let full = if insensitive {
        format!("(?i){pattern}")
    } else {
        pattern.clone()
    };
    let re = fancy_regex::Regex::new(&full).map_err(|e| {
        datafusion::error::DataFusionError::Execution(format!(
            "REGEXP_SUBSTR pattern '{pattern}' is not a valid regular expression: {e}"
        ))
    })?;
    let start = text
        .char_indices()
        .nth(usize::try_from(position - 1).unwrap_or(usize::MAX))
        .map(|(b, _)| b);
    let Some(start) = start else {
        return Ok(Some(String::new()));
    };
    let mut found = 0;
    let mut count = 0;
    for m in re.captures_iter(&text[start..]) {
        let m = m.map_err(|e| {
            datafusion::error::DataFusionError::Execution(format!("REGEXP_SUBSTR: {e}"))
        })?;
        count += 1;
        if count == occurrence {
            let piece = if group {
                m.get(1).or(m.get(0))
            } else {
                m.get(0)
            };
            return Ok(Some(
                piece.map_or(String::new(), |p| p.as_str().to_string()),
            ));
        }
        found += 1;
    }
    Ok(if found == 0 {
        Some(String::new())
    } else {
        None
    })
}

/// `trunc`: a number truncated to `digits` decimals (default 0), or a date or timestamp
/// truncated to a date — to its day, or to the start of the period a format names (`YEAR`,
/// `YYYY`, `YY`, `QUARTER`, `MONTH`, `MON`, `MM`, `WEEK`, `DAY`, `DD`).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Trunc {
    signature: Signature,
}

/// The `TRUNC` of both references.
pub fn trunc() -> ScalarUDF {
    ScalarUDF::new_from_impl(Trunc {
        signature: Signature::user_defined(Volatility::Immutable),
    })
}

fn is_temporal(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Date32 | DataType::Date64 | DataType::Timestamp(_, _)
    )
}

impl ScalarUDFImpl for Trunc {
    fn name(&self) -> &str {
        "trunc"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if is_temporal(t) => Ok(vec![NS]),
            [t, _] if is_temporal(t) => Ok(vec![NS, DataType::Utf8]),
            [t] if t.is_numeric() || t.is_null() => Ok(vec![DataType::Float64]),
            [t, d] if (t.is_numeric() || t.is_null()) && (d.is_integer() || d.is_null()) => {
                Ok(vec![DataType::Float64, DataType::Int64])
            }
            _ => plan_err!(
                "Function 'TRUNC' takes a number and optional integer digits, or a date or timestamp and an optional format; got ({})",
                arg_types
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match arg_types.first() {
            Some(t) if is_temporal(t) => DataType::Date32,
            _ => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out: ArrayRef = if is_temporal(arrays[0].data_type()) {
            let ts = cast(&arrays[0], &NS)?;
            let ts = timestamps(&ts);
            let fmt = match arrays.get(1) {
                Some(f) => Some(cast(f, &DataType::Utf8)?),
                None => None,
            };
            let fmt = fmt.as_ref().map(strings);
            let mut out = Vec::with_capacity(ts.len());
            for i in 0..ts.len() {
                if !ts.is_valid(i) {
                    out.push(None);
                    continue;
                }
                let d = from_nanos(ts.value(i)).date();
                let d = match fmt {
                    None => d,
                    Some(f) if !f.is_valid(i) => {
                        out.push(None);
                        continue;
                    }
                    Some(f) => match truncate_date(d, f.value(i)) {
                        Some(d) => d,
                        None => {
                            out.push(None);
                            continue;
                        }
                    },
                };
                out.push(Some(days(d)));
            }
            Arc::new(Date32Array::from(out))
        } else {
            let x = cast(&arrays[0], &DataType::Float64)?;
            let x = x
                .as_any()
                .downcast_ref::<Float64Array>()
                .cloned()
                .unwrap_or_else(|| Float64Array::from(Vec::<f64>::new()));
            let digits = match arrays.get(1) {
                Some(d) => Some(cast(d, &DataType::Int64)?),
                None => None,
            };
            let digits = digits.as_ref().map(ints);
            let mut out = Vec::with_capacity(x.len());
            for i in 0..x.len() {
                let d = match digits {
                    Some(d) if !d.is_valid(i) => {
                        out.push(None);
                        continue;
                    }
                    Some(d) => d.value(i),
                    None => 0,
                };
                out.push(x.is_valid(i).then(|| {
                    let scale = 10f64.powi(i32::try_from(d.clamp(-300, 300)).unwrap_or(0));
                    (x.value(i) * scale).trunc() / scale
                }));
            }
            Arc::new(Float64Array::from(out))
        };
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// The first day of the period `format` names, or `None` for a format Spark does not know
/// (Spark answers NULL).
fn truncate_date(d: NaiveDate, format: &str) -> Option<NaiveDate> {
    match format.to_ascii_lowercase().as_str() {
        "year" | "yyyy" | "yy" => NaiveDate::from_ymd_opt(d.year(), 1, 1),
        "quarter" => NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1),
        "month" | "mon" | "mm" => NaiveDate::from_ymd_opt(d.year(), d.month(), 1),
        "week" => Some(d - Duration::days(i64::from(d.weekday().num_days_from_monday()))),
        "day" | "dd" => Some(d),
        _ => None,
    }
}

/// The strings of an array cast to Utf8.
pub(super) fn strings(a: &ArrayRef) -> &StringArray {
    a.as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 gives a StringArray")
}

/// The integers of an array cast to Int64.
pub(super) fn ints(a: &ArrayRef) -> &Int64Array {
    a.as_any()
        .downcast_ref::<Int64Array>()
        .expect("cast to Int64 gives an Int64Array")
}

fn timestamps(a: &ArrayRef) -> &TimestampNanosecondArray {
    a.as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .expect("cast to Timestamp(ns) gives a TimestampNanosecondArray")
}

fn from_nanos(n: i64) -> NaiveDateTime {
    DateTime::from_timestamp_nanos(n).naive_utc()
}

fn to_nanos(t: NaiveDateTime) -> Result<i64> {
    match t.and_utc().timestamp_nanos_opt() {
        Some(n) => Ok(n),
        None => exec_err!("The timestamp {t} is out of range"),
    }
}

fn date_of(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_DAYS).unwrap_or_default()
}

fn days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_DAYS
}

fn is_last_day(d: NaiveDate) -> bool {
    d.succ_opt().is_none_or(|n| n.month() != d.month())
}

fn last_day_of(d: NaiveDate) -> NaiveDate {
    let first_next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    };
    first_next.and_then(|n| n.pred_opt()).unwrap_or(d)
}

fn add_months(t: NaiveDateTime, n: i64) -> Result<NaiveDateTime> {
    let moved = match u32::try_from(n.unsigned_abs()) {
        Ok(m) if n >= 0 => t.checked_add_months(Months::new(m)),
        Ok(m) => t.checked_sub_months(Months::new(m)),
        Err(_) => None,
    };
    match moved {
        Some(m) => Ok(m),
        None => exec_err!("Adding {n} months to {t} leaves the timestamp range"),
    }
}

/// Years added the way `DATEADD(year, …)` adds them: the same month and day, and 29 February
/// in a year without one becomes 1 March.
fn add_years(t: NaiveDateTime, n: i64) -> Result<NaiveDateTime> {
    let Some(year) = i32::try_from(n).ok().and_then(|n| t.year().checked_add(n)) else {
        return exec_err!("Adding {n} years to {t} leaves the timestamp range");
    };
    let date = NaiveDate::from_ymd_opt(year, t.month(), t.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1));
    match date {
        Some(d) => Ok(d.and_time(t.time())),
        None => exec_err!("Adding {n} years to {t} leaves the timestamp range"),
    }
}

fn add_part(t: NaiveDateTime, part: DatePart, n: i64) -> Result<NaiveDateTime> {
    let span = |d: Option<Duration>| match d.and_then(|d| t.checked_add_signed(d)) {
        Some(x) => Ok(x),
        None => exec_err!("Adding {n} {part:?} to {t} leaves the timestamp range"),
    };
    match part {
        DatePart::Millennium => add_years(t, n.saturating_mul(1000)),
        DatePart::Century => add_years(t, n.saturating_mul(100)),
        DatePart::Decade => add_years(t, n.saturating_mul(10)),
        DatePart::Year => add_years(t, n),
        DatePart::Quarter => add_months(t, n.saturating_mul(3)),
        DatePart::Month => add_months(t, n),
        DatePart::Week => span(Duration::try_weeks(n)),
        DatePart::Day => span(Duration::try_days(n)),
        DatePart::Hour => span(Duration::try_hours(n)),
        DatePart::Minute => span(Duration::try_minutes(n)),
        DatePart::Second => span(Duration::try_seconds(n)),
        DatePart::Millisecond => span(Duration::try_milliseconds(n)),
        DatePart::Microsecond => span(Some(Duration::microseconds(n))),
        other => exec_err!("Date part {other:?} cannot be used in date arithmetic"),
    }
}

/// How many `part` boundaries lie between `start` and `end` (negative when `end` is earlier).
fn boundaries(part: DatePart, start: NaiveDateTime, end: NaiveDateTime) -> i64 {
    let year = |t: NaiveDateTime| i64::from(t.year());
    let day = |t: NaiveDateTime| i64::from(t.date().num_days_from_ce());
    let secs = |t: NaiveDateTime| t.and_utc().timestamp();
    let micros = |t: NaiveDateTime| t.and_utc().timestamp_micros();
    let months = |t: NaiveDateTime| year(t) * 12 + i64::from(t.month0());
    match part {
        DatePart::Millennium => {
            (year(end) - 1).div_euclid(1000) - (year(start) - 1).div_euclid(1000)
        }
        DatePart::Century => (year(end) - 1).div_euclid(100) - (year(start) - 1).div_euclid(100),
        DatePart::Decade => year(end).div_euclid(10) - year(start).div_euclid(10),
        DatePart::Year => year(end) - year(start),
        DatePart::Quarter => months(end).div_euclid(3) - months(start).div_euclid(3),
        DatePart::Month => months(end) - months(start),
        // Weeks start on Monday; day 1 of the common era was a Monday.
        DatePart::Week => (day(end) - 1).div_euclid(7) - (day(start) - 1).div_euclid(7),
        DatePart::Day => day(end) - day(start),
        DatePart::Hour => secs(end).div_euclid(3600) - secs(start).div_euclid(3600),
        DatePart::Minute => secs(end).div_euclid(60) - secs(start).div_euclid(60),
        DatePart::Second => secs(end) - secs(start),
        DatePart::Millisecond => micros(end).div_euclid(1000) - micros(start).div_euclid(1000),
        _ => micros(end) - micros(start),
    }
}
