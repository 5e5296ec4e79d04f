//! Analysis logs and their exports. A protected query run while its runner's or payer's
//! membership has `queryLogStatus=ENABLED` leaves an [`AnalysisLog`]: who ran what, when, on
//! which tables, paid by whom, and how it ended. [`AnalysisLogExport`] writes one log to S3
//! (`IN_PROGRESS → SUCCESS | FAILED`, never cancelled); [`AnalysisLogExport::succeed`] and
//! [`AnalysisLogExport::fail`] are its only transitions.

use crate::services::cleanrooms::domain::protected_query::is_terminal;
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// One table an analysis read, as logged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoggedTable {
    /// The table's name in the collaboration.
    pub name: String,
    /// The account that contributes it.
    pub owner_account_id: String,
    /// `CONFIGURED_TABLE`, `INTERMEDIATE_TABLE`, …
    pub kind: String,
}

/// The log of one protected query (id = the query id, owner = the runner account, parent =
/// the collaboration id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisLog {
    /// The query (analysis) id.
    pub analysis_id: String,
    /// Always `PROTECTED_QUERY`.
    pub analysis_type: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// The runner's account.
    pub runner_account_id: String,
    /// The runner's membership.
    pub runner_membership_id: String,
    /// The account paying for query compute.
    pub payer_account_id: Option<String>,
    /// The memberships (runner's, payer's) whose query logging was on when the query started:
    /// the ones the log belongs to.
    pub logging_membership_ids: Vec<String>,
    /// The SQL run (from the query string or the analysis template).
    pub sql: String,
    /// The analysis template, when the query ran one.
    pub analysis_template_arn: Option<String>,
    /// The tables the analysis read.
    pub tables: Vec<LoggedTable>,
    /// Whether the analysis ran with differential privacy.
    pub differential_privacy: bool,
    /// Submission time (epoch seconds).
    pub submit_time: f64,
    /// The query's status as last recorded.
    pub status: dto::ProtectedQueryStatus,
    /// When the query ended (epoch seconds).
    pub end_time: Option<f64>,
    /// How long it ran, when it reached execution.
    pub duration_millis: Option<i64>,
    /// Its error, when it failed.
    pub error: Option<dto::ProtectedQueryError>,
}

impl AnalysisLog {
    /// Records how the query ended: its final `status`, run time and error, at `now`.
    pub fn settle(
        &mut self,
        status: dto::ProtectedQueryStatus,
        duration_millis: Option<i64>,
        error: Option<dto::ProtectedQueryError>,
        now: f64,
    ) {
        self.status = status;
        self.duration_millis = duration_millis;
        self.error = error;
        self.end_time = Some(now);
    }

    /// Whether the query is over and reached execution (a query cancelled before it started
    /// never ran and has nothing to export).
    pub fn exportable(&self) -> bool {
        is_terminal(self.status) && self.duration_millis.is_some()
    }
}

/// An analysis log export (owner = the exporting account, parent = its membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisLogExport {
    /// UUID.
    pub id: String,
    /// The exporting account.
    pub account_id: String,
    /// The exporting membership.
    pub membership_id: String,
    /// The query whose log is exported.
    pub analysis_id: String,
    /// Where the log goes.
    pub result_configuration: dto::AnalysisLogExportResultConfiguration,
    /// Status.
    pub status: dto::AnalysisLogExportStatus,
    /// Why it failed.
    pub error: Option<dto::AnalysisLogExportError>,
    /// The S3 key written, once it succeeded.
    #[serde(default)]
    pub key: Option<String>,
    /// Creation time (epoch seconds).
    pub create_time: f64,
    /// Last update time (epoch seconds).
    pub update_time: f64,
}

/// `AnalysisLogExportError` codes the emulator uses.
pub mod export_error_codes {
    /// The bucket does not exist (any more).
    pub const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";
    /// The bucket belongs to another account.
    pub const RESOURCE_ACCESS_DENIED: &str = "RESOURCE_ACCESS_DENIED";
    /// Anything else.
    pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";
}

impl AnalysisLogExport {
    /// The bucket the log goes to.
    pub fn bucket(&self) -> &str {
        &self.result_configuration.output_configuration.s3.bucket
    }

    /// The key prefix, without a trailing `/` (empty when none).
    pub fn key_prefix(&self) -> &str {
        self.result_configuration
            .output_configuration
            .s3
            .key_prefix
            .as_deref()
            .unwrap_or("")
            .trim_end_matches('/')
    }

    /// The object key the log is written to: `<keyPrefix>/<analysisId>/analysis-log-<exportId>.json`.
    pub fn object_key(&self) -> String {
        let file = format!("{}/analysis-log-{}.json", self.analysis_id, self.id);
        match self.key_prefix() {
            "" => file,
            prefix => format!("{prefix}/{file}"),
        }
    }

    /// Whether this export writes to the same place as `other` for the same query.
    pub fn same_destination(&self, analysis_id: &str, bucket: &str, key_prefix: &str) -> bool {
        self.analysis_id == analysis_id
            && self.bucket() == bucket
            && self.key_prefix() == key_prefix.trim_end_matches('/')
    }

    /// `IN_PROGRESS → SUCCESS` once `key` is written; `false` (and no change) from any other status.
    pub fn succeed(&mut self, key: String, now: f64) -> bool {
        if self.status != dto::AnalysisLogExportStatus::InProgress {
            return false;
        }
        self.status = dto::AnalysisLogExportStatus::Success;
        self.key = Some(key);
        self.update_time = now;
        true
    }

    /// `IN_PROGRESS → FAILED` with `code` and `message`; `false` (and no change) from any other status.
    pub fn fail(&mut self, code: &str, message: String, now: f64) -> bool {
        if self.status != dto::AnalysisLogExportStatus::InProgress {
            return false;
        }
        self.status = dto::AnalysisLogExportStatus::Failed;
        self.error = Some(dto::AnalysisLogExportError {
            code: code.to_string(),
            message,
        });
        self.update_time = now;
        true
    }

    /// The `AnalysisLogExport` shape.
    pub fn to_dto(&self) -> dto::AnalysisLogExport {
        dto::AnalysisLogExport {
            analysis_id: self.analysis_id.clone(),
            analysis_log_export_id: self.id.clone(),
            analysis_type: dto::LogExportAnalysisType::ProtectedQuery,
            create_time: self.create_time,
            error: self.error.clone(),
            membership_id: self.membership_id.clone(),
            result_configuration: self.result_configuration.clone(),
            status: self.status,
            update_time: self.update_time,
        }
    }

    /// The `AnalysisLogExportSummary` shape.
    pub fn to_summary(&self) -> dto::AnalysisLogExportSummary {
        dto::AnalysisLogExportSummary {
            analysis_id: self.analysis_id.clone(),
            analysis_log_export_id: self.id.clone(),
            analysis_type: dto::LogExportAnalysisType::ProtectedQuery,
            create_time: self.create_time,
            status: self.status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(prefix: Option<&str>) -> AnalysisLogExport {
        AnalysisLogExport {
            id: "e".into(),
            account_id: "111111111111".into(),
            membership_id: "m".into(),
            analysis_id: "q".into(),
            result_configuration: dto::AnalysisLogExportResultConfiguration {
                output_configuration: dto::AnalysisLogExportOutputConfiguration {
                    s3: dto::AnalysisLogExportS3OutputConfiguration {
                        bucket: "logs".into(),
                        key_prefix: prefix.map(str::to_string),
                    },
                },
            },
            status: dto::AnalysisLogExportStatus::InProgress,
            error: None,
            key: None,
            create_time: 0.0,
            update_time: 0.0,
        }
    }

    #[test]
    fn keys_and_transitions() {
        assert_eq!(export(None).object_key(), "q/analysis-log-e.json");
        assert_eq!(
            export(Some("a/b/")).object_key(),
            "a/b/q/analysis-log-e.json"
        );
        assert!(export(Some("a/b/")).same_destination("q", "logs", "a/b"));
        let mut e = export(None);
        assert!(e.succeed("k".into(), 1.0));
        assert!(!e.fail("X", "late".into(), 2.0));
        assert_eq!(e.status, dto::AnalysisLogExportStatus::Success);
    }
}
