//! Custom rule control "disallowed output columns": the final result may not contain a listed
//! column directly, through an alias, or through any expression or transformation. Using such a
//! column to filter, join, group or order stays allowed (see [`super::lineage`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{OutputColumn, PolicyError};

/// Checks every output column's sources against the disallowed columns of each table, and
/// returns the first violation (in output order, then source order).
///
/// `disallowed` maps a collaboration table name (compared exactly) to its disallowed column
/// names (compared case-insensitively).
///
/// # Errors
/// [`PolicyError::DisallowedOutputColumn`] naming the table, the column and the output column
/// that derives from it.
pub fn check_disallowed_output_columns(
    lineage: &[OutputColumn],
    disallowed: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(), PolicyError> {
    for output in lineage {
        for source in &output.sources {
            let Some(columns) = disallowed.get(&source.table) else {
                continue;
            };
            if columns
                .iter()
                .any(|column| column.to_lowercase() == source.column.to_lowercase())
            {
                return Err(PolicyError::DisallowedOutputColumn {
                    table: source.table.clone(),
                    column: source.column.clone(),
                    output: output.name.clone(),
                });
            }
        }
    }
    Ok(())
}
