//! The short-key partial aggregate gives the same results as DataFusion's own, and the engine's
//! sessions plan it.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::datasource::MemTable;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::{collect, displayable, ExecutionPlan};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::ShortKeyAggregation;
use crate::engine::{Engine, SessionSettings};

/// Partitions of the test table and the session's parallelism.
const PARTITIONS: usize = 3;

/// `t(k VARCHAR as Utf8View, v BIGINT, x DOUBLE)`: `rows` rows in [`PARTITIONS`] partitions of
/// batches of 100 rows. Keys cycle through `keys` (`None`: null) in a scrambled order (7919 is
/// a prime no key list's length is a multiple of, so every key occurs); `v` and
/// `x` (quarters, so sums are exact in any order) are null every 7th and 11th row.
fn table(rows: usize, keys: &[Option<String>]) -> Arc<MemTable> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8View, true),
        Field::new("v", DataType::Int64, true),
        Field::new("x", DataType::Float64, true),
    ]));
    let mut partitions = vec![Vec::new(); PARTITIONS];
    let mut start = 0;
    while start < rows {
        let end = (start + 100).min(rows);
        let range = start..end;
        let k: StringViewArray = range
            .clone()
            .map(|i| keys[(i * 7919) % keys.len()].as_deref())
            .collect();
        let v: Int64Array = range
            .clone()
            .map(|i| (i % 7 != 0).then_some((i % 23) as i64 - 5))
            .collect();
        let x: Float64Array = range
            .map(|i| (i % 11 != 0).then_some((i % 13) as f64 * 0.25))
            .collect();
        let columns: Vec<ArrayRef> = vec![Arc::new(k), Arc::new(v), Arc::new(x)];
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
        partitions[(start / 100) % PARTITIONS].push(batch);
        start = end;
    }
    Arc::new(MemTable::try_new(schema, partitions).unwrap())
}

/// Short keys (the empty string and exactly 12 bytes included), long keys (13 bytes and more)
/// and a null.
fn mixed_keys() -> Vec<Option<String>> {
    let mut keys: Vec<Option<String>> = (0..20).map(|i| Some(format!("cat_{i}"))).collect();
    keys.extend((0..5).map(|i| Some(format!("a category longer than a view holds {i}"))));
    keys.push(Some(String::new()));
    keys.push(Some("twelve bytes".into()));
    keys.push(Some("thirteen byte".into()));
    keys.push(Some("ünïcödé".into()));
    keys.push(None);
    keys
}

/// A session over `t`, with the rule (emitting every `group_limit` groups) or without it.
fn session(t: &Arc<MemTable>, group_limit: Option<usize>) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(PARTITIONS)
        .with_batch_size(64);
    let mut builder = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features();
    if let Some(limit) = group_limit {
        builder = builder
            .with_physical_optimizer_rule(Arc::new(ShortKeyAggregation::with_group_limit(limit)));
    }
    let ctx = SessionContext::new_with_state(builder.build());
    ctx.register_table("t", Arc::clone(t) as _).unwrap();
    ctx
}

/// The physical plan of `sql` in `ctx`, as text.
async fn plan(ctx: &SessionContext, sql: &str) -> String {
    let physical = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(physical.as_ref()).indent(true).to_string();
    text
}

/// The rows of `sql` in `ctx`, one line each, sorted.
async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let text = pretty_format_batches(&batches).unwrap().to_string();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// Runs `sql` over `t` with the rule (at `group_limit`) and without it: the plans differ by the
/// operator, the results not at all. Returns the result rows.
async fn same_result(t: &Arc<MemTable>, group_limit: usize, sql: &str) -> Vec<String> {
    let with = session(t, Some(group_limit));
    let without = session(t, None);
    let replaced = plan(&with, sql).await;
    assert!(replaced.contains("ShortKeyAggregateExec"), "{replaced}");
    let original = plan(&without, sql).await;
    assert!(!original.contains("ShortKeyAggregateExec"), "{original}");
    let expected = rows(&without, sql).await;
    assert_eq!(rows(&with, sql).await, expected, "{sql}");
    expected
}

const AGGREGATES: &str = "SELECT k, count(*) AS n, count(v) AS nv, sum(v) AS s, avg(x) AS a, \
     min(x) AS lo, max(v) AS hi, min(k) AS lo_k, max(k) AS hi_k FROM t GROUP BY k";

#[tokio::test]
async fn short_long_and_null_keys_aggregate_as_datafusion_does() {
    let t = table(5_000, &mixed_keys());
    let result = same_result(&t, super::DEFAULT_GROUP_LIMIT, AGGREGATES).await;
    // A header, three rules and one row per key.
    assert_eq!(result.len(), mixed_keys().len() + 4);
    assert!(result
        .iter()
        .any(|l| l.contains("a category longer than a view holds 3")));
}

#[tokio::test]
async fn filters_and_expressions_as_arguments() {
    let t = table(3_000, &mixed_keys());
    same_result(
        &t,
        super::DEFAULT_GROUP_LIMIT,
        "SELECT k, count(*) FILTER (WHERE v > 3) AS big, sum(v * 2) FILTER (WHERE x < 1.5) AS s, \
         avg(x + 1) AS a FROM t GROUP BY k",
    )
    .await;
}

#[tokio::test]
async fn distinct_aggregates() {
    let t = table(3_000, &mixed_keys());
    let sql = "SELECT k, count(DISTINCT v) AS dv, sum(DISTINCT x) AS dx FROM t GROUP BY k";
    let with = session(&t, Some(4));
    let without = session(&t, None);
    assert_eq!(rows(&with, sql).await, rows(&without, sql).await);
    same_result(&t, 4, "SELECT k, count(DISTINCT v) AS dv FROM t GROUP BY k").await;
}

#[tokio::test]
async fn many_groups_past_the_limit_are_emitted_early_and_merged() {
    let keys: Vec<Option<String>> = (0..700)
        .map(|i| match i % 50 {
            0 => None,
            1 => Some(format!("key number {i} of a long series")),
            _ => Some(format!("k{i}")),
        })
        .collect();
    let t = table(20_000, &keys);
    let result = same_result(&t, 3, AGGREGATES).await;
    // The null key counts once however often its group was emitted.
    assert_eq!(result.len(), 700 - 13 + 4);

    // The partial aggregates handed on more partial groups than there are groups: they
    // emitted whenever they held 3 or more.
    let ctx = session(&t, Some(3));
    let physical = ctx
        .sql(AGGREGATES)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    collect(Arc::clone(&physical), ctx.task_ctx())
        .await
        .unwrap();
    let partial = output_rows(&physical, "ShortKeyAggregateExec").unwrap();
    assert!(partial > 2 * 687, "{partial} partial groups");
}

/// The rows the first node named `name` in `plan` put out.
fn output_rows(plan: &Arc<dyn ExecutionPlan>, name: &str) -> Option<usize> {
    if plan.name() == name {
        return plan.metrics().and_then(|m| m.output_rows());
    }
    plan.children()
        .into_iter()
        .find_map(|child| output_rows(child, name))
}

#[tokio::test]
async fn empty_input_gives_no_groups() {
    let t = table(0, &mixed_keys());
    let result = same_result(&t, 3, AGGREGATES).await;
    // No batches at all: the table's two rules and nothing else.
    assert_eq!(result.len(), 2, "{result:?}");
    let filtered = same_result(
        &table(1_000, &mixed_keys()),
        3,
        "SELECT k, count(*) AS n FROM t WHERE v > 1000 GROUP BY k",
    )
    .await;
    assert_eq!(filtered.len(), 2, "{filtered:?}");
}

#[tokio::test]
async fn other_group_bys_are_left_to_datafusion() {
    let t = table(1_000, &mixed_keys());
    let ctx = session(&t, Some(3));
    for sql in [
        "SELECT v, count(*) FROM t GROUP BY v",
        "SELECT k, v, count(*) FROM t GROUP BY k, v",
        "SELECT k, count(*) FROM t GROUP BY GROUPING SETS ((k), ())",
        "SELECT k, array_agg(v ORDER BY v) FROM t GROUP BY k",
        "SELECT count(*), max(k) FROM t",
    ] {
        let text = plan(&ctx, sql).await;
        assert!(!text.contains("ShortKeyAggregateExec"), "{sql}: {text}");
        assert_eq!(rows(&ctx, sql).await, rows(&session(&t, None), sql).await);
    }
}

#[tokio::test]
async fn the_engine_session_plans_it() {
    let dir = tempfile::tempdir().unwrap();
    let settings = SessionSettings {
        target_partitions: Some(PARTITIONS),
        ..SessionSettings::default()
    };
    let ctx = Engine::new(dir.path()).session(&settings);
    ctx.register_table("t", table(1_000, &mixed_keys()) as _)
        .unwrap();
    let text = plan(&ctx, AGGREGATES).await;
    assert!(text.contains("ShortKeyAggregateExec"), "{text}");
    let without = session(&table(1_000, &mixed_keys()), None);
    assert_eq!(
        rows(&ctx, AGGREGATES).await,
        rows(&without, AGGREGATES).await
    );
}

#[tokio::test]
async fn thousands_of_short_keys_share_slots_and_grow_the_table() {
    let keys: Vec<Option<String>> = (0..3_000).map(|i| Some(format!("k{i}"))).collect();
    let t = table(30_000, &keys);
    let result = same_result(&t, super::DEFAULT_GROUP_LIMIT, AGGREGATES).await;
    assert_eq!(result.len(), 3_000 + 4);
}
