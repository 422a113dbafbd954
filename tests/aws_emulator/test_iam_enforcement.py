"""The emulator's IAM decision for a function's call: actions as IAM evaluates them, resources only
for sts:AssumeRole, which is also held to the role's trust policy (the role may be in another account:
its session then acts there, under that role's own policies). The first tests need no server; the
cross-account ones run an emulator."""

import itertools
import json
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import iam_enforcement as iam
import rehearsal


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_an_action_no_statement_names_is_not_allowed():
    documents = [policy({"Effect": "Allow", "Action": ["ds:DescribeTrusts"], "Resource": "*"})]
    assert iam.decide(documents, "ds:CreateTrust") == "not allowed"


def test_an_allow_on_scoped_resources_counts_as_allowing_the_action():
    documents = [policy({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                         "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:trustflow/*"})]
    assert iam.decide(documents, "secretsmanager:GetSecretValue") == "allowed"


def test_wildcards_match_and_action_names_ignore_case():
    documents = [policy({"Effect": "Allow", "Action": ["ds:Describe*", "SNS:publish"], "Resource": "*"})]
    assert iam.decide(documents, "ds:DescribeTrusts") == "allowed"
    assert iam.decide(documents, "sns:Publish") == "allowed"
    assert iam.decide(documents, "ds:DeleteTrust") == "not allowed"


def test_an_explicit_deny_wins_over_any_allow():
    documents = [policy({"Effect": "Allow", "Action": "ds:*", "Resource": "*"}),
                 policy({"Effect": "Deny", "Action": "ds:DeleteTrust", "Resource": "*"})]
    assert iam.decide(documents, "ds:DeleteTrust") == "denied"
    assert iam.decide(documents, "ds:CreateTrust") == "allowed"


def test_not_action_allows_everything_but_what_it_names():
    documents = [policy({"Effect": "Allow", "NotAction": "ds:DeleteTrust", "Resource": "*"})]
    assert iam.decide(documents, "ds:CreateTrust") == "allowed"
    assert iam.decide(documents, "ds:DeleteTrust") == "not allowed"


def test_a_request_on_plain_access_keys_is_not_checked():
    assert iam.check(None, "ds", "DeleteTrust") is None


def test_a_session_nobody_was_issued_is_refused():
    assert iam.check(iam.UNKNOWN_SESSION, "ds", "DescribeTrusts")["decision"] == "unknown session"


# --- sts:AssumeRole: the resource, the trust policy ----------------------------------------------

CALLER = iam.Caller("123456789012", "validate-request-role", "validate-request",
                    "arn:aws:iam::123456789012:role/validate-request-role")
REMOTE_ROLE = "arn:aws:iam::222222222222:role/trustflow-remote-directories"


def test_assume_role_is_allowed_only_on_the_roles_the_statement_s_resource_names():
    documents = [policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                         "Resource": ["arn:aws:iam::222222222222:role/trustflow-remote-*", "arn:aws:iam::333333333333:role/r?"]})]
    assert iam.decide(documents, "sts:AssumeRole", resource=REMOTE_ROLE) == "allowed"
    assert iam.decide(documents, "sts:AssumeRole", resource="arn:aws:iam::333333333333:role/r1") == "allowed"
    assert iam.decide(documents, "sts:AssumeRole", resource="arn:aws:iam::333333333333:role/r12") == "not allowed"
    # ARNs are matched case-sensitively.
    assert iam.decide(documents, "sts:AssumeRole", resource=REMOTE_ROLE.replace("trustflow", "TrustFlow")) == "not allowed"
    assert iam.decide(documents, "sts:AssumeRole", resource="arn:aws:iam::222222222222:role/other") == "not allowed"


def test_a_deny_on_the_role_wins_and_not_resource_excludes_what_it_names():
    documents = [policy({"Effect": "Allow", "Action": "sts:*", "Resource": "*"},
                        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": REMOTE_ROLE})]
    assert iam.decide(documents, "sts:AssumeRole", resource=REMOTE_ROLE) == "denied"
    assert iam.decide(documents, "sts:AssumeRole", resource="arn:aws:iam::222222222222:role/other") == "allowed"
    documents = [policy({"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": REMOTE_ROLE})]
    assert iam.decide(documents, "sts:AssumeRole", resource=REMOTE_ROLE) == "not allowed"


def trust(principal, condition=None, effect="Allow"):
    statement = {"Effect": effect, "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition is not None:
        statement["Condition"] = condition
    return policy(statement)


def test_a_trust_policy_names_the_caller_by_its_role_arn_its_account_root_or_its_account_id():
    for principal in (CALLER.role_arn, "arn:aws:iam::123456789012:root", "123456789012",
                      ["arn:aws:iam::999999999999:root", CALLER.role_arn]):
        assert iam.trust_decision(trust(principal), CALLER, None) == "allowed", principal
    for principal in ("arn:aws:iam::123456789012:role/create-trust-role", "arn:aws:iam::999999999999:root", "*"):
        assert iam.trust_decision(trust(principal), CALLER, None) == "not allowed", principal
    service = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    assert iam.trust_decision(service, CALLER, None) == "not allowed"


def test_an_external_id_condition_holds_only_for_the_external_id_it_names():
    equals = trust(CALLER.role_arn, {"StringEquals": {"sts:ExternalId": "e-1"}})
    assert iam.trust_decision(equals, CALLER, "e-1") == "allowed"
    assert iam.trust_decision(equals, CALLER, "E-1") == "not allowed"
    assert iam.trust_decision(equals, CALLER, None) == "not allowed"
    like = trust(CALLER.role_arn, {"StringLike": {"sts:externalid": ["e-?", "team-*"]}})
    assert [iam.trust_decision(like, CALLER, e) for e in ("e-2", "team-x", "e-12", None)] == ["allowed", "allowed", "not allowed", "not allowed"]


def test_a_condition_the_emulator_cannot_evaluate_fails_closed():
    for condition in ({"StringNotEquals": {"sts:ExternalId": "x"}}, {"StringEquals": {"aws:PrincipalTag/team": "id"}},
                      {"StringEquals": {"sts:ExternalId": "e-1"}, "Bool": {"aws:SecureTransport": "true"}}):
        # An Allow with it does not match; a Deny with it applies.
        assert iam.trust_decision(trust(CALLER.role_arn, condition), CALLER, "e-1") == "not allowed", condition
        denying = policy(trust(CALLER.role_arn)["Statement"][0], trust(CALLER.role_arn, condition, effect="Deny")["Statement"][0])
        assert iam.trust_decision(denying, CALLER, "e-1") == "denied", condition


# --- across accounts, on a running emulator ------------------------------------------------------

LOCAL = "123456789012"  # moto's default account: the functions' own
REMOTE = "222222222222"
NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"})
_unique = itertools.count(1)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    log = tmp_path_factory.mktemp("iam-enforcement") / "emulator.log"
    with rehearsal.running_emulator(state_seconds=0.2, log_path=log) as url:
        yield url


def client(endpoint, service, account=None, credentials=None):
    """A client on plain keys (never checked) or on a session's ``credentials``; ``account``: plain
    keys acting in that account, through moto's ``x-moto-account-id`` header (as
    ``LocalStack.client_in`` does)."""
    keys = ({"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
             "aws_session_token": credentials["SessionToken"]} if credentials else
            {"aws_access_key_id": "test", "aws_secret_access_key": "test"})
    made = boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", config=NO_RETRIES, **keys)
    if account:
        def in_account(request, **_):
            request.headers["x-moto-account-id"] = account

        made.meta.events.register("before-sign", in_account)
    return made


def control(endpoint, route, body=None, method="POST"):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{endpoint}/_trustflow/{route}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def seed_directory(endpoint, name, account=LOCAL, **spec):
    return control(endpoint, "directory", {"name": name, "shortName": name.split(".")[0].upper()[:15],
                                           "account": account, **spec})["directoryId"]


def make_role(endpoint, account, name, trust_policy, actions, resource="*"):
    iam_client = client(endpoint, "iam", account=account)
    arn = iam_client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy))["Role"]["Arn"]
    iam_client.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(
        policy({"Effect": "Allow", "Action": actions, "Resource": resource})))
    return arn


def cross_account(endpoint, principal=None, condition="e-1", assumable=None):
    """A function's execution role in the default account, allowed sts:AssumeRole on ``assumable``
    (default: the remote role), and a session of it (as the local stack hands a function its role);
    and a role of account 222222222222 allowed ds:DescribeDirectories only, whose trust policy names
    ``principal`` (default: the function's role ARN) with the ExternalId ``condition`` (None: no condition)."""
    n = next(_unique)
    local_name, remote_name = f"validate-request-role-{n}", f"trustflow-remote-directories-{n}"
    remote_arn = f"arn:aws:iam::{REMOTE}:role/{remote_name}"
    lambda_trust = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    local_arn = make_role(endpoint, None, local_name, lambda_trust, "sts:AssumeRole", assumable or remote_arn)
    remote_trust = trust(principal or local_arn, {"StringEquals": {"sts:ExternalId": condition}} if condition else None)
    assert make_role(endpoint, REMOTE, remote_name, remote_trust, ["ds:DescribeDirectories"]) == remote_arn
    session = client(endpoint, "sts").assume_role(RoleArn=local_arn, RoleSessionName="validate-request")["Credentials"]
    return {"local": local_name, "remote": remote_name, "remote_arn": remote_arn, "session": session}


def assume(endpoint, roles, external_id=None):
    """sts:AssumeRole of the remote role by the function's session; the new session's credentials."""
    extra = {"ExternalId": external_id} if external_id is not None else {}
    return client(endpoint, "sts", credentials=roles["session"]).assume_role(
        RoleArn=roles["remote_arn"], RoleSessionName="remote-directories", **extra)["Credentials"]


def assert_assume_role_refused(endpoint, roles, external_id=None):
    control(endpoint, "denials", method="DELETE")
    with pytest.raises(ClientError) as refused:
        assume(endpoint, roles, external_id)
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert (error["Error"]["Type"], error["Error"]["Code"]) == ("Sender", "AccessDenied")
    assert error["Error"]["Message"] == (f"User: arn:aws:sts::{LOCAL}:assumed-role/{roles['local']}/validate-request is not "
                                         f"authorized to perform: sts:AssumeRole on resource: {roles['remote_arn']}")
    (denial,) = control(endpoint, "denials", method="GET")["denials"]
    assert (denial["account"], denial["role"], denial["action"], denial["resource"]) == (
        LOCAL, roles["local"], "sts:AssumeRole", roles["remote_arn"])
    calls = [c for c in control(endpoint, "calls", method="GET")["calls"] if c["role"] == roles["local"]]
    assert calls[-1] == {"service": "sts", "operation": "AssumeRole", "status": "denied", "role": roles["local"], "account": LOCAL}
    return denial


def test_a_function_assumes_a_role_of_another_account_that_trusts_it_and_its_ds_calls_land_there(endpoint):
    local_directory = seed_directory(endpoint, f"local{next(_unique)}.example.com")
    remote_directory = seed_directory(endpoint, f"remote{next(_unique)}.example.com", account=REMOTE, vpcCidr="10.20.0.0/16")
    roles = cross_account(endpoint)
    remote = client(endpoint, "ds", credentials=assume(endpoint, roles, "e-1"))
    seen = {d["DirectoryId"] for d in remote.describe_directories()["DirectoryDescriptions"]}
    assert remote_directory in seen and local_directory not in seen
    (described,) = remote.describe_directories(DirectoryIds=[remote_directory])["DirectoryDescriptions"]
    assert described["RegionsInfo"]["PrimaryRegion"] == "us-east-1"
    last = control(endpoint, "calls", method="GET")["calls"][-1]
    assert last == {"service": "ds", "operation": "DescribeDirectories", "status": "200", "role": roles["remote"], "account": REMOTE}


def test_the_assumed_session_is_held_to_the_remote_role_s_own_policies(endpoint):
    remote_directory = seed_directory(endpoint, f"remote{next(_unique)}.example.com", account=REMOTE, vpcCidr="10.21.0.0/16")
    roles = cross_account(endpoint)
    remote = client(endpoint, "ds", credentials=assume(endpoint, roles, "e-1"))
    control(endpoint, "denials", method="DELETE")
    with pytest.raises(ClientError) as refused:
        remote.create_trust(DirectoryId=remote_directory, RemoteDomainName="onprem.example.com", TrustPassword="P4ssw0rd!",
                            TrustDirection="Two-Way")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["Error"]["Message"].startswith(
        f"User: arn:aws:sts::{REMOTE}:assumed-role/{roles['remote']}/remote-directories is not authorized to perform: ds:CreateTrust")
    (denial,) = control(endpoint, "denials", method="GET")["denials"]
    assert (denial["account"], denial["role"], denial["action"], denial["decision"]) == (REMOTE, roles["remote"], "ds:CreateTrust", "not allowed")
    assert client(endpoint, "ds", account=REMOTE).describe_trusts(DirectoryId=remote_directory)["Trusts"] == []


def test_a_wrong_or_missing_external_id_is_refused(endpoint):
    roles = cross_account(endpoint)
    assert assert_assume_role_refused(endpoint, roles, "e-2")["decision"] == "trust policy does not allow"
    assert assert_assume_role_refused(endpoint, roles, None)["decision"] == "trust policy does not allow"


def test_an_identity_policy_allowing_assume_role_only_on_another_role_is_refused(endpoint):
    roles = cross_account(endpoint, assumable=f"arn:aws:iam::{REMOTE}:role/some-other-role")
    assert assert_assume_role_refused(endpoint, roles, "e-1")["decision"] == "not allowed"


def test_a_trust_policy_naming_another_principal_is_refused(endpoint):
    roles = cross_account(endpoint, principal=f"arn:aws:iam::{LOCAL}:role/create-trust-role")
    assert assert_assume_role_refused(endpoint, roles, "e-1")["decision"] == "trust policy does not allow"


def test_a_role_that_does_not_exist_is_refused_as_aws_does(endpoint):
    roles = cross_account(endpoint, assumable=f"arn:aws:iam::{REMOTE}:role/*")
    roles["remote_arn"] += "-gone"
    assert assert_assume_role_refused(endpoint, roles, "e-1")["decision"] == "role to assume does not exist"


@pytest.mark.parametrize("principal", [f"arn:aws:iam::{LOCAL}:root", LOCAL])
def test_a_trust_policy_naming_the_caller_s_account_lets_its_roles_assume_the_role(endpoint, principal):
    roles = cross_account(endpoint, principal=principal, condition=None)
    credentials = assume(endpoint, roles)
    identity = client(endpoint, "sts", credentials=credentials).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{REMOTE}:assumed-role/{roles['remote']}/remote-directories"


def test_a_caller_on_plain_keys_is_not_checked(endpoint):
    roles = cross_account(endpoint, principal=f"arn:aws:iam::{LOCAL}:role/create-trust-role")
    control(endpoint, "denials", method="DELETE")
    assumed = client(endpoint, "sts").assume_role(RoleArn=roles["remote_arn"], RoleSessionName="harness")
    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{REMOTE}:assumed-role/{roles['remote']}/harness"
    assert control(endpoint, "denials", method="GET")["denials"] == []


def test_a_plain_key_client_acts_in_another_account_through_moto_s_account_header(endpoint):
    n = next(_unique)
    iam_remote, iam_local = client(endpoint, "iam", account=REMOTE), client(endpoint, "iam")
    iam_remote.create_role(RoleName=f"only-remote-{n}", AssumeRolePolicyDocument=json.dumps(trust(LOCAL)))
    assert iam_remote.get_role(RoleName=f"only-remote-{n}")["Role"]["Arn"] == f"arn:aws:iam::{REMOTE}:role/only-remote-{n}"
    with pytest.raises(ClientError):
        iam_local.get_role(RoleName=f"only-remote-{n}")
    template = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": f"only-remote-{n}"}}}})
    stack_id = client(endpoint, "cloudformation", account=REMOTE).create_stack(StackName=f"only-remote-{n}", TemplateBody=template)["StackId"]
    assert stack_id.split(":")[4] == REMOTE
    assert f"only-remote-{n}" not in {s["StackName"] for s in client(endpoint, "cloudformation").list_stacks()["StackSummaries"]}
    directory = seed_directory(endpoint, f"header{n}.example.com", account=REMOTE, vpcCidr="10.22.0.0/16")
    assert directory in {d["DirectoryId"] for d in client(endpoint, "ds", account=REMOTE).describe_directories()["DirectoryDescriptions"]}
    assert directory not in {d["DirectoryId"] for d in client(endpoint, "ds").describe_directories()["DirectoryDescriptions"]}


# --- a trust between directories of two accounts --------------------------------------------------

def trust_state(ds, directory_id, timeout=10):
    """The state of the directory's one trust once it stops moving (Creating, Created, Verifying)."""
    deadline = time.time() + timeout
    while True:
        (found,) = ds.describe_trusts(DirectoryId=directory_id)["Trusts"]
        if found["TrustState"] not in ("Creating", "Created", "Verifying") or time.time() > deadline:
            return found["TrustState"], found.get("TrustStateReason", "")
        time.sleep(0.1)


@pytest.mark.parametrize("remote_password, expected", [("Same-P4ssw0rd", "Verified"), ("Other-P4ssw0rd", "VerifyFailed")])
def test_a_trust_with_a_directory_of_another_account_is_verified_by_that_directory_s_trust(endpoint, remote_password, expected):
    n = next(_unique)
    local_domain, remote_domain = f"pair-local{n}.example.com", f"pair-remote{n}.example.com"
    # What either domain would do as an on-premises domain: never answer. Only the pair can verify.
    for domain in (local_domain, remote_domain):
        control(endpoint, "scenario", {"remoteDomainName": domain, "scenario": "unreachable"})
    local_id = seed_directory(endpoint, local_domain, vpcCidr=f"10.{30 + n}.0.0/16")
    remote_id = seed_directory(endpoint, remote_domain, account=REMOTE, vpcCidr=f"10.{130 + n}.0.0/16")
    local_ds, remote_ds = client(endpoint, "ds"), client(endpoint, "ds", account=REMOTE)
    local_ds.create_trust(DirectoryId=local_id, RemoteDomainName=remote_domain, TrustPassword="Same-P4ssw0rd", TrustDirection="Two-Way")
    remote_ds.create_trust(DirectoryId=remote_id, RemoteDomainName=local_domain, TrustPassword=remote_password, TrustDirection="Two-Way")
    assert trust_state(local_ds, local_id)[0] == expected
    assert trust_state(remote_ds, remote_id)[0] == expected
    if expected == "VerifyFailed":
        # The other directory's trust has another password: not the unreachable on-premises domain's reason.
        assert trust_state(local_ds, local_id)[1] == "The trust relationship could not be verified: Access is denied."
