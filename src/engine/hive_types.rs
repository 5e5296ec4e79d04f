//! Glue / Hive column types → Arrow data types.
//!
//! | Glue type | Arrow type |
//! | --- | --- |
//! | `string`, `varchar(n)`, `char(n)` | `Utf8` |
//! | `tinyint` / `smallint` / `int`, `integer` / `bigint` | `Int8` / `Int16` / `Int32` / `Int64` |
//! | `float` / `double` | `Float32` / `Float64` |
//! | `decimal(p,s)` (`decimal` = `decimal(10,0)`) | `Decimal128(p, s)` |
//! | `boolean` | `Boolean` |
//! | `date` | `Date32` |
//! | `timestamp` | `Timestamp(Microsecond, None)` |
//! | `binary` | `Binary` |
//! | `array<T>` | `List(T)` |
//! | `map<K,V>` | `Map(K, V)` |
//! | `struct<a:T,…>` | `Struct(a: T, …)` |

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};

/// Parses a Glue type string; the error says what could not be understood.
///
/// # Errors
/// For unknown or malformed types.
pub fn parse(text: &str) -> Result<DataType, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let t = p
        .parse_type()
        .map_err(|e| format!("unsupported Glue column type '{text}': {e}"))?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!(
            "unsupported Glue column type '{text}': unexpected text at position {}",
            p.i
        ));
    }
    Ok(t)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn word(&mut self) -> String {
        self.skip_ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).to_ascii_lowercase()
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at position {}", c as char, self.i))
        }
    }

    fn number(&mut self) -> Result<u32, String> {
        let w = self.word();
        w.parse()
            .map_err(|_| format!("expected a number, found '{w}'"))
    }

    fn field_name(&mut self) -> Result<String, String> {
        self.skip_ws();
        if self.eat(b'`') {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b'`' {
                self.i += 1;
            }
            let name = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
            self.expect(b'`')?;
            return Ok(name);
        }
        let name = self.word();
        if name.is_empty() {
            Err(format!("expected a field name at position {}", self.i))
        } else {
            Ok(name)
        }
    }

    fn parse_type(&mut self) -> Result<DataType, String> {
        let name = self.word();
        Ok(match name.as_str() {
            "string" => DataType::Utf8,
            "varchar" | "char" => {
                if self.eat(b'(') {
                    self.number()?;
                    self.expect(b')')?;
                }
                DataType::Utf8
            }
            "tinyint" => DataType::Int8,
            "smallint" => DataType::Int16,
            "int" | "integer" => DataType::Int32,
            "bigint" | "long" => DataType::Int64,
            "float" | "real" => DataType::Float32,
            "double" => DataType::Float64,
            "boolean" => DataType::Boolean,
            "date" => DataType::Date32,
            "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
            "binary" => DataType::Binary,
            "decimal" | "numeric" => {
                let (p, s) = if self.eat(b'(') {
                    let p = self.number()?;
                    let s = if self.eat(b',') { self.number()? } else { 0 };
                    self.expect(b')')?;
                    (p, s)
                } else {
                    (10, 0)
                };
                if p == 0 || p > 38 || s > p {
                    return Err(format!(
                        "decimal({p},{s}) is out of range (precision 1..38, scale ≤ precision)"
                    ));
                }
                DataType::Decimal128(p as u8, s as i8)
            }
            "array" => {
                self.expect(b'<')?;
                let item = self.parse_type()?;
                self.expect(b'>')?;
                DataType::List(Arc::new(Field::new("item", item, true)))
            }
            "map" => {
                self.expect(b'<')?;
                let key = self.parse_type()?;
                self.expect(b',')?;
                let value = self.parse_type()?;
                self.expect(b'>')?;
                let entries = Field::new(
                    "entries",
                    DataType::Struct(Fields::from(vec![
                        Field::new("key", key, false),
                        Field::new("value", value, true),
                    ])),
                    false,
                );
                DataType::Map(Arc::new(entries), false)
            }
            "struct" => {
                self.expect(b'<')?;
                let mut fields = Vec::new();
                if !self.eat(b'>') {
                    loop {
                        let name = self.field_name()?;
                        self.expect(b':')?;
                        let t = self.parse_type()?;
                        fields.push(Field::new(name, t, true));
                        if self.eat(b'>') {
                            break;
                        }
                        self.expect(b',')?;
                    }
                }
                DataType::Struct(Fields::from(fields))
            }
            "" => return Err(format!("expected a type at position {}", self.i)),
            other => return Err(format!("unknown type '{other}'")),
        })
    }
}

/// The Glue/Hive type name of an Arrow type, as Clean Rooms reports columns of analysis
/// outputs (`string`, `bigint`, `decimal(10,2)`, `array<int>`, …).
pub fn to_hive(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 | DataType::UInt8 => "smallint".into(),
        DataType::Int32 | DataType::UInt16 => "int".into(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint".into(),
        DataType::Float16 | DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "binary".into(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => format!("array<{}>", to_hive(f.data_type())),
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), to_hive(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => format!(
                "map<{},{}>",
                to_hive(kv[0].data_type()),
                to_hive(kv[1].data_type())
            ),
            _ => "string".into(),
        },
        DataType::Dictionary(_, value) => to_hive(value),
        _ => "string".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives() {
        assert_eq!(parse("string").unwrap(), DataType::Utf8);
        assert_eq!(parse("VARCHAR(20)").unwrap(), DataType::Utf8);
        assert_eq!(parse("bigint").unwrap(), DataType::Int64);
        assert_eq!(parse("decimal(12,2)").unwrap(), DataType::Decimal128(12, 2));
        assert_eq!(parse("decimal").unwrap(), DataType::Decimal128(10, 0));
        assert_eq!(
            parse("timestamp").unwrap(),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
    }

    #[test]
    fn nested() {
        let t = parse("struct<a:int, b:array<string>, `c d`:map<string,double>>").unwrap();
        let DataType::Struct(fields) = t else {
            panic!()
        };
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[2].name(), "c d");
        assert!(matches!(fields[1].data_type(), DataType::List(_)));
    }

    #[test]
    fn errors_say_what() {
        assert!(parse("uuid").unwrap_err().contains("unknown type 'uuid'"));
        assert!(parse("decimal(40,2)").unwrap_err().contains("out of range"));
        assert!(parse("array<int").is_err());
    }
}
