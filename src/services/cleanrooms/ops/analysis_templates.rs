//! Analysis templates: Create/Get/Update/DeleteAnalysisTemplate (the author's membership) and
//! Get/BatchGetCollaborationAnalysisTemplate (every active member of the collaboration); the
//! two lists are the shared reads of [`super::children`].
//!
//! Any active member may author a template (at most 25 per membership). A SQL template's
//! `:name` placeholders must match its declared `analysisParameters` exactly, and the tables it
//! reads (`schema.referencedTables`, derived by parsing the SQL with DataFusion's SQL parser) must
//! be tables (association or intermediate table names) of the collaboration. A PySpark template
//! carries artifacts, names its tables in `schema.referencedTables`, and may only be authored by
//! a member that can receive results. Templates are immutable except for their description. A
//! template that reads differential-privacy tables carries a `validations` entry computed on
//! every read ([`dp_validation`]).

use crate::services::cleanrooms::analysis::dp_validation;
use crate::services::cleanrooms::analysis::sql::placeholders;
use crate::services::cleanrooms::analysis::sql::referenced_tables;
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::arn::analysis_template_arn;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    access_denied, check_room, invalid_configuration, invalid_field, not_found_msg, ResourceType,
};
use crate::services::cleanrooms::ops::{batch_get, new_header, Operation};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    active_own_membership, own_child, ChildRequest, Standing,
};
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::records::intermediate_tables::intermediate_tables_of_collaboration;
use crate::services::cleanrooms::records::membership_children;
use crate::services::cleanrooms::workflows::children::{create_child, update_child};
use std::collections::{BTreeSet, HashSet};

use sha2::{Digest, Sha256};

use crate::object_files::object_path;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;

/// Analysis templates allowed per membership.
const MAX_TEMPLATES_PER_MEMBERSHIP: usize = 25;

// ---------------------------------------------------------------------------------------------
// SQL analysis: placeholders and referenced tables
// ---------------------------------------------------------------------------------------------

/// Checks the declared parameters against the placeholders of `sql`.
fn check_parameters(sql: &str, params: &[dto::AnalysisParameter]) -> AwsResult<()> {
    let mut declared = HashSet::new();
    for p in params {
        if !declared.insert(p.name.as_str()) {
            return Err(invalid_configuration(format!(
                "analysisParameters: parameter '{}' is declared more than once",
                p.name
            )));
        }
    }
    let used: BTreeSet<String> = placeholders(sql).into_iter().map(|p| p.name).collect();
    if let Some(u) = used.iter().find(|u| !declared.contains(u.as_str())) {
        return Err(invalid_configuration(format!(
            "source.text uses parameter ':{u}', which analysisParameters does not declare"
        )));
    }
    if let Some(p) = params.iter().find(|p| !used.contains(&p.name)) {
        return Err(invalid_configuration(format!(
            "analysisParameters declares parameter '{}', which source.text does not use",
            p.name
        )));
    }
    Ok(())
}

/// The SHA-256 (hex) of the object an artifact names in the emulator's S3.
fn artifact_hash(
    state: &AppState,
    field: &str,
    a: &dto::AnalysisTemplateArtifact,
) -> AwsResult<dto::Hash> {
    let missing = || {
        invalid_field(
            field,
            format!(
                "The artifact s3://{}/{} does not exist",
                a.location.bucket, a.location.key
            ),
        )
    };
    let path =
        object_path(state.data_dir(), &a.location.bucket, &a.location.key).ok_or_else(missing)?;
    let bytes = std::fs::read(&path).map_err(|_| missing())?;
    Ok(dto::Hash {
        sha256: Some(hex_digest(&Sha256::digest(&bytes))),
    })
}

fn hex_digest(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// For PySpark sources: the hashes of the entry point and the additional artifacts, each
/// object required to exist.
fn artifact_hashes(
    state: &AppState,
    source: &dto::AnalysisSource,
) -> AwsResult<Option<dto::AnalysisSourceMetadata>> {
    let dto::AnalysisSource::Artifacts(artifacts) = source else {
        return Ok(None);
    };
    let entry_point_hash = artifact_hash(
        state,
        "source.artifacts.entryPoint.location",
        &artifacts.entry_point,
    )?;
    let additional_artifact_hashes = match &artifacts.additional_artifacts {
        Some(list) => Some(
            list.iter()
                .enumerate()
                .map(|(i, a)| {
                    artifact_hash(
                        state,
                        &format!("source.artifacts.additionalArtifacts[{i}].location"),
                        a,
                    )
                })
                .collect::<AwsResult<Vec<_>>>()?,
        ),
        None => None,
    };
    Ok(Some(dto::AnalysisSourceMetadata::Artifacts(
        dto::AnalysisTemplateArtifactMetadata {
            additional_artifact_hashes,
            entry_point_hash,
        },
    )))
}

/// The author's view of `t`, with its differential-privacy validation as of now.
async fn template_dto(state: &AppState, t: &AnalysisTemplate) -> AwsResult<dto::AnalysisTemplate> {
    let mut out = t.to_dto();
    out.validations = dp_validation::validations(state, t).await?;
    Ok(out)
}

/// Every member's view of `t`, with its differential-privacy validation as of now.
async fn collaboration_template_dto(
    state: &AppState,
    t: &AnalysisTemplate,
) -> AwsResult<dto::CollaborationAnalysisTemplate> {
    let mut out = t.to_collaboration_dto();
    out.validations = dp_validation::validations(state, t).await?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// CreateAnalysisTemplate.
impl Operation for dto::CreateAnalysisTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        let params = input.analysis_parameters.clone().unwrap_or_default();
        let referenced = match (&input.format, &input.source) {
            (dto::AnalysisFormat::Sql, dto::AnalysisSource::Text(sql)) => {
                let tables = referenced_tables(sql)?;
                check_parameters(sql, &params)?;
                tables
            }
            (dto::AnalysisFormat::Sql, dto::AnalysisSource::Artifacts(_)) => {
                return Err(invalid_configuration(
                    "format SQL requires source.text; source.artifacts is for PySpark templates",
                ))
            }
            (_, dto::AnalysisSource::Text(_)) => {
                return Err(invalid_configuration(format!(
                    "format {} requires source.artifacts; source.text is for SQL templates",
                    input.format.as_str()
                )))
            }
            (_, dto::AnalysisSource::Artifacts(_)) => {
                if !params.is_empty() {
                    return Err(invalid_configuration(format!(
                        "analysisParameters are only supported for SQL templates, not {}",
                        input.format.as_str()
                    )));
                }
                let tables: Vec<String> = input
                    .schema
                    .as_ref()
                    .and_then(|s| s.referenced_tables.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| t.to_lowercase())
                    .collect();
                if tables.is_empty() {
                    return Err(invalid_field(
                        "schema.referencedTables",
                        "a PySpark template must name the tables it reads in schema.referencedTables",
                    ));
                }
                tables
            }
        };
        let _guard = state.write_lock().await;
        let (m, c, member) =
            active_own_membership(state, ctx, &input.membership_identifier).await?;
        if input.format != dto::AnalysisFormat::Sql
            && !member
                .abilities
                .contains(&dto::MemberAbility::CanReceiveResults)
        {
            return Err(access_denied(format!(
                "Account {} cannot author a {} template in collaboration {}: only a member that can receive results may",
                ctx.account_id,
                input.format.as_str(),
                c.id
            )));
        }
        let mut tables: HashSet<String> = collaboration_children::<Association>(state, &c.id)
            .await?
            .into_iter()
            .map(|(_, a)| a.name)
            .collect();
        tables.extend(
            intermediate_tables_of_collaboration(state, &c.id)
                .await?
                .into_iter()
                .map(|t| t.name),
        );
        tables.extend(
            collaboration_children::<IdMappingTable>(state, &c.id)
                .await?
                .into_iter()
                .map(|(_, t)| t.name),
        );
        if let Some(t) = referenced.iter().find(|t| !tables.contains(*t)) {
            return Err(invalid_configuration(format!(
                "The analysis references table '{t}', which is not a table of collaboration {}",
                c.id
            )));
        }
        let existing = membership_children::<AnalysisTemplate>(state, &m.id, None).await?;
        check_room(
            "Analysis templates per membership",
            existing.len(),
            MAX_TEMPLATES_PER_MEMBERSHIP,
        )?;
        let now = state.now();
        let template = AnalysisTemplate {
            header: new_header(ctx, &m, analysis_template_arn),
            collaboration_arn: c.arn.clone(),
            name: input.name,
            description: input.description,
            format: input.format,
            source_metadata: artifact_hashes(state, &input.source)?,
            source: input.source,
            analysis_parameters: input.analysis_parameters,
            referenced_tables: referenced,
            error_message_configuration: input.error_message_configuration,
            synthetic_data_parameters: input.synthetic_data_parameters,
            create_time: now,
            update_time: now,
        };
        create_child(state, ctx, &template, input.tags).await?;
        Ok((template_dto(state, &template).await?).into())
    }
}

/// GetAnalysisTemplate (the author's membership only).
impl Operation for dto::GetAnalysisTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (_, t) = own_child::<AnalysisTemplate>(state, ctx, input.target()).await?;
        let analysis_template = template_dto(state, &t).await?;
        Ok(analysis_template.into())
    }
}

/// UpdateAnalysisTemplate: only the description changes.
impl Operation for dto::UpdateAnalysisTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let t = update_child(state, ctx, input, |t: &mut AnalysisTemplate, input| {
            if let Some(description) = input.description {
                t.description = Some(description);
            }
            Ok(Vec::new())
        })
        .await?;
        let analysis_template = template_dto(state, &t).await?;
        Ok(analysis_template.into())
    }
}

/// The template with ARN `arn` when it belongs to collaboration `collaboration_id`.
async fn collaboration_template(
    state: &AppState,
    collaboration_id: &str,
    arn: &str,
) -> AwsResult<Option<AnalysisTemplate>> {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    match records::record::<AnalysisTemplate>(state, id).await? {
        Some(r) => {
            let t: AnalysisTemplate = records::decode(&r)?;
            Ok((t.header.arn == arn && t.header.collaboration_id == collaboration_id).then_some(t))
        }
        None => Ok(None),
    }
}

/// GetCollaborationAnalysisTemplate (any active member).
impl Operation for dto::GetCollaborationAnalysisTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Active
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        match collaboration_template(state, &c.id, &input.analysis_template_arn).await? {
            Some(t) => Ok((collaboration_template_dto(state, &t).await?).into()),
            None => Err(not_found_msg(
                ResourceType::Collaboration,
                &input.analysis_template_arn,
                format!(
                    "Could not find analysis template {} in collaboration {}",
                    input.analysis_template_arn, c.id
                ),
            )),
        }
    }
}

/// BatchGetCollaborationAnalysisTemplate (any active member): unknown ARNs are reported in
/// `errors`.
impl Operation for dto::BatchGetCollaborationAnalysisTemplateInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (c, _) = Standing::Active
            .check(state, ctx, &input.collaboration_identifier)
            .await?;
        let c = &c;
        let (collaboration_analysis_templates, errors) = batch_get(
            &input.analysis_template_arns,
            |arn| async move {
                match collaboration_template(state, &c.id, arn).await? {
                    Some(t) => Ok(Some(collaboration_template_dto(state, &t).await?)),
                    None => Ok(None),
                }
            },
            |arn| dto::BatchGetCollaborationAnalysisTemplateError {
                arn: arn.clone(),
                code: "ResourceNotFoundException".to_string(),
                message: format!(
                    "Could not find analysis template {arn} in collaboration {}",
                    c.id
                ),
            },
        )
        .await?;
        Ok(dto::BatchGetCollaborationAnalysisTemplateOutput {
            collaboration_analysis_templates,
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_outside_literals_and_casts() {
        let sql = "SELECT ':no', x::int, \"a:b\" FROM t WHERE y > :min_y -- :c\n AND z = :z";
        let names: Vec<String> = placeholders(sql).into_iter().map(|p| p.name).collect();
        assert_eq!(names, vec!["min_y", "z"]);
    }

    #[test]
    fn referenced_tables_skip_ctes_and_see_subqueries() {
        let sql = "WITH c AS (SELECT * FROM Orders) SELECT * FROM c JOIN users u ON c.id = u.id \
                   WHERE u.x IN (SELECT x FROM extra WHERE v > :v)";
        let tables = referenced_tables(sql).ok();
        assert_eq!(
            tables,
            Some(vec![
                "orders".to_string(),
                "users".to_string(),
                "extra".to_string()
            ])
        );
    }

    #[test]
    fn rejects_non_queries() {
        assert!(referenced_tables("DELETE FROM t").is_err());
        assert!(referenced_tables("SELECT 1; SELECT 2").is_err());
    }
}
