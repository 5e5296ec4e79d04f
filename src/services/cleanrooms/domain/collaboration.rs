//! Collaborations and their member records. Responses about a collaboration are caller-relative
//! (`memberStatus`, `membershipId`), so conversions take the caller's member record.

use crate::services::cleanrooms::domain::summary::summary_of;
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A collaboration as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Collaboration {
    /// UUID.
    pub id: String,
    /// `arn:aws:cleanrooms:<region>:<creator>:collaboration/<id>`.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Creator's account.
    pub creator_account_id: String,
    /// Creator's display name.
    pub creator_display_name: String,
    /// Creation time (epoch seconds).
    pub create_time: f64,
    /// Last update time (epoch seconds).
    pub update_time: f64,
    /// Cryptographic computing settings.
    pub data_encryption_metadata: Option<dto::DataEncryptionMetadata>,
    /// Query logging.
    pub query_log_status: dto::CollaborationQueryLogStatus,
    /// Job logging.
    pub job_log_status: dto::CollaborationJobLogStatus,
    /// Analytics engine.
    pub analytics_engine: dto::AnalyticsEngine,
    /// Change types approved without a vote.
    pub auto_approved_change_types: Option<Vec<dto::AutoApprovedChangeType>>,
    /// Regions results may be written to.
    pub allowed_result_regions: Option<Vec<dto::SupportedS3Region>>,
    /// Whether metrics are enabled.
    pub is_metrics_enabled: Option<bool>,
    /// Set once the creator deleted it (kept for the memberships that refer to it).
    #[serde(default)]
    pub deleted: bool,
}

/// One account's member record in a collaboration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Collaboration id.
    pub collaboration_id: String,
    /// Member account.
    pub account_id: String,
    /// Display name.
    pub display_name: String,
    /// Abilities.
    pub abilities: Vec<dto::MemberAbility>,
    /// ML abilities.
    pub ml_abilities: Option<dto::MLMemberAbilities>,
    /// Status.
    pub status: dto::MemberStatus,
    /// Membership id once joined.
    pub membership_id: Option<String>,
    /// Membership ARN once joined.
    pub membership_arn: Option<String>,
    /// Effective payment configuration.
    pub payment_configuration: dto::PaymentConfiguration,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl Member {
    /// Store id of a member record.
    pub fn record_id(collaboration_id: &str, account_id: &str) -> String {
        format!("{collaboration_id}:{account_id}")
    }

    /// Whether the member may still see the collaboration (invited or joined).
    pub fn can_view(&self) -> bool {
        matches!(
            self.status,
            dto::MemberStatus::Invited | dto::MemberStatus::Active
        )
    }

    /// The `MemberSummary` shape.
    pub fn to_summary(&self) -> dto::MemberSummary {
        dto::MemberSummary {
            account_id: self.account_id.clone(),
            status: self.status,
            display_name: self.display_name.clone(),
            abilities: self.abilities.clone(),
            ml_abilities: self.ml_abilities.clone(),
            create_time: self.create_time,
            update_time: self.update_time,
            membership_id: self.membership_id.clone(),
            membership_arn: self.membership_arn.clone(),
            payment_configuration: self.payment_configuration.clone(),
        }
    }
}

impl Collaboration {
    /// The `Collaboration` shape as `caller` (its member record) sees it.
    pub fn to_dto(&self, caller: &Member) -> dto::Collaboration {
        dto::Collaboration {
            id: self.id.clone(),
            arn: self.arn.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            creator_account_id: self.creator_account_id.clone(),
            creator_display_name: self.creator_display_name.clone(),
            create_time: self.create_time,
            update_time: self.update_time,
            member_status: caller.status,
            membership_id: caller.membership_id.clone(),
            membership_arn: caller.membership_arn.clone(),
            data_encryption_metadata: self.data_encryption_metadata.clone(),
            query_log_status: self.query_log_status,
            job_log_status: Some(self.job_log_status),
            analytics_engine: Some(self.analytics_engine),
            auto_approved_change_types: self.auto_approved_change_types.clone(),
            allowed_result_regions: self.allowed_result_regions.clone(),
            is_metrics_enabled: self.is_metrics_enabled,
        }
    }

    /// The `CollaborationSummary` shape as `caller` sees it.
    pub fn to_summary(&self, caller: &Member) -> dto::CollaborationSummary {
        summary_of!(self.to_dto(caller) => dto::CollaborationSummary {
            id, arn, name, creator_account_id, creator_display_name, create_time, update_time,
            member_status, membership_id, membership_arn, analytics_engine,
        })
    }
}
