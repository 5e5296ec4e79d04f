//! Protected queries: StartProtectedQuery, GetProtectedQuery, ListProtectedQueries and
//! UpdateProtectedQuery (cancellation).
//!
//! Only an ACTIVE member with CAN_QUERY may start one. The SQL (ad hoc, or an analysis template
//! of the collaboration with typed parameters) is planned and checked against the analysis rules
//! of every table it reads before anything is stored; then the query is stored SUBMITTED and runs
//! in the background, writing its results as CSV or Parquet under
//! `s3://<bucket>/<keyPrefix>/<queryId>/` in the emulator's S3. Queries are visible to the
//! membership that ran them.

use std::collections::BTreeMap;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::engine::SessionSettings;
use crate::error::AwsResult;
use crate::services::cleanrooms::analysis::delivery;
use crate::services::cleanrooms::analysis::parameters::{
    bind_query_string, bind_template, BoundSql,
};
use crate::services::cleanrooms::analysis::rules::Analysis;
use crate::services::cleanrooms::analysis::run::{put_query, spawn_query};
use crate::services::cleanrooms::analysis::{prepare, Purpose};
use crate::services::cleanrooms::budgets;
use crate::services::cleanrooms::errors::{
    access_denied, bad_token, conflict, invalid_configuration, invalid_field, not_found_msg,
    ConflictReason, ResourceType,
};
use crate::services::cleanrooms::model::{
    kinds, AnalysisTemplate, Collaboration, Member, Membership,
};
use crate::services::cleanrooms::protected_query::{is_terminal, StoredQuery};
use crate::services::cleanrooms::repo;
use crate::state::AppState;
use crate::util::{ids, pagination};

/// Documented worker range for SQL analyses (the model allows up to 1024).
const SQL_WORKERS: std::ops::RangeInclusive<i32> = 2..=400;

/// The runner's membership, collaboration and member record, checked: ACTIVE and CAN_QUERY.
pub async fn query_runner(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
) -> AwsResult<(Membership, Collaboration, Member)> {
    let m = repo::own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    repo::require_active(&m)?;
    let (collaboration, member) = repo::membership_context(state, &ctx.region, &m).await?;
    if !member.abilities.contains(&dto::MemberAbility::CanQuery) {
        return Err(access_denied(format!(
            "Account {} does not have the CAN_QUERY ability in collaboration {}",
            ctx.account_id, collaboration.id
        )));
    }
    Ok((m, collaboration, member))
}

/// The analysis template `arn` of collaboration `collaboration_id`.
pub async fn template_by_arn(
    state: &AppState,
    collaboration_id: &str,
    arn: &str,
    field: &str,
) -> AwsResult<AnalysisTemplate> {
    let id = arn.rsplit('/').next().unwrap_or_default();
    let t: Option<AnalysisTemplate> = match state.store().get(kinds::ANALYSIS_TEMPLATE, id).await? {
        Some(r) => Some(repo::decode(&r)?),
        None => None,
    };
    match t {
        Some(t) if t.arn == arn && t.collaboration_id == collaboration_id => {
            if t.format != dto::AnalysisFormat::Sql {
                return Err(invalid_field(
                    field,
                    format!("Analysis template {arn} is a {} template; only SQL templates can be run as protected queries", t.format.as_str()),
                ));
            }
            Ok(t)
        }
        _ => Err(invalid_field(
            field,
            format!("Analysis template {arn} does not exist in collaboration {collaboration_id}"),
        )),
    }
}

/// Engine settings from a compute configuration, validated as the service documents it:
/// CR.1X/CR.4X/CR.8X, 2..400 workers for SQL, at most 50 Spark properties (keys 1..200, values
/// 0..500 characters). `spark.sql.shuffle.partitions` sets the engine's target partitions and
/// `spark.sql.session.timeZone` its time zone; other properties are recorded and ignored.
pub fn compute_settings(
    field: &str,
    worker: Option<&dto::WorkerComputeConfiguration>,
) -> AwsResult<SessionSettings> {
    let mut settings = SessionSettings::default();
    let Some(w) = worker else {
        return Ok(settings);
    };
    if let Some(n) = w.number {
        if !SQL_WORKERS.contains(&n) {
            return Err(invalid_field(
                &format!("{field}.number"),
                format!(
                    "The number of workers for SQL analyses must be between 2 and 400, got {n}"
                ),
            ));
        }
    }
    if let Some(dto::WorkerComputeConfigurationProperties::Spark(props)) = &w.properties {
        if props.len() > 50 {
            return Err(invalid_field(
                &format!("{field}.properties.spark"),
                format!(
                    "At most 50 Spark properties are allowed, got {}",
                    props.len()
                ),
            ));
        }
        for (k, v) in props {
            if k.is_empty() || k.chars().count() > 200 {
                return Err(invalid_field(
                    &format!("{field}.properties.spark"),
                    format!("Spark property keys must be 1 to 200 characters long: '{k}'"),
                ));
            }
            if v.chars().count() > 500 {
                return Err(invalid_field(
                    &format!("{field}.properties.spark"),
                    format!("The value of Spark property '{k}' is longer than 500 characters"),
                ));
            }
        }
        if let Some(p) = props.get("spark.sql.shuffle.partitions") {
            let n: usize = p.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                invalid_field(
                    &format!("{field}.properties.spark"),
                    format!("spark.sql.shuffle.partitions must be a positive integer, got '{p}'"),
                )
            })?;
            settings.target_partitions = Some(n.min(1024));
        }
        if let Some(tz) = props.get("spark.sql.session.timeZone") {
            if tz
                .parse::<datafusion::arrow::array::timezone::Tz>()
                .is_err()
            {
                return Err(invalid_field(
                    &format!("{field}.properties.spark"),
                    format!("spark.sql.session.timeZone '{tz}' is not a known time zone"),
                ));
            }
            settings.time_zone = Some(tz.clone());
        }
    }
    Ok(settings)
}

/// The payer of query compute: `requested` when it is an active member responsible for query
/// compute; by default the member that is.
pub async fn compute_payer(
    state: &AppState,
    collaboration_id: &str,
    requested: Option<&str>,
    field: &str,
) -> AwsResult<Option<String>> {
    let members = repo::members(state, collaboration_id, None).await?;
    let payers: Vec<&Member> = members
        .iter()
        .map(|(_, m)| m)
        .filter(|m| {
            m.status == dto::MemberStatus::Active
                && m.payment_configuration.query_compute.is_responsible
        })
        .collect();
    match requested {
        Some(account) => {
            if payers.iter().any(|m| m.account_id == account) {
                Ok(Some(account.to_string()))
            } else {
                Err(invalid_field(
                    field,
                    format!("Account {account} is not an active member of the collaboration that pays for query compute"),
                ))
            }
        }
        None => Ok(payers.first().map(|m| m.account_id.clone())),
    }
}

/// The SQL of `sql_parameters`, bound: exactly one of queryString / analysisTemplateArn.
pub async fn bound_sql(
    state: &AppState,
    collaboration_id: &str,
    query_string: Option<&str>,
    template_arn: Option<&str>,
    parameters: Option<&BTreeMap<String, String>>,
    field: &str,
) -> AwsResult<(BoundSql, Option<AnalysisTemplate>)> {
    match (query_string, template_arn) {
        (Some(sql), None) => Ok((bind_query_string(sql, parameters)?, None)),
        (None, Some(arn)) => {
            let t = template_by_arn(
                state,
                collaboration_id,
                arn,
                &format!("{field}.analysisTemplateArn"),
            )
            .await?;
            Ok((bind_template(&t, parameters)?, Some(t)))
        }
        _ => Err(invalid_field(
            field,
            "Exactly one of queryString and analysisTemplateArn must be given",
        )),
    }
}

/// StartProtectedQuery.
pub async fn start_protected_query(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartProtectedQueryInput,
) -> AwsResult<dto::StartProtectedQueryOutput> {
    let (m, collaboration, _) = query_runner(state, ctx, &input.membership_identifier).await?;
    let sql_parameters = &input.sql_parameters;
    let (sql, template) = bound_sql(
        state,
        &collaboration.id,
        sql_parameters.query_string.as_deref(),
        sql_parameters.analysis_template_arn.as_deref(),
        sql_parameters.parameters.as_ref(),
        "sqlParameters",
    )
    .await?;
    let result_configuration = match &input.result_configuration {
        Some(r) => r.clone(),
        None => match &m.default_result_configuration {
            Some(d) => {
                let dto::MembershipProtectedQueryOutputConfiguration::S3(s3) =
                    &d.output_configuration;
                dto::ProtectedQueryResultConfiguration {
                    output_configuration: dto::ProtectedQueryOutputConfiguration::S3(s3.clone()),
                }
            }
            None => {
                return Err(invalid_configuration(format!(
                    "No resultConfiguration was given and membership {} has no defaultResultConfiguration",
                    m.id
                )))
            }
        },
    };
    let delivery = delivery::resolve(
        state,
        &collaboration,
        &m,
        &result_configuration.output_configuration,
    )
    .await?;
    let worker = input.compute_configuration.as_ref().map(|c| match c {
        dto::ComputeConfiguration::Worker(w) => w,
    });
    let settings = compute_settings("computeConfiguration.worker", worker)?;
    let payer = compute_payer(
        state,
        &collaboration.id,
        input.query_compute_payer_account_id.as_deref(),
        "queryComputePayerAccountId",
    )
    .await?;
    let receivers = delivery.receivers(&ctx.account_id);
    let prepared = prepare(
        state,
        &collaboration.id,
        Analysis {
            runner: &ctx.account_id,
            template: template.as_ref(),
        },
        &sql,
        Purpose::Results {
            receivers: &receivers,
        },
        &settings,
    )
    .await?;
    let id = ids::new_id();
    let stored = StoredQuery {
        query: dto::ProtectedQuery {
            compute_configuration: input.compute_configuration.clone(),
            create_time: state.now(),
            differential_privacy: None,
            error: None,
            id: id.clone(),
            membership_arn: m.arn.clone(),
            membership_id: m.id.clone(),
            query_compute_payer_account_id: payer,
            result: None,
            result_configuration: Some(result_configuration),
            sql_parameters: Some(input.sql_parameters.clone()),
            statistics: None,
            status: dto::ProtectedQueryStatus::Submitted,
        },
        account_id: ctx.account_id.clone(),
        collaboration_id: collaboration.id.clone(),
        populate: None,
        receivers: receivers.clone(),
    };
    let mut writes = vec![put_query(&ctx.region, &stored)?];
    for account in delivery.member_receivers() {
        writes.extend(receipt(state, &ctx.region, &collaboration.id, &account, &id).await?);
    }
    {
        // The budgets are checked and spent in the same commit that stores the query: a query
        // exists exactly when it has paid, and concurrent starts never overspend.
        let _guard = state.write_lock().await;
        writes.extend(budgets::charge_writes(state, &collaboration.id, &prepared).await?);
        state.store().commit(writes).await?;
    }
    spawn_query(state, &id, prepared, delivery);
    Ok(dto::StartProtectedQueryOutput {
        protected_query: stored.query,
    })
}

/// Store id of membership `membership_id`'s receipt of query `query_id`.
fn receipt_id(query_id: &str, membership_id: &str) -> String {
    format!("{query_id}/{membership_id}")
}

/// The receipt letting member `account` read query `query_id` through its own membership.
async fn receipt(
    state: &AppState,
    region: &str,
    collaboration_id: &str,
    account: &str,
    query_id: &str,
) -> AwsResult<Option<crate::store::Write>> {
    let Some(membership_id) = repo::member(state, collaboration_id, account)
        .await?
        .and_then(|m| m.membership_id)
    else {
        return Ok(None);
    };
    Ok(Some(repo::put(
        kinds::PROTECTED_QUERY_RECEIPT,
        &receipt_id(query_id, &membership_id),
        region,
        account,
        Some(&membership_id),
        &query_id,
    )?))
}

/// The query `id` run by, or received by, the caller's membership `membership_id`.
async fn own_query(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<StoredQuery> {
    let m = repo::own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    let received = state
        .store()
        .get(kinds::PROTECTED_QUERY_RECEIPT, &receipt_id(id, &m.id))
        .await?
        .is_some();
    match state.store().get(kinds::PROTECTED_QUERY, id).await? {
        Some(r)
            if (received || r.parent.as_deref() == Some(m.id.as_str()))
                && r.region == ctx.region =>
        {
            repo::decode(&r)
        }
        _ => Err(not_found_msg(
            ResourceType::Membership,
            id,
            format!(
                "Could not find protected query with id {id} in membership {}",
                m.id
            ),
        )),
    }
}

/// GetProtectedQuery.
pub async fn get_protected_query(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetProtectedQueryInput,
) -> AwsResult<dto::GetProtectedQueryOutput> {
    let q = own_query(
        state,
        ctx,
        &input.membership_identifier,
        &input.protected_query_identifier,
    )
    .await?;
    Ok(dto::GetProtectedQueryOutput {
        protected_query: q.query,
    })
}

/// ListProtectedQueries: the membership's queries in the order they were started, optionally
/// with one status.
pub async fn list_protected_queries(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListProtectedQueriesInput,
) -> AwsResult<dto::ListProtectedQueriesOutput> {
    let m = repo::own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    // The status filter is part of the list a token belongs to.
    let scope = format!(
        "protectedqueries:{}:{}",
        input.status.map_or("", |s| s.as_str()),
        m.id
    );
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let keep = |q: &StoredQuery| input.status.is_none_or(|s| q.query.status == s);
    // The membership's own queries, and the ones whose results it received, in start order.
    let mut items: Vec<(i64, dto::ProtectedQuerySummary)> =
        repo::membership_children::<StoredQuery>(state, kinds::PROTECTED_QUERY, &m.id, after)
            .await?
            .into_iter()
            .filter(|(_, q)| keep(q))
            .map(|(seq, q)| (seq, q.to_summary()))
            .collect();
    let receipts: Vec<(i64, String)> =
        repo::membership_children(state, kinds::PROTECTED_QUERY_RECEIPT, &m.id, after).await?;
    for (seq, query_id) in receipts {
        if let Some(r) = state.store().get(kinds::PROTECTED_QUERY, &query_id).await? {
            let q: StoredQuery = repo::decode(&r)?;
            if keep(&q) {
                items.push((seq, q.to_summary()));
            }
        }
    }
    items.sort_by_key(|(seq, _)| *seq);
    let (protected_queries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListProtectedQueriesOutput {
        next_token,
        protected_queries,
    })
}

/// UpdateProtectedQuery: `targetStatus=CANCELLED` stops a submitted or running query
/// (CANCELLING until the run has stopped, then CANCELLED). Finished queries cannot be cancelled.
pub async fn update_protected_query(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateProtectedQueryInput,
) -> AwsResult<dto::UpdateProtectedQueryOutput> {
    let _guard = state.write_lock().await;
    let mut q = own_query(
        state,
        ctx,
        &input.membership_identifier,
        &input.protected_query_identifier,
    )
    .await?;
    if q.query.membership_id != input.membership_identifier {
        return Err(access_denied(format!(
            "Only the member who ran protected query {} can cancel it; membership {} received its results",
            q.query.id, input.membership_identifier
        )));
    }
    if is_terminal(q.query.status) {
        return Err(conflict(
            ResourceType::Membership,
            &q.query.id,
            ConflictReason::InvalidState,
            format!(
                "Protected query {} is {} and can no longer be cancelled",
                q.query.id,
                q.query.status.as_str()
            ),
        ));
    }
    if q.query.status != dto::ProtectedQueryStatus::Cancelling {
        q.query.status = if state.jobs().is_running(&q.query.id) {
            dto::ProtectedQueryStatus::Cancelling
        } else {
            dto::ProtectedQueryStatus::Cancelled
        };
        state
            .store()
            .commit(vec![put_query(&ctx.region, &q)?])
            .await?;
    }
    state.jobs().cancel(&q.query.id);
    Ok(dto::UpdateProtectedQueryOutput {
        protected_query: q.query,
    })
}
