"""The whole trustflow stack on this machine, with no AWS account, created from template.yaml.

``LocalStack.start()`` deploys template.yaml as a stack on the emulated AWS, as ``sam deploy`` would,
through the deploy rehearsal (``tests/aws_emulator/rehearsal.py``: the SAM translator, then
CloudFormation's CreateStack on moto), with the scaled-down ``Settings`` as the stack's parameters.
The tests run against what that stack created:

- Step Functions: the state machine the stack created, its definition the ASL as CloudFormation
  resolved the template's DefinitionSubstitutions (published function versions, poll and re-verify
  intervals, timeout), executed by moto's Step Functions interpreter.
- Lambdas: the stack's six functions, under the names it gave them (``<stack>-<LogicalId>-<random>``).
  The emulator forwards every invoke of one of them (by name or ARN, of a version or an alias; from
  the state machine, the rule or the API) to the Rust binary the template builds it from
  (``Metadata.BuildProperties.Binary``), served over the Lambda runtime API by ``cargo lambda watch``.
  Their environment is the variables the stack gave them, plus what Lambda itself sets from their
  LoggingConfig (``AWS_LAMBDA_LOG_FORMAT``/``AWS_LAMBDA_LOG_LEVEL``).
- EventBridge: the stack's bus and "Trust Requested" rule (its pattern, its target: the
  submit-request function, the one entrance shared with ``POST /trust-requests``), whose target the
  emulator invokes asynchronously (moto has no Lambda targets); the notifier's result events go to
  the stack's bus, its messages to the stack's topic.
- API Gateway: the template's ``TrustApi`` as written (SigV4 auth, Lambda proxy integrations), run by
  the emulator's API executor (``tests/aws_emulator/api_gateway.py``) under the id of the stack's
  RestApi, its integrations resolved to the stack's functions, at ``api_url``.

Still hand-wired, because the rehearsal cannot reach it:

- The test's own eyes: SQS queues subscribed to the stack's topic and, through rules of the test's
  own, to the result events and the "Trust Requested" events on the stack's bus; and a topic standing
  for a requester's own (``notify.topicArn``). They are not part of the template.
- One ``cargo lambda watch`` process serves every function, with one environment: the union of the
  functions' variables (start() fails if two functions give one variable different values), the
  emulator's endpoint and the Region, so a function sees the other functions' variables. It holds no
  credentials: an AWS config file whose ``credential_process``
  (``tests/aws_emulator/function_credentials.py``) gets each function, in its own process, a session
  of the role the stack created for it; the emulator refuses what that role's policies do not allow
  (actions only, ``tests/aws_emulator/iam_enforcement.py``).
- The binaries are the workspace's debug builds for this machine, not ``sam build``'s arm64 release
  artifacts; Lambda's memory, timeout, concurrency and the functions' and the rule's retry and
  dead-letter settings are not enforced (a rule's invoke is tried 3 times, then logged and dropped).
- Parameters: ``TrustDeadlineSeconds`` and ``RemoteSideWindowSeconds`` are below the template's
  MinValue (60) so a run takes seconds. Neither moto nor the SAM translator checks parameter
  constraints (CloudFormation would refuse these values); nothing else depends on it.
- The alarms: moto has no model for ``AWS::CloudWatch::Alarm``; the rehearsal reports them as not
  created (``stack.txt`` in the log directory has the whole report).
- Directories, secrets and what the on-premises domain does: the customer's, not the template's; set
  per test through the emulator's control API.

Used by the demo (``scripts/demo.py``), the benchmarks and the end-to-end tests (``tests/e2e``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "aws_emulator"))
import rehearsal  # noqa: E402

REGION = "us-east-1"
STACK_NAME = "trustflow"
# What the harness sets in the functions' environment: the emulator as every service's endpoint, and
# where each finds its role's credentials. A stack variable of one of these names: start() refuses.
HARNESS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                     "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout:.0f}s")


def wait_for_line(path: Path, text: str, timeout: float, what: str, proc: subprocess.Popen) -> None:
    """Waits until ``text`` appears in the log file ``path`` of ``proc``."""
    deadline = time.time() + timeout
    while text not in path.read_text(errors="replace"):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}:\n{path.read_text(errors='replace')[-3000:]}")
        if time.time() > deadline:
            raise TimeoutError(f"{what} did not print {text!r} within {timeout:.0f}s")
        time.sleep(0.1)


def function_environment(functions: Iterable[rehearsal.Function]) -> dict[str, str]:
    """The one environment of the ``cargo lambda watch`` process that serves every function: the
    union of each function's variables as the stack set them, and of what Lambda sets from its
    LoggingConfig. A variable two functions give different values cannot be served so: an error."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function in functions:
        variables = dict(function.environment)
        # Lambda tells the runtime its LoggingConfig in these two (the level only with the JSON format).
        if function.logging.get("LogFormat"):
            variables["AWS_LAMBDA_LOG_FORMAT"] = function.logging["LogFormat"]
            if function.logging["LogFormat"] == "JSON" and function.logging.get("ApplicationLogLevel"):
                variables["AWS_LAMBDA_LOG_LEVEL"] = function.logging["ApplicationLogLevel"]
        for key, value in variables.items():
            if key in HARNESS_VARIABLES:
                raise RuntimeError(f"{function.logical_id} sets {key}, which the local stack sets for every function")
            if key in merged and merged[key] != value:
                raise RuntimeError(f"{key} is {merged[key]!r} for {owner[key]} and {value!r} for {function.logical_id}: "
                                   "one cargo lambda watch process cannot give both (serve them from separate processes)")
            merged[key] = value
            owner.setdefault(key, function.logical_id)
    return merged


# The second emulated account of the cross-account pairs, and the roles there the stack may assume:
# one made from other-account-role.yaml, one that only reads, one that wants another external id.
OTHER_ACCOUNT = "222222222222"
REMOTE_ROLE_NAMES = ("trustflow-remote-directories", "trustflow-remote-read-only", "trustflow-remote-other-external-id")


@dataclass
class Settings:
    """The template parameters, scaled down so a run takes seconds."""
    poll_interval_seconds: int = 1
    max_poll_interval_seconds: int = 2
    reverify_interval_seconds: int = 1
    execution_timeout_seconds: int = 600
    # Below the template's MinValue (60): see the header.
    trust_deadline_seconds: int = 20
    remote_side_window_seconds: int = 12
    delete_failed_trusts: bool = True
    event_bus_name: str = "trustflow"
    # Pairs across accounts (issue 20): the roles of the other emulated account the stack may assume,
    # created there by tests/e2e/test_directory_pairs_across_accounts.py, and the external id.
    allowed_remote_role_arns: str = ",".join(f"arn:aws:iam::{OTHER_ACCOUNT}:role/{name}" for name in REMOTE_ROLE_NAMES)
    remote_role_external_id: str = "trustflow-e2e-external-id"
    # Not a template parameter: one step of an emulated trust's life (emulator.py --state-seconds).
    state_seconds: float = 1.0

    def parameters(self) -> dict[str, Any]:
        """The stack's parameters (the others keep the template's defaults)."""
        return {
            "PollIntervalSeconds": self.poll_interval_seconds, "MaxPollIntervalSeconds": self.max_poll_interval_seconds,
            "ReverifyIntervalSeconds": self.reverify_interval_seconds, "ExecutionTimeoutSeconds": self.execution_timeout_seconds,
            "TrustDeadlineSeconds": self.trust_deadline_seconds, "RemoteSideWindowSeconds": self.remote_side_window_seconds,
            "DeleteFailedTrusts": self.delete_failed_trusts, "EventBusName": self.event_bus_name,
            "AllowedRemoteRoleArns": self.allowed_remote_role_arns, "RemoteRoleExternalId": self.remote_role_external_id,
        }


@dataclass
class Run:
    """One execution and everything it produced."""
    execution_arn: str
    status: str
    history: list[dict[str, Any]]
    output: Any
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def states_entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.history if "stateEnteredEventDetails" in e]

    def count(self, event_type: str) -> int:
        return sum(1 for e in self.history if e["type"] == event_type)


class LocalStack:
    def __init__(self, settings: Settings | None = None, log_dir: Path | None = None, quiet: bool = True,
                 stack_name: str = STACK_NAME) -> None:
        self.settings = settings or Settings()
        self.log_dir = log_dir or ROOT / ".work" / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        self.stack_name = stack_name
        self.procs: list[subprocess.Popen] = []
        self.aws_port = free_port()
        self.invoke_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.aws_port}"

    # --- lifecycle ---
    def start(self) -> "LocalStack":
        try:
            self._start()
        except BaseException:
            self.stop()  # no emulator or cargo lambda left behind by a start that failed
            raise
        return self

    def _start(self) -> None:
        emulator_log_path = self.log_dir / "emulator.log"
        emulator_log = open(emulator_log_path, "w")
        self.procs.append(subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "aws_emulator" / "emulator.py"), "--port", str(self.aws_port),
             "--lambda-invoke-url", f"http://127.0.0.1:{self.invoke_port}", "--state-seconds", str(self.settings.state_seconds)],
            stdout=emulator_log, stderr=subprocess.STDOUT))
        # "ready on" comes once moto's Step Functions interpreter is switched on, before the stack is created.
        wait_for_line(emulator_log_path, "ready on", 60, "the AWS emulator", self.procs[0])
        self.deploy()
        self.start_functions()
        self.wire_captures()
        self.load_api()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    # --- AWS ---
    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id="test",
                            aws_secret_access_key="test", config=Config(retries={"max_attempts": 2, "mode": "standard"}))

    def client_in(self, account: str, service: str):
        """A client on plain keys (not checked by the emulator's IAM) acting in another account, e.g.
        "222222222222": moto takes the account from the ``x-moto-account-id`` request header."""
        client = self.client(service)

        def in_account(request: AWSRequest, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", in_account)
        return client

    def output(self, key: str) -> str:
        """One of the stack's outputs."""
        (described,) = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        return next(o["OutputValue"] for o in described["Outputs"] if o["OutputKey"] == key)

    def deploy_other_account_role(self, name: str, directory_id: str, external_id: str | None = None,
                                  account: str = "") -> str:
        """other-account-role.yaml as a stack of the other account (OTHER_ACCOUNT unless given), for
        the stack's RemoteDirectoryCallerRoleArns and, unless another is given, its external id.
        Returns the role's ARN."""
        cloudformation = self.client_in(account or OTHER_ACCOUNT, "cloudformation")
        stack_name = f"trustflow-role-{name}"
        cloudformation.create_stack(
            StackName=stack_name, TemplateBody=(ROOT / "other-account-role.yaml").read_text(), Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": "TrustflowRoleArns", "ParameterValue": self.output("RemoteDirectoryCallerRoleArns")},
                        {"ParameterKey": "ExternalId", "ParameterValue": external_id or self.settings.remote_role_external_id},
                        {"ParameterKey": "DirectoryId", "ParameterValue": directory_id},
                        {"ParameterKey": "RoleName", "ParameterValue": name}])
        (described,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        if described["StackStatus"] != "CREATE_COMPLETE":
            raise RuntimeError(f"other-account-role.yaml as {stack_name}: {described['StackStatus']} {described.get('StackStatusReason')}")
        return next(o["OutputValue"] for o in described["Outputs"] if o["OutputKey"] == "RoleArn")

    def control(self, route: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_trustflow/{route}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"control {method} {route}: {error.code} {error.read().decode(errors='replace')}") from None

    # --- the stack ---
    def deploy(self) -> None:
        """template.yaml as a stack, through the SAM transform and CloudFormation, with the settings as parameters."""
        self.stack = rehearsal.rehearse(self.endpoint, self.stack_name, self.settings.parameters(), region=REGION)
        (self.log_dir / "stack.txt").write_text(self.stack.report() + "\n")
        # CREATE_COMPLETE: every resource was created but those moto has no model for (the alarms).
        if self.stack.status != "CREATE_COMPLETE":
            raise RuntimeError(f"the stack was not created:\n{self.stack.report()}")
        self.account_id = self.stack.stack_id.split(":")[4]
        machine = self.stack.state_machine
        self.state_machine_arn, self.state_machine_name, self.definition = machine.arn, machine.name, machine.definition
        self.topic_arn = self.stack.outputs["NotificationTopicArn"]
        self.bus_name = self.stack.outputs["EventBusName"]
        (self.request_rule,) = [r for r in self.stack.rules.values() if "Trust Requested" in (r.pattern or {}).get("detail-type", [])]
        self.result_source = self.function("notify-requester").environment["RESULT_EVENT_SOURCE"]

    def function(self, binary: str) -> rehearsal.Function:
        """The stack's function built from ``binary`` (e.g. "request-status")."""
        return self.stack.function_by_binary(binary)

    def execution_arn(self, name: str) -> str:
        """The ARN an execution of the stack's state machine named ``name`` has."""
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"

    def start_functions(self) -> None:
        """``cargo lambda watch`` with the functions' environment, and the emulator told which binary serves which function."""
        missing = [f.logical_id for f in self.stack.functions.values() if not f.binary]
        if missing:
            raise RuntimeError(f"no Metadata.BuildProperties.Binary in template.yaml for {', '.join(missing)}")
        self.control("lambda-functions", {"functions": {f.name: f.binary for f in self.stack.functions.values()}})
        self.function_env = function_environment(self.stack.functions.values())
        # Each function gets its own execution role's credentials, as on Lambda: the SDK's profile
        # chain runs function_credentials.py in the function's process, which asks the emulator
        # for a session of that function's role; the emulator then holds it to the role's policies.
        aws_config = self.log_dir / "functions.aws-config"
        credential_process = f"{sys.executable} {ROOT / 'tests' / 'aws_emulator' / 'function_credentials.py'}"
        aws_config.write_text(f"[default]\ncredential_process = {credential_process}\n")
        no_credentials_file = self.log_dir / "functions.aws-credentials"
        no_credentials_file.write_text("")
        env = {**self.function_env, "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
               "AWS_CONFIG_FILE": str(aws_config), "AWS_SHARED_CREDENTIALS_FILE": str(no_credentials_file)}
        env_file = self.log_dir / "functions.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(env.items())))
        # The functions inherit cargo lambda's own environment too: none of this shell's AWS SDK
        # configuration (a profile, a session token, a per-service AWS_ENDPOINT_URL_*), and no
        # RUST_LOG, which would override the log level the stack gives them (AWS_LAMBDA_LOG_LEVEL,
        # from the template's LogLevel). AWS_LC_* is kept: aws-lc-sys's build reads it, and a change
        # would make cargo rebuild it.
        inherited = {k: v for k, v in os.environ.items()
                     if not (k.startswith("AWS_") and not k.startswith("AWS_LC_")) and k != "RUST_LOG"}
        self.lambda_log_path = self.log_dir / "lambdas.log"
        lambda_log = open(self.lambda_log_path, "w")
        cargo_lambda = Path(sys.executable).with_name("cargo-lambda")
        self.procs.append(subprocess.Popen(
            [str(cargo_lambda), "lambda", "watch", "--invoke-port", str(self.invoke_port), "--ignore-changes",
             "--env-file", str(env_file)],
            cwd=ROOT, env=inherited, stdout=lambda_log, stderr=subprocess.STDOUT))
        wait_for_port(self.invoke_port, 120, "cargo lambda watch", self.procs[-1])

    def wire_captures(self) -> None:
        """The test's eyes (not the template's): what a requester receives, and what portals put on the bus."""
        sns, sqs, events = (self.client(s) for s in ("sns", "sqs", "events"))
        queue_arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        # The stack's topic (the requesters' outcomes) and the notifier's result events on the stack's bus.
        self.messages_queue = sqs.create_queue(QueueName="capture-notifications")["QueueUrl"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn(self.messages_queue))
        self.events_queue = sqs.create_queue(QueueName="capture-result-events")["QueueUrl"]
        events.put_rule(Name="capture-results", EventBusName=self.bus_name, EventPattern=json.dumps({"source": [self.result_source]}))
        events.put_targets(Rule="capture-results", EventBusName=self.bus_name,
                           Targets=[{"Id": "q", "Arn": queue_arn(self.events_queue)}])
        # "Trust Requested" events as portals (and `trustctl request --via events`) put them, whatever their source.
        self.requests_queue = sqs.create_queue(QueueName="capture-trust-requests")["QueueUrl"]
        events.put_rule(Name="capture-requests", EventBusName=self.bus_name, EventPattern=json.dumps({"detail-type": ["Trust Requested"]}))
        events.put_targets(Rule="capture-requests", EventBusName=self.bus_name,
                           Targets=[{"Id": "q", "Arn": queue_arn(self.requests_queue)}])
        # A requester's own topic (notify.topicArn in a request).
        self.request_topic_arn = sns.create_topic(Name="identity-team")["TopicArn"]

    def load_api(self) -> None:
        """The template's API, run by the emulator's executor under the stack's RestApi id, with what
        CloudFormation substitutes into its definition taken from the stack."""
        (api,) = [r for r in self.stack.resources.values() if r.type == "AWS::ApiGateway::RestApi"]
        values: dict[str, Any] = {"AWS::Partition": rehearsal.partition_of(REGION), "AWS::Region": REGION,
                                  "AWS::AccountId": self.account_id, "AWS::URLSuffix": "amazonaws.com",
                                  "AWS::StackName": self.stack_name, **self.stack.parameters}
        for f in self.stack.functions.values():
            values.update({f.logical_id: f.name, f"{f.logical_id}.Arn": f.arn})
        for m in self.stack.state_machines.values():
            values.update({m.logical_id: m.arn, f"{m.logical_id}.Arn": m.arn, f"{m.logical_id}.Name": m.name})
        loaded = self.control("api", {"template": str(rehearsal.TEMPLATE), "resource": api.logical_id, "values": values,
                                      "apiId": api.physical_id})
        self.api_id, self.api_url = loaded["apiId"], loaded["url"]

    def put_request_event(self, detail: dict[str, Any], source: str = "portal.identity") -> None:
        """What a portal does: a "Trust Requested" event on the bus."""
        entries = self.client("events").put_events(Entries=[{"EventBusName": self.bus_name, "Source": source,
                                                             "DetailType": "Trust Requested", "Detail": json.dumps(detail)}])
        assert entries["FailedEntryCount"] == 0, entries

    def wait_for_execution(self, name: str, timeout: float = 60) -> str:
        """The ARN of the execution ``name``, once the entrance has started it."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.executions_named(name)
            if found:
                return found[0]["executionArn"]
            time.sleep(0.3)
        raise TimeoutError(f"no execution {name} within {timeout:.0f}s")

    def seed_directory(self, name: str = "aws.example.com", **spec: Any) -> str:
        return self.control("directory", {"name": name, "shortName": name.split(".")[0].upper()[:15], **spec})["directoryId"]

    def put_secret(self, name: str, value: str) -> str:
        return self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]

    def set_scenario(self, domain: str, scenario: str, **extra: Any) -> None:
        self.control("scenario", {"remoteDomainName": domain, "scenario": scenario, **extra})

    # --- running ---
    def run(self, execution_input: dict[str, Any], name: str | None = None, timeout: float = 180,
            on_event: Callable[[dict[str, Any]], None] | None = None) -> Run:
        sfn = self.client("stepfunctions")
        self.clear_captures()
        kwargs = {"name": name or f"run-{uuid.uuid4()}"}
        arn = sfn.start_execution(stateMachineArn=self.state_machine_arn, input=json.dumps(execution_input), **kwargs)["executionArn"]
        return self.follow(arn, timeout, on_event)

    def clear_captures(self) -> None:
        """Empties the capture queues: what earlier runs left there (executions started elsewhere,
        e.g. by trustctl) is not the next run's."""
        sqs = self.client("sqs")
        for queue_url in (self.messages_queue, self.events_queue, self.requests_queue):
            while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
                for message in messages:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def follow(self, arn: str, timeout: float = 180, on_event: Callable[[dict[str, Any]], None] | None = None) -> Run:
        """Waits for an execution to end, passing each history event to ``on_event`` as it appears."""
        sfn = self.client("stepfunctions")
        seen = 0
        deadline = time.time() + timeout
        while True:
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            if on_event:
                for event in history[seen:]:
                    on_event(event)
            seen = len(history)
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
                if on_event:
                    for event in history[seen:]:
                        on_event(event)
                output = json.loads(described["output"]) if described.get("output") else None
                return Run(arn, described["status"], history, output, self.drain(self.messages_queue), self.drain(self.events_queue))
            if time.time() > deadline:
                raise TimeoutError(f"execution {arn} still RUNNING after {timeout}s")
            time.sleep(0.3)

    def executions_named(self, name: str) -> list[dict[str, Any]]:
        """The state machine's executions with this name (one at most, unless something is wrong)."""
        pages = self.client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=self.state_machine_arn)
        return [e for page in pages for e in page["executions"] if e["name"] == name]

    def api_call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None, sign: bool = True,
                 access_key: str = "test", secret: str = "test", content_type: str = "application/json",
                 tamper: Callable[[bytes], bytes] | None = None) -> tuple[int, str]:
        """One request to the trust-request API, SigV4-signed for execute-api as a portal signs it
        (unless ``sign`` is false); ``tamper`` changes the body after signing. Returns (status, body)."""
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
        request = AWSRequest(method=method, url=self.api_url + path, data=data, headers={"Content-Type": content_type})
        if sign:
            SigV4Auth(Credentials(access_key, secret), "execute-api", REGION).add_auth(request)
        prepared = request.prepare()
        sent = tamper(prepared.body) if tamper else prepared.body
        outgoing = urllib.request.Request(prepared.url, data=sent, headers=dict(prepared.headers), method=method)
        try:
            with urllib.request.urlopen(outgoing, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message in a capture queue (SNS envelopes and EventBridge events, decoded)."""
        sqs = self.client("sqs")
        found = []
        for _ in range(3):
            got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                if found:
                    break
                time.sleep(0.3)
                continue
            for message in got:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def lambda_logs(self) -> str:
        return self.lambda_log_path.read_text(errors="replace")
