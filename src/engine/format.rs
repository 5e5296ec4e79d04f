//! Which file format a Glue table (or partition) uses, decided as Athena does: the SerDe library
//! first, then the InputFormat, then the `classification` table parameter; plus the CSV options
//! (delimiter, quote, escape, header lines) from SerDe and table parameters.

use std::collections::BTreeMap;

use cleanrooms_emulator_api::glue::dto::StorageDescriptor;

/// A table's file format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// Delimited text.
    Csv {
        /// Field delimiter.
        delimiter: u8,
        /// Quote character.
        quote: u8,
        /// Escape character.
        escape: Option<u8>,
        /// Whether the first line is a header to skip.
        header: bool,
    },
    /// Apache Parquet.
    Parquet,
    /// JSON lines.
    Json,
}

fn single_byte(name: &str, value: &str) -> Result<u8, String> {
    let v = match value {
        "\\t" => "\t",
        other => other,
    };
    match v.as_bytes() {
        [b] => Ok(*b),
        _ => match v.parse::<u8>() {
            // Hive writes control characters by code (e.g. field.delim = 1).
            Ok(code) if v.len() > 1 => Ok(code),
            _ => Err(format!("{name} must be a single character, got '{value}'")),
        },
    }
}

/// Decides the format of data described by `sd` in a table with `table_params`.
///
/// # Errors
/// A message naming the setting that cannot be honoured.
pub fn detect(
    table_params: Option<&BTreeMap<String, String>>,
    sd: Option<&StorageDescriptor>,
) -> Result<Format, String> {
    let empty = BTreeMap::new();
    let table_params = table_params.unwrap_or(&empty);
    let serde = sd.and_then(|s| s.serde_info.as_ref());
    let serde_params = serde.and_then(|s| s.parameters.as_ref()).unwrap_or(&empty);
    let library = serde
        .and_then(|s| s.serialization_library.as_deref())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let input_format = sd
        .and_then(|s| s.input_format.as_deref())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let classification = table_params
        .get("classification")
        .or_else(|| {
            sd.and_then(|s| s.parameters.as_ref())
                .and_then(|p| p.get("classification"))
        })
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    let param = |key: &str| serde_params.get(key).or_else(|| table_params.get(key));
    let header_lines = match param("skip.header.line.count") {
        None => 0,
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("skip.header.line.count must be a number, got '{v}'"))?,
    };
    if header_lines > 1 {
        return Err(format!(
            "skip.header.line.count={header_lines} is not supported (0 or 1 header lines)"
        ));
    }
    let csv = |delimiter: u8, quote: u8, escape: Option<u8>| Format::Csv {
        delimiter,
        quote,
        escape,
        header: header_lines == 1,
    };
    if library.contains("parquet") {
        return Ok(Format::Parquet);
    }
    if library.contains("jsonserde") {
        return Ok(Format::Json);
    }
    if library.contains("opencsvserde") {
        let delimiter =
            param("separatorChar").map_or(Ok(b','), |v| single_byte("separatorChar", v))?;
        let quote = param("quoteChar").map_or(Ok(b'"'), |v| single_byte("quoteChar", v))?;
        let escape = param("escapeChar").map_or(Ok(b'\\'), |v| single_byte("escapeChar", v))?;
        return Ok(csv(delimiter, quote, Some(escape)));
    }
    let lazy_delimiter = || -> Result<u8, String> {
        match param("field.delim").or_else(|| param("serialization.format")) {
            Some(v) => single_byte("field.delim", v),
            // Hive's default for LazySimpleSerDe is \001; a table classified csv means commas.
            None if classification == "csv" => Ok(b','),
            None => Ok(1),
        }
    };
    if library.contains("lazysimpleserde") {
        return Ok(csv(lazy_delimiter()?, b'"', None));
    }
    if input_format.contains("parquet") {
        return Ok(Format::Parquet);
    }
    match classification.as_str() {
        "parquet" => Ok(Format::Parquet),
        "json" => Ok(Format::Json),
        "csv" => Ok(csv(lazy_delimiter()?, b'"', None)),
        "" if input_format.contains("textinputformat") => Ok(csv(lazy_delimiter()?, b'"', None)),
        "" => Err("cannot tell the file format: set Parameters.classification (csv, parquet or json) or a SerDe library".into()),
        other => Err(format!("classification '{other}' is not supported (csv, parquet or json)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cleanrooms_emulator_api::glue::dto::SerDeInfo;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn classification_and_header() {
        let t = params(&[("classification", "csv"), ("skip.header.line.count", "1")]);
        assert_eq!(
            detect(Some(&t), None).unwrap(),
            Format::Csv {
                delimiter: b',',
                quote: b'"',
                escape: None,
                header: true
            }
        );
        assert_eq!(
            detect(Some(&params(&[("classification", "parquet")])), None).unwrap(),
            Format::Parquet
        );
        assert!(detect(Some(&params(&[("classification", "avro")])), None).is_err());
        assert!(detect(None, None).is_err());
    }

    #[test]
    fn serde_library_wins() {
        let sd = StorageDescriptor {
            serde_info: Some(SerDeInfo {
                serialization_library: Some(
                    "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe".into(),
                ),
                parameters: Some(params(&[("field.delim", "|")])),
                name: None,
            }),
            ..Default::default()
        };
        let t = params(&[("classification", "parquet")]);
        assert_eq!(
            detect(Some(&t), Some(&sd)).unwrap(),
            Format::Csv {
                delimiter: b'|',
                quote: b'"',
                escape: None,
                header: false
            }
        );
    }
}
