"""Both sides at once, across two accounts (issue 20): the other directory is in another account,
reached through a role there (`remoteRoleArn`) that the deployment allows (AllowedRemoteRoleArns)
and whose trust policy wants the deployment's external id (RemoteRoleExternalId).

The second account is the emulator's 222222222222. The role the product ships for it,
other-account-role.yaml, is deployed there through CloudFormation with the stack's output
RemoteDirectoryCallerRoleArns; the emulator holds each session to the policies of its role
(tests/aws_emulator/iam_enforcement.py): the function's own role for sts:AssumeRole (on the role's
ARN) and the other role's trust policy (principal, external id), then that role's permissions for
every Directory Service call made in the other account."""

import itertools
import json

import pytest

from local_stack import OTHER_ACCOUNT, REMOTE_ROLE_NAMES
from test_lifecycle import calls
from test_workflow import assert_no_password_anywhere, event, sns_bodies

_requests = itertools.count(1)
DOMAIN = "finance.example.com"
ROLE, READ_ONLY_ROLE, OTHER_EXTERNAL_ID_ROLE = (f"arn:aws:iam::{OTHER_ACCOUNT}:role/{name}" for name in REMOTE_ROLE_NAMES)


@pytest.fixture(scope="module")
def other_directory(stack):
    """A directory of the other account, and the three roles there the stack's parameters allow."""
    remote_id = stack.seed_directory(DOMAIN, account=OTHER_ACCOUNT, vpcCidr="10.200.0.0/16")
    assert stack.deploy_other_account_role(REMOTE_ROLE_NAMES[0], remote_id) == ROLE
    assert stack.deploy_other_account_role(REMOTE_ROLE_NAMES[2], remote_id, "another-deployments-external-id") == OTHER_EXTERNAL_ID_ROLE
    # A role that trusts the stack's functions with the right external id, but may only read.
    iam = stack.client_in(OTHER_ACCOUNT, "iam")
    trust = iam.get_role(RoleName=REMOTE_ROLE_NAMES[0])["Role"]["AssumeRolePolicyDocument"]
    iam.create_role(RoleName=REMOTE_ROLE_NAMES[1], AssumeRolePolicyDocument=trust if isinstance(trust, str) else json.dumps(trust))
    iam.put_role_policy(RoleName=REMOTE_ROLE_NAMES[1], PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ds:DescribeDirectories", "ds:DescribeTrusts"], "Resource": "*"}]}))
    return remote_id


def pair_request(directory_id, remote_id, secret, role, **overrides):
    body = {"requestId": f"XPAIR-{next(_requests)}", "directoryId": directory_id, "remoteDirectoryId": remote_id,
            "remoteRoleArn": role, "remoteDomainName": DOMAIN, "trustDirection": "Two-Way", "trustPassword": {"secretId": secret}}
    body.update(overrides)
    return body


def live(trusts):
    return [t for t in trusts if t["TrustState"] not in ("Deleting", "Deleted")]


def local_trusts(stack, directory_id):
    return live(t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["RemoteDomainName"] == DOMAIN)


def other_trusts(stack, remote_id):
    return live(stack.client_in(OTHER_ACCOUNT, "ds").describe_trusts(DirectoryId=remote_id)["Trusts"])


def in_other_account(stack, operation):
    return [c for c in calls(stack, operation) if c.get("account") == OTHER_ACCOUNT]


def test_a_pair_across_accounts_is_created_in_each_account_verified_on_both_changed_as_one_and_removed_whole(
        stack, directory_id, secret, other_directory):
    stack.control("calls", method="DELETE")
    run = stack.run(event(pair_request(directory_id, other_directory, secret, ROLE)))
    assert run.status == "SUCCEEDED", run.history[-1]
    (local,) = local_trusts(stack, directory_id)
    (remote,) = other_trusts(stack, other_directory)
    assert (local["TrustDirection"], local["TrustState"]) == ("Two-Way", "Verified")
    assert (remote["RemoteDomainName"], remote["TrustDirection"], remote["TrustState"]) == ("aws.example.com", "Two-Way", "Verified")
    # The other side was made in the other account, by the role there, and nothing of it in this one.
    creates = in_other_account(stack, "CreateTrust")
    assert [(c["role"], c["status"]) for c in creates] == [(REMOTE_ROLE_NAMES[0], "200")], creates
    assert other_directory not in {d["DirectoryId"] for d in stack.client("ds").describe_directories()["DirectoryDescriptions"]}
    assumed = [c for c in calls(stack, "AssumeRole") if c["status"] == "200"]
    assert assumed and all(c["account"] == "123456789012" for c in assumed), "the stack's functions assumed the role"
    (result,) = run.events
    paired = result["detail"]["pairedSide"]
    assert (paired["directoryId"], paired["trustId"], paired["trustState"]) == (other_directory, remote["TrustId"], "Verified")
    assert f"Other side: trust {remote['TrustId']} on {DOMAIN} ({other_directory}), Two-Way, Verified" in sns_bodies(run)[0]
    assert_no_password_anywhere(stack, run)

    # Changed in place as one: selective authentication on both sides, the other through its role.
    stack.control("calls", method="DELETE")
    update = stack.run(event(pair_request(directory_id, other_directory, secret, ROLE, selectiveAuth="Enabled")))
    assert update.status == "SUCCEEDED", update.history[-1]
    (remote_after,) = other_trusts(stack, other_directory)
    assert (remote_after["TrustId"], remote_after["SelectiveAuth"], remote_after["TrustState"]) == (remote["TrustId"], "Enabled", "Verified")
    assert [(c["role"], c["status"]) for c in in_other_account(stack, "UpdateTrust")] == [(REMOTE_ROLE_NAMES[0], "200")]

    removal = stack.run({"removal": {"requestId": f"RM-XPAIR-{next(_requests)}", "directoryId": directory_id,
                                     "remoteDirectoryId": other_directory, "remoteRoleArn": ROLE, "remoteDomainName": DOMAIN}})
    assert removal.status == "SUCCEEDED", removal.history[-1]
    assert local_trusts(stack, directory_id) == [] and other_trusts(stack, other_directory) == []
    (removed,) = removal.events
    assert (removed["detail-type"], removed["detail"]["pairedSide"]["trustDeleted"]) == ("Trust Removed", True)


def test_a_role_the_deployment_does_not_allow_is_rejected_before_any_role_is_assumed_or_anything_created(
        stack, directory_id, secret, other_directory):
    stack.control("calls", method="DELETE")
    elsewhere = f"arn:aws:iam::{OTHER_ACCOUNT}:role/someone-elses-role"
    run = stack.run(event(pair_request(directory_id, other_directory, secret, elsewhere)))
    assert run.status == "FAILED"
    error = run.events[0]["detail"]["error"]["message"]
    assert f'remoteRoleArn: must be a role this deployment may assume: this deployment allows {ROLE}' in error, error
    assert f'(got "{elsewhere}")' in error, error
    assert calls(stack, "AssumeRole") == [] and calls(stack, "CreateTrust") == []


def test_a_role_whose_trust_policy_wants_another_external_id_is_rejected_with_awss_reason_and_nothing_created(
        stack, directory_id, secret, other_directory):
    stack.control("calls", method="DELETE")
    run = stack.run(event(pair_request(directory_id, other_directory, secret, OTHER_EXTERNAL_ID_ROLE)))
    assert run.status == "FAILED"
    error = run.events[0]["detail"]["error"]["message"]
    assert "remoteRoleArn: must be a role trustflow can assume" in error and "AccessDenied" in error, error
    assert f"is not authorized to perform: sts:AssumeRole on resource: {OTHER_EXTERNAL_ID_ROLE}" in error, error
    assert [c["status"] for c in calls(stack, "AssumeRole")] == ["denied"]
    assert calls(stack, "CreateTrust") == []
    assert local_trusts(stack, directory_id) == [] and other_trusts(stack, other_directory) == []
    denied = stack.control("denials", method="GET")["denials"]
    assert [(d["action"], d["resource"], d["decision"]) for d in denied] == [
        ("sts:AssumeRole", OTHER_EXTERNAL_ID_ROLE, "trust policy does not allow")], denied
    stack.control("denials", method="DELETE")  # refused on purpose


def test_the_other_roles_own_policy_holds_a_role_that_may_only_read_gets_no_trust_and_no_half_of_the_pair_is_left(
        stack, directory_id, secret, other_directory):
    stack.control("calls", method="DELETE")
    stack.control("denials", method="DELETE")
    run = stack.run(event(pair_request(directory_id, other_directory, secret, READ_ONLY_ROLE)))
    assert run.status == "FAILED"
    denied = [d for d in stack.control("denials", method="GET")["denials"] if d.get("action") == "ds:CreateTrust"]
    assert [(d["account"], d["role"]) for d in denied] == [(OTHER_ACCOUNT, REMOTE_ROLE_NAMES[1])], denied
    assert local_trusts(stack, directory_id) == [] and other_trusts(stack, other_directory) == []
    assert len(calls(stack, "DeleteTrust")) == 1, "the first side, in this account, was deleted"
    body = sns_bodies(run)[0]
    assert "the other side of the pair" in body and "no part of the pair is left" in body and "AccessDenied" in body, body
    stack.control("denials", method="DELETE")  # refused on purpose
