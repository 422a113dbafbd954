use serde_json::{json, Value};
use trustflow_aws::fakes::{sample_directory, FakeAws, FakeOtherAccounts};
use trustflow_domain::plan::PlanAction;

use super::*;

const DIR: &str = "d-1234567890";
/// The role in another account this deployment may assume.
const ALLOWED_ROLE: &str = "arn:aws:iam::222222222222:role/trustflow-remote-directories";

fn settings() -> Settings {
    Settings { region: "us-east-1".to_owned(), deadline_seconds: 3600, allowed_remote_roles: vec![ALLOWED_ROLE.to_owned()] }
}

fn account() -> FakeAws {
    let aws = FakeAws::default();
    aws.directories.borrow_mut().push(sample_directory(DIR));
    aws.secrets.borrow_mut().insert("trustflow/corp".to_owned(), Some("P@ssw0rd!".to_owned()));
    aws
}

fn request() -> Value {
    json!({
        "requestId": "REQ-1", "directoryId": DIR, "remoteDomainName": "corp.example.com",
        "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["172.16.10.153"],
        "trustPassword": {"secretId": "trustflow/corp"}
    })
}

async fn plan(aws: &FakeAws, input: &Value) -> Result<Plan, WorkflowError> {
    plan_through(aws, &FakeOtherAccounts::default(), input).await
}

/// Plans with `accounts` as the other accounts a pair may reach.
async fn plan_through(aws: &FakeAws, accounts: &FakeOtherAccounts, input: &Value) -> Result<Plan, WorkflowError> {
    plan_request(input, &settings(), Aws { directory: aws, network: aws, secrets: aws, accounts }, OffsetDateTime::UNIX_EPOCH).await
}

fn violation_fields(result: Result<Plan, WorkflowError>) -> Vec<String> {
    match result {
        Err(WorkflowError::ValidationFailed(v)) => v.into_iter().map(|v| v.field).collect(),
        other => panic!("expected ValidationFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn plans_a_new_trust_with_a_deadline() {
    let aws = account();
    let plan = plan(&aws, &request()).await.expect("accepted");
    assert_eq!(plan.action, PlanAction::Create);
    assert_eq!(plan.trust_id, None);
    assert_eq!(plan.directory.name, "aws.example.com");
    assert_eq!(trustflow_domain::times::rfc3339(plan.deadline), "1970-01-01T01:00:00Z");
}

#[tokio::test]
async fn never_reads_the_password_value() {
    let aws = account();
    plan(&aws, &request()).await.expect("accepted");
    assert_eq!(aws.count("GetSecretValue"), 0);
    assert_eq!(aws.count("DescribeSecret"), 1);
}

#[tokio::test]
async fn rejects_static_errors_before_calling_aws() {
    let aws = account();
    let mut input = request();
    input["remoteDomainName"] = json!("corp");
    assert_eq!(violation_fields(plan(&aws, &input).await), ["remoteDomainName"]);
    assert!(aws.calls.borrow().is_empty());
}

#[tokio::test]
async fn rejects_an_unknown_directory() {
    let aws = account();
    let mut input = request();
    input["directoryId"] = json!("d-abcdefabcd");
    let error = plan(&aws, &input).await.expect_err("rejected");
    assert!(
        error.to_string().contains("directoryId: must name an existing directory in us-east-1 visible to trustflow (got \"d-abcdefabcd\")"),
        "{error}"
    );
}

#[tokio::test]
async fn rejects_a_directory_that_is_not_managed_microsoft_ad() {
    let aws = account();
    aws.directories.borrow_mut()[0].directory_type = "SimpleAD".to_owned();
    let error = plan(&aws, &request()).await.expect_err("rejected");
    assert!(error.to_string().contains("type MicrosoftAD); this one is SimpleAD"), "{error}");
}

#[tokio::test]
async fn rejects_a_directory_that_is_not_active() {
    let aws = account();
    aws.directories.borrow_mut()[0].stage = "Creating".to_owned();
    let error = plan(&aws, &request()).await.expect_err("rejected");
    assert!(error.to_string().contains("must be Active to take a trust; this directory is Creating"), "{error}");
}

#[tokio::test]
async fn rejects_outside_the_primary_region_naming_both_regions() {
    let aws = account();
    aws.directories.borrow_mut()[0].primary_region = Some("eu-west-1".to_owned());
    let message = plan(&aws, &request()).await.expect_err("rejected").to_string();
    assert!(message.contains("primary Region eu-west-1") && message.contains("runs in us-east-1"), "{message}");
}

#[tokio::test]
async fn rejects_the_directorys_own_domain_as_remote_domain() {
    let aws = account();
    let mut input = request();
    input["remoteDomainName"] = json!("AWS.example.com.");
    let message = plan(&aws, &input).await.expect_err("rejected").to_string();
    assert!(message.contains("remoteDomainName: must be the on-premises domain, not the AWS directory's own domain"), "{message}");
}

#[tokio::test]
async fn rejects_a_missing_or_deleted_secret() {
    let aws = account();
    let mut input = request();
    input["trustPassword"] = json!({"secretId": "nope"});
    assert_eq!(violation_fields(plan(&aws, &input).await), ["trustPassword.secretId"]);
    aws.secrets.borrow_mut().insert("trustflow/corp".to_owned(), None);
    let message = plan(&aws, &request()).await.expect_err("rejected").to_string();
    assert!(message.contains("scheduled for deletion"), "{message}");
}

#[tokio::test]
async fn requires_forwarders_unless_one_exists_for_the_domain() {
    let aws = account();
    let mut input = request();
    input.as_object_mut().map(|o| o.remove("conditionalForwarderIpAddrs"));
    assert_eq!(violation_fields(plan(&aws, &input).await), ["conditionalForwarderIpAddrs"]);
    aws.forwarders.borrow_mut().push((DIR.to_owned(), "corp.example.com".to_owned()));
    assert_eq!(plan(&aws, &input).await.expect("accepted").action, PlanAction::Create);
}

#[tokio::test]
async fn reports_every_environment_problem_at_once() {
    let aws = account();
    aws.directories.borrow_mut()[0].stage = "Impaired".to_owned();
    let mut input = request();
    input["trustPassword"] = json!({"secretId": "nope"});
    assert_eq!(violation_fields(plan(&aws, &input).await), ["directoryId", "trustPassword.secretId"]);
}

#[tokio::test]
async fn adopts_a_trust_still_being_created() {
    let aws = account();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Creating", "");
    let plan = plan(&aws, &request()).await.expect("accepted");
    assert_eq!((plan.action, plan.trust_id), (PlanAction::Adopt, Some(id)));
}

#[tokio::test]
async fn reports_an_existing_verified_trust_as_already_in_place() {
    let aws = account();
    let id = aws.add_trust(DIR, "Corp.Example.com", "Two-Way", "Verified", "");
    let plan = plan(&aws, &request()).await.expect("accepted");
    assert_eq!((plan.action, plan.trust_id), (PlanAction::AlreadyInPlace, Some(id)));
}

#[tokio::test]
async fn plans_a_replacement_only_when_asked() {
    let aws = account();
    let id = aws.add_trust(DIR, "corp.example.com", "One-Way: Outgoing", "Verified", "");
    assert_eq!(plan(&aws, &request()).await.expect_err("conflict").name(), "TrustConflict");
    let mut input = request();
    input["onExistingTrust"] = json!("replace");
    let plan = plan(&aws, &input).await.expect("accepted");
    assert_eq!((plan.action, plan.replaces_trust_id, plan.trust_id), (PlanAction::Replace, Some(id), None));
}

#[tokio::test]
async fn passes_transient_aws_faults_on_for_retry() {
    let aws = account();
    aws.failing.borrow_mut().insert("DescribeTrusts".to_owned(), 1);
    assert_eq!(plan(&aws, &request()).await.expect_err("transient").name(), "Transient");
}

#[tokio::test]
async fn plans_an_update_in_place_when_a_verified_trust_differs_in_selective_auth_or_forwarder() {
    let aws = account();
    let id = aws.add_trust(DIR, "corp.example.com", "Two-Way", "Verified", "");
    let key = (DIR.to_owned(), "corp.example.com".to_owned());
    aws.forwarders.borrow_mut().push(key.clone());
    aws.forwarder_addresses.borrow_mut().insert(key, vec!["10.0.0.1".to_owned()]);
    let mut input = request();
    input["selectiveAuth"] = json!("Enabled");
    let plan = plan(&aws, &input).await.expect("accepted");
    assert_eq!((plan.action, plan.trust_id.as_deref()), (PlanAction::Update, Some(id.as_str())));
    let described: Vec<String> = plan.changes.iter().map(trustflow_domain::plan::Change::describe).collect();
    assert_eq!(described, ["selective authentication: Disabled -> Enabled", "conditional forwarder addresses: 10.0.0.1 -> 172.16.10.153"]);
}

#[tokio::test]
async fn refuses_to_change_a_trust_aws_is_still_creating() {
    let aws = account();
    aws.add_trust(DIR, "corp.example.com", "Two-Way", "Creating", "");
    let mut input = request();
    input["selectiveAuth"] = json!("Enabled");
    assert_eq!(plan(&aws, &input).await.expect_err("refused").name(), "TrustConflict");
}

fn with_public_forwarder(add_ip_routes: Option<bool>) -> Value {
    let mut input = request();
    input["conditionalForwarderIpAddrs"] = json!(["172.16.10.153", "203.0.113.10"]);
    if let Some(consent) = add_ip_routes {
        input["addIpRoutes"] = json!(consent);
    }
    input
}

#[tokio::test]
async fn a_public_forwarder_address_without_a_route_or_consent_is_refused_naming_the_address() {
    let aws = account();
    let result = plan(&aws, &with_public_forwarder(None)).await;
    let Err(WorkflowError::ValidationFailed(violations)) = result else { panic!("expected a rejection, got {result:?}") };
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].field, "conditionalForwarderIpAddrs[1]");
    assert_eq!(violations[0].value.as_deref(), Some("\"203.0.113.10\""));
    assert!(
        violations[0].rule.contains("outside RFC 1918") && violations[0].rule.contains("\"addIpRoutes\": true"),
        "{}",
        violations[0].rule
    );
    assert_eq!(aws.count("ListIpRoutes"), 1);
}

#[tokio::test]
async fn with_consent_the_plan_lists_only_the_routes_the_directory_lacks() {
    let aws = account();
    let consented = plan(&aws, &with_public_forwarder(Some(true))).await.expect("accepted");
    assert_eq!(consented.ip_routes, ["203.0.113.10/32"]);
    aws.ip_routes.borrow_mut().insert(DIR.to_owned(), vec!["203.0.113.0/24".to_owned()]);
    let covered = plan(&aws, &with_public_forwarder(None)).await.expect("a route covers it: no consent needed");
    assert!(covered.ip_routes.is_empty());
}

#[tokio::test]
async fn private_forwarders_never_ask_for_ip_routes() {
    let aws = account();
    let plan = plan(&aws, &request()).await.expect("accepted");
    assert!(plan.ip_routes.is_empty());
    assert_eq!(aws.count("ListIpRoutes"), 0);
}

#[tokio::test]
async fn an_ipv6_forwarder_alone_satisfies_the_forwarder_rule() {
    let aws = account();
    let mut input = request();
    input.as_object_mut().expect("object").remove("conditionalForwarderIpAddrs");
    assert_eq!(violation_fields(plan(&aws, &input).await), ["conditionalForwarderIpAddrs"]);
    input["conditionalForwarderIpv6Addrs"] = json!(["fd00:10::53"]);
    let plan = plan(&aws, &input).await.expect("accepted");
    assert_eq!(plan.request.forwarder_addresses(), ["fd00:10::53"]);
}

/// The sample directory's network, open but for an egress rule that reaches only the VPC.
fn with_egress_only_to_the_vpc(aws: &FakeAws) {
    let directory = sample_directory(DIR);
    let vpc = directory.vpc.expect("the sample directory has a VPC");
    let mut network = trustflow_aws::fakes::open_network(&vpc, "sg-0d1r");
    network.security_group.egress = vec![trustflow_domain::network::SecurityGroupRule {
        protocol: trustflow_domain::network::RuleProtocol::All,
        ports: None,
        peer: trustflow_domain::network::RulePeer::Cidr("10.0.0.0/16".parse().expect("cidr")),
    }];
    aws.networks.borrow_mut().insert(vpc.vpc_id, network);
}

#[tokio::test]
async fn an_open_network_passes_the_preflight_without_findings() {
    let aws = account();
    let plan = plan(&aws, &request()).await.expect("accepted");
    assert!(plan.preflight_findings.is_empty());
    assert_eq!(aws.count("DescribeSecurityGroups"), 1);
}

#[tokio::test]
async fn an_enforced_preflight_rejects_with_every_blocking_finding_naming_the_resource() {
    let aws = account();
    with_egress_only_to_the_vpc(&aws);
    let result = plan(&aws, &request()).await;
    let Err(WorkflowError::ValidationFailed(violations)) = result else { panic!("expected a rejection, got {result:?}") };
    assert!(!violations.is_empty());
    for violation in &violations {
        assert_eq!(violation.field, "network.securityGroup");
        assert_eq!(violation.value.as_deref(), Some("\"sg-0d1r\""));
        assert!(violation.rule.contains("outbound") && violation.rule.contains("172.16.10.153/32"), "{}", violation.rule);
        assert!(violation.rule.contains("aws ec2 authorize-security-group-egress"), "{}", violation.rule);
    }
    assert!(violations.iter().any(|v| v.rule.contains("TCP") && v.rule.contains("88")), "{violations:?}");
}

#[tokio::test]
async fn a_warned_preflight_plans_the_trust_and_keeps_the_findings() {
    let aws = account();
    with_egress_only_to_the_vpc(&aws);
    let mut input = request();
    input["preflight"] = json!("warn");
    let plan = plan(&aws, &input).await.expect("accepted despite the findings");
    assert_eq!(plan.action, PlanAction::Create);
    assert!(!plan.preflight_findings.is_empty());
    assert!(plan.preflight_findings.iter().all(|f| f.blocks() && f.resource == "sg-0d1r"));
}

#[tokio::test]
async fn a_preflight_turned_off_reads_nothing_from_ec2() {
    let aws = account();
    with_egress_only_to_the_vpc(&aws);
    let mut input = request();
    input["preflight"] = json!("off");
    let plan = plan(&aws, &input).await.expect("accepted");
    assert!(plan.preflight_findings.is_empty());
    assert_eq!(aws.count("DescribeSecurityGroups"), 0);
}

const REMOTE_DIR: &str = "d-0987654321";

fn with_remote_directory(aws: &FakeAws, short_name: &str) {
    let mut remote = sample_directory(REMOTE_DIR);
    remote.name = "sales.example.com".to_owned();
    remote.short_name = Some(short_name.to_owned());
    remote.dns_ip_addrs = vec!["10.1.0.10".to_owned(), "10.1.0.11".to_owned()];
    aws.directories.borrow_mut().push(remote);
}

fn pair_request() -> Value {
    json!({
        "requestId": "PAIR-1", "directoryId": DIR, "remoteDirectoryId": REMOTE_DIR, "remoteDomainName": "sales.example.com",
        "trustDirection": "One-Way: Outgoing", "trustPassword": {"secretId": "trustflow/corp"}
    })
}

#[tokio::test]
async fn a_pair_plans_the_other_side_complementary_with_each_side_forwarding_to_the_other() {
    let aws = account();
    with_remote_directory(&aws, "SALES");
    let plan = plan(&aws, &pair_request()).await.expect("accepted");
    let side = plan.paired_side.expect("the other side is planned");
    assert_eq!(side.directory.directory_id, REMOTE_DIR);
    assert_eq!(side.trust_direction, trustflow_domain::domain::TrustDirection::OneWayIncoming);
    assert_eq!(side.conditional_forwarder_ip_addrs, ["10.0.0.10", "10.0.0.11"], "this directory's DNS servers");
    let forwarders: Vec<String> = plan.request.conditional_forwarder_ip_addrs.iter().map(ToString::to_string).collect();
    assert_eq!(forwarders, ["10.1.0.10", "10.1.0.11"], "the requester gave none: the other directory's DNS servers");
}

#[tokio::test]
async fn a_pair_is_refused_naming_what_is_wrong_with_the_other_directory() {
    let aws = account();
    assert_eq!(violation_fields(plan(&aws, &pair_request()).await), ["remoteDirectoryId"], "missing");
    with_remote_directory(&aws, "AWSEX");
    assert_eq!(violation_fields(plan(&aws, &pair_request()).await), ["remoteDirectoryId"], "the same NetBIOS name");
    let mut other_domain = pair_request();
    other_domain["remoteDomainName"] = json!("corp.example.com");
    aws.directories.borrow_mut().retain(|d| d.directory_id != REMOTE_DIR);
    with_remote_directory(&aws, "SALES");
    assert_eq!(violation_fields(plan(&aws, &other_domain).await), ["remoteDomainName"], "not the other directory's domain");
    aws.add_trust(REMOTE_DIR, "aws.example.com", "One-Way: Incoming", "Verified", "");
    assert_eq!(violation_fields(plan(&aws, &pair_request()).await), ["remoteDirectoryId"], "it already trusts this directory");
    assert_eq!(aws.count("CreateTrust"), 0);
}

fn violations_of(result: Result<Plan, WorkflowError>) -> Vec<String> {
    match result {
        Err(WorkflowError::ValidationFailed(v)) => v.into_iter().map(|v| v.to_string()).collect(),
        other => panic!("expected ValidationFailed, got {other:?}"),
    }
}

#[tokio::test]
async fn a_pair_across_accounts_checks_the_other_directory_in_its_account_through_the_allowed_role() {
    let aws = account();
    let other = std::rc::Rc::new(FakeAws::default());
    with_remote_directory(&other, "SALES");
    let accounts = FakeOtherAccounts::with(ALLOWED_ROLE, other.clone());
    let mut input = pair_request();
    input["remoteRoleArn"] = json!(ALLOWED_ROLE);
    let plan = plan_through(&aws, &accounts, &input).await.expect("accepted");
    assert_eq!(*accounts.assumed.borrow(), [ALLOWED_ROLE]);
    assert_eq!(plan.paired_side.expect("planned").directory.directory_id, REMOTE_DIR);
    assert_eq!(plan.request.remote_role_arn.as_deref(), Some(ALLOWED_ROLE), "the later steps reach the other side through it too");
    let forwarders: Vec<String> = plan.request.conditional_forwarder_ip_addrs.iter().map(ToString::to_string).collect();
    assert_eq!(forwarders, ["10.1.0.10", "10.1.0.11"], "the other account's directory's DNS servers");
    assert_eq!((other.count("DescribeDirectories"), other.count("DescribeTrusts")), (1, 1), "asked in the other account");
    assert_eq!(aws.count(&format!("DescribeDirectories {REMOTE_DIR}")), 0, "not asked in this one");
}

#[tokio::test]
async fn a_role_the_deployment_does_not_allow_is_refused_before_any_role_is_assumed() {
    let aws = account();
    let other = std::rc::Rc::new(FakeAws::default());
    with_remote_directory(&other, "SALES");
    let elsewhere = "arn:aws:iam::333333333333:role/trustflow-remote-directories";
    let accounts = FakeOtherAccounts::with(elsewhere, other);
    let mut input = pair_request();
    input["remoteRoleArn"] = json!(elsewhere);
    let violations = violations_of(plan_through(&aws, &accounts, &input).await);
    assert_eq!(
        violations,
        [format!("remoteRoleArn: must be a role this deployment may assume: this deployment allows {ALLOWED_ROLE} (got \"{elsewhere}\")")]
    );
    assert!(accounts.assumed.borrow().is_empty(), "no AssumeRole for a role that is not allowed");
}

#[tokio::test]
async fn an_allowed_role_sts_refuses_is_refused_with_awss_reason_and_nothing_is_asked_of_the_other_account() {
    let aws = account();
    let mut input = pair_request();
    input["remoteRoleArn"] = json!(ALLOWED_ROLE);
    let violations = violations_of(plan_through(&aws, &FakeOtherAccounts::default(), &input).await);
    let [violation] = violations.as_slice() else { panic!("one violation: {violations:?}") };
    assert!(violation.starts_with("remoteRoleArn: must be a role trustflow can assume"), "{violation}");
    assert!(violation.contains("AccessDenied") && violation.contains("RemoteRoleExternalId"), "{violation}");
    assert_eq!(aws.count("CreateTrust"), 0);
}

#[tokio::test]
async fn a_pair_that_exists_whole_is_changed_on_both_sides_or_left_as_it_is() {
    let aws = account();
    with_remote_directory(&aws, "SALES");
    let this_side = aws.add_trust(DIR, "sales.example.com", "One-Way: Outgoing", "Verified", "");
    let other_side = aws.add_trust(REMOTE_DIR, "aws.example.com", "One-Way: Incoming", "Created", "");
    let in_place = plan(&aws, &pair_request()).await.expect("accepted");
    assert_eq!((in_place.action, in_place.trust_id.as_deref()), (PlanAction::AlreadyInPlace, Some(this_side.as_str())));
    assert_eq!(in_place.paired_side.as_ref().and_then(|side| side.trust_id.as_deref()), Some(other_side.as_str()));
    let mut enabled = pair_request();
    enabled["selectiveAuth"] = json!("Enabled");
    let update = plan(&aws, &enabled).await.expect("accepted");
    let side = update.paired_side.expect("the other side");
    let described = |changes: &[trustflow_domain::plan::Change]| changes.iter().map(|c| c.describe()).collect::<Vec<_>>();
    assert_eq!(update.action, PlanAction::Update);
    assert_eq!(described(&update.changes), ["selective authentication: Disabled -> Enabled"]);
    assert_eq!(described(&side.changes), ["selective authentication: Disabled -> Enabled"], "the other side changes too");
    assert_eq!(aws.count("CreateTrust") + aws.count("UpdateTrust"), 0, "validation changes nothing");
}

#[tokio::test]
async fn half_a_pair_is_refused_naming_the_side_that_exists() {
    let aws = account();
    with_remote_directory(&aws, "SALES");
    let this_side = aws.add_trust(DIR, "sales.example.com", "Two-Way", "Verified", "");
    let violations = violations_of(
        plan(
            &aws,
            &json!({
                "requestId": "PAIR-2", "directoryId": DIR, "remoteDirectoryId": REMOTE_DIR, "remoteDomainName": "sales.example.com",
                "trustDirection": "Two-Way", "trustPassword": {"secretId": "trustflow/corp"}
            }),
        )
        .await,
    );
    let [violation] = violations.as_slice() else { panic!("one violation: {violations:?}") };
    assert!(
        violation.starts_with(&format!("directoryId: already has a trust for sales.example.com ({this_side}, Verified)")),
        "{violation}"
    );
    assert!(violation.contains("a removal with remoteDirectoryId removes whichever side exists"), "{violation}");
}

#[tokio::test]
async fn a_pair_requested_in_another_shape_than_it_exists_is_refused_with_what_a_pair_needs_not_a_replace() {
    let aws = account();
    with_remote_directory(&aws, "SALES");
    aws.add_trust(DIR, "sales.example.com", "Two-Way", "Verified", "");
    aws.add_trust(REMOTE_DIR, "aws.example.com", "Two-Way", "Verified", "");
    match plan(&aws, &pair_request()).await {
        Err(WorkflowError::TrustConflict(message)) => {
            assert!(message.contains("not the requested One-Way: Outgoing Forest pair"), "{message}");
            assert!(message.contains("remove it (a removal with remoteDirectoryId removes both sides) and request it again"), "{message}");
            assert!(!message.contains("onExistingTrust"), "a pair is never replaced in place: {message}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(aws.count("DeleteTrust") + aws.count("CreateTrust"), 0);
}
