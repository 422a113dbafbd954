"""Deploy rehearsal: template.yaml through the SAM transform and CloudFormation's CreateStack, on the emulated AWS.

What ``sam package`` + ``sam deploy`` would do, offline, against the emulator (``emulator.py``, whose
``cloudformation_ext.py`` fills moto's CloudFormation gaps):

1. *package*: each function's local ``CodeUri`` becomes an S3 object in the emulator holding a small
   placeholder zip (no build: the code is not what is rehearsed), and the state machine's local
   ``DefinitionUri`` is uploaded as it is, so the ASL reaches CloudFormation exactly as written;
2. *transform*: the SAM translator (PyPI ``aws-sam-translator``, the code behind CloudFormation's
   ``AWS::Serverless-2016-10-31`` transform) turns the template into plain CloudFormation, offline;
3. *deploy*: CreateStack with the transformed template, then what was created is read back from the
   services themselves: the stack's resources, the state machine and its definition, each Lambda
   function (name, role, environment, resource policy, and the Rust binary the template builds it
   from, ``Metadata.BuildProperties.Binary``), the EventBridge rules, the queues and their policies,
   the stack's outputs.

Not rehearsed: the build (``sam build``/cargo-lambda), IAM evaluation (roles and policies are created,
nothing checks them), the parameters' constraints (MinValue, MaxValue, AllowedPattern, AllowedValues:
neither the SAM translator nor moto checks them; CloudFormation refuses a value that breaks one),
resource types moto has no model for (they are listed as not created, with the reason, and everything
that does not depend on them is created), limits and quotas other than the TemplateBody size, and
updates of an existing stack.

Usage: ``python tests/aws_emulator/rehearsal.py [--endpoint-url URL] [--parameter Key=Value ...]``;
without ``--endpoint-url`` it starts an emulator of its own for the run.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ARTIFACT_BUCKET = "trustflow-rehearsal-artifacts"
# CreateStack takes at most this much TemplateBody; `sam deploy` sends a larger template through S3 (TemplateURL).
TEMPLATE_BODY_LIMIT = 51_200


@dataclass
class Resource:
    logical_id: str
    type: str
    physical_id: str
    status: str
    reason: str | None = None


@dataclass
class Function:
    logical_id: str
    binary: str | None
    name: str
    arn: str
    role_arn: str
    environment: dict[str, str]
    runtime: str | None
    handler: str | None
    architectures: list[str]
    logging: dict[str, Any]
    dead_letter_config: dict[str, Any]
    # Published versions ("1", ...) and aliases (name -> version).
    versions: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    # Who may invoke it (its resource policy): [{"principal": ..., "source_arn": ...}].
    invoke_permissions: list[dict[str, str | None]] = field(default_factory=list)


@dataclass
class StateMachine:
    logical_id: str
    arn: str
    name: str
    definition: str
    role_arn: str
    type: str
    logging: dict[str, Any]
    tracing: dict[str, Any]
    # Task state -> the function ARN it invokes, as the definition names it (states found anywhere,
    # Parallel and Map included), and -> the logical id of that function in the stack (None: not one of the stack's).
    task_targets: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Rule:
    logical_id: str
    name: str
    arn: str
    event_bus: str
    pattern: dict[str, Any] | None
    state: str
    targets: list[dict[str, Any]]


@dataclass
class Queue:
    logical_id: str
    url: str
    arn: str
    policy: dict[str, Any] | None


@dataclass
class Rehearsal:
    stack_name: str
    stack_id: str
    status: str
    status_reason: str | None
    parameters: dict[str, str]
    # The packaged SAM template as JSON, what `sam deploy` would send.
    packaged_bytes: int
    resources: dict[str, Resource]
    not_created: list[Resource]
    functions: dict[str, Function]
    state_machines: dict[str, StateMachine]
    rules: dict[str, Rule]
    queues: dict[str, Queue]
    outputs: dict[str, str]
    transformed: dict[str, Any] = field(repr=False)

    @property
    def state_machine(self) -> StateMachine:
        """The stack's only state machine."""
        (only,) = self.state_machines.values()
        return only

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.arn

    def function_by_binary(self, binary: str) -> Function:
        found = [f for f in self.functions.values() if f.binary == binary]
        if len(found) != 1:
            raise KeyError(f"{len(found)} functions are built from the binary {binary!r}")
        return found[0]

    def function_by_arn(self, arn: str) -> Function | None:
        return function_of(self.functions, arn)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("transformed")
        return data

    def report(self) -> str:
        return render_report(self)


class RehearsalError(RuntimeError):
    pass


def function_of(functions: dict[str, Function], arn: str) -> Function | None:
    """The function an ARN names; a qualified ARN (version or alias) names its function too."""
    return next((f for f in functions.values() if arn == f.arn or arn.startswith(f.arn + ":")), None)


# --- package and transform -----------------------------------------------------------------------

def load_template(path: Path) -> dict[str, Any]:
    """template.yaml as the SAM translator reads it (the short forms !Ref, !Sub, ... as Ref, Fn::Sub, ...)."""
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


def placeholder_zip(logical_id: str, binary: str | None) -> bytes:
    """A deployment package standing for the build of one function (moto only stores it)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))  # fixed: same bytes, same key
        info.external_attr = 0o755 << 16
        z.writestr(info, f"#!/bin/sh\n# deploy rehearsal: stands for the build of {binary or logical_id}\nexit 1\n")
    return archive.getvalue()


def is_local(uri: Any) -> bool:
    return isinstance(uri, str) and not uri.startswith("s3://")


def package(template: dict[str, Any], base: Path, s3: Any, bucket: str = ARTIFACT_BUCKET) -> dict[str, Any]:
    """What `sam package` does to the template's local paths: each is uploaded and replaced by its S3 URI."""
    packaged = copy.deepcopy(template)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        s3.create_bucket(Bucket=bucket)

    def upload(key_prefix: str, body: bytes, suffix: str = "") -> str:
        key = f"{key_prefix}/{hashlib.md5(body).hexdigest()}{suffix}"  # noqa: S324 - a content key, as sam package's
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    globals_function = packaged.get("Globals", {}).get("Function", {})
    if is_local(globals_function.get("CodeUri")):
        raise RehearsalError("Globals.Function.CodeUri is a local path: give each function its CodeUri")
    for logical_id, resource in packaged["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and is_local(properties.get("CodeUri")) and "InlineCode" not in properties:
            binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
            properties["CodeUri"] = upload(logical_id, placeholder_zip(logical_id, binary), ".zip")
        elif resource["Type"] == "AWS::Serverless::StateMachine" and is_local(properties.get("DefinitionUri")):
            path = base / properties["DefinitionUri"]
            # Uploaded as written: CloudFormation applies DefinitionSubstitutions to it (the extension tells YAML from JSON).
            properties["DefinitionUri"] = upload(logical_id, path.read_bytes(), path.suffix)
        elif resource["Type"] in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi") and is_local(properties.get("DefinitionUri")):
            path = base / properties["DefinitionUri"]
            properties["DefinitionUri"] = upload(logical_id, path.read_bytes(), path.suffix)
        elif resource["Type"] == "AWS::Serverless::LayerVersion" and is_local(properties.get("ContentUri")):
            properties["ContentUri"] = upload(logical_id, placeholder_zip(logical_id, None), ".zip")
    return packaged


class _NoManagedPolicies:
    """The translator's managed-policy loader, offline. The translator asks it (online: IAM ListPolicies)
    only for a policy name missing from the map of AWS managed policies it bundles; here such a name
    stays as written, and attaching it then fails the role in the emulator as it would in IAM."""

    def load(self) -> dict[str, str]:
        return {}


def transform(packaged: dict[str, Any], region: str, account_id: str, parameters: dict[str, str]) -> dict[str, Any]:
    """The SAM translator's transform, offline (what CloudFormation runs for ``Transform: AWS::Serverless-2016-10-31``)."""
    from samtranslator.translator.transform import transform as sam_transform

    # With the translator's built-in feature-toggle configuration every toggle lookup logs a warning.
    logging.getLogger("samtranslator.feature_toggle.feature_toggle").setLevel(logging.ERROR)
    saved = os.environ.get("AWS_DEFAULT_REGION")
    # The translator takes the Region for ARNs and Region-specific behaviour from the environment.
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        values = {"AWS::Region": region, "AWS::AccountId": account_id, "AWS::Partition": partition_of(region), **parameters}
        return sam_transform(copy.deepcopy(packaged), values, _NoManagedPolicies())
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved


def partition_of(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


# --- deploy and read back ------------------------------------------------------------------------

def clients(endpoint_url: str, region: str) -> Any:
    import boto3

    session = boto3.session.Session(aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                                    aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"), region_name=region)
    return lambda service: session.client(service, endpoint_url=endpoint_url)


def rehearse(endpoint_url: str, stack_name: str = "trustflow", parameters: dict[str, Any] | None = None,
             template_path: Path | str = TEMPLATE, region: str = "us-east-1", timeout: float = 60) -> Rehearsal:
    """Packages, transforms and deploys ``template_path`` as ``stack_name`` on the emulator at ``endpoint_url``."""
    client = clients(endpoint_url, region)
    template_path = Path(template_path)
    parameters = {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in (parameters or {}).items()}
    original = load_template(template_path)
    unknown = set(parameters) - set(original.get("Parameters", {}))
    if unknown:
        raise RehearsalError(f"no such template parameter(s): {', '.join(sorted(unknown))}")
    account_id = client("sts").get_caller_identity()["Account"]
    s3 = client("s3")
    packaged = package(original, template_path.parent, s3)
    # What `sam deploy` sends is the packaged SAM template (CloudFormation transforms it): its size is
    # the one CreateStack's TemplateBody limit applies to.
    packaged_bytes = len(json.dumps(packaged).encode())
    transformed = transform(packaged, region, account_id, parameters)
    cfn = client("cloudformation")
    # moto has no SAM transform: it gets the transformed template, which it does not size-check.
    stack_id = cfn.create_stack(StackName=stack_name, TemplateBody=json.dumps(transformed), OnFailure="DO_NOTHING",
                                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])["StackId"]
    stack = wait_for_stack(cfn, stack_id, timeout)
    return read_back(client, cfn, stack, original, transformed, packaged_bytes)


def wait_for_stack(cfn: Any, stack_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS"):
            return stack
        if time.monotonic() > deadline:
            raise RehearsalError(f"stack {stack['StackName']} still {stack['StackStatus']} after {timeout:.0f}s")
        time.sleep(0.2)


def read_back(client: Any, cfn: Any, stack: dict[str, Any], original: dict[str, Any], transformed: dict[str, Any],
              packaged_bytes: int) -> Rehearsal:
    listed = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["StackId"]):
        for summary in page["StackResourceSummaries"]:
            listed[summary["LogicalResourceId"]] = Resource(summary["LogicalResourceId"], summary["ResourceType"],
                                                            summary.get("PhysicalResourceId", ""), summary["ResourceStatus"],
                                                            summary.get("ResourceStatusReason"))
    # A resource of the template the stack does not list at all was not created either (e.g. on a moto
    # without cloudformation_ext, which skips unknown types silently).
    for logical_id, resource in transformed["Resources"].items():
        if logical_id not in listed and "Condition" not in resource:
            listed[logical_id] = Resource(logical_id, resource["Type"], "", "CREATE_FAILED", "not listed by the stack")
    created = {k: r for k, r in listed.items() if r.status == "CREATE_COMPLETE"}
    not_created = sorted((r for r in listed.values() if r.status != "CREATE_COMPLETE"), key=lambda r: (r.type, r.logical_id))
    events = [e for e in cfn.describe_stack_events(StackName=stack["StackId"])["StackEvents"]
              if e["LogicalResourceId"] == stack["StackName"] and e["ResourceStatus"] == stack["StackStatus"]]

    functions = read_functions(client("lambda"), created, original)
    state_machines = read_state_machines(client("stepfunctions"), created, functions)
    rules = read_rules(client("events"), created)
    return Rehearsal(
        stack_name=stack["StackName"], stack_id=stack["StackId"], status=stack["StackStatus"],
        status_reason=stack.get("StackStatusReason") or (events[0].get("ResourceStatusReason") if events else None),
        parameters={p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])},
        packaged_bytes=packaged_bytes, resources=created, not_created=not_created, functions=functions,
        state_machines=state_machines, rules=rules, queues=read_queues(client("sqs"), created),
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}, transformed=transformed)


def of_type(resources: dict[str, Resource], resource_type: str) -> list[Resource]:
    return sorted((r for r in resources.values() if r.type == resource_type), key=lambda r: r.logical_id)


def read_functions(lam: Any, created: dict[str, Resource], original: dict[str, Any]) -> dict[str, Function]:
    functions = {}
    for resource in of_type(created, "AWS::Lambda::Function"):
        config = lam.get_function_configuration(FunctionName=resource.physical_id)
        metadata = original["Resources"].get(resource.logical_id, {}).get("Metadata", {})
        permissions = []
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            for statement in json.loads(lam.get_policy(FunctionName=resource.physical_id)["Policy"]).get("Statement", []):
                principal = statement.get("Principal")
                source = statement.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
                if isinstance(principal, dict):
                    principal = principal.get("Service") or principal.get("AWS")
                permissions.append({"principal": principal, "source_arn": source})
        versions = [v["Version"] for page in lam.get_paginator("list_versions_by_function").paginate(FunctionName=resource.physical_id)
                    for v in page["Versions"] if v["Version"] != "$LATEST"]
        aliases = {a["Name"]: a["FunctionVersion"] for page in lam.get_paginator("list_aliases").paginate(FunctionName=resource.physical_id)
                   for a in page["Aliases"]}
        functions[resource.logical_id] = Function(
            logical_id=resource.logical_id, binary=metadata.get("BuildProperties", {}).get("Binary"),
            name=config["FunctionName"], arn=config["FunctionArn"], role_arn=config["Role"],
            environment=config.get("Environment", {}).get("Variables", {}), runtime=config.get("Runtime"),
            handler=config.get("Handler"), architectures=config.get("Architectures", []), logging=config.get("LoggingConfig", {}),
            dead_letter_config=config.get("DeadLetterConfig", {}),
            versions=versions, aliases=aliases, invoke_permissions=permissions)
    return functions


def task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Task state of an ASL ``States`` object, inside Parallel branches and Map processors too."""
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from task_states(branch.get("States", {}))
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from task_states(state[key].get("States", {}))


def invoked_function(state: dict[str, Any]) -> str | None:
    """The function a Task invokes: ``Parameters.FunctionName`` of ``lambda:invoke``, or a function ARN as ``Resource``."""
    resource = state.get("Resource", "")
    if ":states:::lambda:invoke" in resource:
        parameters = state.get("Parameters") or state.get("Arguments") or {}
        return parameters.get("FunctionName")
    if ":lambda:" in resource and ":function:" in resource:
        return resource
    return None


def read_state_machines(sfn: Any, created: dict[str, Resource], functions: dict[str, Function]) -> dict[str, StateMachine]:
    found = {}
    for resource in of_type(created, "AWS::StepFunctions::StateMachine"):
        described = sfn.describe_state_machine(stateMachineArn=resource.physical_id)
        targets: dict[str, str] = {}
        with contextlib.suppress(ValueError):
            for name, state in task_states(json.loads(described["definition"]).get("States", {})):
                target = invoked_function(state)
                if target is not None:
                    targets[name] = target
        # A qualified ARN (version or alias) is its function's too.
        tasks = {name: function.logical_id if (function := function_of(functions, target)) else None for name, target in targets.items()}
        found[resource.logical_id] = StateMachine(
            logical_id=resource.logical_id, arn=described["stateMachineArn"], name=described["name"],
            definition=described["definition"], role_arn=described["roleArn"], type=described.get("type", ""),
            logging=described.get("loggingConfiguration", {}), tracing=described.get("tracingConfiguration", {}),
            task_targets=targets, tasks=tasks)
    return found


def read_rules(events: Any, created: dict[str, Resource]) -> dict[str, Rule]:
    wanted = {r.physical_id: r.logical_id for r in of_type(created, "AWS::Events::Rule")}
    # CloudFormation's Ref to a rule on a custom bus is "bus|rule"; moto gives the rule's name.
    wanted = {physical.split("|")[-1]: logical for physical, logical in wanted.items()}
    rules = {}
    for bus in events.list_event_buses()["EventBuses"]:
        for page in events.get_paginator("list_rules").paginate(EventBusName=bus["Name"]):
            for rule in page["Rules"]:
                if rule["Name"] not in wanted:
                    continue
                targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
                rules[wanted[rule["Name"]]] = Rule(
                    logical_id=wanted[rule["Name"]], name=rule["Name"], arn=rule["Arn"], event_bus=bus["Name"],
                    pattern=json.loads(rule["EventPattern"]) if rule.get("EventPattern") else None,
                    state=rule.get("State", ""), targets=targets)
    return rules


def read_queues(sqs: Any, created: dict[str, Resource]) -> dict[str, Queue]:
    queues = {}
    for resource in of_type(created, "AWS::SQS::Queue"):
        attributes = sqs.get_queue_attributes(QueueUrl=resource.physical_id, AttributeNames=["QueueArn", "Policy"])["Attributes"]
        queues[resource.logical_id] = Queue(resource.logical_id, resource.physical_id, attributes["QueueArn"],
                                            json.loads(attributes["Policy"]) if attributes.get("Policy") else None)
    return queues


# --- the report ----------------------------------------------------------------------------------

def render_report(rehearsal: Rehearsal) -> str:
    out = [f"Deploy rehearsal of stack {rehearsal.stack_name}: {rehearsal.status}"
           + (f" ({rehearsal.status_reason})" if rehearsal.status_reason and rehearsal.status != "CREATE_COMPLETE" else "")]
    size_note = "fits" if rehearsal.packaged_bytes <= TEMPLATE_BODY_LIMIT else "over: sam deploy sends it through S3"
    out.append(f"Packaged template {rehearsal.packaged_bytes:,} bytes as JSON (TemplateBody limit {TEMPLATE_BODY_LIMIT:,}: {size_note}); "
               f"transformed: {len(rehearsal.transformed['Resources'])} resources")
    if rehearsal.parameters:
        out.append("Parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(rehearsal.parameters.items())))
    out.append(f"\nCreated ({len(rehearsal.resources)}):")
    for r in sorted(rehearsal.resources.values(), key=lambda r: (r.type, r.logical_id)):
        out.append(f"  {r.type:36} {r.logical_id:46} {r.physical_id}")
    out.append(f"\nNot created ({len(rehearsal.not_created)}):" if rehearsal.not_created else "\nNot created: none")
    for r in rehearsal.not_created:
        out.append(f"  {r.type:36} {r.logical_id:46} {r.reason}")
    if rehearsal.functions:
        out.append("\nLambda functions (logical id -> Rust binary):")
    for f in rehearsal.functions.values():
        out.append(f"  {f.logical_id} -> {f.binary}")
        out.append(f"    name {f.name}; {f.runtime}, {'/'.join(f.architectures)}, handler {f.handler}")
        out.append(f"    role {f.role_arn}")
        if f.dead_letter_config:
            out.append(f"    dead letters to {f.dead_letter_config.get('TargetArn')}")
        if f.logging:
            out.append(f"    logging {json.dumps(f.logging)}")
        if f.versions or f.aliases:
            aliases = ", ".join(f"{k} -> {v}" for k, v in f.aliases.items()) or "none"
            out.append(f"    versions {', '.join(f.versions) or 'none'}; aliases {aliases}")
        for key, value in sorted(f.environment.items()):
            out.append(f"    env  {key}={value}")
        for permission in f.invoke_permissions:
            out.append(f"    may be invoked by {permission['principal']} from {permission['source_arn']}")
    for machine in rehearsal.state_machines.values():
        out.append(f"\nState machine {machine.logical_id} ({machine.type}): {machine.arn}")
        out.append(f"  role {machine.role_arn}; logging {json.dumps(machine.logging)}; tracing {json.dumps(machine.tracing)}")
        leftover = sorted(set(part.split("}")[0] for part in machine.definition.split("${")[1:]))
        out.append("  definition: " + (f"placeholders left: {', '.join(leftover)}" if leftover else "every ${...} substituted"))
        for state, logical_id in machine.tasks.items():
            binary = rehearsal.functions[logical_id].binary if logical_id in rehearsal.functions else None
            out.append(f"  Task {state} -> {logical_id or 'a function not in this stack'}" + (f" ({binary})" if binary else "")
                       + f": {machine.task_targets[state]}")
    if rehearsal.rules:
        out.append("\nEventBridge rules:")
    for rule in rehearsal.rules.values():
        out.append(f"  {rule.logical_id} on bus {rule.event_bus} ({rule.state}): pattern {json.dumps(rule.pattern)}")
        for target in rule.targets:
            function = rehearsal.function_by_arn(target["Arn"])
            out.append(f"    -> {target['Id']}: {target['Arn']}" + (f" ({function.logical_id}, {function.binary})" if function else ""))
            if "RetryPolicy" in target or "DeadLetterConfig" in target:
                dead_letters = target.get("DeadLetterConfig", {}).get("Arn")
                out.append(f"       retry {json.dumps(target.get('RetryPolicy'))}; dead letters to {dead_letters}")
    for queue in rehearsal.queues.values():
        out.append(f"\nQueue {queue.logical_id}: {queue.arn}")
        for statement in (queue.policy or {}).get("Statement", []):
            out.append(f"  policy {statement.get('Sid', '')}: {statement.get('Effect')} {statement.get('Action')} for "
                       f"{json.dumps(statement.get('Principal'))} if {json.dumps(statement.get('Condition'))}")
    if rehearsal.outputs:
        out.append("\nOutputs:")
        for key, value in rehearsal.outputs.items():
            out.append(f"  {key} = {value}")
    return "\n".join(out)


# --- an emulator of its own ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_emulator(state_seconds: float = 0.3, log_path: Path | None = None, timeout: float = 30) -> Iterator[str]:
    """Starts ``emulator.py`` on a free port (as scripts/test.sh does); yields its endpoint URL."""
    python = ROOT / ".venv" / "bin" / "python"
    port = free_port()
    with contextlib.ExitStack() as stack:
        if log_path is None:
            log_path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rehearsal-"))) / "emulator.log"
        # A file, not a pipe: nobody reads the emulator's output after "ready on", and a full pipe would block it.
        log = stack.enter_context(open(log_path, "w"))
        process = subprocess.Popen([str(python if python.exists() else sys.executable), str(Path(__file__).with_name("emulator.py")),
                                    "--port", str(port), "--state-seconds", str(state_seconds)], stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while "ready on" not in log_path.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RehearsalError(f"the emulator did not start:\n{log_path.read_text()}")
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", help="a running emulator (default: start one for this run)")
    parser.add_argument("--stack-name", default="trustflow")
    parser.add_argument("--template", default=str(TEMPLATE))
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="a template parameter (repeatable)")
    parser.add_argument("--json", action="store_true", help="print the rehearsal as JSON instead of the report")
    args = parser.parse_args(argv)
    parameters = dict(p.split("=", 1) for p in args.parameter)
    with contextlib.ExitStack() as stack:
        endpoint = args.endpoint_url or stack.enter_context(running_emulator())
        rehearsal = rehearse(endpoint, args.stack_name, parameters, args.template, args.region)
    print(json.dumps(rehearsal.to_json(), indent=2, default=str) if args.json else rehearsal.report())
    return 0 if rehearsal.status == "CREATE_COMPLETE" else 1


if __name__ == "__main__":
    sys.exit(main())
