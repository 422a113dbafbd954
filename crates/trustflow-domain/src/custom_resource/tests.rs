use serde_json::json;

use super::*;

fn properties() -> Value {
    json!({
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:trustflow-resource",
        "DirectoryId": "d-1234567890",
        "RemoteDomainName": "Corp.Example.com",
        "TrustDirection": "Two-Way",
        "ConditionalForwarderIpAddrs": ["10.0.0.10", "10.0.0.11"],
        "TrustPasswordSecretId": "trustflow/corp",
        "SelectiveAuth": "Disabled",
        "AddIpRoutes": "false",
    })
}

fn with(changes: Value) -> Value {
    let mut properties = properties();
    for (key, value) in changes.as_object().expect("an object") {
        properties[key] = value.clone();
    }
    properties
}

fn violations(result: Result<TrustProperties, WorkflowError>) -> Vec<Violation> {
    match result {
        Err(WorkflowError::ValidationFailed(violations)) => violations,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn pending(action: ResourceAction, wait_for: WaitFor) -> PendingAnswer {
    PendingAnswer {
        response_url: ResponseUrl("https://cloudformation-custom-resource-response.s3.amazonaws.com/secret".to_owned()),
        stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/portal/1".to_owned(),
        cloudformation_request_id: "r-1".to_owned(),
        logical_resource_id: "CorpTrust".to_owned(),
        physical_resource_id: "cfn-corptrust-0123456789abcdef".to_owned(),
        action,
        wait_for,
    }
}

#[test]
fn properties_make_the_trust_request_in_the_workflows_spelling() {
    let made = trust_properties(&properties(), "cfn-corptrust-1").expect("valid");
    assert_eq!(made.request["requestId"], "cfn-corptrust-1");
    assert_eq!(made.request["trustPassword"], json!({"secretId": "trustflow/corp"}));
    assert_eq!(made.request["addIpRoutes"], json!(false), "CloudFormation's \"false\" is a boolean for the request");
    assert_eq!(made.parsed.remote_domain_name, "corp.example.com");
    assert_eq!(made.wait_for, WaitFor::Created, "the default");
    assert!(!made.delete_forwarder_on_delete, "the forwarder stays by default");
    assert!(made.request.get("ServiceToken").is_none() && made.request.get("serviceToken").is_none());
}

#[test]
fn a_broken_rule_names_the_property_the_template_author_wrote() {
    let found = violations(trust_properties(&with(json!({"ConditionalForwarderIpAddrs": ["10.0.0.10", "not-an-ip"]})), "cfn-x-1"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].field, "ConditionalForwarderIpAddrs[1]");
    assert_eq!(found[0].value.as_deref(), Some("\"not-an-ip\""));
}

#[test]
fn every_broken_rule_is_reported_at_once_and_unknown_properties_are_refused() {
    let found = violations(trust_properties(
        &with(json!({"DirectoryId": "d-nope", "WaitFor": "Soon", "TrustPasword": "typo", "AddIpRoutes": "maybe"})),
        "cfn-x-1",
    ));
    let fields: Vec<&str> = found.iter().map(|violation| violation.field.as_str()).collect();
    for expected in ["DirectoryId", "WaitFor", "TrustPasword", "AddIpRoutes"] {
        assert!(fields.contains(&expected), "{expected} missing from {fields:?}");
    }
}

#[test]
fn a_missing_password_secret_names_its_property() {
    let mut properties = properties();
    properties.as_object_mut().expect("an object").remove("TrustPasswordSecretId");
    let found = violations(trust_properties(&properties, "cfn-x-1"));
    assert!(found.iter().any(|violation| violation.field == "TrustPasswordSecretId"), "{found:?}");
}

#[test]
fn waiting_for_verification_of_an_incoming_trust_is_refused_as_aws_never_verifies_it() {
    let found = violations(trust_properties(&with(json!({"TrustDirection": "One-Way: Incoming", "WaitFor": "Verified"})), "cfn-x-1"));
    assert_eq!(found[0].field, "WaitFor");
}

#[test]
fn request_ids_repeat_for_a_retried_invocation_and_differ_otherwise() {
    let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/portal/1";
    let id = resource_request_id(stack, "CorpTrust", "r-1");
    assert_eq!(id, resource_request_id(stack, "CorpTrust", "r-1"));
    assert_ne!(id, resource_request_id(stack, "CorpTrust", "r-2"));
    assert_ne!(id, resource_request_id(stack, "OtherTrust", "r-1"));
    assert_ne!(id, resource_request_id("arn:aws:cloudformation:us-east-1:123456789012:stack/portal/2", "CorpTrust", "r-1"));
    assert!(id.starts_with("cfn-corptrust-"), "{id}");
    let long = resource_request_id(stack, &"VeryLong".repeat(20), "r-1");
    assert_eq!(crate::request::check_request_id(&long), None, "{long} must be a valid request id");
}

#[test]
fn an_update_of_the_domain_type_direction_or_directory_replaces_the_trust() {
    let old = trust_properties(&properties(), "a").expect("valid");
    for change in [
        json!({"TrustDirection": "One-Way: Outgoing"}),
        json!({"TrustType": "External"}),
        json!({"RemoteDomainName": "other.example.com"}),
        json!({"DirectoryId": "d-0987654321"}),
    ] {
        let new = trust_properties(&with(change.clone()), "b").expect("valid");
        assert_eq!(update_kind(&old, &new), UpdateKind::Replacement, "{change}");
    }
}

#[test]
fn an_update_of_selective_auth_or_forwarders_is_in_place_and_of_the_resources_own_settings_is_nothing() {
    let old = trust_properties(&properties(), "a").expect("valid");
    for change in [json!({"SelectiveAuth": "Enabled"}), json!({"ConditionalForwarderIpAddrs": ["10.0.0.12"]})] {
        let new = trust_properties(&with(change.clone()), "b").expect("valid");
        assert_eq!(update_kind(&old, &new), UpdateKind::InPlace, "{change}");
    }
    let new = trust_properties(&with(json!({"WaitFor": "Verified", "ServiceTimeout": "600"})), "b").expect("valid");
    assert_eq!(update_kind(&old, &new), UpdateKind::Nothing);
}

#[test]
fn waiting_for_created_succeeds_once_the_trust_awaits_the_remote_side_with_its_attributes() {
    let detail =
        json!({"requestId": "cfn-corptrust-1", "trustId": "t-1", "trustState": "VerifyFailed", "remoteDomainName": "corp.example.com"});
    let answer =
        answer_for(&pending(ResourceAction::Create, WaitFor::Created), Announcement::AwaitingRemoteSide, &detail).expect("answered");
    assert_eq!(answer.status, "SUCCESS");
    assert_eq!(answer.data["TrustId"], "t-1");
    assert_eq!(answer.data["TrustState"], "VerifyFailed");
    assert_eq!(answer.physical_resource_id, "cfn-corptrust-0123456789abcdef");
    assert_eq!(answer.request_id, "r-1", "CloudFormation's request id, not the workflow's");
}

#[test]
fn waiting_for_verified_is_not_answered_while_the_trust_awaits_the_remote_side() {
    let detail = json!({"trustId": "t-1", "trustState": "VerifyFailed"});
    assert_eq!(answer_for(&pending(ResourceAction::Create, WaitFor::Verified), Announcement::AwaitingRemoteSide, &detail), None);
    let verified =
        answer_for(&pending(ResourceAction::Create, WaitFor::Verified), Announcement::Verified, &json!({"trustState": "Verified"}));
    assert_eq!(verified.expect("answered").status, "SUCCESS");
}

#[test]
fn a_failed_trust_is_answered_failed_with_its_state_reason_and_remedy() {
    let detail = json!({
        "trustId": "t-1", "trustState": "Failed", "trustStateReason": "Access is denied",
        "remedy": {"code": "access-denied", "meaning": "m", "action": "Set the same password on both sides."},
        "trustDeleted": true,
    });
    let answer = answer_for(&pending(ResourceAction::Create, WaitFor::Created), Announcement::Failed, &detail).expect("answered");
    assert_eq!(answer.status, "FAILED");
    let reason = answer.reason.expect("a reason");
    for part in ["Trust Failed", "t-1 is Failed", "Access is denied", "access-denied", "Set the same password", "deleted"] {
        assert!(reason.contains(part), "{part:?} missing from {reason}");
    }
}

#[test]
fn a_removal_succeeds_when_the_trust_is_gone_and_fails_otherwise() {
    let delete = pending(ResourceAction::Delete, WaitFor::Created);
    assert_eq!(answer_for(&delete, Announcement::Removed, &json!({})).expect("answered").status, "SUCCESS");
    assert_eq!(answer_for(&delete, Announcement::AlreadyRemoved, &json!({})).expect("answered").status, "SUCCESS");
    let failed =
        answer_for(&delete, Announcement::Failed, &json!({"error": {"name": "Transient", "message": "throttled"}})).expect("answered");
    assert_eq!(failed.status, "FAILED");
    assert!(failed.reason.expect("a reason").contains("Transient: throttled"));
}

#[test]
fn the_answer_stays_under_cloudformations_4096_bytes_and_never_prints_the_url() {
    let long = "x".repeat(10_000);
    let answer = ResourceResponse::failed(&pending(ResourceAction::Create, WaitFor::Created), &long);
    assert!(serde_json::to_string(&answer).expect("json").len() < 4096);
    let printed = format!("{:?}", pending(ResourceAction::Create, WaitFor::Created));
    assert!(!printed.contains("s3.amazonaws.com"), "{printed}");
}

#[test]
fn a_refusal_reason_lists_each_property_rule_and_value() {
    let reason = violations_reason(&[Violation::new("DirectoryId", "must match ^d-[0-9a-f]{10}$", "d-nope")]);
    assert!(reason.contains("DirectoryId: must match ^d-[0-9a-f]{10}$ (got \"d-nope\")"), "{reason}");
    assert!(reason.contains("nothing was created"));
}

const TIMINGS: WorkflowTimings = WorkflowTimings { reverify_interval_seconds: 300 };

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).expect("a time")
}

#[test]
fn waiting_for_verified_ends_the_remote_side_wait_in_time_to_answer_before_the_service_timeout() {
    let mut made = trust_properties(&with(json!({"WaitFor": "Verified"})), "a").expect("valid");
    assert_eq!(made.service_timeout_seconds, 3600, "CloudFormation's default");
    fit_to_service_timeout(&mut made, TIMINGS, at(0)).expect("fits");
    assert_eq!(made.request["remoteSideWaitUntil"], json!("1970-01-01T00:54:30Z"), "an hour less 300 s and 30 s");
    assert_eq!(made.parsed.remote_side_wait_until, Some(at(3270)));
    let mut created = trust_properties(&properties(), "a").expect("valid");
    fit_to_service_timeout(&mut created, TIMINGS, at(0)).expect("fits");
    assert!(created.request.get("remoteSideWaitUntil").is_none(), "WaitFor: Created is answered once the AWS side exists");
}

#[test]
fn a_service_timeout_too_short_to_wait_for_verified_is_refused_naming_it() {
    let mut made = trust_properties(&with(json!({"WaitFor": "Verified", "ServiceTimeout": "330"})), "a").expect("valid");
    let found = violations(fit_to_service_timeout(&mut made, TIMINGS, at(0)).map(|()| made));
    assert_eq!(found[0].field, "ServiceTimeout");
    assert!(found[0].rule.contains("more than 330 s"), "{}", found[0].rule);
    let found = violations(trust_properties(&with(json!({"ServiceTimeout": "7200"})), "a"));
    assert_eq!(found[0].field, "ServiceTimeout", "CloudFormation allows at most an hour");
}

#[test]
fn a_verified_wait_that_ran_out_says_it_was_cloudformations_deadline() {
    let answer =
        answer_for(&pending(ResourceAction::Create, WaitFor::Verified), Announcement::RemoteSideTimedOut, &json!({"trustId": "t-1"}))
            .expect("answered");
    assert!(answer.reason.expect("a reason").contains("not verified in time for CloudFormation's ServiceTimeout"));
}
