//! The validation handler with the real SDK adapters, against the emulated AWS over HTTP.

#![allow(clippy::expect_used)] // test helpers: a failed set-up should stop the test loudly

use serde_json::{json, Value};
use trustflow_aws::testing::{fixture, sdk_config};
use trustflow_aws::{SdkDirectory, SdkNetwork, SdkOtherAccounts, SdkSecrets};
use trustflow_domain::plan::PlanAction;
use trustflow_domain::time::OffsetDateTime;
use validate_request::{plan_request, Aws, Settings};

fn request(directory: &str, domain: &str) -> Value {
    json!({"requestId": "R-1", "directoryId": directory, "remoteDomainName": domain, "trustDirection": "Two-Way",
           "conditionalForwarderIpAddrs": ["172.16.10.153"], "trustPassword": {"secretId": "trustflow/plain"}})
}

async fn plan(input: Value) -> Result<trustflow_domain::plan::Plan, trustflow_domain::WorkflowError> {
    let config = sdk_config().await;
    let settings = Settings { region: "us-east-1".to_owned(), deadline_seconds: 60, allowed_remote_roles: Vec::new() };
    let aws = Aws {
        directory: &SdkDirectory::new(&config),
        network: &SdkNetwork::new(&config),
        secrets: &SdkSecrets::new(&config),
        accounts: &SdkOtherAccounts::new(&config, None, "validate-request-test"),
    };
    plan_request(&input, &settings, aws, OffsetDateTime::now_utc()).await
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn plans_a_new_trust_for_an_active_managed_directory() {
    let plan = plan(request(&fixture("TF_DIRECTORY"), "new.validate.example")).await.expect("accepted");
    assert_eq!(plan.action, PlanAction::Create);
    assert_eq!(plan.directory.name, "aws.example.com");
    assert_eq!(plan.directory.primary_region.as_deref(), Some("us-east-1"));
    assert_eq!(plan.directory.dns_ip_addrs.len(), 2);
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn rejects_an_unknown_directory() {
    let error = plan(request("d-0000000000", "x.validate.example")).await.expect_err("rejected");
    assert!(error.to_string().contains("directoryId: must name an existing directory"), "{error}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn rejects_a_simple_ad_directory() {
    let error = plan(request(&fixture("TF_SIMPLE_AD"), "x.validate.example")).await.expect_err("rejected");
    assert!(error.to_string().contains("this one is SimpleAD"), "{error}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn rejects_a_directory_that_is_not_active() {
    let error = plan(request(&fixture("TF_NOT_ACTIVE"), "x.validate.example")).await.expect_err("rejected");
    assert!(error.to_string().contains("this directory is Creating"), "{error}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn rejects_a_replicated_directory_outside_its_primary_region() {
    let error = plan(request(&fixture("TF_REPLICATED"), "x.validate.example")).await.expect_err("rejected");
    let message = error.to_string();
    assert!(message.contains("primary Region eu-west-1") && message.contains("runs in us-east-1"), "{message}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn rejects_a_missing_secret_without_reading_any_value() {
    let mut input = request(&fixture("TF_DIRECTORY"), "x.validate.example");
    input["trustPassword"] = json!({"secretId": "trustflow/does-not-exist"});
    let error = plan(input).await.expect_err("rejected");
    assert!(error.to_string().contains("trustPassword.secretId: must name an existing Secrets Manager secret"), "{error}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn requires_forwarders_when_the_directory_has_none_for_the_domain() {
    let mut input = request(&fixture("TF_DIRECTORY"), "noforwarder.validate.example");
    input.as_object_mut().map(|o| o.remove("conditionalForwarderIpAddrs"));
    let error = plan(input).await.expect_err("rejected");
    assert!(error.to_string().contains("conditionalForwarderIpAddrs: is required"), "{error}");
}

#[tokio::test]
#[ignore = "needs the emulated AWS: scripts/test.sh starts it and runs these"]
async fn adopts_an_existing_trust_still_being_created() {
    let config = sdk_config().await;
    let directory = fixture("TF_DIRECTORY");
    let created = trustflow_aws::aws_sdk_directory::Client::new(&config)
        .create_trust()
        .directory_id(&directory)
        .remote_domain_name("adopt.rust.example")
        .trust_password("Some-Pw-1!")
        .trust_direction("Two-Way".into())
        .conditional_forwarder_ip_addrs("10.9.9.9")
        .send()
        .await
        .expect("created");
    // Without forwarder addresses: the forwarder CreateTrust made is found.
    let mut input = request(&directory, "ADOPT.rust.example.");
    input.as_object_mut().map(|o| o.remove("conditionalForwarderIpAddrs"));
    let plan = plan(input).await.expect("accepted");
    assert_eq!(plan.action, PlanAction::Adopt);
    assert_eq!(plan.trust_id.as_deref(), created.trust_id());
}
