"""trustctl against the local stack: request, duplicate request, status, watch, bad input, unknown id."""

import itertools
import json
import os
import subprocess

from local_stack import ROOT

TRUSTCTL = ROOT / "target" / "debug" / "trustctl"
_n = itertools.count(1)


def trustctl(stack, *args, timeout=180):
    env = dict(os.environ, AWS_ENDPOINT_URL=stack.endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", TRUSTFLOW_STATE_MACHINE_ARN=stack.state_machine_arn, TRUSTFLOW_EVENT_BUS=stack.bus_name)
    return subprocess.run([str(TRUSTCTL), *args], env=env, capture_output=True, text=True, timeout=timeout)



def flags(directory_id, domain, secret, request_id):
    return ["--request-id", request_id, "--directory-id", directory_id, "--remote-domain", domain, "--direction", "two-way",
            "--secret-id", secret, "--forwarder", "172.16.10.153"]


def test_request_then_watch_follows_the_trust_to_verified(stack, directory_id, secret):
    request_id = f"CLI-{next(_n)}"
    started = trustctl(stack, "request", *flags(directory_id, f"cli{next(_n)}.ctl.example", secret, request_id))
    assert started.returncode == 0, started.stderr
    assert f"trust-{request_id}" in started.stdout
    watched = trustctl(stack, "watch", request_id)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "-> PollTrust" in watched.stdout and "status:      verified" in watched.stdout
    status = trustctl(stack, "status", request_id)
    assert status.returncode == 0 and "trust:       t-" in status.stdout and "(Verified)" in status.stdout


def test_a_repeated_request_starts_nothing_new(stack, directory_id, secret):
    request_id = f"CLI-{next(_n)}"
    args = flags(directory_id, f"dup{next(_n)}.ctl.example", secret, request_id)
    assert trustctl(stack, "request", *args).returncode == 0
    again = trustctl(stack, "request", *args)
    assert again.returncode == 0, again.stderr
    assert len(stack.executions_named(f"trust-{request_id}")) == 1
    trustctl(stack, "watch", request_id)


def test_an_invalid_request_is_refused_locally_and_nothing_starts(stack, directory_id, secret, tmp_path):
    request_id = f"CLI-{next(_n)}"
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"requestId": request_id, "directoryId": directory_id, "remoteDomainName": "corp",
                                "trustDirection": "sideways", "trustPassword": {"secretId": secret}}))
    refused = trustctl(stack, "request", "--file", str(path))
    assert refused.returncode == 2
    assert "remoteDomainName: must be a multi-label" in refused.stderr and "trustDirection: must be" in refused.stderr
    assert stack.executions_named(f"trust-{request_id}") == []


def test_status_of_an_unknown_request_says_so(stack):
    result = trustctl(stack, "status", "NO-SUCH-REQUEST")
    assert result.returncode == 4
    assert "no trust request \"NO-SUCH-REQUEST\"" in result.stderr


def test_watch_exits_non_zero_when_the_trust_fails(stack, directory_id, secret):
    request_id = f"CLI-{next(_n)}"
    domain = f"fail{next(_n)}.ctl.example"
    stack.set_scenario(domain, "unreachable")
    assert trustctl(stack, "request", *flags(directory_id, domain, secret, request_id)).returncode == 0
    watched = trustctl(stack, "watch", request_id)
    assert watched.returncode == 1
    assert "status:      failed" in watched.stdout


def test_request_via_events_puts_an_event_that_starts_the_workflow(stack, directory_id, secret):
    request_id = f"CLI-{next(_n)}"
    sent = trustctl(stack, "request", "--via", "events", *flags(directory_id, f"ev{next(_n)}.ctl.example", secret, request_id))
    assert sent.returncode == 0, sent.stderr
    delivered = stack.drain(stack.requests_queue)
    assert [e["detail"]["requestId"] for e in delivered] == [request_id]
    assert delivered[0]["detail-type"] == "Trust Requested"
    # The rule invoked the entrance, which named the execution after the request id: watch follows it.
    arn = stack.wait_for_execution(f"trust-{request_id}")
    run = stack.follow(arn)
    assert run.status == "SUCCEEDED"
    assert json.loads(stack.client("stepfunctions").describe_execution(executionArn=arn)["input"]) == delivered[0]["detail"]
    watched = trustctl(stack, "watch", request_id)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "status:      verified" in watched.stdout


def api_url(stack):
    return f"{stack.api_url}/trust-requests"


def test_request_and_status_via_the_api_sign_with_sigv4(stack, directory_id, secret):
    request_id = f"CLI-{next(_n)}"
    args = flags(directory_id, f"api{next(_n)}.ctl.example", secret, request_id)
    started = trustctl(stack, "request", "--via", "api", "--api-url", api_url(stack), *args)
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"started {stack.execution_arn(f'trust-{request_id}')}" in started.stdout
    # While it runs, the same POST is answered with the same execution (StartExecution is idempotent then).
    again = trustctl(stack, "request", "--via", "api", "--api-url", api_url(stack), *args)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f":trust-{request_id}" in again.stdout
    assert trustctl(stack, "watch", request_id).returncode == 0
    # Once it has ended, the API says it was started before.
    after = trustctl(stack, "request", "--via", "api", "--api-url", api_url(stack), *args)
    assert after.returncode == 0, after.stdout + after.stderr
    assert f"request {request_id} was already started" in after.stdout
    assert len(stack.executions_named(f"trust-{request_id}")) == 1
    status = trustctl(stack, "status", request_id, "--via", "api", "--api-url", api_url(stack))
    assert status.returncode == 0, status.stdout + status.stderr
    assert "status:      verified (execution SUCCEEDED)" in status.stdout and "(Verified)" in status.stdout


def test_status_via_the_api_of_an_unknown_request_exits_4(stack):
    result = trustctl(stack, "status", "NO-SUCH-API-REQUEST", "--via", "api", "--api-url", api_url(stack))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "NO-SUCH-API-REQUEST" in result.stderr


def test_a_request_signed_with_the_wrong_key_is_refused_by_the_api(stack, directory_id, secret):
    request_id = f"CLI-{next(_n)}"
    env_override = {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    env = dict(os.environ, AWS_ENDPOINT_URL=stack.endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test", **env_override)
    refused = subprocess.run([str(TRUSTCTL), "request", "--via", "api", "--api-url", api_url(stack),
                              *flags(directory_id, f"key{next(_n)}.ctl.example", secret, request_id)],
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "HTTP 403" in refused.stderr and "signature" in refused.stderr
    assert stack.executions_named(f"trust-{request_id}") == []


def test_remove_deletes_the_trust_through_each_way_in_and_refuses_a_broken_removal_locally(stack, directory_id, secret):
    for via in ("sfn", "events", "api"):
        request_id, domain = f"CLI-{next(_n)}", f"rm{next(_n)}.ctl.example"
        assert trustctl(stack, "request", *flags(directory_id, domain, secret, request_id)).returncode == 0
        assert trustctl(stack, "watch", request_id).returncode == 0
        removal_id = f"CLI-RM-{next(_n)}"
        removed = trustctl(stack, "remove", "--request-id", removal_id, "--directory-id", directory_id, "--remote-domain", domain,
                           "--delete-forwarder", "--via", via, "--api-url", f"{stack.api_url}/trust-requests")
        assert removed.returncode == 0, removed.stdout + removed.stderr
        stack.wait_for_execution(f"trust-{removal_id}")  # an event starts it a moment later
        watched = trustctl(stack, "watch", removal_id)
        assert watched.returncode == 0 and "status:      removed" in watched.stdout, (via, watched.stdout + watched.stderr)
        remaining = [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["RemoteDomainName"] == domain]
        assert all(t["TrustState"] in ("Deleting", "Deleted") for t in remaining), (via, remaining)
    refused = trustctl(stack, "remove", "--request-id", "CLI-RM-BAD", "--directory-id", "d-XYZ", "--remote-domain", "corp")
    assert refused.returncode == 2 and "directoryId: must match" in refused.stderr and "remoteDomainName" in refused.stderr
    assert stack.executions_named("trust-CLI-RM-BAD") == []


def test_list_shows_each_trust_with_its_state_reason_and_remedy_as_text_or_json(stack, secret):
    directory_id = stack.seed_directory("list.ctl.example")
    verified, late = f"ok{next(_n)}.ctl.example", f"late{next(_n)}.ctl.example"
    stack.set_scenario(late, "wrong-password")
    for domain in (verified, late):
        request_id = f"CLI-{next(_n)}"
        assert trustctl(stack, "request", *flags(directory_id, domain, secret, request_id)).returncode == 0
        trustctl(stack, "watch", request_id)
    listed = trustctl(stack, "list", "--directory-id", directory_id, "--output", "json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["remoteDomainName"]: row for row in json.loads(listed.stdout)}
    assert (rows[verified]["trustState"], rows[verified]["remedy"]) == ("Verified", None)
    assert rows[late]["trustState"] in ("VerifyFailed", "Failed") and rows[late]["remedy"] == "access-denied", rows[late]
    text = trustctl(stack, "list", "--directory-id", directory_id)
    assert text.returncode == 0 and verified in text.stdout and "remedy: access-denied" in text.stdout
    assert trustctl(stack, "list", "--directory-id", "d-0000000000").returncode == 4
    assert trustctl(stack, "list", "--output", "yaml").returncode == 2
