"""What a requester is told is true, through the real entrance, state machine and Lambdas: one
execution per request id whichever way it came, replacements that never destroy a working trust
for nothing, JSON secrets, one-way incoming trusts, and messages that keep each rule whole."""

import itertools
import json
import time

from test_workflow import CANARY, assert_no_password_anywhere, detail_types, event, request, sns_bodies

_n = itertools.count(1)


def fresh(directory_id, secret, **overrides):
    n = next(_n)
    return request(directory_id, f"t{n}.truth.example", secret, **{"requestId": f"TRUTH-{n}", **overrides})


def wait_for_calls(stack, operation, count, timeout=60):
    deadline = time.time() + timeout
    while True:
        calls = [c for c in stack.control("calls", method="GET")["calls"] if c["operation"] == operation]
        if len(calls) >= count:
            return calls
        assert time.time() < deadline, f"only {len(calls)} {operation} calls after {timeout}s"
        time.sleep(0.3)


def trusts_for(stack, directory_id, domain):
    return [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["RemoteDomainName"] == domain]


# --- 1. One entrance, named by the request id ---

def test_an_event_delivered_twice_makes_one_execution_one_trust_and_one_notification_per_outcome(stack, directory_id, secret):
    body = fresh(directory_id, secret)
    stack.clear_captures()
    stack.control("calls", method="DELETE")
    stack.put_request_event(body)
    stack.put_request_event(body)
    wait_for_calls(stack, "StartExecution", 2)
    run = stack.follow(stack.wait_for_execution(f"trust-{body['requestId']}"))
    assert run.status == "SUCCEEDED"
    assert [e["name"] for e in stack.executions_named(f"trust-{body['requestId']}")] == [f"trust-{body['requestId']}"]
    assert len(trusts_for(stack, directory_id, body["remoteDomainName"])) == 1
    assert detail_types(run) == ["Trust Verified"]
    assert len(sns_bodies(run)) == 1
    # The execution's input is the request itself, so a POST of it is the same request.
    status, text = stack.api_call("POST", "/trust-requests", body)
    assert status == 202 and "nothing new was started" in json.loads(text)["message"], text
    assert_no_password_anywhere(stack, run)


def test_an_event_and_a_post_with_the_same_request_make_one_execution_and_get_follows_it(stack, directory_id, secret):
    body = fresh(directory_id, secret)
    stack.clear_captures()
    stack.control("calls", method="DELETE")
    status, text = stack.api_call("POST", "/trust-requests", body)
    assert status == 202, text
    stack.put_request_event(body)
    wait_for_calls(stack, "StartExecution", 2)
    run = stack.follow(json.loads(text)["executionArn"])
    assert run.status == "SUCCEEDED"
    assert len(stack.executions_named(f"trust-{body['requestId']}")) == 1
    assert detail_types(run) == ["Trust Verified"]
    status, text = stack.api_call("GET", f"/trust-requests/{body['requestId']}")
    assert status == 200, text
    answer = json.loads(text)
    assert (answer["status"], answer["trustState"]) == ("verified", "Verified")


def test_get_follows_a_request_sent_only_as_an_event(stack, directory_id, secret):
    body = fresh(directory_id, secret)
    stack.set_scenario(body["remoteDomainName"], "remote-late", remoteReadyAfterUnits=6)
    stack.put_request_event(body)
    seen = []
    deadline = time.time() + 120
    while True:
        status, text = stack.api_call("GET", f"/trust-requests/{body['requestId']}")
        if status == 200:
            seen.append(json.loads(text)["status"])
            if seen[-1] not in ("running", "awaitingRemoteSide"):
                break
        else:
            assert status == 404, text  # the entrance has not started it yet
        assert time.time() < deadline, seen
        time.sleep(0.3)
    assert seen[-1] == "verified" and "awaitingRemoteSide" in seen, seen


def test_an_event_without_a_usable_request_id_is_still_answered_with_a_rejection(stack, directory_id, secret):
    stack.clear_captures()
    stack.control("calls", method="DELETE")
    for request_id in ("has spaces and !", None):
        body = fresh(directory_id, secret, requestId=request_id)
        if request_id is None:
            del body["requestId"]
        stack.put_request_event(body)
    calls = wait_for_calls(stack, "StartExecution", 2)
    names = sorted(e["name"] for e in stack.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn, maxResults=50)["executions"]
                   if e["name"].startswith("event-"))
    assert len(names) >= 2 and all(c["status"] == "200" for c in calls)
    rejected = []
    deadline = time.time() + 60
    while len(rejected) < 2:
        rejected += [e for e in stack.drain(stack.events_queue) if e["detail-type"] == "Trust Request Rejected"]
        assert time.time() < deadline, rejected
    messages = sorted(e["detail"]["error"]["message"] for e in rejected)
    assert any('requestId: must be 1 to 64 characters of letters, digits' in m and '(got "has spaces and !")' in m for m in messages), messages
    assert any("requestId: is required" in m for m in messages), messages
    assert all(e["detail"]["requestId"] is None for e in rejected)


# --- 2. Replacing never destroys a working trust for nothing ---

def existing_outgoing_trust(stack, directory_id, secret):
    body = fresh(directory_id, secret, trustDirection="One-Way: Outgoing")
    first = stack.run(event(body))
    assert first.status == "SUCCEEDED"
    return body, first.output["status"]["trustId"]


def test_a_replacement_whose_secret_is_binary_rejects_before_touching_the_working_trust(stack, directory_id, secret):
    old_body, old_id = existing_outgoing_trust(stack, directory_id, secret)
    binary = f"trustflow/binary-replace-{next(_n)}"
    stack.client("secretsmanager").create_secret(Name=binary, SecretBinary=CANARY.encode())
    stack.control("calls", method="DELETE")
    replace = dict(old_body, requestId=f"TRUTH-R{next(_n)}", trustDirection="Two-Way", onExistingTrust="replace",
                   trustPassword={"secretId": binary})
    run = stack.run(event(replace))
    assert run.status == "FAILED"
    operations = [c["operation"] for c in stack.control("calls", method="GET")["calls"]]
    assert "DeleteTrust" not in operations and "CreateTrust" not in operations
    remaining = trusts_for(stack, directory_id, old_body["remoteDomainName"])
    assert [(t["TrustId"], t["TrustDirection"], t["TrustState"]) for t in remaining] == [(old_id, "One-Way: Outgoing", "Verified")]
    assert detail_types(run) == ["Trust Request Rejected"]
    detail = run.events[0]["detail"]
    assert (detail["trustDeleted"], detail["trustId"], detail["trustState"]) == (False, None, None)
    assert detail["replacedTrust"] == {"trustId": old_id, "trustType": "Forest", "trustDirection": "One-Way: Outgoing", "deleted": False}
    body = sns_bodies(run)[0]
    assert "was rejected" in body and "Trust: (none)\nState: (unknown)\n" in body
    assert f"Trust it replaces: {old_id} (One-Way: Outgoing Forest, Verified when the request was checked): not deleted, still in place" in body
    assert "holds binary data" in body
    assert_no_password_anywhere(stack, run)


def test_a_replacement_aws_refuses_after_the_deletion_says_plainly_that_the_old_trust_is_gone(stack, directory_id, secret):
    old_body, old_id = existing_outgoing_trust(stack, directory_id, secret)
    domain = old_body["remoteDomainName"]
    stack.control("faults", {"service": "ds", "operation": "CreateTrust", "error": "InvalidParameterException", "bodyContains": domain,
                             "message": "The conditional forwarder could not be created."})
    replace = dict(old_body, requestId=f"TRUTH-R{next(_n)}", trustDirection="Two-Way", onExistingTrust="replace")
    run = stack.run(event(replace))
    assert run.status == "FAILED"
    # DeleteTrust was accepted: the old trust is on its way out (Deleting, then gone), and nothing replaced it.
    assert {(t["TrustId"], t["TrustState"]) for t in trusts_for(stack, directory_id, domain)} <= {(old_id, "Deleting"), (old_id, "Deleted")}
    assert detail_types(run) == ["Trust Failed"]
    detail = run.events[0]["detail"]
    assert detail["trustDeleted"] is True and detail["trustId"] is None
    assert detail["replacedTrust"] == {"trustId": old_id, "trustType": "Forest", "trustDirection": "One-Way: Outgoing", "deleted": True}
    assert detail["error"]["name"] == "ReplacementNotCreated"
    body = sns_bodies(run)[0]
    assert f"the existing trust {old_id} (One-Way: Outgoing Forest) with {domain} was deleted to make way for the requested Two-Way Forest trust, but the new trust was not created" in body
    assert "The conditional forwarder could not be created." in body
    assert f"No trust with {domain} exists on {directory_id} now: the old trust was deleted and the new one was not created." in body
    assert "State: Verified" not in body
    assert_no_password_anywhere(stack, run)


# --- 3. A JSON secret without jsonKey ---

def test_a_json_secret_without_json_key_is_refused_before_create_trust_naming_its_keys_only(stack, directory_id):
    name = f"trustflow/json-nokey-{next(_n)}"
    stack.put_secret(name, json.dumps({"username": "svc-trust", "password": CANARY}))
    body = fresh(directory_id, name)
    stack.control("calls", method="DELETE")
    run = stack.run(event(body))
    assert run.status == "FAILED"
    assert "CreateTrust" not in [c["operation"] for c in stack.control("calls", method="GET")["calls"]]
    assert detail_types(run) == ["Trust Request Rejected"]
    message = run.events[0]["detail"]["error"]["message"]
    assert message.startswith("trustPassword.jsonKey: is required")
    assert 'keys: "password", "username"' in message and name in message
    assert "svc-trust" not in json.dumps(run.events) + json.dumps(run.messages)
    assert trusts_for(stack, directory_id, body["remoteDomainName"]) == []
    assert_no_password_anywhere(stack, run)


# --- 5. Messages ---

def test_each_rule_stays_whole_and_states_its_value_once(stack, directory_id, secret):
    bad = fresh(directory_id, secret, requestedBy="x" * 300, requestId="TRUTH-a;b",
                conditionalForwarderIpAddrs=["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"])
    run = stack.run(event(bad))
    assert run.status == "FAILED"
    body = sns_bodies(run)[0]
    rules = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(rules) == 3, body
    assert rules[0].startswith("- requestId: must be 1 to 64 characters") and rules[0].endswith('(got "TRUTH-a;b")')
    forwarders = [r for r in rules if r.startswith("- conditionalForwarderIpAddrs:")]
    assert len(forwarders) == 1 and forwarders[0].count("got") == 1, forwarders
    assert "must list 1 to 4 DNS server addresses (or be omitted where a conditional forwarder for the domain exists), not 5" in forwarders[0]
