//! Protected jobs as stored: the `ProtectedJob` shape the job runner sees, plus who ran it and
//! for whom. The status machine (`SUBMITTED → STARTED → SUCCESS | FAILED`, cancellation through
//! `CANCELLING → CANCELLED`; jobs have no `TIMED_OUT`) is the one of `run_status`, applied to
//! the job through its [`Run`] implementation; the job run (`workflows::job`), its recovery
//! after a restart and `UpdateProtectedJob` call it.

pub use crate::services::cleanrooms::domain::run_status::RunError;
use crate::services::cleanrooms::domain::run_status::{self, End, Run, RunStatus};
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// `ProtectedJobError` codes: the ones every run has, and the job's own.
pub mod error_codes {
    pub use crate::services::cleanrooms::domain::run_status::error_codes::*;
    /// The script failed: it raised, did not define `entrypoint`, or returned something that is
    /// not results.
    pub const MALFORMED_SCRIPT: &str = "MALFORMED_SCRIPT";
}

/// A protected job (kind `records::kinds::PROTECTED_JOB`, owner = runner account, parent =
/// runner membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredJob {
    /// What Get/List return.
    pub job: dto::ProtectedJob,
    /// Runner account.
    pub account_id: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// Accounts receiving the results.
    pub receivers: Vec<String>,
}

/// Whether `status` is final.
pub fn is_terminal(status: dto::ProtectedJobStatus) -> bool {
    status.is_final()
}

/// How a job's run ended.
pub type JobEnd = End<dto::ProtectedJobResult, RunError>;

run_status::run!(StoredJob, job {
    status: ProtectedJobStatus,
    result: dto::ProtectedJobResult,
    statistics: ProtectedJobStatistics(BilledJobResourceUtilization) billed by billed_units,
    error: ProtectedJobError,
    receivers: ProtectedJobReceiverConfiguration(ProtectedJobAnalysisType,
        ProtectedJobConfigurationDetails(ProtectedJobDirectAnalysisConfigurationDetails)),
});

impl StoredJob {
    /// A new job, SUBMITTED.
    pub fn submitted(
        job: dto::ProtectedJob,
        account_id: String,
        collaboration_id: String,
        receivers: Vec<String>,
    ) -> Self {
        let mut job = job;
        job.status = dto::ProtectedJobStatus::Submitted;
        Self {
            job,
            account_id,
            collaboration_id,
            receivers,
        }
    }

    /// The `ProtectedJobSummary` shape.
    pub fn to_summary(&self) -> dto::ProtectedJobSummary {
        dto::ProtectedJobSummary {
            create_time: self.job.create_time,
            id: self.job.id.clone(),
            job_compute_payer_account_id: self.job.job_compute_payer_account_id.clone(),
            membership_arn: self.job.membership_arn.clone(),
            membership_id: self.job.membership_id.clone(),
            receiver_configurations: self.receiver_configurations(),
            status: self.job.status,
        }
    }
}

/// Compute units billed for `millis` of work: CRPU-hours of the configured workers (`CR.1X` =
/// 1, `CR.4X` = 4 per worker; default 4 × `CR.1X`).
pub fn billed_units(compute: Option<&dto::ProtectedJobComputeConfiguration>, millis: u64) -> f64 {
    let (per_worker, workers) = match compute {
        Some(dto::ProtectedJobComputeConfiguration::Worker(w)) => (
            match w.r#type {
                dto::ProtectedJobWorkerComputeType::Cr4x => 4.0,
                dto::ProtectedJobWorkerComputeType::Cr1x => 1.0,
            },
            f64::from(w.number),
        ),
        None => (1.0, 4.0),
    };
    (per_worker * workers * millis as f64 / 3_600_000.0 * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submitted() -> StoredJob {
        StoredJob::submitted(
            dto::ProtectedJob {
                compute_configuration: None,
                create_time: 0.0,
                error: None,
                id: "j".into(),
                job_compute_payer_account_id: None,
                job_parameters: None,
                membership_arn: String::new(),
                membership_id: String::new(),
                result: None,
                result_configuration: None,
                statistics: None,
                status: dto::ProtectedJobStatus::Submitted,
            },
            "111111111111".into(),
            "c".into(),
            vec![],
        )
    }

    #[test]
    fn runs_to_success_once() {
        let mut j = submitted();
        assert!(j.start());
        assert_eq!(j.job.status, dto::ProtectedJobStatus::Started);
        let result = dto::ProtectedJobResult {
            output: dto::ProtectedJobOutput::MemberList(vec![]),
        };
        assert!(j.finish(10, JobEnd::Succeeded(result.clone())));
        assert_eq!(j.job.status, dto::ProtectedJobStatus::Success);
        assert!(!j.finish(10, JobEnd::Cancelled));
        assert!(j.cancel(false).is_err());
    }

    #[test]
    fn cancelling_a_running_job_ends_cancelled() {
        let mut j = submitted();
        assert!(j.start());
        assert!(j.cancel(true).unwrap_or(false));
        assert_eq!(j.job.status, dto::ProtectedJobStatus::Cancelling);
        assert!(!j.cancel(true).unwrap_or(true));
        assert!(j.finish(5, JobEnd::Failed(RunError::new("X", "y"))));
        assert_eq!(j.job.status, dto::ProtectedJobStatus::Cancelled);
        assert!(j.job.error.is_none());
    }

    #[test]
    fn a_job_cancelled_before_it_starts_never_runs() {
        let mut j = submitted();
        assert!(j.cancel(false).unwrap_or(false));
        assert_eq!(j.job.status, dto::ProtectedJobStatus::Cancelled);
        assert!(!j.start());
    }
}
