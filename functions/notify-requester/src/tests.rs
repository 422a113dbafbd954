use serde_json::{json, Value};
use trustflow_aws::fakes::FakeAws;

use super::*;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:trustflow";
const REQUEST_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:identity-team";

fn settings() -> Settings {
    Settings {
        default_topic_arn: TOPIC.to_owned(),
        event_bus: "trustflow".to_owned(),
        event_source: "trustflow".to_owned(),
        region: "us-east-1".to_owned(),
    }
}

fn request() -> Value {
    json!({
        "requestId": "REQ-7", "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com",
        "trustType": "Forest", "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["172.16.10.153"],
        "selectiveAuth": "Disabled", "trustPassword": {"secretId": "s"}, "onExistingTrust": "keep",
        "notify": {"topicArn": REQUEST_TOPIC}
    })
}

fn plan(action: &str) -> Value {
    let mut request = request();
    request["conditionalForwarderIpAddrs"] = json!(["172.16.10.153"]);
    json!({
        "request": request,
        "directory": {"directoryId": "d-1234567890", "name": "aws.example.com", "directoryType": "MicrosoftAD", "stage": "Active", "dnsIpAddrs": ["10.0.0.10", "10.0.0.11"]},
        "action": action, "trustId": "t-0000000001", "deadline": "2030-01-01T00:00:00Z"
    })
}

fn status(outcome: &str, state: &str, reason: &str) -> Value {
    json!({"outcome": outcome, "trustId": "t-0000000001", "trustState": state, "trustStateReason": reason, "checkedAt": "2026-11-24T00:00:00Z",
        "remedy": if reason.is_empty() { Value::Null } else { serde_json::to_value(trustflow_domain::remedy::remedy_for(reason, "d-1234567890", "corp.example.com")).expect("json") },
        "remoteSideDeadline": "2026-11-25T00:00:00Z"})
}

/// The Task payload the state machine would send, read as the Lambda reads it.
fn input(state: &Value) -> NotifyInput {
    serde_json::from_value(state.clone()).expect("a notification step payload")
}

async fn send(state: Value) -> (FakeAws, NotifyResult) {
    let aws = FakeAws::default();
    let result = notify(&input(&state), &settings(), &aws, &aws, OffsetDateTime::UNIX_EPOCH).await.expect("sent");
    (aws, result)
}

#[tokio::test]
async fn announces_a_verified_trust_to_both_topics_and_the_bus() {
    let (aws, result) = send(json!({"plan": plan("Create"), "status": status("verified", "Verified", "")})).await;
    assert_eq!(result.announcement, Announcement::Verified);
    assert!(result.succeeded);
    let published = aws.published.borrow();
    assert_eq!(published.iter().map(|p| p.topic_arn.as_str()).collect::<Vec<_>>(), [TOPIC, REQUEST_TOPIC]);
    assert_eq!(published[0].subject, "trustflow: aws.example.com trust with corp.example.com verified");
    assert!(published[0].message.contains("is verified and ready to use"));
    let events = aws.events.borrow();
    assert_eq!(events[0].detail_type, "Trust Verified");
    let detail: Value = serde_json::from_str(&events[0].detail).expect("json");
    assert_eq!(detail["requestId"], "REQ-7");
    assert_eq!(detail["trustId"], "t-0000000001");
    assert_eq!(detail["outcome"], "verified");
}

#[tokio::test]
async fn tells_the_on_premises_admin_what_to_do_while_awaiting_the_remote_side() {
    let (aws, result) = send(json!({"plan": plan("Create"), "status": status("awaitingRemoteSide", "VerifyFailed", "The specified domain name does not exist or could not be contacted.")})).await;
    assert_eq!(result.announcement, Announcement::AwaitingRemoteSide);
    assert!(!result.succeeded);
    let message = &aws.published.borrow()[0].message;
    for words in [
        "Add-DnsServerConditionalForwarderZone -Name \"aws.example.com\" -MasterServers 10.0.0.10,10.0.0.11",
        "Forest trust, Two-way, This domain only, Forest-wide authentication",
        "CreateLocalSideOfTrustRelationship(\"aws.example.com\", \"Bidirectional\", \"<the agreed trust password>\")",
        "until 2026-11-25T00:00:00Z",
    ] {
        assert!(message.contains(words), "missing {words:?} in:\n{message}");
    }
    assert_eq!(aws.events.borrow()[0].detail_type, "Trust Awaiting Remote Side");
}

#[tokio::test]
async fn names_the_complementary_direction_for_one_way_trusts() {
    let mut outgoing = plan("Create");
    outgoing["request"]["trustDirection"] = json!("One-Way: Outgoing");
    let (aws, _) = send(json!({"plan": outgoing, "status": status("awaitingRemoteSide", "VerifyFailed", "x")})).await;
    let message = &aws.published.borrow()[0].message;
    assert!(message.contains("One-way: incoming") && message.contains("\"Inbound\""), "{message}");
}

#[tokio::test]
async fn a_failed_trust_carries_the_reason_and_its_remedy() {
    let (aws, result) =
        send(json!({"plan": plan("Create"), "status": status("failed", "Failed", "The operation could not be performed on this domain.")}))
            .await;
    assert_eq!(result.announcement, Announcement::Failed);
    let message = &aws.published.borrow()[0].message;
    assert!(message.contains("Reason: The operation could not be performed on this domain."));
    assert!(message.contains("NetBIOS"), "{message}");
    assert!(message.contains("left in place"), "{message}");
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["remedy"]["code"], "netbios-overlap");
}

#[tokio::test]
async fn reports_an_existing_trust_as_already_in_place() {
    let (aws, result) = send(json!({"plan": plan("AlreadyInPlace")})).await;
    assert_eq!(result.announcement, Announcement::AlreadyInPlace);
    assert!(result.succeeded);
    assert_eq!(aws.events.borrow()[0].detail_type, "Trust Already In Place");
}

#[tokio::test]
async fn a_rejected_raw_request_is_answered_with_every_reason() {
    let mut raw = request();
    raw["directoryId"] = json!("bad");
    let failure = json!({"Error": "ValidationFailed", "Cause": json!({"errorType": "ValidationFailed", "errorMessage": "the trust request was rejected:\n- directoryId: must match ^d-[0-9a-f]{10}$ (got \"bad\")\n- requestedBy: must be a string (got \"a; b\")"}).to_string()});
    let (aws, result) = send(json!({"rawRequest": raw.to_string(), "failure": failure})).await;
    assert_eq!(result.announcement, Announcement::Rejected);
    let published = aws.published.borrow();
    assert_eq!(published.len(), 2, "the request's own topic is valid, so it hears too");
    // Each rule stays whole on its line, even where a value holds "; ".
    assert!(
        published[0]
            .message
            .contains("- directoryId: must match ^d-[0-9a-f]{10}$ (got \"bad\")\n- requestedBy: must be a string (got \"a; b\")\n"),
        "{}",
        published[0].message
    );
    assert_eq!(aws.events.borrow()[0].detail_type, "Trust Request Rejected");
}

#[tokio::test]
async fn a_caught_fault_after_planning_is_a_failure_with_its_cause() {
    let state = json!({"plan": plan("Create"), "failure": {"Error": "Transient", "Cause": "{\"errorMessage\":\"CreateTrust failed: ServiceException: boom\"}"}});
    let (aws, result) = send(state).await;
    assert_eq!(result.announcement, Announcement::Failed);
    assert!(aws.published.borrow()[0].message.contains("Why (Transient):\nCreateTrust failed: ServiceException: boom"));
}

#[tokio::test]
async fn a_deleted_failed_trust_is_reported_as_cleaned_up() {
    let mut failed = status("failed", "Failed", "Access is denied.");
    failed["trustDeleted"] = json!(true);
    let (aws, _) = send(json!({"plan": plan("Create"), "status": failed})).await;
    assert!(aws.published.borrow()[0].message.contains("was deleted, so a corrected request can be sent"));
}

#[tokio::test]
async fn sends_nothing_twice_to_the_default_topic() {
    let mut same = plan("Create");
    same["request"]["notify"] = json!({"topicArn": TOPIC});
    let (aws, result) = send(json!({"plan": same, "status": status("verified", "Verified", "")})).await;
    assert_eq!(result.topics, [TOPIC]);
    assert_eq!(aws.published.borrow().len(), 1);
}

#[tokio::test]
async fn a_failed_publish_is_transient_for_the_state_machine_to_retry() {
    let aws = FakeAws::default();
    aws.failing.borrow_mut().insert("Publish".to_owned(), 1);
    let error = notify(
        &input(&json!({"plan": plan("Create"), "status": status("verified", "Verified", "")})),
        &settings(),
        &aws,
        &aws,
        OffsetDateTime::UNIX_EPOCH,
    )
    .await
    .expect_err("fails");
    assert_eq!(error.name(), "Transient");
}

#[test]
fn subjects_fit_sns_limits() {
    let long = subject(&"é".repeat(200));
    assert!(long.len() <= 100 && long.is_ascii());
}

#[tokio::test]
async fn answers_a_request_the_runtime_could_not_parse() {
    let nested = format!("{}{}", "{\"a\":".repeat(200), "1".to_owned() + &"}".repeat(200));
    let state = json!({"rawRequest": nested, "failure": {"Error": "lambda_runtime::deserializer::DeserializeError", "Cause": "recursion limit exceeded"}});
    let (aws, result) = send(state).await;
    assert_eq!(result.announcement, Announcement::Rejected);
    assert!(aws.published.borrow()[0].message.contains("at most 128 levels of nesting"));
}

#[tokio::test]
async fn replies_to_the_request_topic_named_in_a_raw_request_string() {
    let mut raw = request();
    raw["directoryId"] = json!("bad");
    let state = json!({"rawRequest": json!({"detail-type": "Trust Requested", "detail": raw}).to_string(), "failure": {"Error": "ValidationFailed", "Cause": "x"}});
    let (aws, _) = send(state).await;
    assert_eq!(aws.published.borrow().len(), 2);
    assert!(aws.published.borrow()[0].subject.contains("REQ-7"));
}

fn replace_plan() -> Value {
    let mut replace = plan("Replace");
    replace.as_object_mut().map(|p| p.remove("trustId"));
    replace["replacesTrustId"] = json!("t-0000000009");
    replace["existingTrust"] = json!({"trustId": "t-0000000009", "remoteDomainName": "corp.example.com", "trustType": "Forest",
        "trustDirection": "One-Way: Outgoing", "state": "Verified", "stateReason": ""});
    replace
}

#[tokio::test]
async fn a_replacement_refused_before_deleting_says_the_old_trust_is_untouched_and_claims_no_state_for_a_new_one() {
    let state = json!({"plan": replace_plan(), "failure": {"Error": "SecretUnavailable", "Cause": "{\"errorMessage\":\"trustPassword.secretId: the secret \\\"s\\\" holds binary data\"}"}});
    let (aws, result) = send(state).await;
    assert_eq!(result.announcement, Announcement::Rejected);
    let message = &aws.published.borrow()[0].message;
    assert!(message.contains("Trust: (none)\nState: (unknown)\n"), "{message}");
    assert!(message.contains("Trust it replaces: t-0000000009 (One-Way: Outgoing Forest, Verified when the request was checked): not deleted, still in place"), "{message}");
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["trustDeleted"], false);
    assert_eq!(detail["trustState"], Value::Null);
    assert_eq!(
        detail["replacedTrust"],
        json!({"trustId": "t-0000000009", "trustType": "Forest", "trustDirection": "One-Way: Outgoing", "deleted": false})
    );
}

#[tokio::test]
async fn a_replacement_not_created_after_the_deletion_says_plainly_that_the_old_trust_is_gone() {
    let cause = json!({"errorMessage": "the existing trust t-0000000009 (One-Way: Outgoing Forest) with corp.example.com was deleted to make way for the requested Two-Way Forest trust, but the new trust was not created (TrustRejected: x). No trust with corp.example.com exists on d-1234567890 now."});
    let state = json!({"plan": replace_plan(), "failure": {"Error": "ReplacementNotCreated", "Cause": cause.to_string()}});
    let (aws, result) = send(state).await;
    assert_eq!(result.announcement, Announcement::Failed);
    assert_eq!(result.error.as_ref().map(|e| e.name.as_str()), Some("ReplacementNotCreated"));
    let message = &aws.published.borrow()[0].message;
    assert!(
        message.contains("Trust it replaces: t-0000000009 (One-Way: Outgoing Forest, Verified when the request was checked): deleted"),
        "{message}"
    );
    assert!(
        message.contains(
            "No trust with corp.example.com exists on d-1234567890 now: the old trust was deleted and the new one was not created."
        ),
        "{message}"
    );
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["trustDeleted"], true);
    assert_eq!(detail["replacedTrust"]["deleted"], true);
    assert_eq!(aws.events.borrow()[0].detail_type, "Trust Failed");
}

#[tokio::test]
async fn a_one_way_incoming_trust_is_announced_created_not_verified_with_the_on_premises_steps() {
    let mut incoming = plan("Create");
    incoming["request"]["trustDirection"] = json!("One-Way: Incoming");
    let (aws, result) = send(json!({"plan": incoming, "status": status("verified", "Created", "")})).await;
    assert_eq!(result.announcement, Announcement::Created);
    assert!(result.succeeded);
    assert_eq!(aws.events.borrow()[0].detail_type, "Trust Created");
    let message = &aws.published.borrow()[0].message;
    assert!(!message.to_lowercase().contains("verified and ready"), "{message}");
    assert!(message.contains("is created on the AWS side. AWS does not verify one-way incoming trusts"), "{message}");
    assert!(message.contains("One-way: outgoing") && message.contains("\"Outbound\""), "{message}");
    assert!(message.contains("> Validate"), "{message}");
    assert!(!message.contains("asks AWS to verify the trust again"), "{message}");
    assert!(aws.published.borrow()[0].subject.ends_with("created on the AWS side"));
}

#[tokio::test]
async fn outcomes_become_embedded_metrics_and_only_faults_count_as_faults() {
    let execution = "arn:aws:states:us-east-1:123456789012:execution:trustflow-trust-workflow:trust-REQ-7";
    let failed = json!({"plan": plan("Create"), "executionId": execution,
        "status": status("failed", "Failed", "The specified domain name does not exist or could not be contacted.")});
    let (_, result) = send(failed.clone()).await;
    let lines = metric_lines(&input(&failed), &result, OffsetDateTime::UNIX_EPOCH);
    let names: Vec<String> =
        lines.iter().map(|l| l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(names, ["Requests", "FailedTrusts"]);
    assert_eq!(lines[0]["Outcome"], "failed");
    assert_eq!(lines[0]["StateMachine"], "trustflow-trust-workflow");
    assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["StateMachine", "Outcome"]]));
    assert_eq!(lines[1]["Remedy"], "domain-unreachable");
    assert_eq!(lines[0]["Requests"], 1);

    let rejected = json!({"plan": plan("Create"), "executionId": execution, "failure": {"Error": "SecretUnavailable", "Cause": "x"}});
    let (_, result) = send(rejected.clone()).await;
    assert_eq!(metric_lines(&input(&rejected), &result, OffsetDateTime::UNIX_EPOCH).len(), 1, "a requester's mistake is no fault");

    let fault = json!({"plan": plan("Create"), "executionId": execution, "failure": {"Error": "Internal", "Cause": "x"}});
    let (_, result) = send(fault.clone()).await;
    let lines = metric_lines(&input(&fault), &result, OffsetDateTime::UNIX_EPOCH);
    assert_eq!(lines.last().map(|l| l["WorkflowFaults"].clone()), Some(json!(1)));
    assert_eq!(lines.last().map(|l| l["level"].clone()), Some(json!("ERROR")));
}

#[tokio::test]
async fn an_update_in_place_says_what_changed_in_the_message_and_the_result_event() {
    let mut updated = plan("Update");
    updated["changes"] = json!([{"setting": "selectiveAuth", "from": "Disabled", "to": "Enabled"}]);
    let (aws, result) = send(json!({"plan": updated, "status": status("verified", "Verified", "")})).await;
    assert_eq!(result.announcement, Announcement::Verified);
    let message = &aws.published.borrow()[0].message;
    assert!(message.contains("was changed in place and is verified"), "{message}");
    assert!(message.contains("Changed in place: selective authentication: Disabled -> Enabled\n"), "{message}");
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["changes"], json!([{"setting": "selectiveAuth", "from": "Disabled", "to": "Enabled"}]));
}

#[tokio::test]
async fn a_failed_update_names_the_requested_changes_not_as_done() {
    let mut updated = plan("Update");
    updated["changes"] = json!([{"setting": "selectiveAuth", "from": "Disabled", "to": "Enabled"}]);
    let (aws, result) =
        send(json!({"plan": updated, "status": status("failed", "UpdateFailed", "The trust relationship could not be updated.")})).await;
    assert_eq!(result.announcement, Announcement::Failed);
    let message = &aws.published.borrow()[0].message;
    assert!(message.contains("Requested changes: selective authentication: Disabled -> Enabled"), "{message}");
    assert!(!message.contains("Changed in place"), "{message}");
    assert!(message.contains("State: UpdateFailed"), "{message}");
}

#[tokio::test]
async fn a_plan_without_changes_puts_no_changes_in_the_result_event() {
    let (aws, _) = send(json!({"plan": plan("Create"), "status": status("verified", "Verified", "")})).await;
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["changes"], Value::Null);
}

fn removal_plan(action: &str, with_trust: bool) -> Value {
    let mut plan = json!({
        "removal": {"requestId": "RM-1", "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com",
                    "deleteConditionalForwarder": false, "notify": {"topicArn": REQUEST_TOPIC}},
        "directory": {"directoryId": "d-1234567890", "name": "aws.example.com", "directoryType": "MicrosoftAD", "stage": "Active"},
        "action": action
    });
    if with_trust {
        plan["trust"] = json!({"trustId": "t-0000000001", "remoteDomainName": "corp.example.com", "trustType": "Forest",
                               "trustDirection": "Two-Way", "state": "Verified", "selectiveAuth": "Disabled"});
    }
    plan
}

#[tokio::test]
async fn a_removal_is_announced_removed_with_what_became_of_the_forwarder() {
    let removed = json!({"outcome": "removed", "trustId": "t-0000000001", "trustState": "Deleted", "trustStateReason": "",
                         "checkedAt": "2026-11-24T00:00:00Z", "trustDeleted": true});
    let (aws, result) = send(json!({"plan": removal_plan("Remove", true), "status": removed})).await;
    assert_eq!((result.announcement, result.succeeded), (Announcement::Removed, true));
    assert_eq!(result.topics, [TOPIC, REQUEST_TOPIC], "the removal's own topic hears too");
    let message = &aws.published.borrow()[0].message;
    assert!(
        message.contains("The Two-Way Forest trust between aws.example.com (d-1234567890) and corp.example.com is removed."),
        "{message}"
    );
    assert!(message.contains("Conditional forwarder for corp.example.com: kept"), "{message}");
    let event = &aws.events.borrow()[0];
    assert_eq!(event.detail_type, "Trust Removed");
    let detail: Value = serde_json::from_str(&event.detail).expect("json");
    assert_eq!((detail["trustDeleted"].clone(), detail["conditionalForwarderDeleted"].clone()), (json!(true), json!(false)));
}

#[tokio::test]
async fn removing_what_is_not_there_is_announced_already_removed_and_claims_no_deletion() {
    let (aws, result) = send(json!({"plan": removal_plan("AlreadyRemoved", false)})).await;
    assert_eq!((result.announcement, result.succeeded), (Announcement::AlreadyRemoved, true));
    assert!(aws.published.borrow()[0].message.contains("there was nothing to remove"));
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(
        (detail["outcome"].clone(), detail["trustDeleted"].clone(), detail["trustId"].clone()),
        (json!("alreadyRemoved"), json!(false), Value::Null)
    );
}

#[tokio::test]
async fn a_removal_that_fails_while_following_the_deletion_does_not_claim_the_trust_stays_or_went() {
    let failure =
        json!({"Error": "Transient", "Cause": json!({"errorMessage": "DescribeTrusts failed: ServiceException: boom"}).to_string()});
    let (aws, result) = send(json!({"plan": removal_plan("Remove", true), "failure": failure})).await;
    assert_eq!(result.announcement, Announcement::Failed);
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["trustDeleted"], Value::Null);
    assert!(aws.published.borrow()[0].message.contains("may or may not be removed"));
    // DeleteTrust itself failing: the step looked first, so nothing was deleted.
    let failure = json!({"Error": "Transient", "Cause": json!({"errorMessage": "DeleteTrust failed: ServiceException: boom"}).to_string()});
    let (aws, _) = send(json!({"plan": removal_plan("Remove", true), "failure": failure})).await;
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["trustDeleted"], json!(false));
}

const UNREACHABLE: &str = "The specified domain name does not exist or could not be contacted.";

fn plan_in_a_vpc(preflight: &str) -> Value {
    let mut planned = plan("Create");
    planned["request"]["preflight"] = json!(preflight);
    planned["directory"]["vpc"] = json!({"vpcId": "vpc-1", "subnetIds": ["subnet-a"], "securityGroupId": "sg-1"});
    planned
}

fn without_a_route(aws: &FakeAws) {
    let vpc = trustflow_domain::domain::DirectoryVpc {
        vpc_id: "vpc-1".to_owned(),
        subnet_ids: vec!["subnet-a".to_owned()],
        security_group_id: Some("sg-1".to_owned()),
    };
    let mut network = trustflow_aws::fakes::open_network(&vpc, "sg-1");
    network.subnets[0].route_table.routes.clear();
    aws.networks.borrow_mut().insert("vpc-1".to_owned(), network);
}

#[tokio::test]
async fn an_unreachable_domain_is_told_what_blocks_it_now_instead_of_the_generic_checklist() {
    let aws = FakeAws::default();
    without_a_route(&aws);
    let state = json!({"plan": plan_in_a_vpc("warn"), "status": status("failed", "Failed", UNREACHABLE)});
    notify(&input(&state), &settings(), &aws, &aws, OffsetDateTime::UNIX_EPOCH).await.expect("sent");
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("The network pre-flight, run now, finds what blocks it"), "{message}");
    assert!(message.contains("172.16.10.153/32") && message.contains("aws ec2 create-route"), "{message}");
    let generic = trustflow_domain::remedy::remedy_for(UNREACHABLE, "d-1234567890", "corp.example.com");
    assert!(!message.contains(&generic.action), "the generic checklist is replaced");
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["networkFindings"][0]["check"], "routeTable");
}

#[tokio::test]
async fn an_unreachable_domain_on_an_open_network_points_at_the_on_premises_side() {
    let aws = FakeAws::default();
    let state = json!({"plan": plan_in_a_vpc("enforce"), "status": status("failed", "Failed", UNREACHABLE)});
    notify(&input(&state), &settings(), &aws, &aws, OffsetDateTime::UNIX_EPOCH).await.expect("sent");
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("finds nothing in the directory's security group"), "{message}");
    assert_eq!(aws.count("DescribeSecurityGroups"), 1);
}

#[tokio::test]
async fn other_failures_and_a_preflight_turned_off_read_nothing_from_ec2() {
    for state in [
        json!({"plan": plan_in_a_vpc("warn"), "status": status("failed", "VerifyFailed", "The trust relationship could not be verified: Access is denied.")}),
        json!({"plan": plan_in_a_vpc("off"), "status": status("failed", "Failed", UNREACHABLE)}),
    ] {
        let aws = FakeAws::default();
        notify(&input(&state), &settings(), &aws, &aws, OffsetDateTime::UNIX_EPOCH).await.expect("sent");
        assert_eq!(aws.count("DescribeSecurityGroups"), 0);
        let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
        assert!(detail["networkFindings"].is_null());
    }
}

#[tokio::test]
async fn a_network_that_cannot_be_read_still_sends_the_generic_checklist() {
    let aws = FakeAws::default();
    aws.failing.borrow_mut().insert("DescribeSecurityGroups".to_owned(), 1);
    let state = json!({"plan": plan_in_a_vpc("warn"), "status": status("failed", "Failed", UNREACHABLE)});
    notify(&input(&state), &settings(), &aws, &aws, OffsetDateTime::UNIX_EPOCH).await.expect("sent");
    let generic = trustflow_domain::remedy::remedy_for(UNREACHABLE, "d-1234567890", "corp.example.com");
    assert!(aws.published.borrow()[0].message.contains(&generic.action));
}

#[tokio::test]
async fn a_trust_still_awaiting_the_remote_side_is_not_told_to_send_the_request_again() {
    let aws = FakeAws::default();
    without_a_route(&aws);
    let state = json!({"plan": plan_in_a_vpc("warn"), "status": status("awaitingRemoteSide", "VerifyFailed", UNREACHABLE)});
    notify(&input(&state), &settings(), &aws, &aws, OffsetDateTime::UNIX_EPOCH).await.expect("sent");
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("finds what blocks it") && message.contains("the workflow keeps verifying the trust"), "{message}");
    assert!(!message.contains("send the request again"), "{message}");
}

#[tokio::test]
async fn the_awaiting_notice_says_how_to_report_the_remote_side_ready() {
    let (aws, _) = send(json!({"plan": plan("Create"), "status": status("awaitingRemoteSide", "VerifyFailed", "Access is denied.")})).await;
    let message = &aws.published.borrow()[0].message;
    for words in ["trustctl ready REQ-7", "POST /trust-requests/REQ-7/remote-side-ready", "{\"requestId\": \"REQ-7\"}"] {
        assert!(message.contains(words), "missing {words:?} in:\n{message}");
    }
    assert!(!message.contains("reported ready at"), "no signal was sent:\n{message}");
}

#[tokio::test]
async fn a_trust_still_failing_after_the_remote_side_was_reported_ready_is_told_so_with_the_time() {
    let mut awaiting = status("awaitingRemoteSide", "VerifyFailed", "Access is denied.");
    awaiting["remoteSideReportedReadyAt"] = json!("2026-11-24T10:00:00Z");
    let (aws, _) = send(json!({"plan": plan("Create"), "status": awaiting})).await;
    let message = aws.published.borrow()[0].message.clone();
    assert!(
        message.contains(
            "The remote side was reported ready at 2026-11-24T10:00:00Z; AWS verified the trust again after that, and it still fails"
        ),
        "{message}"
    );
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["remoteSideReportedReadyAt"], "2026-11-24T10:00:00Z");
    let mut verified = status("verified", "Verified", "");
    verified["remoteSideReportedReadyAt"] = json!("2026-11-24T10:00:00Z");
    let (aws, _) = send(json!({"plan": plan("Create"), "status": verified})).await;
    assert!(aws.published.borrow()[0]
        .message
        .contains("reported ready at 2026-11-24T10:00:00Z; AWS verified the trust again after that.\n"));
}

fn paired_plan(direction: &str) -> Value {
    let mut plan = plan("Create");
    plan["request"]["trustDirection"] = json!(direction);
    plan["request"]["remoteDirectoryId"] = json!("d-0987654321");
    plan["pairedSide"] = json!({
        "directory": {"directoryId": "d-0987654321", "name": "corp.example.com", "directoryType": "MicrosoftAD", "stage": "Active", "dnsIpAddrs": ["10.1.0.10"]},
        "trustDirection": if direction == "One-Way: Incoming" { "One-Way: Outgoing" } else { "Two-Way" },
        "conditionalForwarderIpAddrs": ["10.0.0.10", "10.0.0.11"],
        "trustId": "t-0000000002"
    });
    plan
}

#[tokio::test]
async fn a_pair_is_announced_with_its_other_side_and_no_on_premises_steps() {
    let mut awaiting = status("awaitingRemoteSide", "Verified", "");
    awaiting["pairedTrust"] = json!({"directoryId": "d-0987654321", "trustId": "t-0000000002", "trustState": "VerifyFailed",
        "trustStateReason": "The trust relationship could not be verified: Access is denied."});
    let (aws, result) = send(json!({"plan": paired_plan("Two-Way"), "status": awaiting})).await;
    assert_eq!(result.announcement, Announcement::AwaitingRemoteSide);
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("is created on both directories and waits for AWS to verify both sides"), "{message}");
    assert!(
        message
            .contains("Other side: trust t-0000000002 on corp.example.com (d-0987654321), Two-Way, VerifyFailed: The trust relationship"),
        "{message}"
    );
    assert!(!message.to_lowercase().contains("on-premises"), "{message}");
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["pairedSide"]["trustState"], "VerifyFailed");
    assert_eq!(detail["pairedSide"]["trustDirection"], "Two-Way");
}

#[tokio::test]
async fn an_incoming_pair_says_the_other_side_is_verified_and_this_one_is_never_verified() {
    let mut created = status("verified", "Created", "");
    created["pairedTrust"] =
        json!({"directoryId": "d-0987654321", "trustId": "t-0000000002", "trustState": "Verified", "trustStateReason": ""});
    let (aws, result) = send(json!({"plan": paired_plan("One-Way: Incoming"), "status": created})).await;
    assert_eq!(result.announcement, Announcement::Created);
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("AWS verified the other (outgoing) side"), "{message}");
}

#[tokio::test]
async fn an_update_of_a_pair_names_the_other_sides_change_as_done_only_when_it_succeeded() {
    let mut plan = paired_plan("Two-Way");
    plan["action"] = json!("Update");
    plan["changes"] = json!([{"setting": "selectiveAuth", "from": "Disabled", "to": "Enabled"}]);
    plan["pairedSide"]["changes"] = json!([{"setting": "selectiveAuth", "from": "Disabled", "to": "Enabled"}]);
    let mut verified = status("verified", "Verified", "");
    verified["pairedTrust"] =
        json!({"directoryId": "d-0987654321", "trustId": "t-0000000002", "trustState": "Verified", "trustStateReason": ""});
    let (aws, _) = send(json!({"plan": plan.clone(), "status": verified})).await;
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("Changed in place on the other side: selective authentication: Disabled -> Enabled\n"), "{message}");
    let detail: Value = serde_json::from_str(&aws.events.borrow()[0].detail).expect("json");
    assert_eq!(detail["pairedSide"]["changes"], json!(["selective authentication: Disabled -> Enabled"]));
    let mut failed = status("failed", "UpdateFailed", "The trust relationship could not be updated.");
    failed["pairedTrust"] =
        json!({"directoryId": "d-0987654321", "trustId": "t-0000000002", "trustState": "Verified", "trustStateReason": ""});
    let (aws, _) = send(json!({"plan": plan, "status": failed})).await;
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("Requested changes on the other side: selective authentication: Disabled -> Enabled\n"), "{message}");
    assert!(!message.contains("Changed in place"), "{message}");
}

#[tokio::test]
async fn a_failed_pair_whose_other_side_could_not_be_deleted_says_so_and_not_that_a_corrected_request_can_be_sent() {
    let mut cleaned = status("failed", "Failed", "The specified domain name does not exist or could not be contacted.");
    cleaned["trustDeleted"] = json!(true);
    cleaned["pairedTrust"] = json!({"directoryId": "d-0987654321", "trustId": "t-0000000002", "trustState": "Failed",
        "trustStateReason": "not deleted: trustflow could not reach its account (AccessDenied); delete trust t-0000000002 on d-0987654321 there",
        "trustDeleted": false});
    let (aws, _) = send(json!({"plan": paired_plan("Two-Way"), "status": cleaned})).await;
    let message = aws.published.borrow()[0].message.clone();
    assert!(message.contains("This side's failed trust (and its conditional forwarder) was deleted; the other side was not"), "{message}");
    assert!(message.contains("not deleted: trustflow could not reach its account"), "{message}");
    assert!(!message.contains("so a corrected request can be sent"), "{message}");
}
