//! The LIST analysis rule on a query plan: one flat query block
//! `SELECT DISTINCT <list columns> FROM t INNER JOIN t2 ON <join columns> [WHERE] [LIMIT n]`:
//! no functions (only arithmetic on list columns and literals), no `GROUP BY`, `HAVING`,
//! `ORDER BY`, `OFFSET`, subqueries or CTEs; at least one join, and every table connected through
//! the join graph to a table of the query runner; join columns only in `ON`.

use std::collections::BTreeMap;

use datafusion::common::DFSchema;
use datafusion::logical_expr::logical_plan::{Distinct, FetchType, SkipType};
use datafusion::logical_expr::{Expr, LogicalPlan};

use super::structure::{self, contains, list, FromClause, JoinPolicy};
use super::PolicyError;

const RULE: &str = "LIST";

/// One table's LIST rule.
#[derive(Debug, Clone)]
pub struct ListRule {
    /// The collaboration table name.
    pub table: String,
    /// Join columns and operators.
    pub join: JoinPolicy,
    /// Columns usable in `SELECT` and `WHERE`.
    pub list_columns: Vec<String>,
    /// Whether the query runner owns the table.
    pub owned_by_runner: bool,
}

/// Checks `plan` against the LIST rules of the tables it reads.
///
/// # Errors
/// [`PolicyError::Rejected`] naming the rule, the table, the column or construct and what would
/// be allowed.
pub fn check_list(plan: &LogicalPlan, rules: &[ListRule]) -> Result<(), PolicyError> {
    let rules: BTreeMap<String, &ListRule> = rules.iter().map(|r| (r.table.clone(), r)).collect();
    let first = super::scanned_tables(plan)
        .into_iter()
        .next()
        .unwrap_or_default();
    let reject = |what: &str| {
        PolicyError::Rejected(format!(
            "{what} under the LIST analysis rule of table '{first}' (allowed shape: SELECT DISTINCT <list columns> FROM <table> INNER JOIN <table> ON <join columns> [WHERE …] [LIMIT n])"
        ))
    };
    let mut node = plan;
    if let LogicalPlan::Limit(limit) = node {
        match limit.get_skip_type() {
            Ok(SkipType::Literal(0)) => {}
            _ => return Err(reject("OFFSET is not allowed")),
        }
        match limit.get_fetch_type() {
            Ok(FetchType::Literal(Some(n))) if n > 0 => {}
            Ok(FetchType::Literal(None)) => {}
            _ => return Err(reject("LIMIT must be a positive integer")),
        }
        node = &limit.input;
    }
    let projection = match node {
        LogicalPlan::Distinct(Distinct::All(input)) => match input.as_ref() {
            LogicalPlan::Projection(p) => p,
            LogicalPlan::Sort(_) => return Err(reject("ORDER BY is not allowed")),
            other => {
                return Err(reject(&format!(
                    "{} is not allowed",
                    structure::node_name(other)
                )))
            }
        },
        LogicalPlan::Distinct(Distinct::On(_)) => {
            return Err(reject("DISTINCT ON is not allowed"));
        }
        LogicalPlan::Sort(_) => return Err(reject("ORDER BY is not allowed")),
        LogicalPlan::Limit(_) => return Err(reject("OFFSET is not allowed")),
        LogicalPlan::Projection(p) if has_aggregate(&p.input) => {
            return Err(reject(
                "Aggregate functions, GROUP BY and HAVING are not allowed",
            ))
        }
        LogicalPlan::Projection(_) => {
            return Err(reject("SELECT DISTINCT is required"));
        }
        other => {
            return Err(reject(&format!(
                "{} is not allowed",
                structure::node_name(other)
            )))
        }
    };
    if projection.expr.is_empty() {
        return Err(reject("The SELECT list must not be empty"));
    }
    let policies: BTreeMap<String, JoinPolicy> = rules
        .iter()
        .map(|(t, r)| (t.clone(), r.join.clone()))
        .collect();
    let (schema, from) = row_level(&projection.input, &rules, &policies)?;
    for e in &projection.expr {
        check_expr(e, &schema, &from, &rules, "the SELECT list")?;
    }
    if !from.joined {
        return Err(PolicyError::Rejected(format!(
            "The LIST analysis rule of table '{first}' requires an INNER JOIN with a table owned by the member who can query"
        )));
    }
    for table in &from.tables {
        if !rules.contains_key(table) {
            return Err(not_list(table));
        }
        if !from.reaches(table, |t| rules.get(t).is_some_and(|r| r.owned_by_runner)) {
            return Err(PolicyError::Rejected(format!(
                "Table '{table}' must be joined with a table owned by the member who can query (required by its LIST analysis rule)"
            )));
        }
    }
    Ok(())
}

fn not_list(table: &str) -> PolicyError {
    PolicyError::Rejected(format!(
        "Table '{table}' has no LIST analysis rule and cannot be combined with tables that have one"
    ))
}

fn has_aggregate(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Aggregate(_) => true,
        LogicalPlan::Filter(f) => has_aggregate(&f.input),
        LogicalPlan::Sort(s) => has_aggregate(&s.input),
        LogicalPlan::Projection(p) => has_aggregate(&p.input),
        _ => false,
    }
}

/// `WHERE` filters over the FROM clause.
fn row_level(
    plan: &LogicalPlan,
    rules: &BTreeMap<String, &ListRule>,
    policies: &BTreeMap<String, JoinPolicy>,
) -> Result<(DFSchema, FromClause), PolicyError> {
    match plan {
        LogicalPlan::Filter(f) => {
            if has_aggregate(&f.input) {
                return Err(PolicyError::Rejected(format!(
                    "Aggregate functions, GROUP BY and HAVING are not allowed under the LIST analysis rule of table '{}'",
                    super::scanned_tables(plan).into_iter().next().unwrap_or_default()
                )));
            }
            let (schema, from) = row_level(&f.input, rules, policies)?;
            let table = from.tables.first().cloned().unwrap_or_default();
            let mut operand =
                |e: &Expr| check_expr(e, &schema, &from, rules, "WHERE");
            structure::check_predicate(&f.predicate, RULE, &table, &mut operand)?;
            Ok((schema, from))
        }
        LogicalPlan::Aggregate(_) => Err(PolicyError::Rejected(format!(
            "Aggregate functions, GROUP BY and HAVING are not allowed under the LIST analysis rule of table '{}'",
            super::scanned_tables(plan).into_iter().next().unwrap_or_default()
        ))),
        other => {
            let from = structure::from_clause(other, RULE, policies)?;
            for t in &from.tables {
                if !rules.contains_key(t) {
                    return Err(not_list(t));
                }
            }
            Ok((other.schema().as_ref().clone(), from))
        }
    }
}

/// A SELECT or WHERE operand: list columns, literals and arithmetic, no functions.
fn check_expr(
    expr: &Expr,
    schema: &DFSchema,
    from: &FromClause,
    rules: &BTreeMap<String, &ListRule>,
    clause: &str,
) -> Result<(), PolicyError> {
    let first = from.tables.first().cloned().unwrap_or_default();
    for column in expr.column_refs() {
        let source = from.resolve(schema, column).ok_or_else(|| {
            PolicyError::Lineage(format!("column reference {column} cannot be resolved"))
        })?;
        let rule = rules
            .get(&source.table)
            .ok_or_else(|| not_list(&source.table))?;
        if !contains(&rule.list_columns, &source.column) {
            let hint = if rule.join.is_join_column(&source.column) {
                " (it is a join column: join columns may only be used in JOIN … ON)"
            } else {
                ""
            };
            return Err(PolicyError::Rejected(format!(
                "Column '{}' of table '{}' cannot be used in {clause} under its LIST analysis rule: only list columns ({}) can{hint}",
                source.column,
                source.table,
                list(&rule.list_columns)
            )));
        }
    }
    structure::each_expr(expr, |e| {
        if structure::is_plain(e) {
            Ok(())
        } else {
            Err(PolicyError::Rejected(format!(
                "'{e}' cannot be used in {clause} under the LIST analysis rule of table '{first}': functions (aggregate or scalar), casts and subqueries are not allowed, only list columns, literals and arithmetic operators"
            )))
        }
    })
}
