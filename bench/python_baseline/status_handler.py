"""The benchmark baseline for request-status: GET /trust-requests/{id} in Python + boto3.

Kept only to measure against (docs/benchmarks.md). Same calls as the Rust Lambda
(DescribeExecution, then every page of GetExecutionHistory), client built once at import; a
module of its own so the other baselines do not pay for a Step Functions client.
"""

import json
import os
import re

import boto3

sfn = boto3.client("stepfunctions")
MACHINE = os.environ["STATE_MACHINE_ARN"]
REQUEST_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
OPEN = {"RUNNING", "PENDING_REDRIVE"}


def _answer(code, body):
    return {"statusCode": code, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def status(event, context):
    request_id = (event.get("pathParameters") or {}).get("id", "")
    if not REQUEST_ID.match(request_id):
        return _answer(400, {"message": f"id: must be 1 to 64 characters of letters, digits, '-', '_' or '.' (got {request_id!r})"})
    arn = f"{MACHINE.replace(':stateMachine:', ':execution:', 1)}:trust-{request_id}"
    try:
        execution = sfn.describe_execution(executionArn=arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        return _answer(404, {"message": f"no trust request with id {request_id!r} was started"})
    announcement, trust = None, {}
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn, maxResults=1000):
        for e in page["events"]:
            output = e.get("taskSucceededEventDetails", {}).get("output")
            payload = json.loads(output).get("Payload", {}) if output else {}
            if isinstance(payload, dict):
                announcement = payload.get("announcement", announcement)
                if isinstance(payload.get("status"), dict) and "trustId" in payload["status"]:
                    trust = payload["status"]
    state = execution["status"]
    if state in OPEN:
        view = "awaitingRemoteSide" if announcement == "awaitingRemoteSide" else "running"
    elif announcement in ("verified", "alreadyInPlace"):
        view = "verified"
    elif announcement == "rejected" or execution.get("error") == "TrustRequestRejected":
        view = "rejected"
    elif announcement in ("timedOut", "remoteSideTimedOut") or state == "TIMED_OUT":
        view = "timedOut"
    elif state == "ABORTED":
        view = "aborted"
    else:
        view = "failed"
    body = {"requestId": request_id, "status": view, "executionStatus": state, "announcement": announcement,
            "trustId": trust.get("trustId"), "trustState": trust.get("trustState"), "trustStateReason": trust.get("trustStateReason"),
            "error": execution.get("error"), "startDate": execution["startDate"].isoformat(),
            "stopDate": execution["stopDate"].isoformat() if execution.get("stopDate") else None}
    return _answer(200, {k: v for k, v in body.items() if v})
