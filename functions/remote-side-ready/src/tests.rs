use std::cell::RefCell;

use aws_lambda_events::encodings::Body;
use trustflow_aws::fakes::FakeAws;
use trustflow_domain::status::{execution_arn, ExecutionSummary, HistoryRecord};

use super::*;

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:trust-workflow";

/// One execution whose history is read from `histories` in turn (the last one stays).
struct OneExecution {
    request_id: String,
    status: String,
    histories: RefCell<Vec<Vec<HistoryRecord>>>,
}

impl OneExecution {
    fn new(request_id: &str, status: &str, histories: Vec<Vec<HistoryRecord>>) -> Self {
        Self { request_id: request_id.to_owned(), status: status.to_owned(), histories: RefCell::new(histories) }
    }
}

impl ExecutionReader for OneExecution {
    async fn describe(&self, arn: &str) -> Result<Option<ExecutionSummary>, WorkflowError> {
        Ok((arn == execution_arn(MACHINE, &self.request_id)).then(|| ExecutionSummary {
            status: self.status.clone(),
            start_date: Some("2026-11-25T09:00:00Z".to_owned()),
            ..Default::default()
        }))
    }

    async fn history(&self, _: &str) -> Result<Vec<HistoryRecord>, WorkflowError> {
        let mut histories = self.histories.borrow_mut();
        Ok(if histories.len() > 1 { histories.remove(0) } else { histories[0].clone() })
    }
}

fn entered(state: &str) -> HistoryRecord {
    HistoryRecord { event_type: "TaskStateEntered".to_owned(), entered_state: Some(state.to_owned()), ..Default::default() }
}

fn event(event_type: &str) -> HistoryRecord {
    HistoryRecord { event_type: event_type.to_owned(), ..Default::default() }
}

fn announced_awaiting() -> HistoryRecord {
    let payload = json!({"announcement": "awaitingRemoteSide", "succeeded": true});
    HistoryRecord {
        event_type: "TaskSucceeded".to_owned(),
        task_output: Some(json!({"Payload": payload}).to_string()),
        ..Default::default()
    }
}

fn scheduled(token: &str) -> HistoryRecord {
    let parameters = json!({"FunctionName": "check", "Payload": {"mode": "reverify", "taskToken": token}}).to_string();
    HistoryRecord { event_type: "TaskScheduled".to_owned(), task_parameters: Some(parameters), ..Default::default() }
}

fn waiting(token: &str) -> Vec<HistoryRecord> {
    vec![entered("NotifyAwaitingRemoteSide"), announced_awaiting(), entered("AwaitRemoteSide"), scheduled(token), event("TaskSubmitted")]
}

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("a time")
}

fn post(id: &str) -> ApiGatewayProxyRequest {
    let mut request = ApiGatewayProxyRequest::default();
    request.path_parameters.insert("id".to_owned(), id.to_owned());
    request
}

fn body_of(response: &ApiGatewayProxyResponse) -> Value {
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("expected a text body, got {other:?}"),
    }
}

async fn signal(executions: &OneExecution, aws: &FakeAws, id: &str) -> ApiGatewayProxyResponse {
    handle_post(&post(id), executions, aws, MACHINE, at(), Duration::ZERO).await
}

#[tokio::test]
async fn a_waiting_workflow_is_woken_with_the_signal_and_its_time() {
    let executions = OneExecution::new("REQ-1", "RUNNING", vec![waiting("the-token")]);
    let aws = FakeAws::default();
    let response = signal(&executions, &aws, "REQ-1").await;
    assert_eq!(response.status_code, 202);
    let body = body_of(&response);
    assert_eq!(
        (body["signal"].as_str(), body["accepted"].as_bool(), body["status"].as_str()),
        (Some("accepted"), Some(true), Some("awaitingRemoteSide"))
    );
    let answers = aws.task_answers.borrow();
    let [(token, error, cause)] = answers.as_slice() else { panic!("one answer: {answers:?}") };
    assert_eq!((token.as_str(), error.as_str()), ("the-token", "RemoteSideReady"));
    let caught = trustflow_domain::handoff::CaughtFailure { error: Some(error.clone()), cause: Some(cause.clone()) };
    assert_eq!(ReadySignal::from_caught(&caught), Some(ReadySignal { signalled_at: at(), via: SignalSource::Api }));
    assert!(!body.to_string().contains("the-token"), "the token is never returned: {body}");
}

#[tokio::test]
async fn a_request_that_is_not_waiting_is_told_what_it_is_doing_and_nothing_changes() {
    let polling = OneExecution::new("REQ-2", "RUNNING", vec![vec![entered("PollTrust"), event("TaskScheduled")]]);
    let aws = FakeAws::default();
    let response = signal(&polling, &aws, "REQ-2").await;
    assert_eq!(response.status_code, 409);
    let body = body_of(&response);
    assert_eq!((body["status"].as_str(), body["accepted"].as_bool()), (Some("running"), Some(false)));
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("not waiting for the remote side: it is running. Nothing was changed.")),
        "{body}"
    );
    let ended = OneExecution::new("REQ-3", "SUCCEEDED", vec![waiting("old-token")]);
    let response = signal(&ended, &aws, "REQ-3").await;
    assert_eq!(response.status_code, 409);
    assert_eq!(aws.count("SendTaskFailure"), 0, "nothing answered");
}

#[tokio::test]
async fn a_second_signal_while_verifying_is_accepted_without_a_second_wake_up() {
    let mut history = waiting("t");
    history.extend([event("TaskFailed"), entered("VerifyNow"), event("TaskScheduled")]);
    let executions = OneExecution::new("REQ-4", "RUNNING", vec![history]);
    let aws = FakeAws::default();
    let response = signal(&executions, &aws, "REQ-4").await;
    assert_eq!((response.status_code, body_of(&response)["signal"].as_str()), (202, Some("alreadyVerifying")));
    assert_eq!(aws.count("SendTaskFailure"), 0);
}

#[tokio::test]
async fn between_two_checks_the_signal_looks_again_and_wakes_the_next_wait() {
    let mut between = waiting("first");
    between.push(event("TaskTimedOut"));
    let mut next = between.clone();
    next.extend([scheduled("second"), event("TaskSubmitted")]);
    let executions = OneExecution::new("REQ-5", "RUNNING", vec![between.clone(), next]);
    let aws = FakeAws::default();
    assert_eq!(signal(&executions, &aws, "REQ-5").await.status_code, 202);
    assert_eq!(aws.task_answers.borrow()[0].0, "second");
    // Still between checks after every look: "send again", nothing changed.
    let stuck = OneExecution::new("REQ-6", "RUNNING", vec![between]);
    let aws = FakeAws::default();
    let response = signal(&stuck, &aws, "REQ-6").await;
    assert_eq!((response.status_code, aws.count("SendTaskFailure")), (503, 0));
}

#[tokio::test]
async fn bad_ids_and_unknown_requests_are_answered_without_touching_anything() {
    let executions = OneExecution::new("REQ-7", "RUNNING", vec![waiting("t")]);
    let aws = FakeAws::default();
    let response = signal(&executions, &aws, "no spaces allowed").await;
    assert_eq!(response.status_code, 400);
    let body = body_of(&response);
    assert_eq!((body["errors"][0]["field"].as_str(), body["errors"][0]["value"].as_str()), (Some("id"), Some("\"no spaces allowed\"")));
    assert_eq!(signal(&executions, &aws, "REQ-unknown").await.status_code, 404);
    assert_eq!(aws.count("SendTaskFailure"), 0);
}

#[tokio::test]
async fn the_event_wakes_the_workflow_and_an_event_for_nothing_is_logged_not_retried() {
    let executions = OneExecution::new("REQ-8", "RUNNING", vec![waiting("t")]);
    let aws = FakeAws::default();
    let event = json!({"detail-type": "Trust Remote Side Ready", "source": "portal.identity", "detail": {"requestId": "REQ-8"}});
    let answer = handle(&event, &executions, &aws, MACHINE, at(), Duration::ZERO).await.expect("handled");
    assert_eq!(answer["signal"].as_str(), Some("accepted"));
    let cause = aws.task_answers.borrow()[0].2.clone();
    assert!(cause.contains("\"via\":\"event\""), "{cause}");
    let unknown = json!({"detail-type": "Trust Remote Side Ready", "detail": {"requestId": "REQ-none"}});
    let answer = handle(&unknown, &executions, &aws, MACHINE, at(), Duration::ZERO).await.expect("not an error");
    assert_eq!(answer["signal"].as_str(), Some("notFound"));
}

#[tokio::test]
async fn a_signal_while_the_verdict_is_announced_says_so_rather_than_calling_it_awaiting() {
    let mut history = waiting("t");
    history.extend([event("TaskSucceeded"), entered("RouteAfterReverify"), entered("NotifyOutcome"), event("TaskScheduled")]);
    let executions = OneExecution::new("REQ-9", "RUNNING", vec![history]);
    let aws = FakeAws::default();
    let response = signal(&executions, &aws, "REQ-9").await;
    assert_eq!(response.status_code, 409);
    let message = body_of(&response)["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("announcing the trust's outcome"), "{message}");
    assert_eq!(aws.count("SendTaskFailure"), 0);
}
