"""Removing a trust (issue 13): by event, API or execution, DeleteTrust with or without the
conditional forwarder, followed until the trust is gone, idempotent, and told like any outcome."""

import itertools
import json

from test_lifecycle import calls, verified_trust

_ids = itertools.count(1)


def removal(directory_id, domain, **fields):
    return {"requestId": f"RM-{next(_ids)}", "directoryId": directory_id, "remoteDomainName": domain, **fields}


def trusts_for(stack, directory_id, domain):
    return [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"]
            if t["RemoteDomainName"].lower() == domain and t["TrustState"] != "Deleted"]


def forwarder_for(stack, directory_id, domain):
    try:
        (forwarder,) = stack.client("ds").describe_conditional_forwarders(
            DirectoryId=directory_id, RemoteDomainNames=[domain])["ConditionalForwarders"]
        return forwarder["DnsIpAddrs"]
    except stack.client("ds").exceptions.EntityDoesNotExistException:
        return None


def test_removing_a_trust_deletes_it_keeps_its_forwarder_by_default_and_says_so(stack, directory_id, secret):
    body, trust_id = verified_trust(stack, directory_id, secret)
    domain = body["remoteDomainName"]
    stack.control("calls", method="DELETE")
    run = stack.run({"removal": removal(directory_id, domain)})
    assert run.status == "SUCCEEDED"
    assert run.states_entered() == ["ValidateRequest", "ChooseAction", "RemoveTrust", "NotifyOutcome", "Finish", "TrustReady"]
    assert trusts_for(stack, directory_id, domain) == []
    assert forwarder_for(stack, directory_id, domain) == ["172.16.10.153"]
    assert [c["status"] for c in calls(stack, "DeleteTrust")] == ["200"], "deleted once, then followed"
    (result,) = run.events
    assert result["detail-type"] == "Trust Removed"
    detail = result["detail"]
    assert (detail["outcome"], detail["trustId"], detail["trustDeleted"], detail["conditionalForwarderDeleted"]) == ("removed", trust_id, True, False)
    assert "is removed" in run.messages[0]["Message"] and "kept" in run.messages[0]["Message"]


def test_removing_with_the_forwarder_deletes_both(stack, directory_id, secret):
    body, _ = verified_trust(stack, directory_id, secret)
    domain = body["remoteDomainName"]
    run = stack.run({"removal": removal(directory_id, domain, deleteConditionalForwarder=True)})
    assert run.status == "SUCCEEDED"
    assert trusts_for(stack, directory_id, domain) == []
    assert forwarder_for(stack, directory_id, domain) is None
    assert run.events[0]["detail"]["conditionalForwarderDeleted"] is True
    assert "deleted with the trust" in run.messages[0]["Message"]


def test_removing_what_is_already_gone_is_a_success_that_says_so_and_deletes_nothing(stack, directory_id, secret):
    stack.control("calls", method="DELETE")
    run = stack.run({"removal": removal(directory_id, "never-there.example.com")})
    assert run.status == "SUCCEEDED"
    assert "RemoveTrust" not in run.states_entered()
    assert calls(stack, "DeleteTrust") == []
    (result,) = run.events
    assert (result["detail-type"], result["detail"]["outcome"], result["detail"]["trustDeleted"]) == ("Trust Already Removed", "alreadyRemoved", False)
    assert "nothing to remove" in run.messages[0]["Message"]


def test_a_removal_event_runs_under_its_request_id_and_its_status_reads_removed(stack, directory_id, secret):
    body, _ = verified_trust(stack, directory_id, secret)
    request = removal(directory_id, body["remoteDomainName"])
    entries = stack.client("events").put_events(Entries=[{"EventBusName": stack.bus_name, "Source": "portal.identity",
                                                          "DetailType": "Trust Removal Requested", "Detail": json.dumps(request)}])
    assert entries["FailedEntryCount"] == 0
    run = stack.follow(stack.wait_for_execution(f"trust-{request['requestId']}"))
    assert run.status == "SUCCEEDED"
    status, text = stack.api_call("GET", f"/trust-requests/{request['requestId']}")
    assert status == 200 and json.loads(text)["status"] == "removed", text


def test_a_removal_posted_to_the_api_is_started_and_a_broken_one_is_refused_naming_the_field(stack, directory_id, secret):
    body, _ = verified_trust(stack, directory_id, secret)
    request = removal(directory_id, body["remoteDomainName"])
    status, text = stack.api_call("POST", "/trust-removals", request)
    assert status == 202, text
    assert stack.follow(stack.wait_for_execution(f"trust-{request['requestId']}")).status == "SUCCEEDED"
    broken = removal(directory_id, body["remoteDomainName"], deleteConditionalForwarder="yes")
    status, text = stack.api_call("POST", "/trust-removals", broken)
    assert status == 400, text
    assert json.loads(text)["errors"][0]["field"] == "deleteConditionalForwarder"
    assert stack.executions_named(f"trust-{broken['requestId']}") == []


def test_a_broken_removal_event_is_answered_rejected_to_its_requester(stack, directory_id, secret):
    request = removal(directory_id, "corp.example.com", directoryId="d-XYZ")
    run = stack.run({"removal": request})
    assert run.status == "FAILED"
    (result,) = run.events
    assert (result["detail"]["outcome"], result["detail"]["requestId"]) == ("rejected", request["requestId"])
    assert "directoryId" in result["detail"]["error"]["message"]


def test_a_delete_trust_that_keeps_failing_ends_in_failed_and_claims_nothing_deleted(stack, directory_id, secret):
    body, trust_id = verified_trust(stack, directory_id, secret)
    stack.control("faults", {"service": "ds", "operation": "DeleteTrust", "error": "ServiceException", "count": 1000})
    try:
        run = stack.run({"removal": removal(directory_id, body["remoteDomainName"])})
    finally:
        stack.control("faults", method="DELETE")
    assert run.status == "FAILED"
    (result,) = run.events
    assert (result["detail"]["outcome"], result["detail"]["trustDeleted"]) == ("failed", False)
    assert result["detail"]["error"]["name"] == "Transient"
    assert len(trusts_for(stack, directory_id, body["remoteDomainName"])) == 1
    assert "was not removed" in run.messages[0]["Message"]
