"""Each function calls AWS under its own execution role, held to that role's policies.

The local stack gives each function a session of the role the stack created for it (through the
SDK's credential_process, as Lambda gives it the role's credentials), and the emulator refuses a
call the role's policies do not allow (actions only: ``tests/aws_emulator/iam_enforcement.py``).
The conftest fails any test during which a function was refused, so a missing action fails the
suite at run time; these tests show the roles in use and the refusal itself."""

import ast
import json

from test_workflow import request

# The AWS calls each function makes on a request's way from the API to the notification.
EXPECTED_CALLERS = {
    ("states", "StartExecution"): "SubmitRequestFunction",
    ("ds", "DescribeDirectories"): "ValidateRequestFunction",
    ("secretsmanager", "DescribeSecret"): "ValidateRequestFunction",
    ("ds", "CreateTrust"): "CreateTrustFunction",
    ("secretsmanager", "GetSecretValue"): "CreateTrustFunction",
    ("sns", "Publish"): "NotifyRequesterFunction",
    ("states", "DescribeExecution"): "RequestStatusFunction",
}


def role_of(stack, logical_id):
    """The name of the execution role the stack gave a function."""
    (function,) = [f for f in stack.stack.functions.values() if f.logical_id == logical_id]
    return stack.client("lambda").get_function(FunctionName=function.name)["Configuration"]["Role"].split("/")[-1]


def calls(stack):
    return stack.control("calls", method="GET")["calls"]


def test_each_function_calls_aws_with_a_session_of_its_own_role(stack, directory_id, secret):
    stack.control("calls", method="DELETE")
    body = request(directory_id, "roles.example.com", secret)
    status, text = stack.api_call("POST", "/trust-requests", body)
    assert status == 202, text
    run = stack.follow(stack.wait_for_execution(f"trust-{body['requestId']}"))
    assert run.status == "SUCCEEDED"
    status, text = stack.api_call("GET", f"/trust-requests/{body['requestId']}")
    assert status == 200 and json.loads(text)["status"] == "verified", text

    made = calls(stack)
    for (service, operation), logical_id in EXPECTED_CALLERS.items():
        # Calls on plain keys (role None) are the test's own (it follows the execution, for one).
        callers = {c["role"] for c in made if (c["service"], c["operation"]) == (service, operation) and c["role"]}
        assert callers == {role_of(stack, logical_id)}, f"{service}:{operation} was called by {callers}"
    # What only functions call went out under a role, never on plain keys.
    for service, operation in (("ds", "CreateTrust"), ("secretsmanager", "GetSecretValue"), ("sns", "Publish"), ("states", "StartExecution")):
        assert None not in {c["role"] for c in made if (c["service"], c["operation"]) == (service, operation)}, operation
    assert {c["role"] for c in made if c["operation"] == "DescribeTrusts"} >= {role_of(stack, "CheckTrustFunction")}
    assert {c["role"] for c in made if c["operation"] == "PutEvents"} == {role_of(stack, "NotifyRequesterFunction")}
    assert stack.control("denials", method="GET")["denials"] == []


def test_a_call_the_functions_role_does_not_allow_is_refused_and_the_requester_told(stack, directory_id, secret):
    iam = stack.client("iam")
    role = role_of(stack, "CreateTrustFunction")
    # The role's own policy (SAM's), not the one that lets it assume a pair's role in another account.
    (policy_name,) = [name for name in iam.list_role_policies(RoleName=role)["PolicyNames"] if name != "assume-remote-directory-roles"]
    original = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    # moto answers a role policy CloudFormation created with its Python repr, not JSON.
    original = ast.literal_eval(original) if isinstance(original, str) else original
    narrowed = json.loads(json.dumps(original))
    for statement in narrowed["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != "ds:CreateTrust"] or ["ds:DescribeTrusts"]
    iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(narrowed))
    try:
        body = request(directory_id, "no-grant.example.com", secret)
        run = stack.run(body)
        denials = stack.control("denials", method="GET")["denials"]
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=policy_name, PolicyDocument=json.dumps(original))
        stack.control("denials", method="DELETE")

    assert [(d["role"], d["action"], d["decision"]) for d in denials] == [(role, "ds:CreateTrust", "not allowed")]
    assert run.status == "FAILED"
    assert run.states_entered()[-4:] == ["CreateTrust", "NotifyOutcome", "Finish", "TrustNotEstablished"]
    (result,) = run.events
    assert result["detail"]["outcome"] == "failed" and result["detail"]["trustId"] is None
    assert "not authorized to perform: ds:CreateTrust" in result["detail"]["error"]["message"], result["detail"]
    assert "not authorized to perform: ds:CreateTrust" in run.messages[0]["Message"]
    no_trust = stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"]
    assert "no-grant.example.com" not in [t["RemoteDomainName"] for t in no_trust]
