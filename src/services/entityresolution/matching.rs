//! Rule-based ID mapping as one SQL query: given the SOURCE and TARGET input tables (registered
//! in a session under names chosen by the caller) and the rules, the query returns the pairs
//! `(source_id, target_id)` of `UNIQUE_ID` values that the rules match.
//!
//! Semantics (exact matching, no normalisation):
//! - a match key's value on a record is, with `ONE_TO_ONE` attribute matching, the values of
//!   the key's columns joined with a space; with `MANY_TO_MANY`, any one of the key's columns
//!   (each column's value is a candidate);
//! - a rule matches a source record and a target record when, for every one of its matching
//!   keys, they share a non-empty value;
//! - rules are tried in order: a source record maps to the target record of the first rule that
//!   matches it (ties broken by the smaller target id); `MANY_SOURCE_TO_ONE_TARGET` stops there,
//!   `ONE_SOURCE_TO_ONE_TARGET` then keeps, for each target record, its best source record (first
//!   rule, then smaller source id).

use std::fmt::Write as _;

use cleanrooms_emulator_api::entityresolution::dto;

use super::resolve::InputTable;

/// The output column holding the SOURCE record's unique id.
pub const SOURCE_ID_COLUMN: &str = "source_id";
/// The output column holding the TARGET record's unique id.
pub const TARGET_ID_COLUMN: &str = "target_id";

fn ident(name: &str) -> String {
    format!("\"{}\"", name.to_ascii_lowercase().replace('"', "\"\""))
}

fn text(column: &str) -> String {
    format!("CAST({} AS VARCHAR)", ident(column))
}

/// The `(rid, v)` rows of one side for match key `key`.
fn key_values(
    tables: &[(String, &InputTable)],
    key: &str,
    attribute: dto::AttributeMatchingModel,
) -> String {
    let mut parts = Vec::new();
    for (registered, t) in tables {
        let columns = t.match_keys.get(key).cloned().unwrap_or_default();
        let from = ident(registered);
        let rid = text(&t.unique_id);
        match attribute {
            dto::AttributeMatchingModel::OneToOne => {
                let joined: Vec<String> = columns.iter().map(|c| text(c)).collect();
                parts.push(format!(
                    "SELECT {rid} AS rid, concat_ws(' ', {}) AS v FROM {from}",
                    joined.join(", ")
                ));
            }
            dto::AttributeMatchingModel::ManyToMany => {
                for c in &columns {
                    parts.push(format!("SELECT {rid} AS rid, {} AS v FROM {from}", text(c)));
                }
            }
        }
    }
    format!(
        "SELECT rid, v FROM ({}) WHERE rid IS NOT NULL AND v IS NOT NULL AND v <> ''",
        parts.join(" UNION ALL ")
    )
}

/// The SQL of a rule-based ID mapping. `source` and `target` pair each input table with the
/// name it is registered under; `rules` is non-empty and every key exists on every table.
pub fn mapping_sql(
    source: &[(String, &InputTable)],
    target: &[(String, &InputTable)],
    rules: &[dto::Rule],
    attribute: dto::AttributeMatchingModel,
    record: dto::RecordMatchingModel,
) -> String {
    let mut keys: Vec<&str> = Vec::new();
    for r in rules {
        for k in &r.matching_keys {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let mut sql = String::from("WITH ");
    for (i, k) in keys.iter().enumerate() {
        let _ = write!(
            sql,
            "s_k{i} AS ({}), t_k{i} AS ({}), ",
            key_values(source, k, attribute),
            key_values(target, k, attribute)
        );
    }
    let rule_queries: Vec<String> = rules
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let per_key: Vec<String> = r
                .matching_keys
                .iter()
                .map(|k| {
                    let i = keys.iter().position(|x| x == k).unwrap_or_default();
                    format!(
                        "SELECT DISTINCT a.rid AS sid, b.rid AS tid FROM s_k{i} a JOIN t_k{i} b ON a.v = b.v"
                    )
                })
                .collect();
            format!(
                "SELECT sid, tid, {n} AS rule_no FROM ({})",
                per_key.join(" INTERSECT ")
            )
        })
        .collect();
    let _ = write!(
        sql,
        "pairs AS ({}), \
         best_per_source AS (SELECT sid, tid, rule_no FROM (SELECT sid, tid, rule_no, \
         ROW_NUMBER() OVER (PARTITION BY sid ORDER BY rule_no, tid) AS rn FROM pairs) WHERE rn = 1) ",
        rule_queries.join(" UNION ALL ")
    );
    match record {
        dto::RecordMatchingModel::ManySourceToOneTarget => {
            let _ = write!(
                sql,
                "SELECT sid AS {SOURCE_ID_COLUMN}, tid AS {TARGET_ID_COLUMN} FROM best_per_source"
            );
        }
        dto::RecordMatchingModel::OneSourceToOneTarget => {
            let _ = write!(
                sql,
                "SELECT sid AS {SOURCE_ID_COLUMN}, tid AS {TARGET_ID_COLUMN} FROM (SELECT sid, tid, \
                 ROW_NUMBER() OVER (PARTITION BY tid ORDER BY rule_no, sid) AS rn FROM best_per_source) \
                 WHERE rn = 1"
            );
        }
    }
    sql
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use datafusion::arrow::array::{Array, RecordBatch, StringArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::catalog::MemTable;
    use datafusion::prelude::SessionContext;

    use super::*;
    use crate::services::entityresolution::model::GlueTableRef;

    fn input(unique_id: &str, keys: &[(&str, &[&str])]) -> InputTable {
        InputTable {
            table: GlueTableRef {
                account: "111111111111".into(),
                region: "us-east-1".into(),
                database: "db".into(),
                table: "t".into(),
            },
            unique_id: unique_id.into(),
            match_keys: keys
                .iter()
                .map(|(k, cols)| (k.to_string(), cols.iter().map(|c| c.to_string()).collect()))
                .collect(),
        }
    }

    fn register(ctx: &SessionContext, name: &str, columns: &[&str], rows: &[&[Option<&str>]]) {
        let schema = Arc::new(Schema::new(
            columns
                .iter()
                .map(|c| Field::new(*c, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let arrays = (0..columns.len())
            .map(|i| {
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r[i]).collect::<Vec<_>>(),
                )) as _
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
        ctx.register_table(
            name,
            Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
        )
        .unwrap();
    }

    async fn pairs(ctx: &SessionContext, sql: &str) -> BTreeSet<(String, String)> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = BTreeSet::new();
        for b in batches {
            let s = cast(b.column(0), &DataType::Utf8).unwrap();
            let t = cast(b.column(1), &DataType::Utf8).unwrap();
            let s = s.as_any().downcast_ref::<StringArray>().unwrap();
            let t = t.as_any().downcast_ref::<StringArray>().unwrap();
            for i in 0..b.num_rows() {
                out.insert((s.value(i).to_string(), t.value(i).to_string()));
            }
        }
        out
    }

    fn rule(name: &str, keys: &[&str]) -> dto::Rule {
        dto::Rule {
            rule_name: name.into(),
            matching_keys: keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn rules_in_order_with_both_record_matching_models() {
        let ctx = SessionContext::new();
        register(
            &ctx,
            "s",
            &["id", "email", "phone"],
            &[
                &[Some("s1"), Some("a@x"), Some("1")],
                &[Some("s2"), Some("b@x"), Some("2")],
                &[Some("s3"), Some(""), Some("3")],
                &[Some("s4"), Some("b@x"), None],
            ],
        );
        register(
            &ctx,
            "t",
            &["tid", "mail", "tel"],
            &[
                &[Some("t1"), Some("a@x"), Some("9")],
                &[Some("t2"), Some("b@x"), Some("2")],
                &[Some("t3"), Some(""), Some("3")],
            ],
        );
        let s = input("id", &[("EMAIL", &["email"]), ("PHONE", &["phone"])]);
        let t = input("tid", &[("EMAIL", &["mail"]), ("PHONE", &["tel"])]);
        let source = [("s".to_string(), &s)];
        let target = [("t".to_string(), &t)];
        let rules = [rule("email", &["EMAIL"]), rule("phone", &["PHONE"])];
        let many = mapping_sql(
            &source,
            &target,
            &rules,
            dto::AttributeMatchingModel::OneToOne,
            dto::RecordMatchingModel::ManySourceToOneTarget,
        );
        // s3's empty email never matches; its phone does (second rule).
        assert_eq!(
            pairs(&ctx, &many).await,
            set(&[("s1", "t1"), ("s2", "t2"), ("s3", "t3"), ("s4", "t2")])
        );
        let one = mapping_sql(
            &source,
            &target,
            &rules,
            dto::AttributeMatchingModel::OneToOne,
            dto::RecordMatchingModel::OneSourceToOneTarget,
        );
        assert_eq!(
            pairs(&ctx, &one).await,
            set(&[("s1", "t1"), ("s2", "t2"), ("s3", "t3")])
        );
        // A rule with two keys needs both to match.
        let both = mapping_sql(
            &source,
            &target,
            &[rule("both", &["EMAIL", "PHONE"])],
            dto::AttributeMatchingModel::OneToOne,
            dto::RecordMatchingModel::ManySourceToOneTarget,
        );
        assert_eq!(pairs(&ctx, &both).await, set(&[("s2", "t2")]));
    }

    #[tokio::test]
    async fn attribute_matching_models() {
        let ctx = SessionContext::new();
        register(
            &ctx,
            "s",
            &["id", "first", "last"],
            &[&[Some("s1"), Some("ann"), Some("lee")]],
        );
        register(
            &ctx,
            "t",
            &["id", "given", "family"],
            &[
                &[Some("t1"), Some("lee"), Some("ann")],
                &[Some("t2"), Some("ann"), Some("lee")],
            ],
        );
        let s = input("id", &[("NAME", &["first", "last"])]);
        let t = input("id", &[("NAME", &["given", "family"])]);
        let source = [("s".to_string(), &s)];
        let target = [("t".to_string(), &t)];
        let rules = [rule("name", &["NAME"])];
        let run = |attribute| {
            mapping_sql(
                &source,
                &target,
                &rules,
                attribute,
                dto::RecordMatchingModel::ManySourceToOneTarget,
            )
        };
        // ONE_TO_ONE: "ann lee" = "ann lee" only.
        assert_eq!(
            pairs(&ctx, &run(dto::AttributeMatchingModel::OneToOne)).await,
            set(&[("s1", "t2")])
        );
        // MANY_TO_MANY: any column against any column; t1 is the smaller id.
        assert_eq!(
            pairs(&ctx, &run(dto::AttributeMatchingModel::ManyToMany)).await,
            set(&[("s1", "t1")])
        );
    }
}
