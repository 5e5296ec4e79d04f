//! The query engine: DataFusion over the emulator's data. `glue_table` turns Glue table
//! definitions into DataFusion tables (CSV, Parquet, JSON lines; partitioned tables with
//! pruning), `location` maps `s3://`/`file://` locations to files, `format` decides file formats,
//! `hive_types` maps Glue column types to Arrow, `schema_check` verifies files against declared
//! schemas, `noise` draws differential-privacy noise, `delta_table` reads Glue tables that are
//! Delta tables through their current snapshot, `sql` holds the SQL dialects of Clean Rooms,
//! `short_key_aggregate` groups by short strings without hashing their bytes.

pub mod delta_table;
pub mod error;
pub mod format;
pub mod glue_table;
pub mod hive_types;
pub mod location;
pub mod noise;
pub mod policy;
pub mod schema_check;
pub mod short_key_aggregate;
pub mod sql;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cleanrooms_emulator_api::glue::dto::{Partition, Table};
use datafusion::catalog::TableProvider;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

pub use error::EngineError;

/// Session settings a caller may choose.
#[derive(Debug, Clone, Default)]
pub struct SessionSettings {
    /// Target partitions (parallelism); `None` = [`default_target_partitions`] (unless
    /// `DATAFUSION_EXECUTION_TARGET_PARTITIONS` says otherwise).
    pub target_partitions: Option<usize>,
    /// Session time zone (e.g. `UTC`).
    pub time_zone: Option<String>,
    /// The SQL dialect: the functions the session knows.
    pub dialect: sql::SqlDialect,
}

/// The partitions a query runs in when nothing else says: two per core. A partition's reads of
/// its files block on the file system (on the blocking pool) between decoding steps; with two
/// partitions a core, the other one decodes meanwhile instead of the core waiting (measured in
/// docs/benchmarks.md, issue #16 session 11: 4–15 % less wall time, the same CPU).
pub fn default_target_partitions() -> usize {
    // `available_parallelism` reads the process's CPU affinity and cgroup quota: once is enough.
    static PARTITIONS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PARTITIONS.get_or_init(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get) * 2
    })
}

/// Builds DataFusion sessions and tables over one data dir.
#[derive(Debug, Clone)]
pub struct Engine {
    data_dir: PathBuf,
}

impl Engine {
    /// An engine reading under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// A fresh session with `settings`. Its physical plans group by a short string through
    /// [`short_key_aggregate`]; a population's write (delta-rs, given this session's state)
    /// plans through the same rules.
    pub fn session(&self, settings: &SessionSettings) -> SessionContext {
        // DataFusion's own `DATAFUSION_*` environment variables tune the engine (e.g.
        // `DATAFUSION_EXECUTION_BATCH_SIZE`); unparsable values leave the defaults.
        let mut config = SessionConfig::from_env()
            .unwrap_or_default()
            .with_information_schema(false);
        if let Some(n) = settings.target_partitions {
            config = config.with_target_partitions(n.max(1));
        } else if std::env::var_os("DATAFUSION_EXECUTION_TARGET_PARTITIONS").is_none() {
            config = config.with_target_partitions(default_target_partitions());
        }
        if let Some(tz) = &settings.time_zone {
            config.options_mut().execution.time_zone = Some(tz.clone());
        }
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(
                short_key_aggregate::ShortKeyAggregation::default(),
            ))
            .build();
        let ctx = SessionContext::new_with_state(state);
        sql::register(&ctx, settings.dialect);
        ctx
    }

    /// The DataFusion table for a Glue table and its partitions (a Delta table — `table_type`
    /// DELTA — through its current snapshot, see [`delta_table`]).
    ///
    /// # Errors
    /// When the definition or the files cannot be used (see [`glue_table::build`]).
    pub async fn glue_table(
        &self,
        table: &Table,
        partitions: &[Partition],
    ) -> Result<Arc<dyn TableProvider>, EngineError> {
        if delta_table::is_delta(table) {
            return delta_table::build(&self.data_dir, table).await;
        }
        glue_table::build(&self.data_dir, table, partitions)
    }
}

/// Whether `name` is one of the engine's built-in table functions (`generate_series`, `range`):
/// SQL may call them like tables, and they read no data.
pub fn is_table_function(name: &str) -> bool {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES
        .get_or_init(|| {
            SessionContext::new()
                .state()
                .table_functions()
                .keys()
                .cloned()
                .collect()
        })
        .iter()
        .any(|n| n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_runs_in_two_partitions_a_core_unless_told_otherwise() {
        let engine = Engine::new(Path::new("/nonexistent"));
        let partitions = |settings: &SessionSettings| {
            engine
                .session(settings)
                .state()
                .config()
                .options()
                .execution
                .target_partitions
        };
        if std::env::var_os("DATAFUSION_EXECUTION_TARGET_PARTITIONS").is_none() {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            assert_eq!(partitions(&SessionSettings::default()), 2 * cores);
        }
        let asked = SessionSettings {
            target_partitions: Some(3),
            ..SessionSettings::default()
        };
        assert_eq!(partitions(&asked), 3);
    }
}
