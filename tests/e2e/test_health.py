"""The health check of existing trusts (issue 13): the real function, on the stack's role, against
the emulated Directory Service; what it saw is kept as tags on the directory."""

import json
import time

from local_stack import ROOT
from test_workflow import event, request


def check(stack, directory_id):
    """One run of the health check, as the schedule runs it; returns what it found."""
    answer = stack.client("lambda").invoke(FunctionName=stack.function("trust-health").name,
                                           Payload=json.dumps({"directoryIds": [directory_id]}).encode())
    payload = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, payload
    return payload


def health_events(stack):
    return [e for e in stack.drain(stack.events_queue) if e["detail-type"] == "Trust Health Changed"]


def test_a_verified_trust_that_stops_verifying_is_reported_once_and_again_when_it_works(stack, secret):
    directory_id = stack.seed_directory("health.example.com")
    run = stack.run(event(request(directory_id, "degrades.example.com", secret)))
    trust_id = run.output["status"]["trustId"]
    stack.clear_captures()

    (first,) = check(stack, directory_id)
    assert (first["trusts"], first["changes"]) == (1, [])
    tags = stack.client("ds").list_tags_for_resource(ResourceId=directory_id)["Tags"]
    assert {"Key": f"trustflow:health:{trust_id}", "Value": "Verified"} in tags
    assert health_events(stack) == []

    # The on-premises side changes its password: AWS's next verification fails.
    stack.control("trust-state", {"trustId": trust_id, "state": "VerifyFailed",
                                  "reason": "The trust relationship could not be verified: Access is denied."})
    (second,) = check(stack, directory_id)
    assert [(c["trustId"], c["previousState"], c["trustState"], c["healthy"]) for c in second["changes"]] == [
        (trust_id, "Verified", "VerifyFailed", False)]
    (changed,) = health_events(stack)
    assert changed["detail"]["remedy"]["code"] == "access-denied"
    import jsonschema

    jsonschema.validate(changed["detail"], json.loads((ROOT / "schemas" / "trust-health.schema.json").read_text()))
    assert changed["detail"]["directoryId"] == directory_id
    messages = [m for m in stack.drain(stack.messages_queue) if trust_id in m.get("Subject", "")]
    assert len(messages) == 1 and "stopped working" in messages[0]["Message"]

    assert check(stack, directory_id)[0]["changes"] == [], "reported once"
    assert health_events(stack) == []

    stack.control("trust-state", {"trustId": trust_id, "state": "Verified", "reason": ""})
    (recovered,) = check(stack, directory_id)
    assert [(c["trustState"], c["healthy"]) for c in recovered["changes"]] == [("Verified", True)]
    assert [e["detail"]["healthy"] for e in health_events(stack)] == [True]


def test_a_trust_deleted_outside_trustflow_is_reported_gone(stack, secret):
    directory_id = stack.seed_directory("health2.example.com")
    run = stack.run(event(request(directory_id, "vanishes.example.com", secret)))
    trust_id = run.output["status"]["trustId"]
    check(stack, directory_id)
    stack.client("ds").delete_trust(TrustId=trust_id)
    for _ in range(50):  # the emulated deletion takes one state unit
        if not [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["TrustState"] != "Deleted"]:
            break
        time.sleep(0.3)
    stack.clear_captures()
    (found,) = check(stack, directory_id)
    assert [(c["trustId"], c["trustState"], c["healthy"]) for c in found["changes"]] == [(trust_id, "Deleted", False)]
    tags = stack.client("ds").list_tags_for_resource(ResourceId=directory_id)["Tags"]
    assert not [t for t in tags if t["Key"] == f"trustflow:health:{trust_id}"]
