//! Configured table associations and their collaboration analysis rules as stored, and how an
//! association rule policy splits into its parts.

use crate::services::cleanrooms::domain::child::ChildHeader;
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// A configured table association as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Association {
    /// Its id, ARN, owner, membership and collaboration.
    #[serde(flatten)]
    pub header: ChildHeader,
    /// Configured table id.
    pub configured_table_id: String,
    /// Configured table ARN.
    pub configured_table_arn: String,
    /// Table name inside the collaboration.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Role Clean Rooms assumes to read the table.
    pub role_arn: String,
    /// Types of its analysis rules, in creation order.
    pub analysis_rule_types: Vec<dto::ConfiguredTableAssociationAnalysisRuleType>,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl Association {
    /// Its new analysis rule of type `rule_type` with `policy`, created at `now`; the association
    /// lists the type from then on.
    pub fn add_rule(
        &mut self,
        rule_type: dto::ConfiguredTableAssociationAnalysisRuleType,
        policy: dto::ConfiguredTableAssociationAnalysisRulePolicy,
        now: f64,
    ) -> AssociationRule {
        self.analysis_rule_types.push(rule_type);
        self.update_time = now;
        AssociationRule {
            membership_id: self.header.membership_id.clone(),
            association_id: self.header.id.clone(),
            association_arn: self.header.arn.clone(),
            rule_type,
            policy,
            create_time: now,
            update_time: now,
        }
    }

    /// The `ConfiguredTableAssociation` shape.
    pub fn to_dto(&self) -> dto::ConfiguredTableAssociation {
        dto::ConfiguredTableAssociation {
            analysis_rule_types: Some(self.analysis_rule_types.clone()),
            arn: self.header.arn.clone(),
            child_resources: None,
            configured_table_arn: self.configured_table_arn.clone(),
            configured_table_id: self.configured_table_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.header.id.clone(),
            membership_arn: self.header.membership_arn.clone(),
            membership_id: self.header.membership_id.clone(),
            name: self.name.clone(),
            role_arn: self.role_arn.clone(),
            update_time: self.update_time,
        }
    }

    /// The `ConfiguredTableAssociationSummary` shape.
    pub fn to_summary(&self) -> dto::ConfiguredTableAssociationSummary {
        dto::ConfiguredTableAssociationSummary {
            analysis_rule_types: Some(self.analysis_rule_types.clone()),
            arn: self.header.arn.clone(),
            configured_table_id: self.configured_table_id.clone(),
            create_time: self.create_time,
            id: self.header.id.clone(),
            membership_arn: self.header.membership_arn.clone(),
            membership_id: self.header.membership_id.clone(),
            name: self.name.clone(),
            update_time: self.update_time,
        }
    }
}

/// An analysis rule of a configured table association as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationRule {
    /// Membership id.
    pub membership_id: String,
    /// Association id.
    pub association_id: String,
    /// Association ARN.
    pub association_arn: String,
    /// Rule type (equals the policy's member).
    pub rule_type: dto::ConfiguredTableAssociationAnalysisRuleType,
    /// The policy.
    pub policy: dto::ConfiguredTableAssociationAnalysisRulePolicy,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl AssociationRule {
    /// Store id of the rule of type `rule_type` of association `association_id`.
    pub fn record_id(
        association_id: &str,
        rule_type: dto::ConfiguredTableAssociationAnalysisRuleType,
    ) -> String {
        format!("{association_id}:{}", rule_type.as_str())
    }

    /// The `ConfiguredTableAssociationAnalysisRule` shape.
    pub fn to_dto(&self) -> dto::ConfiguredTableAssociationAnalysisRule {
        dto::ConfiguredTableAssociationAnalysisRule {
            configured_table_association_arn: self.association_arn.clone(),
            configured_table_association_id: self.association_id.clone(),
            create_time: self.create_time,
            membership_identifier: self.membership_id.clone(),
            policy: self.policy.clone(),
            r#type: self.rule_type,
            update_time: self.update_time,
        }
    }
}

/// An association analysis rule type.
pub type RuleType = dto::ConfiguredTableAssociationAnalysisRuleType;

/// The type of an association policy (its union member) and its two lists.
pub fn policy_parts(
    policy: &dto::ConfiguredTableAssociationAnalysisRulePolicy,
) -> (RuleType, Option<&[String]>, Option<&[String]>) {
    let dto::ConfiguredTableAssociationAnalysisRulePolicy::V1(v1) = policy;
    match v1 {
        dto::ConfiguredTableAssociationAnalysisRulePolicyV1::Aggregation(p) => (
            RuleType::Aggregation,
            p.allowed_result_receivers.as_deref(),
            p.allowed_additional_analyses.as_deref(),
        ),
        dto::ConfiguredTableAssociationAnalysisRulePolicyV1::List(p) => (
            RuleType::List,
            p.allowed_result_receivers.as_deref(),
            p.allowed_additional_analyses.as_deref(),
        ),
        dto::ConfiguredTableAssociationAnalysisRulePolicyV1::Custom(p) => (
            RuleType::Custom,
            p.allowed_result_receivers.as_deref(),
            p.allowed_additional_analyses.as_deref(),
        ),
    }
}
