"""The life of a trust after its creation: changes in place (selective authentication with
UpdateTrust, forwarder addresses with UpdateConditionalForwarder), through the real state machine."""

import itertools

from test_workflow import assert_no_password_anywhere, event, request

_domains = itertools.count(1)


def calls(stack, operation):
    return [c for c in stack.control("calls", method="GET")["calls"] if c["operation"] == operation]


def verified_trust(stack, directory_id, secret, scenario="verifies", **overrides):
    """A request run to Verified; returns (its body, the trust id)."""
    domain = f"life{next(_domains)}.example.com"
    stack.set_scenario(domain, scenario)
    body = request(directory_id, domain, secret, **overrides)
    run = stack.run(event(body))
    assert run.status == "SUCCEEDED" and run.output["status"]["trustState"] == "Verified", run.output
    return body, run.output["status"]["trustId"]


def again(body, **changes):
    """The same request with a new id and some fields changed."""
    changed = dict(body, requestId=f"{body['requestId']}-B")
    changed.update(changes)
    return changed


def trust_of(stack, directory_id, trust_id):
    (trust,) = stack.client("ds").describe_trusts(DirectoryId=directory_id, TrustIds=[trust_id])["Trusts"]
    return trust


def test_a_verified_trust_whose_selective_auth_differs_is_updated_in_place_and_verified_again(stack, directory_id, secret):
    body, trust_id = verified_trust(stack, directory_id, secret)
    stack.control("calls", method="DELETE")
    run = stack.run(event(again(body, selectiveAuth="Enabled")))
    assert run.status == "SUCCEEDED"
    assert run.states_entered()[:4] == ["ValidateRequest", "ChooseAction", "CreateTrust", "PollTrust"]
    assert run.output["plan"]["action"] == "Update"
    assert run.output["status"]["trustId"] == trust_id and run.output["status"]["trustState"] == "Verified"
    # The same trust, changed in place: UpdateTrust, no new trust, nothing deleted, no password read.
    assert [c["status"] for c in calls(stack, "UpdateTrust")] == ["200"]
    assert calls(stack, "CreateTrust") == [] and calls(stack, "DeleteTrust") == [] and calls(stack, "GetSecretValue") == []
    assert trust_of(stack, directory_id, trust_id)["SelectiveAuth"] == "Enabled"
    (result,) = run.events
    assert result["detail-type"] == "Trust Verified"
    assert result["detail"]["changes"] == [{"setting": "selectiveAuth", "from": "Disabled", "to": "Enabled"}]
    assert "was changed in place and is verified" in run.messages[0]["Message"]
    assert "Changed in place: selective authentication: Disabled -> Enabled" in run.messages[0]["Message"]
    assert_no_password_anywhere(stack, run)


def test_the_same_request_again_after_an_update_is_already_in_place(stack, directory_id, secret):
    body, trust_id = verified_trust(stack, directory_id, secret)
    assert stack.run(event(again(body, selectiveAuth="Enabled"))).status == "SUCCEEDED"
    stack.control("calls", method="DELETE")
    run = stack.run(event(again(again(body), selectiveAuth="Enabled")))
    assert run.output["plan"]["action"] == "AlreadyInPlace"
    assert calls(stack, "UpdateTrust") == []
    assert [e["detail"]["outcome"] for e in run.events] == ["alreadyInPlace"]


def test_an_update_aws_fails_is_reported_failed_with_its_state_and_the_trust_is_left_in_place(stack, directory_id, secret):
    body, trust_id = verified_trust(stack, directory_id, secret, scenario="update-fails")
    run = stack.run(event(again(body, selectiveAuth="Enabled")))
    assert run.status == "FAILED"
    assert run.output is None or run.output.get("status", {}).get("trustState") in (None, "UpdateFailed")
    (result,) = run.events
    assert result["detail"]["outcome"] == "failed"
    assert result["detail"]["trustState"] == "UpdateFailed" and result["detail"]["trustId"] == trust_id
    assert result["detail"]["trustDeleted"] is False
    assert result["detail"]["remedy"]["code"] == "unknown"
    message = run.messages[0]["Message"]
    assert "Requested changes: selective authentication: Disabled -> Enabled" in message
    # Only a trust this workflow created is ever deleted: the updated one stays.
    assert trust_of(stack, directory_id, trust_id)["TrustState"] == "UpdateFailed"


def test_new_forwarder_addresses_update_the_forwarder_and_leave_the_trust_untouched(stack, directory_id, secret):
    body, trust_id = verified_trust(stack, directory_id, secret)
    stack.control("calls", method="DELETE")
    run = stack.run(event(again(body, conditionalForwarderIpAddrs=["172.16.10.154", "172.16.10.155"])))
    assert run.status == "SUCCEEDED" and run.output["plan"]["action"] == "Update"
    (forwarder,) = stack.client("ds").describe_conditional_forwarders(
        DirectoryId=directory_id, RemoteDomainNames=[body["remoteDomainName"]])["ConditionalForwarders"]
    assert sorted(forwarder["DnsIpAddrs"]) == ["172.16.10.154", "172.16.10.155"]
    assert [c["status"] for c in calls(stack, "UpdateConditionalForwarder")] == ["200"]
    assert calls(stack, "UpdateTrust") == []
    assert trust_of(stack, directory_id, trust_id)["TrustState"] == "Verified"
    assert run.events[0]["detail"]["changes"] == [
        {"setting": "forwarderAddresses", "from": ["172.16.10.153"], "to": ["172.16.10.154", "172.16.10.155"]}]


def test_a_change_requested_while_aws_is_still_creating_the_trust_is_refused_and_nothing_changes(stack, directory_id, secret):
    domain = f"life{next(_domains)}.example.com"
    stack.set_scenario(domain, "stuck")
    body = request(directory_id, domain, secret)
    # A trust AWS keeps Creating (made straight through the API: no run is left behind to interfere).
    stack.client("ds").create_trust(DirectoryId=directory_id, RemoteDomainName=domain, TrustPassword="Some-Pw-1!",
                                    TrustDirection="Two-Way", ConditionalForwarderIpAddrs=["172.16.10.153"])
    stack.control("calls", method="DELETE")
    run = stack.run(event(again(body, selectiveAuth="Enabled")))
    assert run.status == "FAILED"
    (result,) = run.events
    assert result["detail"]["outcome"] == "rejected" and result["detail"]["error"]["name"] == "TrustConflict"
    assert "send the request again" in result["detail"]["error"]["message"]
    assert calls(stack, "UpdateTrust") == []


def test_an_update_call_that_keeps_failing_ends_failed_and_the_trust_keeps_its_setting(stack, directory_id, secret):
    body, trust_id = verified_trust(stack, directory_id, secret)
    for operation in ("UpdateTrust", "UpdateConditionalForwarder"):
        stack.control("faults", {"service": "ds", "operation": operation, "error": "ServiceException", "count": 100000})
    try:
        run = stack.run(event(again(body, selectiveAuth="Enabled", conditionalForwarderIpAddrs=["172.16.10.160"])))
    finally:
        stack.control("faults", method="DELETE")
    assert run.status == "FAILED"
    (result,) = run.events
    assert (result["detail"]["outcome"], result["detail"]["error"]["name"]) == ("failed", "Transient")
    assert "UpdateConditionalForwarder" in result["detail"]["error"]["message"]
    assert "Requested changes:" in run.messages[0]["Message"]
    assert trust_of(stack, directory_id, trust_id)["SelectiveAuth"] == "Disabled"


def test_ipv6_forwarder_addresses_alone_make_the_forwarder_and_the_trust(stack, directory_id, secret):
    domain = f"life{next(_domains)}.example.com"
    body = request(directory_id, domain, secret)
    del body["conditionalForwarderIpAddrs"]
    body["conditionalForwarderIpv6Addrs"] = ["fd00:10::53", "FD00:10:0::54"]
    run = stack.run(event(body))
    assert run.status == "SUCCEEDED" and run.output["status"]["trustState"] == "Verified", run.output
    (create,) = calls(stack, "CreateTrust")[-1:]
    (forwarder,) = stack.client("ds").describe_conditional_forwarders(
        DirectoryId=directory_id, RemoteDomainNames=[domain])["ConditionalForwarders"]
    # Normalised by the parser; kept apart from the IPv4 addresses as the API does.
    assert forwarder["DnsIpv6Addrs"] == ["fd00:10::53", "fd00:10::54"] and forwarder["DnsIpAddrs"] == []
    # The same addresses again, spelled otherwise, are not a change.
    stack.control("calls", method="DELETE")
    same = again(body, conditionalForwarderIpv6Addrs=["fd00:10:0:0::54", "fd00:10::53"])
    assert stack.run(event(same)).output["plan"]["action"] == "AlreadyInPlace"
    assert calls(stack, "UpdateConditionalForwarder") == []


def test_a_public_forwarder_without_a_route_is_refused_unless_the_requester_consents_to_add_it(stack, directory_id, secret):
    domain = f"life{next(_domains)}.example.com"
    body = request(directory_id, domain, secret, conditionalForwarderIpAddrs=["172.16.10.153", "198.51.100.77"])
    refused = stack.run(event(body))
    (result,) = refused.events
    assert result["detail-type"] == "Trust Request Rejected"
    message = refused.messages[0]["Message"]
    assert "conditionalForwarderIpAddrs[1]" in message and "198.51.100.77" in message and "addIpRoutes" in message
    assert calls(stack, "CreateTrust") == [] and calls(stack, "AddIpRoutes") == []
    routes = stack.client("ds").list_ip_routes(DirectoryId=directory_id)["IpRoutesInfo"]
    assert "198.51.100.77/32" not in [r["CidrIp"] for r in routes]

    stack.control("calls", method="DELETE")
    run = stack.run(event(again(body, addIpRoutes=True)))
    assert run.status == "SUCCEEDED" and run.output["status"]["trustState"] == "Verified", run.output
    assert run.output["plan"]["ipRoutes"] == ["198.51.100.77/32"]
    routes = stack.client("ds").list_ip_routes(DirectoryId=directory_id)["IpRoutesInfo"]
    assert [r["CidrIp"] for r in routes].count("198.51.100.77/32") == 1
    operations = [c["operation"] for c in stack.control("calls", method="GET")["calls"]]
    assert operations.index("AddIpRoutes") < operations.index("CreateTrust")
