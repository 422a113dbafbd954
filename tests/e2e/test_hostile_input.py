"""Hostile and malformed input through the whole workflow: clear rejections, nothing created."""

import itertools
import json

import pytest

from test_workflow import CANARY, assert_no_password_anywhere, detail_types, event, request, sns_bodies

_n = itertools.count(1)


def created_for(stack, directory_id, domain):
    return [t for t in stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] if t["RemoteDomainName"] == domain]


def test_a_binary_secret_is_refused_before_create_trust(stack, directory_id):
    name = f"trustflow/binary-{next(_n)}"
    stack.client("secretsmanager").create_secret(Name=name, SecretBinary=CANARY.encode())
    domain = f"binary-{next(_n)}.hostile.example"
    run = stack.run(event(request(directory_id, domain, name)))
    assert run.status == "FAILED"
    assert detail_types(run) == ["Trust Request Rejected"]
    assert "holds binary data" in sns_bodies(run)[0]
    assert created_for(stack, directory_id, domain) == []
    assert_no_password_anywhere(stack, run)


@pytest.mark.parametrize("password", ["tab\tinside", "line\nbreak", "x" * 129, ""])
def test_a_password_that_breaks_create_trusts_pattern_is_refused(stack, directory_id, password):
    name = f"trustflow/badpw-{next(_n)}"
    stack.put_secret(name, json.dumps({"password": password}))
    domain = f"badpw-{next(_n)}.hostile.example"
    run = stack.run(event(request(directory_id, domain, name, trustPassword={"secretId": name, "jsonKey": "password"})))
    assert run.status == "FAILED"
    assert detail_types(run) == ["Trust Request Rejected"]
    body = sns_bodies(run)[0]
    assert "does not hold a usable trust password" in body
    if len(password) > 3:
        assert password not in body
    assert created_for(stack, directory_id, domain) == []


def test_deeply_nested_json_is_answered_not_crashed(stack, directory_id, secret):
    nested = {}
    for _ in range(200):
        nested = {"a": nested}
    body = request(directory_id, "nested.hostile.example", secret, requestedBy=None)
    body["extra"] = nested
    run = stack.run(event(body))
    assert run.status == "FAILED"
    assert len(run.events) == 1, "the requester hears back even when the input cannot be parsed"
    assert created_for(stack, directory_id, "nested.hostile.example") == []


def test_an_oversized_request_is_rejected_by_size(stack, directory_id, secret):
    body = request(directory_id, "big.hostile.example", secret, requestedBy="x" * 200)
    body["remoteDomainName"] = "big.hostile.example"
    body["requestedBy"] = "y" * 250
    body["conditionalForwarderIpAddrs"] = ["172.16.10.153"]
    body["notify"] = {"topicArn": stack.request_topic_arn}
    body["padding"] = "z" * 20000
    run = stack.run(event(body))
    assert run.status == "FAILED"
    assert detail_types(run) == ["Trust Request Rejected"]
    assert "must be at most 8192 bytes" in sns_bodies(run)[0]


@pytest.mark.parametrize("domain", ["c\u043erp.example.com", "corp.example.com\u0000", "corp\u200b.example.com", "CORP\r\n.example.com"])
def test_look_alikes_and_control_characters_in_the_domain_are_rejected_escaped(stack, directory_id, secret, domain):
    run = stack.run(event(request(directory_id, domain, secret)))
    assert run.status == "FAILED"
    body = sns_bodies(run)[0]
    assert "remoteDomainName: may contain only ASCII letters" in body
    assert "\\u{" in body or "\\r" in body or "\\0" in body or "\\u" in body, body
