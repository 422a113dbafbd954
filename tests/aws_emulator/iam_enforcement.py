"""IAM enforcement for callers that hold a role's session: the Lambdas, each under its own role.

moto can evaluate IAM itself (``INITIAL_NO_AUTH_ACTION_COUNT``), but then for every caller,
harness included, and it matches every non-S3 request against the resource ``*``: a statement
scoped to ``arn:...:secret:trustflow/*`` never matches, so a least-privilege policy denies
everything. This module enforces what can be enforced faithfully here, for requests signed with
credentials of an assumed role (what Lambda gives a function: its execution role's session), in
whichever account the role is (a session of a role of account 222222222222, obtained with
``sts:AssumeRole``, is held to that role's policies in that account's IAM):

* the action (``<service prefix>:<operation>``) must be allowed by a statement of one of the role's
  policies (inline or attached), and denied by none; ``Action``, ``NotAction`` and wildcards are
  evaluated as IAM does;
* ``Resource`` is evaluated for one action only, ``sts:AssumeRole``: the statement's ``Resource``
  (or ``NotResource``; a string or a list, ``*`` and ``?`` wildcards, matched case-sensitively) must
  match the ARN of the role asked for. For every other action ``Resource`` is not evaluated (a
  statement allowing the action on any resource counts as allowing it): the resources each policy
  names are checked statically against the Service Authorization Reference by the template tests
  instead. ``Condition`` in the caller's own policies is never evaluated.

``sts:AssumeRole`` is further held to what AWS checks on the role asked for (``assume_role_refusal``):
it must exist in its account's IAM, and its trust policy must have an ``Allow`` statement for
``sts:AssumeRole`` whose ``Principal.AWS`` (a string or a list) names the caller's role ARN, the
caller's account root (``arn:aws:iam::<account>:root``) or the bare account id, and whose
``Condition``, if any, holds; and no ``Deny`` statement that applies. Conditions supported:
``StringEquals`` and ``StringLike`` on ``sts:ExternalId`` (the request's ``ExternalId``; a request
without one fails such a condition). Any other operator or key cannot be evaluated here and fails
closed: an ``Allow`` statement with it does not match, a ``Deny`` statement with it applies. Any
other principal form (``"*"``, ``Service``, ``Federated``, a session ARN) does not name the caller.
Stricter than AWS in one case: within one account AWS lets a trust policy that names the caller's
role ARN stand without an identity policy allowing the assumption; here the identity policy is
always required.

``sts:GetCallerIdentity`` needs no permission, as on AWS.

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
from typing import Any, NamedTuple

from moto.core import DEFAULT_ACCOUNT_ID

CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# Signing name -> IAM service prefix, where they differ.
IAM_PREFIX = {"monitoring": "cloudwatch", "execute-api": "execute-api"}
ASSUME_ROLE = "sts:AssumeRole"
# Actions AWS lets any authenticated caller take, whatever its policies say.
NO_PERMISSION_NEEDED = {"sts:GetCallerIdentity"}
ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/(?:[^/]+/)*([^/]+)")


class Caller(NamedTuple):
    """Who signed a request with an assumed role's credentials. ``role`` "" is a session nobody was issued."""
    account: str  # the role's account, where the session acts
    role: str  # the role's name
    session: str
    role_arn: str = ""

    @property
    def principal(self) -> str:
        """The session's ARN, as AWS names the caller in an AccessDenied message."""
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role}/{self.session}"


UNKNOWN_SESSION = Caller("", "", "")


def session_of(access_key: str) -> Any:
    """The AssumedRole (moto's) whose access key this is, in any account's STS backend, else None.
    moto keeps a session in the STS backend of the role's account."""
    from moto.sts.models import sts_backends

    for account_backends in list(sts_backends.values()):
        for backend in list(account_backends.values()):
            for role in list(backend.assumed_roles):
                if role.access_key_id == access_key:
                    return role
    return None


def assumed_role_of(environ: dict[str, Any]) -> Caller | None:
    """The caller of a request signed with an assumed role's credentials, else None (plain keys).

    A session token that does not belong to the access key is an assumed role nobody holds:
    reported as ``UNKNOWN_SESSION`` (role name ``""``) so the caller is refused."""
    match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN")
    if not match or not token:
        return None
    role = session_of(match.group(1))
    if role is None or role.session_token != token:
        return UNKNOWN_SESSION
    return Caller(role.role_arn.split(":")[4], role.role_arn.split("/")[-1], role.session_name, role.role_arn)


def action_of(service: str, operation: str) -> str:
    return f"{IAM_PREFIX.get(service, service)}:{operation}"


def role_policies(account: str, role_name: str) -> list[dict[str, Any]]:
    """The policy documents of a role of ``account``: inline, then attached managed ones."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account]["aws"]
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


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _matches(patterns: Any, action: str) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    # IAM action names are case-insensitive; * and ? are the only wildcards.
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in patterns)


def _glob(pattern: str) -> re.Pattern[str]:
    """An IAM wildcard pattern (``*`` any run of characters, ``?`` one; nothing else special), case-sensitive."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def resource_matches(patterns: Any, resource: str) -> bool:
    """Whether an ARN matches a statement's ``Resource`` (a string or a list): ARNs are case-sensitive."""
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(_glob(str(p)).fullmatch(resource) for p in patterns)


def _concerns_action(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches(statement["NotAction"], action)
    return _matches(statement.get("Action", []), action)


def decide(documents: list[dict[str, Any]], action: str, resource: str | None = None) -> str:
    """"allowed", "denied" (an explicit Deny) or "not allowed" (no statement allows it). With
    ``resource`` (an ARN), a statement counts only if its ``Resource``/``NotResource`` covers it;
    without, resources are not evaluated."""
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _concerns_action(statement, action):
                continue
            if resource is not None:
                if "NotResource" in statement:
                    if resource_matches(statement["NotResource"], resource):
                        continue
                elif not resource_matches(statement.get("Resource", []), resource):
                    continue
            if statement.get("Effect") == "Deny":
                return "denied"
            if statement.get("Effect") == "Allow":
                allowed = True
    return "allowed" if allowed else "not allowed"


def _names(principal: Any, caller: Caller) -> bool:
    """Whether a trust policy statement's ``Principal`` names the caller: its role ARN, its account's
    root or its bare account id under ``AWS``. Any other form names nobody here."""
    if not isinstance(principal, dict) or "AWS" not in principal:
        return False
    named = principal["AWS"] if isinstance(principal["AWS"], list) else [principal["AWS"]]
    return any(str(p) in (caller.role_arn, f"arn:aws:iam::{caller.account}:root", caller.account) for p in named)


def condition_holds(condition: Any, context: dict[str, str | None]) -> bool | None:
    """True or False when every test of ``condition`` can be evaluated from ``context`` (condition
    key, lower-cased -> the request's value, None when absent); None when one cannot (an operator
    other than StringEquals/StringLike, or a key not in ``context``), unless another test is False."""
    if not condition:
        return True
    results: list[bool | None] = []
    for operator, tests in (condition.items() if isinstance(condition, dict) else [("?", None)]):
        if operator not in ("StringEquals", "StringLike") or not isinstance(tests, dict):
            results.append(None)
            continue
        for key, wanted in tests.items():
            if key.lower() not in context:
                results.append(None)
                continue
            value = context[key.lower()]
            wanted = [str(w) for w in (wanted if isinstance(wanted, list) else [wanted])]
            if value is None:
                results.append(False)
            elif operator == "StringEquals":
                results.append(value in wanted)
            else:
                results.append(any(_glob(w).fullmatch(value) for w in wanted))
    if False in results:
        return False
    return None if None in results else True


def trust_decision(document: dict[str, Any], caller: Caller, external_id: str | None) -> str:
    """What a role's trust policy says to ``caller`` assuming it: "allowed", "denied" or "not allowed"."""
    context = {"sts:externalid": external_id}
    allowed = False
    for statement in _statements(document):
        if not _concerns_action(statement, ASSUME_ROLE) or not _names(statement.get("Principal"), caller):
            continue
        holds = condition_holds(statement.get("Condition"), context)
        if statement.get("Effect") == "Deny" and holds is not False:
            return "denied"
        if statement.get("Effect") == "Allow" and holds is True:
            allowed = True
    return "allowed" if allowed else "not allowed"


def assume_role_refusal(caller: Caller, documents: list[dict[str, Any]], role_arn: str, external_id: str | None) -> str | None:
    """None when ``caller`` (whose policies are ``documents``) may assume ``role_arn``; otherwise why not."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    decision = decide(documents, ASSUME_ROLE, resource=role_arn)
    if decision != "allowed":
        return decision
    match = ROLE_ARN.fullmatch(role_arn)
    if not match:
        return "role to assume does not exist"
    try:
        role = iam_backends[match.group(1)]["aws"].get_role_by_arn(role_arn)
    except NotFoundException:
        return "role to assume does not exist"
    trust = trust_decision(_document(role.assume_role_policy_document), caller, external_id)
    if trust == "allowed":
        return None
    return "trust policy denies" if trust == "denied" else "trust policy does not allow"


def check(caller: Caller | None, service: str, operation: str,
          parameters: dict[str, str] | None = None) -> dict[str, str] | None:
    """None when a request of ``caller`` (``assumed_role_of``) may proceed; otherwise what was refused
    and why. ``parameters``: the request's (query protocol) parameters, which AssumeRole needs."""
    if caller is None:
        return None
    action = action_of(service, operation)
    refusal = {"account": caller.account, "role": caller.role, "session": caller.session, "action": action}
    if not caller.role:
        return {**refusal, "decision": "unknown session"}
    if action in NO_PERMISSION_NEEDED:
        return None
    from moto.iam.exceptions import NotFoundException

    try:
        documents = role_policies(caller.account, caller.role)
    except NotFoundException:  # the role was deleted after its session was issued
        return {**refusal, "decision": "role does not exist"}
    if action == ASSUME_ROLE:
        parameters = parameters or {}
        role_arn = parameters.get("RoleArn", "")
        why = assume_role_refusal(caller, documents, role_arn, parameters.get("ExternalId"))
        return None if why is None else {**refusal, "resource": role_arn, "decision": why}
    decision = decide(documents, action)
    if decision == "allowed":
        return None
    return {**refusal, "decision": decision}


def assume(role_arn: str, session: str, region: str = "us-east-1") -> dict[str, Any]:
    """A session of ``role_arn``, as ``credential_process`` prints it (Version 1)."""
    from moto.sts.models import sts_backends

    role = sts_backends[DEFAULT_ACCOUNT_ID]["aws"].assume_role(
        region_name=region, role_session_name=session, role_arn=role_arn, policy="", duration=3600, external_id="")
    return {"Version": 1, "AccessKeyId": role.access_key_id, "SecretAccessKey": role.secret_access_key,
            "SessionToken": role.session_token,
            "Expiration": role.expiration.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
