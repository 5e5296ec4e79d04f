//! Intermediate tables: CreateIntermediateTable, GetIntermediateTable, ListIntermediateTables,
//! UpdateIntermediateTable, DeleteIntermediateTable, ListIntermediateTableVersions (the owner's
//! membership) and DisallowIntermediateTable (a data provider of one of its base tables).
//!
//! The query runner (`CAN_QUERY`) creates a table from SQL or from a SQL analysis template of the
//! collaboration, under a name no table of the collaboration has (kept in lower case, as queries
//! name it; it must be usable unquoted in SQL). The tables its SQL reads become its
//! `tableDependencies`: `DIRECT` for the named associations and intermediate tables, `INDIRECT`
//! for what those intermediate tables are built on. Population (`workflows::populate`) fills in status,
//! versions and schema; here only the description, KMS key and column types change. Deleting a
//! table deletes its data and leaves the tables built on it `BASE_TABLE_REMOVED`; a data provider
//! may disallow a table (and its descendants), which deletes their data too.

use crate::services::cleanrooms::analysis::sql::referenced_tables;
use crate::services::cleanrooms::domain::analysis_template::AnalysisTemplate;
use crate::services::cleanrooms::domain::arn::intermediate_table_arn;
use crate::services::cleanrooms::domain::association::Association;
use crate::services::cleanrooms::domain::id_mapping::IdMappingTable;
use crate::services::cleanrooms::domain::intermediate_table::{
    IntermediateTable, DEFAULT_RETENTION_DAYS,
};
use crate::services::cleanrooms::domain::lineage::dependencies;
use crate::services::cleanrooms::domain::naming::check_tag_keys;
use crate::services::cleanrooms::errors::{
    access_denied, bad_token, conflict, invalid_configuration, invalid_field, not_found_msg,
    ConflictReason, ResourceType,
};
use crate::services::cleanrooms::ops::{
    check_table_name_free, new_header, remove_table, Operation, TableKind,
};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::{
    callers_membership, owned_active_table, owned_table, query_runner, require_active, ChildRequest,
};
use crate::services::cleanrooms::records::collaboration_children;
use crate::services::cleanrooms::records::intermediate_tables::{
    child_resources, intermediate_tables_of_collaboration, put_table, versions_of,
};
use crate::services::cleanrooms::records::own_page;
use crate::services::cleanrooms::records::tags::put_tags;
use crate::services::cleanrooms::workflows::cascade::intermediate_table_delete_writes;
use crate::services::cleanrooms::workflows::{lifecycle, populate};
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;
use datafusion::sql::sqlparser::keywords::{
    ALL_KEYWORDS, ALL_KEYWORDS_INDEX, RESERVED_FOR_COLUMN_ALIAS, RESERVED_FOR_TABLE_ALIAS,
};

use crate::error::AwsResult;
use crate::state::AppState;
use crate::util::pagination;

/// The request field holding the stored SQL.
const QUERY_FIELD: &str = "populationAnalysisConfiguration.sqlParameters.queryString";
/// The request field naming an analysis template.
const TEMPLATE_FIELD: &str = "populationAnalysisConfiguration.sqlParameters.analysisTemplateArn";

async fn table_dto(state: &AppState, t: &IntermediateTable) -> AwsResult<dto::IntermediateTable> {
    let children = child_resources(state, &t.header.collaboration_id, &t.header.id).await?;
    Ok(t.to_dto(children))
}

/// Checks that `name` (lower case) can be written unquoted in SQL as a table name: one
/// identifier, not a reserved word.
fn check_name(name: &str) -> AwsResult<()> {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let upper = name.to_ascii_uppercase();
    let reserved = ALL_KEYWORDS
        .binary_search(&upper.as_str())
        .ok()
        .and_then(|i| ALL_KEYWORDS_INDEX.get(i))
        .is_some_and(|k| {
            RESERVED_FOR_TABLE_ALIAS.contains(k) || RESERVED_FOR_COLUMN_ALIAS.contains(k)
        });
    let usable = plain
        && !reserved
        && referenced_tables(&format!("SELECT * FROM {name}"))
            .is_ok_and(|tables| tables.len() == 1 && tables[0] == name);
    if usable {
        Ok(())
    } else {
        Err(invalid_field(
            "name",
            format!(
                "name '{name}' cannot be used as a table name in SQL: use letters, digits and underscores, not a reserved word"
            ),
        ))
    }
}

/// The SQL a table is populated with: its query string, or the text of its SQL analysis
/// template (which must belong to collaboration `collaboration_id`).
async fn population_sql(
    state: &AppState,
    collaboration_id: &str,
    p: &dto::PopulationAnalysisSqlParameters,
) -> AwsResult<(String, &'static str)> {
    match (&p.query_string, &p.analysis_template_arn) {
        (Some(sql), None) => Ok((sql.clone(), QUERY_FIELD)),
        (None, Some(arn)) => {
            let id = arn.rsplit('/').next().unwrap_or(arn);
            let template: Option<AnalysisTemplate> =
                records::load::<AnalysisTemplate>(state, id).await?;
            let Some(t) = template.filter(|t| t.header.arn == *arn && t.header.collaboration_id == collaboration_id)
            else {
                return Err(invalid_configuration(format!(
                    "{TEMPLATE_FIELD}: '{arn}' is not an analysis template of collaboration {collaboration_id}"
                )));
            };
            match (t.format, &t.source) {
                (dto::AnalysisFormat::Sql, dto::AnalysisSource::Text(sql)) => {
                    Ok((sql.clone(), TEMPLATE_FIELD))
                }
                _ => Err(invalid_configuration(format!(
                    "{TEMPLATE_FIELD}: analysis template '{}' is a {} template; intermediate tables are populated by SQL analyses only",
                    t.name,
                    t.format.as_str()
                ))),
            }
        }
        (Some(_), Some(_)) => Err(invalid_configuration(
            "populationAnalysisConfiguration.sqlParameters: give either queryString or analysisTemplateArn, not both",
        )),
        (None, None) => Err(invalid_configuration(
            "populationAnalysisConfiguration.sqlParameters: queryString or analysisTemplateArn is required",
        )),
    }
}

/// CreateIntermediateTable.
impl Operation for dto::CreateIntermediateTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        let name = input.name.trim().to_lowercase();
        check_name(&name)?;
        let retention = input.retention_in_days.unwrap_or(DEFAULT_RETENTION_DAYS);
        if !(1..=365).contains(&retention) {
            return Err(invalid_field(
                "retentionInDays",
                format!("retentionInDays {retention} must be between 1 and 365"),
            ));
        }
        let dto::PopulationAnalysisConfiguration::SqlParameters(sql_parameters) =
            &input.population_analysis_configuration;
        let _guard = state.write_lock().await;
        let (m, c, _) = query_runner(state, ctx, &input.membership_identifier).await?;
        let (sql, field) = population_sql(state, &c.id, sql_parameters).await?;
        let referenced = referenced_tables(&sql)
            .map_err(|e| invalid_field(field, e.message.replace("source.text", field)))?;
        let associations: Vec<_> = collaboration_children::<Association>(state, &c.id)
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let tables = intermediate_tables_of_collaboration(state, &c.id).await?;
        check_table_name_free(state, &c.id, (&input.name, &name), ResourceType::Membership).await?;
        // ID mapping tables are base tables too: direct dependencies of type ID_MAPPING_TABLE.
        let mapping_tables: Vec<IdMappingTable> =
            collaboration_children::<IdMappingTable>(state, &c.id)
                .await?
                .into_iter()
                .map(|(_, t)| t)
                .filter(|t| referenced.contains(&t.name))
                .collect();
        let others: Vec<String> = referenced
            .iter()
            .filter(|r| !mapping_tables.iter().any(|t| t.name == **r))
            .cloned()
            .collect();
        let mut dependencies = dependencies(&others, &associations, &tables)
            .map_err(|e| invalid_configuration(format!("{field}: {e}")))?;
        let direct = dependencies
            .iter()
            .take_while(|d| d.parent_type == dto::BaseTableParentType::Direct)
            .count();
        dependencies.splice(
            direct..direct,
            mapping_tables
                .iter()
                .map(|t| dto::IntermediateTableDependency {
                    creator_account_id: t.header.account_id.clone(),
                    id: t.header.id.clone(),
                    name: t.name.clone(),
                    parent_type: dto::BaseTableParentType::Direct,
                    r#type: dto::BaseTableDependencyType::IdMappingTable,
                }),
        );
        // Direct dependencies in the order the query names them.
        let position = |name: &str| referenced.iter().position(|r| r == name);
        dependencies[..direct + mapping_tables.len()].sort_by_key(|d| position(&d.name));
        let now = state.now();
        let table = IntermediateTable {
            header: new_header(ctx, &m, intermediate_table_arn),
            collaboration_arn: c.arn.clone(),
            name,
            description: input.description,
            population: input.population_analysis_configuration,
            kms_key_arn: input.kms_key_arn,
            retention_in_days: retention,
            status: dto::IntermediateTableStatus::Created,
            status_reason: None,
            dependencies,
            active: None,
            schema: None,
            has_rule: false,
            populating: None,
            create_time: now,
            update_time: now,
        };
        let mut writes = vec![put_table(&table)?];
        if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
            writes.push(put_tags(
                &ctx.region,
                &ctx.account_id,
                &table.header.arn,
                &t,
            )?);
        }
        state.store().commit(writes).await?;
        Ok(table.to_dto(Vec::new()).into())
    }
}

/// GetIntermediateTable (the owner only), with the tables built on it as `childResources`.
impl Operation for dto::GetIntermediateTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (membership, id) = input.target();
        let t = lifecycle::read_owned_table(state, ctx, membership, id).await?;
        Ok((table_dto(state, &t).await?).into())
    }
}

/// ListIntermediateTables: the caller's tables in its membership, in creation order.
impl Operation for dto::ListIntermediateTablesInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        lifecycle::expire_due(state).await?;
        let (intermediate_table_summaries, next_token) = own_page::<IntermediateTable, _>(
            state,
            ctx,
            &input.membership_identifier,
            "intermediatetables",
            (input.next_token.as_deref(), input.max_results),
            |t: IntermediateTable| Some(t.to_summary()),
        )
        .await?;
        Ok((intermediate_table_summaries, next_token).into())
    }
}

/// Applies `UpdateIntermediateTable.columns`: each names a column of the table's schema and
/// gives its new type.
fn retype_columns(
    table: &IntermediateTable,
    columns: &[dto::IntermediateTableColumn],
) -> AwsResult<Vec<dto::Column>> {
    let Some(schema) = &table.schema else {
        return Err(invalid_configuration(format!(
            "columns: intermediate table '{}' has no schema yet; populate it before changing column types",
            table.name
        )));
    };
    let mut schema = schema.clone();
    for (i, c) in columns.iter().enumerate() {
        let Some(existing) = schema
            .iter_mut()
            .find(|s| s.name.eq_ignore_ascii_case(&c.name))
        else {
            let names: Vec<&str> = table
                .schema
                .iter()
                .flatten()
                .map(|s| s.name.as_str())
                .collect();
            return Err(invalid_configuration(format!(
                "columns[{i}].name: '{}' is not a column of intermediate table '{}'; its columns are {}",
                c.name,
                table.name,
                names.join(", ")
            )));
        };
        if c.r#type.trim().is_empty() {
            return Err(invalid_configuration(format!(
                "columns[{i}].type: the type of column '{}' cannot be empty",
                c.name
            )));
        }
        existing.r#type = c.r#type.clone();
    }
    Ok(schema)
}

/// UpdateIntermediateTable: description, KMS key (for future populations) and the types of
/// existing columns.
impl Operation for dto::UpdateIntermediateTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        lifecycle::expire_due(state).await?;
        let _guard = state.write_lock().await;
        let (_, mut t) = owned_active_table(state, ctx, input.target()).await?;
        if let Some(columns) = &input.columns {
            t.schema = Some(retype_columns(&t, columns)?);
        }
        if let Some(description) = input.description {
            t.description = Some(description);
        }
        if let Some(kms) = input.kms_key_arn {
            t.kms_key_arn = Some(kms);
        }
        t.update_time = state.now();
        state.store().commit(vec![put_table(&t)?]).await?;
        Ok((table_dto(state, &t).await?).into())
    }
}

/// DeleteIntermediateTable (the owner only; idempotent): the table, its versions, rule, tags and
/// data go; tables built on it become `BASE_TABLE_REMOVED`. Refused while a population runs.
impl Operation for dto::DeleteIntermediateTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let (membership, id) = input.target();
        let t = match owned_table(state, ctx, membership, id).await {
            Ok((_, t)) => t,
            Err(e) if e.code == "ResourceNotFoundException" => {
                // Already deleted (or never there) under the caller's own membership: done.
                callers_membership(state, ctx, &input.membership_identifier).await?;
                return Ok(dto::DeleteIntermediateTableOutput {});
            }
            Err(e) => return Err(e),
        };
        if let Some(version) = &t.populating {
            return Err(conflict(
                ResourceType::Membership,
                &t.header.id,
                ConflictReason::InvalidState,
                format!(
                    "Intermediate table '{}' is being populated (version {version}); wait for the population to finish",
                    t.name
                ),
            ));
        }
        let writes = intermediate_table_delete_writes(state, &t).await?;
        let table = (TableKind::Intermediate, t.header.id.as_str());
        remove_table(state, &t.header.collaboration_id, table, writes).await?;
        Ok(dto::DeleteIntermediateTableOutput {})
    }
}

/// ListIntermediateTableVersions (the owner only): one summary per population, newest first.
impl Operation for dto::ListIntermediateTableVersionsInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let (membership, id) = input.target();
        let t = lifecycle::read_owned_table(state, ctx, membership, id).await?;
        let scope = format!("intermediatetableversions:{}", t.header.id);
        let before = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
        let mut items: Vec<_> = versions_of(state, &t.header.id)
            .await?
            .into_iter()
            .filter(|(seq, _)| before.is_none_or(|b| *seq < b))
            .map(|(seq, v)| (seq, v.to_summary()))
            .collect();
        items.sort_by(|a, b| {
            b.1.create_time
                .total_cmp(&a.1.create_time)
                .then(b.0.cmp(&a.0))
        });
        let (intermediate_table_version_summaries, next_token) =
            pagination::page(&scope, items, pagination::page_size(input.max_results));
        Ok(dto::ListIntermediateTableVersionsOutput {
            intermediate_table_version_summaries,
            next_token,
        })
    }
}

/// DisallowIntermediateTable: a data provider whose base table (directly or transitively)
/// feeds the named table withdraws it; the table — and with `includeDescendants` (default) every
/// table built on it — becomes `DISALLOWED_BY_DATA_PROVIDER` and loses its data. Idempotent.
impl Operation for dto::DisallowIntermediateTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let m = callers_membership(state, ctx, &input.membership_identifier).await?;
        require_active(&m)?;
        let name = input.intermediate_table_name.trim().to_lowercase();
        let table = intermediate_tables_of_collaboration(state, &m.collaboration_id)
            .await?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                not_found_msg(
                    ResourceType::Membership,
                    &input.intermediate_table_name,
                    format!(
                        "Could not find intermediate table '{}' in collaboration {}",
                        input.intermediate_table_name, m.collaboration_id
                    ),
                )
            })?;
        let provides = table.dependencies.iter().any(|d| {
            d.r#type != dto::BaseTableDependencyType::IntermediateTable
                && d.creator_account_id == ctx.account_id
        });
        if !provides {
            return Err(access_denied(format!(
                "Account {} provides none of the base tables of intermediate table '{}'; only their data providers can disallow it",
                ctx.account_id, table.name
            )));
        }
        lifecycle::disallowed(
            state,
            &table,
            &ctx.account_id,
            input.include_descendants.unwrap_or(true),
        )
        .await?
        .commit(state)
        .await?;
        Ok(dto::DisallowIntermediateTableOutput {})
    }
}

/// PopulateIntermediateTable (the procedure is `workflows::populate`).
impl Operation for dto::PopulateIntermediateTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let started = populate::populate(state, ctx, &input).await?;
        Ok(dto::PopulateIntermediateTableOutput {
            analysis_id: started.query_id,
            analysis_type: dto::PopulateIntermediateTableAnalysisType::Query,
            version_id: started.version_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_plain_sql_identifiers() {
        assert!(check_name("audience_1").is_ok());
        assert!(check_name("select").is_err());
        assert!(check_name("from").is_err());
        assert!(check_name("order").is_err());
        assert!(check_name("users").is_ok());
        assert!(check_name("my table").is_err());
        assert!(check_name("a.b").is_err());
        assert!(check_name("x; drop").is_err());
    }
}
