//! DataFusion tables from Glue table definitions.
//!
//! An unpartitioned table is a `ListingTable` over the data files under its location. A
//! partitioned table is a view: one scan per registered partition (over that partition's own
//! location and format), each extended with its partition values as typed literal columns, all
//! combined with `UNION ALL`. A predicate on partition keys then folds to `false` on the
//! partitions it excludes and the optimizer removes those branches, so their files are never
//! listed or read — partition pruning falls out of DataFusion's own plan rewriting. A partition
//! registered without a location of its own is read from Hive's layout under the table location
//! (`<location>/<key>=<value>/…`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cleanrooms_emulator_api::glue::dto::{Column, Partition, StorageDescriptor, Table};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::{provider_as_source, ViewTable};
use datafusion::logical_expr::{ident, lit, LogicalPlanBuilder};

use super::error::EngineError;
use super::format::{self, Format};
use super::{hive_types, location, schema_check};

/// Hive's name for a NULL partition value.
const HIVE_DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

fn fields(table: &str, columns: &[Column], what: &str) -> Result<Vec<Field>, EngineError> {
    columns
        .iter()
        .map(|c| {
            let t = c.r#type.as_deref().unwrap_or("string");
            let data_type = hive_types::parse(t)
                .map_err(|e| EngineError::definition(table, format!("{what} '{}': {e}", c.name)))?;
            Ok(Field::new(c.name.to_ascii_lowercase(), data_type, true))
        })
        .collect()
}

fn url_for(path: &Path) -> Result<ListingTableUrl, EngineError> {
    let url = url::Url::from_file_path(path).map_err(|()| {
        EngineError::definition("-", format!("{} is not an absolute path", path.display()))
    })?;
    Ok(ListingTableUrl::parse(url.as_str())?)
}

/// A listing table over exactly `files`, read as `format` with the declared `schema`.
fn listing(
    files: &[PathBuf],
    format: &Format,
    schema: &SchemaRef,
) -> Result<Arc<dyn TableProvider>, EngineError> {
    if files.is_empty() {
        return Ok(Arc::new(EmptyTable::new(Arc::clone(schema))));
    }
    let file_format: Arc<dyn FileFormat> = match format {
        Format::Csv {
            delimiter,
            quote,
            escape,
            header,
        } => Arc::new(
            CsvFormat::default()
                .with_has_header(*header)
                .with_delimiter(*delimiter)
                .with_quote(*quote)
                .with_escape(*escape),
        ),
        Format::Parquet => Arc::new(ParquetFormat::default()),
        Format::Json => Arc::new(JsonFormat::default()),
    };
    let urls = files
        .iter()
        .map(|f| url_for(f))
        .collect::<Result<Vec<_>, _>>()?;
    let options = ListingOptions::new(file_format).with_file_extension("");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(Arc::clone(schema));
    Ok(Arc::new(ListingTable::try_new(config)?))
}

/// The schema a listing reads `format` files with: Parquet strings are read as `Utf8View` (what
/// DataFusion's Parquet reader produces), so scans need no conversion to `Utf8`.
fn read_schema(format: &Format, declared: &SchemaRef) -> SchemaRef {
    if !matches!(format, Format::Parquet) {
        return Arc::clone(declared);
    }
    let fields: Vec<Field> = declared
        .fields()
        .iter()
        .map(|f| {
            if f.data_type() == &DataType::Utf8 {
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            } else {
                f.as_ref().clone()
            }
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Files of one location, checked against the declared schema.
fn checked_files(
    name: &str,
    data_dir: &Path,
    sd: Option<&StorageDescriptor>,
    format: &Format,
    schema: &SchemaRef,
    what: &str,
) -> Result<Vec<PathBuf>, EngineError> {
    let location = sd
        .and_then(|s| s.location.as_deref())
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            EngineError::definition(name, format!("{what} has no StorageDescriptor.Location"))
        })?;
    let path =
        location::resolve(data_dir, location).map_err(|e| EngineError::definition(name, e))?;
    let files = location::data_files(&path)?;
    for f in &files {
        schema_check::check_file(name, f, format, schema)?;
    }
    Ok(files)
}

/// Builds the DataFusion table for a Glue table and its registered partitions.
///
/// # Errors
/// `Definition` for unusable definitions (location, format, types, partition values),
/// `SchemaMismatch` for files that do not match the declared columns.
pub fn build(
    data_dir: &Path,
    table: &Table,
    partitions: &[Partition],
) -> Result<Arc<dyn TableProvider>, EngineError> {
    let name = format!(
        "{}.{}",
        table.database_name.as_deref().unwrap_or("default"),
        table.name
    );
    let sd = table.storage_descriptor.as_ref();
    let data_fields = fields(
        &name,
        sd.and_then(|s| s.columns.as_deref()).unwrap_or_default(),
        "column",
    )?;
    let key_fields = fields(
        &name,
        table.partition_keys.as_deref().unwrap_or_default(),
        "partition key",
    )?;
    if data_fields.is_empty() {
        return Err(EngineError::definition(
            &name,
            "the table declares no columns",
        ));
    }
    let data_schema: SchemaRef = Arc::new(Schema::new(data_fields.clone()));
    let table_format = || {
        format::detect(table.parameters.as_ref(), sd).map_err(|e| EngineError::definition(&name, e))
    };

    if key_fields.is_empty() {
        let fmt = table_format()?;
        let files = checked_files(&name, data_dir, sd, &fmt, &data_schema, "the table")?;
        return listing(&files, &fmt, &read_schema(&fmt, &data_schema));
    }

    let full_schema: SchemaRef = Arc::new(Schema::new(
        data_fields
            .iter()
            .chain(key_fields.iter())
            .cloned()
            .collect::<Vec<_>>(),
    ));
    if partitions.is_empty() {
        return Ok(Arc::new(EmptyTable::new(full_schema)));
    }
    let mut plan: Option<LogicalPlanBuilder> = None;
    for (i, partition) in partitions.iter().enumerate() {
        let values = partition.values.as_deref().unwrap_or_default();
        let what = format!("partition {values:?}");
        if values.len() != key_fields.len() {
            return Err(EngineError::definition(
                &name,
                format!(
                    "{what} has {} values for {} partition keys",
                    values.len(),
                    key_fields.len()
                ),
            ));
        }
        let has_location =
            |s: &&StorageDescriptor| s.location.as_deref().is_some_and(|l| !l.trim().is_empty());
        let hive_layout;
        let part_sd = match partition.storage_descriptor.as_ref().filter(has_location) {
            Some(s) => Some(s),
            None => {
                // No location of its own: Hive's layout under the table location.
                let mut location = sd
                    .and_then(|s| s.location.clone())
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string();
                for (field, value) in key_fields.iter().zip(values) {
                    location.push_str(&format!("/{}={value}", field.name()));
                }
                hive_layout = StorageDescriptor {
                    location: Some(format!("{location}/")),
                    ..partition
                        .storage_descriptor
                        .clone()
                        .or_else(|| sd.cloned())
                        .unwrap_or_default()
                };
                Some(&hive_layout)
            }
        };
        let fmt = format::detect(table.parameters.as_ref(), part_sd)
            .map_err(|e| EngineError::definition(&name, format!("{what}: {e}")))?;
        let files = checked_files(&name, data_dir, part_sd, &fmt, &data_schema, &what)?;
        let provider = listing(&files, &fmt, &data_schema)?;
        let mut exprs: Vec<_> = data_fields.iter().map(|f| ident(f.name())).collect();
        for (field, value) in key_fields.iter().zip(values) {
            let scalar = if value == HIVE_DEFAULT_PARTITION {
                ScalarValue::try_from(field.data_type())?
            } else {
                ScalarValue::try_from_string(value.clone(), field.data_type()).map_err(|_| {
                    EngineError::definition(
                        &name,
                        format!(
                            "{what}: value '{value}' of partition key '{}' is not a valid {}",
                            field.name(),
                            field.data_type()
                        ),
                    )
                })?
            };
            exprs.push(lit(scalar).alias(field.name()));
        }
        let branch = LogicalPlanBuilder::scan(
            format!("{}__partition_{i}", table.name),
            provider_as_source(provider),
            None,
        )?
        .project(exprs)?
        .build()?;
        plan = Some(match plan {
            None => LogicalPlanBuilder::from(branch),
            Some(b) => b.union(branch)?,
        });
    }
    let plan = plan
        .ok_or_else(|| EngineError::definition(&name, "no partitions"))?
        .build()?;
    Ok(Arc::new(ViewTable::new(plan, None)))
}

/// The Arrow type a Glue partition key or column type maps to (for callers that describe schemas).
///
/// # Errors
/// For types the engine does not support.
pub fn arrow_type(glue_type: &str) -> Result<DataType, String> {
    hive_types::parse(glue_type)
}
