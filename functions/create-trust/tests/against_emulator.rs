//! The creation handler with the real SDK adapters, against the emulated AWS over HTTP.

#![allow(clippy::expect_used)] // test helpers: a failed set-up should stop the test loudly

use create_trust::create_trust;
use serde_json::json;
use trustflow_aws::ports::DirectoryReader;
use trustflow_aws::testing::{fixture, sdk_config};
use trustflow_aws::{SdkDirectory, SdkOtherAccounts, SdkSecrets};
use trustflow_domain::plan::{Plan, PlanAction};
use trustflow_domain::testing::PlanBuilder;

const CANARY: &str = "Canary-Rust-Pw-41!";

async fn plan(domain: &str, secret: serde_json::Value) -> Plan {
    let config = sdk_config().await;
    let directory_id = fixture("TF_DIRECTORY");
    let directory = SdkDirectory::new(&config).describe_directory(&directory_id).await.expect("reachable").expect("exists");
    PlanBuilder::default()
        .directory(directory)
        .request_field("requestId", json!("R-2"))
        .request_field("remoteDomainName", json!(domain))
        .request_field("trustPassword", secret)
        .build()
}

async fn create(plan: Plan) -> Result<Plan, trustflow_domain::WorkflowError> {
    let config = sdk_config().await;
    create_trust(plan, &SdkDirectory::new(&config), &SdkOtherAccounts::new(&config, None, "create-trust-test"), &SdkSecrets::new(&config))
        .await
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn creates_a_trust_from_a_plain_secret() {
    let created = create(plan("plain.create.example", json!({"secretId": "trustflow/plain"})).await).await.expect("created");
    let trust_id = created.trust_id.clone().expect("trust id");
    assert!(trust_id.starts_with("t-"));
    assert!(!serde_json::to_string(&created).expect("json").contains(CANARY));
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn creates_a_trust_from_a_key_of_a_json_secret() {
    let secret = json!({"secretId": "trustflow/json", "jsonKey": "password"});
    assert!(create(plan("json.create.example", secret).await).await.expect("created").trust_id.is_some());
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn a_duplicate_create_adopts_the_existing_trust() {
    let first = create(plan("dup.create.example", json!({"secretId": "trustflow/plain"})).await).await.expect("created");
    let second = create(plan("Dup.Create.Example.", json!({"secretId": "trustflow/plain"})).await).await.expect("adopted");
    assert_eq!(second.trust_id, first.trust_id);
    assert_eq!(second.action, PlanAction::Adopt);
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn a_missing_secret_is_a_clear_error_and_creates_nothing() {
    let error = create(plan("missing.create.example", json!({"secretId": "trustflow/nope"})).await).await.expect_err("fails");
    assert_eq!(error.name(), "SecretUnavailable");
    assert!(error.to_string().contains("trustflow/nope"), "{error}");
    let config = sdk_config().await;
    let trusts = SdkDirectory::new(&config).list_trusts(&fixture("TF_DIRECTORY")).await.expect("listed");
    assert!(trusts.iter().all(|t| t.remote_domain_name != "missing.create.example"));
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn a_missing_json_key_never_shows_the_secret() {
    let secret = json!({"secretId": "trustflow/json", "jsonKey": "pw"});
    let error = create(plan("key.create.example", secret).await).await.expect_err("fails");
    assert_eq!(error.name(), "SecretUnavailable");
    assert!(!error.to_string().contains(CANARY));
}
