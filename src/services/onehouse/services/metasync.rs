//! METASYNC: the table's definition into the emulator's Glue Data Catalog of the caller's
//! account and region — database = the Onehouse database, table = the table name (lower case,
//! as Glue folds it), `table_type=DELTA`, the location, the columns of the current Delta schema
//! and its partition columns as partition keys. Created when missing, updated when the schema,
//! location or partitioning changed, left alone otherwise. Writes nothing to the Delta table.

use cleanrooms_emulator_api::glue::dto;
use deltalake::{DeltaTable, DeltaTableError};

use super::Outcome;
use crate::engine::hive_types;
use crate::services::glue::catalog;
use crate::state::AppState;

/// Where a table is synced to.
#[derive(Debug, Clone)]
pub struct GlueTarget {
    /// AWS account of the catalog.
    pub account: String,
    /// Region of the catalog.
    pub region: String,
    /// Glue database.
    pub database: String,
    /// Glue table.
    pub table: String,
    /// The table's location as Glue should record it (`s3://…/` or `file:///…/`).
    pub location: String,
    /// The Onehouse lake (recorded in the table parameters).
    pub lake: String,
}

/// Creates or updates the Glue table for a Delta table.
#[derive(Debug)]
pub struct MetasyncTable {
    table: DeltaTable,
    state: AppState,
    target: GlueTarget,
}

impl MetasyncTable {
    /// A sync of `table` into `target` through the emulator's Glue catalog.
    pub fn new(state: AppState, table: DeltaTable, target: GlueTarget) -> Self {
        Self {
            table,
            state,
            target,
        }
    }

    /// The Glue `TableInput` for the table's current snapshot.
    fn table_input(&self) -> Result<dto::TableInput, DeltaTableError> {
        let snapshot = self.table.snapshot()?.snapshot();
        let partition_columns = snapshot.metadata().partition_columns().to_vec();
        let schema = snapshot.arrow_schema();
        let column = |f: &deltalake::arrow::datatypes::Field| dto::Column {
            name: f.name().to_lowercase(),
            r#type: Some(hive_types::to_hive(f.data_type())),
            ..Default::default()
        };
        let columns = schema
            .fields()
            .iter()
            .filter(|f| !partition_columns.contains(f.name()))
            .map(|f| column(f.as_ref()))
            .collect();
        let partition_keys = partition_columns
            .iter()
            .filter_map(|p| schema.field_with_name(p).ok())
            .map(column)
            .collect();
        let parameters = [
            ("table_type", "DELTA"),
            ("classification", "delta"),
            ("spark.sql.sources.provider", "delta"),
            ("onehouse.lake", self.target.lake.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Ok(dto::TableInput {
            name: self.target.table.to_lowercase(),
            table_type: Some("EXTERNAL_TABLE".to_string()),
            parameters: Some(parameters),
            partition_keys: Some(partition_keys),
            storage_descriptor: Some(dto::StorageDescriptor {
                columns: Some(columns),
                location: Some(self.target.location.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    async fn execute(self) -> Result<Outcome, DeltaTableError> {
        let input = self.table_input()?;
        let action = catalog::upsert_table(
            &self.state,
            &self.target.account,
            &self.target.region,
            &self.target.database,
            input,
        )
        .await
        .map_err(|e| DeltaTableError::Generic(format!("Glue {}: {}", e.code, e.message)))?;
        let metrics = [
            ("catalogs", "glue".to_string()),
            ("glueDatabase", self.target.database.to_lowercase()),
            ("glueTable", self.target.table.to_lowercase()),
            ("action", action.as_str().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Ok(Outcome::at(&self.table, metrics))
    }
}

into_future!(MetasyncTable, Result<Outcome, DeltaTableError>);
