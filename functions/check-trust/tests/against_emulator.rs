//! The status handler with the real SDK adapter, against the emulated AWS and its trust scenarios.

#![allow(clippy::expect_used)] // test helpers: a failed set-up should stop the test loudly

use std::time::Duration as StdDuration;

use check_trust::{check_trust, Settings};
use serde_json::json;
use trustflow_aws::ports::DirectoryReader;
use trustflow_aws::testing::{fixture, sdk_config};
use trustflow_aws::{SdkDirectory, SdkOtherAccounts};
use trustflow_domain::handoff::{CheckInput, Mode, Outcome, TrustStatus};
use trustflow_domain::plan::{Plan, PlanAction};
use trustflow_domain::testing::PlanBuilder;
use trustflow_domain::time::OffsetDateTime;
use trustflow_domain::WorkflowError;

async fn new_trust(domain: &str) -> Plan {
    let config = sdk_config().await;
    let directory_id = fixture("TF_DIRECTORY");
    let api = SdkDirectory::new(&config);
    let created = api
        .0
        .create_trust()
        .directory_id(&directory_id)
        .remote_domain_name(domain)
        .trust_password("Some-Pw-1!")
        .trust_direction("Two-Way".into())
        .send()
        .await
        .expect("created");
    PlanBuilder::default()
        .directory(api.describe_directory(&directory_id).await.expect("ok").expect("exists"))
        .request_field("requestId", json!("R-3"))
        .request_field("remoteDomainName", json!(domain))
        .action(PlanAction::Create)
        .trust_id(created.trust_id().expect("a trust id"))
        .build()
}

async fn check(mode: Mode, plan: &Plan, status: Option<TrustStatus>) -> Result<TrustStatus, WorkflowError> {
    let config = sdk_config().await;
    let settings = Settings { remote_side_window_seconds: 600, delete_failed_trusts: true };
    check_trust(
        CheckInput { mode, plan: plan.clone(), status, task_token: None, ready_signal: None },
        &settings,
        &SdkDirectory::new(&config),
        &SdkOtherAccounts::new(&config, None, "check-trust-test"),
        OffsetDateTime::now_utc(),
    )
    .await
}

/// Polls as the state machine's Retry would, until the trust settles.
async fn settle(plan: &Plan) -> TrustStatus {
    for _ in 0..60 {
        match check(Mode::Poll, plan, None).await {
            Ok(status) => return status,
            Err(error) => assert_eq!(error.name(), "TrustPending", "{error}"),
        }
        tokio::time::sleep(StdDuration::from_millis(200)).await;
    }
    panic!("the trust did not settle");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn a_verifying_trust_is_pending_then_verified() {
    let plan = new_trust("verifies.rust.example").await;
    assert_eq!(check(Mode::Poll, &plan, None).await.expect_err("pending").name(), "TrustPending");
    assert_eq!(settle(&plan).await.outcome, Outcome::Verified);
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn an_unreachable_domain_fails_with_its_remedy_and_is_cleaned_up() {
    let plan = new_trust("unreachable.rust.example").await;
    let failed = settle(&plan).await;
    assert_eq!(failed.outcome, Outcome::Failed);
    assert_eq!(failed.remedy.as_ref().map(|r| r.code.as_str()), Some("domain-unreachable"));
    let cleaned = check(Mode::Cleanup, &plan, Some(failed)).await.expect("cleaned");
    assert!(cleaned.trust_deleted);
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn a_wrong_password_awaits_the_remote_side_and_is_reverified() {
    let plan = new_trust("wrongpw.rust.example").await;
    let awaiting = settle(&plan).await;
    assert_eq!(awaiting.outcome, Outcome::AwaitingRemoteSide);
    assert_eq!(awaiting.remedy.as_ref().map(|r| r.code.as_str()), Some("access-denied"));
    let error = check(Mode::Reverify, &plan, Some(awaiting)).await.expect_err("still waiting");
    assert_eq!(error.name(), "TrustAwaitingRemoteSide");
    assert!(error.to_string().contains("verification requested again"), "{error}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn a_trust_that_no_longer_exists_is_failed() {
    let mut plan = new_trust("gone.rust.example").await;
    plan.trust_id = Some("t-0000000000".to_owned());
    let status = check(Mode::Poll, &plan, None).await.expect("failed");
    assert_eq!((status.outcome, status.trust_state.as_api_str()), (Outcome::Failed, "Deleted"));
}
