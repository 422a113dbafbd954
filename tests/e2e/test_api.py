"""The template's REST API (TrustApi), end to end: its real VTL templates and request model, run by the
emulator's API executor, SigV4-signed as a portal would sign, starting the real state machine, and
GET answered by the real request-status Lambda through cargo lambda."""

import itertools
import json
import time

import pytest

from local_stack import STATE_MACHINE_ARN
from test_workflow import CANARY, request

_n = itertools.count(1)
EXECUTIONS = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:")
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
    answer = stack.client("lambda").invoke(FunctionName="request-status", Payload=json.dumps(event))
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
    assert answer["executionArn"] == f"{EXECUTIONS}:trust-{body['requestId']}"
    assert [e["executionArn"] for e in stack.executions_named(f"trust-{body['requestId']}")] == [answer["executionArn"]]
    execution_input = stack.client("stepfunctions").describe_execution(executionArn=answer["executionArn"])["input"]
    assert json.loads(execution_input) == body


def test_a_duplicate_post_while_running_answers_with_the_same_execution(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    first = call(stack, "POST", "/trust-requests", body)
    second = call(stack, "POST", "/trust-requests", body)
    assert first[0] == second[0] == 202, second[2]
    assert second[1]["executionArn"] == first[1]["executionArn"] and second[1]["requestId"] == body["requestId"]
    # Same name and input while RUNNING: StartExecution itself succeeds idempotently (the "200" template).
    assert start_executions(stack) == ["200", "200"]
    assert "message" not in second[1]
    # Another input under the same request id: ExecutionAlreadyExists, answered by the "400" template.
    status, other, text = call(stack, "POST", "/trust-requests", {**body, "requestedBy": "someone.else@example.com"})
    assert status == 202, text
    assert other["executionArn"] == first[1]["executionArn"] and "nothing new was started" in other["message"]
    assert start_executions(stack) == ["200", "200", "400"]
    assert stack.client("stepfunctions").describe_execution(executionArn=first[1]["executionArn"])["status"] == "RUNNING"
    assert len(stack.executions_named(f"trust-{body['requestId']}")) == 1


def test_a_duplicate_post_after_the_end_answers_with_the_same_execution(stack, directory_id, secret):
    body = body_for(directory_id, secret)
    status, answer, _ = call(stack, "POST", "/trust-requests", body)
    assert status == 202
    assert wait_for_end(stack, answer["executionArn"])["status"] == "SUCCEEDED"
    # Once closed (or with another input), StartExecution refuses the name: the "400" template's first branch.
    for again in (body, {**body, "requestedBy": "someone.else@example.com"}):
        status, repeated, text = call(stack, "POST", "/trust-requests", again)
        assert status == 202, text
        assert repeated["executionArn"] == answer["executionArn"] and repeated["requestId"] == body["requestId"]
        assert "nothing new was started" in repeated["message"]
    assert start_executions(stack) == ["200", "400", "400"]
    assert len(stack.executions_named(f"trust-{body['requestId']}")) == 1


def test_a_body_that_breaks_the_model_is_refused_with_every_field_named_and_nothing_starts(stack, directory_id, secret):
    body = body_for(directory_id, secret, remoteDomainName="corp", trustDirection="sideways", bogus="x")
    status, answer, text = call(stack, "POST", "/trust-requests", body)
    assert status == 400, text
    assert answer["message"] == "The trust request breaks the request model"
    errors = answer["errors"]
    assert 'remoteDomainName: ECMA 262 regex' in errors and 'input string "corp"' in errors
    assert 'trustDirection: instance value ("sideways") not found in enum' in errors
    assert 'not allowed by the schema: ["bogus"]' in errors
    missing = {k: v for k, v in body_for(directory_id, secret).items() if k not in ("directoryId", "trustPassword")}
    status, answer, _ = call(stack, "POST", "/trust-requests", missing)
    assert status == 400 and 'missing required properties (["directoryId", "trustPassword"])' in answer["errors"]
    assert start_executions(stack) == []
    assert stack.executions_named(f"trust-{body['requestId']}") == []


def test_a_body_that_is_not_json_is_refused(stack):
    status, answer, text = call(stack, "POST", "/trust-requests", raw=b'{"requestId": "API-broken", ')
    assert status == 400, text
    assert "the body is not valid JSON" in answer["errors"]
    status, answer, _ = call(stack, "POST", "/trust-requests", raw=b"requestId=API-form", content_type="text/plain")
    assert (status, answer) == (415, {"message": "Unsupported Media Type"})  # passthroughBehavior: never
    assert start_executions(stack) == []


def test_a_pasted_password_is_refused_without_being_echoed(stack, directory_id, secret):
    for pasted in (CANARY, {"secretId": secret, "password": CANARY}):
        status, answer, text = call(stack, "POST", "/trust-requests", body_for(directory_id, secret, trustPassword=pasted))
        assert status == 400, text
        assert "trustPassword" in answer["errors"]
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


def test_step_functions_errors_go_through_the_templates(stack, directory_id, secret):
    # A 400 other than ExecutionAlreadyExists: the "400" template's #else, with $context.responseOverride.status = 400.
    stack.control("faults", {"service": "states", "operation": "StartExecution", "error": "InvalidExecutionInput"})
    status, answer, text = call(stack, "POST", "/trust-requests", body_for(directory_id, secret))
    assert (status, answer) == (400, {"message": "Injected by trustflow-emulator into states:StartExecution"}), text
    # Throttling (a 400 too) tells the caller to come back later, not that the request is bad.
    stack.control("faults", {"service": "states", "operation": "StartExecution", "error": "ThrottlingException"})
    status, answer, _ = call(stack, "POST", "/trust-requests", body_for(directory_id, secret))
    assert status == 429 and "retry the same request later" in answer["message"], answer
    # A 5xx matches the "5\d{2}" selection pattern: 503, retry.
    stack.control("faults", {"service": "states", "operation": "StartExecution", "error": "ServiceException"})
    status, answer, _ = call(stack, "POST", "/trust-requests", body_for(directory_id, secret))
    assert status == 503 and "retry the same request" in answer["message"], answer
    assert start_executions(stack) == ["fault:InvalidExecutionInput", "fault:ThrottlingException", "fault:ServiceException"]


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


def test_get_of_a_request_the_workflow_rejects(stack, directory_id, secret):
    # The model lets it through (any string); the validation Lambda refuses a loopback forwarder.
    body = body_for(directory_id, secret, conditionalForwarderIpAddrs=["127.0.0.1"])
    assert call(stack, "POST", "/trust-requests", body)[0] == 202
    final, _ = follow(stack, body["requestId"])
    assert final["status"] == "rejected" and final["error"] == "TrustRequestRejected"
    assert "trustId" not in final


def test_a_failing_lambda_invoke_is_a_502(stack):
    # The executor invokes request-status through the emulator's Lambda Invoke, where a fault can be injected.
    stack.control("faults", {"service": "lambda", "operation": "Invoke", "error": "ServiceException", "bodyContains": "API-INVOKE-FAULT"})
    assert call(stack, "GET", "/trust-requests/API-INVOKE-FAULT")[:2] == (502, {"message": "Internal server error"})
    assert call(stack, "GET", "/trust-requests/API-INVOKE-FAULT")[0] == 404  # the fault was used up: the Lambda answers
