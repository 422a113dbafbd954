//! What the validation step decided: the plan every later step of the workflow carries.

use serde::{Deserialize, Serialize};

use time::OffsetDateTime;

use crate::domain::{classify_state, normalize_domain, DirectoryInfo, SelectiveAuth, StateClass, TrustDirection, TrustInfo, TrustState};
use crate::error::WorkflowError;
use crate::network::{parse_cidr_lenient, Ipv4Cidr};
use crate::request::{ExistingTrustPolicy, TrustRequest};

/// What the workflow does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanAction {
    /// No trust for the domain: create one.
    Create,
    /// The requested trust is already being created or verified (a duplicate request, or a
    /// second one racing the first): follow it instead of creating another.
    Adopt,
    /// The requested trust exists and works: nothing to do but say so.
    AlreadyInPlace,
    /// A conflicting or failed trust exists and the request allows replacing it.
    Replace,
    /// The requested trust exists with the requested type and direction, and the request changes
    /// what AWS changes in place ([`Plan::changes`]): selective authentication (UpdateTrust) and
    /// the domain's conditional forwarder addresses (UpdateConditionalForwarder). Type and
    /// direction cannot change in place: that is a Replace.
    Update,
}

/// One setting an Update changes in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "setting", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Change {
    /// UpdateTrust.
    SelectiveAuth {
        /// The trust's setting.
        from: SelectiveAuth,
        /// The requested one.
        to: SelectiveAuth,
    },
    /// UpdateConditionalForwarder.
    ForwarderAddresses {
        /// The forwarder's addresses.
        from: Vec<String>,
        /// The requested addresses.
        to: Vec<String>,
    },
}

impl Change {
    /// As a person reads it: `selective authentication: Disabled -> Enabled`.
    pub fn describe(&self) -> String {
        match self {
            Self::SelectiveAuth { from, to } => format!("selective authentication: {} -> {}", from.as_api_str(), to.as_api_str()),
            Self::ForwarderAddresses { from, to } => format!("conditional forwarder addresses: {} -> {}", from.join(", "), to.join(", ")),
        }
    }
}

/// Whether two lists of DNS server addresses name the same servers, in whatever order.
pub fn same_addresses(a: &[String], b: &[String]) -> bool {
    // Compared as addresses, not text: an IPv6 address has many spellings (fd00:0:0::53, fd00::53).
    fn as_set(addresses: &[String]) -> std::collections::BTreeSet<Result<std::net::IpAddr, &str>> {
        addresses.iter().map(|text| text.parse().map_err(|_| text.as_str())).collect()
    }
    as_set(a) == as_set(b)
}

/// The routes in `wanted` that the directory lacks: those no route in `routes` (IPv4 CIDRs as
/// ListIpRoutes gives them, host bits ignored) covers. A route that is not an IPv4 CIDR covers nothing.
pub fn missing_ip_routes(wanted: &[Ipv4Cidr], routes: &[String]) -> Vec<String> {
    let present: Vec<Ipv4Cidr> = routes.iter().filter_map(|route| parse_cidr_lenient(route).ok()).map(|(block, _)| block).collect();
    wanted.iter().filter(|block| !present.iter().any(|route| route.contains(block))).map(ToString::to_string).collect()
}

/// What differs between the request and the trust (and the directory's forwarder for the domain)
/// that AWS can change in place. Forwarder addresses compare as sets. A request without addresses
/// relies on the forwarder as it is; a directory without a forwarder for the domain is not given
/// one here (CreateTrust makes it with a new trust; an existing trust resolves the domain otherwise).
pub fn changes_for(request: &TrustRequest, trust: &TrustInfo, forwarder: Option<&[String]>) -> Vec<Change> {
    let mut changes = Vec::new();
    if trust.selective_auth != request.selective_auth {
        changes.push(Change::SelectiveAuth { from: trust.selective_auth, to: request.selective_auth });
    }
    let wanted = request.forwarder_addresses();
    if let Some(current) = forwarder.filter(|current| !current.is_empty() && !wanted.is_empty() && !same_addresses(current, &wanted)) {
        changes.push(Change::ForwarderAddresses { from: current.to_vec(), to: wanted });
    }
    changes
}

/// The validated request, the directory it targets, and the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The normalised request (never the password: only where it is kept).
    pub request: TrustRequest,
    /// The AWS directory.
    pub directory: DirectoryInfo,
    /// What to do.
    pub action: PlanAction,
    /// The trust the workflow follows: the existing one for Adopt/AlreadyInPlace; set by the
    /// creation step for Create/Replace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_id: Option<String>,
    /// The trust a Replace deletes first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces_trust_id: Option<String>,
    /// The trust found for the domain when the request was validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing_trust: Option<TrustInfo>,
    /// What an Update changes in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The directory IP routes (CIDRs) the creation step adds, with the requester's consent
    /// (`addIpRoutes`), before it creates or changes anything: forwarder addresses outside RFC 1918
    /// that no route of the directory covered when the request was validated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_routes: Vec<String>,
    /// What the network pre-flight found that did not stop the request: findings it cannot judge,
    /// and with `preflight: warn` the ones that would block.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preflight_findings: Vec<crate::network::Finding>,
    /// When a trust still being created counts as timed out (RFC 3339 in the hand-off; a value
    /// that is not a time fails the step that reads it, instead of meaning "never").
    #[serde(with = "crate::times::rfc3339_seconds")]
    pub deadline: OffsetDateTime,
    /// For a pair of AWS directories (`remoteDirectoryId`): the other side, which the workflow
    /// creates and follows too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_side: Option<PairedSide>,
}

/// The other side of a trust between two AWS Managed Microsoft AD directories: a trust on the
/// remote directory for this directory's domain, in the complementary direction, with the same
/// password (the directions must be complementary: Two-Way with Two-Way, Outgoing with Incoming).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedSide {
    /// The remote AWS directory.
    pub directory: DirectoryInfo,
    /// The direction as seen from the remote directory.
    pub trust_direction: TrustDirection,
    /// Its conditional forwarder for this directory's domain: this directory's DNS addresses.
    pub conditional_forwarder_ip_addrs: Vec<String>,
    /// The remote side's trust, once the creation step made it (or, for a pair that exists whole,
    /// the one it has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_id: Option<String>,
    /// What an Update of a pair changes in place on this side (selective authentication).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// The direction the other side of a trust must have.
pub fn complementary(direction: TrustDirection) -> TrustDirection {
    match direction {
        TrustDirection::TwoWay => TrustDirection::TwoWay,
        TrustDirection::OneWayOutgoing => TrustDirection::OneWayIncoming,
        TrustDirection::OneWayIncoming => TrustDirection::OneWayOutgoing,
    }
}

/// Whether an existing trust has the requested type and direction.
pub fn is_requested_shape(request: &TrustRequest, trust: &TrustInfo) -> bool {
    trust.trust_type == request.trust_type && trust.trust_direction == request.trust_direction
}

/// Turns a decision about an existing trust of the requested shape into a change in place when the
/// request differs from it in what AWS changes in place. A trust that works, or waits for the
/// on-premises side (where new forwarder addresses may be the fix), is updated; one that AWS is
/// still creating or verifying cannot be yet, and the request is refused with when to send it again.
pub fn with_changes(
    action: PlanAction,
    existing: Option<&TrustInfo>,
    request: &TrustRequest,
    changes: Vec<Change>,
) -> Result<(PlanAction, Vec<Change>), WorkflowError> {
    let Some(trust) = existing.filter(|_| !changes.is_empty() && matches!(action, PlanAction::AlreadyInPlace | PlanAction::Adopt)) else {
        return Ok((action, Vec::new()));
    };
    match classify_state(&trust.state, request.trust_direction) {
        StateClass::Done | StateClass::AwaitingRemoteSide => Ok((PlanAction::Update, changes)),
        _ => Err(WorkflowError::TrustConflict(format!(
            "the {} {} trust with {} on {} ({}) is still {} with other settings than requested ({}); they can be changed once AWS has finished: send the request again in a few minutes",
            trust.trust_direction,
            trust.trust_type,
            request.remote_domain_name,
            request.directory_id,
            trust.trust_id,
            trust.state,
            changes.iter().map(Change::describe).collect::<Vec<_>>().join("; "),
        ))),
    }
}

/// What a request for a pair does when both sides exist already: `this_side` is the directory's
/// trust as [`decide`] found it (with `action` and this side's `changes`), `other_side` the other
/// directory's trust for this directory's domain. A pair is changed in place as one (selective
/// authentication on both sides) or followed as it is; it is never replaced or adopted in part.
/// Returns the action, and this side's and the other side's changes.
pub fn decide_pair(
    request: &TrustRequest,
    action: PlanAction,
    this_side: &TrustInfo,
    changes: Vec<Change>,
    other_side: &TrustInfo,
) -> Result<(PlanAction, Vec<Change>, Vec<Change>), WorkflowError> {
    let other_direction = complementary(request.trust_direction);
    let pair =
        format!("the pair exists: {} on {} and {} on the other directory", this_side.trust_id, request.directory_id, other_side.trust_id);
    if action == PlanAction::Replace || other_side.trust_direction != other_direction || other_side.trust_type != request.trust_type {
        return Err(WorkflowError::TrustConflict(format!(
            "{pair} ({} {} {} here, {} {} {} there), not the requested {} {} pair in working order; a pair is not replaced in place: remove it (a removal with remoteDirectoryId removes both sides) and request it again",
            this_side.trust_direction,
            this_side.trust_type,
            this_side.state,
            other_side.trust_direction,
            other_side.trust_type,
            other_side.state,
            request.trust_direction.as_api_str(),
            request.trust_type.as_api_str()
        )));
    }
    let other_class = classify_state(&other_side.state, other_direction);
    if matches!(other_side.state, TrustState::Deleting) || other_class == StateClass::Failed {
        return Err(WorkflowError::TrustConflict(format!(
            "{pair}, and the other side is {}{}: remove the pair and request it again",
            other_side.state,
            if other_side.state_reason.is_empty() { String::new() } else { format!(" ({})", other_side.state_reason) }
        )));
    }
    let other_changes: Vec<Change> = (other_side.selective_auth != request.selective_auth)
        .then_some(Change::SelectiveAuth { from: other_side.selective_auth, to: request.selective_auth })
        .into_iter()
        .collect();
    if changes.is_empty() && other_changes.is_empty() {
        let settled = action == PlanAction::AlreadyInPlace && other_class == StateClass::Done;
        return Ok((if settled { PlanAction::AlreadyInPlace } else { PlanAction::Adopt }, Vec::new(), Vec::new()));
    }
    let can_change = |class: StateClass| matches!(class, StateClass::Done | StateClass::AwaitingRemoteSide);
    let this_class = classify_state(&this_side.state, request.trust_direction);
    if !can_change(this_class) || !can_change(other_class) {
        let all: Vec<String> = changes.iter().chain(&other_changes).map(Change::describe).collect();
        return Err(WorkflowError::TrustConflict(format!(
            "{pair}, {} and {} with other settings than requested ({}); they can be changed once AWS has finished: send the request again in a few minutes",
            this_side.state,
            other_side.state,
            all.join("; ")
        )));
    }
    Ok((PlanAction::Update, changes, other_changes))
}

/// Decides what to do about the trusts a directory already has for the requested domain.
/// Only one trust can exist between two domains.
pub fn decide(request: &TrustRequest, trusts: &[TrustInfo]) -> Result<(PlanAction, Option<TrustInfo>), WorkflowError> {
    let domain = &request.remote_domain_name;
    let Some(existing) = trusts.iter().find(|t| &normalize_domain(&t.remote_domain_name) == domain && t.state != TrustState::Deleted)
    else {
        return Ok((PlanAction::Create, None));
    };
    let same_shape = is_requested_shape(request, existing);
    let class = classify_state(&existing.state, request.trust_direction);
    let describe = format!(
        "a {} {} trust with {} already exists on {} ({}, state {}{})",
        existing.trust_direction,
        existing.trust_type,
        domain,
        request.directory_id,
        existing.trust_id,
        existing.state,
        if existing.state_reason.is_empty() { String::new() } else { format!(": {}", existing.state_reason) },
    );
    if existing.state == TrustState::Deleting {
        return Err(WorkflowError::TrustConflict(format!(
            "{describe}; it is being deleted. Send the request again once the deletion has finished (a few minutes)."
        )));
    }
    if same_shape {
        match class {
            StateClass::Done => return Ok((PlanAction::AlreadyInPlace, Some(existing.clone()))),
            StateClass::Pending | StateClass::AwaitingRemoteSide => return Ok((PlanAction::Adopt, Some(existing.clone()))),
            StateClass::Failed => {}
        }
    }
    match request.on_existing_trust {
        ExistingTrustPolicy::Replace => Ok((PlanAction::Replace, Some(existing.clone()))),
        ExistingTrustPolicy::Keep => {
            let why = if same_shape {
                "it has failed".to_owned()
            } else {
                format!("it differs from the requested {} {} trust", request.trust_direction.as_api_str(), request.trust_type.as_api_str())
            };
            Err(WorkflowError::TrustConflict(format!(
                "{describe}, and {why}. Only one trust can exist between two domains: delete it first, or send the request with \"onExistingTrust\": \"replace\" to have it deleted and the requested trust created."
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{TrustDirection, TrustType};
    use crate::request::parse_request;

    fn request(direction: &str, policy: &str) -> TrustRequest {
        parse_request(&json!({
            "requestId": "r1", "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com",
            "trustDirection": direction, "trustPassword": {"secretId": "s"}, "onExistingTrust": policy,
            "conditionalForwarderIpAddrs": ["10.0.0.53"]
        }))
        .expect("valid request")
    }

    fn trust(domain: &str, direction: &str, state: &str) -> TrustInfo {
        TrustInfo {
            trust_id: "t-0000000001".to_owned(),
            remote_domain_name: domain.to_owned(),
            trust_type: TrustType::Forest,
            trust_direction: TrustDirection::parse(direction).expect("a direction"),
            state: TrustState::from_api(state),
            state_reason: String::new(),
            selective_auth: SelectiveAuth::Disabled,
            state_last_updated: None,
        }
    }

    fn pair_request(direction: &str, selective_auth: &str, policy: &str) -> TrustRequest {
        let mut request = request(direction, policy);
        request.selective_auth = SelectiveAuth::parse(selective_auth).expect("a setting");
        request
    }

    #[test]
    fn a_pair_that_exists_whole_is_changed_as_one_or_followed_as_it_is() {
        let this = trust("corp.example.com", "One-Way: Outgoing", "Verified");
        let other = trust("aws.example.com", "One-Way: Incoming", "Created");
        let same = pair_request("One-Way: Outgoing", "Disabled", "keep");
        assert_eq!(
            decide_pair(&same, PlanAction::AlreadyInPlace, &this, Vec::new(), &other).expect("in place").0,
            PlanAction::AlreadyInPlace
        );
        let verifying = trust("corp.example.com", "One-Way: Outgoing", "Verifying");
        assert_eq!(decide_pair(&same, PlanAction::Adopt, &verifying, Vec::new(), &other).expect("followed").0, PlanAction::Adopt);
        let enabled = pair_request("One-Way: Outgoing", "Enabled", "keep");
        let this_change = vec![Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }];
        let (action, changes, other_changes) =
            decide_pair(&enabled, PlanAction::AlreadyInPlace, &this, this_change.clone(), &other).expect("changed");
        assert_eq!((action, changes, other_changes), (PlanAction::Update, this_change.clone(), this_change), "both sides change");
    }

    #[test]
    fn a_pair_is_never_replaced_in_place_nor_changed_while_a_side_is_failed_or_busy() {
        let this = trust("corp.example.com", "Two-Way", "Verified");
        let enabled = pair_request("Two-Way", "Enabled", "keep");
        let change = vec![Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }];
        let conflict = |request: &TrustRequest, action, other: &TrustInfo| match decide_pair(request, action, &this, change.clone(), other)
        {
            Err(WorkflowError::TrustConflict(message)) => message,
            other => panic!("expected a conflict, got {other:?}"),
        };
        let replace = pair_request("Two-Way", "Enabled", "replace");
        assert!(conflict(&replace, PlanAction::Replace, &trust("aws.example.com", "Two-Way", "Verified")).contains("not replaced in place"));
        assert!(conflict(&enabled, PlanAction::AlreadyInPlace, &trust("aws.example.com", "One-Way: Incoming", "Verified"))
            .contains("not replaced in place"));
        assert!(conflict(&enabled, PlanAction::AlreadyInPlace, &trust("aws.example.com", "Two-Way", "Failed"))
            .contains("the other side is Failed"));
        assert!(conflict(&enabled, PlanAction::AlreadyInPlace, &trust("aws.example.com", "Two-Way", "Updating"))
            .contains("send the request again"));
    }

    #[test]
    fn creates_when_no_trust_exists_for_the_domain() {
        let others = [trust("other.example.com", "Two-Way", "Verified")];
        assert_eq!(decide(&request("Two-Way", "keep"), &others).ok().map(|d| d.0), Some(PlanAction::Create));
    }

    #[test]
    fn finds_an_existing_trust_whatever_its_case_and_trailing_dot() {
        let existing = [trust("CORP.Example.com.", "Two-Way", "Verified")];
        assert_eq!(decide(&request("Two-Way", "keep"), &existing).ok().map(|d| d.0), Some(PlanAction::AlreadyInPlace));
    }

    #[test]
    fn adopts_a_trust_still_being_created() {
        for state in ["Creating", "Created", "Verifying", "VerifyFailed"] {
            let existing = [trust("corp.example.com", "Two-Way", state)];
            let (action, found) = decide(&request("Two-Way", "keep"), &existing).expect("adopt");
            assert_eq!(action, PlanAction::Adopt, "{state}");
            assert_eq!(found.map(|t| t.trust_id).as_deref(), Some("t-0000000001"));
        }
    }

    #[test]
    fn incoming_trust_created_is_already_in_place() {
        let existing = [trust("corp.example.com", "One-Way: Incoming", "Created")];
        assert_eq!(decide(&request("incoming", "keep"), &existing).ok().map(|d| d.0), Some(PlanAction::AlreadyInPlace));
    }

    #[test]
    fn rejects_a_trust_of_another_direction_naming_it() {
        let existing = [trust("corp.example.com", "One-Way: Outgoing", "Verified")];
        let error = decide(&request("Two-Way", "keep"), &existing).expect_err("conflict");
        assert_eq!(error.name(), "TrustConflict");
        let message = error.to_string();
        assert!(message.contains("t-0000000001") && message.contains("One-Way: Outgoing") && message.contains("replace"), "{message}");
    }

    #[test]
    fn rejects_a_failed_trust_unless_replacing() {
        let existing = [trust("corp.example.com", "Two-Way", "Failed")];
        assert_eq!(decide(&request("Two-Way", "keep"), &existing).expect_err("conflict").name(), "TrustConflict");
        assert_eq!(decide(&request("Two-Way", "replace"), &existing).ok().map(|d| d.0), Some(PlanAction::Replace));
    }

    #[test]
    fn replaces_a_conflicting_trust_when_asked() {
        let existing = [trust("corp.example.com", "One-Way: Incoming", "Created")];
        assert_eq!(decide(&request("Two-Way", "replace"), &existing).ok().map(|d| d.0), Some(PlanAction::Replace));
    }

    #[test]
    fn refuses_while_a_trust_is_being_deleted_even_when_replacing() {
        let existing = [trust("corp.example.com", "Two-Way", "Deleting")];
        let error = decide(&request("Two-Way", "replace"), &existing).expect_err("conflict");
        assert!(error.to_string().contains("being deleted"));
    }

    fn enabled(mut request: TrustRequest) -> TrustRequest {
        request.selective_auth = SelectiveAuth::Enabled;
        request
    }

    #[test]
    fn a_different_selective_auth_or_forwarder_is_a_change_and_equal_settings_are_none() {
        let verified = trust("corp.example.com", "Two-Way", "Verified");
        let same_forwarder = ["10.0.0.53".to_owned()];
        assert_eq!(changes_for(&request("Two-Way", "keep"), &verified, Some(&same_forwarder)), []);
        assert_eq!(
            changes_for(&enabled(request("Two-Way", "keep")), &verified, Some(&same_forwarder)),
            [Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }]
        );
        let other_forwarder = ["10.9.9.9".to_owned(), "10.0.0.53".to_owned()];
        assert_eq!(
            changes_for(&request("Two-Way", "keep"), &verified, Some(&other_forwarder)),
            [Change::ForwarderAddresses { from: other_forwarder.to_vec(), to: vec!["10.0.0.53".to_owned()] }]
        );
    }

    #[test]
    fn forwarder_addresses_compare_as_a_set_and_a_missing_forwarder_is_left_alone() {
        let verified = trust("corp.example.com", "Two-Way", "Verified");
        let mut two = request("Two-Way", "keep");
        two.conditional_forwarder_ip_addrs = vec!["10.0.0.54".parse().expect("ip"), "10.0.0.53".parse().expect("ip")];
        let reordered = ["10.0.0.53".to_owned(), "10.0.0.54".to_owned()];
        assert_eq!(changes_for(&two, &verified, Some(&reordered)), []);
        assert_eq!(changes_for(&two, &verified, None), []);
        let mut relying = request("Two-Way", "keep");
        relying.conditional_forwarder_ip_addrs.clear();
        assert_eq!(changes_for(&relying, &verified, Some(&reordered)), [], "no addresses: the forwarder as it is");
    }

    #[test]
    fn a_working_or_remote_side_waiting_trust_with_changes_is_updated_in_place() {
        let change = vec![Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }];
        for (state, decided) in [("Verified", PlanAction::AlreadyInPlace), ("VerifyFailed", PlanAction::Adopt)] {
            let existing = trust("corp.example.com", "Two-Way", state);
            let (action, changes) = with_changes(decided, Some(&existing), &request("Two-Way", "keep"), change.clone()).expect("an update");
            assert_eq!((action, changes), (PlanAction::Update, change.clone()), "{state}");
        }
    }

    #[test]
    fn a_trust_aws_is_still_creating_is_not_changed_and_the_requester_is_told_when_to_retry() {
        let change = vec![Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }];
        let existing = trust("corp.example.com", "Two-Way", "Creating");
        let error = with_changes(PlanAction::Adopt, Some(&existing), &request("Two-Way", "keep"), change).expect_err("refused");
        assert_eq!(error.name(), "TrustConflict");
        assert!(error.to_string().contains("selective authentication: Disabled -> Enabled"), "{error}");
        assert!(error.to_string().contains("send the request again"), "{error}");
    }

    #[test]
    fn without_changes_or_for_a_new_trust_the_decision_stands() {
        let existing = trust("corp.example.com", "Two-Way", "Verified");
        let none = with_changes(PlanAction::AlreadyInPlace, Some(&existing), &request("Two-Way", "keep"), Vec::new()).expect("ok");
        assert_eq!(none, (PlanAction::AlreadyInPlace, Vec::new()));
        let change = vec![Change::SelectiveAuth { from: SelectiveAuth::Disabled, to: SelectiveAuth::Enabled }];
        let replace = with_changes(PlanAction::Replace, Some(&existing), &request("Two-Way", "keep"), change).expect("ok");
        assert_eq!(replace, (PlanAction::Replace, Vec::new()));
    }

    #[test]
    fn a_change_reads_as_json_with_the_setting_named() {
        let change = Change::ForwarderAddresses { from: vec!["10.0.0.1".to_owned()], to: vec!["10.0.0.2".to_owned()] };
        assert_eq!(
            serde_json::to_value(&change).ok(),
            Some(json!({"setting": "forwarderAddresses", "from": ["10.0.0.1"], "to": ["10.0.0.2"]}))
        );
    }
}
