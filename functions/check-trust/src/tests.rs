use serde_json::json;
use trustflow_aws::fakes::{sample_directory, FakeAws};
use trustflow_domain::domain::SelectiveAuth;
use trustflow_domain::handoff::{CheckInput, Mode, Outcome, RemovalCheckInput, TrustStatus};
use trustflow_domain::plan::Change;
use trustflow_domain::testing::PlanBuilder;

use super::*;

const DIR: &str = "d-1234567890";

fn settings() -> Settings {
    Settings { remote_side_window_seconds: 600, delete_failed_trusts: true }
}

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
}

fn plan(direction: &str, trust_id: &str, action: PlanAction) -> Plan {
    PlanBuilder::default()
        .directory(sample_directory(DIR))
        .request_field("trustDirection", json!(direction))
        .action(action)
        .trust_id(trust_id)
        .deadline(at(100))
        .build()
}

async fn run(aws: &FakeAws, mode: Mode, plan: Plan, status: Option<TrustStatus>, now: i64) -> Result<TrustStatus, WorkflowError> {
    check_trust(CheckInput { mode, plan, status }, &settings(), aws, at(now)).await
}

#[tokio::test]
async fn reports_pending_as_a_named_error_until_the_deadline() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Creating", "");
    let error = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect_err("pending");
    assert_eq!(error.name(), "TrustPending");
    let status = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 100).await.expect("timed out");
    assert_eq!(status.outcome, Outcome::TimedOut);
}

#[tokio::test]
async fn verified_trust_is_done() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let status = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect("done");
    assert_eq!((status.outcome, status.remedy), (Outcome::Verified, None));
}

#[tokio::test]
async fn incoming_trust_is_done_once_created() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "One-Way: Incoming", "Created", "");
    let status = run(&aws, Mode::Poll, plan("incoming", &id, PlanAction::Create), None, 10).await.expect("done");
    assert_eq!(status.outcome, Outcome::Verified);
}

#[tokio::test]
async fn verify_failed_awaits_the_remote_side_with_a_window() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let status = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect("awaiting");
    assert_eq!(status.outcome, Outcome::AwaitingRemoteSide);
    assert_eq!(status.remote_side_deadline.as_deref(), Some("1970-01-01T00:10:10Z"));
    assert_eq!(status.remedy.map(|r| r.code).as_deref(), Some("access-denied"));
}

#[tokio::test]
async fn failed_trust_carries_its_remedy() {
    let aws = FakeAws::default();
    let id =
        aws.add_trust(DIR, "corp.example.com", "Two-Way", "Failed", "The specified domain name does not exist or could not be contacted.");
    let status = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect("failed");
    assert_eq!(status.outcome, Outcome::Failed);
    assert_eq!(status.remedy.map(|r| r.code).as_deref(), Some("domain-unreachable"));
}

#[tokio::test]
async fn a_trust_that_vanished_is_failed() {
    let aws = FakeAws::default();
    let status = run(&aws, Mode::Poll, plan("Two-Way", "t-0000000042", PlanAction::Create), None, 10).await.expect("failed");
    assert_eq!((status.outcome, status.trust_state.as_api_str()), (Outcome::Failed, "Deleted"));
}

#[tokio::test]
async fn reverify_asks_aws_to_verify_again_and_keeps_waiting() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let awaiting = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect("awaiting");
    let error = run(&aws, Mode::Reverify, plan("Two-Way", &id, PlanAction::Create), Some(awaiting.clone()), 20).await.expect_err("waiting");
    assert_eq!(error.name(), "TrustAwaitingRemoteSide");
    assert_eq!(aws.count("VerifyTrust"), 1);
    // Verifying: no second VerifyTrust while AWS is at it.
    let error = run(&aws, Mode::Reverify, plan("Two-Way", &id, PlanAction::Create), Some(awaiting.clone()), 30).await.expect_err("waiting");
    assert_eq!(error.name(), "TrustAwaitingRemoteSide");
    assert_eq!(aws.count("VerifyTrust"), 1);
    aws.set_state(&id, "Verified", "");
    let status = run(&aws, Mode::Reverify, plan("Two-Way", &id, PlanAction::Create), Some(awaiting), 40).await.expect("verified");
    assert_eq!(status.outcome, Outcome::Verified);
}

#[tokio::test]
async fn reverify_gives_up_after_the_remote_side_window() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let awaiting = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect("awaiting");
    let status = run(&aws, Mode::Reverify, plan("Two-Way", &id, PlanAction::Create), Some(awaiting), 611).await.expect("gave up");
    assert_eq!(status.outcome, Outcome::RemoteSideTimedOut);
    assert_eq!(aws.count("VerifyTrust"), 0);
}

#[tokio::test]
async fn cleanup_deletes_a_failed_trust_this_workflow_created_with_its_forwarder() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Failed", "x");
    aws.forwarders.borrow_mut().push((DIR.to_owned(), "corp.example.com".to_owned()));
    let failed = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect("failed");
    let status = run(&aws, Mode::Cleanup, plan("Two-Way", &id, PlanAction::Create), Some(failed), 11).await.expect("cleaned");
    assert!(status.trust_deleted);
    assert_eq!(aws.state_of(&id), None);
    assert!(aws.forwarders.borrow().is_empty());
}

#[tokio::test]
async fn cleanup_leaves_an_adopted_trust_alone() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Failed", "x");
    let failed = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Adopt), None, 10).await.expect("failed");
    let status = run(&aws, Mode::Cleanup, plan("Two-Way", &id, PlanAction::Adopt), Some(failed), 11).await.expect("kept");
    assert!(!status.trust_deleted);
    assert_eq!(aws.count("DeleteTrust"), 0);
}

#[test]
fn status_serialises_in_camel_case_for_the_state_machine() {
    let value = serde_json::to_value(Outcome::AwaitingRemoteSide).expect("serialises");
    assert_eq!(value, json!("awaitingRemoteSide"));
}

fn removal_input(aws: &FakeAws, state: &str, delete_forwarder: bool) -> (RemovalCheckInput, String) {
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", state, "");
    let removal = trustflow_domain::removal::parse_removal_request(&json!({
        "requestId": "RM-1", "directoryId": DIR, "remoteDomainName": "corp.example.com", "deleteConditionalForwarder": delete_forwarder
    }))
    .expect("valid");
    let trusts: Vec<_> = aws.trusts.borrow().iter().map(|(_, t)| t.clone()).collect();
    let plan = trustflow_domain::removal::plan_removal(removal, sample_directory(DIR), &trusts);
    (RemovalCheckInput { mode: Mode::Remove, plan }, id)
}

#[tokio::test]
async fn a_removal_deletes_the_trust_once_then_waits_until_it_is_gone() {
    let aws = FakeAws::default();
    let (input, id) = removal_input(&aws, "Verified", true);
    let first = remove_trust(input.clone(), &aws, at(1)).await.expect_err("deleting");
    assert_eq!(first.name(), "TrustPending");
    assert_eq!(aws.calls.borrow().iter().filter(|c| c.starts_with("DeleteTrust")).count(), 1);
    // The fake deletes at once: the next look finds it gone.
    let done = remove_trust(input, &aws, at(2)).await.expect("removed");
    assert_eq!((done.status.outcome, done.status.trust_id.as_str(), done.status.trust_deleted), (Outcome::Removed, id.as_str(), true));
    assert_eq!(aws.count("DeleteTrust"), 1, "never deleted twice");
}

#[tokio::test]
async fn a_trust_already_being_deleted_is_waited_for_not_deleted_again() {
    let aws = FakeAws::default();
    let (input, _) = removal_input(&aws, "Deleting", false);
    assert_eq!(remove_trust(input, &aws, at(1)).await.expect_err("pending").name(), "TrustPending");
    assert_eq!(aws.count("DeleteTrust"), 0);
}

#[tokio::test]
async fn an_update_is_not_verified_until_the_trust_shows_the_requested_setting() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let mut update = plan("Two-Way", &id, PlanAction::Update);
    update.changes = vec![Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }];
    // DescribeTrusts still answers from before UpdateTrust: Verified, Disabled.
    let early = run(&aws, Mode::Poll, update.clone(), None, 10).await.expect_err("not yet");
    assert_eq!(early.name(), "TrustPending");
    assert_eq!(run(&aws, Mode::Poll, update.clone(), None, 100).await.expect("at the deadline").outcome, Outcome::TimedOut);
    for (_, trust) in aws.trusts.borrow_mut().iter_mut() {
        trust.selective_auth = SelectiveAuth::Enabled;
    }
    assert_eq!(run(&aws, Mode::Poll, update, None, 10).await.expect("verified").outcome, Outcome::Verified);
}
