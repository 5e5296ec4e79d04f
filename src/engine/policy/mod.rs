//! Privacy controls on query plans. Clean Rooms enforces its analysis rules on what a query
//! *does*, so the emulator analyses DataFusion's unoptimized logical plan of the query (the
//! session has each collaboration table registered under its collaboration name as a
//! [`CollaborationTable`]):
//! - [`check_statement`]: only a single read-only `SELECT` runs;
//! - [`scanned_tables`]: which collaboration tables a query reads;
//! - [`output_lineage`] / [`column_usage`]: which table columns each output column derives from,
//!   and which are used at all;
//! - [`check_disallowed_output_columns`]: the custom rule's disallowed output columns;
//! - [`check_aggregation`] / [`check_list`]: the AGGREGATION and LIST rules' query structure;
//! - [`apply_thresholds`]: output suppression (aggregation output constraints, custom minimum
//!   aggregation thresholds) by rewriting the plan; [`check_columns_only`] for `COLUMNS_ONLY`;
//! - [`check_comparisons`]: the custom rule's comparison controls;
//! - [`check_differential_privacy`]: the query structure differential privacy needs.
//!
//! Pure engine code: no HTTP or Clean Rooms service types.

pub mod aggregation;
pub mod comparison;
pub mod differential_privacy;
pub mod disallowed;
pub mod error;
pub mod lineage;
pub mod list;
pub mod statement;
pub mod structure;
pub mod table;
pub mod threshold;

#[cfg(test)]
mod tests;

pub use aggregation::{check_aggregation, AggregationRule};
pub use comparison::{check_comparisons, ComparisonRule};
pub use differential_privacy::{check_differential_privacy, DpAggregate, DpFunction, DpQuery};
pub use disallowed::check_disallowed_output_columns;
pub use error::PolicyError;
pub use lineage::{
    analyze, column_usage, output_lineage, scanned_tables, OutputColumn, PlanLineage, SourceColumn,
};
pub use list::{check_list, ListRule};
pub use statement::check_statement;
pub use structure::JoinPolicy;
pub use table::CollaborationTable;
pub use threshold::{apply_thresholds, check_columns_only, Threshold};
