//! Memberships: one account's membership in a collaboration. A membership is shown with the
//! current name and creator of its collaboration and the abilities of its member record.

use crate::services::cleanrooms::domain::collaboration::{Collaboration, Member};
use crate::services::cleanrooms::domain::summary::summary_of;
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A membership as stored: the member's own settings. Collaboration name, creator and the
/// member's abilities are read from the collaboration and member records when rendered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    /// UUID.
    pub id: String,
    /// `arn:aws:cleanrooms:<region>:<member>:membership/<id>`.
    pub arn: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// Member account (owner).
    pub account_id: String,
    /// Status.
    pub status: dto::MembershipStatus,
    /// Query logging.
    pub query_log_status: dto::MembershipQueryLogStatus,
    /// Job logging.
    pub job_log_status: dto::MembershipJobLogStatus,
    /// Where this member's query results go by default.
    pub default_result_configuration: Option<dto::MembershipProtectedQueryResultConfiguration>,
    /// Where this member's job results go by default.
    pub default_job_result_configuration: Option<dto::MembershipProtectedJobResultConfiguration>,
    /// Payment responsibilities accepted.
    pub payment_configuration: dto::MembershipPaymentConfiguration,
    /// Whether CloudWatch metrics are enabled.
    pub is_metrics_enabled: bool,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl Membership {
    /// The `Membership` shape, with its collaboration and member record.
    pub fn to_dto(&self, collaboration: &Collaboration, member: &Member) -> dto::Membership {
        dto::Membership {
            arn: self.arn.clone(),
            collaboration_arn: collaboration.arn.clone(),
            collaboration_creator_account_id: collaboration.creator_account_id.clone(),
            collaboration_creator_display_name: collaboration.creator_display_name.clone(),
            collaboration_id: collaboration.id.clone(),
            collaboration_name: collaboration.name.clone(),
            create_time: self.create_time,
            default_job_result_configuration: self.default_job_result_configuration.clone(),
            default_result_configuration: self.default_result_configuration.clone(),
            id: self.id.clone(),
            is_metrics_enabled: Some(self.is_metrics_enabled),
            job_log_status: Some(self.job_log_status),
            member_abilities: member.abilities.clone(),
            ml_member_abilities: member.ml_abilities.clone(),
            payment_configuration: self.payment_configuration.clone(),
            query_log_status: self.query_log_status,
            status: self.status,
            update_time: self.update_time,
        }
    }

    /// The `MembershipSummary` shape.
    pub fn to_summary(
        &self,
        collaboration: &Collaboration,
        member: &Member,
    ) -> dto::MembershipSummary {
        summary_of!(self.to_dto(collaboration, member) => dto::MembershipSummary {
            arn, collaboration_arn, collaboration_creator_account_id,
            collaboration_creator_display_name, collaboration_id, collaboration_name,
            create_time, id, member_abilities, ml_member_abilities, payment_configuration,
            status, update_time,
        })
    }

    /// Whether the membership may still change things (create, update, delete under it).
    pub fn is_active(&self) -> bool {
        self.status == dto::MembershipStatus::Active
    }
}
