//! A read-through cache in front of a [`MetadataStore`]: point reads (`get`) are served from
//! memory after the first load; every commit invalidates the keys it writes before returning.
//! Queries always go to the backend. A generation counter keeps a read that raced with a commit
//! from caching the value the commit replaced.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;

use super::{MetadataStore, Query, Record, StoreError, Write};

type Key = (String, String);

/// Caching wrapper around a store.
#[derive(Debug)]
pub struct CachedStore<S> {
    inner: S,
    cache: RwLock<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    generation: u64,
    entries: HashMap<Key, Option<Record>>,
}

/// Entries kept at most; the cache is cleared when it grows past this.
const MAX_ENTRIES: usize = 100_000;

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
            cache.entries.clear();
        } else {
            for k in keys {
                cache.entries.remove(&k);
            }
        }
    }
}

#[async_trait]
impl<S: MetadataStore> MetadataStore for CachedStore<S> {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Record>, StoreError> {
        let key = (kind.to_string(), id.to_string());
        let generation = {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(hit) = cache.entries.get(&key) {
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
            if cache.entries.len() >= MAX_ENTRIES {
                cache.entries.clear();
            }
            cache.entries.insert(key, loaded.clone());
        }
        Ok(loaded)
    }

    async fn query(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        self.inner.query(query).await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let keys: Vec<Key> = writes
            .iter()
            .map(|w| match w {
                Write::Put(r) => (r.kind.clone(), r.id.clone()),
                Write::Delete { kind, id } => (kind.clone(), id.clone()),
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
    use serde_json::json;

    #[tokio::test]
    async fn commits_are_visible_through_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let store = CachedStore::new(SqliteStore::open(&dir.path().join("m.db")).await.unwrap());
        assert!(store.get("k", "a").await.unwrap().is_none());
        let r = Record::new("k", "a", "r", "acct", None, json!({"v": 1}));
        store.commit(vec![Write::Put(r.clone())]).await.unwrap();
        assert_eq!(
            store.get("k", "a").await.unwrap().unwrap().body,
            json!({"v": 1})
        );
        let mut r2 = r;
        r2.body = json!({"v": 2});
        store.commit(vec![Write::Put(r2)]).await.unwrap();
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
}
