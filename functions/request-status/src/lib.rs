//! Where a trust request stands, read from its Step Functions execution.
//!
//! The execution of a request is named after its id (`trust-<requestId>`), so the id is all a
//! requester needs. Its status comes from DescribeExecution; what the workflow announced (awaiting
//! the remote side, verified, rejected, ...) and the trust's last state come from the history,
//! where the notifier's and the status Lambda's task outputs are recorded.
//!
//! Used by this crate's Lambda (`GET /trust-requests/{id}` of the API, a Lambda proxy integration
//! because DescribeExecution alone cannot tell "awaiting remote side" from "running") and by
//! `trustctl status` / `trustctl watch`. The view never carries the execution's input or output,
//! only the named fields below: no password, not even the secret's name.

use std::future::Future;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::header::{HeaderValue, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use trustflow_core::announcement::Announcement;
use trustflow_core::aws::{classify_sdk_error, error_code};
use trustflow_core::remedy::Remedy;
use trustflow_core::request::{check_request_id, execution_arn_named, execution_name};
use trustflow_core::WorkflowError;

/// What DescribeExecution says of an execution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionSummary {
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`.
    pub status: String,
    /// The error a failed execution ended with (`TrustRequestRejected`, `TrustNotEstablished`, ...).
    pub error: Option<String>,
    /// RFC 3339.
    pub start_date: Option<String>,
    /// RFC 3339; `None` while running.
    pub stop_date: Option<String>,
}

/// One history event, reduced to what a requester's view and a progress display need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryRecord {
    /// The history event type, e.g. `TaskStateEntered`, `TaskFailed`, `ExecutionSucceeded`.
    pub event_type: String,
    /// The state entered, for `*StateEntered` events.
    pub entered_state: Option<String>,
    /// The output of a `TaskSucceeded` event (the Lambda invoke result, JSON text).
    pub task_output: Option<String>,
    /// `(error, cause)` of a `TaskFailed` event.
    pub task_failure: Option<(String, String)>,
}

/// The two Step Functions reads the status needs.
pub trait ExecutionReader {
    /// DescribeExecution; `None` if there is no such execution.
    fn describe(&self, execution_arn: &str) -> impl Future<Output = Result<Option<ExecutionSummary>, WorkflowError>>;
    /// Every event of GetExecutionHistory, oldest first (all pages).
    fn history(&self, execution_arn: &str) -> impl Future<Output = Result<Vec<HistoryRecord>, WorkflowError>>;
}

/// Where a request stands, as its requester sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestState {
    /// The workflow is working on it.
    Running,
    /// The AWS side is done; the workflow re-verifies until the on-premises side is configured.
    AwaitingRemoteSide,
    /// The trust works (created now, or already in place).
    Verified,
    /// A one-way incoming trust exists on the AWS side; AWS does not verify that direction.
    Created,
    /// The trust was not established.
    Failed,
    /// The request broke a rule; nothing was created.
    Rejected,
    /// The trust was not ready in time (creation deadline or remote-side window).
    TimedOut,
    /// Someone stopped the execution.
    Aborted,
}

impl RequestState {
    /// As printed by trustctl.
    pub fn label(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::AwaitingRemoteSide => "awaiting remote side",
            Self::Verified => "verified",
            Self::Created => "created on the AWS side (one-way incoming: not verified by AWS)",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::TimedOut => "timed out",
            Self::Aborted => "aborted",
        }
    }

    /// Whether the request ended with what was asked for.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Verified | Self::Created)
    }

    /// Whether the request is still being worked on.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Running | Self::AwaitingRemoteSide)
    }
}

/// The status of one request: the body of `GET /trust-requests/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStatus {
    /// The request id.
    pub request_id: String,
    /// Where it stands.
    pub status: RequestState,
    /// The execution's own status.
    pub execution_status: String,
    /// The last outcome the workflow announced to the requester (`awaitingRemoteSide`, `verified`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announcement: Option<Announcement>,
    /// `t-...`, once the trust exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_id: Option<String>,
    /// The trust's last known Directory Service state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_state: Option<String>,
    /// The Directory Service's reason for that state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_state_reason: Option<String>,
    /// The error a failed execution ended with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why a rejected or failed request ended so: the step's error name and message, as the
    /// requester was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// What the trust's state reason means and what to do, as the requester was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
    /// When the request started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// When it ended (RFC 3339); absent while open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
}

/// The error a request ended with, as announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// The stable error name (`ValidationFailed`, `SecretUnavailable`, `ReplacementNotCreated`, ...).
    pub name: String,
    /// What broke: field, rule and value for a rejection.
    pub message: String,
}

/// The execution ARN of a request, from the state machine's ARN.
pub fn execution_arn(state_machine_arn: &str, request_id: &str) -> String {
    execution_arn_named(state_machine_arn, &execution_name(request_id))
}

/// Builds the requester's view from the execution and its history.
pub fn summarise(request_id: &str, execution: &ExecutionSummary, history: &[HistoryRecord]) -> RequestStatus {
    let mut announcement = None;
    let mut trust: Option<Value> = None;
    let mut cause = None;
    let mut remedy = None;
    // Later outputs win: the last announcement and the last trust status are the current ones.
    for output in history.iter().filter_map(|record| record.task_output.as_deref()) {
        let Some(payload) = serde_json::from_str::<Value>(output).ok().and_then(|o| o.get("Payload").cloned()) else { continue };
        if let Some(said) = payload.get("announcement").and_then(|a| Announcement::deserialize(a).ok()) {
            announcement = Some(said);
            // The notifier's own result: what it told the requester about why.
            cause = payload.get("error").and_then(|e| Cause::deserialize(e).ok());
            remedy = payload.get("remedy").and_then(|r| Remedy::deserialize(r).ok());
        }
        if let Some(status) = payload.get("status").filter(|s| s.get("trustId").is_some()) {
            trust = Some(status.clone());
        }
    }
    let text = |field: &str| trust.as_ref().and_then(|t| t.get(field)).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    RequestStatus {
        request_id: request_id.to_owned(),
        status: requester_state(execution, announcement),
        execution_status: execution.status.clone(),
        trust_id: text("trustId"),
        trust_state: text("trustState"),
        trust_state_reason: text("trustStateReason"),
        announcement,
        error: execution.error.clone(),
        cause,
        remedy,
        start_date: execution.start_date.clone(),
        stop_date: execution.stop_date.clone(),
    }
}

fn requester_state(execution: &ExecutionSummary, announcement: Option<Announcement>) -> RequestState {
    match (execution.status.as_str(), announcement) {
        ("RUNNING" | "PENDING_REDRIVE", Some(Announcement::AwaitingRemoteSide)) => RequestState::AwaitingRemoteSide,
        ("RUNNING" | "PENDING_REDRIVE", _) => RequestState::Running,
        // What the requester was told decides, once the workflow has told them.
        (_, Some(Announcement::Verified | Announcement::AlreadyInPlace)) => RequestState::Verified,
        (_, Some(Announcement::Created)) => RequestState::Created,
        (_, Some(Announcement::Rejected)) => RequestState::Rejected,
        (_, Some(Announcement::TimedOut | Announcement::RemoteSideTimedOut)) => RequestState::TimedOut,
        (_, Some(Announcement::Failed)) => RequestState::Failed,
        ("FAILED", _) if execution.error.as_deref() == Some("TrustRequestRejected") => RequestState::Rejected,
        ("TIMED_OUT", _) => RequestState::TimedOut,
        ("ABORTED", _) => RequestState::Aborted,
        _ => RequestState::Failed,
    }
}

/// Why a status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No execution for this request id on this state machine.
    #[error("no trust request with this id was started")]
    NotFound,
    /// Step Functions could not be read (the inner error says whether it may pass).
    #[error(transparent)]
    Aws(WorkflowError),
}

/// Describes the request's execution and reads its history once; returns the view and the history.
pub async fn read_status(
    reader: &impl ExecutionReader,
    state_machine_arn: &str,
    request_id: &str,
) -> Result<(RequestStatus, Vec<HistoryRecord>), StatusError> {
    let arn = execution_arn(state_machine_arn, request_id);
    let execution = reader.describe(&arn).await.map_err(StatusError::Aws)?.ok_or(StatusError::NotFound)?;
    let history = reader.history(&arn).await.map_err(StatusError::Aws)?;
    Ok((summarise(request_id, &execution, &history), history))
}

/// Handles `GET /trust-requests/{id}` (API Gateway REST proxy event).
///
/// 200 with the [`RequestStatus`]; 400 when the id breaks the request-id rule (field, rule and
/// value named); 404 when no request with this id was started; 503 when Step Functions could not
/// be read (the caller may retry), 500 for anything else.
pub async fn handle_get(event: &ApiGatewayProxyRequest, reader: &impl ExecutionReader, state_machine_arn: &str) -> ApiGatewayProxyResponse {
    let id = event.path_parameters.get("id").map(String::as_str).unwrap_or_default();
    if let Some(rule) = check_request_id(id) {
        let violation = trustflow_core::error::Violation::new("id", rule, id);
        return respond(400, &json!({"message": format!("the request id is invalid: {violation}")}));
    }
    match read_status(reader, state_machine_arn, id).await {
        Ok((status, _)) => respond(200, &serde_json::to_value(&status).unwrap_or(Value::Null)),
        Err(StatusError::NotFound) => respond(404, &json!({"message": format!("no trust request with id {id:?} was started")})),
        Err(StatusError::Aws(error @ WorkflowError::Transient(_))) => {
            tracing::warn!(error = %error, "status not read");
            respond(503, &json!({"message": format!("the status could not be read now, retry: {error}")}))
        }
        Err(StatusError::Aws(error)) => {
            tracing::error!(error = %error, "status not read");
            respond(500, &json!({"message": "the status could not be read"}))
        }
    }
}

fn respond(status_code: i64, body: &Value) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status_code;
    response.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(Body::Text(body.to_string()));
    response
}

/// Step Functions over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkExecutions(pub aws_sdk_sfn::Client);

impl SdkExecutions {
    /// A Step Functions client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_sfn::Client::new(config))
    }
}

fn rfc3339(at: &aws_smithy_types::DateTime) -> Option<String> {
    at.fmt(aws_smithy_types::date_time::Format::DateTime).ok()
}

impl ExecutionReader for SdkExecutions {
    async fn describe(&self, execution_arn: &str) -> Result<Option<ExecutionSummary>, WorkflowError> {
        let described = match self.0.describe_execution().execution_arn(execution_arn).send().await {
            Ok(described) => described,
            Err(error) if error_code(&error) == Some("ExecutionDoesNotExist") => return Ok(None),
            Err(error) => return Err(classify_sdk_error("DescribeExecution", error, str::to_owned)),
        };
        Ok(Some(ExecutionSummary {
            status: described.status().as_str().to_owned(),
            error: described.error().map(str::to_owned),
            start_date: rfc3339(described.start_date()),
            stop_date: described.stop_date().and_then(rfc3339),
        }))
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryRecord>, WorkflowError> {
        let mut records = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .0
                .get_execution_history()
                .execution_arn(execution_arn)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| classify_sdk_error("GetExecutionHistory", error, str::to_owned))?;
            records.extend(page.events().iter().map(|event| {
                HistoryRecord {
                    event_type: event.r#type().as_str().to_owned(),
                    entered_state: event.state_entered_event_details().map(|d| d.name().to_owned()),
                    task_output: event.task_succeeded_event_details().and_then(|d| d.output()).map(str::to_owned),
                    task_failure: event
                        .task_failed_event_details()
                        .map(|d| (d.error().unwrap_or_default().to_owned(), d.cause().unwrap_or_default().to_owned())),
                }
            }));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(records),
            }
        }
    }
}

#[cfg(test)]
mod tests;
