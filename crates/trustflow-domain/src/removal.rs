//! Removing a trust: the removal request (`schemas/trust-removal.schema.json`), its static rules,
//! and the plan the validation step makes of it.
//!
//! A removal names the trust by directory and remote domain, like the request that created it.
//! DeleteTrust takes `DeleteAssociatedConditionalForwarder`; the forwarder is kept unless the
//! request says otherwise, since other trusts or applications may resolve the domain through it.
//! The workflow runs a removal under its request id, like a creation: the execution input is
//! `{"removal": <the request>}`, which is how the steps tell the two apart.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{normalize_domain, DirectoryInfo, TrustInfo, TrustState};
use crate::error::{Violation, WorkflowError};
use crate::request::{
    display_json, json_object_of_bounded_size, parse_directory_id, parse_notify, parse_remote_directory_id, parse_remote_domain_name,
    parse_remote_role_arn, parse_request_id, parse_requested_by, unknown_fields, NotifyTarget,
};

/// The EventBridge `detail-type` of a removal request.
pub const TRUST_REMOVAL_REQUESTED_DETAIL_TYPE: &str = "Trust Removal Requested";

/// The key of the execution input that holds a removal request.
pub const REMOVAL_INPUT_KEY: &str = "removal";

/// A removal request that passed every static rule, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovalRequest {
    /// The portal's id for the request: correlation and idempotency.
    pub request_id: String,
    /// The AWS Managed Microsoft AD directory.
    pub directory_id: String,
    /// The on-premises domain's FQDN, lower case, without a trailing dot.
    pub remote_domain_name: String,
    /// Whether the domain's conditional forwarder goes with the trust (default: it stays).
    pub delete_conditional_forwarder: bool,
    /// An extra SNS topic for this request's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyTarget>,
    /// Who asked, for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// For a pair of AWS directories: the other directory, whose trust for this directory's domain
    /// goes too (with the forwarder its creation made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_directory_id: Option<String>,
    /// When that directory is in another account: the role trustflow assumes there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_role_arn: Option<String>,
}

const FIELDS: &[&str] = &[
    "requestId",
    "directoryId",
    "remoteDomainName",
    "deleteConditionalForwarder",
    "notify",
    "requestedBy",
    "remoteDirectoryId",
    "remoteRoleArn",
];

/// The removal request in an execution input (`{"removal": ...}`), if it is one.
pub fn removal_in(input: &Value) -> Option<&Value> {
    let object = input.as_object()?;
    (object.len() == 1).then(|| object.get(REMOVAL_INPUT_KEY)).flatten()
}

/// Parses and checks a removal request against every rule that needs no AWS call, reporting
/// every broken rule at once.
pub fn parse_removal_request(request: &Value) -> Result<RemovalRequest, WorkflowError> {
    let object = json_object_of_bounded_size(request)?;
    let mut violations = unknown_fields(object, FIELDS, "trust removal request");
    let request_id = parse_request_id(object, &mut violations);
    let directory_id = parse_directory_id(object, &mut violations);
    let remote_domain_name = parse_remote_domain_name(object, &mut violations);
    let delete_conditional_forwarder = parse_delete_forwarder(object, &mut violations);
    let notify = parse_notify(object.get("notify"), &mut violations);
    let requested_by = parse_requested_by(object, &mut violations);
    let remote_directory_id = parse_remote_directory_id(object, directory_id.as_deref(), &mut violations);
    let remote_role_arn = parse_remote_role_arn(object, &mut violations);
    match (request_id, directory_id, remote_domain_name, delete_conditional_forwarder, notify, (remote_directory_id, remote_role_arn)) {
        (
            Some(request_id),
            Some(directory_id),
            Some(remote_domain_name),
            Some(delete_conditional_forwarder),
            Some(notify),
            (Some(remote_directory_id), Some(remote_role_arn)),
        ) if violations.is_empty() => Ok(RemovalRequest {
            request_id,
            directory_id,
            remote_domain_name,
            delete_conditional_forwarder,
            notify,
            requested_by,
            remote_directory_id,
            remote_role_arn,
        }),
        _ => Err(WorkflowError::ValidationFailed(violations)),
    }
}

fn parse_delete_forwarder(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<bool> {
    match object.get("deleteConditionalForwarder") {
        None | Some(Value::Null) => Some(false),
        Some(Value::Bool(delete)) => Some(*delete),
        Some(other) => {
            violations.push(Violation::new(
                "deleteConditionalForwarder",
                "must be true (delete the domain's conditional forwarder with the trust) or false (keep it; the default)",
                display_json(other),
            ));
            None
        }
    }
}

/// What the validation step decided about a removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemovalAction {
    /// A trust for the domain exists: delete it and follow it until it is gone.
    Remove,
    /// No trust for the domain exists (or it is already gone): nothing to do but say so.
    AlreadyRemoved,
}

/// The validated removal, the directory, the trust it removes, and the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovalPlan {
    /// The normalised removal request.
    pub removal: RemovalRequest,
    /// The AWS directory.
    pub directory: DirectoryInfo,
    /// What to do.
    pub action: RemovalAction,
    /// The trust for the domain when the request was validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<TrustInfo>,
    /// For a pair of AWS directories: the other side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired: Option<PairedRemoval>,
}

/// The other side of a pair a removal removes too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedRemoval {
    /// The other directory.
    pub directory: DirectoryInfo,
    /// Its trust for this directory's domain when the request was validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<TrustInfo>,
}

/// The trust for `domain` among `trusts`, unless it is deleted.
fn trust_for(domain: &str, trusts: &[TrustInfo]) -> Option<TrustInfo> {
    trusts.iter().find(|t| normalize_domain(&t.remote_domain_name) == domain && t.state != TrustState::Deleted).cloned()
}

/// Decides what a removal does about the trusts a directory has.
pub fn plan_removal(removal: RemovalRequest, directory: DirectoryInfo, trusts: &[TrustInfo]) -> RemovalPlan {
    let trust = trust_for(&removal.remote_domain_name, trusts);
    let action = if trust.is_some() { RemovalAction::Remove } else { RemovalAction::AlreadyRemoved };
    RemovalPlan { removal, directory, action, trust, paired: None }
}

/// Adds the other side of a pair to a removal plan: the other directory's trust for this
/// directory's domain. The removal removes whichever sides exist; none is "already removed".
pub fn with_paired_side(mut plan: RemovalPlan, other: DirectoryInfo, other_trusts: &[TrustInfo]) -> RemovalPlan {
    let trust = trust_for(&normalize_domain(&plan.directory.name), other_trusts);
    if trust.is_some() {
        plan.action = RemovalAction::Remove;
    }
    plan.paired = Some(PairedRemoval { directory: other, trust });
    plan
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{SelectiveAuth, TrustDirection, TrustType};
    use crate::testing::sample_directory;

    fn body() -> Value {
        json!({"requestId": "RM-1", "directoryId": "d-1234567890", "remoteDomainName": "Corp.Example.com."})
    }

    fn fields(result: Result<RemovalRequest, WorkflowError>) -> Vec<String> {
        match result {
            Err(WorkflowError::ValidationFailed(violations)) => violations.into_iter().map(|v| v.field).collect(),
            other => panic!("expected ValidationFailed, got {other:?}"),
        }
    }

    #[test]
    fn a_removal_names_the_trust_by_directory_and_domain_and_keeps_the_forwarder_by_default() {
        let removal = parse_removal_request(&body()).expect("valid");
        assert_eq!(removal.remote_domain_name, "corp.example.com");
        assert!(!removal.delete_conditional_forwarder);
        let mut with_forwarder = body();
        with_forwarder["deleteConditionalForwarder"] = json!(true);
        assert!(parse_removal_request(&with_forwarder).expect("valid").delete_conditional_forwarder);
    }

    #[test]
    fn every_broken_rule_is_named_at_once_and_unknown_fields_are_not_echoed() {
        let bad = json!({"requestId": "bad id!", "directoryId": "d-XYZ", "remoteDomainName": "corp",
            "deleteConditionalForwarder": "yes", "trustPassword": "Canary-Pw-1!"});
        let error = parse_removal_request(&bad).expect_err("invalid");
        assert!(!error.to_string().contains("Canary-Pw-1!"), "{error}");
        assert_eq!(fields(Err(error)), ["\"trustPassword\"", "requestId", "directoryId", "remoteDomainName", "deleteConditionalForwarder"]);
        assert_eq!(fields(parse_removal_request(&json!({}))), ["requestId", "directoryId", "remoteDomainName"]);
    }

    #[test]
    fn only_a_one_key_removal_input_is_a_removal() {
        assert_eq!(removal_in(&json!({"removal": body()})), Some(&body()));
        assert_eq!(removal_in(&body()), None);
        assert_eq!(removal_in(&json!({"removal": body(), "requestId": "x"})), None);
    }

    fn trust(domain: &str, state: &str) -> TrustInfo {
        TrustInfo {
            trust_id: "t-0000000001".to_owned(),
            remote_domain_name: domain.to_owned(),
            trust_type: TrustType::Forest,
            trust_direction: TrustDirection::TwoWay,
            state: TrustState::from_api(state),
            state_reason: String::new(),
            selective_auth: SelectiveAuth::Disabled,
            state_last_updated: None,
        }
    }

    #[test]
    fn a_pair_removal_removes_whichever_side_is_left_and_is_already_removed_only_when_neither_is() {
        let mut body = body();
        body["remoteDirectoryId"] = json!("d-0987654321");
        let removal = parse_removal_request(&body).expect("valid");
        assert_eq!(removal.remote_directory_id.as_deref(), Some("d-0987654321"));
        let plan = plan_removal(removal.clone(), sample_directory("d-1234567890"), &[]);
        let other = sample_directory("d-0987654321");
        let only_other = with_paired_side(plan.clone(), other.clone(), &[trust("AWS.example.com", "Verified")]);
        assert_eq!(only_other.action, RemovalAction::Remove, "the other side is still there");
        assert_eq!(only_other.paired.and_then(|p| p.trust).map(|t| t.trust_id), Some("t-0000000001".to_owned()));
        assert_eq!(with_paired_side(plan, other, &[trust("unrelated.example.com", "Verified")]).action, RemovalAction::AlreadyRemoved);
        body["remoteDirectoryId"] = json!("d-1234567890");
        assert_eq!(fields(parse_removal_request(&body)), ["remoteDirectoryId"], "a pair names another directory");
    }

    #[test]
    fn a_trust_for_the_domain_is_removed_and_none_or_a_deleted_one_is_already_removed() {
        let removal = parse_removal_request(&body()).expect("valid");
        let plan = plan_removal(removal.clone(), sample_directory("d-1234567890"), &[trust("CORP.example.com", "Failed")]);
        assert_eq!((plan.action, plan.trust.map(|t| t.trust_id)), (RemovalAction::Remove, Some("t-0000000001".to_owned())));
        for trusts in [vec![], vec![trust("corp.example.com", "Deleted")], vec![trust("other.example.com", "Verified")]] {
            let plan = plan_removal(removal.clone(), sample_directory("d-1234567890"), &trusts);
            assert_eq!(plan.action, RemovalAction::AlreadyRemoved);
        }
    }
}
