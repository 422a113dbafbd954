use serde_json::json;
use trustflow_aws::fakes::{sample_directory, FakeAws, FakeOtherAccounts};
use trustflow_domain::domain::SelectiveAuth;
use trustflow_domain::plan::{Change, Plan, PlanAction};
use trustflow_domain::testing::PlanBuilder;

use super::*;

const DIR: &str = "d-1234567890";
const CANARY: &str = "Canary-Pw-5e1d!";

fn account() -> FakeAws {
    let aws = FakeAws::default();
    aws.secrets.borrow_mut().insert("plain".to_owned(), Some(CANARY.to_owned()));
    aws.secrets.borrow_mut().insert("json".to_owned(), Some(format!(r#"{{"password":"{CANARY}","user":"x"}}"#)));
    aws
}

fn plan(secret: serde_json::Value, action: PlanAction) -> Plan {
    PlanBuilder::default().directory(sample_directory(DIR)).request_field("trustPassword", secret).action(action).build()
}

#[tokio::test]
async fn creates_a_trust_with_the_password_from_a_plain_secret() {
    let aws = account();
    let plan = create_trust(plan(json!({"secretId": "plain"}), PlanAction::Create), &aws, &FakeOtherAccounts::default(), &aws)
        .await
        .expect("created");
    assert!(plan.trust_id.is_some());
    assert_eq!(*aws.passwords_seen.borrow(), [CANARY]);
    assert_eq!(aws.forwarders.borrow().len(), 1);
}

#[tokio::test]
async fn reads_the_password_from_a_key_of_a_json_secret() {
    let aws = account();
    create_trust(plan(json!({"secretId": "json", "jsonKey": "password"}), PlanAction::Create), &aws, &FakeOtherAccounts::default(), &aws)
        .await
        .expect("created");
    assert_eq!(*aws.passwords_seen.borrow(), [CANARY]);
}

#[tokio::test]
async fn fails_clearly_when_the_json_key_is_missing_and_creates_nothing() {
    let aws = account();
    let error =
        create_trust(plan(json!({"secretId": "json", "jsonKey": "pw"}), PlanAction::Create), &aws, &FakeOtherAccounts::default(), &aws)
            .await
            .expect_err("fails");
    assert_eq!(error.name(), "SecretUnavailable");
    assert!(error.to_string().contains("has no key \"pw\""), "{error}");
    assert!(!error.to_string().contains(CANARY));
    assert_eq!(aws.count("CreateTrust"), 0);
}

#[tokio::test]
async fn adopts_the_trust_when_create_trust_says_it_exists() {
    let aws = account();
    let existing = aws.add_trust(DIR, "CORP.example.com", "Two-Way", "Creating", "");
    let plan = create_trust(plan(json!({"secretId": "plain"}), PlanAction::Create), &aws, &FakeOtherAccounts::default(), &aws)
        .await
        .expect("adopted");
    assert_eq!(plan.trust_id, Some(existing));
    assert_eq!(plan.action, PlanAction::Adopt);
    assert_eq!(aws.trusts.borrow().len(), 1);
}

#[tokio::test]
async fn rejects_a_conflicting_trust_created_by_a_race() {
    let aws = account();
    aws.add_trust(DIR, "corp.example.com", "One-Way: Incoming", "Creating", "");
    let error = create_trust(plan(json!({"secretId": "plain"}), PlanAction::Create), &aws, &FakeOtherAccounts::default(), &aws)
        .await
        .expect_err("conflict");
    assert_eq!(error.name(), "TrustConflict");
}

#[tokio::test]
async fn replaces_by_deleting_the_old_trust_first() {
    let aws = account();
    let old = aws.add_trust(DIR, "corp.example.com", "One-Way: Outgoing", "Failed", "Access is denied.");
    let mut replace = plan(json!({"secretId": "plain"}), PlanAction::Replace);
    replace.replaces_trust_id = Some(old.clone());
    let plan = create_trust(replace, &aws, &FakeOtherAccounts::default(), &aws).await.expect("replaced");
    assert_eq!(aws.state_of(&old), None);
    assert_ne!(plan.trust_id, Some(old));
    assert_eq!(
        aws.calls
            .borrow()
            .iter()
            .filter(|c| c.starts_with("DeleteTrust") || c.starts_with("CreateTrust"))
            .cloned()
            .collect::<Vec<_>>()
            .len(),
        2
    );
}

fn replacing(aws: &FakeAws, secret: serde_json::Value) -> (String, Plan) {
    let old = aws.add_trust(DIR, "corp.example.com", "One-Way: Outgoing", "Verified", "");
    let mut replace = plan(secret, PlanAction::Replace);
    replace.replaces_trust_id = Some(old.clone());
    replace.existing_trust = aws.trusts.borrow().iter().map(|(_, t)| t.clone()).find(|t| t.trust_id == old);
    (old, replace)
}

#[tokio::test]
async fn a_replacement_whose_secret_is_unusable_never_deletes_the_working_trust() {
    let aws = account();
    aws.secrets.borrow_mut().insert("binary".to_owned(), None);
    aws.secrets.borrow_mut().insert("too-long".to_owned(), Some("x".repeat(200)));
    for secret in [
        json!({"secretId": "binary"}),
        json!({"secretId": "json"}),
        json!({"secretId": "too-long"}),
        json!({"secretId": "json", "jsonKey": "pw"}),
    ] {
        let (old, replace) = replacing(&aws, secret.clone());
        let error = create_trust(replace, &aws, &FakeOtherAccounts::default(), &aws).await.expect_err("refused");
        assert_eq!(error.name(), "SecretUnavailable", "{secret}");
        assert_eq!(aws.state_of(&old).as_deref(), Some("Verified"), "{secret}");
        assert_eq!(aws.count("DeleteTrust") + aws.count("CreateTrust"), 0, "{secret}");
        aws.trusts.borrow_mut().clear();
    }
}

#[tokio::test]
async fn a_replacement_that_aws_refuses_after_the_deletion_says_the_old_trust_is_gone() {
    let aws = account();
    let (old, replace) = replacing(&aws, json!({"secretId": "plain"}));
    *aws.refuse_create.borrow_mut() = Some("Invalid conditional forwarder".to_owned());
    let error = create_trust(replace, &aws, &FakeOtherAccounts::default(), &aws).await.expect_err("not created");
    assert_eq!(error.name(), "ReplacementNotCreated");
    let message = error.to_string();
    assert!(
        message.contains(&format!("the existing trust {old} (One-Way: Outgoing Forest) with corp.example.com was deleted")),
        "{message}"
    );
    assert!(
        message
            .contains("TrustRejected: the Directory Service rejected the trust: InvalidParameterException: Invalid conditional forwarder"),
        "{message}"
    );
    assert!(message.contains("No trust with corp.example.com exists on d-1234567890 now."), "{message}");
    assert!(!message.contains(CANARY));
    assert_eq!(aws.state_of(&old), None);
    assert!(aws.trusts.borrow().is_empty());
}

#[tokio::test]
async fn waits_while_the_replaced_trust_is_still_being_deleted() {
    let aws = account();
    let old = aws.add_trust(DIR, "corp.example.com", "One-Way: Outgoing", "Deleting", "");
    let mut replace = plan(json!({"secretId": "plain"}), PlanAction::Replace);
    replace.replaces_trust_id = Some(old);
    assert_eq!(create_trust(replace, &aws, &FakeOtherAccounts::default(), &aws).await.expect_err("pending").name(), "TrustPending");
    assert_eq!(aws.count("DeleteTrust"), 0);
}

#[tokio::test]
async fn does_nothing_for_an_adopted_trust() {
    let aws = account();
    let mut adopt = plan(json!({"secretId": "plain"}), PlanAction::Adopt);
    adopt.trust_id = Some("t-0000000009".to_owned());
    let plan = create_trust(adopt, &aws, &FakeOtherAccounts::default(), &aws).await.expect("unchanged");
    assert_eq!(plan.trust_id.as_deref(), Some("t-0000000009"));
    assert!(aws.calls.borrow().is_empty());
}

#[tokio::test]
async fn the_returned_plan_never_holds_the_password() {
    let aws = account();
    let plan = create_trust(plan(json!({"secretId": "plain"}), PlanAction::Create), &aws, &FakeOtherAccounts::default(), &aws)
        .await
        .expect("created");
    assert!(!serde_json::to_string(&plan).expect("serialises").contains(CANARY));
}

/// A Verified trust with a forwarder at 10.0.0.1, and an Update plan with `changes` for it.
fn update(aws: &FakeAws, changes: Vec<Change>) -> Plan {
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let key = (DIR.to_owned(), "corp.example.com".to_owned());
    aws.forwarders.borrow_mut().push(key.clone());
    aws.forwarder_addresses.borrow_mut().insert(key, vec!["10.0.0.1".to_owned()]);
    let mut plan = plan(json!({"secretId": "plain"}), PlanAction::Update);
    plan.trust_id = Some(id);
    plan.changes = changes;
    plan
}

fn enable() -> Change {
    Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }
}

fn readdress() -> Change {
    Change::ForwarderAddresses { from: vec!["10.0.0.1".to_owned()], to: vec!["172.16.10.153".to_owned()] }
}

#[tokio::test]
async fn an_update_changes_the_forwarder_then_selective_auth_and_never_reads_the_password() {
    let aws = account();
    let plan = update(&aws, vec![enable(), readdress()]);
    let trust_id = plan.trust_id.clone().expect("an id");
    let updated = create_trust(plan, &aws, &FakeOtherAccounts::default(), &aws).await.expect("updated");
    assert_eq!(updated.trust_id.as_deref(), Some(trust_id.as_str()));
    let changing: Vec<String> = aws.calls.borrow().iter().filter(|c| c.starts_with("Update")).cloned().collect();
    assert_eq!(changing, ["UpdateConditionalForwarder corp.example.com".to_owned(), format!("UpdateTrust {trust_id}")]);
    let key = (DIR.to_owned(), "corp.example.com".to_owned());
    assert_eq!(aws.forwarder_addresses.borrow()[&key], ["172.16.10.153"]);
    assert_eq!(aws.state_of(&trust_id).as_deref(), Some("Updating"));
    assert_eq!(aws.count("GetSecretValue"), 0);
    assert_eq!(aws.count("CreateTrust") + aws.count("DeleteTrust"), 0);
}

#[tokio::test]
async fn a_retried_update_does_not_update_what_already_has_the_requested_value() {
    let aws = account();
    let plan = update(&aws, vec![enable(), readdress()]);
    create_trust(plan.clone(), &aws, &FakeOtherAccounts::default(), &aws).await.expect("updated");
    create_trust(plan, &aws, &FakeOtherAccounts::default(), &aws).await.expect("retried");
    assert_eq!(aws.count("UpdateTrust"), 1);
    assert_eq!(aws.count("UpdateConditionalForwarder"), 1);
}

#[tokio::test]
async fn a_forwarder_only_update_leaves_the_trust_untouched() {
    let aws = account();
    let plan = update(&aws, vec![readdress()]);
    let trust_id = plan.trust_id.clone().expect("an id");
    create_trust(plan, &aws, &FakeOtherAccounts::default(), &aws).await.expect("updated");
    assert_eq!(aws.count("UpdateTrust"), 0);
    assert_eq!(aws.state_of(&trust_id).as_deref(), Some("Verified"));
}

#[tokio::test]
async fn adds_the_planned_ip_routes_before_creating_the_trust_and_not_twice() {
    let aws = account();
    let mut planned = plan(json!({"secretId": "plain"}), PlanAction::Create);
    planned.ip_routes = vec!["203.0.113.10/32".to_owned(), "198.51.100.7/32".to_owned()];
    aws.ip_routes.borrow_mut().insert(DIR.to_owned(), vec!["198.51.100.7/32".to_owned()]);
    create_trust(planned.clone(), &aws, &FakeOtherAccounts::default(), &aws).await.expect("created");
    let calls = aws.calls.borrow().clone();
    let added = calls.iter().position(|c| c.starts_with("AddIpRoutes")).expect("routes added");
    let created = calls.iter().position(|c| c.starts_with("CreateTrust")).expect("trust created");
    assert!(added < created, "{calls:?}");
    assert_eq!(calls[added], "AddIpRoutes 203.0.113.10/32", "only the missing route");
    // A retried step finds every route there and adds none.
    let aws_calls_before = aws.count("AddIpRoutes");
    let _ = create_trust(planned, &aws, &FakeOtherAccounts::default(), &aws).await;
    assert_eq!(aws.count("AddIpRoutes"), aws_calls_before);
}

#[tokio::test]
async fn a_replacement_whose_routes_cannot_be_added_keeps_the_working_trust() {
    let aws = account();
    let (old, mut planned) = replacing(&aws, json!({"secretId": "plain"}));
    planned.ip_routes = vec!["203.0.113.10/32".to_owned()];
    aws.failing.borrow_mut().insert("AddIpRoutes".to_owned(), 99);
    assert!(create_trust(planned, &aws, &FakeOtherAccounts::default(), &aws).await.is_err());
    assert_eq!(aws.count("DeleteTrust"), 0);
    assert_eq!(aws.state_of(&old).as_deref(), Some("Verified"));
}

const REMOTE_DIR: &str = "d-0987654321";

fn pair_plan() -> Plan {
    pair_plan_through(None)
}

const REMOTE_ROLE: &str = "arn:aws:iam::222222222222:role/trustflow-remote-directories";

/// A pair whose other directory is reached through `role` (another account), or directly.
fn pair_plan_through(role: Option<&str>) -> Plan {
    let builder = match role {
        Some(role) => {
            PlanBuilder::default().request_field("remoteDirectoryId", json!(REMOTE_DIR)).request_field("remoteRoleArn", json!(role))
        }
        None => PlanBuilder::default(),
    };
    builder
        .directory(sample_directory(DIR))
        .request_field("trustPassword", json!({"secretId": "plain"}))
        .action(PlanAction::Create)
        .paired_side(trustflow_domain::plan::PairedSide {
            directory: sample_directory(REMOTE_DIR),
            trust_direction: trustflow_domain::domain::TrustDirection::TwoWay,
            conditional_forwarder_ip_addrs: vec!["10.0.0.2".to_owned()],
            trust_id: None,
            changes: Vec::new(),
        })
        .build()
}

#[tokio::test]
async fn a_pair_creates_both_sides_with_the_same_password_read_once() {
    let aws = account();
    let plan = create_trust(pair_plan(), &aws, &FakeOtherAccounts::default(), &aws).await.expect("created");
    let remote_id = plan.paired_side.as_ref().and_then(|side| side.trust_id.clone()).expect("the other side's id");
    assert_eq!(*aws.passwords_seen.borrow(), [CANARY, CANARY], "both sides, one password");
    assert_eq!(aws.count("GetSecretValue"), 1, "read once");
    let trusts = aws.trusts.borrow();
    let (directory, remote) = trusts.iter().find(|(_, t)| t.trust_id == remote_id).expect("made");
    assert_eq!((directory.as_str(), remote.remote_domain_name.as_str()), (REMOTE_DIR, "aws.example.com"));
    assert_eq!(aws.forwarder_addresses.borrow()[&(REMOTE_DIR.to_owned(), "aws.example.com".to_owned())], ["10.0.0.2"]);
}

#[tokio::test]
async fn when_the_other_side_cannot_be_created_the_first_is_deleted_and_the_error_says_so() {
    let aws = account();
    aws.add_trust(REMOTE_DIR, "aws.example.com", "One-Way: Incoming", "Verified", "");
    let error = create_trust(pair_plan(), &aws, &FakeOtherAccounts::default(), &aws).await.expect_err("refused");
    assert_eq!(error.name(), "TrustRejected");
    let text = error.to_string();
    assert!(text.contains("no part of the pair is left") && text.contains(REMOTE_DIR), "{text}");
    assert_eq!(aws.count("DeleteTrust"), 1);
    assert!(aws
        .trusts
        .borrow()
        .iter()
        .all(|(d, t)| d != DIR || t.state == trustflow_domain::domain::TrustState::Deleted || t.remote_domain_name != "corp.example.com"));
    assert!(!text.contains(CANARY));
}

#[tokio::test]
async fn a_pair_across_accounts_creates_the_other_side_in_the_other_account_through_its_role() {
    let aws = account();
    let other = std::rc::Rc::new(FakeAws::default());
    other.directories.borrow_mut().push(sample_directory(REMOTE_DIR));
    let accounts = FakeOtherAccounts::with(REMOTE_ROLE, other.clone());
    let plan = create_trust(pair_plan_through(Some(REMOTE_ROLE)), &aws, &accounts, &aws).await.expect("created");
    let remote_id = plan.paired_side.as_ref().and_then(|side| side.trust_id.clone()).expect("the other side's id");
    assert_eq!(*accounts.assumed.borrow(), [REMOTE_ROLE]);
    assert!(other
        .trusts
        .borrow()
        .iter()
        .any(|(d, t)| d == REMOTE_DIR && t.trust_id == remote_id && t.remote_domain_name == "aws.example.com"));
    assert!(aws.trusts.borrow().iter().all(|(d, _)| d != REMOTE_DIR), "nothing of the other account is created in this one");
    assert_eq!(*aws.passwords_seen.borrow(), [CANARY]);
    assert_eq!(*other.passwords_seen.borrow(), [CANARY], "the same password on the other side");
    assert_eq!(aws.count("GetSecretValue"), 1, "read once");
}

#[tokio::test]
async fn a_role_that_can_no_longer_be_assumed_creates_nothing_on_either_side() {
    let aws = account();
    let accounts = FakeOtherAccounts::default();
    let error = create_trust(pair_plan_through(Some(REMOTE_ROLE)), &aws, &accounts, &aws).await.expect_err("refused");
    assert_eq!(error.name(), "Internal");
    assert!(error.to_string().contains(REMOTE_ROLE), "{error}");
    assert_eq!((aws.count("CreateTrust"), aws.count("GetSecretValue")), (0, 0), "refused before the password is read or anything made");
}

/// A pair that exists (this side on DIR, the other on REMOTE_DIR, both Verified, selective
/// authentication Disabled) and an Update enabling it on both sides, the other through `role`.
fn pair_update(this: &FakeAws, other: &FakeAws, role: Option<&str>) -> Plan {
    let local = this.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let remote = other.add_trust(REMOTE_DIR, "aws.example.com", "Two-Way", "Verified", "");
    let mut plan = pair_plan_through(role);
    plan.action = PlanAction::Update;
    plan.trust_id = Some(local);
    plan.changes = vec![enable()];
    if let Some(side) = plan.paired_side.as_mut() {
        side.trust_id = Some(remote);
        side.changes = vec![enable()];
    }
    plan
}

#[tokio::test]
async fn an_update_of_a_pair_changes_both_sides_the_other_through_its_role_and_never_reads_the_password() {
    let aws = account();
    let other = std::rc::Rc::new(FakeAws::default());
    let accounts = FakeOtherAccounts::with(REMOTE_ROLE, other.clone());
    let plan = pair_update(&aws, &other, Some(REMOTE_ROLE));
    create_trust(plan.clone(), &aws, &accounts, &aws).await.expect("updated");
    let enabled = |fake: &FakeAws| fake.trusts.borrow().iter().all(|(_, t)| t.selective_auth == SelectiveAuth::Enabled);
    assert!(enabled(&aws) && enabled(&other), "both sides");
    assert_eq!((aws.count("UpdateTrust"), other.count("UpdateTrust"), aws.count("GetSecretValue")), (1, 1, 0));
    create_trust(plan, &aws, &accounts, &aws).await.expect("retried");
    assert_eq!((aws.count("UpdateTrust"), other.count("UpdateTrust")), (1, 1), "a retried step changes nothing twice");
}

#[tokio::test]
async fn an_update_the_other_side_refuses_says_which_side_was_changed_and_which_was_not() {
    let aws = account();
    let plan = pair_update(&aws, &aws, None);
    let remote = plan.paired_side.as_ref().and_then(|side| side.trust_id.clone()).expect("the other side");
    aws.trusts.borrow_mut().retain(|(_, t)| t.trust_id != remote || t.remote_domain_name != "aws.example.com");
    let error = create_trust(plan, &aws, &FakeOtherAccounts::default(), &aws).await.expect_err("the other side is gone");
    let text = error.to_string();
    assert_eq!(error.name(), "TrustRejected", "{text}");
    assert!(
        text.contains("was changed (selective authentication: Disabled -> Enabled)") && text.contains("was not (TrustNotFound"),
        "{text}"
    );
}
