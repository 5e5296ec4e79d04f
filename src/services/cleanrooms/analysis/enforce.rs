//! The per-rule-type controls enforced on an analysis plan: rule-type homogeneity, the managed
//! ID_MAPPING_TABLE rule on how ID mapping tables are joined, the
//! AGGREGATION and LIST query structures, the CUSTOM rule's comparison controls and minimum
//! aggregation thresholds, and the output suppression (aggregation output constraints, custom
//! thresholds) applied by rewriting the plan that runs. The checks themselves are the engine's
//! ([`crate::engine::policy`]); this module turns the tables' rule policies into their inputs.

use crate::services::cleanrooms::analysis::tables::{AnalysisTable, RuleKind};
use crate::services::cleanrooms::errors::invalid_query;
use std::collections::BTreeSet;

use crate::services::cleanrooms::domain::id_mapping::{SOURCE_ID_COLUMN, TARGET_ID_COLUMN};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::Column;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{JoinType, LogicalPlan};

use crate::engine::policy::{
    self, AggregationRule, ComparisonRule, JoinPolicy, ListRule, PolicyError, Threshold,
};
use crate::error::AwsResult;

/// The one analysis rule type every table of the analysis shares (intermediate tables count as
/// CUSTOM).
///
/// # Errors
/// `ValidationException` naming the tables and their rule types when they differ.
pub fn check_rule_types(tables: &[AnalysisTable]) -> AwsResult<Option<RuleKind>> {
    // ID mapping tables carry the managed ID_MAPPING_TABLE rule, compatible with every type.
    let governed: Vec<&AnalysisTable> = tables
        .iter()
        .filter(|t| t.controls.rule != RuleKind::IdMappingTable)
        .collect();
    let Some(first) = governed.first() else {
        return Ok(tables.first().map(|t| t.controls.rule));
    };
    if let Some(other) = governed
        .iter()
        .find(|t| t.controls.rule != first.controls.rule)
    {
        return Err(invalid_query(format!(
            "Query references tables with different analysis rule types: table '{}' has a {} rule and table '{}' a {} rule; a query can only combine tables whose analysis rules have the same type",
            first.name,
            first.controls.rule.as_str(),
            other.name,
            other.controls.rule.as_str()
        )));
    }
    Ok(Some(first.controls.rule))
}

/// Rejects populating an intermediate table from AGGREGATION or LIST tables: intermediate
/// tables carry CUSTOM rules, which would not keep the base rules' protections.
///
/// # Errors
/// `ValidationException` naming the table.
pub fn check_populate_sources(tables: &[AnalysisTable]) -> AwsResult<()> {
    if let Some(t) = tables
        .iter()
        .find(|t| matches!(t.controls.rule, RuleKind::Aggregation | RuleKind::List))
    {
        return Err(invalid_query(format!(
            "Table '{}' has a {} analysis rule: intermediate tables can only be populated from tables with CUSTOM analysis rules (configured tables with a CUSTOM rule, and other intermediate tables)",
            t.name,
            t.controls.rule.as_str()
        )));
    }
    Ok(())
}

/// Checks `plan` against the rules of `tables` (all of one rule type) and returns the plan to
/// run: with groups below any minimum distinct count suppressed.
///
/// # Errors
/// `ValidationException` (`INVALID_QUERY`) naming the rule, table and column or construct.
pub fn enforce(
    plan: LogicalPlan,
    tables: &[AnalysisTable],
    runner: &str,
) -> AwsResult<LogicalPlan> {
    let reject = |e: PolicyError| invalid_query(e.to_string());
    check_id_mapping_use(&plan, tables)?;
    match check_rule_types(tables)? {
        Some(RuleKind::Aggregation) => {
            let rules = aggregation_rules(tables, runner);
            policy::check_aggregation(&plan, &rules).map_err(reject)?;
            let thresholds: Vec<Threshold> = tables
                .iter()
                .filter_map(|t| t.controls.aggregation.as_ref().map(|p| (t, p)))
                .flat_map(|(t, p)| {
                    p.output_constraints.iter().map(|c| Threshold {
                        table: t.name.clone(),
                        column: c.column_name.clone(),
                        minimum: u64::try_from(c.minimum).unwrap_or(0),
                        rule: "AGGREGATION".to_string(),
                    })
                })
                .collect();
            policy::apply_thresholds(&plan, &thresholds).map_err(reject)
        }
        Some(RuleKind::List) => {
            policy::check_list(&plan, &list_rules(tables, runner)).map_err(reject)?;
            Ok(plan)
        }
        Some(RuleKind::Custom) => {
            let comparisons: Vec<ComparisonRule> = tables
                .iter()
                .filter_map(|t| {
                    t.controls
                        .comparison_controls
                        .as_ref()
                        .map(|c| ComparisonRule {
                            table: t.name.clone(),
                            literal: c.allowed_literal_comparison_columns.clone(),
                            column: c.allowed_column_comparison_columns.clone(),
                        })
                })
                .collect();
            policy::check_comparisons(&plan, &comparisons).map_err(reject)?;
            let outputs: Vec<String> = plan
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let mut thresholds = Vec::new();
            for t in tables {
                for a in t.controls.aggregation_thresholds.iter().flatten() {
                    if a.allowed_aggregate_expression_type
                        == cleanrooms_emulator_api::cleanrooms::dto::AllowedAggregateExpressionType::ColumnsOnly
                    {
                        policy::check_columns_only(&plan, &t.name).map_err(reject)?;
                    }
                    let Some(identity) = a.identity_columns.first() else {
                        continue;
                    };
                    let overrides = a.output_column_thresholds.as_deref().unwrap_or_default();
                    let minimum = outputs
                        .iter()
                        .map(|name| {
                            overrides
                                .iter()
                                .find(|o| o.output_column_name.eq_ignore_ascii_case(name))
                                .map_or(a.minimum_identity_count, |o| o.minimum_identity_count)
                        })
                        .max()
                        .unwrap_or(a.minimum_identity_count);
                    thresholds.push(Threshold {
                        table: t.name.clone(),
                        column: identity.clone(),
                        minimum: u64::try_from(minimum).unwrap_or(0),
                        rule: "CUSTOM".to_string(),
                    });
                }
            }
            policy::apply_thresholds(&plan, &thresholds).map_err(reject)
        }
        Some(RuleKind::Missing | RuleKind::IdMappingTable) | None => Ok(plan),
    }
}

fn join_policy(
    join_columns: &[String],
    operators: Option<&Vec<cleanrooms_emulator_api::cleanrooms::dto::JoinOperator>>,
) -> JoinPolicy {
    JoinPolicy {
        join_columns: join_columns.to_vec(),
        allowed_join_operators: operators
            .into_iter()
            .flatten()
            .map(|o| o.as_str().to_string())
            .collect(),
    }
}

/// The id columns of an ID mapping table that its associations allow as dimension columns.
fn id_mapping_dimensions(t: &AnalysisTable) -> Vec<String> {
    [SOURCE_ID_COLUMN, TARGET_ID_COLUMN]
        .iter()
        .filter(|c| {
            !t.controls
                .disallowed_columns
                .iter()
                .any(|d| d.eq_ignore_ascii_case(c))
        })
        .map(|c| (*c).to_string())
        .collect()
}

/// The join policy of an ID mapping table inside an AGGREGATION or LIST query: joined on its
/// id columns with AND (its own rule is checked by [`check_id_mapping_use`]).
fn id_mapping_join() -> JoinPolicy {
    join_policy(
        &[SOURCE_ID_COLUMN.to_string(), TARGET_ID_COLUMN.to_string()],
        None,
    )
}

fn aggregation_rules(tables: &[AnalysisTable], runner: &str) -> Vec<AggregationRule> {
    let mut rules: Vec<AggregationRule> = governed_aggregation_rules(tables, runner);
    // An ID mapping table takes part with its id columns as join columns, its allowed
    // dimension columns, no aggregate columns, and no scalar-function restriction of its own.
    let functions: Vec<String> = rules
        .iter()
        .flat_map(|r| r.scalar_functions.iter().cloned())
        .collect();
    for t in tables
        .iter()
        .filter(|t| t.controls.rule == RuleKind::IdMappingTable)
    {
        rules.push(AggregationRule {
            table: t.name.clone(),
            aggregate_columns: Vec::new(),
            join: id_mapping_join(),
            dimension_columns: id_mapping_dimensions(t),
            scalar_functions: functions.clone(),
            join_required: false,
            owned_by_runner: t.owner == runner,
        });
    }
    rules
}

fn governed_aggregation_rules(tables: &[AnalysisTable], runner: &str) -> Vec<AggregationRule> {
    tables
        .iter()
        .filter_map(|t| {
            let p = t.controls.aggregation.as_ref()?;
            Some(AggregationRule {
                table: t.name.clone(),
                aggregate_columns: p
                    .aggregate_columns
                    .iter()
                    .flat_map(|a| {
                        a.column_names
                            .iter()
                            .map(|c| (c.clone(), a.function.as_str().to_string()))
                    })
                    .collect(),
                join: join_policy(&p.join_columns, p.allowed_join_operators.as_ref()),
                dimension_columns: p.dimension_columns.clone(),
                scalar_functions: p
                    .scalar_functions
                    .iter()
                    .map(|f| f.as_str().to_string())
                    .collect(),
                join_required: p.join_required.is_some(),
                owned_by_runner: t.owner == runner,
            })
        })
        .collect()
}

fn list_rules(tables: &[AnalysisTable], runner: &str) -> Vec<ListRule> {
    tables
        .iter()
        .filter_map(|t| {
            if t.controls.rule == RuleKind::IdMappingTable {
                // Joined on its id columns; listable only where allowed as dimensions.
                return Some(ListRule {
                    table: t.name.clone(),
                    join: id_mapping_join(),
                    list_columns: id_mapping_dimensions(t),
                    owned_by_runner: t.owner == runner,
                });
            }
            let p = t.controls.list.as_ref()?;
            Some(ListRule {
                table: t.name.clone(),
                join: join_policy(&p.join_columns, p.allowed_join_operators.as_ref()),
                list_columns: p.list_columns.clone(),
                owned_by_runner: t.owner == runner,
            })
        })
        .collect()
}

/// Whether `plan` reads table `name` (a scan of it anywhere below).
fn scans(plan: &LogicalPlan, name: &str) -> bool {
    let mut found = false;
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if scan.table_name.table() == name {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// The managed ID_MAPPING_TABLE rule (spec §4.4): an ID mapping table may only be joined, on
/// the inner side of every join it takes part in (INNER, `t LEFT JOIN map`, `map RIGHT JOIN
/// t`), its id columns may appear only in join conditions (except those its ID namespace
/// associations allow as dimension columns; outputs are checked with the disallowed output
/// columns), and both id columns must be joined on (`requireOverlap`).
///
/// # Errors
/// `ValidationException` (`INVALID_QUERY`) naming the ID mapping table and what breaks the rule.
pub fn check_id_mapping_use(plan: &LogicalPlan, tables: &[AnalysisTable]) -> AwsResult<()> {
    for t in tables
        .iter()
        .filter(|t| t.controls.rule == RuleKind::IdMappingTable)
    {
        let protected: BTreeSet<String> = t
            .controls
            .disallowed_columns
            .iter()
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let id_columns = [SOURCE_ID_COLUMN, TARGET_ID_COLUMN];
        let mut qualifiers: BTreeSet<String> = BTreeSet::from([t.name.clone()]);
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::SubqueryAlias(a) = node {
                if matches!(a.input.as_ref(), LogicalPlan::TableScan(s) if s.table_name.table() == t.name)
                {
                    qualifiers.insert(a.alias.table().to_string());
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        let ours = |c: &Column| -> Option<String> {
            let name = c.name.to_ascii_lowercase();
            (id_columns.contains(&name.as_str())
                && c.relation
                    .as_ref()
                    .is_some_and(|r| qualifiers.contains(r.table())))
            .then_some(name)
        };
        let mut joined = false;
        let mut joined_on: BTreeSet<String> = BTreeSet::new();
        let mut problem: Option<String> = None;
        let _ = plan.apply_with_subqueries(|node| {
            match node {
                LogicalPlan::Join(j) => {
                    let left = scans(&j.left, &t.name);
                    let right = scans(&j.right, &t.name);
                    if left || right {
                        joined = true;
                        let inner_side = match j.join_type {
                            JoinType::Inner => true,
                            JoinType::Left => !left,
                            JoinType::Right => !right,
                            _ => false,
                        };
                        if !inner_side {
                            problem = Some(format!(
                                "ID mapping table '{}' must be on the inner side of every join ({} JOIN with it on the preserved side is not allowed): the ID_MAPPING_TABLE analysis rule only exposes the overlap",
                                t.name, j.join_type
                            ));
                            return Ok(TreeNodeRecursion::Stop);
                        }
                        // Each join condition must relate a protected id column to another
                        // table's column: comparing it with a literal alone would filter the
                        // mapping (`ON … AND m.targetid = 'x'`).
                        let mut conditions: Vec<(Vec<&Column>, Vec<&Column>)> = j
                            .on
                            .iter()
                            .map(|(l, r)| {
                                let cols: Vec<&Column> =
                                    l.column_refs().into_iter().chain(r.column_refs()).collect();
                                cols.into_iter().partition(|c| ours(c).is_some())
                            })
                            .collect();
                        if let Some(f) = &j.filter {
                            for conjunct in split_conjunction(f) {
                                conditions.push(
                                    conjunct
                                        .column_refs()
                                        .into_iter()
                                        .partition(|c| ours(c).is_some()),
                                );
                            }
                        }
                        for (mine, others) in conditions {
                            let names: Vec<String> = mine.iter().filter_map(|c| ours(c)).collect();
                            if others.is_empty() {
                                if let Some(name) = names.iter().find(|n| protected.contains(*n)) {
                                    problem = Some(format!(
                                        "Column '{name}' of ID mapping table '{}' can only be compared with another table's column in a JOIN condition (the ID_MAPPING_TABLE analysis rule)",
                                        t.name
                                    ));
                                    return Ok(TreeNodeRecursion::Stop);
                                }
                            }
                            joined_on.extend(names);
                        }
                    }
                }
                LogicalPlan::Projection(_)
                | LogicalPlan::SubqueryAlias(_)
                | LogicalPlan::TableScan(_) => {}
                other => {
                    for e in other.expressions() {
                        if let Some(name) = e
                            .column_refs()
                            .into_iter()
                            .filter_map(&ours)
                            .find(|n| protected.contains(n))
                        {
                            problem = Some(format!(
                                "Column '{name}' of ID mapping table '{}' can only be used in JOIN conditions, not in {} (the ID_MAPPING_TABLE analysis rule; an ID namespace association can allow its column as a dimension column)",
                                t.name,
                                clause(other)
                            ));
                            return Ok(TreeNodeRecursion::Stop);
                        }
                    }
                }
            }
            Ok(TreeNodeRecursion::Continue)
        });
        if let Some(p) = problem {
            return Err(invalid_query(p));
        }
        if !joined {
            return Err(invalid_query(format!(
                "ID mapping table '{}' can only be used to join other tables (JOIN ... ON its {SOURCE_ID_COLUMN} and {TARGET_ID_COLUMN} columns)",
                t.name
            )));
        }
        if let Some(missing) = id_columns.iter().find(|c| !joined_on.contains(**c)) {
            return Err(invalid_query(format!(
                "ID mapping table '{}' requires overlap on {SOURCE_ID_COLUMN} and {TARGET_ID_COLUMN} (requireOverlap): the query does not join on '{missing}'",
                t.name
            )));
        }
    }
    Ok(())
}

/// The SQL clause a plan node comes from, for messages.
fn clause(node: &LogicalPlan) -> &'static str {
    match node {
        LogicalPlan::Filter(_) => "WHERE or HAVING",
        LogicalPlan::Aggregate(_) => "GROUP BY or an aggregate",
        LogicalPlan::Sort(_) => "ORDER BY",
        LogicalPlan::Window(_) => "a window function",
        _ => "this part of the query",
    }
}
