//! `INTERSECT ALL` and `EXCEPT ALL` with their multiset meaning, shared by both dialects: a row
//! of the left side is kept as many times as it occurs there and also (INTERSECT), or more
//! often than (EXCEPT), on the right side. The engine's own `ALL` forms keep or remove every
//! copy of a matching row, so the operation is rewritten on the parsed statement (the privacy
//! checks then plan the real columns): each side's rows are numbered within their copies and
//! the distinct operation is applied to the numbered rows.

use datafusion::sql::sqlparser::ast::{Expr, Ident, SelectItem, SetExpr, SetOperator};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// `left <op> ALL right` as a query over numbered rows whose output columns are named
/// `outputs` (one per column of the operation, as SQL text: an identifier already quoted the
/// dialect's way; `None` keeps the engine's own name for that column).
///
/// # Errors
/// The rewritten statement does not parse (an internal fault, reported with its text).
pub fn counted(
    op: SetOperator,
    left: &SetExpr,
    right: &SetExpr,
    outputs: &[Option<String>],
) -> Result<SetExpr, String> {
    let columns: Vec<String> = (1..=outputs.len()).map(|i| format!("__c{i}")).collect();
    let list = columns.join(", ");
    let numbered = |side: &SetExpr, alias: &str| {
        format!(
            "SELECT {alias}.*, row_number() OVER (PARTITION BY {list}) AS __copy \
             FROM ({side}) AS {alias}({list})"
        )
    };
    let selected: Vec<String> = columns
        .iter()
        .zip(outputs)
        .map(|(column, name)| match name {
            Some(name) => format!("{column} AS {name}"),
            None => column.clone(),
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM ({} {op} {}) AS __counted",
        selected.join(", "),
        numbered(left, "__left"),
        numbered(right, "__right")
    );
    let query = Parser::new(&GenericDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| format!("internal rewrite produced invalid SQL ({sql}): {e}"))?;
    Ok(SetExpr::Query(query))
}

/// A column of a set operation's output as its first SELECT writes it.
pub enum OutputColumn<'a> {
    /// An alias or a column reference: the column's name.
    Named(&'a Ident),
    /// Any other expression, without a name of its own.
    Unnamed(&'a Expr),
}

/// The output columns of a query body's first SELECT; `None` when it has a wildcard, whose
/// columns cannot be named before planning.
pub fn output_columns(body: &SetExpr) -> Option<Vec<OutputColumn<'_>>> {
    match body {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::ExprWithAlias { alias, .. } => Some(OutputColumn::Named(alias)),
                SelectItem::UnnamedExpr(Expr::Identifier(ident)) => {
                    Some(OutputColumn::Named(ident))
                }
                SelectItem::UnnamedExpr(e @ Expr::CompoundIdentifier(parts)) => Some(
                    parts
                        .last()
                        .map_or(OutputColumn::Unnamed(e), OutputColumn::Named),
                ),
                SelectItem::UnnamedExpr(e) => Some(OutputColumn::Unnamed(e)),
                _ => None,
            })
            .collect(),
        SetExpr::SetOperation { left, .. } => output_columns(left),
        SetExpr::Query(query) => output_columns(&query.body),
        _ => None,
    }
}
