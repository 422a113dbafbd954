"""Faults: throttling and server errors injected into each AWS call of the workflow in turn.

Every run must end verified, or failed with the requester told, never silently, never with two
trusts. A fault that passes (fewer errors than the retries) must not change the outcome; one that
persists must end in a notification (or, when the notification calls themselves fail, in the
NotificationFailed state, which the stack's alarm reports).
"""

import itertools

import pytest

from test_workflow import assert_no_password_anywhere, detail_types, event, request

_n = itertools.count(1)

# (service, operation, scenario that makes the workflow call it)
CALLS = [
    ("ds", "DescribeDirectories", "verifies"),
    ("secretsmanager", "DescribeSecret", "verifies"),
    ("secretsmanager", "GetSecretValue", "verifies"),
    ("ds", "CreateTrust", "verifies"),
    ("ds", "DescribeTrusts", "verifies"),
    ("ds", "VerifyTrust", "remote-late"),
    ("sns", "Publish", "verifies"),
    ("events", "PutEvents", "verifies"),
]
RESULTS = []


def trusts_for(stack, directory_id, domain):
    return [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["RemoteDomainName"] == domain]


@pytest.mark.parametrize("service,operation,scenario", CALLS)
@pytest.mark.parametrize("error", ["ThrottlingException", "ServiceException"])
def test_a_passing_fault_does_not_change_the_outcome(stack, directory_id, secret, service, operation, scenario, error):
    domain = f"pass-{next(_n)}.faults.example"
    stack.set_scenario(domain, scenario, remoteReadyAfterUnits=6)
    # Four errors: more than the SDK's own three attempts, so the state machine's Retry is exercised too.
    stack.control("faults", {"service": service, "operation": operation, "error": error, "count": 4})
    try:
        run = stack.run(event(request(directory_id, domain, secret)), timeout=180)
    finally:
        stack.control("faults", method="DELETE")
    assert run.status == "SUCCEEDED", run.states_entered()
    assert detail_types(run)[-1] == "Trust Verified"
    assert len(trusts_for(stack, directory_id, domain)) == 1
    assert_no_password_anywhere(stack, run)


@pytest.mark.parametrize("service,operation,scenario", CALLS)
def test_a_persistent_fault_ends_in_a_notification_never_silence(stack, directory_id, secret, service, operation, scenario):
    domain = f"stuck-{next(_n)}.faults.example"
    stack.set_scenario(domain, scenario, remoteReadyAfterUnits=6)
    stack.control("faults", {"service": service, "operation": operation, "error": "ServiceException", "count": 100000})
    try:
        run = stack.run(event(request(directory_id, domain, secret)), timeout=300)
    finally:
        stack.control("faults", method="DELETE")
    assert run.status == "FAILED"
    assert len(trusts_for(stack, directory_id, domain)) <= 1
    if operation in ("Publish", "PutEvents"):
        assert run.states_entered()[-1] == "NotificationFailed"
    else:
        assert run.states_entered()[-1] == "TrustNotEstablished", run.states_entered()
        final = run.events[-1]["detail"]
        body = run.messages[-1]["Message"]
        if operation == "VerifyTrust" and final["outcome"] == "remoteSideTimedOut":
            # The remote-side window may close while VerifyTrust is still failing: that answer is the right one.
            assert "not verified" in run.messages[-1]["Subject"]
        else:
            assert final["outcome"] == "failed" and final["error"]["name"] == "Transient", final
            assert f"{operation} failed" in body and "ServiceException" in body
        # A trust the requester was told about, or none.
        for trust in trusts_for(stack, directory_id, domain):
            assert trust["TrustId"] in body
    assert_no_password_anywhere(stack, run)


@pytest.mark.parametrize("error,status", [("InvalidParameterException", "FAILED"), ("ServiceException", "FAILED")])
def test_an_aws_error_that_echoes_the_password_is_scrubbed_everywhere(stack, directory_id, secret, error, status):
    domain = f"echo-{next(_n)}.faults.example"
    stack.control("faults", {"service": "ds", "operation": "CreateTrust", "error": error, "count": 100000,
                             "echoParameter": "TrustPassword"})
    try:
        run = stack.run(event(request(directory_id, domain, secret)), timeout=300)
    finally:
        stack.control("faults", method="DELETE")
    assert run.status == status
    body = run.messages[-1]["Message"]
    assert "[redacted]" in body, body
    assert_no_password_anywhere(stack, run)


@pytest.mark.parametrize("error", ["TooManyRequestsException", "ServiceException"])
def test_a_failed_lambda_invocation_is_retried_by_the_state_machine(stack, directory_id, secret, error):
    domain = f"invoke-{next(_n)}.faults.example"
    # The Invoke request's body is the Task payload, which names the domain: only this run's invokes fail.
    stack.control("faults", {"service": "lambda", "operation": "Invoke", "error": error, "count": 2, "bodyContains": domain})
    try:
        run = stack.run(event(request(directory_id, domain, secret)), timeout=180)
        left = stack.control("faults", method="GET")["faults"]
    finally:
        stack.control("faults", method="DELETE")
    assert left == [], "the injected invoke faults were not all hit"
    assert run.status == "SUCCEEDED", run.states_entered()
    failures = [e["taskFailedEventDetails"]["error"] for e in run.history if e["type"] == "TaskFailed"]
    assert failures.count(f"Lambda.{error}") == 2, failures
    assert len(trusts_for(stack, directory_id, domain)) == 1
