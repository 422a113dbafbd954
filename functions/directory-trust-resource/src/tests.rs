use std::cell::RefCell;
use std::collections::HashMap;

use trustflow_aws::fakes::FakeAws;
use trustflow_domain::request::{execution_arn_named, execution_name};
use trustflow_domain::status::{execution_arn, ExecutionSummary, HistoryRecord};

use trustflow_domain::custom_resource::WorkflowTimings;

use super::*;

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:trust-workflow";
const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/portal/1";
const URL: &str = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/presigned?X-Amz-Signature=abc";

/// Step Functions in memory: what was started, and the executions' histories.
#[derive(Default)]
struct FakeSfn {
    started: RefCell<Vec<(String, Value)>>,
    executions: RefCell<HashMap<String, (ExecutionSummary, Vec<HistoryRecord>)>>,
    /// Every call in order, with the answers kept and forgotten: to check what comes first.
    order: RefCell<Vec<String>>,
    /// An error StartExecution answers with.
    refuse: RefCell<Option<WorkflowError>>,
}

impl FakeSfn {
    /// An ended execution for `request_id` that announced `announcement` about `trust_id`.
    fn ended(&self, request_id: &str, announcement: &str, trust_id: Option<&str>) {
        let output = |payload: Value| HistoryRecord {
            event_type: "TaskSucceeded".to_owned(),
            task_output: Some(json!({ "Payload": payload }).to_string()),
            ..Default::default()
        };
        let mut history = Vec::new();
        if let Some(trust_id) = trust_id {
            history.push(output(
                json!({"status": {"outcome": "verified", "trustId": trust_id, "trustState": "Verified", "trustStateReason": ""}}),
            ));
        }
        history.push(output(json!({"announcement": announcement})));
        let summary = ExecutionSummary {
            status: "SUCCEEDED".to_owned(),
            error: None,
            start_date: Some("2026-11-26T09:00:00Z".to_owned()),
            stop_date: Some("2026-11-26T09:05:00Z".to_owned()),
        };
        self.executions.borrow_mut().insert(execution_arn(MACHINE, request_id), (summary, history));
    }
}

impl ExecutionStarter for FakeSfn {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<StartOutcome, SubmitError> {
        self.order.borrow_mut().push(format!("start {name}"));
        if let Some(error) = self.refuse.borrow_mut().take() {
            return Err(SubmitError::Aws(error));
        }
        let arn = execution_arn_named(state_machine_arn, name);
        if self.executions.borrow().contains_key(&arn) {
            return Ok(StartOutcome::AlreadyExists);
        }
        self.started.borrow_mut().push((name.to_owned(), serde_json::from_str(input).expect("JSON input")));
        Ok(StartOutcome::Started(arn))
    }

    async fn input_of(&self, _execution_arn: &str) -> Result<Option<String>, SubmitError> {
        Ok(None)
    }
}

impl ExecutionReader for FakeSfn {
    async fn describe(&self, arn: &str) -> Result<Option<ExecutionSummary>, WorkflowError> {
        Ok(self.executions.borrow().get(arn).map(|(summary, _)| summary.clone()))
    }

    async fn history(&self, arn: &str) -> Result<Vec<HistoryRecord>, WorkflowError> {
        Ok(self.executions.borrow().get(arn).map(|(_, history)| history.clone()).unwrap_or_default())
    }
}

/// The answers owed, and the answers sent, in memory; keeping is recorded in the Step Functions
/// fake's call order.
struct FakeCloudFormation {
    owed: RefCell<HashMap<String, PendingAnswer>>,
    sent: RefCell<Vec<(String, Value)>>,
    order_of: std::rc::Rc<FakeSfn>,
}

impl PendingAnswers for FakeCloudFormation {
    async fn keep(&self, request_id: &str, answer: &PendingAnswer) -> Result<(), WorkflowError> {
        self.order_of.order.borrow_mut().push(format!("keep {request_id}"));
        self.owed.borrow_mut().insert(request_id.to_owned(), answer.clone());
        Ok(())
    }

    async fn owed(&self, request_id: &str) -> Result<Option<PendingAnswer>, WorkflowError> {
        Ok(self.owed.borrow().get(request_id).cloned())
    }

    async fn forget(&self, request_id: &str) -> Result<(), WorkflowError> {
        self.owed.borrow_mut().remove(request_id);
        Ok(())
    }
}

impl ResponseSender for FakeCloudFormation {
    async fn send(&self, url: &ResponseUrl, body: &str) -> Result<(), WorkflowError> {
        self.sent.borrow_mut().push((url.expose().to_owned(), serde_json::from_str(body).expect("JSON answer")));
        Ok(())
    }
}

struct World {
    sfn: std::rc::Rc<FakeSfn>,
    aws: FakeAws,
    cloudformation: FakeCloudFormation,
}

impl World {
    fn new() -> Self {
        let sfn = std::rc::Rc::new(FakeSfn::default());
        let cloudformation = FakeCloudFormation { owed: RefCell::default(), sent: RefCell::default(), order_of: sfn.clone() };
        Self { cloudformation, sfn, aws: FakeAws::default() }
    }

    async fn run(&self, payload: Value) -> Handled {
        let ports = Ports {
            starter: &*self.sfn,
            executions: &*self.sfn,
            directory: &self.aws,
            pending: &self.cloudformation,
            responder: &self.cloudformation,
        };
        let deployment = Deployment { state_machine_arn: MACHINE.to_owned(), timings: WorkflowTimings { reverify_interval_seconds: 300 } };
        let now = trustflow_domain::time::OffsetDateTime::from_unix_timestamp(0).expect("a time");
        handle(&payload, &ports, &deployment, now).await.expect("handled")
    }

    fn sent(&self) -> Vec<Value> {
        self.cloudformation.sent.borrow().iter().map(|(_, body)| body.clone()).collect()
    }

    fn owed(&self) -> Vec<String> {
        self.cloudformation.owed.borrow().keys().cloned().collect()
    }
}

fn properties() -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:resource",
        "DirectoryId": "d-1234567890",
        "RemoteDomainName": "corp.example.com",
        "TrustDirection": "Two-Way",
        "ConditionalForwarderIpAddrs": ["10.0.0.10"],
        "TrustPasswordSecretId": "trustflow/corp",
    })
}

fn with(changes: Value) -> Value {
    let mut properties = properties();
    for (key, value) in changes.as_object().expect("an object") {
        properties[key] = value.clone();
    }
    properties
}

fn cloudformation(request_type: &str, request_id: &str, properties: Value, physical: Option<&str>, old: Option<Value>) -> Value {
    let mut request = json!({
        "RequestType": request_type,
        "ResponseURL": URL,
        "StackId": STACK,
        "RequestId": request_id,
        "ResourceType": "Custom::DirectoryTrust",
        "LogicalResourceId": "CorpTrust",
        "ResourceProperties": properties,
    });
    if let Some(physical) = physical {
        request["PhysicalResourceId"] = json!(physical);
    }
    if let Some(old) = old {
        request["OldResourceProperties"] = old;
    }
    request
}

fn result_event(request_id: &str, outcome: &str, extra: Value) -> Value {
    let mut detail = json!({"requestId": request_id, "outcome": outcome, "remoteDomainName": "corp.example.com"});
    for (key, value) in extra.as_object().expect("an object") {
        detail[key] = value.clone();
    }
    json!({"detail-type": "Trust Awaiting Remote Side", "source": "trustflow", "detail": detail})
}

#[tokio::test]
async fn a_create_keeps_the_answer_owed_then_starts_the_trust_request_named_by_the_resource() {
    let world = World::new();
    let handled = world.run(cloudformation("Create", "r-1", properties(), None, None)).await;
    let request_id = resource_request_id(STACK, "CorpTrust", "r-1");
    assert_eq!(handled, Handled::Started { request_id: request_id.clone() });
    assert_eq!(
        *world.sfn.order.borrow(),
        [format!("keep {request_id}"), format!("start trust-{request_id}")],
        "kept before the result event can come"
    );
    let (name, input) = world.sfn.started.borrow()[0].clone();
    assert_eq!(name, execution_name(&request_id), "named as every entrance names a request's execution");
    assert_eq!(input["requestId"], json!(request_id));
    assert_eq!(input["trustPassword"], json!({"secretId": "trustflow/corp"}));
    assert!(!input.to_string().contains("amazonaws.com/presigned"), "the response URL stays out of the execution's input");
    assert!(world.sent().is_empty(), "answered only once the workflow says");
}

#[tokio::test]
async fn a_create_with_broken_properties_is_answered_failed_naming_each_property_and_starts_nothing() {
    let world = World::new();
    let handled =
        world.run(cloudformation("Create", "r-1", with(json!({"DirectoryId": "d-nope", "TrustDirection": "Sideways"})), None, None)).await;
    assert!(matches!(handled, Handled::Answered { status: "FAILED", .. }), "{handled:?}");
    assert!(world.sfn.started.borrow().is_empty());
    let answer = &world.sent()[0];
    let reason = answer["Reason"].as_str().expect("a reason");
    assert!(reason.contains("DirectoryId") && reason.contains("\"d-nope\"") && reason.contains("TrustDirection"), "{reason}");
    assert_eq!(answer["RequestId"], "r-1");
    assert_eq!(answer["PhysicalResourceId"], json!(resource_request_id(STACK, "CorpTrust", "r-1")));
    assert!(world.owed().is_empty(), "nothing is left owed");
}

#[tokio::test]
async fn the_awaiting_result_event_answers_a_create_success_with_the_trusts_attributes_and_forgets_the_answer() {
    let world = World::new();
    world.run(cloudformation("Create", "r-1", properties(), None, None)).await;
    let request_id = resource_request_id(STACK, "CorpTrust", "r-1");
    let handled = world.run(result_event(&request_id, "awaitingRemoteSide", json!({"trustId": "t-1", "trustState": "VerifyFailed"}))).await;
    assert!(matches!(handled, Handled::Answered { status: "SUCCESS", .. }), "{handled:?}");
    let (url, answer) = world.cloudformation.sent.borrow()[0].clone();
    assert_eq!(url, URL);
    assert_eq!(
        answer["Data"],
        json!({"TrustId": "t-1", "TrustState": "VerifyFailed", "RemoteDomainName": "corp.example.com", "RequestId": request_id})
    );
    assert_eq!(answer["StackId"], STACK);
    assert_eq!(answer["LogicalResourceId"], "CorpTrust");
    assert!(world.owed().is_empty(), "answered once, then forgotten");
    assert_eq!(world.run(result_event(&request_id, "verified", json!({}))).await, Handled::NothingOwed, "a later event owes nothing");
}

#[tokio::test]
async fn waiting_for_verified_leaves_the_answer_owed_while_the_trust_awaits_the_remote_side() {
    let world = World::new();
    world.run(cloudformation("Create", "r-1", with(json!({"WaitFor": "Verified"})), None, None)).await;
    let request_id = resource_request_id(STACK, "CorpTrust", "r-1");
    assert_eq!(world.run(result_event(&request_id, "awaitingRemoteSide", json!({"trustId": "t-1"}))).await, Handled::NothingOwed);
    assert!(world.sent().is_empty());
    let handled = world.run(result_event(&request_id, "remoteSideTimedOut", json!({"trustId": "t-1", "trustState": "VerifyFailed"}))).await;
    assert!(matches!(handled, Handled::Answered { status: "FAILED", .. }));
    assert!(world.sent()[0]["Reason"].as_str().expect("a reason").contains("Trust Remote Side Timed Out"));
}

#[tokio::test]
async fn a_result_event_of_a_request_no_resource_made_changes_nothing() {
    let world = World::new();
    assert_eq!(world.run(result_event("cfn-someone-else", "verified", json!({}))).await, Handled::NothingOwed);
    assert!(world.sent().is_empty());
}

#[tokio::test]
async fn a_change_of_selective_auth_is_made_in_place_under_a_new_request_keeping_the_physical_id() {
    let world = World::new();
    let physical = resource_request_id(STACK, "CorpTrust", "r-1");
    let handled =
        world.run(cloudformation("Update", "r-2", with(json!({"SelectiveAuth": "Enabled"})), Some(&physical), Some(properties()))).await;
    let request_id = resource_request_id(STACK, "CorpTrust", "r-2");
    assert_eq!(handled, Handled::Started { request_id: request_id.clone() });
    let (_, input) = world.sfn.started.borrow()[0].clone();
    assert_eq!(input["selectiveAuth"], "Enabled");
    assert!(input.get("onExistingTrust").is_none(), "a change in place keeps the trust");
    world.run(result_event(&request_id, "verified", json!({"trustId": "t-1", "trustState": "Verified"}))).await;
    assert_eq!(world.sent()[0]["PhysicalResourceId"], json!(physical), "the same resource");
}

#[tokio::test]
async fn a_new_direction_for_the_same_domain_is_a_replacement_with_a_new_physical_id_replacing_the_trust() {
    let world = World::new();
    let physical = resource_request_id(STACK, "CorpTrust", "r-1");
    let new = with(json!({"TrustDirection": "One-Way: Outgoing"}));
    world.run(cloudformation("Update", "r-2", new, Some(&physical), Some(properties()))).await;
    let request_id = resource_request_id(STACK, "CorpTrust", "r-2");
    let (name, input) = world.sfn.started.borrow()[0].clone();
    assert_eq!(name, execution_name(&request_id));
    assert_eq!(input["onExistingTrust"], "replace", "one trust per domain: the workflow replaces it once the request passed");
    world.run(result_event(&request_id, "awaitingRemoteSide", json!({"trustId": "t-2"}))).await;
    assert_eq!(world.sent()[0]["PhysicalResourceId"], json!(request_id), "a new physical id: CloudFormation deletes the old one");
}

#[tokio::test]
async fn a_new_domain_is_a_replacement_that_keeps_the_default_of_never_touching_an_existing_trust() {
    let world = World::new();
    let physical = resource_request_id(STACK, "CorpTrust", "r-1");
    world
        .run(cloudformation("Update", "r-2", with(json!({"RemoteDomainName": "other.example.com"})), Some(&physical), Some(properties())))
        .await;
    assert!(world.sfn.started.borrow()[0].1.get("onExistingTrust").is_none());
}

#[tokio::test]
async fn a_change_of_the_resources_own_settings_only_is_answered_at_once_with_the_trust_as_it_is() {
    let world = World::new();
    let trust_id = world.aws.add_trust("d-1234567890", "corp.example.com", "Two-Way", "Verified", "");
    let physical = resource_request_id(STACK, "CorpTrust", "r-1");
    let handled =
        world.run(cloudformation("Update", "r-2", with(json!({"WaitFor": "Verified"})), Some(&physical), Some(properties()))).await;
    assert!(matches!(handled, Handled::Answered { status: "SUCCESS", .. }));
    assert!(world.sfn.started.borrow().is_empty());
    assert_eq!(world.sent()[0]["Data"]["TrustId"], json!(trust_id));
    assert_eq!(world.sent()[0]["PhysicalResourceId"], json!(physical));
}

#[tokio::test]
async fn a_delete_removes_the_trust_this_resource_created_with_the_forwarder_if_asked() {
    let world = World::new();
    let trust_id = world.aws.add_trust("d-1234567890", "corp.example.com", "Two-Way", "Verified", "");
    let physical = resource_request_id(STACK, "CorpTrust", "r-1");
    world.sfn.ended(&physical, "verified", Some(&trust_id));
    let handled = world
        .run(cloudformation("Delete", "r-3", with(json!({"DeleteConditionalForwarderOnDelete": "true"})), Some(&physical), None))
        .await;
    let request_id = resource_request_id(STACK, "CorpTrust", "r-3");
    assert_eq!(handled, Handled::Started { request_id: request_id.clone() });
    let (_, input) = world.sfn.started.borrow()[0].clone();
    assert_eq!(
        input,
        json!({"removal": {"requestId": request_id, "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com", "deleteConditionalForwarder": true}})
    );
    world.run(result_event(&request_id, "removed", json!({"trustId": trust_id}))).await;
    assert_eq!(world.sent()[0]["Status"], "SUCCESS");
    assert_eq!(world.sent()[0]["PhysicalResourceId"], json!(physical));
}

#[tokio::test]
async fn a_delete_leaves_a_trust_the_resource_did_not_create_and_succeeds() {
    for (case, announcement, created) in [("adopted", "alreadyInPlace", true), ("refused", "rejected", false)] {
        let world = World::new();
        let trust_id = world.aws.add_trust("d-1234567890", "corp.example.com", "Two-Way", "Verified", "");
        let physical = resource_request_id(STACK, "CorpTrust", "r-1");
        world.sfn.ended(&physical, announcement, created.then_some(trust_id.as_str()));
        let handled = world.run(cloudformation("Delete", "r-3", properties(), Some(&physical), None)).await;
        assert!(matches!(handled, Handled::Answered { status: "SUCCESS", .. }), "{case}: {handled:?}");
        assert!(world.sfn.started.borrow().is_empty(), "{case}: nothing removed");
    }
}

#[tokio::test]
async fn a_delete_after_a_replacement_took_the_domain_over_leaves_the_new_trust() {
    let world = World::new();
    world.aws.add_trust("d-1234567890", "corp.example.com", "One-Way: Outgoing", "Verified", "");
    let physical = resource_request_id(STACK, "CorpTrust", "r-1");
    world.sfn.ended(&physical, "verified", Some("t-replaced0000"));
    let handled = world.run(cloudformation("Delete", "r-3", properties(), Some(&physical), None)).await;
    assert!(matches!(handled, Handled::Answered { status: "SUCCESS", .. }), "{handled:?}");
    assert!(world.sfn.started.borrow().is_empty());
}

#[tokio::test]
async fn a_retried_create_whose_workflow_already_ended_is_answered_from_its_status() {
    let world = World::new();
    let request_id = resource_request_id(STACK, "CorpTrust", "r-1");
    world.sfn.ended(&request_id, "verified", Some("t-1"));
    let handled = world.run(cloudformation("Create", "r-1", properties(), None, None)).await;
    assert!(matches!(handled, Handled::Answered { status: "SUCCESS", .. }), "{handled:?}");
    assert_eq!(world.sent()[0]["Data"]["TrustId"], "t-1");
    assert!(world.owed().is_empty());
}

#[tokio::test]
async fn waiting_for_verified_asks_the_workflow_for_a_verdict_before_cloudformations_service_timeout() {
    let world = World::new();
    world.run(cloudformation("Create", "r-1", with(json!({"WaitFor": "Verified", "ServiceTimeout": "3000"})), None, None)).await;
    let (_, input) = world.sfn.started.borrow()[0].clone();
    assert_eq!(input["remoteSideWaitUntil"], json!("1970-01-01T00:44:30Z"), "3000 s less a re-verification interval and 30 s");
}

#[tokio::test]
async fn switching_to_waiting_for_verified_is_not_a_change_of_the_trust() {
    let world = World::new();
    world.aws.add_trust("d-1234567890", "corp.example.com", "Two-Way", "Verified", "");
    let physical = resource_request_id(STACK, "CorpTrust", "r-1");
    let handled =
        world.run(cloudformation("Update", "r-2", with(json!({"WaitFor": "Verified"})), Some(&physical), Some(properties()))).await;
    assert!(matches!(handled, Handled::Answered { status: "SUCCESS", .. }), "{handled:?}");
    assert!(world.sfn.started.borrow().is_empty());
}

#[tokio::test]
async fn a_create_whose_workflow_cannot_be_started_is_answered_failed_at_once_and_nothing_stays_owed() {
    let world = World::new();
    *world.sfn.refuse.borrow_mut() = Some(WorkflowError::Internal("StartExecution: AccessDeniedException".to_owned()));
    let handled = world.run(cloudformation("Create", "r-1", properties(), None, None)).await;
    assert!(matches!(handled, Handled::Answered { status: "FAILED", .. }), "{handled:?}");
    assert!(world.sent()[0]["Reason"].as_str().expect("a reason").contains("could not be started"));
    assert!(world.owed().is_empty());
}
