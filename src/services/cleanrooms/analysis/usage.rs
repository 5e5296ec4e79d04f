//! What an analysis spends from the collaboration's privacy budgets once it is admitted: the
//! differentially private aggregations of its final SELECT (charged to the collaboration's
//! DIFFERENTIAL_PRIVACY budget) — the access budgets it spends follow from the tables it reads.

use cleanrooms_emulator_api::cleanrooms::dto;

/// The budget-relevant facts of a prepared analysis.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    /// Number of aggregate calls of each type in the final SELECT of an analysis over
    /// differentially private tables (empty when no such table is read).
    pub dp_aggregations: Vec<(dto::DifferentialPrivacyAggregationType, u32)>,
}
