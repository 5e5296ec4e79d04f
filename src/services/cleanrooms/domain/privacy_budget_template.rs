//! Privacy budget templates as stored.

use crate::services::cleanrooms::domain::child::{child_views, ChildHeader};
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
    child_views!(self nameless =>
        dto::PrivacyBudgetTemplate / dto::CollaborationPrivacyBudgetTemplate {
            auto_refresh: self.auto_refresh,
            parameters: self.parameters.clone(),
            privacy_budget_type: self.privacy_budget_type,
        },
        dto::PrivacyBudgetTemplateSummary / dto::CollaborationPrivacyBudgetTemplateSummary {
            privacy_budget_type: self.privacy_budget_type,
        },
    );

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
