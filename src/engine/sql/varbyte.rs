//! The VARBYTE functions of AWS Clean Rooms SQL: `TO_VARBYTE`, `FROM_VARBYTE`, `TO_HEX` and
//! `FROM_HEX`. A VARBYTE value is an Arrow `Binary` value; results show it in lowercase
//! hexadecimal, as Clean Rooms SQL prints VARBYTE. A VARCHAR given where a VARBYTE is expected
//! stands for its UTF-8 bytes.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::ScalarUDF;

use super::udf::{strings, AnyArgsFunction};

/// A text format of binary values, as `TO_VARBYTE` and `FROM_VARBYTE` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Two hexadecimal digits a byte.
    Hex,
    /// Eight binary digits a byte.
    Binary,
    /// The bytes are UTF-8 text.
    Utf8,
}

impl Format {
    fn parse(function: &str, name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "hex" => Ok(Self::Hex),
            "binary" => Ok(Self::Binary),
            "utf8" | "utf-8" => Ok(Self::Utf8),
            _ => exec_err!(
                "{function}: invalid format '{name}' (valid formats are hex, binary, utf-8 and utf8)"
            ),
        }
    }

    /// The bytes `text` writes in this format.
    fn decode(self, function: &str, text: &str) -> Result<Vec<u8>> {
        let (digits, radix) = match self {
            Self::Utf8 => return Ok(text.as_bytes().to_vec()),
            Self::Hex => (2, 16),
            Self::Binary => (8, 2),
        };
        if !text.len().is_multiple_of(digits) || !text.is_ascii() {
            return exec_err!(
                "{function}: '{text}' is no whole number of bytes in {} digits",
                self.name()
            );
        }
        (0..text.len())
            .step_by(digits)
            .map(|i| match u8::from_str_radix(&text[i..i + digits], radix) {
                Ok(b) if !text[i..i + digits].starts_with(['+', '-']) => Ok(b),
                _ => exec_err!("{function}: '{text}' is no {} text", self.name()),
            })
            .collect()
    }

    /// `bytes` written in this format.
    fn encode(self, function: &str, bytes: &[u8]) -> Result<String> {
        Ok(match self {
            Self::Hex => hex(bytes),
            Self::Binary => bytes.iter().map(|b| format!("{b:08b}")).collect(),
            Self::Utf8 => match std::str::from_utf8(bytes) {
                Ok(text) => text.to_string(),
                Err(_) => return exec_err!("{function}: the bytes {} are no UTF-8", hex(bytes)),
            },
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Hex => "hexadecimal",
            Self::Binary => "binary",
            Self::Utf8 => "UTF-8",
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of row `row` of a VARBYTE argument (a VARCHAR is its UTF-8 bytes).
fn bytes_at(function: &str, array: &ArrayRef, row: usize) -> Result<Option<Vec<u8>>> {
    if array.is_null(row) {
        return Ok(None);
    }
    Ok(match ScalarValue::try_from_array(array, row)? {
        ScalarValue::Binary(b) | ScalarValue::LargeBinary(b) | ScalarValue::BinaryView(b) => b,
        ScalarValue::FixedSizeBinary(_, b) => b,
        ScalarValue::Utf8(s) | ScalarValue::LargeUtf8(s) | ScalarValue::Utf8View(s) => {
            s.map(String::into_bytes)
        }
        ScalarValue::Null => None,
        other => {
            return exec_err!(
                "{function} takes a VARBYTE value, not one of type {}",
                other.data_type()
            )
        }
    })
}

/// The formats of a call's format argument, one a row (`None` for NULL).
fn formats(function: &str, array: &ArrayRef) -> Result<Vec<Option<Format>>> {
    let text = cast(array, &DataType::Utf8)?;
    strings(&text)
        .iter()
        .map(|f| f.map(|f| Format::parse(function, f)).transpose())
        .collect()
}

/// `TO_VARBYTE(string, format)`: the bytes a string writes in `hex`, `binary` or `utf8`.
pub fn to_varbyte() -> ScalarUDF {
    AnyArgsFunction::udf("to_varbyte", 2, 2, DataType::Binary, |a, rows| {
        let text = cast(&a[0], &DataType::Utf8)?;
        let text = strings(&text);
        let mut out = BinaryBuilder::with_capacity(rows, rows);
        for (row, format) in formats("TO_VARBYTE", &a[1])?.into_iter().enumerate() {
            match format {
                Some(f) if text.is_valid(row) => {
                    out.append_value(f.decode("TO_VARBYTE", text.value(row))?);
                }
                _ => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
    })
}

/// `FROM_VARBYTE(varbyte, format)`: the bytes written in `hex`, `binary` or `utf8`.
pub fn from_varbyte() -> ScalarUDF {
    AnyArgsFunction::udf("from_varbyte", 2, 2, DataType::Utf8, |a, rows| {
        let mut out = StringBuilder::with_capacity(rows, rows);
        for (row, format) in formats("FROM_VARBYTE", &a[1])?.into_iter().enumerate() {
            match (format, bytes_at("FROM_VARBYTE", &a[0], row)?) {
                (Some(f), Some(bytes)) => out.append_value(f.encode("FROM_VARBYTE", &bytes)?),
                _ => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
    })
}

/// `TO_HEX(number | varbyte)`: an integer in hexadecimal (a negative one as its 64-bit two's
/// complement), or the bytes of a VARBYTE.
pub fn to_hex() -> ScalarUDF {
    AnyArgsFunction::udf("to_hex", 1, 1, DataType::Utf8, |a, rows| {
        let mut out = StringBuilder::with_capacity(rows, rows);
        let integer = a[0].data_type().is_integer();
        for row in 0..rows {
            if a[0].is_null(row) {
                out.append_null();
            } else if integer {
                let n = cast(&a[0].slice(row, 1), &DataType::Int64)?;
                let n = ScalarValue::try_from_array(&n, 0)?;
                let ScalarValue::Int64(Some(n)) = n else {
                    return exec_err!("TO_HEX: the integer does not fit 64 bits");
                };
                out.append_value(format!("{n:x}"));
            } else {
                match bytes_at("TO_HEX", &a[0], row)? {
                    Some(bytes) => out.append_value(hex(&bytes)),
                    None => out.append_null(),
                }
            }
        }
        Ok(Arc::new(out.finish()))
    })
}

/// `FROM_HEX(string)`: the bytes a hexadecimal string writes.
pub fn from_hex() -> ScalarUDF {
    AnyArgsFunction::udf("from_hex", 1, 1, DataType::Binary, |a, rows| {
        let text = cast(&a[0], &DataType::Utf8)?;
        let mut out = BinaryBuilder::with_capacity(rows, rows);
        for t in strings(&text) {
            match t {
                Some(t) => out.append_value(Format::Hex.decode("FROM_HEX", t)?),
                None => out.append_null(),
            }
        }
        Ok(Arc::new(out.finish()))
    })
}

/// Every function of this module.
pub fn functions() -> Vec<ScalarUDF> {
    vec![to_varbyte(), from_varbyte(), to_hex(), from_hex()]
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn formats_round_trip_and_reject_partial_bytes() {
        for (format, text, bytes) in [
            (Format::Hex, "6162", b"ab".to_vec()),
            (Format::Binary, "0110000101100010", b"ab".to_vec()),
            (Format::Utf8, "ab", b"ab".to_vec()),
        ] {
            assert_eq!(format.decode("T", text).unwrap(), bytes);
            assert_eq!(format.encode("T", &bytes).unwrap(), text);
        }
        for (format, text) in [
            (Format::Hex, "616"),
            (Format::Hex, "6g"),
            (Format::Hex, "+1"),
            (Format::Binary, "0110"),
            (Format::Binary, "01100002"),
        ] {
            assert!(format.decode("T", text).is_err(), "{text}");
        }
        assert!(Format::Utf8.encode("T", &[0xff]).is_err());
        assert!(Format::parse("T", "base32").is_err());
        assert_eq!(Format::parse("T", "UTF-8").unwrap(), Format::Utf8);
    }
}
