//! Stored Clean Rooms resources and their conversion to the model's output shapes. Responses
//! about a collaboration are caller-relative (`memberStatus`, `membershipId`), so conversions take
//! the caller's member record; a membership is shown with the current name and creator of its
//! collaboration and the abilities of its member record.

use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// Record kinds in the metadata store.
pub mod kinds {
    /// A collaboration.
    pub const COLLABORATION: &str = "cleanrooms.collaboration";
    /// One account's member record in a collaboration (id `<collaborationId>:<accountId>`).
    pub const MEMBER: &str = "cleanrooms.member";
    /// The tags of one resource (id = the resource ARN).
    pub const TAGS: &str = "cleanrooms.tags";
    /// A membership (owner = member account, parent = collaboration id).
    pub const MEMBERSHIP: &str = "cleanrooms.membership";
    /// A configured table (owner = its account).
    pub const CONFIGURED_TABLE: &str = "cleanrooms.configuredtable";
    /// The analysis rule of a configured table (id and parent = configured table id).
    pub const CONFIGURED_TABLE_RULE: &str = "cleanrooms.configuredtable.analysisrule";
    /// A configured table association (parent = membership id).
    pub const ASSOCIATION: &str = "cleanrooms.configuredtableassociation";
    /// An analysis rule of a configured table association (id `<associationId>:<TYPE>`,
    /// parent = association id).
    pub const ASSOCIATION_RULE: &str = "cleanrooms.configuredtableassociation.analysisrule";
    /// A privacy budget template (parent = membership id).
    pub const PRIVACY_BUDGET_TEMPLATE: &str = "cleanrooms.privacybudgettemplate";
    /// What analyses spent from a privacy budget template (id = template id, owner = template
    /// owner, parent = collaboration id); see `budgets::Ledger`.
    pub const PRIVACY_BUDGET_LEDGER: &str = "cleanrooms.privacybudget.ledger";
    /// An analysis template (owner = author account, parent = membership id).
    pub const ANALYSIS_TEMPLATE: &str = "cleanrooms.analysistemplate";
    /// An intermediate table (owner = creator account, parent = membership id).
    pub const INTERMEDIATE_TABLE: &str = "cleanrooms.intermediatetable";
    /// One population of an intermediate table (id = version id, parent = table id).
    pub const INTERMEDIATE_TABLE_VERSION: &str = "cleanrooms.intermediatetable.version";
    /// The CUSTOM analysis rule of an intermediate table (id and parent = table id).
    pub const INTERMEDIATE_TABLE_RULE: &str = "cleanrooms.intermediatetable.analysisrule";
    /// A protected query, including the ones populating intermediate tables (owner = runner
    /// account, parent = runner membership id).
    pub const PROTECTED_QUERY: &str = "cleanrooms.protectedquery";
    /// A member's receipt of another member's protected query results (id =
    /// `<queryId>/<membershipId>`, owner = receiving account, parent = receiving membership id;
    /// body = the query id).
    pub const PROTECTED_QUERY_RECEIPT: &str = "cleanrooms.protectedquery.receipt";
}

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
        dto::CollaborationSummary {
            id: self.id.clone(),
            arn: self.arn.clone(),
            name: self.name.clone(),
            creator_account_id: self.creator_account_id.clone(),
            creator_display_name: self.creator_display_name.clone(),
            create_time: self.create_time,
            update_time: self.update_time,
            member_status: caller.status,
            membership_id: caller.membership_id.clone(),
            membership_arn: caller.membership_arn.clone(),
            analytics_engine: Some(self.analytics_engine),
        }
    }
}

/// ARN of a collaboration.
pub fn collaboration_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cleanrooms:{region}:{account}:collaboration/{id}")
}

/// ARN of a membership.
pub fn membership_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cleanrooms:{region}:{account}:membership/{id}")
}

/// ARN of a configured table.
pub fn configured_table_arn(region: &str, account: &str, id: &str) -> String {
    format!("arn:aws:cleanrooms:{region}:{account}:configuredtable/{id}")
}

/// ARN of a configured table association, in the IAM form scoped under its membership.
pub fn association_arn(region: &str, account: &str, membership_id: &str, id: &str) -> String {
    format!(
        "arn:aws:cleanrooms:{region}:{account}:membership/{membership_id}/configuredtableassociation/{id}"
    )
}

/// ARN of a privacy budget template, in the IAM form scoped under its membership (the model's
/// `PrivacyBudgetTemplateArn` pattern omits the membership; spec §1.2 prefers the IAM form).
pub fn privacy_budget_template_arn(
    region: &str,
    account: &str,
    membership_id: &str,
    id: &str,
) -> String {
    format!(
        "arn:aws:cleanrooms:{region}:{account}:membership/{membership_id}/privacybudgettemplate/{id}"
    )
}

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
        dto::MembershipSummary {
            arn: self.arn.clone(),
            collaboration_arn: collaboration.arn.clone(),
            collaboration_creator_account_id: collaboration.creator_account_id.clone(),
            collaboration_creator_display_name: collaboration.creator_display_name.clone(),
            collaboration_id: collaboration.id.clone(),
            collaboration_name: collaboration.name.clone(),
            create_time: self.create_time,
            id: self.id.clone(),
            member_abilities: member.abilities.clone(),
            ml_member_abilities: member.ml_abilities.clone(),
            payment_configuration: self.payment_configuration.clone(),
            status: self.status,
            update_time: self.update_time,
        }
    }

    /// Whether the membership may still change things (create, update, delete under it).
    pub fn is_active(&self) -> bool {
        self.status == dto::MembershipStatus::Active
    }
}

/// A configured table as stored (account-level).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfiguredTable {
    /// UUID.
    pub id: String,
    /// `arn:aws:cleanrooms:<region>:<account>:configuredtable/<id>`.
    pub arn: String,
    /// Owner.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Where the data is.
    pub table_reference: dto::TableReference,
    /// Columns collaborators may use.
    pub allowed_columns: Vec<String>,
    /// How the table may be analysed.
    pub analysis_method: dto::AnalysisMethod,
    /// The methods chosen when `analysis_method` is `MULTIPLE`.
    pub selected_analysis_methods: Option<Vec<dto::SelectedAnalysisMethod>>,
    /// Type of its analysis rule, when it has one.
    pub analysis_rule_type: Option<dto::ConfiguredTableAnalysisRuleType>,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl ConfiguredTable {
    /// The table reference's type.
    pub fn table_type(&self) -> dto::TableReferenceType {
        match &self.table_reference {
            dto::TableReference::Glue(_) => dto::TableReferenceType::Glue,
            dto::TableReference::Athena(_) => dto::TableReferenceType::Athena,
            dto::TableReference::Snowflake(_) => dto::TableReferenceType::Snowflake,
            dto::TableReference::Databricks(_) => dto::TableReferenceType::Databricks,
        }
    }

    fn rule_types(&self) -> Vec<dto::ConfiguredTableAnalysisRuleType> {
        self.analysis_rule_type.into_iter().collect()
    }

    /// The `ConfiguredTable` shape.
    pub fn to_dto(&self) -> dto::ConfiguredTable {
        dto::ConfiguredTable {
            allowed_columns: self.allowed_columns.clone(),
            analysis_method: self.analysis_method,
            analysis_rule_types: self.rule_types(),
            arn: self.arn.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.id.clone(),
            name: self.name.clone(),
            selected_analysis_methods: self.selected_analysis_methods.clone(),
            table_reference: self.table_reference.clone(),
            table_type: Some(self.table_type()),
            update_time: self.update_time,
        }
    }

    /// The `ConfiguredTableSummary` shape.
    pub fn to_summary(&self) -> dto::ConfiguredTableSummary {
        dto::ConfiguredTableSummary {
            analysis_method: self.analysis_method,
            analysis_rule_types: self.rule_types(),
            arn: self.arn.clone(),
            create_time: self.create_time,
            id: self.id.clone(),
            name: self.name.clone(),
            selected_analysis_methods: self.selected_analysis_methods.clone(),
            table_type: Some(self.table_type()),
            update_time: self.update_time,
        }
    }
}

/// The analysis rule of a configured table as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfiguredTableRule {
    /// Configured table id.
    pub configured_table_id: String,
    /// Configured table ARN.
    pub configured_table_arn: String,
    /// Rule type (equals the policy's member).
    pub rule_type: dto::ConfiguredTableAnalysisRuleType,
    /// The policy.
    pub policy: dto::ConfiguredTableAnalysisRulePolicy,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl ConfiguredTableRule {
    /// The `ConfiguredTableAnalysisRule` shape.
    pub fn to_dto(&self) -> dto::ConfiguredTableAnalysisRule {
        dto::ConfiguredTableAnalysisRule {
            configured_table_arn: self.configured_table_arn.clone(),
            configured_table_id: self.configured_table_id.clone(),
            create_time: self.create_time,
            policy: self.policy.clone(),
            r#type: self.rule_type,
            update_time: self.update_time,
        }
    }
}

/// A configured table association as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Association {
    /// UUID.
    pub id: String,
    /// ARN (IAM form, under the membership).
    pub arn: String,
    /// Owner (the membership's account).
    pub account_id: String,
    /// Membership id.
    pub membership_id: String,
    /// Membership ARN.
    pub membership_arn: String,
    /// Collaboration id.
    pub collaboration_id: String,
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
    /// The `ConfiguredTableAssociation` shape.
    pub fn to_dto(&self) -> dto::ConfiguredTableAssociation {
        dto::ConfiguredTableAssociation {
            analysis_rule_types: Some(self.analysis_rule_types.clone()),
            arn: self.arn.clone(),
            child_resources: None,
            configured_table_arn: self.configured_table_arn.clone(),
            configured_table_id: self.configured_table_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.id.clone(),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
            name: self.name.clone(),
            role_arn: self.role_arn.clone(),
            update_time: self.update_time,
        }
    }

    /// The `ConfiguredTableAssociationSummary` shape.
    pub fn to_summary(&self) -> dto::ConfiguredTableAssociationSummary {
        dto::ConfiguredTableAssociationSummary {
            analysis_rule_types: Some(self.analysis_rule_types.clone()),
            arn: self.arn.clone(),
            configured_table_id: self.configured_table_id.clone(),
            create_time: self.create_time,
            id: self.id.clone(),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
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

/// A privacy budget template as stored, with the id of the one privacy budget it governs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyBudgetTemplate {
    /// UUID.
    pub id: String,
    /// ARN (IAM form, under the membership).
    pub arn: String,
    /// Owner (the membership's account).
    pub account_id: String,
    /// Membership id.
    pub membership_id: String,
    /// Membership ARN.
    pub membership_arn: String,
    /// Collaboration id.
    pub collaboration_id: String,
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
            arn: self.arn.clone(),
            auto_refresh: self.auto_refresh,
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            id: self.id.clone(),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
            parameters: self.parameters.clone(),
            privacy_budget_type: self.privacy_budget_type,
            update_time: self.update_time,
        }
    }

    /// The `PrivacyBudgetTemplateSummary` shape.
    pub fn to_summary(&self) -> dto::PrivacyBudgetTemplateSummary {
        dto::PrivacyBudgetTemplateSummary {
            arn: self.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            id: self.id.clone(),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
            privacy_budget_type: self.privacy_budget_type,
            update_time: self.update_time,
        }
    }

    /// The `CollaborationPrivacyBudgetTemplate` shape.
    pub fn to_collaboration_dto(&self) -> dto::CollaborationPrivacyBudgetTemplate {
        dto::CollaborationPrivacyBudgetTemplate {
            arn: self.arn.clone(),
            auto_refresh: self.auto_refresh,
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.account_id.clone(),
            id: self.id.clone(),
            parameters: self.parameters.clone(),
            privacy_budget_type: self.privacy_budget_type,
            update_time: self.update_time,
        }
    }

    /// The `CollaborationPrivacyBudgetTemplateSummary` shape.
    pub fn to_collaboration_summary(&self) -> dto::CollaborationPrivacyBudgetTemplateSummary {
        dto::CollaborationPrivacyBudgetTemplateSummary {
            arn: self.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.account_id.clone(),
            id: self.id.clone(),
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

/// ARN of an analysis template, scoped under its membership.
pub fn analysis_template_arn(region: &str, account: &str, membership_id: &str, id: &str) -> String {
    format!(
        "arn:aws:cleanrooms:{region}:{account}:membership/{membership_id}/analysistemplate/{id}"
    )
}

/// An analysis template as stored. Immutable except its description.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplate {
    /// UUID.
    pub id: String,
    /// ARN (under the membership).
    pub arn: String,
    /// Author account (the membership's owner).
    pub account_id: String,
    /// Membership id.
    pub membership_id: String,
    /// Membership ARN.
    pub membership_arn: String,
    /// Collaboration id.
    pub collaboration_id: String,
    /// Collaboration ARN.
    pub collaboration_arn: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// SQL or PySpark.
    pub format: dto::AnalysisFormat,
    /// SQL text or PySpark artifacts.
    pub source: dto::AnalysisSource,
    /// Declared parameters.
    pub analysis_parameters: Option<Vec<dto::AnalysisParameter>>,
    /// Tables (association names) the analysis reads.
    pub referenced_tables: Vec<String>,
    /// How errors are reported to the query runner.
    pub error_message_configuration: Option<dto::ErrorMessageConfiguration>,
    /// Synthetic data generation parameters.
    pub synthetic_data_parameters: Option<dto::SyntheticDataParameters>,
    /// Creation time.
    pub create_time: f64,
    /// Last update time.
    pub update_time: f64,
}

impl AnalysisTemplate {
    fn schema(&self) -> dto::AnalysisSchema {
        dto::AnalysisSchema {
            referenced_tables: Some(self.referenced_tables.clone()),
        }
    }

    /// The `AnalysisTemplate` shape (the author's view).
    pub fn to_dto(&self) -> dto::AnalysisTemplate {
        dto::AnalysisTemplate {
            analysis_parameters: self.analysis_parameters.clone(),
            arn: self.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            error_message_configuration: self.error_message_configuration.clone(),
            format: self.format,
            id: self.id.clone(),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
            name: self.name.clone(),
            schema: self.schema(),
            source: self.source.clone(),
            source_metadata: None,
            synthetic_data_parameters: self.synthetic_data_parameters.clone(),
            update_time: self.update_time,
            validations: None,
        }
    }

    /// The `AnalysisTemplateSummary` shape.
    pub fn to_summary(&self) -> dto::AnalysisTemplateSummary {
        dto::AnalysisTemplateSummary {
            arn: self.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.id.clone(),
            is_synthetic_data: Some(self.synthetic_data_parameters.is_some()),
            membership_arn: self.membership_arn.clone(),
            membership_id: self.membership_id.clone(),
            name: self.name.clone(),
            update_time: self.update_time,
        }
    }

    /// The `CollaborationAnalysisTemplate` shape (every member's view).
    pub fn to_collaboration_dto(&self) -> dto::CollaborationAnalysisTemplate {
        dto::CollaborationAnalysisTemplate {
            analysis_parameters: self.analysis_parameters.clone(),
            arn: self.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.account_id.clone(),
            description: self.description.clone(),
            error_message_configuration: self.error_message_configuration.clone(),
            format: self.format,
            id: self.id.clone(),
            name: self.name.clone(),
            schema: self.schema(),
            source: Some(self.source.clone()),
            source_metadata: None,
            synthetic_data_parameters: self.synthetic_data_parameters.clone(),
            update_time: self.update_time,
            validations: None,
        }
    }

    /// The `CollaborationAnalysisTemplateSummary` shape.
    pub fn to_collaboration_summary(&self) -> dto::CollaborationAnalysisTemplateSummary {
        dto::CollaborationAnalysisTemplateSummary {
            arn: self.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.account_id.clone(),
            description: self.description.clone(),
            id: self.id.clone(),
            is_synthetic_data: Some(self.synthetic_data_parameters.is_some()),
            name: self.name.clone(),
            update_time: self.update_time,
        }
    }
}
