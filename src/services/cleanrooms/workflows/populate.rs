//! PopulateIntermediateTable, top-down: the caller's own table (another member's is
//! `AccessDeniedException`, as for every intermediate-table operation) → the runner (ACTIVE,
//! CAN_QUERY) → the table populatable → the stored query's SQL bound with
//! the request's parameters → admission ([`admit`](super::admit): compute, payer, plan and the
//! base tables' rules, deferred controls captured) → the output columns checked → under the
//! write lock, the table re-read and one commit of the query (SUBMITTED), the version
//! (POPULATE_STARTED), the table (POPULATE_STARTED) and the budget charge → the background run
//! ([`runs::spawn_populate`](super::runs::spawn_populate)), which settles table, version and
//! query when it ends.
//!
//! Only the owner populates, never while another population of the table runs, and never once
//! the table was disallowed or lost a base table. `parameters` override the template's
//! defaults; `computeConfiguration` is validated as the service documents it and mapped onto the
//! engine; the payer must be a member paying for query compute.

use crate::services::cleanrooms::analysis::rules::capture_inherited;
use crate::services::cleanrooms::analysis::sql::bound_sql;
use crate::services::cleanrooms::analysis::Purpose;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTable;
use crate::services::cleanrooms::domain::intermediate_table::IntermediateTableVersion;
use crate::services::cleanrooms::domain::naming::valid_column_name;
use crate::services::cleanrooms::domain::protected_query::{
    PopulateTarget, StoredQuery, Submission,
};
use crate::services::cleanrooms::errors::invalid_query;
use crate::services::cleanrooms::records::access::{owned_table, query_runner, ChildRequest};
use crate::services::cleanrooms::records::intermediate_tables::{put_new_version, put_table};
use crate::services::cleanrooms::records::listing::put_new_run;
use crate::services::cleanrooms::records::load_versioned;
use crate::services::cleanrooms::workflows::admit::admit;
use crate::services::cleanrooms::workflows::admit::{commit_charged, Request};
use crate::services::cleanrooms::workflows::analysis_logs;
use crate::services::cleanrooms::workflows::runs::{spawn_populate, PopulateJob};
use crate::services::cleanrooms::workflows::settle::Population;
use crate::store::Expect;
use std::collections::HashSet;

use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;

use crate::error::AwsResult;
use crate::state::AppState;
use crate::storage::WriteOptions;
use crate::util::ids;

/// What PopulateIntermediateTable answers: the populating query and the new version.
#[derive(Debug, Clone)]
pub struct Started {
    /// The protected query that populates (`analysisId`).
    pub query_id: String,
    /// The new version (`versionId`).
    pub version_id: String,
}

/// Starts populating the intermediate table `input` names.
///
/// # Errors
/// `AccessDeniedException` when the caller may not query or the table is another member's;
/// `ResourceNotFoundException` for an unknown table; `ConflictException` when it cannot be
/// populated now; `ValidationException` for SQL, parameters, compute or payer at fault, a
/// broken analysis rule, an output column that is not a valid column name, or a budget that
/// cannot pay; nothing is stored then.
pub async fn populate(
    state: &AppState,
    ctx: &RequestContext,
    input: &dto::PopulateIntermediateTableInput,
) -> AwsResult<Started> {
    // The table first, as every intermediate-table operation does: another member's table is
    // AccessDeniedException naming it, whatever the caller's abilities.
    let (membership, id) = input.target();
    let (_, table) = owned_table(state, ctx, membership, id).await?;
    let (m, collaboration, _) = query_runner(state, ctx, &input.membership_identifier).await?;
    table.check_populatable()?;
    let dto::PopulationAnalysisConfiguration::SqlParameters(stored) = &table.population;
    // The table's stored SQL, run with the request's parameters.
    let requested = dto::ProtectedQuerySQLParameters {
        analysis_template_arn: stored.analysis_template_arn.clone(),
        parameters: input.parameters.clone(),
        query_string: stored.query_string.clone(),
    };
    let (sql, template) = bound_sql(
        state,
        &collaboration.id,
        &requested,
        "populationAnalysisConfiguration.sqlParameters",
    )
    .await?;
    let worker = input.compute_configuration.as_ref().map(|c| match c {
        dto::IntermediateTableComputeConfiguration::QueryComputeConfiguration(w) => w,
    });
    let request = Request {
        runner: &ctx.account_id,
        compute: ("computeConfiguration.queryComputeConfiguration", worker),
        payer: (
            input.analysis_payer_account_id.as_deref(),
            "analysisPayerAccountId",
        ),
        purpose: Purpose::Populate,
    };
    let admitted = admit(state, &collaboration, (&sql, template.as_ref()), request).await?;
    check_output_columns(&admitted.prepared.plan)?;
    let (inherited, first_party) = capture_inherited(
        &admitted.prepared.tables,
        &admitted.prepared.lineage,
        &table.header.account_id,
    );

    let _guard = state.write_lock().await;
    // The revision before the re-read: the commit fails if anyone (another process on the same
    // store too) changed the table after it.
    let before = load_versioned::<IntermediateTable>(state, &table.header.id).await?;
    // Re-read under the lock: another population may have started meanwhile.
    let (_, mut table) =
        owned_table(state, ctx, &m.id, &input.intermediate_table_identifier).await?;
    let now = state.now();
    let query_id = ids::new_id();
    let version_id = ids::new_id();
    table.begin_population(&version_id, now)?;
    let parameters = (!sql.effective.is_empty()).then(|| sql.effective.clone());
    let log = analysis_logs::submission_log(state, &ctx.region, (&query_id, &m), &admitted).await?;
    let query = StoredQuery::submitted(Submission {
        id: query_id.clone(),
        now,
        membership_id: m.id.clone(),
        membership_arn: m.arn.clone(),
        account_id: ctx.account_id.clone(),
        collaboration_id: collaboration.id.clone(),
        compute_configuration: worker.map(|w| dto::ComputeConfiguration::Worker(w.clone())),
        payer: admitted.payer,
        result_configuration: dto::ProtectedQueryResultConfiguration {
            output_configuration: dto::ProtectedQueryOutputConfiguration::IntermediateTable(
                dto::IntermediateTableOutputConfiguration {
                    arn: table.header.arn.clone(),
                    id: table.header.id.clone(),
                    name: table.name.clone(),
                },
            ),
        },
        // As bound: the template's defaults filled in.
        sql_parameters: dto::ProtectedQuerySQLParameters {
            parameters: parameters.clone(),
            ..requested
        },
        populate: Some(PopulateTarget {
            table_id: table.header.id.clone(),
            version_id: version_id.clone(),
        }),
        receivers: Vec::new(),
    });
    let version = IntermediateTableVersion {
        version_id: version_id.clone(),
        table_id: table.header.id.clone(),
        analysis_id: query_id.clone(),
        status: dto::IntermediateTableVersionStatus::PopulateStarted,
        kms_key_arn: table.kms_key_arn.clone(),
        parameters: parameters.clone(),
        delta_version: None,
        expiration_time: None,
        create_time: now,
    };
    let mut writes = put_new_run(&ctx.region, &query)?;
    writes.extend([
        put_new_version(&table, &version)?,
        put_table(&table)?.expecting(before.map_or(Expect::Absent, |b| b.expect())),
    ]);
    writes.extend(log);
    commit_charged(state, &collaboration.id, &admitted.prepared, writes).await?;
    spawn_populate(
        state,
        admitted.prepared,
        PopulateJob {
            population: Population {
                query_id: query_id.clone(),
                table_id: table.header.id.clone(),
                version_id: version_id.clone(),
            },
            inherited,
            first_party,
            parameters,
            options: WriteOptions {
                target_partitions: admitted.settings.target_partitions,
                ..WriteOptions::default()
            },
        },
    );
    Ok(Started {
        query_id,
        version_id,
    })
}

/// Every output column must be a valid intermediate table column name, and distinct.
fn check_output_columns(plan: &datafusion::logical_expr::LogicalPlan) -> AwsResult<()> {
    let mut seen = HashSet::new();
    for field in plan.schema().fields() {
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
    Ok(())
}
