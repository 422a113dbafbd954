"""The network pre-flight through the real state machine: each situation built in the emulated EC2
(the directory's security group, its subnets' network ACLs and route tables), each finding asserted,
and nothing created when the pre-flight enforces."""

import itertools
import json

import pytest

from test_workflow import event, request

_domains = itertools.count(1)
REMOTE = "10.50.0.0/16"


@pytest.fixture
def directory(stack):
    """A fresh directory (its own VPC 10.0.0.0/16), network open: returns (id, ec2 client, vpc settings)."""
    directory_id = stack.seed_directory(f"net{next(_domains)}.aws.example.com")
    (described,) = stack.client("ds").describe_directories(DirectoryIds=[directory_id])["DirectoryDescriptions"]
    return directory_id, stack.client("ec2"), described["VpcSettings"]


def run(stack, directory_id, secret, **overrides):
    domain = f"onprem{next(_domains)}.example.com"
    body = request(directory_id, domain, secret, **{"conditionalForwarderIpAddrs": ["10.50.0.53"], "remoteDomainCidrs": [REMOTE], **overrides})
    stack.control("calls", method="DELETE")
    return stack.run(event(body))


def operations(stack):
    return [c["operation"] for c in stack.control("calls", method="GET")["calls"]]


def rejected_errors(result):
    """The violations of a rejection, from its result event: one line per broken rule,
    `- field: rule (got value)`, as {field, rule, value}."""
    (sent,) = result.events
    assert sent["detail-type"] == "Trust Request Rejected", sent
    assert sent["detail"]["error"]["name"] == "ValidationFailed"
    message = sent["detail"]["error"]["message"]
    lines = [line[2:] for line in message.splitlines() if line.startswith("- ")] or [message.partition(": ")[2]]
    errors = []
    for line in lines:
        field, _, rest = line.partition(": ")
        rule, _, value = rest.rpartition(" (got ")
        errors.append({"field": field, "rule": rule, "value": value.rstrip(")")})
    return errors


def main_route_table(ec2, vpc):
    (table,) = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                                  {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    return table["RouteTableId"]


def default_acl(ec2, vpc):
    (acl,) = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                                               {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    return acl["NetworkAclId"]


def test_everything_open_passes_and_the_trust_is_created(stack, directory, secret):
    directory_id, _, _ = directory
    result = run(stack, directory_id, secret)
    assert result.status == "SUCCEEDED", result.output
    assert "preflightFindings" not in result.output["plan"]
    assert {"DescribeSecurityGroups", "DescribeNetworkAcls", "DescribeRouteTables", "DescribeVpcs"} <= set(operations(stack))


def test_egress_only_to_the_vpc_rejects_naming_the_group_and_each_outbound_port_and_creates_nothing(stack, directory, secret):
    directory_id, ec2, vpc = directory
    group = vpc["SecurityGroupId"]
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    result = run(stack, directory_id, secret)
    assert result.status == "FAILED"
    errors = rejected_errors(result)
    assert errors and all(e["field"] == "network.securityGroup" and group in e["value"] for e in errors), errors
    assert all(e["rule"].startswith(f"No outbound rule of {group} allows") for e in errors), errors
    assert any(f"TCP 88 to all of {REMOTE}" in e["rule"] for e in errors), errors
    assert any(f"aws ec2 authorize-security-group-egress --region us-east-1 --group-id {group}" in e["rule"] for e in errors)
    assert "CreateTrust" not in operations(stack) and "GetSecretValue" not in operations(stack)


def test_an_acl_deny_on_445_before_the_allow_fails_445_only(stack, directory, secret):
    directory_id, ec2, vpc = directory
    acl = default_acl(ec2, vpc)
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=90, Protocol="6", RuleAction="deny", Egress=False,
                                 CidrBlock=REMOTE, PortRange={"From": 445, "To": 445})
    errors = rejected_errors(run(stack, directory_id, secret))
    assert {e["field"] for e in errors} == {"network.networkAcl"}, errors
    assert all(f"{acl} rule 90" in e["value"] for e in errors), errors
    assert all("445" in e["rule"] for e in errors) and not any("TCP 88" in e["rule"] for e in errors), errors
    assert "CreateTrust" not in operations(stack)


def test_an_acl_allowing_88_out_without_the_ephemeral_return_fails_the_return(stack, directory, secret):
    directory_id, ec2, vpc = directory
    # A network ACL of its own for the directory's subnets: outbound all, inbound only DNS and Kerberos.
    acl = ec2.create_network_acl(VpcId=vpc["VpcId"])["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="-1", RuleAction="allow", Egress=True, CidrBlock="0.0.0.0/0")
    for port in (53, 88):
        for protocol in ("6", "17"):
            ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100 + port + int(protocol), Protocol=protocol, RuleAction="allow",
                                         Egress=False, CidrBlock=REMOTE, PortRange={"From": port, "To": port})
    associations = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": vpc["SubnetIds"]}])["NetworkAcls"]
    for found in associations:
        for association in found["Associations"]:
            if association["SubnetId"] in vpc["SubnetIds"]:
                ec2.replace_network_acl_association(AssociationId=association["NetworkAclAssociationId"], NetworkAclId=acl)
    errors = rejected_errors(run(stack, directory_id, secret))
    returns = [e for e in errors if "1024-65535" in e["rule"] and "inbound" in e["rule"]]
    assert returns and all(e["field"] == "network.networkAcl" and acl in e["value"] for e in returns), errors


def test_no_route_to_the_remote_network_fails(stack, directory, secret):
    directory_id, ec2, vpc = directory
    ec2.delete_route(RouteTableId=main_route_table(ec2, vpc), DestinationCidrBlock="0.0.0.0/0")
    errors = rejected_errors(run(stack, directory_id, secret))
    assert {e["field"] for e in errors} == {"network.routeTable"}, errors
    assert any("no route" in e["rule"] and REMOTE in e["rule"] for e in errors), errors


def test_a_route_to_an_internet_gateway_for_private_addresses_fails(stack, directory, secret):
    directory_id, ec2, vpc = directory
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc["VpcId"])
    ec2.replace_route(RouteTableId=main_route_table(ec2, vpc), DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    errors = rejected_errors(run(stack, directory_id, secret))
    assert any(e["field"] == "network.routeTable" and gateway in e["rule"] for e in errors), errors


def test_a_remote_network_overlapping_the_vpc_fails(stack, directory, secret):
    directory_id, _, _ = directory
    result = run(stack, directory_id, secret, remoteDomainCidrs=["10.0.128.0/17"])
    errors = rejected_errors(result)
    assert any(e["field"] == "network.addressOverlap" and "10.0.128.0/17" in e["rule"] for e in errors), errors


def test_a_prefix_list_rule_cannot_tell_and_does_not_block(stack, directory, secret):
    directory_id, ec2, vpc = directory
    group = vpc["SecurityGroupId"]
    prefix_list = ec2.create_managed_prefix_list(PrefixListName="onprem", MaxEntries=5, AddressFamily="IPv4",
                                                 Entries=[{"Cidr": REMOTE}])["PrefixList"]["PrefixListId"]
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": prefix_list}]}])
    result = run(stack, directory_id, secret)
    assert result.status == "SUCCEEDED", result.output
    findings = result.output["plan"]["preflightFindings"]
    assert findings and all(f["verdict"] == "cannotTell" and f["check"] == "securityGroup" for f in findings), findings


def test_warn_creates_the_trust_and_tells_the_requester_what_was_found(stack, directory, secret):
    directory_id, ec2, vpc = directory
    ec2.delete_route(RouteTableId=main_route_table(ec2, vpc), DestinationCidrBlock="0.0.0.0/0")
    result = run(stack, directory_id, secret, preflight="warn")
    assert result.status == "SUCCEEDED", result.output
    assert "CreateTrust" in operations(stack)
    findings = result.output["plan"]["preflightFindings"]
    assert findings and all(f["check"] == "routeTable" and f["verdict"] == "fail" for f in findings)
    assert "Network pre-flight" in result.messages[0]["Message"] and "no route" in result.messages[0]["Message"]


def test_off_reads_nothing_from_ec2(stack, directory, secret):
    directory_id, ec2, vpc = directory
    ec2.delete_route(RouteTableId=main_route_table(ec2, vpc), DestinationCidrBlock="0.0.0.0/0")
    result = run(stack, directory_id, secret, preflight="off")
    assert result.status == "SUCCEEDED", result.output
    assert not any(op.startswith("Describe") and op in ("DescribeSecurityGroups", "DescribeRouteTables") for op in operations(stack))


def result_schema():
    from pathlib import Path

    return json.loads((Path(__file__).resolve().parents[2] / "schemas" / "trust-result.schema.json").read_text())


def test_a_dry_run_checks_everything_creates_nothing_and_says_what_it_would_do(stack, directory, secret):
    import jsonschema

    directory_id, ec2, vpc = directory
    # Through the API, as a portal asks before the user submits.
    body = request(directory_id, f"onprem{next(_domains)}.example.com", secret, conditionalForwarderIpAddrs=["10.50.0.53"],
                   remoteDomainCidrs=[REMOTE, "192.168.50.0/24"], dryRun=True, preflight="warn")
    stack.control("calls", method="DELETE")
    code, text = stack.api_call("POST", "/trust-requests", body)
    assert code == 202, text
    result = stack.follow(stack.wait_for_execution(f"trust-{body['requestId']}"))
    assert result.status == "SUCCEEDED", result.output
    assert result.states_entered()[:3] == ["ValidateRequest", "ChooseAction", "NotifyOutcome"]
    (sent,) = result.events
    assert sent["detail-type"] == "Trust Request Checked"
    assert sent["detail"]["outcome"] == "checked" and sent["detail"]["dryRun"] is True and sent["detail"]["plannedAction"] == "Create"
    assert sent["detail"]["trustId"] is None
    jsonschema.validate(sent["detail"], result_schema())
    message = result.messages[0]["Message"]
    assert "dry run" in message and "would create the trust" in message
    done = operations(stack)
    assert "CreateTrust" not in done and "GetSecretValue" not in done and "DescribeSecurityGroups" in done
    assert stack.client("ds").describe_trusts(DirectoryId=directory_id)["Trusts"] == []
    code, text = stack.api_call("GET", f"/trust-requests/{sent['detail']['requestId']}")
    assert code == 200 and json.loads(text)["status"] == "checked", text


def test_a_dry_run_on_a_blocked_network_is_rejected_with_every_finding_and_creates_nothing(stack, directory, secret):
    directory_id, ec2, vpc = directory
    ec2.delete_route(RouteTableId=main_route_table(ec2, vpc), DestinationCidrBlock="0.0.0.0/0")
    result = run(stack, directory_id, secret, dryRun=True)
    errors = rejected_errors(result)
    assert errors and {e["field"] for e in errors} == {"network.routeTable"}
    assert "CreateTrust" not in operations(stack)


def test_warned_findings_in_a_result_event_match_the_schema(stack, directory, secret):
    import jsonschema

    directory_id, ec2, vpc = directory
    ec2.delete_route(RouteTableId=main_route_table(ec2, vpc), DestinationCidrBlock="0.0.0.0/0")
    result = run(stack, directory_id, secret, preflight="warn")
    for sent in result.events:
        jsonschema.validate(sent["detail"], result_schema())
    assert any(sent["detail"].get("preflightFindings") for sent in result.events)


def test_a_trust_failing_to_reach_the_domain_is_told_what_blocks_it_now(stack, directory, secret):
    import jsonschema

    directory_id, ec2, vpc = directory
    table = main_route_table(ec2, vpc)
    ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    domain = f"onprem{next(_domains)}.example.com"
    stack.set_scenario(domain, "unreachable")
    body = request(directory_id, domain, secret, conditionalForwarderIpAddrs=["10.50.0.53"], remoteDomainCidrs=[REMOTE], preflight="warn")
    result = stack.run(event(body))
    assert result.status == "FAILED"
    failed = [e for e in result.events if e["detail-type"] == "Trust Failed"]
    assert failed, [e["detail-type"] for e in result.events]
    detail = failed[-1]["detail"]
    assert detail["remedy"]["code"] == "domain-unreachable"
    assert detail["networkFindings"] and {f["resource"] for f in detail["networkFindings"]} == {table}
    jsonschema.validate(detail, result_schema())
    message = result.messages[-1]["Message"]
    assert "The network pre-flight, run now, finds what blocks it" in message and f"--route-table-id {table}" in message
