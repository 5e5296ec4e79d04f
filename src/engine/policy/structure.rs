//! What the AGGREGATION and LIST rules share: the `FROM` clause of a query (tables, `INNER
//! JOIN … ON` between join columns, the join graph) and the `WHERE` operator set, read from the
//! unoptimized plan. Both rules only admit one flat query block, so every column a clause names
//! resolves to one column of one scanned collaboration table.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, JoinType};
use datafusion::logical_expr::logical_plan::Join;
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator};

use super::{PolicyError, SourceColumn};

/// The join-related part of one table's AGGREGATION or LIST rule.
#[derive(Debug, Clone)]
pub struct JoinPolicy {
    /// Columns usable in `JOIN … ON`.
    pub join_columns: Vec<String>,
    /// Logical operators allowed between match conditions (`AND`, `OR`); empty means `[AND]`.
    pub allowed_join_operators: Vec<String>,
}

impl JoinPolicy {
    /// Whether `column` is a join column (case-insensitive).
    pub fn is_join_column(&self, column: &str) -> bool {
        contains(&self.join_columns, column)
    }

    /// The allowed join operators, `[AND]` when the rule lists none.
    pub fn operators(&self) -> Vec<String> {
        if self.allowed_join_operators.is_empty() {
            vec!["AND".to_string()]
        } else {
            self.allowed_join_operators
                .iter()
                .map(|o| o.to_ascii_uppercase())
                .collect()
        }
    }
}

/// What the `FROM` clause of a query is: the columns of its output (each one column of a
/// scanned table) and which tables are joined to which.
#[derive(Debug, Clone, Default)]
pub struct FromClause {
    /// For each field of the clause's output, the table column it is.
    pub fields: Vec<SourceColumn>,
    /// The tables scanned, once per occurrence.
    pub tables: Vec<String>,
    /// Pairs of tables joined by a match condition.
    pub edges: BTreeSet<(String, String)>,
    /// Whether the clause has any join.
    pub joined: bool,
}

impl FromClause {
    /// The table column a column reference over `schema` (the clause's schema) names.
    pub fn resolve(&self, schema: &DFSchema, column: &Column) -> Option<&SourceColumn> {
        let index = schema.maybe_index_of_column(column).or_else(|| {
            // An unqualified name that is unique by name.
            let hits: Vec<usize> = schema
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| f.name() == &column.name)
                .map(|(i, _)| i)
                .collect();
            (hits.len() == 1).then(|| hits[0])
        })?;
        self.fields.get(index)
    }

    /// Whether `from` reaches a table satisfying `target` through the join graph (itself
    /// included).
    pub fn reaches(&self, from: &str, target: impl Fn(&str) -> bool) -> bool {
        let mut seen: BTreeSet<&str> = BTreeSet::from([from]);
        let mut todo = vec![from];
        while let Some(t) = todo.pop() {
            if target(t) {
                return true;
            }
            for (a, b) in &self.edges {
                let next = if a == t {
                    b.as_str()
                } else if b == t {
                    a.as_str()
                } else {
                    continue;
                };
                if seen.insert(next) {
                    todo.push(next);
                }
            }
        }
        false
    }
}

/// Reads the `FROM` clause under an AGGREGATION or LIST query block: table scans (aliased or
/// not) combined by `INNER JOIN … ON` whose conditions compare join columns of two different
/// tables with `=`, combined by the operators every involved table allows.
///
/// `rule` is the rule type for messages; `policies` maps table names to their join policies.
///
/// # Errors
/// [`PolicyError::Rejected`] for subqueries, CTEs, set operations, non-INNER or comma joins
/// and bad join conditions, naming the table and what would be allowed.
pub fn from_clause(
    plan: &LogicalPlan,
    rule: &str,
    policies: &BTreeMap<String, JoinPolicy>,
) -> Result<FromClause, PolicyError> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let table = scan.table_name.table().to_string();
            Ok(FromClause {
                fields: scan
                    .projected_schema
                    .fields()
                    .iter()
                    .map(|f| SourceColumn::new(table.clone(), f.name().clone()))
                    .collect(),
                tables: vec![table],
                edges: BTreeSet::new(),
                joined: false,
            })
        }
        LogicalPlan::SubqueryAlias(alias) => match alias.input.as_ref() {
            LogicalPlan::TableScan(_) => from_clause(&alias.input, rule, policies),
            other => Err(PolicyError::Rejected(format!(
                "Subqueries and common table expressions (WITH) are not allowed under the {rule} analysis rule{}: '{}' is not a table of the collaboration",
                of_tables(other),
                alias.alias.table()
            ))),
        },
        LogicalPlan::Join(join) => join_clause(join, rule, policies),
        LogicalPlan::Union(_) => Err(PolicyError::Rejected(format!(
            "Set operations (UNION, INTERSECT, EXCEPT) are not allowed under the {rule} analysis rule{}",
            of_tables(plan)
        ))),
        LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Distinct(_) => {
            Err(PolicyError::Rejected(format!(
                "Subqueries and common table expressions (WITH) are not allowed under the {rule} analysis rule{}",
                of_tables(plan)
            )))
        }
        other => Err(PolicyError::Rejected(format!(
            "The {rule} analysis rule{} only allows collaboration tables combined with INNER JOIN in FROM; {} is not allowed",
            of_tables(other),
            node_name(other)
        ))),
    }
}

fn join_clause(
    join: &Join,
    rule: &str,
    policies: &BTreeMap<String, JoinPolicy>,
) -> Result<FromClause, PolicyError> {
    let left = from_clause(&join.left, rule, policies)?;
    let right = from_clause(&join.right, rule, policies)?;
    let tables: Vec<String> = left.tables.iter().chain(&right.tables).cloned().collect();
    if join.join_type != JoinType::Inner {
        return Err(PolicyError::Rejected(format!(
            "{} joins are not allowed under the {rule} analysis rule of table '{}': only INNER JOIN … ON is",
            join_type_name(join.join_type),
            tables.first().map_or("", String::as_str)
        )));
    }
    if join.on.is_empty() && join.filter.is_none() {
        return Err(PolicyError::Rejected(format!(
            "CROSS JOIN and comma-separated tables are not allowed under the {rule} analysis rule of table '{}': join with INNER JOIN … ON on join columns",
            tables.first().map_or("", String::as_str)
        )));
    }
    let mut clause = FromClause {
        fields: left.fields.iter().chain(&right.fields).cloned().collect(),
        tables,
        edges: left.edges.union(&right.edges).cloned().collect(),
        joined: true,
    };
    let schema =
        join.left.schema().join(join.right.schema()).map_err(|e| {
            PolicyError::Lineage(format!("the join's columns cannot be combined: {e}"))
        })?;
    let mut conditions: Vec<(&Expr, &Expr)> = join.on.iter().map(|(l, r)| (l, r)).collect();
    let mut operators = BTreeSet::new();
    if join.on.len() > 1 || (!join.on.is_empty() && join.filter.is_some()) {
        operators.insert("AND");
    }
    if let Some(filter) = &join.filter {
        collect_conditions(filter, rule, &clause, &mut conditions, &mut operators)?;
    }
    let mut involved = BTreeSet::new();
    for (l, r) in conditions {
        let (a, b) = match_condition(l, r, &schema, &clause, rule, policies)?;
        involved.insert(a.table.clone());
        involved.insert(b.table.clone());
        clause.edges.insert((a.table, b.table));
    }
    for op in operators {
        for table in &involved {
            if let Some(policy) = policies.get(table) {
                if !policy.operators().iter().any(|o| o == op) {
                    return Err(PolicyError::Rejected(format!(
                        "JOIN operator {op} is not allowed by the {rule} analysis rule of table '{table}' (allowed: {})",
                        policy.operators().join(", ")
                    )));
                }
            }
        }
    }
    Ok(clause)
}

/// Splits a join condition into its match conditions, noting the logical operators used.
fn collect_conditions<'a>(
    expr: &'a Expr,
    rule: &str,
    clause: &FromClause,
    out: &mut Vec<(&'a Expr, &'a Expr)>,
    operators: &mut BTreeSet<&'static str>,
) -> Result<(), PolicyError> {
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: op @ (Operator::And | Operator::Or),
            right,
        }) => {
            operators.insert(if *op == Operator::And { "AND" } else { "OR" });
            collect_conditions(left, rule, clause, out, operators)?;
            collect_conditions(right, rule, clause, out, operators)
        }
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Eq,
            right,
        }) => {
            out.push((left, right));
            Ok(())
        }
        other => Err(PolicyError::Rejected(format!(
            "The JOIN condition '{other}' is not allowed under the {rule} analysis rule of table '{}': match conditions must be join_column = join_column between two tables, combined with AND/OR",
            clause.tables.first().map_or("", String::as_str)
        ))),
    }
}

/// Checks one `a = b` match condition; returns the two table columns.
fn match_condition(
    l: &Expr,
    r: &Expr,
    schema: &DFSchema,
    clause: &FromClause,
    rule: &str,
    policies: &BTreeMap<String, JoinPolicy>,
) -> Result<(SourceColumn, SourceColumn), PolicyError> {
    let side = |e: &Expr| -> Result<SourceColumn, PolicyError> {
        let column = match e {
            Expr::Column(c) => c,
            other => {
                return Err(PolicyError::Rejected(format!(
                    "The JOIN condition {l} = {r} is not allowed under the {rule} analysis rule of table '{}': '{other}' is not a column; match conditions compare join columns directly",
                    clause.tables.first().map_or("", String::as_str)
                )))
            }
        };
        let source = clause.resolve(schema, column).cloned().ok_or_else(|| {
            PolicyError::Lineage(format!("column reference {column} cannot be resolved"))
        })?;
        if let Some(policy) = policies.get(&source.table) {
            if !policy.is_join_column(&source.column) {
                return Err(PolicyError::Rejected(format!(
                    "Column '{}' of table '{}' cannot be used in a JOIN condition under its {rule} analysis rule: only join columns ({}) can",
                    source.column,
                    source.table,
                    list(&policy.join_columns)
                )));
            }
        }
        Ok(source)
    };
    let a = side(l)?;
    let b = side(r)?;
    if a.table == b.table {
        return Err(PolicyError::Rejected(format!(
            "The JOIN condition {l} = {r} compares two columns of table '{}': under the {rule} analysis rule a match condition must compare join columns of two different tables",
            a.table
        )));
    }
    Ok((a, b))
}

/// Checks a `WHERE` predicate: only `=, >, <, <=, >=, <>, !=, NOT, IN, NOT IN, LIKE, IS NULL,
/// IS NOT NULL` combined with `AND`/`OR` over operands `operand` accepts.
///
/// # Errors
/// What `operand` returns, or [`PolicyError::Rejected`] for another operator.
pub fn check_predicate(
    expr: &Expr,
    rule: &str,
    table: &str,
    operand: &mut dyn FnMut(&Expr) -> Result<(), PolicyError>,
) -> Result<(), PolicyError> {
    let reject = |what: String| {
        PolicyError::Rejected(format!(
            "{what} is not allowed in WHERE under the {rule} analysis rule of table '{table}': allowed operators are =, >, <, <=, >=, <>, !=, NOT, IN, NOT IN, LIKE, IS NULL and IS NOT NULL, combined with AND/OR"
        ))
    };
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And | Operator::Or => {
                check_predicate(left, rule, table, operand)?;
                check_predicate(right, rule, table, operand)
            }
            Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq => {
                operand(left)?;
                operand(right)
            }
            other => Err(reject(format!("Operator {other}"))),
        },
        Expr::Not(inner) => check_predicate(inner, rule, table, operand),
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => operand(inner),
        Expr::InList(in_list) => {
            operand(&in_list.expr)?;
            for item in &in_list.list {
                operand(item)?;
            }
            Ok(())
        }
        Expr::Like(like) if !like.case_insensitive => {
            operand(&like.expr)?;
            operand(&like.pattern)
        }
        Expr::Like(_) => Err(reject("ILIKE".to_string())),
        Expr::Between(_) => Err(reject("BETWEEN".to_string())),
        Expr::InSubquery(_) | Expr::Exists(_) | Expr::ScalarSubquery(_) => {
            Err(PolicyError::Rejected(format!(
                "Subqueries are not allowed under the {rule} analysis rule of table '{table}'"
            )))
        }
        Expr::Column(_) | Expr::Literal(..) => operand(expr),
        other => Err(reject(format!("'{other}'"))),
    }
}

/// Applies `check` to `expr` and every expression inside it (top-down), stopping at the first
/// rejection.
///
/// # Errors
/// The first error `check` returns.
pub fn each_expr(
    expr: &Expr,
    mut check: impl FnMut(&Expr) -> Result<(), PolicyError>,
) -> Result<(), PolicyError> {
    let mut result = Ok(());
    expr.apply(|e| match check(e) {
        Ok(()) => Ok(TreeNodeRecursion::Continue),
        Err(err) => {
            result = Err(err);
            Ok(TreeNodeRecursion::Stop)
        }
    })
    .map_err(|e| PolicyError::Lineage(e.to_string()))?;
    result
}

/// Whether an expression node reads columns: a column, an outer reference or a subquery.
pub fn reads_columns(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Column(_)
            | Expr::OuterReferenceColumn(..)
            | Expr::ScalarSubquery(_)
            | Expr::Exists(_)
            | Expr::InSubquery(_)
            | Expr::SetComparison(_)
    )
}

/// Whether an expression node is plain: a column, a literal or placeholder, an alias, NOT, IS
/// [NOT] NULL, IN (list), negation, a case-sensitive LIKE, or one of the allowed operators. The
/// aggregation and list rules accept these without checking them against allowed functions.
pub fn is_plain(expr: &Expr) -> bool {
    match expr {
        Expr::Column(_)
        | Expr::Literal(..)
        | Expr::Placeholder(_)
        | Expr::Alias(_)
        | Expr::Negative(_)
        | Expr::Not(_)
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::InList(_) => true,
        Expr::Like(like) => !like.case_insensitive,
        Expr::BinaryExpr(BinaryExpr { op, .. }) => allowed_operator(op),
        _ => false,
    }
}

/// Arithmetic and comparison operators usable in expressions.
pub fn allowed_operator(op: &Operator) -> bool {
    matches!(
        op,
        Operator::Plus
            | Operator::Minus
            | Operator::Multiply
            | Operator::Divide
            | Operator::Modulo
            | Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::And
            | Operator::Or
    )
}

/// Whether a list holds a name (case-insensitive).
pub fn contains(list: &[String], name: &str) -> bool {
    list.iter().any(|c| c.eq_ignore_ascii_case(name))
}

/// A comma-separated list for messages, `none` when empty.
pub fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// " of table 'x'" (or "of tables 'x', 'y'") for the tables a plan reads, or nothing.
fn of_tables(plan: &LogicalPlan) -> String {
    let tables = super::scanned_tables(plan);
    match tables.len() {
        0 => String::new(),
        1 => format!(" of table '{}'", tables.iter().next().map_or("", |t| t)),
        _ => format!(
            " of tables {}",
            tables
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// SQL wording of a join type.
fn join_type_name(t: JoinType) -> &'static str {
    match t {
        JoinType::Inner => "INNER",
        JoinType::Left => "LEFT",
        JoinType::Right => "RIGHT",
        JoinType::Full => "FULL",
        JoinType::LeftSemi | JoinType::RightSemi => "Semi (IN/EXISTS/INTERSECT)",
        JoinType::LeftAnti | JoinType::RightAnti => "Anti (NOT IN/NOT EXISTS/EXCEPT)",
        JoinType::LeftMark | JoinType::RightMark => "Mark (subquery)",
    }
}

/// SQL wording of a plan node the rules do not admit.
pub fn node_name(plan: &LogicalPlan) -> &'static str {
    match plan {
        LogicalPlan::Window(_) => "a window function",
        LogicalPlan::Limit(_) => "LIMIT/OFFSET",
        LogicalPlan::Sort(_) => "ORDER BY",
        LogicalPlan::Distinct(_) => "DISTINCT",
        LogicalPlan::Union(_) => "a set operation (UNION, INTERSECT, EXCEPT)",
        LogicalPlan::Values(_) => "VALUES",
        LogicalPlan::EmptyRelation(_) => "a query without a table",
        LogicalPlan::Unnest(_) => "UNNEST",
        LogicalPlan::RecursiveQuery(_) => "a recursive common table expression",
        LogicalPlan::Subquery(_) | LogicalPlan::SubqueryAlias(_) => "a subquery",
        LogicalPlan::Aggregate(_) => "GROUP BY or an aggregate function",
        LogicalPlan::Join(_) => "a join",
        LogicalPlan::Filter(_) => "a filter",
        LogicalPlan::Projection(_) => "a derived table",
        LogicalPlan::TableScan(_) => "a table",
        _ => "this construct",
    }
}
