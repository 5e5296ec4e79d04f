//! Store access to analysis logs and their exports.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::analysis_log::{AnalysisLog, AnalysisLogExport};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::decode;
use crate::state::AppState;
use crate::store::Write;
use cleanrooms_emulator_api::cleanrooms::dto;

/// The write that stores the log of one query.
pub fn put_log(region: &str, log: &AnalysisLog) -> AwsResult<Write> {
    records::put(
        &log.analysis_id,
        region,
        &log.runner_account_id,
        Some(&log.collaboration_id),
        log,
    )
}

/// The log of query `analysis_id`, if one was written.
///
/// # Errors
/// Store failures.
pub async fn load_log(state: &AppState, analysis_id: &str) -> AwsResult<Option<AnalysisLog>> {
    records::load::<AnalysisLog>(state, analysis_id).await
}

/// The write that stores an export.
pub fn put_export(region: &str, e: &AnalysisLogExport) -> AwsResult<Write> {
    records::put(&e.id, region, &e.account_id, Some(&e.membership_id), e)
}

/// Export `id` with its region, if it exists.
///
/// # Errors
/// Store failures.
pub async fn load_export(
    state: &AppState,
    id: &str,
) -> AwsResult<Option<(String, AnalysisLogExport)>> {
    match records::record::<AnalysisLogExport>(state, id).await? {
        Some(r) => Ok(Some((r.region.clone(), decode(&r)?))),
        None => Ok(None),
    }
}

/// The exports of membership `membership_id` with their sequence numbers, oldest first.
///
/// # Errors
/// Store failures.
pub async fn exports_of(
    state: &AppState,
    membership_id: &str,
) -> AwsResult<Vec<(i64, AnalysisLogExport)>> {
    records::membership_children::<AnalysisLogExport>(state, membership_id, None).await
}

/// Every export still `IN_PROGRESS`, in every region.
///
/// # Errors
/// Store failures.
pub async fn unfinished_exports(state: &AppState) -> AwsResult<Vec<AnalysisLogExport>> {
    let found = state
        .store()
        .query(&records::query::<AnalysisLogExport>())
        .await?;
    let mut out = Vec::new();
    for r in &found {
        let e: AnalysisLogExport = decode(r)?;
        if e.status == dto::AnalysisLogExportStatus::InProgress {
            out.push(e);
        }
    }
    Ok(out)
}
