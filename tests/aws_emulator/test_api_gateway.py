"""The API executor's own parts: intrinsic functions, the template's API loaded, SigV4 verification
and routing. No server needed."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import api_gateway as gw

ROOT = Path(__file__).resolve().parents[2]
VALUES = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012",
          "TrustWorkflow": "arn:aws:states:us-east-1:123456789012:stateMachine:trustflow-trust-workflow",
          "TrustWorkflow.Name": "trustflow-trust-workflow",
          "SubmitRequestFunction.Arn": "arn:aws:lambda:us-east-1:123456789012:function:submit-request",
          "RequestStatusFunction.Arn": "arn:aws:lambda:us-east-1:123456789012:function:request-status",
          "RemoteSideReadyFunction.Arn": "arn:aws:lambda:us-east-1:123456789012:function:remote-side-ready"}

@pytest.fixture(scope="module")
def api():
    info = gw.load(str(ROOT / "template.yaml"), "TrustApi", VALUES, backend="http://127.0.0.1:9", host="127.0.0.1:9")
    return gw.APIS[info["apiId"]]


def test_intrinsic_functions_resolve_and_an_unknown_name_is_an_error():
    assert gw.resolve({"Fn::Sub": "arn:${AWS::Partition}:x:${TrustWorkflow.Name}:${!Literal}"}, VALUES) == \
        "arn:aws:x:trustflow-trust-workflow:${Literal}"
    assert gw.resolve({"Fn::Sub": ["${A}-${AWS::Region}", {"A": "local"}]}, VALUES) == "local-us-east-1"
    assert gw.resolve({"Fn::GetAtt": ["SubmitRequestFunction", "Arn"]}, VALUES) == VALUES["SubmitRequestFunction.Arn"]
    assert gw.resolve({"Ref": "TrustWorkflow"}, VALUES) == VALUES["TrustWorkflow"]
    with pytest.raises(KeyError, match="NoSuchThing"):
        gw.resolve({"k": [{"Fn::Sub": "${NoSuchThing.Arn}"}]}, VALUES)


def test_the_template_api_loads_with_its_definition_resolved(api):
    paths = api.definition["paths"]
    post = paths["/trust-requests"]["post"]["x-amazon-apigateway-integration"]
    get = paths["/trust-requests/{id}"]["get"]["x-amazon-apigateway-integration"]
    assert (post["type"], get["type"]) == ("aws_proxy", "aws_proxy")
    assert post["uri"] == f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{VALUES['SubmitRequestFunction.Arn']}/invocations"
    assert get["uri"].endswith(f"functions/{VALUES['RequestStatusFunction.Arn']}/invocations")
    ready = paths["/trust-requests/{id}/remote-side-ready"]["post"]["x-amazon-apigateway-integration"]
    assert ready["uri"].endswith(f"functions/{VALUES['RemoteSideReadyFunction.Arn']}/invocations")
    assert api.stage == "v1" and api.iam_by_default


# --- SigV4 ---

def signed(method="POST", url="http://127.0.0.1:4566/restapis/abc/v1/_user_request_/trust-requests?b=2&a=1",
           body=b'{"k": 1}', secret="test", service="execute-api"):
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("test", secret), service, "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "127.0.0.1:4566"
    return method, url.split("4566", 1)[1], headers, body


def test_a_botocore_signed_request_is_accepted():
    method, uri, headers, body = signed()
    assert gw.verify_sigv4(method, uri, headers, body, "us-east-1")["accessKey"] == "test"


@pytest.mark.parametrize("change,message", [
    (lambda m, u, h, b: (m, u, h, b + b" "), "does not match"),  # body changed after signing
    (lambda m, u, h, b: (m, u.replace("trust-requests", "trust-requests/x"), h, b), "does not match"),  # path
    (lambda m, u, h, b: (m, u.replace("a=1", "a=2"), h, b), "does not match"),  # query
    (lambda m, u, h, b: ("PUT", u, h, b), "does not match"),
    (lambda m, u, h, b: (m, u, {**h, "content-type": "text/plain"}, b), "does not match"),  # a signed header
    (lambda m, u, h, b: (m, u, {k: v for k, v in h.items() if k != "authorization"}, b), "Missing Authentication Token"),
    (lambda m, u, h, b: (m, u, {**h, "authorization": h["authorization"].replace("Credential=test/", "Credential=nobody/")}, b),
     "security token included in the request is invalid"),
    (lambda m, u, h, b: (m, u, {**h, "authorization": "Bearer x"}, b), "requires 'Credential' parameter"),
])
def test_a_request_that_is_not_what_was_signed_is_refused(change, message):
    method, uri, headers, body = change(*signed())
    with pytest.raises(gw.Denied, match=message):
        gw.verify_sigv4(method, uri, headers, body, "us-east-1")


def test_a_wrong_secret_another_service_or_an_old_signature_is_refused():
    with pytest.raises(gw.Denied, match="does not match"):
        gw.verify_sigv4(*signed(secret="wrong"), "us-east-1")
    with pytest.raises(gw.Denied, match="correct service"):
        gw.verify_sigv4(*signed(service="states"), "us-east-1")
    with pytest.raises(gw.Denied, match="Signature expired"):
        gw.verify_sigv4(*signed(), "us-east-1", now=datetime.now(timezone.utc) + timedelta(minutes=6))


def test_routes_match_path_templates_and_literal_paths_win():
    api = gw.RestApi("a", "v1", {"paths": {"/r/{id}": {"get": {"n": 1}}, "/r/mine": {"get": {"n": 2}},
                                           "/files/{key+}": {"x-amazon-apigateway-any-method": {"n": 3}}}},
                     True, "us-east-1", "123456789012", "http://x")
    assert api.route("GET", "/r/A%20B") == ("/r/{id}", {"n": 1}, {"id": "A B"})
    assert api.route("GET", "/r/mine")[1] == {"n": 2}
    assert api.route("DELETE", "/files/a/b/c") == ("/files/{key+}", {"n": 3}, {"key": "a/b/c"})
    assert api.route("POST", "/r/x") is None and api.route("GET", "/r/x/y") is None and api.route("GET", "/") is None
