//! The two SQL dialects of AWS Clean Rooms, chosen by a collaboration's analytics engine:
//! AWS Clean Rooms SQL (`CLEAN_ROOMS_SQL`) and Spark SQL (`SPARK`). A dialect is the functions
//! a session knows ([`register`]) and the rewrites of a parsed statement ([`parse`]); an
//! unknown function is answered with its name and the dialect ([`explain_plan_error`]).
//!
//! `rewrite` turns dialect syntax into DataFusion's, `udf` holds the functions DataFusion lacks
//! (`codec` the hashes and encodings, `text` Spark's string and JSON functions, `aggregate` the
//! aggregates), `parts` the date-part names, `format` the format strings.

pub mod aggregate;
pub mod codec;
pub mod format;
pub mod parts;
pub mod rewrite;
pub mod text;
pub mod udf;

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
    if dialect == SqlDialect::Spark {
        ctx.register_udaf(aggregate::skewness());
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
        SqlDialect::Spark => spark_div_operator(sql),
        SqlDialect::CleanRoomsSql => None,
    };
    let sql = text.as_deref().unwrap_or(sql);
    let state = ctx.state();
    let mut statement = match state.sql_to_statement(sql, &Dialect::default()) {
        Ok(statement) => statement,
        // Clean Rooms SQL is Redshift's: what only Redshift's grammar reads (`CONVERT(type,
        // expr)` of any expression) is read with it.
        Err(e) if dialect == SqlDialect::CleanRoomsSql => state
            .sql_to_statement(sql, &Dialect::Redshift)
            .map_err(|_| format!("The query could not be parsed: {e}"))?,
        Err(e) => return Err(format!("The query could not be parsed: {e}")),
    };
    if let Statement::Statement(inner) = &mut statement {
        rewrite::rewrite(inner, dialect, now)?;
    }
    Ok(statement)
}

/// Spark's infix integer division `a DIV b` written as the `//` operator the engine's parser
/// knows (the statement rewrite then gives it Spark's meaning). `None` when `sql` has no `DIV`
/// after an operand.
fn spark_div_operator(sql: &str) -> Option<String> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

    if !sql.to_ascii_lowercase().contains("div") {
        return None;
    }
    let mut tokens = Tokenizer::new(&GenericDialect {}, sql).tokenize().ok()?;
    let mut changed = false;
    let mut previous: Option<usize> = None;
    for i in 0..tokens.len() {
        if matches!(tokens[i], Token::Whitespace(_)) {
            continue;
        }
        let is_div = matches!(&tokens[i], Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::DIV);
        if is_div && previous.is_some_and(|p| ends_operand(&tokens[p])) {
            tokens[i] = Token::DuckIntDiv;
            changed = true;
        }
        previous = Some(i);
    }
    changed.then(|| tokens.iter().map(ToString::to_string).collect())
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
