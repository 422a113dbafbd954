//! Directories and trusts, their types, directions and states, as the Directory Service API defines
//! them (AWS Directory Service API Reference: CreateTrust, DescribeTrusts, the `Trust` data type).

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

    /// Parses a direction as the Directory Service API spells it, or as a request may
    /// (`two-way`, `outgoing`, `incoming`), ignoring letter case and spaces around the colon.
    /// Requests are held to the exact spellings of the request schema by the request parser.
    pub fn parse(value: &str) -> Option<Self> {
        let folded: String = value.trim().to_ascii_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
        match folded.as_str() {
            "two-way" => Some(Self::TwoWay),
            "one-way:outgoing" | "outgoing" => Some(Self::OneWayOutgoing),
            "one-way:incoming" | "incoming" => Some(Self::OneWayIncoming),
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

impl std::fmt::Display for TrustType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_api_str())
    }
}

impl std::fmt::Display for TrustDirection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_api_str())
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

/// A trust's state, as the Directory Service reports it (`TrustState`).
///
/// A state this version does not know (the API may add some) is kept verbatim in `Unknown`, and
/// counts as pending (see [`classify_state`]), so a new state never ends a workflow by surprise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrustState {
    /// CreateTrust was accepted.
    Creating,
    /// Created; for verifiable directions, verification follows.
    Created,
    /// Being verified.
    Verifying,
    /// Verification failed: expected until the on-premises side exists.
    VerifyFailed,
    /// The trust works.
    Verified,
    /// UpdateTrust was accepted.
    Updating,
    /// The update failed.
    UpdateFailed,
    /// Updated.
    Updated,
    /// DeleteTrust was accepted.
    Deleting,
    /// Gone.
    Deleted,
    /// Creation failed.
    Failed,
    /// A state this version does not know, as the API spelled it.
    Unknown(String),
}

impl TrustState {
    const KNOWN: [(&'static str, TrustState); 11] = [
        ("Creating", Self::Creating),
        ("Created", Self::Created),
        ("Verifying", Self::Verifying),
        ("VerifyFailed", Self::VerifyFailed),
        ("Verified", Self::Verified),
        ("Updating", Self::Updating),
        ("UpdateFailed", Self::UpdateFailed),
        ("Updated", Self::Updated),
        ("Deleting", Self::Deleting),
        ("Deleted", Self::Deleted),
        ("Failed", Self::Failed),
    ];

    /// The state as the API spells it; anything else is `Unknown`, verbatim.
    pub fn from_api(value: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, state)| state.clone())
            .unwrap_or_else(|| Self::Unknown(value.to_owned()))
    }

    /// The API spelling.
    pub fn as_api_str(&self) -> &str {
        match self {
            Self::Unknown(value) => value,
            known => Self::KNOWN.iter().find(|(_, state)| state == known).map(|(name, _)| *name).unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for TrustState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_api_str())
    }
}

impl Serialize for TrustState {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_api_str())
    }
}

impl<'de> Deserialize<'de> for TrustState {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_api(&String::deserialize(deserializer)?))
    }
}

/// What the workflow makes of a trust's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StateClass {
    /// The trust works: Verified, or Created or Updated for a one-way incoming trust.
    Done,
    /// The Directory Service is still working on it.
    Pending,
    /// Verification failed: on the first side of a trust this is expected until the
    /// on-premises admin has configured theirs. Not success (Terraform counts it as one).
    AwaitingRemoteSide,
    /// The trust failed, or is gone.
    Failed,
}

/// Classifies a trust's state. Unknown states count as pending so that a new state never ends a
/// workflow by surprise; the overall deadline still bounds the wait.
pub fn classify_state(state: &TrustState, direction: TrustDirection) -> StateClass {
    match state {
        TrustState::Verified => StateClass::Done,
        // An updated trust is verified again (Updated -> Verifying -> Verified), except a one-way
        // incoming trust, which AWS does not verify: like Created, Updated is its end.
        TrustState::Created | TrustState::Updated if !direction.is_verifiable() => StateClass::Done,
        TrustState::Creating | TrustState::Created | TrustState::Verifying | TrustState::Updating | TrustState::Updated => {
            StateClass::Pending
        }
        TrustState::VerifyFailed => StateClass::AwaitingRemoteSide,
        TrustState::Failed | TrustState::UpdateFailed | TrustState::Deleting | TrustState::Deleted => StateClass::Failed,
        TrustState::Unknown(_) => StateClass::Pending,
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
    /// Where the directory's domain controllers are (DescribeDirectories' `VpcSettings`); `None`
    /// when the API gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<DirectoryVpc>,
}

/// The network a directory's domain controllers are in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryVpc {
    /// `vpc-...`.
    pub vpc_id: String,
    /// The subnets of the domain controllers.
    pub subnet_ids: Vec<String>,
    /// The security group AWS created for the domain controllers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_group_id: Option<String>,
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
    pub trust_type: TrustType,
    /// The direction, seen from the AWS directory.
    pub trust_direction: TrustDirection,
    /// The state.
    pub state: TrustState,
    /// Whether selective authentication is on.
    #[serde(default)]
    pub selective_auth: SelectiveAuth,
    /// `TrustStateReason`, free text, often empty.
    #[serde(default)]
    pub state_reason: String,
    /// `StateLastUpdatedDateTime`: when the state last changed (a verification that failed again
    /// moves it through `Verifying`, so this is when its answer came). Read fresh from
    /// DescribeTrusts each time it matters, never handed from step to step.
    #[serde(skip)]
    pub state_last_updated: Option<time::OffsetDateTime>,
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
    fn a_trust_state_reads_and_writes_as_the_api_spells_it_and_an_unknown_one_is_kept_and_pending() {
        for name in [
            "Creating",
            "Created",
            "Verifying",
            "VerifyFailed",
            "Verified",
            "Updating",
            "UpdateFailed",
            "Updated",
            "Deleting",
            "Deleted",
            "Failed",
        ] {
            let state = TrustState::from_api(name);
            assert!(!matches!(state, TrustState::Unknown(_)), "{name}");
            assert_eq!(serde_json::to_value(&state).ok(), Some(serde_json::json!(name)));
        }
        let new = TrustState::from_api("Reticulating");
        assert_eq!(new, TrustState::Unknown("Reticulating".to_owned()));
        assert_eq!(new.to_string(), "Reticulating");
        assert_eq!(classify_state(&new, TrustDirection::TwoWay), StateClass::Pending);
    }

    #[test]
    fn incoming_trust_is_done_when_created_but_outgoing_is_not() {
        assert_eq!(classify_state(&TrustState::from_api("Created"), TrustDirection::OneWayIncoming), StateClass::Done);
        assert_eq!(classify_state(&TrustState::from_api("Created"), TrustDirection::OneWayOutgoing), StateClass::Pending);
        assert_eq!(classify_state(&TrustState::from_api("Created"), TrustDirection::TwoWay), StateClass::Pending);
    }

    #[test]
    fn verify_failed_awaits_remote_side_rather_than_succeeding() {
        assert_eq!(classify_state(&TrustState::from_api("VerifyFailed"), TrustDirection::TwoWay), StateClass::AwaitingRemoteSide);
    }

    #[test]
    fn classifies_every_documented_state() {
        let d = TrustDirection::TwoWay;
        assert_eq!(classify_state(&TrustState::from_api("Verified"), d), StateClass::Done);
        // After UpdateTrust a verifiable trust is verified again: Updated is on the way, not the end.
        assert_eq!(classify_state(&TrustState::from_api("Updated"), TrustDirection::OneWayIncoming), StateClass::Done);
        for pending in ["Creating", "Created", "Verifying", "Updating", "Updated"] {
            assert_eq!(classify_state(&TrustState::from_api(pending), d), StateClass::Pending, "{pending}");
        }
        for failed in ["Failed", "UpdateFailed", "Deleting", "Deleted"] {
            assert_eq!(classify_state(&TrustState::from_api(failed), d), StateClass::Failed, "{failed}");
        }
        assert_eq!(classify_state(&TrustState::from_api("SomethingNew"), d), StateClass::Pending);
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
