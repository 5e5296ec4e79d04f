//! Privacy budget templates as stored.

use crate::services::cleanrooms::domain::child::ChildHeader;
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A privacy budget template as stored, with the id of the one privacy budget it governs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyBudgetTemplate {
    /// Its id, ARN, owner, membership and collaboration.
    #[serde(flatten)]
    pub header: ChildHeader,
    /// Collaboration ARN.
    pub collaboration_arn: String,
    /// Type (always the member of `parameters`).
    pub privacy_budget_type: dto::PrivacyBudgetType,
    /// Refresh of a differential-privacy budget (`NONE` for access budgets).
    pub auto_refresh: dto::PrivacyBudgetTemplateAutoRefresh,
    /// Parameters as the output shape shows them.
    pub parameters: dto::PrivacyBudgetTemplateParametersOutput,
    /// UUID of the privacy budget derived from this template.
    pub budget_id: String,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl PrivacyBudgetTemplate {
    /// The `PrivacyBudgetTemplate` shape.
    pub fn to_dto(&self) -> dto::PrivacyBudgetTemplate {
        dto::PrivacyBudgetTemplate {
            arn: self.header.arn.clone(),
            auto_refresh: self.auto_refresh,
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            id: self.header.id.clone(),
            membership_arn: self.header.membership_arn.clone(),
            membership_id: self.header.membership_id.clone(),
            parameters: self.parameters.clone(),
            privacy_budget_type: self.privacy_budget_type,
            update_time: self.update_time,
        }
    }

    /// The `PrivacyBudgetTemplateSummary` shape.
    pub fn to_summary(&self) -> dto::PrivacyBudgetTemplateSummary {
        dto::PrivacyBudgetTemplateSummary {
            arn: self.header.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            id: self.header.id.clone(),
            membership_arn: self.header.membership_arn.clone(),
            membership_id: self.header.membership_id.clone(),
            privacy_budget_type: self.privacy_budget_type,
            update_time: self.update_time,
        }
    }

    /// The `CollaborationPrivacyBudgetTemplate` shape.
    pub fn to_collaboration_dto(&self) -> dto::CollaborationPrivacyBudgetTemplate {
        dto::CollaborationPrivacyBudgetTemplate {
            arn: self.header.arn.clone(),
            auto_refresh: self.auto_refresh,
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.header.account_id.clone(),
            id: self.header.id.clone(),
            parameters: self.parameters.clone(),
            privacy_budget_type: self.privacy_budget_type,
            update_time: self.update_time,
        }
    }

    /// The `CollaborationPrivacyBudgetTemplateSummary` shape.
    pub fn to_collaboration_summary(&self) -> dto::CollaborationPrivacyBudgetTemplateSummary {
        dto::CollaborationPrivacyBudgetTemplateSummary {
            arn: self.header.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.header.account_id.clone(),
            id: self.header.id.clone(),
            privacy_budget_type: self.privacy_budget_type,
            update_time: self.update_time,
        }
    }

    /// The budgeted resource of an access budget template.
    pub fn resource_arn(&self) -> Option<&str> {
        match &self.parameters {
            dto::PrivacyBudgetTemplateParametersOutput::AccessBudget(p) => {
                Some(p.resource_arn.as_str())
            }
            dto::PrivacyBudgetTemplateParametersOutput::DifferentialPrivacy(_) => None,
        }
    }
}
