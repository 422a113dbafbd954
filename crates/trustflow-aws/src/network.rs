//! EC2 over the AWS SDK: the directory's network as the pre-flight judges it. Read-only Describe
//! calls, every page: DescribeVpcs, DescribeSecurityGroups, DescribeNetworkAcls, DescribeRouteTables.

use aws_sdk_ec2::types::{Filter, IpPermission, RouteState, RuleAction};
use trustflow_domain::domain::{DirectoryInfo, DirectoryVpc};
use trustflow_domain::network::{
    evaluate, parse_cidr_lenient, AclEntry, Finding, Ipv4Cidr, NetworkAcl, NetworkSnapshot, PortRange, Route, RouteDestination, RouteTable,
    RouteTarget, RulePeer, RuleProtocol, SecurityGroup, SecurityGroupRule, SubnetNetwork,
};
use trustflow_domain::WorkflowError;

use crate::ports::NetworkReader;
use crate::sdk_error::{classify_sdk_error, plain};

/// EC2 over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkNetwork(pub aws_sdk_ec2::Client);

impl SdkNetwork {
    /// An EC2 client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_ec2::Client::new(config))
    }
}

/// The network pre-flight: the directory's network read from EC2 and judged against
/// `remote_networks`. `None` when there is nothing to judge: no remote networks, or a directory
/// without VPC settings or a security group in DescribeDirectories' answer.
pub async fn judge_network<N: NetworkReader>(
    network: &N,
    directory: &DirectoryInfo,
    remote_networks: &[Ipv4Cidr],
    region: &str,
) -> Result<Option<Vec<Finding>>, WorkflowError> {
    let Some((vpc, security_group_id)) = directory.vpc.as_ref().and_then(|vpc| Some((vpc, vpc.security_group_id.as_deref()?))) else {
        tracing::warn!(directory_id = %directory.directory_id, "no VPC settings: the network pre-flight was skipped");
        return Ok(None);
    };
    if remote_networks.is_empty() {
        return Ok(None);
    }
    let snapshot = network.network_snapshot(vpc, security_group_id).await?;
    Ok(Some(evaluate(&snapshot, remote_networks, region)))
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder().name(name).set_values(Some(values.to_vec())).build()
}

/// A CIDR as EC2 writes it; EC2 clears host bits itself, so a set one is cleared here too.
fn cidr(text: &str) -> Option<Ipv4Cidr> {
    parse_cidr_lenient(text).ok().map(|(block, _)| block)
}

/// A port range from EC2's `FromPort`/`ToPort` (`-1` or absent: every port).
fn ports(from: Option<i32>, to: Option<i32>) -> Option<PortRange> {
    let (from, to) = (u16::try_from(from?).ok()?, u16::try_from(to?).ok()?);
    (from <= to).then_some(PortRange { from, to })
}

fn group_rules(permissions: &[IpPermission]) -> Vec<SecurityGroupRule> {
    let mut rules = Vec::new();
    for permission in permissions {
        let protocol = RuleProtocol::from_ec2(permission.ip_protocol().unwrap_or("-1"));
        let port_range = match protocol {
            RuleProtocol::Tcp | RuleProtocol::Udp => ports(permission.from_port(), permission.to_port()),
            _ => None,
        };
        let peers = permission
            .ip_ranges()
            .iter()
            .filter_map(|range| range.cidr_ip().and_then(cidr).map(RulePeer::Cidr))
            .chain(permission.ipv6_ranges().iter().filter_map(|range| range.cidr_ipv6().map(|c| RulePeer::Ipv6Cidr(c.to_owned()))))
            .chain(
                permission.prefix_list_ids().iter().filter_map(|list| list.prefix_list_id().map(|id| RulePeer::PrefixList(id.to_owned()))),
            )
            .chain(
                permission.user_id_group_pairs().iter().filter_map(|pair| pair.group_id().map(|id| RulePeer::SecurityGroup(id.to_owned()))),
            );
        rules.extend(peers.map(|peer| SecurityGroupRule { protocol: protocol.clone(), ports: port_range, peer }));
    }
    rules
}

fn acl_entry(entry: &aws_sdk_ec2::types::NetworkAclEntry) -> Option<AclEntry> {
    Some(AclEntry {
        rule_number: entry.rule_number()?,
        egress: entry.egress().unwrap_or(false),
        protocol: RuleProtocol::from_ec2(entry.protocol().unwrap_or("-1")),
        ports: entry.port_range().and_then(|range| ports(range.from(), range.to())),
        // An IPv6 entry has no IPv4 block, and never matches IPv4 traffic.
        cidr: entry.cidr_block().and_then(cidr),
        allow: entry.rule_action() == Some(&RuleAction::Allow),
    })
}

fn route(route: &aws_sdk_ec2::types::Route) -> Option<Route> {
    let destination = if let Some(block) = route.destination_cidr_block() {
        RouteDestination::Cidr(cidr(block)?)
    } else if let Some(list) = route.destination_prefix_list_id() {
        RouteDestination::PrefixList(list.to_owned())
    } else {
        RouteDestination::Ipv6(route.destination_ipv6_cidr_block().unwrap_or_default().to_owned())
    };
    let gateway = route.gateway_id().unwrap_or_default();
    let target = if gateway == "local" {
        RouteTarget::Local
    } else if gateway.starts_with("igw-") {
        RouteTarget::InternetGateway(gateway.to_owned())
    } else if gateway.starts_with("vgw-") {
        RouteTarget::VirtualPrivateGateway(gateway.to_owned())
    } else if let Some(id) = route.transit_gateway_id() {
        RouteTarget::TransitGateway(id.to_owned())
    } else if let Some(id) = route.vpc_peering_connection_id() {
        RouteTarget::PeeringConnection(id.to_owned())
    } else if let Some(id) = route.nat_gateway_id() {
        RouteTarget::NatGateway(id.to_owned())
    } else if let Some(id) = route.network_interface_id() {
        RouteTarget::NetworkInterface(id.to_owned())
    } else {
        let other = [gateway, route.instance_id().unwrap_or_default(), route.local_gateway_id().unwrap_or_default()];
        RouteTarget::Other(other.into_iter().find(|id| !id.is_empty()).unwrap_or("unknown").to_owned())
    };
    Some(Route { destination, target, active: route.state() != Some(&RouteState::Blackhole) })
}

fn route_table(table: &aws_sdk_ec2::types::RouteTable) -> RouteTable {
    RouteTable { id: table.route_table_id().unwrap_or_default().to_owned(), routes: table.routes().iter().filter_map(route).collect() }
}

impl NetworkReader for SdkNetwork {
    async fn network_snapshot(&self, vpc: &DirectoryVpc, security_group_id: &str) -> Result<NetworkSnapshot, WorkflowError> {
        let vpc_ids = [vpc.vpc_id.clone()];
        let mut vpc_cidrs = Vec::new();
        let mut pages = self.0.describe_vpcs().set_vpc_ids(Some(vpc_ids.to_vec())).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| classify_sdk_error("DescribeVpcs", error, plain))?;
            for found in page.vpcs() {
                let associated = found.cidr_block_association_set().iter().filter(|association| {
                    association.cidr_block_state().and_then(|state| state.state()).map(|state| state.as_str()) != Some("disassociated")
                });
                vpc_cidrs.extend(associated.filter_map(|association| association.cidr_block().and_then(cidr)));
                vpc_cidrs.extend(found.cidr_block().and_then(cidr));
            }
        }
        vpc_cidrs.sort();
        vpc_cidrs.dedup();

        let mut security_group = SecurityGroup { id: security_group_id.to_owned(), ingress: Vec::new(), egress: Vec::new() };
        let mut pages = self.0.describe_security_groups().group_ids(security_group_id).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|error| classify_sdk_error("DescribeSecurityGroups", error, plain))?;
            for group in page.security_groups().iter().filter(|group| group.group_id() == Some(security_group_id)) {
                security_group.ingress.extend(group_rules(group.ip_permissions()));
                security_group.egress.extend(group_rules(group.ip_permissions_egress()));
            }
        }

        // Every subnet is associated with exactly one network ACL (the default one unless another is).
        let mut acls = Vec::new();
        let mut pages = self.0.describe_network_acls().filters(filter("association.subnet-id", &vpc.subnet_ids)).into_paginator().send();
        while let Some(page) = pages.next().await {
            acls.extend(page.map_err(|error| classify_sdk_error("DescribeNetworkAcls", error, plain))?.network_acls().to_vec());
        }
        // A subnet without a route table of its own uses the VPC's main route table.
        let mut tables = Vec::new();
        let mut pages = self.0.describe_route_tables().filters(filter("vpc-id", &vpc_ids)).into_paginator().send();
        while let Some(page) = pages.next().await {
            tables.extend(page.map_err(|error| classify_sdk_error("DescribeRouteTables", error, plain))?.route_tables().to_vec());
        }
        let main_table = tables.iter().find(|table| table.associations().iter().any(|association| association.main() == Some(true)));

        let mut subnets = Vec::new();
        for subnet_id in &vpc.subnet_ids {
            let acl = acls.iter().find(|acl| acl.associations().iter().any(|association| association.subnet_id() == Some(subnet_id)));
            let table = tables
                .iter()
                .find(|table| table.associations().iter().any(|association| association.subnet_id() == Some(subnet_id)))
                .or(main_table);
            let (Some(acl), Some(table)) = (acl, table) else {
                return Err(WorkflowError::Internal(format!(
                    "EC2 shows no network ACL or route table for {subnet_id}, a subnet of the directory's VPC {}",
                    vpc.vpc_id
                )));
            };
            subnets.push(SubnetNetwork {
                subnet_id: subnet_id.clone(),
                network_acl: NetworkAcl {
                    id: acl.network_acl_id().unwrap_or_default().to_owned(),
                    entries: acl.entries().iter().filter_map(acl_entry).collect(),
                },
                route_table: route_table(table),
            });
        }
        Ok(NetworkSnapshot { vpc_id: vpc.vpc_id.clone(), vpc_cidrs, security_group, subnets })
    }
}
