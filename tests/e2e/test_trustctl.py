"""trustctl against the local stack: request, duplicate request, status, watch (each way in, text and JSON),
bad input, unknown id, a profile with credential_process; and its command line (help, version,
completions, parse errors), which needs no stack."""

import itertools
import json
import os
import subprocess
import sys

from local_stack import ROOT

TRUSTCTL = ROOT / "target" / "debug" / "trustctl"
_n = itertools.count(1)


def trustctl(stack, *args, timeout=180, **env_override):
    # watch looks every second while things change (the local stack's workflow polls every second),
    # and backs off to 3 s at most: its deployed defaults (2 s, up to 30 s) would slow every test.
    env = dict(os.environ, AWS_ENDPOINT_URL=stack.endpoint, AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="test",
               AWS_SECRET_ACCESS_KEY="test", TRUSTFLOW_STATE_MACHINE_ARN=stack.state_machine_arn, TRUSTFLOW_EVENT_BUS=stack.bus_name,
               TRUSTFLOW_POLL_INTERVAL="1", TRUSTFLOW_MAX_POLL_INTERVAL="3")
    env.update(env_override)
    return subprocess.run([str(TRUSTCTL), *args], env={k: v for k, v in env.items() if v is not None},
                          capture_output=True, text=True, timeout=timeout)



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


def bare_trustctl(*args):
    """trustctl with no AWS configuration and no trustflow variables at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRUSTFLOW_"))}
    return subprocess.run([str(TRUSTCTL), *args], env=env, capture_output=True, text=True, timeout=30)


def test_every_command_answers_help_and_the_binary_its_version_without_aws():
    for command in ("request", "check", "remove", "list", "status", "watch", "ready", "completions"):
        helped = bare_trustctl(command, "--help")
        assert helped.returncode == 0 and f"Usage: trustctl {command}" in helped.stdout, (command, helped.stderr)
    helped = bare_trustctl("request", "--help")
    assert "[env: TRUSTFLOW_STATE_MACHINE_ARN=]" in helped.stdout and "[env: TRUSTFLOW_API_URL=]" in helped.stdout
    assert "5  gave up waiting" in bare_trustctl("watch", "--help").stdout
    version = bare_trustctl("--version")
    assert version.returncode == 0 and version.stdout.startswith("trustctl ")


def test_completions_are_scripts_for_each_shell():
    for shell, marker in (("bash", "complete -F _trustctl"), ("zsh", "#compdef trustctl"), ("fish", "complete -c trustctl")):
        script = bare_trustctl("completions", shell)
        assert script.returncode == 0 and marker in script.stdout, (shell, script.stdout[:200])
        assert "--poll-interval" in script.stdout or "poll-interval" in script.stdout


def test_usage_errors_exit_2_and_name_what_is_wrong():
    for args, named in ((["request", "--colour", "red"], "--colour"), (["request", "--file"], "--file"),
                        (["status", "R-1", "--via", "events"], "--via"), (["watch"], "REQUEST_ID"), (["frobnicate"], "frobnicate"),
                        (["status", "R-1"], "--state-machine-arn"), (["watch", "R-1", "--via", "api"], "--api-url")):
        result = bare_trustctl(*args)
        assert result.returncode == 2 and named in result.stderr, (args, result.stderr)
    assert bare_trustctl().returncode == 2


def json_lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_json_output_of_request_watch_and_status_whichever_way_in(stack, directory_id, secret):
    request_id = f"CLI-{next(_n)}"
    started = trustctl(stack, "request", "--output", "json", *flags(directory_id, f"js{next(_n)}.ctl.example", secret, request_id))
    assert started.returncode == 0, started.stderr
    assert json.loads(started.stdout) == {"requestId": request_id, "via": "sfn", "outcome": "started",
                                          "executionArn": stack.execution_arn(f"trust-{request_id}"), "eventBus": None}
    watched = trustctl(stack, "watch", request_id, "--output", "json")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    lines = json_lines(watched.stdout)
    assert any(line.get("progress") == "-> PollTrust" for line in lines), lines
    assert [line["elapsedSeconds"] for line in lines] == sorted(line["elapsedSeconds"] for line in lines)
    assert lines[-1]["status"]["status"] == "verified" and lines[-1]["gaveUp"] is False
    assert all("status" not in line for line in lines[:-1])
    for via in (["--via", "sfn"], ["--via", "api", "--api-url", api_url(stack)]):
        status = trustctl(stack, "status", request_id, "--output", "json", *via)
        assert status.returncode == 0, status.stdout + status.stderr
        body = json.loads(status.stdout)
        assert (body["requestId"], body["status"], body["trustState"]) == (request_id, "verified", "Verified"), (via, body)
    # The same document as the API's GET /trust-requests/{id}: what a portal reads is what a script reads.
    assert json.loads(trustctl(stack, "status", request_id, "--output", "json").stdout) == json.loads(stack.api_call("GET", f"/trust-requests/{request_id}")[1])

    sent_id = f"CLI-{next(_n)}"
    sent = trustctl(stack, "request", "--via", "events", "--output", "json", *flags(directory_id, f"je{next(_n)}.ctl.example", secret, sent_id))
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout) == {"requestId": sent_id, "via": "events", "outcome": "sent", "executionArn": None,
                                       "eventBus": stack.bus_name}
    stack.wait_for_execution(f"trust-{sent_id}")
    stack.drain(stack.requests_queue)
    watched = trustctl(stack, "watch", sent_id, "--via", "api", "--api-url", api_url(stack), "--output", "json")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    lines = json_lines(watched.stdout)
    assert lines[-1]["status"]["status"] == "verified" and {"progress": "status: verified", "gaveUp": False} in [
        {k: v for k, v in line.items() if k != "elapsedSeconds"} for line in lines], lines


def test_watch_via_the_api_follows_a_request_to_its_end_and_exits_1_when_it_fails(stack, directory_id, secret):
    request_id, domain = f"CLI-{next(_n)}", f"wapi{next(_n)}.ctl.example"
    assert trustctl(stack, "request", "--via", "api", "--api-url", api_url(stack),
                    *flags(directory_id, domain, secret, request_id)).returncode == 0
    watched = trustctl(stack, "watch", request_id, "--via", "api", "--api-url", api_url(stack))
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "status: running" in watched.stdout and "status:      verified" in watched.stdout
    assert "Verified" in watched.stdout
    failing_id, failing = f"CLI-{next(_n)}", f"wfail{next(_n)}.ctl.example"
    stack.set_scenario(failing, "unreachable")
    assert trustctl(stack, "request", *flags(directory_id, failing, secret, failing_id)).returncode == 0
    watched = trustctl(stack, "watch", failing_id, "--via", "api", "--api-url", api_url(stack))
    assert watched.returncode == 1 and "status:      failed" in watched.stdout, watched.stdout + watched.stderr
    unknown = trustctl(stack, "watch", "NO-SUCH-WATCH", "--via", "api", "--api-url", api_url(stack))
    assert unknown.returncode == 4, unknown.stdout + unknown.stderr


def test_watch_gives_up_with_exit_5_and_the_status_so_far_when_the_request_is_still_open(stack, directory_id, secret):
    request_id, domain = f"CLI-{next(_n)}", f"stuck{next(_n)}.ctl.example"
    stack.set_scenario(domain, "stuck")
    assert trustctl(stack, "request", *flags(directory_id, domain, secret, request_id)).returncode == 0
    try:
        gave_up = trustctl(stack, "watch", request_id, "--timeout", "3")
        assert gave_up.returncode == 5, gave_up.stdout + gave_up.stderr
        assert "gave up waiting" in gave_up.stderr and "status:      running" in gave_up.stdout
        as_json = trustctl(stack, "watch", request_id, "--timeout", "2", "--via", "api", "--api-url", api_url(stack), "--output", "json")
        assert as_json.returncode == 5, as_json.stdout + as_json.stderr
        last = json_lines(as_json.stdout)[-1]
        assert last["gaveUp"] is True and last["status"]["status"] == "running"
        # Elapsed time is the request's age, not the watch's: the second watch started seconds later.
        assert last["elapsedSeconds"] >= 3, last
    finally:
        stack.client("stepfunctions").stop_execution(executionArn=stack.execution_arn(f"trust-{request_id}"))


def test_a_profile_with_credential_process_signs_for_trustctl_and_wins_over_the_environment(stack, directory_id, secret, tmp_path):
    request_id = f"CLI-{next(_n)}"
    assert trustctl(stack, "request", *flags(directory_id, f"prof{next(_n)}.ctl.example", secret, request_id)).returncode == 0
    assert trustctl(stack, "watch", request_id).returncode == 0
    calls = tmp_path / "credential-process-calls"
    process = tmp_path / "credentials.py"
    process.write_text("import json, sys\n"
                       f"open({str(calls)!r}, 'a').write('called\\n')\n"
                       "print(json.dumps({'Version': 1, 'AccessKeyId': 'test', 'SecretAccessKey': 'test'}))\n")
    config = tmp_path / "aws-config"
    config.write_text(f"[profile trustctl-test]\ncredential_process = {sys.executable} {process}\nregion = us-east-1\n")
    no_credentials = tmp_path / "aws-credentials"
    no_credentials.write_text("")
    # The environment's own keys are wrong (the API refuses their signature) and name another Region:
    # only the profile's credentials and Region make these calls work.
    env = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(no_credentials),
           "AWS_SECRET_ACCESS_KEY": "not-the-secret", "AWS_REGION": None}
    refused = trustctl(stack, "status", request_id, "--via", "api", "--api-url", api_url(stack), "--region", "us-east-1", **env)
    assert refused.returncode == 3 and "HTTP 403" in refused.stderr, refused.stdout + refused.stderr
    assert not calls.exists()
    for args in (["status", request_id], ["status", request_id, "--via", "api", "--api-url", api_url(stack)]):
        status = trustctl(stack, "--profile", "trustctl-test", *args, **env)
        assert status.returncode == 0 and "status:      verified" in status.stdout, (args, status.stdout + status.stderr)
    listed = trustctl(stack, "list", "--directory-id", directory_id, "--profile", "trustctl-test", "--output", "json", **env)
    assert listed.returncode == 0 and json.loads(listed.stdout), listed.stdout + listed.stderr
    assert len(calls.read_text().splitlines()) >= 3
    # --region wins over the profile's: the directory lives in us-east-1 only.
    elsewhere = trustctl(stack, "list", "--directory-id", directory_id, "--profile", "trustctl-test", "--region", "eu-west-1", **env)
    assert elsewhere.returncode == 4, elsewhere.stdout + elsewhere.stderr


def test_a_dry_run_that_passes_every_check_exits_0_and_creates_nothing(stack, directory_id, secret):
    request_id, domain = f"CLI-{next(_n)}", f"dry{next(_n)}.ctl.example"
    checked = trustctl(stack, "check", *flags(directory_id, domain, secret, request_id))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    watched = trustctl(stack, "watch", request_id)
    assert watched.returncode == 0 and "status:      checked" in watched.stdout, watched.stdout + watched.stderr
    status = trustctl(stack, "status", request_id, "--output", "json")
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "checked"
    assert [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["RemoteDomainName"] == domain] == []
