//! Rewrites of a parsed statement into what DataFusion plans: the forms of a dialect that are
//! syntax rather than functions (`SYSDATE` without parentheses, date parts as unquoted
//! keywords, `DECODE` as a `CASE`, `LISTAGG … WITHIN GROUP`), the synonyms of a reference
//! (`CEILING`, `LEN`, `NVL`, `MOD`, Spark's `dayofweek` or `if`), and the format strings of `TO_CHAR`, `TO_DATE` and
//! `TO_TIMESTAMP` in the engine's notation. `GETDATE()`, `SYSDATE`, `CURRENT_DATE` (and Spark's
//! `current_timestamp()`, `now()`) become the emulator clock's time when the statement is planned.
//! Spark's `FIRST`/`LAST` with `ignoreNulls`, `DIV`, `percentile`/`approx_percentile` and Clean
//! Rooms SQL's `CONVERT(type, x)` and `RATIO_TO_REPORT` are rewrites too, as is `REGEXP_REPLACE`
//! replacing every match in both dialects.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr,
    FunctionArguments, Ident, NullTreatment, ObjectName, Query, SelectItem, SetExpr, Statement,
    Value, VisitMut, VisitorMut, WindowType,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::format::{clean_rooms_datetime, spark_datetime};
use super::parts::DatePart;
use super::SqlDialect;

/// Rewrites `statement` for `dialect`; `now` is the emulator clock (epoch seconds).
///
/// # Errors
/// A message naming the function and the argument at fault.
pub fn rewrite(statement: &mut Statement, dialect: SqlDialect, now: f64) -> Result<(), String> {
    let mut names = Names::default();
    let _ = statement.visit(&mut names);
    let flow = visit_expressions_mut(statement, |expr| {
        if let Err(e) = rewrite_in_place(expr, dialect) {
            return ControlFlow::Break(e);
        }
        match rewrite_expr(expr, dialect, now) {
            Ok(Some(text)) => match parse_expr(&text) {
                Ok(new) => *expr = new,
                Err(e) => return ControlFlow::Break(e),
            },
            Ok(None) => {}
            Err(e) => return ControlFlow::Break(e),
        }
        ControlFlow::Continue(())
    });
    if let ControlFlow::Break(e) = flow {
        return Err(e);
    }
    names.naming = true;
    names.next = 0;
    let _ = statement.visit(&mut names);
    Ok(())
}

/// The output names of a query's select items: an item without an alias that a rewrite changed
/// keeps the name of what the user wrote (`CEILING(x)`, not `ceil(x)`), so two synonyms in one
/// select list stay two columns.
#[derive(Default)]
struct Names {
    /// The text of every unaliased select item before the rewrite, in visiting order.
    original: Vec<String>,
    /// Whether this pass names items (the second pass) rather than records them.
    naming: bool,
    next: usize,
}

impl VisitorMut for Names {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        for item in &mut select.projection {
            let SelectItem::UnnamedExpr(expr) = item else {
                continue;
            };
            if !self.naming {
                self.original.push(expr.to_string());
                continue;
            }
            let Some(original) = self.original.get(self.next) else {
                continue;
            };
            self.next += 1;
            if *original != expr.to_string() && !matches!(expr, Expr::Identifier(_)) {
                *item = SelectItem::ExprWithAlias {
                    expr: expr.clone(),
                    alias: Ident::with_quote('"', original.to_ascii_lowercase()),
                };
            }
        }
        ControlFlow::Continue(())
    }
}

/// An expression written by a rewrite, parsed.
///
/// # Errors
/// The text is no expression (a fault of the rewrite).
pub(super) fn parse_expr(text: &str) -> Result<Expr, String> {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| format!("internal rewrite produced invalid SQL ({text}): {e}"))
}

/// The time of the emulator clock as SQL timestamp and date literals.
fn clock_literals(now: f64) -> (String, String) {
    let secs = now.floor();
    let nanos = ((now - secs) * 1e9) as u32;
    let t = chrono::DateTime::from_timestamp(secs as i64, nanos)
        .unwrap_or_default()
        .naive_utc();
    (
        format!("CAST('{}' AS TIMESTAMP)", t.format("%Y-%m-%d %H:%M:%S%.6f")),
        format!("CAST('{}' AS DATE)", t.format("%Y-%m-%d")),
    )
}

/// `TIMEOFDAY()`: the clock's time as a string (`Thu Sep 19 22:53:50.333525 2013 UTC`).
fn time_of_day(now: f64) -> String {
    let secs = now.floor();
    let nanos = ((now - secs) * 1e9) as u32;
    chrono::DateTime::from_timestamp(secs as i64, nanos)
        .unwrap_or_default()
        .format("%a %b %d %H:%M:%S%.6f %Y UTC")
        .to_string()
}

/// The rewrites that keep the node and change it (Spark's `FIRST`/`LAST` with `ignoreNulls`, in
/// an aggregate or a window) or need the parts of a form the text rewrites skip (a window, the
/// `DIV` operator, `CONVERT(type, expr)`).
fn rewrite_in_place(expr: &mut Expr, dialect: SqlDialect) -> Result<(), String> {
    let text = match (&mut *expr, dialect) {
        (Expr::Function(f), SqlDialect::Spark) => {
            first_last(f)?;
            None
        }
        (Expr::Function(f), SqlDialect::CleanRoomsSql) => {
            super::super_json::decimal_literals(f);
            match ratio_to_report(f)? {
                Some(text) => Some(text),
                None => ordered_set_window(f)?,
            }
        }
        (
            Expr::BinaryOp {
                left,
                op: BinaryOperator::DuckIntegerDivide,
                right,
            },
            SqlDialect::Spark,
        ) => Some(integer_divide(left, right)),
        (
            Expr::Convert {
                is_try: false,
                expr: value,
                data_type: Some(data_type),
                charset: None,
                target_before_value: true,
                styles,
            },
            SqlDialect::CleanRoomsSql,
        ) if styles.is_empty() => Some(format!("CAST({value} AS {data_type})")),
        // The generic grammar reads `CONVERT(INTEGER, x)` value first: the "value" is the type
        // and the "type" the column.
        (
            Expr::Convert {
                is_try: false,
                expr: target,
                data_type: Some(value),
                charset: None,
                target_before_value: false,
                styles,
            },
            SqlDialect::CleanRoomsSql,
        ) if styles.is_empty() => Some(format!("CAST({value} AS {target})")),
        _ => None,
    };
    if let Some(text) = text {
        *expr = parse_expr(&text)?;
    }
    Ok(())
}

/// Spark's `first(x [, ignoreNulls])` and `last(x [, ignoreNulls])` (and `first_value` /
/// `last_value` with the same flag), as aggregates or over a window: DataFusion's `first_value`
/// / `last_value` with `IGNORE NULLS` when the flag is `true`.
fn first_last(f: &mut Function) -> Result<(), String> {
    let Some(name) = simple_name(f) else {
        return Ok(());
    };
    let target = match name.as_str() {
        "first" | "first_value" => "first_value",
        "last" | "last_value" => "last_value",
        _ => return Ok(()),
    };
    let FunctionArguments::List(list) = &mut f.args else {
        return Ok(());
    };
    match list.args.len() {
        1 => {}
        2 => {
            let flag = match &list.args[1] {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
                    Value::Boolean(b) => Some(*b),
                    _ => None,
                },
                _ => None,
            };
            let Some(ignore) = flag else {
                return Err(format!(
                    "The second argument of {} must be the literal true or false (ignoreNulls)",
                    name.to_ascii_uppercase()
                ));
            };
            list.args.truncate(1);
            if ignore {
                f.null_treatment = Some(NullTreatment::IgnoreNulls);
            }
        }
        n => return Err(arity_error(&name, "1 or 2", n)),
    }
    f.name = ObjectName::from(vec![Ident::new(target)]);
    Ok(())
}

/// Clean Rooms SQL's `RATIO_TO_REPORT(x) OVER ([PARTITION BY …])`: `x` over the sum of `x` in its
/// partition, a DOUBLE (NULL when the sum is zero).
fn ratio_to_report(f: &Function) -> Result<Option<String>, String> {
    if simple_name(f).as_deref() != Some("ratio_to_report") {
        return Ok(None);
    }
    let Some(over) = &f.over else {
        return Err("RATIO_TO_REPORT needs an OVER clause".to_string());
    };
    if let WindowType::WindowSpec(spec) = over {
        if !spec.order_by.is_empty() || spec.window_frame.is_some() {
            return Err(
                "RATIO_TO_REPORT takes only PARTITION BY in its window, no ORDER BY or frame"
                    .to_string(),
            );
        }
    }
    let mut plain = f.clone();
    plain.over = None;
    let Some(args) = plain_args(&plain) else {
        return Err("RATIO_TO_REPORT takes one plain argument".to_string());
    };
    let [x] = args.as_slice() else {
        return Err(arity_error("ratio_to_report", "1", args.len()));
    };
    Ok(Some(format!(
        "(CAST({x} AS DOUBLE) / NULLIF(sum(CAST({x} AS DOUBLE)) OVER {over}, 0))"
    )))
}

/// The window forms of the ordered-set aggregates, see [`super::ordered_window`].
fn ordered_set_window(f: &Function) -> Result<Option<String>, String> {
    let (Some(name), Some(_)) = (simple_name(f), &f.over) else {
        return Ok(None);
    };
    let mut plain = f.clone();
    plain.over = None;
    super::ordered_window::rewrite(&name, plain_args(&plain), f)
}

/// `e` with every integer literal that fits an INT typed INT, as Spark types it (the engine
/// reads an integer literal as a BIGINT), for the functions whose result depends on the type.
fn spark_int_literals(mut e: Expr) -> Expr {
    let _ = visit_expressions_mut(&mut e, |x| {
        if let Expr::Value(v) = x {
            if let Value::Number(n, false) = &v.value {
                if n.parse::<i32>().is_ok() {
                    if let Ok(cast) = parse_expr(&format!("CAST({n} AS INT)")) {
                        *x = cast;
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    e
}

/// Spark's integer division (`a DIV b`, `div(a, b)`): the quotient truncated toward zero as a
/// BIGINT; NULL when `b` is zero (Spark without ANSI mode).
fn integer_divide(a: &Expr, b: &Expr) -> String {
    format!("CAST(trunc(({a}) / NULLIF(({b}), 0)) AS BIGINT)")
}

/// `regexp_replace` replacing every match (both references), from the 1-based `position` on,
/// with DataFusion's `flags` (`g` plus `i` for a case-insensitive match).
fn regexp_replace_all(
    s: &Expr,
    pattern: &Expr,
    replacement: &str,
    position: Option<&Expr>,
    flags: &str,
) -> String {
    match position {
        None => format!("regexp_replace({s}, {pattern}, {replacement}, '{flags}')"),
        Some(pos) => format!(
            "(substr({s}, 1, greatest({pos}, 1) - 1) || regexp_replace(substr({s}, greatest({pos}, 1)), {pattern}, {replacement}, '{flags}'))"
        ),
    }
}

/// The value at fraction `p` of the sorted non-NULL values of `x`: the smallest value whose
/// cumulative share reaches `p` (a value of the input, never interpolated).
fn percentile_disc(x: &Expr, p: &Expr) -> String {
    percentile_disc_ordered(x, p, false)
}

/// [`percentile_disc`] over the values sorted ascending or, with `descending`, descending.
fn percentile_disc_ordered(x: &Expr, p: &Expr, descending: bool) -> String {
    let order = if descending { "DESC" } else { "ASC" };
    format!(
        "array_element(array_sort(array_agg({x}) FILTER (WHERE ({x}) IS NOT NULL), '{order}'), greatest(CAST(ceil(({p}) * count({x})) AS BIGINT), 1))"
    )
}

fn rewrite_expr(expr: &Expr, dialect: SqlDialect, now: f64) -> Result<Option<String>, String> {
    match expr {
        Expr::Identifier(ident)
            if dialect == SqlDialect::CleanRoomsSql
                && ident.quote_style.is_none()
                && ident.value.eq_ignore_ascii_case("sysdate") =>
        {
            Ok(Some(clock_literals(now).0))
        }
        Expr::Extract { field, expr, .. } if dialect == SqlDialect::CleanRoomsSql => {
            let name = field.to_string();
            let Some(part) = DatePart::from_name(&name) else {
                return Err(format!("EXTRACT does not accept the date part '{name}'"));
            };
            let args = [Expr::Identifier(Ident::new(part.name())), (**expr).clone()];
            // EXTRACT gives only the named part: whole seconds, whole milliseconds.
            Ok(date_part("extract", &args)?.map(|value| match part {
                DatePart::Epoch => value,
                _ => format!("CAST(floor({value}) AS BIGINT)"),
            }))
        }
        Expr::Function(f) => {
            let Some(name) = simple_name(f) else {
                return Ok(None);
            };
            let Some(args) = plain_args(f) else {
                return Ok(None);
            };
            match dialect {
                SqlDialect::CleanRoomsSql => clean_rooms(&name, &args, f, now),
                SqlDialect::Spark => spark(&name, &args, f, now),
            }
        }
        _ => Ok(None),
    }
}

/// The lower-case name of an unqualified, unquoted function.
fn simple_name(f: &Function) -> Option<String> {
    let [part] = f.name.0.as_slice() else {
        return None;
    };
    let ident = part.as_ident()?;
    ident
        .quote_style
        .is_none()
        .then(|| ident.value.to_ascii_lowercase())
}

/// The arguments of a call without named arguments, `DISTINCT`, `OVER` or `FILTER` (the forms
/// the rewrites handle), as SQL text.
fn plain_args(f: &Function) -> Option<Vec<Expr>> {
    if f.over.is_some() || f.filter.is_some() {
        return None;
    }
    match &f.args {
        FunctionArguments::None => Some(Vec::new()),
        FunctionArguments::List(list) => {
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                return None;
            }
            list.args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                })
                .collect()
        }
        FunctionArguments::Subquery(_) => None,
    }
}

/// A date part written as an unquoted keyword (`day`) or a string (`'day'`).
fn part_of(e: &Expr) -> Option<(String, Option<DatePart>)> {
    let text = match e {
        Expr::Identifier(i) if i.quote_style.is_none() => i.value.clone(),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.clone(),
            _ => return None,
        },
        _ => return None,
    };
    let part = DatePart::from_name(&text);
    Some((text, part))
}

/// The text of a single-quoted string literal.
pub(super) fn string_literal(e: &Expr) -> Option<String> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn join(args: &[Expr]) -> String {
    args.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn arity_error(name: &str, expected: &str, got: usize) -> String {
    format!(
        "Function '{}' takes {expected} arguments, got {got}",
        name.to_ascii_uppercase()
    )
}

/// `DATEADD(part, n, x)` / `DATEDIFF(part, a, b)` with the date part checked and the
/// arguments cast for `function` (the registered name).
fn date_arithmetic(name: &str, function: &str, args: &[Expr]) -> Result<Option<String>, String> {
    let [part, a, b] = args else {
        return Err(arity_error(name, "3", args.len()));
    };
    let Some((text, part)) = part_of(part) else {
        return Err(format!(
            "The first argument of {} must be a date part such as day, month or year",
            name.to_ascii_uppercase()
        ));
    };
    let part = match part {
        Some(p) if p.is_arithmetic() => p,
        _ => {
            return Err(format!(
                "{} does not accept the date part '{text}'",
                name.to_ascii_uppercase()
            ))
        }
    };
    let first = if name.contains("add") {
        format!("CAST({a} AS BIGINT)")
    } else {
        format!("CAST({a} AS TIMESTAMP)")
    };
    Ok(Some(format!(
        "{function}('{}', {first}, CAST({b} AS TIMESTAMP))",
        part.name()
    )))
}

/// `DATE_PART(part, x)` of Clean Rooms SQL: a DOUBLE; `microsecond` and `millisecond` are the
/// fraction of the second only, `second` includes it.
fn date_part(name: &str, args: &[Expr]) -> Result<Option<String>, String> {
    let [part, x] = args else {
        return Err(arity_error(name, "2", args.len()));
    };
    let Some((text, part)) = part_of(part) else {
        return Ok(None);
    };
    let Some(part) = part else {
        return Err(format!(
            "{} does not accept the date part '{text}'",
            name.to_ascii_uppercase()
        ));
    };
    let field = |f: &str| format!("CAST(date_part('{f}', {x}) AS DOUBLE)");
    let micros = format!("(CAST(date_part('microsecond', {x}) AS BIGINT) % 1000000)");
    let year = field("year");
    Ok(Some(match part {
        DatePart::Millennium => format!("(floor(({year} - 1) / 1000) + 1)"),
        DatePart::Century => format!("(floor(({year} - 1) / 100) + 1)"),
        DatePart::Decade => format!("floor({year} / 10)"),
        DatePart::Epoch => field("epoch"),
        DatePart::Year => year,
        DatePart::Quarter => field("quarter"),
        DatePart::Month => field("month"),
        DatePart::Week => field("week"),
        DatePart::DayOfWeek => field("dow"),
        DatePart::DayOfYear => field("doy"),
        DatePart::Day => field("day"),
        DatePart::Hour => field("hour"),
        DatePart::Minute => field("minute"),
        DatePart::Second => {
            format!("(CAST(date_part('microsecond', {x}) AS DOUBLE) / 1000000)")
        }
        DatePart::Millisecond => format!("CAST({micros} / 1000 AS DOUBLE)"),
        DatePart::Microsecond => format!("CAST({micros} AS DOUBLE)"),
    }))
}

/// `DECODE(x, search, result [, search, result …] [, default])` as a `CASE` where NULL
/// matches NULL.
fn decode(args: &[Expr]) -> Option<String> {
    if args.len() < 3 {
        return None;
    }
    let x = &args[0];
    let mut text = String::from("CASE");
    let mut rest = &args[1..];
    while rest.len() >= 2 {
        text.push_str(&format!(
            " WHEN ({x}) IS NOT DISTINCT FROM ({}) THEN ({})",
            rest[0], rest[1]
        ));
        rest = &rest[2..];
    }
    if let [default] = rest {
        text.push_str(&format!(" ELSE ({default})"));
    }
    text.push_str(" END");
    Some(text)
}

/// A datetime function whose format argument (position `at`) is translated by `translate`.
fn formatted(
    name: &str,
    args: &[Expr],
    at: usize,
    translate: impl Fn(&str) -> Result<(String, bool), String>,
    target: &str,
) -> Result<Option<String>, String> {
    let Some(format) = args.get(at) else {
        return Ok(None);
    };
    let Some(format) = string_literal(format) else {
        return Err(format!(
            "The format of {} must be a string literal",
            name.to_ascii_uppercase()
        ));
    };
    let (engine, upper) = translate(&format)?;
    let mut parts: Vec<String> = args[..at].iter().map(ToString::to_string).collect();
    parts.push(quote(&engine));
    let call = format!("{target}({})", parts.join(", "));
    Ok(Some(if upper {
        format!("upper({call})")
    } else {
        call
    }))
}

fn is_numeric_format(format: &str) -> bool {
    format.contains('9') || format.contains('0') || format.eq_ignore_ascii_case("rn")
}

fn clean_rooms(
    name: &str,
    args: &[Expr],
    f: &Function,
    now: f64,
) -> Result<Option<String>, String> {
    let (timestamp, date) = clock_literals(now);
    Ok(match name {
        "getdate" if args.is_empty() => Some(timestamp),
        "sysdate" if matches!(f.args, FunctionArguments::None) => Some(timestamp),
        "current_date" if args.is_empty() => Some(date),
        "timeofday" if args.is_empty() => Some(quote(&time_of_day(now))),
        "dateadd" | "date_add" => return date_arithmetic(name, "dateadd", args),
        "datediff" | "date_diff" => return date_arithmetic(name, "datediff", args),
        "date_part" | "pgdate_part" => return date_part(name, args),
        "date_trunc" => {
            let [part, x] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            match part_of(part) {
                Some((_, Some(p)))
                    if !matches!(
                        p,
                        DatePart::Millennium
                            | DatePart::Century
                            | DatePart::Decade
                            | DatePart::Epoch
                            | DatePart::DayOfWeek
                            | DatePart::DayOfYear
                    ) =>
                {
                    Some(format!("date_trunc('{}', {x})", p.name()))
                }
                Some((text, _)) => {
                    return Err(format!(
                        "DATE_TRUNC does not accept the date part '{text}' in the emulator"
                    ))
                }
                None => None,
            }
        }
        "add_months" => {
            let [x, n] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!(
                "add_months(CAST({x} AS TIMESTAMP), CAST({n} AS BIGINT))"
            ))
        }
        "to_char" => {
            if let Some(format) = args.get(1).and_then(string_literal) {
                if is_numeric_format(&format) {
                    let [x, f] = args else {
                        return Err(arity_error(name, "2", args.len()));
                    };
                    return Ok(Some(format!("to_char_number(CAST({x} AS DOUBLE), {f})")));
                }
            }
            return formatted(name, args, 1, clean_rooms_datetime, "to_char");
        }
        "to_date" => {
            if args.len() == 3 {
                // is_strict: the engine always parses strictly.
                return formatted(name, &args[..2], 1, clean_rooms_datetime, "to_date");
            }
            return formatted(name, args, 1, clean_rooms_datetime, "to_date");
        }
        "to_timestamp" => return formatted(name, args, 1, clean_rooms_datetime, "to_timestamp"),
        "ceiling" => Some(format!("ceil({})", join(args))),
        // An integer sign, as the reference shows it (`SIGN(28.05)` is `1`); NULL stays NULL.
        "sign" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("CAST(signum({x}) AS BIGINT)"))
        }
        "len" | "textlen" => Some(format!("character_length({})", join(args))),
        "charindex" => {
            let [sub, s] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!("strpos({s}, {sub})"))
        }
        "replicate" => Some(format!("repeat({})", join(args))),
        "nvl" => Some(format!("coalesce({})", join(args))),
        "mod" => {
            let [a, b] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!("(({a}) % ({b}))"))
        }
        "dexp" => Some(format!("exp({})", join(args))),
        "dlog1" => Some(format!("ln({})", join(args))),
        "dlog10" => Some(format!("log10({})", join(args))),
        "sha2" => return sha2(args, SqlDialect::CleanRoomsSql),
        "sha" | "sha1" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("sha1(CAST({x} AS VARCHAR))"))
        }
        "convert_timezone" => return convert_timezone(name, args),
        // `[APPROXIMATE] PERCENTILE_DISC(p) WITHIN GROUP (ORDER BY x [ASC|DESC])`.
        "percentile_disc" => {
            let ([p], [order]) = (args, f.within_group.as_slice()) else {
                return Err(
                    "PERCENTILE_DISC takes one percentile and WITHIN GROUP (ORDER BY one expression)"
                        .to_string(),
                );
            };
            let descending = order.options.asc == Some(false);
            Some(percentile_disc_ordered(&order.expr, p, descending))
        }
        // `CONVERT(type, expression)` when the grammar read it as a call: the type is the
        // first argument's text (`INTEGER`, `DECIMAL(10, 2)`).
        "convert" => match args {
            [t @ (Expr::Identifier(_) | Expr::Function(_)), x] => Some(format!("CAST({x} AS {t})")),
            _ => {
                return Err(
                    "CONVERT takes a data type and an expression: CONVERT(type, expression)"
                        .to_string(),
                )
            }
        },
        "regexp_replace" => {
            let (s, p, r, pos, params) = match args {
                [s, p] => (s, p, "''".to_string(), None, None),
                [s, p, r] => (s, p, r.to_string(), None, None),
                [s, p, r, pos] => (s, p, r.to_string(), Some(pos), None),
                [s, p, r, pos, params] => (s, p, r.to_string(), Some(pos), Some(params)),
                _ => return Err(arity_error(name, "2 to 5", args.len())),
            };
            let flags = match params {
                None => "g",
                Some(params) => match string_literal(params) {
                    Some(text) if text.chars().all(|c| matches!(c, 'c' | 'i' | 'p')) => {
                        // The last of c and i wins; p (PCRE) is the engine's regex already.
                        if text.rfind('i') > text.rfind('c') {
                            "gi"
                        } else {
                            "g"
                        }
                    }
                    _ => {
                        return Err(
                            "The parameters of REGEXP_REPLACE must be a literal of c, i and p"
                                .to_string(),
                        )
                    }
                },
            };
            Some(regexp_replace_all(s, p, &r, pos, flags))
        }
        "any_value" => Some(format!("first_value({})", join(args))),
        "decode" => decode(args),
        "listagg" => listagg(args, f)?,
        _ => None,
    })
}

/// `CONVERT_TIMEZONE([source,] target, timestamp)` of both references: the wall-clock time in
/// `source` (UTC when omitted) as the wall-clock time in `target`.
fn convert_timezone(name: &str, args: &[Expr]) -> Result<Option<String>, String> {
    let (source, target, ts) = match args {
        [target, ts] => ("'UTC'".to_string(), target, ts),
        [source, target, ts] => (source.to_string(), target, ts),
        _ => return Err(arity_error(name, "2 or 3", args.len())),
    };
    Ok(Some(format!(
        "convert_timezone({source}, {target}, CAST({ts} AS TIMESTAMP))"
    )))
}

/// `SHA2(x, bits)`: the hexadecimal SHA-2 digest of `bits` (224, 256, 384, 512; 0 is 256).
fn sha2(args: &[Expr], dialect: SqlDialect) -> Result<Option<String>, String> {
    let [x, bits] = args else {
        return Err(arity_error("sha2", "2", args.len()));
    };
    let bits = match bits {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    let algorithm = match bits.as_str() {
        "0" | "256" => "sha256",
        "224" => "sha224",
        "384" => "sha384",
        "512" => "sha512",
        // Another bit length: Clean Rooms SQL answers an empty string, Spark SQL NULL.
        _ if bits.is_empty() => {
            return Err(
                "The second argument of SHA2 must be a literal bit length (0, 224, 256, 384, 512)"
                    .to_string(),
            )
        }
        _ => {
            return Ok(Some(match dialect {
                SqlDialect::CleanRoomsSql => format!("CASE WHEN {x} IS NULL THEN NULL ELSE '' END"),
                SqlDialect::Spark => "CAST(NULL AS VARCHAR)".to_string(),
            }))
        }
    };
    Ok(Some(format!(
        "encode(digest(CAST({x} AS VARCHAR), '{algorithm}'), 'hex')"
    )))
}

/// `LISTAGG(x [, delimiter]) [WITHIN GROUP (ORDER BY …)]` as `string_agg`.
fn listagg(args: &[Expr], f: &Function) -> Result<Option<String>, String> {
    let (x, delimiter) = match args {
        [x] => (x.to_string(), "''".to_string()),
        [x, d] => (x.to_string(), d.to_string()),
        _ => return Err(arity_error("listagg", "1 or 2", args.len())),
    };
    let order = if f.within_group.is_empty() {
        String::new()
    } else {
        format!(
            " ORDER BY {}",
            f.within_group
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Ok(Some(format!("string_agg({x}, {delimiter}{order})")))
}

fn spark(name: &str, args: &[Expr], _f: &Function, now: f64) -> Result<Option<String>, String> {
    let (timestamp, date) = clock_literals(now);
    let three_part = args.len() == 3 && part_of(&args[0]).is_some_and(|(_, p)| p.is_some());
    Ok(match name {
        "dateadd" | "date_add" | "timestampadd" if three_part => {
            return date_arithmetic(name, "timestampadd", args)
        }
        "datediff" | "date_diff" | "timestampdiff" if three_part => {
            return date_arithmetic(name, "timestampdiff", args)
        }
        "date_part" | "datepart" => match args {
            [Expr::Identifier(i), x] if i.quote_style.is_none() => {
                Some(format!("date_part({}, {x})", quote(&i.value)))
            }
            _ => None,
        },
        "months_between" => match args {
            [a, b] => Some(format!(
                "months_between(CAST({a} AS TIMESTAMP), CAST({b} AS TIMESTAMP))"
            )),
            [a, b, r] => Some(format!(
                "months_between(CAST({a} AS TIMESTAMP), CAST({b} AS TIMESTAMP), {r})"
            )),
            _ => return Err(arity_error(name, "2 or 3", args.len())),
        },
        "to_date" | "to_timestamp" if args.len() == 2 => {
            if string_literal(&args[1]).is_some_and(|f| f.contains('%')) {
                None
            } else {
                return formatted(
                    name,
                    args,
                    1,
                    |p| spark_datetime(p).map(|f| (f, false)),
                    name,
                );
            }
        }
        "date_format" => {
            return formatted(
                name,
                args,
                1,
                |p| spark_datetime(p).map(|f| (f, false)),
                "to_char",
            )
        }
        "ceiling" => Some(format!("ceil({})", join(args))),
        // Spark's sign is signum: a DOUBLE.
        "sign" => Some(format!("signum({})", join(args))),
        "len" => Some(format!("character_length({})", join(args))),
        "decode" if args.len() != 2 => decode(args),
        "sha2" => return sha2(args, SqlDialect::Spark),
        "sha" | "sha1" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("sha1({x})"))
        }
        "convert_timezone" => return convert_timezone(name, args),
        "from_utc_timestamp" | "to_utc_timestamp" => {
            let [ts, tz] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            let (from, to) = if name == "from_utc_timestamp" {
                ("'UTC'".to_string(), tz.to_string())
            } else {
                (tz.to_string(), "'UTC'".to_string())
            };
            Some(format!(
                "convert_timezone({from}, {to}, CAST({ts} AS TIMESTAMP))"
            ))
        }
        "xxhash64" => {
            if args.is_empty() {
                return Err(arity_error(name, "at least 1", 0));
            }
            let args: Vec<Expr> = args.iter().cloned().map(spark_int_literals).collect();
            Some(format!("xxhash64({})", join(&args)))
        }
        "printf" => Some(format!("format_string({})", join(args))),
        "div" => {
            let [a, b] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(integer_divide(a, b))
        }
        "array_join" => match args {
            [_, _] | [_, _, _] => Some(format!("array_to_string({})", join(args))),
            _ => return Err(arity_error(name, "2 or 3", args.len())),
        },
        "array_remove" => {
            let [a, x] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!("array_remove_all({a}, {x})"))
        }
        "base64" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("encode({x}, 'base64pad')"))
        }
        "unbase64" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("decode({x}, 'base64')"))
        }
        "skewness" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("skewness(CAST({x} AS DOUBLE))"))
        }
        "percentile" => {
            let [x, p] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!("percentile_cont({x}, {p})"))
        }
        "approx_percentile" | "percentile_approx" => match args {
            [x, p] | [x, p, _] => Some(percentile_disc(x, p)),
            _ => return Err(arity_error(name, "2 or 3", args.len())),
        },
        "regexp_replace" => match args {
            [s, p, r] => Some(regexp_replace_all(s, p, &r.to_string(), None, "g")),
            [s, p, r, pos] => Some(regexp_replace_all(s, p, &r.to_string(), Some(pos), "g")),
            _ => return Err(arity_error(name, "3 or 4", args.len())),
        },
        "current_date" | "curdate" if args.is_empty() => Some(date),
        "current_timestamp" | "now" | "localtimestamp" if args.is_empty() => Some(timestamp),
        "day" | "dayofmonth" | "dayofweek" | "dayofyear" | "hour" | "minute" | "second"
        | "month" | "year" | "quarter" | "weekofyear" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            let field = match name {
                "dayofmonth" => "day",
                "dayofweek" => "dow",
                "dayofyear" => "doy",
                "weekofyear" => "week",
                other => other,
            };
            // Spark numbers the days of the week from Sunday = 1.
            let shift = if name == "dayofweek" { " + 1" } else { "" };
            let x = if matches!(field, "hour" | "minute" | "second") {
                format!("CAST({x} AS TIMESTAMP)")
            } else {
                format!("CAST({x} AS DATE)")
            };
            Some(format!("CAST(date_part('{field}', {x}){shift} AS INT)"))
        }
        "if" => {
            let [c, a, b] = args else {
                return Err(arity_error(name, "3", args.len()));
            };
            Some(format!("CASE WHEN {c} THEN {a} ELSE {b} END"))
        }
        "isnull" | "is_null" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("(({x}) IS NULL)"))
        }
        "isnotnull" | "is_not_null" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("(({x}) IS NOT NULL)"))
        }
        "collect_list" => Some(format!("array_agg({})", join(args))),
        "collect_set" => Some(format!("array_agg(DISTINCT {})", join(args))),
        "approx_count_distinct" => Some(format!("approx_distinct({})", join(args))),
        "any_value" => Some(format!("first_value({})", join(args))),
        "rand" if args.is_empty() => Some("random()".to_string()),
        "array" => Some(format!("make_array({})", join(args))),
        "trunc" => match args {
            [x, f] if string_literal(f).is_some() => Some(format!("trunc(CAST({x} AS DATE), {f})")),
            _ => None,
        },
        "mod" => {
            let [a, b] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!("(({a}) % ({b}))"))
        }
        "pmod" => {
            let [a, b] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!(
                "CASE WHEN (({a}) % ({b})) < 0 THEN ((({a}) % ({b})) + ({b})) % ({b}) ELSE (({a}) % ({b})) END"
            ))
        }
        "size" | "cardinality" => {
            let [x] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("coalesce(CAST(cardinality({x}) AS INT), -1)"))
        }
        "date_add" | "dateadd" | "date_sub" => {
            let [d, n] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            let sign = if name == "date_sub" { "-" } else { "" };
            Some(format!(
                "CAST(timestampadd('day', {sign}CAST({n} AS BIGINT), CAST({d} AS TIMESTAMP)) AS DATE)"
            ))
        }
        "add_months" => {
            let [d, n] = args else {
                return Err(arity_error(name, "2", args.len()));
            };
            Some(format!(
                "CAST(timestampadd('month', CAST({n} AS BIGINT), CAST({d} AS TIMESTAMP)) AS DATE)"
            ))
        }
        "datediff" | "date_diff" => {
            let [end, start] = args else {
                return Err(arity_error(name, "2 or 3", args.len()));
            };
            Some(format!(
                "CAST(timestampdiff('day', CAST(CAST({start} AS DATE) AS TIMESTAMP), CAST(CAST({end} AS DATE) AS TIMESTAMP)) AS INT)"
            ))
        }
        "last_day" => {
            let [d] = args else {
                return Err(arity_error(name, "1", args.len()));
            };
            Some(format!("last_day(CAST({d} AS DATE))"))
        }
        _ => return super::spark_forms::rewrite(name, args, _f),
    })
}
