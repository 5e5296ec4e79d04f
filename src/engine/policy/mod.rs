//! Privacy controls on query plans. Clean Rooms enforces its analysis rules on what a query
//! *does*, so the emulator analyses DataFusion's unoptimized logical plan of the query (the
//! session has each collaboration table registered under its collaboration name as a
//! [`CollaborationTable`]):
//! - [`check_statement`]: only a single read-only `SELECT` runs;
//! - [`scanned_tables`]: which collaboration tables a query reads;
//! - [`output_lineage`] / [`column_usage`]: which table columns each output column derives from,
//!   and which are used at all;
//! - [`check_disallowed_output_columns`]: the custom rule's disallowed output columns;
//! - [`check_differential_privacy`]: the query structure differential privacy needs.
//!
//! Pure engine code: no HTTP or Clean Rooms service types.

pub mod differential_privacy;
pub mod disallowed;
pub mod error;
pub mod lineage;
pub mod statement;
pub mod table;

#[cfg(test)]
mod tests;

pub use differential_privacy::{check_differential_privacy, DpAggregate, DpFunction, DpQuery};
pub use disallowed::check_disallowed_output_columns;
pub use error::PolicyError;
pub use lineage::{
    analyze, column_usage, output_lineage, scanned_tables, OutputColumn, PlanLineage, SourceColumn,
};
pub use statement::check_statement;
pub use table::CollaborationTable;
