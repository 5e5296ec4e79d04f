//! The operators of AWS Clean Rooms SQL whose meaning depends on the types of their operands,
//! planned when the engine knows those types (so the privacy checks see the columns as written):
//! `+` of two text values concatenates them, and a string compared with a date or timestamp is
//! read in any of the reference's date forms (`'12-31-2008'`, `'January 8, 1999'`, `'today'`).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{binary_expr, lit, Expr, ExprSchemable, Operator};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use super::clean_rooms_forms::datetime_text;

/// The planner of Clean Rooms SQL's typed operators; `now` is the emulator clock (epoch
/// seconds), the time of `'now'` and `'today'`.
#[derive(Debug)]
pub struct CleanRoomsOperators {
    /// The emulator clock when the session was made.
    pub now: f64,
}

/// Whether `t` is a text type.
fn is_text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

/// The text of a string literal.
fn literal_text(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => Some(s),
        _ => None,
    }
}

impl ExprPlanner for CleanRoomsOperators {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let type_of = |e: &Expr| e.get_type(schema).ok();
        match expr.op {
            BinaryOperator::Plus => {
                let (Some(l), Some(r)) = (type_of(&expr.left), type_of(&expr.right)) else {
                    return Ok(PlannerResult::Original(expr));
                };
                if is_text(&l) && is_text(&r) {
                    return Ok(PlannerResult::Planned(binary_expr(
                        expr.left,
                        Operator::StringConcat,
                        expr.right,
                    )));
                }
                Ok(PlannerResult::Original(expr))
            }
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => {
                let RawBinaryExpr { op, left, right } = expr;
                let date_side = |other: &Expr, text: &Expr| -> Option<Expr> {
                    let s = literal_text(text)?;
                    let t = type_of(other)?;
                    let date = matches!(t, DataType::Date32 | DataType::Date64);
                    if !(date || matches!(t, DataType::Timestamp(..))) {
                        return None;
                    }
                    datetime_text(s, date, self.now).map(lit)
                };
                let new_right = date_side(&left, &right);
                let new_left = date_side(&right, &left);
                Ok(PlannerResult::Original(RawBinaryExpr {
                    op,
                    left: new_left.unwrap_or(left),
                    right: new_right.unwrap_or(right),
                }))
            }
            _ => Ok(PlannerResult::Original(expr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::sql::{run_query, SqlDialect};

    /// The values of `query`'s first row as text.
    async fn row(query: &str) -> Vec<String> {
        let batches = run_query(SqlDialect::CleanRoomsSql, query, 0.0)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        batches[0]
            .columns()
            .iter()
            .map(|c| datafusion::arrow::util::display::array_value_to_string(c, 0).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn plus_of_text_concatenates_and_dates_read_reference_forms() {
        assert_eq!(
            row("SELECT a + ' ' + b FROM (SELECT CAST('x' AS VARCHAR) AS a, CAST('y' AS VARCHAR) AS b) t").await,
            ["x y"]
        );
        // The clock is at the epoch: yesterday is 1969-12-31. Text stays text.
        assert_eq!(
            row("SELECT d = '12-31-2008', d > 'yesterday', t = '12-31-2008' FROM (SELECT DATE '2008-12-31' AS d, CAST('2008-12-31' AS VARCHAR) AS t) x").await,
            ["true", "true", "false"]
        );
    }
}
