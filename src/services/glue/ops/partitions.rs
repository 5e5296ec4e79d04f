//! Partitions: CreatePartition, BatchCreatePartition, GetPartition, GetPartitions,
//! BatchGetPartition, UpdatePartition, DeletePartition, BatchDeletePartition (spec B.4, B.5).
//!
//! A partition is identified by its ordered `Values`, one per partition key of its table. It
//! keeps its own `StorageDescriptor` (none when created without one); nothing is inherited from
//! the table on read. Batch operations are not atomic per entry: failing entries are reported in
//! `Errors` (with the exception name as `ErrorCode`) while the others are applied, all in one
//! commit; only a missing database or table fails the whole call. `Errors` is `[]` when every
//! entry succeeded.

use std::collections::HashSet;

use cleanrooms_emulator_api::glue::dto;
use cleanrooms_emulator_api::RequestContext;

use super::{catalog, page_size};
use crate::error::{AwsError, AwsResult};
use crate::services::glue::errors::{
    bad_token, invalid_input, partition_exists, partition_not_found, value_count_mismatch,
};
use crate::services::glue::expression;
use crate::services::glue::model::{kinds, new_uid, Catalog, StoredPartition, StoredTable};
use crate::services::glue::repo;
use crate::state::AppState;
use crate::store::Write;
use crate::util::pagination;

/// Partitions per page when `MaxResults` is absent.
const DEFAULT_PAGE: usize = 1000;

/// Partitions read from the store at a time while filtering a page.
const SCAN_CHUNK: usize = 256;

/// Checks that `values` identify a partition of `table` (one value per partition key).
///
/// # Errors
/// `InvalidInputException` for an unpartitioned table or a wrong number of values.
pub fn check_values(table: &StoredTable, values: &[String]) -> AwsResult<()> {
    if table.partition_keys().is_empty() {
        return Err(invalid_input(format!(
            "Table {} is not partitioned (it has no PartitionKeys), so it cannot have partitions",
            table.table.name
        )));
    }
    if values.len() != table.partition_keys().len() {
        return Err(value_count_mismatch());
    }
    Ok(())
}

/// A new partition of `table` from `input`, created at `now`.
///
/// # Errors
/// As [`check_values`].
pub fn new_partition(
    catalog: Catalog<'_>,
    table: &StoredTable,
    input: dto::PartitionInput,
    now: f64,
) -> AwsResult<StoredPartition> {
    let values = input.values.unwrap_or_default();
    check_values(table, &values)?;
    Ok(StoredPartition {
        partition: dto::Partition {
            values: Some(values),
            database_name: Some(table.database_name().to_string()),
            table_name: Some(table.table.name.clone()),
            catalog_id: Some(catalog.account.to_string()),
            creation_time: Some(now),
            last_access_time: input.last_access_time,
            last_analyzed_time: input.last_analyzed_time,
            parameters: input.parameters,
            storage_descriptor: input.storage_descriptor,
        },
        uid: new_uid(),
        lakeformation: None,
    })
}

/// The `Put` of a partition of `table`.
///
/// # Errors
/// When the partition cannot be encoded.
pub fn put_partition(
    catalog: Catalog<'_>,
    table: &StoredTable,
    partition: &StoredPartition,
) -> AwsResult<Write> {
    let db = table.database_name();
    repo::put(
        catalog,
        kinds::PARTITION,
        &catalog.partition_id(db, &table.table.name, partition.values()),
        Some(&catalog.table_id(db, &table.table.name)),
        partition,
    )
}

/// A `PartitionError` entry for `values`.
fn partition_error(values: Vec<String>, err: AwsError) -> dto::PartitionError {
    dto::PartitionError {
        partition_values: Some(values),
        error_detail: Some(dto::ErrorDetail {
            error_code: Some(err.code),
            error_message: Some(err.message),
        }),
    }
}

/// CreatePartition.
pub async fn create_partition(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreatePartitionRequest,
) -> AwsResult<dto::CreatePartitionResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let _guard = state.write_lock().await;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    let partition = new_partition(catalog, &table, input.partition_input, state.now())?;
    if repo::find_partition(state, catalog, &table, partition.values())
        .await?
        .is_some()
    {
        return Err(partition_exists());
    }
    let write = put_partition(catalog, &table, &partition)?;
    state.store().commit(vec![write]).await?;
    Ok(dto::CreatePartitionResponse {})
}

/// BatchCreatePartition: creates every valid new partition; existing ones (or repeats within the
/// request) are `AlreadyExistsException` entries, wrong value counts `InvalidInputException`.
pub async fn batch_create_partition(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::BatchCreatePartitionRequest,
) -> AwsResult<dto::BatchCreatePartitionResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let _guard = state.write_lock().await;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    let now = state.now();
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    let mut writes = Vec::new();
    let mut errors = Vec::new();
    for partition_input in input.partition_input_list {
        let values = partition_input.values.clone().unwrap_or_default();
        let partition = match new_partition(catalog, &table, partition_input, now) {
            Ok(p) => p,
            Err(e) => {
                errors.push(partition_error(values, e));
                continue;
            }
        };
        let exists = seen.contains(&values)
            || repo::find_partition(state, catalog, &table, &values)
                .await?
                .is_some();
        if exists {
            errors.push(partition_error(values, partition_exists()));
            continue;
        }
        writes.push(put_partition(catalog, &table, &partition)?);
        seen.insert(values);
    }
    if !writes.is_empty() {
        state.store().commit(writes).await?;
    }
    Ok(dto::BatchCreatePartitionResponse {
        errors: Some(errors),
    })
}

/// GetPartition.
pub async fn get_partition(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetPartitionRequest,
) -> AwsResult<dto::GetPartitionResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    let stored = repo::find_partition(state, catalog, &table, &input.partition_values)
        .await?
        .ok_or_else(partition_not_found)?;
    Ok(dto::GetPartitionResponse {
        partition: Some(stored.partition),
    })
}

/// A partition as listed: without its columns when `ExcludeColumnSchema` is set.
fn listed(mut partition: dto::Partition, exclude_columns: bool) -> dto::Partition {
    if exclude_columns {
        if let Some(sd) = partition.storage_descriptor.as_mut() {
            sd.columns = None;
        }
    }
    partition
}

/// GetPartitions: the partitions of a table in creation order that pass `Expression` (typed by
/// the partition keys' declared types) and belong to `Segment`, paginated.
pub async fn get_partitions(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetPartitionsRequest,
) -> AwsResult<dto::GetPartitionsResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    if input.transaction_id.is_some() && input.query_as_of_time.is_some() {
        return Err(invalid_input(
            "TransactionId and QueryAsOfTime cannot be specified together",
        ));
    }
    let segment = match &input.segment {
        Some(s) if s.segment_number >= s.total_segments => {
            return Err(invalid_input(format!(
                "SegmentNumber {} must be less than TotalSegments {}",
                s.segment_number, s.total_segments
            )));
        }
        Some(s) => Some((
            i64::from(s.segment_number),
            i64::from(s.total_segments.max(1)),
        )),
        None => None,
    };
    let expression = input.expression.as_deref().unwrap_or_default();
    let filter = expression::compile(expression, table.partition_keys())?;
    let scope = format!(
        "glue.partitions:{}:{}:{}:{expression}:{segment:?}",
        catalog.account,
        catalog.region,
        catalog.table_id(table.database_name(), &table.table.name)
    );
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let limit = page_size(input.max_results, DEFAULT_PAGE);
    let exclude_columns = input.exclude_column_schema.unwrap_or(false);
    let mut items = Vec::new();
    let mut cursor = after;
    let chunk = (limit + 1).max(SCAN_CHUNK);
    'scan: loop {
        let batch = repo::partitions(state, catalog, &table, cursor, Some(chunk)).await?;
        let exhausted = batch.len() < chunk;
        for (seq, stored) in batch {
            cursor = Some(seq);
            if segment.is_some_and(|(number, total)| seq.rem_euclid(total) != number) {
                continue;
            }
            if let Some(f) = &filter {
                if !f.matches(stored.values())? {
                    continue;
                }
            }
            items.push((seq, listed(stored.partition, exclude_columns)));
            if items.len() > limit {
                break 'scan;
            }
        }
        if exhausted {
            break;
        }
    }
    let (partitions, next_token) = pagination::page(&scope, items, limit);
    Ok(dto::GetPartitionsResponse {
        partitions: Some(partitions),
        next_token,
    })
}

/// BatchGetPartition: the requested partitions that exist, in request order; missing ones are
/// left out.
pub async fn batch_get_partition(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::BatchGetPartitionRequest,
) -> AwsResult<dto::BatchGetPartitionResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    let mut seen = HashSet::new();
    let mut partitions = Vec::new();
    for wanted in input.partitions_to_get {
        if !seen.insert(wanted.values.clone()) {
            continue;
        }
        if let Some(stored) = repo::find_partition(state, catalog, &table, &wanted.values).await? {
            partitions.push(stored.partition);
        }
    }
    Ok(dto::BatchGetPartitionResponse {
        partitions: Some(partitions),
        unprocessed_keys: Some(Vec::new()),
    })
}

/// UpdatePartition: replaces the partition's definition (storage descriptor, parameters, access
/// times); its values cannot change (delete and recreate instead).
pub async fn update_partition(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdatePartitionRequest,
) -> AwsResult<dto::UpdatePartitionResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let _guard = state.write_lock().await;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    let mut stored = repo::find_partition(state, catalog, &table, &input.partition_value_list)
        .await?
        .ok_or_else(partition_not_found)?;
    let new_input = input.partition_input;
    if let Some(values) = &new_input.values {
        if *values != input.partition_value_list {
            return Err(invalid_input(
                "The Values property of PartitionInput can't be changed; to change the values of a partition, delete and recreate it",
            ));
        }
    }
    let p = &mut stored.partition;
    p.last_access_time = new_input.last_access_time;
    p.last_analyzed_time = new_input.last_analyzed_time;
    p.parameters = new_input.parameters;
    p.storage_descriptor = new_input.storage_descriptor;
    // What the LakeFormation API sent described the replaced storage descriptor.
    stored.lakeformation = None;
    let write = put_partition(catalog, &table, &stored)?;
    state.store().commit(vec![write]).await?;
    Ok(dto::UpdatePartitionResponse {})
}

/// DeletePartition.
pub async fn delete_partition(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeletePartitionRequest,
) -> AwsResult<dto::DeletePartitionResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let _guard = state.write_lock().await;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    repo::find_partition(state, catalog, &table, &input.partition_values)
        .await?
        .ok_or_else(partition_not_found)?;
    let id = catalog.partition_id(
        table.database_name(),
        &table.table.name,
        &input.partition_values,
    );
    state
        .store()
        .commit(vec![repo::delete(kinds::PARTITION, &id)])
        .await?;
    Ok(dto::DeletePartitionResponse {})
}

/// BatchDeletePartition: deletes the partitions that exist, reports the others in `Errors`
/// (`EntityNotFoundException`).
pub async fn batch_delete_partition(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::BatchDeletePartitionRequest,
) -> AwsResult<dto::BatchDeletePartitionResponse> {
    let catalog = catalog(ctx, input.catalog_id.as_deref())?;
    let _guard = state.write_lock().await;
    let table = repo::table(state, catalog, &input.database_name, &input.table_name).await?;
    let mut deleted = HashSet::new();
    let mut writes = Vec::new();
    let mut errors = Vec::new();
    for wanted in input.partitions_to_delete {
        let exists = !deleted.contains(&wanted.values)
            && repo::find_partition(state, catalog, &table, &wanted.values)
                .await?
                .is_some();
        if exists {
            let id = catalog.partition_id(table.database_name(), &table.table.name, &wanted.values);
            writes.push(repo::delete(kinds::PARTITION, &id));
            deleted.insert(wanted.values);
        } else {
            errors.push(partition_error(wanted.values, partition_not_found()));
        }
    }
    if !writes.is_empty() {
        state.store().commit(writes).await?;
    }
    Ok(dto::BatchDeletePartitionResponse {
        errors: Some(errors),
    })
}
