//! The domain of table services: services and trigger modes, the records the API keeps (lakes,
//! databases, table services, runs, savepoints) and the state machine of spec §8, as pure
//! functions that say whether a transition is allowed and what it leads to.
//!
//! Enum values arrive verbatim from the SDK (`'clean'`), so parsing is case-insensitive; they are
//! stored and shown in canonical upper case with their wire prefixes
//! (`TABLE_SERVICE_STATUS_…`, `TABLE_SERVICE_RUN_STATUS_…`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A table service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ServiceKind {
    /// Z-order clustering (`OPTIMIZE ZORDER BY`).
    Cluster,
    /// Small-file compaction (`OPTIMIZE`).
    Compact,
    /// Removal of unreferenced files (`VACUUM`), keeping savepoints.
    Clean,
    /// Sync of the table's definition into the Glue Data Catalog.
    Metasync,
    /// A savepoint of the current version.
    Autosavepoint,
    /// Restore to the latest savepoint (or a given version).
    Restore,
}

impl ServiceKind {
    /// Every service, in the order the SDK documents them.
    pub const ALL: [Self; 6] = [
        Self::Cluster,
        Self::Compact,
        Self::Clean,
        Self::Metasync,
        Self::Autosavepoint,
        Self::Restore,
    ];

    /// Parses a service name case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The canonical name (`COMPACT`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cluster => "CLUSTER",
            Self::Compact => "COMPACT",
            Self::Clean => "CLEAN",
            Self::Metasync => "METASYNC",
            Self::Autosavepoint => "AUTOSAVEPOINT",
            Self::Restore => "RESTORE",
        }
    }

    /// Whether a RUN needs a service record first (AUTOSAVEPOINT and RESTORE run with defaults).
    pub fn needs_record_to_run(self) -> bool {
        !matches!(self, Self::Autosavepoint | Self::Restore)
    }

    /// The option keys this service understands.
    pub fn option_keys(self) -> &'static [&'static str] {
        match self {
            Self::Cluster => &[
                "cluster.field.names",
                "cluster.layout.strategy",
                "cluster.frequency",
            ],
            Self::Compact => &["compaction.max.bytes", "compaction.frequency"],
            Self::Clean => &["cleaner.retention.days", "cleaner.frequency"],
            Self::Metasync => &["metasync.catalogs", "metasync.frequency"],
            Self::Autosavepoint => &[
                "autosavepoint.interval.hours",
                "autosavepoint.max.savepoints",
            ],
            Self::Restore => &[
                "restore.version",
                "restore.savepoint.id",
                "restore.timestamp",
            ],
        }
    }

    /// The options recorded when CREATE does not give them.
    pub fn default_options(self) -> BTreeMap<String, String> {
        let pairs: &[(&str, &str)] = match self {
            Self::Cluster => &[
                ("cluster.layout.strategy", "z-order"),
                ("cluster.frequency", "4"),
            ],
            Self::Compact => &[
                ("compaction.max.bytes", "134217728"),
                ("compaction.frequency", "5"),
            ],
            Self::Clean => &[("cleaner.retention.days", "7"), ("cleaner.frequency", "1")],
            Self::Metasync => &[("metasync.catalogs", "glue"), ("metasync.frequency", "1")],
            Self::Autosavepoint => &[
                ("autosavepoint.interval.hours", "24"),
                ("autosavepoint.max.savepoints", "7"),
            ],
            Self::Restore => &[],
        };
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    /// The option giving how many new commits trigger an automatic run.
    pub fn frequency_key(self) -> Option<&'static str> {
        match self {
            Self::Cluster => Some("cluster.frequency"),
            Self::Compact => Some("compaction.frequency"),
            Self::Clean => Some("cleaner.frequency"),
            Self::Metasync => Some("metasync.frequency"),
            Self::Autosavepoint | Self::Restore => None,
        }
    }
}

/// When a service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerMode {
    /// After every `<service>.frequency` commits (METASYNC: every commit).
    Automatic,
    /// Only on `RUN SERVICE IN TABLE`.
    OnDemand,
}

impl TriggerMode {
    /// Parses a trigger mode case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "AUTOMATIC" => Some(Self::Automatic),
            "ON_DEMAND" => Some(Self::OnDemand),
            _ => None,
        }
    }

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => "AUTOMATIC",
            Self::OnDemand => "ON_DEMAND",
        }
    }
}

/// The stored status of a service (RUNNING is shown while a run is active, see
/// [`shown_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ServiceStatus {
    /// Ready to run.
    Active,
    /// The latest run failed.
    Failed,
    /// Not running; automatic triggers and RUN are refused.
    Paused,
}

/// The status a service is shown with: PAUSED wins, then RUNNING while a run is active.
pub fn shown_status(status: ServiceStatus, run_active: bool) -> &'static str {
    match (status, run_active) {
        (ServiceStatus::Paused, _) => "TABLE_SERVICE_STATUS_PAUSED",
        (_, true) => "TABLE_SERVICE_STATUS_RUNNING",
        (ServiceStatus::Active, false) => "TABLE_SERVICE_STATUS_ACTIVE",
        (ServiceStatus::Failed, false) => "TABLE_SERVICE_STATUS_FAILED",
    }
}

/// PAUSE: ACTIVE or FAILED → PAUSED; already PAUSED stays so (a no-op success).
pub fn pause(_from: ServiceStatus) -> ServiceStatus {
    ServiceStatus::Paused
}

/// RESUME: PAUSED → ACTIVE.
///
/// # Errors
/// The message when the service is not paused.
pub fn resume(status: ServiceStatus) -> Result<ServiceStatus, &'static str> {
    match status {
        ServiceStatus::Paused => Ok(ServiceStatus::Active),
        _ => Err("is not paused"),
    }
}

/// Whether RUN may start a run of a service in `status`.
///
/// # Errors
/// The message when it may not (a paused service).
pub fn may_run(status: ServiceStatus) -> Result<(), &'static str> {
    match status {
        ServiceStatus::Paused => Err("is paused; RESUME it first"),
        _ => Ok(()),
    }
}

/// The service status after a run ends in `run`: a failure makes it FAILED, a completion makes
/// a FAILED service ACTIVE again, and a paused service stays paused.
pub fn after_run(status: ServiceStatus, run: RunStatus) -> ServiceStatus {
    match (status, run) {
        (ServiceStatus::Paused, _) => ServiceStatus::Paused,
        (_, RunStatus::Failed) => ServiceStatus::Failed,
        (_, RunStatus::Completed) => ServiceStatus::Active,
        (s, _) => s,
    }
}

/// The status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    /// Waiting for the table (runs on one table are serialised).
    Queued,
    /// Working.
    Running,
    /// Committed (or had nothing to do).
    Completed,
    /// Failed; `errorMessage` says why.
    Failed,
    /// Stopped by CANCEL before its commit.
    Canceled,
}

impl RunStatus {
    /// The wire name (`TABLE_SERVICE_RUN_STATUS_COMPLETED`).
    pub fn wire(self) -> &'static str {
        match self {
            Self::Queued => "TABLE_SERVICE_RUN_STATUS_QUEUED",
            Self::Running => "TABLE_SERVICE_RUN_STATUS_RUNNING",
            Self::Completed => "TABLE_SERVICE_RUN_STATUS_COMPLETED",
            Self::Failed => "TABLE_SERVICE_RUN_STATUS_FAILED",
            Self::Canceled => "TABLE_SERVICE_RUN_STATUS_CANCELED",
        }
    }

    /// Whether the run is still queued or running.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerType {
    /// `RUN SERVICE IN TABLE`.
    OnDemand,
    /// The commit-count scheduler.
    Automatic,
}

/// Where a lake keeps its tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LakeType {
    /// Onehouse writes the tables.
    Managed,
    /// The tables are written elsewhere.
    Observed,
}

impl LakeType {
    /// Parses a lake type case-insensitively.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "MANAGED" => Some(Self::Managed),
            "OBSERVED" => Some(Self::Observed),
            _ => None,
        }
    }
}

/// A lake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lake {
    /// Name.
    pub name: String,
    /// MANAGED or OBSERVED.
    pub lake_type: LakeType,
    /// `s3://bucket/prefix` or `file:///abs/dir`, as given.
    pub bucket_path: String,
    /// The services cluster tables use unless they name their own.
    pub default_services_cluster: String,
    /// Epoch seconds.
    pub created_at: f64,
}

/// A database of a lake (`<lake>/<db>/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Database {
    /// Name (unique across the lakes of a project).
    pub name: String,
    /// The lake it belongs to.
    pub lake: String,
    /// Epoch seconds.
    pub created_at: f64,
}

/// The settings of one table (its services cluster, when moved off the lake's default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableSettings {
    /// Lake.
    pub lake: String,
    /// Database.
    pub database: String,
    /// Table.
    pub table: String,
    /// The services cluster set by `ALTER SERVICES_CLUSTER IN TABLE`.
    pub services_cluster: String,
}

/// A service attached to a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TableService {
    /// The Onehouse account uid it belongs to.
    pub account_uid: String,
    /// The Onehouse project uid it belongs to.
    pub project_uid: String,
    /// Lake.
    pub lake: String,
    /// Database.
    pub database: String,
    /// Table.
    pub table: String,
    /// Which service.
    pub service: ServiceKind,
    /// When it runs.
    pub trigger_mode: TriggerMode,
    /// ACTIVE, FAILED or PAUSED.
    pub status: ServiceStatus,
    /// The options as given (CREATE, then merged by ALTER).
    pub options: BTreeMap<String, String>,
    /// Epoch seconds.
    pub created_at: f64,
    /// Epoch seconds.
    pub updated_at: f64,
    /// The `x-onehouse-uuid` (or user) of the creator.
    pub created_by: String,
    /// The newest table version the automatic scheduler has looked at.
    #[serde(default)]
    pub last_seen_version: Option<u64>,
    /// Commits (not made by a service) counted since the last automatic run.
    #[serde(default)]
    pub commits_since_last_run: u64,
    /// Emulator time of the last automatic run (AUTOSAVEPOINT's interval).
    #[serde(default)]
    pub last_automatic_run_at: Option<f64>,
}

impl TableService {
    /// The options in effect: the defaults overlaid with what was given.
    pub fn effective_options(&self) -> BTreeMap<String, String> {
        let mut out = self.service.default_options();
        out.extend(self.options.clone());
        out
    }
}

/// One run of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Run id (a UUID).
    pub table_service_run_id: String,
    /// Lake.
    pub lake: String,
    /// Database.
    pub database: String,
    /// Table.
    pub table: String,
    /// Which service.
    pub service: ServiceKind,
    /// ON_DEMAND or AUTOMATIC.
    pub trigger_type: TriggerType,
    /// Where it is.
    pub status: RunStatus,
    /// Epoch seconds.
    pub created_at: f64,
    /// Epoch seconds.
    #[serde(default)]
    pub started_at: Option<f64>,
    /// Epoch seconds.
    #[serde(default)]
    pub finished_at: Option<f64>,
    /// Wall-clock duration of the work.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Table version when the run started.
    #[serde(default)]
    pub table_version_before: Option<u64>,
    /// Table version when it ended.
    #[serde(default)]
    pub table_version_after: Option<u64>,
    /// Service-specific figures.
    #[serde(default)]
    pub metrics: BTreeMap<String, String>,
    /// Why it failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Who started it.
    pub created_by: String,
    /// One-off options given with `RUN … WITH`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// A savepoint: a table version CLEAN keeps and RESTORE returns to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Savepoint {
    /// Id (a UUID).
    pub savepoint_id: String,
    /// Lake of the table.
    pub lake: String,
    /// Table (its database is the record's parent).
    pub table: String,
    /// The Delta version kept.
    pub table_version: u64,
    /// Epoch seconds.
    pub created_at: f64,
    /// The run that took it.
    pub table_service_run_id: String,
}

/// Checks CREATE/ALTER options for `service`: keys of other services are refused, numeric
/// options must be numbers in range. Unknown keys are kept verbatim.
///
/// # Errors
/// A message naming the option and what is wrong with it.
pub fn check_options(
    service: ServiceKind,
    options: &[(String, String)],
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (key, value) in options {
        if let Some(owner) = ServiceKind::ALL
            .into_iter()
            .find(|s| *s != service && s.option_keys().contains(&key.as_str()))
        {
            return Err(format!(
                "Option '{key}' belongs to the {} service, not {}",
                owner.as_str(),
                service.as_str()
            ));
        }
        let positive = |min: u64| -> Result<(), String> {
            match value.trim().parse::<u64>() {
                Ok(n) if n >= min => Ok(()),
                _ => Err(format!(
                    "Option '{key}' must be an integer >= {min}, got '{value}'"
                )),
            }
        };
        match key.as_str() {
            "compaction.max.bytes"
            | "compaction.frequency"
            | "cluster.frequency"
            | "cleaner.frequency"
            | "metasync.frequency"
            | "autosavepoint.interval.hours"
            | "autosavepoint.max.savepoints" => positive(1)?,
            "cleaner.retention.days" | "restore.version" => positive(0)?,
            "cluster.field.names" if value.split(',').any(|c| c.trim().is_empty()) => {
                return Err(format!(
                    "Option 'cluster.field.names' must be a comma-separated list of column names, got '{value}'"
                ));
            }
            "cluster.layout.strategy" => {
                let v = value.trim().to_ascii_lowercase();
                if !["linear", "z-order", "zorder", "hilbert"].contains(&v.as_str()) {
                    return Err(format!(
                        "Option 'cluster.layout.strategy' must be one of linear, z-order, hilbert; got '{value}'"
                    ));
                }
            }
            "metasync.catalogs" => {
                if let Some(bad) = value
                    .split(',')
                    .map(str::trim)
                    .find(|c| !c.eq_ignore_ascii_case("glue"))
                {
                    return Err(format!(
                        "Unknown catalog '{bad}' in 'metasync.catalogs': the emulator syncs to 'glue' (its Glue Data Catalog)"
                    ));
                }
            }
            _ => {}
        }
        out.insert(key.clone(), value.clone());
    }
    Ok(out)
}

/// Whether an automatic service is due after `new_commits` commits (not made by services).
pub fn automatic_due(service: &TableService, new_commits: u64) -> bool {
    let Some(key) = service.service.frequency_key() else {
        return false;
    };
    let frequency = service
        .effective_options()
        .get(key)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1);
    new_commits >= frequency
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_case_insensitive() {
        assert_eq!(ServiceKind::parse("clean"), Some(ServiceKind::Clean));
        assert_eq!(ServiceKind::parse("VACUUM"), None);
        assert_eq!(TriggerMode::parse("on_demand"), Some(TriggerMode::OnDemand));
        assert_eq!(LakeType::parse("observed"), Some(LakeType::Observed));
    }

    #[test]
    fn state_machine() {
        use ServiceStatus::*;
        assert_eq!(pause(Active), Paused);
        assert_eq!(pause(Failed), Paused);
        assert_eq!(pause(Paused), Paused);
        assert_eq!(resume(Paused), Ok(Active));
        assert!(resume(Active).is_err());
        assert!(may_run(Paused).is_err());
        assert!(may_run(Failed).is_ok());
        assert_eq!(after_run(Active, RunStatus::Failed), Failed);
        assert_eq!(after_run(Failed, RunStatus::Completed), Active);
        assert_eq!(after_run(Paused, RunStatus::Failed), Paused);
        assert_eq!(after_run(Failed, RunStatus::Canceled), Failed);
        assert_eq!(shown_status(Active, true), "TABLE_SERVICE_STATUS_RUNNING");
        assert_eq!(shown_status(Paused, true), "TABLE_SERVICE_STATUS_PAUSED");
        assert_eq!(shown_status(Failed, false), "TABLE_SERVICE_STATUS_FAILED");
    }

    #[test]
    fn options_are_checked_per_service() {
        let opts = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect::<Vec<_>>()
        };
        assert!(check_options(
            ServiceKind::Clean,
            &opts(&[("cleaner.retention.days", "0")])
        )
        .is_ok());
        assert!(check_options(
            ServiceKind::Clean,
            &opts(&[("cleaner.retention.days", "-1")])
        )
        .is_err());
        assert!(check_options(ServiceKind::Compact, &opts(&[("cleaner.frequency", "1")])).is_err());
        assert!(check_options(
            ServiceKind::Compact,
            &opts(&[("compaction.max.bytes", "x")])
        )
        .is_err());
        assert!(check_options(
            ServiceKind::Metasync,
            &opts(&[("metasync.catalogs", "hive")])
        )
        .is_err());
        let kept = check_options(ServiceKind::Compact, &opts(&[("custom.key", "v")])).unwrap();
        assert_eq!(kept.get("custom.key").map(String::as_str), Some("v"));
    }

    #[test]
    fn automatic_frequency() {
        let service = TableService {
            account_uid: "a".into(),
            project_uid: "p".into(),
            lake: "l".into(),
            database: "d".into(),
            table: "t".into(),
            service: ServiceKind::Compact,
            trigger_mode: TriggerMode::Automatic,
            status: ServiceStatus::Active,
            options: [("compaction.frequency".to_string(), "3".to_string())].into(),
            created_at: 0.0,
            updated_at: 0.0,
            created_by: "u".into(),
            last_seen_version: None,
            commits_since_last_run: 0,
            last_automatic_run_at: None,
        };
        assert!(!automatic_due(&service, 2));
        assert!(automatic_due(&service, 3));
    }
}
