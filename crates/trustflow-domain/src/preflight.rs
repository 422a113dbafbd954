//! The network pre-flight as the workflow uses it: which networks it judges, and how its findings
//! reach the requester (a rejection's violations, or warnings in the plan). The evaluation itself is
//! in [`crate::network`].

use crate::error::Violation;
use crate::network::{CheckKind, Finding, Ipv4Cidr};
use crate::request::TrustRequest;

/// The remote networks to judge: the request's `remoteDomainCidrs`, and each IPv4 forwarder address
/// (the request's, or the directory's existing forwarder's when the request relies on it) as a /32
/// that no listed block already holds. IPv6 addresses are not judged: the check reads IPv4 rules.
pub fn remote_networks(request: &TrustRequest, existing_forwarder: Option<&[String]>) -> Vec<Ipv4Cidr> {
    let mut networks = request.remote_domain_cidrs.clone();
    let forwarders: Vec<std::net::Ipv4Addr> = if request.conditional_forwarder_ip_addrs.is_empty() {
        existing_forwarder.unwrap_or_default().iter().filter_map(|address| address.parse().ok()).collect()
    } else {
        request.conditional_forwarder_ip_addrs.clone()
    };
    for address in forwarders {
        let host = Ipv4Cidr::host(address);
        if !networks.iter().any(|network| network.contains(&host)) {
            networks.push(host);
        }
    }
    networks
}

/// The field a finding is reported under: `network.securityGroup`, `network.networkAcl`,
/// `network.routeTable` or `network.addressOverlap`.
pub fn finding_field(finding: &Finding) -> &'static str {
    match finding.check {
        CheckKind::SecurityGroup => "network.securityGroup",
        CheckKind::NetworkAcl => "network.networkAcl",
        CheckKind::RouteTable => "network.routeTable",
        CheckKind::AddressOverlap => "network.addressOverlap",
    }
}

/// The findings that stop the trust, as the violations of a rejection: the field names the check,
/// the rule says what is wrong and how to fix it, the value is the resource to change.
pub fn blocking_violations(findings: &[Finding]) -> Vec<Violation> {
    findings
        .iter()
        .filter(|finding| finding.blocks())
        .map(|finding| Violation::new(finding_field(finding), format!("{} Fix: {}", finding.problem, finding.fix), &finding.resource))
        .collect()
}

/// One line per finding, for a notification: what, where, and the fix.
pub fn describe(finding: &Finding) -> String {
    let verdict = if finding.blocks() { "blocks" } else { "cannot tell" };
    format!("[{verdict}] {} ({}) Fix: {}", finding.problem, finding.resource, finding.fix)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::request::parse_request;

    fn request(extra: serde_json::Value) -> TrustRequest {
        let mut body = json!({
            "requestId": "R-1", "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com",
            "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["10.20.0.53", "192.168.7.53"],
            "trustPassword": {"secretId": "s"}
        });
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        parse_request(&body).expect("valid request")
    }

    fn cidr(text: &str) -> Ipv4Cidr {
        text.parse().expect("cidr")
    }

    #[test]
    fn the_remote_networks_are_the_listed_blocks_and_the_forwarders_they_do_not_hold() {
        let networks = remote_networks(&request(json!({"remoteDomainCidrs": ["10.20.0.0/16"]})), None);
        assert_eq!(networks, [cidr("10.20.0.0/16"), cidr("192.168.7.53/32")]);
    }

    #[test]
    fn a_request_relying_on_the_forwarder_is_judged_against_the_forwarders_addresses() {
        let relying = request(json!({"conditionalForwarderIpAddrs": null}));
        let existing = ["172.16.1.53".to_owned(), "fd00::53".to_owned()];
        assert_eq!(remote_networks(&relying, Some(&existing)), [cidr("172.16.1.53/32")]);
        assert_eq!(remote_networks(&relying, None), []);
    }
}
