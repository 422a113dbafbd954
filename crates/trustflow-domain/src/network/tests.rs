use proptest::prelude::*;
use serde_json::json;

use super::*;

const REGION: &str = "eu-west-1";

fn cidr(text: &str) -> Ipv4Cidr {
    text.parse().expect("a valid CIDR in the test")
}

/// The remote domain's network in most tests.
fn remote() -> Ipv4Cidr {
    cidr("10.1.0.0/16")
}

fn sg_rule(protocol: RuleProtocol, ports: Option<PortRange>, peer: RulePeer) -> SecurityGroupRule {
    SecurityGroupRule { protocol, ports, peer }
}

fn open_rule(to: &str) -> SecurityGroupRule {
    sg_rule(RuleProtocol::All, None, RulePeer::Cidr(cidr(to)))
}

fn acl_entry(rule_number: i32, egress: bool, protocol: RuleProtocol, ports: Option<PortRange>, to: &str, allow: bool) -> AclEntry {
    AclEntry { rule_number, egress, protocol, ports, cidr: Some(cidr(to)), allow }
}

/// The AWS default network ACL: rule 100 allows everything both ways.
fn allow_all_acl(id: &str) -> NetworkAcl {
    NetworkAcl {
        id: id.to_owned(),
        entries: vec![
            acl_entry(100, false, RuleProtocol::All, None, "0.0.0.0/0", true),
            acl_entry(100, true, RuleProtocol::All, None, "0.0.0.0/0", true),
        ],
    }
}

fn route(destination: &str, target: RouteTarget) -> Route {
    Route { destination: RouteDestination::Cidr(cidr(destination)), target, active: true }
}

fn local_route() -> Route {
    route("10.0.0.0/16", RouteTarget::Local)
}

fn subnet(name: &str) -> SubnetNetwork {
    SubnetNetwork {
        subnet_id: format!("subnet-{name}"),
        network_acl: allow_all_acl(&format!("acl-{name}")),
        route_table: RouteTable {
            id: format!("rtb-{name}"),
            routes: vec![local_route(), route("0.0.0.0/0", RouteTarget::TransitGateway("tgw-1".to_owned()))],
        },
    }
}

/// A directory's network where everything is open: an all-open security group, allow-all network
/// ACLs, and a default route to a transit gateway, in two subnets as a directory has. Tests break
/// one thing in it.
fn open_snapshot() -> NetworkSnapshot {
    NetworkSnapshot {
        vpc_id: "vpc-1".to_owned(),
        vpc_cidrs: vec![cidr("10.0.0.0/16")],
        security_group: SecurityGroup {
            id: "sg-1".to_owned(),
            ingress: vec![open_rule("0.0.0.0/0")],
            egress: vec![open_rule("0.0.0.0/0")],
        },
        subnets: vec![subnet("a"), subnet("b")],
    }
}

fn findings(snapshot: &NetworkSnapshot) -> Vec<Finding> {
    evaluate(snapshot, &[remote()], REGION)
}

fn flows(direction: TrafficDirection) -> Vec<(Protocol, Option<PortRange>)> {
    required_flows()
        .iter()
        .filter(|flow| flow.direction == direction)
        .map(|flow| (flow.protocol, flow.protocol.has_ports().then_some(flow.ports)))
        .collect()
}

/// One rule per flow of `direction`, for the block `to`, except the flows `skip` picks.
fn rules_for_each_flow(direction: TrafficDirection, to: &str, skip: impl Fn(&RequiredFlow) -> bool) -> Vec<SecurityGroupRule> {
    required_flows()
        .iter()
        .filter(|flow| flow.direction == direction && !skip(flow))
        .map(|flow| {
            let protocol = match flow.protocol {
                Protocol::Tcp => RuleProtocol::Tcp,
                Protocol::Udp => RuleProtocol::Udp,
                Protocol::Icmp => RuleProtocol::Icmp,
                Protocol::All => RuleProtocol::All,
            };
            sg_rule(protocol, flow.protocol.has_ports().then_some(flow.ports), RulePeer::Cidr(cidr(to)))
        })
        .collect()
}

// CIDR blocks.

#[test]
fn a_cidr_parses_and_prints_back_the_same() {
    for text in ["10.1.0.0/16", "0.0.0.0/0", "192.168.1.7/32", "172.16.0.0/12", "255.255.255.255/32"] {
        let parsed = cidr(text);
        assert_eq!(parsed.to_string(), text);
    }
    let block = cidr("10.1.0.0/16");
    assert_eq!((block.network(), block.prefix_len()), (Ipv4Addr::new(10, 1, 0, 0), 16));
    assert_eq!((block.first(), block.last()), (0x0A01_0000, 0x0A01_FFFF));
    assert_eq!((cidr("0.0.0.0/0").first(), cidr("0.0.0.0/0").last()), (0, u32::MAX));
}

#[test]
fn host_bits_set_is_an_error_that_names_the_normalised_block() {
    assert_eq!("10.1.2.3/16".parse::<Ipv4Cidr>(), Err(CidrError::HostBitsSet { normalised: cidr("10.1.0.0/16") }));
    let message = CidrError::HostBitsSet { normalised: cidr("10.1.0.0/16") }.to_string();
    assert_eq!(message, "host bits set; did you mean 10.1.0.0/16?");
    assert_eq!("0.0.0.1/0".parse::<Ipv4Cidr>(), Err(CidrError::HostBitsSet { normalised: cidr("0.0.0.0/0") }));
}

#[test]
fn malformed_cidrs_are_refused() {
    for text in [
        "",
        "10.0.0.0",
        "10.0.0.0/",
        "/8",
        "10.0.0.0/33",
        "10.0.0.0/08",
        "010.0.0.0/8",
        "10.00.0.0/16",
        "256.0.0.0/8",
        "10.0.0/8",
        "10.0.0.0.0/8",
        " 10.0.0.0/8",
        "10.0.0.0/8 ",
        "10.0.0.0/8/8",
        "10.0.0.0/-1",
        "10.0.0.0/+8",
        "+10.0.0.0/8",
        "10.0.0.0/100",
        "1000.0.0.0/8",
        "a.b.c.d/8",
        "10.0.0.0\\8",
        "10.0.0.０/8",
        "::/0",
    ] {
        assert_eq!(text.parse::<Ipv4Cidr>(), Err(CidrError::Malformed), "{text:?}");
        assert_eq!(parse_cidr_lenient(text), Err(CidrError::Malformed), "{text:?}");
    }
}

#[test]
fn lenient_parsing_clears_host_bits_and_says_it_did() {
    assert_eq!(parse_cidr_lenient("10.1.2.3/16"), Ok((cidr("10.1.0.0/16"), true)));
    assert_eq!(parse_cidr_lenient("10.1.0.0/16"), Ok((cidr("10.1.0.0/16"), false)));
}

#[test]
fn new_refuses_prefixes_over_32_and_host_bits() {
    assert_eq!(Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 0), 33), None);
    assert_eq!(Ipv4Cidr::new(Ipv4Addr::new(10, 1, 0, 0), 8), None);
    assert_eq!(Ipv4Cidr::new(Ipv4Addr::new(10, 1, 0, 0), 16), Some(cidr("10.1.0.0/16")));
    assert_eq!(Ipv4Cidr::host(Ipv4Addr::new(10, 1, 2, 3)), cidr("10.1.2.3/32"));
}

#[test]
fn only_blocks_entirely_inside_rfc_1918_are_private() {
    for private in ["10.0.0.0/8", "10.1.2.3/32", "172.16.0.0/12", "172.31.255.0/24", "192.168.0.0/16", "192.168.1.0/24"] {
        assert!(cidr(private).is_private(), "{private}");
    }
    for public in ["0.0.0.0/0", "8.8.8.8/32", "172.32.0.0/16", "172.0.0.0/8", "192.0.0.0/8", "11.0.0.0/8", "203.0.113.0/24"] {
        assert!(!cidr(public).is_private(), "{public}");
    }
}

#[test]
fn a_cidr_serialises_as_its_text_and_bad_text_does_not_deserialise() {
    assert_eq!(serde_json::to_value(cidr("10.1.0.0/16")).ok(), Some(json!("10.1.0.0/16")));
    assert_eq!(serde_json::from_value::<Ipv4Cidr>(json!("10.1.0.0/16")).ok(), Some(cidr("10.1.0.0/16")));
    let error = serde_json::from_value::<Ipv4Cidr>(json!("10.1.2.3/16")).expect_err("host bits");
    assert!(error.to_string().contains("did you mean 10.1.0.0/16"), "{error}");
    assert!(serde_json::from_value::<Ipv4Cidr>(json!("10.1.0.0")).is_err());
}

// Protocols and ports.

#[test]
fn ec2_protocols_are_read_by_number_and_by_name() {
    for (text, expected) in [
        ("-1", RuleProtocol::All),
        ("6", RuleProtocol::Tcp),
        ("tcp", RuleProtocol::Tcp),
        ("TCP", RuleProtocol::Tcp),
        ("17", RuleProtocol::Udp),
        ("udp", RuleProtocol::Udp),
        ("1", RuleProtocol::Icmp),
        ("icmp", RuleProtocol::Icmp),
        ("50", RuleProtocol::Other("50".to_owned())),
        ("58", RuleProtocol::Other("58".to_owned())),
        ("icmpv6", RuleProtocol::Other("icmpv6".to_owned())),
    ] {
        assert_eq!(RuleProtocol::from_ec2(text), expected, "{text}");
    }
    assert!(RuleProtocol::All.matches(Protocol::Udp));
    assert!(!RuleProtocol::Tcp.matches(Protocol::Udp));
    assert!(!RuleProtocol::Other("6 ".to_owned()).matches(Protocol::Tcp));
}

#[test]
fn protocols_read_as_the_consoles_write_them_and_serialise_in_lowercase() {
    let shown: Vec<String> = [Protocol::Tcp, Protocol::Udp, Protocol::Icmp, Protocol::All].iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["TCP", "UDP", "ICMP", "all"]);
    assert_eq!(serde_json::to_value(Protocol::Icmp).ok(), Some(json!("icmp")));
    assert_eq!((PortRange::single(445).to_string(), EPHEMERAL_PORTS.to_string()), ("445".to_owned(), "1024-65535".to_owned()));
}

#[test]
fn the_required_flows_are_the_runbooks_in_both_directions() {
    let tcp = [53, 88, 135, 389, 445, 464, 636].map(|p| (Protocol::Tcp, Some(PortRange::single(p))));
    let udp = [53, 88, 123, 138, 389, 445, 464].map(|p| (Protocol::Udp, Some(PortRange::single(p))));
    let mut expected: Vec<(Protocol, Option<PortRange>)> = tcp.into_iter().chain(udp).collect();
    expected.push((Protocol::Tcp, Some(PortRange { from: 1024, to: 65535 })));
    expected.push((Protocol::Icmp, None));
    expected.sort();
    for direction in [TrafficDirection::Inbound, TrafficDirection::Outbound] {
        let mut actual = flows(direction);
        actual.sort();
        assert_eq!(actual, expected, "{direction}");
    }
    assert!(required_flows().iter().all(|flow| !flow.purpose.is_empty()));
    assert!(required_flows().iter().filter(|flow| !flow.protocol.has_ports()).all(|flow| flow.ports == PortRange::all()));
}

// The whole evaluation.

#[test]
fn everything_open_has_no_findings() {
    assert_eq!(findings(&open_snapshot()), []);
}

#[test]
fn no_remote_networks_means_nothing_to_judge() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress.clear();
    assert_eq!(evaluate(&snapshot, &[], REGION), []);
}

#[test]
fn egress_only_to_the_vpc_cidr_fails_every_outbound_flow() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.egress = vec![open_rule("10.0.0.0/16")];
    let found = findings(&snapshot);
    assert!(found.iter().all(|f| f.check == CheckKind::SecurityGroup && f.blocks() && f.resource == "sg-1"), "{found:#?}");
    assert!(found.iter().all(|f| f.direction == Some(TrafficDirection::Outbound)), "{found:#?}");
    let mut failed: Vec<(Protocol, Option<PortRange>)> = found.iter().map(|f| (f.protocol.expect("a protocol"), f.ports)).collect();
    failed.sort();
    let mut expected = flows(TrafficDirection::Outbound);
    expected.sort();
    assert_eq!(failed, expected);
}

#[test]
fn a_missing_ephemeral_range_is_one_finding_not_one_per_port() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress = rules_for_each_flow(TrafficDirection::Inbound, "10.0.0.0/8", |flow| flow.ports == EPHEMERAL_PORTS);
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].direction, found[0].protocol, found[0].ports),
        (Some(TrafficDirection::Inbound), Some(Protocol::Tcp), Some(EPHEMERAL_PORTS))
    );
    assert!(found[0].problem.contains("TCP 1024-65535 from all of 10.1.0.0/16"), "{}", found[0].problem);
}

#[test]
fn adjacent_rules_together_cover_a_range_and_the_gap_between_them_is_reported() {
    let mut snapshot = open_snapshot();
    let mut ingress = rules_for_each_flow(TrafficDirection::Inbound, "10.1.0.0/16", |flow| flow.ports == EPHEMERAL_PORTS);
    ingress.push(sg_rule(RuleProtocol::Tcp, Some(PortRange { from: 1024, to: 3000 }), RulePeer::Cidr(remote())));
    ingress.push(sg_rule(RuleProtocol::Tcp, Some(PortRange { from: 3001, to: 49151 }), RulePeer::Cidr(remote())));
    ingress.push(sg_rule(RuleProtocol::Tcp, Some(PortRange { from: 49153, to: 65535 }), RulePeer::Cidr(remote())));
    snapshot.security_group.ingress = ingress;
    let found = findings(&snapshot);
    assert_eq!(found.iter().map(|f| f.ports).collect::<Vec<_>>(), [Some(PortRange::single(49152))], "{found:#?}");
}

#[test]
fn a_rule_for_part_of_the_remote_network_does_not_allow_it() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress = vec![open_rule("10.1.5.0/24")];
    let found = findings(&snapshot);
    assert_eq!(found.len(), flows(TrafficDirection::Inbound).len(), "{found:#?}");
    assert!(found.iter().all(|f| f.blocks() && f.direction == Some(TrafficDirection::Inbound)));
}

#[test]
fn rules_of_other_protocols_and_ipv6_rules_allow_nothing() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress = vec![
        sg_rule(RuleProtocol::Other("50".to_owned()), None, RulePeer::Cidr(cidr("0.0.0.0/0"))),
        sg_rule(RuleProtocol::All, None, RulePeer::Ipv6Cidr("::/0".to_owned())),
        sg_rule(RuleProtocol::Udp, None, RulePeer::Cidr(cidr("0.0.0.0/0"))),
    ];
    let found = findings(&snapshot);
    assert!(found.iter().all(|f| f.protocol != Some(Protocol::Udp)), "{found:#?}");
    assert_eq!(found.len(), flows(TrafficDirection::Inbound).iter().filter(|(p, _)| *p != Protocol::Udp).count());
}

#[test]
fn a_prefix_list_rule_is_cannot_tell_not_fail() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress = vec![sg_rule(RuleProtocol::All, None, RulePeer::PrefixList("pl-0abc".to_owned()))];
    let found = findings(&snapshot);
    assert_eq!(found.len(), flows(TrafficDirection::Inbound).len(), "{found:#?}");
    assert!(found.iter().all(|f| f.verdict == Verdict::CannotTell && !f.blocks()), "{found:#?}");
    assert!(found.iter().all(|f| f.problem.contains("pl-0abc") && f.problem.contains("cannot see")), "{found:#?}");
}

#[test]
fn a_security_group_reference_covering_part_of_the_ports_leaves_the_rest_failed() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress = rules_for_each_flow(TrafficDirection::Inbound, "0.0.0.0/0", |flow| flow.ports == EPHEMERAL_PORTS);
    snapshot.security_group.ingress.push(sg_rule(
        RuleProtocol::Tcp,
        Some(PortRange { from: 1024, to: 49151 }),
        RulePeer::SecurityGroup("sg-peer".to_owned()),
    ));
    let found = findings(&snapshot);
    let summary: Vec<(Verdict, Option<PortRange>)> = found.iter().map(|f| (f.verdict, f.ports)).collect();
    assert_eq!(
        summary,
        [(Verdict::CannotTell, Some(PortRange { from: 1024, to: 49151 })), (Verdict::Fail, Some(PortRange { from: 49152, to: 65535 }))]
    );
    assert!(found[0].problem.contains("sg-peer"), "{}", found[0].problem);
}

#[test]
fn a_security_group_fix_names_the_group_the_ports_and_the_remote_network() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.egress = rules_for_each_flow(TrafficDirection::Outbound, "0.0.0.0/0", |flow| {
        flow.protocol == Protocol::Tcp && flow.ports == PortRange::single(445)
    });
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].fix,
        "In the EC2 console > Security Groups > sg-1 > Outbound rules, add a rule allowing TCP 445 to 10.1.0.0/16, or run: \
         `aws ec2 authorize-security-group-egress --region eu-west-1 --group-id sg-1 \
         --ip-permissions 'IpProtocol=tcp,FromPort=445,ToPort=445,IpRanges=[{CidrIp=10.1.0.0/16}]'`"
    );
    assert!(found[0].problem.contains("SMB"), "{}", found[0].problem);
}

#[test]
fn an_icmp_fix_allows_every_type_and_code() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress = rules_for_each_flow(TrafficDirection::Inbound, "0.0.0.0/0", |flow| flow.protocol == Protocol::Icmp);
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].protocol, found[0].ports), (Some(Protocol::Icmp), None));
    assert!(found[0].fix.contains("IpProtocol=icmp,FromPort=-1,ToPort=-1"), "{}", found[0].fix);
}

// Network ACLs.

#[test]
fn an_acl_deny_on_445_numbered_before_an_allow_fails_445_only() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].network_acl.entries.push(acl_entry(90, false, RuleProtocol::Tcp, Some(PortRange::single(445)), "0.0.0.0/0", false));
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "{found:#?}");
    let finding = &found[0];
    assert_eq!(finding.check, CheckKind::NetworkAcl);
    assert_eq!(finding.resource, "acl-a rule 90");
    assert_eq!(finding.subnet_id.as_deref(), Some("subnet-a"));
    assert_eq!(
        (finding.direction, finding.protocol, finding.ports),
        (Some(TrafficDirection::Inbound), Some(Protocol::Tcp), Some(PortRange::single(445)))
    );
    assert!(finding.problem.starts_with("acl-a rule 90 denies inbound TCP 445 from 10.1.0.0/16"), "{}", finding.problem);
    assert_eq!(
        finding.fix,
        "In the VPC console > Network ACLs > acl-a > Inbound rules, add an allow rule for TCP 445 from 10.1.0.0/16 numbered below 90, \
         or run: `aws ec2 create-network-acl-entry --region eu-west-1 --network-acl-id acl-a --ingress --rule-number 89 \
         --protocol tcp --port-range From=445,To=445 --cidr-block 10.1.0.0/16 --rule-action allow`"
    );
}

#[test]
fn an_acl_deny_numbered_after_the_allow_changes_nothing() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].network_acl.entries.push(acl_entry(
        110,
        false,
        RuleProtocol::Tcp,
        Some(PortRange::single(445)),
        "0.0.0.0/0",
        false,
    ));
    assert_eq!(findings(&snapshot), []);
}

#[test]
fn the_suggested_rule_number_is_free_and_below_the_deny() {
    let mut snapshot = open_snapshot();
    let entries = &mut snapshot.subnets[0].network_acl.entries;
    entries.push(acl_entry(90, false, RuleProtocol::Tcp, Some(PortRange::single(445)), "0.0.0.0/0", false));
    entries.push(acl_entry(89, false, RuleProtocol::Udp, Some(PortRange::single(9)), "0.0.0.0/0", true));
    entries.push(acl_entry(88, true, RuleProtocol::Udp, Some(PortRange::single(9)), "0.0.0.0/0", true));
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].fix.contains("--rule-number 88 "), "89 is taken inbound; 88 only outbound: {}", found[0].fix);
}

#[test]
fn an_acl_allowing_88_out_without_the_ephemeral_return_fails_the_return() {
    let mut snapshot = open_snapshot();
    // Outbound: everything. Inbound: TCP below 1024, all UDP and ICMP: the replies to the
    // directory's TCP connections (to the remote's port 88 and others) cannot come back.
    snapshot.subnets[0].network_acl.entries = vec![
        acl_entry(100, true, RuleProtocol::All, None, "0.0.0.0/0", true),
        acl_entry(100, false, RuleProtocol::Tcp, Some(PortRange { from: 0, to: 1023 }), "0.0.0.0/0", true),
        acl_entry(110, false, RuleProtocol::Udp, None, "0.0.0.0/0", true),
        acl_entry(120, false, RuleProtocol::Icmp, None, "0.0.0.0/0", true),
    ];
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "one finding for the whole range: {found:#?}");
    let finding = &found[0];
    assert_eq!(finding.resource, "acl-a rule *");
    assert_eq!(
        (finding.direction, finding.protocol, finding.ports),
        (Some(TrafficDirection::Inbound), Some(Protocol::Tcp), Some(EPHEMERAL_PORTS))
    );
    assert!(finding.problem.contains("implicit deny (rule *)"), "{}", finding.problem);
    assert!(finding.problem.contains("replies to the outbound TCP traffic"), "{}", finding.problem);
    assert!(finding.fix.contains("--ingress --rule-number 200 --protocol tcp --port-range From=1024,To=65535"), "{}", finding.fix);
}

#[test]
fn an_acl_without_outbound_replies_fails_the_replies_to_inbound_traffic() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[1].network_acl.entries = vec![
        acl_entry(100, false, RuleProtocol::All, None, "0.0.0.0/0", true),
        acl_entry(100, true, RuleProtocol::Tcp, Some(PortRange { from: 0, to: 1023 }), "0.0.0.0/0", true),
        acl_entry(110, true, RuleProtocol::Udp, None, "0.0.0.0/0", true),
        acl_entry(120, true, RuleProtocol::Icmp, None, "0.0.0.0/0", true),
    ];
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].subnet_id.as_deref(), found[0].direction), (Some("subnet-b"), Some(TrafficDirection::Outbound)));
    assert!(found[0].fix.contains("--network-acl-id acl-b --egress"), "{}", found[0].fix);
}

#[test]
fn a_partly_overlapping_acl_deny_fails_for_the_part_it_denies() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].network_acl.entries.push(acl_entry(
        50,
        false,
        RuleProtocol::Tcp,
        Some(PortRange::single(445)),
        "10.1.5.0/24",
        false,
    ));
    let found = findings(&snapshot);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].resource, "acl-a rule 50");
    assert!(found[0].problem.contains("from 10.1.5.0/24, part of 10.1.0.0/16"), "{}", found[0].problem);
}

#[test]
fn a_partly_overlapping_allow_leaves_the_rest_to_later_rules() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].network_acl.entries = vec![
        acl_entry(100, true, RuleProtocol::All, None, "0.0.0.0/0", true),
        acl_entry(50, false, RuleProtocol::All, None, "10.1.5.0/24", true),
        acl_entry(60, false, RuleProtocol::Udp, None, "0.0.0.0/0", false),
        acl_entry(70, false, RuleProtocol::All, None, "0.0.0.0/0", true),
    ];
    let found = findings(&snapshot);
    assert!(!found.is_empty());
    assert!(found.iter().all(|f| f.resource == "acl-a rule 60" && f.protocol == Some(Protocol::Udp)), "{found:#?}");
}

#[test]
fn two_partial_allows_that_together_cover_the_remote_network_allow_it() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].network_acl.entries = vec![
        acl_entry(100, true, RuleProtocol::All, None, "0.0.0.0/0", true),
        acl_entry(10, false, RuleProtocol::All, None, "10.1.0.0/17", true),
        acl_entry(20, false, RuleProtocol::All, None, "10.1.128.0/17", true),
        acl_entry(30, false, RuleProtocol::All, None, "0.0.0.0/0", false),
    ];
    assert_eq!(findings(&snapshot), []);
    snapshot.subnets[0].network_acl.entries.remove(2);
    let found = findings(&snapshot);
    assert!(!found.is_empty() && found.iter().all(|f| f.resource == "acl-a rule 30"), "{found:#?}");
}

#[test]
fn ipv6_acl_entries_never_match_ipv4_traffic() {
    let mut snapshot = open_snapshot();
    let deny_v6 = AclEntry { rule_number: 10, egress: false, protocol: RuleProtocol::All, ports: None, cidr: None, allow: false };
    snapshot.subnets[0].network_acl.entries.push(deny_v6);
    assert_eq!(findings(&snapshot), []);
}

#[test]
fn only_the_implicit_deny_fails_every_flow_and_reply_once_per_range() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].network_acl.entries.clear();
    let found = findings(&snapshot);
    assert!(found.iter().all(|f| f.resource == "acl-a rule *" && f.blocks()), "{found:#?}");
    for direction in [TrafficDirection::Inbound, TrafficDirection::Outbound] {
        let ranges: Vec<(Option<Protocol>, Option<PortRange>)> =
            found.iter().filter(|f| f.direction == Some(direction)).map(|f| (f.protocol, f.ports)).collect();
        // TCP: seven services and 1024-65535 (flows and replies merged); UDP: seven services and the replies; ICMP.
        assert_eq!(ranges.len(), 8 + 8 + 1, "{direction}: {ranges:?}");
        assert!(ranges.contains(&(Some(Protocol::Udp), Some(EPHEMERAL_PORTS))), "{ranges:?}");
    }
}

// Route tables.

fn with_routes(routes: Vec<Route>) -> NetworkSnapshot {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].route_table.routes = routes;
    snapshot
}

#[test]
fn no_route_to_the_remote_network_fails() {
    let found = findings(&with_routes(vec![local_route(), route("10.2.0.0/16", RouteTarget::TransitGateway("tgw-1".to_owned()))]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].check, found[0].resource.as_str(), found[0].verdict), (CheckKind::RouteTable, "rtb-a", Verdict::Fail));
    assert!(found[0].problem.contains("no route to all of 10.1.0.0/16"), "{}", found[0].problem);
    assert!(
        found[0].fix.contains(
            "aws ec2 create-route --region eu-west-1 --route-table-id rtb-a --destination-cidr-block 10.1.0.0/16 --transit-gateway-id"
        ),
        "{}",
        found[0].fix
    );
}

#[test]
fn a_route_to_an_internet_gateway_for_private_addresses_fails() {
    let found = findings(&with_routes(vec![local_route(), route("0.0.0.0/0", RouteTarget::InternetGateway("igw-9".to_owned()))]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].problem.contains("the internet gateway igw-9"), "{}", found[0].problem);
    assert!(found[0].fix.contains("create-route"), "{}", found[0].fix);
}

#[test]
fn a_route_to_a_nat_gateway_for_private_addresses_fails() {
    let found = findings(&with_routes(vec![local_route(), route("10.0.0.0/8", RouteTarget::NatGateway("nat-1".to_owned()))]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].problem.contains("nat-1"), "{}", found[0].problem);
}

#[test]
fn an_internet_gateway_route_to_a_public_remote_network_is_fine() {
    let snapshot = with_routes(vec![local_route(), route("0.0.0.0/0", RouteTarget::InternetGateway("igw-9".to_owned()))]);
    assert_eq!(evaluate(&snapshot, &[cidr("203.0.113.0/24")], REGION), []);
}

#[test]
fn the_most_specific_route_decides() {
    let snapshot = with_routes(vec![
        local_route(),
        route("0.0.0.0/0", RouteTarget::InternetGateway("igw-9".to_owned())),
        route("10.1.0.0/16", RouteTarget::VirtualPrivateGateway("vgw-1".to_owned())),
    ]);
    assert_eq!(findings(&snapshot), []);
}

#[test]
fn a_blackhole_route_fails_even_where_a_wider_route_would_work() {
    let mut blackhole = route("10.1.0.0/16", RouteTarget::TransitGateway("tgw-old".to_owned()));
    blackhole.active = false;
    let found = findings(&with_routes(vec![local_route(), route("0.0.0.0/0", RouteTarget::TransitGateway("tgw-1".to_owned())), blackhole]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].problem.contains("blackhole"), "{}", found[0].problem);
    assert!(
        found[0].fix.contains("aws ec2 replace-route --region eu-west-1 --route-table-id rtb-a --destination-cidr-block 10.1.0.0/16"),
        "{}",
        found[0].fix
    );
}

#[test]
fn a_more_specific_route_inside_the_remote_network_to_an_internet_gateway_fails_that_part() {
    let found = findings(&with_routes(vec![
        local_route(),
        route("10.1.0.0/16", RouteTarget::TransitGateway("tgw-1".to_owned())),
        route("10.1.5.0/24", RouteTarget::InternetGateway("igw-9".to_owned())),
    ]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].problem.contains("10.1.5.0/24, part of 10.1.0.0/16"), "{}", found[0].problem);
    assert!(
        found[0].fix.contains("replace-route --region eu-west-1 --route-table-id rtb-a --destination-cidr-block 10.1.5.0/24"),
        "{}",
        found[0].fix
    );
}

#[test]
fn a_prefix_list_route_is_cannot_tell() {
    let list = Route {
        destination: RouteDestination::PrefixList("pl-onprem".to_owned()),
        target: RouteTarget::TransitGateway("tgw-1".to_owned()),
        active: true,
    };
    let found = findings(&with_routes(vec![local_route(), list]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].verdict, Verdict::CannotTell);
    assert!(found[0].problem.contains("pl-onprem"), "{}", found[0].problem);
}

#[test]
fn a_remote_network_overlapping_the_vpc_fails() {
    let overlapping = cidr("10.0.128.0/17");
    let found = evaluate(&open_snapshot(), &[overlapping], REGION);
    assert_eq!(found.len(), 1, "no route findings besides: {found:#?}");
    let finding = &found[0];
    assert_eq!((finding.check, finding.resource.as_str(), finding.remote_network), (CheckKind::AddressOverlap, "vpc-1", overlapping));
    assert!(finding.problem.contains("overlaps 10.0.0.0/16 of the VPC vpc-1"), "{}", finding.problem);
    assert!(finding.fix.contains("must not overlap"), "{}", finding.fix);
}

#[test]
fn a_local_route_for_the_remote_network_fails() {
    let found = findings(&with_routes(vec![local_route(), route("10.1.0.0/16", RouteTarget::Local)]));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].problem.contains("local"), "{}", found[0].problem);
}

// Findings as a whole.

#[test]
fn findings_are_sorted_whatever_the_order_of_the_input() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.egress = vec![open_rule("10.0.0.0/16")];
    for subnet in &mut snapshot.subnets {
        subnet.network_acl.entries.retain(|entry| entry.egress);
        subnet.route_table.routes = vec![local_route()];
    }
    let networks = [cidr("10.1.0.0/16"), cidr("192.168.0.0/24"), cidr("10.1.0.0/16")];
    let found = evaluate(&snapshot, &networks, REGION);
    let mut reversed = snapshot.clone();
    reversed.subnets.reverse();
    let mut networks_reversed = networks;
    networks_reversed.reverse();
    assert_eq!(evaluate(&reversed, &networks_reversed, REGION), found);
    let keys: Vec<_> = found.iter().map(sort_key).collect();
    assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "sorted and without duplicates");
    assert!(found.iter().any(|f| f.remote_network == cidr("192.168.0.0/24")));
}

#[test]
fn a_finding_serialises_in_camel_case() {
    let mut snapshot = open_snapshot();
    snapshot.subnets[0].network_acl.entries.push(acl_entry(90, false, RuleProtocol::Tcp, Some(PortRange::single(445)), "0.0.0.0/0", false));
    let found = findings(&snapshot);
    let value = serde_json::to_value(&found[0]).expect("serialises");
    assert_eq!(value["verdict"], json!("fail"));
    assert_eq!(value["check"], json!("networkAcl"));
    assert_eq!(value["subnetId"], json!("subnet-a"));
    assert_eq!(value["direction"], json!("inbound"));
    assert_eq!(value["protocol"], json!("tcp"));
    assert_eq!(value["ports"], json!({"from": 445, "to": 445}));
    assert_eq!(value["remoteNetwork"], json!("10.1.0.0/16"));
    assert_eq!(serde_json::from_value::<Finding>(value).ok().as_ref(), Some(&found[0]));
    assert_eq!(serde_json::to_value(Verdict::CannotTell).ok(), Some(json!("cannotTell")));
    assert_eq!(serde_json::to_value(CheckKind::AddressOverlap).ok(), Some(json!("addressOverlap")));
}

#[test]
fn a_snapshot_round_trips_through_json() {
    let mut snapshot = open_snapshot();
    snapshot.security_group.ingress.push(sg_rule(RuleProtocol::Other("50".to_owned()), None, RulePeer::PrefixList("pl-1".to_owned())));
    let text = serde_json::to_string(&snapshot).expect("serialises");
    assert_eq!(serde_json::from_str::<NetworkSnapshot>(&text).ok(), Some(snapshot));
}

// Properties.

/// Cases per property: 1000 in the normal run; `TRUSTFLOW_FUZZ_CASES` raises it for a long fuzzing run.
fn cases() -> u32 {
    std::env::var("TRUSTFLOW_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
}

fn any_cidr() -> impl Strategy<Value = Ipv4Cidr> {
    (any::<u32>(), 0u8..=32).prop_map(|(address, prefix_len)| Ipv4Cidr::masked(address, prefix_len))
}

/// Blocks in a small space (10.0.0.0/26 and the blocks around it), so that random blocks often nest.
fn small_cidr() -> impl Strategy<Value = Ipv4Cidr> {
    prop_oneof![
        4 => (0u32..64, 26u8..=32).prop_map(|(offset, prefix_len)| Ipv4Cidr::masked(0x0A00_0000 + offset, prefix_len)),
        1 => Just(cidr("10.0.0.0/8")),
        1 => Just(cidr("0.0.0.0/0")),
        1 => Just(cidr("10.0.1.0/24")),
    ]
}

fn small_range() -> impl Strategy<Value = PortRange> {
    (0u16..16, 0u16..16).prop_map(|(a, b)| PortRange { from: a.min(b), to: a.max(b) })
}

fn rule_protocol() -> impl Strategy<Value = RuleProtocol> {
    prop_oneof![
        Just(RuleProtocol::All),
        Just(RuleProtocol::Tcp),
        Just(RuleProtocol::Udp),
        Just(RuleProtocol::Icmp),
        Just(RuleProtocol::Other("50".to_owned())),
    ]
}

fn flow_protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp), Just(Protocol::Icmp)]
}

fn small_acl() -> impl Strategy<Value = NetworkAcl> {
    let entry = (
        any::<bool>(),
        rule_protocol(),
        prop::option::weighted(0.8, small_range()),
        prop::option::weighted(0.9, small_cidr()),
        any::<bool>(),
    );
    (prop::collection::btree_set(1i32..60, 0..8), prop::collection::vec(entry, 8)).prop_map(|(numbers, entries)| NetworkAcl {
        id: "acl-p".to_owned(),
        entries: numbers
            .into_iter()
            .zip(entries)
            .map(|(rule_number, (egress, protocol, ports, cidr, allow))| AclEntry { rule_number, egress, protocol, ports, cidr, allow })
            .collect(),
    })
}

/// What AWS does with one packet: the first entry by rule number that matches it decides; none
/// matching, the implicit deny. `Ok` for an allow; `Err` with the denying rule, `None` for the implicit deny.
fn first_match(acl: &NetworkAcl, egress: bool, protocol: Protocol, port: u16, address: u32) -> Result<(), Option<i32>> {
    let mut entries: Vec<&AclEntry> = acl.entries.iter().filter(|entry| entry.egress == egress).collect();
    entries.sort_by_key(|entry| entry.rule_number);
    let host = Ipv4Cidr::host(Ipv4Addr::from(address));
    for entry in entries {
        let protocol_matches = match &entry.protocol {
            RuleProtocol::All => true,
            RuleProtocol::Tcp => protocol == Protocol::Tcp,
            RuleProtocol::Udp => protocol == Protocol::Udp,
            RuleProtocol::Icmp => protocol == Protocol::Icmp,
            RuleProtocol::Other(_) => false,
        };
        let port_matches = match (&entry.protocol, entry.ports) {
            (RuleProtocol::Tcp | RuleProtocol::Udp, Some(ports)) => ports.from <= port && port <= ports.to,
            _ => true,
        };
        let address_matches = entry.cidr.is_some_and(|cidr| cidr.contains(&host));
        if protocol_matches && port_matches && address_matches {
            return if entry.allow { Ok(()) } else { Err(Some(entry.rule_number)) };
        }
    }
    Err(None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn contains_agrees_with_the_bounds_and_is_reflexive(a in any_cidr(), b in any_cidr()) {
        prop_assert_eq!(a.contains(&b), a.first() <= b.first() && b.last() <= a.last());
        prop_assert!(a.contains(&a));
        prop_assert!(a.first() <= a.last());
        prop_assert_eq!(u64::from(a.last() - a.first()) + 1, 1u64 << (32 - a.prefix_len()));
    }

    #[test]
    fn contains_is_transitive(address in any::<u32>(), mut prefixes in prop::array::uniform3(0u8..=32), c in any_cidr()) {
        prefixes.sort_unstable();
        let [wide, middle, narrow] = prefixes.map(|prefix_len| Ipv4Cidr::masked(address, prefix_len));
        prop_assert!(wide.contains(&middle) && middle.contains(&narrow) && wide.contains(&narrow));
        if wide.contains(&c) && c.contains(&narrow) {
            prop_assert!(wide.contains(&narrow));
        }
        if c.contains(&wide) {
            prop_assert!(c.contains(&narrow));
        }
    }

    #[test]
    fn a_cidr_contains_every_host_it_covers_and_no_other(block in any_cidr(), offset in any::<u32>(), outside in any::<u32>()) {
        let size = u64::from(block.last() - block.first()) + 1;
        let inside = block.first() + u32::try_from(u64::from(offset) % size).expect("below the block size");
        prop_assert!(block.contains(&Ipv4Cidr::host(Ipv4Addr::from(inside))));
        let outside_is_out = outside < block.first() || outside > block.last();
        prop_assert_eq!(block.contains(&Ipv4Cidr::host(Ipv4Addr::from(outside))), !outside_is_out);
    }

    #[test]
    fn overlap_is_symmetric_and_blocks_overlap_only_by_nesting(a in any_cidr(), b in any_cidr()) {
        prop_assert_eq!(a.overlaps(&b), b.overlaps(&a));
        prop_assert_eq!(a.overlaps(&b), a.contains(&b) || b.contains(&a));
    }

    #[test]
    fn a_cidr_prints_and_parses_back_and_lenient_parsing_clears_host_bits(address in any::<u32>(), prefix_len in 0u8..=32) {
        let block = Ipv4Cidr::masked(address, prefix_len);
        prop_assert_eq!(block.to_string().parse::<Ipv4Cidr>(), Ok(block));
        let text = format!("{}/{prefix_len}", Ipv4Addr::from(address));
        prop_assert_eq!(parse_cidr_lenient(&text), Ok((block, address != block.first())));
        prop_assert_eq!(Ipv4Cidr::new(Ipv4Addr::from(address), prefix_len).is_some(), address == block.first());
    }

    #[test]
    fn the_uncovered_ports_agree_with_a_per_port_check(needed in small_range(), covering in prop::collection::vec(small_range(), 0..6)) {
        let missing = uncovered(needed, &covering);
        for port in 0u16..18 {
            let expected = needed.contains_port(port) && !covering.iter().any(|range| range.contains_port(port));
            prop_assert_eq!(missing.iter().any(|range| range.contains_port(port)), expected, "port {}", port);
        }
        // Separate ranges, in order: adjacent missing ports are one range.
        prop_assert!(missing.windows(2).all(|pair| u32::from(pair[0].to) + 1 < u32::from(pair[1].from)));
        prop_assert!(missing.iter().all(|range| range.from <= range.to));
    }

    #[test]
    fn the_acl_evaluation_agrees_with_first_match_per_host_and_port(
        acl in small_acl(),
        remote in (0u32..64, 26u8..=32).prop_map(|(offset, prefix_len)| Ipv4Cidr::masked(0x0A00_0000 + offset, prefix_len)),
        egress in any::<bool>(),
        protocol in flow_protocol(),
        needed in small_range(),
    ) {
        let direction = if egress { TrafficDirection::Outbound } else { TrafficDirection::Inbound };
        let decisions = acl_decisions(&acl, direction, protocol, needed, remote);
        // The pieces cover exactly the needed ports, in order, and neighbours decide differently.
        prop_assert_eq!(decisions.first().map(|(ports, _)| ports.from), Some(needed.from));
        prop_assert_eq!(decisions.last().map(|(ports, _)| ports.to), Some(needed.to));
        prop_assert!(decisions.windows(2).all(|pair| u32::from(pair[0].0.to) + 1 == u32::from(pair[1].0.from) && pair[0].1 != pair[1].1));
        for port in needed.from..=needed.to {
            let decision = decisions.iter().find(|(ports, _)| ports.contains_port(port)).map(|(_, decision)| *decision);
            // The reference: each remote host on its own; the traffic is allowed when every host is,
            // and otherwise reported against the lowest-numbered rule that denies some host (the
            // implicit deny, `None`, coming last).
            let outcomes: Vec<Result<(), Option<i32>>> =
                (remote.first()..=remote.last()).map(|address| first_match(&acl, egress, protocol, port, address)).collect();
            let expected = if outcomes.iter().all(Result::is_ok) {
                AclDecision::Allowed
            } else {
                let rule = outcomes.iter().filter_map(|outcome| outcome.err()).min_by_key(|rule| rule.unwrap_or(i32::MAX));
                AclDecision::Denied { rule: rule.flatten(), only_part: None }
            };
            let actual = decision.map(|decision| match decision {
                AclDecision::Denied { rule, .. } => AclDecision::Denied { rule, only_part: None },
                allowed => allowed,
            });
            prop_assert_eq!(actual, Some(expected), "port {}", port);
        }
    }

    #[test]
    fn a_partial_deny_names_a_block_inside_the_remote_network(
        acl in small_acl(),
        remote in (0u32..64, 26u8..=30).prop_map(|(offset, prefix_len)| Ipv4Cidr::masked(0x0A00_0000 + offset, prefix_len)),
        protocol in flow_protocol(),
        needed in small_range(),
    ) {
        for (_, decision) in acl_decisions(&acl, TrafficDirection::Inbound, protocol, needed, remote) {
            if let AclDecision::Denied { only_part: Some(part), .. } = decision {
                prop_assert!(remote.contains(&part) && part != remote);
            }
        }
    }
}
