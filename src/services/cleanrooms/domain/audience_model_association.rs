//! Configured audience model associations: a member's link from its membership to a Clean Rooms
//! ML configured audience model, by ARN. The emulator does not run Clean Rooms ML; it checks
//! the ARN's form and region and keeps the association so the collaboration can see it.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::child::{child_shape, ChildHeader};
use crate::services::cleanrooms::errors::invalid_field;
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A configured audience model association as stored (owner = the associating account,
/// parent = its membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudienceModelAssociation {
    /// Its id, ARN, owner, membership and collaboration.
    #[serde(flatten)]
    pub header: ChildHeader,
    /// Collaboration ARN.
    pub collaboration_arn: String,
    /// The Clean Rooms ML configured audience model's ARN.
    pub configured_audience_model_arn: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Whether Clean Rooms manages the model's resource policies.
    pub manage_resource_policies: bool,
    /// Creation time (epoch seconds).
    pub create_time: f64,
    /// Last update time (epoch seconds).
    pub update_time: f64,
}

/// Checks a configured audience model ARN
/// (`arn:<partition>:cleanrooms-ml:<region>:<account>:configured-audience-model/<id>`) and that
/// it is in `region`, the collaboration's region.
///
/// # Errors
/// `ValidationException` naming `configuredAudienceModelArn` and what is wrong.
pub fn check_configured_audience_model_arn(arn: &str, region: &str) -> AwsResult<()> {
    let bad = |why: String| {
        invalid_field(
            "configuredAudienceModelArn",
            format!("configuredAudienceModelArn {arn}: {why}"),
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, arn_region, account, resource] = parts[..] else {
        return Err(bad("an ARN has six parts separated by ':'".into()));
    };
    if prefix != "arn" || !partition.starts_with("aws") {
        return Err(bad("it must start with arn:aws".into()));
    }
    if service != "cleanrooms-ml" {
        return Err(bad(format!(
            "the service must be cleanrooms-ml, not {service}"
        )));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("account {account} is not 12 digits")));
    }
    let Some(id) = resource.strip_prefix("configured-audience-model/") else {
        return Err(bad(
            "the resource must be configured-audience-model/<id>".into()
        ));
    };
    if id.is_empty() {
        return Err(bad("the configured audience model id is empty".into()));
    }
    if arn_region != region {
        return Err(bad(format!(
            "the configured audience model must be in the collaboration's region {region}, not {arn_region}"
        )));
    }
    Ok(())
}

impl AudienceModelAssociation {
    /// The `ConfiguredAudienceModelAssociation` shape (the owner's view).
    pub fn to_dto(&self) -> dto::ConfiguredAudienceModelAssociation {
        child_shape!(owner self => dto::ConfiguredAudienceModelAssociation {
            configured_audience_model_arn: self.configured_audience_model_arn.clone(),
            manage_resource_policies: self.manage_resource_policies,
        })
    }

    /// The `ConfiguredAudienceModelAssociationSummary` shape.
    pub fn to_summary(&self) -> dto::ConfiguredAudienceModelAssociationSummary {
        child_shape!(owner self => dto::ConfiguredAudienceModelAssociationSummary {
            configured_audience_model_arn: self.configured_audience_model_arn.clone(),
        })
    }

    /// The `CollaborationConfiguredAudienceModelAssociation` shape (every member's view).
    pub fn to_collaboration_dto(&self) -> dto::CollaborationConfiguredAudienceModelAssociation {
        child_shape!(collaboration self => dto::CollaborationConfiguredAudienceModelAssociation {
            configured_audience_model_arn: self.configured_audience_model_arn.clone(),
        })
    }

    /// The `CollaborationConfiguredAudienceModelAssociationSummary` shape.
    pub fn to_collaboration_summary(
        &self,
    ) -> dto::CollaborationConfiguredAudienceModelAssociationSummary {
        child_shape!(collaboration self => dto::CollaborationConfiguredAudienceModelAssociationSummary {
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_audience_model_arns() {
        let ok = "arn:aws:cleanrooms-ml:us-east-1:111111111111:configured-audience-model/abc-1";
        assert!(check_configured_audience_model_arn(ok, "us-east-1").is_ok());
        assert!(check_configured_audience_model_arn(ok, "eu-west-1").is_err());
        for bad in [
            "arn:aws:cleanrooms:us-east-1:111111111111:configured-audience-model/abc",
            "arn:aws:cleanrooms-ml:us-east-1:1111:configured-audience-model/abc",
            "arn:aws:cleanrooms-ml:us-east-1:111111111111:audience-model/abc",
            "arn:aws:cleanrooms-ml:us-east-1:111111111111:configured-audience-model/",
        ] {
            assert!(
                check_configured_audience_model_arn(bad, "us-east-1").is_err(),
                "{bad}"
            );
        }
    }
}
