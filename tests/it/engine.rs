//! The engine reads Glue-described data: CSV (header, delimiter), Parquet, JSON lines, a
//! partitioned table whose partition filter reads only the matching partition, and files that do
//! not match the declared schema fail naming table, file and column.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cleanrooms_emulator::engine::{Engine, SessionSettings};
use cleanrooms_emulator_api::glue::dto::{Column, Partition, StorageDescriptor, Table};
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::physical_plan::displayable;

fn col(name: &str, t: &str) -> Column {
    Column {
        name: name.into(),
        r#type: Some(t.into()),
        comment: None,
        parameters: None,
    }
}

fn params(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    )
}

fn sd(location: &str, columns: Vec<Column>) -> StorageDescriptor {
    StorageDescriptor {
        location: Some(location.into()),
        columns: Some(columns),
        ..Default::default()
    }
}

fn table(
    name: &str,
    sd: StorageDescriptor,
    keys: Vec<Column>,
    p: Option<BTreeMap<String, String>>,
) -> Table {
    Table {
        name: name.into(),
        database_name: Some("sales".into()),
        storage_descriptor: Some(sd),
        partition_keys: Some(keys),
        parameters: p,
        ..Default::default()
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn write_parquet(path: &Path, ids: &[i64], names: &[&str]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names.to_vec())),
        ],
    )
    .unwrap();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

async fn query(engine: &Engine, t: &Table, parts: &[Partition], sql: &str) -> String {
    let ctx = engine.session(&SessionSettings::default());
    ctx.register_table("t", engine.glue_table(t, parts).await.unwrap())
        .unwrap();
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

#[tokio::test]
async fn reads_csv_with_header_and_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("s3/bucket/orders/a.csv"),
        "id|amount\n1|10\n2|20\n",
    );
    write(
        &dir.path().join("s3/bucket/orders/sub/b.csv"),
        "id|amount\n3|30\n",
    );
    write(&dir.path().join("s3/bucket/orders/_SUCCESS"), "");
    let t = table(
        "orders",
        StorageDescriptor {
            serde_info: Some(cleanrooms_emulator_api::glue::dto::SerDeInfo {
                serialization_library: Some(
                    "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe".into(),
                ),
                parameters: params(&[("field.delim", "|")]),
                name: None,
            }),
            ..sd(
                "s3://bucket/orders/",
                vec![col("id", "bigint"), col("amount", "decimal(10,2)")],
            )
        },
        vec![],
        params(&[("classification", "csv"), ("skip.header.line.count", "1")]),
    );
    let engine = Engine::new(dir.path());
    let out = query(
        &engine,
        &t,
        &[],
        "SELECT count(*) AS n, sum(amount) AS total FROM t",
    )
    .await;
    assert!(out.contains("| 3 | 60.00 |"), "{out}");
}

#[tokio::test]
async fn reads_parquet_and_json() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(
        &dir.path().join("s3/bucket/users/part-0.parquet"),
        &[1, 2],
        &["ann", "bob"],
    );
    let engine = Engine::new(dir.path());
    let t = table(
        "users",
        sd(
            "s3://bucket/users/",
            vec![col("id", "bigint"), col("name", "string")],
        ),
        vec![],
        params(&[("classification", "parquet")]),
    );
    let out = query(&engine, &t, &[], "SELECT name FROM t WHERE id = 2").await;
    assert!(out.contains("bob") && !out.contains("ann"), "{out}");

    write(
        &dir.path().join("s3/bucket/events/e.json"),
        "{\"id\": 1, \"kind\": \"a\"}\n{\"id\": 2, \"kind\": \"b\"}\n",
    );
    let t = table(
        "events",
        sd(
            "s3://bucket/events/",
            vec![col("id", "int"), col("kind", "string")],
        ),
        vec![],
        params(&[("classification", "json")]),
    );
    let out = query(&engine, &t, &[], "SELECT sum(id) AS s FROM t").await;
    assert!(out.contains("| 3 |"), "{out}");
}

#[tokio::test]
async fn partition_filters_read_only_the_matching_partition() {
    let dir = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for (i, year) in ["2022", "2023", "2024"].iter().enumerate() {
        let loc = format!("s3://bucket/sales/year={year}/");
        write(
            &dir.path()
                .join(format!("s3/bucket/sales/year={year}/data.csv")),
            &format!("{i},x\n{i},y\n"),
        );
        parts.push(Partition {
            values: Some(vec![(*year).to_string()]),
            storage_descriptor: Some(sd(&loc, vec![col("id", "bigint"), col("tag", "string")])),
            ..Default::default()
        });
    }
    let t = table(
        "sales",
        sd(
            "s3://bucket/sales/",
            vec![col("id", "bigint"), col("tag", "string")],
        ),
        vec![col("year", "int")],
        params(&[("classification", "csv")]),
    );
    let engine = Engine::new(dir.path());
    let ctx = engine.session(&SessionSettings::default());
    ctx.register_table("t", engine.glue_table(&t, &parts).await.unwrap())
        .unwrap();
    let df = ctx
        .sql("SELECT count(*) AS n, min(year) AS y FROM t WHERE year = 2023")
        .await
        .unwrap();
    let plan = df.clone().create_physical_plan().await.unwrap();
    let shown = displayable(plan.as_ref()).indent(true).to_string();
    assert!(shown.contains("year=2023"), "{shown}");
    assert!(
        !shown.contains("year=2022") && !shown.contains("year=2024"),
        "{shown}"
    );
    let out = pretty_format_batches(&df.collect().await.unwrap())
        .unwrap()
        .to_string();
    assert!(out.contains("| 2 | 2023 |"), "{out}");
    // Without a filter every partition is read, with its key as a column.
    let all = query(
        &engine,
        &t,
        &parts,
        "SELECT year, count(*) AS n FROM t GROUP BY year ORDER BY year",
    )
    .await;
    assert!(
        all.contains("| 2022 | 2 |") && all.contains("| 2024 | 2 |"),
        "{all}"
    );
}

#[tokio::test]
async fn mismatched_files_name_table_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(&dir.path().join("s3/bucket/bad/f.parquet"), &[1], &["a"]);
    let engine = Engine::new(dir.path());
    let t = table(
        "bad",
        sd(
            "s3://bucket/bad/",
            vec![col("id", "bigint"), col("email", "string")],
        ),
        vec![],
        params(&[("classification", "parquet")]),
    );
    let err = engine.glue_table(&t, &[]).await.unwrap_err().to_string();
    assert!(
        err.contains("sales.bad") && err.contains("f.parquet") && err.contains("'email'"),
        "{err}"
    );
    let t = table(
        "bad",
        sd(
            "s3://bucket/bad/",
            vec![col("id", "bigint"), col("name", "int")],
        ),
        vec![],
        params(&[("classification", "parquet")]),
    );
    let err = engine.glue_table(&t, &[]).await.unwrap_err().to_string();
    assert!(err.contains("column 'name' is Utf8"), "{err}");
}

#[tokio::test]
async fn locations_outside_the_data_dir_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::new(dir.path());
    let t = table(
        "evil",
        sd("s3://bucket/../../etc/", vec![col("id", "bigint")]),
        vec![],
        params(&[("classification", "csv")]),
    );
    let err = engine.glue_table(&t, &[]).await.unwrap_err().to_string();
    assert!(err.contains("not allowed"), "{err}");
}
