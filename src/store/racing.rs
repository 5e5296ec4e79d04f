//! A test store in which another writer gets in between a read and a commit: it applies a
//! prepared batch just before the next commit, once, as a concurrent request or another
//! process on the same database would.

use std::sync::Mutex;

use async_trait::async_trait;

use super::sqlite::SqliteStore;
use super::{MetadataStore, Query, Record, StoreError, Write};

/// SQLite with a racing writer.
#[derive(Debug)]
pub struct RacingStore {
    inner: SqliteStore,
    interference: Mutex<Option<Vec<Write>>>,
}

impl RacingStore {
    /// Wraps `inner`.
    pub fn new(inner: SqliteStore) -> Self {
        Self {
            inner,
            interference: Mutex::default(),
        }
    }

    /// Commits `writes` just before the next commit, once.
    pub fn interfere(&self, writes: Vec<Write>) {
        *self.interference.lock().unwrap() = Some(writes);
    }
}

#[async_trait]
impl MetadataStore for RacingStore {
    async fn get(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<std::sync::Arc<Record>>, StoreError> {
        self.inner.get(kind, id).await
    }

    async fn query(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        self.inner.query(query).await
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let racing = self.interference.lock().unwrap().take();
        if let Some(racing) = racing {
            self.inner.commit(racing).await?;
        }
        self.inner.commit(writes).await
    }

    async fn reset(&self) -> Result<(), StoreError> {
        self.inner.reset().await
    }
}
