//! The `cleanrooms-emulator` command line: `serve` runs the emulator.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use cleanrooms_emulator::config::Config;

/// The process allocator: mimalloc serves the many small, short-lived allocations of request
/// handling and query execution with less CPU than the C library's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cleanrooms-emulator",
    version,
    about = "A local AWS Clean Rooms emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the emulator on one endpoint for every service.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Interface to listen on.
    #[arg(long, env = "CLEANROOMS_EMULATOR_HOST", default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 = any free port).
    #[arg(long, env = "CLEANROOMS_EMULATOR_PORT", default_value_t = 4580)]
    port: u16,
    /// Directory for metadata and data (default: $XDG_DATA_HOME/cleanrooms-emulator).
    #[arg(
        long,
        env = "CLEANROOMS_EMULATOR_DATA_DIR",
        conflicts_with = "ephemeral"
    )]
    data_dir: Option<PathBuf>,
    /// Use a temporary data directory, removed on exit.
    #[arg(long, env = "CLEANROOMS_EMULATOR_EPHEMERAL")]
    ephemeral: bool,
    /// Region for requests whose signature names none.
    #[arg(long, env = "CLEANROOMS_EMULATOR_REGION", default_value = "us-east-1")]
    region: String,
    /// Account for access keys that are not 12-digit account ids.
    #[arg(long, env = "CLEANROOMS_EMULATOR_DEFAULT_ACCOUNT", default_value = "123456789012", value_parser = parse_account)]
    default_account: String,
    /// Protected queries and intermediate-table populations running at once (others wait).
    #[arg(long, env = "CLEANROOMS_EMULATOR_MAX_CONCURRENT_JOBS", default_value_t = cleanrooms_emulator::jobs::DEFAULT_MAX_CONCURRENT as u16, value_parser = clap::value_parser!(u16).range(1..=256))]
    max_concurrent_jobs: u16,
    /// Largest request body of the JSON and query protocols, in bytes (S3 object bodies are
    /// exempt); a larger request gets HTTP 413.
    #[arg(long, env = "CLEANROOMS_EMULATOR_MAX_REQUEST_BODY_BYTES", default_value_t = cleanrooms_emulator::config::DEFAULT_MAX_REQUEST_BODY_BYTES as u64, value_parser = clap::value_parser!(u64).range(1024..=(1u64 << 32)))]
    max_request_body_bytes: u64,
    /// Seconds a client may take to send a request's headers; a slower or stalled client (and
    /// a keep-alive connection idle for as long) has its connection closed.
    #[arg(long, env = "CLEANROOMS_EMULATOR_HEADER_READ_TIMEOUT_SECONDS", default_value_t = cleanrooms_emulator::config::DEFAULT_HEADER_READ_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_read_timeout_seconds: u64,
    /// Seconds SIGTERM lets running analyses finish before it stops them (they end FAILED with
    /// the reason).
    #[arg(long, env = "CLEANROOMS_EMULATOR_SHUTDOWN_GRACE_SECONDS", default_value_t = cleanrooms_emulator::jobs::SHUTDOWN_GRACE.as_secs(), value_parser = clap::value_parser!(u64).range(0..=3600))]
    shutdown_grace_seconds: u64,
    /// Python interpreter with the Spark runtime (python/requirements-spark.txt, or the wheel's
    /// `[spark]` extra) for Athena Spark sessions and PySpark jobs (default: the `python` beside
    /// this executable, as in the virtualenv the wheel was installed into, else the
    /// repository's .venv when present).
    #[arg(long, env = "CLEANROOMS_EMULATOR_SPARK_PYTHON")]
    spark_python: Option<PathBuf>,
    /// Athena Spark sessions running at once (each is a process of ~250 MB).
    #[arg(long, env = "CLEANROOMS_EMULATOR_MAX_SPARK_SESSIONS", default_value_t = cleanrooms_emulator::services::athena::runtime::DEFAULT_MAX_SESSIONS as u16, value_parser = clap::value_parser!(u16).range(1..=256))]
    max_spark_sessions: u16,
}

fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!("'{s}' is not a 12-digit AWS account id"))
    }
}

/// Caps glibc's malloc at two arenas unless `MALLOC_ARENA_MAX` says otherwise. With one arena
/// per thread (glibc's default, up to eight per core) memory freed by the request and job
/// threads stays spread over many arenas and RSS creeps up under load; two keep it flat (the
/// soak's figures are in docs/reliability.md).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first in `main`, before any other thread exists; mallopt only tunes
        // the allocator.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLEANROOMS_EMULATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,s3s=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = cli.command;
    let config = Config {
        host: args.host,
        port: args.port,
        data_dir: args.data_dir,
        ephemeral: args.ephemeral,
        region: args.region,
        default_account: args.default_account,
        max_concurrent_jobs: usize::from(args.max_concurrent_jobs),
        max_request_body_bytes: usize::try_from(args.max_request_body_bytes).unwrap_or(usize::MAX),
        header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout_seconds),
        shutdown_grace: std::time::Duration::from_secs(args.shutdown_grace_seconds),
        spark_python: args.spark_python,
        max_spark_sessions: usize::from(args.max_spark_sessions),
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cleanrooms-emulator: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cleanrooms_emulator::server::serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cleanrooms-emulator: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
