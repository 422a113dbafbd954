"""'The remote side is ready', end to end through the real state machine: the waiting Task
(.waitForTaskToken) is woken by POST /trust-requests/{id}/remote-side-ready, by a 'Trust Remote
Side Ready' event and by `trustctl ready`; the workflow verifies at once; a request that is not
waiting is told what it is doing and nothing changes.

The stack here re-verifies only every REVERIFY seconds, so a verdict that comes before the waiting
Task's first timeout can only have come from the signal: the tests assert that in the history (the
waiting Task was scheduled once, and VerifyNow ran), not with a stopwatch."""

import itertools
import json
import time

import pytest

from local_stack import LocalStack, Settings
from test_trustctl import trustctl
from test_workflow import CANARY, assert_no_password_anywhere, detail_types, polls, request, sns_bodies

REVERIFY = 60
WINDOW = 75
_n = itertools.count(1)


@pytest.fixture(scope="module")
def slow():
    with LocalStack(Settings(reverify_interval_seconds=REVERIFY, remote_side_window_seconds=WINDOW, execution_timeout_seconds=900),
                    stack_name="trustflow-ready") as running:
        running.directory = running.seed_directory("aws.example.com")
        yield running


@pytest.fixture(autouse=True)
def slow_functions_stay_within_their_roles(slow):
    slow.control("denials", method="DELETE")
    yield
    assert slow.control("denials", method="GET")["denials"] == [], "a function was refused a call its role does not allow"


def start(stack, domain, scenario, **scenario_extra):
    secret = f"trustflow/ready-{next(_n)}"
    stack.put_secret(secret, CANARY)
    stack.set_scenario(domain, scenario, **scenario_extra)
    body = request(stack.directory, domain, secret)
    stack.clear_captures()
    status, text = stack.api_call("POST", "/trust-requests", body)
    assert status == 202, text
    return body["requestId"], json.loads(text)["executionArn"]


def wait_until_waiting(stack, arn, timeout=60):
    """Until the waiting Task has been scheduled and its step has run (the Task then waits for its token)."""
    sfn = stack.client("stepfunctions")
    deadline = time.time() + timeout
    while time.time() < deadline:
        history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
        if entered and entered[-1] == "AwaitRemoteSide" and history[-1]["type"] == "TaskSubmitted":
            return history
        time.sleep(0.3)
    raise TimeoutError(f"{arn} never waited for the remote side")


def signal(stack, request_id):
    status, text = stack.api_call("POST", f"/trust-requests/{request_id}/remote-side-ready")
    return status, json.loads(text)


def story(run):
    """The states entered and the failures, for an assertion's message."""
    return [e["stateEnteredEventDetails"]["name"] if "stateEnteredEventDetails" in e else
            f'{e["type"]}: {json.dumps(e.get("taskFailedEventDetails") or e.get("executionFailedEventDetails"))}'
            for e in run.history if "stateEnteredEventDetails" in e or e["type"] in ("TaskFailed", "ExecutionFailed", "TaskTimedOut")]


def test_done_while_waiting_is_verified_at_once_not_at_the_next_reverification(slow):
    request_id, arn = start(slow, "ready.example.com", "remote-late", remoteReadyAfterUnits=100000)
    wait_until_waiting(slow, arn)
    slow.control("remote-side-configured", {"remoteDomainName": "ready.example.com"})
    slow.control("calls", method="DELETE")
    status, body = signal(slow, request_id)
    assert status == 202, body
    assert (body["signal"], body["accepted"], body["status"]) == ("accepted", True, "awaitingRemoteSide")
    run = slow.follow(arn, timeout=REVERIFY - 15)
    assert run.status == "SUCCEEDED", "\n".join(story(run)[-8:])
    assert detail_types(run) == ["Trust Awaiting Remote Side", "Trust Verified"]
    entered = run.states_entered()
    assert entered.index("AwaitRemoteSide") < entered.index("VerifyNow") < entered.index("FollowVerification")
    assert polls(run, "AwaitRemoteSide") == 1, "the waiting Task never timed out: the signal, not the schedule, verified it"
    verified = sns_bodies(run)[1]
    assert "is verified" in verified and "The remote side was reported ready at" in verified, (verified, story(run), json.dumps(
        [e for e in run.history if e["type"] == "TaskSucceeded"], default=str)[-3000:])
    assert run.events[1]["detail"]["remoteSideReportedReadyAt"]
    # The verification was asked for after the signal, once.
    assert [c["operation"] for c in slow.control("calls", method="GET")["calls"] if c["operation"] == "VerifyTrust"] == ["VerifyTrust"]
    # GET says verified; the task token appears in no answer, notification or result event.
    status, text = slow.api_call("GET", f"/trust-requests/{request_id}")
    assert status == 200 and json.loads(text)["status"] == "verified"
    token = json.loads(next(e for e in run.history if e["type"] == "TaskScheduled" and "taskToken" in
                             e["taskScheduledEventDetails"]["parameters"])["taskScheduledEventDetails"]["parameters"])["Payload"]["taskToken"]
    for where, text in [("the signal's answer", json.dumps(body)), ("notifications", json.dumps(run.messages)),
                        ("result events", json.dumps(run.events)), ("Lambda logs", slow.lambda_logs())]:
        assert token not in text, f"the task token leaked into {where}"
    assert_no_password_anywhere(slow, run)


def test_done_but_still_failing_goes_back_to_waiting_says_so_and_the_window_still_ends_it(slow):
    request_id, arn = start(slow, "stillwrong.example.com", "wrong-password")
    wait_until_waiting(slow, arn)
    # The event way in, as a portal or the on-premises administrator's script would send it.
    entries = slow.client("events").put_events(Entries=[{"EventBusName": slow.bus_name, "Source": "portal.identity",
                                                          "DetailType": "Trust Remote Side Ready", "Detail": json.dumps({"requestId": request_id})}])
    assert entries["FailedEntryCount"] == 0
    run = slow.follow(arn, timeout=WINDOW + REVERIFY + 60)
    assert run.status == "FAILED"
    assert detail_types(run) == ["Trust Awaiting Remote Side", "Trust Awaiting Remote Side", "Trust Remote Side Timed Out"]
    entered = run.states_entered()
    assert entered.count("AwaitRemoteSide") == 2 and "FollowVerification" in entered
    first, again, final = sns_bodies(run)
    assert "reported ready" not in first
    assert "The remote side was reported ready at" in again and "it still fails" in again and "Access is denied" in again
    assert run.events[1]["detail"]["remoteSideReportedReadyAt"] and run.events[1]["detail"]["remedy"]["code"] == "access-denied"
    # The window set when the trust first awaited the remote side still ends it: the signal did not extend it.
    assert run.events[1]["detail"]["remoteSideDeadline"] == run.events[0]["detail"]["remoteSideDeadline"]
    assert "Access is denied" in final


def test_a_signal_for_a_request_that_is_not_waiting_says_what_it_is_doing_and_changes_nothing(slow):
    request_id, arn = start(slow, "fine.example.com", "verifies")
    run = slow.follow(arn)
    assert run.status == "SUCCEEDED"
    slow.control("calls", method="DELETE")
    status, body = signal(slow, request_id)
    assert status == 409, body
    assert (body["signal"], body["accepted"], body["status"]) == ("notWaiting", False, "verified")
    assert "Nothing was changed" in body["message"]
    calls = [c["operation"] for c in slow.control("calls", method="GET")["calls"]]
    assert {"DescribeExecution", "GetExecutionHistory"} <= set(calls)
    assert not set(calls) & {"SendTaskFailure", "SendTaskSuccess", "VerifyTrust", "StartExecution", "CreateTrust"}, calls
    assert len(slow.executions_named(f"trust-{request_id}")) == 1
    # trustctl says the same, with exit code 1; an unknown request is exit code 4; a bad id is refused before any call.
    said = trustctl(slow, "ready", request_id, "--api-url", slow.api_url + "/trust-requests")
    assert said.returncode == 1 and "not waiting for the remote side: it is verified" in said.stdout, said.stdout + said.stderr
    assert trustctl(slow, "ready", "NO-SUCH-REQUEST", "--api-url", slow.api_url + "/trust-requests").returncode == 4
    bad = trustctl(slow, "ready", "no spaces", "--api-url", slow.api_url + "/trust-requests")
    assert bad.returncode == 2 and "REQUEST_ID" in bad.stderr
    status, _ = signal(slow, "NO-SUCH-REQUEST")
    assert status == 404


def test_trustctl_ready_wakes_a_waiting_request(slow):
    request_id, arn = start(slow, "cliready.example.com", "remote-late", remoteReadyAfterUnits=100000)
    wait_until_waiting(slow, arn)
    slow.control("remote-side-configured", {"remoteDomainName": "cliready.example.com"})
    said = trustctl(slow, "ready", request_id, "--api-url", slow.api_url + "/trust-requests")
    assert said.returncode == 0, said.stdout + said.stderr
    assert "verify the trust now" in said.stdout
    run = slow.follow(arn, timeout=REVERIFY - 15)
    assert run.status == "SUCCEEDED" and polls(run, "AwaitRemoteSide") == 1
