//! Batch-create partitions (spec C.3–C.6) on the Glue Data Catalog: the request is checked as a
//! whole, then the catalog, database and table are looked up, then every partition is checked
//! against the table (one value per partition key) and against what exists. With
//! `if_not_exist=true` existing partitions (and repeats within the request) are skipped; with
//! `false` any of them fails the whole call with 400. Nothing is written unless everything
//! passes; the created partitions are committed at once and returned as a bare JSON array.

use cleanrooms_emulator_api::glue::dto;
use serde_json::{json, Value};

use super::errors::{bad_request, internal, not_found, LfError};
use super::request::{self, BatchCreateRequest, PartitionInput};
use super::Target;
use crate::error::AwsError;
use crate::services::glue::catalog::{create_partitions, CreatePartitionsError, PartitionRefusal};
use crate::services::glue::model::{Catalog, PartitionExtras, StoredPartition, StoredTable};
use crate::state::AppState;
use crate::util::time::format_iso8601;

/// The parameter recording the last DDL time (epoch seconds), added when absent.
pub const LAST_DDL_TIME: &str = "transient_lastDdlTime";

fn store_error(e: AwsError) -> LfError {
    internal(e.message)
}

/// `2023-05-30T09:06:41.372+00:00`
fn iso(epoch: f64) -> String {
    let text = format_iso8601(epoch);
    match text.strip_suffix('Z') {
        Some(stem) => format!("{stem}+00:00"),
        None => text,
    }
}

/// Glue's flat `SkewedColumnValues` entry for one combination of skewed values: each value
/// prefixed by its length and `$` (`["a","bc"]` → `1$a2$bc`), so the list can be split again.
pub fn flatten_skewed_values(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("{}${v}", v.chars().count()))
        .collect()
}

/// The Glue `PartitionInput` (and what Glue cannot hold) of a LakeFormation partition.
fn glue_input(input: &PartitionInput, now: f64) -> (dto::PartitionInput, PartitionExtras) {
    let sd = &input.storage_descriptor;
    let mut parameters = input.parameters.clone();
    parameters
        .entry(LAST_DDL_TIME.to_string())
        .or_insert_with(|| format!("{}", now.floor() as i64));
    let skewed = sd.skewed_info.clone().unwrap_or_default();
    let storage = dto::StorageDescriptor {
        columns: Some(
            sd.columns
                .iter()
                .map(|c| dto::Column {
                    name: c.column_name.clone(),
                    r#type: Some(c.column_type.clone()),
                    comment: c.comment.clone(),
                    parameters: None,
                })
                .collect(),
        ),
        location: sd.location.clone(),
        compressed: Some(sd.compressed),
        input_format: sd.input_format.clone(),
        output_format: sd.output_format.clone(),
        number_of_buckets: Some(sd.number_of_buckets),
        bucket_columns: Some(sd.bucket_columns.clone()),
        sort_columns: Some(
            sd.sort_columns
                .iter()
                .filter_map(|o| {
                    o.column.as_ref().map(|c| dto::Order {
                        column: c.clone(),
                        sort_order: o.sort_order.unwrap_or(1),
                    })
                })
                .collect(),
        ),
        serde_info: Some(dto::SerDeInfo {
            name: sd.serde_info.name.clone(),
            serialization_library: sd.serde_info.serialization_library.clone(),
            parameters: Some(sd.serde_info.parameters.clone()),
        }),
        parameters: Some(sd.parameters.clone()),
        skewed_info: Some(dto::SkewedInfo {
            skewed_column_names: Some(skewed.skewed_column_names.clone()),
            skewed_column_value_location_maps: Some(
                skewed.skewed_column_value_location_maps.clone(),
            ),
            skewed_column_values: Some(
                skewed
                    .skewed_column_values
                    .iter()
                    .map(|v| flatten_skewed_values(v))
                    .collect(),
            ),
        }),
        stored_as_sub_directories: Some(sd.stored_as_sub_directories.unwrap_or(false)),
        additional_locations: None,
        schema_reference: None,
    };
    let extras = PartitionExtras {
        skewed_column_values: skewed.skewed_column_values,
        sort_columns: sd.sort_columns.clone(),
    };
    (
        dto::PartitionInput {
            values: Some(input.partition_values.clone()),
            last_access_time: Some(input.last_access_time),
            last_analyzed_time: None,
            parameters: Some(parameters),
            storage_descriptor: Some(storage),
        },
        extras,
    )
}

/// The response form of a created partition (spec C.4).
fn render(
    target: &Target,
    catalog: Catalog<'_>,
    db_uid: &str,
    table: &StoredTable,
    stored: &StoredPartition,
    input: &PartitionInput,
) -> Value {
    let p = &stored.partition;
    let sd = &input.storage_descriptor;
    let skewed = sd.skewed_info.clone().unwrap_or_default();
    let columns: Vec<Value> = sd
        .columns
        .iter()
        .map(|c| {
            let mut column = json!({"column_type": c.column_type, "column_name": c.column_name});
            if let Some(comment) = &c.comment {
                column["comment"] = json!(comment);
            }
            column
        })
        .collect();
    let sort_columns: Vec<Value> = sd
        .sort_columns
        .iter()
        .map(|o| {
            let mut order = json!({});
            if let Some(c) = &o.column {
                order["column"] = json!(c);
            }
            if let Some(s) = o.sort_order {
                order["sort_order"] = json!(s);
            }
            order
        })
        .collect();
    let mut serde_info = json!({"parameters": sd.serde_info.parameters});
    if let Some(n) = &sd.serde_info.name {
        serde_info["name"] = json!(n);
    }
    if let Some(l) = &sd.serde_info.serialization_library {
        serde_info["serialization_library"] = json!(l);
    }
    let mut storage = json!({
        "columns": columns,
        "compressed": sd.compressed,
        "number_of_buckets": sd.number_of_buckets,
        "bucket_columns": sd.bucket_columns,
        "sort_columns": sort_columns,
        "serde_info": serde_info,
        "parameters": sd.parameters,
        "skewed_info": {
            "skewed_column_names": skewed.skewed_column_names,
            "skewed_column_value_location_maps": skewed.skewed_column_value_location_maps,
            "skewed_column_values": skewed.skewed_column_values,
        },
        "stored_as_sub_directories": sd.stored_as_sub_directories.unwrap_or(false),
    });
    for (key, value) in [
        ("location", &sd.location),
        ("input_format", &sd.input_format),
        ("output_format", &sd.output_format),
    ] {
        if let Some(v) = value {
            storage[key] = json!(v);
        }
    }
    json!({
        "catalog_name": target.catalog_name,
        "catalog_id": catalog.account,
        "database_name": table.database_name(),
        "database_id": db_uid,
        "table_name": table.table.name,
        "table_id": table.uid,
        "partition_id": stored.uid,
        "partition_values": stored.values(),
        "create_time": iso(p.creation_time.unwrap_or_default()),
        "last_access_time": iso(p.last_access_time.unwrap_or_default().floor()),
        "parameters": p.parameters.clone().unwrap_or_default(),
        "storage_descriptor": storage,
    })
}

/// Batch-creates partitions in `target` from `body`; returns the created partitions' JSON.
///
/// # Errors
/// 400 for bad input or (without `if_not_exist`) existing partitions, 404 for an unknown
/// catalog, database or table, 500 when the store fails.
pub async fn batch_create(
    state: &AppState,
    target: &Target,
    body: &[u8],
) -> Result<Value, LfError> {
    let BatchCreateRequest {
        if_not_exist,
        partitions,
    } = request::parse(body)?;
    if !target.catalog_known() {
        return Err(not_found(format!(
            "catalog '{}' not found (the account's Glue Data Catalog is '{}' or '{}')",
            target.catalog_name,
            super::DEFAULT_CATALOG,
            target.account
        )));
    }
    let catalog = Catalog::new(&target.account, &target.region);
    let now = state.now();
    let entries = partitions
        .iter()
        .map(|input| {
            let (glue, extras) = glue_input(input, now);
            (glue, Some(extras))
        })
        .collect();
    let done = create_partitions(
        state,
        catalog,
        &target.database,
        &target.table,
        entries,
        if_not_exist,
    )
    .await
    .map_err(|e| refused(e, target, &partitions))?;
    Ok(Value::Array(
        done.created
            .iter()
            .map(|(i, p)| {
                render(
                    target,
                    catalog,
                    &done.database_uid,
                    &done.table,
                    p,
                    &partitions[*i],
                )
            })
            .collect(),
    ))
}

/// The LakeFormation error of a refused batch creation.
fn refused(e: CreatePartitionsError, target: &Target, partitions: &[PartitionInput]) -> LfError {
    match e {
        CreatePartitionsError::DatabaseNotFound => not_found(format!(
            "database '{}' not found in catalog '{}'",
            target.database, target.catalog_name
        )),
        CreatePartitionsError::TableNotFound { database } => not_found(format!(
            "table '{}' not found in database '{database}'",
            target.table
        )),
        CreatePartitionsError::Entry {
            index,
            table,
            refusal,
        } => {
            let values = &partitions[index].partition_values;
            match refusal {
                PartitionRefusal::Values(e) => bad_request(
                    format!(
                        "partitions[{index}]: {} (table {}.{} has {} partition keys, got values {values:?})",
                        e.message,
                        table.database_name(),
                        table.table.name,
                        table.partition_keys().len(),
                    ),
                    None,
                ),
                PartitionRefusal::Exists | PartitionRefusal::Repeated => bad_request(
                    format!(
                        "partitions[{index}]: partition {values:?} {} table {}.{}",
                        if refusal == PartitionRefusal::Repeated {
                            "appears more than once in the request for"
                        } else {
                            "already exists in"
                        },
                        table.database_name(),
                        table.table.name
                    ),
                    Some("Set if_not_exist to true to skip partitions that already exist"),
                ),
            }
        }
        CreatePartitionsError::Store(e) => store_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skewed_values_flatten_reversibly() {
        assert_eq!(flatten_skewed_values(&["a".into(), "bc".into()]), "1$a2$bc");
        assert_eq!(flatten_skewed_values(&[]), "");
        assert_eq!(flatten_skewed_values(&["1$a".into()]), "3$1$a");
    }

    #[test]
    fn iso_uses_an_explicit_offset() {
        assert_eq!(iso(1_685_437_601.372), "2023-05-30T09:06:41.372+00:00");
    }
}
