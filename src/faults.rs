//! Fault injection for users' retry tests: rules set through `/_emulator/faults` that make
//! matching requests fail the way AWS fails (an error of the model's shape, added latency, or a
//! dropped connection), so that client code can be tested against throttling and outages the
//! real service only produces at random.
//!
//! A rule matches on the service's signing name, the operation and the caller's account (each
//! optional: absent matches everything), fires with a probability and at most `count` times, and
//! does one thing. Rules live in memory: a restart or `/_emulator/reset` clears them. The
//! protocols ask [`Faults::inject`] once they know the operation and before the operation runs,
//! so an injected error changes nothing, exactly as a throttled AWS request changes nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::AwsError;

/// What a matching request gets instead of (or before) its normal answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    /// The request fails with this AWS error, encoded as its protocol encodes every error.
    Error {
        /// The error code (`ThrottlingException`, `SlowDown`, …).
        code: String,
        /// The HTTP status.
        status: u16,
        /// The message.
        message: String,
    },
    /// The request waits this long, then runs normally.
    LatencyMs(u64),
    /// The connection is closed without an answer (the client sees a reset/incomplete read).
    DropConnection,
    /// A protected query or population that the request starts runs, then ends `FAILED` with
    /// this error instead of running its SQL (the request itself succeeds).
    FailAnalysis {
        /// The `ProtectedQueryError.code` (one of [`ANALYSIS_ERROR_CODES`]).
        code: String,
        /// The error message.
        message: String,
    },
}

/// The error codes Clean Rooms reports on a failed protected query or population.
pub const ANALYSIS_ERROR_CODES: &[&str] = &[
    "MALFORMED_QUERY",
    "RESOURCE_NOT_FOUND",
    "INVALID_RESOURCE",
    "RESOURCE_ACCESS_DENIED",
    "INTERNAL_ERROR",
];

/// The operations whose analyses a `failAnalysis` rule fails.
const ANALYSIS_OPERATIONS: &[&str] = &["StartProtectedQuery", "PopulateIntermediateTable"];

/// One rule as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    /// Identifier (for `DELETE /_emulator/faults/{id}`).
    pub id: String,
    /// Signing name of the service (`cleanrooms`, `glue`, `s3`, …); `None` matches every service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Operation name as the model spells it; `None` matches every operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Caller's account; `None` matches every account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Chance that a matching request is affected (0 < p ≤ 1).
    pub probability: f64,
    /// How many more requests the rule may affect; `None` is unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// How many requests the rule has affected.
    pub injected: u64,
    /// What it does.
    pub action: FaultAction,
}

/// A fault decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    /// Answer with this error.
    Error(AwsError),
    /// Close the connection without an answer.
    DropConnection,
}

/// The rules of one emulator process.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    /// Number of rules, read without the lock so that requests pay nothing when there are none.
    active: AtomicU64,
    next_id: AtomicU64,
}

/// Statuses of the error codes a retry test usually wants, for rules that name no status.
const KNOWN_STATUSES: &[(&str, u16)] = &[
    ("ThrottlingException", 429),
    ("TooManyRequestsException", 429),
    ("Throttling", 400),
    ("RequestLimitExceeded", 400),
    ("ProvisionedThroughputExceededException", 400),
    ("InternalServerException", 500),
    ("InternalServiceException", 500),
    ("InternalFailure", 500),
    ("InternalError", 500),
    ("ServiceUnavailable", 503),
    ("ServiceUnavailableException", 503),
    ("SlowDown", 503),
    ("RequestTimeout", 400),
    ("RequestTimeoutException", 408),
];

/// Longest latency a rule may add (a bound, so that a typo cannot hang a test run for hours).
pub const MAX_LATENCY_MS: u64 = 300_000;

impl Faults {
    /// Adds a rule from its admin-API JSON form and returns it.
    ///
    /// # Errors
    /// A message saying what is wrong with the rule; nothing is added.
    pub fn add(&self, body: &Value) -> Result<FaultRule, String> {
        let mut rule = parse_rule(body)?;
        rule.id = format!("fault-{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        let mut rules = self.lock();
        rules.push(rule.clone());
        self.active.store(rules.len() as u64, Ordering::Release);
        Ok(rule)
    }

    /// The rules, oldest first.
    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// Removes one rule; false when there is none with that id.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.lock();
        let before = rules.len();
        rules.retain(|r| r.id != id);
        self.active.store(rules.len() as u64, Ordering::Release);
        rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
        self.active.store(0, Ordering::Release);
    }

    /// Decides the fault of one request of `service`/`operation` by `account`: waits for the
    /// latency rules that fire, and returns the error or dropped connection of the first error
    /// rule that fires. Rules fire in the order they were added.
    pub async fn inject(&self, service: &str, operation: &str, account: &str) -> Option<Injected> {
        if self.active.load(Ordering::Acquire) == 0 {
            return None;
        }
        let (delay, outcome) = self.decide(service, operation, account, rand::random::<f64>);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        outcome
    }

    /// The pure decision behind [`Self::inject`]: the total latency and the outcome, drawing
    /// chances from `draw` (uniform in [0, 1)). Counts what fired.
    fn decide(
        &self,
        service: &str,
        operation: &str,
        account: &str,
        mut draw: impl FnMut() -> f64,
    ) -> (u64, Option<Injected>) {
        let mut rules = self.lock();
        let mut delay = 0u64;
        let mut outcome = None;
        for rule in rules.iter_mut() {
            let matches = rule.service.as_deref().is_none_or(|s| s == service)
                && rule.operation.as_deref().is_none_or(|o| o == operation)
                && rule.account.as_deref().is_none_or(|a| a == account)
                && rule.remaining != Some(0);
            if !matches || (rule.probability < 1.0 && draw() >= rule.probability) {
                continue;
            }
            let fired = match &rule.action {
                FaultAction::LatencyMs(ms) => {
                    delay = delay.saturating_add(*ms);
                    true
                }
                FaultAction::Error {
                    code,
                    status,
                    message,
                } if outcome.is_none() => {
                    outcome = Some(Injected::Error(AwsError::new(
                        code.as_str(),
                        *status,
                        message.clone(),
                    )));
                    true
                }
                FaultAction::DropConnection if outcome.is_none() => {
                    outcome = Some(Injected::DropConnection);
                    true
                }
                _ => false,
            };
            if fired {
                rule.injected += 1;
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
            }
        }
        (delay.min(MAX_LATENCY_MS), outcome)
    }

    /// The failure a `failAnalysis` rule decides for the analysis that `operation` (StartProtectedQuery
    /// or PopulateIntermediateTable) of `account` started: `(code, message)`, counted as fired.
    pub fn analysis_failure(&self, operation: &str, account: &str) -> Option<(String, String)> {
        if self.active.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut rules = self.lock();
        for rule in rules.iter_mut() {
            let FaultAction::FailAnalysis { code, message } = &rule.action else {
                continue;
            };
            let matches = rule.operation.as_deref().is_none_or(|o| o == operation)
                && rule.account.as_deref().is_none_or(|a| a == account)
                && rule.remaining != Some(0);
            if !matches || (rule.probability < 1.0 && rand::random::<f64>() >= rule.probability) {
                continue;
            }
            let failure = (code.clone(), message.clone());
            rule.injected += 1;
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            return Some(failure);
        }
        None
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads a rule: `service`, `operation`, `account` (optional strings), `probability` (0 < p ≤ 1,
/// default 1), `count` (≥ 1, default unlimited), and exactly one action: `error` (`{"code",
/// "status"?, "message"?}`), `latencyMs` or `dropConnection: true`.
fn parse_rule(body: &Value) -> Result<FaultRule, String> {
    const FIELDS: &[&str] = &[
        "service",
        "operation",
        "account",
        "probability",
        "count",
        "error",
        "latencyMs",
        "dropConnection",
        "failAnalysis",
    ];
    let Some(object) = body.as_object() else {
        return Err("expected a JSON object describing one fault rule".into());
    };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field '{unknown}'; a rule has {}",
            FIELDS.join(", ")
        ));
    }
    let text = |name: &str| -> Result<Option<String>, String> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(Some(s.clone())),
            Some(_) => Err(format!("{name} must be a non-empty string")),
        }
    };
    let account = text("account")?;
    if let Some(a) = &account {
        if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("account '{a}' is not a 12-digit AWS account id"));
        }
    }
    let probability = match object.get("probability") {
        None | Some(Value::Null) => 1.0,
        Some(v) => match v.as_f64() {
            Some(p) if p > 0.0 && p <= 1.0 => p,
            _ => return Err("probability must be a number greater than 0 and at most 1".into()),
        },
    };
    let remaining = match object.get("count") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => return Err("count must be a whole number of at least 1".into()),
        },
    };
    let mut actions = Vec::new();
    if let Some(error) = object.get("error") {
        actions.push(parse_error(error)?);
    }
    if let Some(v) = object.get("latencyMs") {
        match v.as_u64() {
            Some(ms) if (1..=MAX_LATENCY_MS).contains(&ms) => {
                actions.push(FaultAction::LatencyMs(ms))
            }
            _ => {
                return Err(format!(
                    "latencyMs must be a whole number of milliseconds from 1 to {MAX_LATENCY_MS}"
                ))
            }
        }
    }
    match object.get("dropConnection") {
        None | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => actions.push(FaultAction::DropConnection),
        Some(_) => return Err("dropConnection must be true or false".into()),
    }
    if let Some(failure) = object.get("failAnalysis") {
        actions.push(parse_analysis_failure(failure)?);
    }
    if actions.len() != 1 {
        return Err(
            "a rule does exactly one thing: give one of error, latencyMs, dropConnection or failAnalysis"
                .into(),
        );
    }
    if matches!(actions[0], FaultAction::FailAnalysis { .. }) {
        let service = object.get("service").and_then(Value::as_str);
        let operation = object.get("operation").and_then(Value::as_str);
        if service.is_some_and(|s| !s.eq_ignore_ascii_case("cleanrooms"))
            || operation.is_some_and(|o| !ANALYSIS_OPERATIONS.contains(&o))
        {
            return Err(format!(
                "failAnalysis applies to the cleanrooms operations {}",
                ANALYSIS_OPERATIONS.join(" and ")
            ));
        }
    }
    Ok(FaultRule {
        id: String::new(),
        service: text("service")?.map(|s| s.to_ascii_lowercase()),
        operation: text("operation")?,
        account,
        probability,
        remaining,
        injected: 0,
        action: actions.remove(0),
    })
}

fn parse_analysis_failure(failure: &Value) -> Result<FaultAction, String> {
    let code = match failure.get("code").and_then(Value::as_str) {
        Some(c) if ANALYSIS_ERROR_CODES.contains(&c) => c.to_string(),
        _ => {
            return Err(format!(
                "failAnalysis.code must be one of {}",
                ANALYSIS_ERROR_CODES.join(", ")
            ))
        }
    };
    let message = match failure.get("message") {
        None | Some(Value::Null) => {
            "The analysis failed: injected by the emulator's fault rules".into()
        }
        Some(Value::String(m)) if m.len() <= 4096 => m.clone(),
        Some(_) => {
            return Err("failAnalysis.message must be a string of at most 4096 characters".into())
        }
    };
    Ok(FaultAction::FailAnalysis { code, message })
}

fn parse_error(error: &Value) -> Result<FaultAction, String> {
    let code = match error.get("code") {
        Some(Value::String(c))
            if !c.is_empty()
                && c.len() <= 128
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') =>
        {
            c.clone()
        }
        _ => return Err("error.code must be an AWS error code such as ThrottlingException".into()),
    };
    let status = match error.get("status") {
        None | Some(Value::Null) => match KNOWN_STATUSES.iter().find(|(c, _)| *c == code) {
            Some((_, s)) => *s,
            None => {
                return Err(format!(
                    "error.status is required for {code} (give the HTTP status, 400 to 599)"
                ))
            }
        },
        Some(v) => match v.as_u64() {
            Some(s) if (400..=599).contains(&s) => s as u16,
            _ => return Err("error.status must be an HTTP error status from 400 to 599".into()),
        },
    };
    let message = match error.get("message") {
        None | Some(Value::Null) => format!("{code} injected by the emulator's fault rules"),
        Some(Value::String(m)) if m.len() <= 4096 => m.clone(),
        Some(_) => return Err("error.message must be a string of at most 4096 characters".into()),
    };
    Ok(FaultAction::Error {
        code,
        status,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decide(f: &Faults, service: &str, op: &str, account: &str) -> (u64, Option<Injected>) {
        f.decide(service, op, account, || 0.5)
    }

    #[test]
    fn a_counted_error_rule_fires_that_many_times_on_matching_requests_only() {
        let f = Faults::default();
        f.add(
            &json!({"service": "cleanrooms", "operation": "GetCollaboration", "count": 2,
                      "error": {"code": "ThrottlingException"}}),
        )
        .unwrap();
        assert_eq!(
            decide(&f, "cleanrooms", "ListCollaborations", "111111111111").1,
            None
        );
        assert_eq!(
            decide(&f, "glue", "GetCollaboration", "111111111111").1,
            None
        );
        for _ in 0..2 {
            let (_, got) = decide(&f, "cleanrooms", "GetCollaboration", "111111111111");
            let Some(Injected::Error(e)) = got else {
                panic!("no error: {got:?}")
            };
            assert_eq!((e.code.as_str(), e.status), ("ThrottlingException", 429));
        }
        assert_eq!(
            decide(&f, "cleanrooms", "GetCollaboration", "111111111111").1,
            None
        );
        let rule = &f.list()[0];
        assert_eq!((rule.injected, rule.remaining), (2, Some(0)));
    }

    #[test]
    fn probability_and_account_narrow_a_rule() {
        let f = Faults::default();
        f.add(&json!({"account": "222222222222", "probability": 0.25, "dropConnection": true}))
            .unwrap();
        assert_eq!(
            f.decide("s3", "PutObject", "222222222222", || 0.1).1,
            Some(Injected::DropConnection)
        );
        assert_eq!(f.decide("s3", "PutObject", "222222222222", || 0.9).1, None);
        assert_eq!(f.decide("s3", "PutObject", "111111111111", || 0.1).1, None);
    }

    #[test]
    fn latency_adds_up_and_the_first_error_wins() {
        let f = Faults::default();
        f.add(&json!({"latencyMs": 30})).unwrap();
        f.add(&json!({"error": {"code": "SlowDown"}})).unwrap();
        f.add(&json!({"latencyMs": 20})).unwrap();
        f.add(&json!({"error": {"code": "Boom", "status": 500}}))
            .unwrap();
        let (delay, got) = decide(&f, "s3", "GetObject", "111111111111");
        assert_eq!(delay, 50);
        let Some(Injected::Error(e)) = got else {
            panic!()
        };
        assert_eq!((e.code.as_str(), e.status), ("SlowDown", 503));
        assert_eq!(
            f.list()[3].injected,
            0,
            "a rule that did not fire is not counted"
        );
    }

    #[test]
    fn bad_rules_say_what_is_wrong_and_add_nothing() {
        let f = Faults::default();
        for (rule, says) in [
            (json!([]), "JSON object"),
            (
                json!({"error": {"code": "X", "status": 500}, "latencyMs": 5}),
                "exactly one thing",
            ),
            (json!({}), "exactly one thing"),
            (
                json!({"error": {"code": "Custom"}}),
                "error.status is required",
            ),
            (
                json!({"error": {"code": "A B", "status": 500}}),
                "error.code",
            ),
            (
                json!({"error": {"code": "X", "status": 302}}),
                "error.status",
            ),
            (json!({"latencyMs": 0}), "latencyMs"),
            (
                json!({"dropConnection": true, "probability": 0}),
                "probability",
            ),
            (json!({"dropConnection": true, "count": 0}), "count"),
            (
                json!({"dropConnection": true, "account": "abc"}),
                "12-digit",
            ),
            (
                json!({"dropConnection": true, "servce": "s3"}),
                "unknown field 'servce'",
            ),
        ] {
            let err = f.add(&rule).unwrap_err();
            assert!(err.contains(says), "{rule}: {err}");
        }
        assert!(f.list().is_empty());
    }

    #[test]
    fn analysis_failures_fire_for_their_runs_only() {
        let f = Faults::default();
        f.add(
            &json!({"operation": "PopulateIntermediateTable", "count": 1,
                      "failAnalysis": {"code": "INTERNAL_ERROR", "message": "disk on fire"}}),
        )
        .unwrap();
        // The request itself is not affected.
        assert_eq!(
            decide(
                &f,
                "cleanrooms",
                "PopulateIntermediateTable",
                "111111111111"
            ),
            (0, None)
        );
        assert_eq!(
            f.analysis_failure("StartProtectedQuery", "111111111111"),
            None
        );
        assert_eq!(
            f.analysis_failure("PopulateIntermediateTable", "111111111111"),
            Some(("INTERNAL_ERROR".into(), "disk on fire".into()))
        );
        assert_eq!(
            f.analysis_failure("PopulateIntermediateTable", "111111111111"),
            None
        );
        for (rule, says) in [
            (
                json!({"failAnalysis": {"code": "BOOM"}}),
                "failAnalysis.code",
            ),
            (
                json!({"service": "glue", "failAnalysis": {"code": "INTERNAL_ERROR"}}),
                "cleanrooms operations",
            ),
            (
                json!({"operation": "GetCollaboration", "failAnalysis": {"code": "INTERNAL_ERROR"}}),
                "cleanrooms operations",
            ),
        ] {
            assert!(f.add(&rule).unwrap_err().contains(says), "{rule}");
        }
    }

    #[test]
    fn rules_are_removed_one_by_one_or_all_at_once() {
        let f = Faults::default();
        let a = f.add(&json!({"dropConnection": true})).unwrap();
        f.add(&json!({"latencyMs": 1})).unwrap();
        assert!(f.remove(&a.id));
        assert!(!f.remove(&a.id));
        assert_eq!(f.list().len(), 1);
        f.clear();
        assert!(f.list().is_empty());
        assert_eq!(decide(&f, "s3", "GetObject", "111111111111"), (0, None));
    }
}
