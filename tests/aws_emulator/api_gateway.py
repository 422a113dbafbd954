"""A small executor of an API Gateway REST API, as defined in a SAM template, for the local stack.

moto stores REST APIs but does not run their integrations or their mapping templates, and without
Docker there is no ``sam local``. This module runs one ``AWS::Serverless::Api`` DefinitionBody
(OpenAPI 3 with the ``x-amazon-apigateway-*`` extensions) as written, so the template's own VTL
templates and request model answer the requests. It emulates:

* routing on the ``paths`` (path templates ``{name}`` and ``{name+}``); an unknown route or method is
  answered 403 "Missing Authentication Token", as API Gateway does;
* IAM authorisation (``awsSigv4`` security, or SAM's ``Auth.DefaultAuthorizer: AWS_IAM``): the SigV4
  signature is recomputed (service ``execute-api``) over the request's SignedHeaders, its path as
  sent and its body, with the secret of the access key from a small table of known keys; the
  timestamp must be within 5 minutes. Whether that identity may invoke the API (IAM policies) is
  not evaluated;
* request validators: required parameters, and the body against the request model (JSON Schema
  draft 4, ``jsonschema.Draft4Validator``). The messages in ``$context.error.validationErrorString``
  follow the wording of API Gateway's validator but also name each field's path: they approximate
  AWS's, they are not identical;
* gateway responses (``x-amazon-apigateway-gateway-responses`` or the default
  ``{"message":$context.error.messageString}``), rendered with the VTL engine;
* ``aws`` integrations calling an AWS service through the emulator itself, signed with dummy
  credentials: ``SERVICE:action/ACTION`` for JSON-protocol services (Step Functions) and
  ``SERVICE:path/PATH``; request templates chosen by Content-Type and ``passthroughBehavior``;
  integration responses chosen by the first selection pattern that fully matches the backend's
  status code (else ``default``; with none, 500); ``$context.responseOverride.status``;
* ``aws_proxy`` Lambda integrations: a REST (v1) proxy event, Lambda Invoke through the emulator,
  and the function's ``statusCode``/``headers``/``body``; a function error or a malformed answer
  is a 502 "Internal server error";
* VTL with airspeed (the Velocity engine LocalStack uses too): ``$input``, ``$util``, ``$context``
  as API Gateway documents them, and the Java String methods the templates call.

It does not emulate: throttling, usage plans and API keys, quotas, custom domains, stage variables,
caching, authorizers other than IAM, IAM policy evaluation (resource policies, the integration's
``credentials`` role), presigned (query-string) SigV4, session tokens, ``http``/``http_proxy``/
``mock`` integrations, response parameter mappings other than static values, binary media types,
or Java's rendering of numbers and booleans (airspeed prints Python's ``True``, ``1.5E9`` is
printed ``1500000000.0``). JSONPath is evaluated by jsonpath-ng; a path that selects nothing is
null for ``$input.path`` and ``null`` for ``$input.json``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import string
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any

import airspeed
import jsonschema
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path
from jsonpath_ng import parse as parse_jsonpath

# Access keys the API accepts, as IAM would know them: the local stack signs with test/test.
KNOWN_KEYS = {
    "test": {"secret": "test", "accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:user/test"},
}
SIGNATURE_WINDOW = timedelta(minutes=5)
DEFAULT_TIMEOUT_MS = 29000
# JSON-protocol services an `action/X` integration can call: target prefix and protocol version.
JSON_ACTIONS = {"states": ("AWSStepFunctions", "1.0")}


# --- Java String methods the templates call (API Gateway's VTL runs on Java) --------------------

def _substring(s: str, begin: int, end: int | None = None) -> str:
    end = len(s) if end is None else end
    if begin < 0 or end > len(s) or begin > end:
        raise IndexError(f"String index out of range: begin {begin}, end {end}, length {len(s)}")
    return s[begin:end]


def _index_of(s: str, sub: str, start: int = 0) -> int:
    return s.find(sub, max(start, 0))


def _last_index_of(s: str, sub: str, start: int | None = None) -> int:
    if start is None:
        return s.rfind(sub)
    return -1 if start < 0 else s.rfind(sub, 0, start + len(sub))


def _char_at(s: str, index: int) -> str:
    if not 0 <= index < len(s):
        raise IndexError(f"String index out of range: {index}")
    return s[index]


JAVA_STRING_METHODS = {
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "substring": _substring,
    "charAt": _char_at,
    "contains": lambda s, sub: str(sub) in s,
    "length": len,
    "isEmpty": lambda s: len(s) == 0,
    "equals": lambda s, other: isinstance(other, str) and s == other,
    "equalsIgnoreCase": lambda s, other: isinstance(other, str) and s.lower() == other.lower(),
    "startsWith": lambda s, prefix: s.startswith(prefix),
    "endsWith": lambda s, suffix: s.endswith(suffix),
    "toLowerCase": lambda s: s.lower(),
    "toUpperCase": lambda s: s.upper(),
    "trim": lambda s: s.strip(" \t\n\r\x0b\x0c\x00"),
    "concat": lambda s, other: s + other,
    "matches": lambda s, pattern: re.fullmatch(pattern, s) is not None,
    "toString": lambda s: s,
}
airspeed.__additional_methods__.setdefault(str, {}).update(JAVA_STRING_METHODS)

# Velocity 1.7, which API Gateway runs, keeps backslashes in string literals as written: AWS's own fix
# for escapeJavaScript's \' is .replaceAll("\\'", "'"), a regex of backslash, backslash, quote. airspeed
# unescapes \\ to \ (the regex would then match a bare quote and change nothing): made to keep them.
for _literal, _quote in ((airspeed.StringLiteral, "'"), (airspeed.InterpolatedStringLiteral, '"')):
    _literal.STRING = re.compile(r"%s((?:\\.|[^%s\\])*)%s" % (_quote, _quote, _quote), re.S)
    _literal.ESCAPED_CHAR = re.compile(r"(?!)")


# --- $util, $input, rendering -------------------------------------------------------------------

def escape_javascript(value: Any) -> str | None:
    """commons-lang's StringEscapeUtils.escapeJavaScript, which API Gateway uses: note that it turns
    ' into \\' (not valid in JSON, as AWS's documentation warns) and / into \\/."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\"'\\/":
            out.append("\\" + ch)
        elif ch in "\b\f\n\r\t":
            out.append({"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif code < 32 or code > 0x7F:
            if code > 0xFFFF:  # Java strings are UTF-16: a surrogate pair
                code -= 0x10000
                out.append("\\u%04X\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
            else:
                out.append("\\u%04X" % code)
        else:
            out.append(ch)
    return "".join(out)


class Util:
    """``$util``."""

    @staticmethod
    def escapeJavaScript(value: Any) -> str | None:  # noqa: N802 (VTL names)
        return escape_javascript(value)

    @staticmethod
    def parseJson(text: str) -> Any:  # noqa: N802
        return json.loads(text)

    @staticmethod
    def urlEncode(text: str) -> str:  # noqa: N802 (java.net.URLEncoder: also encodes ~)
        return urllib.parse.quote_plus(text, safe="*").replace("~", "%7E")

    @staticmethod
    def urlDecode(text: str) -> str:  # noqa: N802
        return urllib.parse.unquote_plus(text)

    @staticmethod
    def base64Encode(text: str) -> str:  # noqa: N802
        return base64.b64encode(text.encode()).decode()

    @staticmethod
    def base64Decode(text: str) -> str:  # noqa: N802
        return base64.b64decode(text).decode()


def select(document: Any, path: str) -> Any:
    """A JSONPath selection: the value if one matched, a list if several, None if none."""
    matches = [m.value for m in parse_jsonpath(path).find(document)]
    if not matches:
        return None
    return matches[0] if len(matches) == 1 else matches


class Input:
    """``$input`` over one payload (the method request's, or the integration response's)."""

    def __init__(self, body: str, params: dict[str, dict[str, str]] | None = None) -> None:
        self.body = body
        self._params = params or {"path": {}, "querystring": {}, "header": {}}

    @cached_property
    def _document(self) -> Any:
        """The payload parsed once, on first use (a template that never reads it never parses it)."""
        if not self.body.strip():
            return {}
        return json.loads(self.body)

    def path(self, expression: str) -> Any:
        return select(self._document, expression)

    def json(self, expression: str) -> str:
        return json.dumps(select(self._document, expression), separators=(",", ":"), ensure_ascii=False)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for where in ("path", "querystring", "header"):
            found = self._params[where]
            if where == "header":
                found = {k.lower(): v for k, v in found.items()}
                name_here = name.lower()
            else:
                name_here = name
            if name_here in found:
                return found[name_here]
        return ""


def render(template: str, context: dict[str, Any], payload: str = "", params: dict[str, dict[str, str]] | None = None) -> str:
    """Renders a mapping template; ``#set($context.responseOverride.status = ...)`` lands in ``context``."""
    namespace = {"context": context, "input": Input(payload, params), "util": Util(), "stageVariables": {}}
    return airspeed.Template(template).merge(namespace)


# --- the template: YAML with CloudFormation short forms, intrinsic functions -------------------

class CfnLoader(yaml.SafeLoader):
    """YAML loader for CloudFormation templates: ``!Sub x`` becomes ``{"Fn::Sub": x}``, ``!Ref x`` ``{"Ref": x}``."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _short_form)


def resolve(node: Any, values: dict[str, Any]) -> Any:
    """Applies Ref, Fn::GetAtt, Fn::Sub and Fn::Join with ``values`` (``"Name"``, ``"Name.Attr"``,
    ``"AWS::Region"``...). A name that ``values`` lacks is an error, never an empty string."""

    def lookup(name: str) -> Any:
        if name not in values:
            raise KeyError(f"the template refers to {name!r}, which has no value (known: {', '.join(sorted(values))})")
        return values[name]

    if isinstance(node, list):
        return [resolve(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref":
            return lookup(arg)
        if key == "Fn::GetAtt":
            return lookup(".".join(arg) if isinstance(arg, list) else arg)
        if key == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], values))

            def substitute(match: re.Match) -> str:
                if match.group(1):  # ${!Literal} stands for ${Literal}
                    return "${" + match.group(2) + "}"
                name = match.group(2).strip()
                return str(local[name] if name in local else lookup(name))

            return re.sub(r"\$\{(!?)([^}]*)\}", substitute, text)
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(item) for item in resolve(items, values))
        if key.startswith("Fn::"):
            raise ValueError(f"intrinsic function {key} is not supported by the API executor")
    return {k: resolve(v, values) for k, v in node.items()}


# --- SigV4 --------------------------------------------------------------------------------------

AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256\s+(.*)$", re.S)
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")


@dataclass
class Denied(Exception):
    kind: str  # gateway response type
    message: str
    error_type: str  # x-amzn-ErrorType

    def __str__(self) -> str:
        return self.message


def verify_sigv4(method: str, raw_uri: str, headers: dict[str, str], body: bytes, region: str,
                 service: str = "execute-api", keys: dict[str, dict[str, str]] | None = None,
                 now: datetime | None = None) -> dict[str, str]:
    """Checks a SigV4-signed request; returns the caller (accessKey, accountId, userArn) or raises Denied.

    ``raw_uri`` is the path and query exactly as the client sent them (what it signed); ``headers``
    maps lower-case names to values."""
    keys = KNOWN_KEYS if keys is None else keys
    now = now or datetime.now(timezone.utc)
    authorization = headers.get("authorization", "")
    if not authorization:
        raise Denied("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token", "MissingAuthenticationTokenException")
    match = AUTHORIZATION.match(authorization)
    parts = {}
    if match:
        for item in match.group(1).split(","):
            name, _, value = item.strip().partition("=")
            parts[name] = value
    missing = [p for p in ("Credential", "Signature", "SignedHeaders") if not parts.get(p)]
    if not match or missing:
        needs = " ".join(f"Authorization header requires '{p}' parameter." for p in (missing or ["Credential"]))
        raise Denied("INVALID_SIGNATURE", f"{needs} Authorization={authorization}", "IncompleteSignatureException")
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise Denied("INVALID_SIGNATURE", f"Credential should be scoped to a valid region. Credential={parts['Credential']}",
                     "IncompleteSignatureException")
    access_key, day, scope_region, scope_service, _ = scope
    if access_key not in keys:
        raise Denied("INVALID_SIGNATURE", "The security token included in the request is invalid.", "UnrecognizedClientException")
    if scope_region != region:
        raise Denied("INVALID_SIGNATURE", f"Credential should be scoped to a valid region, not '{scope_region}'.",
                     "InvalidSignatureException")
    if scope_service != service:
        raise Denied("INVALID_SIGNATURE", f"Credential should be scoped to correct service: '{service}'.", "InvalidSignatureException")
    stamp = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        raise Denied("INVALID_SIGNATURE", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
                     f"Authorization={authorization}", "IncompleteSignatureException") from None
    fmt = "%Y%m%dT%H%M%SZ"
    if signed_at < now - SIGNATURE_WINDOW:
        raise Denied("INVALID_SIGNATURE", f"Signature expired: {stamp} is now earlier than "
                     f"{(now - SIGNATURE_WINDOW).strftime(fmt)} ({now.strftime(fmt)} - 5 min.)", "InvalidSignatureException")
    if signed_at > now + SIGNATURE_WINDOW:
        raise Denied("INVALID_SIGNATURE", f"Signature not yet current: {stamp} is still later than "
                     f"{(now + SIGNATURE_WINDOW).strftime(fmt)} ({now.strftime(fmt)} + 5 min.)", "InvalidSignatureException")
    signed_names = parts["SignedHeaders"].lower().split(";")
    if "host" not in signed_names or day != stamp[:8]:
        raise Denied("INVALID_SIGNATURE", SIGNATURE_MISMATCH, "InvalidSignatureException")

    # The canonical request over exactly what was signed: the path as sent (URI-encoded once more, as
    # SigV4 does for every service but S3), the query, the SignedHeaders, the body's hash. botocore's
    # primitives format the headers, the string to sign and the signature.
    signer = SigV4Auth(Credentials(access_key, keys[access_key]["secret"]), service, region)
    path, _, query = raw_uri.partition("?")
    request = AWSRequest(method=method, url=f"http://{headers.get('host', '')}{path}", data=body)
    request.context["timestamp"] = stamp  # what string_to_sign() and signature() read
    signed = HTTPHeaders()
    for name in signed_names:
        signed[name] = headers.get(name, "")
    pairs = sorted((urllib.parse.quote(k, safe="-_.~"), urllib.parse.quote(v, safe="-_.~"))
                   for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True))
    body_hash = hashlib.sha256(body).hexdigest()
    canonical = "\n".join([
        method.upper(),
        urllib.parse.quote(normalize_url_path(path), safe="/~"),
        "&".join(f"{k}={v}" for k, v in pairs),
        signer.canonical_headers(signed) + "\n",
        ";".join(signed_names),
        headers.get("x-amz-content-sha256", body_hash),
    ])
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if headers.get("x-amz-content-sha256", body_hash) != body_hash or not hmac.compare_digest(expected, parts["Signature"]):
        raise Denied("INVALID_SIGNATURE",
                     f"{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                     f"The String-to-Sign should have been\n'{string_to_sign}'\n", "InvalidSignatureException")
    known = keys[access_key]
    return {"accessKey": access_key, "accountId": known["accountId"], "caller": access_key, "user": access_key,
            "userArn": known["userArn"]}


# --- the request model -------------------------------------------------------------------------

def _quoted(values: Any) -> str:
    return json.dumps(values, ensure_ascii=False)


def _rule(error: jsonschema.ValidationError) -> str:
    """The message of one violation, worded like API Gateway's validator (which is Java's
    json-schema-validator). Values of a wrong type are not repeated, as there."""
    v, value, instance = error.validator, error.validator_value, error.instance
    if v == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        return f"object has missing required properties ({_quoted(missing)})"
    if v == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        return f"object instance has properties which are not allowed by the schema: {_quoted(extra)}"
    if v == "enum":
        return f"instance value ({_quoted(instance)}) not found in enum (possible values: {_quoted(value)})"
    if v == "pattern":
        return f'ECMA 262 regex "{value}" does not match input string "{instance}"'
    if v == "type":
        allowed = value if isinstance(value, list) else [value]
        kind = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
            type(instance), "integer" if isinstance(instance, int) else "number")
        return f"instance type ({kind}) does not match any allowed primitive type (allowed: {_quoted(allowed)})"
    if v == "maxLength":
        return f'string "{instance}" is too long (length: {len(instance)}, maximum allowed: {value})'
    if v == "minLength":
        return f'string "{instance}" is too short (length: {len(instance)}, required minimum: {value})'
    if v == "minItems":
        return f"array is too short: must have at least {value} elements but instance has {len(instance)} elements"
    if v == "maxItems":
        return f"array is too long: must have at most {value} elements but instance has {len(instance)} elements"
    if v == "uniqueItems":
        return "array must not contain duplicate elements"
    if v == "oneOf":
        matched = sum(1 for sub in value if jsonschema.Draft4Validator(sub).is_valid(instance))
        return f"instance failed to match exactly one schema (matched {matched} out of {len(value)})"
    return f"{v} {_quoted(value)} violated"  # not used by this project's model; the rule is still named


def _field(error: jsonschema.ValidationError) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return path.lstrip(".") or "(body)"


def validation_errors(schema: dict[str, Any], body: bytes) -> list[str]:
    """The violations of the request model, each naming the field, the rule and (for values of the
    right type) the value; an empty list if the body conforms."""
    try:
        document = json.loads(body.decode("utf-8")) if body.strip() else None
    except (ValueError, UnicodeDecodeError) as error:
        return [f"(body): the body is not valid JSON: {error}"]
    if document is None:
        return ["(body): the body is empty; the request model requires a JSON document"]
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    # dict.fromkeys: jsonschema reports each missing required property apart; one message names them all.
    return list(dict.fromkeys(f"{_field(e)}: {_rule(e)}" for e in errors))


# --- the API ------------------------------------------------------------------------------------

def integration_response(responses: dict[str, Any], status: int) -> dict[str, Any]:
    """The integration response whose selection pattern (a regex, the key) fully matches the backend's
    status code, else the ``default`` one; without either, API Gateway fails the request (500)."""
    for pattern, spec in responses.items():
        if pattern != "default" and re.fullmatch(pattern, str(status)):
            return spec
    if "default" in responses:
        return responses["default"]
    raise LookupError(f"no integration response matches status {status} and there is no default")


GATEWAY_STATUS = {"MISSING_AUTHENTICATION_TOKEN": 403, "INVALID_SIGNATURE": 403, "BAD_REQUEST_BODY": 400,
                  "BAD_REQUEST_PARAMETERS": 400, "UNSUPPORTED_MEDIA_TYPE": 415, "INTEGRATION_FAILURE": 500,
                  "INTEGRATION_TIMEOUT": 504, "API_CONFIGURATION_ERROR": 500}


@dataclass
class Request:
    method: str
    path: str  # the resource path after the stage, as sent (percent-encoded), e.g. /trust-requests/REQ-1
    raw_uri: str  # the whole path and query as sent: what the client signed
    query: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    source_ip: str = "127.0.0.1"


@dataclass
class Response:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class RestApi:
    def __init__(self, api_id: str, stage: str, definition: dict[str, Any], iam_by_default: bool, region: str,
                 account_id: str, backend: str) -> None:
        self.api_id, self.stage, self.definition = api_id, stage, definition
        self.iam_by_default, self.region, self.account_id, self.backend = iam_by_default, region, account_id, backend
        self.routes = []
        for resource, item in definition.get("paths", {}).items():
            names, pattern = [], ""
            for segment in resource.strip("/").split("/") if resource != "/" else []:
                param = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
                if param:
                    names.append(param.group(1))
                    pattern += "/(.+)" if param.group(2) else "/([^/]+)"
                else:
                    pattern += "/" + re.escape(segment)
            self.routes.append((len(names), resource, re.compile(pattern or "/"), names, item))
        self.routes.sort(key=lambda route: route[0])  # literal paths win over templated ones

    def route(self, method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]] | None:
        """(resource, operation, path parameters) for a method and a path as sent, or None."""
        for _, resource, pattern, names, item in self.routes:
            match = pattern.fullmatch(path)
            operation = (item.get(method.lower()) or item.get("x-amazon-apigateway-any-method")) if match else None
            if operation:
                return resource, operation, {n: urllib.parse.unquote(v) for n, v in zip(names, match.groups())}
        return None

    # --- entry point ---
    def handle(self, request: Request) -> Response:
        context = self._context(request)
        found = self.route(request.method, request.path)
        if found is None:
            return self.gateway_response(context, "MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token",
                                         "MissingAuthenticationTokenException")
        resource, operation, path_params = found
        context.update(resourcePath=resource, resourceId=hashlib.sha1(resource.encode()).hexdigest()[:6])
        if self._needs_iam(operation):
            try:
                context["identity"].update(verify_sigv4(request.method, request.raw_uri, request.headers, request.body, self.region))
            except Denied as denied:
                return self.gateway_response(context, denied.kind, denied.message, denied.error_type)
        params = {"path": path_params, "querystring": dict(urllib.parse.parse_qsl(request.query, keep_blank_values=True)),
                  "header": {self._header_name(k): v for k, v in request.headers.items()}}
        refused = self._validate(context, operation, request, params)
        if refused:
            return refused
        integration = operation.get("x-amazon-apigateway-integration") or {}
        try:
            if integration.get("type") == "aws":
                return self._aws(context, integration, request, params)
            if integration.get("type") == "aws_proxy":
                return self._aws_proxy(context, integration, request, resource, path_params)
            raise NotImplementedError(f"integration type {integration.get('type')!r} is not emulated")
        except TimeoutError:
            return self.gateway_response(context, "INTEGRATION_TIMEOUT", "Endpoint request timed out", "InternalServerErrorException")
        except Exception as error:  # AWS logs "Execution failed due to configuration error" and answers 500
            print(f"api {self.api_id} {request.method} {resource}: execution failed: {type(error).__name__}: {error}",
                  file=sys.stderr, flush=True)
            return self.gateway_response(context, "API_CONFIGURATION_ERROR", "Internal server error", "InternalServerErrorException")

    # --- pieces ---
    def _context(self, request: Request) -> dict[str, Any]:
        now = datetime.now(timezone.utc)
        host = request.headers.get("host", "127.0.0.1")
        return {
            "accountId": self.account_id, "apiId": self.api_id, "stage": self.stage, "requestId": str(uuid.uuid4()),
            "extendedRequestId": "".join(random.choices(string.ascii_letters + string.digits, k=16)),
            "httpMethod": request.method, "path": f"/{self.stage}{request.path}", "protocol": "HTTP/1.1",
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "requestTimeEpoch": int(now.timestamp() * 1000),
            "domainName": host, "domainPrefix": host.split(".")[0], "resourcePath": None, "resourceId": None,
            "identity": {"sourceIp": request.source_ip, "userAgent": request.headers.get("user-agent"), "accessKey": None,
                         "accountId": None, "caller": None, "user": None, "userArn": None, "apiKey": None,
                         "principalOrgId": None, "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                         "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None},
            "error": {"message": "", "messageString": '""', "responseType": "", "validationErrorString": ""},
            "responseOverride": {"status": None, "header": {}},
        }

    @staticmethod
    def _header_name(lower: str) -> str:
        return "-".join(part.capitalize() for part in lower.split("-"))

    def _needs_iam(self, operation: dict[str, Any]) -> bool:
        schemes = self.definition.get("components", {}).get("securitySchemes", {})
        for requirement in operation.get("security", []):
            for name in requirement:
                if schemes.get(name, {}).get("x-amazon-apigateway-authtype") == "awsSigv4":
                    return True
        return self.iam_by_default

    def _validate(self, context, operation, request: Request, params) -> Response | None:
        name = operation.get("x-amazon-apigateway-request-validator") or self.definition.get("x-amazon-apigateway-request-validator")
        validator = self.definition.get("x-amazon-apigateway-request-validators", {}).get(name, {}) if name else {}
        if validator.get("validateRequestParameters"):
            where = {"query": "querystring", "header": "header", "path": "path"}
            missing = []
            for p in operation.get("parameters", []):
                store = params[where.get(p.get("in"), "path")]
                present = (p["name"].lower() in {k.lower() for k in store}) if p.get("in") == "header" else p["name"] in store
                if p.get("required") and not present:
                    missing.append(f"{p['in']}.{p['name']}" if p.get("in") != "path" else p["name"])
            if missing:
                return self.gateway_response(context, "BAD_REQUEST_PARAMETERS",
                                             f"Missing required request parameters: [{', '.join(missing)}]", "BadRequestException")
        if validator.get("validateRequestBody"):
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get(self._content_type(request), {}).get("schema")
            if schema is not None:
                errors = validation_errors(self._deref(schema), request.body)
                if errors:
                    return self.gateway_response(context, "BAD_REQUEST_BODY", "Invalid request body", "BadRequestException",
                                                 validation="[" + ", ".join(errors) + "]")
        return None

    def _deref(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if not ref:
            return schema
        node: Any = self.definition
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    @staticmethod
    def _content_type(request: Request) -> str:
        return (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()

    def gateway_response(self, context, kind: str, message: str, error_type: str, validation: str = "",
                         status: int | None = None) -> Response:
        status = status or GATEWAY_STATUS.get(kind, 500)
        context["error"] = {"message": message, "messageString": json.dumps(message), "responseType": kind,
                            "validationErrorString": validation}
        configured = self.definition.get("x-amazon-apigateway-gateway-responses", {})
        spec = configured.get(kind) or configured.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX") or {}
        status = int(spec.get("statusCode", status))
        template = spec.get("responseTemplates", {}).get("application/json", '{"message":$context.error.messageString}')
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": context["requestId"], "x-amzn-ErrorType": error_type}
        for name, value in spec.get("responseParameters", {}).items():
            if name.startswith("gatewayresponse.header.") and value.startswith("'"):
                headers[name.split(".", 2)[2]] = value.strip("'")
        return Response(status, render(template, context), headers)

    # --- integrations ---
    def _call(self, method: str, path: str, body: bytes, service: str, headers: dict[str, str], timeout_ms: int) -> tuple[int, dict[str, str], bytes]:
        """One signed request to an AWS service, i.e. to the emulator itself."""
        request = AWSRequest(method=method, url=self.backend + path, data=body, headers=headers)
        SigV4Auth(Credentials("apigateway", "apigateway"), service, self.region).add_auth(request)
        prepared = request.prepare()
        call = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers), method=method)
        try:
            with urllib.request.urlopen(call, timeout=timeout_ms / 1000) as answer:
                return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
        except OSError as error:
            if "timed out" in str(error):
                raise TimeoutError(str(error)) from error
            raise

    def _target(self, uri: str) -> tuple[str, str, str]:
        """(service, "action" or "path", rest) of arn:aws:apigateway:REGION:SERVICE:action/X or :path/P."""
        match = re.fullmatch(r"arn:[^:]+:apigateway:[^:]+:([^:]+):(action|path)/(.+)", uri)
        if not match:
            raise ValueError(f"unsupported integration uri {uri!r}")
        return match.group(1), match.group(2), match.group(3)

    def _aws(self, context, integration, request: Request, params) -> Response:
        templates = integration.get("requestTemplates", {})
        content_type = self._content_type(request)
        passthrough = integration.get("passthroughBehavior", "when_no_match")
        payload = request.body.decode("utf-8", "replace")
        if content_type in templates:
            payload = render(templates[content_type], context, payload, params)
        elif passthrough == "never" or (passthrough == "when_no_templates" and templates):
            return self.gateway_response(context, "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type", "UnsupportedMediaTypeException")
        service, kind, rest = self._target(integration["uri"])
        headers = {"Content-Type": "application/json"}
        path = "/"
        if kind == "action":
            if service not in JSON_ACTIONS:
                raise NotImplementedError(f"action integrations with {service} are not emulated")
            prefix, version = JSON_ACTIONS[service]
            headers = {"Content-Type": f"application/x-amz-json-{version}", "X-Amz-Target": f"{prefix}.{rest}"}
        else:
            path = "/" + rest
        status, _, body = self._call(integration.get("httpMethod", "POST"), path, payload.encode(), service, headers,
                                     int(integration.get("timeoutInMillis", DEFAULT_TIMEOUT_MS)))
        chosen = integration_response(integration.get("responses", {}), status)
        template = chosen.get("responseTemplates", {}).get("application/json")
        text = body.decode("utf-8", "replace")
        out = render(template, context, text, params) if template is not None else text
        override = context["responseOverride"]["status"]
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": context["requestId"]}
        for name, value in chosen.get("responseParameters", {}).items():
            if name.startswith("method.response.header.") and value.startswith("'"):
                headers[name.split(".", 3)[3]] = value.strip("'")
        headers.update({k: str(v) for k, v in context["responseOverride"]["header"].items()})
        return Response(int(override) if override is not None else int(chosen.get("statusCode", 200)), out, headers)

    def _aws_proxy(self, context, integration, request: Request, resource: str, path_params: dict[str, str]) -> Response:
        service, kind, rest = self._target(integration["uri"])
        if service != "lambda" or kind != "path":
            raise NotImplementedError(f"aws_proxy to {service}:{kind} is not emulated")
        query = urllib.parse.parse_qsl(request.query, keep_blank_values=True)
        multi_query: dict[str, list[str]] = {}
        for k, v in query:
            multi_query.setdefault(k, []).append(v)
        headers = {self._header_name(k): v for k, v in request.headers.items()}
        request_context = {k: context[k] for k in ("accountId", "apiId", "domainName", "domainPrefix", "extendedRequestId",
                                                    "httpMethod", "path", "protocol", "requestId", "requestTime",
                                                    "requestTimeEpoch", "resourceId", "resourcePath", "stage")}
        request_context["identity"] = dict(context["identity"])
        body = request.body.decode("utf-8", "replace") if request.body else None
        event = {
            "resource": resource, "path": request.path, "httpMethod": request.method,
            "headers": headers or None, "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": dict(query) or None, "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_params or None, "stageVariables": None, "requestContext": request_context,
            "body": body, "isBase64Encoded": False,
        }
        status, answer_headers, answer = self._call("POST", "/" + rest, json.dumps(event).encode(), "lambda",
                                                    {"Content-Type": "application/json"},
                                                    int(integration.get("timeoutInMillis", DEFAULT_TIMEOUT_MS)))
        failed = lambda: self.gateway_response(context, "DEFAULT_5XX", "Internal server error", "InternalServerErrorException", status=502)
        if status != 200 or "x-amz-function-error" in answer_headers:
            return failed()
        try:
            result = json.loads(answer)
            code = int(result["statusCode"])
        except (ValueError, KeyError, TypeError):
            return failed()  # AWS logs "Malformed Lambda proxy response"
        out_headers = {"Content-Type": "application/json", "x-amzn-RequestId": context["requestId"]}
        out_headers.update({k: str(v) for k, v in (result.get("headers") or {}).items()})
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[k] = ",".join(map(str, values))
        text = result.get("body") or ""
        if result.get("isBase64Encoded"):
            text = base64.b64decode(text).decode("utf-8", "replace")
        return Response(code, text, out_headers)


# --- loading and serving ------------------------------------------------------------------------

APIS: dict[str, RestApi] = {}
_lock = threading.Lock()


def load(template_path: str, resource: str, values: dict[str, Any], backend: str, host: str) -> dict[str, str]:
    """Loads one ``AWS::Serverless::Api`` of a template; returns its id, stage and invoke URL."""
    template = yaml.load(Path(template_path).read_text(), Loader=CfnLoader)
    spec = template["Resources"][resource]
    if spec["Type"] not in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
        raise ValueError(f"{resource} is a {spec['Type']}, not a REST API")
    properties = spec["Properties"]
    definition = resolve(properties.get("DefinitionBody") or properties.get("Body"), values)
    stage = properties.get("StageName", "v1")
    iam = (properties.get("Auth") or {}).get("DefaultAuthorizer") == "AWS_IAM"
    api_id = "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
    region = values.get("AWS::Region", "us-east-1")
    with _lock:
        APIS[api_id] = RestApi(api_id, stage, definition, iam, region, values.get("AWS::AccountId", "123456789012"), backend)
    return {"apiId": api_id, "stage": stage, "url": f"http://{host}/restapis/{api_id}/{stage}/_user_request_"}


USER_REQUEST = re.compile(r"^/restapis/([^/]+)/([^/]+)/_user_request_(/[^?]*)?")


def serve(environ: dict[str, Any], start_response, body: bytes) -> tuple[list[bytes], str]:
    """WSGI: runs a request under /restapis/<apiId>/<stage>/_user_request_/. Returns the body and a label for the call log."""
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or urllib.parse.quote(environ.get("PATH_INFO", ""))
    match = USER_REQUEST.match(raw_uri)
    api = APIS.get(match.group(1)) if match else None
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    if api is None or match.group(2) != api.stage:
        response = Response(403, json.dumps({"message": "Missing Authentication Token"}), {"Content-Type": "application/json"})
    else:
        request = Request(environ["REQUEST_METHOD"], match.group(3) or "/", raw_uri, environ.get("QUERY_STRING", ""),
                          headers, body, environ.get("REMOTE_ADDR", "127.0.0.1"))
        response = api.handle(request)
    data = response.body.encode()
    headers_out = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    phrase = HTTPStatus(response.status).phrase if response.status in HTTPStatus._value2member_map_ else "Unknown"
    start_response(f"{response.status} {phrase}", headers_out + [("Content-Length", str(len(data)))])
    return [data], f"{environ['REQUEST_METHOD']} {match.group(3) if match else environ.get('PATH_INFO', '')}"
