//! Engine errors. They name the table, file and column at fault where one is known; the
//! services map them to AWS errors (or to a FAILED status with `error.message` for background
//! work).

/// What went wrong while building or running a query.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The table's definition cannot be read (location, format, column types).
    #[error("table {table}: {message}")]
    Definition {
        /// Table name (`database.table`).
        table: String,
        /// What is wrong.
        message: String,
    },
    /// A data file does not match the table's declared schema.
    #[error("table {table}: file {file} does not match the declared schema: {message}")]
    SchemaMismatch {
        /// Table name (`database.table`).
        table: String,
        /// The offending file.
        file: String,
        /// Which column, and how.
        message: String,
    },
    /// DataFusion failed (planning or execution).
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Reading a file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl EngineError {
    /// A definition error for `table`.
    pub fn definition(table: &str, message: impl Into<String>) -> Self {
        Self::Definition {
            table: table.to_string(),
            message: message.into(),
        }
    }
}
