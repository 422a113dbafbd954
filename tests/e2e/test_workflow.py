"""End to end: the real ASL, run by moto's Step Functions interpreter, calling the real Rust
Lambdas through cargo lambda, which call the emulated AWS over HTTP. One test per path."""

import itertools
import json
import re

import pytest

from local_stack import ROOT

CANARY = "Canary-Trust-Pw-9f31!"
_ids = itertools.count(1)


def request(directory_id, domain, secret, **overrides):
    body = {
        "requestId": f"REQ-{next(_ids)}",
        "directoryId": directory_id,
        "remoteDomainName": domain,
        "trustDirection": "Two-Way",
        "conditionalForwarderIpAddrs": ["172.16.10.153"],
        "trustPassword": {"secretId": secret},
    }
    body.update(overrides)
    return body


def event(detail):
    return {"version": "0", "id": "e", "detail-type": "Trust Requested", "source": "portal.identity",
            "account": "123456789012", "time": "2026-11-24T00:00:00Z", "region": "us-east-1", "resources": [], "detail": detail}


def assert_no_password_anywhere(stack, run):
    for where, text in [("history", json.dumps(run.history, default=str)), ("output", json.dumps(run.output)),
                        ("SNS messages", json.dumps(run.messages)), ("result events", json.dumps(run.events)),
                        ("Lambda logs", stack.lambda_logs())]:
        assert CANARY not in text, f"the trust password leaked into the {where}"


def sns_bodies(run):
    return [m["Message"] for m in run.messages]


def detail_types(run):
    return [e["detail-type"] for e in run.events]


def polls(run, state):
    """How many times a Task state ran (first attempt plus retries)."""
    entered = False
    count = 0
    for e in run.history:
        if "stateEnteredEventDetails" in e:
            entered = e["stateEnteredEventDetails"]["name"] == state
        elif e["type"] == "TaskScheduled" and entered:
            count += 1
    return count


def test_verifies_a_new_two_way_trust(stack, directory_id, secret):
    run = stack.run(event(request(directory_id, "verifies.example.com", secret)))
    assert run.status == "SUCCEEDED"
    assert run.states_entered() == ["ValidateRequest", "ChooseAction", "CreateTrust", "PollTrust", "RouteOnStatus", "NotifyOutcome", "Finish", "TrustReady"]
    assert run.output["status"]["trustState"] == "Verified"
    assert detail_types(run) == ["Trust Verified"]
    assert run.events[0]["detail"]["requestId"] == run.output["plan"]["request"]["requestId"]
    assert "is verified and ready to use" in sns_bodies(run)[0]
    # One poll costs one state transition: every retry is a new TaskScheduled inside a single PollTrust state.
    assert run.states_entered().count("PollTrust") == 1
    assert polls(run, "PollTrust") >= 2
    assert_no_password_anywhere(stack, run)


def test_an_existing_verified_trust_is_reported_in_place_and_not_touched(stack, directory_id, secret):
    first = stack.run(event(request(directory_id, "again.example.com", secret)))
    assert first.status == "SUCCEEDED"
    trust_id = first.output["status"]["trustId"]
    stack.control("calls", method="DELETE")
    second = stack.run(event(request(directory_id, "Again.Example.com.", secret)))
    assert second.status == "SUCCEEDED"
    assert "CreateTrust" not in second.states_entered()
    assert detail_types(second) == ["Trust Already In Place"]
    assert second.events[0]["detail"]["trustId"] == trust_id
    operations = [c["operation"] for c in stack.control("calls", method="GET")["calls"]]
    assert "CreateTrust" not in operations and "GetSecretValue" not in operations


def test_a_duplicate_event_adopts_the_trust_being_created(stack, directory_id, secret):
    stack.set_scenario("dup.example.com", "stuck")
    body = request(directory_id, "dup.example.com", secret)
    first = stack.run(event(body), timeout=120)  # ends timed out, leaving the trust in Creating
    second = stack.run(event(body), timeout=120)
    assert "CreateTrust" not in second.states_entered() and "PollTrust" in second.states_entered()
    assert second.events[0]["detail"]["trustId"] == first.events[0]["detail"]["trustId"]
    trusts = stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"]
    assert sum(1 for t in trusts if t["RemoteDomainName"] == "dup.example.com") == 1


def test_a_stuck_trust_times_out_with_a_notification(stack, directory_id, secret):
    stack.set_scenario("stuck.example.com", "stuck")
    run = stack.run(event(request(directory_id, "stuck.example.com", secret)), timeout=120)
    assert run.status == "FAILED"
    assert run.states_entered()[-1] == "TrustNotEstablished"
    assert detail_types(run) == ["Trust Timed Out"]
    assert "was not ready before the workflow's deadline" in sns_bodies(run)[0]


def test_wrong_password_awaits_the_remote_side_then_gives_up_with_the_remedy(stack, directory_id, secret):
    stack.set_scenario("wrongpw.example.com", "wrong-password")
    run = stack.run(event(request(directory_id, "wrongpw.example.com", secret)), timeout=120)
    assert run.status == "FAILED"
    assert "NotifyAwaitingRemoteSide" in run.states_entered() and "AwaitRemoteSide" in run.states_entered()
    assert detail_types(run) == ["Trust Awaiting Remote Side", "Trust Remote Side Timed Out"]
    awaiting, final = sns_bodies(run)
    assert "CreateLocalSideOfTrustRelationship(\"aws.example.com\", \"Bidirectional\"" in awaiting
    assert "Access is denied" in final and "same trust password" in final
    assert run.events[1]["detail"]["remedy"]["code"] == "access-denied"
    calls = stack.control("calls", method="GET")["calls"]
    assert any(c["operation"] == "VerifyTrust" for c in calls)
    assert_no_password_anywhere(stack, run)


def test_remote_side_configured_late_is_verified_after_reverification(stack, directory_id, secret):
    stack.set_scenario("late.example.com", "remote-late", remoteReadyAfterUnits=6)
    run = stack.run(event(request(directory_id, "late.example.com", secret)), timeout=120)
    assert run.status == "SUCCEEDED", run.states_entered()
    assert detail_types(run) == ["Trust Awaiting Remote Side", "Trust Verified"]
    # Re-verification costs one transition per attempt: AwaitRemoteSide is entered once.
    assert run.states_entered().count("AwaitRemoteSide") == 1
    assert polls(run, "AwaitRemoteSide") >= 2


def test_unreachable_domain_fails_is_cleaned_up_and_explained(stack, directory_id, secret):
    stack.set_scenario("unreachable.example.com", "unreachable")
    run = stack.run(event(request(directory_id, "unreachable.example.com", secret)))
    assert run.status == "FAILED"
    assert "CleanUpFailedTrust" in run.states_entered()
    assert detail_types(run) == ["Trust Failed"]
    assert run.events[0]["detail"]["remedy"]["code"] == "domain-unreachable"
    assert run.events[0]["detail"]["trustDeleted"] is True
    body = sns_bodies(run)[0]
    assert "could not be contacted" in body and "security group" in body
    trusts = stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"]
    assert all(t["RemoteDomainName"] != "unreachable.example.com" or t["TrustState"] in ("Deleting", "Deleted") for t in trusts)


def test_netbios_clash_fails_with_its_remedy(stack, directory_id, secret):
    stack.set_scenario("clash.example.com", "netbios-clash")
    run = stack.run(event(request(directory_id, "clash.example.com", secret)))
    assert run.status == "FAILED"
    assert run.events[0]["detail"]["remedy"]["code"] == "netbios-overlap"


def test_an_incoming_trust_is_announced_created_not_verified_with_the_on_premises_steps(stack, directory_id, secret):
    run = stack.run(event(request(directory_id, "incoming.example.com", secret, trustDirection="incoming")))
    assert run.status == "SUCCEEDED"
    assert run.output["status"]["trustState"] == "Created"
    # AWS never verifies a one-way incoming trust: nothing may claim it did.
    assert detail_types(run) == ["Trust Created"]
    assert run.events[0]["detail"]["outcome"] == "created" and run.events[0]["detail"]["trustState"] == "Created"
    body = sns_bodies(run)[0]
    assert "verified" not in body.lower()
    assert "is created on the AWS side. AWS does not verify one-way incoming trusts" in body
    # The on-premises administrator is told to create the outgoing side.
    assert "One-way: outgoing" in body and '"Outbound"' in body


def test_invalid_request_is_rejected_with_every_reason_and_changes_nothing(stack, directory_id, secret):
    stack.control("calls", method="DELETE")
    bad = request(directory_id, "corp", secret, conditionalForwarderIpAddrs=["127.0.0.1"], notify={"topicArn": stack.request_topic_arn})
    run = stack.run(event(bad))
    assert run.status == "FAILED"
    assert run.states_entered() == ["ValidateRequest", "NotifyRejection", "Finish", "TrustRequestRejected"]
    assert detail_types(run) == ["Trust Request Rejected"]
    body = sns_bodies(run)[0]
    assert "remoteDomainName: must be a multi-label fully qualified domain name" in body and '(got "corp")' in body
    assert "conditionalForwarderIpAddrs[0]: must not be a loopback address" in body
    # Rejections are not retried, and nothing was read or created.
    assert polls(run, "ValidateRequest") == 1
    operations = {c["operation"] for c in stack.control("calls", method="GET")["calls"]}
    assert not operations & {"CreateTrust", "GetSecretValue", "DescribeTrusts"}


def test_a_password_pasted_into_the_request_is_never_echoed(stack, directory_id, secret):
    bad = request(directory_id, "paste.example.com", secret)
    bad["trustPassword"] = CANARY
    run = stack.run(event(bad))
    assert run.status == "FAILED"
    assert "value withheld" in sns_bodies(run)[0]
    # The execution input itself holds it (the requester put it there); nothing the workflow produced does.
    produced = [e for e in run.history if e["type"] != "ExecutionStarted"]
    for e in produced:
        if "stateEnteredEventDetails" in e and e["stateEnteredEventDetails"]["name"] == "ValidateRequest":
            continue
        text = json.dumps(e, default=str)
        if CANARY in text:
            # Only states that carry the raw input onward may hold it: the rejection notification's input.
            assert e.get("stateEnteredEventDetails", {}).get("name") == "NotifyOutcome" or e["type"] in ("TaskScheduled", "TaskStateExited", "ChoiceStateEntered", "ChoiceStateExited", "FailStateEntered", "TaskStateEntered"), e["type"]
    assert CANARY not in json.dumps(run.messages) and CANARY not in json.dumps(run.events)


def test_a_missing_json_key_fails_clearly_and_creates_nothing(stack, directory_id):
    stack.put_secret("trustflow/json-secret", json.dumps({"user": "x", "pw": CANARY}))
    run = stack.run(event(request(directory_id, "jsonkey.example.com", "trustflow/json-secret",
                                  trustPassword={"secretId": "trustflow/json-secret", "jsonKey": "password"})))
    assert run.status == "FAILED"
    assert detail_types(run) == ["Trust Request Rejected"]
    assert 'has no key "password"' in sns_bodies(run)[0]
    trusts = stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"]
    assert all(t["RemoteDomainName"] != "jsonkey.example.com" for t in trusts)
    assert_no_password_anywhere(stack, run)


def test_a_json_key_secret_creates_the_trust(stack, directory_id):
    stack.put_secret("trustflow/json-ok", json.dumps({"password": CANARY}))
    run = stack.run(event(request(directory_id, "jsonok.example.com", "trustflow/json-ok",
                                  trustPassword={"secretId": "trustflow/json-ok", "jsonKey": "password"})))
    assert run.status == "SUCCEEDED"
    assert_no_password_anywhere(stack, run)


def test_transient_faults_are_retried_until_they_pass(stack, directory_id, secret):
    stack.control("faults", {"service": "ds", "operation": "CreateTrust", "error": "ServiceException", "count": 4, "bodyContains": "faulty.example.com"})
    run = stack.run(event(request(directory_id, "faulty.example.com", secret)))
    assert run.status == "SUCCEEDED"
    assert polls(run, "CreateTrust") >= 2, "the SDK's own retries absorb 3; the state machine retried the rest"
    trusts = stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"]
    assert sum(1 for t in trusts if t["RemoteDomainName"] == "faulty.example.com") == 1


def test_every_substitution_in_the_asl_is_in_the_template_and_every_function_is_used(stack):
    asl = (ROOT / "statemachine" / "trust_workflow.asl.json").read_text()
    template = (ROOT / "template.yaml").read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", asl))
    block = template.split("DefinitionSubstitutions:")[1].split("Tracing:")[0]
    defined = set(re.findall(r"^\s+(\w+):", block, re.M))
    assert placeholders == defined
    # What the stack made of them: nothing left to substitute, and every Task invokes a function of the stack.
    machine = stack.stack.state_machine
    assert "${" not in machine.definition
    json.loads(machine.definition)
    assert machine.tasks and None not in machine.tasks.values(), machine.task_targets
    # Every function of the stack is used: by the workflow, as a rule's target (the "Trust Requested" rule's:
    # the entrance; the health check's schedule), or by the API.
    entrance = set()
    for rule in stack.stack.rules.values():
        for target in rule.targets:
            function = stack.stack.function_by_arn(target["Arn"])
            assert function is not None, f"the rule {rule.logical_id} targets {target['Arn']}, not a function of the stack"
            entrance.add(function.logical_id)
    assert {stack.stack.function_by_arn(t["Arn"]).logical_id for t in stack.request_rule.targets} == {"SubmitRequestFunction"}
    api_body = json.dumps(stack.stack.transformed["Resources"]["TrustApi"]["Properties"]["Body"])
    api = set(re.findall(r"\$\{(\w+)\.Arn\}", api_body)) & set(stack.stack.functions)
    assert set(machine.tasks.values()) | entrance | api == set(stack.stack.functions)


def test_result_events_match_the_published_schema(stack, directory_id, secret):
    import jsonschema

    schema = json.loads((ROOT / "schemas" / "trust-result.schema.json").read_text())
    stack.set_scenario("schema.example.com", "wrong-password")
    run = stack.run(event(request(directory_id, "schema.example.com", secret)), timeout=120)
    rejected = stack.run(event(request(directory_id, "corp", secret)))
    assert len(run.events) == 2 and len(rejected.events) == 1
    for result in run.events + rejected.events:
        jsonschema.validate(result["detail"], schema)


def test_every_log_line_of_a_run_is_json_with_a_timestamp_a_level_and_the_runs_ids(stack, directory_id, secret):
    from datetime import datetime

    body = request(directory_id, "logs.example.com", secret)
    run = stack.run(event(body))
    assert run.status == "SUCCEEDED" and polls(run, "PollTrust") >= 2
    lines = []
    for text in stack.lambda_logs().splitlines():
        if text.startswith("{") and run.execution_arn in text:
            lines.append(json.loads(text))
    # validate, create, each poll, notify: every line of the run names it, and its request.
    assert len(lines) >= 4, lines
    for line in lines:
        assert datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).tzinfo is not None, line
        assert line["level"] in ("INFO", "WARN", "ERROR"), line
        assert line["executionId"] == run.execution_arn and line["requestId"] == body["requestId"], line
        assert line["lambdaRequestId"], line
        assert "fields" not in line and "spans" not in line, line
    # Polling is progress, not an error: no ERROR line at all in a run that went well.
    assert [line for line in lines if line["level"] == "ERROR"] == []
    assert any(line.get("error_name") == "TrustPending" and line["level"] == "INFO" for line in lines)
