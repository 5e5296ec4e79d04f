//! Behaviour of managed storage as the population and query paths use it: write a query's rows
//! as a version, read any version back, replace the schema, survive cancelled writes, remove old
//! and orphaned files, and stream large results in bounded memory.

use std::collections::BTreeSet;
use std::num::NonZeroU64;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use tempfile::TempDir;

use super::*;

const TABLE: &str = "0b7c6f2e-5a4d-4d1e-9f0a-3c2b1a09e8d7";

/// Managed storage in a fresh data dir whose path contains a space (URL-encoding check).
fn storage() -> (TempDir, ManagedStorage) {
    let dir = tempfile::Builder::new()
        .prefix("managed storage ")
        .tempdir()
        .unwrap();
    let storage = ManagedStorage::new(dir.path());
    (dir, storage)
}

/// A session with table `src(id BIGINT, name VARCHAR)` = (1,a), (2,b), (3,c).
fn source() -> SessionContext {
    let ctx = SessionContext::new();
    let batch = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from(vec!["a", "b", "c"])) as ArrayRef,
        ),
    ])
    .unwrap();
    ctx.register_batch("src", batch).unwrap();
    ctx
}

/// Writes the result of `sql` (run in `ctx`) as a new version of `table`.
async fn write_sql(
    storage: &ManagedStorage,
    table: &str,
    ctx: &SessionContext,
    sql: &str,
    options: &WriteOptions,
) -> Result<WrittenVersion, StorageError> {
    let state = ctx.state();
    let plan = state.create_logical_plan(sql).await.unwrap();
    storage.write_version(table, &state, plan, options).await
}

/// Runs `sql` over version `version` of `table`, registered as `t`, in a fresh session.
async fn read_sql(storage: &ManagedStorage, table: &str, version: i64, sql: &str) -> String {
    let ctx = SessionContext::new();
    ctx.register_table("t", storage.provider(table, version).await.unwrap())
        .unwrap();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

/// Files in the table directory outside the Delta log (data files, staging files, orphans).
fn data_files(storage: &ManagedStorage, table: &str) -> BTreeSet<String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if relative == DELTA_LOG_DIR || relative.starts_with("_managed_retention") {
                continue;
            }
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                out.insert(relative);
            }
        }
    }
    let dir = storage.root().join(table);
    let mut out = BTreeSet::new();
    walk(&dir, &dir, &mut out);
    out
}

/// Names in the table's `_delta_log`.
fn log_files(storage: &ManagedStorage, table: &str) -> BTreeSet<String> {
    std::fs::read_dir(storage.root().join(table).join(DELTA_LOG_DIR))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect()
}

fn trimmed(table: &str) -> String {
    table.trim().to_string()
}

#[tokio::test]
async fn writes_a_version_and_reads_it_back() {
    let (_dir, storage) = storage();
    let ctx = source();
    let options = WriteOptions {
        commit_metadata: [("cleanRoomsVersionId".to_string(), "v-1".into())].into(),
        ..WriteOptions::default()
    };
    let written = write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT id, upper(name) AS name FROM src WHERE id > 1",
        &options,
    )
    .await
    .unwrap();
    assert_eq!(written.delta_version, 0);
    assert_eq!(written.rows, 2);
    assert!(written.files >= 1);
    assert!(written.bytes > 0);
    let names: Vec<_> = written
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["id", "name"]);
    assert_eq!(written.schema.field(0).data_type(), &DataType::Int64);
    // Readers get strings as views, whatever the query produced.
    assert_eq!(written.schema.field(1).data_type(), &DataType::Utf8View);
    assert_eq!(storage.latest_version(TABLE).await.unwrap(), Some(0));
    let commit = std::fs::read_to_string(
        storage
            .root()
            .join(TABLE)
            .join(DELTA_LOG_DIR)
            .join("00000000000000000000.json"),
    )
    .unwrap();
    assert!(
        commit.contains(r#""cleanRoomsVersionId":"v-1""#),
        "{commit}"
    );

    // Readers see exactly the schema the write reported.
    assert_eq!(
        storage.provider(TABLE, 0).await.unwrap().schema(),
        written.schema
    );
    assert_eq!(
        read_sql(&storage, TABLE, 0, "SELECT * FROM t ORDER BY id").await,
        trimmed(
            "
+----+------+
| id | name |
+----+------+
| 2  | B    |
| 3  | C    |
+----+------+"
        )
    );
    // Filters and projections are pushed into the Delta scan.
    assert_eq!(
        read_sql(&storage, TABLE, 0, "SELECT name FROM t WHERE id = 3").await,
        trimmed(
            "
+------+
| name |
+------+
| C    |
+------+"
        )
    );
}

#[tokio::test]
async fn a_new_version_replaces_content_and_schema_and_older_versions_stay_readable() {
    let (_dir, storage) = storage();
    let ctx = source();
    let options = WriteOptions::default();
    write_sql(&storage, TABLE, &ctx, "SELECT id, name FROM src", &options)
        .await
        .unwrap();
    let v1 = write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT name AS label, CAST(id AS DOUBLE) * 1.5 AS score, id % 2 = 0 AS even \
         FROM src WHERE id < 3",
        &options,
    )
    .await
    .unwrap();
    assert_eq!(v1.delta_version, 1);
    assert_eq!(v1.rows, 2);
    let types: Vec<_> = v1
        .schema
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        [DataType::Utf8View, DataType::Float64, DataType::Boolean]
    );

    assert_eq!(
        read_sql(&storage, TABLE, 1, "SELECT * FROM t ORDER BY label").await,
        trimmed(
            "
+-------+-------+-------+
| label | score | even  |
+-------+-------+-------+
| a     | 1.5   | false |
| b     | 3.0   | true  |
+-------+-------+-------+"
        )
    );
    // Time travel: version 0 keeps its own schema and rows.
    assert_eq!(
        read_sql(&storage, TABLE, 0, "SELECT * FROM t ORDER BY id").await,
        trimmed(
            "
+----+------+
| id | name |
+----+------+
| 1  | a    |
| 2  | b    |
| 3  | c    |
+----+------+"
        )
    );
    assert!(matches!(
        storage.provider(TABLE, 2).await,
        Err(StorageError::VersionNotFound { version: 2, .. })
    ));
    assert!(matches!(
        storage.provider(TABLE, -1).await,
        Err(StorageError::VersionNotFound { .. })
    ));
}

#[tokio::test]
async fn an_empty_result_still_commits_a_version_with_its_schema() {
    let (_dir, storage) = storage();
    let ctx = source();
    let options = WriteOptions::default();
    write_sql(&storage, TABLE, &ctx, "SELECT id FROM src", &options)
        .await
        .unwrap();
    let written = write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT name, id * 10 AS tens FROM src WHERE id > 100",
        &options,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            written.delta_version,
            written.rows,
            written.files,
            written.bytes
        ),
        (1, 0, 0, 0)
    );
    let provider = storage.provider(TABLE, 1).await.unwrap();
    let names: Vec<_> = provider
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["name", "tens"]);
    assert_eq!(
        read_sql(&storage, TABLE, 1, "SELECT count(*) AS n FROM t").await,
        trimmed(
            "
+---+
| n |
+---+
| 0 |
+---+"
        )
    );

    // A table's very first population may be empty too.
    let other = "5e0d4c3b-2a19-4876-8f5e-4d3c2b1a0f9e";
    let written = write_sql(
        &storage,
        other,
        &ctx,
        "SELECT * FROM src WHERE false",
        &options,
    )
    .await
    .unwrap();
    assert_eq!((written.delta_version, written.rows), (0, 0));
    assert_eq!(
        storage
            .provider(other, 0)
            .await
            .unwrap()
            .schema()
            .fields()
            .len(),
        2
    );
}

#[tokio::test]
async fn converts_types_delta_lake_cannot_hold_exactly() {
    let (_dir, storage) = storage();
    let ctx = source();
    let sql = r#"SELECT
        arrow_cast('view', 'Utf8View') AS s_view,
        arrow_cast('large', 'LargeUtf8') AS s_large,
        arrow_cast(arrow_cast(to_timestamp('2024-05-06T07:08:09.123456Z'),
                              'Timestamp(Nanosecond, Some("UTC"))'),
                   'Timestamp(Nanosecond, Some("+02:00"))') AS ts_zone,
        to_timestamp('2024-05-06T07:08:09.123456') AS ts_local,
        arrow_cast(200, 'UInt8') AS u8,
        arrow_cast(60000, 'UInt16') AS u16,
        arrow_cast(4000000000, 'UInt32') AS u32,
        arrow_cast('18446744073709551615', 'UInt64') AS u64,
        arrow_cast(1.5, 'Float16') AS f16,
        CAST(12.34 AS DECIMAL(10, 2)) AS dec,
        DATE '2024-02-29' AS day,
        arrow_cast(DATE '2024-02-29', 'Date64') AS day64,
        true AS flag,
        NULL AS nothing,
        arrow_cast('12:34:56', 'Time64(Microsecond)') AS clock,
        arrow_cast('x', 'Dictionary(Int32, Utf8)') AS dict,
        arrow_cast(X'0102', 'LargeBinary') AS bytes,
        make_array(arrow_cast(1, 'UInt32'), arrow_cast(2, 'UInt32')) AS list,
        named_struct('a', arrow_cast(7, 'UInt16'), 'b', arrow_cast('s', 'Utf8View')) AS record
      FROM src WHERE id = 1"#;
    let written = write_sql(&storage, TABLE, &ctx, sql, &WriteOptions::default())
        .await
        .unwrap();
    let utc = Some(Arc::<str>::from("UTC"));
    let expected = [
        ("s_view", DataType::Utf8View),
        ("s_large", DataType::Utf8View),
        ("ts_zone", DataType::Timestamp(TimeUnit::Microsecond, utc)),
        ("ts_local", DataType::Timestamp(TimeUnit::Microsecond, None)),
        ("u8", DataType::Int16),
        ("u16", DataType::Int32),
        ("u32", DataType::Int64),
        ("u64", DataType::Decimal128(20, 0)),
        ("f16", DataType::Float32),
        ("dec", DataType::Decimal128(10, 2)),
        ("day", DataType::Date32),
        ("day64", DataType::Date32),
        ("flag", DataType::Boolean),
        ("nothing", DataType::Utf8View),
        ("clock", DataType::Utf8View),
        ("dict", DataType::Utf8View),
        ("bytes", DataType::BinaryView),
    ];
    for (name, data_type) in &expected {
        let field = written.schema.field_with_name(name).unwrap();
        assert_eq!(field.data_type(), data_type, "column {name}");
    }
    let DataType::List(element) = written.schema.field_with_name("list").unwrap().data_type()
    else {
        panic!("list is not a List");
    };
    assert_eq!(element.data_type(), &DataType::Int64);
    let DataType::Struct(fields) = written
        .schema
        .field_with_name("record")
        .unwrap()
        .data_type()
    else {
        panic!("record is not a Struct");
    };
    let record: Vec<_> = fields.iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(record, [DataType::Int32, DataType::Utf8View]);

    assert_eq!(
        storage.provider(TABLE, 0).await.unwrap().schema(),
        written.schema
    );
    let shown = read_sql(
        &storage,
        TABLE,
        0,
        "SELECT s_view, s_large, ts_zone, ts_local, u8, u16, u32, u64, f16, dec, day, day64, \
         flag, nothing, clock, dict, bytes, list, record FROM t",
    )
    .await;
    eprintln!("{shown}");
    for value in [
        "view",
        "large",
        // The same instant as the +02:00 value, now in UTC.
        "2024-05-06T07:08:09.123456Z",
        "2024-05-06T07:08:09.123456",
        "200",
        "60000",
        "4000000000",
        "18446744073709551615",
        "1.5",
        "12.34",
        "2024-02-29",
        "true",
        "12:34:56",
        "| x ",
        "0102",
        "[1, 2]",
        "{a: 7, b: s}",
    ] {
        assert!(shown.contains(value), "{value} missing from\n{shown}");
    }
}

#[tokio::test]
async fn refuses_results_that_cannot_be_stored_without_writing_anything() {
    let (_dir, storage) = storage();
    let ctx = source();
    let options = WriteOptions::default();
    let duplicate = write_sql(
        &storage,
        TABLE,
        &ctx,
        r#"SELECT id, name AS "ID" FROM src"#,
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&duplicate, StorageError::UnsupportedColumn { column, .. } if column == "ID"),
        "{duplicate}"
    );
    let too_wide = write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT arrow_cast(1, 'Decimal256(60, 0)') AS wide FROM src",
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&too_wide, StorageError::UnsupportedColumn { column, .. } if column == "wide"),
        "{too_wide}"
    );
    assert_eq!(storage.latest_version(TABLE).await.unwrap(), None);
    assert!(!storage.root().join(TABLE).exists());
}

#[tokio::test]
async fn a_query_failing_while_running_leaves_the_previous_version_current() {
    let (_dir, storage) = storage();
    let ctx = source();
    let options = WriteOptions::default();
    write_sql(&storage, TABLE, &ctx, "SELECT * FROM src", &options)
        .await
        .unwrap();
    // 'a' is no integer: the cast fails while the rows are produced, not while planning.
    let failed = write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT CAST(name AS INT) AS n FROM src",
        &options,
    )
    .await
    .unwrap_err();
    assert!(matches!(failed, StorageError::Delta { .. }), "{failed}");
    assert!(failed.to_string().contains("Cannot cast"), "{failed}");
    assert_eq!(storage.latest_version(TABLE).await.unwrap(), Some(0));
    assert!(read_sql(&storage, TABLE, 0, "SELECT * FROM t")
        .await
        .contains("| c    |"));
}

#[tokio::test]
async fn keeps_column_names_as_the_query_produced_them() {
    // Unaliased expressions and quoted names with spaces or Parquet-special characters are
    // stored and read back under their own names.
    let (_dir, storage) = storage();
    let ctx = source();
    let written = write_sql(
        &storage,
        TABLE,
        &ctx,
        r#"SELECT count(*), id AS "my col", name AS "a=b;c", id AS "Mixed" FROM src GROUP BY id, name"#,
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let names: Vec<_> = written
        .schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["count(*)", "my col", "a=b;c", "Mixed"]);
    assert_eq!(
        read_sql(
            &storage,
            TABLE,
            0,
            r#"SELECT "count(*)", "a=b;c", "Mixed" FROM t WHERE "my col" > 1 ORDER BY "my col""#
        )
        .await,
        trimmed(
            "
+----------+-------+-------+
| count(*) | a=b;c | Mixed |
+----------+-------+-------+
| 1        | b     | 2     |
| 1        | c     | 3     |
+----------+-------+-------+"
        )
    );
}

#[tokio::test]
async fn validates_table_ids_everywhere() {
    let (dir, storage) = storage();
    let ctx = source();
    let state = ctx.state();
    for bad in ["", "../escape", "a/b", ".", "..", "a.b", &"x".repeat(65)] {
        let plan = state.create_logical_plan("SELECT 1 AS one").await.unwrap();
        let invalid = |r: &StorageError| matches!(r, StorageError::InvalidTableId { .. });
        assert!(invalid(
            &storage
                .write_version(bad, &state, plan, &WriteOptions::default())
                .await
                .unwrap_err()
        ));
        assert!(invalid(&storage.provider(bad, 0).await.unwrap_err()));
        assert!(invalid(&storage.retain_only(bad, 0).await.unwrap_err()));
        assert!(invalid(&storage.delete_table(bad).await.unwrap_err()));
        assert!(invalid(&storage.latest_version(bad).await.unwrap_err()));
    }
    // Nothing was created anywhere in the data dir.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn delete_table_removes_data_and_log() {
    let (_dir, storage) = storage();
    let ctx = source();
    let options = WriteOptions::default();
    write_sql(&storage, TABLE, &ctx, "SELECT * FROM src", &options)
        .await
        .unwrap();
    write_sql(&storage, TABLE, &ctx, "SELECT id FROM src", &options)
        .await
        .unwrap();
    storage.delete_table(TABLE).await.unwrap();
    assert!(!storage.root().join(TABLE).exists());
    assert!(matches!(
        storage.provider(TABLE, 0).await,
        Err(StorageError::TableNotFound { .. })
    ));
    assert_eq!(storage.latest_version(TABLE).await.unwrap(), None);
    // Nothing is left in the trash either.
    let trash = storage.root().join(".trash");
    assert_eq!(std::fs::read_dir(trash).unwrap().count(), 0);
    // Idempotent; a later population starts again at version 0.
    storage.delete_table(TABLE).await.unwrap();
    let written = write_sql(&storage, TABLE, &ctx, "SELECT name FROM src", &options)
        .await
        .unwrap();
    assert_eq!(written.delta_version, 0);
}

#[tokio::test]
async fn retain_only_removes_older_populations_and_orphans() {
    let (_dir, storage) = storage();
    let ctx = source();
    let options = WriteOptions::default();
    let table_dir = storage.root().join(TABLE);
    // Files left by a first population that was killed before committing.
    std::fs::create_dir_all(&table_dir).unwrap();
    std::fs::write(
        table_dir.join("part-00000-killed-c000.snappy.parquet"),
        b"x",
    )
    .unwrap();

    write_sql(&storage, TABLE, &ctx, "SELECT * FROM src", &options)
        .await
        .unwrap();
    let v0_files = data_files(&storage, TABLE);
    write_sql(&storage, TABLE, &ctx, "SELECT id FROM src", &options)
        .await
        .unwrap();
    let after_v1 = data_files(&storage, TABLE);
    write_sql(&storage, TABLE, &ctx, "SELECT name FROM src", &options)
        .await
        .unwrap();
    let after_v2 = data_files(&storage, TABLE);
    let v1_files: BTreeSet<_> = after_v1.difference(&v0_files).cloned().collect();
    let v2_files: BTreeSet<_> = after_v2.difference(&after_v1).cloned().collect();
    assert!(!v1_files.is_empty() && !v2_files.is_empty());

    // More orphans: a staged upload, a nested directory, a staged commit.
    std::fs::write(table_dir.join("part-00001-x-c000.snappy.parquet#1"), b"x").unwrap();
    std::fs::create_dir_all(table_dir.join("stray/deeper")).unwrap();
    std::fs::write(table_dir.join("stray/deeper/file.parquet"), b"x").unwrap();
    let staged_commit = "00000000000000000003.json#1";
    std::fs::write(table_dir.join(DELTA_LOG_DIR).join(staged_commit), b"{}").unwrap();

    storage.retain_only(TABLE, 1).await.unwrap();
    let expected: BTreeSet<_> = v1_files.union(&v2_files).cloned().collect();
    assert_eq!(data_files(&storage, TABLE), expected);
    assert!(!table_dir.join("stray").exists());
    assert!(!log_files(&storage, TABLE).contains(staged_commit));

    // Version 0 is gone by design; 1 and 2 are intact.
    assert!(matches!(
        storage.provider(TABLE, 0).await,
        Err(StorageError::VersionRemoved {
            version: 0,
            retained_from: 1,
            ..
        })
    ));
    assert!(read_sql(&storage, TABLE, 1, "SELECT * FROM t")
        .await
        .contains("| 3  |"));
    assert!(read_sql(&storage, TABLE, 2, "SELECT * FROM t")
        .await
        .contains("| c    |"));

    storage.retain_only(TABLE, 2).await.unwrap();
    assert_eq!(data_files(&storage, TABLE), v2_files);
    assert!(matches!(
        storage.retain_only(TABLE, 1).await,
        Err(StorageError::VersionRemoved { .. })
    ));
    assert!(matches!(
        storage.retain_only(TABLE, 3).await,
        Err(StorageError::VersionNotFound { .. })
    ));
    assert!(matches!(
        storage.retain_only("1a2b3c4d", 0).await,
        Err(StorageError::TableNotFound { .. })
    ));
    // Writing after retention goes on as usual.
    let v3 = write_sql(&storage, TABLE, &ctx, "SELECT id FROM src", &options)
        .await
        .unwrap();
    assert_eq!(v3.delta_version, 3);
    assert!(read_sql(&storage, TABLE, 2, "SELECT * FROM t")
        .await
        .contains("| c    |"));
}

/// Parquet files (not staging files) of the table.
fn complete_data_files(storage: &ManagedStorage, table: &str) -> BTreeSet<String> {
    data_files(storage, table)
        .into_iter()
        .filter(|f| f.ends_with(".parquet"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_write_leaves_the_previous_version_current() {
    let (_dir, storage) = storage();
    let ctx = source();
    write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT * FROM src",
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let v0_files = data_files(&storage, TABLE);
    let v0_log = log_files(&storage, TABLE);

    // A write far too large to finish, with small files so that some complete quickly.
    let state = ctx.state();
    let plan = state
        .create_logical_plan(
            "SELECT value AS id, concat('row-', CAST(value AS VARCHAR)) AS name \
             FROM generate_series(1, 10000000000)",
        )
        .await
        .unwrap();
    let options = WriteOptions {
        target_file_size: NonZeroU64::new(64 * 1024),
        ..WriteOptions::default()
    };
    let mut write = Box::pin(storage.write_version(TABLE, &state, plan, &options));
    let deadline = Instant::now() + Duration::from_secs(120);
    while complete_data_files(&storage, TABLE).len() <= v0_files.len() + 1 {
        tokio::select! {
            result = &mut write => panic!("the write finished: {result:?}"),
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        assert!(Instant::now() < deadline, "the write produced no file");
    }
    drop(write);
    // Background writer tasks notice the cancellation and stop: no file appears any more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = data_files(&storage, TABLE);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(data_files(&storage, TABLE), settled);

    assert_eq!(log_files(&storage, TABLE), v0_log);
    assert_eq!(storage.latest_version(TABLE).await.unwrap(), Some(0));
    assert!(matches!(
        storage.provider(TABLE, 1).await,
        Err(StorageError::VersionNotFound { .. })
    ));
    assert_eq!(
        read_sql(
            &storage,
            TABLE,
            0,
            "SELECT count(*) AS n, max(name) AS m FROM t"
        )
        .await,
        trimmed(
            "
+---+---+
| n | m |
+---+---+
| 3 | c |
+---+---+"
        )
    );
    let orphans: BTreeSet<_> = data_files(&storage, TABLE)
        .difference(&v0_files)
        .cloned()
        .collect();
    assert!(!orphans.is_empty());

    storage.retain_only(TABLE, 0).await.unwrap();
    assert_eq!(data_files(&storage, TABLE), v0_files);
    let next = write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT id FROM src",
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!((next.delta_version, next.rows), (1, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_waits_for_a_write_in_progress() {
    let (_dir, storage) = storage();
    let ctx = source();
    write_sql(
        &storage,
        TABLE,
        &ctx,
        "SELECT * FROM src",
        &WriteOptions::default(),
    )
    .await
    .unwrap();
    let options = WriteOptions {
        target_file_size: NonZeroU64::new(256 * 1024),
        target_partitions: Some(2),
        ..WriteOptions::default()
    };
    let state = ctx.state();
    let plan = state
        .create_logical_plan("SELECT value AS id FROM generate_series(1, 2000000)")
        .await
        .unwrap();
    let write = storage.write_version(TABLE, &state, plan, &options);
    let retain = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        storage.retain_only(TABLE, 0).await
    };
    let (written, retained) = tokio::join!(write, retain);
    let written = written.unwrap();
    retained.unwrap();
    assert_eq!((written.delta_version, written.rows), (1, 2_000_000));
    assert!(read_sql(&storage, TABLE, 1, "SELECT count(*) AS n FROM t")
        .await
        .contains("2000000"));
}

/// Held by the tests that measure the process's peak memory, so they do not measure each other.
static MEMORY_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Peak resident set size of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_millions_of_rows_in_bounded_memory() {
    let _alone = MEMORY_TESTS.lock().await;
    let (_dir, storage) = storage();
    let ctx = SessionContext::new();
    // About 90 bytes a row: some 450 MB if the rows were ever held at once.
    let sql = "SELECT value AS id, value % 1000 AS bucket, \
               concat('row-', CAST(value AS VARCHAR), '-', repeat('x', 64)) AS label \
               FROM generate_series(1, 5000000)";
    let before = peak_rss_kib();
    let started = Instant::now();
    let written = write_sql(&storage, TABLE, &ctx, sql, &WriteOptions::default())
        .await
        .unwrap();
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!(
        "5M rows: {} files, {} bytes, {:?}, peak RSS grew by {grown_mib} MiB",
        written.files,
        written.bytes,
        started.elapsed()
    );
    assert_eq!(written.rows, 5_000_000);
    assert!(grown_mib < 300, "peak RSS grew by {grown_mib} MiB");
    assert!(read_sql(
        &storage,
        TABLE,
        0,
        "SELECT count(*) AS n, max(id) AS m FROM t"
    )
    .await
    .contains("| 5000000 | 5000000 |"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes 600 MB to the temporary directory; run with --ignored"]
async fn wide_rows_are_written_in_bounded_memory() {
    let _alone = MEMORY_TESTS.lock().await;
    let (_dir, storage) = storage();
    let ctx = SessionContext::new();
    // 512 bytes of unrelated digests a row, 600 MB in all.
    let digests: Vec<String> = (0..16)
        .map(|i| format!("md5(CAST(value * 16 + {i} AS VARCHAR))"))
        .collect();
    let sql = format!(
        "SELECT value AS id, concat({}) AS payload FROM generate_series(1, 1200000)",
        digests.join(", ")
    );
    let before = peak_rss_kib();
    let written = write_sql(&storage, TABLE, &ctx, &sql, &WriteOptions::default())
        .await
        .unwrap();
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    eprintln!(
        "1.2M wide rows: {} files, {} bytes, peak RSS grew by {grown_mib} MiB",
        written.files, written.bytes
    );
    assert_eq!(written.rows, 1_200_000);
    assert!(grown_mib < 400, "peak RSS grew by {grown_mib} MiB");
}

/// A population's write plans the engine's rules: a group-by on a short string is grouped by
/// the short-key aggregate inside delta-rs' write, and the version holds the groups.
#[tokio::test]
async fn a_population_groups_by_a_short_string_with_the_engine_rule() {
    use crate::engine::{Engine, SessionSettings};
    use datafusion::arrow::array::StringViewArray;
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::displayable;

    let (dir, storage) = storage();
    let settings = SessionSettings {
        target_partitions: Some(2),
        ..SessionSettings::default()
    };
    let ctx = Engine::new(dir.path()).session(&settings);
    let part = |keys: Vec<Option<&str>>| {
        let amounts = Int64Array::from_iter_values(0..keys.len() as i64);
        RecordBatch::try_from_iter(vec![
            ("k", Arc::new(StringViewArray::from(keys)) as ArrayRef),
            ("amount", Arc::new(amounts) as ArrayRef),
        ])
        .unwrap()
    };
    let first = part(vec![
        Some("a"),
        Some("b"),
        None,
        Some("a long key beyond twelve"),
    ]);
    let second = part(vec![Some("b"), Some("a long key beyond twelve"), Some("a")]);
    let table = MemTable::try_new(first.schema(), vec![vec![first], vec![second]]).unwrap();
    ctx.register_table("src", Arc::new(table)).unwrap();
    let sql = "SELECT k, count(*) AS n, sum(amount) AS total FROM src GROUP BY k";

    let state = ctx.state();
    let plan = state.create_logical_plan(sql).await.unwrap();
    let write_state = write::session_for_write(&state, &WriteOptions::default());
    let physical = write_state.create_physical_plan(&plan).await.unwrap();
    let text = displayable(physical.as_ref()).indent(true).to_string();
    assert!(text.contains("ShortKeyAggregateExec"), "{text}");

    let written = storage
        .write_version(TABLE, &state, plan, &WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(written.rows, 4);
    let expected = "\
+--------------------------+---+-------+
| k                        | n | total |
+--------------------------+---+-------+
|                          | 1 | 2     |
| a                        | 2 | 2     |
| a long key beyond twelve | 2 | 4     |
| b                        | 2 | 1     |
+--------------------------+---+-------+";
    assert_eq!(
        read_sql(&storage, TABLE, 0, "SELECT * FROM t ORDER BY k NULLS FIRST").await,
        expected
    );
}
