use serde_json::json;
use trustflow_aws::fakes::{sample_directory, FakeAws, FakeOtherAccounts};
use trustflow_domain::domain::SelectiveAuth;
use trustflow_domain::handoff::{CaughtFailure, CheckInput, CheckOutput, Mode, Outcome, RemovalCheckInput, TrustStatus};
use trustflow_domain::plan::Change;
use trustflow_domain::ready::TaskToken;
use trustflow_domain::testing::PlanBuilder;

use trustflow_domain::plan::PairedSide;

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
    check_trust(
        CheckInput { mode, plan, status, task_token: None, ready_signal: None },
        &settings(),
        aws,
        &FakeOtherAccounts::default(),
        at(now),
    )
    .await
}

fn ready_signal(seconds: i64) -> CaughtFailure {
    let signal = ReadySignal { signalled_at: at(seconds), via: trustflow_domain::ready::SignalSource::Api };
    CaughtFailure { error: Some("RemoteSideReady".to_owned()), cause: Some(signal.to_cause()) }
}

async fn in_waiting_task(aws: &FakeAws, plan: Plan, status: TrustStatus, now: i64) -> Result<CheckOutput, WorkflowError> {
    let input =
        CheckInput { mode: Mode::Reverify, plan, status: Some(status), task_token: Some(TaskToken::new("token-1")), ready_signal: None };
    run_check(input, &settings(), aws, &FakeOtherAccounts::default(), aws, at(now)).await
}

async fn signalled(
    aws: &FakeAws,
    mode: Mode,
    plan: Plan,
    status: TrustStatus,
    signal_at: i64,
    now: i64,
) -> Result<TrustStatus, WorkflowError> {
    let input = CheckInput { mode, plan, status: Some(status), task_token: None, ready_signal: Some(ready_signal(signal_at)) };
    check_trust(input, &settings(), aws, &FakeOtherAccounts::default(), at(now)).await
}

#[tokio::test]
async fn in_the_waiting_task_a_trust_still_awaiting_leaves_the_task_waiting_and_a_verdict_answers_it() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let awaiting = run(&aws, Mode::Poll, plan("Two-Way", &id, PlanAction::Create), None, 10).await.expect("awaiting");
    let output = in_waiting_task(&aws, plan("Two-Way", &id, PlanAction::Create), awaiting.clone(), 20).await.expect("not an error");
    assert_eq!(output.status.outcome, Outcome::AwaitingRemoteSide);
    assert_eq!((aws.count("VerifyTrust"), aws.count("SendTaskSuccess")), (1, 0), "verification asked for, the Task left waiting");
    aws.set_state(&id, "Verified", "");
    let output = in_waiting_task(&aws, plan("Two-Way", &id, PlanAction::Create), awaiting, 30).await.expect("verified");
    assert_eq!(output.status.outcome, Outcome::Verified);
    let answers = aws.task_answers.borrow();
    let [(token, kind, sent)] = answers.as_slice() else { panic!("one answer: {answers:?}") };
    assert_eq!((token.as_str(), kind.as_str()), ("token-1", "success"));
    let sent: CheckOutput = serde_json::from_str(sent).expect("the Task gets the step's output");
    assert_eq!((sent.status.outcome, sent.status.trust_id.as_str()), (Outcome::Verified, id.as_str()));
}

#[tokio::test]
async fn a_verdict_for_a_task_that_no_longer_waits_is_not_an_error() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    *aws.tasks_gone.borrow_mut() = true;
    let awaiting = TrustStatus { outcome: Outcome::AwaitingRemoteSide, ..status_of(&id) };
    let output = in_waiting_task(&aws, plan("Two-Way", &id, PlanAction::Create), awaiting, 30).await.expect("the next step reads again");
    assert_eq!((output.status.outcome, aws.count("SendTaskSuccess")), (Outcome::Verified, 1));
}

fn status_of(trust_id: &str) -> TrustStatus {
    TrustStatus {
        outcome: Outcome::AwaitingRemoteSide,
        trust_id: trust_id.to_owned(),
        trust_state: trustflow_domain::domain::TrustState::from_api("VerifyFailed"),
        trust_state_reason: "Access is denied.".to_owned(),
        remedy: None,
        checked_at: "1970-01-01T00:00:10Z".to_owned(),
        remote_side_deadline: Some("1970-01-01T00:10:10Z".to_owned()),
        trust_deleted: false,
        remote_side_reported_ready_at: None,
        verification_requested_at: None,
        paired_trust: None,
    }
}

#[tokio::test]
async fn a_ready_signal_asks_for_verification_at_once_and_follows_it_until_aws_answers() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    aws.set_state_updated_at(&id, at(5));
    let requested =
        signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), status_of(&id), 40, 41).await.expect("requested");
    assert_eq!(aws.count("VerifyTrust"), 1);
    assert_eq!(requested.remote_side_reported_ready_at.as_deref(), Some("1970-01-01T00:00:40Z"));
    assert_eq!(requested.remote_side_deadline.as_deref(), Some("1970-01-01T00:10:10Z"), "the window is kept");
    // AWS has not answered yet: the VerifyFailed from before the request is not the answer.
    aws.set_state(&id, "VerifyFailed", "Access is denied.");
    let pending = signalled(&aws, Mode::FollowVerification, plan("Two-Way", &id, PlanAction::Create), requested.clone(), 40, 42).await;
    assert_eq!(pending.expect_err("not answered").name(), "TrustPending");
    aws.set_state(&id, "Verifying", "");
    let pending = signalled(&aws, Mode::FollowVerification, plan("Two-Way", &id, PlanAction::Create), requested.clone(), 40, 43).await;
    assert_eq!(pending.expect_err("verifying").name(), "TrustPending");
    aws.set_state(&id, "Verified", "");
    let verified =
        signalled(&aws, Mode::FollowVerification, plan("Two-Way", &id, PlanAction::Create), requested, 40, 44).await.expect("verdict");
    assert_eq!((verified.outcome, verified.remote_side_reported_ready_at.as_deref()), (Outcome::Verified, Some("1970-01-01T00:00:40Z")));
    assert_eq!(aws.count("VerifyTrust"), 1, "one verification asked for");
}

#[tokio::test]
async fn a_verification_after_the_signal_that_fails_again_goes_back_to_waiting() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let requested =
        signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), status_of(&id), 40, 41).await.expect("requested");
    aws.set_state(&id, "VerifyFailed", "Access is denied.");
    aws.set_state_updated_at(&id, at(44));
    let again =
        signalled(&aws, Mode::FollowVerification, plan("Two-Way", &id, PlanAction::Create), requested, 40, 45).await.expect("answered");
    assert_eq!(again.outcome, Outcome::AwaitingRemoteSide);
    assert_eq!(again.remote_side_deadline.as_deref(), Some("1970-01-01T00:10:10Z"));
    assert_eq!(again.remote_side_reported_ready_at.as_deref(), Some("1970-01-01T00:00:40Z"));
}

#[tokio::test]
async fn a_verification_aws_never_answers_is_left_to_the_scheduled_reverification() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let requested =
        signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), status_of(&id), 40, 41).await.expect("requested");
    aws.set_state(&id, "Verifying", "");
    let later = 41 + VERIFICATION_FOLLOW_LIMIT.whole_seconds();
    let back =
        signalled(&aws, Mode::FollowVerification, plan("Two-Way", &id, PlanAction::Create), requested, 40, later).await.expect("gave up");
    assert_eq!(back.outcome, Outcome::AwaitingRemoteSide);
    assert_eq!(back.remote_side_reported_ready_at, None, "no answer after the signal is claimed");
}

#[tokio::test]
async fn a_signal_for_a_trust_with_a_verdict_or_past_its_window_asks_aws_for_nothing() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let verified =
        signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), status_of(&id), 40, 41).await.expect("verified");
    assert_eq!(verified.remote_side_reported_ready_at, None, "verified by an earlier verification: nothing is said of the signal");
    let followed =
        signalled(&aws, Mode::FollowVerification, plan("Two-Way", &id, PlanAction::Create), verified, 40, 42).await.expect("same");
    assert_eq!(followed.outcome, Outcome::Verified);
    aws.set_state(&id, "VerifyFailed", "Access is denied.");
    let late =
        signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), status_of(&id), 700, 701).await.expect("too late");
    assert_eq!(late.outcome, Outcome::RemoteSideTimedOut);
    assert_eq!(aws.count("VerifyTrust"), 0);
}

#[tokio::test]
async fn verify_now_without_its_signal_is_an_internal_error() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "");
    let error =
        run(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), Some(status_of(&id)), 41).await.expect_err("no signal");
    assert_eq!(error.name(), "Internal");
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
async fn a_requests_own_end_of_the_wait_comes_before_the_deployments_window_and_never_after() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let until = |end: &str| {
        PlanBuilder::default()
            .directory(sample_directory(DIR))
            .request_field("remoteSideWaitUntil", json!(end))
            .action(PlanAction::Create)
            .trust_id(&id)
            .deadline(at(100))
            .build()
    };
    let earlier = run(&aws, Mode::Poll, until("1970-01-01T00:01:10Z"), None, 10).await.expect("awaiting");
    assert_eq!(earlier.remote_side_deadline.as_deref(), Some("1970-01-01T00:01:10Z"), "the request's own end");
    let status = run(&aws, Mode::Reverify, until("1970-01-01T00:01:10Z"), Some(earlier), 71).await.expect("gave up");
    assert_eq!(status.outcome, Outcome::RemoteSideTimedOut);
    let later = run(&aws, Mode::Poll, until("1970-01-02T00:00:00Z"), None, 10).await.expect("awaiting");
    assert_eq!(later.remote_side_deadline.as_deref(), Some("1970-01-01T00:10:10Z"), "capped by the deployment's 600 s");
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
    let first = remove_trust(input.clone(), &aws, &FakeOtherAccounts::default(), at(1)).await.expect_err("deleting");
    assert_eq!(first.name(), "TrustPending");
    assert_eq!(aws.calls.borrow().iter().filter(|c| c.starts_with("DeleteTrust")).count(), 1);
    // The fake deletes at once: the next look finds it gone.
    let done = remove_trust(input, &aws, &FakeOtherAccounts::default(), at(2)).await.expect("removed");
    assert_eq!((done.status.outcome, done.status.trust_id.as_str(), done.status.trust_deleted), (Outcome::Removed, id.as_str(), true));
    assert_eq!(aws.count("DeleteTrust"), 1, "never deleted twice");
}

#[tokio::test]
async fn a_trust_already_being_deleted_is_waited_for_not_deleted_again() {
    let aws = FakeAws::default();
    let (input, _) = removal_input(&aws, "Deleting", false);
    assert_eq!(remove_trust(input, &aws, &FakeOtherAccounts::default(), at(1)).await.expect_err("pending").name(), "TrustPending");
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

#[tokio::test]
async fn a_verification_begun_before_the_signal_is_waited_out_and_then_one_is_asked_for_after_it() {
    let aws = FakeAws::default();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verifying", "");
    // The scheduled re-verification's own verification is running when the signal comes: its
    // answer may predate the remote side's fix, so it is not the answer to the signal.
    let running = signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), status_of(&id), 40, 41).await;
    assert_eq!(running.expect_err("waits for it to end").name(), "TrustPending");
    assert_eq!(aws.count("VerifyTrust"), 0);
    aws.set_state(&id, "VerifyFailed", "Access is denied.");
    aws.set_state_updated_at(&id, at(42));
    let requested =
        signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), status_of(&id), 40, 43).await.expect("asked");
    assert_eq!((aws.count("VerifyTrust"), requested.verification_requested_at.is_some()), (1, true));
    // A trust stuck verifying past the follow limit goes back to waiting, asking for nothing.
    aws.set_state(&id, "Verifying", "");
    let stuck = 40 + VERIFICATION_FOLLOW_LIMIT.whole_seconds();
    let long_window = TrustStatus { remote_side_deadline: Some("1970-01-01T05:00:00Z".to_owned()), ..status_of(&id) };
    let back = signalled(&aws, Mode::VerifyNow, plan("Two-Way", &id, PlanAction::Create), long_window, 40, stuck).await.expect("back");
    assert_eq!((back.outcome, back.verification_requested_at.as_deref()), (Outcome::AwaitingRemoteSide, None));
    let followed = signalled(&aws, Mode::FollowVerification, plan("Two-Way", &id, PlanAction::Create), back, 40, stuck + 1).await;
    assert_eq!(followed.expect("nothing to follow").outcome, Outcome::AwaitingRemoteSide);
}

const REMOTE_DIR: &str = "d-0987654321";

/// A plan for a pair: this side `local`, the other side `remote` on REMOTE_DIR.
fn paired_plan(local: &str, remote: &str) -> Plan {
    PlanBuilder::default()
        .directory(sample_directory(DIR))
        .action(PlanAction::Create)
        .trust_id(local)
        .deadline(at(100))
        .paired_side(PairedSide {
            directory: sample_directory(REMOTE_DIR),
            trust_direction: trustflow_domain::domain::TrustDirection::TwoWay,
            conditional_forwarder_ip_addrs: vec!["10.0.0.2".to_owned()],
            trust_id: Some(remote.to_owned()),
            changes: Vec::new(),
        })
        .build()
}

#[tokio::test]
async fn a_pair_is_verified_when_both_sides_are() {
    let aws = FakeAws::default();
    let local = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let remote = aws.add_trust(REMOTE_DIR, "aws.example.com", "Two-Way", "Verified", "");
    let status = run(&aws, Mode::Poll, paired_plan(&local, &remote), None, 10).await.expect("verified");
    assert_eq!(status.outcome, Outcome::Verified);
    let paired = status.paired_trust.expect("the other side is reported");
    assert_eq!((paired.directory_id.as_str(), paired.trust_id.as_str()), (REMOTE_DIR, remote.as_str()));
}

#[tokio::test]
async fn a_pair_whose_other_side_is_not_verified_yet_awaits_it_and_reverification_asks_aws_to_verify_it() {
    let aws = FakeAws::default();
    let local = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let remote = aws.add_trust(REMOTE_DIR, "aws.example.com", "Two-Way", "VerifyFailed", "Access is denied.");
    let awaiting = run(&aws, Mode::Poll, paired_plan(&local, &remote), None, 10).await.expect("awaiting");
    assert_eq!(awaiting.outcome, Outcome::AwaitingRemoteSide);
    assert_eq!(awaiting.remote_side_deadline.as_deref(), Some("1970-01-01T00:10:10Z"));
    let error = run(&aws, Mode::Reverify, paired_plan(&local, &remote), Some(awaiting.clone()), 20).await.expect_err("still waiting");
    assert!(matches!(error, WorkflowError::TrustAwaitingRemoteSide(_)), "{error:?}");
    assert_eq!(aws.count("VerifyTrust"), 1, "the other side was verified again");
    aws.set_state(&remote, "Verified", "");
    let verified = run(&aws, Mode::Reverify, paired_plan(&local, &remote), Some(awaiting), 30).await.expect("verified");
    assert_eq!(verified.outcome, Outcome::Verified);
}

#[tokio::test]
async fn a_pair_fails_when_the_other_side_fails_or_is_gone_naming_it() {
    let aws = FakeAws::default();
    let local = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let remote = aws.add_trust(
        REMOTE_DIR,
        "aws.example.com",
        "Two-Way",
        "Failed",
        "The specified domain either does not exist or could not be contacted.",
    );
    let failed = run(&aws, Mode::Poll, paired_plan(&local, &remote), None, 10).await.expect("failed");
    assert_eq!(failed.outcome, Outcome::Failed);
    assert!(failed.trust_state_reason.contains(&remote) && failed.trust_state_reason.contains(REMOTE_DIR), "{}", failed.trust_state_reason);
    let gone = run(&aws, Mode::Poll, paired_plan(&local, "t-gone000000"), None, 10).await.expect("failed");
    assert_eq!(gone.outcome, Outcome::Failed);
}

#[tokio::test]
async fn cleanup_of_a_failed_pair_deletes_both_sides() {
    let aws = FakeAws::default();
    let local = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let remote = aws.add_trust(REMOTE_DIR, "aws.example.com", "Two-Way", "Failed", "x");
    let failed = run(&aws, Mode::Poll, paired_plan(&local, &remote), None, 10).await.expect("failed");
    let cleaned = run(&aws, Mode::Cleanup, paired_plan(&local, &remote), Some(failed), 11).await.expect("cleaned");
    assert!(cleaned.trust_deleted && cleaned.paired_trust.expect("reported").trust_deleted);
    assert_eq!((aws.state_of(&local), aws.state_of(&remote)), (None, None));
}

#[tokio::test]
async fn an_updated_pair_is_done_only_once_the_other_side_shows_the_requested_setting() {
    let aws = FakeAws::default();
    let local = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let remote = aws.add_trust(REMOTE_DIR, "aws.example.com", "Two-Way", "Verified", "");
    let mut plan = paired_plan(&local, &remote);
    if let Some(side) = plan.paired_side.as_mut() {
        side.changes = vec![Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }];
    }
    let error = run(&aws, Mode::Poll, plan.clone(), None, 10).await.expect_err("the other side still shows Disabled");
    assert_eq!(error.name(), "TrustPending", "{error}");
    for (_, trust) in aws.trusts.borrow_mut().iter_mut().filter(|(_, t)| t.trust_id == remote) {
        trust.selective_auth = SelectiveAuth::Enabled;
    }
    assert_eq!(run(&aws, Mode::Poll, plan, None, 11).await.expect("done").outcome, Outcome::Verified);
}

#[tokio::test]
async fn cleanup_of_a_failed_pair_whose_other_account_refuses_the_role_deletes_this_side_and_says_the_other_is_left() {
    let aws = FakeAws::default();
    let local = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let remote = aws.add_trust(REMOTE_DIR, "aws.example.com", "Two-Way", "Failed", "x");
    let mut plan = paired_plan(&local, &remote);
    plan.request.remote_directory_id = Some(REMOTE_DIR.to_owned());
    plan.request.remote_role_arn = Some("arn:aws:iam::222222222222:role/trustflow-remote-directories".to_owned());
    let mut failed = run(&aws, Mode::Poll, paired_plan(&local, &remote), None, 10).await.expect("failed");
    failed.paired_trust.as_mut().expect("read").trust_state_reason = "x".to_owned();
    let cleaned = check_trust(
        CheckInput { mode: Mode::Cleanup, plan, status: Some(failed), task_token: None, ready_signal: None },
        &settings(),
        &aws,
        &FakeOtherAccounts::default(),
        at(11),
    )
    .await
    .expect("cleaned what could be");
    assert!(cleaned.trust_deleted, "this side is deleted");
    let paired = cleaned.paired_trust.expect("reported");
    assert!(!paired.trust_deleted, "the other side is not said to be deleted");
    assert!(
        paired.trust_state_reason.starts_with("x; not deleted: trustflow could not reach its account"),
        "{}",
        paired.trust_state_reason
    );
    assert_eq!((aws.state_of(&local), aws.state_of(&remote).as_deref()), (None, Some("Failed")));
}
