//! Makes a query result storable as a Delta Lake table: checks the column names and, when needed,
//! adds a projection that casts Arrow types Delta Lake has no exact equivalent for to types that
//! hold the same values.
//!
//! | query produces                                   | stored as                          |
//! |--------------------------------------------------|------------------------------------|
//! | `Utf8View`, `LargeUtf8`                          | `Utf8` (Delta `string`)            |
//! | `BinaryView`, `LargeBinary`, `FixedSizeBinary`   | `Binary`                           |
//! | `UInt8` / `UInt16` / `UInt32`                    | `Int16` / `Int32` / `Int64`        |
//! | `UInt64`                                         | `Decimal128(20, 0)`                |
//! | `Float16`                                        | `Float32`                          |
//! | `Date64`                                         | `Date32`                           |
//! | `Timestamp(any unit, None)`                      | `Timestamp(µs, None)` (`timestamp_ntz`) |
//! | `Timestamp(any unit, Some(any zone))`            | `Timestamp(µs, "UTC")` (same instant) |
//! | `Decimal32/64`, `Decimal256` up to 38 digits, negative scales | `Decimal128`          |
//! | `Time32/64`, `Duration`, `Interval`, `Null`      | `Utf8` (the value as text; all-null for `Null`) |
//! | `Dictionary`, `RunEndEncoded`                    | their value type                   |
//! | `LargeList`, `FixedSizeList`, list views         | `List` (elements converted likewise) |
//! | `Struct`, `Map`                                  | fields converted likewise          |
//!
//! Readers get Delta strings and binaries back as `Utf8View` / `BinaryView` (the Delta scan's
//! choice), whatever the query produced.
//!
//! `Union` and decimals wider than 38 digits are refused. Column names are kept as the query
//! produced them (`count(*)`, names with spaces…); they must be non-empty, without line breaks,
//! and unique ignoring case (Delta Lake resolves names case-insensitively). delta-rs reads such
//! names fine; Spark would need column mapping for the ones with Parquet-special characters.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, TimeUnit};
use datafusion::common::Column;
use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};

use super::table_id::TableId;
use super::StorageError;

/// Widest decimal Delta Lake stores.
const MAX_DECIMAL_PRECISION: u8 = 38;

/// `plan`, checked and (when a column needs it) projected to Delta-storable types.
pub(crate) fn storable_plan(
    table_id: &TableId,
    plan: LogicalPlan,
) -> Result<LogicalPlan, StorageError> {
    let unsupported = |column: &str, reason: String| StorageError::UnsupportedColumn {
        table_id: table_id.to_string(),
        column: column.to_string(),
        reason,
    };
    let schema = plan.schema().clone();
    if schema.fields().is_empty() {
        return Err(StorageError::NoColumns {
            table_id: table_id.to_string(),
        });
    }
    check_names(schema.fields().iter().map(|f| f.as_ref()), "")
        .map_err(|(column, reason)| unsupported(&column, reason))?;

    let mut changed = false;
    let mut projection = Vec::with_capacity(schema.fields().len());
    for (qualifier, field) in schema.iter() {
        let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
        match storable_type(field.data_type())
            .map_err(|reason| unsupported(field.name(), reason))?
        {
            Some(target) => {
                changed = true;
                projection.push(cast(column, target).alias(field.name()));
            }
            None => projection.push(column.alias(field.name())),
        }
    }
    if !changed {
        return Ok(plan);
    }
    LogicalPlanBuilder::from(plan)
        .project(projection)
        .and_then(LogicalPlanBuilder::build)
        .map_err(|e| StorageError::datafusion(table_id.as_str(), e))
}

/// Checks that names at one struct level are non-empty and unique ignoring case, recursing into
/// nested structs. Errors name the dotted path of the offending column.
fn check_names<'a>(
    fields: impl Iterator<Item = &'a Field>,
    prefix: &str,
) -> Result<(), (String, String)> {
    let mut seen = HashSet::new();
    for field in fields {
        let path = format!("{prefix}{}", field.name());
        if field.name().is_empty() {
            return Err((path, "column names must not be empty".into()));
        }
        if field.name().contains('\n') {
            return Err((path, "column names must not contain line breaks".into()));
        }
        if !seen.insert(field.name().to_lowercase()) {
            return Err((
                path,
                "the result has two columns with this name (names are compared ignoring case); \
                 give them distinct aliases"
                    .into(),
            ));
        }
        check_nested_names(field.data_type(), &format!("{path}."))?;
    }
    Ok(())
}

/// Recurses into the structs nested (possibly inside lists and maps) in `data_type`.
fn check_nested_names(data_type: &DataType, prefix: &str) -> Result<(), (String, String)> {
    match data_type {
        DataType::Struct(fields) => check_names(fields.iter().map(|f| f.as_ref()), prefix),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::Map(f, _) => check_nested_names(f.data_type(), prefix),
        DataType::Dictionary(_, value) => check_nested_names(value, prefix),
        DataType::RunEndEncoded(_, value) => check_nested_names(value.data_type(), prefix),
        _ => Ok(()),
    }
}

/// The type `data_type` is stored as, or `None` when it is stored unchanged.
fn storable_type(data_type: &DataType) -> Result<Option<DataType>, String> {
    use DataType as T;
    let target = match data_type {
        T::Boolean
        | T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::Float32
        | T::Float64
        | T::Utf8
        | T::Binary
        | T::Date32 => return Ok(None),
        T::UInt8 => T::Int16,
        T::UInt16 => T::Int32,
        T::UInt32 => T::Int64,
        T::UInt64 => T::Decimal128(20, 0),
        T::Float16 => T::Float32,
        T::Utf8View | T::LargeUtf8 => T::Utf8,
        T::BinaryView | T::LargeBinary | T::FixedSizeBinary(_) => T::Binary,
        T::Date64 => T::Date32,
        T::Timestamp(_, zone) => T::Timestamp(
            TimeUnit::Microsecond,
            zone.as_ref().map(|_| Arc::<str>::from("UTC")),
        ),
        T::Null | T::Time32(_) | T::Time64(_) | T::Duration(_) | T::Interval(_) => T::Utf8,
        T::Decimal32(p, s) | T::Decimal64(p, s) | T::Decimal128(p, s) | T::Decimal256(p, s) => {
            decimal(*p, *s)?
        }
        T::List(element)
        | T::LargeList(element)
        | T::FixedSizeList(element, _)
        | T::ListView(element)
        | T::LargeListView(element) => T::List(storable_field(element)?),
        T::Struct(fields) => T::Struct(
            fields
                .iter()
                .map(storable_field)
                .collect::<Result<Fields, _>>()?,
        ),
        T::Map(entries, sorted) => T::Map(storable_field(entries)?, *sorted),
        T::Dictionary(_, value) => storable_type(value)?.unwrap_or_else(|| value.as_ref().clone()),
        T::RunEndEncoded(_, value) => {
            storable_type(value.data_type())?.unwrap_or_else(|| value.data_type().clone())
        }
        T::Union(..) => return Err("union values have no Delta Lake equivalent".into()),
    };
    Ok((&target != data_type).then_some(target))
}

/// `field` with its type made storable.
fn storable_field(field: &FieldRef) -> Result<FieldRef, String> {
    Ok(match storable_type(field.data_type())? {
        Some(target) => Arc::new(field.as_ref().clone().with_data_type(target)),
        None => field.clone(),
    })
}

/// The `Decimal128` holding every value of a decimal with precision `p` and scale `s`.
fn decimal(precision: u8, scale: i8) -> Result<DataType, String> {
    let (precision, scale) = if scale < 0 {
        // 123 with scale -2 is 12300: store it with scale 0 and enough digits.
        (u16::from(precision) + u16::from(scale.unsigned_abs()), 0u8)
    } else {
        // A scale above the precision (0.00123 as (3, 5)) needs `scale` digits.
        let scale = scale.unsigned_abs();
        (u16::from(precision.max(scale)), scale)
    };
    if precision > u16::from(MAX_DECIMAL_PRECISION) {
        return Err(format!(
            "decimals are stored with at most {MAX_DECIMAL_PRECISION} digits; this one needs \
             {precision} (cast it to a narrower DECIMAL or to DOUBLE)"
        ));
    }
    // `precision` ≤ 38 and `scale` ≤ `precision`, so both fit the target types.
    Ok(DataType::Decimal128(precision as u8, scale as i8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_types_without_a_delta_equivalent() {
        let utc = Some(Arc::<str>::from("UTC"));
        let cases = [
            (DataType::UInt64, Some(DataType::Decimal128(20, 0))),
            (DataType::UInt32, Some(DataType::Int64)),
            (DataType::Utf8View, Some(DataType::Utf8)),
            (DataType::Utf8, None),
            (DataType::Decimal128(10, 2), None),
            (
                DataType::Decimal128(5, -3),
                Some(DataType::Decimal128(8, 0)),
            ),
            (DataType::Decimal128(3, 5), Some(DataType::Decimal128(5, 5))),
            (
                DataType::Decimal256(38, 4),
                Some(DataType::Decimal128(38, 4)),
            ),
            (
                DataType::Timestamp(TimeUnit::Nanosecond, Some("+02:00".into())),
                Some(DataType::Timestamp(TimeUnit::Microsecond, utc.clone())),
            ),
            (DataType::Timestamp(TimeUnit::Microsecond, utc), None),
            (
                DataType::Timestamp(TimeUnit::Second, None),
                Some(DataType::Timestamp(TimeUnit::Microsecond, None)),
            ),
            (
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                Some(DataType::Utf8),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(storable_type(&input), Ok(expected), "{input}");
        }
        assert!(storable_type(&DataType::Decimal256(50, 0)).is_err());
    }

    #[test]
    fn maps_nested_types() {
        let list = DataType::LargeList(Arc::new(Field::new("item", DataType::UInt8, true)));
        assert_eq!(
            storable_type(&list),
            Ok(Some(DataType::List(Arc::new(Field::new(
                "item",
                DataType::Int16,
                true
            )))))
        );
        let fields = Fields::from(vec![Field::new("a", DataType::Int32, true)]);
        assert_eq!(storable_type(&DataType::Struct(fields)), Ok(None));
    }

    #[test]
    fn refuses_duplicate_and_empty_names() {
        let dup = [
            Field::new("id", DataType::Int32, true),
            Field::new("ID", DataType::Int32, true),
        ];
        assert_eq!(check_names(dup.iter(), "").unwrap_err().0, "ID");
        let nested = [Field::new(
            "s",
            DataType::Struct(Fields::from(vec![Field::new("", DataType::Int32, true)])),
            true,
        )];
        assert_eq!(check_names(nested.iter(), "").unwrap_err().0, "s.");
    }
}
