//! Background runner for long work — protected queries and the populations of intermediate
//! tables. A job is a future started under an id; at most `max_concurrent` run at once (the rest
//! wait for a slot), and each can be cancelled by id. The runner keeps no durable state: a job
//! records its own status transitions in the metadata store, and after a restart the service
//! that owns the jobs marks the ones left unfinished as failed (see
//! `services::cleanrooms::workflows::settle::recover`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Default number of jobs running at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 4;

/// Tracks and bounds the background jobs of one emulator process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    slots: Arc<Semaphore>,
    running: Arc<Mutex<HashMap<String, CancellationToken>>>,
}

impl Jobs {
    /// A runner allowing `max_concurrent` jobs at once (at least one).
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            running: Arc::default(),
        }
    }

    /// Starts `work` in the background as job `id` once a slot is free. `work` receives a token
    /// that is cancelled when [`Jobs::cancel`] is called for `id`; it should stop promptly then.
    /// The job counts as running (for [`Jobs::is_running`]) from this call until `work` returns.
    pub fn spawn<F, Fut>(&self, id: &str, work: F)
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = CancellationToken::new();
        self.lock().insert(id.to_string(), token.clone());
        let slots = Arc::clone(&self.slots);
        let running = Arc::clone(&self.running);
        let id = id.to_string();
        tokio::spawn(async move {
            // A closed semaphore never happens (we never close it); run anyway if it did.
            let _permit = slots.acquire_owned().await.ok();
            work(token).await;
            if let Ok(mut map) = running.lock() {
                map.remove(&id);
            }
        });
    }

    /// Requests cancellation of job `id`; `false` when no such job is running.
    pub fn cancel(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Requests cancellation of every job (the admin reset).
    pub fn cancel_all(&self) {
        for token in self.lock().values() {
            token.cancel();
        }
    }

    /// Whether job `id` is queued or running in this process.
    pub fn is_running(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Number of jobs queued or running.
    pub fn active(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        // The map stays consistent even if a holder panicked: entries are independent.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for Jobs {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_CONCURRENT)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn bounds_concurrency_and_forgets_finished_jobs() {
        let jobs = Jobs::new(2);
        let current = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        for i in 0..6 {
            let (current, peak) = (Arc::clone(&current), Arc::clone(&peak));
            jobs.spawn(&format!("job-{i}"), move |_| async move {
                let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                current.fetch_sub(1, Ordering::SeqCst);
            });
        }
        assert_eq!(jobs.active(), 6);
        for _ in 0..100 {
            if jobs.active() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(jobs.active(), 0);
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn cancel_reaches_the_job() {
        let jobs = Jobs::new(1);
        let (tx, rx) = tokio::sync::oneshot::channel();
        jobs.spawn("q", move |token| async move {
            token.cancelled().await;
            let _ = tx.send(());
        });
        assert!(jobs.is_running("q"));
        assert!(jobs.cancel("q"));
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("job saw the cancellation")
            .expect("job finished");
        assert!(!jobs.cancel("unknown"));
    }
}
