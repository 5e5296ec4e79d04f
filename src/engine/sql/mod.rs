//! The two SQL dialects of AWS Clean Rooms, chosen by a collaboration's analytics engine:
//! AWS Clean Rooms SQL (`CLEAN_ROOMS_SQL`) and Spark SQL (`SPARK`). A dialect is the functions
//! a session knows ([`register`]) and the rewrites of a parsed statement ([`parse`]); an
//! unknown function is answered with its name and the dialect ([`explain_plan_error`]).
//!
//! `rewrite` turns dialect syntax into DataFusion's (`clean_rooms_forms` the clause, literal,
//! type and operator forms of Clean Rooms SQL, `clean_rooms_operators` those that depend on
//! the operands' types), `udf` holds the functions DataFusion lacks
//! (`codec` the hashes and encodings, `text` Spark's string and JSON functions, `aggregate` the
//! aggregates), `parts` the date-part names, `format` the format strings; `super_json` is Clean
//! Rooms SQL's SUPER type with its JSON, array and type functions, `varbyte` its VARBYTE
//! functions, `ordered_window` the window forms of its ordered-set aggregates; `spark_syntax`
//! reads Spark's own syntax forms, `spark_forms`
//! maps Spark's `explode`, `timestamp`, numeric `to_char` and charset `encode`/`decode` onto
//! `spark_values`, beside `spark_json`, `aes`, `hll`, `tcf` and `gpp` (Spark's JSON, encryption
//! and HyperLogLog functions, and the TCF v2 and GPP v1 consent decoders).

pub mod aes;
pub mod aggregate;
pub mod clean_rooms_forms;
pub mod clean_rooms_operators;
pub mod codec;
pub mod format;
pub mod gpp;
pub mod hll;
pub mod multiset;
pub mod ordered_window;
pub mod parts;
pub mod rewrite;
pub mod spark_forms;
pub mod spark_json;
pub mod spark_syntax;
pub mod spark_values;
pub mod super_json;
pub mod tcf;
pub mod text;
pub mod udf;
pub mod varbyte;

use datafusion::common::config::Dialect;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;

/// The SQL dialect of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqlDialect {
    /// AWS Clean Rooms SQL (analytics engine `CLEAN_ROOMS_SQL`).
    CleanRoomsSql,
    /// Spark SQL (analytics engine `SPARK`, the default of a collaboration).
    #[default]
    Spark,
}

impl SqlDialect {
    /// The dialect's name as the Clean Rooms documentation writes it.
    pub fn title(self) -> &'static str {
        match self {
            Self::CleanRoomsSql => "AWS Clean Rooms SQL",
            Self::Spark => "Spark SQL",
        }
    }

    /// The analytics engine that selects the dialect.
    pub fn analytics_engine(self) -> &'static str {
        match self {
            Self::CleanRoomsSql => "CLEAN_ROOMS_SQL",
            Self::Spark => "SPARK",
        }
    }
}

/// Adds the functions of `dialect` to a fresh session.
pub fn register(ctx: &SessionContext, dialect: SqlDialect) {
    let udfs = match dialect {
        SqlDialect::CleanRoomsSql => vec![
            udf::dateadd("dateadd"),
            udf::datediff("datediff"),
            udf::add_months_clean_rooms(),
            udf::to_char_number(),
            udf::soundex(),
            udf::to_number(),
            udf::regexp_substr(),
            udf::trunc(),
            udf::convert_timezone(),
            codec::sha1(),
        ],
        SqlDialect::Spark => vec![
            udf::dateadd("timestampadd"),
            udf::datediff("timestampdiff"),
            udf::months_between(),
            udf::last_day(),
            udf::to_number(),
            udf::regexp_substr(),
            udf::trunc(),
            udf::convert_timezone(),
            codec::sha1(),
            codec::hex(),
            codec::unhex(),
            codec::xxhash64(),
            text::split(),
            text::get_json_object(),
            text::format_string(),
        ],
    };
    for udf in udfs {
        ctx.register_udf(udf);
    }
    if dialect == SqlDialect::CleanRoomsSql {
        for udf in super_json::functions()
            .into_iter()
            .chain(varbyte::functions())
        {
            ctx.register_udf(udf);
        }
    }
    if dialect == SqlDialect::Spark {
        // Spark sorts NULLs first in ascending order and last in descending order, and reads
        // `1.5` as a DECIMAL.
        {
            let state = ctx.state_ref();
            let mut state = state.write();
            let parser = &mut state.config_mut().options_mut().sql_parser;
            parser.default_null_ordering = "nulls_min".to_string();
            parser.parse_float_as_decimal = true;
        }
        spark_syntax::functions()
            .into_iter()
            .for_each(|f| ctx.register_udf(f));
        ctx.register_udaf(aggregate::skewness());
        spark_forms::functions()
            .into_iter()
            .for_each(|f| ctx.register_udf(f));
        spark_forms::aggregates()
            .into_iter()
            .for_each(|f| ctx.register_udaf(f));
    }
}

/// Parses `sql` for `dialect` and rewrites it (see [`rewrite`]); `now` is the emulator clock.
///
/// # Errors
/// A message saying why the text is no statement of the dialect.
pub fn parse(
    ctx: &SessionContext,
    sql: &str,
    dialect: SqlDialect,
    now: f64,
) -> Result<Statement, String> {
    let text = match dialect {
        SqlDialect::Spark => {
            let text = match spark_syntax::prepare_text(sql) {
                Some(text) => Some(spark_div_operator(&text).unwrap_or(text)),
                None => spark_div_operator(sql),
            };
            match spark_syntax::cache_tables(text.as_deref().unwrap_or(sql))? {
                Some(script) => Some(script),
                None => text,
            }
        }
        SqlDialect::CleanRoomsSql => clean_rooms_approximate(sql),
    };
    let top = match dialect {
        SqlDialect::CleanRoomsSql => clean_rooms_top_distinct(text.as_deref().unwrap_or(sql)),
        SqlDialect::Spark => None,
    };
    let text = top.or(text);
    let sql = text.as_deref().unwrap_or(sql);
    let state = ctx.state();
    let mut statement = match state.sql_to_statement(sql, &Dialect::default()) {
        Ok(statement) => statement,
        // Clean Rooms SQL is Redshift's: what only Redshift's grammar reads (`CONVERT(type,
        // expr)` of any expression) is read with it.
        // So is what only PostgreSQL's reads (the prefix operators `|/`, `||/` and `@`).
        Err(e) if dialect == SqlDialect::CleanRoomsSql => state
            .sql_to_statement(sql, &Dialect::Redshift)
            .or_else(|_| state.sql_to_statement(sql, &Dialect::PostgreSQL))
            .map_err(|_| format!("The query could not be parsed: {e}"))?,
        Err(e) => return Err(format!("The query could not be parsed: {e}")),
    };
    if let Statement::Statement(inner) = &mut statement {
        if dialect == SqlDialect::Spark {
            spark_syntax::rewrite_statement(inner)?;
            spark_forms::rewrite_statement(inner)?;
        }
        if dialect == SqlDialect::CleanRoomsSql {
            clean_rooms_forms::refuse_forbidden(inner)?;
        }
        rewrite::rewrite(inner, dialect, now)?;
        if dialect == SqlDialect::CleanRoomsSql {
            clean_rooms_forms::rewrite_statement(inner, now)?;
            // Planning (on this session) reads the operators that depend on types.
            use datafusion::execution::FunctionRegistry as _;
            ctx.state_ref()
                .write()
                .register_expr_planner(std::sync::Arc::new(
                    clean_rooms_operators::CleanRoomsOperators { now },
                ))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(statement)
}

/// Spark's infix integer division `a DIV b` written as the `//` operator the engine's parser
/// knows (the statement rewrite then gives it Spark's meaning). `None` when `sql` has no `DIV`
/// after an operand. Only the `DIV` words change; the rest of the text stays as written.
fn spark_div_operator(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

    if !sql.to_ascii_lowercase().contains("div") {
        return None;
    }
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    let mut operators = Vec::new();
    let mut previous: Option<&Token> = None;
    for t in &tokens {
        if matches!(t.token, Token::Whitespace(_)) {
            continue;
        }
        let is_div = matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::DIV);
        if is_div && previous.is_some_and(ends_operand) {
            let at = byte_offset(sql, t.span.start.line, t.span.start.column)?;
            operators.push(at);
        }
        previous = Some(&t.token);
    }
    if operators.is_empty() {
        return None;
    }
    let mut text = sql.to_string();
    for at in operators.into_iter().rev() {
        if !text.get(at..at + 3)?.eq_ignore_ascii_case("div") {
            return None;
        }
        text.replace_range(at..at + 3, "//");
    }
    Some(text)
}

/// Clean Rooms SQL's `APPROXIMATE COUNT(DISTINCT x)` and `APPROXIMATE PERCENTILE_DISC(p) WITHIN
/// GROUP (…)` without the word `APPROXIMATE`: the engine answers them exactly, which is within
/// any error bound of the approximation. `None` when `sql` has no such word.
fn clean_rooms_approximate(sql: &str) -> Option<String> {
    if !sql.to_ascii_lowercase().contains("approximate") {
        return None;
    }
    let significant = significant_tokens(sql)?;
    let mut cut = Vec::new();
    for pair in significant.windows(2) {
        if is_word(&pair[0].token, "approximate")
            && (is_word(&pair[1].token, "count") || is_word(&pair[1].token, "percentile_disc"))
        {
            cut.push((
                byte_offset(sql, pair[0].span.start.line, pair[0].span.start.column)?,
                byte_offset(sql, pair[1].span.start.line, pair[1].span.start.column)?,
            ));
        }
    }
    if cut.is_empty() {
        return None;
    }
    let mut text = sql.to_string();
    for (from, to) in cut.into_iter().rev() {
        text.replace_range(from..to, "");
    }
    Some(text)
}

/// Clean Rooms SQL's `SELECT TOP n DISTINCT …` in the order the engine's grammar reads
/// (`SELECT DISTINCT TOP n …`). `None` when `sql` has no such words.
fn clean_rooms_top_distinct(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::tokenizer::Token;

    let lower = sql.to_ascii_lowercase();
    if !lower.contains("top") || !lower.contains("distinct") {
        return None;
    }
    let significant = significant_tokens(sql)?;
    let mut swaps = Vec::new();
    for triple in significant.windows(3) {
        if is_word(&triple[0].token, "top")
            && matches!(triple[1].token, Token::Number(..))
            && is_word(&triple[2].token, "distinct")
        {
            let top = byte_offset(sql, triple[0].span.start.line, triple[0].span.start.column)?;
            let distinct =
                byte_offset(sql, triple[2].span.start.line, triple[2].span.start.column)?;
            swaps.push((top, distinct, distinct + "distinct".len()));
        }
    }
    if swaps.is_empty() {
        return None;
    }
    let mut text = sql.to_string();
    for (top, distinct, end) in swaps.into_iter().rev() {
        let count = text.get(top..distinct)?.to_string();
        text.replace_range(top..end, &format!("DISTINCT {}", count.trim_end()));
    }
    Some(text)
}

/// The tokens of `sql` without whitespace, as the generic grammar reads them; `None` when it
/// cannot.
fn significant_tokens(
    sql: &str,
) -> Option<Vec<datafusion::sql::sqlparser::tokenizer::TokenWithSpan>> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize_with_location()
        .ok()?;
    Some(
        tokens
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect(),
    )
}

/// Whether `token` is the unquoted word `name` (in any case).
fn is_word(token: &datafusion::sql::sqlparser::tokenizer::Token, name: &str) -> bool {
    matches!(token, datafusion::sql::sqlparser::tokenizer::Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name))
}

/// The byte offset in `sql` of a tokenizer location (1-based line and character column).
fn byte_offset(sql: &str, line: u64, column: u64) -> Option<usize> {
    let line = usize::try_from(line).ok()?.checked_sub(1)?;
    let start = if line == 0 {
        0
    } else {
        sql.match_indices('\n').nth(line - 1)?.0 + 1
    };
    let chars = usize::try_from(column).ok()?.checked_sub(1)?;
    let rest = &sql[start..];
    Some(
        start
            + rest
                .char_indices()
                .nth(chars)
                .map_or(rest.len(), |(i, _)| i),
    )
}

/// Whether `token` can end an operand, so that a `DIV` after it is the operator.
fn ends_operand(token: &datafusion::sql::sqlparser::tokenizer::Token) -> bool {
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::Token;
    match token {
        Token::Number(..) | Token::RParen | Token::SingleQuotedString(_) | Token::RBracket => true,
        Token::Word(w) => {
            w.quote_style.is_some()
                || !matches!(
                    w.keyword,
                    Keyword::SELECT
                        | Keyword::WHERE
                        | Keyword::AND
                        | Keyword::OR
                        | Keyword::NOT
                        | Keyword::ON
                        | Keyword::BY
                        | Keyword::WHEN
                        | Keyword::THEN
                        | Keyword::ELSE
                        | Keyword::CASE
                        | Keyword::HAVING
                        | Keyword::DISTINCT
                        | Keyword::ALL
                        | Keyword::IN
                        | Keyword::IS
                        | Keyword::LIKE
                        | Keyword::BETWEEN
                        | Keyword::AS
                        | Keyword::FROM
                        | Keyword::JOIN
                        | Keyword::LIMIT
                        | Keyword::SET
                        | Keyword::VALUES
                        | Keyword::WITH
                        | Keyword::INTERVAL
                        | Keyword::EXISTS
                        | Keyword::RETURN
                )
        }
        _ => false,
    }
}

/// The message for a planning error that comes from the dialect: an unknown function named with
/// the dialect and analytics engine. `None` for other errors.
pub fn explain_plan_error(message: &str, dialect: SqlDialect) -> Option<String> {
    let start = message.find("Invalid function '")? + "Invalid function '".len();
    let name = &message[start..];
    let name = &name[..name.find('\'')?];
    Some(format!(
        "Function '{}' is not supported in {} (the collaboration's analytics engine is {})",
        name.to_ascii_uppercase(),
        dialect.title(),
        dialect.analytics_engine()
    ))
}

/// Runs `query` in a fresh session of `dialect` (the clock at `now`) and collects its batches:
/// the unit tests of the dialects' functions.
#[cfg(test)]
pub(crate) async fn run_query(
    dialect: SqlDialect,
    query: &str,
    now: f64,
) -> Result<Vec<datafusion::arrow::array::RecordBatch>, String> {
    let ctx = SessionContext::new();
    register(&ctx, dialect);
    let statement = parse(&ctx, query, dialect, now)?;
    let plan = ctx
        .state()
        .statement_to_plan(statement)
        .await
        .map_err(|e| e.to_string())?;
    ctx.execute_logical_plan(plan)
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::{clean_rooms_approximate, clean_rooms_top_distinct, spark_div_operator};

    #[test]
    fn div_becomes_the_integer_division_operator() {
        assert_eq!(
            spark_div_operator("SELECT 'it''s', a DIV 2,\n  (b + 1) div c FROM t").as_deref(),
            Some("SELECT 'it''s', a // 2,\n  (b + 1) // c FROM t")
        );
        // A call, an alias and a column named like the operator stay as they are.
        assert_eq!(
            spark_div_operator("SELECT div(a, 2) AS div, dividend FROM t"),
            None
        );
        assert_eq!(
            spark_div_operator("SELECT 'ünï' || x DIV 3 FROM t").as_deref(),
            Some("SELECT 'ünï' || x // 3 FROM t")
        );
    }

    #[test]
    fn top_comes_after_distinct() {
        assert_eq!(
            clean_rooms_top_distinct("SELECT TOP 10 DISTINCT a FROM t").as_deref(),
            Some("SELECT DISTINCT TOP 10 a FROM t")
        );
        assert_eq!(clean_rooms_top_distinct("SELECT TOP 10 a FROM t"), None);
    }

    #[test]
    fn approximate_aggregates_lose_the_word() {
        assert_eq!(
            clean_rooms_approximate(
                "SELECT APPROXIMATE COUNT(DISTINCT a),\n approximate  percentile_disc(0.5) WITHIN GROUP (ORDER BY b) AS approximate FROM t"
            )
            .as_deref(),
            Some("SELECT COUNT(DISTINCT a),\n percentile_disc(0.5) WITHIN GROUP (ORDER BY b) AS approximate FROM t")
        );
        assert_eq!(clean_rooms_approximate("SELECT approximate FROM t"), None);
    }
}
