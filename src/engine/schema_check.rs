//! Checks that data files match a table's declared schema before a query reads them, so a
//! mismatch fails with a message naming the table, the file and the column (instead of wrong
//! results or an anonymous cast error deep inside execution). Parquet files are checked from
//! their footer; CSV and JSON files by parsing their first rows with the declared schema.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::error::EngineError;
use super::format::Format;

/// Rows of a text file parsed to check it.
const SAMPLE_ROWS: usize = 100;

/// Whether a file column of type `file` can be read as the declared type `declared` without
/// losing meaning (the same type, a widening, or another encoding of the same values).
fn compatible(file: &DataType, declared: &DataType) -> bool {
    use DataType as D;
    if file == declared {
        return true;
    }
    let int_rank = |t: &DataType| match t {
        D::Int8 | D::UInt8 => Some(1),
        D::Int16 | D::UInt16 => Some(2),
        D::Int32 | D::UInt32 => Some(3),
        D::Int64 | D::UInt64 => Some(4),
        _ => None,
    };
    let is_text = |t: &DataType| matches!(t, D::Utf8 | D::LargeUtf8 | D::Utf8View);
    let is_binary = |t: &DataType| {
        matches!(
            t,
            D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_)
        )
    };
    match (file, declared) {
        (D::Dictionary(_, value), _) => compatible(value, declared),
        (f, d) if is_text(f) && is_text(d) => true,
        (f, d) if is_binary(f) && is_binary(d) => true,
        (f, d) if int_rank(f).is_some() && int_rank(d).is_some() => int_rank(f) <= int_rank(d),
        (f, D::Float32 | D::Float64) if int_rank(f).is_some() => true,
        (D::Float16 | D::Float32, D::Float64) => true,
        (
            D::Decimal128(..) | D::Decimal256(..) | D::Decimal32(..) | D::Decimal64(..),
            D::Decimal128(..),
        ) => true,
        (D::Timestamp(..), D::Timestamp(..)) | (D::Date32 | D::Date64, D::Date32) => true,
        (D::List(_) | D::LargeList(_) | D::ListView(_), D::List(_)) => true,
        (D::Struct(_), D::Struct(_)) | (D::Map(..), D::Map(..)) => true,
        _ => false,
    }
}

/// Checks one data file against the declared data columns of `table`.
///
/// # Errors
/// `SchemaMismatch` naming the file and column; `Io` when the file cannot be read.
pub fn check_file(
    table: &str,
    path: &Path,
    format: &Format,
    schema: &SchemaRef,
) -> Result<(), EngineError> {
    let mismatch = |message: String| EngineError::SchemaMismatch {
        table: table.to_string(),
        file: path.display().to_string(),
        message,
    };
    match format {
        Format::Parquet => {
            let file = File::open(path)?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| mismatch(format!("not a readable Parquet file ({e})")))?;
            let file_schema = builder.schema();
            for field in schema.fields() {
                let found = file_schema
                    .fields()
                    .iter()
                    .find(|f| f.name().eq_ignore_ascii_case(field.name()));
                match found {
                    None => {
                        return Err(mismatch(format!(
                            "column '{}' is missing from the file",
                            field.name()
                        )))
                    }
                    Some(f) if !compatible(f.data_type(), field.data_type()) => {
                        return Err(mismatch(format!(
                            "column '{}' is {} in the file but declared as {}",
                            field.name(),
                            f.data_type(),
                            field.data_type()
                        )))
                    }
                    Some(_) => {}
                }
            }
            Ok(())
        }
        Format::Csv {
            delimiter,
            quote,
            escape,
            header,
        } => {
            let mut builder = datafusion::arrow::csv::ReaderBuilder::new(Arc::clone(schema))
                .with_header(*header)
                .with_delimiter(*delimiter)
                .with_quote(*quote)
                .with_batch_size(SAMPLE_ROWS);
            if let Some(e) = escape {
                builder = builder.with_escape(*e);
            }
            let mut reader = builder
                .build(BufReader::new(File::open(path)?))
                .map_err(|e| mismatch(e.to_string()))?;
            match reader.next() {
                Some(Err(e)) => Err(mismatch(describe_column_error(&e.to_string(), schema))),
                _ => Ok(()),
            }
        }
        Format::Json => {
            let mut reader = datafusion::arrow::json::ReaderBuilder::new(Arc::clone(schema))
                .with_batch_size(SAMPLE_ROWS)
                .build(BufReader::new(File::open(path)?))
                .map_err(|e| mismatch(e.to_string()))?;
            match reader.next() {
                Some(Err(e)) => Err(mismatch(describe_column_error(&e.to_string(), schema))),
                _ => Ok(()),
            }
        }
    }
}

/// Arrow's CSV errors name columns by index ("for column 2"); add the column's name.
fn describe_column_error(message: &str, schema: &Schema) -> String {
    let idx = message
        .split("for column ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<usize>().ok());
    match idx.and_then(|i| schema.fields().get(i)) {
        Some(field) => format!("column '{}': {message}", field.name()),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;

    #[test]
    fn widening_is_compatible_narrowing_is_not() {
        assert!(compatible(&DataType::Int32, &DataType::Int64));
        assert!(!compatible(&DataType::Int64, &DataType::Int32));
        assert!(compatible(&DataType::Utf8View, &DataType::Utf8));
        assert!(!compatible(&DataType::Utf8, &DataType::Int64));
        assert!(!compatible(&DataType::Int64, &DataType::Utf8));
    }

    #[test]
    fn csv_type_errors_name_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "id,amount\n1,10\n2,abc\n").unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("amount", DataType::Int64, true),
        ]));
        let fmt = Format::Csv {
            delimiter: b',',
            quote: b'"',
            escape: None,
            header: true,
        };
        let err = check_file("db.t", &path, &fmt, &schema)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("db.t") && err.contains("x.csv") && err.contains("amount"),
            "{err}"
        );
    }
}
