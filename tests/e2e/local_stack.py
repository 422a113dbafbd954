"""The whole trustflow stack on this machine, with no AWS account.

- AWS: moto over HTTP, extended for Directory Service trusts (``tests/aws_emulator/emulator.py``).
- Lambdas: the real Rust binaries, served over the Lambda runtime API by ``cargo lambda watch``.
- Step Functions: the real ``statemachine/trust_workflow.asl.json``, with the template's
  DefinitionSubstitutions applied, executed by moto's Step Functions interpreter, whose Lambda
  invokes the emulator forwards to cargo lambda.
- API Gateway: the template's ``TrustApi`` as written (SigV4 auth, Lambda proxy integrations),
  run by the emulator's API executor (``tests/aws_emulator/api_gateway.py``) at ``api_url``.
- EventBridge: the template's rule invokes the submit-request Lambda (the one entrance, shared with
  ``POST /trust-requests``), which the emulator forwards to cargo lambda as an async invocation.

Used by the demo (``scripts/demo.py``) and the end-to-end tests (``tests/e2e/test_workflow.py``).
"""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
# The state machine's functions: the keys are its DefinitionSubstitutions.
FUNCTIONS = {
    "ValidateRequestFunctionArn": "validate-request",
    "CreateTrustFunctionArn": "create-trust",
    "CheckTrustFunctionArn": "check-trust",
    "NotifyRequesterFunctionArn": "notify-requester",
}
# The entrance and the API's functions (not in the ASL).
API_FUNCTIONS = {
    "SubmitRequestFunctionArn": "submit-request",
    "RequestStatusFunctionArn": "request-status",
}
STATE_MACHINE_NAME = "trustflow-trust-workflow"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"
TOPIC_NAME = "trustflow-notifications"
BUS_NAME = "trustflow"


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


def substitutions(arns: dict[str, str], settings: dict[str, int]) -> dict[str, str]:
    values = dict(arns)
    values.update({k: str(v) for k, v in settings.items()})
    return values


def render_definition(values: dict[str, str]) -> str:
    """The ASL file with DefinitionSubstitutions applied, as CloudFormation does."""
    text = (ROOT / "statemachine" / "trust_workflow.asl.json").read_text()
    missing = sorted(set(re.findall(r"\$\{(\w+)\}", text)) - set(values))
    if missing:
        raise KeyError(f"no substitution for {missing}")
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


@dataclass
class Settings:
    """The template parameters, scaled down so a run takes seconds."""
    poll_interval_seconds: int = 1
    max_poll_interval_seconds: int = 2
    reverify_interval_seconds: int = 1
    execution_timeout_seconds: int = 600
    trust_deadline_seconds: int = 20
    remote_side_window_seconds: int = 12
    delete_failed_trusts: bool = True
    state_seconds: float = 1.0


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
    def __init__(self, settings: Settings | None = None, log_dir: Path | None = None, quiet: bool = True) -> None:
        self.settings = settings or Settings()
        self.log_dir = log_dir or ROOT / ".work" / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.quiet = quiet
        self.procs: list[subprocess.Popen] = []
        self.aws_port = free_port()
        self.invoke_port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.aws_port}"

    # --- lifecycle ---
    def start(self) -> "LocalStack":
        python = sys.executable
        emulator_log = open(self.log_dir / "emulator.log", "w")
        self.procs.append(subprocess.Popen(
            [python, str(ROOT / "tests" / "aws_emulator" / "emulator.py"), "--port", str(self.aws_port),
             "--lambda-invoke-url", f"http://127.0.0.1:{self.invoke_port}", "--state-seconds", str(self.settings.state_seconds)],
            stdout=emulator_log, stderr=subprocess.STDOUT))
        self.topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}"
        env = {
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test", "NOTIFICATION_TOPIC_ARN": self.topic_arn, "RESULT_EVENT_BUS": BUS_NAME,
            "TRUST_DEADLINE_SECONDS": str(self.settings.trust_deadline_seconds),
            "REMOTE_SIDE_WINDOW_SECONDS": str(self.settings.remote_side_window_seconds),
            "DELETE_FAILED_TRUSTS": "true" if self.settings.delete_failed_trusts else "false",
            # request-status: known before provisioning, as the state machine's ARN is deterministic.
            "STATE_MACHINE_ARN": STATE_MACHINE_ARN,
            "RUST_LOG": "info",
        }
        env_file = self.log_dir / "functions.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.lambda_log_path = self.log_dir / "lambdas.log"
        lambda_log = open(self.lambda_log_path, "w")
        cargo_lambda = Path(sys.executable).with_name("cargo-lambda")
        self.procs.append(subprocess.Popen(
            [str(cargo_lambda), "lambda", "watch", "--invoke-port", str(self.invoke_port), "--ignore-changes",
             "--env-file", str(env_file)],
            cwd=ROOT, stdout=lambda_log, stderr=subprocess.STDOUT))
        wait_for_port(self.aws_port, 60, "the AWS emulator", self.procs[0])
        wait_for_port(self.invoke_port, 120, "cargo lambda watch", self.procs[1])
        self.provision()
        return self

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

    def control(self, route: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.endpoint}/_trustflow/{route}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"control {method} {route}: {error.code} {error.read().decode(errors='replace')}") from None

    def provision(self) -> None:
        """The resources template.yaml creates, made in the emulator."""
        sns, sqs, events, lam, sfn = (self.client(s) for s in ("sns", "sqs", "events", "lambda", "stepfunctions"))
        self.topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        events.create_event_bus(Name=BUS_NAME)
        # Capture what a requester receives: the topic and the result events, each into a queue.
        self.messages_queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        self.events_queue = sqs.create_queue(QueueName="result-events")["QueueUrl"]
        queue_arn = lambda url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn(self.messages_queue))
        self.request_topic_arn = sns.create_topic(Name="identity-team")["TopicArn"]
        events.put_rule(Name="results", EventBusName=BUS_NAME, EventPattern=json.dumps({"source": ["trustflow"]}))
        events.put_targets(Rule="results", EventBusName=BUS_NAME, Targets=[{"Id": "q", "Arn": queue_arn(self.events_queue)}])
        # What portals (and `trustctl request --via events`) put on the bus is also captured here.
        self.requests_queue = sqs.create_queue(QueueName="trust-requests")["QueueUrl"]
        events.put_rule(Name="requests", EventBusName=BUS_NAME, EventPattern=json.dumps({"detail-type": ["Trust Requested"]}))
        events.put_targets(Rule="requests", EventBusName=BUS_NAME, Targets=[{"Id": "q", "Arn": queue_arn(self.requests_queue)}])
        trust_policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}
        role = self.client("iam").create_role(RoleName="trustflow", AssumeRolePolicyDocument=json.dumps(trust_policy))["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("bootstrap", "served by cargo lambda watch")
        arns = {}
        for key, name in {**FUNCTIONS, **API_FUNCTIONS}.items():
            arns[key] = lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
                                            Code={"ZipFile": archive.getvalue()})["FunctionArn"]
        s = self.settings
        self.definition = render_definition(substitutions({k: arns[k] for k in FUNCTIONS}, {
            "PollIntervalSeconds": s.poll_interval_seconds, "MaxPollIntervalSeconds": s.max_poll_interval_seconds,
            "ReverifyIntervalSeconds": s.reverify_interval_seconds, "ExecutionTimeoutSeconds": s.execution_timeout_seconds,
            "Partition": "aws"}))
        self.state_machine_arn = sfn.create_state_machine(name=STATE_MACHINE_NAME, definition=self.definition,
                                                          roleArn=role)["stateMachineArn"]
        assert self.state_machine_arn == STATE_MACHINE_ARN, f"request-status was given {STATE_MACHINE_ARN}, not {self.state_machine_arn}"
        # The template's EventBridgeRule: a "Trust Requested" event goes to the entrance, which starts
        # the workflow named after the request id.
        events.put_targets(Rule="requests", EventBusName=BUS_NAME, Targets=[{"Id": "entrance", "Arn": arns["SubmitRequestFunctionArn"]}])
        # The template's API, with what CloudFormation would substitute into its definition.
        values = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::URLSuffix": "amazonaws.com",
                  "AWS::StackName": "trustflow", "TrustWorkflow": self.state_machine_arn, "TrustWorkflow.Arn": self.state_machine_arn,
                  "TrustWorkflow.Name": STATE_MACHINE_NAME}
        for key, name in {**FUNCTIONS, **API_FUNCTIONS}.items():
            resource = key.removesuffix("Arn")
            values.update({resource: name, f"{resource}.Arn": arns[key]})
        api = self.control("api", {"template": str(ROOT / "template.yaml"), "resource": "TrustApi", "values": values})
        self.api_url = api["url"]

    def put_request_event(self, detail: dict[str, Any], source: str = "portal.identity") -> None:
        """What a portal does: a "Trust Requested" event on the bus."""
        entries = self.client("events").put_events(Entries=[{"EventBusName": BUS_NAME, "Source": source,
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
