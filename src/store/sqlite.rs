//! The embedded SQLite backend: WAL journal with `synchronous=FULL`, so every committed
//! transaction is durable when `commit` returns. A batch is one transaction whose every
//! statement writes, so it holds the database's write lock from its first statement on and a
//! precondition is checked by the same statement that writes (`… WHERE revision = ?`,
//! `ON CONFLICT DO NOTHING`): another connection or process cannot slip a write in between.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{Expect, MetadataStore, Query, Record, StoreError, Write};

/// The columns of a [`Record`], in [`to_record`]'s terms.
const COLUMNS: &str = "kind, id, region, account, parent, seq, revision, body";

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
        revision: row.try_get("revision")?,
        body,
        decoded: super::Decoded::default(),
    })
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Arc<Record>>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE kind = ? AND id = ?"
        ))
        .bind(kind)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(to_record).transpose()?.map(Arc::new))
    }

    async fn query(&self, q: &Query) -> Result<Vec<Record>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM resources WHERE kind = ?");
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
                Write::Put { record, expect } => {
                    // Dropping `tx` on a conflict rolls the whole batch back.
                    put(&mut tx, &record, expect).await?;
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

/// Inserts a record (its sequence number after every existing one, revision 1) or replaces
/// the parent and body of the stored one, raising its revision.
const UPSERT: &str =
    "INSERT INTO resources (kind, id, region, account, parent, seq, revision, body) \
     VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM resources), 1, ?) \
     ON CONFLICT (kind, id) DO UPDATE SET parent = excluded.parent, body = excluded.body, \
     revision = resources.revision + 1";

/// Inserts a record as [`UPSERT`] does, or nothing when its kind and id exist.
const INSERT_NEW: &str =
    "INSERT INTO resources (kind, id, region, account, parent, seq, revision, body) \
     VALUES (?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM resources), 1, ?) \
     ON CONFLICT (kind, id) DO NOTHING";

/// Writes `r` inside `tx` when `expect` holds; the check is the write's own `WHERE` or
/// conflict clause.
async fn put(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    r: &Record,
    expect: Expect,
) -> Result<(), StoreError> {
    let body = r.body.to_string();
    let written = match expect {
        Expect::Any | Expect::Absent => sqlx::query(if expect == Expect::Any {
            UPSERT
        } else {
            INSERT_NEW
        })
        .bind(&r.kind)
        .bind(&r.id)
        .bind(&r.region)
        .bind(&r.account)
        .bind(&r.parent)
        .bind(body),
        Expect::Revision(n) => sqlx::query(
            "UPDATE resources SET parent = ?, body = ?, revision = revision + 1 \
             WHERE kind = ? AND id = ? AND revision = ?",
        )
        .bind(&r.parent)
        .bind(body)
        .bind(&r.kind)
        .bind(&r.id)
        .bind(n),
    }
    .execute(&mut **tx)
    .await?;
    if written.rows_affected() == 1 {
        return Ok(());
    }
    let found: Option<i64> =
        sqlx::query_scalar("SELECT revision FROM resources WHERE kind = ? AND id = ?")
            .bind(&r.kind)
            .bind(&r.id)
            .fetch_optional(&mut **tx)
            .await?;
    Err(StoreError::Conflict {
        kind: r.kind.clone(),
        id: r.id.clone(),
        expected: expect,
        found,
    })
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
            .commit(vec![Write::put(a.clone()), Write::put(b)])
            .await
            .unwrap();
        let got = store.get("thing", "a").await.unwrap().unwrap();
        assert_eq!(got.body, json!({"n": 1}));
        let seq_a = got.seq;
        // Updating keeps the sequence number, so list order is stable.
        let mut a2 = a;
        a2.body = json!({"n": 3});
        store.commit(vec![Write::put(a2)]).await.unwrap();
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
        store.commit(vec![delete("b")]).await.unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            reopened.get("thing", "a").await.unwrap().unwrap().body,
            json!({"n": 3})
        );
        assert!(reopened.get("thing", "b").await.unwrap().is_none());
    }

    fn delete(id: &str) -> Write {
        Write::Delete {
            kind: "thing".into(),
            id: id.into(),
        }
    }

    /// Asserts that a failed batch left record `a` at `revision` with body `n`, and did not
    /// write record `other`.
    async fn assert_untouched(store: &SqliteStore, revision: i64, n: i64, other: &str) {
        let a = store.get("thing", "a").await.unwrap().unwrap();
        assert_eq!((a.revision, a.body.clone()), (revision, json!({ "n": n })));
        assert!(store.get("thing", other).await.unwrap().is_none());
    }

    use crate::store::test_record as thing;

    #[tokio::test]
    async fn every_put_raises_the_revision_and_a_new_record_starts_at_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        store.commit(vec![Write::put(thing("a", 1))]).await.unwrap();
        assert_eq!(store.get("thing", "a").await.unwrap().unwrap().revision, 1);
        store.commit(vec![Write::put(thing("a", 2))]).await.unwrap();
        store.commit(vec![Write::put(thing("a", 3))]).await.unwrap();
        let got = store.get("thing", "a").await.unwrap().unwrap();
        assert_eq!((got.revision, got.body.clone()), (3, json!({"n": 3})));
        let listed = store.query(&Query::kind("thing")).await.unwrap();
        assert_eq!(listed[0].revision, 3);
        store.commit(vec![delete("a")]).await.unwrap();
        store
            .commit(vec![Write::put_if(thing("a", 4), Expect::Absent)])
            .await
            .unwrap();
        assert_eq!(store.get("thing", "a").await.unwrap().unwrap().revision, 1);
    }

    #[tokio::test]
    async fn of_two_writers_that_read_the_same_revision_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        store.commit(vec![Write::put(thing("a", 0))]).await.unwrap();
        let read = store.get("thing", "a").await.unwrap().unwrap().revision;
        store
            .commit(vec![Write::put_if(thing("a", 1), Expect::Revision(read))])
            .await
            .unwrap();
        // The loser's batch writes a new record too; none of it may land.
        let err = store
            .commit(vec![
                Write::put(thing("side", 7)),
                Write::put_if(thing("a", 2), Expect::Revision(read)),
            ])
            .await
            .unwrap_err();
        match &err {
            StoreError::Conflict {
                kind,
                id,
                expected,
                found,
            } => {
                assert_eq!((kind.as_str(), id.as_str()), ("thing", "a"));
                assert_eq!((*expected, *found), (Expect::Revision(1), Some(2)));
            }
            other => panic!("expected a conflict, got {other}"),
        }
        assert_eq!(
            err.to_string(),
            "metadata store: conflict on thing a: expected revision 1, found revision 2"
        );
        assert_untouched(&store, 2, 1, "side").await;
        // A revision of a record that does not exist is a conflict too.
        let err = store
            .commit(vec![Write::put_if(thing("gone", 1), Expect::Revision(1))])
            .await
            .unwrap_err();
        assert!(err
            .to_string()
            .ends_with("expected revision 1, found no record"));
        assert!(store.get("thing", "gone").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn must_not_exist_refuses_an_existing_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("m.db")).await.unwrap();
        store
            .commit(vec![Write::put_if(thing("a", 1), Expect::Absent)])
            .await
            .unwrap();
        let err = store
            .commit(vec![
                Write::put(thing("b", 1)),
                Write::put_if(thing("a", 2), Expect::Absent),
            ])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "metadata store: conflict on thing a: expected no record, found revision 1"
        );
        assert_untouched(&store, 1, 1, "b").await;
    }

    #[tokio::test]
    async fn a_data_dir_made_before_revisions_opens_and_keeps_working() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metadata.db");
        // The database as the code before revisions made it: only the first migration applied.
        let old = dir.path().join("old-migrations");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(
            old.join("0001_resources.sql"),
            include_str!("../../migrations/0001_resources.sql"),
        )
        .unwrap();
        let options = SqliteConnectOptions::from_str("sqlite://")
            .unwrap()
            .filename(&path)
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        sqlx::migrate::Migrator::new(old.as_path())
            .await
            .unwrap()
            .run(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO resources (kind, id, region, account, parent, seq, body) \
             VALUES ('thing', 'a', 'us-east-1', '111111111111', NULL, 1, '{\"n\":1}')",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = SqliteStore::open(&path).await.unwrap();
        let a = store.get("thing", "a").await.unwrap().unwrap();
        assert_eq!((a.revision, a.seq, a.body.clone()), (1, 1, json!({"n": 1})));
        store
            .commit(vec![Write::put_if(thing("a", 2), Expect::Revision(1))])
            .await
            .unwrap();
        store
            .commit(vec![Write::put_if(thing("b", 1), Expect::Absent)])
            .await
            .unwrap();
        let all = store.query(&Query::kind("thing")).await.unwrap();
        assert_eq!(
            all.iter()
                .map(|r| (r.id.as_str(), r.seq, r.revision))
                .collect::<Vec<_>>(),
            vec![("a", 1, 2), ("b", 2, 1)]
        );
    }
}
