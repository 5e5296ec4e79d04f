//! Managed-storage errors. Each names the managed table (and version) at fault; the services map
//! them to AWS errors or to a `POPULATE_FAILED` status with `error.message`.

use std::path::PathBuf;

/// What went wrong while writing, reading or removing a managed table.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The table id is not 1 to 64 characters of `[A-Za-z0-9-]`.
    #[error("invalid managed table id {id:?}: {reason}")]
    InvalidTableId {
        /// The rejected id.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// No committed version of the table exists.
    #[error("managed table {table_id} does not exist")]
    TableNotFound {
        /// The table id.
        table_id: String,
    },
    /// The table exists but has no such version.
    #[error("managed table {table_id} has no version {version}")]
    VersionNotFound {
        /// The table id.
        table_id: String,
        /// The requested Delta version.
        version: i64,
    },
    /// The version's data files were removed by [`super::ManagedStorage::retain_only`].
    #[error(
        "version {version} of managed table {table_id} is no longer stored \
         (only versions from {retained_from} on are kept)"
    )]
    VersionRemoved {
        /// The table id.
        table_id: String,
        /// The requested Delta version.
        version: i64,
        /// The oldest version still readable.
        retained_from: i64,
    },
    /// The query's result has no columns.
    #[error("managed table {table_id}: a result without columns cannot be stored")]
    NoColumns {
        /// The table id.
        table_id: String,
    },
    /// A result column cannot be stored (name or type).
    #[error("managed table {table_id}: column {column:?} cannot be stored: {reason}")]
    UnsupportedColumn {
        /// The table id.
        table_id: String,
        /// The column (dotted path for nested fields).
        column: String,
        /// Why.
        reason: String,
    },
    /// delta-rs failed (running the query feeding a write, committing, or loading the log).
    #[error("managed table {table_id}: {source}")]
    Delta {
        /// The table id.
        table_id: String,
        /// The underlying error.
        #[source]
        source: deltalake::DeltaTableError,
    },
    /// DataFusion failed while preparing a write or a read.
    #[error("managed table {table_id}: {source}")]
    DataFusion {
        /// The table id.
        table_id: String,
        /// The underlying error.
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// A file-system operation failed.
    #[error("managed storage: {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A blocking file-system task could not finish (panicked or was cancelled).
    #[error("managed storage: background file task failed: {0}")]
    Task(String),
}

impl StorageError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A delta-rs error on `table_id`.
    pub(crate) fn delta(table_id: &str, source: deltalake::DeltaTableError) -> Self {
        Self::Delta {
            table_id: table_id.to_string(),
            source,
        }
    }

    /// A DataFusion error on `table_id`.
    pub(crate) fn datafusion(table_id: &str, source: datafusion::error::DataFusionError) -> Self {
        Self::DataFusion {
            table_id: table_id.to_string(),
            source,
        }
    }
}
