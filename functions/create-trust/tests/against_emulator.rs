//! The creation handler with the real SDK adapters, against the emulated AWS over HTTP.

#![allow(clippy::expect_used)] // test helpers: a failed set-up should stop the test loudly

use create_trust::create_trust;
use serde_json::json;
use trustflow_core::aws::{DirectoryReader, SdkDirectory, SdkSecrets};
use trustflow_core::plan::{Plan, PlanAction};
use trustflow_core::request::parse_request;
use trustflow_core::testing::{fixture, sdk_config};

const CANARY: &str = "Canary-Rust-Pw-41!";

async fn plan(domain: &str, secret: serde_json::Value) -> Plan {
    let config = sdk_config().await;
    let directory_id = fixture("TF_DIRECTORY");
    let directory = SdkDirectory::new(&config).describe_directory(&directory_id).await.expect("reachable").expect("exists");
    Plan {
        request: parse_request(&json!({"requestId": "R-2", "directoryId": directory_id, "remoteDomainName": domain,
            "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["172.16.10.153"], "trustPassword": secret}))
        .expect("valid"),
        directory,
        action: PlanAction::Create,
        trust_id: None,
        replaces_trust_id: None,
        existing_trust: None,
        deadline: "2099-01-01T00:00:00Z".to_owned(),
    }
}

async fn create(plan: Plan) -> Result<Plan, trustflow_core::WorkflowError> {
    let config = sdk_config().await;
    create_trust(plan, &SdkDirectory::new(&config), &SdkSecrets::new(&config)).await
}

#[tokio::test]
async fn creates_a_trust_from_a_plain_secret() {
    let created = create(plan("plain.create.example", json!({"secretId": "trustflow/plain"})).await).await.expect("created");
    let trust_id = created.trust_id.clone().expect("trust id");
    assert!(trust_id.starts_with("t-"));
    assert!(!serde_json::to_string(&created).expect("json").contains(CANARY));
}

#[tokio::test]
async fn creates_a_trust_from_a_key_of_a_json_secret() {
    let secret = json!({"secretId": "trustflow/json", "jsonKey": "password"});
    assert!(create(plan("json.create.example", secret).await).await.expect("created").trust_id.is_some());
}

#[tokio::test]
async fn a_duplicate_create_adopts_the_existing_trust() {
    let first = create(plan("dup.create.example", json!({"secretId": "trustflow/plain"})).await).await.expect("created");
    let second = create(plan("Dup.Create.Example.", json!({"secretId": "trustflow/plain"})).await).await.expect("adopted");
    assert_eq!(second.trust_id, first.trust_id);
    assert_eq!(second.action, PlanAction::Adopt);
}

#[tokio::test]
async fn a_missing_secret_is_a_clear_error_and_creates_nothing() {
    let error = create(plan("missing.create.example", json!({"secretId": "trustflow/nope"})).await).await.expect_err("fails");
    assert_eq!(error.name(), "SecretUnavailable");
    assert!(error.to_string().contains("trustflow/nope"), "{error}");
    let config = sdk_config().await;
    let trusts = SdkDirectory::new(&config).list_trusts(&fixture("TF_DIRECTORY")).await.expect("listed");
    assert!(trusts.iter().all(|t| t.remote_domain_name != "missing.create.example"));
}

#[tokio::test]
async fn a_missing_json_key_never_shows_the_secret() {
    let secret = json!({"secretId": "trustflow/json", "jsonKey": "pw"});
    let error = create(plan("key.create.example", secret).await).await.expect_err("fails");
    assert_eq!(error.name(), "SecretUnavailable");
    assert!(!error.to_string().contains(CANARY));
}
