"""The template's REST API (TrustApi), end to end, run by the emulator's API executor and SigV4-signed
as a portal would sign: POST answered by the real submit-request Lambda (the one entrance, shared with
the EventBridge rule), which starts the real state machine, and GET answered by the real
request-status Lambda, both through cargo lambda."""

import itertools
import json
import time

import pytest

from test_workflow import CANARY, request

_n = itertools.count(1)
OPEN = ("running", "awaitingRemoteSide")
RESPONSES: list[str] = []  # every answer of the API in this module


def call(stack, method, path, body=None, **options):
    """One request to the API (see LocalStack.api_call for the options); (status, JSON or None, text)."""
    status, text = stack.api_call(method, path, body, **options)
    RESPONSES.append(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    return status, parsed, text



def start_executions(stack):
    """The StartExecution calls the emulator saw (and what it answered), since the test began."""
    return [c["status"] for c in stack.control("calls", method="GET")["calls"] if c["operation"] == "StartExecution"]


def body_for(directory_id, secret, scenario_domain=None, **overrides):
    n = next(_n)
    return request(directory_id, scenario_domain or f"api{n}.api.example", secret, requestId=f"API-{n}", **overrides)


def wait_for_end(stack, arn, timeout=120):
    sfn = stack.client("stepfunctions")
    deadline = time.time() + timeout
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.time() < deadline, f"{arn} still running"
        time.sleep(0.3)
    return described


def follow(stack, request_id, timeout=120):
    """GETs the request until it is no longer open; returns the last answer and every status seen."""
    seen = []
    deadline = time.time() + timeout
    while True:
        status, answer, text = call(stack, "GET", f"/trust-requests/{request_id}")
        assert status == 200, text
        seen.append(answer["status"])
        if answer["status"] not in OPEN:
            return answer, seen
        assert time.time() < deadline, f"{request_id} still {answer['status']} after {timeout}s"
        time.sleep(0.3)


@pytest.fixture(scope="module", autouse=True)
def warm_request_status(stack):
    """cargo lambda starts a function on its first invoke, which may take longer than API Gateway's
    29 s integration timeout that the executor keeps: start request-status once, without that limit."""
    event = {"resource": "/trust-requests/{id}", "path": "/trust-requests/API-WARM-UP", "httpMethod": "GET",
             "pathParameters": {"id": "API-WARM-UP"}, "requestContext": {"httpMethod": "GET", "stage": "v1"}}
    answer = stack.client("lambda").invoke(FunctionName=stack.function("request-status").name, Payload=json.dumps(event))
    assert json.loads(answer["Payload"].read())["statusCode"] == 404


@pytest.fixture(autouse=True)
def each_test(stack):
    """Starts with an empty call log; ends with no password in any answer and no execution left
    running (so none notifies into a later test's capture queues)."""
    stack.control("calls", method="DELETE")
    first = len(RESPONSES)
    yield
    for text in RESPONSES[first:]:
        assert CANARY not in text, f"the trust password leaked into an API answer: {text}"
    sfn = stack.client("stepfunctions")
    deadline = time.time() + 180
    while sfn.list_executions(stateMachineArn=stack.state_machine_arn, statusFilter="RUNNING")["executions"]:
        assert time.time() < deadline, "executions still running after the test"
        time.sleep(0.5)


# --- POST /trust-requests ---

def test_a_valid_post_starts_one_execution_named_after_the_request_id(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    status, answer, text = call(stack, "POST", "/trust-requests", body)
    assert status == 202, text
    assert answer["requestId"] == body["requestId"]
    assert answer["executionArn"] == stack.execution_arn(f"trust-{body['requestId']}")
    assert [e["executionArn"] for e in stack.executions_named(f"trust-{body['requestId']}")] == [answer["executionArn"]]
    execution_input = stack.client("stepfunctions").describe_execution(executionArn=answer["executionArn"])["input"]
    assert json.loads(execution_input) == body


def test_a_duplicate_post_while_running_answers_with_the_same_execution(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    first = call(stack, "POST", "/trust-requests", body)
    second = call(stack, "POST", "/trust-requests", body)
    assert first[0] == second[0] == 202, second[2]
    assert second[1]["executionArn"] == first[1]["executionArn"] and second[1]["requestId"] == body["requestId"]
    # Same name and input while RUNNING: StartExecution itself returns the open execution.
    assert start_executions(stack) == ["200", "200"]
    # Another request under the same id: refused, naming the id; the running request goes on.
    status, other, text = call(stack, "POST", "/trust-requests", {**body, "requestedBy": "someone.else@example.com"})
    assert status == 409, text
    assert other["executionArn"] == first[1]["executionArn"]
    assert f'request id "{body["requestId"]}" already names a different trust request: nothing was started' in other["message"]
    assert start_executions(stack) == ["200", "200", "400"]
    assert stack.client("stepfunctions").describe_execution(executionArn=first[1]["executionArn"])["status"] == "RUNNING"
    assert len(stack.executions_named(f"trust-{body['requestId']}")) == 1


def test_a_duplicate_post_after_the_end_answers_with_the_same_execution(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    status, answer, _ = call(stack, "POST", "/trust-requests", body)
    assert status == 202
    assert wait_for_end(stack, answer["executionArn"])["status"] == "SUCCEEDED"
    # Once closed, StartExecution refuses the name; the entrance compares the inputs to tell why.
    status, repeated, text = call(stack, "POST", "/trust-requests", body)
    assert status == 202, text
    assert repeated["executionArn"] == answer["executionArn"] and repeated["requestId"] == body["requestId"]
    assert "nothing new was started" in repeated["message"]
    status, other, text = call(stack, "POST", "/trust-requests", {**body, "requestedBy": "someone.else@example.com"})
    assert status == 409, text
    assert start_executions(stack) == ["200", "400", "400"]
    assert len(stack.executions_named(f"trust-{body['requestId']}")) == 1


def test_a_body_that_breaks_the_rules_is_refused_with_every_field_rule_and_value_and_nothing_starts(stack, directory_id, secret):
    body = body_for(directory_id, secret, remoteDomainName="corp", trustDirection="sideways", bogus="x",
                    conditionalForwarderIpAddrs=["127.0.0.1"])
    status, answer, text = call(stack, "POST", "/trust-requests", body)
    assert status == 400, text
    errors = {e["field"]: e for e in answer["errors"]}
    assert set(errors) == {'"bogus"', "remoteDomainName", "trustDirection", "conditionalForwarderIpAddrs[0]"}, errors
    assert errors["remoteDomainName"]["rule"].startswith("must be a multi-label fully qualified domain name")
    assert errors["remoteDomainName"]["value"] == '"corp"'
    assert errors["conditionalForwarderIpAddrs[0]"] == {"field": "conditionalForwarderIpAddrs[0]",
                                                        "rule": "must not be a loopback address (127.0.0.0/8)", "value": '"127.0.0.1"'}
    assert errors['"bogus"']["value"] is None  # an unknown field's value is never echoed
    # The message is the validation step's own, one rule per line.
    assert answer["message"].splitlines()[0] == "the trust request was rejected:"
    assert '- remoteDomainName: must be a multi-label fully qualified domain name; single-label domain names are not supported (got "corp")' in answer["message"].splitlines()
    missing = {k: v for k, v in body_for(directory_id, secret).items() if k not in ("directoryId", "trustPassword")}
    status, answer, _ = call(stack, "POST", "/trust-requests", missing)
    assert status == 400 and {e["field"] for e in answer["errors"]} == {"directoryId", "trustPassword"}
    assert start_executions(stack) == []
    assert stack.executions_named(f"trust-{body['requestId']}") == []


def test_a_body_that_is_not_json_is_refused(stack):
    for raw, content_type in ((b'{"requestId": "API-broken", ', "application/json"), (b"requestId=API-form", "text/plain")):
        status, answer, text = call(stack, "POST", "/trust-requests", raw=raw, content_type=content_type)
        assert status == 400, text
        assert answer["errors"] == [{"field": "(body)", "rule": "must be a JSON object: the trust request", "value": None}]
    assert start_executions(stack) == []


def test_a_pasted_password_is_refused_without_being_echoed(stack, directory_id, secret):
    for pasted in (CANARY, {"secretId": secret, "password": CANARY}):
        status, answer, text = call(stack, "POST", "/trust-requests", body_for(directory_id, secret, trustPassword=pasted))
        assert status == 400, text
        assert any(e["field"].startswith("trustPassword") for e in answer["errors"]), answer
    assert start_executions(stack) == []  # and the fixture checks that no answer holds the password


def test_unsigned_and_wrongly_signed_requests_are_refused(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    assert call(stack, "POST", "/trust-requests", body, sign=False)[:2] == (403, {"message": "Missing Authentication Token"})
    assert call(stack, "GET", f"/trust-requests/{body['requestId']}", sign=False)[0] == 403
    status, answer, _ = call(stack, "POST", "/trust-requests", body, secret="not-the-secret")
    assert status == 403 and answer["message"].startswith("The request signature we calculated does not match the signature you provided.")
    status, answer, _ = call(stack, "POST", "/trust-requests", body, tamper=lambda sent: sent.replace(b"Two-Way", b"two-way"))
    assert status == 403 and "does not match" in answer["message"]
    status, answer, _ = call(stack, "POST", "/trust-requests", body, access_key="AKIDUNKNOWN")
    assert (status, answer) == (403, {"message": "The security token included in the request is invalid."})
    # An unknown route, even signed, is answered as API Gateway does.
    assert call(stack, "DELETE", f"/trust-requests/{body['requestId']}")[:2] == (403, {"message": "Missing Authentication Token"})
    assert call(stack, "POST", "/trust-requests/extra/segments", body)[0] == 403
    assert start_executions(stack) == []
    assert stack.executions_named(f"trust-{body['requestId']}") == []


def test_step_functions_errors_are_answered_by_kind_not_by_text(stack, directory_id, secret):
    # The SDK retries throttling and server errors itself (3 attempts): the fault outlasts them.
    stack.control("faults", {"service": "states", "operation": "StartExecution", "error": "ThrottlingException", "count": 3})
    status, answer, _ = call(stack, "POST", "/trust-requests", body_for(directory_id, secret))
    assert status == 429 and "retry the same request later" in answer["message"], answer
    stack.control("faults", {"service": "states", "operation": "StartExecution", "error": "ServiceException", "count": 3})
    status, answer, _ = call(stack, "POST", "/trust-requests", body_for(directory_id, secret))
    assert status == 503 and "retry the same request" in answer["message"], answer
    # Anything else is the stack's fault, not the caller's: 500, with no internal detail.
    stack.control("faults", {"service": "states", "operation": "StartExecution", "error": "InvalidExecutionInput"})
    status, answer, text = call(stack, "POST", "/trust-requests", body_for(directory_id, secret))
    assert (status, answer) == (500, {"message": "The trust workflow could not be started."}), text
    assert start_executions(stack) == ["fault:ThrottlingException"] * 3 + ["fault:ServiceException"] * 3 + ["fault:InvalidExecutionInput"]


def test_an_apostrophe_in_a_valid_body_is_accepted(stack, directory_id, secret):
    body = body_for(directory_id, secret, requestedBy="Siobhan O'Brien")
    status, answer, text = call(stack, "POST", "/trust-requests", body)
    assert status == 202, text
    execution_input = stack.client("stepfunctions").describe_execution(executionArn=answer["executionArn"])["input"]
    assert json.loads(execution_input) == body


# --- GET /trust-requests/{id} (the request-status Lambda) ---

def test_get_of_an_unknown_or_malformed_id(stack):
    status, answer, text = call(stack, "GET", "/trust-requests/API-NO-SUCH-REQUEST")
    assert status == 404, text
    assert "API-NO-SUCH-REQUEST" in answer["message"]
    status, answer, text = call(stack, "GET", "/trust-requests/not%20an%20id")
    assert status == 400, text
    assert "id" in answer["message"] and "not an id" in answer["message"]


def test_get_follows_a_request_from_running_to_verified(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    assert call(stack, "POST", "/trust-requests", body)[0] == 202
    status, answer, text = call(stack, "GET", f"/trust-requests/{body['requestId']}")
    assert status == 200, text
    assert answer["requestId"] == body["requestId"] and answer["status"] == "running" and answer["executionStatus"] == "RUNNING"
    assert answer["startDate"] and "stopDate" not in answer
    final, _ = follow(stack, body["requestId"])
    assert final["status"] == "verified" and final["executionStatus"] == "SUCCEEDED"
    assert final["trustId"].startswith("t-") and final["trustState"] == "Verified"
    assert final["stopDate"]
    # Never the input: not even the secret's name.
    assert secret not in json.dumps(final)


def test_get_of_a_request_that_fails_says_failed_with_the_reason(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    stack.set_scenario(body["remoteDomainName"], "unreachable")
    assert call(stack, "POST", "/trust-requests", body)[0] == 202
    final, _ = follow(stack, body["requestId"])
    assert final["status"] == "failed" and final["executionStatus"] == "FAILED"
    assert final["trustId"].startswith("t-") and final["trustState"] == "Failed"
    assert "could not be contacted" in final["trustStateReason"]
    assert final["error"]


def test_get_shows_awaiting_remote_side_then_verified(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    stack.set_scenario(body["remoteDomainName"], "remote-late", remoteReadyAfterUnits=6)
    assert call(stack, "POST", "/trust-requests", body)[0] == 202
    final, seen = follow(stack, body["requestId"])
    assert final["status"] == "verified", seen
    assert "awaitingRemoteSide" in seen
    assert seen.index("awaitingRemoteSide") > 0 and set(seen[:seen.index("awaitingRemoteSide")]) == {"running"}


def test_get_of_a_request_the_workflow_rejects_says_why(stack, directory_id, secret):
    # The static rules pass (the entrance starts it); the validation step finds no such secret.
    body = body_for(directory_id, secret, trustPassword={"secretId": "trustflow/no-such-secret"})
    assert call(stack, "POST", "/trust-requests", body)[0] == 202
    final, _ = follow(stack, body["requestId"])
    assert final["status"] == "rejected" and final["error"] == "TrustRequestRejected"
    assert final["cause"] == {"name": "ValidationFailed", "message": 'the trust request was rejected: trustPassword.secretId: must name an existing Secrets Manager secret that trustflow may read (got "trustflow/no-such-secret")'}
    assert "trustId" not in final


def test_get_of_a_failed_trust_carries_the_remedy_the_requester_was_sent(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    stack.set_scenario(body["remoteDomainName"], "unreachable")
    assert call(stack, "POST", "/trust-requests", body)[0] == 202
    final, _ = follow(stack, body["requestId"])
    assert final["status"] == "failed"
    assert final["remedy"]["code"] == "domain-unreachable" and final["remedy"]["action"]


def test_a_failing_lambda_invoke_is_a_502(stack):
    # The executor invokes request-status through the emulator's Lambda Invoke, where a fault can be injected.
    stack.control("faults", {"service": "lambda", "operation": "Invoke", "error": "ServiceException", "bodyContains": "API-INVOKE-FAULT"})
    assert call(stack, "GET", "/trust-requests/API-INVOKE-FAULT")[:2] == (502, {"message": "Internal server error"})
    assert call(stack, "GET", "/trust-requests/API-INVOKE-FAULT")[0] == 404  # the fault was used up: the Lambda answers
