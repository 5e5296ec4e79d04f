//! Run-time configuration of `cleanrooms-emulator serve` (flags and `CLEANROOMS_EMULATOR_*`
//! environment variables).

use std::path::PathBuf;

/// Default of [`Config::max_request_body_bytes`]: 10 MiB, the payload limit of the API front
/// ends of the JSON services.
pub const DEFAULT_MAX_REQUEST_BODY_BYTES: usize = 10 * 1024 * 1024;

/// Default of [`Config::header_read_timeout`]: 30 s, hyper's own default once a timer is set.
pub const DEFAULT_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Settings of one emulator process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Interface to bind.
    pub host: String,
    /// Port to bind (`0` = any free port).
    pub port: u16,
    /// Directory holding metadata and data; `None` with `ephemeral` means a temporary directory.
    pub data_dir: Option<PathBuf>,
    /// Use a temporary data directory removed on exit.
    pub ephemeral: bool,
    /// Region for requests whose credential scope names none.
    pub region: String,
    /// Account for access keys that are not 12-digit account ids.
    pub default_account: String,
    /// Protected queries and populations running at once (the rest wait).
    pub max_concurrent_jobs: usize,
    /// Largest request body read for the JSON and query protocols (S3 object bodies are
    /// streamed and exempt); a larger one gets HTTP 413 without being read further.
    pub max_request_body_bytes: usize,
    /// How long a client may take to send a request's headers (counted from when the
    /// connection starts waiting for the request; an idle keep-alive connection is closed after
    /// as long): a slower or stalled client has its connection closed.
    pub header_read_timeout: std::time::Duration,
    /// How long SIGTERM lets running analyses finish before they are stopped and recorded as
    /// failed by the shutdown.
    pub shutdown_grace: std::time::Duration,
    /// Python interpreter of the Spark runtime (Athena sessions); `None` = the repository's own
    /// `.venv` when it exists.
    pub spark_python: Option<PathBuf>,
    /// Athena Spark sessions running at once (more are refused with TooManyRequestsException).
    pub max_spark_sessions: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 4580,
            data_dir: None,
            ephemeral: false,
            region: "us-east-1".into(),
            default_account: "123456789012".into(),
            max_concurrent_jobs: crate::jobs::DEFAULT_MAX_CONCURRENT,
            max_request_body_bytes: DEFAULT_MAX_REQUEST_BODY_BYTES,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            shutdown_grace: crate::jobs::SHUTDOWN_GRACE,
            spark_python: None,
            max_spark_sessions: crate::services::athena::runtime::DEFAULT_MAX_SESSIONS,
        }
    }
}

/// Where the data directory is when neither `--data-dir` nor `--ephemeral` is given.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("cleanrooms-emulator")
}
