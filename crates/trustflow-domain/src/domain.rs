//! Trust types, directions and states, as `../shared/reference/directory-service-trusts.md` defines them.

use serde::{Deserialize, Serialize};

/// The kind of trust. `Forest` is the Directory Service default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TrustType {
    /// A forest trust (transitive across the forests' domains).
    #[default]
    Forest,
    /// An external trust with a single domain.
    External,
}

impl TrustType {
    /// The spelling the Directory Service API uses.
    pub fn as_api_str(self) -> &'static str {
        match self {
            Self::Forest => "Forest",
            Self::External => "External",
        }
    }

    /// Parses the API spelling, ignoring letter case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "forest" => Some(Self::Forest),
            "external" => Some(Self::External),
            _ => None,
        }
    }
}

/// The direction of the trust, seen from the AWS Managed Microsoft AD directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrustDirection {
    /// Both domains trust each other.
    #[serde(rename = "Two-Way")]
    TwoWay,
    /// The AWS directory trusts the remote domain (remote users reach AWS resources).
    #[serde(rename = "One-Way: Outgoing")]
    OneWayOutgoing,
    /// The remote domain trusts the AWS directory.
    #[serde(rename = "One-Way: Incoming")]
    OneWayIncoming,
}

impl TrustDirection {
    /// The spelling the Directory Service API uses.
    pub fn as_api_str(self) -> &'static str {
        match self {
            Self::TwoWay => "Two-Way",
            Self::OneWayOutgoing => "One-Way: Outgoing",
            Self::OneWayIncoming => "One-Way: Incoming",
        }
    }

    /// Parses the API spelling and the friendlier ones a portal may send
    /// (`two-way`, `outgoing`, `incoming`, any letter case, spaces around the colon ignored).
    pub fn parse(value: &str) -> Option<Self> {
        let folded: String = value.trim().to_ascii_lowercase().chars().filter(|c| !c.is_whitespace() && *c != '_').collect();
        match folded.as_str() {
            "two-way" | "twoway" | "bidirectional" => Some(Self::TwoWay),
            "one-way:outgoing" | "outgoing" | "one-wayoutgoing" => Some(Self::OneWayOutgoing),
            "one-way:incoming" | "incoming" | "one-wayincoming" => Some(Self::OneWayIncoming),
            _ => None,
        }
    }

    /// Whether the Directory Service verifies this direction (it verifies outgoing trusts only).
    pub fn is_verifiable(self) -> bool {
        !matches!(self, Self::OneWayIncoming)
    }

    /// The direction the on-premises admin must choose for their side, in the words of
    /// Active Directory Domains and Trusts, and the .NET `TrustDirection` value.
    pub fn complementary_on_premises(self) -> (&'static str, &'static str) {
        match self {
            Self::TwoWay => ("Two-way", "Bidirectional"),
            Self::OneWayOutgoing => ("One-way: incoming", "Inbound"),
            Self::OneWayIncoming => ("One-way: outgoing", "Outbound"),
        }
    }
}

/// Whether selective authentication is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SelectiveAuth {
    /// Users of the trusted domain may authenticate to any resource.
    #[default]
    Disabled,
    /// Users of the trusted domain must be allowed resource by resource.
    Enabled,
}

impl SelectiveAuth {
    /// The spelling the Directory Service API uses.
    pub fn as_api_str(self) -> &'static str {
        match self {
            Self::Disabled => "Disabled",
            Self::Enabled => "Enabled",
        }
    }

    /// Parses `Enabled`/`Disabled` in any letter case.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "enabled" => Some(Self::Enabled),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// What the workflow makes of a trust's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StateClass {
    /// The trust works: Verified (or Updated), or Created for a one-way incoming trust.
    Done,
    /// The Directory Service is still working on it.
    Pending,
    /// Verification failed: on the first side of a trust this is expected until the
    /// on-premises admin has configured theirs. Not success (Terraform counts it as one).
    AwaitingRemoteSide,
    /// The trust failed, or is gone.
    Failed,
}

/// Classifies a `TrustState` as the API spells it. Unknown states (the SDK enum is
/// non-exhaustive) count as pending so that a new state never ends a workflow by surprise;
/// the overall deadline still bounds the wait.
pub fn classify_state(state: &str, direction: TrustDirection) -> StateClass {
    match state {
        "Verified" | "Updated" => StateClass::Done,
        "Created" if !direction.is_verifiable() => StateClass::Done,
        "Creating" | "Created" | "Verifying" | "Updating" => StateClass::Pending,
        "VerifyFailed" => StateClass::AwaitingRemoteSide,
        "Failed" | "UpdateFailed" | "Deleting" | "Deleted" => StateClass::Failed,
        _ => StateClass::Pending,
    }
}

/// Normalises a domain name for comparison: letter case and one trailing dot do not make a different domain.
pub fn normalize_domain(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// What the workflow needs to know of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryInfo {
    /// `d-...`.
    pub directory_id: String,
    /// The directory's FQDN, e.g. `aws.example.com`.
    pub name: String,
    /// The NetBIOS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    /// `MicrosoftAD`, `SimpleAD`, `ADConnector`, `SharedMicrosoftAD`.
    pub directory_type: String,
    /// `Active`, `Creating`, ...
    pub stage: String,
    /// The Multi-Region primary Region, where trusts are managed; `None` when the API gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// The directory's DNS servers, which the on-premises side forwards to.
    #[serde(default)]
    pub dns_ip_addrs: Vec<String>,
}

/// What the workflow needs to know of a trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustInfo {
    /// `t-...`.
    pub trust_id: String,
    /// The remote domain, as AWS returns it.
    pub remote_domain_name: String,
    /// `Forest` or `External`.
    pub trust_type: String,
    /// `Two-Way`, `One-Way: Outgoing` or `One-Way: Incoming`.
    pub trust_direction: String,
    /// `TrustState`, as the API spells it.
    pub state: String,
    /// `TrustStateReason`, free text, often empty.
    #[serde(default)]
    pub state_reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_friendly_direction_spellings() {
        for (given, expected) in [
            ("Two-Way", TrustDirection::TwoWay),
            ("two-way", TrustDirection::TwoWay),
            ("TWO-WAY", TrustDirection::TwoWay),
            ("One-Way: Outgoing", TrustDirection::OneWayOutgoing),
            ("one-way:outgoing", TrustDirection::OneWayOutgoing),
            ("outgoing", TrustDirection::OneWayOutgoing),
            ("Incoming", TrustDirection::OneWayIncoming),
            ("One-Way: Incoming", TrustDirection::OneWayIncoming),
        ] {
            assert_eq!(TrustDirection::parse(given), Some(expected), "{given}");
        }
        assert_eq!(TrustDirection::parse("sideways"), None);
        assert_eq!(TrustDirection::parse(""), None);
    }

    #[test]
    fn incoming_trust_is_done_when_created_but_outgoing_is_not() {
        assert_eq!(classify_state("Created", TrustDirection::OneWayIncoming), StateClass::Done);
        assert_eq!(classify_state("Created", TrustDirection::OneWayOutgoing), StateClass::Pending);
        assert_eq!(classify_state("Created", TrustDirection::TwoWay), StateClass::Pending);
    }

    #[test]
    fn verify_failed_awaits_remote_side_rather_than_succeeding() {
        assert_eq!(classify_state("VerifyFailed", TrustDirection::TwoWay), StateClass::AwaitingRemoteSide);
    }

    #[test]
    fn classifies_every_documented_state() {
        let d = TrustDirection::TwoWay;
        assert_eq!(classify_state("Verified", d), StateClass::Done);
        assert_eq!(classify_state("Updated", d), StateClass::Done);
        for pending in ["Creating", "Created", "Verifying", "Updating"] {
            assert_eq!(classify_state(pending, d), StateClass::Pending, "{pending}");
        }
        for failed in ["Failed", "UpdateFailed", "Deleting", "Deleted"] {
            assert_eq!(classify_state(failed, d), StateClass::Failed, "{failed}");
        }
        assert_eq!(classify_state("SomethingNew", d), StateClass::Pending);
    }

    #[test]
    fn complementary_direction_reverses_one_way_trusts() {
        assert_eq!(TrustDirection::OneWayOutgoing.complementary_on_premises().1, "Inbound");
        assert_eq!(TrustDirection::OneWayIncoming.complementary_on_premises().1, "Outbound");
        assert_eq!(TrustDirection::TwoWay.complementary_on_premises().1, "Bidirectional");
    }

    #[test]
    fn domain_case_and_trailing_dot_do_not_matter() {
        assert_eq!(normalize_domain("Corp.Example.COM."), normalize_domain("corp.example.com"));
    }
}
