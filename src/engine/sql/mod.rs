//! The two SQL dialects of AWS Clean Rooms, chosen by a collaboration's analytics engine:
//! AWS Clean Rooms SQL (`CLEAN_ROOMS_SQL`) and Spark SQL (`SPARK`). A dialect is the functions
//! a session knows ([`register`]) and the rewrites of a parsed statement ([`parse`]); an
//! unknown function is answered with its name and the dialect ([`explain_plan_error`]).
//!
//! `rewrite` turns dialect syntax into DataFusion's, `udf` holds the functions DataFusion lacks, `parts` the date-part names, `format` the format strings.

pub mod format;
pub mod parts;
pub mod rewrite;
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
        ],
        SqlDialect::Spark => vec![
            udf::dateadd("timestampadd"),
            udf::datediff("timestampdiff"),
            udf::months_between(),
            udf::last_day(),
            udf::to_number(),
            udf::regexp_substr(),
            udf::trunc(),
        ],
    };
    for udf in udfs {
        ctx.register_udf(udf);
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
    let mut statement = ctx
        .state()
        .sql_to_statement(sql, &Dialect::default())
        .map_err(|e| format!("The query could not be parsed: {e}"))?;
    if let Statement::Statement(inner) = &mut statement {
        rewrite::rewrite(inner, dialect, now)?;
    }
    Ok(statement)
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
