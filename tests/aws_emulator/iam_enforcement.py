"""IAM enforcement for callers that hold a role's session: the Lambdas, each under its own role.

moto can evaluate IAM itself (``INITIAL_NO_AUTH_ACTION_COUNT``), but then for every caller,
harness included, and it matches every non-S3 request against the resource ``*``: a statement
scoped to ``arn:...:secret:trustflow/*`` never matches, so a least-privilege policy denies
everything. This module enforces what can be enforced faithfully here, for requests signed with
credentials of an assumed role (what Lambda gives a function: its execution role's session):

* the action (``<service prefix>:<operation>``) must be allowed by a statement of one of the role's
  policies (inline or attached), and denied by none; ``Action``, ``NotAction`` and wildcards are
  evaluated as IAM does;
* ``Resource`` and ``Condition`` are not evaluated (a statement allowing the action on any resource
  counts as allowing it): the resources each policy names are checked statically against the
  Service Authorization Reference by the template tests instead.

Requests signed with plain access keys (the test harness, ``trustctl`` in the tests) are not
checked. ``assume(role_arn, session)`` gives a role's credentials in the shape of the AWS SDKs'
``credential_process`` output, which is how the local stack hands each function its own role.
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from datetime import timezone
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# Signing name -> IAM service prefix, where they differ.
IAM_PREFIX = {"monitoring": "cloudwatch", "execute-api": "execute-api"}


def assumed_role_of(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(role name, session name) of a request signed with an assumed role's credentials, else None.

    A session token that does not belong to the access key is an assumed role nobody holds:
    reported as the role name ``""`` so the caller is refused."""
    from moto.sts.models import sts_backends

    match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    if not match or not token:
        return None
    access_key = match.group(1)
    for partition_backends in sts_backends[DEFAULT_ACCOUNT_ID].values():
        for role in partition_backends.assumed_roles:
            if role.access_key_id == access_key:
                if role.session_token != token:
                    return "", ""
                return role.role_arn.split("/")[-1], role.session_name
    return "", ""


def action_of(service: str, operation: str) -> str:
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


def role_policies(role_name: str) -> list[dict[str, Any]]:
    """The policy documents of a role: inline, then attached managed ones."""
    from moto.iam.models import iam_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    role = iam.get_role(role_name)
    documents = [_document(doc) for doc in role.policies.values()]
    for policy in role.managed_policies.values():
        documents += [_document(v.document) for v in policy.versions if v.is_default]
    return documents


def _document(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    text = str(text)
    return json.loads(urllib.parse.unquote(text) if text.startswith("%") else text)


def _matches(patterns: Any, action: str) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    # IAM action names are case-insensitive; * and ? are the only wildcards.
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in patterns)


def decide(documents: list[dict[str, Any]], action: str) -> str:
    """"allowed", "denied" (an explicit Deny) or "not allowed" (no statement allows it), on actions only."""
    allowed = False
    for document in documents:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if "NotAction" in statement:
                concerned = not _matches(statement["NotAction"], action)
            else:
                concerned = _matches(statement.get("Action", []), action)
            if not concerned:
                continue
            if statement.get("Effect") == "Deny":
                return "denied"
            if statement.get("Effect") == "Allow":
                allowed = True
    return "allowed" if allowed else "not allowed"


def check(caller: tuple[str, str] | None, service: str, operation: str) -> dict[str, str] | None:
    """None when a request of ``caller`` (``assumed_role_of``) may proceed; otherwise what was refused and why."""
    if caller is None:
        return None
    role_name, session = caller
    action = action_of(service, operation)
    if not role_name:
        return {"role": "", "session": "", "action": action, "decision": "unknown session"}
    from moto.iam.exceptions import NotFoundException

    try:
        documents = role_policies(role_name)
    except NotFoundException:  # the role was deleted after its session was issued
        return {"role": role_name, "session": session, "action": action, "decision": "role does not exist"}
    decision = decide(documents, action)
    if decision == "allowed":
        return None
    return {"role": role_name, "session": session, "action": action, "decision": decision}


def assume(role_arn: str, session: str, region: str = "us-east-1") -> dict[str, Any]:
    """A session of ``role_arn``, as ``credential_process`` prints it (Version 1)."""
    from moto.sts.models import sts_backends

    role = sts_backends[DEFAULT_ACCOUNT_ID]["aws"].assume_role(
        region_name=region, role_session_name=session, role_arn=role_arn, policy="", duration=3600, external_id="")
    return {"Version": 1, "AccessKeyId": role.access_key_id, "SecretAccessKey": role.secret_access_key,
            "SessionToken": role.session_token,
            "Expiration": role.expiration.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
