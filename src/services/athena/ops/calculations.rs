//! Calculations (spec A.5): StartCalculationExecution, GetCalculationExecution,
//! GetCalculationExecutionStatus, GetCalculationExecutionCode, ListCalculationExecutions,
//! StopCalculationExecution. A session runs one calculation at a time: starting one needs an
//! IDLE session and makes it BUSY in the same commit; its worker runs it and makes it IDLE again.

use cleanrooms_emulator_api::athena::dto;
use cleanrooms_emulator_api::RequestContext;

use super::sessions::current;
use super::{fingerprint, retry_of};
use crate::error::{AwsError, AwsResult};
use crate::services::athena::errors::invalid_request;
use crate::services::athena::model::{calculation_is_final, Outcome, StoredCalculation, SPARK_3_5};
use crate::services::athena::repo::{self, Scope};
use crate::services::athena::runtime::SessionCommand;
use crate::state::AppState;
use crate::util::{ids, pagination};

/// The code of a StartCalculationExecution request: exactly one of `CodeBlock` and
/// `CalculationConfiguration.CodeBlock`.
fn code_of(input: &dto::StartCalculationExecutionRequest) -> AwsResult<String> {
    let configured = input
        .calculation_configuration
        .as_ref()
        .and_then(|c| c.code_block.clone());
    match (input.code_block.clone(), configured) {
        (Some(_), Some(_)) => Err(invalid_request(
            "Only one of CodeBlock and CalculationConfiguration.CodeBlock may be specified.",
        )),
        (None, None) => Err(invalid_request(
            "One of CodeBlock and CalculationConfiguration.CodeBlock must be specified.",
        )),
        (Some(code), None) | (None, Some(code)) => Ok(code),
    }
}

/// StartCalculationExecution.
pub async fn start_calculation_execution(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StartCalculationExecutionRequest,
) -> AwsResult<dto::StartCalculationExecutionResponse> {
    let scope = Scope::of(ctx);
    let code = code_of(&input)?;
    current(state, ctx, &input.session_id).await?;
    let request_fingerprint = fingerprint(&input);
    let _guard = state.write_lock().await;
    let mut session = repo::session(state, scope, &input.session_id).await?;
    if session.engine_version.effective_engine_version.as_deref() == Some(SPARK_3_5) {
        return Err(invalid_request(
            "Calculations are not supported in Apache Spark version 3.5 sessions; connect with Spark Connect instead.",
        ));
    }
    if let Some(token) = input.client_request_token.as_deref() {
        let calculations = repo::calculations_of(state, &session.session_id).await?;
        if let Some(earlier) = retry_of(calculations, token, &request_fingerprint)? {
            return Ok(dto::StartCalculationExecutionResponse {
                calculation_execution_id: Some(earlier.calculation_id),
                state: Some(earlier.state),
            });
        }
    }
    let now = state.now();
    if session.busy(now).is_err() {
        return Err(invalid_request(format!(
            "Session is in the {} state; needs to be IDLE to accept Calculations.",
            session.state.as_str()
        )));
    }
    let calculation_id = ids::new_id();
    let calculation = StoredCalculation {
        calculation_id: calculation_id.clone(),
        session_id: session.session_id.clone(),
        description: input.description.clone(),
        code,
        state: dto::CalculationExecutionState::Creating,
        state_change_reason: None,
        submitted: now,
        completed: None,
        dpu_execution_millis: 0,
        progress: None,
        working_directory: session
            .working_directory
            .as_ref()
            .map(|dir| format!("{dir}{calculation_id}/")),
        result: None,
        client_request_token: input.client_request_token.clone(),
        request_fingerprint,
    };
    state
        .store()
        .commit(vec![
            repo::put_calculation(scope, &calculation)?,
            repo::put_session(scope, &session)?,
        ])
        .await?;
    if !state.athena().send(
        &session.session_id,
        SessionCommand::Run(calculation_id.clone()),
    ) {
        return Err(AwsError::internal(format!(
            "session {} has no running Spark process",
            session.session_id
        )));
    }
    Ok(dto::StartCalculationExecutionResponse {
        calculation_execution_id: Some(calculation_id),
        state: Some(dto::CalculationExecutionState::Creating),
    })
}

/// GetCalculationExecution.
pub async fn get_calculation_execution(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetCalculationExecutionRequest,
) -> AwsResult<dto::GetCalculationExecutionResponse> {
    let c = repo::calculation(state, Scope::of(ctx), &input.calculation_execution_id).await?;
    Ok(dto::GetCalculationExecutionResponse {
        calculation_execution_id: Some(c.calculation_id.clone()),
        session_id: Some(c.session_id.clone()),
        description: c.description.clone(),
        working_directory: c.working_directory.clone(),
        status: Some(c.status()),
        statistics: Some(c.statistics()),
        result: c.result.clone(),
    })
}

/// GetCalculationExecutionStatus.
pub async fn get_calculation_execution_status(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetCalculationExecutionStatusRequest,
) -> AwsResult<dto::GetCalculationExecutionStatusResponse> {
    let c = repo::calculation(state, Scope::of(ctx), &input.calculation_execution_id).await?;
    Ok(dto::GetCalculationExecutionStatusResponse {
        status: Some(c.status()),
        statistics: Some(c.statistics()),
    })
}

/// GetCalculationExecutionCode: the submitted code, verbatim.
pub async fn get_calculation_execution_code(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::GetCalculationExecutionCodeRequest,
) -> AwsResult<dto::GetCalculationExecutionCodeResponse> {
    let c = repo::calculation(state, Scope::of(ctx), &input.calculation_execution_id).await?;
    Ok(dto::GetCalculationExecutionCodeResponse {
        code_block: Some(c.code),
    })
}

/// ListCalculationExecutions: newest first, optionally only one state.
pub async fn list_calculation_executions(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::ListCalculationExecutionsRequest,
) -> AwsResult<dto::ListCalculationExecutionsResponse> {
    let session = repo::session(state, Scope::of(ctx), &input.session_id).await?;
    let list = format!(
        "athena.calculations:{}:{:?}",
        session.session_id, input.state_filter
    );
    let before = pagination::resume(&list, input.next_token.as_deref(), invalid_request)?;
    let items = repo::calculations_of(state, &session.session_id)
        .await?
        .into_iter()
        .rev()
        .filter(|(seq, c)| {
            before.is_none_or(|b| *seq < b) && input.state_filter.is_none_or(|f| c.state == f)
        })
        .map(|(seq, c)| {
            (
                seq,
                dto::CalculationSummary {
                    calculation_execution_id: Some(c.calculation_id.clone()),
                    description: c.description.clone(),
                    status: Some(c.status()),
                },
            )
        })
        .collect();
    let (calculations, next_token) =
        pagination::page(&list, items, pagination::page_size(input.max_results));
    Ok(dto::ListCalculationExecutionsResponse {
        calculations: Some(calculations),
        next_token,
    })
}

/// StopCalculationExecution: a running calculation goes CANCELING and its session's runner is
/// interrupted; a finished one is left as it is.
pub async fn stop_calculation_execution(
    state: &AppState,
    ctx: &RequestContext,
    input: dto::StopCalculationExecutionRequest,
) -> AwsResult<dto::StopCalculationExecutionResponse> {
    let scope = Scope::of(ctx);
    let mut c = {
        let _guard = state.write_lock().await;
        let mut c = repo::calculation(state, scope, &input.calculation_execution_id).await?;
        if calculation_is_final(c.state) || c.canceling().is_err() {
            return Ok(dto::StopCalculationExecutionResponse {
                state: Some(c.state),
            });
        }
        state
            .store()
            .commit(vec![repo::put_calculation(scope, &c)?])
            .await?;
        c
    };
    if !state.athena().send(
        &c.session_id,
        SessionCommand::Cancel(c.calculation_id.clone()),
    ) {
        // No worker (the session ended meanwhile): nothing runs it any more.
        let _guard = state.write_lock().await;
        if c.finish(Outcome::Canceled, None, 0, state.now()).is_ok() {
            state
                .store()
                .commit(vec![repo::put_calculation(scope, &c)?])
                .await?;
        }
    }
    Ok(dto::StopCalculationExecutionResponse {
        state: Some(c.state),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        code: Option<&str>,
        configured: Option<&str>,
    ) -> dto::StartCalculationExecutionRequest {
        dto::StartCalculationExecutionRequest {
            session_id: "s".into(),
            code_block: code.map(str::to_string),
            calculation_configuration: configured.map(|c| dto::CalculationConfiguration {
                code_block: Some(c.to_string()),
            }),
            ..dto::StartCalculationExecutionRequest::default()
        }
    }

    #[test]
    fn exactly_one_code_block() {
        assert_eq!(code_of(&request(Some("a"), None)).unwrap(), "a");
        assert_eq!(code_of(&request(None, Some("b"))).unwrap(), "b");
        assert!(code_of(&request(Some("a"), Some("b"))).is_err());
        assert!(code_of(&request(None, None)).is_err());
    }
}
