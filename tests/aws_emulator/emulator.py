"""trustflow's emulated AWS: moto over real HTTP, plus what moto lacks for Directory Service trusts.

moto (PyPI `moto[server]`) emulates Secrets Manager, SNS, EventBridge, Lambda and Step Functions
well, and Directory Service in part: a new trust stays `Creating` forever, and VerifyTrust,
UpdateTrust, conditional forwarders and RegionsInfo are missing. This program starts moto's WSGI
app in-process and adds, without forking moto:

* Directory Service (``directory_service.py``): a trust lifecycle driven by named *scenarios* of
  what the remote (on-premises) domain does over time, evaluated lazily whenever DescribeTrusts is
  called; VerifyTrust, UpdateTrust with its states, DeleteTrust with
  DeleteAssociatedConditionalForwarder, and the four conditional-forwarder calls; RegionsInfo in
  DescribeDirectories; one trust per pair of domains; a trust's state set from outside
  (``POST /_trustflow/trust-state``) for one that degrades after being verified;
* IAM for callers holding a role's session (the functions, each under its own role, and the
  sessions they get from sts:AssumeRole, in this account or another): a call whose action the role's
  policies do not allow, or an AssumeRole that the caller's policies or the role's trust policy do
  not allow, is refused with AccessDenied and logged (``iam_enforcement.py``;
  ``POST /_trustflow/function-credentials`` issues the functions' sessions);
* a control API under ``/_trustflow/`` to pick scenarios, seed directories, inject faults
  (throttling, ServiceException, ...) into any AWS call, optionally with an error message that
  repeats a request parameter (as some AWS messages do), and read the log of calls;
* EventBridge rules that target a state machine start it (moto only delivers to queues, logs, buses);
* optionally, the forward of Lambda Invoke (as used by moto's Step Functions interpreter and the API
  executor) and of EventBridge rules' Lambda targets to a Lambda runtime emulator such as ``cargo
  lambda watch``, so the real ASL runs the real binaries: a function must exist in moto (with the
  version or alias invoked), and the binary that serves it is registered by its name with
  ``POST /_trustflow/lambda-functions {"functions": {"<name>": "<binary>"}}`` (a stack names its
  functions ``<stack>-<LogicalId>-<random>``; their binaries are in the template). At most
  ``--lambda-max-pending`` invocations of one binary are outstanding at the runtime emulator at
  once; the others wait here and are all delivered (see ``InvokeGate``; its state:
  ``GET /_trustflow/lambda-gate``);
* an executor of the template's REST API (``api_gateway.py``: its VTL mapping templates, request
  model, SigV4 auth and integrations, which moto does not run), loaded with ``POST /_trustflow/api``
  (optionally under the ``apiId`` of a RestApi a stack created) and invoked under
  ``/restapis/<apiId>/<stage>/_user_request_/<path>`` as on LocalStack.

Usage: ``python tests/aws_emulator/emulator.py --port 4566 [--lambda-invoke-url URL] [--state-seconds 1]``
It prints ``trustflow-emulator ready on http://127.0.0.1:PORT`` once it serves.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import functools
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import cloudformation_ext
import directory_service
import iam_enforcement
import throttling
from directory_service import SCENARIOS, norm





class Control:
    """Everything the control API sets, shared by the patched backend and the middleware."""

    def __init__(self, state_seconds: float) -> None:
        self.lock = threading.Lock()
        self.state_seconds = state_seconds
        self.default_scenario = "verifies"
        self.scenarios: dict[str, dict[str, Any]] = {}
        self.faults: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.primary_regions: dict[str, str] = {}
        self.forwarders: dict[tuple[str, str], dict[str, Any]] = {}
        # Directory id -> its IP routes (AddIpRoutes), as ListIpRoutes describes them.
        self.ip_routes: dict[str, list[dict[str, Any]]] = {}
        # Lambda function name -> the binary the runtime emulator serves it with.
        self.lambda_binaries: dict[str, str] = {}
        # Calls an assumed role made that its policies do not allow (iam_enforcement.py).
        self.denials: list[dict[str, Any]] = []

    def reset(self) -> None:
        with self.lock:
            self.default_scenario = "verifies"
            self.scenarios.clear()
            self.faults.clear()
            self.calls.clear()
            self.denials.clear()

    def take_fault(self, service: str, operation: str, body: bytes) -> dict[str, Any] | None:
        """The first matching fault rule, with one use consumed."""
        with self.lock:
            for rule in self.faults:
                if rule["service"] != service or rule["operation"] != operation or rule["count"] <= 0:
                    continue
                needle = rule.get("bodyContains")
                if needle and needle.encode() not in body:
                    continue
                rule["count"] -= 1
                return dict(rule)
        return None


CONTROL: Control


# --- Lambda: forward invokes to a Lambda runtime emulator ----------------------------------------

class NoBinary(LookupError):
    """A function moto knows, but no binary was registered for (POST /_trustflow/lambda-functions)."""


def binary_of(backend: Any, function_name: str, qualifier: str | None = None) -> str:
    """The binary that serves a function: ``function_name`` is a name, a name:qualifier or an ARN
    (unqualified, or of a version or alias), as Invoke and rule targets give it.

    The function must exist in moto, with that version or alias (otherwise moto's own
    ResourceNotFoundException is raised, as Lambda answers), and its name must have been registered:
    a stack's functions are named ``<stack>-<LogicalId>-<random>``, nothing the runtime emulator
    can serve by itself; their binaries come from the template (Metadata.BuildProperties.Binary)."""
    function = backend.get_function(function_name, qualifier)
    with CONTROL.lock:
        binary = CONTROL.lambda_binaries.get(function.function_name)
    if binary is None:
        raise NoBinary(f"no binary is registered for the Lambda function {function.function_name!r} "
                       f"(register it with POST /_trustflow/lambda-functions)")
    return binary


class InvokeGate:
    """At most ``limit`` invocations of one binary outstanding at the Lambda runtime emulator at once;
    further invokes of that binary wait here (blocking their caller, about in arrival order) for a slot.

    Why: ``cargo lambda watch`` (1.9.2) queues a function's invocations in a channel of 100 and, when
    it is full, waits for room while holding the lock of its request cache, which the function's own
    ``GET .../invocation/next`` needs to take one off the queue: with 100 invocations of one function
    waiting (bench/burst.py: 180 executions started within seconds, each invoking the validation step,
    up to ~150 of them at once), it never hands out another invocation, of any function, and every
    invoke after that hangs until its timeout. Nothing is dropped here: an invocation that waits for a slot
    is delivered once one frees, and its HTTP timeout counts from then. ``limit`` 0 turns the gate off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lock = threading.Lock()
        self.slots: dict[str, threading.Semaphore] = {}
        self.waiting: dict[str, int] = {}
        self.peak_waiting: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, binary: str):
        if self.limit <= 0:
            yield
            return
        with self.lock:
            semaphore = self.slots.setdefault(binary, threading.Semaphore(self.limit))
        if not semaphore.acquire(blocking=False):
            with self.lock:
                self.waiting[binary] = self.waiting.get(binary, 0) + 1
                self.peak_waiting[binary] = max(self.peak_waiting.get(binary, 0), self.waiting[binary])
            semaphore.acquire()
            with self.lock:
                self.waiting[binary] -= 1
        try:
            yield
        finally:
            semaphore.release()

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"limit": self.limit, "waiting": dict(self.waiting), "peakWaiting": dict(self.peak_waiting)}


GATE = InvokeGate(64)


def install_lambda_forward(invoke_url: str) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        try:
            binary = binary_of(self, function_name, qualifier)
        except NoBinary as error:
            # A harness error, not the function's: loud in the emulator's log and in the caller's answer.
            print(f"lambda invoke: {error}", file=sys.stderr, flush=True)
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": "trustflow.NoBinary", "errorMessage": str(error)}).encode()
        data = body if isinstance(body, bytes) else (body or "{}").encode()
        request = urllib.request.Request(f"{invoke_url}/2015-03-31/functions/{binary}/invocations", data=data,
                                         headers={"Content-Type": "application/json"}, method="POST")
        with GATE.slot(binary):
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    return response.read()
            except urllib.error.HTTPError as error:
                # The runtime emulator answers a handler error with HTTP 500; real Lambda answers 200 with this header.
                response_headers["x-amz-function-error"] = "Unhandled"
                return error.read()

    LambdaSimpleBackend.invoke = invoke


def install_task_failure_cause() -> None:
    """SendTaskFailure with its ``cause``: moto's handler passes only the error on to the
    interpreter, which then records a TaskFailed without the cause AWS keeps (and a Catch's
    ResultPath holds). The interpreter takes a cause; only the handler drops it."""
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure(self):
        from moto.core.responses import EmptyResult

        self.stepfunction_backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"),
                                                    cause=self._get_param("cause"))
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure


def invoke_async(invoke_url: str, function_arn: str, event: dict[str, Any]) -> None:
    """An asynchronous (``Event``) invocation of ``function_arn`` through the Lambda runtime emulator: a
    function error is retried twice, as Lambda retries asynchronous invocations, then dropped with a
    line in the log."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.utils import get_backend

    name = function_arn.split(":function:")[-1].split(":")[0]
    _, _, _, region, account = function_arn.split(":")[:5]
    try:
        binary = binary_of(get_backend(account, region), function_arn)
    except (UnknownFunctionException, NoBinary) as error:
        # EventBridge would count a FailedInvocation (and dead-letter the event): here, a line in the log.
        print(f"invoke -> {name}: not delivered: {error}", file=sys.stderr, flush=True)
        return
    for attempt in range(3):
        request = urllib.request.Request(f"{invoke_url}/2015-03-31/functions/{binary}/invocations",
                                         data=json.dumps(event).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "X-Amz-Invocation-Type": "Event"})
        try:
            with GATE.slot(binary):
                urllib.request.urlopen(request, timeout=120).read()
            return
        except (urllib.error.URLError, OSError) as error:
            print(f"invoke -> {name}: attempt {attempt + 1} failed: {error}", file=sys.stderr, flush=True)
            time.sleep(0.5 * (attempt + 1))
    print(f"invoke -> {name}: dropped after 3 attempts", file=sys.stderr, flush=True)


def install_events_to_lambda(invoke_url: str | None) -> None:
    """EventBridge rules whose target is a Lambda function invoke it asynchronously, as on AWS.

    moto delivers events to SQS, log groups and other buses only. Here a matching event is sent
    whole (no InputPath/InputTransformer: trustflow's rule has none) to the function through the
    Lambda runtime emulator, on a thread of its own, as an asynchronous (``Event``) invocation: a
    function error is retried twice, as Lambda retries asynchronous invocations, then dropped with
    a line in the log (where AWS would use the function's on-failure destination or dead-letter
    queue). A target that is not a function moto knows, or has no registered binary, is logged and
    not delivered (EventBridge would count a failed invocation)."""
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def invoke(function_arn: str, event: dict[str, Any]) -> None:
        invoke_async(invoke_url, function_arn, event)

    def is_function(target: dict[str, Any]) -> bool:
        return ":lambda:" in target["Arn"] and ":function:" in target["Arn"]

    def send_to_targets(self, original_event, transform_input=True):
        # moto raises on a target kind it does not know: it gets a copy of the rule without ours.
        others = copy.copy(self)
        others.targets = [t for t in self.targets if not is_function(t)]
        original(others, original_event, transform_input)
        if invoke_url is None or not self.event_pattern.matches_event(original_event):
            return
        for target in filter(is_function, self.targets):
            threading.Thread(target=invoke, args=(target["Arn"], dict(original_event)), daemon=True).start()

    Rule.send_to_targets = send_to_targets


# --- the middleware: control API, fault injection, call log --------------------------------------

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def identify(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    """(service signing name, operation) of an AWS request."""
    match = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    service = match.group(1) if match else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.split(".")[-1]
    path = environ.get("PATH_INFO", "")
    if re.match(r"^/2015-03-31/functions/[^/]+/invocations", path):
        return "lambda", "Invoke"
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body else {}
    if "Action" in form:
        return service, form["Action"][0]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return service, query["Action"][0]
    return service, environ.get("REQUEST_METHOD", "") + " " + path


def query_parameters(environ: dict[str, Any], body: bytes) -> dict[str, str]:
    """The parameters of a query-protocol request (STS, SNS): the form body and the query string."""
    found = {k: v[0] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
    if body and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        found.update({k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()})
    return found


# The XML namespace of query-protocol errors, per service (AWS's STS answers with one; the SNS answer
# here has none, as before).
XML_NAMESPACES = {"sns": "", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
SERVER_FAULTS = {"ServiceException", "InternalFailure", "InternalServiceError", "ServiceUnavailable", "InternalError"}


def is_json(body: bytes) -> bool:
    try:
        json.loads(body)
        return True
    except ValueError:
        return False


def fault_response(service: str, operation: str, error: str, start_response, echo: str = "", message: str = "",
                   status: str = ""):
    status = status or ("500 Internal Server Error" if error in SERVER_FAULTS
                        else ("429 Too Many Requests" if error == "TooManyRequestsException" else "400 Bad Request"))
    message = message or f"Injected by trustflow-emulator into {service}:{operation}"
    if echo:
        # Some AWS error messages repeat request parameters: this one does, to prove callers scrub them.
        message += f"; parameter value {echo!r} is invalid"
    if service in XML_NAMESPACES:
        # The query protocol's error document (STS, SNS).
        kind = "Receiver" if error in SERVER_FAULTS else "Sender"
        namespace = f' xmlns="{XML_NAMESPACES[service]}"' if XML_NAMESPACES[service] else ""
        message = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body = (f"<ErrorResponse{namespace}><Error><Type>{kind}</Type><Code>{error}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps({"__type": error, "message": message, "Message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", error),
                   ("x-amzn-RequestId", str(uuid.uuid4()))]
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]


class Middleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_trustflow/cfn-response/"):
            import custom_resources

            status, result = custom_resources.answer(path.rsplit("/", 1)[-1], body)
            data = json.dumps(result).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        if path.startswith("/_trustflow/"):
            return self.control(environ, start_response, path, body)
        if path.startswith("/restapis/") and "/_user_request_" in path:
            import api_gateway

            status: dict[str, str] = {}

            def answered(line, headers, exc_info=None):
                status["code"] = line.split(" ")[0]
                return start_response(line, headers, exc_info)

            result, label = api_gateway.serve(environ, answered, body)
            self.record("execute-api", label, status.get("code", "?"))
            return result
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        service, operation = identify(environ, body)
        if environ.get("CONTENT_TYPE", "").startswith("application/x-amz-json") and body and not is_json(body):
            # AWS answers a malformed JSON-protocol body with 400 SerializationException; moto fails with a 500.
            self.record(service, operation, "400")
            return fault_response(service, operation, "SerializationException", start_response, message="the request body is not valid JSON")
        caller = iam_enforcement.assumed_role_of(environ)
        parameters = query_parameters(environ, body) if service == "sts" else None
        refusal = iam_enforcement.check(caller, service, operation, parameters)
        if refusal:
            return self.refuse(refusal, caller, service, operation, start_response)
        if not throttling.THROTTLE.admits_request(environ, service, operation):
            self.record(service, operation, "throttled", caller)
            return fault_response(service, operation, throttling.ERROR, start_response, message=throttling.MESSAGE)
        fault = CONTROL.take_fault(service, operation, body)
        if fault:
            self.record(service, operation, f"fault:{fault['error']}")
            echo = ""
            if fault.get("echoParameter"):
                try:
                    echo = str(json.loads(body).get(fault["echoParameter"], ""))
                except ValueError:
                    echo = ""
            return fault_response(service, operation, fault["error"], start_response, echo, fault.get("message", ""))
        seen: dict[str, str] = {}

        def capture(status, headers, exc_info=None):
            seen["status"] = status.split(" ")[0]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        self.record(service, operation, seen.get("status", "?"), caller)
        return result

    @staticmethod
    def record(service: str, operation: str, status: str, caller: iam_enforcement.Caller | None = None) -> None:
        """One line of the call log; ``role`` and ``account``: the role whose session made the call and
        the account it acts in (None: plain keys; "": a session nobody was issued)."""
        with CONTROL.lock:
            CONTROL.calls.append({"service": service, "operation": operation, "status": status,
                                  "role": caller.role if caller else None, "account": caller.account if caller else None})

    def refuse(self, refusal: dict[str, str], caller: iam_enforcement.Caller, service: str, operation: str, start_response):
        """AWS's answer to a call the caller's role does not allow: AccessDenied, nothing done."""
        with CONTROL.lock:
            CONTROL.denials.append(refusal)
        self.record(service, operation, "denied", caller)
        if refusal["decision"] == "unknown session":
            if service == "sts":
                return fault_response(service, operation, "InvalidClientTokenId", start_response, status="403 Forbidden",
                                      message="The security token included in the request is invalid.")
            return fault_response(service, operation, "UnrecognizedClientException", start_response,
                                  message="The security token included in the request is invalid.")
        if "resource" in refusal:
            # AWS names the resource and not why (sts:AssumeRole: the caller's policies, the role's
            # existence and its trust policy all give this one answer).
            message = f"User: {caller.principal} is not authorized to perform: {refusal['action']} on resource: {refusal['resource']}"
        else:
            why = "an explicit deny in an identity-based policy" if refusal["decision"] == "denied" else "no identity-based policy allows the action"
            message = f"User: {caller.principal} is not authorized to perform: {refusal['action']} because {why}"
        if service == "sts":
            return fault_response(service, operation, "AccessDenied", start_response, message=message, status="403 Forbidden")
        if service == "sns":
            return fault_response(service, operation, "AuthorizationError", start_response, message=message, status="403 Forbidden")
        return fault_response(service, operation, "AccessDeniedException", start_response, message=message)

    def control(self, environ, start_response, path, body):
        method = environ["REQUEST_METHOD"]
        try:
            payload = json.loads(body) if body else {}
            status, result = self.dispatch(method, path[len("/_trustflow/"):], payload)
        except (KeyError, ValueError, TypeError, OSError) as error:
            status, result = "400 Bad Request", {"error": f"{type(error).__name__}: {error}"}
        data = json.dumps(result, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def dispatch(self, method: str, route: str, payload: dict[str, Any]):
        ok = "200 OK"
        if route == "scenario" and method == "POST":
            if payload["scenario"] not in SCENARIOS:
                raise ValueError(f"unknown scenario {payload['scenario']!r}; known: {', '.join(SCENARIOS)}")
            with CONTROL.lock:
                CONTROL.scenarios[norm(payload["remoteDomainName"])] = {
                    "scenario": payload["scenario"], "readyAfterUnits": float(payload.get("remoteReadyAfterUnits", 6))}
            return ok, {"ok": True}
        if route == "default-scenario" and method == "POST":
            if payload["scenario"] not in SCENARIOS:
                raise ValueError(f"unknown scenario {payload['scenario']!r}")
            CONTROL.default_scenario = payload["scenario"]
            return ok, {"ok": True}
        if route == "directory" and method == "POST":
            return ok, directory_service.seed_directory(payload)
        if route == "faults" and method == "POST":
            rule = {"service": payload["service"], "operation": payload["operation"], "error": payload["error"],
                    "count": int(payload.get("count", 1)), "bodyContains": payload.get("bodyContains"),
                    "echoParameter": payload.get("echoParameter"), "message": payload.get("message", "")}
            with CONTROL.lock:
                CONTROL.faults.append(rule)
            return ok, {"ok": True}
        if route == "faults" and method == "GET":
            with CONTROL.lock:
                return ok, {"faults": [f for f in CONTROL.faults if f["count"] > 0]}
        if route == "faults" and method == "DELETE":
            with CONTROL.lock:
                CONTROL.faults.clear()
            return ok, {"ok": True}
        if route == "calls" and method == "GET":
            with CONTROL.lock:
                return ok, {"calls": list(CONTROL.calls)}
        if route == "calls" and method == "DELETE":
            with CONTROL.lock:
                CONTROL.calls.clear()
            return ok, {"ok": True}
        if route == "lambda-functions" and method == "POST":
            functions = payload["functions"]
            if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in functions.items()):
                raise ValueError("functions: an object of function name -> binary name")
            with CONTROL.lock:
                CONTROL.lambda_binaries.update(functions)
            return ok, {"ok": True}
        if route == "lambda-functions" and method == "GET":
            with CONTROL.lock:
                return ok, {"functions": dict(CONTROL.lambda_binaries)}
        if route == "function-credentials" and method == "POST":
            return ok, function_credentials(payload["function"])
        if route == "remote-side-configured" and method == "POST":
            return ok, directory_service.configure_remote_side(payload["remoteDomainName"])
        if route == "trust-state" and method == "POST":
            return ok, directory_service.force_state(payload["trustId"], payload["state"], payload.get("reason", ""))
        if route == "denials" and method == "GET":
            with CONTROL.lock:
                return ok, {"denials": list(CONTROL.denials)}
        if route == "denials" and method == "DELETE":
            with CONTROL.lock:
                CONTROL.denials.clear()
            return ok, {"ok": True}
        if route == "api" and method == "POST":
            import api_gateway

            port = os.environ["MOTO_PORT"]
            return ok, api_gateway.load(payload["template"], payload.get("resource", "TrustApi"), payload["values"],
                                        backend=f"http://127.0.0.1:{port}", host=f"127.0.0.1:{port}", api_id=payload.get("apiId"))
        if route == "lambda-gate" and method == "GET":
            return ok, GATE.state()
        if route == "throttle":
            return ok, throttling.THROTTLE.control(method, payload)
        if route == "reset" and method == "POST":
            CONTROL.reset()
            throttling.THROTTLE.disable()
            return ok, {"ok": True}
        return "404 Not Found", {"error": f"no control route {method} /_trustflow/{route}"}


def function_credentials(name: str) -> dict[str, Any]:
    """A session of the execution role of the function served as ``name`` (a function name, or the
    binary registered for one, as the runtime emulator names the process it starts), in the shape
    of ``credential_process`` output: Lambda hands each function its own role's credentials."""
    from moto.awslambda.utils import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    with CONTROL.lock:
        names = [f for f, binary in CONTROL.lambda_binaries.items() if name in (f, binary)]
    backend = get_backend(DEFAULT_ACCOUNT_ID, "us-east-1")
    roles = {backend.get_function(f).role for f in names}
    if len(roles) != 1:
        raise KeyError(f"{name!r} is served as {len(names)} functions with {len(roles)} roles; one role was expected")
    return iam_enforcement.assume(roles.pop(), session=name)


def _invoke_on_thread(invoke_url: str, function_arn: str, event: dict[str, Any]) -> None:
    threading.Thread(target=invoke_async, args=(invoke_url, function_arn, event), daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--lambda-invoke-url", default=None, help="e.g. http://127.0.0.1:9077 (cargo lambda watch)")
    parser.add_argument("--state-seconds", type=float, default=1.0, help="length of one step of a trust scenario")
    parser.add_argument("--lambda-max-pending", type=int, default=64,
                        help="invocations of one binary outstanding at the runtime emulator at once, the others wait "
                             "(below 100: cargo lambda watch deadlocks with 100 queued; 0: no limit)")
    args = parser.parse_args(argv)

    # moto's Step Functions interpreter calls other services at localhost:$MOTO_PORT: set it before moto loads.
    os.environ["MOTO_PORT"] = str(args.port)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    global CONTROL
    CONTROL = Control(args.state_seconds)
    GATE.limit = args.lambda_max_pending

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server, WSGIRequestHandler

    directory_service.install(CONTROL)
    cloudformation_ext.install()
    install_task_failure_cause()
    install_events_to_lambda(args.lambda_invoke_url.rstrip("/") if args.lambda_invoke_url else None)
    if args.lambda_invoke_url:
        invoke_url = args.lambda_invoke_url.rstrip("/")
        install_lambda_forward(invoke_url)
        import custom_resources

        custom_resources.install(functools.partial(_invoke_on_thread, invoke_url), f"http://127.0.0.1:{args.port}")

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *_: Any) -> None:
            pass

    app = Middleware(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=QuietHandler)


    def stop(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # Execute state machines for real, and keep Lambda in-process (no Docker here).
    config = json.dumps({"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}).encode()
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{args.port}/moto-api/config", data=config,
                                                  headers={"Content-Type": "application/json"}, method="POST"), timeout=10).read()
    print(f"trustflow-emulator ready on http://127.0.0.1:{args.port}", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
