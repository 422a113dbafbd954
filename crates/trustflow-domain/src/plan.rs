//! What the validation step decided: the plan every later step of the workflow carries.

use serde::{Deserialize, Serialize};

use time::OffsetDateTime;

use crate::domain::{classify_state, normalize_domain, DirectoryInfo, StateClass, TrustInfo, TrustState};
use crate::error::WorkflowError;
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
    /// When a trust still being created counts as timed out (RFC 3339 in the hand-off; a value
    /// that is not a time fails the step that reads it, instead of meaning "never").
    #[serde(with = "crate::times::rfc3339_seconds")]
    pub deadline: OffsetDateTime,
}

/// Whether an existing trust has the requested type and direction.
pub fn is_requested_shape(request: &TrustRequest, trust: &TrustInfo) -> bool {
    trust.trust_type == request.trust_type && trust.trust_direction == request.trust_direction
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
        }
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
}
