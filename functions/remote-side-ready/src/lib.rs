//! "The remote side is ready": `POST /trust-requests/{id}/remote-side-ready` and the
//! `Trust Remote Side Ready` event (detail `{"requestId": "..."}`) wake a workflow that waits for
//! the remote side, so that it asks AWS to verify the trust at once instead of at its next
//! scheduled re-verification (every `ReverifyIntervalSeconds`, 5 minutes by default), which stays
//! as the fallback.
//!
//! The workflow's waiting Task is a `.waitForTaskToken` Task; its token is read from the execution
//! history (`trustflow_domain::ready`) and the Task is failed with `RemoteSideReady`, which the
//! state machine catches into `VerifyNow`. A request that is not waiting is answered with what it
//! is doing, and nothing changes. The token is never logged or returned.

use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use serde_json::{json, Value};
use trustflow_aws::ports::{ExecutionReader, TaskAnswer, TaskCallbacks};
use trustflow_aws::{read_status, StatusError};
use trustflow_domain::error::Violation;
use trustflow_domain::ready::{remote_side_wait, ReadySignal, RemoteSideWait, SignalSource, READY_SIGNAL_ERROR};
use trustflow_domain::request::check_request_id;
use trustflow_domain::status::{RequestState, RequestStatus};
use trustflow_domain::time::OffsetDateTime;
use trustflow_domain::WorkflowError;
use trustflow_lambda::api::json_response as respond;

/// The event's detail-type.
pub const TRUST_REMOTE_SIDE_READY_DETAIL_TYPE: &str = "Trust Remote Side Ready";

/// How long to wait before looking again when the workflow is between two checks (a scheduled
/// re-verification timed out and the next is starting): about the Retry's one second.
pub const BETWEEN_CHECKS_PAUSE: Duration = Duration::from_secs(1);

/// How many times to look while the workflow is between two checks, before answering "retry".
const LOOKS: u32 = 5;

/// What became of a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalOutcome {
    /// The waiting workflow was woken: it verifies the trust now.
    Accepted(RequestStatus),
    /// A verification after an earlier signal is under way already: its answer will be announced.
    AlreadyVerifying(RequestStatus),
    /// The request is not waiting for the remote side (running, ended): nothing was changed.
    NotWaiting(RequestStatus),
    /// The workflow stayed between two checks while we looked: nothing was changed; send again.
    BetweenChecks(RequestStatus),
}

impl SignalOutcome {
    /// A stable name for logs and the event path's result.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Accepted(_) => "accepted",
            Self::AlreadyVerifying(_) => "alreadyVerifying",
            Self::NotWaiting(_) => "notWaiting",
            Self::BetweenChecks(_) => "betweenChecks",
        }
    }

    /// The request's status as it was read.
    pub fn status(&self) -> &RequestStatus {
        match self {
            Self::Accepted(s) | Self::AlreadyVerifying(s) | Self::NotWaiting(s) | Self::BetweenChecks(s) => s,
        }
    }

    /// What the caller is told.
    pub fn message(&self) -> String {
        match self {
            Self::Accepted(_) => "The workflow asks AWS to verify the trust now; its outcome is announced as usual \
                (GET /trust-requests/{id} shows it)."
                .to_owned(),
            Self::AlreadyVerifying(_) => {
                "A verification requested after an earlier signal is under way: its outcome is announced as usual. \
                Nothing else was changed."
                    .to_owned()
            }
            // Still announced as awaiting, but past the wait: the workflow is announcing a verdict.
            Self::NotWaiting(status) if status.status == RequestState::AwaitingRemoteSide => {
                "The workflow is no longer waiting for the remote side: it is announcing the trust's outcome. Nothing was changed."
                    .to_owned()
            }
            Self::NotWaiting(status) => {
                format!("The request is not waiting for the remote side: it is {}. Nothing was changed.", status.status.label())
            }
            Self::BetweenChecks(_) => "The workflow is starting a scheduled re-verification right now: nothing was changed. \
                Send the signal again in a few seconds."
                .to_owned(),
        }
    }
}

/// Why a signal could not be handled.
#[derive(Debug)]
pub enum SignalError {
    /// The request id breaks its rule.
    InvalidId(Violation),
    /// No request with this id was started.
    NotFound,
    /// Step Functions could not be read or answered.
    Aws(WorkflowError),
}

impl From<StatusError> for SignalError {
    fn from(error: StatusError) -> Self {
        match error {
            StatusError::NotFound => Self::NotFound,
            StatusError::Aws(error) => Self::Aws(error),
        }
    }
}

/// Handles one signal for `request_id`: reads where the request stands and, if its workflow waits
/// for the remote side, fails the waiting Task with `RemoteSideReady`.
pub async fn signal_remote_side_ready(
    reader: &impl ExecutionReader,
    callbacks: &impl TaskCallbacks,
    state_machine_arn: &str,
    request_id: &str,
    via: SignalSource,
    now: OffsetDateTime,
    pause: Duration,
) -> Result<SignalOutcome, SignalError> {
    if let Some(rule) = check_request_id(request_id) {
        return Err(SignalError::InvalidId(Violation::new("requestId", rule, request_id)));
    }
    let signal = ReadySignal { signalled_at: now, via };
    let mut look = 1;
    loop {
        let (status, history) = read_status(reader, state_machine_arn, request_id).await?;
        if status.status != RequestState::AwaitingRemoteSide {
            return Ok(SignalOutcome::NotWaiting(status));
        }
        match remote_side_wait(&history) {
            RemoteSideWait::Waiting(token) => {
                match callbacks.fail_task(&token, READY_SIGNAL_ERROR, &signal.to_cause()).await.map_err(SignalError::Aws)? {
                    TaskAnswer::Answered => return Ok(SignalOutcome::Accepted(status)),
                    // The Task ended between our read and our answer: look again.
                    TaskAnswer::NoLongerWaiting => {}
                }
            }
            RemoteSideWait::VerifyingNow => return Ok(SignalOutcome::AlreadyVerifying(status)),
            RemoteSideWait::NotWaiting => return Ok(SignalOutcome::NotWaiting(status)),
            RemoteSideWait::BetweenChecks => {}
        }
        if look == LOOKS {
            return Ok(SignalOutcome::BetweenChecks(status));
        }
        look += 1;
        tokio::time::sleep(pause).await;
    }
}

/// The answer's body: the outcome, the message, and the request's status view.
fn body(outcome: &SignalOutcome) -> Value {
    let mut body = serde_json::to_value(outcome.status()).unwrap_or_else(|_| json!({}));
    if let Some(fields) = body.as_object_mut() {
        fields.insert("signal".to_owned(), json!(outcome.name()));
        fields.insert("accepted".to_owned(), json!(matches!(outcome, SignalOutcome::Accepted(_) | SignalOutcome::AlreadyVerifying(_))));
        fields.insert("message".to_owned(), json!(outcome.message()));
    }
    body
}

/// Handles whatever invoked the function: `POST /trust-requests/{id}/remote-side-ready` (answered
/// with a proxy response) or a `Trust Remote Side Ready` event (answered with what became of it;
/// an error that may pass makes EventBridge and Lambda retry the delivery).
pub async fn handle(
    payload: &Value,
    reader: &impl ExecutionReader,
    callbacks: &impl TaskCallbacks,
    state_machine_arn: &str,
    now: OffsetDateTime,
    pause: Duration,
) -> Result<Value, WorkflowError> {
    if payload.get("httpMethod").is_some() && payload.get("requestContext").is_some() {
        let request: ApiGatewayProxyRequest = serde_json::from_value(payload.clone())
            .map_err(|error| WorkflowError::Internal(format!("not an API Gateway proxy request: {error}")))?;
        let response = handle_post(&request, reader, callbacks, state_machine_arn, now, pause).await;
        tracing::info!(status_code = response.status_code, "remote side ready signal answered");
        return serde_json::to_value(response).map_err(|error| WorkflowError::Internal(error.to_string()));
    }
    if payload.get("detail-type").and_then(Value::as_str) == Some(TRUST_REMOTE_SIDE_READY_DETAIL_TYPE) {
        let request_id = payload.pointer("/detail/requestId").and_then(Value::as_str).unwrap_or_default();
        return match signal_remote_side_ready(reader, callbacks, state_machine_arn, request_id, SignalSource::Event, now, pause).await {
            Ok(outcome) => {
                let status = outcome.status().status;
                match &outcome {
                    SignalOutcome::Accepted(_) | SignalOutcome::AlreadyVerifying(_) => {
                        tracing::info!(signal = outcome.name(), status = ?status, "remote side ready signal handled")
                    }
                    _ => {
                        tracing::warn!(signal = outcome.name(), status = ?status, message = %outcome.message(), "remote side ready signal changed nothing")
                    }
                }
                Ok(body(&outcome))
            }
            Err(SignalError::InvalidId(violation)) => {
                tracing::warn!(field = violation.field, rule = violation.rule, value = ?violation.value, "remote side ready event ignored: invalid request id");
                Ok(json!({"signal": "invalidRequestId", "message": format!("the request id is invalid: {violation}")}))
            }
            Err(SignalError::NotFound) => {
                tracing::warn!(request_id, "remote side ready event ignored: no such request");
                Ok(json!({"signal": "notFound", "message": format!("no trust request with id {request_id:?} was started")}))
            }
            Err(SignalError::Aws(error)) => Err(error),
        };
    }
    Err(WorkflowError::Internal("expected a 'Trust Remote Side Ready' event or an API Gateway proxy request".to_owned()))
}

/// `POST /trust-requests/{id}/remote-side-ready`.
///
/// 202 when the waiting workflow was woken (or a verification after an earlier signal is under
/// way); 409 when the request is not waiting for the remote side (the body says what it is doing);
/// 400 for an id that breaks its rule; 404 when no such request was started; 503 when Step
/// Functions could not be read or the workflow stayed between two checks (send again).
pub async fn handle_post(
    event: &ApiGatewayProxyRequest,
    reader: &impl ExecutionReader,
    callbacks: &impl TaskCallbacks,
    state_machine_arn: &str,
    now: OffsetDateTime,
    pause: Duration,
) -> ApiGatewayProxyResponse {
    let id = event.path_parameters.get("id").map(String::as_str).unwrap_or_default();
    match signal_remote_side_ready(reader, callbacks, state_machine_arn, id, SignalSource::Api, now, pause).await {
        Ok(outcome @ (SignalOutcome::Accepted(_) | SignalOutcome::AlreadyVerifying(_))) => respond(202, &body(&outcome)),
        Ok(outcome @ SignalOutcome::NotWaiting(_)) => respond(409, &body(&outcome)),
        Ok(outcome @ SignalOutcome::BetweenChecks(_)) => respond(503, &body(&outcome)),
        Err(SignalError::InvalidId(violation)) => {
            let violation = Violation { field: "id".to_owned(), ..violation };
            respond(400, &json!({"message": format!("the request id is invalid: {violation}"), "errors": [violation]}))
        }
        Err(SignalError::NotFound) => respond(404, &json!({"message": format!("no trust request with id {id:?} was started")})),
        Err(SignalError::Aws(error @ WorkflowError::Transient(_))) => {
            tracing::warn!(error = %error, "remote side ready signal not handled");
            respond(503, &json!({"message": format!("the signal could not be handled now, send it again: {error}")}))
        }
        Err(SignalError::Aws(error)) => {
            tracing::error!(error_name = error.name(), error = %error, "remote side ready signal not handled");
            respond(500, &json!({"message": "the signal could not be handled"}))
        }
    }
}

#[cfg(test)]
mod tests;
