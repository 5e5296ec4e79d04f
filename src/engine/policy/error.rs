//! Errors of the privacy-control analysis. Each names the rule and, where one is known, the table
//! and column responsible, so the services can hand the message to the user unchanged.

/// Why a query is refused, or why its plan could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The SQL is not a single read-only query (DDL, DML, `COPY`, `EXPLAIN`, `SET`, …).
    #[error("Only a single SELECT query is allowed; this statement is {statement}")]
    NotAQuery {
        /// What the statement is, e.g. `CREATE VIEW`, `INSERT INTO`, `EXPLAIN`.
        statement: String,
    },
    /// An output column derives from a column the table's rule keeps out of the output.
    #[error(
        "Column '{column}' of table '{table}' cannot appear in the output (it is a disallowed \
         output column); output column '{output}' derives from it"
    )]
    DisallowedOutputColumn {
        /// The collaboration table the column belongs to.
        table: String,
        /// The disallowed column, as the table spells it.
        column: String,
        /// The output column whose value derives from it.
        output: String,
    },
    /// A collaboration table was asked to expose a column its data does not have.
    #[error("Column '{column}' does not exist in the data of table '{table}'")]
    UnknownColumn {
        /// The collaboration table.
        table: String,
        /// The missing column.
        column: String,
    },
    /// A query over differential-privacy tables breaks the structure differential privacy
    /// needs (the message names the table, the construct and what is allowed).
    #[error("{0}")]
    DifferentialPrivacy(String),
    /// The query breaks an analysis rule; the message names the rule, the table, the column or
    /// construct and what would be allowed.
    #[error("{0}")]
    Rejected(String),
    /// The plan has a shape the lineage analysis cannot follow; the query is refused rather
    /// than risk letting a protected column through.
    #[error("Cannot determine where the query's output comes from: {0}")]
    Lineage(String),
}
