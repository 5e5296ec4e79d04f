//! Hashes and encodings the engine lacks: `SHA`/`SHA1` (both references), and Spark's `HEX`,
//! `UNHEX` and `XXHASH64` with Spark's own rules (how a number is written in hexadecimal, how
//! each type is fed to the hash).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryArray, Int64Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;
use sha1::{Digest, Sha1};
use twox_hash::XxHash64;

use super::udf::{strings, AnyArgsFunction, RowFunction};

/// `sha1(x)` (and `sha(x)` through the rewrite): the SHA-1 digest of a string's UTF-8 bytes or
/// of binary data, as 40 lower-case hexadecimal digits.
pub fn sha1() -> ScalarUDF {
    RowFunction::udf("sha1", vec![DataType::Binary], 1, DataType::Utf8, |a| {
        let bytes = a[0]
            .as_any()
            .downcast_ref::<BinaryArray>()
            .expect("cast to Binary gives a BinaryArray");
        let out: StringArray = bytes
            .iter()
            .map(|v| v.map(|v| hex_digits(&Sha1::digest(v), false)))
            .collect();
        Ok(Arc::new(out))
    })
}

/// Bytes as two hexadecimal digits each.
fn hex_digits(bytes: &[u8], upper: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        if upper {
            out.push_str(&format!("{b:02X}"));
        } else {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
}

/// Spark's `hex(x)`: a string or binary value as two upper-case hexadecimal digits per byte; a
/// number (cast to BIGINT as Spark does) as its 64-bit two's complement without leading zeros
/// (`hex(17)` is `11`, `hex(-1)` is sixteen `F`s).
pub fn hex() -> ScalarUDF {
    AnyArgsFunction::udf("hex", 1, 1, DataType::Utf8, |a, _| {
        let x = &a[0];
        let out: StringArray = match x.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                let s = cast(x, &DataType::Utf8)?;
                strings(&s)
                    .iter()
                    .map(|v| v.map(|v| hex_digits(v.as_bytes(), true)))
                    .collect()
            }
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
                let b = cast(x, &DataType::Binary)?;
                b.as_any()
                    .downcast_ref::<BinaryArray>()
                    .expect("cast to Binary gives a BinaryArray")
                    .iter()
                    .map(|v| v.map(|v| hex_digits(v, true)))
                    .collect()
            }
            DataType::Null => (0..x.len()).map(|_| None::<String>).collect(),
            t if t.is_numeric() || *t == DataType::Boolean => {
                let n = cast(x, &DataType::Int64)?;
                n.as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("cast to Int64 gives an Int64Array")
                    .iter()
                    .map(|v| v.map(|v| format!("{:X}", v as u64)))
                    .collect()
            }
            t => return exec_err!("HEX does not accept a value of type {t}"),
        };
        Ok(Arc::new(out))
    })
}

/// Spark's `unhex(s)`: the bytes that pairs of hexadecimal digits stand for (an odd count of
/// digits reads the first alone); NULL when `s` has a character that is no hexadecimal digit.
pub fn unhex() -> ScalarUDF {
    RowFunction::udf("unhex", vec![DataType::Utf8], 1, DataType::Binary, |a| {
        let out: BinaryArray = strings(&a[0])
            .iter()
            .map(|v| v.and_then(unhex_of))
            .collect();
        Ok(Arc::new(out))
    })
}

fn unhex_of(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .chars()
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let mut rest = digits.as_slice();
    if rest.len() % 2 == 1 {
        out.push(rest[0]);
        rest = &rest[1..];
    }
    for pair in rest.chunks(2) {
        out.push(pair[0] * 16 + pair[1]);
    }
    Some(out)
}

/// The seed of Spark's `xxhash64`.
const SPARK_XXHASH_SEED: u64 = 42;

/// Spark's `xxhash64(x, …)`: the 64-bit xxHash of the arguments, each hashed with the previous
/// hash as its seed (42 for the first), as Spark feeds them: INT and smaller integers, DATE and
/// BOOLEAN as 4 bytes, BIGINT, DOUBLE and TIMESTAMP (microseconds) as 8, strings as their UTF-8
/// bytes, arrays and structs element by element; a NULL leaves the hash as it is.
pub fn xxhash64() -> ScalarUDF {
    AnyArgsFunction::udf("xxhash64", 1, 256, DataType::Int64, |a, rows| {
        let mut out = Vec::with_capacity(rows);
        for i in 0..rows {
            let mut hash = SPARK_XXHASH_SEED;
            for array in a {
                hash = spark_hash(&ScalarValue::try_from_array(array, i)?, hash)?;
            }
            out.push(hash as i64);
        }
        Ok(Arc::new(Int64Array::from(out)))
    })
}

fn hash_int(v: i32, seed: u64) -> u64 {
    XxHash64::oneshot(seed, &v.to_le_bytes())
}

fn hash_long(v: i64, seed: u64) -> u64 {
    XxHash64::oneshot(seed, &v.to_le_bytes())
}

/// One value into Spark's xxhash64 with `seed`.
fn spark_hash(v: &ScalarValue, seed: u64) -> Result<u64> {
    if v.is_null() {
        return Ok(seed);
    }
    Ok(match v {
        ScalarValue::Boolean(Some(b)) => hash_int(i32::from(*b), seed),
        ScalarValue::Int8(Some(n)) => hash_int(i32::from(*n), seed),
        ScalarValue::Int16(Some(n)) => hash_int(i32::from(*n), seed),
        ScalarValue::Int32(Some(n)) => hash_int(*n, seed),
        ScalarValue::Int64(Some(n)) => hash_long(*n, seed),
        ScalarValue::Float32(Some(f)) => {
            let bits = if *f == 0.0 {
                0
            } else if f.is_nan() {
                0x7fc0_0000
            } else {
                f.to_bits() as i32
            };
            hash_int(bits, seed)
        }
        ScalarValue::Float64(Some(f)) => {
            let bits = if *f == 0.0 {
                0
            } else if f.is_nan() {
                0x7ff8_0000_0000_0000
            } else {
                f.to_bits() as i64
            };
            hash_long(bits, seed)
        }
        ScalarValue::Date32(Some(d)) => hash_int(*d, seed),
        ScalarValue::TimestampSecond(Some(t), _) => hash_long(t.saturating_mul(1_000_000), seed),
        ScalarValue::TimestampMillisecond(Some(t), _) => hash_long(t.saturating_mul(1_000), seed),
        ScalarValue::TimestampMicrosecond(Some(t), _) => hash_long(*t, seed),
        ScalarValue::TimestampNanosecond(Some(t), _) => hash_long(t.div_euclid(1_000), seed),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => XxHash64::oneshot(seed, s.as_bytes()),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => XxHash64::oneshot(seed, b),
        ScalarValue::Decimal128(Some(n), precision, _) => {
            if *precision <= 18 {
                hash_long(*n as i64, seed)
            } else {
                XxHash64::oneshot(seed, &big_endian_twos_complement(*n))
            }
        }
        ScalarValue::List(list) => hash_elements(list.values(), seed)?,
        ScalarValue::LargeList(list) => hash_elements(list.values(), seed)?,
        ScalarValue::FixedSizeList(list) => hash_elements(list.values(), seed)?,
        ScalarValue::Struct(s) => {
            let mut hash = seed;
            for column in s.columns() {
                hash = spark_hash(&ScalarValue::try_from_array(column, 0)?, hash)?;
            }
            hash
        }
        other => {
            return exec_err!(
                "XXHASH64 does not accept a value of type {}",
                other.data_type()
            )
        }
    })
}

/// Every element of an array (a list value's single row) hashed in turn.
fn hash_elements(values: &ArrayRef, seed: u64) -> Result<u64> {
    let mut hash = seed;
    for i in 0..values.len() {
        hash = spark_hash(&ScalarValue::try_from_array(values, i)?, hash)?;
    }
    Ok(hash)
}

/// The shortest big-endian two's complement bytes of `n` (Java's `BigInteger.toByteArray`).
fn big_endian_twos_complement(n: i128) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut start = 0;
    while start < bytes.len() - 1 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}
