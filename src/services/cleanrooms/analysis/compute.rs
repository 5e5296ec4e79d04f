//! The compute an analysis runs with: the engine settings a compute configuration maps to, and
//! the member that pays for query compute.

use crate::engine::SessionSettings;
use crate::error::AwsResult;
use crate::services::cleanrooms::domain::collaboration::Member;
use crate::services::cleanrooms::errors::invalid_field;
use crate::services::cleanrooms::records::access::members;
use crate::state::AppState;
use cleanrooms_emulator_api::cleanrooms::dto;

/// Documented worker range for SQL analyses (the model allows up to 1024).
const SQL_WORKERS: std::ops::RangeInclusive<i32> = 2..=400;

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
    let members = members(state, collaboration_id, None).await?;
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
