//! Workgroups (spec A.1): CreateWorkGroup, GetWorkGroup, ListWorkGroups, UpdateWorkGroup,
//! DeleteWorkGroup, ListEngineVersions, and the tag operations on workgroup ARNs.
//!
//! The engine version decides what a workgroup is: a Spark release makes it a Spark workgroup
//! (sessions and calculations; an execution role is required), anything else an SQL one. The
//! engine kind cannot change afterwards. `primary` exists in every account and cannot be created
//! or deleted.

use std::collections::BTreeMap;

use cleanrooms_emulator_api::athena::dto;
use cleanrooms_emulator_api::RequestContext;

use super::index_page;
use crate::error::AwsResult;
use crate::services::athena::errors::{invalid_request, resource_not_found};
use crate::services::athena::lifecycle::{self, SessionKey};
use crate::services::athena::model::{
    effective_engine_version, is_spark, session_is_active, work_group_arn, StoredWorkGroup,
    ENGINE_VERSIONS, PRIMARY,
};
use crate::services::athena::repo::{self, Scope};
use crate::state::AppState;

/// Resolves the selected engine version into the effective one (a client's
/// `EffectiveEngineVersion` is ignored) and checks the Spark rules.
fn resolve_engine(configuration: &mut dto::WorkGroupConfiguration) -> AwsResult<()> {
    let selected = configuration
        .engine_version
        .as_ref()
        .and_then(|v| v.selected_engine_version.clone())
        .unwrap_or_else(|| "AUTO".into());
    let effective = effective_engine_version(&selected).ok_or_else(|| {
        invalid_request(format!(
            "The engine version '{selected}' does not exist; ListEngineVersions lists the valid ones."
        ))
    })?;
    configuration.engine_version = Some(dto::EngineVersion {
        selected_engine_version: Some(selected),
        effective_engine_version: Some(effective.into()),
    });
    if is_spark(effective)
        && configuration
            .execution_role
            .as_deref()
            .is_none_or(str::is_empty)
    {
        return Err(invalid_request("executionRole is null or empty"));
    }
    check_output_location(
        configuration
            .result_configuration
            .as_ref()
            .and_then(|r| r.output_location.as_deref()),
    )
}

/// An output location must be an S3 URI.
fn check_output_location(location: Option<&str>) -> AwsResult<()> {
    match location {
        Some(l) if crate::services::athena::lifecycle::split_s3_uri(l).is_none() => {
            Err(invalid_request(format!(
                "OutputLocation '{l}' is not a valid S3 location (s3://bucket/prefix/)."
            )))
        }
        _ => Ok(()),
    }
}

/// Tags as a map, from the request's list.
fn tag_map(tags: Option<Vec<dto::Tag>>) -> BTreeMap<String, String> {
    tags.unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
        .collect()
}

/// CreateWorkGroup.
pub async fn create_work_group(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::CreateWorkGroupInput,
) -> AwsResult<dto::CreateWorkGroupOutput> {
    let scope = Scope::of(ctx);
    if input.name == PRIMARY {
        return Err(invalid_request("primary workGroup could not be created"));
    }
    let mut configuration = input.configuration.unwrap_or_default();
    resolve_engine(&mut configuration)?;
    let _guard = state.write_lock().await;
    if repo::find_work_group(state, scope, &input.name)
        .await?
        .is_some()
    {
        return Err(invalid_request(format!(
            "WorkGroup {} already exists",
            input.name
        )));
    }
    let stored = StoredWorkGroup {
        work_group: dto::WorkGroup {
            name: input.name,
            state: Some(dto::WorkGroupState::Enabled),
            configuration: Some(configuration),
            description: input.description,
            creation_time: Some(state.now()),
            identity_center_application_arn: None,
        },
        tags: tag_map(input.tags),
    };
    state
        .store()
        .commit(vec![repo::put_work_group(scope, &stored)?])
        .await?;
    Ok(dto::CreateWorkGroupOutput::default())
}

/// GetWorkGroup.
pub async fn get_work_group(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetWorkGroupInput,
) -> AwsResult<dto::GetWorkGroupOutput> {
    let stored = repo::work_group(state, Scope::of(ctx), &input.work_group).await?;
    Ok(dto::GetWorkGroupOutput {
        work_group: Some(stored.work_group),
    })
}

/// ListWorkGroups: `primary` first, then in creation order.
pub async fn list_work_groups(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListWorkGroupsInput,
) -> AwsResult<dto::ListWorkGroupsOutput> {
    let scope = Scope::of(ctx);
    let summaries: Vec<dto::WorkGroupSummary> = repo::work_groups(state, scope)
        .await?
        .into_iter()
        .map(|w| dto::WorkGroupSummary {
            engine_version: Some(w.engine_version_pair()),
            name: Some(w.work_group.name),
            state: w.work_group.state,
            description: w.work_group.description,
            creation_time: w.work_group.creation_time,
            identity_center_application_arn: None,
        })
        .collect();
    let list = format!("athena.workgroups:{}:{}", scope.account, scope.region);
    let (work_groups, next_token) = index_page(
        &list,
        summaries,
        input.next_token.as_deref(),
        input.max_results,
        50,
    )?;
    Ok(dto::ListWorkGroupsOutput {
        work_groups: Some(work_groups),
        next_token,
    })
}

/// Applies `ConfigurationUpdates` to a workgroup's configuration.
fn apply_updates(
    configuration: &mut dto::WorkGroupConfiguration,
    updates: dto::WorkGroupConfigurationUpdates,
) -> AwsResult<()> {
    let was_spark = configuration
        .engine_version
        .as_ref()
        .and_then(|v| v.effective_engine_version.as_deref())
        .is_some_and(is_spark);
    if let Some(version) = updates.engine_version {
        configuration.engine_version = Some(version);
    }
    if let Some(role) = updates.execution_role {
        configuration.execution_role = Some(role);
    }
    if let Some(r) = updates.result_configuration_updates {
        let result = configuration
            .result_configuration
            .get_or_insert_with(dto::ResultConfiguration::default);
        if r.remove_output_location == Some(true) {
            result.output_location = None;
        }
        if let Some(location) = r.output_location {
            result.output_location = Some(location);
        }
        if r.remove_encryption_configuration == Some(true) {
            result.encryption_configuration = None;
        }
        if let Some(e) = r.encryption_configuration {
            result.encryption_configuration = Some(e);
        }
        if r.remove_expected_bucket_owner == Some(true) {
            result.expected_bucket_owner = None;
        }
        if let Some(o) = r.expected_bucket_owner {
            result.expected_bucket_owner = Some(o);
        }
        if r.remove_acl_configuration == Some(true) {
            result.acl_configuration = None;
        }
        if let Some(a) = r.acl_configuration {
            result.acl_configuration = Some(a);
        }
    }
    if updates.remove_bytes_scanned_cutoff_per_query == Some(true) {
        configuration.bytes_scanned_cutoff_per_query = None;
    }
    if let Some(b) = updates.bytes_scanned_cutoff_per_query {
        configuration.bytes_scanned_cutoff_per_query = Some(b);
    }
    if updates.remove_customer_content_encryption_configuration == Some(true) {
        configuration.customer_content_encryption_configuration = None;
    }
    if let Some(c) = updates.customer_content_encryption_configuration {
        configuration.customer_content_encryption_configuration = Some(c);
    }
    macro_rules! replace {
        ($($member:ident),*) => {$(
            if let Some(v) = updates.$member {
                configuration.$member = Some(v);
            }
        )*};
    }
    replace!(
        additional_configuration,
        enforce_work_group_configuration,
        engine_configuration,
        monitoring_configuration,
        publish_cloud_watch_metrics_enabled,
        requester_pays_enabled,
        enable_minimum_encryption_configuration,
        query_results_s3_access_grants_configuration
    );
    resolve_engine(configuration)?;
    let is_now_spark = configuration
        .engine_version
        .as_ref()
        .and_then(|v| v.effective_engine_version.as_deref())
        .is_some_and(is_spark);
    if was_spark != is_now_spark {
        return Err(invalid_request(
            "The analytics engine of a workgroup (SQL or Apache Spark) cannot be changed after it is created.",
        ));
    }
    Ok(())
}

/// UpdateWorkGroup: description, state and configuration; the name cannot change.
pub async fn update_work_group(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UpdateWorkGroupInput,
) -> AwsResult<dto::UpdateWorkGroupOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let mut stored = repo::work_group(state, scope, &input.work_group).await?;
    if let Some(updates) = input.configuration_updates {
        let configuration = stored
            .work_group
            .configuration
            .get_or_insert_with(dto::WorkGroupConfiguration::default);
        apply_updates(configuration, updates)?;
    }
    if let Some(description) = input.description {
        stored.work_group.description = Some(description);
    }
    if let Some(new_state) = input.state {
        stored.work_group.state = Some(new_state);
    }
    state
        .store()
        .commit(vec![repo::put_work_group(scope, &stored)?])
        .await?;
    Ok(dto::UpdateWorkGroupOutput::default())
}

/// DeleteWorkGroup: its active sessions are terminated.
pub async fn delete_work_group(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::DeleteWorkGroupInput,
) -> AwsResult<dto::DeleteWorkGroupOutput> {
    let scope = Scope::of(ctx);
    if input.work_group == PRIMARY {
        return Err(invalid_request("primary workGroup could not be deleted"));
    }
    {
        let _guard = state.write_lock().await;
        repo::work_group(state, scope, &input.work_group).await?;
        state
            .store()
            .commit(vec![repo::delete_work_group(scope, &input.work_group)])
            .await?;
    }
    for (_, session) in repo::sessions_of(state, scope, &input.work_group).await? {
        if session_is_active(session.state) {
            let key = SessionKey {
                id: session.session_id,
                account: scope.account.into(),
                region: scope.region.into(),
            };
            lifecycle::terminate(state, &key, "WorkGroup was deleted.").await?;
        }
    }
    Ok(dto::DeleteWorkGroupOutput::default())
}

/// ListEngineVersions.
pub async fn list_engine_versions(
    _state: &AppState,
    _ctx: &RequestContext,
    input: dto::ListEngineVersionsInput,
) -> AwsResult<dto::ListEngineVersionsOutput> {
    let versions = ENGINE_VERSIONS
        .iter()
        .map(|(selected, effective)| dto::EngineVersion {
            selected_engine_version: Some((*selected).into()),
            effective_engine_version: Some((*effective).into()),
        })
        .collect();
    let (engine_versions, next_token) = index_page(
        "athena.engine_versions",
        versions,
        input.next_token.as_deref(),
        input.max_results,
        10,
    )?;
    Ok(dto::ListEngineVersionsOutput {
        engine_versions: Some(engine_versions),
        next_token,
    })
}

/// The workgroup an ARN names, if it is the caller's.
async fn tagged_work_group(
    state: &AppState,
    scope: Scope<'_>,
    arn: &str,
) -> AwsResult<StoredWorkGroup> {
    let prefix = work_group_arn(scope.account, scope.region, "");
    let not_found = || resource_not_found(arn, format!("Resource {arn} is not found."));
    let name = arn.strip_prefix(&prefix).ok_or_else(not_found)?;
    repo::find_work_group(state, scope, name)
        .await?
        .ok_or_else(not_found)
}

/// TagResource (workgroups).
pub async fn tag_resource(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::TagResourceInput,
) -> AwsResult<dto::TagResourceOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let mut stored = tagged_work_group(state, scope, &input.resource_arn).await?;
    stored.tags.extend(tag_map(Some(input.tags)));
    if stored.tags.len() > 50 {
        return Err(invalid_request("A resource can have at most 50 tags."));
    }
    state
        .store()
        .commit(vec![repo::put_work_group(scope, &stored)?])
        .await?;
    Ok(dto::TagResourceOutput::default())
}

/// UntagResource (workgroups).
pub async fn untag_resource(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::UntagResourceInput,
) -> AwsResult<dto::UntagResourceOutput> {
    let scope = Scope::of(ctx);
    let _guard = state.write_lock().await;
    let mut stored = tagged_work_group(state, scope, &input.resource_arn).await?;
    for key in &input.tag_keys {
        stored.tags.remove(key);
    }
    state
        .store()
        .commit(vec![repo::put_work_group(scope, &stored)?])
        .await?;
    Ok(dto::UntagResourceOutput::default())
}

/// ListTagsForResource (workgroups).
pub async fn list_tags_for_resource(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListTagsForResourceInput,
) -> AwsResult<dto::ListTagsForResourceOutput> {
    let scope = Scope::of(ctx);
    let stored = tagged_work_group(state, scope, &input.resource_arn).await?;
    let tags = stored
        .tags
        .into_iter()
        .map(|(key, value)| dto::Tag {
            key: Some(key),
            value: Some(value),
        })
        .collect();
    let (tags, next_token) = index_page(
        &format!("athena.tags:{}", input.resource_arn),
        tags,
        input.next_token.as_deref(),
        input.max_results,
        100,
    )?;
    Ok(dto::ListTagsForResourceOutput {
        tags: Some(tags),
        next_token,
    })
}
