"""What moto's CloudFormation lacks to create trustflow's SAM-translated template, added without forking moto.

moto 5.2.x creates stacks from templates (``moto/cloudformation/parsing.py``: a lazy map from logical
id to resource, filled by each model's ``create_from_cloudformation_json``), but for this template:

* a resource type it does not know is skipped with a warning, and one whose creation raises makes the
  whole CreateStack answer a 500 and leaves a stack that DescribeStacks cannot show;
* ``Ref`` to an ``AWS::Events::EventBus`` or an ``AWS::ApiGateway::Deployment`` gives a Python object,
  not the bus's name or the deployment's id;
* ``Ref`` to a ``Number`` parameter gives an int (CloudFormation gives a string, so a Lambda
  environment variable would not be a string);
* ``AWS::StepFunctions::StateMachine`` reads ``DefinitionString`` only: no ``Definition``, no
  ``DefinitionS3Location`` (what ``sam package`` produces), no ``DefinitionSubstitutions``; it drops
  the type, logging and tracing configuration; and once the emulator turns on moto's ASL interpreter
  (``execute_state_machine``) it creates the state machine where the Step Functions API does not see it;
* ``AWS::Lambda::Function`` drops ``Architectures``, ``TracingConfig``, ``LoggingConfig`` and
  ``DeadLetterConfig``; ``Ref`` to an ``AWS::Lambda::Version`` gives the logical id, not the version
  ARN; ``AWS::Lambda::Alias`` and ``AWS::SQS::QueuePolicy`` are not supported; ``AWS::IAM::Role`` drops
  ``ManagedPolicyArns``; ``Fn::GetAtt <LogGroup>.Arn`` lacks the ``:*`` CloudFormation gives;
* ``AWS::ApiGateway::RestApi`` needs ``Name`` (SAM gives a ``Body`` and no name) and ignores the body,
  so the deployment then fails with "The REST API doesn't contain any methods";
  ``AWS::ApiGateway::Stage`` is not supported.

``install()`` patches these. What is emulated and what is not:

* Partial creation. A resource moto cannot create is recorded as ``CREATE_FAILED`` with a reason, in
  ListStackResources and DescribeStackEvents, and so is every resource that refers to it (``Ref``,
  ``Fn::GetAtt``, ``Fn::Sub``, ``DependsOn``) and every output that names it; all the others are
  created. CloudFormation would stop at the first failure and roll back; going on instead lets one
  run list every gap. A type moto has no model for is reported as "not emulated" and leaves the stack
  ``CREATE_COMPLETE`` (CloudFormation itself would create it); any other failure makes the stack
  ``CREATE_FAILED``, as CreateStack with ``OnFailure=DO_NOTHING`` leaves it.
* The state machine's definition must be JSON once substituted, and a logging destination must end
  with ``:*``, as CreateStateMachine requires; with the emulator's ``execute_state_machine`` on, moto's
  ASL parser checks the definition too.
* ``AWS::IAM::Role`` attaches its ManagedPolicyArns, loading the AWS managed policies it names from
  moto's copy (an unknown one fails the role, as AttachRolePolicy would) and detaches them on delete.
* The REST API body is imported with moto's own OpenAPI import (paths, methods, integrations), which
  is enough for the deployment and the stage to exist; nothing of it is served (the project's API
  executor, ``api_gateway.py``, does that from the template). ``AWS::Lambda::Alias``,
  ``AWS::SQS::QueuePolicy`` and ``AWS::ApiGateway::Stage`` are added as models of moto's own calls.
* Not emulated: updates of the patched resources, change sets, rollback, ``Fn::Transform``, a failed
  resource in DescribeStackResources (ListStackResources and DescribeStackEvents show it), and any
  resource type moto has no model for (``AWS::CloudWatch::Alarm`` among them).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any, Callable

# The models simple_model made, kept alive (see there).
_MODELS: list[type] = []
NOT_EMULATED = "not emulated: moto has no CloudFormation support for {type}"
_installed = False


def install() -> None:
    """Applies every patch once (idempotent: the emulator and in-process tests may both call it)."""
    global _installed
    if _installed:
        return
    _installed = True
    _install_partial_creation()
    _install_parameter_strings()
    _install_refs()
    _install_state_machine()
    _install_lambda_function()
    _install_role_managed_policies()
    _install_queue_policy()
    _install_rest_api()
    # moto lists its models once (cached): the ones added here are seen only once the caches are cleared.
    from moto.cloudformation import parsing

    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


# --- partial creation, with a reason for every resource not created ------------------------------

def references(node: Any, conditions: Any = None) -> set[str]:
    """Every logical id or parameter a template fragment names through Ref, Fn::GetAtt or Fn::Sub
    (of an Fn::If, only the branch its condition takes, when ``conditions`` are given)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::If" and conditions is not None and isinstance(value, list) and len(value) == 3:
                found.update(references(value[1] if conditions[value[0]] else value[2], conditions))
            elif key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text, local = (value[0], value[1]) if isinstance(value, list) else (value, {})
                # ${Name} and ${Name.Attribute}; ${!Literal} is not a reference; names of the local map are not ids.
                found.update(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text) if m.split(".")[0] not in local)
                found.update(references(local, conditions))
            else:
                found.update(references(value, conditions))
    elif isinstance(node, list):
        for item in node:
            found.update(references(item, conditions))
    return found


def _outcomes(resources_map: Any) -> dict[str, dict[str, Any]]:
    """The creation outcome of each resource of a stack, kept on its ResourceMap: logical id -> record."""
    if not hasattr(resources_map, "_tf_outcomes"):
        resources_map._tf_outcomes = {}
    return resources_map._tf_outcomes


def _install_partial_creation() -> None:
    from moto.cloudformation import models as cfn_models
    from moto.cloudformation import parsing
    from moto.cloudformation import responses as cfn_responses
    from moto.core.responses import ActionResult

    original_create = parsing.parse_and_create_resource
    original_output = parsing.parse_output

    def failed(resources_map: Any, logical_id: str, resource_type: str, reason: str, emulation_gap: bool) -> None:
        _outcomes(resources_map)[logical_id] = {"type": resource_type, "status": "CREATE_FAILED", "reason": reason,
                                                "not_emulated": emulation_gap}

    def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
        outcomes = _outcomes(resources_map)
        if outcomes.get(logical_id, {}).get("status") == "CREATE_FAILED":
            # moto's map creates lazily and retries a resource it has no object for at every Ref: once is enough.
            return None
        resource_type = resource_json["Type"]
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return None
        if parsing.resource_class_from_type(resource_type) is None and resource_type not in parsing.NULL_MODELS:
            failed(resources_map, logical_id, resource_type, NOT_EMULATED.format(type=resource_type), True)
            return None
        # What this resource refers to is created first, so that a resource whose dependency could not be
        # created is not created with a hole where the reference was (moto drops a Ref it cannot resolve).
        depends_on = resource_json.get("DependsOn", [])
        named = references(resource_json.get("Properties", {}), resources_map.lazy_condition_map)
        named |= set([depends_on] if isinstance(depends_on, str) else depends_on)
        missing = []
        for name in sorted(n for n in named if n in resources_map._resource_json_map and n != logical_id):
            resources_map[name]
            if outcomes.get(name, {}).get("status") == "CREATE_FAILED":
                missing.append(name)
        if missing:
            failed(resources_map, logical_id, resource_type,
                   f"depends on {', '.join(missing)}, which could not be created", False)
            return None
        try:
            resource = original_create(logical_id, resource_json, resources_map, account_id, region_name)
        except Exception as error:  # noqa: BLE001 - any failure of one resource is that resource's outcome
            failed(resources_map, logical_id, resource_type, f"{type(error).__name__}: {error}", False)
            return None
        if resource is not None:
            outcomes[logical_id] = {"type": resource_type, "status": "CREATE_COMPLETE", "reason": None, "not_emulated": False}
        return resource

    def parse_output(output_logical_id, output_json, resources_map):
        outcomes = _outcomes(resources_map)
        named = references(output_json.get("Value"), resources_map.lazy_condition_map)
        missing = sorted(n for n in named if outcomes.get(n, {}).get("status") == "CREATE_FAILED")
        if missing:
            # moto would show "${TrustApi}" left in the value; CloudFormation would have no value at all.
            return None
        return original_output(output_logical_id, output_json, resources_map)

    parsing.parse_and_create_resource = parse_and_create_resource
    parsing.parse_output = parse_output

    from moto.cloudformation.exceptions import ValidationError

    def exports(self):
        # An export whose value names a resource that could not be created is not exported, as its
        # output has no value (moto would fail the whole stack on the reference).
        outcomes = _outcomes(self._resource_map)
        found = []
        for value in (self._output_json_map or {}).values():
            named = references(value.get("Value"), self._resource_map.lazy_condition_map)
            if not value.get("Export") or any(outcomes.get(n, {}).get("status") == "CREATE_FAILED" for n in named):
                continue
            try:
                found.append(parsing.Export(self._stack_id, parsing.clean_json(value["Export"].get("Name"), self._resource_map),
                                            parsing.clean_json(value.get("Value"), self._resource_map)))
            except ValidationError:
                # Read before the resources are created (CreateStack checks the names' uniqueness
                # first): a value whose resource does not exist yet is not exported yet.
                continue
        return found

    parsing.OutputMap.exports = property(exports)

    # Only resources that exist are the stack's resources (moto's map also yields None for the others).
    cfn_models.Stack.stack_resources = property(lambda self: [r for r in self.resource_map.values() if r is not None])

    original_create_resources = cfn_models.Stack.create_resources

    def create_resources(self):
        before = len(self.events)
        original_create_resources(self)
        outcomes = _outcomes(self.resource_map)
        # The resources' events go before the stack's own CREATE_COMPLETE, as on CloudFormation.
        stack_events = self.events[before:]
        del self.events[before:]
        for logical_id in self.resource_map.resources:
            outcome = outcomes.get(logical_id)
            if outcome is None:
                continue
            resource = self.resource_map._parsed_resources.get(logical_id)
            if outcome["type"].startswith("Custom::") and outcome["status"] == "CREATE_COMPLETE":
                continue  # a custom resource's outcome comes with its function's answer (custom_resources.py)
            self.events.append(cfn_models.Event(
                stack_id=self.stack_id, stack_name=self.name, logical_resource_id=logical_id,
                physical_resource_id=getattr(resource, "physical_resource_id", "") or "", resource_type=outcome["type"],
                resource_status=outcome["status"], resource_status_reason=outcome["reason"], resource_properties=None))
        errors = sorted(k for k, v in outcomes.items() if v["status"] == "CREATE_FAILED" and not v["not_emulated"])
        if errors:
            # As CreateStack with OnFailure=DO_NOTHING leaves it: failed, what was created kept.
            self.events.extend(e for e in stack_events if e.resource_status != "CREATE_COMPLETE")
            self.status = "CREATE_FAILED"
            reason = f"The following resource(s) failed to create: [{', '.join(errors)}]."
            self._add_stack_event("CREATE_FAILED", resource_status_reason=reason)
        else:
            self.events.extend(stack_events)

    cfn_models.Stack.create_resources = create_resources

    def list_stack_resources(self):
        stack, _ = self.cloudformation_backend.list_stack_resources(self._get_param("StackName"))
        outcomes = _outcomes(stack.resource_map)
        summaries = []
        for logical_id in stack.resource_map.resources:
            outcome = outcomes.get(logical_id)
            if outcome is None:
                continue  # a false Condition: CloudFormation does not list it either
            resource = stack.resource_map._parsed_resources.get(logical_id)
            summary = {"LogicalResourceId": logical_id, "ResourceType": outcome["type"], "ResourceStatus": outcome["status"],
                       "LastUpdatedTimestamp": stack.creation_time,
                       "PhysicalResourceId": getattr(resource, "physical_resource_id", "") if resource is not None else ""}
            if outcome["reason"]:
                summary["ResourceStatusReason"] = outcome["reason"]
            summaries.append(summary)
        return ActionResult({"StackResourceSummaries": summaries})

    cfn_responses.CloudFormationResponse.list_stack_resources = list_stack_resources


# --- intrinsic functions -------------------------------------------------------------------------

def _install_parameter_strings() -> None:
    """``Ref`` to a Number parameter is a string, as CloudFormation gives it.

    moto keeps a template default as YAML/JSON parsed it (an int) and turns a passed value into an
    int; a Lambda environment variable or a DefinitionSubstitutions value is then not a string."""
    from moto.cloudformation.parsing import ResourceMap

    original = ResourceMap.load_parameters

    def load_parameters(self):
        original(self)
        for name, slot in self._template.get("Parameters", {}).items():
            value = self.resolved_parameters.get(name)
            kind = slot.get("Type", "String")
            if kind == "Number" and not isinstance(value, str):
                given = self.input_parameters.get(name)
                value = given if isinstance(given, str) else _cfn_string(value)
            elif kind in ("CommaDelimitedList", "List<Number>") and isinstance(value, str):
                value = value.split(",")  # moto splits passed values, not defaults
            if kind == "List<Number>":
                value = [_cfn_string(v) for v in value]
            self.resolved_parameters[name] = value
        self._parsed_resources.update(self.resolved_parameters)

    ResourceMap.load_parameters = load_parameters

    from moto.cloudformation.models import Stack

    def parameter_list(self):
        # As DescribeStacks shows them: a list parameter comma-separated (not a Python list), NoEcho ones masked.
        hidden = set(getattr(self.resource_map, "no_echo_parameter_keys", []))
        return [{"ParameterKey": key, "ParameterValue": "****" if key in hidden else ",".join(value) if isinstance(value, list) else value}
                for key, value in self.resource_map.resolved_parameters.items()]

    Stack.parameter_list = property(parameter_list)


def _cfn_string(value: Any) -> str:
    """A value as CloudFormation turns it into a string (true/false for booleans; 7200, not 7200.0)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _install_refs() -> None:
    """``Ref`` gives the bus's name and the deployment's id (moto's models have no physical id), and
    ``Fn::GetAtt <LogGroup>.Arn`` ends with ``:*`` as CloudFormation's does (moto's has no suffix;
    Step Functions accepts a logging destination only with it)."""
    from moto.apigateway.models import Deployment
    from moto.events.models import EventBus
    from moto.logs.models import LogGroup

    EventBus.physical_resource_id = property(lambda self: self.name)
    Deployment.physical_resource_id = property(lambda self: self.id)

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self, attribute_name):
        value = original(self, attribute_name)
        return value if attribute_name != "Arn" or value.endswith(":*") else value + ":*"

    LogGroup.get_cfn_attribute = get_cfn_attribute


# --- AWS::StepFunctions::StateMachine ------------------------------------------------------------

def _camel(node: Any) -> Any:
    """CloudFormation's PascalCase property names as Step Functions' API spells them (LogGroupArn -> logGroupArn)."""
    if isinstance(node, dict):
        return {key[:1].lower() + key[1:]: _camel(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_camel(item) for item in node]
    return node


def definition_of(properties: dict[str, Any], account_id: str, region_name: str) -> str:
    """The state machine definition of a template's properties, with DefinitionSubstitutions applied.

    As documented for AWS::StepFunctions::StateMachine, the definition is one of Definition (an object),
    DefinitionString or DefinitionS3Location (a JSON or YAML object in S3), and every ``${Key}`` of
    DefinitionSubstitutions in it is replaced by the key's resolved value
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-statemachine.html).
    A ``${...}`` with no key is left as it is: CreateStateMachine then judges the result."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    if "Definition" in properties:
        text = json.dumps(properties["Definition"])
    elif "DefinitionS3Location" in properties:
        location = properties["DefinitionS3Location"]
        s3 = s3_backends[account_id][get_partition(region_name)]
        text = s3.get_object(location["Bucket"], location["Key"]).value.decode("utf-8")
        if location["Key"].endswith((".yaml", ".yml")):
            import yaml

            text = json.dumps(yaml.safe_load(text))
    else:
        text = properties.get("DefinitionString", "")
    for key, value in (properties.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + key + "}", _cfn_string(value))
    return text


def simple_model(service: str, resource_type: str, name_type: str,
                 create: Callable[[str, dict[str, Any], str, str], str]) -> type:
    """Registers a CloudFormation model for a resource type moto has none for: ``create(logical id,
    properties, account, Region)`` makes the resource and returns its physical id (what Ref gives);
    the resource has no attributes (Fn::GetAtt on it fails, as moto says)."""
    from moto.core.common_models import CloudFormationModel

    class Model(CloudFormationModel):
        __module__ = f"moto.{service}.trustflow"  # moto's model registry files a model under this name's second part

        def __init__(self, physical_id: str) -> None:
            self.physical_id = physical_id

        @property
        def physical_resource_id(self) -> str:
            return self.physical_id

        @staticmethod
        def cloudformation_name_type() -> str:
            return name_type

        @staticmethod
        def cloudformation_type() -> str:
            return resource_type

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return False

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            return cls(create(resource_name, cloudformation_json["Properties"], account_id, region_name))

    Model.__name__ = Model.__qualname__ = resource_type.replace("::", "")
    # moto finds models through CloudFormationModel.__subclasses__(), which holds them weakly.
    _MODELS.append(Model)
    return Model


def _install_state_machine() -> None:
    from moto.core.exceptions import AWSError
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    class InvalidDefinition(AWSError):
        TYPE = "InvalidDefinition"
        STATUS = 400

    class InvalidLoggingConfiguration(AWSError):
        TYPE = "InvalidLoggingConfiguration"
        STATUS = 400

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        definition = definition_of(properties, account_id, region_name)
        try:
            json.loads(definition)
        except ValueError as error:
            # Step Functions' answer to a definition that is not JSON (moto does not check).
            raise InvalidDefinition(f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {error}'") from error
        logging = _camel(properties["LoggingConfiguration"]) if "LoggingConfiguration" in properties else None
        for destination in (logging or {}).get("destinations", []):
            # https://docs.aws.amazon.com/step-functions/latest/apireference/API_CloudWatchLogsLogGroup.html
            arn = destination.get("cloudWatchLogsLogGroup", {}).get("logGroupArn", "")
            if not arn.endswith(":*"):
                raise InvalidLoggingConfiguration(f"Invalid Logging Configuration: the log group ARN {arn!r} must end with ':*'")
        # The backend the API serves: with execute_state_machine on, moto's API uses its ASL interpreter's
        # backend (which also parses the definition, as CreateStateMachine does), its CloudFormation another.
        backend = get_backend(account_id, region_name)
        return backend.create_state_machine(
            properties.get("StateMachineName", resource_name), definition, properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
            loggingConfiguration=logging,
            tracingConfiguration=_camel(properties["TracingConfiguration"]) if "TracingConfiguration" in properties else None,
            sm_type=properties.get("StateMachineType", "STANDARD"))

    StateMachine.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


# --- AWS::Lambda::Function, Version, Alias -------------------------------------------------------

def _install_lambda_function() -> None:
    """The function keeps the template's architecture, tracing mode, logging and dead-letter configuration;
    ``Ref`` to a Version gives the version's ARN and ``Fn::GetAtt <Version>.Version`` its number, as
    CloudFormation documents (moto gives the Python object, whose text is its logical id); and
    ``AWS::Lambda::Alias``, which moto has no model for, is created with moto's CreateAlias."""
    from moto.awslambda.models import LambdaFunction, LambdaVersion, get_backend

    original = LambdaFunction.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        function = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        properties = cloudformation_json["Properties"]
        if "Architectures" in properties:
            function.architectures = list(properties["Architectures"])
        if "TracingConfig" in properties:
            function.tracing_config = dict(properties["TracingConfig"])
        # moto has neither: GetFunctionConfiguration shows them as Lambda does (LoggingConfig with Lambda's defaults).
        function._tf_configuration = {}
        if "LoggingConfig" in properties:
            function._tf_configuration["LoggingConfig"] = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{function.function_name}",
                                                           **properties["LoggingConfig"]}
        if "DeadLetterConfig" in properties:
            function._tf_configuration["DeadLetterConfig"] = dict(properties["DeadLetterConfig"])
        return function

    LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)

    original_configuration = LambdaFunction.get_configuration

    def get_configuration(self, on_create=False):
        configuration = original_configuration(self, on_create)
        configuration.update(copy.deepcopy(getattr(self, "_tf_configuration", {})))
        return configuration

    LambdaFunction.get_configuration = get_configuration

    def create_version(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        published = get_backend(account_id, region_name).publish_version(properties["FunctionName"], properties.get("Description", ""))
        if published is None:
            raise ValueError(f"Function {properties['FunctionName']} has no code to publish")
        version = LambdaVersion({"Version": published.version})
        version.arn = published.function_arn  # qualified: ...:function:NAME:VERSION
        return version

    def version_attribute(self, attribute_name):
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        if attribute_name == "Version":
            return str(self.version)
        raise UnformattedGetAttTemplateException()

    LambdaVersion.create_from_cloudformation_json = classmethod(create_version)
    LambdaVersion.physical_resource_id = property(lambda self: self.arn)
    LambdaVersion.get_cfn_attribute = version_attribute
    LambdaVersion.has_cfn_attr = classmethod(lambda cls, attr: attr == "Version")

    def create_alias(logical_id, properties, account_id, region_name) -> str:
        alias = get_backend(account_id, region_name).create_alias(
            properties["Name"], properties["FunctionName"], str(properties["FunctionVersion"]),
            properties.get("Description", ""), properties.get("RoutingConfig"))
        return alias.arn

    # Ref gives the alias ARN.
    simple_model("awslambda", "AWS::Lambda::Alias", "Name", create_alias)


# --- AWS::SQS::QueuePolicy -----------------------------------------------------------------------

def _install_queue_policy() -> None:
    """AWS::SQS::QueuePolicy sets the ``Policy`` attribute of each queue (moto has no model for it)."""
    from moto.sqs.models import sqs_backends

    def set_policy(logical_id, properties, account_id, region_name) -> str:
        backend = sqs_backends[account_id][region_name]
        document = properties["PolicyDocument"]
        for queue_url in properties["Queues"]:
            backend.set_queue_attributes(queue_url.rstrip("/").split("/")[-1],
                                         {"Policy": document if isinstance(document, str) else json.dumps(document)})
        return logical_id

    simple_model("sqs", "AWS::SQS::QueuePolicy", "", set_policy)


# --- AWS::IAM::Role ManagedPolicyArns --------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _aws_managed_policy_data() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return json.loads(aws_managed_policies_data)


def _install_role_managed_policies() -> None:
    """The role gets its ManagedPolicyArns attached (moto ignores the property).

    moto loads AWS's managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES=true (all ~1,500 of
    them, for every account); here just the ones a template names are loaded from moto's copy, and
    a name AWS does not have fails the role as AttachRolePolicy would."""
    from moto.iam.models import AWSManagedPolicy, Role, iam_backends
    from moto.utilities.utils import get_partition

    original = Role.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        role = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = iam_backends[account_id][get_partition(region_name)]
        for arn in cloudformation_json["Properties"].get("ManagedPolicyArns", []):
            name = arn.split(":policy/")[-1].split("/")[-1]
            if ":iam::aws:policy/" in arn and arn not in backend.managed_policies and name in _aws_managed_policy_data():
                policy = AWSManagedPolicy.from_data(name, account_id, region_name, _aws_managed_policy_data()[name])
                if policy.arn == arn:  # the path matters: service-role/AWSLambdaBasicExecutionRole
                    backend.managed_policies[arn] = policy
            backend.attach_role_policy(arn, role.name)
        return role

    Role.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)

    original_delete = Role.delete_from_cloudformation_json.__func__

    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
        # CloudFormation detaches what it attached; moto's DeleteRole refuses a role with managed policies.
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in [r for r in backend.roles.values() if r.name == resource_name]:
            for arn in list(role.managed_policies):
                backend.detach_role_policy(arn, role.name)
        original_delete(cls, resource_name, cloudformation_json, account_id, region_name)

    Role.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)


# --- AWS::ApiGateway::RestApi with Body, and AWS::ApiGateway::Stage -----------------------------

def _install_rest_api() -> None:
    from moto.apigateway.models import RestAPI, apigateway_backends

    original = RestAPI.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        body = properties.get("Body")
        if body is None:
            return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        # Without Name, CloudFormation names the API after the body's info.title.
        backend = apigateway_backends[account_id][region_name]
        api = backend.create_rest_api(name=properties.get("Name") or body.get("info", {}).get("title", resource_name),
                                      description=properties.get("Description", body.get("info", {}).get("description", "")),
                                      endpoint_configuration=properties.get("EndpointConfiguration"))
        backend.put_rest_api(api.id, body, fail_on_warnings=bool(properties.get("FailOnWarnings", False)), mode="overwrite")
        return api

    RestAPI.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)

    def create_stage(logical_id, properties, account_id, region_name) -> str:
        backend = apigateway_backends[account_id][region_name]
        api = backend.get_rest_api(properties["RestApiId"])
        if properties["DeploymentId"] not in api.deployments:
            raise ValueError(f"Invalid deployment identifier specified: {properties['DeploymentId']}")
        stage = backend.create_stage(properties["RestApiId"], properties["StageName"], properties["DeploymentId"],
                                     variables=properties.get("Variables"), description=properties.get("Description", ""),
                                     tracing_enabled=properties.get("TracingEnabled"))
        return stage.name

    # A stage of an existing deployment; Ref gives the stage name.
    simple_model("apigateway", "AWS::ApiGateway::Stage", "StageName", create_stage)

