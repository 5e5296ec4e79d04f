//! The query structure differential privacy needs, decided on the logical plan: which queries
//! over differential-privacy tables (tables whose CUSTOM rule names a user identifier column)
//! may run, and — for those that may — the final aggregation the noise mechanism rewrites.
//!
//! The rules (Clean Rooms' "general-purpose query structure" for differential privacy):
//! - **The final SELECT aggregates.** Above its aggregation a query may only project, filter
//!   (`HAVING`), sort, limit, alias or de-duplicate the aggregated rows; its output are grouping
//!   columns and aggregates, never user-level rows. The aggregates are `COUNT`,
//!   `COUNT(DISTINCT …)`, `SUM`, `AVG` and `STDDEV` (the model's
//!   `DifferentialPrivacyAggregationType`), without `FILTER (WHERE …)` or `ORDER BY` clauses;
//!   grouping sets are not supported; the user identifier column may not be a grouping column.
//! - **The aggregation reads user-level rows.** Every row reaching the final aggregation must
//!   belong to one user and carry its identifier column. Inside that input, a subquery or CTE
//!   over a differential-privacy table must keep the identifier column in its output (a bare
//!   column reference, possibly renamed); it may aggregate only per user (grouping by the
//!   identifier column) and use window functions only partitioned by the identifier column; it
//!   may not use `LIMIT`, `DISTINCT ON` or `UNNEST` over user rows; a `UNION` mixes user rows only with user rows whose identifier sits at the
//!   same position.
//! - **Joins between differential-privacy data are on the identifier.** Two inputs that both
//!   carry user rows are joined only by equality of their identifier columns (`ON a.uid =
//!   b.uid`, no other condition); joins with non-DP tables are free.
//! - **All DP tables of a query use the same identifier column name.**
//! - **No DP data in expressions' subqueries** (`IN (SELECT …)`, `EXISTS`, scalar subqueries):
//!   their rows are not attributable to users; join on the identifier instead.
//!
//! These rules keep each output value a function of bounded per-user contributions, which is
//! what the noise mechanism (`services::cleanrooms::analysis::dp`) calibrates to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{Column, DFSchemaRef, JoinType};
use datafusion::logical_expr::logical_plan::{Aggregate, Distinct};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan, Operator};

use super::PolicyError;

/// The aggregate functions differential privacy admits in the final SELECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DpFunction {
    /// `COUNT(x)` / `COUNT(*)`.
    Count,
    /// `COUNT(DISTINCT x)`.
    CountDistinct,
    /// `SUM(x)`.
    Sum,
    /// `AVG(x)`.
    Avg,
    /// `STDDEV(x)` (sample standard deviation).
    Stddev,
}

impl DpFunction {
    /// The SQL spelling, for messages.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Count => "COUNT",
            Self::CountDistinct => "COUNT DISTINCT",
            Self::Sum => "SUM",
            Self::Avg => "AVG",
            Self::Stddev => "STDDEV",
        }
    }
}

/// One aggregate call of the final SELECT.
#[derive(Debug, Clone)]
pub struct DpAggregate {
    /// Which function.
    pub function: DpFunction,
    /// The aggregate as written in the plan (`sum(purchases.amount)`).
    pub expression: String,
    /// The aggregated expression; `None` for `COUNT(*)`.
    pub argument: Option<Expr>,
    /// The full aggregate expression (without alias), to evaluate it unchanged.
    pub call: Expr,
}

/// A query over differential-privacy tables that passed the checks: its final aggregation,
/// split into the parts the noise mechanism needs.
#[derive(Debug, Clone)]
pub struct DpQuery {
    /// The rows the final aggregation reads (user-level).
    pub input: Arc<LogicalPlan>,
    /// The user identifier column, as the input exposes it.
    pub user_column: Column,
    /// The grouping expressions.
    pub group_expr: Vec<Expr>,
    /// The aggregate calls, in output order (after the grouping columns).
    pub aggregates: Vec<DpAggregate>,
    /// The final aggregation's output schema.
    pub schema: DFSchemaRef,
    /// The differential-privacy tables read, with their identifier column.
    pub tables: BTreeMap<String, String>,
}

/// Checks `plan` against the rules of the module docs. `dp_tables` maps each
/// differential-privacy table's collaboration name to its user identifier column.
///
/// Returns `None` when the plan reads no differential-privacy table.
///
/// # Errors
/// [`PolicyError::DifferentialPrivacy`] naming the table, the construct and what is allowed.
pub fn check_differential_privacy(
    plan: &LogicalPlan,
    dp_tables: &BTreeMap<String, String>,
) -> Result<Option<DpQuery>, PolicyError> {
    let read = dp_tables_read(plan, dp_tables);
    if read.is_empty() {
        return Ok(None);
    }
    let names: BTreeSet<String> = read.values().map(|c| c.to_ascii_lowercase()).collect();
    if names.len() > 1 {
        let listed: Vec<String> = read.iter().map(|(t, c)| format!("'{t}' ({c})")).collect();
        return Err(dp_error(format!(
            "Differential-privacy tables {} use different user identifier columns; tables queried together must use the same user identifier column name",
            listed.join(", ")
        )));
    }
    let first = read.keys().next().cloned().unwrap_or_default();
    let checker = Checker {
        dp_tables,
        example: first.clone(),
    };
    let aggregate = checker.final_aggregate(plan)?;
    let level = checker.level(&aggregate.input)?;
    let Level::User { uid, table } = level else {
        return Err(dp_error(format!(
            "Table '{first}' has differential privacy; the final SELECT must aggregate its rows directly (its data may only be read by the aggregation of the final SELECT, not by subqueries in expressions)"
        )));
    };
    let input_schema = aggregate.input.schema();
    if aggregate
        .group_expr
        .iter()
        .any(|e| matches!(e, Expr::GroupingSet(_)))
    {
        return Err(dp_error(format!(
            "Table '{table}' has differential privacy; GROUPING SETS, ROLLUP and CUBE are not supported, use a plain GROUP BY"
        )));
    }
    for group in &aggregate.group_expr {
        if let Some(i) = column_index(unalias(group), input_schema) {
            if uid.contains(&i) {
                return Err(dp_error(format!(
                    "Table '{table}' has differential privacy; its user identifier column '{}' cannot be a grouping column of the final SELECT (that would output user-level rows); group by other columns",
                    input_schema.field(i).name()
                )));
            }
        }
    }
    let mut aggregates = Vec::new();
    for e in &aggregate.aggr_expr {
        aggregates.push(dp_aggregate(unalias(e), &table)?);
    }
    let user_index = uid[0];
    let (qualifier, field) = input_schema.qualified_field(user_index);
    Ok(Some(DpQuery {
        input: Arc::clone(&aggregate.input),
        user_column: Column::new(qualifier.cloned(), field.name()),
        group_expr: aggregate.group_expr.clone(),
        aggregates,
        schema: Arc::clone(&aggregate.schema),
        tables: read,
    }))
}

/// The aggregate functions allowed, for messages.
const ALLOWED: &str = "AVG, COUNT, COUNT DISTINCT, SUM and STDDEV";

fn dp_error(message: String) -> PolicyError {
    PolicyError::DifferentialPrivacy(message)
}

fn unalias(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => unalias(&a.expr),
        other => other,
    }
}

/// Position in `schema` of the column `e` names, when `e` is a bare column.
fn column_index(e: &Expr, schema: &DFSchemaRef) -> Option<usize> {
    match e {
        Expr::Column(c) => schema.index_of_column(c).ok(),
        _ => None,
    }
}

fn dp_aggregate(e: &Expr, table: &str) -> Result<DpAggregate, PolicyError> {
    let Expr::AggregateFunction(f) = e else {
        return Err(dp_error(format!(
            "Table '{table}' has differential privacy; the final SELECT may only compute the aggregates {ALLOWED}, not '{e}'"
        )));
    };
    let name = f.func.name().to_ascii_lowercase();
    let params = &f.params;
    let function = match (name.as_str(), params.distinct) {
        ("count", false) => DpFunction::Count,
        ("count", true) => DpFunction::CountDistinct,
        ("sum", false) => DpFunction::Sum,
        ("avg" | "mean", false) => DpFunction::Avg,
        ("stddev" | "stddev_samp", false) => DpFunction::Stddev,
        (_, true) => {
            return Err(dp_error(format!(
                "Table '{table}' has differential privacy; DISTINCT is only allowed in COUNT(DISTINCT …), not in '{e}' (allowed aggregates: {ALLOWED})"
            )))
        }
        _ => {
            return Err(dp_error(format!(
                "Table '{table}' has differential privacy; aggregate function {} is not allowed in the final SELECT (allowed: {ALLOWED})",
                name.to_ascii_uppercase()
            )))
        }
    };
    if params.filter.is_some() || !params.order_by.is_empty() {
        return Err(dp_error(format!(
            "Table '{table}' has differential privacy; aggregate '{e}' cannot carry FILTER (WHERE …) or ORDER BY (use CASE inside the aggregate instead)"
        )));
    }
    let argument = match params.args.as_slice() {
        [] => None,
        [Expr::Literal(..)] if function == DpFunction::Count => None,
        [a] => Some(a.clone()),
        _ => {
            return Err(dp_error(format!(
                "Table '{table}' has differential privacy; aggregate '{e}' must take exactly one argument"
            )))
        }
    };
    Ok(DpAggregate {
        function,
        expression: e.schema_name().to_string(),
        argument,
        call: e.clone(),
    })
}

/// Whether a plan's rows belong to users.
enum Level {
    /// No differential-privacy data.
    Public,
    /// One user per row; `uid` are the positions of the identifier column.
    User { uid: Vec<usize>, table: String },
}

struct Checker<'a> {
    dp_tables: &'a BTreeMap<String, String>,
    /// A DP table name for messages that concern no particular table.
    example: String,
}

impl Checker<'_> {
    fn is_dp(&self, table: &str) -> Option<&String> {
        self.dp_tables.get(table)
    }

    /// The DP table read by `plan` (subqueries included), if any.
    fn reads_dp(&self, plan: &LogicalPlan) -> Option<String> {
        let mut found = None;
        let _walked = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                let name = scan.table_name.table();
                if self.is_dp(name).is_some() {
                    found = Some(name.to_string());
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        found
    }

    /// Rejects DP data read by the subqueries of `node`'s own expressions.
    fn no_dp_subqueries(&self, node: &LogicalPlan) -> Result<(), PolicyError> {
        let mut found = None;
        let _walked = node.apply_subqueries(|sub| {
            if let Some(t) = self.reads_dp(sub) {
                found = Some(t);
                return Ok(TreeNodeRecursion::Stop);
            }
            Ok(TreeNodeRecursion::Continue)
        });
        match found {
            Some(t) => Err(dp_error(format!(
                "Table '{t}' has differential privacy and cannot be read in a subquery used as a value (IN, EXISTS or a scalar subquery); join it on the user identifier column instead"
            ))),
            None => Ok(()),
        }
    }

    /// The aggregation of the final SELECT: below projections, filters, sorts, limits, aliases
    /// and DISTINCT.
    fn final_aggregate<'p>(&self, plan: &'p LogicalPlan) -> Result<&'p Aggregate, PolicyError> {
        self.no_dp_subqueries(plan)?;
        match plan {
            LogicalPlan::Aggregate(a) => Ok(a),
            LogicalPlan::Projection(p) => self.final_aggregate(&p.input),
            LogicalPlan::Filter(f) => self.final_aggregate(&f.input),
            LogicalPlan::Sort(s) => self.final_aggregate(&s.input),
            LogicalPlan::Limit(l) => self.final_aggregate(&l.input),
            LogicalPlan::SubqueryAlias(a) => self.final_aggregate(&a.input),
            LogicalPlan::Repartition(r) => self.final_aggregate(&r.input),
            LogicalPlan::Distinct(Distinct::All(input)) => self.final_aggregate(input),
            other => {
                let table = self.reads_dp(other).unwrap_or_else(|| self.example.clone());
                let what = match other {
                    LogicalPlan::TableScan(_) | LogicalPlan::Join(_) => {
                        "it returns user-level rows".to_string()
                    }
                    LogicalPlan::Window(_) => "it computes window functions".to_string(),
                    LogicalPlan::Union(_) => "it combines several SELECTs (UNION)".to_string(),
                    _ => format!("its last step is {}", other.display()),
                };
                Err(dp_error(format!(
                    "Table '{table}' has differential privacy; the final SELECT must aggregate (output only grouping columns and the aggregates {ALLOWED}), but {what}"
                )))
            }
        }
    }

    fn level(&self, plan: &LogicalPlan) -> Result<Level, PolicyError> {
        self.no_dp_subqueries(plan)?;
        Ok(match plan {
            LogicalPlan::TableScan(scan) => {
                let name = scan.table_name.table();
                match self.is_dp(name) {
                    None => Level::Public,
                    Some(column) => {
                        let uid: Vec<usize> = scan
                            .projected_schema
                            .fields()
                            .iter()
                            .enumerate()
                            .filter(|(_, f)| f.name().eq_ignore_ascii_case(column))
                            .map(|(i, _)| i)
                            .collect();
                        if uid.is_empty() {
                            return Err(dp_error(format!(
                                "Table '{name}' has differential privacy on user identifier column '{column}', which the table does not expose"
                            )));
                        }
                        Level::User {
                            uid,
                            table: name.to_string(),
                        }
                    }
                }
            }
            LogicalPlan::Projection(p) => match self.level(&p.input)? {
                Level::Public => Level::Public,
                Level::User { uid, table } => {
                    let schema = p.input.schema();
                    let kept: Vec<usize> = p
                        .expr
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| {
                            column_index(unalias(e), schema).is_some_and(|i| uid.contains(&i))
                        })
                        .map(|(i, _)| i)
                        .collect();
                    if kept.is_empty() {
                        return Err(dp_error(format!(
                            "Table '{table}' has differential privacy; a subquery or CTE over it must keep its user identifier column '{}' in its output (user-level rows), e.g. SELECT {} , … FROM {table}",
                            self.dp_tables.get(&table).cloned().unwrap_or_default(),
                            self.dp_tables.get(&table).cloned().unwrap_or_default(),
                        )));
                    }
                    Level::User { uid: kept, table }
                }
            },
            LogicalPlan::Filter(f) => self.level(&f.input)?,
            LogicalPlan::Sort(s) => self.level(&s.input)?,
            LogicalPlan::SubqueryAlias(a) => self.level(&a.input)?,
            LogicalPlan::Repartition(r) => self.level(&r.input)?,
            LogicalPlan::Distinct(Distinct::All(input)) => self.level(input)?,
            LogicalPlan::Subquery(s) => self.level(&s.subquery)?,
            LogicalPlan::Limit(l) => {
                self.public_only(&l.input, "LIMIT/OFFSET (it would select users by other users' data)")?
            }
            LogicalPlan::Window(w) => match self.level(&w.input)? {
                Level::Public => Level::Public,
                Level::User { uid, table } => {
                    let schema = w.input.schema();
                    let per_user = w.window_expr.iter().all(|e| match unalias(e) {
                        Expr::WindowFunction(f) => f.params.partition_by.iter().any(|p| {
                            column_index(unalias(p), schema).is_some_and(|i| uid.contains(&i))
                        }),
                        _ => false,
                    });
                    if !per_user {
                        let column = self.dp_tables.get(&table).cloned().unwrap_or_default();
                        return Err(dp_error(format!(
                            "Table '{table}' has differential privacy; a window function over its rows must include its user identifier column '{column}' in PARTITION BY (so it only combines one user's rows)"
                        )));
                    }
                    // A window adds columns after its input's.
                    Level::User { uid, table }
                }
            },
            LogicalPlan::Distinct(Distinct::On(d)) => self.public_only(&d.input, "DISTINCT ON")?,
            LogicalPlan::Unnest(u) => self.public_only(&u.input, "UNNEST")?,
            LogicalPlan::Aggregate(a) => match self.level(&a.input)? {
                Level::Public => Level::Public,
                Level::User { uid, table } => {
                    let schema = a.input.schema();
                    let kept: Vec<usize> = if a.group_expr.iter().any(|e| matches!(e, Expr::GroupingSet(_))) {
                        Vec::new()
                    } else {
                        a.group_expr
                            .iter()
                            .enumerate()
                            .filter(|(_, e)| {
                                column_index(unalias(e), schema).is_some_and(|i| uid.contains(&i))
                            })
                            .map(|(i, _)| i)
                            .collect()
                    };
                    if kept.is_empty() {
                        let column = self.dp_tables.get(&table).cloned().unwrap_or_default();
                        return Err(dp_error(format!(
                            "Table '{table}' has differential privacy; a subquery or CTE that aggregates its rows must group by its user identifier column '{column}' (one row per user); only the final SELECT aggregates across users"
                        )));
                    }
                    Level::User { uid: kept, table }
                }
            },
            LogicalPlan::Join(join) => {
                let left = self.level(&join.left)?;
                let right = self.level(&join.right)?;
                let width = join.left.schema().fields().len();
                match (left, right) {
                    (Level::Public, Level::Public) => Level::Public,
                    (Level::User { uid, table }, Level::Public) => match join.join_type {
                        JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
                            return Err(semi_error(&table))
                        }
                        _ => Level::User { uid, table },
                    },
                    (Level::Public, Level::User { uid, table }) => match join.join_type {
                        JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
                            Level::User {
                                uid: uid.iter().map(|i| i + width).collect(),
                                table,
                            }
                        }
                        JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
                            Level::User { uid, table }
                        }
                        JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
                            return Err(semi_error(&table))
                        }
                    },
                    (
                        Level::User { uid: l, table: lt },
                        Level::User { uid: r, table: rt },
                    ) => {
                        let lschema = join.left.schema();
                        let rschema = join.right.schema();
                        let is_uid_pair = |a: &Expr, b: &Expr| {
                            column_index(unalias(a), lschema).is_some_and(|i| l.contains(&i))
                                && column_index(unalias(b), rschema)
                                    .is_some_and(|i| r.contains(&i))
                        };
                        // The SQL planner leaves `ON` conditions in the filter; `USING` and
                        // optimised plans have key pairs.
                        let filter_pairs: Vec<&Expr> =
                            join.filter.iter().flat_map(split_conjunction).collect();
                        let on_uid = !(join.on.is_empty() && filter_pairs.is_empty())
                            && join.on.iter().all(|(a, b)| is_uid_pair(a, b))
                            && filter_pairs.iter().all(|e| match e {
                                Expr::BinaryExpr(BinaryExpr {
                                    left: a,
                                    op: Operator::Eq,
                                    right: b,
                                }) => is_uid_pair(a, b) || is_uid_pair(b, a),
                                _ => false,
                            });
                        if !on_uid {
                            let column = self.dp_tables.get(&lt).cloned().unwrap_or_default();
                            return Err(dp_error(format!(
                                "Differential-privacy data of tables '{lt}' and '{rt}' can only be joined on the user identifier column, with no other condition (JOIN … ON {lt}.{column} = {rt}.{column})"
                            )));
                        }
                        match join.join_type {
                            JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => {
                                Level::User { uid: l, table: lt }
                            }
                            JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => {
                                Level::User { uid: r, table: rt }
                            }
                            _ => {
                                let mut uid = l;
                                uid.extend(r.iter().map(|i| i + width));
                                Level::User { uid, table: lt }
                            }
                        }
                    }
                }
            }
            LogicalPlan::Union(u) => {
                let mut levels = Vec::new();
                for input in &u.inputs {
                    levels.push(self.level(input)?);
                }
                let mut common: Option<BTreeSet<usize>> = None;
                let mut any_public = false;
                let mut table = None;
                for l in &levels {
                    match l {
                        Level::Public => any_public = true,
                        Level::User { uid, table: t } => {
                            table.get_or_insert_with(|| t.clone());
                            let set: BTreeSet<usize> = uid.iter().copied().collect();
                            common = Some(match common {
                                None => set,
                                Some(c) => c.intersection(&set).copied().collect(),
                            });
                        }
                    }
                }
                match (table, common) {
                    (None, _) => Level::Public,
                    (Some(table), Some(c)) if !any_public && !c.is_empty() => Level::User {
                        uid: c.into_iter().collect(),
                        table,
                    },
                    (Some(table), _) => {
                        return Err(dp_error(format!(
                            "Table '{table}' has differential privacy; a UNION may only combine user-level rows of differential-privacy tables, each with the user identifier column at the same position"
                        )))
                    }
                }
            }
            LogicalPlan::EmptyRelation(_) | LogicalPlan::Values(_) => Level::Public,
            other => match self.reads_dp(other) {
                None => Level::Public,
                Some(t) => {
                    return Err(dp_error(format!(
                        "Table '{t}' has differential privacy; {} over its rows is not supported in queries on differential-privacy tables",
                        other.display()
                    )))
                }
            },
        })
    }

    /// Rejects `construct` over user rows.
    fn public_only(&self, input: &LogicalPlan, construct: &str) -> Result<Level, PolicyError> {
        match self.level(input)? {
            Level::Public => Ok(Level::Public),
            Level::User { table, .. } => Err(dp_error(format!(
                "Table '{table}' has differential privacy; {construct} cannot be applied to its rows before the final aggregation"
            ))),
        }
    }
}

fn semi_error(table: &str) -> PolicyError {
    dp_error(format!(
        "Table '{table}' has differential privacy and cannot be used only to filter another table's rows (IN/EXISTS/semi joins); join it on the user identifier column and aggregate"
    ))
}

/// Every differential-privacy table `plan` reads, with its identifier column.
fn dp_tables_read(
    plan: &LogicalPlan,
    dp_tables: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    super::scanned_tables(plan)
        .into_iter()
        .filter_map(|t| dp_tables.get(&t).map(|c| (t, c.clone())))
        .collect()
}
