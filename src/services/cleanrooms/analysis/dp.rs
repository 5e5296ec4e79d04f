//! Differential privacy applied to an admitted query over differential-privacy tables: the
//! collaboration's DP policy (its `DIFFERENTIAL_PRIVACY` privacy budget template), what the
//! query spends, and the noise mechanism that produces its result.
//!
//! # Mechanism
//! The query passed [`crate::engine::policy::check_differential_privacy`], so its final SELECT
//! is one aggregation over user-level rows, each carrying the user identifier column. When it
//! runs, the emulator:
//! 1. **bounds each user's contribution**: numbers each user's rows (`ROW_NUMBER() OVER
//!    (PARTITION BY <identifier> ORDER BY <every column>)`) and keeps the first
//!    [`MAX_USER_CONTRIBUTION_LIMIT`] (16); the user contribution limit `L` is the largest
//!    number of rows a user still contributes rounded up to a power of two (1, 2, 4, 8 or 16),
//!    so that it only reveals an order of magnitude;
//! 2. **bounds values**: for `SUM`, `AVG` and `STDDEV` the aggregated expression (as a double)
//!    lies in `[min, max]`, its smallest and largest values over the bounded rows widened
//!    outwards to a power of two (`minColumnValue`/`maxColumnValue`; 0 when the data does not
//!    cross it); `M = max(|min|, |max|)`;
//! 3. **computes exact components per group** in one aggregation (groups ordered by their
//!    keys, so that a seed gives each group the same draws again): `COUNT`/`COUNT DISTINCT` as
//!    written; `SUM` → Σx; `AVG` → Σx and the count of x; `STDDEV` → Σx, Σx² and the count;
//! 4. **adds Laplace noise** to every component. With `U = usersNoisePerQuery` of the template,
//!    an aggregate of type t is charged `c_t / U` epsilon (§6.3: `c = 1` for COUNT,
//!    COUNT_DISTINCT and SUM, 2 for AVG, 3 for STDDEV) and each of its `c_t` components gets
//!    `ε = 1/U`. A user changes a count component by at most `L` (summed over all groups: its
//!    rows fall in at most L groups), Σx by `L·M` and Σx² by `L·M²`, so the Laplace scales are
//!    `b_count = L·U`, `b_sum = L·M·U`, `b_sumsq = L·M²·U` (scale = sensitivity / ε);
//! 5. **post-processes** (which costs no privacy): counts are rounded and clamped at 0; `AVG =
//!    Σx~ / max(1, n~)` clamped to `[min, max]`; `STDDEV = sqrt(max(0, (Σx²~ − (Σx~)²/n~) /
//!    (n~ − 1)))` with `n~ ≥ 2`;
//! 6. **finishes the query** with the noisy aggregation in place of the real one: whatever the
//!    final SELECT does above its aggregation (projection, `HAVING`, `ORDER BY`, `LIMIT`) runs
//!    over the noisy values.
//!
//! Expected absolute error of one value: `L·U` for `COUNT`/`COUNT DISTINCT` (plus at most 0.5
//! from rounding; clamping at 0 only reduces it), `L·M·U` for `SUM`; `AVG`/`STDDEV` errors
//! depend on the group size (roughly `L·M·U / n`).
//!
//! What this does not protect (documented limitations): the bounds `L`, `min` and `max` are
//! derived from the data (rounded to powers of two) and reported, as Clean Rooms reports its
//! sensitivity parameters; which groups appear in the output is not noised (a group exists when
//! some row has its key).

use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::errors::invalid_configuration;
use crate::services::cleanrooms::records::collaboration_children;
use std::collections::BTreeMap;
use std::sync::Arc;

use cleanrooms_emulator_api::cleanrooms::dto;
use datafusion::arrow::array::{Array, ArrayRef, Float64Array, RecordBatch};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::MemTable;
use datafusion::common::{Column, DataFusionError};
use datafusion::datasource::provider_as_source;
use datafusion::functions_aggregate::expr_fn::{count, max, min, sum};
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{
    cast as cast_expr, col, lit, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder,
};
use datafusion::prelude::SessionContext;

use crate::engine::noise::{laplace, query_rng};
use crate::engine::policy::{DpFunction, DpQuery};
use crate::error::AwsResult;
use crate::state::AppState;

/// The most rows one user may contribute to a query's aggregation.
pub const MAX_USER_CONTRIBUTION_LIMIT: u64 = 16;

/// Name of the row-number column that bounds contributions.
const ROW_NUMBER: &str = "__dp_row";
/// Name under which the noisy aggregation is read back.
const NOISY: &str = "__dp_noisy";

/// An admitted differential-privacy query: its final aggregation, the policy's noise level and
/// the seed of its noise.
#[derive(Debug, Clone)]
pub struct DpPlan {
    /// The checked final aggregation.
    pub query: DpQuery,
    /// `usersNoisePerQuery` of the collaboration's template.
    pub users_noise_per_query: u32,
    /// Seed of this query's noise generator.
    pub rng_seed: u64,
}

/// Budget weight `c_t` of an aggregate type (number of noisy components).
pub fn weight(f: DpFunction) -> u32 {
    match f {
        DpFunction::Count | DpFunction::CountDistinct | DpFunction::Sum => 1,
        DpFunction::Avg => 2,
        DpFunction::Stddev => 3,
    }
}

/// The model's name of an aggregate type.
pub fn aggregation_type(f: DpFunction) -> dto::DifferentialPrivacyAggregationType {
    use dto::DifferentialPrivacyAggregationType as T;
    match f {
        DpFunction::Count => T::Count,
        DpFunction::CountDistinct => T::CountDistinct,
        DpFunction::Sum => T::Sum,
        DpFunction::Avg => T::Avg,
        DpFunction::Stddev => T::Stddev,
    }
}

/// Number of aggregate calls of each type in the final SELECT.
pub fn aggregations(q: &DpQuery) -> Vec<(dto::DifferentialPrivacyAggregationType, u32)> {
    let mut counts: BTreeMap<DpFunction, u32> = BTreeMap::new();
    for a in &q.aggregates {
        *counts.entry(a.function).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(f, n)| (aggregation_type(f), n))
        .collect()
}

/// `usersNoisePerQuery` of collaboration `collaboration_id`'s DP policy.
///
/// # Errors
/// `ValidationException` (`INVALID_CONFIGURATION`) naming `DIFFERENTIAL_PRIVACY_POLICY_NOT_CONFIGURED`
/// when the collaboration has no DIFFERENTIAL_PRIVACY privacy budget template.
pub async fn users_noise_per_query(
    state: &AppState,
    collaboration_id: &str,
    table: &str,
) -> AwsResult<u32> {
    let templates: Vec<(i64, PrivacyBudgetTemplate)> =
        collaboration_children::<PrivacyBudgetTemplate>(state, collaboration_id).await?;
    templates
        .iter()
        .find_map(|(_, t)| match &t.parameters {
            dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(p) => {
                Some(p.users_noise_per_query.max(1) as u32)
            }
            _ => None,
        })
        .ok_or_else(|| {
            invalid_configuration(format!(
                "Table '{table}' has differential privacy, but collaboration {collaboration_id} has no DIFFERENTIAL_PRIVACY privacy budget template (DIFFERENTIAL_PRIVACY_POLICY_NOT_CONFIGURED); a member must create one before differential-privacy tables can be queried"
            ))
        })
}

/// Where the components of one aggregate are in the exact aggregation's output.
#[derive(Debug, Clone)]
struct Components {
    function: DpFunction,
    /// COUNT / COUNT DISTINCT: the count; else Σx.
    first: usize,
    /// AVG / STDDEV: the count of x.
    count: Option<usize>,
    /// STDDEV: Σx².
    squares: Option<usize>,
    /// SUM / AVG / STDDEV: min and max of x.
    range: Option<(usize, usize)>,
}

/// The exact aggregation over contribution-bounded rows, and where each component lands.
fn exact_plan(q: &DpQuery) -> Result<(LogicalPlan, Vec<Components>), DataFusionError> {
    let input = q.input.as_ref().clone();
    let order: Vec<_> = input
        .schema()
        .iter()
        .filter(|(_, f)| orderable(f.data_type()))
        .map(|(qualifier, f)| {
            Expr::Column(Column::new(qualifier.cloned(), f.name())).sort(true, true)
        })
        .collect();
    let numbered = row_number()
        .partition_by(vec![Expr::Column(q.user_column.clone())])
        .order_by(order)
        .build()?
        .alias(ROW_NUMBER);
    let bounded = LogicalPlanBuilder::from(input)
        .window(vec![numbered])?
        .filter(col(ROW_NUMBER).lt_eq(lit(MAX_USER_CONTRIBUTION_LIMIT)))?;
    let groups = q.group_expr.len();
    let mut exprs = vec![max(col(ROW_NUMBER)).alias("__dp_limit")];
    let mut layout = Vec::new();
    for (i, a) in q.aggregates.iter().enumerate() {
        let next = |exprs: &Vec<Expr>| groups + exprs.len();
        let name = |part: &str| format!("__dp_{i}_{part}");
        match (a.function, &a.argument) {
            (DpFunction::Count | DpFunction::CountDistinct, _) => {
                layout.push(Components {
                    function: a.function,
                    first: next(&exprs),
                    count: None,
                    squares: None,
                    range: None,
                });
                exprs.push(a.call.clone().alias(name("n")));
            }
            (f, Some(arg)) => {
                let x = cast_expr(arg.clone(), DataType::Float64);
                let mut c = Components {
                    function: f,
                    first: next(&exprs),
                    count: None,
                    squares: None,
                    range: None,
                };
                exprs.push(sum(x.clone()).alias(name("sum")));
                c.range = Some((next(&exprs), next(&exprs) + 1));
                exprs.push(min(x.clone()).alias(name("min")));
                exprs.push(max(x.clone()).alias(name("max")));
                if matches!(f, DpFunction::Avg | DpFunction::Stddev) {
                    c.count = Some(next(&exprs));
                    exprs.push(count(x.clone()).alias(name("n")));
                }
                if f == DpFunction::Stddev {
                    c.squares = Some(next(&exprs));
                    exprs.push(sum(x.clone() * x).alias(name("sq")));
                }
                layout.push(c);
            }
            (f, None) => {
                return Err(DataFusionError::Plan(format!(
                    "{} needs an argument",
                    f.sql()
                )))
            }
        }
    }
    let aggregated = bounded.aggregate(q.group_expr.clone(), exprs)?;
    // Groups in a fixed order, so a seed gives every group the same noise again.
    let keys: Vec<_> = aggregated
        .schema()
        .iter()
        .take(groups)
        .map(|(qualifier, f)| {
            Expr::Column(Column::new(qualifier.cloned(), f.name())).sort(true, true)
        })
        .collect();
    let plan = if keys.is_empty() {
        aggregated.build()?
    } else {
        aggregated.sort(keys)?.build()?
    };
    Ok((plan, layout))
}

/// Types the contribution bounding can order rows by (for a reproducible choice of rows).
fn orderable(t: &DataType) -> bool {
    t.is_primitive()
        || matches!(
            t,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Boolean
                | DataType::Date32
                | DataType::Date64
        )
}

/// The user contribution limit for users contributing at most `observed` rows: rounded up to
/// a power of two, at most [`MAX_USER_CONTRIBUTION_LIMIT`].
pub fn contribution_limit(observed: u64) -> u64 {
    observed
        .max(1)
        .next_power_of_two()
        .min(MAX_USER_CONTRIBUTION_LIMIT)
}

/// `v` widened away from zero to a power of two (0 stays 0).
fn widen(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return 0.0;
    }
    v.signum() * 2f64.powi(v.abs().log2().ceil() as i32)
}

/// The value bounds reported for an aggregate whose data spans `[lo, hi]`: widened outwards to
/// powers of two, including 0, never both 0.
pub fn value_bounds(lo: Option<f64>, hi: Option<f64>) -> (f64, f64) {
    let lo = lo.map_or(0.0, |v| widen(v.min(0.0)));
    let hi = hi.map_or(0.0, |v| widen(v.max(0.0)));
    if lo == 0.0 && hi == 0.0 {
        (0.0, 1.0)
    } else {
        (lo, hi)
    }
}

/// The Laplace scales of one aggregate's components for contribution limit `l`, value bound
/// `m = max(|min|, |max|)` and `users_noise` (each component gets ε = 1 / users_noise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scales {
    /// Of a count.
    pub count: f64,
    /// Of Σx.
    pub sum: f64,
    /// Of Σx².
    pub squares: f64,
}

impl Scales {
    /// Scales for `l`, `m` and `users_noise`.
    pub fn new(l: u64, m: f64, users_noise: u32) -> Self {
        let l = l as f64;
        let u = f64::from(users_noise);
        Self {
            count: l * u,
            sum: l * m * u,
            squares: l * m * m * u,
        }
    }
}

/// Runs `dp`'s exact aggregation in `ctx`, noises it, and returns the query plan with the noisy
/// aggregation in place of the real one, plus the sensitivity parameters used.
///
/// # Errors
/// Engine failures while computing the exact aggregation.
pub async fn apply(
    ctx: &SessionContext,
    plan: LogicalPlan,
    dp: &DpPlan,
) -> Result<(LogicalPlan, dto::DifferentialPrivacyParameters), DataFusionError> {
    let q = &dp.query;
    let (exact, layout) = exact_plan(q)?;
    let schema = Arc::new(exact.schema().as_arrow().clone());
    let batches = ctx.execute_logical_plan(exact).await?.collect().await?;
    let batch = concat_batches(&schema, &batches)?;
    let groups = q.group_expr.len();
    let column = |i: usize| -> Result<Float64Array, DataFusionError> {
        let c = cast(batch.column(i), &DataType::Float64)?;
        Ok(c.as_any()
            .downcast_ref::<Float64Array>()
            .cloned()
            .unwrap_or_else(|| Float64Array::from(vec![None::<f64>; batch.num_rows()])))
    };
    let limit_col = column(groups)?;
    let observed = limit_col.iter().flatten().fold(1.0f64, f64::max) as u64;
    let limit = contribution_limit(observed);

    let mut rng = query_rng(dp.rng_seed);
    let rows = batch.num_rows();
    let mut outputs: Vec<ArrayRef> = (0..groups).map(|i| Arc::clone(batch.column(i))).collect();
    let mut parameters = Vec::new();
    for (a, c) in q.aggregates.iter().zip(&layout) {
        let (bounds, m) = match c.range {
            Some((lo, hi)) => {
                let lo = column(lo)?.iter().flatten().reduce(f64::min);
                let hi = column(hi)?.iter().flatten().reduce(f64::max);
                let (lo, hi) = value_bounds(lo, hi);
                (Some((lo, hi)), lo.abs().max(hi.abs()))
            }
            None => (None, 1.0),
        };
        let scales = Scales::new(limit, m, dp.users_noise_per_query);
        let first = column(c.first)?;
        let count = c.count.map(column).transpose()?;
        let squares = c.squares.map(column).transpose()?;
        let mut values = Vec::with_capacity(rows);
        for r in 0..rows {
            let get = |a: &Float64Array| if a.is_null(r) { 0.0 } else { a.value(r) };
            let value = match c.function {
                DpFunction::Count | DpFunction::CountDistinct => (get(&first)
                    + laplace(&mut rng, scales.count))
                .round()
                .max(0.0),
                DpFunction::Sum => get(&first) + laplace(&mut rng, scales.sum),
                DpFunction::Avg => {
                    let s = get(&first) + laplace(&mut rng, scales.sum);
                    let n = count.as_ref().map_or(0.0, get) + laplace(&mut rng, scales.count);
                    let (lo, hi) = bounds.unwrap_or((0.0, 1.0));
                    (s / n.max(1.0)).clamp(lo, hi)
                }
                DpFunction::Stddev => {
                    let s = get(&first) + laplace(&mut rng, scales.sum);
                    let n = count.as_ref().map_or(0.0, get) + laplace(&mut rng, scales.count);
                    let sq = squares.as_ref().map_or(0.0, get) + laplace(&mut rng, scales.squares);
                    let (lo, hi) = bounds.unwrap_or((0.0, 1.0));
                    let n = n.max(2.0);
                    ((sq - s * s / n) / (n - 1.0)).max(0.0).sqrt().min(hi - lo)
                }
            };
            values.push(value);
        }
        let target = q.schema.field(outputs.len()).data_type().clone();
        let noisy: ArrayRef = Arc::new(Float64Array::from(values));
        outputs.push(cast(&noisy, &target)?);
        parameters.push(dto::DifferentialPrivacySensitivityParameters {
            aggregation_expression: a.expression.clone(),
            aggregation_type: aggregation_type(a.function),
            max_column_value: bounds.map(|(_, hi)| hi),
            min_column_value: bounds.map(|(lo, _)| lo),
            user_contribution_limit: limit as i32,
        });
    }
    let fields: Vec<Field> = outputs
        .iter()
        .enumerate()
        .map(|(i, a)| Field::new(format!("c{i}"), a.data_type().clone(), true))
        .collect();
    let noisy_schema = Arc::new(Schema::new(fields));
    let noisy = RecordBatch::try_new(Arc::clone(&noisy_schema), outputs)?;
    let table = MemTable::try_new(noisy_schema, vec![vec![noisy]])?;
    let projection: Vec<Expr> = q
        .schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, f))| {
            Expr::Column(Column::new(Some(NOISY), format!("c{i}")))
                .alias_qualified(qualifier.cloned(), f.name())
        })
        .collect();
    let replacement = LogicalPlanBuilder::scan(NOISY, provider_as_source(Arc::new(table)), None)?
        .project(projection)?
        .build()?;
    let plan = replace_final_aggregate(plan, replacement)?;
    Ok((
        plan,
        dto::DifferentialPrivacyParameters {
            sensitivity_parameters: parameters,
        },
    ))
}

/// `plan` with its final aggregation (below the steps the DP check admits above it) replaced by
/// `replacement`, which has the same output schema.
fn replace_final_aggregate(
    plan: LogicalPlan,
    replacement: LogicalPlan,
) -> Result<LogicalPlan, DataFusionError> {
    match plan {
        LogicalPlan::Aggregate(_) => Ok(replacement),
        LogicalPlan::Projection(_)
        | LogicalPlan::Filter(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Repartition(_)
        | LogicalPlan::Distinct(_) => {
            let input = plan
                .inputs()
                .first()
                .map(|i| (*i).clone())
                .ok_or_else(|| DataFusionError::Internal("a step without input".into()))?;
            let input = replace_final_aggregate(input, replacement)?;
            plan.with_new_exprs(plan.expressions(), vec![input])
        }
        other => Err(DataFusionError::Internal(format!(
            "no final aggregation below {}",
            other.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::policy::check_differential_privacy;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::util::pretty::pretty_format_batches;

    /// A session with `batch` registered as table `t`.
    fn session_with(batch: RecordBatch) -> SessionContext {
        let ctx = SessionContext::new();
        ctx.register_table(
            "t",
            Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap()),
        )
        .unwrap();
        ctx
    }

    /// Table `t(uid, g, x)`: user `a` has 3 rows in group `p`, users `b`..`e` one row each.
    fn session() -> SessionContext {
        let schema = Arc::new(Schema::new(vec![
            Field::new("uid", DataType::Utf8, false),
            Field::new("g", DataType::Utf8, false),
            Field::new("x", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "a", "a", "b", "c", "d", "e"])),
                Arc::new(StringArray::from(vec!["p", "p", "p", "p", "q", "q", "q"])),
                Arc::new(Int64Array::from(vec![5, 6, 7, 3, 10, 20, 30])),
            ],
        )
        .unwrap();
        session_with(batch)
    }

    async fn run(sql: &str, seed: u64) -> (String, dto::DifferentialPrivacyParameters) {
        let ctx = session();
        let plan = ctx.state().create_logical_plan(sql).await.unwrap();
        let tables = BTreeMap::from([("t".to_string(), "uid".to_string())]);
        let query = check_differential_privacy(&plan, &tables).unwrap().unwrap();
        let dp = DpPlan {
            query,
            users_noise_per_query: 10,
            rng_seed: seed,
        };
        let (noisy, params) = apply(&ctx, plan, &dp).await.unwrap();
        let batches = ctx
            .execute_logical_plan(noisy)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        (pretty_format_batches(&batches).unwrap().to_string(), params)
    }

    #[tokio::test]
    async fn noisy_results_keep_the_query_shape_and_report_the_parameters() {
        let sql = "SELECT g, COUNT(*) AS n, SUM(x) AS s, AVG(x) AS m FROM t GROUP BY g ORDER BY g";
        let (out, params) = run(sql, 1).await;
        assert!(out.contains("| g | n"), "{out}");
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("| p") || l.starts_with("| q"))
            .collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].starts_with("| p") && lines[1].starts_with("| q"),
            "{out}"
        );
        // User a's three rows are all kept (3 <= the cap); L = 3 rounded up = 4.
        let types: Vec<_> = params
            .sensitivity_parameters
            .iter()
            .map(|p| p.aggregation_type.as_str())
            .collect();
        assert_eq!(types, ["COUNT", "SUM", "AVG"]);
        assert!(params
            .sensitivity_parameters
            .iter()
            .all(|p| p.user_contribution_limit == 4));
        assert_eq!(params.sensitivity_parameters[1].min_column_value, Some(0.0));
        assert_eq!(
            params.sensitivity_parameters[1].max_column_value,
            Some(32.0)
        );
        assert_eq!(params.sensitivity_parameters[0].max_column_value, None);
        // Same seed, same noise; another seed, other noise.
        assert_eq!(run(sql, 1).await.0, out);
        assert_ne!(run(sql, 2).await.0, out);
    }

    #[tokio::test]
    async fn count_noise_has_the_documented_mean_absolute_error() {
        // Exact COUNT(*) is 7, L = 4, U = 10: E|error| = 40.
        let mut total = 0.0;
        let runs = 200;
        for seed in 0..runs {
            let (out, _) = run("SELECT COUNT(*) AS n FROM t", seed).await;
            let n: f64 = out
                .lines()
                .nth(3)
                .unwrap()
                .trim_matches(|c| c == '|' || c == ' ')
                .parse()
                .unwrap();
            total += (n - 7.0).abs();
        }
        let mean = total / runs as f64;
        assert!(mean > 20.0 && mean < 48.0, "mean |error| {mean}");
    }

    #[tokio::test]
    async fn having_and_projections_run_over_the_noisy_values() {
        let (out, _) = run(
            "SELECT DISTINCT COUNT(*) * 0 AS zero FROM t GROUP BY g HAVING COUNT(*) >= 0 \
             ORDER BY zero LIMIT 5",
            3,
        )
        .await;
        // Both groups have a zero (noisy counts are never negative); DISTINCT merges them.
        assert_eq!(out.matches("| 0    |").count(), 1, "{out}");
    }

    #[test]
    fn bounds_widen_to_powers_of_two_and_include_zero() {
        assert_eq!(value_bounds(Some(3.0), Some(99.0)), (0.0, 128.0));
        assert_eq!(value_bounds(Some(-5.0), Some(0.3)), (-8.0, 0.5));
        assert_eq!(value_bounds(None, None), (0.0, 1.0));
        assert_eq!(value_bounds(Some(0.0), Some(0.0)), (0.0, 1.0));
        assert_eq!(value_bounds(Some(4.0), Some(4.0)), (0.0, 4.0));
    }

    #[test]
    fn scales_are_sensitivity_over_the_per_component_epsilon() {
        let s = Scales::new(2, 128.0, 10);
        assert_eq!(s.count, 20.0);
        assert_eq!(s.sum, 2.0 * 128.0 * 10.0);
        assert_eq!(s.squares, 2.0 * 128.0 * 128.0 * 10.0);
    }

    #[tokio::test]
    async fn a_user_contributes_at_most_the_cap_of_rows() {
        // User z has 20 rows; only 16 of them reach the aggregation.
        let schema = Arc::new(Schema::new(vec![Field::new("uid", DataType::Utf8, false)]));
        let mut users = vec!["z"; 20];
        users.extend(["a", "b"]);
        let batch = RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(users))]).unwrap();
        let ctx = session_with(batch);
        let plan = ctx
            .state()
            .create_logical_plan("SELECT COUNT(*) FROM t")
            .await
            .unwrap();
        let tables = BTreeMap::from([("t".to_string(), "uid".to_string())]);
        let query = check_differential_privacy(&plan, &tables).unwrap().unwrap();
        let (exact, layout) = exact_plan(&query).unwrap();
        let batches = ctx
            .execute_logical_plan(exact)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let out = pretty_format_batches(&batches).unwrap().to_string();
        // Columns: the largest row number kept (16), then the bounded count (16 + 2).
        assert_eq!(layout[0].first, 1);
        assert!(out.contains("| 16 ") && out.contains("| 18 "), "{out}");
    }

    #[test]
    fn contribution_limits_are_powers_of_two_up_to_the_cap() {
        let limits: Vec<u64> = [0, 1, 2, 3, 5, 8, 9, 16, 17, 1000]
            .into_iter()
            .map(contribution_limit)
            .collect();
        assert_eq!(limits, [1, 1, 2, 4, 8, 8, 16, 16, 16, 16]);
    }

    #[test]
    fn weights_follow_the_consumption_model() {
        assert_eq!(weight(DpFunction::Count), 1);
        assert_eq!(weight(DpFunction::CountDistinct), 1);
        assert_eq!(weight(DpFunction::Sum), 1);
        assert_eq!(weight(DpFunction::Avg), 2);
        assert_eq!(weight(DpFunction::Stddev), 3);
    }
}
