//! Background runner for long work — protected queries and the populations of intermediate
//! tables. A job is a future started under an id; at most `max_concurrent` run at once (the rest
//! wait for a slot), and each can be cancelled by id. The runner keeps no durable state: a job
//! records its own status transitions in the metadata store, and after a restart the service
//! that owns the jobs marks the ones left unfinished as failed (its startup recovery, see
//! `services::recoveries`).
//!
//! A job is a value implementing [`Job`] (its id and how it runs), started with [`Jobs::start`].
//! When the server stops, [`Jobs::shutdown`] lets running jobs finish for a grace period
//! (`--shutdown-grace-seconds`), then stops the rest and waits (bounded) until they have
//! recorded how they ended — as failed by the shutdown ([`Jobs::shutting_down`]), not as
//! cancelled by a user — so a SIGTERM during a run leaves it finished or failed with a reason
//! rather than abandoned.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub mod recovery;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// Default number of jobs running at once.
pub const DEFAULT_MAX_CONCURRENT: usize = 4;

/// How long [`Jobs::shutdown`] lets running jobs finish on their own before stopping them, by
/// default (`--shutdown-grace-seconds`).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long [`Jobs::shutdown`] waits for cancelled jobs to record how they ended.
pub const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// A unit of background work with an id.
pub trait Job: Send + 'static {
    /// The id the job runs under ([`Jobs::cancel`], [`Jobs::is_running`]).
    fn id(&self) -> String;

    /// Runs the job to its end. `token` is cancelled when the job must stop; the job should
    /// then stop promptly and record that it was cancelled.
    fn run(self, token: CancellationToken) -> impl Future<Output = ()> + Send;

    /// The group whose ongoing jobs count against a quota together ([`Jobs::ongoing_in`]), e.g.
    /// one membership's protected queries; `None` (the default) for jobs without a quota.
    fn quota_group(&self) -> Option<String> {
        None
    }
}

/// One queued or running job: how to stop it and the quota group it counts in.
#[derive(Debug)]
struct Entry {
    token: CancellationToken,
    group: Option<String>,
}

/// Tracks and bounds the background jobs of one emulator process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Jobs {
    slots: Arc<Semaphore>,
    running: Arc<Mutex<HashMap<String, Entry>>>,
    /// Woken whenever the last running job ends.
    idle: Arc<Notify>,
    /// Set by [`Jobs::shutdown`] before it stops the jobs still running.
    shutting_down: Arc<AtomicBool>,
}

impl Jobs {
    /// A runner allowing `max_concurrent` jobs at once (at least one).
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            running: Arc::default(),
            idle: Arc::default(),
            shutting_down: Arc::default(),
        }
    }

    /// Whether the jobs are being stopped because the process ends: a job whose token is
    /// cancelled then records that it failed with the shutdown, not that a user cancelled it.
    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Starts `job` in the background once a slot is free (see [`Jobs::spawn`]).
    pub fn start<J: Job>(&self, job: J) {
        let id = job.id();
        let group = job.quota_group();
        self.spawn_in(&id, group, move |token| job.run(token));
    }

    /// Starts `work` in the background as job `id` once a slot is free. `work` receives a token
    /// that is cancelled when [`Jobs::cancel`] is called for `id`; it should stop promptly then.
    /// The job counts as running (for [`Jobs::is_running`]) from this call until `work` returns.
    pub fn spawn<F, Fut>(&self, id: &str, work: F)
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.spawn_in(id, None, work);
    }

    fn spawn_in<F, Fut>(&self, id: &str, group: Option<String>, work: F)
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let token = CancellationToken::new();
        self.lock().insert(
            id.to_string(),
            Entry {
                token: token.clone(),
                group,
            },
        );
        let slots = Arc::clone(&self.slots);
        let running = Arc::clone(&self.running);
        let idle = Arc::clone(&self.idle);
        let id = id.to_string();
        tokio::spawn(async move {
            // A closed semaphore never happens (we never close it); run anyway if it did.
            let _permit = slots.acquire_owned().await.ok();
            work(token).await;
            let mut map = running.lock().unwrap_or_else(|e| e.into_inner());
            map.remove(&id);
            if map.is_empty() {
                idle.notify_waiters();
            }
        });
    }

    /// Waits until no job is queued or running, at most `limit`; whether that happened.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                // Created before the check, so a job ending in between still wakes it.
                let ended = self.idle.notified();
                if self.active() == 0 {
                    return;
                }
                ended.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    /// The end of the process: lets running jobs finish for `grace`, then cancels the rest and
    /// waits up to `cancel_grace` for them to record their end. Returns how many were still
    /// running after that (a restart's recovery fails those).
    pub async fn shutdown(&self, grace: Duration, cancel_grace: Duration) -> usize {
        if self.wait_idle(grace).await {
            return 0;
        }
        tracing::info!(
            jobs = self.active(),
            "shutting down: stopping the analyses still running"
        );
        self.shutting_down.store(true, Ordering::Release);
        self.cancel_all();
        self.wait_idle(cancel_grace).await;
        self.active()
    }

    /// Requests cancellation of job `id`; `false` when no such job is running.
    pub fn cancel(&self, id: &str) -> bool {
        match self.lock().get(id) {
            Some(entry) => {
                entry.token.cancel();
                true
            }
            None => false,
        }
    }

    /// Requests cancellation of every job (the admin reset).
    pub fn cancel_all(&self) {
        for entry in self.lock().values() {
            entry.token.cancel();
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

    /// Stops counting job `id` against its quota group ([`Jobs::ongoing_in`]) although its task
    /// may still be winding down: called once its end is recorded, so that a client that has
    /// seen the job end is never refused by the quota for it.
    pub fn release_quota(&self, id: &str) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.group = None;
        }
    }

    /// Number of jobs of quota group `group` ([`Job::quota_group`]) queued or running. A job
    /// counts from [`Jobs::start`] until its end is recorded ([`Jobs::release_quota`]) or its
    /// run has returned.
    pub fn ongoing_in(&self, group: &str) -> usize {
        self.lock()
            .values()
            .filter(|e| e.group.as_deref() == Some(group))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
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

    /// A job that ends when `release` fires, or, when cancelled, reports that on `cancelled`.
    struct Waiting {
        release: tokio::sync::oneshot::Receiver<()>,
        cancelled: tokio::sync::mpsc::UnboundedSender<&'static str>,
    }

    impl Job for Waiting {
        fn id(&self) -> String {
            "waiting".to_string()
        }

        async fn run(self, token: CancellationToken) {
            tokio::select! {
                _ = self.release => {
                    let _ = self.cancelled.send("finished");
                }
                () = token.cancelled() => {
                    let _ = self.cancelled.send("cancelled");
                }
            }
        }
    }

    #[tokio::test]
    async fn shutdown_lets_jobs_finish_then_cancels_the_rest() {
        let jobs = Jobs::new(2);
        let (release, rx) = tokio::sync::oneshot::channel();
        let (tx, mut ends) = tokio::sync::mpsc::unbounded_channel();
        jobs.start(Waiting {
            release: rx,
            cancelled: tx.clone(),
        });
        assert!(jobs.is_running("waiting"));
        // A job that ends within the grace period finishes on its own.
        release.send(()).unwrap();
        assert_eq!(
            jobs.shutdown(Duration::from_secs(30), Duration::from_secs(30))
                .await,
            0
        );
        assert_eq!(ends.recv().await, Some("finished"));

        // A job that would run on is cancelled and waited for.
        let (_keep, rx) = tokio::sync::oneshot::channel::<()>();
        jobs.start(Waiting {
            release: rx,
            cancelled: tx,
        });
        assert_eq!(
            jobs.shutdown(Duration::ZERO, Duration::from_secs(30)).await,
            0
        );
        assert_eq!(ends.recv().await, Some("cancelled"));
        assert_eq!(jobs.active(), 0);
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

    /// A job of a quota group that runs until it is cancelled.
    struct Grouped(&'static str, &'static str);

    impl Job for Grouped {
        fn id(&self) -> String {
            self.0.to_string()
        }

        fn quota_group(&self) -> Option<String> {
            Some(self.1.to_string())
        }

        async fn run(self, token: CancellationToken) {
            token.cancelled().await;
        }
    }

    #[tokio::test]
    async fn ongoing_jobs_are_counted_by_quota_group_until_they_end() {
        let jobs = Jobs::new(4);
        jobs.start(Grouped("q1", "m1"));
        jobs.start(Grouped("q2", "m1"));
        jobs.start(Grouped("q3", "m2"));
        jobs.spawn("plain", |token| async move { token.cancelled().await });
        assert_eq!(jobs.ongoing_in("m1"), 2);
        assert_eq!(jobs.ongoing_in("m2"), 1);
        assert_eq!(jobs.ongoing_in("other"), 0);
        jobs.release_quota("q2");
        assert_eq!(jobs.ongoing_in("m1"), 1);
        jobs.release_quota("q2");
        assert_eq!(jobs.ongoing_in("m1"), 1);
        // A cancelled job stops counting once it has ended.
        jobs.cancel("q1");
        let ended = async {
            while jobs.ongoing_in("m1") != 1 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), ended)
            .await
            .expect("the cancelled job stops counting");
        jobs.cancel_all();
    }
}
