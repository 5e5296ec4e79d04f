//! Shared state of a running emulator: configuration, metadata store, clock and data directory.
//! Cheap to clone (one `Arc`).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::clock::{Clock, EmulatorClock};
use crate::config::Config;
use crate::jobs::Jobs;
use crate::storage::ManagedStorage;
use crate::store::MetadataStore;

/// Handle to everything a request needs.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    data_dir: PathBuf,
    store: Arc<dyn MetadataStore>,
    clock: Arc<EmulatorClock>,
    jobs: Jobs,
    storage: ManagedStorage,
    writes: Mutex<()>,
    dp_noise: crate::engine::noise::NoiseSeed,
    faults: crate::faults::Faults,
    athena: crate::services::athena::runtime::SparkRuntime,
}

impl AppState {
    /// Assembles the state.
    pub fn new(
        config: Config,
        data_dir: PathBuf,
        store: Arc<dyn MetadataStore>,
        clock: Arc<EmulatorClock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                jobs: Jobs::new(config.max_concurrent_jobs),
                storage: ManagedStorage::new(&data_dir),
                athena: crate::services::athena::runtime::SparkRuntime::new(
                    config.spark_python.clone(),
                    config.max_spark_sessions,
                ),
                config,
                data_dir,
                store,
                clock,
                writes: Mutex::new(()),
                dp_noise: crate::engine::noise::NoiseSeed::default(),
                faults: crate::faults::Faults::default(),
            }),
        }
    }

    /// Configuration of this process.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The data directory (metadata database, S3 objects, managed storage).
    pub fn data_dir(&self) -> &PathBuf {
        &self.inner.data_dir
    }

    /// The metadata store.
    pub fn store(&self) -> &dyn MetadataStore {
        self.inner.store.as_ref()
    }

    /// The emulator clock (for advancing it).
    pub fn emulator_clock(&self) -> &EmulatorClock {
        &self.inner.clock
    }

    /// The background job runner (protected queries, populations).
    pub fn jobs(&self) -> &Jobs {
        &self.inner.jobs
    }

    /// Managed storage (the data of intermediate tables). One per data dir: it serialises the
    /// operations on each table.
    pub fn storage(&self) -> &ManagedStorage {
        &self.inner.storage
    }

    /// Where differential-privacy noise comes from (seeded through the admin API).
    pub fn dp_noise(&self) -> &crate::engine::noise::NoiseSeed {
        &self.inner.dp_noise
    }

    /// The fault rules users set through `/_emulator/faults`.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.inner.faults
    }

    /// The Spark runtime of Athena sessions: their runner processes and its settings.
    pub fn athena(&self) -> &crate::services::athena::runtime::SparkRuntime {
        &self.inner.athena
    }

    /// Current emulator time in epoch seconds.
    pub fn now(&self) -> f64 {
        self.inner.clock.now()
    }

    /// Serialises read-check-write sequences: hold the guard from the first read that a decision
    /// depends on until the commit. Reads alone never take it.
    pub async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.inner.writes.lock().await
    }
}
