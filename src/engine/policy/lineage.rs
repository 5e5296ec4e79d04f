//! Column lineage of a query plan: for every output column, the set of collaboration-table
//! columns its value derives from, and which tables and columns the query touches at all.
//!
//! The analysis runs over DataFusion's **unoptimized** logical plan (as
//! `SessionState::create_logical_plan` returns it). It is deliberately conservative: where a
//! value *might* carry information from a column, that column is a source. A false rejection is
//! a nuisance; a leaked column is a breach.
//!
//! What counts as a source of an output column:
//! - every column referenced anywhere in the expression that computes it — arguments of scalar,
//!   aggregate and window functions (`COUNT(col)` derives from `col`; `COUNT(*)` from nothing),
//!   `CASE` conditions and branches, casts, the `FILTER (WHERE …)` and `ORDER BY` of an
//!   aggregate, and the `PARTITION BY`/`ORDER BY` keys of a window function;
//! - for a subquery used as a value (scalar, `IN`, `EXISTS`, `ANY`/`ALL`), the output lineage of
//!   the subquery (plus, for `IN`/`ANY`/`ALL`, the compared expression);
//! - through set operations, the union of the inputs at the same position: `UNION` directly,
//!   `INTERSECT`/`EXCEPT` (planned as semi/anti joins) and explicit semi/anti joins by adding the
//!   other side's equi-join key to the kept column;
//! - unnest: the unnested column's sources; recursive CTEs: a fixpoint over the recursive term;
//!   `VALUES`: whatever its expressions reference (usually nothing).
//!
//! Columns used only to filter, join, group, order or limit are *not* sources of the output
//! (Clean Rooms lets queries filter on columns they may not output), but they are reported by
//! [`column_usage`]. A grouping column is a source of the output column that projects it.
//!
//! Table names are those the plan scans, bare (`customers`, not `datafusion.public.customers`).
//! DataFusion inlines a registered `ViewTable` at planning time, so its name would vanish from
//! the plan; register collaboration tables as [`super::CollaborationTable`] instead.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DataFusionError, JoinType};
use datafusion::datasource::cte_worktable::CteWorkTable;
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::expr::{Exists, InSubquery, SetComparison};
use datafusion::logical_expr::logical_plan::{Distinct, Join, TableScan};
use datafusion::logical_expr::utils::{grouping_set_to_exprlist, split_conjunction};
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator, Subquery};

use super::statement::statement_kind;
use super::PolicyError;

/// One column of a collaboration table, as the plan scans it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceColumn {
    /// The table's name as registered in the session (the collaboration name).
    pub table: String,
    /// The column's name as the table spells it.
    pub column: String,
}

impl SourceColumn {
    /// The column `column` of table `table`.
    pub fn new(table: impl Into<String>, column: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            column: column.into(),
        }
    }
}

impl fmt::Display for SourceColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.table, self.column)
    }
}

/// One column of the query's result and what it derives from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputColumn {
    /// The output column's name, as the result would carry it.
    pub name: String,
    /// Every table column the value derives from (empty for constants and `COUNT(*)`).
    pub sources: BTreeSet<SourceColumn>,
}

/// Everything the lineage analysis learns from one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanLineage {
    /// The result's columns in order, each with its sources.
    pub output: Vec<OutputColumn>,
    /// Every table column the query reads anywhere: output, filters, joins, grouping, ordering,
    /// subqueries. Columns reached through CTEs and derived tables are traced to their tables.
    pub used: BTreeSet<SourceColumn>,
}

/// Lineage of the output and the columns used, in one pass over `plan`.
///
/// # Errors
/// [`PolicyError::NotAQuery`] when the plan is not a read-only query, [`PolicyError::Lineage`]
/// when a part of it cannot be followed (the caller should refuse the query).
pub fn analyze(plan: &LogicalPlan) -> Result<PlanLineage, PolicyError> {
    let mut analyzer = Analyzer::default();
    let lineage = analyzer.plan(plan, &[])?;
    let output = plan
        .schema()
        .fields()
        .iter()
        .zip(lineage)
        .map(|(field, sources)| OutputColumn {
            name: field.name().clone(),
            sources,
        })
        .collect();
    Ok(PlanLineage {
        output,
        used: analyzer.used,
    })
}

/// For every column of the query's result, the table columns its value derives from.
///
/// # Errors
/// As [`analyze`].
pub fn output_lineage(plan: &LogicalPlan) -> Result<Vec<OutputColumn>, PolicyError> {
    analyze(plan).map(|lineage| lineage.output)
}

/// Every table column the query references anywhere (see [`PlanLineage::used`]).
///
/// # Errors
/// As [`analyze`].
pub fn column_usage(plan: &LogicalPlan) -> Result<BTreeSet<SourceColumn>, PolicyError> {
    analyze(plan).map(|lineage| lineage.used)
}

/// Every table the plan reads, subqueries, CTEs, unions and joins included, by the bare name it
/// is registered under. Table functions appear under their planned name (e.g.
/// `generate_series()`); the working table of a recursive CTE does not appear.
pub fn scanned_tables(plan: &LogicalPlan) -> BTreeSet<String> {
    let mut tables = BTreeSet::new();
    // The visitor never fails, so the walk's result carries nothing worth keeping.
    let _walked = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if !is_work_table(scan) {
                tables.insert(scan.table_name.table().to_string());
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    tables
}

/// Sources of each column of one plan node's output, by position.
type Lineage = Vec<BTreeSet<SourceColumn>>;

/// The columns an expression can see: a node's input schema and the lineage of its fields.
#[derive(Clone, Copy)]
struct Scope<'a> {
    schema: &'a DFSchema,
    lineage: &'a [BTreeSet<SourceColumn>],
}

/// How many rounds a recursive CTE's lineage may take to settle before the analysis gives up.
const MAX_RECURSION_ROUNDS: usize = 64;

/// Walks a plan bottom-up, computing lineage and collecting used columns.
#[derive(Default)]
struct Analyzer {
    /// Every table column resolved so far.
    used: BTreeSet<SourceColumn>,
    /// Lineage of the working tables of the recursive CTEs being analysed, by CTE name.
    work_tables: HashMap<String, Lineage>,
}

impl Analyzer {
    /// Lineage of `plan`'s output. `outer` are the scopes of enclosing queries, innermost last,
    /// against which correlated (outer) references resolve.
    fn plan(&mut self, plan: &LogicalPlan, outer: &[Scope<'_>]) -> Result<Lineage, PolicyError> {
        let lineage = match plan {
            LogicalPlan::Projection(projection) => {
                let input = self.plan(&projection.input, outer)?;
                let scope = [scope(&projection.input, &input)];
                projection
                    .expr
                    .iter()
                    .map(|e| self.expr(e, &scope, outer))
                    .collect::<Result<_, _>>()?
            }
            LogicalPlan::Window(window) => {
                let mut input = self.plan(&window.input, outer)?;
                let computed = {
                    let scope = [scope(&window.input, &input)];
                    window
                        .window_expr
                        .iter()
                        .map(|e| self.expr(e, &scope, outer))
                        .collect::<Result<Lineage, _>>()?
                };
                input.extend(computed);
                input
            }
            LogicalPlan::Aggregate(aggregate) => {
                let input = self.plan(&aggregate.input, outer)?;
                let scope = [scope(&aggregate.input, &input)];
                let groups = grouping_set_to_exprlist(&aggregate.group_expr).map_err(df)?;
                let mut out = Lineage::new();
                let mut all_groups = BTreeSet::new();
                for group in groups {
                    let sources = self.expr(group, &scope, outer)?;
                    all_groups.extend(sources.iter().cloned());
                    out.push(sources);
                }
                if matches!(aggregate.group_expr.as_slice(), [Expr::GroupingSet(_)]) {
                    // The internal grouping id says which grouping set produced a row.
                    out.push(all_groups);
                }
                for e in &aggregate.aggr_expr {
                    out.push(self.expr(e, &scope, outer)?);
                }
                out
            }
            LogicalPlan::Filter(filter) => self.pass_through(plan, &filter.input, outer)?,
            LogicalPlan::Sort(sort) => self.pass_through(plan, &sort.input, outer)?,
            LogicalPlan::Limit(limit) => self.pass_through(plan, &limit.input, outer)?,
            LogicalPlan::Repartition(repartition) => {
                self.pass_through(plan, &repartition.input, outer)?
            }
            LogicalPlan::Distinct(Distinct::All(input)) => self.plan(input, outer)?,
            LogicalPlan::Distinct(Distinct::On(distinct)) => {
                let input = self.plan(&distinct.input, outer)?;
                let scope = [scope(&distinct.input, &input)];
                for e in &distinct.on_expr {
                    self.expr(e, &scope, outer)?;
                }
                for sort in distinct.sort_expr.iter().flatten() {
                    self.expr(&sort.expr, &scope, outer)?;
                }
                distinct
                    .select_expr
                    .iter()
                    .map(|e| self.expr(e, &scope, outer))
                    .collect::<Result<_, _>>()?
            }
            LogicalPlan::SubqueryAlias(alias) => self.plan(&alias.input, outer)?,
            LogicalPlan::Subquery(subquery) => self.plan(&subquery.subquery, outer)?,
            LogicalPlan::Join(join) => self.join(join, outer)?,
            LogicalPlan::Union(union) => {
                let width = plan.schema().fields().len();
                let mut out = vec![BTreeSet::new(); width];
                for input in &union.inputs {
                    let lineage = self.plan(input, outer)?;
                    if lineage.len() != width {
                        return Err(PolicyError::Lineage(format!(
                            "a UNION input has {} columns where {width} were expected",
                            lineage.len()
                        )));
                    }
                    for (all, sources) in out.iter_mut().zip(lineage) {
                        all.extend(sources);
                    }
                }
                out
            }
            LogicalPlan::TableScan(scan) => self.table_scan(scan)?,
            LogicalPlan::EmptyRelation(empty) => vec![BTreeSet::new(); empty.schema.fields().len()],
            LogicalPlan::Values(values) => {
                let mut out = vec![BTreeSet::new(); values.schema.fields().len()];
                for row in &values.values {
                    for (all, e) in out.iter_mut().zip(row) {
                        all.extend(self.expr(e, &[], outer)?);
                    }
                }
                out
            }
            LogicalPlan::Unnest(unnest) => {
                let input = self.plan(&unnest.input, outer)?;
                let mapped: Option<Lineage> = unnest
                    .dependency_indices
                    .iter()
                    .map(|i| input.get(*i).cloned())
                    .collect();
                match mapped {
                    Some(mapped) if mapped.len() == unnest.schema.fields().len() => mapped,
                    _ => vec![union_all(&input); unnest.schema.fields().len()],
                }
            }
            LogicalPlan::RecursiveQuery(recursive) => {
                let mut current = self.plan(&recursive.static_term, outer)?;
                let mut rounds = 0;
                loop {
                    let previous = self
                        .work_tables
                        .insert(recursive.name.clone(), current.clone());
                    let step = self.plan(&recursive.recursive_term, outer);
                    match previous {
                        Some(previous) => self.work_tables.insert(recursive.name.clone(), previous),
                        None => self.work_tables.remove(&recursive.name),
                    };
                    let step = step?;
                    if step.len() != current.len() {
                        return Err(PolicyError::Lineage(format!(
                            "the recursive term of '{}' has {} columns where {} were expected",
                            recursive.name,
                            step.len(),
                            current.len()
                        )));
                    }
                    let next: Lineage = current
                        .iter()
                        .zip(step)
                        .map(|(a, b)| a.union(&b).cloned().collect())
                        .collect();
                    if next == current {
                        break;
                    }
                    current = next;
                    rounds += 1;
                    if rounds > MAX_RECURSION_ROUNDS {
                        return Err(PolicyError::Lineage(format!(
                            "the lineage of recursive query '{}' does not settle",
                            recursive.name
                        )));
                    }
                }
                current
            }
            LogicalPlan::Extension(extension) => {
                // An operator this analysis does not know: every output column may carry
                // anything its inputs carry.
                let mut all = BTreeSet::new();
                for input in extension.node.inputs() {
                    all.extend(union_all(&self.plan(input, outer)?));
                }
                self.used.extend(all.iter().cloned());
                vec![all; extension.node.schema().fields().len()]
            }
            LogicalPlan::Statement(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::DescribeTable(_) => {
                return Err(PolicyError::NotAQuery {
                    statement: statement_kind(plan).unwrap_or_else(|| "not a query".to_string()),
                });
            }
        };
        let width = plan.schema().fields().len();
        if lineage.len() != width {
            return Err(PolicyError::Lineage(format!(
                "a {} step yields {} columns where its schema has {width}",
                plan.display(),
                lineage.len()
            )));
        }
        Ok(lineage)
    }

    /// A node whose output columns are its input's (filter, sort, limit, repartition): its own
    /// expressions only count as used.
    fn pass_through(
        &mut self,
        node: &LogicalPlan,
        input: &LogicalPlan,
        outer: &[Scope<'_>],
    ) -> Result<Lineage, PolicyError> {
        let lineage = self.plan(input, outer)?;
        let scope = [scope(input, &lineage)];
        for e in node.expressions() {
            self.expr(&e, &scope, outer)?;
        }
        Ok(lineage)
    }

    /// Lineage of a join. The right side may refer to the left (`LATERAL`), so the left is an
    /// outer scope of the right.
    fn join(&mut self, join: &Join, outer: &[Scope<'_>]) -> Result<Lineage, PolicyError> {
        let left = self.plan(&join.left, outer)?;
        let left_scope = scope(&join.left, &left);
        let mut right_outer = outer.to_vec();
        right_outer.push(left_scope);
        let right = self.plan(&join.right, &right_outer)?;
        let right_scope = scope(&join.right, &right);
        let both = [left_scope, right_scope];

        // Keys and filter are used, never output (except as described for semi joins).
        let mut condition = BTreeSet::new();
        for (l, r) in &join.on {
            condition.extend(self.expr(l, &[left_scope], outer)?);
            condition.extend(self.expr(r, &[right_scope], outer)?);
        }
        if let Some(filter) = &join.filter {
            condition.extend(self.expr(filter, &both, outer)?);
        }

        let lineage = match join.join_type {
            JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                let mut out = left;
                out.extend(right);
                out
            }
            JoinType::LeftSemi | JoinType::LeftAnti => {
                let mut out = left.clone();
                self.pair_keys(join, Side::Left, left_scope, right_scope, &mut out, outer)?;
                out
            }
            JoinType::RightSemi | JoinType::RightAnti => {
                let mut out = right.clone();
                self.pair_keys(join, Side::Right, left_scope, right_scope, &mut out, outer)?;
                out
            }
            JoinType::LeftMark => {
                let mut out = left;
                out.push(condition);
                out
            }
            JoinType::RightMark => {
                let mut out = right;
                out.push(condition);
                out
            }
        };
        Ok(lineage)
    }

    /// For a semi/anti join (how `INTERSECT` and `EXCEPT` are planned), adds the other side's
    /// key sources to each kept column that is compared with them for equality: the kept value
    /// equals (or is checked against) the other side's value.
    fn pair_keys(
        &mut self,
        join: &Join,
        kept: Side,
        left_scope: Scope<'_>,
        right_scope: Scope<'_>,
        out: &mut Lineage,
        outer: &[Scope<'_>],
    ) -> Result<(), PolicyError> {
        let kept_scope = match kept {
            Side::Left => left_scope,
            Side::Right => right_scope,
        };
        let mut pairs: Vec<(&Expr, BTreeSet<SourceColumn>)> = Vec::new();
        for (l, r) in &join.on {
            let (kept_expr, other_expr, other_scope) = match kept {
                Side::Left => (l, r, right_scope),
                Side::Right => (r, l, left_scope),
            };
            pairs.push((kept_expr, self.expr(other_expr, &[other_scope], outer)?));
        }
        if let Some(filter) = &join.filter {
            for conjunct in split_conjunction(filter) {
                if let Expr::BinaryExpr(BinaryExpr {
                    op: Operator::Eq | Operator::IsNotDistinctFrom,
                    ..
                }) = conjunct
                {
                    let sources = self.expr(conjunct, &[left_scope, right_scope], outer)?;
                    pairs.push((conjunct, sources));
                }
            }
        }
        for (kept_expr, sources) in pairs {
            for column in kept_expr.column_refs() {
                for index in matching_fields(column, kept_scope.schema) {
                    if let Some(target) = out.get_mut(index) {
                        target.extend(sources.iter().cloned());
                    }
                }
            }
        }
        Ok(())
    }

    /// Lineage of a table scan: each column is itself, except for a recursive CTE's working
    /// table, whose columns carry what the CTE has produced so far.
    fn table_scan(&mut self, scan: &TableScan) -> Result<Lineage, PolicyError> {
        let table = scan.table_name.table().to_string();
        if is_work_table(scan) {
            let Some(work) = self.work_tables.get(&table) else {
                return Err(PolicyError::Lineage(format!(
                    "the working table of recursive query '{table}' is read outside it"
                )));
            };
            return match &scan.projection {
                None => Ok(work.clone()),
                Some(indices) => indices
                    .iter()
                    .map(|i| {
                        work.get(*i).cloned().ok_or_else(|| {
                            PolicyError::Lineage(format!(
                                "recursive query '{table}' has no column {i}"
                            ))
                        })
                    })
                    .collect(),
            };
        }
        for filter in &scan.filters {
            for column in filter.column_refs() {
                self.used
                    .insert(SourceColumn::new(table.clone(), column.name.clone()));
            }
        }
        Ok(scan
            .projected_schema
            .fields()
            .iter()
            .map(|field| BTreeSet::from([SourceColumn::new(table.clone(), field.name().clone())]))
            .collect())
    }

    /// Sources of the value of `expr`, evaluated over `scopes` (a node's inputs) inside the
    /// enclosing queries `outer`. Every source found also counts as used.
    fn expr(
        &mut self,
        expr: &Expr,
        scopes: &[Scope<'_>],
        outer: &[Scope<'_>],
    ) -> Result<BTreeSet<SourceColumn>, PolicyError> {
        let mut leaves: Vec<&Expr> = Vec::new();
        expr.apply(|e| {
            #[allow(deprecated)]
            if super::structure::reads_columns(e) || matches!(e, Expr::Wildcard { .. }) {
                leaves.push(e);
            }
            // `InSubquery`/`SetComparison` children (the compared expression) are still walked.
            Ok(TreeNodeRecursion::Continue)
        })
        .map_err(df)?;

        let mut sources = BTreeSet::new();
        for leaf in leaves {
            match leaf {
                Expr::Column(column) => {
                    let found = resolve(column, scopes)
                        .or_else(|| outer.iter().rev().find_map(|s| resolve(column, &[*s])));
                    sources.extend(found.ok_or_else(|| unresolved(column))?);
                }
                Expr::OuterReferenceColumn(_, column) => {
                    let found = outer
                        .iter()
                        .rev()
                        .find_map(|s| resolve(column, &[*s]))
                        .or_else(|| resolve(column, scopes));
                    sources.extend(found.ok_or_else(|| unresolved(column))?);
                }
                Expr::ScalarSubquery(subquery)
                | Expr::Exists(Exists { subquery, .. })
                | Expr::InSubquery(InSubquery { subquery, .. })
                | Expr::SetComparison(SetComparison { subquery, .. }) => {
                    sources.extend(self.subquery(subquery, scopes, outer)?);
                }
                _ => {
                    // A wildcard left unexpanded: it can be any column in sight.
                    for scope in scopes {
                        sources.extend(union_all(scope.lineage));
                    }
                }
            }
        }
        self.used.extend(sources.iter().cloned());
        Ok(sources)
    }

    /// Sources of a subquery used as a value: the union of its output columns' sources.
    fn subquery(
        &mut self,
        subquery: &Subquery,
        scopes: &[Scope<'_>],
        outer: &[Scope<'_>],
    ) -> Result<BTreeSet<SourceColumn>, PolicyError> {
        let mut inner_outer = outer.to_vec();
        inner_outer.extend_from_slice(scopes);
        let lineage = self.plan(&subquery.subquery, &inner_outer)?;
        Ok(union_all(&lineage))
    }
}

/// Which input of a join is kept.
#[derive(Clone, Copy)]
enum Side {
    Left,
    Right,
}

/// The scope of `plan`'s output with `lineage`.
fn scope<'a>(plan: &'a LogicalPlan, lineage: &'a [BTreeSet<SourceColumn>]) -> Scope<'a> {
    Scope {
        schema: plan.schema(),
        lineage,
    }
}

/// Sources of `column` in `scopes`: the union over every field it can name (an unqualified name
/// may match several), or `None` if it names none.
fn resolve(column: &Column, scopes: &[Scope<'_>]) -> Option<BTreeSet<SourceColumn>> {
    let mut found = false;
    let mut sources = BTreeSet::new();
    for scope in scopes {
        for index in matching_fields(column, scope.schema) {
            found = true;
            if let Some(field_sources) = scope.lineage.get(index) {
                sources.extend(field_sources.iter().cloned());
            }
        }
    }
    found.then_some(sources)
}

/// Positions of the fields of `schema` that `column` can refer to (DataFusion's rules: a
/// qualified reference needs a matching qualifier, an unqualified one matches by name).
fn matching_fields(column: &Column, schema: &DFSchema) -> Vec<usize> {
    schema
        .iter()
        .enumerate()
        .filter(|(_, (qualifier, field))| {
            field.name() == &column.name
                && match (&column.relation, qualifier) {
                    (Some(wanted), Some(qualifier)) => wanted.resolved_eq(qualifier),
                    (Some(_), None) => false,
                    (None, _) => true,
                }
        })
        .map(|(index, _)| index)
        .collect()
}

/// Union of all columns' sources.
fn union_all(lineage: &[BTreeSet<SourceColumn>]) -> BTreeSet<SourceColumn> {
    lineage.iter().flatten().cloned().collect()
}

/// Whether a scan reads the working table of a recursive CTE rather than a real table.
fn is_work_table(scan: &TableScan) -> bool {
    source_as_provider(&scan.source).is_ok_and(|provider| provider.is::<CteWorkTable>())
}

/// The error for a column reference that names nothing in sight.
fn unresolved(column: &Column) -> PolicyError {
    PolicyError::Lineage(format!("column reference {column} cannot be resolved"))
}

/// A DataFusion failure during analysis.
fn df(error: DataFusionError) -> PolicyError {
    PolicyError::Lineage(error.to_string())
}
