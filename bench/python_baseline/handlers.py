"""The benchmark baseline: the four trustflow handlers as a team would write them in Python + boto3.

Kept only to measure against (docs/benchmarks.md); not deployed, not the product. Each handler
makes the same AWS calls as its Rust counterpart, with clients built once at import, as
AWS recommends for Python Lambdas.
"""

import ipaddress
import json
import os
import re
from datetime import datetime, timedelta, timezone

import boto3

ds = boto3.client("ds")
secrets = boto3.client("secretsmanager")
sns = boto3.client("sns")
events = boto3.client("events")

DIRECTORY_ID = re.compile(r"^d-[0-9a-f]{10}$")
DOMAIN = re.compile(r"^([a-zA-Z0-9]+[\.-])+([a-zA-Z0-9])+[.]?$")
DIRECTIONS = {"two-way": "Two-Way", "outgoing": "One-Way: Outgoing", "incoming": "One-Way: Incoming",
              "one-way: outgoing": "One-Way: Outgoing", "one-way: incoming": "One-Way: Incoming"}


class ValidationFailed(Exception):
    pass


class TrustPending(Exception):
    pass


def _norm(name):
    return name.strip().rstrip(".").lower()


def _parse(event):
    request = event.get("detail", event)
    problems = []
    if not DIRECTORY_ID.match(request.get("directoryId", "")):
        problems.append(f"directoryId: must match ^d-[0-9a-f]{{10}}$ (got {request.get('directoryId')!r})")
    domain = request.get("remoteDomainName", "")
    if not DOMAIN.match(domain) or "." not in domain.rstrip("."):
        problems.append(f"remoteDomainName: must be a multi-label FQDN (got {domain!r})")
    direction = DIRECTIONS.get(str(request.get("trustDirection", "")).lower())
    if not direction:
        problems.append("trustDirection: must be Two-Way, One-Way: Outgoing or One-Way: Incoming")
    addrs = request.get("conditionalForwarderIpAddrs") or []
    for i, addr in enumerate(addrs):
        try:
            ip = ipaddress.IPv4Address(addr)
            if ip.is_loopback or ip.is_multicast:
                problems.append(f"conditionalForwarderIpAddrs[{i}]: must not be loopback or multicast (got {addr!r})")
        except ValueError:
            problems.append(f"conditionalForwarderIpAddrs[{i}]: must be an IPv4 address (got {addr!r})")
    if problems:
        raise ValidationFailed("; ".join(problems))
    return dict(request, remoteDomainName=_norm(domain), trustDirection=direction)


def validate(event, context):
    request = _parse(event)
    directory = ds.describe_directories(DirectoryIds=[request["directoryId"]])["DirectoryDescriptions"][0]
    if directory["Type"] != "MicrosoftAD" or directory["Stage"] != "Active":
        raise ValidationFailed("directoryId: must be an Active MicrosoftAD directory")
    primary = directory.get("RegionsInfo", {}).get("PrimaryRegion")
    if primary and primary != os.environ["AWS_REGION"]:
        raise ValidationFailed(f"directoryId: managed only in {primary}")
    secrets.describe_secret(SecretId=request["trustPassword"]["secretId"])
    trusts = []
    for page in ds.get_paginator("describe_trusts").paginate(DirectoryId=request["directoryId"]):
        trusts.extend(page["Trusts"])
    existing = [t for t in trusts if _norm(t["RemoteDomainName"]) == request["remoteDomainName"]]
    action = "Create" if not existing else "Adopt"
    deadline = datetime.now(timezone.utc) + timedelta(seconds=int(os.environ.get("TRUST_DEADLINE_SECONDS", "7200")))
    return {"request": request, "directory": {"directoryId": directory["DirectoryId"], "name": directory["Name"]},
            "action": action, "trustId": existing[0]["TrustId"] if existing else None, "deadline": deadline.isoformat()}


def create(event, context):
    plan = event["plan"]
    request = plan["request"]
    location = request["trustPassword"]
    value = secrets.get_secret_value(SecretId=location["secretId"])["SecretString"]
    if location.get("jsonKey"):
        value = json.loads(value)[location["jsonKey"]]
    kwargs = dict(DirectoryId=request["directoryId"], RemoteDomainName=request["remoteDomainName"], TrustPassword=value,
                  TrustDirection=request["trustDirection"], TrustType=request.get("trustType", "Forest"))
    if request.get("conditionalForwarderIpAddrs"):
        kwargs["ConditionalForwarderIpAddrs"] = request["conditionalForwarderIpAddrs"]
    try:
        plan["trustId"] = ds.create_trust(**kwargs)["TrustId"]
    except ds.exceptions.EntityAlreadyExistsException:
        trusts = ds.describe_trusts(DirectoryId=request["directoryId"])["Trusts"]
        plan["trustId"] = next(t["TrustId"] for t in trusts if _norm(t["RemoteDomainName"]) == request["remoteDomainName"])
        plan["action"] = "Adopt"
    return plan


def check(event, context):
    plan = event["plan"]
    trusts = ds.describe_trusts(DirectoryId=plan["request"]["directoryId"], TrustIds=[plan["trustId"]])["Trusts"]
    if not trusts:
        return {"plan": plan, "status": {"outcome": "failed", "trustState": "Deleted"}}
    trust = trusts[0]
    state = trust["TrustState"]
    if state in ("Verified", "Updated") or (state == "Created" and plan["request"]["trustDirection"] == "One-Way: Incoming"):
        outcome = "verified"
    elif state == "VerifyFailed":
        outcome = "awaitingRemoteSide"
    elif state in ("Failed", "UpdateFailed", "Deleting", "Deleted"):
        outcome = "failed"
    else:
        raise TrustPending(f"trust {plan['trustId']} is {state}")
    return {"plan": plan, "status": {"outcome": outcome, "trustId": trust["TrustId"], "trustState": state,
                                     "trustStateReason": trust.get("TrustStateReason", "")}}


def notify(event, context):
    plan, status = event["plan"], event.get("status", {})
    request = plan["request"]
    subject = f"trustflow: {plan['directory']['name']} trust with {request['remoteDomainName']} {status.get('outcome')}"
    body = (f"The {request['trustDirection']} trust between {plan['directory']['name']} and {request['remoteDomainName']}: "
            f"{status.get('outcome')}\nState: {status.get('trustState')}\nReason: {status.get('trustStateReason')}\n")
    sns.publish(TopicArn=os.environ["NOTIFICATION_TOPIC_ARN"], Subject=subject[:100], Message=body)
    detail = {"requestId": request["requestId"], "outcome": status.get("outcome"), "trustId": plan.get("trustId")}
    events.put_events(Entries=[{"EventBusName": os.environ.get("RESULT_EVENT_BUS", "default"), "Source": "trustflow",
                                "DetailType": "Trust Verified", "Detail": json.dumps(detail)}])
    return {"announcement": status.get("outcome"), "succeeded": status.get("outcome") == "verified"}
