//! The health of trusts that already exist: what changed since the last check, and what to say.
//!
//! A trust is *working* when it is Verified (or, one-way incoming, Created or Updated: AWS never
//! verifies that direction). The check reports a trust once when it stops working (VerifyFailed,
//! Failed, UpdateFailed, or deleted outside trustflow) and once when it works again. States on
//! the way (Verifying, Updating, ...) are reported neither way: they settle by the next check.
//!
//! What the last check saw is kept without a store of trustflow's own: as tags on the directory
//! (`trustflow:health:<trust id>` = the state), which the Directory Service keeps with the
//! directory (AddTagsToResource; 50 tags per directory, so the check tracks up to 40 trusts and
//! says so past that).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{classify_state, StateClass, TrustInfo, TrustState};
use crate::remedy::{remedy_for, Remedy};

/// The prefix of the directory tags that hold what the last check saw.
pub const HEALTH_TAG_PREFIX: &str = "trustflow:health:";

/// Most trusts whose state is kept as tags on one directory (the Directory Service allows 50
/// tags per directory; the rest are the owner's).
pub const MAX_TRACKED_TRUSTS: usize = 40;

/// Whether a trust in this state works.
pub fn is_working(trust: &TrustInfo) -> bool {
    classify_state(&trust.state, trust.trust_direction) == StateClass::Done
}

/// Whether a trust in this state has stopped working (as opposed to being on its way).
fn is_broken(state: &TrustState) -> bool {
    matches!(state, TrustState::VerifyFailed | TrustState::Failed | TrustState::UpdateFailed | TrustState::Deleted)
}

/// One change worth telling someone about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthChange {
    /// `t-...`.
    pub trust_id: String,
    /// The remote domain (empty for a trust that is gone: the tag does not keep it).
    pub remote_domain_name: String,
    /// What the last check saw.
    pub previous_state: TrustState,
    /// What this check sees (`Deleted` for a trust that is gone).
    pub trust_state: TrustState,
    /// The Directory Service's reason.
    pub trust_state_reason: String,
    /// Whether the trust works now.
    pub healthy: bool,
    /// What the reason means and what to do, when it does not work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

/// What one check of a directory found, and the tags that record it for the next check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthReport {
    /// The changes to announce.
    pub changes: Vec<HealthChange>,
    /// The health tags the directory should have after this check.
    pub tags: BTreeMap<String, String>,
    /// Health tags of trusts that are gone, to remove.
    pub stale_tags: Vec<String>,
    /// Trusts not tracked because the directory has no room for more tags.
    pub untracked: Vec<String>,
}

/// Compares the trusts of a directory with what the last check saw (its health tags).
pub fn assess(directory_id: &str, trusts: &[TrustInfo], tags: &BTreeMap<String, String>) -> HealthReport {
    let previous: BTreeMap<&str, TrustState> =
        tags.iter().filter_map(|(key, value)| key.strip_prefix(HEALTH_TAG_PREFIX).map(|id| (id, TrustState::from_api(value)))).collect();
    let mut report = HealthReport::default();
    for trust in trusts.iter().filter(|t| t.state != TrustState::Deleted) {
        if report.tags.len() >= MAX_TRACKED_TRUSTS {
            report.untracked.push(trust.trust_id.clone());
            continue;
        }
        report.tags.insert(format!("{HEALTH_TAG_PREFIX}{}", trust.trust_id), trust.state.as_api_str().to_owned());
        let Some(before) = previous.get(trust.trust_id.as_str()) else { continue };
        let worked = matches!(before, TrustState::Verified | TrustState::Created | TrustState::Updated);
        let healthy = is_working(trust);
        if (worked && !healthy && is_broken(&trust.state)) || (is_broken(before) && healthy) {
            report.changes.push(change(directory_id, trust.trust_id.clone(), &trust.remote_domain_name, before, trust));
        }
    }
    for (id, before) in &previous {
        if !trusts.iter().any(|t| t.trust_id == *id && t.state != TrustState::Deleted) {
            report.stale_tags.push(format!("{HEALTH_TAG_PREFIX}{id}"));
            if !is_broken(before) {
                report.changes.push(HealthChange {
                    trust_id: (*id).to_owned(),
                    remote_domain_name: String::new(),
                    previous_state: before.clone(),
                    trust_state: TrustState::Deleted,
                    trust_state_reason: "The trust no longer exists: it was deleted outside trustflow.".to_owned(),
                    healthy: false,
                    remedy: None,
                });
            }
        }
    }
    report
}

fn change(directory_id: &str, trust_id: String, remote_domain: &str, before: &TrustState, trust: &TrustInfo) -> HealthChange {
    let healthy = is_working(trust);
    HealthChange {
        trust_id,
        remote_domain_name: remote_domain.to_owned(),
        previous_state: before.clone(),
        trust_state: trust.state.clone(),
        trust_state_reason: trust.state_reason.clone(),
        healthy,
        remedy: (!healthy).then(|| remedy_for(&trust.state_reason, directory_id, remote_domain)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SelectiveAuth, TrustDirection, TrustType};

    fn trust(id: &str, state: &str, reason: &str) -> TrustInfo {
        TrustInfo {
            trust_id: id.to_owned(),
            remote_domain_name: format!("{id}.example.com"),
            trust_type: TrustType::Forest,
            trust_direction: TrustDirection::TwoWay,
            state: TrustState::from_api(state),
            state_reason: reason.to_owned(),
            selective_auth: SelectiveAuth::Disabled,
            state_last_updated: None,
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(id, state)| (format!("{HEALTH_TAG_PREFIX}{id}"), (*state).to_owned())).collect()
    }

    #[test]
    fn a_first_check_records_every_trust_and_reports_nothing() {
        let report = assess("d-1", &[trust("t-1", "Verified", ""), trust("t-2", "VerifyFailed", "x")], &BTreeMap::new());
        assert!(report.changes.is_empty());
        assert_eq!(report.tags, tags(&[("t-1", "Verified"), ("t-2", "VerifyFailed")]));
    }

    #[test]
    fn a_verified_trust_that_fails_verification_is_reported_once_with_its_remedy() {
        let broken = [trust("t-1", "VerifyFailed", "The trust relationship could not be verified: Access is denied.")];
        let report = assess("d-1", &broken, &tags(&[("t-1", "Verified")]));
        let (change,) = (report.changes.first().expect("a change"),);
        assert_eq!(
            (change.previous_state.clone(), change.trust_state.clone(), change.healthy),
            (TrustState::Verified, TrustState::VerifyFailed, false)
        );
        assert_eq!(change.remedy.as_ref().map(|r| r.code.as_str()), Some("access-denied"));
        // The next check, with the tags this one wrote, says nothing new.
        assert!(assess("d-1", &broken, &report.tags).changes.is_empty());
    }

    #[test]
    fn a_trust_that_works_again_is_reported_healthy_and_states_on_the_way_are_not_reported() {
        let report = assess("d-1", &[trust("t-1", "Verified", "")], &tags(&[("t-1", "VerifyFailed")]));
        assert_eq!(report.changes.iter().map(|c| c.healthy).collect::<Vec<_>>(), [true]);
        assert!(assess("d-1", &[trust("t-1", "Verifying", "")], &tags(&[("t-1", "Verified")])).changes.is_empty());
    }

    #[test]
    fn a_trust_deleted_outside_trustflow_is_reported_gone_and_its_tag_removed() {
        let report = assess("d-1", &[], &tags(&[("t-9", "Verified")]));
        assert_eq!(report.stale_tags, [format!("{HEALTH_TAG_PREFIX}t-9")]);
        assert_eq!(report.changes.iter().map(|c| (c.trust_state.clone(), c.healthy)).collect::<Vec<_>>(), [(TrustState::Deleted, false)]);
    }

    #[test]
    fn past_the_tag_room_trusts_are_listed_untracked_not_silently_dropped() {
        let many: Vec<TrustInfo> = (0..45).map(|n| trust(&format!("t-{n:02}"), "Verified", "")).collect();
        let report = assess("d-1", &many, &BTreeMap::new());
        assert_eq!((report.tags.len(), report.untracked.len()), (MAX_TRACKED_TRUSTS, 5));
    }
}
