//! Protected jobs as stored: the `ProtectedJob` shape the job runner sees, plus who ran it and
//! for whom. The status machine (`SUBMITTED → STARTED → SUCCESS | FAILED`, cancellation through
//! `CANCELLING → CANCELLED`; jobs have no `TIMED_OUT`) is decided here by [`StoredJob::start`],
//! [`StoredJob::finish`] and [`StoredJob::cancel`]; the job run (`workflows::job`), its
//! recovery after a restart and `UpdateProtectedJob` call them.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::run_status::{self, End, RunStatus};
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// `ProtectedJobError` codes.
pub mod error_codes {
    /// The script failed: it raised, did not define `entrypoint`, or returned something that is
    /// not results.
    pub const MALFORMED_SCRIPT: &str = "MALFORMED_SCRIPT";
    /// A table, artifact or result location could not be found.
    pub const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";
    /// The result location belongs to someone else.
    pub const RESOURCE_ACCESS_DENIED: &str = "RESOURCE_ACCESS_DENIED";
    /// An analysis rule refused what the job returned (e.g. a disallowed output column).
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
    /// Anything else (also: the emulator stopped while the job ran).
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
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

/// A failure while running, as the job's `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// `ProtectedJobError.code`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl JobError {
    /// An error with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// How a job's run ended.
pub type JobEnd = End<dto::ProtectedJobResult, JobError>;

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

    /// The run starts: `SUBMITTED → STARTED` and `true`; a job cancelled before it started
    /// becomes `CANCELLED`, with `false` (as for any other status): the run must not go on.
    pub fn start(&mut self) -> bool {
        run_status::start(&mut self.job.status)
    }

    /// The run ended after `millis` as `end`; a job being cancelled ends `CANCELLED` whatever
    /// the run produced. `false` when the job was final already (nothing changes).
    pub fn finish(&mut self, millis: u64, end: JobEnd) -> bool {
        if is_terminal(self.job.status) {
            return false;
        }
        self.job.statistics = Some(dto::ProtectedJobStatistics {
            billed_resource_utilization: Some(dto::BilledJobResourceUtilization {
                units: billed_units(self.job.compute_configuration.as_ref(), millis),
            }),
            total_duration_in_millis: Some(millis as i64),
        });
        match run_status::end(&mut self.job.status, end) {
            Some(Ok(result)) => self.job.result = Some(result),
            Some(Err(e)) => {
                self.job.error = Some(dto::ProtectedJobError {
                    code: e.code.to_string(),
                    message: e.message,
                    retry: Some(dto::RetryInfo {
                        retryable: Some(false),
                    }),
                })
            }
            None => {}
        }
        true
    }

    /// UpdateProtectedJob's cancellation: `CANCELLING` while its run is `running` (the run
    /// settles it `CANCELLED`), else `CANCELLED` at once. `false` when it is being cancelled
    /// already.
    ///
    /// # Errors
    /// `ConflictException` when the job is final.
    pub fn cancel(&mut self, running: bool) -> AwsResult<bool> {
        run_status::cancel(&mut self.job.status, &self.job.id, running)
    }

    /// The `ProtectedJobSummary` shape.
    pub fn to_summary(&self) -> dto::ProtectedJobSummary {
        dto::ProtectedJobSummary {
            create_time: self.job.create_time,
            id: self.job.id.clone(),
            job_compute_payer_account_id: self.job.job_compute_payer_account_id.clone(),
            membership_arn: self.job.membership_arn.clone(),
            membership_id: self.job.membership_id.clone(),
            receiver_configurations: vec![dto::ProtectedJobReceiverConfiguration {
                analysis_type: dto::ProtectedJobAnalysisType::DirectAnalysis,
                configuration_details: (!self.receivers.is_empty()).then(|| {
                    dto::ProtectedJobConfigurationDetails::DirectAnalysisConfigurationDetails(
                        dto::ProtectedJobDirectAnalysisConfigurationDetails {
                            receiver_account_ids: Some(self.receivers.clone()),
                        },
                    )
                }),
            }],
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
        assert!(j.finish(5, JobEnd::Failed(JobError::new("X", "y"))));
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
