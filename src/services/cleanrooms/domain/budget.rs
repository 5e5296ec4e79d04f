//! Privacy budgets that are actually spent: the ledger of what analyses consumed from each
//! privacy budget template of a collaboration, the arithmetic that turns a template and its
//! ledger into the `PrivacyBudget` the list operations show, and [`spend`], which decides what
//! an analysis spends — all of it, or nothing when one budget it touches cannot pay
//! (`workflows::admit::commit_charged` stores the decision).
//!
//! - **Access budgets** (one template per configured table association or intermediate table):
//!   every analysis that reads the table — directly, or through an intermediate table built on
//!   it (transitively) — uses each of the budget's details once. A calendar detail with
//!   `autoRefresh=ENABLED` starts afresh at each new UTC day / ISO week (Monday) / month of the
//!   emulator clock; `DISABLED` grants its budget once, for the period in which the template was
//!   created or last updated, and stays exhausted after that; `LIFETIME` never refreshes.
//!   Updating an access budget template replaces its configuration entirely, so its ledger starts
//!   afresh; deleting it makes the table unlimited again.
//! - **Differential privacy** (one template per collaboration): a query spends
//!   `Σ_t n_t · w_t / usersNoisePerQuery` of epsilon, where `n_t` counts its DP aggregations of
//!   type `t` and `w_t` is the type's weight ([`AGGREGATION_WEIGHTS`]); `maxCount_t =
//!   floor(epsilon · usersNoisePerQuery / w_t)` and `remainingCount_t` is the same for the epsilon
//!   left. `CALENDAR_MONTH` refresh resets the spent epsilon at each month start; updating the
//!   template keeps what was spent and recomputes the counts.
//!
//! Spending is all-or-nothing across every budget an analysis touches and happens under the
//! state's write lock in one store commit, so concurrent analyses never overspend and a 2xx
//! means the spend is durable. Spent budget is not refunded when an analysis fails or is
//! cancelled.

use crate::services::cleanrooms::domain::privacy_budget_template::PrivacyBudgetTemplate;
use crate::services::cleanrooms::errors::invalid_configuration;
use std::collections::HashSet;

use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime, Time};

use crate::error::{AwsError, AwsResult};
use crate::util::time::format_iso8601;

type AggregationType = dto::DifferentialPrivacyAggregationType;

/// Per-call weight of each aggregation type: one call costs `weight / usersNoisePerQuery` of
/// epsilon (spec §6.3). Listed in the order budgets show them.
pub const AGGREGATION_WEIGHTS: &[(AggregationType, i32)] = &[
    (AggregationType::Avg, 2),
    (AggregationType::Count, 1),
    (AggregationType::CountDistinct, 1),
    (AggregationType::Sum, 1),
    (AggregationType::Stddev, 3),
];

/// Slack for floating-point sums of epsilon costs (costs are multiples of 1/100 at least).
const TOLERANCE: f64 = 1e-9;

/// What has been spent from one privacy budget template (kind
/// `records::kinds::PRIVACY_BUDGET_LEDGER`, id = template id). No record means nothing spent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ledger {
    /// Access budgets: one entry per budget parameter of the template, in its order.
    #[serde(default)]
    pub access: Vec<AccessSpend>,
    /// Differential privacy: epsilon spent since `epsilon_period_start`.
    #[serde(default)]
    pub epsilon_spent: f64,
    /// Differential privacy: start of the month `epsilon_spent` belongs to (`CALENDAR_MONTH`
    /// refresh), or `None` when the budget never refreshes.
    #[serde(default)]
    pub epsilon_period_start: Option<f64>,
}

/// Uses counted against one access budget detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessSpend {
    /// The detail's type when the uses were counted (a different type means a fresh detail).
    pub budget_type: dto::AccessBudgetType,
    /// Start of the period the uses belong to.
    pub period_start: f64,
    /// Number of uses.
    pub spent: i64,
}

/// Start and end (exclusive) of the calendar period containing `now` (UTC; weeks start on
/// Monday); `(now, None)` for `LIFETIME`.
pub fn period(budget_type: dto::AccessBudgetType, now: f64) -> (f64, Option<f64>) {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(now.floor() as i64) else {
        return (now, None);
    };
    let day = at.date();
    let midnight = |d: Date| d.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp() as f64;
    let (start, end) = match budget_type {
        dto::AccessBudgetType::Lifetime => return (now, None),
        dto::AccessBudgetType::CalendarDay => (Some(day), day.next_day()),
        dto::AccessBudgetType::CalendarWeek => {
            let monday = day.checked_sub(time::Duration::days(i64::from(
                day.weekday().number_days_from_monday(),
            )));
            (
                monday,
                monday.and_then(|d| d.checked_add(time::Duration::days(7))),
            )
        }
        dto::AccessBudgetType::CalendarMonth => {
            let first = Date::from_calendar_date(day.year(), day.month(), 1).ok();
            let next = if day.month() == Month::December {
                Date::from_calendar_date(day.year() + 1, Month::January, 1).ok()
            } else {
                Date::from_calendar_date(day.year(), day.month().next(), 1).ok()
            };
            (first, next)
        }
    };
    (start.map_or(now, midnight), end.map(midnight))
}

// ---------------------------------------------------------------------------------------------
// Differential privacy arithmetic
// ---------------------------------------------------------------------------------------------

/// Epsilon one analysis spends: `Σ n_t · w_t / noise`.
pub fn dp_cost(aggregations: &[(AggregationType, u32)], noise: i32) -> f64 {
    let units: f64 = aggregations
        .iter()
        .map(|(t, n)| f64::from(*n) * f64::from(weight(*t)))
        .sum();
    units / f64::from(noise.max(1))
}

fn weight(t: AggregationType) -> i32 {
    AGGREGATION_WEIGHTS
        .iter()
        .find(|(x, _)| *x == t)
        .map_or(1, |(_, w)| *w)
}

/// How many more aggregations of weight `w` fit in `epsilon - spent`.
fn count_within(epsilon: f64, spent: f64, noise: i32, w: i32) -> i32 {
    let left = ((epsilon - spent) * f64::from(noise) / f64::from(w) + TOLERANCE).floor();
    if left <= 0.0 {
        0
    } else {
        left.min(f64::from(i32::MAX)) as i32
    }
}

/// The DP budget of `epsilon` with `noise` users hidden per query, `spent` of it used.
pub fn dp_budget(epsilon: i32, noise: i32, spent: f64) -> dto::DifferentialPrivacyPrivacyBudget {
    let e = f64::from(epsilon);
    dto::DifferentialPrivacyPrivacyBudget {
        aggregations: AGGREGATION_WEIGHTS
            .iter()
            .map(|(t, w)| dto::DifferentialPrivacyPrivacyBudgetAggregation {
                max_count: count_within(e, 0.0, noise, *w),
                remaining_count: count_within(e, spent, noise, *w),
                r#type: *t,
            })
            .collect(),
        epsilon,
    }
}

/// `PreviewPrivacyImpact`: the aggregations a fresh budget of `epsilon` and `noise` allows.
pub fn preview(epsilon: i32, noise: i32) -> Vec<dto::DifferentialPrivacyPreviewAggregation> {
    dp_budget(epsilon, noise, 0.0)
        .aggregations
        .into_iter()
        .map(|a| dto::DifferentialPrivacyPreviewAggregation {
            max_count: a.max_count,
            r#type: a.r#type,
        })
        .collect()
}

/// Epsilon spent in the current period of a DP template refreshing as `refresh`.
fn epsilon_spent(
    refresh: dto::PrivacyBudgetTemplateAutoRefresh,
    ledger: Option<&Ledger>,
    now: f64,
) -> (f64, Option<f64>) {
    let current = match refresh {
        dto::PrivacyBudgetTemplateAutoRefresh::CalendarMonth => {
            Some(period(dto::AccessBudgetType::CalendarMonth, now).0)
        }
        dto::PrivacyBudgetTemplateAutoRefresh::None => None,
    };
    let spent = match ledger {
        Some(l) if current.is_none() || l.epsilon_period_start == current => l.epsilon_spent,
        _ => 0.0,
    };
    (spent, current)
}

// ---------------------------------------------------------------------------------------------
// Access budget arithmetic
// ---------------------------------------------------------------------------------------------

/// One access budget detail as of now.
#[derive(Debug, Clone, PartialEq)]
struct Detail {
    budget_type: dto::AccessBudgetType,
    budget: i32,
    auto_refresh: Option<dto::AutoRefreshMode>,
    start: f64,
    end: Option<f64>,
    spent: i64,
}

impl Detail {
    fn remaining(&self) -> i32 {
        let left = i64::from(self.budget) - self.spent;
        i32::try_from(left.max(0)).unwrap_or(i32::MAX)
    }

    fn to_dto(&self) -> dto::AccessBudgetDetails {
        dto::AccessBudgetDetails {
            auto_refresh: self.auto_refresh,
            budget: self.budget,
            budget_type: self.budget_type,
            end_time: self.end,
            remaining_budget: self.remaining(),
            start_time: self.start,
        }
    }

    /// How the detail's budget comes back, for messages.
    fn refresh_note(&self) -> String {
        match (self.budget_type, self.auto_refresh, self.end) {
            (dto::AccessBudgetType::Lifetime, _, _) => {
                "a LIFETIME budget never refreshes".to_string()
            }
            (_, Some(dto::AutoRefreshMode::Enabled), Some(end)) => {
                format!("it refreshes at {}", format_iso8601(end))
            }
            _ => "it does not refresh (autoRefresh DISABLED)".to_string(),
        }
    }
}

/// The details of access budget parameters `params` granted at `granted` (the template's last
/// configuration), with the uses in `ledger`, as of `now`.
fn details(
    params: &[dto::BudgetParameter],
    ledger: Option<&Ledger>,
    granted: f64,
    now: f64,
) -> Vec<Detail> {
    params
        .iter()
        .enumerate()
        .map(|(i, bp)| {
            let spend = ledger
                .and_then(|l| l.access.get(i))
                .filter(|s| s.budget_type == bp.r#type);
            let lifetime = bp.r#type == dto::AccessBudgetType::Lifetime;
            let auto_refresh =
                (!lifetime).then(|| bp.auto_refresh.unwrap_or(dto::AutoRefreshMode::Disabled));
            let (start, end, spent) = if lifetime {
                (granted, None, spend.map_or(0, |s| s.spent))
            } else if auto_refresh == Some(dto::AutoRefreshMode::Enabled) {
                let (start, end) = period(bp.r#type, now);
                let spent = spend
                    .filter(|s| s.period_start == start)
                    .map_or(0, |s| s.spent);
                (start, end, spent)
            } else {
                let (start, end) = period(bp.r#type, granted);
                (start, end, spend.map_or(0, |s| s.spent))
            };
            Detail {
                budget_type: bp.r#type,
                budget: bp.budget,
                auto_refresh,
                start,
                end,
                spent,
            }
        })
        .collect()
}

/// The budget template `t` governs, with `ledger` spent, as of `now`.
pub fn budget_of(
    t: &PrivacyBudgetTemplate,
    ledger: Option<&Ledger>,
    now: f64,
) -> dto::PrivacyBudget {
    match &t.parameters {
        dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(p) => {
            let (spent, _) = epsilon_spent(t.auto_refresh, ledger, now);
            dto::PrivacyBudget::DifferentialPrivacy(dp_budget(
                p.epsilon,
                p.users_noise_per_query,
                spent,
            ))
        }
        dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(p) => {
            let details: Vec<dto::AccessBudgetDetails> =
                details(&p.budget_parameters, ledger, t.update_time, now)
                    .iter()
                    .map(Detail::to_dto)
                    .collect();
            dto::PrivacyBudget::AccessBudget(dto::AccessBudget {
                aggregate_remaining_budget: details
                    .iter()
                    .map(|d| d.remaining_budget)
                    .min()
                    .unwrap_or(0),
                details,
                resource_arn: p.resource_arn.clone(),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Store access
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Charging
// ---------------------------------------------------------------------------------------------

/// A table an analysis uses, charged once per analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Touched {
    /// Association id or intermediate table id (the last segment of its budgeted ARN).
    pub id: String,
    /// Its name in the collaboration.
    pub name: String,
    /// The intermediate table through which the analysis reaches it, if not read directly.
    pub via: Option<String>,
}

/// A table an analysis reads: its id (association or intermediate table id), its name in the
/// collaboration and its base tables (for intermediate tables; already transitive).
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    /// Association id or intermediate table id.
    pub id: &'a str,
    /// Its name in the collaboration.
    pub name: &'a str,
    /// Its base tables.
    pub dependencies: &'a [dto::IntermediateTableDependency],
}

/// Every table the analysis reading `tables` uses: the tables themselves, then the base tables
/// of the intermediate ones (their dependencies are already transitive), each once.
pub fn touched(tables: &[Read<'_>]) -> Vec<Touched> {
    let direct = tables.iter().map(|t| Touched {
        id: t.id.to_string(),
        name: t.name.to_string(),
        via: None,
    });
    let indirect = tables.iter().flat_map(|t| {
        t.dependencies.iter().map(|d| Touched {
            id: d.id.clone(),
            name: d.name.clone(),
            via: Some(t.name.to_string()),
        })
    });
    let mut seen = HashSet::new();
    direct
        .chain(indirect)
        .filter(|t| seen.insert(t.id.clone()))
        .collect()
}

/// The id a budgeted resource ARN names (its last path segment).
pub fn resource_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or_default()
}

/// Decides what an analysis touching `touched` with DP aggregations `dp` spends from the
/// collaboration's templates (each with its ledger) at `now`: the new ledger of every template
/// it charges (by index in `templates`), or the rejection naming the first budget that cannot
/// pay. Nothing is decided partially.
pub fn spend(
    templates: &[(PrivacyBudgetTemplate, Option<Ledger>)],
    touched: &[Touched],
    dp: &[(AggregationType, u32)],
    now: f64,
) -> AwsResult<Vec<(usize, Ledger)>> {
    let mut out = Vec::new();
    for (i, (t, ledger)) in templates.iter().enumerate() {
        let dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(p) = &t.parameters else {
            continue;
        };
        let Some(table) = touched
            .iter()
            .find(|x| x.id == resource_id(&p.resource_arn))
        else {
            continue;
        };
        let current = details(&p.budget_parameters, ledger.as_ref(), t.update_time, now);
        if current.iter().any(|d| d.remaining() < 1) {
            return Err(access_exhausted(t, table, &current));
        }
        let mut next = ledger.clone().unwrap_or_default();
        next.access = current
            .iter()
            .map(|d| AccessSpend {
                budget_type: d.budget_type,
                period_start: d.start,
                spent: d.spent + 1,
            })
            .collect();
        out.push((i, next));
    }
    if dp.iter().any(|(_, n)| *n > 0) {
        let found = templates
            .iter()
            .enumerate()
            .find_map(|(i, (t, l))| match &t.parameters {
                dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(p) => {
                    Some((i, t, l, p))
                }
                dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(_) => None,
            });
        let Some((i, t, ledger, p)) = found else {
            return Err(invalid_configuration(
                "The analysis uses differentially private tables, but the collaboration has no DIFFERENTIAL_PRIVACY privacy budget template (DIFFERENTIAL_PRIVACY_POLICY_NOT_CONFIGURED); a member must create one before such analyses can run",
            ));
        };
        let (spent, period_start) = epsilon_spent(t.auto_refresh, ledger.as_ref(), now);
        let cost = dp_cost(dp, p.users_noise_per_query);
        let epsilon = f64::from(p.epsilon);
        if spent + cost > epsilon + TOLERANCE {
            return Err(epsilon_exhausted(t, p, dp, cost, spent, now));
        }
        let mut next = ledger.clone().unwrap_or_default();
        next.epsilon_spent = spent + cost;
        next.epsilon_period_start = period_start;
        out.push((i, next));
    }
    Ok(out)
}

fn access_exhausted(t: &PrivacyBudgetTemplate, table: &Touched, current: &[Detail]) -> AwsError {
    let whom = match &table.via {
        None => format!("Table '{}'", table.name),
        Some(via) => format!(
            "Intermediate table '{via}' is built on base table '{}', which",
            table.name
        ),
    };
    let state: Vec<String> = current
        .iter()
        .map(|d| {
            format!(
                "{} budget {}: {} remaining ({})",
                d.budget_type.as_str(),
                d.budget,
                d.remaining(),
                d.refresh_note()
            )
        })
        .collect();
    invalid_configuration(format!(
        "{whom} has no access budget left for this analysis (privacy budget template {} of account {}): {}. Wait for a refresh, or ask the owner to update the template",
        t.header.id,
        t.header.account_id,
        state.join("; ")
    ))
}

fn epsilon_exhausted(
    t: &PrivacyBudgetTemplate,
    p: &dto::DifferentialPrivacyTemplateParametersOutput,
    dp: &[(AggregationType, u32)],
    cost: f64,
    spent: f64,
    now: f64,
) -> AwsError {
    let calls: Vec<String> = dp
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{n} {}", t.as_str()))
        .collect();
    let refresh = match t.auto_refresh {
        dto::PrivacyBudgetTemplateAutoRefresh::CalendarMonth => format!(
            "it refreshes at {}",
            period(dto::AccessBudgetType::CalendarMonth, now)
                .1
                .map_or_else(|| "the next month".to_string(), format_iso8601)
        ),
        dto::PrivacyBudgetTemplateAutoRefresh::None => {
            "it does not refresh (autoRefresh NONE)".to_string()
        }
    };
    invalid_configuration(format!(
        "The collaboration's differential privacy budget (privacy budget template {}) cannot pay for this analysis: its aggregations ({}) cost epsilon {:.3} with usersNoisePerQuery {}, but only {:.3} of epsilon {} remains; {refresh}. Use fewer aggregations, or ask the template owner to raise epsilon or usersNoisePerQuery",
        t.header.id,
        calls.join(", "),
        cost,
        p.users_noise_per_query,
        (f64::from(p.epsilon) - spent).max(0.0),
        p.epsilon
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::cleanrooms::domain::child::ChildHeader;

    fn ts(y: i32, m: Month, d: u8, h: u8) -> f64 {
        Date::from_calendar_date(y, m, d)
            .unwrap()
            .with_hms(h, 30, 0)
            .unwrap()
            .assume_utc()
            .unix_timestamp() as f64
    }

    fn midnight(y: i32, m: Month, d: u8) -> f64 {
        ts(y, m, d, 0) - 1800.0
    }

    #[test]
    fn calendar_periods_are_utc_day_iso_week_and_month() {
        // Wednesday 2025-12-31 13:30 UTC
        let now = ts(2025, Month::December, 31, 13);
        assert_eq!(
            period(dto::AccessBudgetType::CalendarDay, now),
            (
                midnight(2025, Month::December, 31),
                Some(midnight(2026, Month::January, 1))
            )
        );
        assert_eq!(
            period(dto::AccessBudgetType::CalendarWeek, now),
            (
                midnight(2025, Month::December, 29),
                Some(midnight(2026, Month::January, 5))
            )
        );
        assert_eq!(
            period(dto::AccessBudgetType::CalendarMonth, now),
            (
                midnight(2025, Month::December, 1),
                Some(midnight(2026, Month::January, 1))
            )
        );
        // a Monday starts its own week; February of a leap year ends on the 29th
        let monday = ts(2024, Month::February, 26, 0);
        assert_eq!(
            period(dto::AccessBudgetType::CalendarWeek, monday).0,
            midnight(2024, Month::February, 26)
        );
        assert_eq!(
            period(dto::AccessBudgetType::CalendarMonth, monday).1,
            Some(midnight(2024, Month::March, 1))
        );
        // the last second of a period still belongs to it, midnight to the next
        let sunday_end = midnight(2024, Month::March, 4) - 1.0;
        assert_eq!(
            period(dto::AccessBudgetType::CalendarWeek, sunday_end).0,
            midnight(2024, Month::February, 26)
        );
        assert_eq!(
            period(
                dto::AccessBudgetType::CalendarDay,
                midnight(2024, Month::March, 4)
            )
            .0,
            midnight(2024, Month::March, 4)
        );
        assert_eq!(period(dto::AccessBudgetType::Lifetime, now), (now, None));
    }

    fn counts(b: &dto::DifferentialPrivacyPrivacyBudget) -> Vec<(AggregationType, i32, i32)> {
        b.aggregations
            .iter()
            .map(|a| (a.r#type, a.max_count, a.remaining_count))
            .collect()
    }

    /// `TYPE remaining/max` of each aggregation, comma-separated.
    fn shown(b: &dto::DifferentialPrivacyPrivacyBudget) -> String {
        b.aggregations
            .iter()
            .map(|a| {
                format!(
                    "{} {}/{}",
                    a.r#type.as_str(),
                    a.remaining_count,
                    a.max_count
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    #[test]
    fn dp_counts_grow_with_epsilon_and_noise() {
        assert_eq!(
            shown(&dp_budget(2, 10, 0.0)),
            "AVG 10/10, COUNT 20/20, COUNT_DISTINCT 20/20, SUM 20/20, STDDEV 6/6"
        );
        assert_eq!(counts(&dp_budget(20, 100, 0.0))[1].1, 2000);
        // preview = the fresh live budget
        let p = preview(2, 10);
        assert_eq!(
            p.iter()
                .map(|a| (a.r#type, a.max_count))
                .collect::<Vec<_>>(),
            counts(&dp_budget(2, 10, 0.0))
                .iter()
                .map(|(t, m, _)| (*t, *m))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn dp_spending_reduces_remaining_counts_exactly() {
        use AggregationType as T;
        // epsilon 1, noise 10: a COUNT costs 0.1; two COUNTs and an AVG cost 0.4
        let cost = dp_cost(&[(T::Count, 2), (T::Avg, 1)], 10);
        assert!((cost - 0.4).abs() < 1e-12);
        assert_eq!(
            shown(&dp_budget(1, 10, cost)),
            "AVG 3/5, COUNT 6/10, COUNT_DISTINCT 6/10, SUM 6/10, STDDEV 2/3"
        );
        // ten single COUNTs add up to exactly epsilon despite 0.1 not being exact in binary
        let spent = (0..10).fold(0.0, |s, _| s + dp_cost(&[(T::Count, 1)], 10));
        assert_eq!(dp_budget(1, 10, spent).aggregations[1].remaining_count, 0);
        assert_eq!(
            dp_budget(1, 10, spent - 0.1).aggregations[1].remaining_count,
            1
        );
        // overspent (epsilon lowered by an update) shows zero, never negative
        assert_eq!(dp_budget(1, 10, 3.0).aggregations[0].remaining_count, 0);
    }

    fn template(
        id: &str,
        parameters: dto::PrivacyBudgetTemplateParametersOutput,
    ) -> PrivacyBudgetTemplate {
        let dp = matches!(
            parameters,
            dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(_)
        );
        PrivacyBudgetTemplate {
            header: ChildHeader {
                id: id.into(),
                arn: format!(
                "arn:aws:cleanrooms:us-east-1:111111111111:membership/m/privacybudgettemplate/{id}"
            ),
                account_id: "111111111111".into(),
                membership_id: "m".into(),
                membership_arn: "arn:m".into(),
                collaboration_id: "c".into(),
            },
            collaboration_arn: "arn:c".into(),
            privacy_budget_type: if dp {
                dto::PrivacyBudgetType::DifferentialPrivacy
            } else {
                dto::PrivacyBudgetType::AccessBudget
            },
            auto_refresh: dto::PrivacyBudgetTemplateAutoRefresh::None,
            parameters,
            budget_id: format!("b-{id}"),
            create_time: GRANTED,
            update_time: GRANTED,
        }
    }

    /// Wednesday 2025-12-31 13:30 UTC.
    const GRANTED: f64 = 1_767_187_800.0;
    const DAY: f64 = 86_400.0;

    fn access(id: &str, table: &str, params: Vec<dto::BudgetParameter>) -> PrivacyBudgetTemplate {
        template(
            id,
            dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(
                dto::AccessBudgetsPrivacyTemplateParametersOutput {
                    budget_parameters: params,
                    resource_arn: format!(
                        "arn:aws:cleanrooms:us-east-1:111111111111:membership/m/configuredtableassociation/{table}"
                    ),
                },
            ),
        )
    }

    fn bp(
        t: dto::AccessBudgetType,
        budget: i32,
        refresh: Option<dto::AutoRefreshMode>,
    ) -> dto::BudgetParameter {
        dto::BudgetParameter {
            auto_refresh: refresh,
            budget,
            r#type: t,
        }
    }

    fn dp_template(
        epsilon: i32,
        noise: i32,
        refresh: dto::PrivacyBudgetTemplateAutoRefresh,
    ) -> PrivacyBudgetTemplate {
        let mut t = template(
            "dp",
            dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(
                dto::DifferentialPrivacyTemplateParametersOutput {
                    epsilon,
                    users_noise_per_query: noise,
                },
            ),
        );
        t.auto_refresh = refresh;
        t
    }

    fn table(id: &str) -> Touched {
        Touched {
            id: id.into(),
            name: format!("t_{id}"),
            via: None,
        }
    }

    /// Applies one analysis to `templates` in place; returns whether it was admitted.
    fn apply(
        templates: &mut [(PrivacyBudgetTemplate, Option<Ledger>)],
        touched: &[Touched],
        dp: &[(AggregationType, u32)],
        now: f64,
    ) -> Result<(), String> {
        match spend(templates, touched, dp, now) {
            Ok(charged) => {
                for (i, l) in charged {
                    templates[i].1 = Some(l);
                }
                Ok(())
            }
            Err(e) => Err(e.message),
        }
    }

    fn remaining(t: &(PrivacyBudgetTemplate, Option<Ledger>), now: f64) -> Vec<i32> {
        match budget_of(&t.0, t.1.as_ref(), now) {
            dto::PrivacyBudget::AccessBudget(a) => {
                a.details.iter().map(|d| d.remaining_budget).collect()
            }
            dto::PrivacyBudget::DifferentialPrivacy(d) => {
                d.aggregations.iter().map(|a| a.remaining_count).collect()
            }
        }
    }

    #[test]
    fn enabled_periods_refresh_disabled_and_lifetime_do_not() {
        use dto::AccessBudgetType as B;
        use dto::AutoRefreshMode as R;
        let mut ts = vec![
            (
                access("day", "a", vec![bp(B::CalendarDay, 2, Some(R::Enabled))]),
                None,
            ),
            (
                access("week", "b", vec![bp(B::CalendarWeek, 2, Some(R::Disabled))]),
                None,
            ),
            (access("life", "c", vec![bp(B::Lifetime, 2, None)]), None),
        ];
        let all = [table("a"), table("b"), table("c")];
        let now = GRANTED;
        apply(&mut ts, &all, &[], now).unwrap();
        apply(&mut ts, &all, &[], now + 60.0).unwrap();
        let err = apply(&mut ts, &all, &[], now + 120.0).unwrap_err();
        assert!(err.contains("t_a") && err.contains("0 remaining"), "{err}");
        assert!(
            err.contains("refreshes at 2026-01-01T00:00:00.000Z"),
            "{err}"
        );
        // the next day: only the ENABLED daily budget is back
        let tomorrow = now + DAY;
        assert_eq!(remaining(&ts[0], tomorrow), vec![2]);
        assert_eq!(remaining(&ts[1], tomorrow), vec![0]);
        assert_eq!(remaining(&ts[2], tomorrow), vec![0]);
        apply(&mut ts, &[table("a")], &[], tomorrow).unwrap();
        assert_eq!(remaining(&ts[0], tomorrow), vec![1]);
        // DISABLED keeps the period it was granted in; weeks later it is still exhausted
        let later = now + 30.0 * DAY;
        let week = budget_of(&ts[1].0, ts[1].1.as_ref(), later);
        let dto::PrivacyBudget::AccessBudget(w) = week else {
            panic!()
        };
        assert_eq!(w.details[0].start_time, period(B::CalendarWeek, GRANTED).0);
        assert_eq!(w.aggregate_remaining_budget, 0);
        let err = apply(&mut ts, &[table("b")], &[], later).unwrap_err();
        assert!(
            err.contains("does not refresh (autoRefresh DISABLED)"),
            "{err}"
        );
        let err = apply(&mut ts, &[table("c")], &[], later).unwrap_err();
        assert!(err.contains("LIFETIME budget never refreshes"), "{err}");
    }

    #[test]
    fn period_and_lifetime_details_are_both_spent_and_the_smaller_limits() {
        use dto::AccessBudgetType as B;
        use dto::AutoRefreshMode as R;
        let mut ts = vec![(
            access(
                "x",
                "a",
                vec![
                    bp(B::CalendarMonth, 5, Some(R::Enabled)),
                    bp(B::Lifetime, 3, None),
                ],
            ),
            None,
        )];
        for i in 0..3 {
            apply(&mut ts, &[table("a")], &[], GRANTED + f64::from(i)).unwrap();
        }
        assert_eq!(remaining(&ts[0], GRANTED), vec![2, 0]);
        let dto::PrivacyBudget::AccessBudget(a) = budget_of(&ts[0].0, ts[0].1.as_ref(), GRANTED)
        else {
            panic!()
        };
        assert_eq!(a.aggregate_remaining_budget, 0);
        assert!(apply(&mut ts, &[table("a")], &[], GRANTED + 40.0 * DAY).is_err());
    }

    #[test]
    fn rejection_spends_nothing_anywhere() {
        use dto::AccessBudgetType as B;
        let mut ts = vec![
            (access("ok", "a", vec![bp(B::Lifetime, 10, None)]), None),
            (access("empty", "b", vec![bp(B::Lifetime, 0, None)]), None),
            (
                dp_template(1, 10, dto::PrivacyBudgetTemplateAutoRefresh::None),
                None,
            ),
        ];
        let ledgers = |ts: &[(PrivacyBudgetTemplate, Option<Ledger>)]| {
            ts.iter().map(|t| t.1.clone()).collect::<Vec<_>>()
        };
        let before = ledgers(&ts);
        let err = apply(
            &mut ts,
            &[table("a"), table("b")],
            &[(AggregationType::Count, 1)],
            GRANTED,
        )
        .unwrap_err();
        assert!(err.contains("t_b"), "{err}");
        assert_eq!(ledgers(&ts), before);
        // DP too expensive: the access budget is not spent either
        let err = apply(
            &mut ts,
            &[table("a")],
            &[(AggregationType::Stddev, 4)],
            GRANTED,
        )
        .unwrap_err();
        assert!(
            err.contains("4 STDDEV") && err.contains("epsilon 1.200"),
            "{err}"
        );
        assert_eq!(ledgers(&ts), before);
    }

    #[test]
    fn dp_budget_is_charged_per_aggregation_and_refreshes_monthly() {
        use AggregationType as T;
        let mut ts = vec![(
            dp_template(1, 10, dto::PrivacyBudgetTemplateAutoRefresh::CalendarMonth),
            None,
        )];
        // 1 COUNT + 1 SUM + 1 AVG = (1 + 1 + 2) / 10 = 0.4
        let query = [(T::Count, 1), (T::Sum, 1), (T::Avg, 1)];
        apply(&mut ts, &[], &query, GRANTED).unwrap();
        apply(&mut ts, &[], &query, GRANTED).unwrap();
        assert_eq!(remaining(&ts[0], GRANTED), vec![1, 2, 2, 2, 0]);
        let err = apply(&mut ts, &[], &query, GRANTED).unwrap_err();
        assert!(err.contains("only 0.200 of epsilon 1 remains"), "{err}");
        assert!(
            err.contains("refreshes at 2026-01-01T00:00:00.000Z"),
            "{err}"
        );
        // what still fits is admitted
        apply(&mut ts, &[], &[(T::Count, 2)], GRANTED).unwrap();
        assert_eq!(remaining(&ts[0], GRANTED), vec![0, 0, 0, 0, 0]);
        // a new month refreshes it
        let january = GRANTED + DAY;
        assert_eq!(remaining(&ts[0], january), vec![5, 10, 10, 10, 3]);
        apply(&mut ts, &[], &query, january).unwrap();
        assert_eq!(remaining(&ts[0], january), vec![3, 6, 6, 6, 2]);
        // without refresh, a month later nothing comes back
        let mut none = vec![(
            dp_template(1, 10, dto::PrivacyBudgetTemplateAutoRefresh::None),
            None,
        )];
        apply(&mut none, &[], &[(T::Count, 10)], GRANTED).unwrap();
        assert_eq!(remaining(&none[0], january + 40.0 * DAY)[1], 0);
        // an analysis without DP aggregations does not touch the DP budget
        apply(&mut none, &[table("zzz")], &[], GRANTED).unwrap();
        // DP aggregations without a DP template are rejected
        let err = apply(&mut [], &[], &[(T::Count, 1)], GRANTED).unwrap_err();
        assert!(
            err.contains("DIFFERENTIAL_PRIVACY_POLICY_NOT_CONFIGURED"),
            "{err}"
        );
    }

    #[test]
    fn updating_the_dp_policy_keeps_the_spent_epsilon() {
        use AggregationType as T;
        let mut ts = vec![(
            dp_template(1, 10, dto::PrivacyBudgetTemplateAutoRefresh::None),
            None,
        )];
        apply(&mut ts, &[], &[(T::Count, 4)], GRANTED).unwrap(); // 0.4 spent
        let set = |t: &mut PrivacyBudgetTemplate, e, n| {
            t.parameters = dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(
                dto::DifferentialPrivacyTemplateParametersOutput {
                    epsilon: e,
                    users_noise_per_query: n,
                },
            );
        };
        // more epsilon: (2 - 0.4) * 10 COUNTs left of 20
        set(&mut ts[0].0, 2, 10);
        assert_eq!(remaining(&ts[0], GRANTED)[1], 16);
        // more noise: (1 - 0.4) * 20 COUNTs left of 20
        set(&mut ts[0].0, 1, 20);
        assert_eq!(remaining(&ts[0], GRANTED)[1], 12);
        // the next charge uses the new noise: 6 COUNTs cost 0.3
        apply(&mut ts, &[], &[(T::Count, 6)], GRANTED).unwrap();
        assert_eq!(remaining(&ts[0], GRANTED)[1], 6);
    }

    #[test]
    fn intermediate_tables_charge_themselves_and_every_base_once() {
        fn dep(id: &str, t: dto::BaseTableDependencyType) -> dto::IntermediateTableDependency {
            dto::IntermediateTableDependency {
                creator_account_id: "1".into(),
                id: id.into(),
                name: format!("n_{id}"),
                parent_type: dto::BaseTableParentType::Direct,
                r#type: t,
            }
        }
        use dto::BaseTableDependencyType as K;
        // t2 is built on t1 (built on a, b); the query reads t2 and a directly
        let deps = vec![
            dep("t1", K::IntermediateTable),
            dep("a", K::Table),
            dep("b", K::Table),
        ];
        let t2 = Read {
            id: "t2",
            name: "n_t2",
            dependencies: &deps,
        };
        let a = Read {
            id: "a",
            name: "n_a",
            dependencies: &[],
        };
        let got = touched(&[t2, a]);
        assert_eq!(
            got.iter()
                .map(|t| (t.id.as_str(), t.via.as_deref()))
                .collect::<Vec<_>>(),
            vec![
                ("t2", None),
                ("a", None),
                ("t1", Some("n_t2")),
                ("b", Some("n_t2"))
            ]
        );
        use dto::AccessBudgetType as B;
        let mut ts = vec![
            (access("1", "t2", vec![bp(B::Lifetime, 5, None)]), None),
            (access("2", "t1", vec![bp(B::Lifetime, 5, None)]), None),
            (access("3", "a", vec![bp(B::Lifetime, 5, None)]), None),
            (access("4", "b", vec![bp(B::Lifetime, 1, None)]), None),
        ];
        apply(&mut ts, &got, &[], GRANTED).unwrap();
        let left: Vec<i32> = ts.iter().map(|t| remaining(t, GRANTED)[0]).collect();
        assert_eq!(left, vec![4, 4, 4, 0]);
        let err = apply(&mut ts, &got, &[], GRANTED).unwrap_err();
        assert!(
            err.contains("Intermediate table 'n_t2' is built on base table 'n_b'"),
            "{err}"
        );
    }
}
