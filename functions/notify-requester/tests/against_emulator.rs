//! The notification handler with the real SNS and EventBridge adapters, against the emulated AWS.

#![allow(clippy::expect_used)] // test helpers: a failed set-up should stop the test loudly

use notify_requester::{notify, Announcement, Settings};
use serde_json::json;
use trustflow_aws::testing::{fixture, sdk_config};
use trustflow_aws::{SdkNetwork, SdkNotifier};
use trustflow_domain::time::OffsetDateTime;

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn publishes_a_rejection_and_puts_its_result_event() {
    let config = sdk_config().await;
    let settings = Settings {
        default_topic_arn: fixture("TF_TOPIC"),
        event_bus: "rust-tests".to_owned(),
        event_source: "trustflow".to_owned(),
        region: "us-east-1".to_owned(),
    };
    let state = json!({"requestId": "R-4", "failure": {"Error": "ValidationFailed", "Cause": "{\"errorMessage\":\"directoryId: x\"}"}});
    let sent = notify(
        &serde_json::from_value(state.clone()).expect("a notification step payload"),
        &settings,
        &SdkNotifier::new(&config),
        &SdkNetwork::new(&config),
        OffsetDateTime::now_utc(),
    )
    .await
    .expect("sent");
    assert_eq!(sent.announcement, Announcement::Rejected);
    assert_eq!(sent.topics, [fixture("TF_TOPIC")]);
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn an_unknown_topic_is_an_error_not_a_silent_success() {
    let config = sdk_config().await;
    let settings = Settings {
        default_topic_arn: "arn:aws:sns:us-east-1:123456789012:no-such-topic".to_owned(),
        event_bus: "rust-tests".to_owned(),
        event_source: "trustflow".to_owned(),
        region: "us-east-1".to_owned(),
    };
    let state = json!({"requestId": "R-5", "failure": {"Error": "ValidationFailed", "Cause": "x"}});
    assert!(notify(
        &serde_json::from_value(state.clone()).expect("a notification step payload"),
        &settings,
        &SdkNotifier::new(&config),
        &SdkNetwork::new(&config),
        OffsetDateTime::now_utc()
    )
    .await
    .is_err());
}
