//! Athena for Apache Spark as stored, and the rules that need no I/O: engine versions, which
//! workgroups are Spark-enabled, the session and calculation state machines (spec A.3, A.5), and
//! how `SparkProperties` are sorted into restricted, server-level and session-level ones (A.6).
//!
//! Every transition is a method on the stored record that checks the current state, so the
//! workflows in `lifecycle` cannot move a session or calculation along an edge the spec lacks.

use std::collections::BTreeMap;

use cleanrooms_emulator_api::athena::dto;
use serde::{Deserialize, Serialize};

/// Record kinds in the metadata store.
pub mod kinds {
    /// A workgroup (id: account, region, name; no parent).
    pub const WORK_GROUP: &str = "athena.workgroup";
    /// A Spark session (id: the session id; parent: its workgroup's record id).
    pub const SESSION: &str = "athena.session";
    /// A calculation (id: the calculation id; parent: its session id).
    pub const CALCULATION: &str = "athena.calculation";
}

/// The SQL engine version `AUTO` resolves to.
pub const SQL_ENGINE: &str = "Athena engine version 3";
/// The automatic engine choice of SQL workgroups.
pub const AUTO: &str = "AUTO";
/// The Spark release that serves the calculation APIs.
pub const PYSPARK_3: &str = "PySpark engine version 3";
/// The Spark release reached through Spark Connect only (no calculation APIs).
pub const SPARK_3_5: &str = "Apache Spark version 3.5";
/// The workgroup every account has and nobody may create or delete.
pub const PRIMARY: &str = "primary";

/// Engine versions in the order ListEngineVersions returns them: (selected, effective).
pub const ENGINE_VERSIONS: [(&str, &str); 4] = [
    (AUTO, SQL_ENGINE),
    (SQL_ENGINE, SQL_ENGINE),
    (PYSPARK_3, PYSPARK_3),
    (SPARK_3_5, SPARK_3_5),
];

/// The engine version actually used for a selection, or `None` for a name Athena does not have.
pub fn effective_engine_version(selected: &str) -> Option<&'static str> {
    ENGINE_VERSIONS
        .iter()
        .find(|(s, _)| *s == selected)
        .map(|(_, e)| *e)
}

/// Whether an (effective) engine version is a Spark release.
pub fn is_spark(effective: &str) -> bool {
    effective == PYSPARK_3 || effective == SPARK_3_5
}

/// The record id of workgroup `name` of `account` in `region`.
pub fn work_group_id(account: &str, region: &str, name: &str) -> String {
    serde_json::to_string(&[account, region, name]).unwrap_or_default()
}

/// The ARN of a workgroup.
pub fn work_group_arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:aws:athena:{region}:{account}:workgroup/{name}")
}

/// A workgroup as stored: the model's `WorkGroup` and its tags.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StoredWorkGroup {
    /// The workgroup as GetWorkGroup returns it.
    pub work_group: dto::WorkGroup,
    /// Its tags, by key.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl StoredWorkGroup {
    /// The effective engine version (SQL when none was chosen).
    pub fn engine_version(&self) -> &str {
        self.work_group
            .configuration
            .as_ref()
            .and_then(|c| c.engine_version.as_ref())
            .and_then(|v| v.effective_engine_version.as_deref())
            .unwrap_or(SQL_ENGINE)
    }

    /// The selected and effective engine version, as summaries show them.
    pub fn engine_version_pair(&self) -> dto::EngineVersion {
        self.work_group
            .configuration
            .as_ref()
            .and_then(|c| c.engine_version.clone())
            .unwrap_or_else(|| dto::EngineVersion {
                selected_engine_version: Some(AUTO.into()),
                effective_engine_version: Some(SQL_ENGINE.into()),
            })
    }

    /// `ResultConfiguration.OutputLocation`: the root of calculation working directories.
    pub fn output_location(&self) -> Option<&str> {
        self.work_group
            .configuration
            .as_ref()
            .and_then(|c| c.result_configuration.as_ref())
            .and_then(|r| r.output_location.as_deref())
    }

    /// The workgroup's execution role.
    pub fn execution_role(&self) -> Option<&str> {
        self.work_group
            .configuration
            .as_ref()
            .and_then(|c| c.execution_role.as_deref())
    }

    /// Whether the workgroup accepts new sessions.
    pub fn is_enabled(&self) -> bool {
        self.work_group.state != Some(dto::WorkGroupState::Disabled)
    }
}

/// The workgroup every account has before creating any: `primary`, SQL engine, enabled.
pub fn primary_work_group(created: f64) -> StoredWorkGroup {
    StoredWorkGroup {
        work_group: dto::WorkGroup {
            name: PRIMARY.into(),
            state: Some(dto::WorkGroupState::Enabled),
            creation_time: Some(created),
            configuration: Some(dto::WorkGroupConfiguration {
                engine_version: Some(dto::EngineVersion {
                    selected_engine_version: Some(AUTO.into()),
                    effective_engine_version: Some(SQL_ENGINE.into()),
                }),
                enforce_work_group_configuration: Some(false),
                publish_cloud_watch_metrics_enabled: Some(false),
                requester_pays_enabled: Some(false),
                ..dto::WorkGroupConfiguration::default()
            }),
            ..dto::WorkGroup::default()
        },
        tags: BTreeMap::new(),
    }
}

/// Whether a session state is active (ListSessions shows only these by default).
pub fn session_is_active(state: dto::SessionState) -> bool {
    matches!(
        state,
        dto::SessionState::Creating
            | dto::SessionState::Created
            | dto::SessionState::Idle
            | dto::SessionState::Busy
    )
}

/// Whether a calculation state is final.
pub fn calculation_is_final(state: dto::CalculationExecutionState) -> bool {
    matches!(
        state,
        dto::CalculationExecutionState::Completed
            | dto::CalculationExecutionState::Failed
            | dto::CalculationExecutionState::Canceled
    )
}

/// Moves `state` to `to` when it is one of `allowed`, else reports the refused transition.
fn step<S: Copy + PartialEq>(
    what: &'static str,
    state: &mut S,
    allowed: &[S],
    to: S,
    name: fn(&S) -> &'static str,
) -> Result<(), BadTransition> {
    if !allowed.contains(state) {
        return Err(BadTransition {
            what,
            from: name(state),
            to: name(&to),
        });
    }
    *state = to;
    Ok(())
}

/// A transition the state machine does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move {what} from {from} to {to}")]
pub struct BadTransition {
    /// Session or calculation.
    pub what: &'static str,
    /// The current state.
    pub from: &'static str,
    /// The state asked for.
    pub to: &'static str,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSession {
    /// The session id (a UUID).
    pub session_id: String,
    /// The workgroup's name.
    pub work_group: String,
    /// The description given at start.
    pub description: Option<String>,
    /// The effective engine version (`PySpark engine version 3`, …).
    pub engine_version: dto::EngineVersion,
    /// `EngineConfiguration` exactly as StartSession sent it.
    pub engine_configuration: dto::EngineConfiguration,
    /// The notebook version given at start.
    pub notebook_version: Option<String>,
    /// Monitoring settings given at start (stored and echoed).
    pub monitoring_configuration: Option<dto::MonitoringConfiguration>,
    /// The execution role (the session's own, else the workgroup's).
    pub execution_role: Option<String>,
    /// Root of the calculations' working directories (`<OutputLocation><SessionId>/`).
    pub working_directory: Option<String>,
    /// Idle timeout in minutes.
    pub idle_timeout_minutes: i32,
    /// Current state.
    pub state: dto::SessionState,
    /// Why the state last changed (failures, terminations).
    pub state_change_reason: Option<String>,
    /// When the session started.
    pub start_time: f64,
    /// When the state last changed.
    pub last_modified: f64,
    /// When the session ended (TERMINATED or FAILED).
    pub end_time: Option<f64>,
    /// Since when the session has been IDLE.
    pub idle_since: Option<f64>,
    /// DPU time of its calculations, in milliseconds.
    pub dpu_execution_millis: i64,
    /// `ClientRequestToken` of the StartSession call, if any.
    pub client_request_token: Option<String>,
    /// The StartSession request without its token, to compare an idempotent retry with.
    pub request_fingerprint: String,
    /// Tags given at start.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

impl StoredSession {
    fn go(
        &mut self,
        allowed: &[dto::SessionState],
        to: dto::SessionState,
        now: f64,
    ) -> Result<(), BadTransition> {
        step(
            "session",
            &mut self.state,
            allowed,
            to,
            dto::SessionState::as_str,
        )?;
        self.last_modified = now;
        Ok(())
    }

    /// CREATING → CREATED: the session's process is running (its engine is starting).
    pub fn created(&mut self, now: f64) -> Result<(), BadTransition> {
        use dto::SessionState::{Created, Creating};
        self.go(&[Creating], Created, now)
    }

    /// CREATING/CREATED → IDLE: the runner is ready.
    pub fn ready(&mut self, now: f64) -> Result<(), BadTransition> {
        use dto::SessionState::{Created, Creating, Idle};
        self.go(&[Creating, Created], Idle, now)?;
        self.idle_since = Some(now);
        Ok(())
    }

    /// Any state before TERMINATED → FAILED with `reason` (start-up failure, runner crash).
    pub fn fail(&mut self, reason: String, now: f64) -> Result<(), BadTransition> {
        use dto::SessionState::{Busy, Created, Creating, Degraded, Failed, Idle, Terminating};
        self.go(
            &[Creating, Created, Idle, Busy, Degraded, Terminating],
            Failed,
            now,
        )?;
        self.state_change_reason = Some(reason);
        self.end_time = Some(now);
        self.idle_since = None;
        Ok(())
    }

    /// IDLE → BUSY: a calculation was accepted.
    pub fn busy(&mut self, now: f64) -> Result<(), BadTransition> {
        use dto::SessionState::{Busy, Idle};
        self.go(&[Idle], Busy, now)?;
        self.idle_since = None;
        Ok(())
    }

    /// BUSY → IDLE: the calculation ended after `dpu_millis` of DPU time.
    pub fn calculation_done(&mut self, dpu_millis: i64, now: f64) -> Result<(), BadTransition> {
        use dto::SessionState::{Busy, Idle};
        self.go(&[Busy], Idle, now)?;
        self.idle_since = Some(now);
        self.dpu_execution_millis += dpu_millis.max(0);
        Ok(())
    }

    /// Active → TERMINATING with `reason` (TerminateSession, idle timeout, workgroup deleted).
    pub fn terminating(&mut self, reason: String, now: f64) -> Result<(), BadTransition> {
        use dto::SessionState::{Busy, Created, Creating, Degraded, Idle, Terminating};
        self.go(&[Creating, Created, Idle, Busy, Degraded], Terminating, now)?;
        self.state_change_reason = Some(reason);
        self.idle_since = None;
        Ok(())
    }

    /// Active or TERMINATING → TERMINATED: the runner is gone.
    pub fn terminated(&mut self, now: f64) -> Result<(), BadTransition> {
        use dto::SessionState::{Busy, Created, Creating, Degraded, Idle, Terminated, Terminating};
        self.go(
            &[Creating, Created, Idle, Busy, Degraded, Terminating],
            Terminated,
            now,
        )?;
        self.end_time = Some(now);
        self.idle_since = None;
        Ok(())
    }

    /// Whether the idle timeout has passed at `now` (only IDLE sessions time out).
    pub fn idle_expired(&self, now: f64) -> bool {
        self.state == dto::SessionState::Idle
            && self
                .idle_since
                .is_some_and(|since| now >= since + f64::from(self.idle_timeout_minutes) * 60.0)
    }

    /// The `Status` member of GetSession, GetSessionStatus and ListSessions.
    pub fn status(&self) -> dto::SessionStatus {
        dto::SessionStatus {
            start_date_time: Some(self.start_time),
            last_modified_date_time: Some(self.last_modified),
            end_date_time: self.end_time,
            idle_since_date_time: self.idle_since,
            state: Some(self.state),
            state_change_reason: self.state_change_reason.clone(),
        }
    }
}

/// A calculation as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredCalculation {
    /// The calculation id (a UUID).
    pub calculation_id: String,
    /// Its session.
    pub session_id: String,
    /// The description given at start.
    pub description: Option<String>,
    /// The submitted code, verbatim.
    pub code: String,
    /// Current state.
    pub state: dto::CalculationExecutionState,
    /// Why it failed or was cancelled (absent for COMPLETED).
    pub state_change_reason: Option<String>,
    /// When it was submitted.
    pub submitted: f64,
    /// When it reached a final state.
    pub completed: Option<f64>,
    /// DPU time in milliseconds.
    pub dpu_execution_millis: i64,
    /// Progress text.
    pub progress: Option<String>,
    /// `<session working directory><CalculationExecutionId>/`.
    pub working_directory: Option<String>,
    /// Where its stdout, stderr and result are.
    pub result: Option<dto::CalculationResult>,
    /// `ClientRequestToken` of the StartCalculationExecution call, if any.
    pub client_request_token: Option<String>,
    /// The request without its token, to compare an idempotent retry with.
    pub request_fingerprint: String,
}

/// A resource whose creation is idempotent by `ClientRequestToken`.
pub trait Idempotent {
    /// The token of the call that created it.
    fn client_request_token(&self) -> Option<&str>;
    /// That call's parameters without the token.
    fn request_fingerprint(&self) -> &str;
}

impl Idempotent for StoredSession {
    fn client_request_token(&self) -> Option<&str> {
        self.client_request_token.as_deref()
    }

    fn request_fingerprint(&self) -> &str {
        &self.request_fingerprint
    }
}

impl Idempotent for StoredCalculation {
    fn client_request_token(&self) -> Option<&str> {
        self.client_request_token.as_deref()
    }

    fn request_fingerprint(&self) -> &str {
        &self.request_fingerprint
    }
}

/// How a calculation ended in the runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The code ran to the end.
    Completed,
    /// The code raised.
    Failed,
    /// StopCalculationExecution interrupted it.
    Canceled,
}

impl StoredCalculation {
    fn go(
        &mut self,
        allowed: &[dto::CalculationExecutionState],
        to: dto::CalculationExecutionState,
    ) -> Result<(), BadTransition> {
        step(
            "calculation",
            &mut self.state,
            allowed,
            to,
            dto::CalculationExecutionState::as_str,
        )
    }

    /// CREATING/CREATED/QUEUED → RUNNING: handed to the runner.
    pub fn running(&mut self) -> Result<(), BadTransition> {
        use dto::CalculationExecutionState::{Created, Creating, Queued, Running};
        self.go(&[Creating, Created, Queued], Running)
    }

    /// Not final → CANCELING: StopCalculationExecution.
    pub fn canceling(&mut self) -> Result<(), BadTransition> {
        use dto::CalculationExecutionState::{Canceling, Created, Creating, Queued, Running};
        self.go(&[Creating, Created, Queued, Running], Canceling)
    }

    /// RUNNING/CANCELING → the final state of `outcome`. A calculation being cancelled ends
    /// CANCELED whatever the runner says, unless it completed first.
    pub fn finish(
        &mut self,
        outcome: Outcome,
        reason: Option<String>,
        dpu_millis: i64,
        now: f64,
    ) -> Result<(), BadTransition> {
        use dto::CalculationExecutionState::{
            Canceled, Canceling, Completed, Created, Creating, Failed, Queued, Running,
        };
        let to = match (self.state, outcome) {
            (_, Outcome::Completed) => Completed,
            (Canceling, _) | (_, Outcome::Canceled) => Canceled,
            (_, Outcome::Failed) => Failed,
        };
        self.go(&[Creating, Created, Queued, Running, Canceling], to)?;
        self.state_change_reason = match to {
            Completed => None,
            Canceled => Some(reason.unwrap_or_else(|| "Calculation was canceled.".into())),
            _ => reason,
        };
        self.completed = Some(now);
        self.dpu_execution_millis = dpu_millis.max(0);
        self.progress = Some(match to {
            Completed => "100%".into(),
            _ => "0%".into(),
        });
        Ok(())
    }

    /// The `Status` member of the calculation read operations.
    pub fn status(&self) -> dto::CalculationStatus {
        dto::CalculationStatus {
            submission_date_time: Some(self.submitted),
            completion_date_time: self.completed,
            state: Some(self.state),
            state_change_reason: self.state_change_reason.clone(),
        }
    }

    /// The `Statistics` member of the calculation read operations.
    pub fn statistics(&self) -> dto::CalculationStatistics {
        dto::CalculationStatistics {
            dpu_execution_in_millis: Some(self.dpu_execution_millis),
            progress: self.progress.clone(),
        }
    }
}

/// Spark properties Athena reserves: a session carrying one fails during start-up (spec A.6).
pub fn restricted_property(key: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "spark.athena.",
        "spark.driver.",
        "spark.executor.",
        "spark.dynamicAllocation.",
    ];
    key == "spark.app.id" || key == "spark.master" || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The first restricted key of a session's properties, if any.
pub fn first_restricted(properties: &BTreeMap<String, String>) -> Option<&str> {
    properties
        .keys()
        .map(String::as_str)
        .find(|k| restricted_property(k))
}

pub use crate::util::spark_process::{spark_settings, SparkSettings};

#[cfg(test)]
mod tests {
    use super::*;
    use dto::CalculationExecutionState as C;
    use dto::SessionState as S;

    fn session(state: S) -> StoredSession {
        StoredSession {
            session_id: "s".into(),
            work_group: "wg".into(),
            description: None,
            engine_version: dto::EngineVersion::default(),
            engine_configuration: dto::EngineConfiguration::default(),
            notebook_version: None,
            monitoring_configuration: None,
            execution_role: None,
            working_directory: None,
            idle_timeout_minutes: 20,
            state,
            state_change_reason: None,
            start_time: 0.0,
            last_modified: 0.0,
            end_time: None,
            idle_since: None,
            dpu_execution_millis: 0,
            client_request_token: None,
            request_fingerprint: String::new(),
            tags: BTreeMap::new(),
        }
    }

    fn calculation(state: C) -> StoredCalculation {
        StoredCalculation {
            calculation_id: "c".into(),
            session_id: "s".into(),
            description: None,
            code: "1".into(),
            state,
            state_change_reason: None,
            submitted: 0.0,
            completed: None,
            dpu_execution_millis: 0,
            progress: None,
            working_directory: None,
            result: None,
            client_request_token: None,
            request_fingerprint: String::new(),
        }
    }

    #[test]
    fn a_session_goes_creating_idle_busy_idle_terminated() {
        let mut s = session(S::Creating);
        s.created(9.0).unwrap();
        assert!(s.created(9.5).is_err());
        s.ready(10.0).unwrap();
        assert_eq!((s.state, s.idle_since), (S::Idle, Some(10.0)));
        s.busy(11.0).unwrap();
        assert_eq!((s.state, s.idle_since), (S::Busy, None));
        assert!(s.busy(12.0).is_err(), "one calculation at a time");
        s.calculation_done(250, 13.0).unwrap();
        assert_eq!((s.state, s.dpu_execution_millis), (S::Idle, 250));
        s.terminating("asked".into(), 14.0).unwrap();
        s.terminated(15.0).unwrap();
        assert_eq!((s.state, s.end_time), (S::Terminated, Some(15.0)));
        assert!(s.terminating("again".into(), 16.0).is_err());
        assert!(s.ready(16.0).is_err());
    }

    #[test]
    fn start_up_failures_are_final_and_keep_their_reason() {
        let mut s = session(S::Creating);
        s.fail("bad property".into(), 5.0).unwrap();
        assert_eq!(s.status().state, Some(S::Failed));
        assert_eq!(
            s.status().state_change_reason.as_deref(),
            Some("bad property")
        );
        assert!(s.ready(6.0).is_err());
        assert!(s.fail("again".into(), 6.0).is_err());
    }

    #[test]
    fn only_idle_sessions_time_out() {
        let mut s = session(S::Creating);
        s.idle_timeout_minutes = 1;
        assert!(!s.idle_expired(1e9));
        s.ready(100.0).unwrap();
        assert!(!s.idle_expired(159.9));
        assert!(s.idle_expired(160.0));
        s.busy(161.0).unwrap();
        assert!(!s.idle_expired(1e9));
    }

    #[test]
    fn calculations_complete_fail_or_cancel() {
        let mut c = calculation(C::Creating);
        c.running().unwrap();
        c.finish(Outcome::Completed, Some("ignored".into()), 5, 1.0)
            .unwrap();
        assert_eq!(
            (c.state, c.state_change_reason.clone()),
            (C::Completed, None)
        );
        assert!(c.canceling().is_err(), "a final calculation stays final");

        let mut c = calculation(C::Creating);
        c.running().unwrap();
        c.finish(Outcome::Failed, Some("NameError".into()), 5, 1.0)
            .unwrap();
        assert_eq!(c.state, C::Failed);

        let mut c = calculation(C::Creating);
        c.running().unwrap();
        c.canceling().unwrap();
        c.finish(Outcome::Failed, Some("KeyboardInterrupt".into()), 5, 1.0)
            .unwrap();
        assert_eq!(c.state, C::Canceled);
        assert!(calculation_is_final(c.state));
    }

    #[test]
    fn restricted_properties_are_recognised() {
        for key in [
            "spark.athena.x",
            "spark.app.id",
            "spark.master",
            "spark.driver.memory",
            "spark.executor.cores",
            "spark.dynamicAllocation.enabled",
        ] {
            assert!(restricted_property(key), "{key}");
        }
        for key in [
            "spark.sql.ansi.enabled",
            "spark.app.name",
            "custom.key",
            "spark.jars",
        ] {
            assert!(!restricted_property(key), "{key}");
        }
    }

    #[test]
    fn spark_properties_are_sorted_with_athena_defaults() {
        let props: BTreeMap<String, String> = [
            ("spark.sql.shuffle.partitions", "7"),
            ("spark.sql.parquet.compression.codec", "GZIP"),
            ("spark.sql.session.timeZone", "Asia/Tokyo"),
            ("not.spark", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = spark_settings(&props);
        assert!(s
            .server_env
            .contains(&("SAIL_EXECUTION__DEFAULT_PARALLELISM".into(), "7".into())));
        assert!(s
            .server_env
            .contains(&("SAIL_PARQUET__COMPRESSION".into(), "gzip".into())));
        assert_eq!(s.session_conf["spark.sql.session.timeZone"], "Asia/Tokyo");
        assert_eq!(s.session_conf["spark.sql.ansi.enabled"], "false");
        assert!(!s.session_conf.contains_key("not.spark"));
        let defaults = spark_settings(&BTreeMap::new());
        assert!(defaults
            .server_env
            .contains(&("SAIL_PARQUET__COMPRESSION".into(), "snappy".into())));
        assert_eq!(defaults.session_conf["spark.sql.session.timeZone"], "UTC");
    }

    #[test]
    fn engine_versions_resolve() {
        assert_eq!(effective_engine_version(AUTO), Some(SQL_ENGINE));
        assert_eq!(effective_engine_version(PYSPARK_3), Some(PYSPARK_3));
        assert_eq!(effective_engine_version("Spark 9"), None);
        assert!(is_spark(PYSPARK_3) && !is_spark(SQL_ENGINE));
    }
}
