//! Directory Service status reasons (`TrustStateReason`) turned into remedies a requester can act on.
//! The reasons and what they mean follow the AWS Directory Service Administration Guide, "Trust
//! creation status reasons".

use serde::{Deserialize, Serialize};

/// The Systems Manager runbook AWS provides for diagnosing trusts.
pub const TROUBLESHOOT_RUNBOOK: &str = "AWSSupport-TroubleshootDirectoryTrust";

/// What a status reason means and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Remedy {
    /// A stable code for the cause: `access-denied`, `domain-unreachable`, `netbios-overlap`,
    /// `invalid-domain-name`, or `unknown`.
    pub code: String,
    /// What the reason means.
    pub meaning: String,
    /// What the requester should do.
    pub action: String,
}

struct KnownReason {
    needles: &'static [&'static str],
    code: &'static str,
    meaning: &'static str,
    action: &'static str,
}

const KNOWN_REASONS: &[KnownReason] = &[
    KnownReason {
        needles: &["access is denied"],
        code: "access-denied",
        meaning: "The trust password differs between the two sides, or the remote domain's security settings block the trust.",
        action: "Use the same trust password on both sides. Check the remote domain's security settings: the local policy \"Network access: Named Pipes that can be accessed anonymously\" and HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters\\NullSessionPipes must include netlogon, samr and lsarpc. Both domains should have the same first site name (Default-First-Site-Name).",
    },
    KnownReason {
        needles: &["does not exist or could not be contacted"],
        code: "domain-unreachable",
        meaning: "The directory could not find or reach the remote domain's controllers (DNS or network).",
        action: "Check the directory security group's outbound rules and the network ACLs (TCP/UDP 53, 88, 389 and TCP 445 to the remote domain controllers), the conditional forwarder IP addresses, and add an IP route (AddIpRoutes) for DNS servers outside RFC 1918 ranges. Both domains should have the same default AD site name. A cached earlier forwarder can cause this: wait a few minutes and retry.",
    },
    KnownReason {
        needles: &["operation could not be performed on this domain"],
        code: "netbios-overlap",
        meaning: "The two domains have overlapping NetBIOS names.",
        action: "One of the domains must be recreated with a different NetBIOS name; a trust between the two cannot be created as they are.",
    },
    KnownReason {
        needles: &["required and valid domain name"],
        code: "invalid-domain-name",
        meaning: "The remote domain name has invalid characters or is a single-label name.",
        action: "Use a valid multi-label fully qualified domain name (letters, digits, hyphens and dots).",
    },
];

/// Matches a status reason against the known ones (case-insensitively). An unknown reason is
/// passed through verbatim with a pointer to the troubleshooting runbook.
pub fn remedy_for(reason: &str, directory_id: &str, remote_domain: &str) -> Remedy {
    let folded = reason.to_lowercase();
    let runbook = format!(
        "For a diagnosis, run the Systems Manager runbook {TROUBLESHOOT_RUNBOOK} with DirectoryId={directory_id}, RemoteDomainName={remote_domain} and the remote domain's CIDRs (RemoteDomainCidrs)."
    );
    match KNOWN_REASONS.iter().find(|known| known.needles.iter().any(|needle| folded.contains(needle))) {
        Some(known) => {
            Remedy { code: known.code.to_owned(), meaning: known.meaning.to_owned(), action: format!("{} {runbook}", known.action) }
        }
        None => Remedy {
            code: "unknown".to_owned(),
            meaning: if reason.trim().is_empty() {
                "The Directory Service gave no reason.".to_owned()
            } else {
                format!("The Directory Service reported: {reason}")
            },
            action: runbook,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_each_documented_reason_to_its_remedy() {
        for (reason, code, words) in [
            ("The trust relationship could not be verified: Access is denied.", "access-denied", "same trust password"),
            ("The specified domain name does not exist or could not be contacted.", "domain-unreachable", "conditional forwarder"),
            ("The operation could not be performed on this domain.", "netbios-overlap", "NetBIOS"),
            ("Required and valid domain name.", "invalid-domain-name", "multi-label"),
        ] {
            let remedy = remedy_for(reason, "d-1234567890", "corp.example.com");
            assert_eq!(remedy.code, code, "{reason}");
            assert!(remedy.action.contains(words), "{reason}: {}", remedy.action);
            assert!(remedy.action.contains(TROUBLESHOOT_RUNBOOK));
        }
    }

    #[test]
    fn matches_reasons_regardless_of_case() {
        assert_eq!(remedy_for("ACCESS IS DENIED", "d-1234567890", "c.example.com").code, "access-denied");
    }

    #[test]
    fn passes_an_unknown_reason_through_verbatim_with_the_runbook() {
        let remedy = remedy_for("Something new went wrong (0x1234)", "d-1234567890", "corp.example.com");
        assert_eq!(remedy.code, "unknown");
        assert!(remedy.meaning.contains("Something new went wrong (0x1234)"));
        assert!(remedy.action.contains("AWSSupport-TroubleshootDirectoryTrust"));
        assert!(remedy.action.contains("DirectoryId=d-1234567890"));
        assert!(remedy.action.contains("RemoteDomainName=corp.example.com"));
    }
}
