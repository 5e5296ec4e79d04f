//! The Spark runtime behind Athena sessions: one runner process per session
//! (`python/cleanrooms_emulator_spark/runner.py`, embedded in the binary and written to
//! `<data-dir>/athena/runner.py`), which starts an embedded Sail Spark Connect server and speaks
//! JSON lines on stdin/stdout. This module owns the processes: where the interpreter is, the
//! environment that points Sail at the emulator's Glue and S3 for the session's account, the
//! bound on live sessions, and the handles through which requests reach a session's worker.
//!
//! Runner processes are children of the emulator: they are killed when their handle is dropped,
//! and they ask the kernel to kill them when the emulator dies.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::mpsc;

/// The runner script, as the repository has it.
const RUNNER_SOURCE: &str = crate::util::spark_process::RUNNER_SOURCE;

/// Live Spark sessions allowed by default.
pub const DEFAULT_MAX_SESSIONS: usize = 4;

/// How to install the runtime, for the reasons of sessions that cannot start.
pub const INSTALL_HINT: &str = "install it with `python3 -m venv .venv && .venv/bin/pip install -r python/requirements-spark.txt` in the emulator's repository, or start the emulator with --spark-python PATH (CLEANROOMS_EMULATOR_SPARK_PYTHON) naming a Python that has pysail 0.7.2 and pyspark-client 4.2.0";

/// What a session's worker is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// Run the calculation with this id (already stored, session already BUSY).
    Run(String),
    /// Interrupt the calculation with this id if it is running.
    Cancel(String),
    /// Stop the runner and end the session (already TERMINATING).
    Terminate,
}

/// The registry of running sessions and the settings their runners start with.
#[derive(Debug)]
pub struct SparkRuntime {
    python: Option<PathBuf>,
    max_sessions: usize,
    endpoint: OnceLock<String>,
    live: Mutex<HashMap<String, mpsc::UnboundedSender<SessionCommand>>>,
}

impl SparkRuntime {
    /// A runtime using `python` (else the repository's own `.venv`, when it exists) for at
    /// most `max_sessions` live sessions.
    pub fn new(python: Option<PathBuf>, max_sessions: usize) -> Self {
        let python = crate::util::spark_process::resolve_python(python);
        Self {
            python,
            max_sessions: max_sessions.max(1),
            endpoint: OnceLock::new(),
            live: Mutex::default(),
        }
    }

    /// The interpreter runners start with, if one is configured or found.
    pub fn python(&self) -> Option<&Path> {
        self.python.as_deref()
    }

    /// Records the URL the emulator listens on (runners call back to it).
    pub fn set_endpoint(&self, url: String) {
        let _ = self.endpoint.set(url);
    }

    /// The URL runners reach the emulator at, once it listens.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.get().map(String::as_str)
    }

    fn live(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<SessionCommand>>> {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a slot for session `id` and returns the receiving end of its commands, or `None`
    /// when `max_sessions` sessions are live already.
    pub fn register(&self, id: &str) -> Option<mpsc::UnboundedReceiver<SessionCommand>> {
        let mut live = self.live();
        if live.len() >= self.max_sessions {
            return None;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        live.insert(id.to_string(), tx);
        Some(rx)
    }

    /// The bound on live sessions.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    /// Frees session `id`'s slot (its worker has ended).
    pub fn unregister(&self, id: &str) {
        self.live().remove(id);
    }

    /// Sends `command` to session `id`'s worker; `false` when the session has none.
    pub fn send(&self, id: &str, command: SessionCommand) -> bool {
        self.live()
            .get(id)
            .is_some_and(|tx| tx.send(command).is_ok())
    }

    /// Ids of the sessions with a worker.
    pub fn live_ids(&self) -> Vec<String> {
        self.live().keys().cloned().collect()
    }

    /// Drops every worker's handle: each stops its runner (admin reset).
    pub fn stop_all(&self) {
        self.live().clear();
    }
}

/// Writes the runner script under `data_dir` (atomically, so a runner starting meanwhile never
/// reads half a file) and returns its path.
pub fn materialise_runner(data_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = data_dir.join("athena");
    std::fs::create_dir_all(dir.join("logs"))?;
    let path = dir.join("runner.py");
    crate::util::spark_process::materialise(&path, RUNNER_SOURCE)?;
    Ok(path)
}

/// The environment of a runner: Sail's Glue catalog and S3 at the emulator's `endpoint` as
/// `account` in `region`, the server settings, and the session configuration as JSON.
pub fn runner_environment(
    session_id: &str,
    endpoint: &str,
    account: &str,
    region: &str,
    idle_timeout_seconds: i64,
    server_env: &[(String, String)],
    session_conf: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let token = super::spark_catalog::session_token(session_id);
    let mut env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", account),
        ("AWS_SECRET_ACCESS_KEY", "cleanrooms-emulator-spark-session"),
        ("AWS_SESSION_TOKEN", token.as_str()),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        (
            "SAIL_CATALOG__LIST",
            r#"[{type="glue", name="spark_catalog"}]"#,
        ),
        ("SAIL_CATALOG__DEFAULT_CATALOG", "spark_catalog"),
        ("SAIL_CATALOG__DEFAULT_DATABASE", r#"["default"]"#),
        ("RUST_LOG", "warn"),
        ("PYTHONUNBUFFERED", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // Sail drops a Spark Connect session idle this long; keep it beyond the Athena timeout.
    env.push((
        "SAIL_SPARK__SESSION_TIMEOUT_SECS".into(),
        (idle_timeout_seconds + 3600).to_string(),
    ));
    env.extend(server_env.iter().cloned());
    env.push((
        "CLEANROOMS_EMULATOR_SPARK_CONF".into(),
        serde_json::to_string(session_conf).unwrap_or_else(|_| "{}".into()),
    ));
    env.push((
        "CLEANROOMS_EMULATOR_PARENT_PID".into(),
        std::process::id().to_string(),
    ));
    env
}

/// What a runner reports.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerEvent {
    /// Spark answers; calculations may run.
    Ready,
    /// Spark could not start, for this reason.
    Failed(String),
    /// A calculation ended.
    Done(CalculationReport),
}

/// A runner's report of one calculation.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct CalculationReport {
    /// The calculation id it was run under.
    #[serde(default)]
    pub id: Option<String>,
    /// `COMPLETED`, `FAILED` or `CANCELED`.
    pub status: String,
    /// What the code printed.
    #[serde(default)]
    pub stdout: String,
    /// What it wrote to stderr, ending with the traceback of a failure.
    #[serde(default)]
    pub stderr: String,
    /// `repr` of the trailing expression.
    #[serde(default)]
    pub result: Option<String>,
    /// The last line of the traceback.
    #[serde(default)]
    pub error: Option<String>,
    /// Run time in milliseconds.
    #[serde(default)]
    pub millis: i64,
}

/// One runner process.
#[derive(Debug)]
pub struct Runner {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Lines<BufReader<ChildStdout>>,
}

impl Runner {
    /// Starts `python script` in directory `work` with `env` (on top of the emulator's
    /// environment without its AWS settings), logging its stderr to `log`. Spark's relative paths
    /// (the `spark-warehouse` of tables created without a location) land in `work`.
    ///
    /// # Errors
    /// When the process cannot be started.
    pub fn spawn(
        python: &Path,
        script: &Path,
        work: &Path,
        env: &[(String, String)],
        log: &Path,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(work)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let mut command = Command::new(python);
        command
            .arg(script)
            .current_dir(work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for name in ["AWS_PROFILE", "AWS_SECURITY_TOKEN", "SPARK_REMOTE"] {
            command.env_remove(name);
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("the runner has no stdout"))?;
        Ok(Self {
            child,
            stdin,
            events: BufReader::new(stdout).lines(),
        })
    }

    /// Sends one request line.
    ///
    /// # Errors
    /// When the runner's stdin is closed.
    pub async fn send(&mut self, request: &Value) -> std::io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the runner's input is closed"))?;
        let mut line = request.to_string();
        line.push('\n');
        stdin.write_all(line.as_bytes()).await?;
        stdin.flush().await
    }

    /// Asks the runner to interrupt the running calculation.
    ///
    /// # Errors
    /// When the runner's stdin is closed.
    pub async fn cancel(&mut self) -> std::io::Result<()> {
        self.send(&json!({"op": "cancel"})).await
    }

    /// The next event; `None` when the runner has exited. Cancel-safe.
    ///
    /// # Errors
    /// When its output cannot be read.
    pub async fn next_event(&mut self) -> std::io::Result<Option<RunnerEvent>> {
        while let Some(line) = self.events.next_line().await? {
            let Ok(value) = serde_json::from_str::<Value>(&line) else {
                tracing::debug!(line = %line, "runner wrote a line that is not JSON");
                continue;
            };
            match value.get("event").and_then(Value::as_str) {
                Some("ready") => return Ok(Some(RunnerEvent::Ready)),
                Some("failed") => {
                    let reason = value
                        .get("reason")
                        .and_then(Value::as_str)
                        .unwrap_or("the Spark runner failed to start")
                        .to_string();
                    return Ok(Some(RunnerEvent::Failed(reason)));
                }
                Some("done") => {
                    let report = serde_json::from_value(value).map_err(std::io::Error::other)?;
                    return Ok(Some(RunnerEvent::Done(report)));
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Stops the runner: end of input lets it stop Spark and exit; after `grace` it is killed.
    pub async fn stop(mut self, grace: Duration) {
        drop(self.stdin.take());
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            self.kill().await;
        }
    }

    /// Kills the runner (and with it the embedded engine) at once.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_slots_are_bounded() {
        let rt = SparkRuntime::new(Some(PathBuf::from("/nonexistent/python")), 2);
        let a = rt.register("a");
        let b = rt.register("b");
        assert!(a.is_some() && b.is_some());
        assert!(rt.register("c").is_none());
        rt.unregister("a");
        assert!(rt.register("c").is_some());
        assert!(rt.send("b", SessionCommand::Terminate));
        assert!(!rt.send("a", SessionCommand::Terminate));
        rt.stop_all();
        assert!(rt.live_ids().is_empty());
    }

    #[test]
    fn the_environment_points_at_the_emulator_as_the_account() {
        let env = runner_environment(
            "s-1",
            "http://127.0.0.1:1234",
            "111111111111",
            "eu-west-1",
            1200,
            &[("SAIL_PARQUET__COMPRESSION".into(), "snappy".into())],
            &[("spark.sql.ansi.enabled".to_string(), "false".to_string())]
                .into_iter()
                .collect(),
        );
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("111111111111"));
        assert_eq!(get("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get("AWS_ENDPOINT_URL"), Some("http://127.0.0.1:1234"));
        assert_eq!(get("AWS_ALLOW_HTTP"), Some("true"));
        assert_eq!(
            get("AWS_SESSION_TOKEN"),
            Some("cleanrooms-emulator-spark-session:s-1")
        );
        assert_eq!(get("SAIL_SPARK__SESSION_TIMEOUT_SECS"), Some("4800"));
        assert_eq!(
            get("CLEANROOMS_EMULATOR_SPARK_CONF"),
            Some(r#"{"spark.sql.ansi.enabled":"false"}"#)
        );
    }

    #[test]
    fn the_runner_script_is_written_once_and_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = materialise_runner(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), RUNNER_SOURCE);
        assert_eq!(materialise_runner(dir.path()).unwrap(), path);
    }
}
