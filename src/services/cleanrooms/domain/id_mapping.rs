//! ID mapping in a collaboration: ID namespace associations (a member's Entity Resolution ID
//! namespace, SOURCE or TARGET, brought into the collaboration) and ID mapping tables (built
//! from a rule-based ID mapping workflow over one SOURCE and one TARGET association, populated
//! into managed storage as two id columns, and read in queries under the managed
//! `ID_MAPPING_TABLE` analysis rule).

use crate::services::cleanrooms::domain::child::{child_shape, child_views, ChildHeader};
use serde::{Deserialize, Serialize};

use cleanrooms_emulator_api::cleanrooms::dto;

/// The column of an ID mapping table holding the SOURCE record's id.
pub const SOURCE_ID_COLUMN: &str = "sourceid";
/// The column of an ID mapping table holding the TARGET record's id.
pub const TARGET_ID_COLUMN: &str = "targetid";

/// An ID namespace association as stored (owner = the associating account, parent = its
/// membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdNamespaceAssociation {
    /// Its id, ARN, owner, membership and collaboration.
    #[serde(flatten)]
    pub header: ChildHeader,
    /// Collaboration ARN.
    pub collaboration_arn: String,
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The Entity Resolution ID namespace ARN.
    pub id_namespace_arn: String,
    /// Whether Clean Rooms manages the namespace's resource policies.
    pub manage_resource_policies: bool,
    /// SOURCE or TARGET (the namespace's type when associated).
    pub id_namespace_type: dto::IdNamespaceType,
    /// The ID mapping types the namespace supports (`RULE_BASED`), as associated.
    pub id_mapping_workflows_supported: Vec<String>,
    /// Whether the association's id column may be used as a dimension column.
    pub id_mapping_config: Option<dto::IdMappingConfig>,
    /// Creation time (epoch seconds).
    pub create_time: f64,
    /// Last update time (epoch seconds).
    pub update_time: f64,
}

impl IdNamespaceAssociation {
    /// Whether queries may use this side's id column as a dimension column.
    pub fn allows_dimension(&self) -> bool {
        self.id_mapping_config
            .as_ref()
            .is_some_and(|c| c.allow_use_as_dimension_column)
    }

    fn config(&self) -> dto::IdNamespaceAssociationInputReferenceConfig {
        dto::IdNamespaceAssociationInputReferenceConfig {
            input_reference_arn: self.id_namespace_arn.clone(),
            manage_resource_policies: self.manage_resource_policies,
        }
    }

    fn properties(&self) -> dto::IdNamespaceAssociationInputReferenceProperties {
        dto::IdNamespaceAssociationInputReferenceProperties {
            id_mapping_workflows_supported: self
                .id_mapping_workflows_supported
                .iter()
                .map(|t| serde_json::json!({ "idMappingType": t }))
                .collect(),
            id_namespace_type: self.id_namespace_type,
        }
    }

    child_views!(self =>
        dto::IdNamespaceAssociation / dto::CollaborationIdNamespaceAssociation {
            id_mapping_config: self.id_mapping_config.clone(),
            input_reference_config: self.config(),
            input_reference_properties: self.properties(),
        },
        dto::IdNamespaceAssociationSummary / dto::CollaborationIdNamespaceAssociationSummary {
            input_reference_config: self.config(),
            input_reference_properties:
                dto::IdNamespaceAssociationInputReferencePropertiesSummary {
                    id_namespace_type: self.id_namespace_type,
                },
        },
    );
}

/// The latest successful population of an ID mapping table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdMappingPopulation {
    /// The `idMappingJobId` PopulateIdMappingTable returned.
    pub job_id: String,
    /// The Delta version in managed storage holding the mapping.
    pub delta_version: i64,
    /// Mapped pairs.
    pub rows: u64,
    /// When it was populated (epoch seconds).
    pub populated_at: f64,
}

/// An ID mapping table as stored (owner = the creating account, parent = its membership id).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdMappingTable {
    /// Its id, ARN, owner, membership and collaboration.
    #[serde(flatten)]
    pub header: ChildHeader,
    /// Collaboration ARN.
    pub collaboration_arn: String,
    /// Name (lower case, unique among the collaboration's tables).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// The Entity Resolution ID mapping workflow ARN.
    pub workflow_arn: String,
    /// Whether Clean Rooms manages the workflow's resource policies.
    pub manage_resource_policies: bool,
    /// The SOURCE and TARGET ID namespace associations.
    pub input_sources: Vec<dto::IdMappingTableInputSource>,
    /// KMS key ARN.
    pub kms_key_arn: Option<String>,
    /// Creation time (epoch seconds).
    pub create_time: f64,
    /// Last update time (epoch seconds).
    pub update_time: f64,
    /// The latest successful population, if any.
    pub population: Option<IdMappingPopulation>,
}

impl IdMappingTable {
    /// The association id of side `t`.
    pub fn association_of(&self, t: dto::IdNamespaceType) -> Option<&str> {
        self.input_sources
            .iter()
            .find(|s| s.r#type == t)
            .map(|s| s.id_namespace_association_id.as_str())
    }

    fn config(&self) -> dto::IdMappingTableInputReferenceConfig {
        dto::IdMappingTableInputReferenceConfig {
            input_reference_arn: self.workflow_arn.clone(),
            manage_resource_policies: self.manage_resource_policies,
        }
    }

    /// The `IdMappingTable` shape.
    pub fn to_dto(&self) -> dto::IdMappingTable {
        child_shape!(owner self => dto::IdMappingTable {
            child_resources: None,
            input_reference_config: self.config(),
            input_reference_properties: dto::IdMappingTableInputReferenceProperties {
                id_mapping_table_input_source: self.input_sources.clone(),
            },
            kms_key_arn: self.kms_key_arn.clone(),
        })
    }

    /// The `IdMappingTableSummary` shape.
    pub fn to_summary(&self) -> dto::IdMappingTableSummary {
        child_shape!(owner self => dto::IdMappingTableSummary {
            input_reference_config: self.config(),
        })
    }

    /// The managed `ID_MAPPING_TABLE` analysis rule: both id columns are join columns that
    /// must overlap; `dimension` lists the id columns the associations allow as dimensions.
    pub fn analysis_rule(&self, dimension: &[String]) -> dto::AnalysisRuleIdMappingTable {
        let both = vec![SOURCE_ID_COLUMN.to_string(), TARGET_ID_COLUMN.to_string()];
        dto::AnalysisRuleIdMappingTable {
            dimension_columns: (!dimension.is_empty()).then(|| dimension.to_vec()),
            join_columns: both.clone(),
            query_constraints: vec![dto::QueryConstraint::RequireOverlap(
                dto::QueryConstraintRequireOverlap {
                    columns: Some(both),
                },
            )],
        }
    }
}
