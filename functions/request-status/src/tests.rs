use std::collections::HashMap;

use aws_lambda_events::encodings::Body;
use trustflow_domain::status::{execution_arn, summarise, ExecutionSummary, HistoryRecord, RequestState};

use super::*;

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:trust-workflow";

/// Executions and histories in memory; `failure` makes every call fail.
#[derive(Default)]
struct InMemoryExecutions {
    executions: HashMap<String, (ExecutionSummary, Vec<HistoryRecord>)>,
    failure: Option<fn() -> WorkflowError>,
}

impl InMemoryExecutions {
    fn with(request_id: &str, status: &str, error: Option<&str>, history: Vec<HistoryRecord>) -> Self {
        let summary = ExecutionSummary {
            status: status.to_owned(),
            error: error.map(str::to_owned),
            start_date: Some("2026-11-25T09:00:00Z".to_owned()),
            stop_date: (status != "RUNNING").then(|| "2026-11-25T09:05:00Z".to_owned()),
        };
        let mut executions = HashMap::new();
        executions.insert(execution_arn(MACHINE, request_id), (summary, history));
        Self { executions, failure: None }
    }
}

impl ExecutionReader for InMemoryExecutions {
    async fn describe(&self, execution_arn: &str) -> Result<Option<ExecutionSummary>, WorkflowError> {
        if let Some(failure) = self.failure {
            return Err(failure());
        }
        Ok(self.executions.get(execution_arn).map(|(summary, _)| summary.clone()))
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryRecord>, WorkflowError> {
        if let Some(failure) = self.failure {
            return Err(failure());
        }
        Ok(self.executions.get(execution_arn).map(|(_, history)| history.clone()).unwrap_or_default())
    }
}

fn entered(state: &str) -> HistoryRecord {
    HistoryRecord { event_type: "TaskStateEntered".to_owned(), entered_state: Some(state.to_owned()), ..Default::default() }
}

fn succeeded(payload: Value) -> HistoryRecord {
    HistoryRecord {
        event_type: "TaskSucceeded".to_owned(),
        task_output: Some(json!({"Payload": payload, "StatusCode": 200}).to_string()),
        ..Default::default()
    }
}

fn trust_status(outcome: &str, state: &str, reason: &str) -> Value {
    json!({"status": {"outcome": outcome, "trustId": "t-1234567890", "trustState": state, "trustStateReason": reason}})
}

fn get(id: &str) -> ApiGatewayProxyRequest {
    let mut request = ApiGatewayProxyRequest::default();
    request.path_parameters.insert("id".to_owned(), id.to_owned());
    request
}

fn body(response: &ApiGatewayProxyResponse) -> Value {
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("expected a text body, got {other:?}"),
    }
}

#[test]
fn names_the_execution_after_the_request_id() {
    assert_eq!(execution_arn(MACHINE, "REQ-1"), "arn:aws:states:us-east-1:123456789012:execution:trust-workflow:trust-REQ-1");
}

#[test]
fn reports_awaiting_remote_side_while_the_workflow_reverifies() {
    let history = vec![
        entered("PollTrust"),
        succeeded(trust_status("awaitingRemoteSide", "VerifyFailed", "Access is denied.")),
        entered("NotifyAwaitingRemoteSide"),
        succeeded(json!({"announcement": "awaitingRemoteSide", "succeeded": true})),
        entered("AwaitRemoteSide"),
    ];
    let status = summarise("REQ-1", &ExecutionSummary { status: "RUNNING".to_owned(), ..Default::default() }, &history);
    assert_eq!(status.status, RequestState::AwaitingRemoteSide);
    assert_eq!(status.trust_state.as_deref(), Some("VerifyFailed"));
    assert_eq!(status.trust_state_reason.as_deref(), Some("Access is denied."));
}

#[test]
fn the_last_announcement_and_trust_status_win() {
    let history = vec![
        succeeded(trust_status("awaitingRemoteSide", "VerifyFailed", "Access is denied.")),
        succeeded(json!({"announcement": "awaitingRemoteSide"})),
        succeeded(trust_status("verified", "Verified", "")),
        succeeded(json!({"announcement": "verified"})),
    ];
    let status = summarise("REQ-1", &ExecutionSummary { status: "SUCCEEDED".to_owned(), ..Default::default() }, &history);
    assert_eq!(status.status, RequestState::Verified);
    assert_eq!(status.trust_state.as_deref(), Some("Verified"));
    assert_eq!(status.trust_state_reason, None, "an empty reason is left out");
}

#[test]
fn a_running_execution_without_announcement_is_running() {
    let status = summarise("REQ-1", &ExecutionSummary { status: "RUNNING".to_owned(), ..Default::default() }, &[entered("PollTrust")]);
    assert_eq!(status.status, RequestState::Running);
    assert!(status.status.is_open());
}

#[test]
fn classifies_finished_executions_by_what_the_requester_was_told() {
    let finished = |status: &str, error: Option<&str>, announcement: Option<&str>| {
        let history = announcement.map(|a| vec![succeeded(json!({"announcement": a}))]).unwrap_or_default();
        let execution = ExecutionSummary { status: status.to_owned(), error: error.map(str::to_owned), ..Default::default() };
        summarise("R", &execution, &history).status
    };
    assert_eq!(finished("SUCCEEDED", None, Some("alreadyInPlace")), RequestState::Verified);
    assert_eq!(finished("FAILED", Some("TrustRequestRejected"), Some("rejected")), RequestState::Rejected);
    assert_eq!(finished("FAILED", Some("TrustRequestRejected"), None), RequestState::Rejected);
    assert_eq!(finished("FAILED", Some("TrustNotEstablished"), Some("failed")), RequestState::Failed);
    assert_eq!(finished("FAILED", Some("TrustNotEstablished"), Some("remoteSideTimedOut")), RequestState::TimedOut);
    assert_eq!(finished("FAILED", Some("NotificationFailed"), None), RequestState::Failed);
    assert_eq!(finished("TIMED_OUT", Some("States.Timeout"), None), RequestState::TimedOut);
    assert_eq!(finished("ABORTED", None, None), RequestState::Aborted);
}

#[tokio::test]
async fn answers_get_with_the_status_and_nothing_of_the_input() {
    let history = vec![
        HistoryRecord {
            event_type: "ExecutionStarted".to_owned(),
            // The input is in the history (a secret's name, never the password): it must not reach the view.
            ..Default::default()
        },
        succeeded(trust_status("failed", "Failed", "The specified domain name does not exist or could not be contacted.")),
        succeeded(json!({"announcement": "failed", "trustPassword": {"secretId": "trustflow/corp"}})),
    ];
    let executions = InMemoryExecutions::with("REQ-9", "FAILED", Some("TrustNotEstablished"), history);
    let response = handle_get(&get("REQ-9"), &executions, MACHINE).await;
    assert_eq!(response.status_code, 200);
    let view = body(&response);
    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"], "TrustNotEstablished");
    assert_eq!(view["trustId"], "t-1234567890");
    assert_eq!(view["stopDate"], "2026-11-25T09:05:00Z");
    assert!(!view.to_string().contains("trustflow/corp"), "{view}");
}

#[tokio::test]
async fn answers_404_for_an_unknown_request_id() {
    let response = handle_get(&get("NO-SUCH"), &InMemoryExecutions::default(), MACHINE).await;
    assert_eq!(response.status_code, 404);
    assert!(body(&response)["message"].as_str().expect("message").contains("\"NO-SUCH\""));
}

#[tokio::test]
async fn rejects_a_malformed_request_id_naming_field_rule_and_value() {
    let response = handle_get(&get("bad id!"), &InMemoryExecutions::default(), MACHINE).await;
    assert_eq!(response.status_code, 400);
    let message = body(&response)["message"].as_str().expect("message").to_owned();
    assert!(message.contains("id: ") && message.contains("\"bad id!\""), "{message}");
}

#[tokio::test]
async fn a_transient_aws_failure_is_a_503_the_caller_may_retry() {
    let executions = InMemoryExecutions { failure: Some(|| WorkflowError::Transient("Throttling".to_owned())), ..Default::default() };
    let response = handle_get(&get("REQ-1"), &executions, MACHINE).await;
    assert_eq!(response.status_code, 503);
    let executions = InMemoryExecutions { failure: Some(|| WorkflowError::Internal("AccessDenied".to_owned())), ..Default::default() };
    let response = handle_get(&get("REQ-1"), &executions, MACHINE).await;
    assert_eq!(response.status_code, 500);
    assert!(!body(&response).to_string().contains("AccessDenied"), "internal details stay in the log");
}
