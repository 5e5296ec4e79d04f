//! Starting and stopping the emulator: open the data dir and store, bind, announce readiness in
//! one line, serve until SIGINT/SIGTERM, then finish in-flight requests and return.
//! [`connections`] serves the accepted connections (with the header-read timeout).

pub mod connections;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::clock::EmulatorClock;
use crate::config::{default_data_dir, Config};
use crate::state::AppState;
use crate::store::cache::CachedStore;
use crate::store::reads::ReadChecked;
use crate::store::sqlite::SqliteStore;

/// Failures while starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be prepared.
    #[error("data dir {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    /// The metadata store could not be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(String, std::io::Error),
    /// Work a stopped process left unfinished could not be finished or rolled back.
    #[error("recovery: {0}")]
    Recovery(String),
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the state for `data_dir` (creating it) with `config`, and recovers whatever a stopped
/// process left unfinished before anything can use the state.
///
/// # Errors
/// When the directory or the store cannot be opened, or recovery fails.
pub async fn open_state(config: Config, data_dir: PathBuf) -> Result<AppState, ServeError> {
    std::fs::create_dir_all(&data_dir).map_err(|e| ServeError::DataDir(data_dir.clone(), e))?;
    let data_dir = data_dir
        .canonicalize()
        .map_err(|e| ServeError::DataDir(data_dir.clone(), e))?;
    let began = Instant::now();
    let store = SqliteStore::open(&data_dir.join("metadata.db")).await?;
    let offset = crate::admin::load_clock_offset(&store).await;
    let clock = Arc::new(EmulatorClock::with_offset(offset));
    let state = AppState::new(
        config,
        data_dir,
        Arc::new(ReadChecked::new(CachedStore::new(store))),
        clock,
    );
    tracing::info!(
        target: "cleanrooms_emulator::timings",
        ms = began.elapsed().as_secs_f64() * 1000.0,
        "start-up: metadata store opened (migrations, clock offset)"
    );
    recover(&state).await?;
    Ok(state)
}

/// For tests: a state with the default configuration in a fresh temporary data directory,
/// which lives as long as the returned handle.
#[cfg(test)]
pub async fn temp_state() -> (tempfile::TempDir, AppState) {
    let dir = tempfile::tempdir().unwrap();
    let state = open_state(Config::default(), dir.path().join("data"))
        .await
        .unwrap();
    (dir, state)
}

/// Runs every service's recovery ([`crate::services::recoveries`]) to completion, in
/// order, before the listener exists; the first failure stops the start, named by the recovery.
/// Each one's time is logged (`CLEANROOMS_EMULATOR_LOG=cleanrooms_emulator::timings=info`).
async fn recover(state: &AppState) -> Result<(), ServeError> {
    for recovery in crate::services::recoveries() {
        let began = Instant::now();
        (recovery.run)(state)
            .await
            .map_err(|e| ServeError::Recovery(format!("{}: {e}", recovery.name)))?;
        tracing::info!(
            target: "cleanrooms_emulator::timings",
            ms = began.elapsed().as_secs_f64() * 1000.0,
            "start-up: recovery of {}",
            recovery.name
        );
    }
    Ok(())
}

/// Runs the emulator until a shutdown signal.
///
/// # Errors
/// When startup fails or the server stops abnormally.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let temp = if config.ephemeral {
        Some(
            tempfile::Builder::new()
                .prefix("cleanrooms-emulator-")
                .tempdir()?,
        )
    } else {
        None
    };
    let data_dir = match (&temp, &config.data_dir) {
        (Some(t), _) => t.path().to_path_buf(),
        (None, Some(d)) => d.clone(),
        (None, None) => default_data_dir(),
    };
    // Before anything can answer: a signal from here on is a graceful stop.
    let shutdown = shutdown_signal();
    let state = open_state(config.clone(), data_dir).await?;
    // Intermediate tables expire on the emulator clock; reads check too, this catches the rest.
    let sweeper = crate::services::cleanrooms::spawn_sweeper(state.clone());
    // AUTOMATIC table services run as commits arrive.
    let scheduler = crate::services::onehouse::scheduler::spawn(state.clone());
    let addr = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| ServeError::Bind(addr.clone(), e))?;
    let local = listener.local_addr()?;
    // Spark runners call back to this address (a wildcard bind is reached over loopback).
    let callback = if local.ip().is_unspecified() {
        std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), local.port())
    } else {
        local
    };
    state.athena().set_endpoint(format!("http://{callback}"));
    // Athena sessions time out on the emulator clock.
    let idle_sweeper = crate::services::athena::lifecycle::spawn_idle_sweeper(state.clone());
    println!(
        "cleanrooms-emulator listening on http://{local} (data dir: {})",
        state.data_dir().display()
    );
    connections::serve(
        listener,
        crate::app(state.clone()),
        config.header_read_timeout,
        shutdown,
    )
    .await;
    sweeper.abort();
    scheduler.abort();
    idle_sweeper.abort();
    state.athena().stop_all();
    let unfinished = state
        .jobs()
        .shutdown(config.shutdown_grace, crate::jobs::CANCEL_GRACE)
        .await;
    if unfinished > 0 {
        tracing::warn!(
            unfinished,
            "analyses still running at exit; they fail at the next start"
        );
    }
    drop(temp);
    Ok(())
}

/// Resolves at the first SIGINT or SIGTERM. The handlers are installed here, when it is
/// called, not when the future is first polled: `serve` calls it before the listener answers
/// anything, so a signal sent right after the first health check stops the server gracefully
/// instead of killing it with the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |handler: std::io::Result<tokio::signal::unix::Signal>| async move {
                match handler {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            let (interrupt, terminate) = handlers;
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
