//! Protected queries as stored: the `ProtectedQuery` shape the runner sees, plus who ran it,
//! where, and — for the queries `PopulateIntermediateTable` creates — the version it fills.
//! The status machine (`SUBMITTED → STARTED → SUCCESS | FAILED`, cancellation through
//! `CANCELLING → CANCELLED`) is the one of `run_status`, applied to the query through its
//! [`Run`] implementation; the background runs (`workflows::runs`), their settle
//! (`workflows::settle`) and `UpdateProtectedQuery` call it.

pub use crate::services::cleanrooms::domain::run_status::RunError;
use crate::services::cleanrooms::domain::run_status::{self, End, Run, RunStatus};
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A protected query (kind `records::kinds::PROTECTED_QUERY`, owner = runner account, parent = runner
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
    status.is_final()
}

/// `ProtectedQueryError` codes (the model documents them on the error shape): the ones every
/// run has, and the query's own.
pub mod error_codes {
    pub use crate::services::cleanrooms::domain::run_status::error_codes::*;
    /// The SQL or its use of the data failed while running.
    pub const MALFORMED_QUERY: &str = "MALFORMED_QUERY";
}

/// How a run ended, as the query records it (its result: none for populations).
pub type RunEnd = End<Option<dto::ProtectedQueryResult>, RunError>;

run_status::run!(StoredQuery, query {
    status: ProtectedQueryStatus,
    result: Option<dto::ProtectedQueryResult>,
    statistics: ProtectedQueryStatistics(BilledResourceUtilization) billed by billed_units,
    error: ProtectedQueryError,
    receivers: ReceiverConfiguration(AnalysisType,
        ConfigurationDetails(DirectAnalysisConfigurationDetails)),
});

/// What a new query records besides its status: who runs it, on what, paid by whom.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Query id.
    pub id: String,
    /// Submission time.
    pub now: f64,
    /// The runner's membership (id, ARN).
    pub membership_id: String,
    /// The runner's membership ARN.
    pub membership_arn: String,
    /// Runner account.
    pub account_id: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// Compute configuration.
    pub compute_configuration: Option<dto::ComputeConfiguration>,
    /// The payer of query compute.
    pub payer: Option<String>,
    /// Where results go.
    pub result_configuration: dto::ProtectedQueryResultConfiguration,
    /// The SQL parameters as recorded.
    pub sql_parameters: dto::ProtectedQuerySQLParameters,
    /// The version a population fills.
    pub populate: Option<PopulateTarget>,
    /// Accounts receiving the results.
    pub receivers: Vec<String>,
}

impl StoredQuery {
    /// A new query, `SUBMITTED`.
    pub fn submitted(s: Submission) -> Self {
        Self {
            query: dto::ProtectedQuery {
                compute_configuration: s.compute_configuration,
                create_time: s.now,
                differential_privacy: None,
                error: None,
                id: s.id,
                membership_arn: s.membership_arn,
                membership_id: s.membership_id,
                query_compute_payer_account_id: s.payer,
                result: None,
                result_configuration: Some(s.result_configuration),
                sql_parameters: Some(s.sql_parameters),
                statistics: None,
                status: dto::ProtectedQueryStatus::Submitted,
            },
            account_id: s.account_id,
            collaboration_id: s.collaboration_id,
            populate: s.populate,
            receivers: s.receivers,
        }
    }

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
            receiver_configurations: self.receiver_configurations(),
            status: self.query.status,
        }
    }
}

/// Compute units billed for `millis` of work: CRPU-hours of the configured workers
/// (`CR.1X` = 1, `CR.4X` = 4, `CR.8X` = 8 per worker; default 16 × `CR.1X`).
pub fn billed_units(compute: Option<&dto::ComputeConfiguration>, millis: u64) -> f64 {
    let (kind, number) = match compute {
        Some(dto::ComputeConfiguration::Worker(w)) => (w.r#type, w.number),
        None => (None, None),
    };
    let per_worker = match kind {
        Some(dto::WorkerComputeType::Cr4x) => 4.0,
        Some(dto::WorkerComputeType::Cr8x) => 8.0,
        _ => 1.0,
    };
    let workers = f64::from(number.unwrap_or(16));
    (per_worker * workers * millis as f64 / 3_600_000.0 * 1e6).round() / 1e6
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A SUBMITTED query `q` of membership `m` (account 111111111111).
    pub(crate) fn submitted() -> StoredQuery {
        StoredQuery::submitted(Submission {
            id: "q".into(),
            now: 1.0,
            membership_id: "m".into(),
            membership_arn: "arn:m".into(),
            account_id: "111111111111".into(),
            collaboration_id: "c".into(),
            compute_configuration: None,
            payer: None,
            result_configuration: dto::ProtectedQueryResultConfiguration {
                output_configuration: dto::ProtectedQueryOutputConfiguration::IntermediateTable(
                    dto::IntermediateTableOutputConfiguration {
                        arn: "arn:t".into(),
                        id: "t".into(),
                        name: "t".into(),
                    },
                ),
            },
            sql_parameters: dto::ProtectedQuerySQLParameters::default(),
            populate: None,
            receivers: Vec::new(),
        })
    }

    #[test]
    fn a_query_starts_then_finishes_once() {
        let mut q = submitted();
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Submitted);
        assert!(q.start());
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Started);
        assert!(!q.start(), "a started query does not start again");
        assert!(q.finish(
            3_600_000,
            RunEnd::Failed(RunError::new(error_codes::MALFORMED_QUERY, "bad cast"))
        ));
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Failed);
        let error = q.query.error.as_ref().unwrap();
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("MALFORMED_QUERY", "bad cast")
        );
        let stats = q.query.statistics.as_ref().unwrap();
        assert_eq!(stats.total_duration_in_millis, Some(3_600_000));
        assert_eq!(
            stats.billed_resource_utilization.as_ref().unwrap().units,
            16.0
        );
        assert!(
            !q.finish(1, RunEnd::Succeeded(None)),
            "a final query stays final"
        );
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Failed);
    }

    #[test]
    fn cancellation_wins_over_what_the_run_produced() {
        let mut q = submitted();
        assert!(q.start());
        assert!(q.cancel(true).unwrap());
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Cancelling);
        assert!(!q.cancel(true).unwrap(), "cancelling already");
        assert!(q.finish(5, RunEnd::Succeeded(None)));
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Cancelled);
        assert!(q.query.result.is_none() && q.query.error.is_none());
        assert!(
            q.cancel(false).is_err(),
            "a final query cannot be cancelled"
        );

        // Cancelled before it started: the run must not go on.
        let mut q = submitted();
        assert!(q.cancel(true).unwrap());
        assert!(!q.start());
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Cancelled);

        // Not running in this process: cancelled at once.
        let mut q = submitted();
        assert!(q.cancel(false).unwrap());
        assert_eq!(q.query.status, dto::ProtectedQueryStatus::Cancelled);
    }
}
