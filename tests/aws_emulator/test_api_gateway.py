"""The API executor's own parts: VTL with Java String methods, $input/$util, intrinsic functions,
selection patterns, SigV4 verification and the request model's messages. No server needed."""

import json
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
          "TrustWorkflow.Name": "trustflow-trust-workflow", "TrustApiRole.Arn": "arn:aws:iam::123456789012:role/api",
          "RequestStatusFunction.Arn": "arn:aws:lambda:us-east-1:123456789012:function:request-status"}
ARN = "arn:aws:states:us-east-1:123456789012:execution:trustflow-trust-workflow:trust-REQ-7"


def context():
    return gw.RestApi("a", "v1", {}, True, "us-east-1", "123456789012", "http://x")._context(
        gw.Request("POST", "/trust-requests", "/trust-requests", "", {}, b""))


@pytest.fixture(scope="module")
def api():
    info = gw.load(str(ROOT / "template.yaml"), "TrustApi", VALUES, backend="http://127.0.0.1:9", host="127.0.0.1:9")
    return gw.APIS[info["apiId"]]


# --- VTL ---

def test_java_string_methods_have_java_semantics():
    out = gw.render("#set($s = 'ab:c:d')$s.indexOf(':') $s.indexOf('#') $s.lastIndexOf(':') $s.substring(2) "
                    "$s.substring(0, 3) $s.length() $s.contains('b:c') $s.matches('a.*') $s.matches('b') "
                    "$s.toUpperCase() $s.trim().isEmpty()", context())
    # Booleans print as Python's (True), not Java's (true): one of the documented differences.
    assert out == "2 -1 4 :c:d ab: 6 True True False AB:C:D False"


def test_string_literals_keep_backslashes_as_velocity_does():
    # AWS's documented undo of escapeJavaScript's \' only works if "\\'" reaches the regex as written.
    template = r"""$util.escapeJavaScript($input.json('$')).replaceAll("\\'","'")|#set($p = "5\d{2}")$p"""
    out = gw.render(template, context(), json.dumps({"who": "O'Brien"}))
    assert out == r"""{\"who\":\"O'Brien\"}|5\d{2}"""


def test_substring_out_of_range_fails_the_template_as_java_would():
    with pytest.raises(Exception):
        gw.render("#set($s = 'abc')$s.substring(2, 9)", context())


def test_a_dotted_set_reaches_the_response_override():
    ctx = context()
    assert gw.render("#set($context.responseOverride.status = 400)done", ctx) == "done"
    assert ctx["responseOverride"]["status"] == 400


def test_input_path_json_params_and_body():
    payload = json.dumps({"a": {"b": [1, 2]}, "s": "x"})
    params = {"path": {"id": "R-1"}, "querystring": {"q": "v"}, "header": {"X-Thing": "h"}}
    out = gw.render("$input.path('$.s')|$input.json('$.a')|$input.path('$.a.b').size()|$input.params('id')|"
                    "$input.params('q')|$input.params('x-thing')|[$input.params('none')]|$input.json('$.missing')|"
                    "$!input.path('$.missing')|$input.body", context(), payload, params)
    assert out == f'x|{{"b":[1,2]}}|2|R-1|v|h|[]|null||{payload}'


def test_util_functions():
    out = gw.render("$util.urlEncode('a b&c')|$util.urlDecode('a+b%26c')|$util.base64Encode('hi')|"
                    "$util.base64Decode('aGk=')|$util.parseJson('{\"k\": {\"v\": 3}}').k.v", context())
    assert out == "a+b%26c|a b&c|aGk=|hi|3"


def test_escape_javascript_is_commons_lang():
    assert gw.escape_javascript('say "hi"\n') == 'say \\"hi\\"\\n'
    assert gw.escape_javascript("a/b\\c") == "a\\/b\\\\c"
    assert gw.escape_javascript("é") == "\\u00E9"
    # As AWS documents: ' becomes \' (which JSON does not accept).
    assert gw.escape_javascript("O'Brien") == "O\\'Brien"
    assert gw.escape_javascript(None) is None


# --- the template ---

def test_intrinsic_functions_resolve_and_an_unknown_name_is_an_error():
    assert gw.resolve({"Fn::Sub": "arn:${AWS::Partition}:x:${TrustWorkflow.Name}:${!Literal}"}, VALUES) == \
        "arn:aws:x:trustflow-trust-workflow:${Literal}"
    assert gw.resolve({"Fn::Sub": ["${A}-${AWS::Region}", {"A": "local"}]}, VALUES) == "local-us-east-1"
    assert gw.resolve({"Fn::GetAtt": ["TrustApiRole", "Arn"]}, VALUES) == VALUES["TrustApiRole.Arn"]
    assert gw.resolve({"Ref": "TrustWorkflow"}, VALUES) == VALUES["TrustWorkflow"]
    with pytest.raises(KeyError, match="NoSuchThing"):
        gw.resolve({"k": [{"Fn::Sub": "${NoSuchThing.Arn}"}]}, VALUES)


def test_the_template_api_loads_with_its_definition_resolved(api):
    post = api.definition["paths"]["/trust-requests"]["post"]["x-amazon-apigateway-integration"]
    assert post["uri"] == "arn:aws:apigateway:us-east-1:states:action/StartExecution"
    assert VALUES["TrustWorkflow"] in post["requestTemplates"]["application/json"]
    assert api.stage == "v1" and api.iam_by_default


def test_selection_patterns_fully_match_the_status_code():
    responses = {"200": {"statusCode": "202"}, "4\\d{2}": {"statusCode": "400"}, "default": {"statusCode": "500"}}
    assert gw.integration_response(responses, 200)["statusCode"] == "202"
    assert gw.integration_response(responses, 404)["statusCode"] == "400"
    assert gw.integration_response(responses, 2000)["statusCode"] == "500"  # "200" does not fully match "2000"
    with pytest.raises(LookupError):
        gw.integration_response({"200": {}}, 500)


def test_the_post_response_templates_of_the_template(api):
    responses = api.definition["paths"]["/trust-requests"]["post"]["x-amazon-apigateway-integration"]["responses"]
    started = gw.render(responses["200"]["responseTemplates"]["application/json"], context(),
                        json.dumps({"executionArn": ARN, "startDate": 1.7e9}))
    assert json.loads(started)["requestId"] == "REQ-7" and json.loads(started)["executionArn"] == ARN
    # moto's (and AWS's) message for a name already used.
    ctx = context()
    again = gw.render(responses["400"]["responseTemplates"]["application/json"], ctx,
                      json.dumps({"__type": "ExecutionAlreadyExists", "message": f"Execution Already Exists: '{ARN}'"}))
    assert json.loads(again)["executionArn"] == ARN and json.loads(again)["requestId"] == "REQ-7"
    assert ctx["responseOverride"]["status"] is None
    ctx = context()
    other = gw.render(responses["400"]["responseTemplates"]["application/json"], ctx,
                      json.dumps({"__type": "InvalidExecutionInput", "message": "Invalid State Machine Execution Input"}))
    assert json.loads(other) == {"message": "Invalid State Machine Execution Input"}
    assert ctx["responseOverride"]["status"] == 400


def test_model_messages_name_the_field_the_rule_and_the_value_but_not_values_of_a_wrong_type(api):
    schema = api._deref(api.definition["paths"]["/trust-requests"]["post"]["requestBody"]["content"]["application/json"]["schema"])
    bad = {"requestId": "REQ-1", "directoryId": "d-1234567890", "remoteDomainName": "corp", "trustDirection": "sideways",
           "trustPassword": "Canary-Trust-Pw-9f31!", "bogus": 1}
    errors = gw.validation_errors(schema, json.dumps(bad).encode())
    assert len(errors) == 4
    assert any(e.startswith("remoteDomainName: ECMA 262 regex") and '"corp"' in e for e in errors)
    assert any(e.startswith("trustDirection: instance value (\"sideways\") not found in enum") for e in errors)
    assert any("not allowed by the schema: [\"bogus\"]" in e for e in errors)
    assert any(e.startswith("trustPassword: instance type (string)") for e in errors)
    assert "Canary" not in " ".join(errors)
    missing = gw.validation_errors(schema, b"{}")
    assert missing == ['(body): object has missing required properties (["requestId", "directoryId", "remoteDomainName", '
                       '"trustDirection", "trustPassword"])']
    assert gw.validation_errors(schema, b'{"requestId": ')[0].startswith("(body): the body is not valid JSON")


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
