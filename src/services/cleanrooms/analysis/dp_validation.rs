//! The differential-privacy validation of analysis templates (`validations` of an
//! `AnalysisTemplate` / `CollaborationAnalysisTemplate`, spec §3.6, §4.3 point 5).
//!
//! When a template reads a table whose configured-table CUSTOM rule turns on
//! `differentialPrivacy`, AWS checks that the SQL fits the general-purpose DP query structure and
//! reports `VALID`, `INVALID` (with one reason per problem) or `UNABLE_TO_VALIDATE`. The check runs
//! when the template is created and on every read, so it follows the tables' current rules. What
//! is checked here, from the SQL text alone:
//! - the final SELECT computes at least one aggregate, and only `AVG`, `COUNT`, `COUNT DISTINCT`,
//!   `STDDEV` and `SUM` (no other aggregate, no `DISTINCT` inside the others, no window function);
//! - a CTE or FROM sub-query that reads DP data selects the user identifier column (user-level
//!   rows) and, if it groups, groups by it;
//! - two DP relations are only combined by an equi-join on the user identifier column (no CROSS
//!   JOIN, no comma join);
//! - sub-queries in SELECT, WHERE, HAVING, GROUP BY or ON clauses do not read DP data;
//! - every DP table uses the same user identifier column.

use crate::services::cleanrooms::analysis::sql::with_literal_placeholders;
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::configured_table::ConfiguredTableRule;
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::collaboration_children;
use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;

use cleanrooms_emulator_api::cleanrooms::dto;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, FunctionArguments, GroupByExpr, JoinConstraint, JoinOperator, ObjectName,
    ObjectNamePart, OrderByKind, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
    TableWithJoins, Visit, Visitor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::AwsResult;
use crate::state::AppState;

/// Aggregates the final SELECT of a DP query may use (`DifferentialPrivacyAggregationType`).
const DP_AGGREGATES: [&str; 4] = ["avg", "count", "sum", "stddev"];

/// Other aggregate functions: allowed in CTEs, not in the final SELECT of a DP query.
const OTHER_AGGREGATES: [&str; 32] = [
    "any_value",
    "approx_count_distinct",
    "approx_distinct",
    "approx_median",
    "approx_percentile_cont",
    "approx_percentile_disc",
    "array_agg",
    "bit_and",
    "bit_or",
    "bool_and",
    "bool_or",
    "collect_list",
    "collect_set",
    "corr",
    "count_if",
    "covar_pop",
    "covar_samp",
    "every",
    "first",
    "last",
    "listagg",
    "max",
    "max_by",
    "median",
    "min",
    "min_by",
    "mode",
    "percentile_cont",
    "percentile_disc",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
];

/// Variance-type aggregates (also not allowed in the final SELECT).
const VARIANCE_AGGREGATES: [&str; 4] = ["var_pop", "var_samp", "variance", "std"];

/// The DP tables of collaboration `collaboration_id`: association name → user identifier column.
pub async fn dp_tables(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (_, a) in collaboration_children::<Association>(state, collaboration_id).await? {
        let Some(record) =
            records::record::<ConfiguredTableRule>(state, &a.configured_table_id).await?
        else {
            continue;
        };
        let rule: ConfiguredTableRule = records::decode(&record)?;
        let dto::ConfiguredTableAnalysisRulePolicy::V1(v1) = &rule.policy;
        if let dto::ConfiguredTableAnalysisRulePolicyV1::Custom(c) = v1 {
            if let Some(column) = c
                .differential_privacy
                .as_ref()
                .and_then(|dp| dp.columns.first())
            {
                out.insert(a.name.clone(), column.name.to_lowercase());
            }
        }
    }
    Ok(out)
}

/// The `validations` of template `t` as of now: `None` when none of its tables uses
/// differential privacy.
pub async fn validations(
    state: &AppState,
    t: &AnalysisTemplate,
) -> AwsResult<Option<Vec<dto::AnalysisTemplateValidationStatusDetail>>> {
    let dp = dp_tables(state, &t.header.collaboration_id).await?;
    if !t.referenced_tables.iter().any(|n| dp.contains_key(n)) {
        return Ok(None);
    }
    let detail = match &t.source {
        dto::AnalysisSource::Text(sql) => check(sql, &dp),
        dto::AnalysisSource::Artifacts(_) => detail(
            dto::AnalysisTemplateValidationStatus::UnableToValidate,
            vec![format!(
                "A {} analysis cannot be validated against the differential privacy query structure; only SQL templates can",
                t.format.as_str()
            )],
        ),
    };
    Ok(Some(vec![detail]))
}

fn detail(
    status: dto::AnalysisTemplateValidationStatus,
    reasons: Vec<String>,
) -> dto::AnalysisTemplateValidationStatusDetail {
    dto::AnalysisTemplateValidationStatusDetail {
        reasons: (!reasons.is_empty()).then(|| {
            reasons
                .into_iter()
                .map(|message| dto::AnalysisTemplateValidationStatusReason { message })
                .collect()
        }),
        status,
        r#type: dto::AnalysisTemplateValidationType::DifferentialPrivacy,
    }
}

/// Validates SQL text against the DP query structure; `dp` maps each DP table (association
/// name, lower case) to its user identifier column.
pub fn check(
    sql: &str,
    dp: &HashMap<String, String>,
) -> dto::AnalysisTemplateValidationStatusDetail {
    let text = with_literal_placeholders(sql);
    let statements = match Parser::parse_sql(&GenericDialect {}, &text) {
        Ok(s) => s,
        Err(e) => {
            return detail(
                dto::AnalysisTemplateValidationStatus::UnableToValidate,
                vec![format!("The SQL text could not be parsed: {e}")],
            )
        }
    };
    let [Statement::Query(query)] = statements.as_slice() else {
        return detail(
            dto::AnalysisTemplateValidationStatus::UnableToValidate,
            vec!["The SQL text is not a single query".to_string()],
        );
    };
    let mut checker = Checker {
        dp,
        ctes: HashMap::new(),
        used_dp: BTreeSet::new(),
        reasons: Vec::new(),
    };
    checker.query(query, Role::Final);
    let columns: BTreeSet<&str> = checker
        .used_dp
        .iter()
        .filter_map(|t| dp.get(t).map(String::as_str))
        .collect();
    if columns.len() > 1 {
        let list: Vec<String> = checker
            .used_dp
            .iter()
            .filter_map(|t| dp.get(t).map(|c| format!("{t}.{c}")))
            .collect();
        checker.reason(format!(
            "The differential privacy tables use different user identifier columns ({}); every table must configure the same column",
            list.join(", ")
        ));
    }
    if checker.reasons.is_empty() {
        detail(dto::AnalysisTemplateValidationStatus::Valid, Vec::new())
    } else {
        detail(
            dto::AnalysisTemplateValidationStatus::Invalid,
            checker.reasons,
        )
    }
}

/// Where a query block sits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role<'a> {
    /// The query whose result is returned.
    Final,
    /// The body of the named CTE.
    Cte(&'a str),
    /// A sub-query in FROM or JOIN.
    Derived,
}

struct Checker<'a> {
    /// DP tables: name → user identifier column.
    dp: &'a HashMap<String, String>,
    /// CTEs seen so far: name → user identifier column when the CTE reads DP data.
    ctes: HashMap<String, Option<String>>,
    /// DP tables the query reads.
    used_dp: BTreeSet<String>,
    /// Problems found, in order, without duplicates.
    reasons: Vec<String>,
}

impl Checker<'_> {
    fn reason(&mut self, message: String) {
        if !self.reasons.contains(&message) {
            self.reasons.push(message);
        }
    }

    /// The user identifier column of relation `name` when it carries DP data.
    fn relation(&mut self, name: &ObjectName) -> Option<String> {
        let name = object_name(name);
        if let Some(cte) = self.ctes.get(&name) {
            return cte.clone();
        }
        let column = self.dp.get(&name).cloned();
        if column.is_some() {
            self.used_dp.insert(name);
        }
        column
    }

    /// Checks a query block; returns the user identifier column when its rows carry DP data.
    fn query(&mut self, q: &Query, role: Role<'_>) -> Option<String> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = cte.alias.name.value.to_lowercase();
                let column = self.query(&cte.query, Role::Cte(&name));
                self.ctes.insert(name, column);
            }
        }
        let column = self.set_expr(&q.body, role);
        if role == Role::Final && column.is_some() {
            if let Some(order_by) = &q.order_by {
                if let OrderByKind::Expressions(exprs) = &order_by.kind {
                    let mut aggregates = Aggregates::default();
                    for e in exprs {
                        let _ = e.expr.visit(&mut aggregates);
                    }
                    self.final_aggregates(&aggregates, false);
                }
            }
        }
        column
    }

    fn set_expr(&mut self, body: &SetExpr, role: Role<'_>) -> Option<String> {
        match body {
            SetExpr::Select(s) => self.select(s, role),
            SetExpr::Query(q) => self.query(q, role),
            SetExpr::SetOperation { left, right, .. } => {
                let l = self.set_expr(left, role);
                let r = self.set_expr(right, role);
                l.or(r)
            }
            _ => None,
        }
    }

    /// The user identifier column of a FROM item, checking the sub-queries and joins inside it.
    fn factor(&mut self, f: &TableFactor) -> Option<String> {
        match f {
            TableFactor::Table { name, .. } => self.relation(name),
            TableFactor::Derived { subquery, .. } => self.query(subquery, Role::Derived),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.joined_item(table_with_joins),
            _ => None,
        }
    }

    /// Checks one FROM item with its joins; returns the user identifier column of its DP data.
    fn joined_item(&mut self, t: &TableWithJoins) -> Option<String> {
        let mut left = self.factor(&t.relation);
        for join in &t.joins {
            let right = self.factor(&join.relation);
            let (Some(left_column), Some(column)) = (left.clone(), right.clone()) else {
                left = left.or(right);
                continue;
            };
            let constraint = match &join.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c)
                | JoinOperator::RightAnti(c) => Some(c),
                _ => None,
            };
            let ok = match constraint {
                Some(JoinConstraint::On(on)) => {
                    self.no_dp_subqueries(on, "JOIN condition");
                    on_user_id(on, &left_column, &column)
                }
                Some(JoinConstraint::Using(columns)) => {
                    left_column == column && columns.iter().any(|c| object_name(c) == column)
                }
                _ => false,
            };
            if !ok {
                self.reason(format!(
                    "The join with {} combines two differential privacy relations without an equi-join on the user identifier column ({left_column} = {column}); CROSS JOINs and other join conditions are not supported between such relations",
                    factor_name(&join.relation)
                ));
            }
        }
        left
    }

    fn select(&mut self, s: &Select, role: Role<'_>) -> Option<String> {
        let mut seen: Option<String> = None;
        for item in &s.from {
            let column = self.joined_item(item);
            if seen.is_some() && column.is_some() {
                self.reason(format!(
                    "The FROM list combines two differential privacy relations with a comma ({}); join them with an equi-join on the user identifier column",
                    factor_name(&item.relation)
                ));
            }
            seen = seen.or(column);
        }
        for item in &s.projection {
            if let SelectItem::UnnamedExpr(e)
            | SelectItem::ExprWithAlias { expr: e, .. }
            | SelectItem::ExprWithAliases { expr: e, .. } = item
            {
                self.no_dp_subqueries(e, "SELECT list");
            }
        }
        if let Some(w) = &s.selection {
            self.no_dp_subqueries(w, "WHERE clause");
        }
        if let Some(h) = &s.having {
            self.no_dp_subqueries(h, "HAVING clause");
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                self.no_dp_subqueries(e, "GROUP BY clause");
            }
        }
        let column = seen?;
        match role {
            Role::Final => {
                let mut aggregates = Aggregates::default();
                for item in &s.projection {
                    let _ = item.visit(&mut aggregates);
                }
                if let Some(h) = &s.having {
                    let _ = h.visit(&mut aggregates);
                }
                self.final_aggregates(&aggregates, true);
            }
            Role::Cte(_) | Role::Derived => {
                let what = match role {
                    Role::Cte(name) => format!("CTE {name}"),
                    _ => "A sub-query in FROM".to_string(),
                };
                let selects_user = s.projection.iter().any(|item| match item {
                    SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => true,
                    SelectItem::UnnamedExpr(e)
                    | SelectItem::ExprWithAlias { expr: e, .. }
                    | SelectItem::ExprWithAliases { expr: e, .. } => is_column(e, &column),
                });
                if !selects_user {
                    self.reason(format!(
                        "{what} reads differential privacy data but does not select the user identifier column {column}; it must return user-level records (SELECT {column}, ...)"
                    ));
                }
                if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
                    if !exprs.is_empty() && !exprs.iter().any(|e| is_column(e, &column)) {
                        self.reason(format!(
                            "{what} groups differential privacy data without the user identifier column {column}; it must return user-level records"
                        ));
                    }
                }
            }
        }
        Some(column)
    }

    /// Reports the aggregates of the final SELECT that DP does not support; with `require`,
    /// also a final SELECT without any aggregate.
    fn final_aggregates(&mut self, a: &Aggregates, require: bool) {
        for w in &a.windows {
            self.reason(format!(
                "Window function {} is not supported in the final SELECT of a differential privacy query",
                w.to_uppercase()
            ));
        }
        for d in &a.distinct {
            self.reason(format!(
                "{}(DISTINCT ...) is not supported in the final SELECT of a differential privacy query; only COUNT supports DISTINCT",
                d.to_uppercase()
            ));
        }
        for f in &a.unsupported {
            self.reason(format!(
                "Aggregate function {} is not supported in the final SELECT of a differential privacy query; use AVG, COUNT, COUNT DISTINCT, STDDEV or SUM",
                f.to_uppercase()
            ));
        }
        if require && a.supported == 0 && a.unsupported.is_empty() && a.distinct.is_empty() {
            self.reason(
                "The final SELECT of a differential privacy query must aggregate with AVG, COUNT, COUNT DISTINCT, STDDEV or SUM".to_string(),
            );
        }
    }

    /// Reports sub-queries inside `e` that read DP data (only FROM and JOIN may).
    fn no_dp_subqueries(&mut self, e: &Expr, clause: &str) {
        let mut names = SubqueryRelations::default();
        let _ = e.visit(&mut names);
        for n in names.relations {
            let dp = match self.ctes.get(&n) {
                Some(c) => c.is_some(),
                None => self.dp.contains_key(&n),
            };
            if dp {
                self.reason(format!(
                    "A sub-query in the {clause} reads differential privacy relation {n}; such relations may only be read in FROM and JOIN clauses (rewrite the sub-query as a CTE)"
                ));
            }
        }
    }
}

fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
            ObjectNamePart::Function(f) => f.name.value.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn factor_name(f: &TableFactor) -> String {
    match f {
        TableFactor::Table { name, .. } => object_name(name),
        TableFactor::Derived { alias: Some(a), .. } => a.name.value.to_lowercase(),
        _ => "a sub-query".to_string(),
    }
}

/// Whether `e` is the column `column` (bare or qualified, possibly parenthesised).
fn is_column(e: &Expr, column: &str) -> bool {
    match e {
        Expr::Identifier(i) => i.value.eq_ignore_ascii_case(column),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .is_some_and(|i| i.value.eq_ignore_ascii_case(column)),
        Expr::Nested(inner) => is_column(inner, column),
        _ => false,
    }
}

/// Whether a join condition equates the two sides' user identifier columns.
fn on_user_id(on: &Expr, left: &str, right: &str) -> bool {
    struct Find<'a>(&'a str, &'a str);
    impl Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } = e
            {
                if (is_column(left, self.0) && is_column(right, self.1))
                    || (is_column(left, self.1) && is_column(right, self.0))
                {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    on.visit(&mut Find(left, right)).is_break()
}

/// The part of a [`Visitor`] that keeps `self.depth`, how many (sub-)queries deep the visit is
/// (0 outside every sub-query).
macro_rules! counts_query_depth {
    () => {
        type Break = ();

        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }

        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
    };
}

/// The aggregate calls of an expression outside its sub-queries.
#[derive(Default)]
struct Aggregates {
    depth: usize,
    supported: usize,
    unsupported: Vec<String>,
    distinct: Vec<String>,
    windows: Vec<String>,
}

impl Visitor for Aggregates {
    counts_query_depth!();

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        let Expr::Function(f) = e else {
            return ControlFlow::Continue(());
        };
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let name = match f.name.0.last() {
            Some(ObjectNamePart::Identifier(i)) => i.value.to_lowercase(),
            _ => return ControlFlow::Continue(()),
        };
        if f.over.is_some() {
            self.windows.push(name);
            return ControlFlow::Continue(());
        }
        let distinct = matches!(
            &f.args,
            FunctionArguments::List(l) if l.duplicate_treatment
                == Some(datafusion::sql::sqlparser::ast::DuplicateTreatment::Distinct)
        );
        if DP_AGGREGATES.contains(&name.as_str()) {
            if distinct && name != "count" {
                self.distinct.push(name);
            } else {
                self.supported += 1;
            }
        } else if OTHER_AGGREGATES.contains(&name.as_str())
            || VARIANCE_AGGREGATES.contains(&name.as_str())
        {
            self.unsupported.push(name);
        }
        ControlFlow::Continue(())
    }
}

/// The relations read by the sub-queries of an expression.
#[derive(Default)]
struct SubqueryRelations {
    depth: usize,
    relations: Vec<String>,
}

impl Visitor for SubqueryRelations {
    counts_query_depth!();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if self.depth > 0 {
            self.relations.push(object_name(relation));
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dp() -> HashMap<String, String> {
        HashMap::from([
            ("impressions".to_string(), "user_id".to_string()),
            ("users".to_string(), "user_id".to_string()),
            ("other_ids".to_string(), "uid".to_string()),
        ])
    }

    fn status(sql: &str) -> (dto::AnalysisTemplateValidationStatus, Vec<String>) {
        let d = check(sql, &dp());
        let reasons = d
            .reasons
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.message)
            .collect();
        (d.status, reasons)
    }

    fn valid(sql: &str) {
        let (s, reasons) = status(sql);
        assert_eq!(
            s,
            dto::AnalysisTemplateValidationStatus::Valid,
            "{sql}: {reasons:?}"
        );
    }

    fn invalid(sql: &str, needle: &str) {
        let (s, reasons) = status(sql);
        assert_eq!(
            s,
            dto::AnalysisTemplateValidationStatus::Invalid,
            "{sql}: {reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains(needle)),
            "{sql}: no reason mentions {needle:?}: {reasons:?}"
        );
    }

    #[test]
    fn accepts_the_documented_structure() {
        valid("SELECT campaign, COUNT(DISTINCT user_id), SUM(spend) FROM impressions GROUP BY campaign");
        valid("SELECT AVG(spend), STDDEV(spend) FROM impressions WHERE spend > :min");
        valid(
            "WITH m AS (SELECT i.user_id, i.campaign, s.price FROM impressions i \
             JOIN users u ON u.user_id = i.user_id JOIN sales s ON s.email = u.email) \
             SELECT campaign, COUNT(DISTINCT user_id) FROM m GROUP BY campaign \
             ORDER BY COUNT(DISTINCT user_id) DESC LIMIT 5",
        );
        valid("SELECT COUNT(*) FROM impressions i JOIN users u USING (user_id)");
        valid("SELECT COUNT(*) FROM (SELECT user_id, spend FROM impressions) x");
        // a non-DP table may be filtered by a sub-query
        valid("SELECT COUNT(*) FROM impressions WHERE campaign IN (SELECT c FROM sales)");
    }

    #[test]
    fn rejects_other_final_aggregates() {
        invalid("SELECT MAX(spend) FROM impressions", "MAX");
        invalid("SELECT MEDIAN(spend), COUNT(*) FROM impressions", "MEDIAN");
        invalid(
            "SELECT SUM(DISTINCT spend) FROM impressions",
            "SUM(DISTINCT",
        );
        invalid("SELECT campaign FROM impressions", "must aggregate");
        invalid("SELECT * FROM impressions", "must aggregate");
        invalid(
            "SELECT COUNT(*) OVER (PARTITION BY campaign) FROM impressions",
            "Window function COUNT",
        );
        invalid(
            "SELECT campaign, COUNT(*) FROM impressions GROUP BY campaign ORDER BY MIN(spend)",
            "MIN",
        );
    }

    #[test]
    fn ctes_must_keep_user_level_rows() {
        invalid(
            "WITH c AS (SELECT campaign, spend FROM impressions) SELECT SUM(spend) FROM c",
            "CTE c",
        );
        valid(
            "WITH c AS (SELECT user_id, SUM(spend) AS s FROM impressions GROUP BY user_id) \
             SELECT SUM(s) FROM c",
        );
        invalid(
            "WITH c AS (SELECT user_id, SUM(spend) AS s FROM impressions GROUP BY campaign) \
             SELECT SUM(s) FROM c",
            "groups differential privacy data without",
        );
    }

    #[test]
    fn joins_between_dp_relations_need_the_user_identifier() {
        invalid(
            "SELECT COUNT(*) FROM impressions i JOIN users u ON i.campaign = u.campaign",
            "equi-join",
        );
        invalid(
            "SELECT COUNT(*) FROM impressions CROSS JOIN users",
            "CROSS JOIN",
        );
        invalid(
            "SELECT COUNT(*) FROM impressions i, users u WHERE i.user_id = u.user_id",
            "comma",
        );
    }

    #[test]
    fn dp_relations_only_in_from_and_join() {
        invalid(
            "SELECT COUNT(*) FROM sales WHERE email IN (SELECT email FROM users)",
            "WHERE clause reads differential privacy relation users",
        );
        invalid(
            "SELECT COUNT(*) FROM impressions WHERE spend > (SELECT AVG(spend) FROM impressions)",
            "WHERE clause",
        );
    }

    #[test]
    fn user_identifier_columns_must_agree() {
        invalid(
            "SELECT COUNT(*) FROM impressions i JOIN other_ids o ON i.user_id = o.uid",
            "different user identifier columns",
        );
    }

    #[test]
    fn unparseable_text_is_unable_to_validate() {
        for sql in ["SELECT ((( FROM impressions", "DELETE FROM impressions"] {
            let (s, _) = status(sql);
            assert_eq!(
                s,
                dto::AnalysisTemplateValidationStatus::UnableToValidate,
                "{sql}"
            );
        }
    }
}
