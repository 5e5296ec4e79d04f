//! Analysis templates: Create/Get/List/Update/DeleteAnalysisTemplate (the author's membership)
//! and Get/List/BatchGetCollaborationAnalysisTemplate (every active member of the collaboration).
//!
//! Any active member may author a template (at most 25 per membership). A SQL template's
//! `:name` placeholders must match its declared `analysisParameters` exactly, and the tables it
//! reads (`schema.referencedTables`, derived by parsing the SQL with DataFusion's SQL parser) must
//! be tables (association or intermediate table names) of the collaboration. A PySpark template
//! carries artifacts, names its tables in `schema.referencedTables`, and may only be authored by
//! a member that can receive results. Templates are immutable except for their description. A
//! template that reads differential-privacy tables carries a `validations` entry computed on
//! every read ([`dp_validation`]).

use std::collections::{BTreeSet, HashSet};
use std::ops::ControlFlow;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;
use datafusion::sql::sqlparser::ast::{ObjectName, ObjectNamePart, Query, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::{AwsError, AwsResult};
use crate::services::cleanrooms::errors::{
    access_denied, bad_token, invalid_configuration, invalid_field, not_found_msg, quota_exceeded,
    ResourceType,
};
use crate::services::cleanrooms::intermediate::intermediate_tables_of_collaboration;
use crate::services::cleanrooms::model::{analysis_template_arn, kinds, AnalysisTemplate};
use crate::services::cleanrooms::ops::associations::associations_of_collaboration;
use crate::services::cleanrooms::ops::{dp_validation, tags};
use crate::services::cleanrooms::repo;
use crate::state::AppState;
use crate::store::Write;
use crate::util::{ids, pagination};

/// Analysis templates allowed per membership.
pub const MAX_TEMPLATES_PER_MEMBERSHIP: usize = 25;

/// The templates of a membership with their sequence numbers, in creation order.
async fn templates_in(
    state: &AppState,
    membership_id: &str,
    after: Option<i64>,
) -> AwsResult<Vec<(i64, AnalysisTemplate)>> {
    repo::membership_children(state, kinds::ANALYSIS_TEMPLATE, membership_id, after).await
}

/// Every template of a collaboration with their sequence numbers, in creation order.
async fn templates_of_collaboration(
    state: &AppState,
    collaboration_id: &str,
) -> AwsResult<Vec<(i64, AnalysisTemplate)>> {
    repo::collaboration_children(state, kinds::ANALYSIS_TEMPLATE, collaboration_id).await
}

fn template_not_found(id: &str) -> AwsError {
    not_found_msg(
        ResourceType::Membership,
        id,
        format!("Could not find analysis template with id {id}"),
    )
}

fn put_template(region: &str, t: &AnalysisTemplate) -> AwsResult<Write> {
    repo::put(
        kinds::ANALYSIS_TEMPLATE,
        &t.id,
        region,
        &t.account_id,
        Some(&t.membership_id),
        t,
    )
}

/// The caller's template `id` under its membership `membership_id` (id or ARN accepted).
async fn own_template(
    state: &AppState,
    ctx: &RequestContext,
    membership_id: &str,
    id: &str,
) -> AwsResult<(
    crate::services::cleanrooms::model::Membership,
    AnalysisTemplate,
)> {
    let m = repo::own_membership(state, &ctx.region, &ctx.account_id, membership_id).await?;
    let id = id.rsplit('/').next().unwrap_or(id);
    match state.store().get(kinds::ANALYSIS_TEMPLATE, id).await? {
        Some(r) if r.parent.as_deref() == Some(m.id.as_str()) => Ok((m, repo::decode(&r)?)),
        _ => Err(template_not_found(id)),
    }
}

// ---------------------------------------------------------------------------------------------
// SQL analysis: placeholders and referenced tables
// ---------------------------------------------------------------------------------------------

/// A `:name` placeholder in SQL text: byte range and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Byte offset of the colon.
    pub start: usize,
    /// Byte offset after the name.
    pub end: usize,
    /// The parameter name.
    pub name: String,
}

/// The `:name` placeholders of SQL text, skipping string literals, quoted identifiers, comments
/// and `::` casts.
pub fn placeholders(sql: &str) -> Vec<Placeholder> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if i + 1 < b.len() && b[i + 1] == q {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b':' if b.get(i + 1) == Some(&b':') => i += 2,
            b':' => {
                let start = i;
                let mut j = i + 1;
                if j < b.len() && (b[j].is_ascii_alphabetic() || b[j] == b'_') {
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                        j += 1;
                    }
                    out.push(Placeholder {
                        start,
                        end: j,
                        name: sql[start + 1..j].to_string(),
                    });
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// Collects relation names and CTE names of parsed SQL.
#[derive(Default)]
struct Relations {
    tables: Vec<String>,
    ctes: HashSet<String>,
}

impl Visitor for Relations {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let parts: Vec<String> = relation
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => i.value.to_lowercase(),
                ObjectNamePart::Function(f) => f.name.value.to_lowercase(),
            })
            .collect();
        self.tables.push(parts.join("."));
        ControlFlow::Continue(())
    }
}

/// SQL text with every `:name` placeholder replaced by the literal `0`, so it parses.
pub fn with_literal_placeholders(sql: &str) -> String {
    let mut text = String::with_capacity(sql.len());
    let mut last = 0;
    for p in placeholders(sql) {
        text.push_str(&sql[last..p.start]);
        text.push('0');
        last = p.end;
    }
    text.push_str(&sql[last..]);
    text
}

/// The tables a SQL query reads (FROM/JOIN, including CTE bodies and sub-queries, without the
/// CTE names themselves), in order of first appearance. Placeholders are parsed as literals.
///
/// # Errors
/// `ValidationException` when the text is not one parseable query.
pub fn referenced_tables(sql: &str) -> AwsResult<Vec<String>> {
    let text = with_literal_placeholders(sql);
    let statements = Parser::parse_sql(&GenericDialect {}, &text)
        .map_err(|e| invalid_field("source.text", format!("source.text is not valid SQL: {e}")))?;
    if statements.len() != 1 {
        return Err(invalid_field(
            "source.text",
            format!(
                "source.text must hold exactly one query; found {} statements",
                statements.len()
            ),
        ));
    }
    if !matches!(
        statements[0],
        datafusion::sql::sqlparser::ast::Statement::Query(_)
    ) {
        return Err(invalid_field(
            "source.text",
            "source.text must be a query (SELECT or WITH … SELECT)",
        ));
    }
    let mut rel = Relations::default();
    let _ = statements.visit(&mut rel);
    let mut seen = HashSet::new();
    Ok(rel
        .tables
        .into_iter()
        .filter(|t| !rel.ctes.contains(t))
        .filter(|t| !crate::engine::is_table_function(t))
        .filter(|t| seen.insert(t.clone()))
        .collect())
}

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

/// The writes that delete every analysis template of a membership, with their tags (used when
/// the creator removes the member: its analyses leave the collaboration with its tables).
pub async fn removal_writes(state: &AppState, membership_id: &str) -> AwsResult<Vec<Write>> {
    Ok(templates_in(state, membership_id, None)
        .await?
        .into_iter()
        .flat_map(|(_, t)| {
            [
                Write::Delete {
                    kind: kinds::ANALYSIS_TEMPLATE.to_string(),
                    id: t.id.clone(),
                },
                tags::delete_tags(&t.arn),
            ]
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// CreateAnalysisTemplate.
pub async fn create_analysis_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateAnalysisTemplateInput,
) -> AwsResult<dto::CreateAnalysisTemplateOutput> {
    if let Some(t) = &input.tags {
        tags::check_tag_keys(t.keys())?;
    }
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
    let m = repo::own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    repo::require_active(&m)?;
    let (c, member) = repo::membership_context(state, &ctx.region, &m).await?;
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
    let mut tables: HashSet<String> = associations_of_collaboration(state, &c.id)
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
    if let Some(t) = referenced.iter().find(|t| !tables.contains(*t)) {
        return Err(invalid_configuration(format!(
            "The analysis references table '{t}', which is not a table of collaboration {}",
            c.id
        )));
    }
    let existing = templates_in(state, &m.id, None).await?;
    if existing.len() >= MAX_TEMPLATES_PER_MEMBERSHIP {
        return Err(quota_exceeded(
            "Analysis templates per membership",
            MAX_TEMPLATES_PER_MEMBERSHIP as f64,
        ));
    }
    let now = state.now();
    let id = ids::new_id();
    let template = AnalysisTemplate {
        arn: analysis_template_arn(&ctx.region, &ctx.account_id, &m.id, &id),
        id,
        account_id: ctx.account_id.clone(),
        membership_id: m.id.clone(),
        membership_arn: m.arn.clone(),
        collaboration_id: c.id.clone(),
        collaboration_arn: c.arn.clone(),
        name: input.name,
        description: input.description,
        format: input.format,
        source: input.source,
        analysis_parameters: input.analysis_parameters,
        referenced_tables: referenced,
        error_message_configuration: input.error_message_configuration,
        synthetic_data_parameters: input.synthetic_data_parameters,
        create_time: now,
        update_time: now,
    };
    let mut writes = vec![put_template(&ctx.region, &template)?];
    if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
        writes.push(tags::put_tags(
            &ctx.region,
            &ctx.account_id,
            &template.arn,
            &t,
        )?);
    }
    state.store().commit(writes).await?;
    Ok(dto::CreateAnalysisTemplateOutput {
        analysis_template: template_dto(state, &template).await?,
    })
}

/// GetAnalysisTemplate (the author's membership only).
pub async fn get_analysis_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetAnalysisTemplateInput,
) -> AwsResult<dto::GetAnalysisTemplateOutput> {
    let (_, t) = own_template(
        state,
        ctx,
        &input.membership_identifier,
        &input.analysis_template_identifier,
    )
    .await?;
    Ok(dto::GetAnalysisTemplateOutput {
        analysis_template: template_dto(state, &t).await?,
    })
}

/// ListAnalysisTemplates: the templates of the caller's membership.
pub async fn list_analysis_templates(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListAnalysisTemplatesInput,
) -> AwsResult<dto::ListAnalysisTemplatesOutput> {
    let m = repo::own_membership(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.membership_identifier,
    )
    .await?;
    let (analysis_template_summaries, next_token) = repo::membership_page(
        state,
        kinds::ANALYSIS_TEMPLATE,
        "analysistemplates",
        &m.id,
        input.next_token.as_deref(),
        input.max_results,
        |t: AnalysisTemplate| Some(t.to_summary()),
    )
    .await?;
    Ok(dto::ListAnalysisTemplatesOutput {
        analysis_template_summaries,
        next_token,
    })
}

/// UpdateAnalysisTemplate: only the description changes.
pub async fn update_analysis_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateAnalysisTemplateInput,
) -> AwsResult<dto::UpdateAnalysisTemplateOutput> {
    let _guard = state.write_lock().await;
    let (m, mut t) = own_template(
        state,
        ctx,
        &input.membership_identifier,
        &input.analysis_template_identifier,
    )
    .await?;
    repo::require_active(&m)?;
    if let Some(description) = input.description {
        t.description = Some(description);
    }
    t.update_time = state.now();
    state
        .store()
        .commit(vec![put_template(&ctx.region, &t)?])
        .await?;
    Ok(dto::UpdateAnalysisTemplateOutput {
        analysis_template: template_dto(state, &t).await?,
    })
}

/// DeleteAnalysisTemplate: the template and its tags.
pub async fn delete_analysis_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteAnalysisTemplateInput,
) -> AwsResult<dto::DeleteAnalysisTemplateOutput> {
    let _guard = state.write_lock().await;
    let (_, t) = own_template(
        state,
        ctx,
        &input.membership_identifier,
        &input.analysis_template_identifier,
    )
    .await?;
    state
        .store()
        .commit(vec![
            Write::Delete {
                kind: kinds::ANALYSIS_TEMPLATE.to_string(),
                id: t.id.clone(),
            },
            tags::delete_tags(&t.arn),
        ])
        .await?;
    Ok(dto::DeleteAnalysisTemplateOutput {})
}

/// The template with ARN `arn` when it belongs to collaboration `collaboration_id`.
async fn collaboration_template(
    state: &AppState,
    collaboration_id: &str,
    arn: &str,
) -> AwsResult<Option<AnalysisTemplate>> {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    match state.store().get(kinds::ANALYSIS_TEMPLATE, id).await? {
        Some(r) => {
            let t: AnalysisTemplate = repo::decode(&r)?;
            Ok((t.arn == arn && t.collaboration_id == collaboration_id).then_some(t))
        }
        None => Ok(None),
    }
}

/// GetCollaborationAnalysisTemplate (any active member).
pub async fn get_collaboration_analysis_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetCollaborationAnalysisTemplateInput,
) -> AwsResult<dto::GetCollaborationAnalysisTemplateOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    match collaboration_template(state, &c.id, &input.analysis_template_arn).await? {
        Some(t) => Ok(dto::GetCollaborationAnalysisTemplateOutput {
            collaboration_analysis_template: collaboration_template_dto(state, &t).await?,
        }),
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

/// ListCollaborationAnalysisTemplates (any active member): every member's templates.
pub async fn list_collaboration_analysis_templates(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListCollaborationAnalysisTemplatesInput,
) -> AwsResult<dto::ListCollaborationAnalysisTemplatesOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let scope = format!("collaborationanalysistemplates:{}", c.id);
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let items = templates_of_collaboration(state, &c.id)
        .await?
        .into_iter()
        .filter(|(seq, _)| after.is_none_or(|a| *seq > a))
        .map(|(seq, t)| (seq, t.to_collaboration_summary()))
        .collect();
    let (collaboration_analysis_template_summaries, next_token) =
        pagination::page(&scope, items, pagination::page_size(input.max_results));
    Ok(dto::ListCollaborationAnalysisTemplatesOutput {
        collaboration_analysis_template_summaries,
        next_token,
    })
}

/// BatchGetCollaborationAnalysisTemplate (any active member): unknown ARNs are reported in
/// `errors`.
pub async fn batch_get_collaboration_analysis_template(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::BatchGetCollaborationAnalysisTemplateInput,
) -> AwsResult<dto::BatchGetCollaborationAnalysisTemplateOutput> {
    let (c, _) = repo::active_collaboration(
        state,
        &ctx.region,
        &ctx.account_id,
        &input.collaboration_identifier,
    )
    .await?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for arn in &input.analysis_template_arns {
        match collaboration_template(state, &c.id, arn).await? {
            Some(t) => found.push(collaboration_template_dto(state, &t).await?),
            None => errors.push(dto::BatchGetCollaborationAnalysisTemplateError {
                arn: arn.clone(),
                code: "ResourceNotFoundException".to_string(),
                message: format!(
                    "Could not find analysis template {arn} in collaboration {}",
                    c.id
                ),
            }),
        }
    }
    Ok(dto::BatchGetCollaborationAnalysisTemplateOutput {
        collaboration_analysis_templates: found,
        errors,
    })
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
