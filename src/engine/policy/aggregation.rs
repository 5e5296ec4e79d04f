//! The AGGREGATION analysis rule on a query plan: one flat query block
//! `SELECT <aggregates and dimensions> FROM <tables, INNER JOINed on join columns>
//! [WHERE] [GROUP BY] [HAVING] [ORDER BY]`, where
//! - aggregates are COUNT, COUNT DISTINCT, SUM, SUM DISTINCT or AVG of a bare column the
//!   table's `aggregateColumns` pairs with that function (`COUNT(*)` is not);
//! - `SELECT` (outside aggregates), `WHERE`, `GROUP BY` and `ORDER BY` use only dimension
//!   columns, wrapped in the scalar functions every involved table allows;
//! - `HAVING` compares aggregates with literals;
//! - join columns appear only in `ON` (or inside an allowed aggregate);
//! - `joinRequired = QUERY_RUNNER` tables are joined, directly or not, to a table of the runner.
//!
//! No subqueries, CTEs, set operations, outer or cross joins, `LIMIT`/`OFFSET`, window
//! functions or `DISTINCT` query blocks. The output constraints are applied separately by
//! [`super::threshold`].

use std::collections::{BTreeMap, BTreeSet};

use datafusion::common::DFSchema;
use datafusion::logical_expr::expr::{AggregateFunction, ScalarFunction};
use datafusion::logical_expr::{BinaryExpr, Expr, LogicalPlan};

use super::structure::{self, contains, list, FromClause, JoinPolicy};
use super::{PolicyError, SourceColumn};

const RULE: &str = "AGGREGATION";

/// One table's AGGREGATION rule, in wire names.
#[derive(Debug, Clone)]
pub struct AggregationRule {
    /// The collaboration table name.
    pub table: String,
    /// `(column, function)` pairs allowed in aggregates; functions are `COUNT`,
    /// `COUNT_DISTINCT`, `SUM`, `SUM_DISTINCT`, `AVG`.
    pub aggregate_columns: Vec<(String, String)>,
    /// Join columns and operators.
    pub join: JoinPolicy,
    /// Columns usable outside aggregates.
    pub dimension_columns: Vec<String>,
    /// AWS names of the allowed scalar functions (`CEILING`, `SUBSTRING`, …).
    pub scalar_functions: Vec<String>,
    /// Whether the table must be joined to a table of the query runner.
    pub join_required: bool,
    /// Whether the query runner owns the table.
    pub owned_by_runner: bool,
}

impl AggregationRule {
    fn is_dimension(&self, column: &str) -> bool {
        contains(&self.dimension_columns, column)
    }

    fn allows_function(&self, aws_name: &str) -> bool {
        contains(&self.scalar_functions, aws_name)
    }
}

/// The AWS scalar function name a DataFusion function implements, if any.
pub fn aws_scalar_name(datafusion_name: &str) -> Option<&'static str> {
    Some(match datafusion_name.to_ascii_lowercase().as_str() {
        "abs" => "ABS",
        "ceil" | "ceiling" => "CEILING",
        "coalesce" | "nvl" | "ifnull" => "COALESCE",
        "current_date" | "today" => "CURRENT_DATE",
        "date_part" | "datepart" | "extract" => "EXTRACT",
        "floor" => "FLOOR",
        "now" | "current_timestamp" | "getdate" => "GETDATE",
        "ln" => "LN",
        "log" | "log10" | "log2" => "LOG",
        "lower" => "LOWER",
        "round" => "ROUND",
        "rtrim" => "RTRIM",
        "sqrt" => "SQRT",
        "substr" | "substring" => "SUBSTRING",
        "to_char" | "to_char_number" => "TO_CHAR",
        "to_date" => "TO_DATE",
        "to_timestamp"
        | "to_timestamp_seconds"
        | "to_timestamp_millis"
        | "to_timestamp_micros"
        | "to_timestamp_nanos" => "TO_TIMESTAMP",
        "btrim" | "trim" => "TRIM",
        "trunc" | "date_trunc" | "datetrunc" => "TRUNC",
        "upper" => "UPPER",
        "dateadd" | "date_add" | "timestampadd" => "DATEADD",
        "to_number" => "TO_NUMBER",
        _ => return None,
    })
}

/// What a column of a query block's intermediate output is.
#[derive(Debug, Clone)]
enum Kind {
    /// A dimension value (a `GROUP BY` term) derived from these tables.
    Dimension(BTreeSet<String>),
    /// An aggregate (or an expression over aggregates) of these tables.
    Aggregate(BTreeSet<String>),
}

impl Kind {
    fn tables(&self) -> &BTreeSet<String> {
        match self {
            Self::Dimension(t) | Self::Aggregate(t) => t,
        }
    }
}

/// Checks `plan` against the AGGREGATION rules of the tables it reads.
///
/// # Errors
/// [`PolicyError::Rejected`] naming the rule, the table, the column or construct and what would
/// be allowed.
pub fn check_aggregation(plan: &LogicalPlan, rules: &[AggregationRule]) -> Result<(), PolicyError> {
    let mut checker = Checker {
        rules: rules.iter().map(|r| (r.table.clone(), r)).collect(),
        from: None,
    };
    let kinds = checker.block(plan)?;
    if !kinds.iter().any(|k| matches!(k, Kind::Aggregate(_))) {
        return Err(PolicyError::Rejected(format!(
            "The SELECT list must contain an aggregate function under the AGGREGATION analysis rule of table '{}' (COUNT, COUNT DISTINCT, SUM, SUM DISTINCT or AVG of an aggregate column)",
            checker.first_table()
        )));
    }
    let from = checker.from.take().unwrap_or_default();
    for table in &from.tables {
        let Some(rule) = checker.rules.get(table) else {
            continue;
        };
        if rule.join_required
            && !from.reaches(table, |t| {
                checker.rules.get(t).is_some_and(|r| r.owned_by_runner)
            })
        {
            return Err(PolicyError::Rejected(format!(
                "Table '{table}' must be joined with a table owned by the member who can query (joinRequired is QUERY_RUNNER in its AGGREGATION analysis rule)"
            )));
        }
    }
    Ok(())
}

struct Checker<'a> {
    rules: BTreeMap<String, &'a AggregationRule>,
    /// The FROM clause under the aggregation, once found.
    from: Option<FromClause>,
}

impl Checker<'_> {
    fn first_table(&self) -> String {
        self.from
            .as_ref()
            .and_then(|f| f.tables.first().cloned())
            .or_else(|| self.rules.keys().next().cloned())
            .unwrap_or_default()
    }

    fn rule(&self, table: &str) -> Result<&AggregationRule, PolicyError> {
        self.rules.get(table).copied().ok_or_else(|| {
            PolicyError::Rejected(format!(
                "Table '{table}' has no AGGREGATION analysis rule and cannot be combined with tables that have one"
            ))
        })
    }

    /// Kinds of the output columns of an aggregated node.
    fn block(&mut self, plan: &LogicalPlan) -> Result<Vec<Kind>, PolicyError> {
        match plan {
            LogicalPlan::Projection(p) => {
                let input = self.block(&p.input)?;
                p.expr
                    .iter()
                    .map(|e| self.output_expr(e, p.input.schema(), &input, "the SELECT list"))
                    .collect()
            }
            LogicalPlan::Sort(s) => {
                let input = self.block(&s.input)?;
                for sort in &s.expr {
                    self.output_expr(&sort.expr, s.input.schema(), &input, "ORDER BY")?;
                }
                Ok(input)
            }
            LogicalPlan::Filter(f) if self.is_aggregated(&f.input) => {
                let input = self.block(&f.input)?;
                self.having(&f.predicate, f.input.schema(), &input)?;
                Ok(input)
            }
            LogicalPlan::Aggregate(a) => {
                let (schema, from) = self.row_level(&a.input)?;
                let mut kinds = Vec::new();
                for g in &a.group_expr {
                    if matches!(g, Expr::GroupingSet(_)) {
                        return Err(PolicyError::Rejected(format!(
                            "GROUPING SETS, ROLLUP and CUBE are not allowed under the AGGREGATION analysis rule of table '{}'",
                            self.first_table()
                        )));
                    }
                    let tables = self.dimension_expr(g, &schema, &from, "GROUP BY")?;
                    kinds.push(Kind::Dimension(tables));
                }
                for e in &a.aggr_expr {
                    kinds.push(Kind::Aggregate(self.aggregate(e, &schema, &from)?));
                }
                self.from = Some(from);
                Ok(kinds)
            }
            LogicalPlan::Limit(_) => Err(PolicyError::Rejected(format!(
                "LIMIT and OFFSET are not allowed under the AGGREGATION analysis rule of table '{}'",
                self.first_table_of(plan)
            ))),
            LogicalPlan::Filter(_)
            | LogicalPlan::Join(_)
            | LogicalPlan::TableScan(_)
            | LogicalPlan::SubqueryAlias(_) => {
                // Row-level data reaching the output: there is no aggregation.
                let (_, from) = self.row_level(plan)?;
                self.from = Some(from);
                Err(PolicyError::Rejected(format!(
                    "The query must aggregate under the AGGREGATION analysis rule of table '{}': row-level results are not allowed (use COUNT, COUNT DISTINCT, SUM, SUM DISTINCT or AVG, with GROUP BY on dimension columns)",
                    self.first_table()
                )))
            }
            other => Err(PolicyError::Rejected(format!(
                "{} is not allowed under the AGGREGATION analysis rule of table '{}'",
                capitalize(structure::node_name(other)),
                self.first_table_of(plan)
            ))),
        }
    }

    fn first_table_of(&self, plan: &LogicalPlan) -> String {
        super::scanned_tables(plan)
            .into_iter()
            .next()
            .unwrap_or_else(|| self.first_table())
    }

    fn is_aggregated(&self, plan: &LogicalPlan) -> bool {
        match plan {
            LogicalPlan::Aggregate(_) => true,
            LogicalPlan::Filter(f) => self.is_aggregated(&f.input),
            LogicalPlan::Projection(p) => self.is_aggregated(&p.input),
            LogicalPlan::Sort(s) => self.is_aggregated(&s.input),
            _ => false,
        }
    }

    /// The row-level part under the aggregation: `WHERE` filters over the FROM clause.
    fn row_level(&mut self, plan: &LogicalPlan) -> Result<(DFSchema, FromClause), PolicyError> {
        match plan {
            LogicalPlan::Filter(f) => {
                let (schema, from) = self.row_level(&f.input)?;
                let table = from.tables.first().cloned().unwrap_or_default();
                let mut operand = |e: &Expr| -> Result<(), PolicyError> {
                    self.dimension_expr(e, &schema, &from, "WHERE").map(|_| ())
                };
                structure::check_predicate(&f.predicate, RULE, &table, &mut operand)?;
                Ok((schema, from))
            }
            other => {
                let policies = self
                    .rules
                    .iter()
                    .map(|(t, r)| (t.clone(), r.join.clone()))
                    .collect();
                let from = structure::from_clause(other, RULE, &policies)?;
                for t in &from.tables {
                    self.rule(t)?;
                }
                Ok((other.schema().as_ref().clone(), from))
            }
        }
    }

    /// A row-level expression built from dimension columns, allowed scalar functions and
    /// literals; returns the tables whose columns it uses.
    fn dimension_expr(
        &self,
        expr: &Expr,
        schema: &DFSchema,
        from: &FromClause,
        clause: &str,
    ) -> Result<BTreeSet<String>, PolicyError> {
        let mut tables = BTreeSet::new();
        for column in expr.column_refs() {
            let source = from.resolve(schema, column).ok_or_else(|| {
                PolicyError::Lineage(format!("column reference {column} cannot be resolved"))
            })?;
            let rule = self.rule(&source.table)?;
            if !rule.is_dimension(&source.column) {
                return Err(self.not_dimension(source, rule, clause));
            }
            tables.insert(source.table.clone());
        }
        self.scalar_parts(expr, &tables, clause)?;
        Ok(tables)
    }

    fn not_dimension(
        &self,
        source: &SourceColumn,
        rule: &AggregationRule,
        clause: &str,
    ) -> PolicyError {
        let hint = if rule.join.is_join_column(&source.column) {
            " (it is a join column: join columns may only be used in JOIN … ON, or inside an allowed aggregate)"
        } else {
            ""
        };
        PolicyError::Rejected(format!(
            "Column '{}' of table '{}' cannot be used in {clause} under its AGGREGATION analysis rule: only dimension columns ({}) can{hint}",
            source.column,
            source.table,
            list(&rule.dimension_columns)
        ))
    }

    /// Checks the non-column parts of an expression: scalar functions allowed by every table
    /// in `tables` (every table of the query when empty), casts, arithmetic, literals.
    fn scalar_parts(
        &self,
        expr: &Expr,
        tables: &BTreeSet<String>,
        clause: &str,
    ) -> Result<(), PolicyError> {
        let governing: Vec<&AggregationRule> = if tables.is_empty() {
            self.rules.values().copied().collect()
        } else {
            tables
                .iter()
                .filter_map(|t| self.rules.get(t).copied())
                .collect()
        };
        let check_fn = |aws: Option<&str>, shown: &str| -> Result<(), PolicyError> {
            for rule in &governing {
                let ok = aws.is_some_and(|a| rule.allows_function(a));
                if !ok {
                    return Err(PolicyError::Rejected(format!(
                        "Function {shown} cannot be used in {clause} under the AGGREGATION analysis rule of table '{}' (allowed scalar functions: {})",
                        rule.table,
                        list(&rule.scalar_functions)
                    )));
                }
            }
            Ok(())
        };
        structure::each_expr(expr, |e| {
            match e {
                Expr::ScalarFunction(ScalarFunction { func, .. }) => {
                    check_fn(aws_scalar_name(func.name()), &func.name().to_ascii_uppercase())
                }
                Expr::Cast(_) | Expr::TryCast(_) => {
                    let ok = governing
                        .iter()
                        .all(|r| r.allows_function("CAST") || r.allows_function("CONVERT"));
                    if ok {
                        Ok(())
                    } else {
                        check_fn(Some("CAST"), "CAST")
                    }
                }
                e if structure::is_plain(e) => Ok(()),
                Expr::AggregateFunction(_) => Ok(()),
                Expr::BinaryExpr(BinaryExpr { op, .. }) => Err(PolicyError::Rejected(format!(
                    "Operator {op} cannot be used in {clause} under the AGGREGATION analysis rule of table '{}'",
                    governing.first().map_or("", |r| r.table.as_str())
                ))),
                Expr::ScalarSubquery(_) | Expr::InSubquery(_) | Expr::Exists(_) => {
                    Err(PolicyError::Rejected(format!(
                        "Subqueries are not allowed under the AGGREGATION analysis rule of table '{}'",
                        governing.first().map_or("", |r| r.table.as_str())
                    )))
                }
                Expr::WindowFunction(_) => Err(PolicyError::Rejected(format!(
                    "Window functions are not allowed under the AGGREGATION analysis rule of table '{}'",
                    governing.first().map_or("", |r| r.table.as_str())
                ))),
                other => Err(PolicyError::Rejected(format!(
                    "'{other}' cannot be used in {clause} under the AGGREGATION analysis rule of table '{}' (allowed: dimension columns, literals, arithmetic and the allowed scalar functions {})",
                    governing.first().map_or("", |r| r.table.as_str()),
                    governing.first().map_or("none".to_string(), |r| list(&r.scalar_functions))
                ))),
        }
        })
    }

    /// One aggregate of the `Aggregate` node; returns its table.
    fn aggregate(
        &self,
        expr: &Expr,
        schema: &DFSchema,
        from: &FromClause,
    ) -> Result<BTreeSet<String>, PolicyError> {
        let inner = match expr {
            Expr::Alias(alias) => alias.expr.as_ref(),
            other => other,
        };
        let first = from.tables.first().cloned().unwrap_or_default();
        let Expr::AggregateFunction(AggregateFunction { func, params }) = inner else {
            return Err(PolicyError::Rejected(format!(
                "'{inner}' is not allowed under the AGGREGATION analysis rule of table '{first}': aggregates are COUNT, COUNT DISTINCT, SUM, SUM DISTINCT and AVG of a column"
            )));
        };
        let name = func.name().to_ascii_uppercase();
        let function = match (name.as_str(), params.distinct) {
            ("COUNT", false) => "COUNT",
            ("COUNT", true) => "COUNT_DISTINCT",
            ("SUM", false) => "SUM",
            ("SUM", true) => "SUM_DISTINCT",
            ("AVG", false) => "AVG",
            _ => {
                return Err(PolicyError::Rejected(format!(
                    "Aggregate function {}{name} is not allowed under the AGGREGATION analysis rule of table '{first}': only COUNT, COUNT DISTINCT, SUM, SUM DISTINCT and AVG are",
                    if params.distinct { "DISTINCT " } else { "" }
                )))
            }
        };
        if params.filter.is_some() || !params.order_by.is_empty() {
            return Err(PolicyError::Rejected(format!(
                "FILTER and ORDER BY inside aggregate {name} are not allowed under the AGGREGATION analysis rule of table '{first}'"
            )));
        }
        let column = match params.args.as_slice() {
            [Expr::Column(c)] => c,
            [Expr::Literal(..)] if name == "COUNT" => {
                return Err(PolicyError::Rejected(format!(
                    "COUNT(*) is not allowed under the AGGREGATION analysis rule of table '{first}': count a column the rule allows, e.g. COUNT(DISTINCT <column>)"
                )))
            }
            _ => {
                return Err(PolicyError::Rejected(format!(
                    "The argument of {name} must be a column under the AGGREGATION analysis rule of table '{first}' (expressions inside aggregates are not allowed): {inner}"
                )))
            }
        };
        let source = from.resolve(schema, column).ok_or_else(|| {
            PolicyError::Lineage(format!("column reference {column} cannot be resolved"))
        })?;
        let rule = self.rule(&source.table)?;
        let allowed: Vec<String> = rule
            .aggregate_columns
            .iter()
            .filter(|(c, _)| c.eq_ignore_ascii_case(&source.column))
            .map(|(_, f)| f.clone())
            .collect();
        if !allowed.iter().any(|f| f.eq_ignore_ascii_case(function)) {
            return Err(PolicyError::Rejected(format!(
                "Aggregation function {function} is not allowed on column '{}' of table '{}' by its AGGREGATION analysis rule (allowed on this column: {})",
                source.column,
                source.table,
                list(&allowed)
            )));
        }
        Ok(BTreeSet::from([source.table.clone()]))
    }

    /// An expression over the aggregated columns (SELECT list, ORDER BY).
    fn output_expr(
        &self,
        expr: &Expr,
        schema: &DFSchema,
        input: &[Kind],
        clause: &str,
    ) -> Result<Kind, PolicyError> {
        let mut tables = BTreeSet::new();
        let mut aggregate = false;
        for column in expr.column_refs() {
            let kind = schema
                .maybe_index_of_column(column)
                .and_then(|i| input.get(i))
                .ok_or_else(|| {
                    PolicyError::Lineage(format!("column reference {column} cannot be resolved"))
                })?;
            aggregate |= matches!(kind, Kind::Aggregate(_));
            tables.extend(kind.tables().iter().cloned());
        }
        self.scalar_parts(expr, &tables, clause)?;
        Ok(if aggregate {
            Kind::Aggregate(tables)
        } else {
            Kind::Dimension(tables)
        })
    }

    /// `HAVING`: aggregates compared with literals.
    fn having(
        &self,
        predicate: &Expr,
        schema: &DFSchema,
        input: &[Kind],
    ) -> Result<(), PolicyError> {
        let table = self.first_table();
        let mut operand = |e: &Expr| -> Result<(), PolicyError> {
            let kind = self.output_expr(e, schema, input, "HAVING")?;
            if let Kind::Dimension(tables) = &kind {
                if !tables.is_empty() {
                    return Err(PolicyError::Rejected(format!(
                        "HAVING may only compare aggregates with literals under the AGGREGATION analysis rule of table '{table}': '{e}' is not an aggregate"
                    )));
                }
            }
            Ok(())
        };
        structure::check_predicate(predicate, RULE, &table, &mut operand)
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
