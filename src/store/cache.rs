//! A read-through cache in front of a [`MetadataStore`]: point reads (`get`) are served from
//! memory after the first load; every commit invalidates the keys it writes before returning.
//! Queries always go to the backend. A generation counter keeps a read that raced with a commit
//! from caching the value the commit replaced. Cached records are the backend's, revision
//! included, so a read-modify-write through the cache expects the revision the backend holds.
//! A failed commit (a [`StoreError::Conflict`] too) invalidates its keys as well: the backend
//! wrote nothing, but a conflict means another writer changed the record behind this cache,
//! and the retry must read what it wrote.
//!
//! The cache is bounded by the (estimated) memory its entries hold, not by their number: records
//! differ in size by orders of magnitude, and a list that touches every record of a growing
//! history once (ListCollaborations walking an account's deleted collaborations) would otherwise
//! keep all of them. When an insert would pass [`MAX_BYTES`] the cache starts over empty.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use super::{MetadataStore, Query, Record, StoreError, Write};

type Key = (String, String);

/// Caching wrapper around a store.
#[derive(Debug)]
pub struct CachedStore<S> {
    inner: S,
    cache: RwLock<Cache>,
}

/// A cached answer to a point read (the record, or that there is none) with its [`weight`].
type Entry = (Option<Arc<Record>>, usize);

#[derive(Debug, Default)]
struct Cache {
    generation: u64,
    /// Each entry by kind, then id (looked up by `&str`, without building a key).
    entries: HashMap<String, HashMap<String, Entry>>,
    /// The sum of the entries' weights.
    bytes: usize,
}

impl Cache {
    fn get(&self, kind: &str, id: &str) -> Option<&Entry> {
        self.entries.get(kind)?.get(id)
    }

    fn remove(&mut self, kind: &str, id: &str) {
        if let Some((_, w)) = self.entries.get_mut(kind).and_then(|ids| ids.remove(id)) {
            self.bytes -= w;
        }
    }

    fn insert(&mut self, kind: &str, id: &str, entry: Entry) {
        self.bytes += entry.1;
        self.entries
            .entry(kind.to_string())
            .or_default()
            .insert(id.to_string(), entry);
    }

    fn clear(&mut self) {
        // A fresh map: a cleared one would keep its table at the high-water mark.
        self.entries = HashMap::new();
        self.bytes = 0;
    }
}

/// Estimated bytes the cache may hold (4 MiB: thousands of typical records); past it the cache
/// is cleared. A soak of 64 clients grew RSS by a third in two minutes with a bound of 100,000
/// entries (docs/reliability.md, "Soak").
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Rough heap bytes of one JSON value node (the enum, plus its share of a map or vector).
const VALUE_NODE: usize = 48;
/// Rough heap bytes of one object member beyond its key and value (ordered map entry, index).
const MEMBER: usize = 48;
/// Rough bytes of a cache entry beyond its strings and body (key tuple, record, table slot).
const ENTRY: usize = 160;

/// The estimated heap bytes of a cache entry for `key` holding `record`.
fn weight(kind: &str, id: &str, record: Option<&Record>) -> usize {
    let strings = kind.len() + id.len();
    ENTRY
        + strings
        + record.map_or(0, |r| {
            r.kind.len()
                + r.id.len()
                + r.region.len()
                + r.account.len()
                + r.parent.as_ref().map_or(0, String::len)
                + value_weight(&r.body)
        })
}

/// The estimated heap bytes of a JSON value.
fn value_weight(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    VALUE_NODE
        + match value {
            Value::String(s) => s.len(),
            Value::Array(items) => items.iter().map(value_weight).sum(),
            Value::Object(members) => members
                .iter()
                .map(|(k, v)| MEMBER + k.len() + value_weight(v))
                .sum(),
            Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        }
}

impl<S: MetadataStore> CachedStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            cache: RwLock::new(Cache::default()),
        }
    }

    fn invalidate(&self, keys: impl IntoIterator<Item = Key>, all: bool) {
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.generation += 1;
        if all {
            cache.clear();
        } else {
            for (kind, id) in keys {
                cache.remove(&kind, &id);
            }
        }
    }
}

#[async_trait]
impl<S: MetadataStore> MetadataStore for CachedStore<S> {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Arc<Record>>, StoreError> {
        let generation = {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((hit, _)) = cache.get(kind, id) {
                return Ok(hit.clone());
            }
            cache.generation
        };
        let loaded = self.inner.get(kind, id).await?;
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.generation == generation {
            let w = weight(kind, id, loaded.as_deref());
            // Replaced only by a racing read of the same generation: the same record.
            cache.remove(kind, id);
            if cache.bytes + w > MAX_BYTES {
                cache.clear();
            }
            if w <= MAX_BYTES {
                cache.insert(kind, id, (loaded.clone(), w));
            }
        }
        Ok(loaded)
    }

    async fn query(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        self.inner.query(query).await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let keys: Vec<Key> = writes
            .iter()
            .map(|w| {
                let (kind, id) = w.key();
                (kind.to_string(), id.to_string())
            })
            .collect();
        let result = self.inner.commit(writes).await;
        // Invalidate even on failure: the backend may or may not have applied it.
        self.invalidate(keys, false);
        result
    }

    async fn reset(&self) -> Result<(), StoreError> {
        let result = self.inner.reset().await;
        self.invalidate(Vec::new(), true);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::Expect;
    use serde_json::json;

    #[tokio::test]
    async fn a_shared_record_is_decoded_once_per_type() {
        let dir = tempfile::tempdir().unwrap();
        let store = CachedStore::new(SqliteStore::open(&dir.path().join("m.db")).await.unwrap());
        let r = Record::new("k", "a", "r", "acct", None, json!({"v": 1}));
        store.commit(vec![Write::put(r)]).await.unwrap();
        let first = store.get("k", "a").await.unwrap().unwrap();
        let value: serde_json::Map<String, serde_json::Value> =
            crate::store::decode_shared(&first).unwrap();
        assert_eq!(value["v"], 1);
        // The same cached record, with its decoded value kept.
        let again = store.get("k", "a").await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(again.decoded.0.get().is_some());
        let value: serde_json::Map<String, serde_json::Value> =
            crate::store::decode_shared(&again).unwrap();
        assert_eq!(value["v"], 1);
        // Another type still decodes (from the body), and a clone starts without the value.
        let other: serde_json::Value = crate::store::decode_shared(&again).unwrap();
        assert_eq!(other, json!({"v": 1}));
        assert!(Record::clone(&again).decoded.0.get().is_none());
        // A commit replaces the cached record: the next read decodes the new body.
        let mut r2 = Record::new("k", "a", "r", "acct", None, json!({"v": 2}));
        r2.revision = 0;
        store.commit(vec![Write::put(r2)]).await.unwrap();
        let fresh = store.get("k", "a").await.unwrap().unwrap();
        let value: serde_json::Map<String, serde_json::Value> =
            crate::store::decode_shared(&fresh).unwrap();
        assert_eq!(value["v"], 2);
    }

    #[tokio::test]
    async fn commits_are_visible_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = CachedStore::new(SqliteStore::open(&dir.path().join("m.db")).await.unwrap());
        assert!(store.get("k", "a").await.unwrap().is_none());
        let r = Record::new("k", "a", "r", "acct", None, json!({"v": 1}));
        store.commit(vec![Write::put(r.clone())]).await.unwrap();
        assert_eq!(
            store.get("k", "a").await.unwrap().unwrap().body,
            json!({"v": 1})
        );
        let mut r2 = r;
        r2.body = json!({"v": 2});
        store.commit(vec![Write::put(r2)]).await.unwrap();
        assert_eq!(
            store.get("k", "a").await.unwrap().unwrap().body,
            json!({"v": 2})
        );
        store
            .commit(vec![Write::Delete {
                kind: "k".into(),
                id: "a".into(),
            }])
            .await
            .unwrap();
        assert!(store.get("k", "a").await.unwrap().is_none());
        store.reset().await.unwrap();
    }

    #[tokio::test]
    async fn a_conflict_leaves_the_cache_coherent() {
        let dir = tempfile::tempdir().unwrap();
        let store = CachedStore::new(SqliteStore::open(&dir.path().join("m.db")).await.unwrap());
        let a = Record::new("k", "a", "r", "acct", None, json!({"v": 1}));
        let b = Record::new("k", "b", "r", "acct", None, json!({"v": 1}));
        store
            .commit(vec![Write::put(a.clone()), Write::put(b.clone())])
            .await
            .unwrap();
        // Both writers read revision 1 through the cache (the second read is a hit).
        let read = store.get("k", "a").await.unwrap().unwrap();
        assert_eq!(read.revision, 1);
        assert_eq!(store.get("k", "a").await.unwrap().unwrap().revision, 1);
        assert_eq!(store.get("k", "b").await.unwrap().unwrap().revision, 1);
        let at = |r: &Record, v: i64, revision: i64| {
            let mut r = r.clone();
            r.body = json!({ "v": v });
            Write::put_if(r, Expect::Revision(revision))
        };
        store.commit(vec![at(&a, 2, read.revision)]).await.unwrap();
        let after_win = store.get("k", "a").await.unwrap().unwrap();
        assert_eq!(
            (after_win.revision, after_win.body.clone()),
            (2, json!({"v": 2}))
        );
        // The loser's batch also touches b, which must stay as cached and stored.
        let mut b2 = b;
        b2.body = json!({"v": 9});
        let err = store
            .commit(vec![Write::put(b2), at(&a, 3, read.revision)])
            .await
            .unwrap_err();
        assert!(err.is_conflict(), "{err}");
        let a_now = store.get("k", "a").await.unwrap().unwrap();
        assert_eq!((a_now.revision, &a_now.body), (2, &json!({"v": 2})));
        let b_now = store.get("k", "b").await.unwrap().unwrap();
        assert_eq!((b_now.revision, b_now.body.clone()), (1, json!({"v": 1})));
        // A retry from a fresh read succeeds.
        store
            .commit(vec![at(&a_now, 3, a_now.revision)])
            .await
            .unwrap();
        assert_eq!(store.get("k", "a").await.unwrap().unwrap().revision, 3);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_byte_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = CachedStore::new(SqliteStore::open(&dir.path().join("m.db")).await.unwrap());
        let body = json!({"payload": "x".repeat(10_000), "list": [1, 2, 3]});
        let writes = (0..1_000)
            .map(|i| {
                Write::put(Record::new(
                    "k",
                    &format!("r{i}"),
                    "r",
                    "acct",
                    None,
                    body.clone(),
                ))
            })
            .collect();
        store.commit(writes).await.unwrap();
        for i in 0..1_000 {
            let got = store.get("k", &format!("r{i}")).await.unwrap().unwrap();
            assert_eq!(got.body, body);
            let cache = store.cache.read().unwrap();
            assert!(cache.bytes <= MAX_BYTES);
            assert_eq!(
                cache.bytes,
                cache
                    .entries
                    .values()
                    .flat_map(HashMap::values)
                    .map(|(_, w)| w)
                    .sum::<usize>()
            );
        }
        // Every record was read once; the cache holds the latest ones, about MAX_BYTES of them.
        let cache = store.cache.read().unwrap();
        assert!(cache.entries.len() < 1_000);
        assert!(cache.bytes > MAX_BYTES / 2);
    }
}
