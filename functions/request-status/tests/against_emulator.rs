//! The status reader with the real SDK adapter, against the emulated AWS (moto executes the ASL).

#![allow(clippy::expect_used)] // test helpers: a failed set-up should stop the test loudly

use std::time::Duration;

use trustflow_aws::testing::sdk_config;
use trustflow_aws::{read_status, SdkExecutions, StatusError};
use trustflow_domain::status::RequestState;

/// A state machine that ends the way a rejected request does, with the workflow's error name.
const REJECTING_MACHINE: &str = r#"{"StartAt": "ValidateRequest", "States": {
  "ValidateRequest": {"Type": "Pass", "Next": "TrustRequestRejected"},
  "TrustRequestRejected": {"Type": "Fail", "Error": "TrustRequestRejected", "Cause": "rejected"}}}"#;

async fn machine(name: &str) -> (SdkExecutions, String) {
    let executions = SdkExecutions::new(&sdk_config().await);
    let arn = executions
        .0
        .create_state_machine()
        .name(name)
        .definition(REJECTING_MACHINE)
        .role_arn("arn:aws:iam::123456789012:role/trustflow-tests")
        .send()
        .await
        .expect("state machine created")
        .state_machine_arn()
        .to_owned();
    (executions, arn)
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn an_unknown_request_id_is_not_found() {
    let (executions, arn) = machine("status-unknown").await;
    let error = read_status(&executions, &arn, "NO-SUCH-REQUEST").await.expect_err("no execution");
    assert!(matches!(error, StatusError::NotFound), "{error:?}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn reads_a_finished_execution_by_request_id() {
    let (executions, arn) = machine("status-rejected").await;
    executions.0.start_execution().state_machine_arn(&arn).name("trust-REQ-IT-1").input("{}").send().await.expect("started");
    let mut attempts = 0;
    let (status, history) = loop {
        let (status, history) = read_status(&executions, &arn, "REQ-IT-1").await.expect("readable");
        if status.execution_status != "RUNNING" || attempts == 50 {
            break (status, history);
        }
        attempts += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.status, RequestState::Rejected, "{status:?}");
    assert_eq!(status.error.as_deref(), Some("TrustRequestRejected"));
    assert!(status.start_date.is_some() && status.stop_date.is_some(), "{status:?}");
    let entered: Vec<_> = history.iter().filter_map(|r| r.entered_state.as_deref()).collect();
    assert_eq!(entered, ["ValidateRequest", "TrustRequestRejected"]);
}
