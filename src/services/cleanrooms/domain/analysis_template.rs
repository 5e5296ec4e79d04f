//! Analysis templates as stored.

use crate::services::cleanrooms::domain::child::{child_views, ChildHeader};
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

    child_views!(self =>
        dto::AnalysisTemplate [source: self.source.clone(),]
        / dto::CollaborationAnalysisTemplate [source: Some(self.source.clone()),]
        {
            analysis_parameters: self.analysis_parameters.clone(),
            error_message_configuration: self.error_message_configuration.clone(),
            format: self.format,
            schema: self.schema(),
            source_metadata: self.source_metadata.clone(),
            synthetic_data_parameters: self.synthetic_data_parameters.clone(),
            validations: None,
        },
        dto::AnalysisTemplateSummary / dto::CollaborationAnalysisTemplateSummary {
            is_synthetic_data: Some(self.synthetic_data_parameters.is_some()),
        },
    );
}
