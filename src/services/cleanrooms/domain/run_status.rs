//! The status machine protected queries and protected jobs share: `SUBMITTED → STARTED →
//! SUCCESS | FAILED`, and cancellation through `CANCELLING → CANCELLED`. Each run type keeps
//! its own generated status enum; [`RunStatus`] names the statuses the machine moves between,
//! and the transitions here are the only place they are decided. [`Run`] applies them to a
//! stored run: its status, statistics, result or error, written into its own AWS shapes.

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::{conflict, ConflictReason, ResourceType};
use cleanrooms_emulator_api::cleanrooms::dto;

/// The status of a protected query or job.
pub trait RunStatus: Copy + PartialEq {
    /// Waiting for its run.
    const SUBMITTED: Self;
    /// Running.
    const STARTED: Self;
    /// Being cancelled while its run stops.
    const CANCELLING: Self;
    /// Cancelled.
    const CANCELLED: Self;
    /// Ran to the end.
    const SUCCESS: Self;
    /// Failed.
    const FAILED: Self;
    /// What a conflict message calls such a run ("Protected query").
    const NOUN: &'static str;
    /// Whether it is final.
    fn is_final(self) -> bool;
    /// The wire value.
    fn wire(self) -> &'static str;
}

/// Implements [`RunStatus`] for generated status enums: `enum => noun, [final statuses]`.
macro_rules! run_statuses {
    ($($t:ty => $noun:literal, [$($final:ident),*];)*) => {
        $(impl RunStatus for $t {
            const SUBMITTED: Self = Self::Submitted;
            const STARTED: Self = Self::Started;
            const CANCELLING: Self = Self::Cancelling;
            const CANCELLED: Self = Self::Cancelled;
            const SUCCESS: Self = Self::Success;
            const FAILED: Self = Self::Failed;
            const NOUN: &'static str = $noun;
            fn is_final(self) -> bool {
                matches!(self, $(Self::$final)|*)
            }
            fn wire(self) -> &'static str {
                self.as_str()
            }
        })*
    };
}

run_statuses! {
    dto::ProtectedQueryStatus => "Protected query", [Success, Failed, Cancelled, TimedOut];
    dto::ProtectedJobStatus => "Protected job", [Success, Failed, Cancelled];
}

/// The error codes protected queries and protected jobs share (`ProtectedQueryError.code`,
/// `ProtectedJobError.code`); each run type adds the one its malformed input gets.
pub mod error_codes {
    /// A table, file, artifact or result location could not be found.
    pub const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";
    /// A data file or table definition is unusable, or an analysis rule refused the output.
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
    /// The result location belongs to someone else.
    pub const RESOURCE_ACCESS_DENIED: &str = "RESOURCE_ACCESS_DENIED";
    /// Anything else (also: the emulator stopped while the run ran).
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
}

/// A failure while running, as the run's `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    /// The error's `code` (one of the run type's `error_codes`).
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
}

impl RunError {
    /// An error with `code`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An internal failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(error_codes::INTERNAL_ERROR, message)
    }
}

/// A stored protected query or job: the transitions of the shared status machine applied to
/// the AWS shape it keeps. The implementations ([`run!`]) say where each part of the shape is;
/// the transitions are written once, here.
pub trait Run {
    /// Its generated status enum.
    type Status: RunStatus;
    /// What a successful run keeps.
    type Result;
    /// One entry of its summary's `receiverConfigurations`.
    type Receivers;
    /// Its id.
    fn run_id(&self) -> &str;
    /// Its status.
    fn status(&self) -> Self::Status;
    /// Its status, to move.
    fn status_mut(&mut self) -> &mut Self::Status;
    /// Records the statistics of a run that took `millis`: its duration and the compute units
    /// billed for it.
    fn record_statistics(&mut self, millis: u64);
    /// Keeps the result of a run that succeeded.
    fn keep_result(&mut self, result: Self::Result);
    /// Keeps the error of a run that failed (never retryable).
    fn keep_error(&mut self, error: RunError);
    /// Its summary's `receiverConfigurations`: results delivered directly, to the receiving
    /// accounts it records (if any).
    fn receiver_configurations(&self) -> Vec<Self::Receivers>;

    /// Whether it has ended (its status can no longer change).
    fn is_final(&self) -> bool {
        self.status().is_final()
    }

    /// The run starts: `SUBMITTED → STARTED` and `true`; a run cancelled before it started
    /// becomes `CANCELLED`, with `false` (as for any other status): the run must not go on.
    fn start(&mut self) -> bool {
        start(self.status_mut())
    }

    /// The run ended after `millis` as `end`: the statistics, then the final status (a run
    /// being cancelled ends `CANCELLED` whatever it produced) with its result or error.
    /// `false` when the run was final already (nothing changes).
    fn finish(&mut self, millis: u64, end: End<Self::Result, RunError>) -> bool {
        if self.is_final() {
            return false;
        }
        self.record_statistics(millis);
        match self::end(self.status_mut(), end) {
            Some(Ok(result)) => self.keep_result(result),
            Some(Err(error)) => self.keep_error(error),
            None => {}
        }
        true
    }

    /// The cancellation asked for by its runner (UpdateProtectedQuery, UpdateProtectedJob):
    /// `CANCELLING` while its run is `running` (the run settles it `CANCELLED`), else
    /// `CANCELLED` at once. `false` when it is being cancelled already.
    ///
    /// # Errors
    /// `ConflictException` when it is final.
    fn cancel(&mut self, running: bool) -> AwsResult<bool> {
        let id = self.run_id().to_string();
        cancel(self.status_mut(), &id, running)
    }
}

/// Implements [`Run`] for a stored run whose AWS shape is its field `shape`, naming the
/// generated shapes of that run type: its status, its result as kept, its statistics (with
/// the billed utilization and the function billing its compute), its error, and its direct
/// receiver configuration (with the analysis type, details and direct-analysis details).
macro_rules! run {
    ($t:ty, $shape:ident {
        status: $status:ident,
        result: $result:ty,
        statistics: $stats:ident($utilization:ident) billed by $billed:path,
        error: $error:ident,
        receivers: $receivers:ident($analysis:ident, $details:ident($direct:ident)),
    }) => {
        impl $crate::services::cleanrooms::domain::run_status::Run for $t {
            type Status = dto::$status;
            type Result = $result;
            type Receivers = dto::$receivers;
            fn run_id(&self) -> &str {
                &self.$shape.id
            }
            fn status(&self) -> dto::$status {
                self.$shape.status
            }
            fn status_mut(&mut self) -> &mut dto::$status {
                &mut self.$shape.status
            }
            fn record_statistics(&mut self, millis: u64) {
                self.$shape.statistics = Some(dto::$stats {
                    billed_resource_utilization: Some(dto::$utilization {
                        units: $billed(self.$shape.compute_configuration.as_ref(), millis),
                    }),
                    total_duration_in_millis: Some(millis as i64),
                });
            }
            fn keep_result(&mut self, result: $result) {
                self.$shape.result = result.into();
            }
            fn keep_error(
                &mut self,
                error: $crate::services::cleanrooms::domain::run_status::RunError,
            ) {
                self.$shape.error = Some(dto::$error {
                    code: error.code.to_string(),
                    message: error.message,
                    retry: Some(dto::RetryInfo {
                        retryable: Some(false),
                    }),
                });
            }
            fn receiver_configurations(&self) -> Vec<dto::$receivers> {
                vec![dto::$receivers {
                    analysis_type: dto::$analysis::DirectAnalysis,
                    configuration_details: (!self.receivers.is_empty()).then(|| {
                        dto::$details::DirectAnalysisConfigurationDetails(dto::$direct {
                            receiver_account_ids: Some(self.receivers.clone()),
                        })
                    }),
                }]
            }
        }
    };
}
pub(crate) use run;

/// How a run ended: with its result `R`, with its error `E`, or cancelled.
#[derive(Debug, Clone)]
pub enum End<R, E> {
    /// It ran to the end, with this result.
    Succeeded(R),
    /// It failed.
    Failed(E),
    /// It was cancelled.
    Cancelled,
}

/// The run starts: `SUBMITTED → STARTED` and `true`; a run cancelled before it started becomes
/// `CANCELLED`, with `false` (as for any other status): the run must not go on.
pub fn start<S: RunStatus>(status: &mut S) -> bool {
    if *status == S::SUBMITTED {
        *status = S::STARTED;
        true
    } else {
        if *status == S::CANCELLING {
            *status = S::CANCELLED;
        }
        false
    }
}

/// The cancellation of run `id` asked for by its runner: `CANCELLING` while its run is
/// `running` (the run settles it `CANCELLED`), else `CANCELLED` at once. `false` when it is
/// being cancelled already.
///
/// # Errors
/// `ConflictException` when the run is final.
pub fn cancel<S: RunStatus>(status: &mut S, id: &str, running: bool) -> AwsResult<bool> {
    if status.is_final() {
        return Err(conflict(
            ResourceType::Membership,
            id,
            ConflictReason::InvalidState,
            format!(
                "{} {id} is {} and can no longer be cancelled",
                S::NOUN,
                status.wire()
            ),
        ));
    }
    if *status == S::CANCELLING {
        return Ok(false);
    }
    *status = if running { S::CANCELLING } else { S::CANCELLED };
    Ok(true)
}

/// The final status of a run that ended as `end` (and was not final yet), and what of it the
/// run keeps: its result (`Ok`) or its error (`Err`). A run being cancelled ends `CANCELLED`
/// whatever it produced, and keeps nothing.
pub fn end<S: RunStatus, R, E>(status: &mut S, end: End<R, E>) -> Option<Result<R, E>> {
    if *status == S::CANCELLING {
        *status = S::CANCELLED;
        return None;
    }
    match end {
        End::Succeeded(result) => {
            *status = S::SUCCESS;
            Some(Ok(result))
        }
        End::Failed(error) => {
            *status = S::FAILED;
            Some(Err(error))
        }
        End::Cancelled => {
            *status = S::CANCELLED;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dto::ProtectedJobStatus as J;
    use dto::ProtectedQueryStatus as Q;

    #[test]
    fn a_run_starts_only_from_submitted_and_a_cancelled_one_never_starts() {
        let mut s = Q::Submitted;
        assert!(start(&mut s));
        assert_eq!(s, Q::Started);
        let mut s = J::Cancelling;
        assert!(!start(&mut s));
        assert_eq!(s, J::Cancelled);
        let mut s = Q::Started;
        assert!(!start(&mut s));
        assert_eq!(s, Q::Started);
    }

    #[test]
    fn cancellation_waits_for_a_running_run_and_refuses_a_final_one() {
        let mut s = J::Started;
        assert!(cancel(&mut s, "j1", true).unwrap());
        assert_eq!(s, J::Cancelling);
        assert!(!cancel(&mut s, "j1", true).unwrap());
        let mut s = Q::Submitted;
        assert!(cancel(&mut s, "q1", false).unwrap());
        assert_eq!(s, Q::Cancelled);
        let mut s = Q::TimedOut;
        let e = cancel(&mut s, "q1", false).unwrap_err();
        assert_eq!(e.code, "ConflictException");
        assert!(e
            .message
            .contains("Protected query q1 is TIMED_OUT and can no longer be cancelled"));
    }

    #[test]
    fn a_run_being_cancelled_ends_cancelled_whatever_it_produced() {
        let mut s = Q::Cancelling;
        assert!(end(&mut s, End::<u8, ()>::Succeeded(1)).is_none());
        assert_eq!(s, Q::Cancelled);
        let mut s = J::Started;
        assert_eq!(end(&mut s, End::<u8, ()>::Succeeded(1)), Some(Ok(1)));
        assert_eq!(s, J::Success);
        let mut s = J::Started;
        assert_eq!(end(&mut s, End::<u8, &str>::Failed("x")), Some(Err("x")));
        assert_eq!(s, J::Failed);
        let mut s = Q::Started;
        assert!(end(&mut s, End::<u8, ()>::Cancelled).is_none());
        assert_eq!(s, Q::Cancelled);
    }
}
