//! The one entrance of a trust request: both the EventBridge rule and `POST /trust-requests`
//! invoke this function, which starts the workflow with the execution named after the request id.
//!
//! Step Functions keeps one execution per name (for 90 days after it ends), and StartExecution with
//! the name and input of an open execution returns that execution: so a retried POST, a
//! redelivered event, or an event and a POST carrying the same request all end in one execution,
//! one trust and one notification per outcome. The input is the request alone, serialised with
//! sorted keys, so the same request reaches Step Functions as the same text whichever way it came.
//!
//! - A POST is checked against the request's static rules first: a broken rule is answered 400
//!   with the field, the rule and the value (the validation step's own messages), and nothing starts.
//! - An event is always started, so that even a request the workflow must reject gets its
//!   requester a "Trust Request Rejected" result event saying why. An event whose request id cannot
//!   name an execution is started under its EventBridge event id (`event-<id>`), which a
//!   redelivery of the same event repeats.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use serde_json::{json, Value};
use trustflow_aws::ports::{ExecutionStarter, StartOutcome, SubmitError};
use trustflow_domain::error::Violation;
use trustflow_domain::removal::{parse_removal_request, REMOVAL_INPUT_KEY, TRUST_REMOVAL_REQUESTED_DETAIL_TYPE};
use trustflow_domain::request::{check_request_id, execution_arn_named, execution_name, parse_request, TRUST_REQUESTED_DETAIL_TYPE};
use trustflow_domain::WorkflowError;
use trustflow_lambda::api::json_response as respond;

/// What became of a submitted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The workflow runs it (newly started, or already running with this very request).
    Started {
        /// The execution.
        execution_arn: String,
    },
    /// The same request was started before and has ended: nothing new was started.
    AlreadyStarted {
        /// The execution.
        execution_arn: String,
    },
    /// The request id names an execution of a different request: nothing was started.
    RequestIdInUse {
        /// The execution that holds the id.
        execution_arn: String,
    },
}

impl Admission {
    /// A stable name for logs and the event path's result.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Started { .. } => "started",
            Self::AlreadyStarted { .. } => "alreadyStarted",
            Self::RequestIdInUse { .. } => "requestIdInUse",
        }
    }

    /// The execution concerned.
    pub fn execution_arn(&self) -> &str {
        match self {
            Self::Started { execution_arn } | Self::AlreadyStarted { execution_arn } | Self::RequestIdInUse { execution_arn } => {
                execution_arn
            }
        }
    }
}

/// The execution input for a request: its JSON with sorted keys (`serde_json`'s map is ordered),
/// so that the same request is the same text, as Step Functions compares it.
pub fn canonical_input(request: &Value) -> String {
    request.to_string()
}

/// Starts the execution `name` with `input`, or finds what already holds the name.
pub async fn admit(starter: &impl ExecutionStarter, state_machine_arn: &str, name: &str, input: &str) -> Result<Admission, SubmitError> {
    match starter.start(state_machine_arn, name, input).await? {
        StartOutcome::Started(execution_arn) => Ok(Admission::Started { execution_arn }),
        StartOutcome::AlreadyExists => {
            let execution_arn = execution_arn_named(state_machine_arn, name);
            let Some(existing) = starter.input_of(&execution_arn).await? else {
                return Err(WorkflowError::Transient(format!("StartExecution said {name} exists, but DescribeExecution found none")).into());
            };
            let same = serde_json::from_str::<Value>(&existing).ok() == serde_json::from_str::<Value>(input).ok();
            Ok(if same { Admission::AlreadyStarted { execution_arn } } else { Admission::RequestIdInUse { execution_arn } })
        }
    }
}

/// Handles whatever invoked the function: an API Gateway proxy request (answered with a proxy
/// response) or an EventBridge event (answered with what became of it; an error makes
/// EventBridge and Lambda retry the delivery).
pub async fn submit(payload: &Value, starter: &impl ExecutionStarter, state_machine_arn: &str) -> Result<Value, WorkflowError> {
    if payload.get("httpMethod").is_some() && payload.get("requestContext").is_some() {
        let request: ApiGatewayProxyRequest = serde_json::from_value(payload.clone())
            .map_err(|error| WorkflowError::Internal(format!("not an API Gateway proxy request: {error}")))?;
        let response = handle_post(&request, starter, state_machine_arn).await;
        tracing::info!(status_code = response.status_code, "trust request answered");
        return serde_json::to_value(response).map_err(|error| WorkflowError::Internal(error.to_string()));
    }
    if payload.get("detail-type").is_some() {
        return handle_event(payload, starter, state_machine_arn).await;
    }
    Err(WorkflowError::Internal("expected an EventBridge event or an API Gateway proxy request".to_owned()))
}

/// Turns an event id into the characters an execution name may hold.
fn event_execution_name(event: &Value) -> String {
    let id: String = event
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(73)
        .collect();
    format!("event-{}", if id.is_empty() { "without-id".to_owned() } else { id })
}

/// A "Trust Requested" event from the rule.
pub async fn handle_event(event: &Value, starter: &impl ExecutionStarter, state_machine_arn: &str) -> Result<Value, WorkflowError> {
    let detail_type = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
    let request = event.get("detail").cloned().unwrap_or(Value::Null);
    // What the workflow runs: the request itself, or a removal under its key.
    let input = match detail_type {
        TRUST_REQUESTED_DETAIL_TYPE => request.clone(),
        TRUST_REMOVAL_REQUESTED_DETAIL_TYPE => json!({ REMOVAL_INPUT_KEY: request }),
        _ => {
            tracing::warn!(detail_type, "ignored an event that is not a trust request");
            return Ok(json!({"admission": "ignored"}));
        }
    };
    let request_id = request.get("requestId").and_then(Value::as_str).filter(|id| check_request_id(id).is_none());
    let name = match request_id {
        Some(id) => execution_name(id),
        // The workflow still runs it, so the requester hears why it was rejected.
        None => event_execution_name(event),
    };
    let admission = match admit(starter, state_machine_arn, &name, &canonical_input(&input)).await {
        Ok(admission) => admission,
        Err(SubmitError::Throttled) => return Err(WorkflowError::Transient("StartExecution was throttled".to_owned())),
        Err(SubmitError::Aws(error)) => return Err(error),
    };
    let event_id = event.get("id").and_then(Value::as_str).unwrap_or_default();
    match &admission {
        Admission::RequestIdInUse { execution_arn } => tracing::warn!(
            request_id = request_id.unwrap_or_default(),
            execution_arn = %execution_arn,
            event_id,
            "trust request not started: its request id already names a different request"
        ),
        other => tracing::info!(
            request_id = request_id.unwrap_or_default(),
            execution_arn = other.execution_arn(),
            admission = other.name(),
            event_id,
            "trust request event admitted"
        ),
    }
    Ok(json!({"admission": admission.name(), "executionArn": admission.execution_arn()}))
}

/// `POST /trust-requests` (a trust request) and `POST /trust-removals` (a removal request).
///
/// 202 when the workflow runs the request (started now, or started before with the same
/// request); 400 naming every broken rule (field, rule, value); 409 when the request id already
/// names a different request; 429 when Step Functions throttles; 503 when it cannot be reached.
pub async fn handle_post(
    event: &ApiGatewayProxyRequest,
    starter: &impl ExecutionStarter,
    state_machine_arn: &str,
) -> ApiGatewayProxyResponse {
    let text = event.body.as_deref().unwrap_or_default();
    let body: Value = match serde_json::from_str(text) {
        Ok(body) => body,
        Err(_) => {
            let violation = Violation::without_value("(body)", "must be a JSON object: the trust request");
            return respond(400, &json!({"message": format!("the trust request was rejected: {violation}"), "errors": [violation]}));
        }
    };
    // `POST /trust-removals` removes a trust; `POST /trust-requests` creates (or changes) one.
    let removal = event.path.as_deref().is_some_and(|path| path.trim_end_matches('/').ends_with("/trust-removals"));
    let checked = match removal {
        true => parse_removal_request(&body).map(|removal| (removal.request_id, json!({ REMOVAL_INPUT_KEY: body }))),
        false => parse_request(&body).map(|request| (request.request_id, body)),
    };
    let (id, input) = match checked {
        Ok(checked) => checked,
        Err(WorkflowError::ValidationFailed(violations)) => {
            let message = WorkflowError::ValidationFailed(violations.clone()).to_string();
            return respond(400, &json!({"message": message, "errors": violations}));
        }
        Err(other) => return respond(400, &json!({"message": other.to_string()})),
    };
    match admit(starter, state_machine_arn, &execution_name(&id), &canonical_input(&input)).await {
        Ok(Admission::Started { execution_arn }) => respond(202, &json!({"requestId": id, "executionArn": execution_arn})),
        Ok(Admission::AlreadyStarted { execution_arn }) => respond(
            202,
            &json!({"requestId": id, "executionArn": execution_arn,
                "message": "This request was started before: nothing new was started. GET /trust-requests/{id} for its status."}),
        ),
        Ok(Admission::RequestIdInUse { execution_arn }) => respond(
            409,
            &json!({"requestId": id, "executionArn": execution_arn,
                "message": format!("request id {id:?} already names a different trust request: nothing was started. Send this request with a new requestId.")}),
        ),
        Err(SubmitError::Throttled) => {
            respond(429, &json!({"message": "Too many requests: retry the same request later (it never starts a request twice)."}))
        }
        Err(SubmitError::Aws(error @ WorkflowError::Transient(_))) => {
            tracing::warn!(error = %error, "trust request not started");
            respond(
                503,
                &json!({"message": "The trust workflow could not be started now: retry the same request (it never starts a request twice)."}),
            )
        }
        Err(SubmitError::Aws(error)) => {
            tracing::error!(error_name = error.name(), error = %error, "trust request not started");
            respond(500, &json!({"message": "The trust workflow could not be started."}))
        }
    }
}

#[cfg(test)]
mod tests;
