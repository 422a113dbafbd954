"""A small executor of an API Gateway REST API, as defined in a SAM template, for the local stack.

moto stores REST APIs but does not run their integrations, and without Docker there is no
``sam local``. This module runs one ``AWS::Serverless::Api`` DefinitionBody (OpenAPI 3 with the
``x-amazon-apigateway-*`` extensions) as written. trustflow's API has only Lambda proxy integrations
(the request rules live in the submit-request Lambda, not in a request model or mapping templates),
so that is all it emulates:

* routing on the ``paths`` (path templates ``{name}`` and ``{name+}``); an unknown route or method is
  answered 403 "Missing Authentication Token", as API Gateway does;
* IAM authorisation (``awsSigv4`` security, or SAM's ``Auth.DefaultAuthorizer: AWS_IAM``): the SigV4
  signature is recomputed (service ``execute-api``) over the request's SignedHeaders, its path as
  sent and its body, with the secret of the access key from a small table of known keys; the
  timestamp must be within 5 minutes. Whether that identity may invoke the API (IAM policies) is
  not evaluated;
* the default gateway responses, ``{"message": ...}``;
* ``aws_proxy`` Lambda integrations: a REST (v1) proxy event, Lambda Invoke through the emulator,
  and the function's ``statusCode``/``headers``/``body``; a function error or a malformed answer
  is a 502 "Internal server error".

It does not emulate: request validators and models, mapping templates (VTL), ``aws``/``http``/
``mock`` integrations, configured gateway responses, throttling, usage plans and API keys, quotas,
custom domains, stage variables, caching, authorizers other than IAM, IAM policy evaluation,
presigned (query-string) SigV4, session tokens and binary media types.
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
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any

import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

# Access keys the API accepts, as IAM would know them: the local stack signs with test/test.
KNOWN_KEYS = {
    "test": {"secret": "test", "accountId": "123456789012", "userArn": "arn:aws:iam::123456789012:user/test"},
}
SIGNATURE_WINDOW = timedelta(minutes=5)
DEFAULT_TIMEOUT_MS = 29000


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


# --- the API ------------------------------------------------------------------------------------

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
        integration = operation.get("x-amazon-apigateway-integration") or {}
        try:
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

    def gateway_response(self, context, kind: str, message: str, error_type: str, status: int | None = None) -> Response:
        """API Gateway's default gateway response, ``{"message": ...}`` (the template configures none)."""
        status = status or GATEWAY_STATUS.get(kind, 500)
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": context["requestId"], "x-amzn-ErrorType": error_type}
        return Response(status, json.dumps({"message": message}), headers)

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


def load(template_path: str, resource: str, values: dict[str, Any], backend: str, host: str,
         api_id: str | None = None) -> dict[str, str]:
    """Loads one ``AWS::Serverless::Api`` of a template; returns its id, stage and invoke URL.
    ``api_id``: the id the API has (e.g. the one a stack created), so URLs and ARNs that name it
    match; a random one otherwise."""
    template = yaml.load(Path(template_path).read_text(), Loader=CfnLoader)
    spec = template["Resources"][resource]
    if spec["Type"] not in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
        raise ValueError(f"{resource} is a {spec['Type']}, not a REST API")
    properties = spec["Properties"]
    definition = resolve(properties.get("DefinitionBody") or properties.get("Body"), values)
    stage = properties.get("StageName", "v1")
    iam = (properties.get("Auth") or {}).get("DefaultAuthorizer") == "AWS_IAM"
    api_id = api_id or "".join(random.choices(string.ascii_lowercase + string.digits, k=10))
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
