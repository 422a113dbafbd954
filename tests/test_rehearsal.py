"""Deploy rehearsal: what CloudFormation creates from template.yaml, checked on the emulated AWS.

template.yaml goes through the SAM translator and the emulator's CloudFormation (moto with
tests/aws_emulator/cloudformation_ext.py); the facts are read back from the services. Expected values
come from template.yaml and the ASL file themselves, resolved here with the physical ids the stack
reports, so a template change that CloudFormation would deploy differently shows up.
"""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "aws_emulator"))
import rehearsal as rh  # noqa: E402

# The resource types moto cannot create (cloudformation_ext reports them as "not emulated"). A change
# here means the template gained a type the rehearsal does not see, or the emulator learnt one.
NOT_CREATED_TYPES = ["AWS::CloudWatch::Alarm"]
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com"}
OVERRIDES = {"TrustDeadlineSeconds": "600", "RemoteSideWindowSeconds": "3600", "DeleteFailedTrusts": "true",
             "ExecutionTimeoutSeconds": "9000", "PollIntervalSeconds": "2", "EventBusName": "trustflow-second",
             "AllowedRequestSources": "trustctl"}


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    log = tmp_path_factory.mktemp("rehearsal") / "emulator.log"
    with rh.running_emulator(state_seconds=0.3, log_path=log) as url:
        yield url


@pytest.fixture(scope="module")
def deployed(endpoint):
    return rh.rehearse(endpoint, stack_name="trustflow")


@pytest.fixture(scope="module")
def template():
    return rh.load_template(rh.TEMPLATE)


def parameter_values(template, overrides=None):
    """Each parameter as a Ref to it gives it: the passed value or the default, as a string (lists as lists)."""
    values = {}
    for name, slot in template.get("Parameters", {}).items():
        value = str((overrides or {}).get(name, slot.get("Default", "")))
        values[name] = value.split(",") if slot.get("Type") == "CommaDelimitedList" else value
    return values


def resolve(node, stack, parameters):
    """A template value as CloudFormation would resolve it, from the physical ids the stack reports."""
    if isinstance(node, list):
        return [resolve(item, stack, parameters) for item in node]
    if not isinstance(node, dict):
        return node if isinstance(node, str) else json.dumps(node)
    if "Ref" in node:
        name = node["Ref"]
        if name in parameters:
            return parameters[name]
        if name in PSEUDO:
            return PSEUDO[name]
        if name == "AWS::StackName":
            return stack.stack_name
        if name.endswith(".Version"):
            # SAM: the function's published version, as an ARN.
            function = stack.functions[name.removesuffix(".Version")]
            assert len(function.versions) == 1, f"{function.logical_id} has versions {function.versions}"
            return f"{function.arn}:{function.versions[0]}"
        return stack.resources[name].physical_id
    if "Fn::GetAtt" in node:
        logical_id, attribute = node["Fn::GetAtt"]
        assert attribute == "Arn", f"resolve() knows only Fn::GetAtt <X>.Arn, not {attribute}"
        if logical_id in stack.functions:
            return stack.functions[logical_id].arn
        if logical_id in stack.queues:
            return stack.queues[logical_id].arn
        return stack.resources[logical_id].physical_id
    if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
        text = node["Fn::Sub"]
        for name in {**parameters, **PSEUDO, "AWS::StackName": None}:
            if "${" + name + "}" in text:
                text = text.replace("${" + name + "}", str(resolve({"Ref": name}, stack, parameters)))
        return text
    if "Fn::Join" in node:
        # A CommaDelimitedList parameter arrives as its comma-separated text; joined with "," it is that text.
        delimiter, items = node["Fn::Join"]
        values = resolve(items, stack, parameters) if isinstance(items, dict) else [resolve(i, stack, parameters) for i in items]
        return values if isinstance(values, str) and delimiter == "," else delimiter.join(values)
    raise AssertionError(f"resolve() does not know {node}")


def definition_substitutions(template):
    (machine,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
    return machine["Properties"]


def expected_definition(template, stack, parameters, base=rh.ROOT):
    """The ASL file with the template's DefinitionSubstitutions applied, as CloudFormation documents it."""
    properties = definition_substitutions(template)
    text = (base / properties["DefinitionUri"]).read_text()
    for key, value in properties["DefinitionSubstitutions"].items():
        text = text.replace("${" + key + "}", resolve(value, stack, parameters))
    return json.loads(text)


def trust_requested_event(template):
    """The SAM event source of the "Trust Requested" rule: (function logical id, its properties)."""
    (found,) = [(name, e["Properties"]) for name, f in template["Resources"].items() if f["Type"] == "AWS::Serverless::Function"
                for e in f["Properties"].get("Events", {}).values()
                if e["Type"] == "EventBridgeRule" and "Trust Requested" in e["Properties"]["Pattern"].get("detail-type", [])]
    return found


def trust_requested_rule(stack):
    (rule,) = [r for r in stack.rules.values() if "Trust Requested" in (r.pattern or {}).get("detail-type", [])]
    return rule


def expected_environment(template, logical_id, stack, parameters):
    variables = dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    variables.update(template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {}))
    return {key: resolve(value, stack, parameters) for key, value in variables.items()}


def test_the_stack_is_created_and_only_what_moto_cannot_create_is_missing(deployed, template):
    assert deployed.status == "CREATE_COMPLETE", deployed.status_reason
    assert sorted({r.type for r in deployed.not_created}) == NOT_CREATED_TYPES, deployed.report()
    # Every resource of those types, and nothing else, is missing; each because it is not emulated.
    assert sorted(r.logical_id for r in deployed.not_created) == sorted(
        k for k, r in template["Resources"].items() if r["Type"] in NOT_CREATED_TYPES)
    assert all(r.reason.startswith("not emulated") for r in deployed.not_created), [r.reason for r in deployed.not_created]
    # Each function of the template was created under its logical id, and knows its binary.
    functions = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(deployed.functions) == set(functions)
    for logical_id, function in deployed.functions.items():
        assert function.binary == functions[logical_id]["Metadata"]["BuildProperties"]["Binary"]
        assert deployed.function_by_binary(function.binary) is function
    # The outputs name no resource that was not created, and resolve completely.
    assert deployed.outputs["TrustWorkflowArn"] == deployed.state_machine_arn
    assert all("${" not in value for value in deployed.outputs.values()), deployed.outputs


def test_the_state_machine_definition_is_the_asl_with_the_templates_substitutions(deployed, template):
    machine = deployed.state_machine
    assert "${" not in machine.definition
    parameters = parameter_values(template)
    assert json.loads(machine.definition) == expected_definition(template, deployed, parameters)
    # Every Task invokes a published version of a function of this stack: the one the ASL placeholder names.
    asl = rh.ROOT.joinpath(definition_substitutions(template)["DefinitionUri"]).read_text()
    # The ASL with its placeholders kept as names: "${Key}" -> "@Key", any other ${...} (a number) -> 0.
    placeholders = json.loads(re.sub(r"\$\{\w+\}", "0", re.sub(r'"\$\{(\w+)\}"', r'"@\1"', asl)))
    named = {name: rh.invoked_function(state) for name, state in rh.task_states(placeholders["States"])}
    assert set(machine.task_targets) == set(named) and named, (machine.task_targets, named)
    for state, target in machine.task_targets.items():
        logical_id = definition_substitutions(template)["DefinitionSubstitutions"][named[state].lstrip("@")]["Ref"].removesuffix(".Version")
        function = deployed.functions[logical_id]
        assert target.rsplit(":", 1) == [function.arn, function.versions[-1]], (state, target)
        assert machine.tasks[state] == logical_id
        # SAM's AutoPublishAlias points at the same version.
        alias = template["Resources"][logical_id]["Properties"].get("AutoPublishAlias")
        assert function.aliases == ({alias: function.versions[-1]} if alias else {}), function.aliases
    # The state machine logs where the template says, with the template's level.
    logging = definition_substitutions(template)["Logging"]
    (destination,) = machine.logging["destinations"]
    (wanted,) = logging["Destinations"]
    group = deployed.resources[wanted["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]].physical_id
    assert destination["cloudWatchLogsLogGroup"]["logGroupArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{group}:*"
    assert (machine.logging["level"], machine.logging["includeExecutionData"]) == (logging["Level"], logging["IncludeExecutionData"])


def test_each_function_has_the_templates_environment_resolved(deployed, template, endpoint):
    parameters = parameter_values(template)
    for logical_id, function in deployed.functions.items():
        assert function.environment == expected_environment(template, logical_id, deployed, parameters), logical_id
    # A resource named in an environment is there, under that name, in its own service.
    client = rh.clients(endpoint, "us-east-1")
    exists = {"AWS::SNS::Topic": lambda v: client("sns").get_topic_attributes(TopicArn=v),
              "AWS::Events::EventBus": lambda v: client("events").describe_event_bus(Name=v),
              "AWS::StepFunctions::StateMachine": lambda v: client("stepfunctions").describe_state_machine(stateMachineArn=v)}
    for logical_id in deployed.functions:
        variables = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in variables.items():
            if isinstance(value, dict) and value.get("Ref") in deployed.resources:
                resource = deployed.resources[value["Ref"]]
                assert resource.type in exists, f"{logical_id} {key}: teach this test how to find a {resource.type}"
                exists[resource.type](deployed.functions[logical_id].environment[key])
    # The ARNs and names handed over are the real ones (not logical ids or Python objects).
    submit = deployed.function_by_binary("submit-request")
    assert submit.environment["STATE_MACHINE_ARN"] == deployed.state_machine_arn
    notify = deployed.function_by_binary("notify-requester")
    assert notify.environment["RESULT_EVENT_BUS"] == trust_requested_rule(deployed).event_bus


def test_each_function_has_a_role_of_its_own(deployed, endpoint):
    roles = {logical_id: f.role_arn for logical_id, f in deployed.functions.items()}
    assert len(set(roles.values())) == len(roles), roles
    assert deployed.state_machine.role_arn not in roles.values()
    iam = rh.clients(endpoint, "us-east-1")("iam")
    for logical_id, arn in roles.items():
        role = iam.get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
        assert role["Arn"] == arn
        principals = [s["Principal"]["Service"] for s in role["AssumeRolePolicyDocument"]["Statement"]]
        assert principals == [["lambda.amazonaws.com"]], (logical_id, principals)
        attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]}
        assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in attached, (logical_id, attached)


def test_the_trust_requested_rule_starts_the_submit_request_function(deployed, template):
    rule = trust_requested_rule(deployed)
    function_id, event = trust_requested_event(template)
    parameters = parameter_values(template)
    assert rule.pattern == {key: resolve(value, deployed, parameters) for key, value in event["Pattern"].items()}
    assert rule.event_bus == resolve(event["EventBusName"], deployed, parameters)
    assert rule.state == "ENABLED"
    submit = deployed.function_by_binary("submit-request")
    assert submit.logical_id == function_id
    (target,) = rule.targets
    assert target["Arn"] == submit.arn
    assert target.get("RetryPolicy") == event.get("RetryPolicy")
    # Lambda lets EventBridge invoke it from this rule.
    assert {"principal": "events.amazonaws.com", "source_arn": rule.arn} in submit.invoke_permissions


def test_the_dead_letter_queue_accepts_what_the_rule_could_not_deliver(deployed, template):
    rule = trust_requested_rule(deployed)
    _, event = trust_requested_event(template)
    queue = deployed.queues[event["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]]
    assert rule.targets[0]["DeadLetterConfig"]["Arn"] == queue.arn
    # The policy names the rules by hand-built ARNs: they must be the actual ARNs of every rule that
    # dead-letters here ("Trust Requested", "Trust Remote Side Ready" and the Custom::DirectoryTrust
    # resource's result events), or their dead letters are refused.
    statements = [s for s in queue.policy["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"}]
    dead_lettering = sorted(r.arn for r in deployed.rules.values()
                            if any(t.get("DeadLetterConfig", {}).get("Arn") == queue.arn for t in r.targets))
    assert len(dead_lettering) == 3 and rule.arn in dead_lettering
    assert [sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"]) for s in statements] == [dead_lettering]
    assert deployed.function_by_binary("submit-request").dead_letter_config == {"TargetArn": queue.arn}
    assert deployed.function_by_binary("directory-trust-resource").dead_letter_config == {"TargetArn": queue.arn}


def test_parameters_reach_the_functions_the_definition_and_the_rule(endpoint, template):
    second = rh.rehearse(endpoint, stack_name="trustflow-second", parameters=OVERRIDES)
    assert second.status == "CREATE_COMPLETE", second.status_reason
    parameters = parameter_values(template, OVERRIDES)
    for logical_id, function in second.functions.items():
        assert function.environment == expected_environment(template, logical_id, second, parameters), logical_id
    assert second.function_by_binary("validate-request").environment["TRUST_DEADLINE_SECONDS"] == "600"
    definition = json.loads(second.state_machine.definition)
    assert definition == expected_definition(template, second, parameters)
    assert definition["TimeoutSeconds"] == 9000
    rule = trust_requested_rule(second)
    assert (rule.event_bus, rule.pattern["source"]) == ("trustflow-second", ["trustctl"])


def health_schedule(stack):
    """The rule that runs the health check, found by its target."""
    (rule,) = [r for r in stack.rules.values()
               if any(getattr(stack.function_by_arn(t["Arn"]), "binary", None) == "trust-health" for t in r.targets)]
    return rule


def test_the_health_check_schedule_is_off_without_directories_and_runs_them_when_named(deployed, endpoint):
    rule = health_schedule(deployed)
    assert rule.state == "DISABLED"
    # Only that rule may invoke the health check.
    assert deployed.function_by_binary("trust-health").invoke_permissions == [{"principal": "events.amazonaws.com", "source_arn": rule.arn}]
    second = rh.rehearse(endpoint, stack_name="trustflow-health",
                         parameters={"EventBusName": "trustflow-health", "HealthCheckDirectoryIds": "d-1234567890,d-abcdef0123"})
    rule = health_schedule(second)
    (target,) = rule.targets
    assert rule.state == "ENABLED"
    assert json.loads(target["Input"]) == {"directoryIds": ["d-1234567890", "d-abcdef0123"]}


def test_a_placeholder_without_a_substitution_fails_the_state_machine_and_what_needs_it(endpoint, template, tmp_path):
    broken = json.loads(json.dumps(template))
    properties = definition_substitutions(broken)
    del properties["DefinitionSubstitutions"]["ExecutionTimeoutSeconds"]
    (tmp_path / "template.yaml").write_text(json.dumps(broken))  # JSON is YAML
    shutil.copytree(rh.ROOT / Path(properties["DefinitionUri"]).parent, tmp_path / Path(properties["DefinitionUri"]).parent)
    result = rh.rehearse(endpoint, stack_name="trustflow-broken", template_path=tmp_path / "template.yaml",
                         parameters={"EventBusName": "trustflow-broken"})
    assert result.status == "CREATE_FAILED"
    reasons = {r.logical_id: r.reason for r in result.not_created}
    assert "INVALID_JSON_DESCRIPTION" in reasons["TrustWorkflow"], reasons
    assert "TrustWorkflow" in result.status_reason
    # What refers to the state machine is not created either; what does not, is.
    assert reasons["SubmitRequestFunction"].startswith("depends on"), reasons
    assert "TrustWorkflowArn" not in result.outputs
    assert {"NotificationTopic", "ValidateRequestFunction", "TrustEventBus"} <= set(result.resources)
