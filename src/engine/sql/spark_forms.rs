//! The Spark SQL forms that map onto the functions of [`super::spark_values`],
//! [`super::spark_json`], [`super::aes`] and [`super::hll`]: `explode` as a SELECT item,
//! `struct` with Spark's field names, `timestamp(expr)`, `to_char` with a numeric format, and
//! `encode` / `decode` with a
//! character set; and the list of those functions for a Spark session.

use std::ops::ControlFlow;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_expressions_mut, Expr, Function, Ident, Query, SelectItem, SetExpr,
    Statement, Value, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::spark_values::{charset, charset_error, number_format};
use super::{aes, gpp, hll, spark_json, spark_values, tcf};

/// The scalar functions a Spark session adds for these forms and for Spark's JSON,
/// encryption, HyperLogLog and consent functions.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        spark_values::timestamp(),
        spark_values::to_char_number(),
        spark_values::encode_charset(),
        spark_values::decode_charset(),
        spark_values::explode_values(),
        spark_json::to_json(),
        spark_json::str_to_map(),
        aes::aes_encrypt(),
        aes::aes_decrypt(),
        hll::hll_sketch_estimate(),
        hll::hll_union(),
        tcf::consent_tcf_v2_decode(),
        gpp::consent_gpp_v1_decode(),
    ]
}

/// The aggregate functions a Spark session adds: the HyperLogLog sketches.
pub fn aggregates() -> Vec<AggregateUDF> {
    vec![hll::hll_sketch_agg(), hll::hll_union_agg()]
}

fn parse_expr(text: &str) -> Result<Expr, String> {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| format!("internal rewrite produced invalid SQL ({text}): {e}"))
}

/// Whether `e` is a call of `explode` (unqualified, any case); its argument when it is.
fn explode_argument(e: &Expr) -> Option<String> {
    let Expr::Function(f) = e else {
        return None;
    };
    let [part] = f.name.0.as_slice() else {
        return None;
    };
    let ident = part.as_ident()?;
    if ident.quote_style.is_some() || !ident.value.eq_ignore_ascii_case("explode") {
        return None;
    }
    Some(f.args.to_string())
}

/// Spark's `struct(a, b, …)` with Spark's field names: a column's name, else `col1`, `col2`, …
/// (the engine would name them `c0`, `c1`, …).
fn struct_field_names(statement: &mut Statement) -> Result<(), String> {
    let flow = visit_expressions_mut(statement, |e| {
        let Expr::Struct { values, fields } = e else {
            return ControlFlow::Continue(());
        };
        if !fields.is_empty() || values.is_empty() {
            return ControlFlow::Continue(());
        }
        let pairs: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (name, value) = match v {
                    Expr::Identifier(ident) => (ident.value.clone(), v),
                    Expr::CompoundIdentifier(parts) => (
                        parts
                            .last()
                            .map_or_else(|| format!("col{}", i + 1), |p| p.value.clone()),
                        v,
                    ),
                    Expr::Named { expr, name } => (name.value.clone(), expr.as_ref()),
                    _ => (format!("col{}", i + 1), v),
                };
                format!("'{}', {value}", name.replace('\'', "''"))
            })
            .collect();
        match parse_expr(&format!("named_struct({})", pairs.join(", "))) {
            Ok(new) => {
                *e = new;
                ControlFlow::Continue(())
            }
            Err(message) => ControlFlow::Break(message),
        }
    });
    match flow {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The rewrites of a Spark statement as a whole, before its expressions are rewritten:
/// `struct` field names and `explode` select items.
///
/// # Errors
/// The message for an `explode` that is not a SELECT item.
pub fn rewrite_statement(statement: &mut Statement) -> Result<(), String> {
    struct_field_names(statement)?;
    explode_select_items(statement)
}

/// Spark's `explode(array_or_map)` as an item of a SELECT list: one output row per element of
/// the array (a column named `col` unless aliased) or entry of the map (a struct of `key` and
/// `value`). Anywhere else (nested in an expression, in WHERE), or twice in one SELECT list,
/// it is refused, as Spark refuses a generator there.
///
/// # Errors
/// The message for an `explode` that is not a SELECT item.
fn explode_select_items(statement: &mut Statement) -> Result<(), String> {
    struct Items;
    impl VisitorMut for Items {
        type Break = String;
        fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<String> {
            match select_items(query.body.as_mut()) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => ControlFlow::Break(e),
            }
        }
    }
    fn select_items(body: &mut SetExpr) -> Result<(), String> {
        match body {
            SetExpr::Select(select) => {
                let generators: Vec<String> = select
                    .projection
                    .iter()
                    .filter_map(|item| match item {
                        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                            explode_argument(e).map(|_| format!("\"{e}\""))
                        }
                        _ => None,
                    })
                    .collect();
                if generators.len() > 1 {
                    return Err(format!(
                        "[UNSUPPORTED_GENERATOR.MULTI_GENERATOR] The generator is not supported: only one generator allowed per SELECT clause but found {}: {}",
                        generators.len(),
                        generators.join(", ")
                    ));
                }
                for item in &mut select.projection {
                    let (expr, alias) = match item {
                        SelectItem::UnnamedExpr(e) => (e, Ident::new("col")),
                        SelectItem::ExprWithAlias { expr, alias } => (expr, alias.clone()),
                        _ => continue,
                    };
                    let Some(args) = explode_argument(expr) else {
                        continue;
                    };
                    let expr = parse_expr(&format!("unnest(explode_values{args})"))?;
                    *item = SelectItem::ExprWithAlias { expr, alias };
                }
                Ok(())
            }
            SetExpr::SetOperation { left, right, .. } => {
                select_items(left)?;
                select_items(right)
            }
            _ => Ok(()),
        }
    }
    if let ControlFlow::Break(e) = statement.visit(&mut Items) {
        return Err(e);
    }
    let nested = visit_expressions(statement, |e| match explode_argument(e) {
        Some(_) => ControlFlow::Break(e.to_string()),
        None => ControlFlow::Continue(()),
    });
    match nested {
        ControlFlow::Break(call) => Err(format!(
            "[UNSUPPORTED_GENERATOR.NESTED_IN_EXPRESSIONS] The generator is not supported: nested in expressions \"{call}\" (EXPLODE must be an item of a SELECT list)"
        )),
        ControlFlow::Continue(()) => Ok(()),
    }
}

fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a `to_char` format is a numeric one: digits with the elements of a numeric format
/// (Spark's, or those of the PostgreSQL-style table the reference copies, which Spark refuses).
fn is_numeric_format(format: &str) -> bool {
    let upper = format.to_ascii_uppercase();
    (upper.contains(['0', '9']) || upper.trim() == "RN")
        && upper.chars().all(|c| "09.,DGSMIPR$LNTHFVE ".contains(c))
}

/// The rewrite of the Spark call `name(args)` when it is one of these forms.
///
/// # Errors
/// The message for a numeric format or character set Spark refuses.
pub fn rewrite(name: &str, args: &[Expr], _f: &Function) -> Result<Option<String>, String> {
    let call = |function: &str| {
        let list: Vec<String> = args.iter().map(ToString::to_string).collect();
        format!("{function}({})", list.join(", "))
    };
    Ok(match (name, args) {
        ("timestamp", [_]) => Some(call("spark_timestamp")),
        ("timestamp", _) => {
            return Err(format!(
                "Function 'TIMESTAMP' takes 1 argument, got {}",
                args.len()
            ))
        }
        ("to_char", [x, format]) => match string_literal(format) {
            Some(f) if is_numeric_format(f) => {
                number_format(f)?;
                Some(format!(
                    "spark_to_char_number(CAST({x} AS VARCHAR), {format})"
                ))
            }
            _ => None,
        },
        ("encode" | "decode", [_, set]) => {
            let function = if name == "encode" {
                "encode_charset"
            } else {
                "decode_charset"
            };
            match string_literal(set) {
                Some(s) if charset(s).is_none() => return Err(charset_error(name, s)),
                _ => Some(call(function)),
            }
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::display::array_value_to_string;

    use crate::engine::sql::{self, SqlDialect};

    /// The rows of `query` run in a Spark session, each as its values joined by `|`.
    async fn rows(query: &str) -> Result<Vec<String>, String> {
        let batches = sql::run_query(SqlDialect::Spark, query, 1_700_000_000.0).await?;
        let mut out = Vec::new();
        for batch in batches {
            for i in 0..batch.num_rows() {
                let values: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| array_value_to_string(c.as_ref(), i).unwrap())
                    .collect();
                out.push(values.join("|"));
            }
        }
        Ok(out)
    }

    async fn one(query: &str) -> String {
        match rows(query).await {
            Ok(r) => r.join("\n"),
            Err(e) => panic!("{query}: {e}"),
        }
    }

    #[tokio::test]
    async fn explode_gives_a_row_per_element() {
        assert_eq!(one("SELECT explode(array(10, 20))").await, "10\n20");
        assert_eq!(
            one("SELECT x, explode(array(x, x + 1)) AS y FROM (VALUES (1), (5)) AS t(x) ORDER BY x, y").await,
            "1|1\n1|2\n5|5\n5|6"
        );
        assert_eq!(
            one("SELECT e['key'], e['value'] FROM (SELECT explode(str_to_map('a:1,b:2')) AS e) AS m").await,
            "a|1\nb|2"
        );
        assert_eq!(
            one("SELECT count(*) FROM (SELECT explode(CAST(NULL AS ARRAY<INT>)))").await,
            "0"
        );
        let two = rows("SELECT explode(array(1)), explode(array(2))")
            .await
            .unwrap_err();
        assert!(two.contains("only one generator allowed"), "{two}");
        let nested = rows("SELECT upper(explode(array('a')))").await.unwrap_err();
        assert!(nested.contains("UNSUPPORTED_GENERATOR"), "{nested}");
    }

    #[tokio::test]
    async fn json_and_maps_as_spark_prints_them() {
        assert_eq!(
            one("SELECT to_json(named_struct('a', 1, 'b', 2))").await,
            r#"{"a":1,"b":2}"#
        );
        assert_eq!(
            one("SELECT to_json(struct(1, 2, 3)), to_json(struct(x, t.y)) FROM (VALUES (1, 'b')) AS t(x, y)").await,
            r#"{"col1":1,"col2":2,"col3":3}|{"x":1,"y":"b"}"#
        );
        assert_eq!(
            one("SELECT to_json(named_struct('time', to_timestamp('2015-08-26', 'yyyy-MM-dd')), map('timestampFormat', 'dd/MM/yyyy'))").await,
            r#"{"time":"26/08/2015"}"#
        );
        assert_eq!(
            one("SELECT to_json(str_to_map('a:1,b:2,c:3', ',', ':')), to_json(str_to_map('a')), to_json(array(1, NULL)), to_json(named_struct('a', NULL, 's', 'x\"y'))").await,
            r#"{"a":"1","b":"2","c":"3"}|{"a":null}|[1,null]|{"s":"x\"y"}"#
        );
        let dup = rows("SELECT str_to_map('a:1,a:2')").await.unwrap_err();
        assert!(dup.contains("DUPLICATED_MAP_KEY"), "{dup}");
        let scalar = rows("SELECT to_json(1)").await.unwrap_err();
        assert!(
            scalar.contains("must be a struct, an array or a map"),
            "{scalar}"
        );
    }

    #[tokio::test]
    async fn casts_formats_and_charsets() {
        assert_eq!(
            one("SELECT timestamp(1632416400), timestamp('2021-09-23 17:00:00'), timestamp('no')")
                .await,
            "2021-09-23T17:00:00|2021-09-23T17:00:00|"
        );
        assert_eq!(
            one("SELECT to_char(-125.8, '999D99S'), to_char(454, '999'), to_char(12454, '99G999'), to_char(78.12, '$99.99'), to_char(5, '0099')").await,
            "125.80-|454|12,454|$78.12|0005"
        );
        let bad = rows("SELECT to_char(125, 'RN')").await.unwrap_err();
        assert!(bad.contains("The format is invalid"), "{bad}");
        assert_eq!(
            one("SELECT hex(encode('abc', 'utf-16')), decode(encode('é', 'ISO-8859-1'), 'iso-8859-1'), decode(unhex('537061726B2053514C'), 'UTF-8')").await,
            "FEFF006100620063|é|Spark SQL"
        );
        let charset = rows("SELECT encode('a', 'windows-1252')")
            .await
            .unwrap_err();
        assert!(charset.contains("charset"), "{charset}");
        // The engine's own encodings stay reachable through Spark's base64/unbase64.
        assert_eq!(
            one("SELECT base64('Spark SQL'), CAST(unbase64('U3BhcmsgU1FM') AS STRING)").await,
            "U3BhcmsgU1FM|Spark SQL"
        );
    }

    #[tokio::test]
    async fn aes_as_spark_documents_it() {
        assert_eq!(
            one("SELECT base64(aes_encrypt('Spark SQL', '1234567890abcdef', 'ECB', 'PKCS')), CAST(aes_decrypt(unbase64('3lmwu+Mw0H3fi5NDvcu9lg=='), '1234567890abcdef', 'ECB', 'PKCS') AS STRING)").await,
            "3lmwu+Mw0H3fi5NDvcu9lg==|Spark SQL"
        );
        assert_eq!(
            one("SELECT CAST(aes_decrypt(aes_encrypt('Spark', 'abcdefghijklmnop12345678'), 'abcdefghijklmnop12345678') AS STRING), CAST(aes_decrypt(aes_encrypt('Spark', 'abcdefghijklmnop', 'CBC'), 'abcdefghijklmnop', 'CBC') AS STRING), length(hex(aes_encrypt('Spark', 'abcdefghijklmnop')))").await,
            "Spark|Spark|66"
        );
        let key = rows("SELECT aes_encrypt('a', 'short')").await.unwrap_err();
        assert!(key.contains("AES_KEY_LENGTH"), "{key}");
    }

    #[tokio::test]
    async fn hll_sketches_as_spark_documents_them() {
        let values = "FROM (VALUES (1, 4), (1, 4), (2, 5), (2, 5), (3, 6)) AS tab(col1, col2)";
        assert_eq!(
            one(&format!("SELECT hll_sketch_estimate(hll_sketch_agg(col1, 12)), hll_sketch_estimate(hll_sketch_agg(col1)), hll_sketch_estimate(hll_union(hll_sketch_agg(col1), hll_sketch_agg(col2))) {values}")).await,
            "3|3|6"
        );
        assert_eq!(
            one("SELECT hll_sketch_estimate(hll_union_agg(sketch, true)) FROM (SELECT hll_sketch_agg(col) AS sketch FROM (VALUES (1)) AS tab(col) UNION ALL SELECT hll_sketch_agg(col, 20) AS sketch FROM (VALUES (1)) AS tab(col))").await,
            "1"
        );
        let different = rows("SELECT hll_sketch_estimate(hll_union_agg(sketch)) FROM (SELECT hll_sketch_agg(col) AS sketch FROM (VALUES (1)) AS tab(col) UNION ALL SELECT hll_sketch_agg(col, 20) AS sketch FROM (VALUES (1)) AS tab(col))").await.unwrap_err();
        assert!(
            different.contains("HLL_UNION_DIFFERENT_LG_K"),
            "{different}"
        );
        let lg_k = rows("SELECT hll_sketch_agg(col, 2) FROM (VALUES (1)) AS tab(col)")
            .await
            .unwrap_err();
        assert!(lg_k.contains("HLL_INVALID_LG_K"), "{lg_k}");
        assert_eq!(
            one("SELECT hll_sketch_estimate(hll_sketch_agg(CAST(v AS STRING))) FROM (SELECT unnest(range(0, 20000)) AS v)").await.parse::<f64>().map(|e| (e - 20000.0).abs() < 20000.0 * 0.05).unwrap(),
            "true".parse::<bool>().unwrap()
        );
    }
}
