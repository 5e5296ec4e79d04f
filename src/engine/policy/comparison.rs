//! The CUSTOM rule's comparison controls: which columns may be compared with literals
//! (`WHERE amount > 10`, `IN (…)`, `LIKE`, `BETWEEN`, …) and which with other columns (`JOIN … ON`,
//! `WHERE a.x = b.y`, `GROUP BY`, window `PARTITION BY`/`ORDER BY`). Comparisons anywhere in the
//! plan count, subqueries and CTEs included; a compared value is traced to the table columns it
//! derives from.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::DFSchema;
use datafusion::logical_expr::expr::{Exists, InSubquery, SetComparison};
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator};

use super::structure::{self, contains, list};
use super::{analyze, PolicyError, SourceColumn};

/// One table's comparison controls.
#[derive(Debug, Clone)]
pub struct ComparisonRule {
    /// The collaboration table.
    pub table: String,
    /// Columns that may be compared with literals.
    pub literal: Vec<String>,
    /// Columns that may be compared with other columns.
    pub column: Vec<String>,
}

/// Checks every comparison in `plan` against the comparison controls of the tables.
///
/// # Errors
/// [`PolicyError::Rejected`] naming the table, the column and the allowed columns.
pub fn check_comparisons(plan: &LogicalPlan, rules: &[ComparisonRule]) -> Result<(), PolicyError> {
    if rules.is_empty() {
        return Ok(());
    }
    let used = analyze(plan)?.used;
    let checker = Checker {
        rules: rules.iter().map(|r| (r.table.clone(), r)).collect(),
        used,
    };
    let mut result = Ok(());
    plan.apply_with_subqueries(|node| {
        if let Err(e) = checker.node(node) {
            result = Err(e);
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    })
    .map_err(|e| PolicyError::Lineage(e.to_string()))?;
    result
}

struct Checker<'a> {
    rules: BTreeMap<String, &'a ComparisonRule>,
    /// Every table column the query uses (to resolve references the scope cannot).
    used: BTreeSet<SourceColumn>,
}

/// The columns an expression of a node sees: the concatenated input schemas and their lineage.
struct Scope {
    schema: DFSchema,
    lineage: Option<Vec<BTreeSet<SourceColumn>>>,
}

impl Checker<'_> {
    fn node(&self, node: &LogicalPlan) -> Result<(), PolicyError> {
        let expressions = node.expressions();
        if expressions.is_empty() {
            return Ok(());
        }
        let scope = scope(node);
        for e in &expressions {
            self.walk(e, &scope)?;
        }
        match node {
            LogicalPlan::Aggregate(a) => {
                for g in &a.group_expr {
                    let sources = self.sources(g, &scope);
                    self.check(&sources, Kind::Column, "GROUP BY")?;
                }
            }
            LogicalPlan::Join(j) => {
                for (l, r) in &j.on {
                    let mut sources = self.sources(l, &scope);
                    sources.extend(self.sources(r, &scope));
                    self.check(&sources, Kind::Column, "a JOIN condition")?;
                }
            }
            LogicalPlan::Window(w) => {
                for e in &w.window_expr {
                    let inner = match e {
                        Expr::Alias(a) => a.expr.as_ref(),
                        other => other,
                    };
                    if let Expr::WindowFunction(f) = inner {
                        for p in &f.params.partition_by {
                            let s = self.sources(p, &scope);
                            self.check(&s, Kind::Column, "a window PARTITION BY")?;
                        }
                        for o in &f.params.order_by {
                            let s = self.sources(&o.expr, &scope);
                            self.check(&s, Kind::Column, "a window ORDER BY")?;
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Every comparison inside `expr`.
    fn walk(&self, expr: &Expr, scope: &Scope) -> Result<(), PolicyError> {
        structure::each_expr(expr, |e| match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) if is_comparison(*op) => {
                self.pair(left, &[right.as_ref()], scope)
            }
            Expr::Like(like) => self.pair(&like.expr, &[like.pattern.as_ref()], scope),
            Expr::SimilarTo(like) => self.pair(&like.expr, &[like.pattern.as_ref()], scope),
            Expr::InList(in_list) => {
                let items: Vec<&Expr> = in_list.list.iter().collect();
                self.pair(&in_list.expr, &items, scope)
            }
            Expr::Between(b) => self.pair(&b.expr, &[b.low.as_ref(), b.high.as_ref()], scope),
            Expr::InSubquery(InSubquery { expr, .. })
            | Expr::SetComparison(SetComparison { expr, .. }) => {
                let mut sources = self.sources(expr, scope);
                sources.extend(self.sources(e, scope));
                self.check(&sources, Kind::Column, "a comparison with a subquery")
            }
            _ => Ok(()),
        })
    }

    /// `left` compared with each of `others`.
    fn pair(&self, left: &Expr, others: &[&Expr], scope: &Scope) -> Result<(), PolicyError> {
        let l = self.sources(left, scope);
        let l_columns = has_columns(left);
        for other in others {
            let r = self.sources(other, scope);
            let r_columns = has_columns(other);
            match (l_columns, r_columns) {
                (true, true) => {
                    let all: BTreeSet<SourceColumn> = l.union(&r).cloned().collect();
                    self.check(&all, Kind::Column, "a comparison with another column")?;
                }
                (true, false) => self.check(&l, Kind::Literal, "a comparison with a literal")?,
                (false, true) => self.check(&r, Kind::Literal, "a comparison with a literal")?,
                (false, false) => {}
            }
        }
        Ok(())
    }

    fn check(
        &self,
        sources: &BTreeSet<SourceColumn>,
        kind: Kind,
        what: &str,
    ) -> Result<(), PolicyError> {
        for s in sources {
            let Some(rule) = self.rules.get(&s.table) else {
                continue;
            };
            let (allowed, field) = match kind {
                Kind::Literal => (&rule.literal, "allowedLiteralComparisonColumns"),
                Kind::Column => (&rule.column, "allowedColumnComparisonColumns"),
            };
            if !contains(allowed, &s.column) {
                return Err(PolicyError::Rejected(format!(
                    "Column '{}' of table '{}' cannot be used in {what}: the comparison controls of its CUSTOM analysis rule allow it only for the columns in {field} ({})",
                    s.column,
                    s.table,
                    list(allowed)
                )));
            }
        }
        Ok(())
    }

    /// The table columns an expression's value derives from.
    fn sources(&self, expr: &Expr, scope: &Scope) -> BTreeSet<SourceColumn> {
        let mut out = BTreeSet::new();
        let _ = expr.apply(|e| {
            match e {
                Expr::Column(c) => {
                    let found = scope
                        .lineage
                        .as_ref()
                        .and_then(|l| scope.schema.maybe_index_of_column(c).and_then(|i| l.get(i)));
                    match found {
                        Some(s) => out.extend(s.iter().cloned()),
                        None => out.extend(self.by_name(&c.name)),
                    }
                }
                Expr::OuterReferenceColumn(_, c) => out.extend(self.by_name(&c.name)),
                Expr::ScalarSubquery(subquery)
                | Expr::Exists(Exists { subquery, .. })
                | Expr::InSubquery(InSubquery { subquery, .. })
                | Expr::SetComparison(SetComparison { subquery, .. }) => {
                    match analyze(&subquery.subquery) {
                        Ok(l) => out.extend(l.output.into_iter().flat_map(|o| o.sources)),
                        Err(_) => {
                            for field in subquery.subquery.schema().fields() {
                                out.extend(self.by_name(field.name()));
                            }
                        }
                    }
                    return Ok(TreeNodeRecursion::Jump);
                }
                _ => {}
            }
            Ok(TreeNodeRecursion::Continue)
        });
        out
    }

    /// Every used table column called `name` (a conservative resolution).
    fn by_name(&self, name: &str) -> Vec<SourceColumn> {
        self.used
            .iter()
            .filter(|s| s.column.eq_ignore_ascii_case(name))
            .cloned()
            .collect()
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Literal,
    Column,
}

/// Whether an expression reads any column (or subquery); otherwise it is a literal value.
fn has_columns(expr: &Expr) -> bool {
    // The closure never fails, so neither does the walk.
    expr.exists(|e| Ok(structure::reads_columns(e)))
        .unwrap_or(false)
}

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
            | Operator::RegexMatch
            | Operator::RegexIMatch
            | Operator::RegexNotMatch
            | Operator::RegexNotIMatch
            | Operator::LikeMatch
            | Operator::ILikeMatch
            | Operator::NotLikeMatch
            | Operator::NotILikeMatch
    )
}

/// Whether field `index` of `plan` is the result of an aggregate function (or an expression of
/// such results only).
fn aggregate_value(plan: &LogicalPlan, index: usize) -> bool {
    match plan {
        LogicalPlan::Aggregate(a) => index >= a.schema.fields().len() - a.aggr_expr.len(),
        LogicalPlan::Projection(p) => {
            let Some(expr) = p.expr.get(index) else {
                return false;
            };
            let refs = expr.column_refs();
            !refs.is_empty()
                && !has_subquery(expr)
                && refs.iter().all(|c| {
                    p.input
                        .schema()
                        .maybe_index_of_column(c)
                        .is_some_and(|i| aggregate_value(&p.input, i))
                })
        }
        LogicalPlan::Filter(f) => aggregate_value(&f.input, index),
        LogicalPlan::Sort(s) => aggregate_value(&s.input, index),
        LogicalPlan::Limit(l) => aggregate_value(&l.input, index),
        LogicalPlan::SubqueryAlias(a) => aggregate_value(&a.input, index),
        LogicalPlan::Distinct(datafusion::logical_expr::Distinct::All(input)) => {
            aggregate_value(input, index)
        }
        _ => false,
    }
}

fn has_subquery(expr: &Expr) -> bool {
    let mut found = false;
    let _ = expr.apply(|e| {
        found |= matches!(
            e,
            Expr::ScalarSubquery(_)
                | Expr::Exists(_)
                | Expr::InSubquery(_)
                | Expr::SetComparison(_)
        );
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// The scope of a node's expressions: its inputs side by side.
fn scope(node: &LogicalPlan) -> Scope {
    let inputs = node.inputs();
    let mut schema = DFSchema::empty();
    let mut lineage = Some(Vec::new());
    for input in inputs {
        schema = match schema.join(input.schema()) {
            Ok(s) => s,
            Err(_) => {
                lineage = None;
                continue;
            }
        };
        match (lineage.as_mut(), analyze(input)) {
            (Some(l), Ok(a)) => l.extend(a.output.into_iter().enumerate().map(|(i, o)| {
                // An aggregate's result is not the column it aggregates: comparing
                // `COUNT(DISTINCT user_id)` with a literal does not compare user_id.
                if aggregate_value(input, i) {
                    BTreeSet::new()
                } else {
                    o.sources
                }
            })),
            _ => lineage = None,
        }
    }
    if lineage
        .as_ref()
        .is_some_and(|l| l.len() != schema.fields().len())
    {
        lineage = None;
    }
    Scope { schema, lineage }
}
