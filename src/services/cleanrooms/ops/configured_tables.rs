//! Configured tables: CreateConfiguredTable, GetConfiguredTable, ListConfiguredTables,
//! UpdateConfiguredTable, DeleteConfiguredTable.
//!
//! A configured table is an account-level resource, invisible to other accounts, that points at
//! the caller's data and names the columns collaborators may use. A Glue reference must name an
//! existing table of the caller's Glue Data Catalog and every allowed column must be one of its
//! columns or partition keys; Athena, Snowflake and Databricks references are stored as given
//! (the emulator cannot read those catalogs; analyses on them fail later). `MULTIPLE` analysis
//! goes with exactly the two selected methods `DIRECT_QUERY` and `DIRECT_JOB`.

use std::collections::{BTreeMap, HashSet};

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::cleanrooms::errors::{
    bad_token, conflict, invalid_configuration, not_found, quota_exceeded, ConflictReason,
    ResourceType,
};
use crate::services::cleanrooms::model::{
    configured_table_arn, kinds, Association, ConfiguredTable, ConfiguredTableRule,
};
use crate::services::cleanrooms::ops::{configured_table_rules, tags};
use crate::services::cleanrooms::repo;
use crate::services::glue::catalog;
use crate::state::AppState;
use crate::store::{Query, Write};
use crate::util::{ids, pagination};

/// Configured tables one account may have per region.
pub const MAX_CONFIGURED_TABLES_PER_ACCOUNT: usize = 250;
/// Columns one configured table may allow.
pub const MAX_ALLOWED_COLUMNS: usize = 100;

/// The caller's configured table `id` in its region; others' tables are not found.
pub async fn own_table(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> AwsResult<ConfiguredTable> {
    match state.store().get(kinds::CONFIGURED_TABLE, id).await? {
        Some(r) if r.region == ctx.region && r.account == ctx.account_id => repo::decode(&r),
        _ => Err(not_found(ResourceType::ConfiguredTable, id)),
    }
}

/// The write that stores a configured table.
pub fn put_table(region: &str, t: &ConfiguredTable) -> AwsResult<Write> {
    repo::put(
        kinds::CONFIGURED_TABLE,
        &t.id,
        region,
        &t.account_id,
        None,
        t,
    )
}

/// The columns (name → Glue type, lower-case names) of the Glue table a reference names, from
/// the caller's Glue Data Catalog: regular columns and partition keys.
///
/// # Errors
/// `ValidationException` naming the database and table when the catalog has no such table.
pub async fn glue_columns(
    state: &AppState,
    ctx: &RequestContext,
    reference: &dto::GlueTableReference,
) -> AwsResult<BTreeMap<String, String>> {
    let region = reference.region.map_or(ctx.region.as_str(), |r| r.as_str());
    let table = catalog::table(
        state,
        &ctx.account_id,
        region,
        &reference.database_name,
        &reference.table_name,
    )
    .await
    .map_err(|e| {
        if e.code == "EntityNotFoundException" {
            invalid_configuration(format!(
                "tableReference.glue: table '{}' in database '{}' does not exist in the Glue Data Catalog of account {} in {region}: {}",
                reference.table_name, reference.database_name, ctx.account_id, e.message
            ))
        } else {
            e
        }
    })?;
    let columns = table
        .storage_descriptor
        .as_ref()
        .and_then(|sd| sd.columns.as_ref())
        .into_iter()
        .flatten()
        .chain(table.partition_keys.iter().flatten());
    Ok(columns
        .map(|c| {
            (
                c.name.to_lowercase(),
                c.r#type.clone().unwrap_or_default().to_lowercase(),
            )
        })
        .collect())
}

/// Checks the allowed columns (count, duplicates) and, for a Glue reference, that the table
/// exists and has every column.
async fn check_reference_and_columns(
    state: &AppState,
    ctx: &RequestContext,
    reference: &dto::TableReference,
    allowed: &[String],
) -> AwsResult<()> {
    if allowed.len() > MAX_ALLOWED_COLUMNS {
        return Err(invalid_configuration(format!(
            "allowedColumns has {} columns; a configured table may allow at most {MAX_ALLOWED_COLUMNS}",
            allowed.len()
        )));
    }
    let mut seen = HashSet::new();
    for c in allowed {
        if !seen.insert(c.as_str()) {
            return Err(invalid_configuration(format!(
                "allowedColumns lists column '{c}' more than once"
            )));
        }
    }
    if let dto::TableReference::Glue(glue) = reference {
        let columns = glue_columns(state, ctx, glue).await?;
        for c in allowed {
            if !columns.contains_key(c) {
                return Err(invalid_configuration(format!(
                    "allowedColumns: column '{c}' does not exist in Glue table '{}.{}' (its columns and partition keys are: {})",
                    glue.database_name,
                    glue.table_name,
                    columns.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// `MULTIPLE` ⇔ both methods selected; selected methods only with `MULTIPLE`.
fn check_methods(
    method: dto::AnalysisMethod,
    selected: Option<&[dto::SelectedAnalysisMethod]>,
) -> AwsResult<()> {
    let names = |s: &[dto::SelectedAnalysisMethod]| {
        s.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
    };
    match (method, selected) {
        (dto::AnalysisMethod::Multiple, Some(s)) => {
            let set: HashSet<_> = s.iter().collect();
            if s.len() != 2 || set.len() != 2 {
                return Err(invalid_configuration(format!(
                    "selectedAnalysisMethods [{}] is invalid: analysisMethod MULTIPLE needs exactly DIRECT_QUERY and DIRECT_JOB",
                    names(s)
                )));
            }
            Ok(())
        }
        (dto::AnalysisMethod::Multiple, None) => Err(invalid_configuration(
            "analysisMethod MULTIPLE needs selectedAnalysisMethods [DIRECT_QUERY, DIRECT_JOB]",
        )),
        (m, Some(s)) => Err(invalid_configuration(format!(
            "selectedAnalysisMethods [{}] is only allowed with analysisMethod MULTIPLE, not {}",
            names(s),
            m.as_str()
        ))),
        (_, None) => Ok(()),
    }
}

/// CreateConfiguredTable.
pub async fn create_configured_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateConfiguredTableInput,
) -> AwsResult<dto::CreateConfiguredTableOutput> {
    if let Some(t) = &input.tags {
        tags::check_tag_keys(t.keys())?;
    }
    check_methods(
        input.analysis_method,
        input.selected_analysis_methods.as_deref(),
    )?;
    check_reference_and_columns(state, ctx, &input.table_reference, &input.allowed_columns).await?;
    let _guard = state.write_lock().await;
    let existing = state
        .store()
        .query(
            &Query::kind(kinds::CONFIGURED_TABLE)
                .region(&ctx.region)
                .account(&ctx.account_id),
        )
        .await?
        .len();
    if existing >= MAX_CONFIGURED_TABLES_PER_ACCOUNT {
        return Err(quota_exceeded(
            "Configured tables per account",
            MAX_CONFIGURED_TABLES_PER_ACCOUNT as f64,
        ));
    }
    let now = state.now();
    let id = ids::new_id();
    let table = ConfiguredTable {
        arn: configured_table_arn(&ctx.region, &ctx.account_id, &id),
        id,
        account_id: ctx.account_id.clone(),
        name: input.name,
        description: input.description,
        table_reference: input.table_reference,
        allowed_columns: input.allowed_columns,
        analysis_method: input.analysis_method,
        selected_analysis_methods: input.selected_analysis_methods,
        analysis_rule_type: None,
        create_time: now,
        update_time: now,
    };
    let mut writes = vec![put_table(&ctx.region, &table)?];
    if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
        writes.push(tags::put_tags(
            &ctx.region,
            &ctx.account_id,
            &table.arn,
            &t,
        )?);
    }
    state.store().commit(writes).await?;
    Ok(dto::CreateConfiguredTableOutput {
        configured_table: table.to_dto(),
    })
}

/// GetConfiguredTable (owner only).
pub async fn get_configured_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetConfiguredTableInput,
) -> AwsResult<dto::GetConfiguredTableOutput> {
    let table = own_table(state, ctx, &input.configured_table_identifier).await?;
    Ok(dto::GetConfiguredTableOutput {
        configured_table: table.to_dto(),
    })
}

/// ListConfiguredTables: the caller's tables in this region, in creation order.
pub async fn list_configured_tables(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListConfiguredTablesInput,
) -> AwsResult<dto::ListConfiguredTablesOutput> {
    let scope = format!("configuredtables:{}:{}", ctx.account_id, ctx.region);
    let after = pagination::resume(&scope, input.next_token.as_deref(), bad_token)?;
    let limit = pagination::page_size(input.max_results);
    let records = state
        .store()
        .query(
            &Query::kind(kinds::CONFIGURED_TABLE)
                .region(&ctx.region)
                .account(&ctx.account_id)
                .after(after)
                .limit(limit + 1),
        )
        .await?;
    let items = records
        .iter()
        .map(|r| Ok((r.seq, repo::decode::<ConfiguredTable>(r)?.to_summary())))
        .collect::<AwsResult<Vec<_>>>()?;
    let (configured_table_summaries, next_token) = pagination::page(&scope, items, limit);
    Ok(dto::ListConfiguredTablesOutput {
        configured_table_summaries,
        next_token,
    })
}

/// UpdateConfiguredTable: name, description, reference, allowed columns, analysis method. The
/// result is checked as a new table would be, and its analysis rule must still fit it.
pub async fn update_configured_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateConfiguredTableInput,
) -> AwsResult<dto::UpdateConfiguredTableOutput> {
    let _guard = state.write_lock().await;
    let mut table = own_table(state, ctx, &input.configured_table_identifier).await?;
    let reference_changed = input.table_reference.is_some() || input.allowed_columns.is_some();
    if let Some(name) = input.name {
        table.name = name;
    }
    if let Some(description) = input.description {
        table.description = Some(description);
    }
    if let Some(reference) = input.table_reference {
        table.table_reference = reference;
    }
    if let Some(columns) = input.allowed_columns {
        table.allowed_columns = columns;
    }
    if let Some(method) = input.analysis_method {
        if method != table.analysis_method && input.selected_analysis_methods.is_none() {
            table.selected_analysis_methods = None;
        }
        table.analysis_method = method;
    }
    if let Some(selected) = input.selected_analysis_methods {
        table.selected_analysis_methods = Some(selected);
    }
    check_methods(
        table.analysis_method,
        table.selected_analysis_methods.as_deref(),
    )?;
    if reference_changed {
        check_reference_and_columns(state, ctx, &table.table_reference, &table.allowed_columns)
            .await?;
    }
    if let Some(record) = state
        .store()
        .get(kinds::CONFIGURED_TABLE_RULE, &table.id)
        .await?
    {
        let rule: ConfiguredTableRule = repo::decode(&record)?;
        configured_table_rules::check_policy(state, ctx, &table, &rule.policy).await?;
    }
    table.update_time = state.now();
    state
        .store()
        .commit(vec![put_table(&ctx.region, &table)?])
        .await?;
    Ok(dto::UpdateConfiguredTableOutput {
        configured_table: table.to_dto(),
    })
}

/// The caller's associations of configured table `table_id`.
pub async fn associations_of_table(
    state: &AppState,
    ctx: &RequestContext,
    table_id: &str,
) -> AwsResult<Vec<Association>> {
    Ok(state
        .store()
        .query(
            &Query::kind(kinds::ASSOCIATION)
                .region(&ctx.region)
                .account(&ctx.account_id),
        )
        .await?
        .iter()
        .map(repo::decode::<Association>)
        .collect::<AwsResult<Vec<_>>>()?
        .into_iter()
        .filter(|a| a.configured_table_id == table_id)
        .collect())
}

/// DeleteConfiguredTable: only while no collaboration uses it. Its analysis rule and tags go
/// with it.
pub async fn delete_configured_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteConfiguredTableInput,
) -> AwsResult<dto::DeleteConfiguredTableOutput> {
    let _guard = state.write_lock().await;
    let table = own_table(state, ctx, &input.configured_table_identifier).await?;
    let associations = associations_of_table(state, ctx, &table.id).await?;
    if let Some(a) = associations.first() {
        return Err(conflict(
            ResourceType::ConfiguredTable,
            &table.id,
            ConflictReason::SubresourcesExist,
            format!(
                "Configured table {} is associated with {} collaboration(s) (association '{}' in membership {}); delete its associations first",
                table.id,
                associations.len(),
                a.name,
                a.membership_id
            ),
        ));
    }
    let writes = vec![
        Write::Delete {
            kind: kinds::CONFIGURED_TABLE.to_string(),
            id: table.id.clone(),
        },
        Write::Delete {
            kind: kinds::CONFIGURED_TABLE_RULE.to_string(),
            id: table.id.clone(),
        },
        tags::delete_tags(&table.arn),
    ];
    state.store().commit(writes).await?;
    Ok(dto::DeleteConfiguredTableOutput {})
}
