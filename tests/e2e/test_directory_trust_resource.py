"""Trusts as infrastructure as code (issue 19): a portal's stack declares a ``Custom::DirectoryTrust``
whose ServiceToken is trustflow's exported ``DirectoryTrustServiceToken``; CloudFormation (moto's,
with the emulator's custom resource protocol) sends Create, Update and Delete to the function, the
workflow does the work, and the answer comes from the request's result event."""

import itertools
import json
import time
from pathlib import Path

import pytest

from test_removal import trusts_for
from test_workflow import CANARY

_stacks = itertools.count(1)
SETTLED = {"CREATE_COMPLETE", "CREATE_FAILED", "UPDATE_COMPLETE", "UPDATE_FAILED", "DELETE_COMPLETE", "DELETE_FAILED"}


def template(properties, outputs=True):
    body = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"CorpTrust": {"Type": "Custom::DirectoryTrust", "Properties": {
            "ServiceToken": {"Fn::ImportValue": "trustflow-DirectoryTrustServiceToken"}, **properties}}},
    }
    if outputs:
        body["Outputs"] = {name: {"Value": {"Fn::GetAtt": ["CorpTrust", name]}} for name in ("TrustId", "TrustState", "RequestId")}
    return json.dumps(body)


def properties(directory_id, secret, domain, **more):
    return {"DirectoryId": directory_id, "RemoteDomainName": domain, "TrustDirection": "Two-Way",
            "ConditionalForwarderIpAddrs": ["172.16.10.153"], "TrustPasswordSecretId": secret, **more}


def settle(stack, stack_id, timeout=90):
    """Waits until the stack's operation ends; returns its status and its events, oldest first."""
    cfn = stack.client("cloudformation")
    deadline = time.time() + timeout
    while True:
        (described,) = cfn.describe_stacks(StackName=stack_id)["Stacks"]
        if described["StackStatus"] in SETTLED or time.time() > deadline:
            events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
            return described, sorted(events, key=lambda e: e["Timestamp"])
        time.sleep(0.5)


def resource_events(events):
    return [(e["ResourceStatus"], e.get("PhysicalResourceId"), e.get("ResourceStatusReason")) for e in events
            if e["LogicalResourceId"] == "CorpTrust"]


def outputs(described):
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs") or []}


def create(stack, props, outputs=True):
    name = f"portal-{next(_stacks)}"
    stack_id = stack.client("cloudformation").create_stack(StackName=name, TemplateBody=template(props, outputs))["StackId"]
    return stack_id, *settle(stack, stack_id)


def update(stack, stack_id, props):
    stack.client("cloudformation").update_stack(StackName=stack_id, TemplateBody=template(props))
    return settle(stack, stack_id)


def delete(stack, stack_id):
    stack.client("cloudformation").delete_stack(StackName=stack_id)
    return settle(stack, stack_id)


def nothing_secret_leaked(stack):
    """Neither the password nor a response URL is in a log, a history, a notification or an event."""
    told = json.dumps(stack.drain(stack.events_queue) + stack.drain(stack.messages_queue))
    assert "Trust Verified" in told, "the captures saw the trust's result event"
    assert "/_trustflow/cfn-response/" not in told and CANARY not in told
    logs = stack.lambda_logs()
    assert CANARY not in logs
    assert "/_trustflow/cfn-response/" not in logs, "a response URL reached the functions' logs"
    sfn = stack.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]:
        if execution["name"].startswith("trust-cfn-"):
            history = json.dumps(sfn.get_execution_history(executionArn=execution["executionArn"])["events"], default=str)
            assert "/_trustflow/cfn-response/" not in history and CANARY not in history, execution["name"]


def test_a_stack_creates_changes_in_place_replaces_and_deletes_a_trust(stack, directory_id, secret):
    domain = "cfn-lifecycle.example.com"
    stack.set_scenario(domain, "verifies")
    stack.clear_captures()
    stack_id, described, events = create(stack, properties(directory_id, secret, domain, WaitFor="Verified"))
    assert described["StackStatus"] == "CREATE_COMPLETE", resource_events(events)
    (trust,) = trusts_for(stack, directory_id, domain)
    created = outputs(described)
    assert (created["TrustId"], created["TrustState"]) == (trust["TrustId"], "Verified")
    assert created["RequestId"].startswith("cfn-corptrust-")
    assert ("CREATE_COMPLETE", created["RequestId"], None) in resource_events(events), "the physical id is the request id"

    # Selective authentication: changed in place, the same trust and physical id.
    described, events = update(stack, stack_id, properties(directory_id, secret, domain, WaitFor="Verified", SelectiveAuth="Enabled"))
    assert described["StackStatus"] == "UPDATE_COMPLETE", resource_events(events)
    (changed,) = trusts_for(stack, directory_id, domain)
    assert (changed["TrustId"], changed["SelectiveAuth"]) == (trust["TrustId"], "Enabled")
    assert resource_events(events)[-1] == ("UPDATE_COMPLETE", created["RequestId"], None)

    # Another direction: a replacement, a new trust under a new physical id; the old one's Delete
    # finds its trust replaced and deletes nothing more.
    described, events = update(stack, stack_id, properties(directory_id, secret, domain, TrustDirection="One-Way: Outgoing"))
    assert described["StackStatus"] == "UPDATE_COMPLETE", resource_events(events)
    (replaced,) = trusts_for(stack, directory_id, domain)
    assert replaced["TrustId"] != trust["TrustId"] and replaced["TrustDirection"] == "One-Way: Outgoing"
    now = outputs(described)
    assert now["TrustId"] == replaced["TrustId"] and now["RequestId"] != created["RequestId"]
    assert ("DELETE_COMPLETE", created["RequestId"], None) in resource_events(events), "CloudFormation cleaned up the old physical id"

    # Deleting the stack removes the trust.
    described, events = delete(stack, stack_id)
    assert described["StackStatus"] == "DELETE_COMPLETE", resource_events(events)
    assert trusts_for(stack, directory_id, domain) == []
    nothing_secret_leaked(stack)
    answers_owed = stack.client("secretsmanager").list_secrets(Filters=[{"Key": "name", "Values": ["trustflow/cloudformation-answers/"]}])
    assert answers_owed["SecretList"] == [], "every answer owed was sent and forgotten"


def test_properties_that_break_a_rule_fail_the_stack_naming_property_rule_and_value_and_start_nothing(stack, directory_id, secret):
    stack.control("calls", method="DELETE")
    props = properties(directory_id, secret, "cfn-refused.example.com", DirectoryId="d-nope", ConditionalForwarderIpAddrs=["10.0.0.1", "ten"])
    _, described, events = create(stack, props, outputs=False)
    assert described["StackStatus"] == "CREATE_FAILED"
    (failed,) = [reason for status, _, reason in resource_events(events) if status == "CREATE_FAILED"]
    assert "DirectoryId" in failed and '"d-nope"' in failed, failed
    assert 'ConditionalForwarderIpAddrs[1]: must be an IPv4 address in dotted-decimal form, e.g. 172.16.10.153 (got "ten")' in failed, failed
    assert "nothing was created" in failed
    started = [c for c in stack.control("calls", method="GET")["calls"] if c["operation"] == "StartExecution"]
    assert started == [], "a refused request starts no workflow"


def test_a_trust_that_fails_fails_the_stack_with_the_reason_and_the_remedy(stack, directory_id, secret):
    domain = "cfn-unreachable.example.com"
    stack.set_scenario(domain, "unreachable")
    _, described, events = create(stack, properties(directory_id, secret, domain), outputs=False)
    assert described["StackStatus"] == "CREATE_FAILED", resource_events(events)
    (failed,) = [reason for status, _, reason in resource_events(events) if status == "CREATE_FAILED"]
    assert "could not be contacted" in failed and "domain-unreachable" in failed, failed
    assert "the failed trust was deleted" in failed
    # DeleteFailedTrusts: nothing left behind (DeleteTrust is asynchronous: Deleting, then gone).
    assert all(t["TrustState"] in ("Deleting", "Deleted") for t in trusts_for(stack, directory_id, domain))


@pytest.mark.parametrize("wait_for", ["Created", "Verified"])
def test_while_the_remote_side_is_not_ready_created_succeeds_and_verified_fails_before_the_service_timeout(stack, directory_id, secret, wait_for):
    domain = f"cfn-not-ready-{wait_for.lower()}.example.com"
    stack.set_scenario(domain, "remote-late", remoteReadyAfterUnits=100000)
    # ServiceTimeout 36 s: the wait for the remote side ends 5 s after the Create (a re-verification
    # interval of 1 s and 30 s to answer kept back), before the stack's own 12 s window.
    props = properties(directory_id, secret, domain, WaitFor=wait_for, ServiceTimeout="36")
    stack_id, described, events = create(stack, props, outputs=wait_for == "Created")
    if wait_for == "Created":
        assert described["StackStatus"] == "CREATE_COMPLETE", resource_events(events)
        (trust,) = trusts_for(stack, directory_id, domain)
        assert outputs(described)["TrustId"] == trust["TrustId"]
        assert outputs(described)["TrustState"] in ("VerifyFailed", "Verifying"), "its state when AWS had done its side"
        described, events = delete(stack, stack_id)
        assert described["StackStatus"] == "DELETE_COMPLETE", resource_events(events)
        assert trusts_for(stack, directory_id, domain) == []
    else:
        # The workflow gave its verdict before CloudFormation's ServiceTimeout, saying why.
        assert described["StackStatus"] == "CREATE_FAILED", resource_events(events)
        (failed,) = [reason for status, _, reason in resource_events(events) if status == "CREATE_FAILED"]
        assert "not verified in time for CloudFormation's ServiceTimeout" in failed, failed
        assert "Trust Remote Side Timed Out" in failed, failed
        assert "did not receive a response" not in failed, "answered by trustflow, not timed out by CloudFormation"


def test_deleting_a_resource_that_adopted_a_trust_in_place_keeps_the_trust(stack, directory_id, secret):
    domain = "cfn-adopted.example.com"
    stack.set_scenario(domain, "verifies")
    first, described, _ = create(stack, properties(directory_id, secret, domain))
    assert described["StackStatus"] == "CREATE_COMPLETE"
    (trust,) = trusts_for(stack, directory_id, domain)
    # A second stack declaring the same trust finds it in place: it adopts it, and does not own it.
    second, described, events = create(stack, properties(directory_id, secret, domain))
    assert described["StackStatus"] == "CREATE_COMPLETE", resource_events(events)
    assert outputs(described)["TrustId"] == trust["TrustId"]
    described, _ = delete(stack, second)
    assert described["StackStatus"] == "DELETE_COMPLETE"
    assert [t["TrustId"] for t in trusts_for(stack, directory_id, domain)] == [trust["TrustId"]], "the adopted trust is kept"
    described, _ = delete(stack, first)
    assert trusts_for(stack, directory_id, domain) == [], "its creator's stack removes it"


def test_the_service_catalog_product_template_launches_and_terminates_a_trust(stack, directory_id, secret):
    """docs/service-catalog-directory-trust.yaml, launched as Service Catalog launches a product: a
    stack of the product's template with the user's parameters."""
    domain = "cfn-catalog.example.com"
    stack.set_scenario(domain, "verifies")
    cfn = stack.client("cloudformation")
    product = (Path(__file__).resolve().parents[2] / "docs" / "service-catalog-directory-trust.yaml").read_text()
    parameters = {"DirectoryId": directory_id, "RemoteDomainName": domain, "ConditionalForwarderIpAddrs": "172.16.10.153",
                  "TrustPasswordSecretId": secret, "WaitFor": "Verified"}
    stack_id = cfn.create_stack(StackName="catalog-product", TemplateBody=product,
                                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])["StackId"]
    described, events = settle(stack, stack_id)
    assert described["StackStatus"] == "CREATE_COMPLETE", [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason")) for e in events]
    (trust,) = trusts_for(stack, directory_id, domain)
    assert outputs(described)["TrustId"] == trust["TrustId"] and outputs(described)["TrustState"] == "Verified"
    described, _ = delete(stack, stack_id)
    assert described["StackStatus"] == "DELETE_COMPLETE"
    assert trusts_for(stack, directory_id, domain) == []
