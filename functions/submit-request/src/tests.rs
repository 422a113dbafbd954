use std::cell::RefCell;

use aws_lambda_events::encodings::Body;
use serde_json::json;

use super::*;

const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:trustflow";

/// Step Functions' naming rules in memory: one execution per name; the same name and input while
/// open returns it; anything else under a taken name is refused.
#[derive(Default)]
struct FakeSfn {
    executions: RefCell<Vec<(String, String, bool)>>,
    throttled: bool,
}

impl FakeSfn {
    fn finish_all(&self) {
        for execution in self.executions.borrow_mut().iter_mut() {
            execution.2 = false;
        }
    }
    fn names(&self) -> Vec<String> {
        self.executions.borrow().iter().map(|e| e.0.clone()).collect()
    }
}

impl ExecutionStarter for FakeSfn {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<StartOutcome, SubmitError> {
        if self.throttled {
            return Err(SubmitError::Throttled);
        }
        let mut executions = self.executions.borrow_mut();
        if let Some((_, existing, open)) = executions.iter().find(|e| e.0 == name) {
            return Ok(if *open && existing == input {
                StartOutcome::Started(execution_arn_named(state_machine_arn, name))
            } else {
                StartOutcome::AlreadyExists
            });
        }
        executions.push((name.to_owned(), input.to_owned(), true));
        Ok(StartOutcome::Started(execution_arn_named(state_machine_arn, name)))
    }

    async fn input_of(&self, execution_arn: &str) -> Result<Option<String>, SubmitError> {
        Ok(self.executions.borrow().iter().find(|e| execution_arn.ends_with(&format!(":{}", e.0))).map(|e| e.1.clone()))
    }
}

fn request(id: &str) -> Value {
    json!({"requestId": id, "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com",
           "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["172.16.10.153"],
           "trustPassword": {"secretId": "trustflow/corp"}})
}

fn event(id: &str, detail: Value) -> Value {
    json!({"version": "0", "id": id, "detail-type": "Trust Requested", "source": "portal.identity", "detail": detail})
}

fn post(body: &str) -> ApiGatewayProxyRequest {
    let mut request = ApiGatewayProxyRequest::default();
    request.http_method = aws_lambda_events::http::Method::POST;
    request.body = Some(body.to_owned());
    request
}

fn body(response: &ApiGatewayProxyResponse) -> Value {
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("expected a text body, got {other:?}"),
    }
}

#[tokio::test]
async fn an_event_starts_the_execution_named_after_its_request_id_with_the_request_as_input() {
    let sfn = FakeSfn::default();
    let answer = handle_event(&event("e-1", request("REQ-1")), &sfn, MACHINE).await.expect("admitted");
    assert_eq!(answer["admission"], "started");
    assert_eq!(sfn.names(), ["trust-REQ-1"]);
    let input: Value = serde_json::from_str(&sfn.executions.borrow()[0].1).expect("JSON");
    assert_eq!(input, request("REQ-1"));
}

#[tokio::test]
async fn a_redelivered_event_and_a_post_of_the_same_request_start_nothing_new() {
    let sfn = FakeSfn::default();
    handle_event(&event("e-1", request("REQ-2")), &sfn, MACHINE).await.expect("first");
    let again = handle_event(&event("e-1", request("REQ-2")), &sfn, MACHINE).await.expect("again");
    assert_eq!(again["admission"], "started");
    let answer = handle_post(&post(&request("REQ-2").to_string()), &sfn, MACHINE).await;
    assert_eq!(answer.status_code, 202);
    sfn.finish_all();
    let after_the_end = handle_post(&post(&request("REQ-2").to_string()), &sfn, MACHINE).await;
    assert_eq!(after_the_end.status_code, 202);
    assert!(body(&after_the_end)["message"].as_str().unwrap_or_default().contains("nothing new was started"));
    assert_eq!(sfn.names(), ["trust-REQ-2"]);
}

#[tokio::test]
async fn the_same_request_in_another_key_order_is_the_same_request() {
    let sfn = FakeSfn::default();
    handle_post(&post(&request("REQ-3").to_string()), &sfn, MACHINE).await;
    sfn.finish_all();
    let reordered = r#"{"trustPassword": {"secretId": "trustflow/corp"}, "trustDirection": "Two-Way", "requestId": "REQ-3",
        "remoteDomainName": "corp.example.com", "directoryId": "d-1234567890", "conditionalForwarderIpAddrs": ["172.16.10.153"]}"#;
    assert_eq!(handle_post(&post(reordered), &sfn, MACHINE).await.status_code, 202);
}

#[tokio::test]
async fn a_different_request_under_a_used_id_is_409_naming_the_id_and_starts_nothing() {
    let sfn = FakeSfn::default();
    handle_post(&post(&request("REQ-4").to_string()), &sfn, MACHINE).await;
    let mut other = request("REQ-4");
    other["remoteDomainName"] = json!("other.example.com");
    let answer = handle_post(&post(&other.to_string()), &sfn, MACHINE).await;
    assert_eq!(answer.status_code, 409);
    assert!(body(&answer)["message"].as_str().unwrap_or_default().contains("\"REQ-4\" already names a different trust request"));
    assert_eq!(body(&answer)["executionArn"], execution_arn_named(MACHINE, "trust-REQ-4"));
    assert_eq!(sfn.names(), ["trust-REQ-4"]);
    let from_an_event = handle_event(&event("e-9", other), &sfn, MACHINE).await.expect("answered");
    assert_eq!(from_an_event["admission"], "requestIdInUse");
    assert_eq!(sfn.names(), ["trust-REQ-4"]);
}

#[tokio::test]
async fn a_post_that_breaks_rules_is_400_with_field_rule_and_value_and_starts_nothing() {
    let sfn = FakeSfn::default();
    let mut bad = request("REQ-5");
    bad["directoryId"] = json!("d-XYZ");
    bad["conditionalForwarderIpAddrs"] = json!(["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"]);
    let answer = handle_post(&post(&bad.to_string()), &sfn, MACHINE).await;
    assert_eq!(answer.status_code, 400);
    let errors = body(&answer)["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["field"], "directoryId");
    assert_eq!(errors[0]["value"], "\"d-XYZ\"");
    assert!(errors[1]["rule"].as_str().unwrap_or_default().starts_with("must list 1 to 4"));
    assert!(sfn.names().is_empty());
    assert_eq!(handle_post(&post("not json"), &sfn, MACHINE).await.status_code, 400);
}

#[tokio::test]
async fn a_pasted_password_is_refused_without_being_echoed() {
    let sfn = FakeSfn::default();
    let mut bad = request("REQ-6");
    bad["trustPassword"] = json!("Canary-P@ss-1");
    let answer = handle_post(&post(&bad.to_string()), &sfn, MACHINE).await;
    assert_eq!(answer.status_code, 400);
    assert!(!body(&answer).to_string().contains("Canary-P@ss-1"));
}

#[tokio::test]
async fn an_event_without_a_usable_request_id_still_starts_under_its_event_id_so_the_requester_hears_why() {
    let sfn = FakeSfn::default();
    let mut detail = request("bad id!");
    handle_event(&event("5f3c-aa:bb", detail.clone()), &sfn, MACHINE).await.expect("admitted");
    detail.as_object_mut().map(|d| d.remove("requestId"));
    handle_event(&event("77", detail), &sfn, MACHINE).await.expect("admitted");
    assert_eq!(sfn.names(), ["event-5f3c-aabb", "event-77"]);
}

#[tokio::test]
async fn throttling_is_429_on_the_api_and_an_error_that_retries_the_event() {
    let sfn = FakeSfn { throttled: true, ..FakeSfn::default() };
    assert_eq!(handle_post(&post(&request("REQ-7").to_string()), &sfn, MACHINE).await.status_code, 429);
    let error = handle_event(&event("e-7", request("REQ-7")), &sfn, MACHINE).await.expect_err("retried");
    assert_eq!(error.name(), "Transient");
}

fn removal(id: &str) -> Value {
    json!({"requestId": id, "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com"})
}

fn post_to(path: &str, body: &str) -> ApiGatewayProxyRequest {
    let mut request = post(body);
    request.path = Some(path.to_owned());
    request
}

#[tokio::test]
async fn a_removal_event_starts_the_execution_named_after_its_id_with_the_removal_under_its_key() {
    let sfn = FakeSfn::default();
    let mut removal_event = event("e-9", removal("RM-1"));
    removal_event["detail-type"] = json!("Trust Removal Requested");
    assert_eq!(handle_event(&removal_event, &sfn, MACHINE).await.expect("admitted")["admission"], "started");
    assert_eq!(sfn.names(), ["trust-RM-1"]);
    let input: Value = serde_json::from_str(&sfn.executions.borrow()[0].1).expect("JSON");
    assert_eq!(input, json!({"removal": removal("RM-1")}));
}

#[tokio::test]
async fn a_removal_posted_to_trust_removals_starts_it_and_a_broken_one_is_answered_400_naming_the_field() {
    let sfn = FakeSfn::default();
    let started = handle_post(&post_to("/trust-removals", &removal("RM-2").to_string()), &sfn, MACHINE).await;
    assert_eq!(started.status_code, 202);
    let input: Value = serde_json::from_str(&sfn.executions.borrow()[0].1).expect("JSON");
    assert_eq!(input, json!({"removal": removal("RM-2")}));
    let mut broken = removal("RM-3");
    broken["deleteConditionalForwarder"] = json!("yes");
    let answer = handle_post(&post_to("/trust-removals", &broken.to_string()), &sfn, MACHINE).await;
    assert_eq!(answer.status_code, 400);
    assert_eq!(body(&answer)["errors"][0]["field"], "deleteConditionalForwarder");
    assert_eq!(sfn.names(), ["trust-RM-2"], "nothing started for the broken one");
}

#[tokio::test]
async fn a_removal_posted_as_a_trust_request_is_rejected_as_one() {
    let sfn = FakeSfn::default();
    let answer = handle_post(&post_to("/trust-requests", &removal("RM-4").to_string()), &sfn, MACHINE).await;
    assert_eq!(answer.status_code, 400);
    assert!(sfn.names().is_empty());
}
