//! Network pre-flight for a trust: finds the security group rule, network ACL entry or route that
//! would keep the directory's domain controllers and the remote domain's apart, before the trust is
//! created (CreateTrust would otherwise fail minutes later with "could not be contacted").
//!
//! Pure: an adapter reads the directory's security group and its subnets' network ACLs and route
//! tables with the EC2 Describe calls into a [`NetworkSnapshot`]; [`evaluate`] judges it against the
//! remote domain's networks and returns [`Finding`]s, each naming the console location and the AWS CLI
//! command that fixes it. It checks what the Systems Manager runbook `AWSSupport-TroubleshootDirectoryTrust`
//! checks, evaluated the way AWS evaluates it:
//!
//! - the security group, stateful: an ingress rule for each inbound flow, an egress rule for each outbound one;
//! - each subnet's network ACL, stateless: each flow and its replies on the ephemeral ports, first match by rule number;
//! - each subnet's route table: the most specific route to each remote network, which must not overlap the VPC.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An IPv4 CIDR block: a network address whose host bits are zero, and a prefix length of 0 to 32.
/// Written and serialised as `a.b.c.d/n`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    network: u32,
    prefix_len: u8,
}

/// The RFC 1918 private address blocks.
const PRIVATE_BLOCKS: [Ipv4Cidr; 3] = [
    Ipv4Cidr { network: 0x0A00_0000, prefix_len: 8 },
    Ipv4Cidr { network: 0xAC10_0000, prefix_len: 12 },
    Ipv4Cidr { network: 0xC0A8_0000, prefix_len: 16 },
];

/// The bits of an address that are the network's for a prefix length (at most 32).
fn network_mask(prefix_len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0)
}

impl Ipv4Cidr {
    /// The block `addr/prefix_len`, or `None` when the prefix length is over 32 or `addr` has host bits set.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Option<Self> {
        if prefix_len > 32 {
            return None;
        }
        let network = u32::from(addr);
        (network & !network_mask(prefix_len) == 0).then_some(Self { network, prefix_len })
    }

    /// The single address `addr/32`.
    pub fn host(addr: Ipv4Addr) -> Self {
        Self { network: u32::from(addr), prefix_len: 32 }
    }

    /// The block holding `addr` with that prefix length (at most 32): `addr` with its host bits cleared.
    fn masked(addr: u32, prefix_len: u8) -> Self {
        Self { network: addr & network_mask(prefix_len), prefix_len }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network)
    }

    /// The prefix length, 0 to 32.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The first address of the block, as a number.
    pub fn first(&self) -> u32 {
        self.network
    }

    /// The last address of the block, as a number.
    pub fn last(&self) -> u32 {
        self.network | !network_mask(self.prefix_len)
    }

    /// Whether every address of `other` is in this block.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        self.first() <= other.first() && other.last() <= self.last()
    }

    /// Whether the two blocks share an address (then one contains the other).
    pub fn overlaps(&self, other: &Ipv4Cidr) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// Whether the whole block is private address space (RFC 1918: 10/8, 172.16/12, 192.168/16).
    pub fn is_private(&self) -> bool {
        PRIVATE_BLOCKS.iter().any(|private| private.contains(self))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix_len)
    }
}

impl fmt::Debug for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ipv4Cidr({self})")
    }
}

/// Why a text is not an IPv4 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// Not of the form `a.b.c.d/n`. The text is not echoed: it may be anything a requester pasted.
    #[error("not an IPv4 CIDR block: expected a.b.c.d/n, four numbers 0-255 and a prefix length 0-32, in decimal without leading zeros")]
    Malformed,
    /// A well-formed address and prefix, but the address has bits set past the prefix.
    #[error("host bits set; did you mean {normalised}?")]
    HostBitsSet {
        /// The block the text most likely means: the address with its host bits cleared.
        normalised: Ipv4Cidr,
    },
}

/// A plain decimal number of 1 to `max_digits` digits. A leading zero is refused rather than read
/// as decimal: some tools read `010` as octal 8 (inet_aton), so its meaning is a guess.
fn plain_decimal(text: &str, max_digits: usize) -> Option<u32> {
    let plain =
        (1..=max_digits).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    if plain {
        text.parse().ok()
    } else {
        None
    }
}

/// The address and prefix length of `a.b.c.d/n`, host bits or not.
fn address_and_prefix(text: &str) -> Option<(u32, u8)> {
    let (address, prefix) = text.split_once('/')?;
    let mut octets = [0u8; 4];
    let mut parts = address.split('.');
    for octet in &mut octets {
        *octet = u8::try_from(plain_decimal(parts.next()?, 3)?).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let prefix_len = u8::try_from(plain_decimal(prefix, 2)?).ok().filter(|len| *len <= 32)?;
    Some((u32::from_be_bytes(octets), prefix_len))
}

impl FromStr for Ipv4Cidr {
    type Err = CidrError;

    /// Strict: exactly `a.b.c.d/n`, no spaces, no leading zeros, no host bits.
    fn from_str(text: &str) -> Result<Self, CidrError> {
        let (address, prefix_len) = address_and_prefix(text).ok_or(CidrError::Malformed)?;
        let normalised = Self::masked(address, prefix_len);
        if normalised.network == address {
            Ok(normalised)
        } else {
            Err(CidrError::HostBitsSet { normalised })
        }
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = CidrError;

    fn try_from(text: String) -> Result<Self, CidrError> {
        text.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(cidr: Ipv4Cidr) -> Self {
        cidr.to_string()
    }
}

/// Parses `a.b.c.d/n` clearing any host bits: the block, and whether bits had to be cleared
/// (`10.1.2.3/16` is `(10.1.0.0/16, true)`). Anything else malformed is still an error.
pub fn parse_cidr_lenient(text: &str) -> Result<(Ipv4Cidr, bool), CidrError> {
    match text.parse() {
        Ok(cidr) => Ok((cidr, false)),
        Err(CidrError::HostBitsSet { normalised }) => Ok((normalised, true)),
        Err(error) => Err(error),
    }
}

/// The protocol of a flow the trust needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (any type and code).
    Icmp,
    /// Every protocol.
    All,
}

impl Protocol {
    /// Whether the protocol has ports: TCP and UDP. ICMP has types and codes, which the check does
    /// not look at (the runbook requires all of ICMP).
    pub fn has_ports(self) -> bool {
        matches!(self, Self::Tcp | Self::Udp)
    }

    /// The EC2 API and CLI spelling.
    fn ec2_name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
            Self::Icmp => "icmp",
            Self::All => "-1",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Icmp => "ICMP",
            Self::All => "all",
        })
    }
}

/// A rule's protocol as EC2 reports it (`IpProtocol` of a security group rule, `Protocol` of a
/// network ACL entry): `-1` for all, a protocol number, or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RuleProtocol {
    /// `-1`: every protocol, every port.
    All,
    /// `6` or `tcp`.
    Tcp,
    /// `17` or `udp`.
    Udp,
    /// `1` or `icmp`.
    Icmp,
    /// Any other protocol (`50` is ESP, `58` ICMPv6), as reported: it never carries a flow the trust needs.
    Other(String),
}

impl RuleProtocol {
    /// Reads EC2's spelling: `-1`, `6`, `17`, `1`, or the names `tcp`, `udp`, `icmp` in any case.
    pub fn from_ec2(text: &str) -> Self {
        let text = text.trim();
        match text.to_ascii_lowercase().as_str() {
            "-1" => Self::All,
            "6" | "tcp" => Self::Tcp,
            "17" | "udp" => Self::Udp,
            "1" | "icmp" => Self::Icmp,
            _ => Self::Other(text.to_owned()),
        }
    }

    /// Whether a rule with this protocol applies to traffic of `protocol`. A rule for all protocols
    /// applies to everything; an all-protocol flow is only carried by such a rule.
    pub fn matches(&self, protocol: Protocol) -> bool {
        match self {
            Self::All => true,
            Self::Tcp => protocol == Protocol::Tcp,
            Self::Udp => protocol == Protocol::Udp,
            Self::Icmp => protocol == Protocol::Icmp,
            Self::Other(_) => false,
        }
    }

    /// The ports a rule covers. EC2 ignores a rule's port range unless its protocol is TCP or UDP
    /// (for ICMP the "ports" are a type and code, which the check does not look at), and a TCP or
    /// UDP rule without a range covers every port.
    fn covered_ports(&self, ports: Option<PortRange>) -> PortRange {
        match self {
            Self::Tcp | Self::Udp => ports.unwrap_or(PortRange::all()),
            _ => PortRange::all(),
        }
    }
}

/// An inclusive range of ports. A range whose `from` is above its `to` holds no port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortRange {
    /// The first port.
    pub from: u16,
    /// The last port.
    pub to: u16,
}

/// The ephemeral ports replies go to: the range the Amazon VPC User Guide ("Network ACLs",
/// "Ephemeral ports") tells network ACLs to allow, since clients pick theirs anywhere in it.
pub const EPHEMERAL_PORTS: PortRange = PortRange { from: 1024, to: 65535 };

impl PortRange {
    /// One port.
    pub const fn single(port: u16) -> Self {
        Self { from: port, to: port }
    }

    /// Every port, 0 to 65535.
    pub const fn all() -> Self {
        Self { from: 0, to: u16::MAX }
    }

    /// Whether `port` is in the range.
    pub fn contains_port(&self, port: u16) -> bool {
        self.from <= port && port <= self.to
    }

    /// The ports in both ranges, if any.
    fn intersection(self, other: PortRange) -> Option<PortRange> {
        let range = PortRange { from: self.from.max(other.from), to: self.to.min(other.to) };
        (range.from <= range.to).then_some(range)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{}", self.from)
        } else {
            write!(f, "{}-{}", self.from, self.to)
        }
    }
}

/// A port number computed in `u32` (where `to + 1` cannot overflow), back to `u16`. The callers
/// only pass values up to 65535; anything larger would be clamped, not wrapped.
fn port(value: u32) -> u16 {
    u16::try_from(value).unwrap_or(u16::MAX)
}

/// Sorted, overlapping and adjacent ranges merged: the same ports as the fewest ranges.
fn merge_ranges(mut ranges: Vec<PortRange>) -> Vec<PortRange> {
    ranges.retain(|range| range.from <= range.to);
    ranges.sort();
    let mut merged: Vec<PortRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if u32::from(range.from) <= u32::from(last.to) + 1 => last.to = last.to.max(range.to),
            _ => merged.push(range),
        }
    }
    merged
}

/// The ports of `needed` that none of `covering` covers, as sorted, separate ranges: adjacent
/// missing ports come out as one range (a missing 1024-65535 is one range, not 64 512 ports).
fn uncovered(needed: PortRange, covering: &[PortRange]) -> Vec<PortRange> {
    if needed.from > needed.to {
        return Vec::new();
    }
    let covered = merge_ranges(covering.iter().filter_map(|range| range.intersection(needed)).collect());
    let mut missing = Vec::new();
    // The first port of `needed` not yet known to be covered or missing.
    let mut next = u32::from(needed.from);
    for range in covered {
        if u32::from(range.from) > next {
            missing.push(PortRange { from: port(next), to: range.from - 1 });
        }
        next = u32::from(range.to) + 1;
    }
    if next <= u32::from(needed.to) {
        missing.push(PortRange { from: port(next), to: needed.to });
    }
    missing
}

/// The direction of traffic, seen from the directory's domain controllers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TrafficDirection {
    /// From the remote network to the directory.
    Inbound,
    /// From the directory to the remote network.
    Outbound,
}

impl TrafficDirection {
    /// The direction replies travel.
    fn reverse(self) -> Self {
        match self {
            Self::Inbound => Self::Outbound,
            Self::Outbound => Self::Inbound,
        }
    }

    /// How the remote network is named for traffic in this direction: "from" or "to".
    fn preposition(self) -> &'static str {
        match self {
            Self::Inbound => "from",
            Self::Outbound => "to",
        }
    }

    /// Inbound or Outbound, as the consoles title their rule tabs.
    fn console_tab(self) -> &'static str {
        match self {
            Self::Inbound => "Inbound rules",
            Self::Outbound => "Outbound rules",
        }
    }
}

impl fmt::Display for TrafficDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        })
    }
}

/// One flow a trust needs between the directory and the remote networks: for example inbound TCP 88
/// from the remote networks. The ports are the destination ports; an ICMP flow has every "port".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredFlow {
    /// Which way the connections go, seen from the directory.
    pub direction: TrafficDirection,
    /// The protocol.
    pub protocol: Protocol,
    /// The destination ports ([`PortRange::all`] for ICMP).
    pub ports: PortRange,
    /// What the trust uses the flow for.
    pub purpose: &'static str,
}

/// A service a trust uses on the domain controllers of both sides.
struct TrustService {
    protocol: Protocol,
    ports: PortRange,
    purpose: &'static str,
}

const fn service(protocol: Protocol, ports: PortRange, purpose: &'static str) -> TrustService {
    TrustService { protocol, ports, purpose }
}

// The services a trust uses, on the domain controllers of both sides: each side's controllers
// resolve, authenticate to and query the other's (DNS, Kerberos referrals, LDAP, RPC and SMB to
// verify the trust), so every one is a flow in both directions.
//
// | Protocol | Ports      | Service                                              |
// |----------|------------|------------------------------------------------------|
// | TCP, UDP | 53         | DNS                                                  |
// | TCP, UDP | 88         | Kerberos                                             |
// | UDP      | 123        | NTP (Kerberos needs clocks within 5 minutes)         |
// | TCP      | 135        | RPC endpoint mapper                                  |
// | UDP      | 138        | NetBIOS datagrams                                    |
// | TCP, UDP | 389        | LDAP, CLDAP (domain controller locator)              |
// | TCP, UDP | 445        | SMB (Netlogon, LSA and SAM named pipes)              |
// | TCP, UDP | 464        | Kerberos password change                             |
// | TCP      | 636        | LDAPS                                                |
// | TCP      | 1024-65535 | RPC dynamic ports; includes Global Catalog 3268-3269 |
// | ICMP     |            | ping, path MTU discovery                             |
//
// Sources:
// - AWS Systems Manager Automation runbook reference, "AWSSupport-TroubleshootDirectoryTrust"
//   (docs.aws.amazon.com/systems-manager-automation-runbooks/latest/userguide/automation-awssupport-troubleshootdirectorytrust.html):
//   the default of its RequiredTrafficACL parameter is exactly the table above inbound, and all
//   traffic outbound. The runbook checks the security group against RequiredTrafficSG.
// - AWS Directory Service Administration Guide, "Step 2: Prepare your AWS Managed Microsoft AD"
//   (tutorial "Create a trust relationship between your AWS Managed Microsoft AD and your
//   self-managed Active Directory domain"): TCP/UDP 53, 88, 389, 445, 464; UDP 123; TCP 135, 636,
//   3268-3269; the RPC ephemeral ports 49152-65535 (1024-65535 in the tutorial between two AWS
//   Managed Microsoft AD domains); all outbound.
// - AWS Directory Service Administration Guide, "Creating a trust relationship between your AWS
//   Managed Microsoft AD and self-managed AD", Prerequisites: the self-managed network's firewall
//   must open TCP/UDP 53, 88, 389 and TCP 445 to the directory's subnets, for the connections the
//   directory makes.
//
// Outbound the guides ask for all traffic; the check asks for the table, the traffic the trust
// makes, so that a security group allowing exactly the Active Directory ports is not reported. The
// tutorial's UDP 49152-65535 is left out with the runbook: RPC's dynamic ports are TCP.
const TRUST_SERVICES: [TrustService; 16] = [
    service(Protocol::Tcp, PortRange::single(53), "DNS"),
    service(Protocol::Udp, PortRange::single(53), "DNS"),
    service(Protocol::Tcp, PortRange::single(88), "Kerberos"),
    service(Protocol::Udp, PortRange::single(88), "Kerberos"),
    service(Protocol::Udp, PortRange::single(123), "NTP (Kerberos needs the clocks in step)"),
    service(Protocol::Tcp, PortRange::single(135), "the RPC endpoint mapper"),
    service(Protocol::Udp, PortRange::single(138), "NetBIOS datagrams"),
    service(Protocol::Tcp, PortRange::single(389), "LDAP"),
    service(Protocol::Udp, PortRange::single(389), "the domain controller locator (CLDAP)"),
    service(Protocol::Tcp, PortRange::single(445), "SMB (the Netlogon, LSA and SAM named pipes)"),
    service(Protocol::Udp, PortRange::single(445), "SMB"),
    service(Protocol::Tcp, PortRange::single(464), "Kerberos password changes"),
    service(Protocol::Udp, PortRange::single(464), "Kerberos password changes"),
    service(Protocol::Tcp, PortRange::single(636), "LDAPS"),
    service(Protocol::Tcp, EPHEMERAL_PORTS, "RPC's dynamic ports and the Global Catalog (3268-3269)"),
    service(Protocol::Icmp, PortRange::all(), "ICMP (ping and path MTU discovery)"),
];

/// Every trust service as an inbound flow, then every one as an outbound flow.
const fn both_directions(services: &[TrustService; 16]) -> [RequiredFlow; 32] {
    let placeholder = RequiredFlow { direction: TrafficDirection::Inbound, protocol: Protocol::All, ports: PortRange::all(), purpose: "" };
    let mut flows = [placeholder; 32];
    let mut index = 0;
    while index < services.len() {
        let TrustService { protocol, ports, purpose } = services[index];
        flows[index] = RequiredFlow { direction: TrafficDirection::Inbound, protocol, ports, purpose };
        flows[index + services.len()] = RequiredFlow { direction: TrafficDirection::Outbound, protocol, ports, purpose };
        index += 1;
    }
    flows
}

static REQUIRED_FLOWS: [RequiredFlow; 32] = both_directions(&TRUST_SERVICES);

/// The flows a trust needs, in both directions: the domain controllers on each side initiate
/// connections to the other side's. See the table in this module's source for the documents they
/// come from.
pub fn required_flows() -> &'static [RequiredFlow] {
    &REQUIRED_FLOWS
}

/// What the adapter read about the directory's network (every page of every Describe call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSnapshot {
    /// The directory's VPC.
    pub vpc_id: String,
    /// The VPC's IPv4 CIDR blocks (primary and secondary).
    pub vpc_cidrs: Vec<Ipv4Cidr>,
    /// The security group of the directory's domain controllers.
    pub security_group: SecurityGroup,
    /// The directory's subnets, with the network ACL and route table each is associated with.
    pub subnets: Vec<SubnetNetwork>,
}

/// A security group and its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// Inbound rules.
    pub ingress: Vec<SecurityGroupRule>,
    /// Outbound rules.
    pub egress: Vec<SecurityGroupRule>,
}

/// One security group rule: one protocol, port range and peer (EC2's `IpPermission`s split per peer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroupRule {
    /// The protocol.
    pub protocol: RuleProtocol,
    /// The ports; `None` for all ports.
    pub ports: Option<PortRange>,
    /// Where traffic may come from (ingress) or go to (egress).
    pub peer: RulePeer,
}

/// The other end of a security group rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RulePeer {
    /// An IPv4 block.
    Cidr(Ipv4Cidr),
    /// An IPv6 block: never matches IPv4 traffic.
    Ipv6Cidr(String),
    /// Another security group, `sg-…`: its members cannot be seen from here.
    SecurityGroup(String),
    /// A managed prefix list, `pl-…`: its entries cannot be seen from here.
    PrefixList(String),
}

/// One of the directory's subnets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubnetNetwork {
    /// `subnet-…`.
    pub subnet_id: String,
    /// The network ACL associated with the subnet.
    pub network_acl: NetworkAcl,
    /// The route table associated with the subnet (its own, or the VPC's main one).
    pub route_table: RouteTable,
}

/// A network ACL and its entries, both directions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAcl {
    /// `acl-…`.
    pub id: String,
    /// The entries, in any order (the default `*` deny entries may be left out: they are implied).
    pub entries: Vec<AclEntry>,
}

/// One network ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AclEntry {
    /// The rule number: entries are evaluated from the lowest.
    pub rule_number: i32,
    /// Whether the entry is for outbound traffic.
    pub egress: bool,
    /// The protocol.
    pub protocol: RuleProtocol,
    /// The destination ports; `None` for all ports.
    pub ports: Option<PortRange>,
    /// The remote IPv4 block; `None` for an IPv6 entry, which never matches IPv4 traffic.
    pub cidr: Option<Ipv4Cidr>,
    /// Allow, or deny.
    pub allow: bool,
}

/// A route table and its routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTable {
    /// `rtb-…`.
    pub id: String,
    /// The routes.
    pub routes: Vec<Route>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    /// Where it leads.
    pub destination: RouteDestination,
    /// Where it sends the traffic.
    pub target: RouteTarget,
    /// `false` for a blackhole route (its target is gone): the traffic it matches is dropped.
    pub active: bool,
}

/// A route's destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RouteDestination {
    /// An IPv4 block.
    Cidr(Ipv4Cidr),
    /// A managed prefix list, `pl-…`.
    PrefixList(String),
    /// An IPv6 block.
    Ipv6(String),
}

/// A route's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RouteTarget {
    /// The VPC itself.
    Local,
    /// An internet gateway, `igw-…`.
    InternetGateway(String),
    /// A virtual private gateway (Site-to-Site VPN, Direct Connect), `vgw-…`.
    VirtualPrivateGateway(String),
    /// A transit gateway, `tgw-…`.
    TransitGateway(String),
    /// A VPC peering connection, `pcx-…`.
    PeeringConnection(String),
    /// A network interface (a VPN or firewall appliance), `eni-…`.
    NetworkInterface(String),
    /// A NAT gateway, `nat-…`.
    NatGateway(String),
    /// Anything else (a carrier or egress-only gateway, a Gateway Load Balancer endpoint, …).
    Other(String),
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local => f.write_str("local"),
            Self::InternetGateway(id) => write!(f, "the internet gateway {id}"),
            Self::VirtualPrivateGateway(id) => write!(f, "the virtual private gateway {id}"),
            Self::TransitGateway(id) => write!(f, "the transit gateway {id}"),
            Self::PeeringConnection(id) => write!(f, "the peering connection {id}"),
            Self::NetworkInterface(id) => write!(f, "the network interface {id}"),
            Self::NatGateway(id) => write!(f, "the NAT gateway {id}"),
            Self::Other(id) => f.write_str(id),
        }
    }
}

/// How sure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The traffic is stopped.
    Fail,
    /// The traffic depends on something the check cannot see (a referenced security group's
    /// members, a prefix list's entries).
    CannotTell,
}

/// Which part of the network a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckKind {
    /// The directory's security group.
    SecurityGroup,
    /// A subnet's network ACL.
    NetworkAcl,
    /// A subnet's route table.
    RouteTable,
    /// The remote networks against the VPC's addresses.
    AddressOverlap,
}

/// One thing that would stop the trust (or that the check cannot judge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Whether it stops the trust, or cannot be judged.
    pub verdict: Verdict,
    /// Which check found it.
    pub check: CheckKind,
    /// What to change: `sg-…`, `acl-… rule 90` (`acl-… rule *` for the implicit deny), `rtb-…`, `vpc-…`.
    pub resource: String,
    /// The subnet whose network ACL or route table it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// The direction of the stopped traffic, seen from the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<TrafficDirection>,
    /// The protocol of the stopped traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Its destination ports (one contiguous range); `None` for ICMP, and for routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortRange>,
    /// The remote network it concerns.
    pub remote_network: Ipv4Cidr,
    /// What is wrong, in one sentence.
    pub problem: String,
    /// Where to fix it in the console, and the AWS CLI command that does.
    pub fix: String,
}

impl Finding {
    /// Whether the finding stops the trust (not merely cannot be judged).
    pub fn blocks(&self) -> bool {
        self.verdict == Verdict::Fail
    }
}

/// Judges the directory's network against the remote domain's networks: the security group, then
/// each subnet's network ACL and route table. Findings come sorted (by check, subnet, resource,
/// remote network, direction, protocol, ports), one per resource, direction, protocol, contiguous
/// range of stopped ports and remote network. No remote networks, nothing to judge: no findings.
pub fn evaluate(snapshot: &NetworkSnapshot, remote_networks: &[Ipv4Cidr], region: &str) -> Vec<Finding> {
    let mut remotes = remote_networks.to_vec();
    remotes.sort();
    remotes.dedup();
    let mut findings = Vec::new();
    for &remote in &remotes {
        check_security_group(&snapshot.security_group, remote, region, &mut findings);
        for subnet in &snapshot.subnets {
            check_network_acl(subnet, remote, region, &mut findings);
        }
        // Traffic to a network overlapping the VPC stays in the VPC: the route tables do not matter.
        if !check_address_overlap(snapshot, remote, region, &mut findings) {
            for subnet in &snapshot.subnets {
                check_route_table(subnet, &snapshot.vpc_id, remote, region, &mut findings);
            }
        }
    }
    findings.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    findings.dedup();
    findings
}

type SortKey<'a> =
    (CheckKind, Option<&'a str>, &'a str, Ipv4Cidr, Option<TrafficDirection>, Option<Protocol>, Option<PortRange>, Verdict, &'a str);

fn sort_key(finding: &Finding) -> SortKey<'_> {
    (
        finding.check,
        finding.subnet_id.as_deref(),
        &finding.resource,
        finding.remote_network,
        finding.direction,
        finding.protocol,
        finding.ports,
        finding.verdict,
        &finding.problem,
    )
}

/// Traffic one check must find allowed: one direction and protocol, its ports merged into separate
/// ranges, and what each range is for.
struct Need {
    direction: TrafficDirection,
    protocol: Protocol,
    ports: Vec<PortRange>,
    purposes: Vec<(PortRange, String)>,
}

impl Need {
    /// What the ports of `range` are for, as a list.
    fn purpose_of(&self, range: PortRange) -> String {
        let mut purposes: Vec<&str> = Vec::new();
        for (ports, purpose) in &self.purposes {
            if ports.intersection(range).is_some() && !purposes.contains(&purpose.as_str()) {
                purposes.push(purpose);
            }
        }
        purposes.join("; ")
    }
}

/// The traffic grouped by direction and protocol, with overlapping and adjacent ports merged, so
/// that one stopped range is one finding whatever flows it serves.
fn needs(traffic: impl IntoIterator<Item = (TrafficDirection, Protocol, PortRange, String)>) -> Vec<Need> {
    let mut grouped: BTreeMap<(TrafficDirection, Protocol), Vec<(PortRange, String)>> = BTreeMap::new();
    for (direction, protocol, ports, purpose) in traffic {
        grouped.entry((direction, protocol)).or_default().push((ports, purpose));
    }
    grouped
        .into_iter()
        .map(|((direction, protocol), purposes)| Need {
            direction,
            protocol,
            ports: merge_ranges(purposes.iter().map(|(ports, _)| *ports).collect()),
            purposes,
        })
        .collect()
}

/// A security group is stateful: replies to allowed traffic are allowed, so only the flows themselves count.
fn security_group_needs() -> Vec<Need> {
    needs(required_flows().iter().map(|flow| (flow.direction, flow.protocol, flow.ports, flow.purpose.to_owned())))
}

/// A network ACL is stateless: each flow, and its replies, which go back to the ephemeral port the
/// connection came from.
fn network_acl_needs() -> Vec<Need> {
    needs(required_flows().iter().flat_map(|flow| {
        let replies = if flow.protocol.has_ports() { EPHEMERAL_PORTS } else { PortRange::all() };
        let reply_purpose = format!("replies to the {} {} traffic (network ACLs are stateless)", flow.direction, flow.protocol);
        [
            (flow.direction, flow.protocol, flow.ports, flow.purpose.to_owned()),
            (flow.direction.reverse(), flow.protocol, replies, reply_purpose),
        ]
    }))
}

/// `TCP 445`, `UDP 1024-65535`, `ICMP`.
fn describe_traffic(protocol: Protocol, ports: PortRange) -> String {
    match protocol {
        Protocol::All => "all traffic".to_owned(),
        _ if protocol.has_ports() => format!("{protocol} {ports}"),
        _ => protocol.to_string(),
    }
}

/// The ports a finding reports: none for a protocol without ports.
fn reported_ports(protocol: Protocol, ports: PortRange) -> Option<PortRange> {
    protocol.has_ports().then_some(ports)
}

fn check_security_group(group: &SecurityGroup, remote: Ipv4Cidr, region: &str, findings: &mut Vec<Finding>) {
    for need in security_group_needs() {
        let rules = match need.direction {
            TrafficDirection::Inbound => &group.ingress,
            TrafficDirection::Outbound => &group.egress,
        };
        let carrying = || rules.iter().filter(|rule| rule.protocol.matches(need.protocol));
        // A rule counts only when it allows the whole remote network: the remote domain controllers
        // may be anywhere in it.
        let allowed: Vec<PortRange> = carrying()
            .filter(|rule| matches!(rule.peer, RulePeer::Cidr(cidr) if cidr.contains(&remote)))
            .map(|rule| rule.protocol.covered_ports(rule.ports))
            .collect();
        let references: Vec<(&str, PortRange)> = carrying()
            .filter_map(|rule| match &rule.peer {
                RulePeer::SecurityGroup(id) | RulePeer::PrefixList(id) => Some((id.as_str(), rule.protocol.covered_ports(rule.ports))),
                RulePeer::Cidr(_) | RulePeer::Ipv6Cidr(_) => None,
            })
            .collect();
        let referenced: Vec<PortRange> = references.iter().map(|(_, ports)| *ports).collect();
        for &needed in &need.ports {
            for missing in uncovered(needed, &allowed) {
                let unreferenced = uncovered(missing, &referenced);
                for stopped in &unreferenced {
                    findings.push(security_group_finding(group, &need, *stopped, remote, region, None));
                }
                for unknown in uncovered(missing, &unreferenced) {
                    let mut ids: Vec<&str> =
                        references.iter().filter(|(_, ports)| ports.intersection(unknown).is_some()).map(|(id, _)| *id).collect();
                    ids.sort_unstable();
                    ids.dedup();
                    findings.push(security_group_finding(group, &need, unknown, remote, region, Some(&ids)));
                }
            }
        }
    }
}

/// A security group finding: `references` names the referenced groups and prefix lists a
/// [`Verdict::CannotTell`] depends on; `None` is a [`Verdict::Fail`].
fn security_group_finding(
    group: &SecurityGroup,
    need: &Need,
    ports: PortRange,
    remote: Ipv4Cidr,
    region: &str,
    references: Option<&[&str]>,
) -> Finding {
    let traffic = describe_traffic(need.protocol, ports);
    let (direction, preposition) = (need.direction, need.direction.preposition());
    let (verdict, problem) = match references {
        None => (
            Verdict::Fail,
            format!(
                "No {direction} rule of {} allows {traffic} {preposition} all of {remote}, which the trust needs for {}.",
                group.id,
                need.purpose_of(ports)
            ),
        ),
        Some(ids) => (
            Verdict::CannotTell,
            format!(
                "Only a rule that references {} allows {direction} {traffic} {preposition} {remote}, whose members the check cannot see.",
                ids.join(" / ")
            ),
        ),
    };
    let verb = match direction {
        TrafficDirection::Inbound => "ingress",
        TrafficDirection::Outbound => "egress",
    };
    let (from_port, to_port) = if need.protocol.has_ports() { (i32::from(ports.from), i32::from(ports.to)) } else { (-1, -1) };
    let command = format!(
        "aws ec2 authorize-security-group-{verb} --region {region} --group-id {} \
         --ip-permissions 'IpProtocol={},FromPort={from_port},ToPort={to_port},IpRanges=[{{CidrIp={remote}}}]'",
        group.id,
        need.protocol.ec2_name(),
    );
    let console = format!("EC2 console > Security Groups > {} > {}", group.id, direction.console_tab());
    let fix = match references {
        None => format!("In the {console}, add a rule allowing {traffic} {preposition} {remote}, or run: `{command}`"),
        Some(ids) => {
            format!("Check that {} cover all of {remote}, or allow it by address in the {console}, or run: `{command}`", ids.join(" and "))
        }
    };
    Finding {
        verdict,
        check: CheckKind::SecurityGroup,
        resource: group.id.clone(),
        subnet_id: None,
        direction: Some(direction),
        protocol: Some(need.protocol),
        ports: reported_ports(need.protocol, ports),
        remote_network: remote,
        problem,
        fix,
    }
}

/// What a network ACL does with traffic of one protocol to one port, for the whole remote network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AclDecision {
    /// Every address of the remote network is allowed.
    Allowed,
    /// Some or all are denied: by the entry `rule`, or by the implicit deny (`None`). `only_part`
    /// is the denying entry's block when it is only part of the remote network.
    Denied { rule: Option<i32>, only_part: Option<Ipv4Cidr> },
}

/// Addresses as sorted, separate inclusive ranges: the part of the remote network no entry has decided for.
type AddressRanges = Vec<(u32, u32)>;

fn touches(ranges: &AddressRanges, cidr: &Ipv4Cidr) -> bool {
    ranges.iter().any(|&(first, last)| first <= cidr.last() && cidr.first() <= last)
}

fn without(ranges: &AddressRanges, cidr: &Ipv4Cidr) -> AddressRanges {
    let mut rest = Vec::with_capacity(ranges.len() + 1);
    for &(first, last) in ranges {
        if first < cidr.first() {
            rest.push((first, last.min(cidr.first() - 1)));
        }
        if last > cidr.last() {
            rest.push((first.max(cidr.last() + 1), last));
        }
    }
    rest
}

/// The entries that can apply to traffic of `protocol` between the directory and `remote`, in the
/// order AWS evaluates them, each with the ports it covers.
fn applicable_entries(
    acl: &NetworkAcl,
    direction: TrafficDirection,
    protocol: Protocol,
    remote: Ipv4Cidr,
) -> Vec<(&AclEntry, Ipv4Cidr, PortRange)> {
    let egress = direction == TrafficDirection::Outbound;
    let mut entries: Vec<(&AclEntry, Ipv4Cidr, PortRange)> = acl
        .entries
        .iter()
        .filter(|entry| entry.egress == egress && entry.protocol.matches(protocol))
        .filter_map(|entry| {
            let cidr = entry.cidr.filter(|cidr| cidr.overlaps(&remote))?;
            Some((entry, cidr, entry.protocol.covered_ports(entry.ports)))
        })
        .collect();
    // Stable: should an ACL list a rule number twice, the first listed stays first.
    entries.sort_by_key(|(entry, _, _)| entry.rule_number);
    entries
}

/// First match wins, per remote address. An entry for the whole remote network decides for all of
/// it; one for part of it decides for that part only: a deny there denies some remote hosts (a
/// failure), an allow leaves the rest to later entries, and whatever no entry allows meets the
/// implicit deny.
fn decide(entries: &[(&AclEntry, Ipv4Cidr, PortRange)], port: u16, remote: Ipv4Cidr) -> AclDecision {
    let mut undecided: AddressRanges = vec![(remote.first(), remote.last())];
    for (entry, cidr, ports) in entries {
        if !ports.contains_port(port) || !touches(&undecided, cidr) {
            continue;
        }
        if !entry.allow {
            return AclDecision::Denied { rule: Some(entry.rule_number), only_part: (!cidr.contains(&remote)).then_some(*cidr) };
        }
        undecided = without(&undecided, cidr);
        if undecided.is_empty() {
            return AclDecision::Allowed;
        }
    }
    AclDecision::Denied { rule: None, only_part: None }
}

/// What the network ACL does with each port of `needed`, as contiguous ranges with one decision each.
/// The port space is cut where an applicable entry's range starts or ends: inside a piece every entry
/// holds all ports or none, so one port decides for the piece, whatever the number of ports.
fn acl_decisions(
    acl: &NetworkAcl,
    direction: TrafficDirection,
    protocol: Protocol,
    needed: PortRange,
    remote: Ipv4Cidr,
) -> Vec<(PortRange, AclDecision)> {
    if needed.from > needed.to {
        return Vec::new();
    }
    let entries = applicable_entries(acl, direction, protocol, remote);
    let mut cuts = vec![u32::from(needed.from), u32::from(needed.to) + 1];
    for ports in entries.iter().filter_map(|(_, _, ports)| ports.intersection(needed)) {
        cuts.extend([u32::from(ports.from), u32::from(ports.to) + 1]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut decisions: Vec<(PortRange, AclDecision)> = Vec::new();
    for piece in cuts.windows(2) {
        let ports = PortRange { from: port(piece[0]), to: port(piece[1] - 1) };
        let decision = decide(&entries, ports.from, remote);
        match decisions.last_mut() {
            Some((last, previous)) if *previous == decision => last.to = ports.to,
            _ => decisions.push((ports, decision)),
        }
    }
    decisions
}

fn check_network_acl(subnet: &SubnetNetwork, remote: Ipv4Cidr, region: &str, findings: &mut Vec<Finding>) {
    for need in network_acl_needs() {
        for &needed in &need.ports {
            for (ports, decision) in acl_decisions(&subnet.network_acl, need.direction, need.protocol, needed, remote) {
                if let AclDecision::Denied { rule, only_part } = decision {
                    findings.push(network_acl_finding(subnet, &need, ports, remote, region, rule, only_part));
                }
            }
        }
    }
}

/// A rule number for a new allow entry that AWS evaluates before the entry `below` (any free number
/// when the implicit deny decided: no entry denied, so any position works), if one is free.
fn free_rule_number(acl: &NetworkAcl, egress: bool, below: Option<i32>) -> Option<i32> {
    let used = |number: i32| acl.entries.iter().any(|entry| entry.egress == egress && entry.rule_number == number);
    match below {
        Some(denying) => (1..denying.min(32767)).rev().find(|number| !used(*number)),
        None => (1..=327).map(|hundreds| hundreds * 100).chain(1..=32766).find(|number| !used(*number)),
    }
}

fn network_acl_finding(
    subnet: &SubnetNetwork,
    need: &Need,
    ports: PortRange,
    remote: Ipv4Cidr,
    region: &str,
    rule: Option<i32>,
    only_part: Option<Ipv4Cidr>,
) -> Finding {
    let acl = &subnet.network_acl;
    let traffic = describe_traffic(need.protocol, ports);
    let (direction, preposition) = (need.direction, need.direction.preposition());
    let purpose = need.purpose_of(ports);
    let problem = match (rule, only_part) {
        (Some(number), Some(part)) => format!(
            "{} rule {number} denies {direction} {traffic} {preposition} {part}, part of {remote}, which the trust needs for {purpose}.",
            acl.id
        ),
        (Some(number), None) => {
            format!("{} rule {number} denies {direction} {traffic} {preposition} {remote}, which the trust needs for {purpose}.", acl.id)
        }
        (None, _) => format!(
            "No rule of {} allows {direction} {traffic} {preposition} all of {remote}, so the implicit deny (rule *) applies; \
             the trust needs it for {purpose}.",
            acl.id
        ),
    };
    let egress = direction == TrafficDirection::Outbound;
    let number = free_rule_number(acl, egress, rule).map_or_else(
        || match rule {
            Some(denying) => format!("<a free rule number below {denying}: renumber>"),
            None => "<a free rule number>".to_owned(),
        },
        |number| number.to_string(),
    );
    let ports_option = match need.protocol {
        Protocol::Tcp | Protocol::Udp => format!(" --port-range From={},To={}", ports.from, ports.to),
        Protocol::Icmp => " --icmp-type-code Type=-1,Code=-1".to_owned(),
        Protocol::All => String::new(),
    };
    let command = format!(
        "aws ec2 create-network-acl-entry --region {region} --network-acl-id {} --{} --rule-number {number} \
         --protocol {}{ports_option} --cidr-block {remote} --rule-action allow",
        acl.id,
        if egress { "egress" } else { "ingress" },
        need.protocol.ec2_name(),
    );
    let position = rule.map_or_else(String::new, |denying| format!(" numbered below {denying}"));
    let fix = format!(
        "In the VPC console > Network ACLs > {} > {}, add an allow rule for {traffic} {preposition} {remote}{position}, \
         or run: `{command}`",
        acl.id,
        direction.console_tab()
    );
    Finding {
        verdict: Verdict::Fail,
        check: CheckKind::NetworkAcl,
        resource: format!("{} rule {}", acl.id, rule.map_or_else(|| "*".to_owned(), |number| number.to_string())),
        subnet_id: Some(subnet.subnet_id.clone()),
        direction: Some(direction),
        protocol: Some(need.protocol),
        ports: reported_ports(need.protocol, ports),
        remote_network: remote,
        problem,
        fix,
    }
}

/// Reports a remote network overlapping the VPC's addresses; whether it does.
fn check_address_overlap(snapshot: &NetworkSnapshot, remote: Ipv4Cidr, region: &str, findings: &mut Vec<Finding>) -> bool {
    let overlapping: Vec<String> = snapshot.vpc_cidrs.iter().filter(|cidr| cidr.overlaps(&remote)).map(ToString::to_string).collect();
    if overlapping.is_empty() {
        return false;
    }
    let vpc = &snapshot.vpc_id;
    findings.push(Finding {
        verdict: Verdict::Fail,
        check: CheckKind::AddressOverlap,
        resource: vpc.clone(),
        subnet_id: None,
        direction: None,
        protocol: None,
        ports: None,
        remote_network: remote,
        problem: format!(
            "{remote} overlaps {} of the VPC {vpc}: the directory routes those addresses locally, so they never reach the remote domain.",
            overlapping.join(", ")
        ),
        fix: overlap_fix(vpc, region),
    });
    true
}

fn overlap_fix(vpc: &str, region: &str) -> String {
    format!(
        "The remote domain's networks must not overlap the VPC's: check the networks given for the remote domain against \
         the VPC console > Your VPCs > {vpc} > CIDRs (or `aws ec2 describe-vpcs --region {region} --vpc-ids {vpc} \
         --query 'Vpcs[].CidrBlockAssociationSet[].CidrBlock'`); if they are right, the directory needs a VPC whose addresses \
         do not overlap them."
    )
}

/// Why a route for `traffic` does not take it to the remote network, if it does not: what the route
/// does, phrased to follow "which".
fn misroutes(route: &Route, traffic: Ipv4Cidr) -> Option<String> {
    if !route.active {
        return Some(format!("is a blackhole: its target, {}, is gone, so the traffic is dropped", route.target));
    }
    match &route.target {
        RouteTarget::Local => Some("leads to the VPC itself (local): the addresses overlap the VPC's, so they never leave it".to_owned()),
        RouteTarget::InternetGateway(_) | RouteTarget::NatGateway(_) if traffic.is_private() => {
            Some(format!("leads to {}: private addresses sent there never reach the on-premises network", route.target))
        }
        _ => None,
    }
}

fn check_route_table(subnet: &SubnetNetwork, vpc: &str, remote: Ipv4Cidr, region: &str, findings: &mut Vec<Finding>) {
    let table = &subnet.route_table;
    let cidr_routes: Vec<(Ipv4Cidr, &Route)> = table
        .routes
        .iter()
        .filter_map(|route| match route.destination {
            RouteDestination::Cidr(cidr) => Some((cidr, route)),
            RouteDestination::PrefixList(_) | RouteDestination::Ipv6(_) => None,
        })
        .collect();
    let route_finding = |verdict: Verdict, problem: String, fix: String| Finding {
        verdict,
        check: CheckKind::RouteTable,
        resource: table.id.clone(),
        subnet_id: Some(subnet.subnet_id.clone()),
        direction: None,
        protocol: None,
        ports: None,
        remote_network: remote,
        problem,
        fix,
    };
    let route_fix = |traffic: Ipv4Cidr| {
        // A route for exactly these addresses exists (a wrong one): replace it; otherwise add one,
        // which wins over the wider route by being more specific.
        let verb = if cidr_routes.iter().any(|(destination, _)| *destination == traffic) { "replace" } else { "create" };
        format!(
            "In the VPC console > Route tables > {} > Routes, route {traffic} to your virtual private gateway, transit gateway \
             or VPN appliance, or run: `aws ec2 {verb}-route --region {region} --route-table-id {} --destination-cidr-block {traffic} \
             --transit-gateway-id <your-transit-gateway-id>` (or `--gateway-id <your-virtual-private-gateway-id>`, \
             or `--network-interface-id <your-vpn-appliance-eni>`).",
            table.id, table.id
        )
    };
    // Longest prefix match: the most specific route holding the whole remote network decides, even a
    // blackhole one (AWS drops the traffic, it does not fall back to a wider route).
    let best =
        cidr_routes.iter().filter(|(destination, _)| destination.contains(&remote)).max_by_key(|(destination, _)| destination.prefix_len());
    match best {
        None => {
            let lists: Vec<&str> = table
                .routes
                .iter()
                .filter_map(|route| match &route.destination {
                    RouteDestination::PrefixList(id) => Some(id.as_str()),
                    RouteDestination::Cidr(_) | RouteDestination::Ipv6(_) => None,
                })
                .collect();
            if lists.is_empty() {
                findings.push(route_finding(
                    Verdict::Fail,
                    format!("{} has no route to all of {remote}; traffic to it is dropped.", table.id),
                    route_fix(remote),
                ));
            } else {
                findings.push(route_finding(
                    Verdict::CannotTell,
                    format!(
                        "{} has no route to all of {remote} but routes to the prefix list {}, whose entries the check cannot see.",
                        table.id,
                        lists.join(", ")
                    ),
                    format!(
                        "Check that {} holds all of {remote} and leads to the remote network; otherwise: {}",
                        lists.join(" or "),
                        route_fix(remote)
                    ),
                ));
            }
        }
        Some((destination, route)) => {
            if let Some(why) = misroutes(route, remote) {
                let fix = if route.target == RouteTarget::Local && route.active { overlap_fix(vpc, region) } else { route_fix(remote) };
                findings.push(route_finding(
                    Verdict::Fail,
                    format!("{} sends {remote} by its route {destination}, which {why}.", table.id),
                    fix,
                ));
            }
        }
    }
    // A more specific route inside the remote network takes that part of it elsewhere.
    for (destination, route) in
        cidr_routes.iter().filter(|(destination, _)| remote.contains(destination) && destination.prefix_len() > remote.prefix_len())
    {
        if let Some(why) = misroutes(route, *destination) {
            findings.push(route_finding(
                Verdict::Fail,
                format!("{} sends {destination}, part of {remote}, by its route {destination}, which {why}.", table.id),
                route_fix(*destination),
            ));
        }
    }
}

#[cfg(test)]
mod tests;
