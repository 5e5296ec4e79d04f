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
