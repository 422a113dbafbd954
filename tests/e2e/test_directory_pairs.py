"""Both sides at once (issue 20): a trust between two AWS Managed Microsoft AD directories of this
account. One request (`remoteDirectoryId`) creates both sides with complementary directions and the
same password, follows both until each is in its final state, and never leaves one side behind.
The emulator verifies a side when the other directory has the complementary trust with the same
password (``aws-pair`` in tests/aws_emulator/directory_service.py)."""

import itertools
import json

from test_lifecycle import calls
from test_workflow import assert_no_password_anywhere, event, sns_bodies

_pairs = itertools.count(1)


def pair(stack):
    """A fresh directory to pair with the session's directory (aws.example.com), in a VPC whose
    addresses do not overlap that directory's (10.0.0.0/16)."""
    n = next(_pairs)
    domain = f"unit{n}.example.com"
    return stack.seed_directory(domain, vpcCidr=f"10.{100 + n}.0.0/16"), domain


def pair_request(directory_id, remote_id, domain, secret, **overrides):
    body = {"requestId": f"PAIR-{next(_pairs)}", "directoryId": directory_id, "remoteDirectoryId": remote_id,
            "remoteDomainName": domain, "trustDirection": "Two-Way", "trustPassword": {"secretId": secret}}
    body.update(overrides)
    return body


def trusts(stack, directory_id):
    return [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["TrustState"] not in ("Deleting", "Deleted")]


def forwarder(stack, directory_id, domain):
    (found,) = stack.client("ds").describe_conditional_forwarders(DirectoryId=directory_id, RemoteDomainNames=[domain])["ConditionalForwarders"]
    return found["DnsIpAddrs"]


def dns_of(stack, directory_id):
    (directory,) = stack.client("ds").describe_directories(DirectoryIds=[directory_id])["DirectoryDescriptions"]
    return directory["DnsIpAddrs"]


def test_a_two_way_pair_is_created_on_both_directories_and_verified_on_both(stack, directory_id, secret):
    remote_id, domain = pair(stack)
    run = stack.run(event(pair_request(directory_id, remote_id, domain, secret)))
    assert run.status == "SUCCEEDED", run.history[-1]
    (local,) = [t for t in trusts(stack, directory_id) if t["RemoteDomainName"] == domain]
    (remote,) = trusts(stack, remote_id)
    assert (local["TrustDirection"], local["TrustState"]) == ("Two-Way", "Verified")
    assert (remote["RemoteDomainName"], remote["TrustDirection"], remote["TrustState"]) == ("aws.example.com", "Two-Way", "Verified")
    # The forwarders point each side at the other directory's DNS servers: the requester gave none.
    assert forwarder(stack, directory_id, domain) == dns_of(stack, remote_id)
    assert forwarder(stack, remote_id, "aws.example.com") == dns_of(stack, directory_id)
    (result,) = run.events
    assert result["detail-type"] == "Trust Verified"
    paired = result["detail"]["pairedSide"]
    assert (paired["directoryId"], paired["trustId"], paired["trustState"], paired["trustDirection"]) == (
        remote_id, remote["TrustId"], "Verified", "Two-Way")
    body = sns_bodies(run)[0]
    assert f"Other side: trust {remote['TrustId']} on {domain} ({remote_id}), Two-Way, Verified" in body, body
    assert "on-premises" not in body.lower(), "no on-premises steps for a pair of AWS directories"
    assert_no_password_anywhere(stack, run)


def test_an_outgoing_pair_is_verified_on_one_side_and_created_on_the_incoming_side(stack, directory_id, secret):
    remote_id, domain = pair(stack)
    run = stack.run(event(pair_request(directory_id, remote_id, domain, secret, trustDirection="One-Way: Outgoing")))
    assert run.status == "SUCCEEDED", run.history[-1]
    (local,) = [t for t in trusts(stack, directory_id) if t["RemoteDomainName"] == domain]
    (remote,) = trusts(stack, remote_id)
    assert (local["TrustDirection"], local["TrustState"]) == ("One-Way: Outgoing", "Verified")
    assert (remote["TrustDirection"], remote["TrustState"]) == ("One-Way: Incoming", "Created"), "AWS never verifies the incoming side"
    assert run.events[0]["detail"]["pairedSide"]["trustState"] == "Created"


def test_when_the_second_side_is_refused_the_first_is_deleted_and_the_requester_told(stack, directory_id, secret):
    remote_id, domain = pair(stack)
    stack.control("calls", method="DELETE")
    stack.control("faults", {"service": "ds", "operation": "CreateTrust", "error": "ClientException",
                             "bodyContains": remote_id, "message": "The directory cannot take another trust."})
    run = stack.run(event(pair_request(directory_id, remote_id, domain, secret)))
    assert run.status == "FAILED"
    assert [t for t in trusts(stack, directory_id) if t["RemoteDomainName"] == domain] == [], "no half of the pair is left"
    assert trusts(stack, remote_id) == []
    deletes = calls(stack, "DeleteTrust")
    assert len(deletes) == 1, deletes
    body = sns_bodies(run)[0]
    assert "the other side of the pair" in body and "was deleted: no part of the pair is left" in body, body
    assert "The directory cannot take another trust." in body


def test_a_pair_is_rejected_before_anything_is_created_when_the_other_directory_already_trusts_this_one_or_is_missing(
        stack, directory_id, secret):
    remote_id, domain = pair(stack)
    existing = stack.client("ds").create_trust(DirectoryId=remote_id, RemoteDomainName="aws.example.com", TrustPassword="Other-Pw-1!",
                                               TrustDirection="One-Way: Incoming", ConditionalForwarderIpAddrs=["10.0.0.1"])["TrustId"]
    stack.control("calls", method="DELETE")
    run = stack.run(event(pair_request(directory_id, remote_id, domain, secret)))
    assert run.status == "FAILED"
    assert calls(stack, "CreateTrust") == [], "nothing created on either side"
    error = run.events[0]["detail"]["error"]["message"]
    assert "remoteDirectoryId" in error and f"already has a trust for aws.example.com ({existing}" in error, error
    missing = stack.run(event(pair_request(directory_id, "d-00000000ff", "nowhere.example.com", secret)))
    assert missing.status == "FAILED"
    error = missing.events[0]["detail"]["error"]["message"]
    assert "remoteDirectoryId" in error and "d-00000000ff" in error, error
    assert calls(stack, "CreateTrust") == []


def test_removing_a_pair_removes_both_sides_with_the_other_sides_forwarder(stack, directory_id, secret):
    remote_id, domain = pair(stack)
    created = stack.run(event(pair_request(directory_id, remote_id, domain, secret)))
    assert created.status == "SUCCEEDED"
    (remote,) = trusts(stack, remote_id)
    run = stack.run({"removal": {"requestId": f"RM-PAIR-{next(_pairs)}", "directoryId": directory_id,
                                 "remoteDirectoryId": remote_id, "remoteDomainName": domain}})
    assert run.status == "SUCCEEDED", run.history[-1]
    assert [t for t in trusts(stack, directory_id) if t["RemoteDomainName"] == domain] == []
    assert trusts(stack, remote_id) == []
    other_forwarders = stack.client("ds").describe_conditional_forwarders(DirectoryId=remote_id)["ConditionalForwarders"]
    assert other_forwarders == [], "the other side's forwarder was made for the pair and goes with it"
    (result,) = run.events
    assert result["detail-type"] == "Trust Removed"
    paired = result["detail"]["pairedSide"]
    assert (paired["trustId"], paired["trustDeleted"]) == (remote["TrustId"], True)
    assert f"Other side: trust {remote['TrustId']} on {domain} ({remote_id}): removed" in sns_bodies(run)[0]


def test_a_pair_that_exists_is_changed_in_place_as_one_and_a_request_with_nothing_to_change_changes_nothing(
        stack, directory_id, secret):
    remote_id, domain = pair(stack)
    created = stack.run(event(pair_request(directory_id, remote_id, domain, secret)))
    assert created.status == "SUCCEEDED", created.history[-1]
    (local,) = [t for t in trusts(stack, directory_id) if t["RemoteDomainName"] == domain]
    (remote,) = trusts(stack, remote_id)
    stack.control("calls", method="DELETE")
    run = stack.run(event(pair_request(directory_id, remote_id, domain, secret, selectiveAuth="Enabled")))
    assert run.status == "SUCCEEDED", run.history[-1]
    (local_after,) = [t for t in trusts(stack, directory_id) if t["RemoteDomainName"] == domain]
    (remote_after,) = trusts(stack, remote_id)
    assert (local_after["TrustId"], remote_after["TrustId"]) == (local["TrustId"], remote["TrustId"]), "changed in place, not replaced"
    assert (local_after["SelectiveAuth"], remote_after["SelectiveAuth"]) == ("Enabled", "Enabled"), "both sides"
    assert (local_after["TrustState"], remote_after["TrustState"]) == ("Verified", "Verified")
    assert len(calls(stack, "UpdateTrust")) == 2 and calls(stack, "CreateTrust") == [] and calls(stack, "GetSecretValue") == []
    (result,) = run.events
    assert result["detail"]["pairedSide"]["changes"] == ["selective authentication: Disabled -> Enabled"]
    body = sns_bodies(run)[0]
    assert "Changed in place: selective authentication: Disabled -> Enabled" in body, body
    assert "Changed in place on the other side: selective authentication: Disabled -> Enabled" in body, body
    stack.control("calls", method="DELETE")
    again = stack.run(event(pair_request(directory_id, remote_id, domain, secret, selectiveAuth="Enabled")))
    assert again.status == "SUCCEEDED" and [e["detail"]["outcome"] for e in again.events] == ["alreadyInPlace"], again.events
    assert calls(stack, "UpdateTrust") == [] and calls(stack, "CreateTrust") == []


def test_half_a_pair_is_refused_naming_the_side_that_exists_and_nothing_changes(stack, directory_id, secret):
    remote_id, domain = pair(stack)
    existing = stack.client("ds").create_trust(DirectoryId=directory_id, RemoteDomainName=domain, TrustPassword="Other-Pw-1!",
                                               TrustDirection="Two-Way", ConditionalForwarderIpAddrs=dns_of(stack, remote_id))["TrustId"]
    stack.control("calls", method="DELETE")
    run = stack.run(event(pair_request(directory_id, remote_id, domain, secret)))
    assert run.status == "FAILED"
    error = run.events[0]["detail"]["error"]["message"]
    assert f"directoryId: already has a trust for {domain} ({existing}" in error, error
    assert "a removal with remoteDirectoryId removes whichever side exists" in error, error
    assert calls(stack, "CreateTrust") == [] and calls(stack, "UpdateTrust") == [] and calls(stack, "DeleteTrust") == []
