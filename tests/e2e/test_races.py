"""Duplicates and races: exactly one trust per pair of domains, and every requester told."""

import itertools
import json
import time
import uuid

from test_workflow import event, request

_n = itertools.count(1)


def run_together(stack, bodies, timeout=180):
    """Starts executions at the same moment; returns their statuses and the result events by request id."""
    sfn = stack.client("stepfunctions")
    arns = [sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=f"race-{uuid.uuid4()}",
                                input=json.dumps(event(body)))["executionArn"] for body in bodies]
    deadline = time.time() + timeout
    statuses = {}
    while len(statuses) < len(arns):
        assert time.time() < deadline, "executions still running"
        for arn in arns:
            status = sfn.describe_execution(executionArn=arn)["status"]
            if status != "RUNNING":
                statuses[arn] = status
        time.sleep(0.3)
    events = {}
    for result in stack.drain(stack.events_queue):
        events.setdefault(result["detail"]["requestId"], []).append(result)
    stack.drain(stack.messages_queue)
    return [statuses[arn] for arn in arns], events


def trusts_for(stack, directory_id, domain):
    return [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["RemoteDomainName"] == domain]


def test_the_same_event_delivered_twice_at_once_makes_one_trust(stack, directory_id, secret):
    domain = f"twice-{next(_n)}.races.example"
    body = request(directory_id, domain, secret)
    statuses, events = run_together(stack, [body, body])
    assert statuses == ["SUCCEEDED", "SUCCEEDED"]
    assert len(trusts_for(stack, directory_id, domain)) == 1
    outcomes = [e["detail-type"] for e in events[body["requestId"]]]
    assert outcomes.count("Trust Verified") + outcomes.count("Trust Already In Place") == 2, outcomes


def test_two_requests_for_the_same_domain_at_once_make_one_trust_and_both_hear(stack, directory_id, secret):
    domain = f"pair-{next(_n)}.races.example"
    first, second = request(directory_id, domain, secret), request(directory_id, domain, secret)
    statuses, events = run_together(stack, [first, second])
    assert statuses == ["SUCCEEDED", "SUCCEEDED"]
    trusts = trusts_for(stack, directory_id, domain)
    assert len(trusts) == 1
    for body in (first, second):
        assert events[body["requestId"]][-1]["detail"]["trustId"] == trusts[0]["TrustId"]


def test_conflicting_requests_at_once_make_one_trust_and_the_other_is_told_why(stack, directory_id, secret):
    domain = f"conflict-{next(_n)}.races.example"
    two_way = request(directory_id, domain, secret)
    incoming = request(directory_id, domain, secret, trustDirection="incoming")
    statuses, events = run_together(stack, [two_way, incoming])
    assert len(trusts_for(stack, directory_id, domain)) == 1
    assert sorted(statuses) == ["FAILED", "SUCCEEDED"]
    finals = sorted(events[b["requestId"]][-1]["detail-type"] for b in (two_way, incoming))
    assert finals == ["Trust Request Rejected", "Trust Verified"], finals
    rejected = next(events[b["requestId"]][-1] for b in (two_way, incoming) if events[b["requestId"]][-1]["detail-type"] == "Trust Request Rejected")
    assert rejected["detail"]["error"]["name"] == "TrustConflict"
