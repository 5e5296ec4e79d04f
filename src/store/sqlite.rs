//! The embedded SQLite backend: WAL journal with `synchronous=FULL`, so every committed
//! transaction is durable when `commit` returns.

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{MetadataStore, Query, Record, StoreError, Write};

/// SQLite-backed [`MetadataStore`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `metadata.db` at `path` and applies the migrations.
    ///
    /// # Errors
    /// When the database cannot be opened or migrated.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn to_record(row: &SqliteRow) -> Result<Record, StoreError> {
    let kind: String = row.try_get("kind")?;
    let id: String = row.try_get("id")?;
    let body: String = row.try_get("body")?;
    let body =
        serde_json::from_str(&body).map_err(|_| StoreError::Corrupt(format!("{kind}/{id}")))?;
    Ok(Record {
        kind,
        id,
        region: row.try_get("region")?,
        account: row.try_get("account")?,
        parent: row.try_get("parent")?,
        seq: row.try_get("seq")?,
        body,
    })
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Record>, StoreError> {
        let row = sqlx::query("SELECT kind, id, region, account, parent, seq, body FROM resources WHERE kind = ? AND id = ?")
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(to_record).transpose()
    }

    async fn query(&self, q: &Query) -> Result<Vec<Record>, StoreError> {
        let mut sql = String::from(
            "SELECT kind, id, region, account, parent, seq, body FROM resources WHERE kind = ?",
        );
        if q.region.is_some() {
            sql.push_str(" AND region = ?");
        }
        if q.account.is_some() {
            sql.push_str(" AND account = ?");
        }
        if q.parent.is_some() {
            sql.push_str(" AND parent = ?");
        }
        if q.after.is_some() {
            sql.push_str(" AND seq > ?");
        }
        if q.before.is_some() {
            sql.push_str(" AND seq < ?");
        }
        if q.ids_before.is_some() {
            sql.push_str(" AND id < ?");
        }
        match &q.ids_from {
            // The primary key (kind, id) makes this a range scan that stops at the limit.
            Some((_, true)) => sql.push_str(" AND id >= ? ORDER BY id"),
            Some((_, false)) => sql.push_str(" AND id > ? ORDER BY id"),
            None if q.newest_first => sql.push_str(" ORDER BY seq DESC"),
            None => sql.push_str(" ORDER BY seq"),
        }
        if q.limit.is_some() {
            sql.push_str(" LIMIT ?");
        }
        let mut query = sqlx::query(&sql).bind(&q.kind);
        if let Some(r) = &q.region {
            query = query.bind(r);
        }
        if let Some(a) = &q.account {
            query = query.bind(a);
        }
        if let Some(p) = &q.parent {
            query = query.bind(p);
        }
        if let Some(after) = q.after {
            query = query.bind(after);
        }
        if let Some(before) = q.before {
            query = query.bind(before);
        }
        if let Some(before) = &q.ids_before {
            query = query.bind(before);
        }
        if let Some((from, _)) = &q.ids_from {
            query = query.bind(from);
        }
        if let Some(limit) = q.limit {
            query = query.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(to_record)
            .collect()
    }

    async fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for w in writes {
            match w {
                Write::Put(r) => {
                    let body = r.body.to_string();
                    sqlx::query(
                        "INSERT INTO resources (kind, id, region, account, parent, seq, body) \
                         VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM resources), ?) \
                         ON CONFLICT (kind, id) DO UPDATE SET parent = excluded.parent, body = excluded.body",
                    )
                    .bind(&r.kind)
                    .bind(&r.id)
                    .bind(&r.region)
                    .bind(&r.account)
                    .bind(&r.parent)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
                }
                Write::Delete { kind, id } => {
                    sqlx::query("DELETE FROM resources WHERE kind = ? AND id = ?")
                        .bind(kind)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn reset(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM resources")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn put_get_query_delete_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let a = Record::new(
            "thing",
            "a",
            "us-east-1",
            "111111111111",
            Some("p"),
            json!({"n": 1}),
        );
        let b = Record::new(
            "thing",
            "b",
            "us-east-1",
            "222222222222",
            Some("p"),
            json!({"n": 2}),
        );
        store
            .commit(vec![Write::Put(a.clone()), Write::Put(b)])
            .await
            .unwrap();
        let got = store.get("thing", "a").await.unwrap().unwrap();
        assert_eq!(got.body, json!({"n": 1}));
        let seq_a = got.seq;
        // Updating keeps the sequence number, so list order is stable.
        let mut a2 = a;
        a2.body = json!({"n": 3});
        store.commit(vec![Write::Put(a2)]).await.unwrap();
        let all = store
            .query(&Query::kind("thing").parent("p"))
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!(all[0].seq, seq_a);
        let mine = store
            .query(&Query::kind("thing").account("222222222222"))
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        let after = store
            .query(&Query::kind("thing").after(Some(seq_a)).limit(5))
            .await
            .unwrap();
        assert_eq!(after.len(), 1);
        let newest = store
            .query(&Query::kind("thing").newest_first().limit(1))
            .await
            .unwrap();
        assert_eq!(newest[0].id, "b");
        let before = store
            .query(
                &Query::kind("thing")
                    .before(Some(newest[0].seq))
                    .newest_first(),
            )
            .await
            .unwrap();
        assert_eq!(
            before.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            vec!["a"]
        );
        store
            .commit(vec![Write::Delete {
                kind: "thing".into(),
                id: "b".into(),
            }])
            .await
            .unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            reopened.get("thing", "a").await.unwrap().unwrap().body,
            json!({"n": 3})
        );
        assert!(reopened.get("thing", "b").await.unwrap().is_none());
    }
}
