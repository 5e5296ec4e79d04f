//! Glue tables registered as Delta tables (`Parameters.table_type = DELTA`, as table services'
//! METASYNC writes them, or `spark.sql.sources.provider = delta`): read through the table's
//! current Delta snapshot, so only the files of that version are scanned. Compaction and
//! vacuum then never change query results, and files written but never committed are ignored.

use std::path::Path;
use std::sync::Arc;

use cleanrooms_emulator_api::glue::dto::Table;
use datafusion::catalog::TableProvider;
use deltalake::delta_datafusion::DeltaScanNext;
use deltalake::DeltaTableBuilder;

use super::error::EngineError;
use super::location;

/// Whether the Glue table is a Delta table.
pub fn is_delta(table: &Table) -> bool {
    table.parameters.as_ref().is_some_and(|p| {
        p.iter().any(|(k, v)| {
            (k.eq_ignore_ascii_case("table_type") || k == "spark.sql.sources.provider")
                && v.eq_ignore_ascii_case("delta")
        })
    })
}

/// The DataFusion table reading the current snapshot of the Delta table at the Glue table's
/// location.
///
/// # Errors
/// `Definition` when there is no location or no Delta table there; DataFusion errors from
/// loading the snapshot.
pub async fn build(data_dir: &Path, table: &Table) -> Result<Arc<dyn TableProvider>, EngineError> {
    let name = format!(
        "{}.{}",
        table.database_name.as_deref().unwrap_or("default"),
        table.name
    );
    let location = table
        .storage_descriptor
        .as_ref()
        .and_then(|s| s.location.as_deref())
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            EngineError::definition(&name, "the table has no StorageDescriptor.Location")
        })?;
    let dir =
        location::resolve(data_dir, location).map_err(|e| EngineError::definition(&name, e))?;
    if !dir.join("_delta_log").is_dir() {
        return Err(EngineError::definition(
            &name,
            format!("table_type is DELTA but {location} holds no Delta table (no _delta_log/)"),
        ));
    }
    let url = url::Url::from_directory_path(&dir).map_err(|()| {
        EngineError::definition(&name, format!("{} is not an absolute path", dir.display()))
    })?;
    let log_store = DeltaTableBuilder::from_url(url)
        .and_then(|b| b.build_storage())
        .map_err(|e| EngineError::definition(&name, format!("cannot open the Delta table: {e}")))?;
    let scan = DeltaScanNext::builder()
        .with_log_store(log_store)
        .build()
        .await?;
    Ok(Arc::new(scan))
}
