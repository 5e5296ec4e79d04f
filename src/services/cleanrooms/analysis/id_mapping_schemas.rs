//! ID mapping tables as schemas (type `ID_MAPPING_TABLE`) for ListSchemas, GetSchema,
//! BatchGetSchema and Get/BatchGetSchemaAnalysisRule; `ops::schemas` calls in here.
//!
//! Derived on each read: the two id columns, the managed `ID_MAPPING_TABLE` analysis rule (its
//! dimension columns follow the ID namespace associations' `allowUseAsDimensionColumn`), the
//! creator, and `NOT_READY` with `ID_MAPPING_TABLE_NOT_POPULATED` until the table is populated.

use crate::services::cleanrooms::analysis::readiness::{
    member_table_schema, schema_summary, status_detail,
};
use crate::services::cleanrooms::domain::collaboration::Collaboration;
use crate::services::cleanrooms::domain::id_mapping::{
    IdMappingTable, IdNamespaceAssociation, SOURCE_ID_COLUMN, TARGET_ID_COLUMN,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::records::id_mapping::id_mapping_table_named;
use cleanrooms_emulator_api::cleanrooms::dto;

use crate::error::AwsResult;
use crate::state::AppState;

/// The id columns of `t` that its ID namespace associations allow as dimension columns.
///
/// # Errors
/// Store failures.
pub async fn dimension_columns(state: &AppState, t: &IdMappingTable) -> AwsResult<Vec<String>> {
    let mut out = Vec::new();
    for (side, column) in [
        (dto::IdNamespaceType::Source, SOURCE_ID_COLUMN),
        (dto::IdNamespaceType::Target, TARGET_ID_COLUMN),
    ] {
        if let Some(id) = t.association_of(side) {
            if records::load::<IdNamespaceAssociation>(state, id)
                .await?
                .is_some_and(|a| a.allows_dimension())
            {
                out.push(column.to_string());
            }
        }
    }
    Ok(out)
}

/// The status entry of an ID mapping table's schema.
pub fn status_details(t: &IdMappingTable) -> Vec<dto::SchemaStatusDetail> {
    let reasons = if t.population.is_none() {
        vec![dto::SchemaStatusReason {
            code: dto::SchemaStatusReasonCode::IdMappingTableNotPopulated,
            message: format!("ID mapping table '{}' has not been populated", t.name),
        }]
    } else {
        Vec::new()
    };
    vec![status_detail(
        dto::AnalysisType::DirectAnalysis,
        Some(dto::AnalysisRuleType::IdMappingTable),
        false,
        reasons,
    )]
}

fn schema(c: &Collaboration, t: &IdMappingTable) -> dto::Schema {
    let column = |name: &str| dto::Column {
        name: name.to_string(),
        r#type: "string".to_string(),
    };
    let properties = dto::IdMappingTableSchemaTypeProperties {
        id_mapping_table_id: Some(t.header.id.clone()),
        id_mapping_table_input_source: t.input_sources.clone(),
    };
    member_table_schema!(c, t, dto::SchemaTypeProperties::IdMappingTable(properties) => {
        analysis_method: Some(dto::AnalysisMethod::DirectQuery),
        analysis_rule_types: vec![dto::AnalysisRuleType::IdMappingTable],
        columns: vec![column(SOURCE_ID_COLUMN), column(TARGET_ID_COLUMN)],
        resource_arn: Some(t.header.arn.clone()),
        schema_status_details: status_details(t),
    })
}

/// The summaries of the collaboration's ID-mapping-table schemas after position `after`, with
/// their sequence numbers, in creation order.
///
/// # Errors
/// Store failures.
pub async fn summaries(
    state: &AppState,
    c: &Collaboration,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, dto::SchemaSummary)>> {
    Ok(collaboration_children::<IdMappingTable>(state, &c.id)
        .await?
        .into_iter()
        .filter(|(seq, _)| after.is_none_or(|a| *seq > a))
        .map(|(seq, t)| (seq, schema_summary(schema(c, &t))))
        .collect())
}

/// The schema of the collaboration's ID mapping table named `name`, if there is one.
///
/// # Errors
/// Store failures.
pub async fn schema_named(
    state: &AppState,
    c: &Collaboration,
    name: &str,
) -> AwsResult<Option<dto::Schema>> {
    Ok(id_mapping_table_named(state, &c.id, name)
        .await?
        .map(|t| schema(c, &t)))
}

/// The managed `ID_MAPPING_TABLE` analysis rule of the ID mapping table named `name`, if there
/// is one.
///
/// # Errors
/// Store failures.
pub async fn id_mapping_rule_named(
    state: &AppState,
    c: &Collaboration,
    name: &str,
) -> AwsResult<Option<dto::AnalysisRule>> {
    let Some(t) = id_mapping_table_named(state, &c.id, name).await? else {
        return Ok(None);
    };
    let dimension = dimension_columns(state, &t).await?;
    Ok(Some(dto::AnalysisRule {
        collaboration_id: c.id.clone(),
        collaboration_policy: None,
        consolidated_policy: None,
        create_time: t.create_time,
        name: t.name.clone(),
        policy: dto::AnalysisRulePolicy::V1(dto::AnalysisRulePolicyV1::IdMappingTable(
            t.analysis_rule(&dimension),
        )),
        r#type: dto::AnalysisRuleType::IdMappingTable,
        update_time: t.update_time,
    }))
}
