//! Output suppression by minimum distinct counts: the AGGREGATION rule's `outputConstraints` and
//! the CUSTOM rule's `aggregationThresholds`. Every output row of an aggregated query is one
//! group of its final aggregation; the plan is rewritten so that aggregation also computes
//! `count(DISTINCT T.c)` for every constrained column and drops the groups below the minimum,
//! then projects the helper columns away. The query still succeeds; rows silently disappear.
//!
//! Also the CUSTOM threshold's `COLUMNS_ONLY` check on aggregate and window function arguments.

use std::sync::Arc;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, JoinType};
use datafusion::functions_aggregate::expr_fn::count_distinct;
use datafusion::logical_expr::expr::{AggregateFunction, WindowFunction};
use datafusion::logical_expr::logical_plan::{Aggregate, Distinct, Filter, Projection};
use datafusion::logical_expr::{lit, Expr, LogicalPlan};

use super::{scanned_tables, PolicyError, SourceColumn};

/// One minimum: every output row must be backed by at least `minimum` distinct values of
/// `table.column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// The collaboration table.
    pub table: String,
    /// The identifier column.
    pub column: String,
    /// The minimum distinct count (rows below are dropped).
    pub minimum: u64,
    /// The rule that sets it, for messages (`AGGREGATION`, `CUSTOM`).
    pub rule: String,
}

/// Prefix of the helper columns the rewrite adds (never visible in results).
const HELPER: &str = "__cleanrooms_threshold_";

/// Rewrites `plan` so that every output row satisfies every threshold. Thresholds on the same
/// table column keep the largest minimum; a minimum below 2 suppresses nothing.
///
/// # Errors
/// [`PolicyError::Rejected`] when the query's result is not computed by an aggregation, or the
/// final aggregation cannot see a constrained column of a table it reads.
pub fn apply_thresholds(
    plan: &LogicalPlan,
    thresholds: &[Threshold],
) -> Result<LogicalPlan, PolicyError> {
    let mut merged: Vec<Threshold> = Vec::new();
    for t in thresholds.iter().filter(|t| t.minimum >= 2) {
        match merged
            .iter_mut()
            .find(|m| m.table == t.table && m.column.eq_ignore_ascii_case(&t.column))
        {
            Some(m) => m.minimum = m.minimum.max(t.minimum),
            None => merged.push(t.clone()),
        }
    }
    if merged.is_empty() {
        return Ok(plan.clone());
    }
    rewrite(plan, &merged)
}

fn rewrite(plan: &LogicalPlan, thresholds: &[Threshold]) -> Result<LogicalPlan, PolicyError> {
    match plan {
        LogicalPlan::Aggregate(aggregate) => constrain(aggregate, thresholds),
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Window(_)
        | LogicalPlan::Repartition(_)
        | LogicalPlan::Distinct(Distinct::All(_))
        | LogicalPlan::Union(_) => {
            let inputs = plan
                .inputs()
                .into_iter()
                .map(|input| rewrite(input, thresholds))
                .collect::<Result<Vec<_>, _>>()?;
            plan.with_new_exprs(plan.expressions(), inputs)
                .map_err(|e| PolicyError::Lineage(e.to_string()))
        }
        other => {
            // The rows reaching the output are not groups of an aggregation. Inputs that read no
            // constrained table (a constant branch of a UNION) are left alone.
            let tables = scanned_tables(other);
            match thresholds.iter().find(|t| tables.contains(&t.table)) {
                None => Ok(other.clone()),
                Some(t) => Err(PolicyError::Rejected(format!(
                    "Table '{}' has a minimum aggregation threshold on column '{}' in its {} analysis rule: the query result must be aggregated (GROUP BY and/or aggregate functions in the final SELECT), so that each output row can be checked against the threshold",
                    t.table, t.column, t.rule
                ))),
            }
        }
    }
}

/// The aggregation with the helper counts, a filter dropping groups below the minimums, and a
/// projection restoring the original columns.
fn constrain(aggregate: &Aggregate, thresholds: &[Threshold]) -> Result<LogicalPlan, PolicyError> {
    let input = &aggregate.input;
    let tables = scanned_tables(input);
    let mut helpers = Vec::new();
    let mut conditions = Vec::new();
    for t in thresholds {
        if !tables.contains(&t.table) {
            continue;
        }
        let wanted = SourceColumn::new(t.table.clone(), t.column.clone());
        let fields: Vec<Column> = input
            .schema()
            .columns()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| trace(input, *i).is_some_and(|s| same(&s, &wanted)))
            .map(|(_, c)| c)
            .collect();
        if fields.is_empty() {
            return Err(PolicyError::Rejected(format!(
                "Table '{}' has a minimum aggregation threshold on column '{}' in its {} analysis rule, but the query's final aggregation cannot see {}.{} (it is dropped or transformed in a subquery or CTE); keep the column available to the final aggregation",
                t.table, t.column, t.rule, t.table, t.column
            )));
        }
        for column in fields {
            let name = format!("{HELPER}{}", helpers.len());
            helpers.push(count_distinct(Expr::Column(column)).alias(name.clone()));
            let minimum = i64::try_from(t.minimum).unwrap_or(i64::MAX);
            conditions.push(Expr::Column(Column::from_name(name)).gt_eq(lit(minimum)));
        }
    }
    let original = LogicalPlan::Aggregate(aggregate.clone());
    let Some(predicate) = conditions.into_iter().reduce(Expr::and) else {
        return Ok(original);
    };
    let mut aggr_expr = aggregate.aggr_expr.clone();
    aggr_expr.extend(helpers);
    let widened = Aggregate::try_new(
        Arc::clone(&aggregate.input),
        aggregate.group_expr.clone(),
        aggr_expr,
    )
    .map_err(|e| PolicyError::Lineage(e.to_string()))?;
    let filtered = Filter::try_new(predicate, Arc::new(LogicalPlan::Aggregate(widened)))
        .map_err(|e| PolicyError::Lineage(e.to_string()))?;
    let columns = original
        .schema()
        .columns()
        .into_iter()
        .map(Expr::Column)
        .collect();
    let projected = Projection::try_new(columns, Arc::new(LogicalPlan::Filter(filtered)))
        .map_err(|e| PolicyError::Lineage(e.to_string()))?;
    Ok(LogicalPlan::Projection(projected))
}

fn same(a: &SourceColumn, b: &SourceColumn) -> bool {
    a.table == b.table && a.column.eq_ignore_ascii_case(&b.column)
}

/// The table column whose values field `index` of `plan` carries unchanged, if any.
pub fn trace(plan: &LogicalPlan, index: usize) -> Option<SourceColumn> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let field = scan.projected_schema.fields().get(index)?;
            Some(SourceColumn::new(
                scan.table_name.table().to_string(),
                field.name().clone(),
            ))
        }
        LogicalPlan::Projection(p) => {
            let expr = match p.expr.get(index)? {
                Expr::Alias(a) => a.expr.as_ref(),
                e => e,
            };
            let Expr::Column(c) = expr else {
                return None;
            };
            trace(&p.input, p.input.schema().maybe_index_of_column(c)?)
        }
        LogicalPlan::Filter(f) => trace(&f.input, index),
        LogicalPlan::Sort(s) => trace(&s.input, index),
        LogicalPlan::Limit(l) => trace(&l.input, index),
        LogicalPlan::SubqueryAlias(a) => trace(&a.input, index),
        LogicalPlan::Repartition(r) => trace(&r.input, index),
        LogicalPlan::Distinct(Distinct::All(input)) => trace(input, index),
        LogicalPlan::Window(w) => {
            (index < w.input.schema().fields().len()).then(|| trace(&w.input, index))?
        }
        LogicalPlan::Join(j) => {
            let left = j.left.schema().fields().len();
            match j.join_type {
                JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                    if index < left {
                        trace(&j.left, index)
                    } else {
                        trace(&j.right, index - left)
                    }
                }
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
                    (index < left).then(|| trace(&j.left, index))?
                }
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
                    trace(&j.right, index)
                }
            }
        }
        LogicalPlan::Aggregate(a) => {
            if matches!(a.group_expr.as_slice(), [Expr::GroupingSet(_)]) {
                return None;
            }
            let expr = match a.group_expr.get(index)? {
                Expr::Alias(al) => al.expr.as_ref(),
                e => e,
            };
            let Expr::Column(c) = expr else {
                return None;
            };
            trace(&a.input, a.input.schema().maybe_index_of_column(c)?)
        }
        LogicalPlan::Union(u) => {
            let mut found: Option<SourceColumn> = None;
            for input in &u.inputs {
                let s = trace(input, index)?;
                match &found {
                    Some(f) if !same(f, &s) => return None,
                    _ => found = Some(s),
                }
            }
            found
        }
        _ => None,
    }
}

/// `COLUMNS_ONLY`: every argument of every aggregate and window function in `plan` (subqueries
/// included) is a bare column or a constant. `table` names the table whose rule demands it.
///
/// # Errors
/// [`PolicyError::Rejected`] naming the function, the table and what is allowed.
pub fn check_columns_only(plan: &LogicalPlan, table: &str) -> Result<(), PolicyError> {
    let mut found: Option<String> = None;
    let walked = plan.apply_with_subqueries(|node| {
        for e in node.expressions() {
            e.apply(|e| {
                let args = match e {
                    Expr::AggregateFunction(AggregateFunction { params, .. }) => &params.args,
                    Expr::WindowFunction(w) => {
                        let WindowFunction { params, .. } = w.as_ref();
                        &params.args
                    }
                    _ => return Ok(TreeNodeRecursion::Continue),
                };
                if args.iter().any(|a| {
                    !matches!(
                        a,
                        Expr::Column(_) | Expr::Literal(..) | Expr::Placeholder(_)
                    )
                }) {
                    found = Some(e.to_string());
                    return Ok(TreeNodeRecursion::Stop);
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
            if found.is_some() {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    walked.map_err(|e| PolicyError::Lineage(e.to_string()))?;
    match found {
        None => Ok(()),
        Some(function) => Err(PolicyError::Rejected(format!(
            "'{function}' is not allowed: the minimum aggregation threshold in the CUSTOM analysis rule of table '{table}' has allowedAggregateExpressionType COLUMNS_ONLY, so aggregate and window function arguments must be a bare column or a constant (e.g. SUM(amount), COUNT(DISTINCT user_id))"
        ))),
    }
}
