//! The status machine protected queries and protected jobs share: `SUBMITTED → STARTED →
//! SUCCESS | FAILED`, and cancellation through `CANCELLING → CANCELLED`. Each run type keeps
//! its own generated status enum; [`RunStatus`] names the statuses the machine moves between,
//! and the transitions here are the only place they are decided.

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
