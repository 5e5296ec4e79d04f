//! Sessions (spec A.2, A.4): StartSession, GetSession, GetSessionStatus, ListSessions,
//! TerminateSession. StartSession validates in the order of A.2, stores the session CREATING and
//! hands it to its worker (`lifecycle`); reads first apply the idle timeout on the emulator
//! clock, so a session past its timeout is never reported IDLE.

use cleanrooms_emulator_api::athena::dto;
use cleanrooms_emulator_api::RequestContext;

use super::{fingerprint, retry_of};
use crate::error::AwsResult;
use crate::services::athena::errors::{invalid_request, notebook_has_session, too_many_sessions};
use crate::services::athena::lifecycle::{self, SessionKey};
use crate::services::athena::model::{is_spark, session_is_active, StoredSession};
use crate::services::athena::repo::{self, Scope};
use crate::state::AppState;
use crate::util::{ids, pagination};

/// Idle timeout when StartSession gives none (the console's default).
const DEFAULT_IDLE_TIMEOUT_MINUTES: i32 = 20;
/// The only notebook version Athena has.
const NOTEBOOK_VERSION: &str = "Athena notebook version 1";

/// The session key of a request's session id.
pub(crate) fn key(ctx: &RequestContext, id: &str) -> SessionKey {
    SessionKey {
        id: id.to_string(),
        account: ctx.account_id.clone(),
        region: ctx.region.clone(),
    }
}

/// The caller's session `id` after applying its idle timeout.
pub(crate) async fn current(
    state: &AppState,
    ctx: &RequestContext,
    id: &str,
) -> AwsResult<StoredSession> {
    let session = repo::session(state, Scope::of(ctx), id).await?;
    lifecycle::expire_if_idle(state, &key(ctx, id), session).await
}

/// The notebook an engine configuration names (`AdditionalConfigs.NotebookId`).
fn notebook_id(engine: &dto::EngineConfiguration) -> Option<&str> {
    engine
        .additional_configs
        .as_ref()
        .and_then(|c| c.get("NotebookId"))
        .map(String::as_str)
}

/// The checks of StartSession that need no stored state (steps 1–2 of A.2).
fn check_start_input(input: &dto::StartSessionRequest) -> AwsResult<()> {
    match (
        notebook_id(&input.engine_configuration),
        input.notebook_version.as_deref(),
    ) {
        (Some(_), None) => Err(invalid_request(
            "NotebookVersion is required when NotebookId is provided.",
        )),
        (None, Some(_)) => Err(invalid_request(
            "NotebookId is required in EngineConfiguration.AdditionalConfigs when NotebookVersion is provided.",
        )),
        (Some(_), Some(v)) if v != NOTEBOOK_VERSION => Err(invalid_request(format!(
            "NotebookVersion '{v}' is not valid; the only notebook version is '{NOTEBOOK_VERSION}'."
        ))),
        _ => Ok(()),
    }
}

/// StartSession.
pub async fn start_session(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartSessionRequest,
) -> AwsResult<dto::StartSessionResponse> {
    let scope = Scope::of(ctx);
    check_start_input(&input)?;
    let work_group = repo::work_group(state, scope, &input.work_group).await?;
    if !is_spark(work_group.engine_version()) {
        return Err(invalid_request("Workgroup EngineVersion is not Spark."));
    }
    if !work_group.is_enabled() {
        return Err(invalid_request(format!(
            "WorkGroup {} is disabled.",
            input.work_group
        )));
    }
    let request_fingerprint = fingerprint(&input);
    let _guard = state.write_lock().await;
    if let Some(token) = input.client_request_token.as_deref() {
        let sessions = repo::sessions_of(state, scope, &input.work_group).await?;
        if let Some(earlier) = retry_of(sessions, token, &request_fingerprint)? {
            return Ok(dto::StartSessionResponse {
                session_id: Some(earlier.session_id),
                state: Some(earlier.state),
            });
        }
    }
    let session_id = ids::new_id();
    if let Some(notebook) = notebook_id(&input.engine_configuration) {
        // Athena runs one active session per notebook.
        let active = repo::sessions_of(state, scope, &input.work_group)
            .await?
            .into_iter()
            .map(|(_, s)| s)
            .find(|s| {
                session_is_active(s.state) && notebook_id(&s.engine_configuration) == Some(notebook)
            });
        if let Some(active) = active {
            return Err(notebook_has_session(notebook, &active.session_id));
        }
    }
    let Some(commands) = state.athena().register(&session_id) else {
        return Err(too_many_sessions(state.athena().max_sessions()));
    };
    let now = state.now();
    let working_directory = work_group.output_location().map(|location| {
        let root = if location.ends_with('/') {
            location.to_string()
        } else {
            format!("{location}/")
        };
        format!("{root}{session_id}/")
    });
    let session = StoredSession {
        session_id: session_id.clone(),
        work_group: input.work_group.clone(),
        description: input.description.clone(),
        engine_version: work_group.engine_version_pair(),
        engine_configuration: input.engine_configuration.clone(),
        notebook_version: input.notebook_version.clone(),
        monitoring_configuration: input.monitoring_configuration.clone(),
        execution_role: input
            .execution_role
            .clone()
            .or_else(|| work_group.execution_role().map(str::to_string)),
        working_directory,
        idle_timeout_minutes: input
            .session_idle_timeout_in_minutes
            .unwrap_or(DEFAULT_IDLE_TIMEOUT_MINUTES),
        state: dto::SessionState::Creating,
        state_change_reason: None,
        start_time: now,
        last_modified: now,
        end_time: None,
        idle_since: None,
        dpu_execution_millis: 0,
        client_request_token: input.client_request_token.clone(),
        request_fingerprint,
        tags: input
            .tags
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
            .collect(),
    };
    let write = repo::put_session(scope, &session);
    let committed = match write {
        Ok(write) => state.store().commit(vec![write]).await.map_err(Into::into),
        Err(e) => Err(e),
    };
    if let Err(e) = committed {
        state.athena().unregister(&session_id);
        return Err(e);
    }
    lifecycle::launch(state, key(ctx, &session_id), commands);
    Ok(dto::StartSessionResponse {
        session_id: Some(session_id),
        state: Some(dto::SessionState::Creating),
    })
}

/// GetSession.
pub async fn get_session(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetSessionRequest,
) -> AwsResult<dto::GetSessionResponse> {
    let session = current(state, ctx, &input.session_id).await?;
    Ok(dto::GetSessionResponse {
        session_id: Some(session.session_id.clone()),
        description: session.description.clone(),
        work_group: Some(session.work_group.clone()),
        engine_version: session.engine_version.effective_engine_version.clone(),
        engine_configuration: Some(session.engine_configuration.clone()),
        notebook_version: session.notebook_version.clone(),
        monitoring_configuration: session.monitoring_configuration.clone(),
        session_configuration: Some(dto::SessionConfiguration {
            execution_role: session.execution_role.clone(),
            working_directory: session.working_directory.clone(),
            idle_timeout_seconds: Some(i64::from(session.idle_timeout_minutes) * 60),
            session_idle_timeout_in_minutes: Some(session.idle_timeout_minutes),
            encryption_configuration: None,
        }),
        status: Some(session.status()),
        statistics: Some(dto::SessionStatistics {
            dpu_execution_in_millis: Some(session.dpu_execution_millis),
        }),
    })
}

/// GetSessionStatus.
pub async fn get_session_status(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetSessionStatusRequest,
) -> AwsResult<dto::GetSessionStatusResponse> {
    let session = current(state, ctx, &input.session_id).await?;
    Ok(dto::GetSessionStatusResponse {
        session_id: Some(session.session_id.clone()),
        status: Some(session.status()),
    })
}

/// ListSessions: newest first; only active sessions unless `StateFilter` names a state.
pub async fn list_sessions(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListSessionsRequest,
) -> AwsResult<dto::ListSessionsResponse> {
    let scope = Scope::of(ctx);
    repo::work_group(state, scope, &input.work_group).await?;
    let list = format!(
        "athena.sessions:{}:{}:{}:{:?}",
        scope.account, scope.region, input.work_group, input.state_filter
    );
    let before = pagination::resume(&list, input.next_token.as_deref(), invalid_request)?;
    let mut items = Vec::new();
    for (seq, session) in repo::sessions_of(state, scope, &input.work_group)
        .await?
        .into_iter()
        .rev()
    {
        if before.is_some_and(|b| seq >= b) {
            continue;
        }
        let session =
            lifecycle::expire_if_idle(state, &key(ctx, &session.session_id), session).await?;
        let shown = match input.state_filter {
            Some(filter) => session.state == filter,
            None => session_is_active(session.state),
        };
        if shown {
            items.push((
                seq,
                dto::SessionSummary {
                    session_id: Some(session.session_id.clone()),
                    description: session.description.clone(),
                    engine_version: Some(session.engine_version.clone()),
                    notebook_version: session.notebook_version.clone(),
                    status: Some(session.status()),
                },
            ));
        }
    }
    let limit = pagination::page_size(input.max_results);
    let (sessions, next_token) = pagination::page(&list, items, limit);
    Ok(dto::ListSessionsResponse {
        sessions: Some(sessions),
        next_token,
    })
}

/// TerminateSession: an active session goes TERMINATING (then TERMINATED once its runner has
/// stopped); an inactive one is left as it is.
pub async fn terminate_session(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::TerminateSessionRequest,
) -> AwsResult<dto::TerminateSessionResponse> {
    current(state, ctx, &input.session_id).await?;
    let session = lifecycle::terminate(
        state,
        &key(ctx, &input.session_id),
        "Session was terminated by TerminateSession.",
    )
    .await?;
    Ok(dto::TerminateSessionResponse {
        state: Some(session.state),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(notebook_id: Option<&str>, version: Option<&str>) -> dto::StartSessionRequest {
        dto::StartSessionRequest {
            work_group: "wg".into(),
            engine_configuration: dto::EngineConfiguration {
                additional_configs: notebook_id.map(|id| {
                    [("NotebookId".to_string(), id.to_string())]
                        .into_iter()
                        .collect()
                }),
                ..dto::EngineConfiguration::default()
            },
            notebook_version: version.map(str::to_string),
            ..dto::StartSessionRequest::default()
        }
    }

    #[test]
    fn notebook_id_and_version_go_together() {
        assert!(check_start_input(&request(None, None)).is_ok());
        assert!(check_start_input(&request(Some("n"), Some(NOTEBOOK_VERSION))).is_ok());
        let e = check_start_input(&request(Some("n"), None)).unwrap_err();
        assert_eq!(
            e.message,
            "NotebookVersion is required when NotebookId is provided."
        );
        assert_eq!(e.fields["AthenaErrorCode"], "INVALID_INPUT");
        assert!(check_start_input(&request(None, Some(NOTEBOOK_VERSION))).is_err());
        assert!(check_start_input(&request(Some("n"), Some("Athena notebook version 2"))).is_err());
    }
}
