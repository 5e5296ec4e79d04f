//! Configured tables: CreateConfiguredTable, GetConfiguredTable, ListConfiguredTables,
//! UpdateConfiguredTable, DeleteConfiguredTable.
//!
//! A configured table is an account-level resource, invisible to other accounts, that points at
//! the caller's data and names the columns collaborators may use. A Glue reference must name an
//! existing table of the caller's Glue Data Catalog and every allowed column must be one of its
//! columns or partition keys; Athena, Snowflake and Databricks references are stored as given
//! (the emulator cannot read those catalogs; analyses on them fail later). `MULTIPLE` analysis
//! goes with exactly the two selected methods `DIRECT_QUERY` and `DIRECT_JOB`.
//!
//! Configured table analysis rules: CreateConfiguredTableAnalysisRule,
//! GetConfiguredTableAnalysisRule, UpdateConfiguredTableAnalysisRule,
//! DeleteConfiguredTableAnalysisRule, and what makes a rule policy valid.
//!
//! A table has at most one rule (AGGREGATION, LIST or CUSTOM), whose type is the policy's union
//! member. Every column a rule names must be an allowed column of the table; aggregation
//! dimension columns may not also be join or aggregate columns; list join and list columns are
//! disjoint; a custom rule allows either analysis templates or, with `ANY_QUERY`/`ANY_JOB`,
//! analysis providers. Tables not in Glue only take CUSTOM rules. The rule is enforced on queries
//! elsewhere; here it is only checked and stored.

use crate::error::AwsResult;
use crate::services::cleanrooms::domain::arn::configured_table_arn;
use crate::services::cleanrooms::domain::configured_table::{
    identity_count_of_one, is_string_type, policy_type, ConfiguredTable, ConfiguredTableRule,
    ANY_JOB, ANY_QUERY,
};
use crate::services::cleanrooms::domain::naming::{check_tag_keys, rename};
use crate::services::cleanrooms::errors::{
    check_room, conflict, invalid_configuration, not_found_msg, ConflictReason, ResourceType,
};
use crate::services::cleanrooms::ops::{account_list, check_policy_size, commit_rule, Operation};
use crate::services::cleanrooms::records;
use crate::services::cleanrooms::records::access::own_table;
use crate::services::cleanrooms::records::account_resources;
use crate::services::cleanrooms::records::configured_tables::{
    associations_of_table, put_configured_table,
};
use crate::services::cleanrooms::records::tags::{delete_tags, put_tags};
use crate::services::glue::catalog;
use crate::state::AppState;
use crate::util::ids;
use cleanrooms_emulator_api::cleanrooms::dto;
use cleanrooms_emulator_api::RequestContext;
use std::collections::BTreeMap;
use std::collections::HashSet;
use std::hash::Hash;

/// Configured tables one account may have per region.
const MAX_CONFIGURED_TABLES_PER_ACCOUNT: usize = 250;
/// Columns one configured table may allow.
const MAX_ALLOWED_COLUMNS: usize = 100;

/// The columns (name → Glue type, lower-case names) of the Glue table a reference names, from
/// the caller's Glue Data Catalog: regular columns and partition keys.
///
/// # Errors
/// `ValidationException` naming the database and table when the catalog has no such table.
async fn glue_columns(
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
impl Operation for dto::CreateConfiguredTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_tag_keys(input.tags.iter().flat_map(|t| t.keys()))?;
        check_methods(
            input.analysis_method,
            input.selected_analysis_methods.as_deref(),
        )?;
        check_reference_and_columns(state, ctx, &input.table_reference, &input.allowed_columns)
            .await?;
        let _guard = state.write_lock().await;
        let existing =
            account_resources::<ConfiguredTable>(state, &ctx.region, &ctx.account_id, None, None)
                .await?
                .len();
        check_room(
            "Configured tables per account",
            existing,
            MAX_CONFIGURED_TABLES_PER_ACCOUNT,
        )?;
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
        let mut writes = vec![put_configured_table(&ctx.region, &table)?];
        if let Some(t) = input.tags.filter(|t| !t.is_empty()) {
            writes.push(put_tags(&ctx.region, &ctx.account_id, &table.arn, &t)?);
        }
        state.store().commit(writes).await?;
        Ok(table.to_dto().into())
    }
}

/// GetConfiguredTable (owner only).
impl Operation for dto::GetConfiguredTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let table = own_table(state, ctx, &input.configured_table_identifier).await?;
        Ok(table.to_dto().into())
    }
}

/// ListConfiguredTables: the caller's tables in this region, in creation order.
impl Operation for dto::ListConfiguredTablesInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let scope = format!("configuredtables:{}:{}", ctx.account_id, ctx.region);
        let page = (input.next_token.as_deref(), input.max_results);
        let (configured_table_summaries, next_token) =
            account_list(state, ctx, &scope, page, |t: ConfiguredTable| async move {
                Ok(Some(t.to_summary()))
            })
            .await?;
        Ok((configured_table_summaries, next_token).into())
    }
}

/// UpdateConfiguredTable: name, description, reference, allowed columns, analysis method. The
/// result is checked as a new table would be, and its analysis rule must still fit it.
impl Operation for dto::UpdateConfiguredTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let mut table = own_table(state, ctx, &input.configured_table_identifier).await?;
        let reference_changed = input.table_reference.is_some() || input.allowed_columns.is_some();
        rename(
            &mut table.name,
            &mut table.description,
            input.name,
            input.description,
        );
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
        if let Some(record) = records::record::<ConfiguredTableRule>(state, &table.id).await? {
            let rule: ConfiguredTableRule = records::decode(&record)?;
            check_policy(state, ctx, &table, &rule.policy).await?;
        }
        table.update_time = state.now();
        state
            .store()
            .commit(vec![put_configured_table(&ctx.region, &table)?])
            .await?;
        Ok(table.to_dto().into())
    }
}

/// DeleteConfiguredTable: only while no collaboration uses it. Its analysis rule and tags go
/// with it.
impl Operation for dto::DeleteConfiguredTableInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
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
                    a.header.membership_id
                ),
            ));
        }
        let writes = vec![
            records::delete::<ConfiguredTable>(table.id.clone()),
            records::delete::<ConfiguredTableRule>(table.id.clone()),
            delete_tags(&table.arn),
        ];
        state.store().commit(writes).await?;
        Ok(dto::DeleteConfiguredTableOutput {})
    }
}

// ---------------------------------------------------------------------------------------------
// Analysis rules
// ---------------------------------------------------------------------------------------------

/// Checks of one policy against one table: every message names the field and the value.
struct Checker<'a> {
    table: &'a ConfiguredTable,
    allowed: HashSet<&'a str>,
    prefix: &'static str,
}

impl Checker<'_> {
    fn fail(&self, field: &str, message: String) -> crate::error::AwsError {
        invalid_configuration(format!("{}.{field}: {message}", self.prefix))
    }

    /// Every column must be an allowed column of the table.
    fn allowed_columns<'c>(
        &self,
        field: &str,
        columns: impl IntoIterator<Item = &'c String>,
    ) -> AwsResult<()> {
        for c in columns {
            if !self.allowed.contains(c.as_str()) {
                return Err(self.fail(
                    field,
                    format!(
                        "column '{c}' is not an allowed column of configured table '{}' ({}); allowed columns: {}",
                        self.table.name,
                        self.table.id,
                        self.table.allowed_columns.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// No value twice.
    fn distinct<T: Eq + Hash + std::fmt::Debug>(
        &self,
        field: &str,
        values: impl IntoIterator<Item = T>,
        show: impl Fn(&T) -> String,
    ) -> AwsResult<()> {
        let mut seen = HashSet::new();
        for v in values {
            let shown = show(&v);
            if !seen.insert(v) {
                return Err(self.fail(field, format!("'{shown}' is listed more than once")));
            }
        }
        Ok(())
    }

    /// The two column lists share no column.
    fn disjoint(&self, a_field: &str, a: &[String], b_field: &str, b: &[String]) -> AwsResult<()> {
        if let Some(c) = a.iter().find(|c| b.contains(c)) {
            return Err(self.fail(
                a_field,
                format!("column '{c}' cannot be in both {a_field} and {b_field}"),
            ));
        }
        Ok(())
    }

    fn join_operators(
        &self,
        operators: Option<&[dto::JoinOperator]>,
        join_columns: &[String],
    ) -> AwsResult<()> {
        let Some(ops) = operators else {
            return Ok(());
        };
        self.distinct("allowedJoinOperators", ops.iter(), |o| o.as_str().into())?;
        if ops.is_empty() && join_columns.len() >= 2 {
            return Err(self.fail(
                "allowedJoinOperators",
                format!(
                    "[] allows no operator, but the {} join columns need AND or OR to be combined",
                    join_columns.len()
                ),
            ));
        }
        Ok(())
    }

    fn aggregation(&self, rule: &dto::AnalysisRuleAggregation) -> AwsResult<()> {
        let mut pairs = Vec::new();
        for (i, entry) in rule.aggregate_columns.iter().enumerate() {
            let field = format!("aggregateColumns[{i}].columnNames");
            self.allowed_columns(&field, &entry.column_names)?;
            self.distinct(&field, entry.column_names.iter(), |c| (*c).clone())?;
            pairs.extend(
                entry
                    .column_names
                    .iter()
                    .map(|c| (c.clone(), entry.function)),
            );
        }
        self.distinct("aggregateColumns", pairs.iter(), |(c, f)| {
            format!("{}({c})", f.as_str())
        })?;
        self.allowed_columns("joinColumns", &rule.join_columns)?;
        self.distinct("joinColumns", rule.join_columns.iter(), |c| (*c).clone())?;
        self.allowed_columns("dimensionColumns", &rule.dimension_columns)?;
        self.distinct("dimensionColumns", rule.dimension_columns.iter(), |c| {
            (*c).clone()
        })?;
        self.disjoint(
            "dimensionColumns",
            &rule.dimension_columns,
            "joinColumns",
            &rule.join_columns,
        )?;
        let aggregated: Vec<String> = pairs.iter().map(|(c, _)| c.clone()).collect();
        self.disjoint(
            "dimensionColumns",
            &rule.dimension_columns,
            "aggregateColumns",
            &aggregated,
        )?;
        self.distinct("scalarFunctions", rule.scalar_functions.iter(), |f| {
            f.as_str().into()
        })?;
        for (i, constraint) in rule.output_constraints.iter().enumerate() {
            self.allowed_columns(
                &format!("outputConstraints[{i}].columnName"),
                [&constraint.column_name],
            )?;
        }
        self.distinct(
            "outputConstraints",
            rule.output_constraints.iter().map(|c| &c.column_name),
            |c| (*c).clone(),
        )?;
        self.join_operators(rule.allowed_join_operators.as_deref(), &rule.join_columns)?;
        if rule.join_required.is_some() && rule.join_columns.is_empty() {
            return Err(self.fail(
                "joinRequired",
                "QUERY_RUNNER requires a join, but joinColumns is empty".into(),
            ));
        }
        Ok(())
    }

    fn list(&self, rule: &dto::AnalysisRuleList) -> AwsResult<()> {
        self.allowed_columns("joinColumns", &rule.join_columns)?;
        self.distinct("joinColumns", rule.join_columns.iter(), |c| (*c).clone())?;
        self.allowed_columns("listColumns", &rule.list_columns)?;
        self.distinct("listColumns", rule.list_columns.iter(), |c| (*c).clone())?;
        self.disjoint(
            "listColumns",
            &rule.list_columns,
            "joinColumns",
            &rule.join_columns,
        )?;
        self.join_operators(rule.allowed_join_operators.as_deref(), &rule.join_columns)
    }

    async fn custom(
        &self,
        state: &AppState,
        ctx: &RequestContext,
        rule: &dto::AnalysisRuleCustom,
    ) -> AwsResult<()> {
        let analyses = &rule.allowed_analyses;
        self.distinct("allowedAnalyses", analyses.iter(), |a| (*a).clone())?;
        let wildcards: Vec<&String> = analyses
            .iter()
            .filter(|a| *a == ANY_QUERY || *a == ANY_JOB)
            .collect();
        let templates: Vec<&String> = analyses
            .iter()
            .filter(|a| *a != ANY_QUERY && *a != ANY_JOB)
            .collect();
        if let (Some(w), Some(t)) = (wildcards.first(), templates.first()) {
            return Err(self.fail(
                "allowedAnalyses",
                format!(
                    "'{w}' and the analysis template '{t}' cannot be combined: allow either analysis templates or {ANY_QUERY}/{ANY_JOB} with allowedAnalysisProviders"
                ),
            ));
        }
        let providers = rule.allowed_analysis_providers.as_deref().unwrap_or(&[]);
        self.distinct("allowedAnalysisProviders", providers.iter(), |p| {
            (*p).clone()
        })?;
        if let Some(w) = wildcards.first() {
            if providers.is_empty() {
                return Err(self.fail(
                    "allowedAnalysisProviders",
                    format!("is required when allowedAnalyses contains '{w}'"),
                ));
            }
        } else if let Some(p) = providers.first() {
            return Err(self.fail(
                "allowedAnalysisProviders",
                format!(
                    "'{p}' is not allowed: analysis providers go with {ANY_QUERY} or {ANY_JOB} in allowedAnalyses, not with analysis templates"
                ),
            ));
        }
        if let Some(columns) = &rule.disallowed_output_columns {
            self.allowed_columns("disallowedOutputColumns", columns)?;
            self.distinct("disallowedOutputColumns", columns.iter(), |c| (*c).clone())?;
        }
        if let Some(dp) = &rule.differential_privacy {
            self.allowed_columns(
                "differentialPrivacy.columns",
                dp.columns.iter().map(|c| &c.name),
            )?;
        }
        let jobs_only = !analyses.is_empty() && analyses.iter().all(|a| a == ANY_JOB);
        for (field, present) in [
            (
                "aggregationThresholds",
                rule.aggregation_thresholds.is_some(),
            ),
            ("comparisonControls", rule.comparison_controls.is_some()),
        ] {
            if !present {
                continue;
            }
            if rule.differential_privacy.is_some() {
                return Err(self.fail(field, "cannot be combined with differentialPrivacy".into()));
            }
            if jobs_only {
                return Err(self.fail(
                    field,
                    format!("cannot be used when allowedAnalyses allows only jobs ({ANY_JOB})"),
                ));
            }
        }
        let mut identity = None;
        for (i, threshold) in rule.aggregation_thresholds.iter().flatten().enumerate() {
            let field = format!("aggregationThresholds[{i}].identityColumns");
            self.allowed_columns(&field, &threshold.identity_columns)?;
            if let (Some(column), dto::TableReference::Glue(glue)) = (
                threshold.identity_columns.first(),
                &self.table.table_reference,
            ) {
                identity = Some(column.clone());
                // The type is known only while the Glue table exists.
                if let Ok(types) = glue_columns(state, ctx, glue).await {
                    if let Some(t) = types.get(column.as_str()) {
                        if !is_string_type(t) {
                            return Err(self.fail(
                                &field,
                                format!(
                                    "identity column '{column}' has type '{t}'; it must be string, varchar or char"
                                ),
                            ));
                        }
                    }
                }
            } else {
                identity = threshold.identity_columns.first().cloned();
            }
            let overrides = threshold.output_column_thresholds.as_deref().unwrap_or(&[]);
            self.distinct(
                &format!("aggregationThresholds[{i}].outputColumnThresholds"),
                overrides.iter().map(|o| &o.output_column_name),
                |c| (*c).clone(),
            )?;
            if let Some((field, message)) = identity_count_of_one(i, overrides) {
                return Err(self.fail(&field, message));
            }
        }
        if let Some(controls) = &rule.comparison_controls {
            let literal = &controls.allowed_literal_comparison_columns;
            let column = &controls.allowed_column_comparison_columns;
            self.allowed_columns(
                "comparisonControls.allowedLiteralComparisonColumns",
                literal,
            )?;
            self.allowed_columns("comparisonControls.allowedColumnComparisonColumns", column)?;
            self.distinct(
                "comparisonControls.allowedLiteralComparisonColumns",
                literal.iter(),
                |c| (*c).clone(),
            )?;
            self.distinct(
                "comparisonControls.allowedColumnComparisonColumns",
                column.iter(),
                |c| (*c).clone(),
            )?;
            if let Some(id) = identity.filter(|id| literal.contains(id)) {
                return Err(self.fail(
                    "comparisonControls.allowedLiteralComparisonColumns",
                    format!(
                        "column '{id}' is the aggregation threshold identity column and cannot be compared with literals"
                    ),
                ));
            }
        }
        if let Some(receivers) = &rule.allowed_result_receivers {
            self.distinct("allowedResultReceivers", receivers.iter(), |r| (*r).clone())?;
        }
        if let Some(arns) = &rule.allowed_additional_analyses {
            self.distinct("allowedAdditionalAnalyses", arns.iter(), |a| (*a).clone())?;
        }
        Ok(())
    }
}

/// Checks that `policy` is a valid analysis rule for `table`.
///
/// # Errors
/// `ValidationException` (`INVALID_CONFIGURATION`) naming the offending field and value.
async fn check_policy(
    state: &AppState,
    ctx: &RequestContext,
    table: &ConfiguredTable,
    policy: &dto::ConfiguredTableAnalysisRulePolicy,
) -> AwsResult<()> {
    check_policy_size(policy)?;
    let rule_type = policy_type(policy);
    if rule_type != dto::ConfiguredTableAnalysisRuleType::Custom
        && !matches!(table.table_reference, dto::TableReference::Glue(_))
    {
        return Err(invalid_configuration(format!(
            "analysisRuleType {}: configured table '{}' refers to a {} table, which supports only CUSTOM analysis rules",
            rule_type.as_str(),
            table.name,
            table.table_type().as_str()
        )));
    }
    let dto::ConfiguredTableAnalysisRulePolicy::V1(v1) = policy;
    match v1 {
        dto::ConfiguredTableAnalysisRulePolicyV1::Aggregation(rule) => Checker {
            table,
            allowed: table.allowed_columns.iter().map(String::as_str).collect(),
            prefix: "analysisRulePolicy.v1.aggregation",
        }
        .aggregation(rule),
        dto::ConfiguredTableAnalysisRulePolicyV1::List(rule) => Checker {
            table,
            allowed: table.allowed_columns.iter().map(String::as_str).collect(),
            prefix: "analysisRulePolicy.v1.list",
        }
        .list(rule),
        dto::ConfiguredTableAnalysisRulePolicyV1::Custom(rule) => {
            Checker {
                table,
                allowed: table.allowed_columns.iter().map(String::as_str).collect(),
                prefix: "analysisRulePolicy.v1.custom",
            }
            .custom(state, ctx, rule)
            .await
        }
    }
}

/// `analysisRuleType` must name the policy's union member.
fn check_type_matches(
    declared: dto::ConfiguredTableAnalysisRuleType,
    policy: &dto::ConfiguredTableAnalysisRulePolicy,
) -> AwsResult<()> {
    let actual = policy_type(policy);
    if actual == declared {
        Ok(())
    } else {
        Err(invalid_configuration(format!(
            "analysisRuleType {} does not match analysisRulePolicy, which is a {} policy (v1.{})",
            declared.as_str(),
            actual.as_str(),
            actual.as_str().to_lowercase()
        )))
    }
}

/// The table's rule of type `rule_type`, or not-found.
async fn rule_of(
    state: &AppState,
    table: &ConfiguredTable,
    rule_type: dto::ConfiguredTableAnalysisRuleType,
) -> AwsResult<ConfiguredTableRule> {
    let missing = || {
        not_found_msg(
            ResourceType::ConfiguredTable,
            &table.id,
            format!(
                "Configured table {} has no {} analysis rule",
                table.id,
                rule_type.as_str()
            ),
        )
    };
    let record = records::record::<ConfiguredTableRule>(state, &table.id)
        .await?
        .ok_or_else(missing)?;
    let rule: ConfiguredTableRule = records::decode(&record)?;
    if rule.rule_type == rule_type {
        Ok(rule)
    } else {
        Err(missing())
    }
}

/// CreateConfiguredTableAnalysisRule: the table's one rule.
impl Operation for dto::CreateConfiguredTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        check_type_matches(input.analysis_rule_type, &input.analysis_rule_policy)?;
        let _guard = state.write_lock().await;
        let mut table = own_table(state, ctx, &input.configured_table_identifier).await?;
        if let Some(existing) = table.analysis_rule_type {
            return Err(conflict(
                ResourceType::ConfiguredTable,
                &table.id,
                ConflictReason::AlreadyExists,
                format!(
                    "Configured table {} already has a {} analysis rule; a configured table can have only one",
                    table.id,
                    existing.as_str()
                ),
            ));
        }
        check_policy(state, ctx, &table, &input.analysis_rule_policy).await?;
        let (kind, policy) = (input.analysis_rule_type, input.analysis_rule_policy);
        let rule = table.add_rule(kind, policy, state.now());
        let parent = put_configured_table(&ctx.region, &table)?;
        commit_rule(
            state,
            ctx,
            (&rule.configured_table_id, &rule.configured_table_id),
            &rule,
            Some(parent),
        )
        .await?;
        Ok(rule.to_dto().into())
    }
}

/// GetConfiguredTableAnalysisRule.
impl Operation for dto::GetConfiguredTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let table = own_table(state, ctx, &input.configured_table_identifier).await?;
        let rule = rule_of(state, &table, input.analysis_rule_type).await?;
        Ok(rule.to_dto().into())
    }
}

/// UpdateConfiguredTableAnalysisRule: replaces the policy (same type).
impl Operation for dto::UpdateConfiguredTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let table = own_table(state, ctx, &input.configured_table_identifier).await?;
        let mut rule = rule_of(state, &table, input.analysis_rule_type).await?;
        check_type_matches(input.analysis_rule_type, &input.analysis_rule_policy)?;
        check_policy(state, ctx, &table, &input.analysis_rule_policy).await?;
        rule.policy = input.analysis_rule_policy;
        rule.update_time = state.now();
        commit_rule(
            state,
            ctx,
            (&rule.configured_table_id, &rule.configured_table_id),
            &rule,
            None,
        )
        .await?;
        Ok(rule.to_dto().into())
    }
}

/// DeleteConfiguredTableAnalysisRule.
impl Operation for dto::DeleteConfiguredTableAnalysisRuleInput {
    async fn run(state: &AppState, ctx: &RequestContext, input: Self) -> AwsResult<Self::Output> {
        let _guard = state.write_lock().await;
        let mut table = own_table(state, ctx, &input.configured_table_identifier).await?;
        rule_of(state, &table, input.analysis_rule_type).await?;
        table.analysis_rule_type = None;
        table.update_time = state.now();
        state
            .store()
            .commit(vec![
                records::delete::<ConfiguredTableRule>(table.id.clone()),
                put_configured_table(&ctx.region, &table)?,
            ])
            .await?;
        Ok(dto::DeleteConfiguredTableAnalysisRuleOutput {})
    }
}
