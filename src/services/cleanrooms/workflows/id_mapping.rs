//! Populating an ID mapping table: run its Entity Resolution ID mapping workflow (rule-based
//! matching between the SOURCE and TARGET namespaces' Glue tables, see
//! `entityresolution::matching`) on the engine and write the matched pairs as a new version of
//! the table in managed storage, then record that version. The run is synchronous: when
//! PopulateIdMappingTable answers, the new mapping is readable (or the previous one still is,
//! if the run failed).

use crate::engine::{Engine, SessionSettings};
use crate::error::AwsResult;
use crate::services::cleanrooms::analysis::tables::missing_input;
use crate::services::cleanrooms::domain::id_mapping::{
    IdMappingPopulation, IdMappingTable, SOURCE_ID_COLUMN, TARGET_ID_COLUMN,
};
use crate::services::cleanrooms::errors::invalid_configuration;
use crate::services::cleanrooms::records;
use crate::services::entityresolution::facade as entity_resolution;
use crate::services::glue::catalog;
use crate::state::AppState;
use crate::storage::WriteOptions;
use crate::util::ids;

/// Runs the mapping of `table` (in `region`) and commits it as the table's current population;
/// returns the updated table.
///
/// # Errors
/// `ValidationException` (`INVALID_CONFIGURATION`) when the workflow, its namespaces, schema
/// mappings or Glue tables no longer resolve or cannot be read; internal errors when the
/// mapping cannot be written.
pub async fn populate(
    state: &AppState,
    region: &str,
    mut table: IdMappingTable,
) -> AwsResult<IdMappingTable> {
    if let Some(gone) = missing_input(state, &table).await? {
        return Err(invalid_configuration(format!(
            "ID mapping table '{}' cannot be populated: its ID namespace association {gone} left the collaboration",
            table.name
        )));
    }
    let run = entity_resolution::mapping_run(state, region, &table.workflow_arn)
        .await
        .map_err(|e| {
            invalid_configuration(format!(
                "ID mapping table '{}' cannot be populated from workflow {}: {}",
                table.name, table.workflow_arn, e.message
            ))
        })?;
    let engine = Engine::new(state.data_dir());
    let ctx = engine.session(&SessionSettings::default());
    for input in &run.inputs {
        let t = &input.table;
        let glue = catalog::table(state, &t.account, &t.region, &t.database, &t.table)
            .await
            .map_err(|e| {
                invalid_configuration(format!(
                    "ID mapping table '{}' cannot be populated: Glue table {}.{} of account {} is not available ({})",
                    table.name, t.database, t.table, t.account, e.message
                ))
            })?;
        let partitions = catalog::partitions(state, &t.account, &t.region, &t.database, &t.table)
            .await
            .unwrap_or_default();
        let provider = engine.glue_table(&glue, &partitions).await.map_err(|e| {
            invalid_configuration(format!(
                "ID mapping table '{}' cannot be populated: Glue table {}.{} cannot be read: {e}",
                table.name, t.database, t.table
            ))
        })?;
        ctx.register_table(input.registered_name.as_str(), provider)
            .map_err(|e| crate::error::AwsError::internal(format!("cannot register input: {e}")))?;
    }
    let sql = format!(
        "SELECT CAST({} AS VARCHAR) AS {SOURCE_ID_COLUMN}, CAST({} AS VARCHAR) AS {TARGET_ID_COLUMN} FROM ({})",
        entity_resolution::SOURCE_ID_COLUMN,
        entity_resolution::TARGET_ID_COLUMN,
        run.sql
    );
    let frame = ctx.sql(&sql).await.map_err(|e| {
        invalid_configuration(format!(
            "ID mapping table '{}' cannot be populated: the matching query does not fit the input tables ({e})",
            table.name
        ))
    })?;
    let plan = frame.logical_plan().clone();
    let written = state
        .storage()
        .write_version(
            &table.header.id,
            &ctx.state(),
            plan,
            &WriteOptions::default(),
        )
        .await
        .map_err(|e| {
            invalid_configuration(format!(
                "ID mapping table '{}' could not be populated: {e}",
                table.name
            ))
        })?;
    let now = state.now();
    table.population = Some(IdMappingPopulation {
        job_id: ids::new_id(),
        delta_version: written.delta_version,
        rows: written.rows,
        populated_at: now,
    });
    table.update_time = now;
    state
        .store()
        .commit(vec![records::put(
            &table.header.id,
            region,
            &table.header.account_id,
            Some(&table.header.membership_id),
            &table,
        )?])
        .await?;
    // Storage keeps one mapping: the previous populations' files (and anything a killed run
    // left behind) go once the new version is recorded.
    if let Err(e) = state
        .storage()
        .retain_only(&table.header.id, written.delta_version)
        .await
    {
        tracing::warn!(table = %table.header.id, error = %e, "older ID mapping versions not removed");
    }
    Ok(table)
}
