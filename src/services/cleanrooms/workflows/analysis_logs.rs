//! Analysis logs, top-down: [`submission_log`] starts the log of a protected query when the
//! runner's or payer's membership has query logging on (committed with the query),
//! [`settled_log`] completes it when the query settles (committed with the settle),
//! [`start_export`] checks and records a StartAnalysisLogExport, and [`run_export`] writes the
//! log to the emulator's S3 through the S3 facade and settles the export (`SUCCESS` or
//! `FAILED`). [`resume_exports`] runs, at startup, the exports a stopped process left
//! `IN_PROGRESS`.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::analysis_log::{
    export_error_codes, AnalysisLog, AnalysisLogExport, LoggedTable,
};
use crate::services::cleanrooms::domain::membership::Membership;
use crate::services::cleanrooms::domain::protected_query::StoredQuery;
use crate::services::cleanrooms::errors::{
    access_denied, invalid_configuration, not_found_msg, ResourceType,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::active_own_membership;
use crate::services::cleanrooms::records::analysis_logs::{
    exports_of, load_export, load_log, put_export, put_log, unfinished_exports,
};
use crate::services::cleanrooms::records::memberships_of;
use crate::services::cleanrooms::workflows::admit::Admitted;
use crate::services::s3::facade::{get_bucket, put_local_file};
use crate::state::AppState;
use crate::store::Write;
use crate::util::ids;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// The write starting the log of query `query_id`, which `runner` submitted and which was
/// admitted as `admitted`, when the runner's or the payer's membership has
/// `queryLogStatus=ENABLED`; `None` when nobody logs it.
///
/// # Errors
/// Store failures.
pub async fn submission_log(
    state: &AppState,
    region: &str,
    (query_id, runner): (&str, &Membership),
    admitted: &Admitted,
) -> AwsResult<Option<Write>> {
    let enabled = |m: &Membership| m.query_log_status == dto::MembershipQueryLogStatus::Enabled;
    let mut logging = Vec::new();
    if enabled(runner) {
        logging.push(runner.id.clone());
    }
    if let Some(payer) = admitted
        .payer
        .as_deref()
        .filter(|p| *p != runner.account_id)
    {
        for m in memberships_of(state, &runner.collaboration_id).await? {
            if m.account_id == payer && m.is_active() && enabled(&m) {
                logging.push(m.id.clone());
            }
        }
    }
    if logging.is_empty() {
        return Ok(None);
    }
    let log = AnalysisLog {
        analysis_id: query_id.to_string(),
        analysis_type: dto::LogExportAnalysisType::ProtectedQuery
            .as_str()
            .to_string(),
        collaboration_id: runner.collaboration_id.clone(),
        runner_account_id: runner.account_id.clone(),
        runner_membership_id: runner.id.clone(),
        payer_account_id: admitted.payer.clone(),
        logging_membership_ids: logging,
        sql: admitted.sql.clone(),
        analysis_template_arn: admitted.template_arn.clone(),
        tables: admitted
            .prepared
            .tables
            .iter()
            .map(|t| LoggedTable {
                name: t.name.clone(),
                owner_account_id: t.owner.clone(),
                kind: t.kind.as_str().to_string(),
            })
            .collect(),
        differential_privacy: admitted.prepared.dp.is_some(),
        submit_time: state.now(),
        status: dto::ProtectedQueryStatus::Submitted,
        end_time: None,
        duration_millis: None,
        error: None,
    };
    Ok(Some(put_log(region, &log)?))
}

/// The write completing the log of `q` (which just settled), if it has one.
///
/// # Errors
/// Store failures.
pub async fn settled_log(
    state: &AppState,
    region: &str,
    q: &StoredQuery,
) -> AwsResult<Option<Write>> {
    let Some(mut log) = load_log(state, &q.query.id).await? else {
        return Ok(None);
    };
    log.settle(
        q.query.status,
        q.query
            .statistics
            .as_ref()
            .and_then(|s| s.total_duration_in_millis),
        q.query.error.clone(),
        state.now(),
    );
    Ok(Some(put_log(region, &log)?))
}

/// StartAnalysisLogExport: the caller's active membership with `CAN_EXPORT_QUERY_ANALYSIS_LOG`,
/// the query's runner or payer, a log that belongs to that membership, a query that ran and
/// ended without differential privacy, a bucket in the collaboration's region, and no other
/// export of the same query to the same bucket and prefix in progress. Records the export
/// `IN_PROGRESS` and starts writing it.
///
/// # Errors
/// `ResourceNotFoundException` for another account's membership or an unknown query;
/// `AccessDeniedException` without the ability or for a member that neither ran nor paid for
/// the query; `ValidationException` for the other rules; store failures.
pub async fn start_export(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartAnalysisLogExportInput,
) -> AwsResult<AnalysisLogExport> {
    let export = {
        let _guard = state.write_lock().await;
        let (m, c, member) =
            active_own_membership(state, ctx, &input.membership_identifier).await?;
        if !member
            .abilities
            .contains(&dto::MemberAbility::CanExportQueryAnalysisLog)
        {
            return Err(access_denied(format!(
                "Account {} does not have the CAN_EXPORT_QUERY_ANALYSIS_LOG ability in collaboration {}",
                ctx.account_id, c.id
            )));
        }
        let q = match records::load::<StoredQuery>(state, &input.analysis_id).await? {
            Some(q) if q.collaboration_id == c.id => q,
            _ => {
                return Err(not_found_msg(
                    ResourceType::Membership,
                    &input.analysis_id,
                    format!(
                        "Could not find protected query with id {} in collaboration {}",
                        input.analysis_id, c.id
                    ),
                ))
            }
        };
        let payer = q.query.query_compute_payer_account_id.as_deref();
        if q.account_id != ctx.account_id && payer != Some(ctx.account_id.as_str()) {
            return Err(access_denied(format!(
                "Account {} neither ran nor paid for protected query {}; only its runner or payer can export its analysis log",
                ctx.account_id, q.query.id
            )));
        }
        let log = load_log(state, &q.query.id)
            .await?
            .filter(|l| l.logging_membership_ids.contains(&m.id))
            .ok_or_else(|| {
                invalid_configuration(format!(
                    "Protected query {} has no analysis log for membership {}: its queryLogStatus was DISABLED when the query ran",
                    q.query.id, m.id
                ))
            })?;
        if !log.exportable() {
            return Err(invalid_configuration(format!(
                "Protected query {} is {}; only the log of a query that ran and ended can be exported",
                q.query.id,
                q.query.status.as_str()
            )));
        }
        if log.differential_privacy {
            return Err(invalid_configuration(format!(
                "Protected query {} used differential privacy; its analysis log cannot be exported",
                q.query.id
            )));
        }
        let s3 = &input.result_configuration.output_configuration.s3;
        if let Some(bucket) = get_bucket(state.store(), &s3.bucket).await? {
            if bucket.region != ctx.region {
                return Err(invalid_configuration(format!(
                    "Bucket {} is in {}; analysis logs can only be exported to a bucket in the collaboration's region {}",
                    s3.bucket, bucket.region, ctx.region
                )));
            }
        }
        let prefix = s3.key_prefix.as_deref().unwrap_or("");
        if let Some((_, busy)) = exports_of(state, &m.id).await?.iter().find(|(_, e)| {
            e.status == dto::AnalysisLogExportStatus::InProgress
                && e.same_destination(&q.query.id, &s3.bucket, prefix)
        }) {
            return Err(invalid_configuration(format!(
                "Analysis log export {} of protected query {} to s3://{}/{} is still in progress",
                busy.id, q.query.id, s3.bucket, prefix
            )));
        }
        let now = state.now();
        let export = AnalysisLogExport {
            id: ids::new_id(),
            account_id: ctx.account_id.clone(),
            membership_id: m.id.clone(),
            analysis_id: q.query.id.clone(),
            result_configuration: input.result_configuration,
            status: dto::AnalysisLogExportStatus::InProgress,
            error: None,
            key: None,
            create_time: now,
            update_time: now,
        };
        state
            .store()
            .commit(vec![put_export(&ctx.region, &export)?])
            .await?;
        export
    };
    spawn_export(state, &export.id);
    Ok(export)
}

/// Writes export `id` in the background.
fn spawn_export(state: &AppState, id: &str) {
    let state = state.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        if let Err(e) = run_export(&state, &id).await {
            tracing::error!(export = %id, error = %e.message, "analysis log export bookkeeping failed");
        }
    });
}

/// Writes the log of export `id` to its bucket as the exporting account and records the
/// outcome: `SUCCESS`, or `FAILED` with the reason (bucket missing, bucket of another account,
/// log gone).
///
/// # Errors
/// Store failures recording the outcome.
pub async fn run_export(state: &AppState, id: &str) -> AwsResult<()> {
    let Some((_, export)) = load_export(state, id).await? else {
        return Ok(());
    };
    if export.status != dto::AnalysisLogExportStatus::InProgress {
        return Ok(());
    }
    let key = export.object_key();
    let outcome = write_log(state, &export, &key).await;
    let _guard = state.write_lock().await;
    let Some((region, mut export)) = load_export(state, id).await? else {
        return Ok(());
    };
    let now = state.now();
    let changed = match outcome {
        Ok(()) => export.succeed(key, now),
        Err((code, message)) => export.fail(code, message, now),
    };
    if changed {
        state
            .store()
            .commit(vec![put_export(&region, &export)?])
            .await?;
    }
    Ok(())
}

/// Puts the log as one JSON object at `key` of the export's bucket.
async fn write_log(
    state: &AppState,
    export: &AnalysisLogExport,
    key: &str,
) -> Result<(), (&'static str, String)> {
    let internal = |e: String| (export_error_codes::INTERNAL_ERROR, e);
    let log = load_log(state, &export.analysis_id)
        .await
        .map_err(|e| internal(e.message))?
        .ok_or_else(|| {
            internal(format!(
                "The analysis log of {} is gone",
                export.analysis_id
            ))
        })?;
    let body = serde_json::to_vec_pretty(&log).map_err(|e| internal(e.to_string()))?;
    let staging = state.data_dir().join("s3-tmp");
    std::fs::create_dir_all(&staging).map_err(|e| internal(e.to_string()))?;
    let path = staging.join(format!("analysis-log-{}.json", export.id));
    std::fs::write(&path, body).map_err(|e| internal(e.to_string()))?;
    let put = put_local_file(
        state,
        &export.account_id,
        export.bucket(),
        key,
        &path,
        Some("application/json"),
    )
    .await;
    let _ = std::fs::remove_file(&path);
    put.map(|_| ()).map_err(|e| {
        let code = match e.code.as_str() {
            "NoSuchBucket" => export_error_codes::RESOURCE_NOT_FOUND,
            "AccessDenied" => export_error_codes::RESOURCE_ACCESS_DENIED,
            _ => export_error_codes::INTERNAL_ERROR,
        };
        (
            code,
            format!(
                "The analysis log could not be written to s3://{}/{key}: {}",
                export.bucket(),
                e.message
            ),
        )
    })
}

/// At startup: runs again every export a stopped process left `IN_PROGRESS`.
///
/// # Errors
/// Store failures.
pub async fn resume_exports(state: &AppState) -> AwsResult<()> {
    for e in unfinished_exports(state).await? {
        spawn_export(state, &e.id);
    }
    Ok(())
}
