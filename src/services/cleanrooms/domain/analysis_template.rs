//! Analysis templates as stored.

use crate::services::cleanrooms::domain::child::ChildHeader;
use cleanrooms_emulator_api::cleanrooms::dto;
use serde::{Deserialize, Serialize};

/// An analysis template as stored. Immutable except its description.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisTemplate {
    /// Its id, ARN, owner, membership and collaboration.
    #[serde(flatten)]
    pub header: ChildHeader,
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
    /// For PySpark templates: the SHA-256 of each artifact as it was when the template was
    /// created.
    #[serde(default)]
    pub source_metadata: Option<dto::AnalysisSourceMetadata>,
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
            arn: self.header.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            error_message_configuration: self.error_message_configuration.clone(),
            format: self.format,
            id: self.header.id.clone(),
            membership_arn: self.header.membership_arn.clone(),
            membership_id: self.header.membership_id.clone(),
            name: self.name.clone(),
            schema: self.schema(),
            source: self.source.clone(),
            source_metadata: self.source_metadata.clone(),
            synthetic_data_parameters: self.synthetic_data_parameters.clone(),
            update_time: self.update_time,
            validations: None,
        }
    }

    /// The `AnalysisTemplateSummary` shape.
    pub fn to_summary(&self) -> dto::AnalysisTemplateSummary {
        dto::AnalysisTemplateSummary {
            arn: self.header.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            description: self.description.clone(),
            id: self.header.id.clone(),
            is_synthetic_data: Some(self.synthetic_data_parameters.is_some()),
            membership_arn: self.header.membership_arn.clone(),
            membership_id: self.header.membership_id.clone(),
            name: self.name.clone(),
            update_time: self.update_time,
        }
    }

    /// The `CollaborationAnalysisTemplate` shape (every member's view).
    pub fn to_collaboration_dto(&self) -> dto::CollaborationAnalysisTemplate {
        dto::CollaborationAnalysisTemplate {
            analysis_parameters: self.analysis_parameters.clone(),
            arn: self.header.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.header.account_id.clone(),
            description: self.description.clone(),
            error_message_configuration: self.error_message_configuration.clone(),
            format: self.format,
            id: self.header.id.clone(),
            name: self.name.clone(),
            schema: self.schema(),
            source: Some(self.source.clone()),
            source_metadata: self.source_metadata.clone(),
            synthetic_data_parameters: self.synthetic_data_parameters.clone(),
            update_time: self.update_time,
            validations: None,
        }
    }

    /// The `CollaborationAnalysisTemplateSummary` shape.
    pub fn to_collaboration_summary(&self) -> dto::CollaborationAnalysisTemplateSummary {
        dto::CollaborationAnalysisTemplateSummary {
            arn: self.header.arn.clone(),
            collaboration_arn: self.collaboration_arn.clone(),
            collaboration_id: self.header.collaboration_id.clone(),
            create_time: self.create_time,
            creator_account_id: self.header.account_id.clone(),
            description: self.description.clone(),
            id: self.header.id.clone(),
            is_synthetic_data: Some(self.synthetic_data_parameters.is_some()),
            name: self.name.clone(),
            update_time: self.update_time,
        }
    }
}
