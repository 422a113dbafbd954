"""Runs one trust request through the whole trustflow workflow on this machine and shows what
happens: each state as it is entered, each poll, and what the requester receives. With --then, the
trust's life goes on: a change in place, its removal, or the health check seeing it break."""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from local_stack import OTHER_ACCOUNT, REMOTE_ROLE_NAMES, LocalStack, Settings  # noqa: E402

SCENARIOS = {
    "verifies": "the on-premises side is configured: the trust is verified",
    "remote-late": "the on-premises admin configures their side a few seconds late: awaiting, re-verified, verified",
    "wrong-password": "the two sides use different passwords: VerifyFailed 'Access is denied' until the window closes",
    "unreachable": "the remote domain's DNS cannot be reached: Failed, remedy, failed trust cleaned up",
    "netbios-clash": "the two domains share a NetBIOS name: Failed with the remedy",
    "invalid": "a request with mistakes: rejected with every reason, nothing changed",
    "aws-pair": "the remote domain is another AWS directory of the account: both sides created, followed and verified",
    "aws-pair-other-account": "the remote domain is an AWS directory of another account, reached through a role there "
                              "(other-account-role.yaml): both sides created, followed and verified",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="verifies", help="what the remote domain does")
    parser.add_argument("--direction", default="Two-Way", help="Two-Way, One-Way: Outgoing, One-Way: Incoming")
    parser.add_argument("--via", choices=("events", "api"), default="events",
                        help="events: a 'Trust Requested' event starts the workflow; api: a signed POST /trust-requests, then GET")
    parser.add_argument("--then", default="", help="after the request, comma-separated: update (selective authentication "
                        "enabled in place), health (the health check sees the trust stop verifying), remove (the trust removed)")
    args = parser.parse_args()
    then = [step for step in args.then.split(",") if step]
    unknown = [step for step in then if step not in AFTERWARDS]
    if unknown:
        parser.error(f"--then: unknown {', '.join(unknown)}; known: {', '.join(AFTERWARDS)}")

    print(f"trustflow demo: scenario '{args.scenario}' - {SCENARIOS[args.scenario]}")
    settings = Settings()
    print(f"time is scaled down: polls every {settings.poll_interval_seconds}-{settings.max_poll_interval_seconds} s, "
          f"re-verification every {settings.reverify_interval_seconds} s, one emulated trust state every {settings.state_seconds:g} s. "
          "Deployed with the template's defaults (polls from 15 s growing to 120 s, re-verification every 300 s) and at "
          "AWS's own pace (a trust takes minutes to be created and verified), the same run takes minutes, and a remote "
          "side that comes late is noticed up to 5 minutes later unless it is reported ready.")
    print("starting the emulated AWS and the Lambda runtime emulator...", flush=True)
    with LocalStack(settings) as stack:
        directory_id = stack.seed_directory("aws.example.com")
        stack.put_secret("trustflow/corp.example.com", "Demo-Trust-Passw0rd!")
        domain = "corp.example.com"
        if args.scenario == "aws-pair":
            # The other directory, in a VPC that does not overlap this one's: one request makes both sides.
            remote_directory_id = stack.seed_directory(domain, vpcCidr="10.1.0.0/16")
        elif args.scenario == "aws-pair-other-account":
            # The other directory in the emulator's second account, and the role trustflow assumes there,
            # created from other-account-role.yaml by that account (the stack allows it: AllowedRemoteRoleArns).
            remote_directory_id = stack.seed_directory(domain, account=OTHER_ACCOUNT, vpcCidr="10.1.0.0/16")
            remote_role_arn = stack.deploy_other_account_role(REMOTE_ROLE_NAMES[0], remote_directory_id)
            print(f"the other account ({OTHER_ACCOUNT}) holds {remote_directory_id} and the role {remote_role_arn}, "
                  f"which trusts {stack.output('RemoteDirectoryCallerRoleArns')} with the external id "
                  f"{settings.remote_role_external_id!r}")
        elif args.scenario != "invalid":
            stack.set_scenario(domain, args.scenario)
        detail = {
            "requestId": "REQ-2026-0042",
            "directoryId": directory_id,
            "remoteDomainName": domain,
            "trustType": "Forest",
            "trustDirection": args.direction,
            "conditionalForwarderIpAddrs": ["172.16.10.153", "172.16.10.154"],
            "selectiveAuth": "Disabled",
            "trustPassword": {"secretId": "trustflow/corp.example.com"},
            "requestedBy": "alice@example.com",
        }
        if args.scenario == "invalid":
            detail.update(remoteDomainName="corp", conditionalForwarderIpAddrs=["127.0.0.1", "172.16.10.300"], trustDirection="sideways")
        if args.scenario in ("aws-pair", "aws-pair-other-account"):
            # No forwarders: each side forwards to the other directory's DNS servers.
            del detail["conditionalForwarderIpAddrs"]
            detail["remoteDirectoryId"] = remote_directory_id
        if args.scenario == "aws-pair-other-account":
            detail["remoteRoleArn"] = remote_role_arn
        event = {"version": "0", "id": "demo", "detail-type": "Trust Requested", "source": "portal.identity",
                 "account": "123456789012", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "region": "us-east-1", "resources": [], "detail": detail}
        if args.via == "api":
            print("\n--- POST /trust-requests, SigV4-signed (the password is only named, never sent) ---")
        else:
            print("\n--- the 'Trust Requested' event (the password is only named, never sent) ---")
        print(json.dumps(detail, indent=2))
        started = time.time()
        if args.via == "api":
            code, answer = stack.api_call("POST", "/trust-requests", detail)
            print(f"\n--- the API's answer: HTTP {code} ---\n{answer}")
            if code != 202:
                return

        def show(history_event):
            t = f"{time.time() - started:6.1f}s"
            kind = history_event["type"]
            if "stateEnteredEventDetails" in history_event:
                print(f"{t}  -> {history_event['stateEnteredEventDetails']['name']}", flush=True)
            elif kind == "TaskFailed":
                details = history_event["taskFailedEventDetails"]
                cause = details.get("cause", "")
                try:
                    cause = json.loads(cause).get("errorMessage", cause)
                except ValueError:
                    pass
                print(f"{t}     {details.get('error')}: {cause[:160]}", flush=True)
            elif kind in ("ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut"):
                print(f"{t}  == {kind}", flush=True)

        print("\n--- the state machine, as it runs ---", flush=True)
        if args.via == "api":
            run = stack.follow(json.loads(answer)["executionArn"], on_event=show, timeout=300)
        else:
            # What a portal does: put the event on the bus. The rule invokes the entrance, which starts
            # the execution named after the request id.
            stack.put_request_event(detail)
            run = stack.follow(stack.wait_for_execution(f"trust-{detail['requestId']}"), on_event=show, timeout=300)
        transitions = sum(1 for e in run.history if e["type"].endswith("StateEntered"))
        invocations = sum(1 for e in run.history if e["type"] == "TaskScheduled")
        print(f"\n{run.status}: {transitions} state transitions, {invocations} Lambda invocations, {time.time() - started:.1f}s")
        print_sent(run.messages, run.events)
        if args.via == "api":
            code, status = stack.api_call("GET", f"/trust-requests/{detail['requestId']}")
            print(f"\n--- GET /trust-requests/{detail['requestId']}: HTTP {code} ---\n{json.dumps(json.loads(status), indent=2)}")
        for step in then:
            AFTERWARDS[step](stack, detail, directory_id, run)
        print(f"\nLogs: {stack.log_dir}")


def print_sent(messages, events) -> None:
    """What the requester (or the operator) received: SNS messages and result events."""
    for message in messages:
        print(f"\n--- SNS notification: {message.get('Subject')} ---\n{message['Message']}")
    for result in events:
        print(f"\n--- EventBridge result event: {result['detail-type']} ---")
        print(json.dumps(result["detail"], indent=2))


def show_outcome(run) -> None:
    print(f"{run.status}: states {' -> '.join(run.states_entered())}")
    print_sent(run.messages, run.events)


def update(stack, detail, directory_id, run) -> None:
    changed = dict(detail, requestId=f"{detail['requestId']}-U", selectiveAuth="Enabled")
    print("\n=== then: the same trust with selective authentication enabled (a change in place, no new trust) ===")
    show_outcome(stack.run(changed))


def remove(stack, detail, directory_id, run) -> None:
    removal = {"requestId": f"{detail['requestId']}-R", "directoryId": directory_id, "remoteDomainName": detail["remoteDomainName"]}
    if "remoteDirectoryId" in detail:
        removal["remoteDirectoryId"] = detail["remoteDirectoryId"]  # a pair: both sides go
    if "remoteRoleArn" in detail:
        removal["remoteRoleArn"] = detail["remoteRoleArn"]  # the other side is in another account
    print("\n=== then: a 'Trust Removal Requested' event (the forwarder is kept unless deleteConditionalForwarder) ===")
    print(json.dumps(removal, indent=2))
    entries = stack.client("events").put_events(Entries=[{"EventBusName": stack.bus_name, "Source": "portal.identity",
                                                          "DetailType": "Trust Removal Requested", "Detail": json.dumps(removal)}])
    assert entries["FailedEntryCount"] == 0, entries
    show_outcome(stack.follow(stack.wait_for_execution(f"trust-{removal['requestId']}")))


def health(stack, detail, directory_id, run) -> None:
    trust_id = (run.output or {}).get("status", {}).get("trustId")
    if not trust_id:
        print("\n=== then: health - no trust was created, nothing to watch ===")
        return
    function = stack.function("trust-health").name

    def check() -> dict:
        answer = stack.client("lambda").invoke(FunctionName=function, Payload=json.dumps({"directoryIds": [directory_id]}).encode())
        return json.loads(answer["Payload"].read())

    print("\n=== then: the scheduled health check (first run: it records what it sees, as tags on the directory) ===")
    stack.clear_captures()
    print(json.dumps(check(), indent=2))
    print(f"\n... the on-premises side changes its password; AWS's next verification of {trust_id} fails ...")
    stack.control("trust-state", {"trustId": trust_id, "state": "VerifyFailed",
                                  "reason": "The trust relationship could not be verified: Access is denied."})
    print(json.dumps(check(), indent=2))
    print_sent(stack.drain(stack.messages_queue), stack.drain(stack.events_queue))
    print("\n(a third check says nothing new: a change is reported once)")
    print(json.dumps(check(), indent=2))


AFTERWARDS = {"update": update, "health": health, "remove": remove}


if __name__ == "__main__":
    main()
