//! The syntax forms of AWS Clean Rooms SQL that DataFusion's grammar reads differently or not at
//! all, rewritten on the parsed statement (so the privacy checks plan the real columns):
//! `SELECT TOP n`, `MINUS`, the type names `DATETIME`, `DEC`, `NCHAR`, `BPCHAR`, `VARBYTE`, casts to a
//! `VARCHAR(n)` or `CHAR(n)` that cut the text, the date and time strings of the reference
//! (`'January 8, 1999'`, `'12-31-2008'`, `'today'`, …), INTERVAL strings with lists and
//! abbreviations (`'1w, 1h, 1m, 1s'`), a date plus an interval as a TIMESTAMP, `^` as
//! exponentiation, `LIKE … ESCAPE`, `SIMILAR TO`, `\\` in strings, numeric strings passed to math
//! functions and non-text values passed to text functions (the operators that need the types of
//! their operands are in [`super::clean_rooms_operators`]). It also refuses what the reference
//! refuses: a string literal as a select item, reserved words as bare names, system names and
//! columns, and dollar-quoted strings.

use std::ops::ControlFlow;

use chrono::{Duration, NaiveDate, NaiveTime};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, BinaryOperator, CastKind, CharacterLength, DataType, Expr, Function,
    FunctionArg, FunctionArgExpr, FunctionArguments, Ident, LimitClause, OrderByKind, Query,
    SelectItem, SetExpr, SetOperator, SetQuantifier, Statement, TableFactor, TimezoneInfo,
    UnaryOperator, Value, Visit, VisitMut, Visitor, VisitorMut, WindowType,
};

use super::multiset::{output_columns, OutputColumn};
use super::rewrite::{parse_expr, string_literal};

/// Rewrites `statement` (already through [`super::rewrite`]) for AWS Clean Rooms SQL; `now` is
/// the emulator clock (epoch seconds), the time of `'now'` and `'today'`.
///
/// # Errors
/// A message naming the form the reference refuses, or the value that is no valid literal.
pub fn rewrite_statement(statement: &mut Statement, now: f64) -> Result<(), String> {
    if let ControlFlow::Break(e) = statement.visit(&mut QueryForms) {
        return Err(e);
    }
    let flow = visit_expressions_mut(statement, |expr| match rewrite_expr(expr, now) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(e),
    });
    match flow {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// Refuses, in a statement as the user wrote it (before any rewrite), the names the reference's
/// naming rules forbid, dollar-quoted strings, and string literals as select items, in ORDER
/// BY and in window clauses.
///
/// # Errors
/// A message naming the name or literal and the rule it breaks.
pub fn refuse_forbidden(statement: &Statement) -> Result<(), String> {
    match Visit::visit(statement, &mut Refusals) {
        ControlFlow::Break(e) => Err(e),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The reserved words of the reference's naming rules: a name spelled like one must be quoted.
const RESERVED: &[&str] = &[
    "aes128",
    "aes256",
    "all",
    "allowoverwrite",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "authorization",
    "az64",
    "backup",
    "between",
    "binary",
    "blanksasnull",
    "both",
    "bytedict",
    "bzip2",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "credentials",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "current_user_id",
    "default",
    "deferrable",
    "deflate",
    "defrag",
    "delta",
    "delta32k",
    "desc",
    "disable",
    "distinct",
    "do",
    "else",
    "emptyasnull",
    "enable",
    "encode",
    "encrypt",
    "encryption",
    "end",
    "except",
    "explicit",
    "false",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "globaldict256",
    "globaldict64k",
    "grant",
    "group",
    "gzip",
    "having",
    "identity",
    "ignore",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "language",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "lun",
    "luns",
    "lzo",
    "lzop",
    "minus",
    "mostly16",
    "mostly32",
    "mostly8",
    "natural",
    "new",
    "not",
    "notnull",
    "null",
    "nulls",
    "off",
    "offline",
    "offset",
    "oid",
    "old",
    "on",
    "only",
    "open",
    "or",
    "order",
    "outer",
    "overlaps",
    "parallel",
    "partition",
    "percent",
    "permissions",
    "pivot",
    "placing",
    "primary",
    "raw",
    "readratio",
    "recover",
    "references",
    "rejectlog",
    "resort",
    "respect",
    "restore",
    "right",
    "select",
    "session_user",
    "similar",
    "snapshot",
    "some",
    "sysdate",
    "system",
    "table",
    "tag",
    "tdes",
    "text255",
    "text32k",
    "then",
    "timestamp",
    "to",
    "top",
    "trailing",
    "true",
    "truncatecolumns",
    "union",
    "unique",
    "unnest",
    "using",
    "verbose",
    "wallet",
    "when",
    "where",
    "with",
    "without",
];

/// Name prefixes the reference keeps for system tables.
const SYSTEM_PREFIXES: &[&str] = &[
    "padb_",
    "pg_",
    "stcs_",
    "stl_",
    "stll_",
    "stv_",
    "svcs_",
    "svl_",
    "svv_",
    "sys_",
    "systable_",
];

/// Column names the reference keeps for system columns, refused even quoted.
const SYSTEM_COLUMNS: &[&str] = &["oid", "tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"];

/// Why `ident` cannot name a column, table or alias; `None` when it can. `bare_word` says whether
/// a reserved word is refused (it is for a name the user introduces, unquoted).
fn name_error(ident: &Ident, bare_word: bool) -> Option<String> {
    let lower = ident.value.to_ascii_lowercase();
    if ident.value.chars().count() > 127 {
        return Some(format!(
            "the name '{}…' is longer than the 127 characters AWS Clean Rooms SQL allows",
            ident.value.chars().take(20).collect::<String>()
        ));
    }
    if ident.value.contains(['\\', '\'']) || ident.value.contains("--") {
        return Some(format!(
            "the name '{}' has a character AWS Clean Rooms SQL does not allow in names (a backslash, a single quote or '--')",
            ident.value
        ));
    }
    if SYSTEM_COLUMNS.contains(&lower.as_str()) {
        return Some(format!(
            "'{}' is a system column name, which AWS Clean Rooms SQL does not allow as a name",
            ident.value
        ));
    }
    if let Some(prefix) = SYSTEM_PREFIXES.iter().find(|p| lower.starts_with(**p)) {
        return Some(format!(
            "'{}' starts with '{prefix}', a prefix AWS Clean Rooms SQL keeps for system tables",
            ident.value
        ));
    }
    if bare_word && ident.quote_style.is_none() && RESERVED.contains(&lower.as_str()) {
        return Some(format!(
            "'{}' is a reserved word in AWS Clean Rooms SQL; quote it (\"{lower}\") to use it as a name",
            ident.value
        ));
    }
    None
}

/// Refuses the names the reference's naming rules forbid, dollar-quoted strings, and string
/// literals as select items, in ORDER BY and in a window's PARTITION BY or ORDER BY.
struct Refusals;

/// The refusal of a string literal where the reference allows none.
fn literal_refusal<'a>(place: &str, mut exprs: impl Iterator<Item = &'a Expr>) -> Option<String> {
    exprs.find_map(string_literal).map(|s| {
        format!("AWS Clean Rooms SQL does not support a string literal in {place} ('{s}')")
    })
}

impl Visitor for Refusals {
    type Break = String;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        for cte in query.with.iter().flat_map(|w| &w.cte_tables) {
            if let Some(e) = name_error(&cte.alias.name, true) {
                return ControlFlow::Break(e);
            }
        }
        if let Some(OrderByKind::Expressions(order)) = query.order_by.as_ref().map(|o| &o.kind) {
            if let Some(e) = literal_refusal("ORDER BY", order.iter().map(|o| &o.expr)) {
                return ControlFlow::Break(e);
            }
        }
        if let SetExpr::Select(select) = query.body.as_ref() {
            for item in &select.projection {
                let expr = match item {
                    SelectItem::ExprWithAlias { expr, alias } => {
                        if let Some(e) = name_error(alias, true) {
                            return ControlFlow::Break(e);
                        }
                        expr
                    }
                    SelectItem::UnnamedExpr(expr) => expr,
                    _ => continue,
                };
                if let Some(s) = string_literal(expr) {
                    return ControlFlow::Break(format!(
                        "AWS Clean Rooms SQL does not support a string literal directly in the SELECT list ('{s}'); use it inside a function such as CAST('{s}' AS VARCHAR)"
                    ));
                }
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<String> {
        let alias = match factor {
            TableFactor::Table { alias, .. } | TableFactor::Derived { alias, .. } => alias,
            _ => return ControlFlow::Continue(()),
        };
        if let Some(e) = alias.as_ref().and_then(|a| name_error(&a.name, true)) {
            return ControlFlow::Break(e);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        let error = match expr {
            Expr::Identifier(ident) => name_error(ident, false),
            Expr::CompoundIdentifier(parts) => parts.iter().find_map(|p| name_error(p, false)),
            Expr::Function(Function {
                over: Some(WindowType::WindowSpec(spec)),
                ..
            }) => literal_refusal("a window's PARTITION BY", spec.partition_by.iter()).or_else(
                || literal_refusal("a window's ORDER BY", spec.order_by.iter().map(|o| &o.expr)),
            ),
            Expr::Value(v) if matches!(v.value, Value::DollarQuotedString(_)) => Some(
                "dollar-quoted strings ($$…$$) are not supported in AWS Clean Rooms SQL; write a single-quoted string"
                    .to_string(),
            ),
            _ => None,
        };
        match error {
            Some(e) => ControlFlow::Break(e),
            None => ControlFlow::Continue(()),
        }
    }
}

/// `SELECT TOP n` as a LIMIT, `MINUS` as `EXCEPT`, and `EXCEPT ALL` / `INTERSECT ALL` with
/// their multiset meaning.
struct QueryForms;

impl VisitorMut for QueryForms {
    type Break = String;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<String> {
        minus_as_except(&mut query.body);
        if let SetExpr::SetOperation { left, right, .. } = query.body.as_ref() {
            if has_top(left) || has_top(right) {
                return ControlFlow::Break(
                    "TOP is not allowed in an operand of a set operator (UNION, INTERSECT, EXCEPT, MINUS)"
                        .to_string(),
                );
            }
        }
        if let Err(e) = multiset_operations(&mut query.body) {
            return ControlFlow::Break(e);
        }
        let top = match query.body.as_mut() {
            SetExpr::Select(select) => select.top.take(),
            _ => None,
        };
        let Some(top) = top else {
            return ControlFlow::Continue(());
        };
        if top.percent || top.with_ties {
            return ControlFlow::Break(
                "TOP takes a number of rows in AWS Clean Rooms SQL (no PERCENT or WITH TIES)"
                    .to_string(),
            );
        }
        let count = match top.quantity {
            Some(datafusion::sql::sqlparser::ast::TopQuantity::Constant(n)) => {
                Expr::value(Value::Number(n.to_string(), false))
            }
            Some(datafusion::sql::sqlparser::ast::TopQuantity::Expr(e)) => e,
            None => return ControlFlow::Break("TOP needs a number of rows".to_string()),
        };
        if query.limit_clause.is_some() || query.fetch.is_some() {
            return ControlFlow::Break(
                "TOP and LIMIT (or OFFSET) cannot be combined in one SELECT".to_string(),
            );
        }
        query.limit_clause = Some(LimitClause::LimitOffset {
            limit: Some(count),
            offset: None,
            limit_by: Vec::new(),
        });
        ControlFlow::Continue(())
    }
}

/// Whether a set operation's operand is a SELECT with TOP.
fn has_top(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(select) => select.top.is_some(),
        SetExpr::SetOperation { left, right, .. } => has_top(left) || has_top(right),
        _ => false,
    }
}

/// `EXCEPT ALL` and `INTERSECT ALL` at every level of a set operation, with the multiset
/// meaning of the reference (a row of the left side kept as many times as it occurs there more
/// often than, or as often as it also occurs, on the right side): each side's rows numbered within
/// their copies, the distinct operation applied to the numbered rows. The engine's own `ALL`
/// forms remove or keep every copy of a matching row.
///
/// # Errors
/// The first SELECT of the operation has a `*`, so its columns cannot be named.
fn multiset_operations(body: &mut SetExpr) -> Result<(), String> {
    let SetExpr::SetOperation {
        op,
        set_quantifier,
        left,
        right,
    } = body
    else {
        return Ok(());
    };
    multiset_operations(left)?;
    multiset_operations(right)?;
    let op = match op {
        SetOperator::Except | SetOperator::Minus => SetOperator::Except,
        SetOperator::Intersect => SetOperator::Intersect,
        SetOperator::Union => return Ok(()),
    };
    if *set_quantifier != SetQuantifier::All {
        return Ok(());
    }
    let columns = output_columns(left)
        .ok_or_else(|| format!("{op} ALL needs the columns of its first SELECT named (not *)"))?;
    let outputs: Vec<Option<String>> = columns
        .iter()
        .map(|column| {
            let name = match column {
                OutputColumn::Named(ident) => ident.value.clone(),
                OutputColumn::Unnamed(e) => e.to_string(),
            };
            Some(Ident::with_quote('"', name).to_string())
        })
        .collect();
    *body = super::multiset::counted(op, left, right, &outputs)?;
    Ok(())
}

/// `MINUS`, the reference's synonym of `EXCEPT`, at every level of a set operation.
fn minus_as_except(body: &mut SetExpr) {
    if let SetExpr::SetOperation {
        op, left, right, ..
    } = body
    {
        if *op == SetOperator::Minus {
            *op = SetOperator::Except;
        }
        minus_as_except(left);
        minus_as_except(right);
    }
}

/// A single-quoted string literal.
fn string_expr(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

/// The math functions whose numeric argument may be written as a string (`SQRT('16')`).
const NUMERIC_FUNCTIONS: &[&str] = &[
    "abs", "sqrt", "cbrt", "ceil", "ceiling", "floor", "round", "ln", "log", "exp", "power", "pow",
    "sin", "cos", "tan", "cot", "asin", "acos", "atan", "atan2", "degrees", "radians", "sign",
    "dexp", "dlog1", "dlog10",
];

/// The text functions whose text argument may be a number, date or timestamp (`REPEAT(id, 3)`),
/// with the positions of those arguments.
const TEXT_FUNCTIONS: &[(&str, &[usize])] = &[
    ("split_part", &[0]),
    ("repeat", &[0]),
    ("ltrim", &[0, 1]),
    ("rtrim", &[0, 1]),
    ("btrim", &[0, 1]),
    ("lpad", &[0]),
    ("rpad", &[0]),
    ("reverse", &[0]),
    ("strpos", &[0]),
];

/// Rewrites one expression (its children are done already).
fn rewrite_expr(expr: &mut Expr, now: f64) -> Result<(), String> {
    match expr {
        Expr::Value(v) => {
            if let Value::SingleQuotedString(s) = &mut v.value {
                if s.contains("\\\\") {
                    *s = s.replace("\\\\", "\\");
                }
            }
        }
        Expr::Cast {
            kind,
            expr: inner,
            data_type,
            ..
        } => {
            if let Some(length) = text_length(data_type) {
                let cast = if *kind == CastKind::TryCast {
                    "TRY_CAST"
                } else {
                    "CAST"
                };
                let text = format!("{cast}({inner} AS VARCHAR)");
                *expr = match length {
                    Some(n) => parse_expr(&format!("left({text}, {n})"))?,
                    None => parse_expr(&text)?,
                };
                return Ok(());
            }
            if let Some(t) = engine_type(data_type)? {
                *data_type = t;
            }
            if let Some(s) = string_literal(inner) {
                if let Some(text) = datetime_string(&s, data_type, now) {
                    **inner = string_expr(&text);
                }
            }
        }
        Expr::TypedString(typed) => {
            if let Some(t) = engine_type(&typed.data_type)? {
                typed.data_type = t;
            }
            if let Value::SingleQuotedString(s) = &typed.value.value {
                if let Some(text) = datetime_string(s, &typed.data_type, now) {
                    typed.value.value = Value::SingleQuotedString(text);
                }
            }
        }
        Expr::Interval(interval) if interval.leading_field.is_none() => {
            if let Some(s) = string_literal(&interval.value) {
                let text = interval_string(&s)?;
                *interval.value = string_expr(&text);
            }
        }
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::BitwiseXor => {
                *expr = parse_expr(&format!("power({left}, {right})"))?;
            }
            BinaryOperator::Plus | BinaryOperator::Minus => {
                let interval = |e: &Expr| matches!(e, Expr::Interval(_));
                if interval(right) && !interval(left) {
                    **left = parse_expr(&format!("CAST({left} AS TIMESTAMP)"))?;
                } else if interval(left) && !interval(right) {
                    **right = parse_expr(&format!("CAST({right} AS TIMESTAMP)"))?;
                }
            }
            _ => {}
        },
        Expr::Like {
            escape_char,
            pattern,
            ..
        }
        | Expr::ILike {
            escape_char,
            pattern,
            ..
        } => {
            let escape = escape_char.as_ref().and_then(|v| match &v.value {
                Value::SingleQuotedString(s) => Some(s.clone()),
                _ => None,
            });
            if let (Some(escape), Some(p)) = (escape, string_literal(pattern)) {
                let mut chars = escape.chars();
                let (Some(c), None) = (chars.next(), chars.next()) else {
                    return Err(format!(
                        "the ESCAPE of LIKE must be one character, not '{escape}'"
                    ));
                };
                **pattern = string_expr(&backslash_escaped(&p, c));
                *escape_char = None;
            }
        }
        Expr::SimilarTo {
            negated,
            expr: inner,
            pattern,
            escape_char,
        } => {
            if escape_char.is_some() {
                return Ok(());
            }
            if let Some(p) = string_literal(pattern) {
                let regex = similar_to_regex(&p);
                let op = if *negated {
                    BinaryOperator::PGRegexNotMatch
                } else {
                    BinaryOperator::PGRegexMatch
                };
                *expr = Expr::BinaryOp {
                    left: inner.clone(),
                    op,
                    right: Box::new(string_expr(&regex)),
                };
            }
        }
        Expr::UnaryOp { op, expr: operand } => {
            let function = match op {
                UnaryOperator::PGSquareRoot => "sqrt",
                UnaryOperator::PGCubeRoot => "cbrt",
                UnaryOperator::PGAbs => "abs",
                _ => return Ok(()),
            };
            *expr = parse_expr(&format!("{function}({operand})"))?;
        }
        Expr::Function(f) => implicit_arguments(f)?,
        _ => {}
    }
    Ok(())
}

/// The length of a cast to a text type (`Some(None)` without one); `None` for other types.
fn text_length(t: &DataType) -> Option<Option<u64>> {
    let length = |l: &Option<CharacterLength>| match l {
        Some(CharacterLength::IntegerLength { length, .. }) => Some(*length),
        _ => None,
    };
    match t {
        DataType::Character(l)
        | DataType::Char(l)
        | DataType::CharacterVarying(l)
        | DataType::CharVarying(l)
        | DataType::Varchar(l)
        | DataType::Nvarchar(l) => Some(length(l)),
        DataType::Custom(name, args) => {
            let name = name.to_string().to_ascii_lowercase();
            if !matches!(name.as_str(), "nchar" | "bpchar" | "nvarchar") {
                return None;
            }
            Some(args.first().and_then(|a| a.parse().ok()))
        }
        _ => None,
    }
}

/// The engine's name of a type the reference names otherwise (`DATETIME`, `DEC(p,s)`); an error
/// for the types the emulator has no equivalent of.
fn engine_type(t: &DataType) -> Result<Option<DataType>, String> {
    Ok(match t {
        DataType::Datetime(_) => Some(DataType::Timestamp(None, TimezoneInfo::None)),
        DataType::Dec(info) => Some(DataType::Decimal(*info)),
        DataType::Varbinary(_) => Some(DataType::Bytea),
        DataType::Custom(name, _) => {
            let name = name.to_string().to_ascii_lowercase();
            if name == "varbyte" {
                return Ok(Some(DataType::Bytea));
            }
            if matches!(name.as_str(), "timetz") {
                return Err(
                    "the TIMETZ type (TIME WITH TIME ZONE) is not supported by the emulator; use TIME or TIMESTAMPTZ"
                        .to_string(),
                );
            }
            None
        }
        DataType::Time(_, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => {
            return Err(
                "the TIMETZ type (TIME WITH TIME ZONE) is not supported by the emulator; use TIME or TIMESTAMPTZ"
                    .to_string(),
            )
        }
        _ => None,
    })
}

/// The date, time or timestamp a string means in the reference (its date forms, `'now'`,
/// `'today'`, `'tomorrow'`, `'yesterday'`) written the engine's way, for a cast to `t`; `None`
/// when `t` is no datetime type or the string is none of those forms (the engine reads it).
fn datetime_string(s: &str, t: &DataType, now: f64) -> Option<String> {
    if let DataType::Timestamp(_, TimezoneInfo::Tz | TimezoneInfo::WithTimeZone) = t {
        return zone_abbreviation(s);
    }
    let (date, time) = parse_datetime(s, now)?;
    match t {
        DataType::Date => Some(date.format("%Y-%m-%d").to_string()),
        DataType::Timestamp(..) | DataType::Datetime(_) => Some(
            date.and_time(time.unwrap_or_default())
                .format("%Y-%m-%d %H:%M:%S%.f")
                .to_string(),
        ),
        DataType::Time(..) => {
            let time = TIME_FORMS
                .iter()
                .find_map(|form| NaiveTime::parse_from_str(s.trim(), form).ok())
                .or(time)?;
            Some(time.format("%H:%M:%S%.f").to_string())
        }
        _ => None,
    }
}

/// The US time-zone abbreviations of the reference's examples and their offsets.
const ZONES: &[(&str, &str)] = &[
    ("PST", "-08:00"),
    ("PDT", "-07:00"),
    ("MST", "-07:00"),
    ("MDT", "-06:00"),
    ("CST", "-06:00"),
    ("CDT", "-05:00"),
    ("EST", "-05:00"),
    ("EDT", "-04:00"),
    ("UTC", "+00:00"),
    ("GMT", "+00:00"),
];

/// A TIMESTAMPTZ string ending in a zone abbreviation (`'2001-06-06 04:05:06 PST'`) with the
/// zone's offset, its date and time written the engine's way; `None` for any other string.
fn zone_abbreviation(s: &str) -> Option<String> {
    let s = s.trim();
    let (rest, zone) = s.rsplit_once(' ')?;
    let (_, offset) = ZONES.iter().find(|(z, _)| z.eq_ignore_ascii_case(zone))?;
    let (date, time) = parse_datetime(rest, 0.0)?;
    Some(format!(
        "{}{offset}",
        date.and_time(time.unwrap_or_default())
            .format("%Y-%m-%dT%H:%M:%S%.f")
    ))
}

/// A string compared with a date (`date`) or a timestamp that reads as one in the reference's
/// forms other than the engine's own (`'12-31-2008'`, `'January 8, 1999'`, `' 2009-01-01 '`,
/// `'today'`), written the engine's way; `None` for any other string, compared as written.
pub fn datetime_text(s: &str, date: bool, now: f64) -> Option<String> {
    let trimmed = s.trim();
    if TIME_FORMS
        .iter()
        .any(|form| NaiveTime::parse_from_str(trimmed, form).is_ok())
    {
        return None;
    }
    let (day, time) = parse_datetime(trimmed, now)?;
    let text = match time {
        Some(t) if !date => day.and_time(t).format("%Y-%m-%d %H:%M:%S%.f").to_string(),
        _ => day.format("%Y-%m-%d").to_string(),
    };
    (text != s).then_some(text)
}

/// The date forms of the reference (MDY order), tried in turn.
const DATE_FORMS: &[&str] = &[
    "%Y-%m-%d",
    "%B %d, %Y",
    "%b %d, %Y",
    "%m/%d/%y",
    "%m/%d/%Y",
    "%Y-%b-%d",
    "%b-%d-%Y",
    "%d-%b-%Y",
    "%m-%d-%Y",
    "%Y.%j",
];

/// The time forms of the reference, tried in turn.
const TIME_FORMS: &[&str] = &["%H:%M:%S%.f", "%H:%M", "%I:%M %p", "%I:%M:%S %p", "%H%M%S"];

/// A date with its time of day (when the string has one) in the reference's forms.
fn parse_datetime(s: &str, now: f64) -> Option<(NaiveDate, Option<NaiveTime>)> {
    let s = s.trim();
    let today = chrono::DateTime::from_timestamp(now.floor() as i64, 0)?.naive_utc();
    match s.to_ascii_lowercase().as_str() {
        "now" => {
            let nanos = ((now - now.floor()) * 1e9) as u32;
            let t = chrono::DateTime::from_timestamp(now.floor() as i64, nanos)?.naive_utc();
            return Some((t.date(), Some(t.time())));
        }
        "today" => return Some((today.date(), None)),
        "tomorrow" => return Some((today.date() + Duration::days(1), None)),
        "yesterday" => return Some((today.date() - Duration::days(1), None)),
        _ => {}
    }
    if let Some(date) = parse_date(s) {
        return Some((date, None));
    }
    for time_form in TIME_FORMS {
        if let Ok(t) = NaiveTime::parse_from_str(s, time_form) {
            return Some((NaiveDate::default(), Some(t)));
        }
    }
    // A timestamp: a date, a space, a time.
    let mut at = s.len();
    while let Some(space) = s[..at].rfind(' ') {
        if let Some(date) = parse_date(&s[..space]) {
            let rest = s[space + 1..].trim();
            for time_form in TIME_FORMS {
                if let Ok(t) = NaiveTime::parse_from_str(rest, time_form) {
                    return Some((date, Some(t)));
                }
            }
        }
        at = space;
    }
    None
}

/// A date in one of the reference's forms, the compact ones (`'20080215'`, `'080215'`) included.
fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    if s.len() == 6 && s.chars().all(|c| c.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%y%m%d").ok();
    }
    DATE_FORMS
        .iter()
        .find_map(|form| NaiveDate::parse_from_str(s, form).ok())
}

/// An INTERVAL string of the reference (`'7 days, 3 hours'`, `'1w, 1h, 1m, 1s'`, `'0.5 days'`,
/// `'30'` in seconds) in the engine's notation.
///
/// # Errors
/// A part that is no number with a unit the reference knows.
fn interval_string(s: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let split = part
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(part.len());
        let (number, unit) = (part[..split].trim(), part[split..].trim());
        if number.parse::<f64>().is_err() {
            // Not this notation (e.g. `'1 day 2 hours'` without commas): the engine reads it.
            if s.contains(',') {
                return Err(format!("'{s}' is not a valid INTERVAL literal"));
            }
            return Ok(s.to_string());
        }
        let unit = match unit.to_ascii_lowercase().as_str() {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => "seconds",
            "m" | "min" | "mins" | "minute" | "minutes" => "minutes",
            "h" | "hr" | "hrs" | "hour" | "hours" => "hours",
            "d" | "day" | "days" => "days",
            "w" | "week" | "weeks" => "weeks",
            "mon" | "mons" | "month" | "months" => "months",
            "y" | "yr" | "yrs" | "year" | "years" => "years",
            "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => "milliseconds",
            "us" | "usec" | "usecs" | "microsecond" | "microseconds" => "microseconds",
            "decade" | "decades" => "decades",
            "century" | "centuries" => "centuries",
            other => {
                if s.contains(',') || other.is_empty() {
                    return Err(format!(
                        "'{s}' is not a valid INTERVAL literal: unknown unit '{other}'"
                    ));
                }
                return Ok(s.to_string());
            }
        };
        parts.push(format!("{number} {unit}"));
    }
    Ok(parts.join(" "))
}

/// A LIKE pattern with escape character `escape` written with the backslash the engine knows.
fn backslash_escaped(pattern: &str, escape: char) -> String {
    let mut out = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == escape {
            out.push('\\');
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    out
}

/// A SIMILAR TO pattern as the regular expression it means: the whole string must match, `%` is
/// any text, `_` any character, `\` escapes, `|`, `*`, `+`, `?`, `{}`, `()` and `[]` are the
/// regular expression's; any other character stands for itself.
fn similar_to_regex(pattern: &str) -> String {
    let mut out = String::from("^(?:");
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push_str(&regex_escape(next));
                }
            }
            _ if in_class => {
                if c == ']' {
                    in_class = false;
                }
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push(c);
            }
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '|' | '*' | '+' | '?' | '{' | '}' | '(' | ')' => out.push(c),
            _ => out.push_str(&regex_escape(c)),
        }
    }
    out.push_str(")$");
    out
}

/// `c` standing for itself in a regular expression.
fn regex_escape(c: char) -> String {
    if c.is_ascii_punctuation() {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

/// The implicit conversions of function arguments: a numeric string passed to a math function
/// is the number; a number, date or timestamp passed to a text function is its text.
fn implicit_arguments(f: &mut Function) -> Result<(), String> {
    let [part] = f.name.0.as_slice() else {
        return Ok(());
    };
    let Some(ident) = part.as_ident() else {
        return Ok(());
    };
    if ident.quote_style.is_some() {
        return Ok(());
    }
    let name = ident.value.to_ascii_lowercase();
    let FunctionArguments::List(list) = &mut f.args else {
        return Ok(());
    };
    let numeric = NUMERIC_FUNCTIONS.contains(&name.as_str());
    let text_positions = TEXT_FUNCTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p);
    for (i, arg) in list.args.iter_mut().enumerate() {
        let FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) = arg else {
            continue;
        };
        if numeric {
            if let Some(s) = string_literal(e) {
                let trimmed = s.trim();
                if trimmed.parse::<f64>().is_ok() {
                    *e = Expr::value(Value::Number(trimmed.to_string(), false));
                }
            }
        } else if text_positions.is_some_and(|p| p.contains(&i)) && string_literal(e).is_none() {
            *e = parse_expr(&format!("CAST({e} AS VARCHAR)"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{interval_string, parse_datetime, similar_to_regex};
    use crate::engine::sql::{run_query, SqlDialect};

    /// The first value of `query`'s result as text, or the error.
    async fn first(query: &str) -> Result<String, String> {
        let batches = run_query(SqlDialect::CleanRoomsSql, query, 0.0).await?;
        datafusion::arrow::util::display::array_value_to_string(batches[0].column(0), 0)
            .map_err(|e| e.to_string())
    }

    #[tokio::test]
    async fn forms_run_and_refusals_name_the_form() {
        for (query, want) in [
            ("SELECT TOP 1 x FROM (VALUES (3), (1)) v(x) ORDER BY x", "1"),
            ("SELECT COUNT(*) FROM (SELECT 1 MINUS SELECT 2) m", "1"),
            ("SELECT CAST('January 8, 1999' AS DATE)", "1999-01-08"),
            (
                "SELECT DATE '2008-12-31' + INTERVAL '1w, 1h'",
                "2009-01-07T01:00:00",
            ),
            ("SELECT 2 ^ 10", "1024.0"),
            (
                "SELECT COUNT(*) FROM (SELECT x FROM (VALUES (1), (1), (2)) v(x) EXCEPT ALL SELECT 1) e",
                "2",
            ),
        ] {
            assert_eq!(first(query).await.unwrap(), want, "{query}");
        }
        for (query, want) in [
            ("SELECT 'x'", "string literal directly in the SELECT list"),
            ("SELECT 1 AS timestamp", "reserved word"),
            ("SELECT 1 AS \"xmin\"", "system column"),
            ("SELECT TOP 1 1 LIMIT 1", "TOP and LIMIT"),
            (
                "SELECT * FROM (SELECT 1) x EXCEPT ALL SELECT 2",
                "EXCEPT ALL needs the columns",
            ),
            ("SELECT CAST('1' AS TIMETZ)", "TIMETZ"),
        ] {
            let error = first(query)
                .await
                .expect_err(&format!("{query} is refused"));
            assert!(error.contains(want), "{query}: {error}");
        }
    }

    #[test]
    fn date_strings_of_the_reference() {
        let day = |s: &str| {
            parse_datetime(s, 0.0)
                .map(|(d, t)| (d.to_string(), t.map(|t| t.to_string())))
                .unwrap()
        };
        for s in [
            "January 8, 1999",
            "1999-01-08",
            "1/8/1999",
            "1999-Jan-08",
            "Jan-08-1999",
            "08-Jan-1999",
            "19990108",
            "990108",
        ] {
            assert_eq!(day(s), ("1999-01-08".to_string(), None), "{s}");
        }
        assert_eq!(day("01/02/00").0, "2000-01-02");
        assert_eq!(day("2008.366").0, "2008-12-31");
        assert_eq!(
            day("20200430 04:05 PM"),
            ("2020-04-30".to_string(), Some("16:05:00".to_string()))
        );
        assert_eq!(day("tomorrow").0, "1970-01-02");
        assert!(parse_datetime("not a date", 0.0).is_none());
    }

    #[test]
    fn interval_lists_and_abbreviations() {
        assert_eq!(
            interval_string("1w, 1h, 1m, 1s").unwrap(),
            "1 weeks 1 hours 1 minutes 1 seconds"
        );
        assert_eq!(interval_string("30").unwrap(), "30 seconds");
        assert_eq!(interval_string("0.5 days").unwrap(), "0.5 days");
        assert!(interval_string("3 fortnights, 2 days").is_err());
    }

    #[test]
    fn similar_to_is_a_whole_string_regex() {
        assert_eq!(similar_to_regex("(a|b)%"), "^(?:(a|b).*)$");
        assert_eq!(similar_to_regex("a_c.d"), "^(?:a.c\\.d)$");
        assert_eq!(similar_to_regex("[0-9]+\\%"), "^(?:[0-9]+\\%)$");
    }
}
