//! How a run fails: the protected query error ([`RunError`]) an engine or managed-storage
//! failure becomes.

use crate::services::cleanrooms::analysis::clean;
use crate::services::cleanrooms::domain::protected_query::{error_codes, RunError};
use datafusion::common::DataFusionError;

use crate::storage::StorageError;

/// An engine failure while executing: data problems are `INVALID_RESOURCE`, the rest
/// `MALFORMED_QUERY` (the query cannot run on this data, e.g. a failing cast).
pub fn engine_error(e: DataFusionError) -> RunError {
    let code = match e.find_root() {
        DataFusionError::IoError(_)
        | DataFusionError::ObjectStore(_)
        | DataFusionError::ParquetError(_)
        | DataFusionError::External(_) => error_codes::INVALID_RESOURCE,
        _ => error_codes::MALFORMED_QUERY,
    };
    RunError::new(code, clean(&e))
}

/// A managed-storage failure as the populating query's error: the query failing while it runs
/// is the query's fault (`MALFORMED_QUERY`), a result that cannot be stored too; the rest is
/// internal.
pub fn storage_error(e: StorageError) -> RunError {
    match e {
        StorageError::DataFusion { source, .. } => engine_error(source),
        StorageError::Delta {
            source:
                deltalake::DeltaTableError::Arrow { .. }
                | deltalake::DeltaTableError::GenericError { .. },
            ..
        }
        | StorageError::NoColumns { .. }
        | StorageError::UnsupportedColumn { .. } => {
            RunError::new(error_codes::MALFORMED_QUERY, e.to_string())
        }
        other => RunError::internal(other.to_string()),
    }
}
