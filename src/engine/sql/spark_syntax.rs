//! The syntax forms of Spark SQL that the engine's parser reads differently or not at all:
//! double-quoted string literals, backslash escapes, `!` as NOT, typed number suffixes (`10L`,
//! `1.5BD`), `INTERVAL 3 HOURS 35 MINUTES`, and — on the parsed statement — Spark's arithmetic
//! (`/` gives a DOUBLE, a zero divisor gives NULL), non-ANSI casts (a malformed string casts
//! to NULL), Spark's type names, `RLIKE`, `LIKE … ESCAPE`, `~`, `MINUS`, `GROUP BY … WITH
//! ROLLUP`, `INTERSECT ALL` / `EXCEPT ALL` counting duplicates, the EXTRACT fields with Spark's numbering, default inline-table column names,
//! `LATERAL VIEW explode(…)`, and the refusal of the clauses a Spark collaboration does not
//! support (CLUSTER BY, DISTRIBUTE BY, SORT BY, PIVOT, UNPIVOT, WITH RECURSIVE, …); a script of
//! `CACHE TABLE` statements before a query is that query with common table expressions.

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::FormatOptions;
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::functions::core::get_field;
use datafusion::functions_nested::extract::array_element_udf;
use datafusion::logical_expr::simplify::{ExprSimplifyResult, SimplifyContext};
use datafusion::logical_expr::{cast, lit, when, Expr as LogicalExpr};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AccessExpr, BinaryOperator, CastKind, DataType as SqlType,
    DateTimeField, ExactNumberInfo, Expr, GroupByExpr, GroupByWithModifier, Ident, OrderBy,
    OrderByKind, Query, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement, Subscript,
    TableAlias, TableAliasColumnDef, TableFactor, TimezoneInfo, UnaryOperator, Value, VisitMut,
    VisitorMut,
};
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::multiset::{output_columns, OutputColumn};
use super::udf::AnyArgsFunction;

/// The scalar functions these forms need in a Spark session: `typeof`, the operand of
/// Spark's `/` and Spark's `array[i]`.
pub fn functions() -> Vec<ScalarUDF> {
    vec![
        type_of(),
        SparkOperator::udf(Form::Fractional),
        SparkOperator::udf(Form::Subscript),
    ]
}

/// How Spark's lexer reads a statement: backticks quote identifiers, double quotes delimit
/// strings, and a backslash escapes the next character of a string.
#[derive(Debug)]
struct SparkLexer;

impl Dialect for SparkLexer {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '`'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_alphanumeric() || ch == '_' || ch == '$'
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        true
    }
}

/// `s` as a single-quoted SQL string the engine's parser reads back unchanged.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The units an `INTERVAL` literal may name, singular and plural.
fn is_interval_unit(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    let w = w.strip_suffix('s').unwrap_or(&w);
    matches!(
        w,
        "year"
            | "month"
            | "week"
            | "day"
            | "hour"
            | "minute"
            | "second"
            | "millisecond"
            | "microsecond"
    )
}

/// The type a Spark number suffix gives its literal (`10L` is a BIGINT), `None` for another word.
fn suffix_type(suffix: &str, number: &str) -> Option<String> {
    Some(match suffix.to_ascii_uppercase().as_str() {
        "L" => "BIGINT".to_string(),
        "S" => "SMALLINT".to_string(),
        "Y" => "TINYINT".to_string(),
        "D" => "DOUBLE".to_string(),
        "F" => "REAL".to_string(),
        "BD" => {
            if number.contains(['e', 'E']) {
                return None;
            }
            let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
            let whole = whole.trim_start_matches('0');
            let scale = fraction.len();
            let precision = (whole.len() + scale).max(1);
            format!("DECIMAL({precision}, {scale})")
        }
        _ => return None,
    })
}

/// The statement text rewritten into what the engine's parser reads as Spark means it:
/// double-quoted strings and backslash escapes become plain single-quoted strings, `!` (NOT)
/// becomes `NOT`, `10L` / `2Y` / `5S` / `1.5D` / `2F` / `3.25BD` become casts, and
/// `INTERVAL 3 HOURS 35 MINUTES` (or a string with commas between its units) becomes one
/// interval string. `None` when nothing changes or the text does not lex (the parser then
/// reports the error).
pub fn prepare_text(sql: &str) -> Option<String> {
    let tokens = Tokenizer::new(&SparkLexer, sql)
        .tokenize_with_location()
        .ok()?;
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        match &t.token {
            Token::DoubleQuotedString(s) | Token::SingleQuotedString(s) => out.push_str(&quoted(s)),
            Token::ExclamationMark => out.push_str(" NOT "),
            // The lexer reads the `L` of `10L` itself.
            Token::Number(n, true) => out.push_str(&format!("CAST({n} AS BIGINT)")),
            Token::Number(n, false) => {
                let suffix = tokens.get(i + 1).and_then(|w| match &w.token {
                    Token::Word(word)
                        if word.quote_style.is_none() && w.span.start == t.span.end =>
                    {
                        suffix_type(&word.value, n)
                    }
                    _ => None,
                });
                match suffix {
                    Some(ty) => {
                        out.push_str(&format!("CAST({n} AS {ty})"));
                        i += 1;
                    }
                    // `1E2` is a DOUBLE in Spark, not a DECIMAL.
                    None if n.contains(['e', 'E']) => out.push_str(&format!("CAST({n} AS DOUBLE)")),
                    None => out.push_str(n),
                }
            }
            Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::INTERVAL => {
                match interval_literal(&tokens, &significant, i) {
                    Some((text, last)) => {
                        out.push_str(&text);
                        i = last;
                    }
                    None => out.push_str(&t.token.to_string()),
                }
            }
            other => out.push_str(&other.to_string()),
        }
        i += 1;
    }
    (out != sql).then_some(out)
}

/// An `INTERVAL` literal starting at token `at` in Spark's unit form (`INTERVAL 3 HOURS 35
/// MINUTES`, `INTERVAL -1 DAY`) or as one string with commas (`interval '3 hours, 35 minutes'`)
/// as the engine reads it, with the index of its last token. `None` for the forms the engine
/// reads as they are (`INTERVAL '1' DAY`, `INTERVAL '1 day'`).
fn interval_literal(
    tokens: &[TokenWithSpan],
    significant: &[usize],
    at: usize,
) -> Option<(String, usize)> {
    let start = significant.iter().position(|&s| s == at)? + 1;
    let token = |k: usize| significant.get(k).map(|&s| &tokens[s].token);
    // The single-string form: commas between the units are spaces to the engine.
    if let (Some(Token::SingleQuotedString(s)), next) = (token(start), token(start + 1)) {
        let unit_follows = matches!(next, Some(Token::Word(w)) if is_interval_unit(&w.value));
        if !unit_follows {
            return s.contains(',').then(|| {
                let text = s
                    .replace(',', " ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                (format!("INTERVAL {}", quoted(&text)), significant[start])
            });
        }
    }
    let mut parts = Vec::new();
    let mut k = start;
    let mut last = at;
    loop {
        let mut sign = "";
        let mut value_at = k;
        if matches!(token(k), Some(Token::Minus)) {
            sign = "-";
            value_at = k + 1;
        }
        let value = match token(value_at) {
            Some(Token::Number(n, _)) => n.clone(),
            Some(Token::SingleQuotedString(s)) => s.clone(),
            _ => break,
        };
        let Some(Token::Word(unit)) = token(value_at + 1) else {
            break;
        };
        if unit.quote_style.is_some() || !is_interval_unit(&unit.value) {
            break;
        }
        // `INTERVAL '1' DAY TO HOUR` is the engine's own form.
        if matches!(token(value_at + 2), Some(Token::Word(w)) if w.keyword == Keyword::TO) {
            return None;
        }
        parts.push(format!("{sign}{value} {}", unit.value.to_ascii_lowercase()));
        last = significant[value_at + 1];
        k = value_at + 2;
    }
    let first_is_number = matches!(token(start), Some(Token::Number(..) | Token::Minus));
    if parts.is_empty() || (parts.len() == 1 && !first_is_number) {
        return None;
    }
    Some((format!("INTERVAL {}", quoted(&parts.join(" "))), last))
}

/// A script of `CACHE TABLE name [AS] query;` statements followed by one query, as that query
/// with each cached table as a common table expression (the cache lasts for the one query, as
/// the reference says). `CACHE TABLE name;` of a table in the collaboration changes nothing
/// and is dropped. `None` when `sql` is not such a script.
///
/// # Errors
/// A script whose last statement is not a query, or with another kind of statement.
pub fn cache_tables(sql: &str) -> Result<Option<String>, String> {
    if !sql.to_ascii_lowercase().contains("cache") {
        return Ok(None);
    }
    let Ok(mut statements) = Parser::parse_sql(&GenericDialect {}, sql) else {
        return Ok(None);
    };
    if !matches!(statements.first(), Some(Statement::Cache { .. })) {
        return Ok(None);
    }
    let Some(Statement::Query(mut last)) = statements.pop() else {
        return Err(
            "CACHE TABLE must be followed by the query that reads the cached table".to_string(),
        );
    };
    let mut tables = Vec::new();
    for statement in statements {
        match statement {
            Statement::Cache {
                table_name,
                query: Some(query),
                ..
            } => tables.push(format!("{table_name} AS ({query})")),
            Statement::Cache { query: None, .. } => {}
            other => {
                return Err(format!(
                    "Only CACHE TABLE statements may precede the query, not: {other}"
                ))
            }
        }
    }
    if let Some(with) = last.with.take() {
        if with.recursive {
            return Err(unsupported("WITH RECURSIVE"));
        }
        tables.extend(with.cte_tables.iter().map(ToString::to_string));
    }
    if tables.is_empty() {
        return Ok(Some(last.to_string()));
    }
    Ok(Some(format!("WITH {} {last}", tables.join(", "))))
}

fn parse_expr(text: &str) -> Result<Expr, String> {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| format!("internal rewrite produced invalid SQL ({text}): {e}"))
}

/// `template` parsed, with each identifier `__1`, `__2`, … replaced by `args[0]`, `args[1]`, …
fn fill(template: &str, args: &[&Expr]) -> Result<Expr, String> {
    let mut expr = parse_expr(template)?;
    let _ = visit_expressions_mut(&mut expr, |e| {
        if let Expr::Identifier(ident) = e {
            if let Some(n) = ident.value.strip_prefix("__") {
                if let Some(arg) = n.parse::<usize>().ok().and_then(|n| args.get(n - 1)) {
                    *e = (*arg).clone();
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    Ok(expr)
}

/// The message for a clause a Spark collaboration does not support.
fn unsupported(form: &str) -> String {
    format!("{form} is not supported in Spark SQL (the collaboration's analytics engine is SPARK)")
}

/// The rewrites of a parsed Spark statement (see the module documentation).
///
/// # Errors
/// The message for a clause Spark collaborations do not support, or for a form that cannot
/// be rewritten.
pub fn rewrite_statement(statement: &mut Statement) -> Result<(), String> {
    if let Statement::Query(query) = statement {
        values_column_names(query)?;
    }
    if let ControlFlow::Break(e) = statement.visit(&mut SparkSyntax) {
        return Err(e);
    }
    Ok(())
}

/// A statement that is a VALUES list names its columns col1, col2, … as Spark does.
fn values_column_names(query: &mut Query) -> Result<(), String> {
    let SetExpr::Values(values) = query.body.as_ref() else {
        return Ok(());
    };
    let width = values.rows.first().map_or(0, |row| row.content.len());
    let columns: Vec<String> = (1..=width).map(|i| format!("col{i}")).collect();
    let sql = format!(
        "SELECT * FROM ({}) AS __values({})",
        query.body,
        columns.join(", ")
    );
    let select = Parser::new(&GenericDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| format!("internal rewrite produced invalid SQL ({sql}): {e}"))?;
    query.body = select.body;
    Ok(())
}

struct SparkSyntax;

impl VisitorMut for SparkSyntax {
    type Break = String;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<String> {
        match rewrite_query(query) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<String> {
        match check_factor(factor) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<String> {
        match rewrite_expr(expr) {
            Ok(Some(new)) => {
                *expr = new;
                ControlFlow::Continue(())
            }
            Ok(None) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<String> {
        if let Expr::Cast {
            kind, data_type, ..
        } = expr
        {
            // Spark without ANSI mode: a value that does not convert is NULL.
            if matches!(kind, CastKind::Cast | CastKind::DoubleColon) {
                *kind = CastKind::TryCast;
            }
            if let Err(e) = spark_type(data_type) {
                return ControlFlow::Break(e);
            }
        }
        ControlFlow::Continue(())
    }
}

/// Spark's type names as the engine's: `BYTE`, `SHORT`, `LONG`, `BINARY`, `TIMESTAMP_NTZ`,
/// `TIMESTAMP_LTZ`, and DECIMAL's default precision of 10.
fn spark_type(data_type: &mut SqlType) -> Result<(), String> {
    let new = match data_type {
        SqlType::Custom(name, modifiers) if modifiers.is_empty() => {
            match name.to_string().to_ascii_lowercase().as_str() {
                "byte" => SqlType::TinyInt(None),
                "short" => SqlType::SmallInt(None),
                "long" => SqlType::BigInt(None),
                "timestamp_ltz" => SqlType::Timestamp(None, TimezoneInfo::None),
                _ => return Ok(()),
            }
        }
        SqlType::TimestampNtz(_) => SqlType::Timestamp(None, TimezoneInfo::None),
        SqlType::Binary(_) => SqlType::Bytea,
        SqlType::Decimal(info) | SqlType::Numeric(info) | SqlType::Dec(info) => {
            let info = match info {
                ExactNumberInfo::None => ExactNumberInfo::PrecisionAndScale(10, 0),
                ExactNumberInfo::Precision(p) => ExactNumberInfo::PrecisionAndScale(*p, 0),
                other => *other,
            };
            SqlType::Decimal(info)
        }
        _ => return Ok(()),
    };
    *data_type = new;
    Ok(())
}

/// Refuses the table forms Spark collaborations do not support and names the columns of an
/// inline table `col1`, `col2`, … as Spark does.
fn check_factor(factor: &mut TableFactor) -> Result<(), String> {
    match factor {
        TableFactor::Pivot { .. } => Err(unsupported("PIVOT")),
        TableFactor::Unpivot { .. } => Err(unsupported("UNPIVOT")),
        TableFactor::Derived { lateral: true, .. }
        | TableFactor::Function { lateral: true, .. } => {
            Err(unsupported("LATERAL (a lateral subquery or join)"))
        }
        TableFactor::Table {
            sample: Some(_), ..
        }
        | TableFactor::Derived {
            sample: Some(_), ..
        } => Err(unsupported("TABLESAMPLE")),
        TableFactor::Derived {
            subquery, alias, ..
        } => {
            let SetExpr::Values(values) = subquery.body.as_ref() else {
                return Ok(());
            };
            let width = values.rows.first().map_or(0, |row| row.content.len());
            let alias = alias.get_or_insert_with(|| TableAlias {
                explicit: true,
                name: Ident::new("__values"),
                columns: Vec::new(),
                at: None,
            });
            if alias.columns.is_empty() {
                alias.columns = (1..=width)
                    .map(|i| TableAliasColumnDef::from_name(format!("col{i}")))
                    .collect();
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The query-level forms: `WITH RECURSIVE`, `MINUS`, the set operators with `ALL`, and the
/// clauses of each SELECT.
fn rewrite_query(query: &mut Query) -> Result<(), String> {
    if query.with.as_ref().is_some_and(|w| w.recursive) {
        return Err(unsupported("WITH RECURSIVE"));
    }
    if let Some(OrderBy {
        kind: OrderByKind::Expressions(items),
        ..
    }) = &query.order_by
    {
        if let Some(text) = items.iter().find_map(|item| literal_text(&item.expr)) {
            return Err(format!(
                "String literals are not supported in ORDER BY ({})",
                quoted(text)
            ));
        }
    }
    rewrite_body(query.body.as_mut())?;
    if let SetExpr::Select(select) = query.body.as_mut() {
        if !select.lateral_views.is_empty() {
            lateral_views(query)?;
        }
    }
    Ok(())
}

fn rewrite_body(body: &mut SetExpr) -> Result<(), String> {
    match body {
        SetExpr::SetOperation {
            op,
            set_quantifier,
            left,
            right,
        } => {
            if *op == SetOperator::Minus {
                *op = SetOperator::Except;
            }
            rewrite_body(left)?;
            rewrite_body(right)?;
            if matches!(op, SetOperator::Intersect | SetOperator::Except)
                && matches!(set_quantifier, SetQuantifier::All)
            {
                let Some(columns) = output_columns(left) else {
                    return Err(format!(
                        "{op} ALL is not supported with SELECT * on its left: name the columns"
                    ));
                };
                let names: Vec<Option<String>> = columns
                    .iter()
                    .map(|column| match column {
                        OutputColumn::Named(ident) => Some(ident.to_string()),
                        OutputColumn::Unnamed(_) => None,
                    })
                    .collect();
                let counted = super::multiset::counted(*op, left, right, &names)?;
                *body = counted;
            }
            Ok(())
        }
        SetExpr::Select(select) => {
            // The reference: string literals cannot be SELECT items, only arguments.
            for item in &select.projection {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    if let Some(text) = literal_text(e) {
                        return Err(format!(
                            "String literals are not supported directly in the SELECT list ({}): use them within a function such as CAST",
                            quoted(text)
                        ));
                    }
                }
            }
            if select.top.is_some() {
                return Err(format!("{} (use LIMIT)", unsupported("SELECT TOP")));
            }
            if !select.cluster_by.is_empty() {
                return Err(unsupported("CLUSTER BY"));
            }
            if !select.distribute_by.is_empty() {
                return Err(unsupported("DISTRIBUTE BY"));
            }
            if !select.sort_by.is_empty() {
                return Err(format!("{} (use ORDER BY)", unsupported("SORT BY")));
            }
            if let GroupByExpr::Expressions(exprs, modifiers) = &mut select.group_by {
                if let [modifier] = modifiers.as_slice() {
                    let sets: Vec<Vec<Expr>> = exprs.iter().map(|e| vec![e.clone()]).collect();
                    let grouped = match modifier {
                        GroupByWithModifier::Rollup => Some(Expr::Rollup(sets)),
                        GroupByWithModifier::Cube => Some(Expr::Cube(sets)),
                        _ => None,
                    };
                    if let Some(grouped) = grouped {
                        *exprs = vec![grouped];
                        modifiers.clear();
                    }
                }
            }
            Ok(())
        }
        SetExpr::Query(q) => rewrite_body(q.body.as_mut()),
        _ => Ok(()),
    }
}

/// `SELECT … FROM rel LATERAL VIEW explode(array) v AS c …` as a derived table that keeps
/// the relation's name: `FROM (SELECT rel.*, unnest(array) AS c FROM rel) AS rel`, with `v.c`
/// read as `rel.c`. One column alias (an array); the relation is one table or subquery.
fn lateral_views(query: &mut Query) -> Result<(), String> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(());
    };
    let [from] = select.from.as_mut_slice() else {
        return Err(unsupported("LATERAL VIEW over more than one table"));
    };
    if !from.joins.is_empty() {
        return Err(unsupported("LATERAL VIEW over a join"));
    }
    let name = match &from.relation {
        TableFactor::Table { name, alias, .. } => match alias {
            Some(a) => a.name.clone(),
            None => name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .cloned()
                .ok_or_else(|| unsupported("LATERAL VIEW over this relation"))?,
        },
        TableFactor::Derived { alias: Some(a), .. } => a.name.clone(),
        _ => return Err(unsupported("LATERAL VIEW over this relation")),
    };
    let mut renames: Vec<(String, Ident)> = Vec::new();
    for view in std::mem::take(&mut select.lateral_views) {
        if view.outer {
            return Err(unsupported("LATERAL VIEW OUTER"));
        }
        let Expr::Function(f) = &view.lateral_view else {
            return Err(unsupported("LATERAL VIEW without a generator function"));
        };
        let function = f.name.to_string().to_ascii_lowercase();
        if function != "explode" {
            return Err(unsupported(&format!(
                "LATERAL VIEW {}",
                function.to_ascii_uppercase()
            )));
        }
        let [column] = view.lateral_col_alias.as_slice() else {
            return Err(unsupported(
                "LATERAL VIEW explode with other than one column alias (explode of a map)",
            ));
        };
        let mut args = f.args.to_string();
        let mut arg_expr =
            parse_expr(&format!("x{args}")).map_err(|_| unsupported("this LATERAL VIEW"))?;
        rename_views(&mut arg_expr, &renames, &name);
        if let Expr::Function(g) = &arg_expr {
            args = g.args.to_string();
        }
        let relation = from.relation.to_string();
        let sql =
            format!("SELECT {name}.*, unnest(explode_values{args}) AS {column} FROM {relation}");
        let inner = Parser::new(&GenericDialect {})
            .try_with_sql(&sql)
            .and_then(|mut p| p.parse_query())
            .map_err(|e| format!("internal rewrite produced invalid SQL ({sql}): {e}"))?;
        from.relation = TableFactor::Derived {
            lateral: false,
            subquery: inner,
            alias: Some(TableAlias {
                explicit: true,
                name: name.clone(),
                columns: Vec::new(),
                at: None,
            }),
            sample: None,
        };
        if let Some(view_name) = view.lateral_view_name.0.last().and_then(|p| p.as_ident()) {
            renames.push((view_name.value.to_ascii_lowercase(), name.clone()));
        }
    }
    let _ = visit_expressions_mut(query, |e| {
        rename_views(e, &renames, &name);
        ControlFlow::<()>::Continue(())
    });
    Ok(())
}

/// `view.column` read as `relation.column` for each lateral view renamed to the relation.
fn rename_views(e: &mut Expr, renames: &[(String, Ident)], relation: &Ident) {
    let _ = visit_expressions_mut(e, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if let [first, _] = parts.as_mut_slice() {
                if renames
                    .iter()
                    .any(|(v, _)| first.value.eq_ignore_ascii_case(v))
                {
                    *first = relation.clone();
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// A string literal's text.
fn literal_text(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

/// The index of a `[ ]` subscript that is not a string (a map key or field name may be).
fn numeric_subscript(access: &AccessExpr) -> Option<&Expr> {
    match access {
        AccessExpr::Subscript(Subscript::Index { index }) if literal_text(index).is_none() => {
            Some(index)
        }
        _ => None,
    }
}

/// Whether `e` is a string literal holding a number.
fn numeric_text(e: &Expr) -> bool {
    literal_text(e).is_some_and(|s| s.trim().parse::<f64>().is_ok())
}

/// The expression rewrites (see the module documentation); `None` keeps `expr`.
fn rewrite_expr(expr: &Expr) -> Result<Option<Expr>, String> {
    Ok(Some(match expr {
        Expr::BinaryOp { left, op, right }
            if matches!(
                op,
                BinaryOperator::Plus | BinaryOperator::Minus | BinaryOperator::Multiply
            ) && (numeric_text(left) || numeric_text(right)) =>
        {
            // Spark reads a numeric string in arithmetic as a DOUBLE.
            let side = |e: &Expr| match numeric_text(e) {
                true => fill("CAST(__1 AS DOUBLE)", &[e]),
                false => Ok(e.clone()),
            };
            Expr::BinaryOp {
                left: Box::new(side(left)?),
                op: op.clone(),
                right: Box::new(side(right)?),
            }
        }
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Divide => {
                fill("spark_fractional(__1) / NULLIF(__2, 0)", &[left, right])?
            }
            BinaryOperator::Modulo => fill("__1 % NULLIF(__2, 0)", &[left, right])?,
            BinaryOperator::Spaceship => {
                return Err(unsupported("The null-safe equality operator <=>")
                    + " (use IS NOT DISTINCT FROM)")
            }
            _ => return Ok(None),
        },
        Expr::UnaryOp {
            op: UnaryOperator::BitwiseNot,
            expr,
        } => fill("(__1 ^ -1)", &[expr])?,
        Expr::RLike {
            negated,
            expr,
            pattern,
            ..
        } => {
            let op = if *negated { "!~" } else { "~" };
            fill(&format!("(__1 {op} __2)"), &[expr, pattern])?
        }
        Expr::Like {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: Some(escape),
        } => match like_escape(*negated, "LIKE", expr, pattern, &escape.value)? {
            Some(e) => e,
            None => return Ok(None),
        },
        Expr::ILike {
            negated,
            any: false,
            expr,
            pattern,
            escape_char: Some(escape),
        } => match like_escape(*negated, "ILIKE", expr, pattern, &escape.value)? {
            Some(e) => e,
            None => return Ok(None),
        },
        Expr::CompoundFieldAccess { root, access_chain }
            if access_chain.iter().any(|a| numeric_subscript(a).is_some()) =>
        {
            // Spark's `array[i]` counts from 0; a map's key or a struct's field stays as it is.
            let mut current = (**root).clone();
            for access in access_chain {
                current = match numeric_subscript(access) {
                    Some(index) => fill("spark_subscript(__1, __2)", &[&current, index])?,
                    None => Expr::CompoundFieldAccess {
                        root: Box::new(current),
                        access_chain: vec![access.clone()],
                    },
                };
            }
            current
        }
        Expr::Extract { field, expr, .. } => {
            let name = match field {
                DateTimeField::Custom(ident) => ident.value.clone(),
                other => other.to_string(),
            };
            extract(&name, expr)?
        }
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            if name != "date_part" && name != "datepart" {
                return Ok(None);
            }
            let datafusion::sql::sqlparser::ast::FunctionArguments::List(list) = &f.args else {
                return Ok(None);
            };
            let args: Vec<&Expr> = list
                .args
                .iter()
                .filter_map(|a| match a {
                    datafusion::sql::sqlparser::ast::FunctionArg::Unnamed(
                        datafusion::sql::sqlparser::ast::FunctionArgExpr::Expr(e),
                    ) => Some(e),
                    _ => None,
                })
                .collect();
            let [part, x] = args.as_slice() else {
                return Ok(None);
            };
            let field = match part {
                Expr::Identifier(i) if i.quote_style.is_none() => i.value.clone(),
                other => match literal_text(other) {
                    Some(s) => s.to_string(),
                    None => return Ok(None),
                },
            };
            extract(&field, x)?
        }
        _ => return Ok(None),
    }))
}

/// `x [NOT] LIKE pattern ESCAPE 'c'` with `c` other than the backslash: the same pattern
/// written with the backslash escape the engine knows. `None` for the backslash itself.
///
/// # Errors
/// An escape of more than one character, a pattern that is not a literal, or one that ends
/// with the escape character.
fn like_escape(
    negated: bool,
    word: &str,
    expr: &Expr,
    pattern: &Expr,
    escape: &Value,
) -> Result<Option<Expr>, String> {
    let Value::SingleQuotedString(c) = escape else {
        return Ok(None);
    };
    let mut chars = c.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return Err(format!(
            "The escape character of {word} must be one character, got '{c}'"
        ));
    };
    if c == '\\' {
        return Ok(None);
    }
    let Some(text) = literal_text(pattern) else {
        return Err(format!(
            "{word} ... ESCAPE '{c}' needs a literal pattern (or the escape character '\\')"
        ));
    };
    let mut out = String::new();
    let mut it = text.chars();
    while let Some(ch) = it.next() {
        if ch == c {
            let Some(next) = it.next() else {
                return Err(format!(
                    "The pattern '{text}' ends with the escape character '{c}'"
                ));
            };
            out.push('\\');
            out.push(next);
        } else if ch == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(ch);
        }
    }
    let not = if negated { "NOT " } else { "" };
    fill(&format!("(__1 {not}{word} {})", quoted(&out)), &[expr]).map(Some)
}

/// `EXTRACT(field FROM x)` and `date_part('field', x)` with Spark's fields and numbering: the
/// day of the week from Sunday = 1 (`DOW`, `DAYOFWEEK`) or Monday = 1 (`DOW_ISO`,
/// `DAYOFWEEK_ISO`), integer fields as INT and seconds with their fraction.
///
/// # Errors
/// A field Spark does not know.
fn extract(field: &str, x: &Expr) -> Result<Expr, String> {
    let int = |part: &str| format!("CAST(date_part('{part}', __1) AS INT)");
    let text = match field.to_ascii_lowercase().as_str() {
        "year" | "y" | "years" | "yr" | "yrs" => int("year"),
        "quarter" | "qtr" => int("quarter"),
        "month" | "mon" | "mons" | "months" => int("month"),
        "week" | "w" | "weeks" => int("week"),
        "day" | "d" | "days" => int("day"),
        "dayofweek" | "dow" => "CAST(date_part('dow', __1) + 1 AS INT)".to_string(),
        "dayofweek_iso" | "dow_iso" => int("isodow"),
        "doy" => int("doy"),
        "hour" | "h" | "hours" | "hr" | "hrs" => int("hour"),
        "minute" | "m" | "min" | "mins" | "minutes" => int("minute"),
        "second" | "s" | "sec" | "seconds" | "secs" => {
            "CAST(CAST(date_part('microsecond', __1) AS DOUBLE) / 1000000 AS DECIMAL(8, 6))"
                .to_string()
        }
        "epoch" => "CAST(date_part('epoch', __1) AS DOUBLE)".to_string(),
        other => {
            return Err(format!(
                "[INVALID_PARAMETER_VALUE.FIELD] The value of parameter(s) `field` in `date_part` is invalid: '{other}' (Spark SQL's fields are YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFWEEK (DOW), DAYOFWEEK_ISO (DOW_ISO), DOY, HOUR, MINUTE, SECOND and their abbreviations)"
            ))
        }
    };
    fill(&text, &[x])
}

/// Spark's `typeof(expr)`: the name of the value's type as Spark writes it (`int`, `bigint`,
/// `double`, `decimal(10,2)`, `string`, `array<int>`, …).
fn type_of() -> ScalarUDF {
    AnyArgsFunction::udf("typeof", 1, 1, DataType::Utf8, |a, rows| {
        let name = spark_type_name(a[0].data_type());
        Ok(Arc::new(StringArray::from(vec![name; rows])) as ArrayRef)
    })
}

/// The Spark name of an engine type: the Glue/Hive name, which Spark shares, but for NULL and
/// intervals.
fn spark_type_name(t: &DataType) -> String {
    match t {
        DataType::Null => "void".into(),
        DataType::Interval(_) | DataType::Duration(_) => "interval".into(),
        other => crate::engine::hive_types::to_hive(other),
    }
}

/// The two operator forms of Spark that need the type of an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    /// `spark_fractional(x)`, the left operand of Spark's `/`: a DECIMAL or DOUBLE as it is,
    /// anything else (integers, FLOAT, strings) as a DOUBLE — so `7 / 2` is `3.5`.
    Fractional,
    /// `spark_subscript(x, i)`, Spark's `x[i]` with a number `i`: the element of an array
    /// counted from 0 (NULL outside it), or the value of a map's key `i`; planned away into the
    /// engine's own functions once the type of `x` is known.
    Subscript,
}

/// A scalar function for one of the [`Form`]s.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SparkOperator {
    form: Form,
    signature: Signature,
}

impl SparkOperator {
    fn udf(form: Form) -> ScalarUDF {
        let arity = match form {
            Form::Fractional => 1,
            Form::Subscript => 2,
        };
        ScalarUDF::new_from_impl(Self {
            form,
            signature: Signature::any(arity, Volatility::Immutable),
        })
    }
}

impl ScalarUDFImpl for SparkOperator {
    fn name(&self) -> &str {
        match self.form {
            Form::Fractional => "spark_fractional",
            Form::Subscript => "spark_subscript",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match (self.form, arg_types.first()) {
            (
                Form::Fractional,
                Some(t @ (DataType::Decimal128(..) | DataType::Decimal256(..) | DataType::Float64)),
            ) => Ok(t.clone()),
            (Form::Fractional, _) => Ok(DataType::Float64),
            (
                Form::Subscript,
                Some(DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _)),
            ) => Ok(f.data_type().clone()),
            (Form::Subscript, Some(DataType::Map(entries, _))) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => Ok(kv[1].data_type().clone()),
                other => plan_err!("a map whose entries are {other}"),
            },
            (Form::Subscript, other) => plan_err!(
                "[INVALID_EXTRACT_BASE_FIELD_TYPE] Can't extract a value from {}: [ ] with a number needs an array or a map",
                other.map_or_else(|| "nothing".to_string(), |t| format!("a {t}"))
            ),
        }
    }

    fn simplify(
        &self,
        args: Vec<LogicalExpr>,
        info: &SimplifyContext,
    ) -> Result<ExprSimplifyResult> {
        let (Form::Subscript, [x, i]) = (self.form, args.as_slice()) else {
            return Ok(ExprSimplifyResult::Original(args));
        };
        let planned = match info.get_data_type(x)? {
            DataType::Map(..) => get_field().call(vec![x.clone(), i.clone()]),
            _ => {
                let i = cast(i.clone(), DataType::Int64);
                when(
                    i.clone().gt_eq(lit(0_i64)),
                    array_element_udf().call(vec![x.clone(), i + lit(1_i64)]),
                )
                .end()?
            }
        };
        Ok(ExprSimplifyResult::Simplified(planned))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (Form::Fractional, [x]) = (self.form, args.args.as_slice()) else {
            return exec_err!(
                "{} is planned into the engine's functions before it runs",
                self.name()
            );
        };
        let to = self.return_type(&[x.data_type()])?;
        let options = CastOptions {
            safe: true,
            format_options: FormatOptions::default(),
        };
        x.cast_to(&to, Some(&options))
    }
}

#[cfg(test)]
mod tests {
    use super::{cache_tables, prepare_text};

    #[test]
    fn spark_lexical_forms_become_the_engine_s() {
        assert_eq!(
            prepare_text(r#"SELECT "it's", 'a\tb', !x, 10L, 2Y, 1.5BD, 1E2 FROM t"#).as_deref(),
            Some("SELECT 'it''s', 'a\tb',  NOT x, CAST(10 AS BIGINT), CAST(2 AS TINYINT), CAST(1.5 AS DECIMAL(2, 1)), CAST(1E2 AS DOUBLE) FROM t")
        );
        assert_eq!(
            prepare_text("SELECT d + INTERVAL 3 HOURS 35 MINUTES, INTERVAL -1 DAY, interval '3 hours, 35 minutes', INTERVAL '1' DAY").as_deref(),
            Some("SELECT d + INTERVAL '3 hours 35 minutes', INTERVAL '-1 day', INTERVAL '3 hours 35 minutes', INTERVAL '1' DAY")
        );
        // An alias after a space is no suffix; backticks stay.
        assert_eq!(prepare_text("SELECT 1 L, `x` FROM t"), None);
    }

    #[test]
    fn cache_table_scripts_become_one_query() {
        assert_eq!(
            cache_tables("CACHE TABLE c AS SELECT a FROM t; CACHE TABLE d SELECT b FROM u; WITH e AS (SELECT 1) SELECT * FROM c, d, e;").unwrap().as_deref(),
            Some("WITH c AS (SELECT a FROM t), d AS (SELECT b FROM u), e AS (SELECT 1) SELECT * FROM c, d, e")
        );
        assert_eq!(cache_tables("SELECT cache FROM t").unwrap(), None);
        let alone = cache_tables("CACHE TABLE c AS SELECT a FROM t;").unwrap_err();
        assert!(alone.contains("must be followed by the query"), "{alone}");
    }
}
