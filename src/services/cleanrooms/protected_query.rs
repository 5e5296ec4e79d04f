//! Protected queries as stored: the `ProtectedQuery` shape the runner sees, plus who ran it,
//! where, and — for the queries `PopulateIntermediateTable` creates — the version it fills.
//! The status machine (`SUBMITTED → STARTED → SUCCESS | FAILED`, cancellation through
//! `CANCELLING → CANCELLED`) is advanced by the job running the query
//! (`analysis::run`) and by `UpdateProtectedQuery`.

use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A protected query (kind `kinds::PROTECTED_QUERY`, owner = runner account, parent = runner
/// membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredQuery {
    /// What Get/List return.
    pub query: dto::ProtectedQuery,
    /// Runner account.
    pub account_id: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// Set when the query populates an intermediate table.
    pub populate: Option<PopulateTarget>,
    /// Accounts receiving the results (empty for populations and queries stored before
    /// receivers were recorded).
    #[serde(default)]
    pub receivers: Vec<String>,
}

/// The intermediate table version a populating query fills.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PopulateTarget {
    /// Intermediate table id.
    pub table_id: String,
    /// Version id.
    pub version_id: String,
}

/// Whether `status` is final.
pub fn is_terminal(status: dto::ProtectedQueryStatus) -> bool {
    use dto::ProtectedQueryStatus as S;
    matches!(status, S::Success | S::Failed | S::Cancelled | S::TimedOut)
}

/// `ProtectedQueryError` codes (the model documents them on the error shape).
pub mod error_codes {
    /// The SQL or its use of the data failed while running.
    pub const MALFORMED_QUERY: &str = "MALFORMED_QUERY";
    /// A table, file or result location could not be found.
    pub const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";
    /// A data file or table definition is unusable.
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
    /// The result location belongs to someone else.
    pub const RESOURCE_ACCESS_DENIED: &str = "RESOURCE_ACCESS_DENIED";
    /// Anything else (also: the emulator stopped while the query ran).
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
}

impl StoredQuery {
    /// The `ProtectedQuerySummary` shape.
    pub fn to_summary(&self) -> dto::ProtectedQuerySummary {
        let intermediate =
            self.query
                .result_configuration
                .as_ref()
                .and_then(|r| match &r.output_configuration {
                    dto::ProtectedQueryOutputConfiguration::IntermediateTable(t) => Some(t.clone()),
                    _ => None,
                });
        dto::ProtectedQuerySummary {
            create_time: self.query.create_time,
            id: self.query.id.clone(),
            intermediate_table_configuration: intermediate,
            query_compute_payer_account_id: self.query.query_compute_payer_account_id.clone(),
            membership_arn: self.query.membership_arn.clone(),
            membership_id: self.query.membership_id.clone(),
            // Every query of this emulator delivers its results directly.
            receiver_configurations: vec![dto::ReceiverConfiguration {
                analysis_type: dto::AnalysisType::DirectAnalysis,
                configuration_details: (!self.receivers.is_empty()).then(|| {
                    dto::ConfigurationDetails::DirectAnalysisConfigurationDetails(
                        dto::DirectAnalysisConfigurationDetails {
                            receiver_account_ids: Some(self.receivers.clone()),
                        },
                    )
                }),
            }],
            status: self.query.status,
        }
    }
}
