//! Analysis log exports: StartAnalysisLogExport (through `workflows::analysis_logs`),
//! GetAnalysisLogExport and ListAnalysisLogExports (newest first, by `analysisIdentifier` and
//! `status`), each through the caller's own membership.

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::{bad_token, not_found_msg, ResourceType};
use crate::services::cleanrooms::ops::Operation;
use crate::services::cleanrooms::records::access::callers_membership;
use crate::services::cleanrooms::records::analysis_logs::{exports_of, load_export};
use crate::services::cleanrooms::workflows::analysis_logs;
use crate::state::AppState;
use crate::util::pagination;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

/// StartAnalysisLogExport.
impl Operation for dto::StartAnalysisLogExportInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let export = analysis_logs::start_export(state, ctx, input).await?;
        Ok(export.to_dto().into())
    }
}

/// GetAnalysisLogExport: an export of the caller's membership.
impl Operation for dto::GetAnalysisLogExportInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let m = callers_membership(state, ctx, &input.membership_identifier).await?;
        let id = &input.analysis_log_export_identifier;
        match load_export(state, id).await? {
            Some((_, e)) if e.membership_id == m.id => Ok(e.to_dto().into()),
            _ => Err(not_found_msg(
                ResourceType::Membership,
                id,
                format!(
                    "Could not find analysis log export with id {id} in membership {}",
                    m.id
                ),
            )),
        }
    }
}

/// ListAnalysisLogExports: the caller's membership's exports, newest first.
impl Operation for dto::ListAnalysisLogExportsInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let m = callers_membership(state, ctx, &input.membership_identifier).await?;
        let scope = format!(
            "analysislogexports:{}:{}:{}",
            m.id,
            input.analysis_identifier.as_deref().unwrap_or("*"),
            input.status.map_or("*", |s| s.as_str())
        );
        let before = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
        let mut items: Vec<(i64, dto::AnalysisLogExportSummary)> = exports_of(state, &m.id)
            .await?
            .into_iter()
            .filter(|(seq, e)| {
                before.is_none_or(|b| *seq < b)
                    && input
                        .analysis_identifier
                        .as_deref()
                        .is_none_or(|a| a == e.analysis_id)
                    && input.status.is_none_or(|s| s == e.status)
            })
            .map(|(seq, e)| (seq, e.to_summary()))
            .collect();
        items.reverse();
        let (analysis_log_exports, next_token) =
            pagination::page(&scope, items, pagination::page_size(input.max_results));
        Ok((analysis_log_exports, next_token).into())
    }
}
