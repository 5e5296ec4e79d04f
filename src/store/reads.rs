//! Read-checked writes: within one request, every write of a record the request has read is
//! committed only if the record is still as it was read.
//!
//! A handler reads records, decides, and writes some of them back. Written with an unconditional
//! put, such a write would silently replace a change another writer (another request, a
//! background run, another replica of the emulator on the same database) committed in between —
//! a lost update that only the process-local write lock prevents today. [`ReadChecked`] wraps
//! the store so that this cannot happen whether or not the lock is held: inside [`checked`]
//! (the scope of one request), every record the request reads is remembered with the revision
//! it had (or as absent), and at commit every unconditional put ([`Expect::Any`]) of a
//! remembered record becomes a put at that revision ([`Expect::Revision`], or
//! [`Expect::Absent`] for a record read as missing). When another writer got in between, the
//! commit fails with [`StoreError::Conflict`] and writes nothing; the service answers with its
//! concurrent-modification error.
//!
//! What a request writes, it knows: after a successful commit the remembered revisions follow
//! its own writes, so a request may write the same record in several commits, and within one
//! batch only the first write of a record is checked (a later one follows it: a put after a
//! delete of the same record creates it anew). The latest read of a record is what its writes are
//! checked against — a workflow that reads again before deciding (after waiting for a lock, or
//! after a conflict) decides on what it read last. Puts with an explicit precondition keep it.
//! Outside [`checked`] — background runs, recovery, start-up — the store behaves as before.
//! Deletes carry no precondition, and a query's answer is not re-checked for records that
//! appeared since (a range, not a key, was read).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Expect, MetadataStore, Query, Record, StoreError, Write};
use crate::error::AwsError;

/// What a request read: each record's revision, or `None` for one read as absent.
type ReadSet = HashMap<(String, String), Option<i64>>;

/// How a service answers a request whose write lost a race ([`StoreError::Conflict`]): its own
/// concurrent-modification error.
pub type ConflictAnswer = fn(&StoreError) -> AwsError;

/// The request a task runs for: what it read and how its service answers a conflict.
struct Request {
    reads: RefCell<ReadSet>,
    answer: ConflictAnswer,
}

tokio::task_local! {
    static REQUEST: Request;
}

/// Runs `request` with its writes checked against its reads (see the module documentation); a
/// conflict it does not handle itself becomes `answer`'s error.
pub async fn checked<F: Future>(answer: ConflictAnswer, request: F) -> F::Output {
    let scope = Request {
        reads: RefCell::new(ReadSet::new()),
        answer,
    };
    REQUEST.scope(scope, request).await
}

/// The current request's answer to conflict `e`, inside [`checked`].
pub fn answer(e: &StoreError) -> Option<AwsError> {
    REQUEST.try_with(|r| (r.answer)(e)).ok()
}

/// Remembers that the current request (if any) read `kind`/`id` at `revision` (`None`: absent).
/// The latest read counts.
fn remember(kind: &str, id: &str, revision: Option<i64>) {
    let _ = REQUEST.try_with(|r| {
        r.reads
            .borrow_mut()
            .insert((kind.to_string(), id.to_string()), revision);
    });
}

/// Whether the current task is a request with checked writes.
fn in_request() -> bool {
    REQUEST.try_with(|_| ()).is_ok()
}

/// `writes` with every unconditional put of a record the current request read made
/// conditional on what it read; a record written earlier in the same batch is not checked again
/// (after a delete in the batch, a put of it must create it). Only inside [`checked`].
fn check_against_reads(writes: Vec<Write>) -> Vec<Write> {
    REQUEST.with(|r| {
        let reads = r.reads.borrow();
        // What the batch's earlier writes left of each record: `true` when deleted.
        let mut earlier: HashMap<(String, String), bool> = HashMap::new();
        writes
            .into_iter()
            .map(|write| {
                let key = {
                    let (kind, id) = write.key();
                    (kind.to_string(), id.to_string())
                };
                let deleted = matches!(write, Write::Delete { .. });
                let checked = match write {
                    Write::Put {
                        record,
                        expect: Expect::Any,
                    } => {
                        let expect = match (earlier.get(&key), reads.get(&key)) {
                            (Some(true), _) => Expect::Absent,
                            (Some(false), _) | (None, None) => Expect::Any,
                            (None, Some(Some(revision))) => Expect::Revision(*revision),
                            (None, Some(None)) => Expect::Absent,
                        };
                        Write::Put { record, expect }
                    }
                    other => other,
                };
                earlier.insert(key, deleted);
                checked
            })
            .collect()
    })
}

/// After a commit of `written` (each key with the precondition it was committed under): on
/// success the request's reads follow its own writes; on a conflict the conflicting record is
/// forgotten, so that a retry is checked against what it reads next.
fn after_commit(written: &[(String, String, Option<Expect>)], result: &Result<(), StoreError>) {
    let _ = REQUEST.try_with(|r| {
        let mut reads = r.reads.borrow_mut();
        match result {
            Ok(()) => {
                for (kind, id, expect) in written {
                    let key = (kind.clone(), id.clone());
                    match expect {
                        // A delete leaves the record absent.
                        None => {
                            reads.insert(key, None);
                        }
                        Some(Expect::Revision(n)) => {
                            reads.insert(key, Some(n + 1));
                        }
                        Some(Expect::Absent) => {
                            reads.insert(key, Some(1));
                        }
                        // The revision an unconditional put reached is not known.
                        Some(Expect::Any) => {
                            reads.remove(&key);
                        }
                    }
                }
            }
            Err(StoreError::Conflict { kind, id, .. }) => {
                reads.remove(&(kind.clone(), id.clone()));
            }
            Err(_) => {}
        }
    });
}

/// A store whose writes are checked against the current request's reads (see the module
/// documentation).
#[derive(Debug)]
pub struct ReadChecked<S> {
    inner: S,
}

impl<S> ReadChecked<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait]
impl<S: MetadataStore> MetadataStore for ReadChecked<S> {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Arc<Record>>, StoreError> {
        let found = self.inner.get(kind, id).await?;
        remember(kind, id, found.as_ref().map(|r| r.revision));
        Ok(found)
    }

    async fn query(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        let found = self.inner.query(query).await?;
        for r in &found {
            remember(&r.kind, &r.id, Some(r.revision));
        }
        Ok(found)
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if !in_request() {
            return self.inner.commit(writes).await;
        }
        let writes = check_against_reads(writes);
        let written: Vec<(String, String, Option<Expect>)> = writes
            .iter()
            .map(|w| match w {
                Write::Put { record, expect } => {
                    (record.kind.clone(), record.id.clone(), Some(*expect))
                }
                Write::Delete { kind, id } => (kind.clone(), id.clone(), None),
            })
            .collect();
        let result = self.inner.commit(writes).await;
        after_commit(&written, &result);
        result
    }

    async fn reset(&self) -> Result<(), StoreError> {
        self.inner.reset().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::racing::RacingStore;
    use crate::store::sqlite::SqliteStore;

    fn internal(e: &StoreError) -> AwsError {
        AwsError::internal(e.to_string())
    }

    use crate::store::test_record as record;

    /// Commits record `id` with `n` to `store`, unconditionally.
    async fn put(store: &impl MetadataStore, id: &str, n: i64) {
        store.commit(vec![Write::put(record(id, n))]).await.unwrap();
    }

    async fn store() -> (tempfile::TempDir, ReadChecked<RacingStore>) {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        (dir, ReadChecked::new(RacingStore::new(sqlite)))
    }

    async fn n_of(store: &impl MetadataStore, id: &str) -> Option<i64> {
        let r = store.get("thing", id).await.unwrap()?;
        r.body["n"].as_i64()
    }

    #[tokio::test]
    async fn a_write_over_a_change_made_since_the_read_fails_and_writes_nothing() {
        let (_dir, store) = store().await;
        let racing = store.inner();
        store
            .commit(vec![Write::put(record("a", 1)), Write::put(record("b", 1))])
            .await
            .unwrap();
        let result = checked(internal, async {
            store.get("thing", "a").await.unwrap();
            racing.interfere(vec![Write::put(record("a", 2))]);
            store
                .commit(vec![Write::put(record("a", 3)), Write::put(record("b", 3))])
                .await
        })
        .await;
        match result {
            Err(StoreError::Conflict {
                kind,
                id,
                expected,
                found,
            }) => {
                assert_eq!((kind.as_str(), id.as_str()), ("thing", "a"));
                assert_eq!(expected, Expect::Revision(1));
                assert_eq!(found, Some(2));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(n_of(&store, "a").await, Some(2));
        assert_eq!(n_of(&store, "b").await, Some(1));
    }

    #[tokio::test]
    async fn a_record_read_as_absent_must_still_be_absent() {
        let (_dir, store) = store().await;
        let racing = store.inner();
        let result = checked(internal, async {
            assert!(store.get("thing", "a").await.unwrap().is_none());
            racing.interfere(vec![Write::put(record("a", 2))]);
            store.commit(vec![Write::put(record("a", 3))]).await
        })
        .await;
        assert!(result.unwrap_err().is_conflict());
        assert_eq!(n_of(&store, "a").await, Some(2));
    }

    #[tokio::test]
    async fn a_conflict_is_answered_as_the_request_s_service_answers_it() {
        fn busy(e: &StoreError) -> AwsError {
            AwsError::new("ConcurrentModificationException", 400, e.to_string())
        }
        let conflict = StoreError::Conflict {
            kind: "thing".into(),
            id: "a".into(),
            expected: Expect::Revision(1),
            found: Some(2),
        };
        assert!(answer(&conflict).is_none());
        let e = checked(busy, async { answer(&conflict) }).await.unwrap();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("ConcurrentModificationException", 400)
        );
        let e: AwsError = checked(busy, async { conflict.into() }).await;
        assert_eq!(e.code, "ConcurrentModificationException");
    }

    #[tokio::test]
    async fn records_read_through_a_query_are_checked_too() {
        let (_dir, store) = store().await;
        let racing = store.inner();
        put(&store, "a", 1).await;
        let result = checked(internal, async {
            let found = store.query(&Query::kind("thing")).await.unwrap();
            assert_eq!(found.len(), 1);
            racing.interfere(vec![Write::put(record("a", 2))]);
            store.commit(vec![Write::put(record("a", 3))]).await
        })
        .await;
        assert!(result.unwrap_err().is_conflict());
    }

    #[tokio::test]
    async fn a_request_may_write_what_it_read_several_times() {
        let (_dir, store) = store().await;
        put(&store, "a", 1).await;
        checked(internal, async {
            store.get("thing", "a").await.unwrap();
            assert!(store.get("thing", "new").await.unwrap().is_none());
            for n in 2..5 {
                store
                    .commit(vec![
                        Write::put(record("a", n)),
                        Write::put(record("new", n)),
                    ])
                    .await
                    .unwrap();
            }
            store
                .commit(vec![Write::Delete {
                    kind: "thing".into(),
                    id: "new".into(),
                }])
                .await
                .unwrap();
            put(&store, "new", 9).await;
        })
        .await;
        assert_eq!(n_of(&store, "a").await, Some(4));
        assert_eq!(n_of(&store, "new").await, Some(9));
    }

    #[tokio::test]
    async fn a_record_deleted_and_stored_again_in_one_batch_is_checked_once() {
        let (_dir, store) = store().await;
        put(&store, "a", 1).await;
        checked(internal, async {
            store.get("thing", "a").await.unwrap();
            let delete = Write::Delete {
                kind: "thing".into(),
                id: "a".into(),
            };
            store
                .commit(vec![delete, Write::put(record("a", 2))])
                .await
                .unwrap();
            // The batch left it at revision 1 (created anew); the request knows.
            put(&store, "a", 3).await;
        })
        .await;
        let a = store.get("thing", "a").await.unwrap().unwrap();
        assert_eq!((a.revision, a.body["n"].as_i64()), (2, Some(3)));
    }

    #[tokio::test]
    async fn a_read_again_decides_the_check() {
        let (_dir, store) = store().await;
        let racing = store.inner();
        put(&store, "a", 1).await;
        checked(internal, async {
            store.get("thing", "a").await.unwrap();
            // Another writer changes it; the request reads it again before deciding.
            put(racing, "a", 2).await;
            assert_eq!(store.get("thing", "a").await.unwrap().unwrap().revision, 2);
            put(&store, "a", 3).await;
        })
        .await;
        assert_eq!(n_of(&store, "a").await, Some(3));
    }

    #[tokio::test]
    async fn after_a_conflict_a_fresh_read_decides() {
        let (_dir, store) = store().await;
        let racing = store.inner();
        put(&store, "a", 1).await;
        checked(internal, async {
            store.get("thing", "a").await.unwrap();
            racing.interfere(vec![Write::put(record("a", 2))]);
            let lost = store.commit(vec![Write::put(record("a", 3))]).await;
            assert!(lost.unwrap_err().is_conflict());
            let again = store.get("thing", "a").await.unwrap().unwrap();
            assert_eq!(again.revision, 2);
            put(&store, "a", 3).await;
        })
        .await;
        assert_eq!(n_of(&store, "a").await, Some(3));
    }

    #[tokio::test]
    async fn explicit_preconditions_and_writes_outside_a_request_are_unchanged() {
        let (_dir, store) = store().await;
        let racing = store.inner();
        put(&store, "a", 1).await;
        // Outside a request: an unconditional put stays unconditional.
        store.get("thing", "a").await.unwrap();
        racing.interfere(vec![Write::put(record("a", 2))]);
        put(&store, "a", 3).await;
        assert_eq!(n_of(&store, "a").await, Some(3));
        // Inside: an explicit precondition is the writer's own.
        checked(internal, async {
            store.get("thing", "a").await.unwrap();
            racing.interfere(vec![Write::put(record("a", 4))]);
            store
                .commit(vec![Write::put_if(record("a", 5), Expect::Revision(4))])
                .await
                .unwrap();
        })
        .await;
        assert_eq!(n_of(&store, "a").await, Some(5));
    }
}
