//! PopulateIntermediateTable: runs an intermediate table's stored query and materialises the
//! result as a new version in managed storage.
//!
//! Only the owner populates, never while another population of the table runs, and never once
//! the table was disallowed or lost a base table. `parameters` override the template's
//! defaults; `computeConfiguration` is validated as the service documents it and mapped onto the
//! engine; the payer must be a member paying for query compute. The query is checked against
//! the base tables' rules like any analysis (deferred controls are captured, not enforced), then
//! the access budgets of every base table (transitively) and the DP budget are charged in the
//! same commit that records a protected query (`analysisId`) and a version (`versionId`), and
//! the population runs in the background; GetProtectedQuery tracks it.

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::services::cleanrooms::analysis::rules::{capture_inherited, Analysis};
use crate::services::cleanrooms::analysis::run::{put_query, spawn_populate, PopulateJob};
use crate::services::cleanrooms::analysis::{prepare, Purpose};
use crate::services::cleanrooms::budgets;
use crate::services::cleanrooms::errors::{
    conflict, invalid_query, not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::intermediate::{IntermediateTable, IntermediateTableVersion};
use crate::services::cleanrooms::model::kinds;
use crate::services::cleanrooms::ops::protected_queries::{
    bound_sql, compute_payer, compute_settings, query_runner,
};
use crate::services::cleanrooms::protected_query::{PopulateTarget, StoredQuery};
use crate::services::cleanrooms::repo;
use crate::state::AppState;
use crate::storage::WriteOptions;
use crate::util::ids;

/// Whether `name` is a valid Clean Rooms column name (`[a-z0-9_](([a-z0-9_ ]+-)*([a-z0-9_ ]+))?`,
/// at most 128 characters).
pub fn valid_column_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if name.len() > 128 || !(first.is_ascii_lowercase() || first.is_ascii_digit() || first == '_') {
        return false;
    }
    let rest = chars.as_str();
    rest.is_empty()
        || rest.split('-').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ' ')
        })
}

/// The caller's intermediate table `id` in membership `membership_id`.
async fn owned_table(
    state: &AppState,
    membership_id: &str,
    id: &str,
) -> AwsResult<IntermediateTable> {
    match state.store().get(kinds::INTERMEDIATE_TABLE, id).await? {
        Some(r) if r.parent.as_deref() == Some(membership_id) => repo::decode(&r),
        _ => Err(not_found_msg(
            ResourceType::Membership,
            id,
            format!("Could not find intermediate table with id {id} in membership {membership_id}"),
        )),
    }
}

fn check_populatable(t: &IntermediateTable) -> AwsResult<()> {
    if t.is_terminal() {
        return Err(conflict(
            ResourceType::Membership,
            &t.id,
            ConflictReason::InvalidState,
            format!(
                "Intermediate table '{}' is {} and cannot be populated; delete it and create a new one",
                t.name,
                t.status.as_str()
            ),
        ));
    }
    if let Some(running) = &t.populating {
        return Err(conflict(
            ResourceType::Membership,
            &t.id,
            ConflictReason::InvalidState,
            format!(
                "Intermediate table '{}' is already being populated (version {running})",
                t.name
            ),
        ));
    }
    Ok(())
}

/// PopulateIntermediateTable.
pub async fn populate_intermediate_table(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::PopulateIntermediateTableInput,
) -> AwsResult<dto::PopulateIntermediateTableOutput> {
    let (m, collaboration, _) = query_runner(state, ctx, &input.membership_identifier).await?;
    let table = owned_table(state, &m.id, &input.intermediate_table_identifier).await?;
    check_populatable(&table)?;
    let dto::PopulationAnalysisConfiguration::SqlParameters(stored) = &table.population;
    let (sql, template) = bound_sql(
        state,
        &collaboration.id,
        stored.query_string.as_deref(),
        stored.analysis_template_arn.as_deref(),
        input.parameters.as_ref(),
        "populationAnalysisConfiguration.sqlParameters",
    )
    .await?;
    let worker = input.compute_configuration.as_ref().map(|c| match c {
        dto::IntermediateTableComputeConfiguration::QueryComputeConfiguration(w) => w,
    });
    let settings = compute_settings("computeConfiguration.queryComputeConfiguration", worker)?;
    let payer = compute_payer(
        state,
        &collaboration.id,
        input.analysis_payer_account_id.as_deref(),
        "analysisPayerAccountId",
    )
    .await?;
    let prepared = prepare(
        state,
        &collaboration.id,
        Analysis {
            runner: &ctx.account_id,
            template: template.as_ref(),
        },
        &sql,
        Purpose::Populate,
        &settings,
    )
    .await?;
    let mut seen = std::collections::HashSet::new();
    for field in prepared.plan.schema().fields() {
        let name = field.name();
        if !valid_column_name(name) {
            return Err(invalid_query(format!(
                "Output column '{name}' is not a valid column name for an intermediate table (lower-case letters, digits, '_', ' ' and '-'); give it an alias"
            )));
        }
        if !seen.insert(name.clone()) {
            return Err(invalid_query(format!(
                "Output column '{name}' appears more than once; give each output column a distinct alias"
            )));
        }
    }
    let (inherited, first_party) =
        capture_inherited(&prepared.tables, &prepared.lineage, &table.account_id);

    let _guard = state.write_lock().await;
    // Re-read under the lock: another population may have started meanwhile.
    let mut table = owned_table(state, &m.id, &input.intermediate_table_identifier).await?;
    check_populatable(&table)?;
    let spend = budgets::charge_writes(state, &collaboration.id, &prepared).await?;
    let now = state.now();
    let query_id = ids::new_id();
    let version_id = ids::new_id();
    let parameters = (!sql.effective.is_empty()).then(|| sql.effective.clone());
    let stored = StoredQuery {
        query: dto::ProtectedQuery {
            compute_configuration: worker.map(|w| dto::ComputeConfiguration::Worker(w.clone())),
            create_time: now,
            differential_privacy: None,
            error: None,
            id: query_id.clone(),
            membership_arn: m.arn.clone(),
            membership_id: m.id.clone(),
            query_compute_payer_account_id: payer,
            result: None,
            result_configuration: Some(dto::ProtectedQueryResultConfiguration {
                output_configuration: dto::ProtectedQueryOutputConfiguration::IntermediateTable(
                    dto::IntermediateTableOutputConfiguration {
                        arn: table.arn.clone(),
                        id: table.id.clone(),
                        name: table.name.clone(),
                    },
                ),
            }),
            sql_parameters: Some(dto::ProtectedQuerySQLParameters {
                analysis_template_arn: stored.analysis_template_arn.clone(),
                parameters: parameters.clone(),
                query_string: stored.query_string.clone(),
            }),
            statistics: None,
            status: dto::ProtectedQueryStatus::Submitted,
        },
        account_id: ctx.account_id.clone(),
        collaboration_id: collaboration.id.clone(),
        populate: Some(PopulateTarget {
            table_id: table.id.clone(),
            version_id: version_id.clone(),
        }),
        receivers: Vec::new(),
    };
    let version = IntermediateTableVersion {
        version_id: version_id.clone(),
        table_id: table.id.clone(),
        analysis_id: query_id.clone(),
        status: dto::IntermediateTableVersionStatus::PopulateStarted,
        kms_key_arn: table.kms_key_arn.clone(),
        parameters: parameters.clone(),
        delta_version: None,
        expiration_time: None,
        create_time: now,
    };
    table.status = dto::IntermediateTableStatus::PopulateStarted;
    table.status_reason = None;
    table.populating = Some(version_id.clone());
    table.update_time = now;
    state
        .store()
        .commit(
            vec![
                put_query(&ctx.region, &stored)?,
                repo::put(
                    kinds::INTERMEDIATE_TABLE_VERSION,
                    &version_id,
                    &ctx.region,
                    &table.account_id,
                    Some(&table.id),
                    &version,
                )?,
                repo::put(
                    kinds::INTERMEDIATE_TABLE,
                    &table.id,
                    &ctx.region,
                    &table.account_id,
                    Some(&table.membership_id),
                    &table,
                )?,
            ]
            .into_iter()
            .chain(spend)
            .collect(),
        )
        .await?;
    spawn_populate(
        state,
        prepared,
        PopulateJob {
            query_id: query_id.clone(),
            table_id: table.id.clone(),
            version_id: version_id.clone(),
            inherited,
            first_party,
            parameters,
            options: WriteOptions {
                target_partitions: settings.target_partitions,
                ..WriteOptions::default()
            },
        },
    );
    Ok(dto::PopulateIntermediateTableOutput {
        analysis_id: query_id,
        analysis_type: dto::PopulateIntermediateTableAnalysisType::Query,
        version_id,
    })
}

#[cfg(test)]
mod tests {
    use super::valid_column_name;

    #[test]
    fn column_names_follow_the_model_pattern() {
        for ok in ["a", "user_id", "total spend", "ab-c", "x1-y2-z3", "_"] {
            assert!(valid_column_name(ok), "{ok}");
        }
        for bad in [
            "", "A", "count(*)", "a-b", "ab-", "ab--c", "-a", "sum(x)", "é",
        ] {
            assert!(!valid_column_name(bad), "{bad}");
        }
    }
}
