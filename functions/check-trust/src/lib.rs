//! The status step: polls a trust, re-verifies it while the on-premises side is missing, and
//! deletes a failed trust when the stack is configured to.
//!
//! "Still pending" is an error (`TrustPending`, `TrustAwaitingRemoteSide`) rather than a result:
//! the state machine's Retry repeats the Task with backoff, so one poll costs one state transition
//! instead of the three of a Wait -> Task -> Choice loop.

use trustflow_aws::ports::{DirectoryReader, TrustMaintainer};
use trustflow_domain::domain::TrustInfo;
use trustflow_domain::domain::{classify_state, StateClass, TrustState};
use trustflow_domain::error::WorkflowError;
use trustflow_domain::handoff::{CheckInput, CheckOutput, Mode, Outcome, RemovalCheckInput, RemovalCheckOutput, TrustStatus};
use trustflow_domain::plan::{Change, Plan, PlanAction};
use trustflow_domain::remedy::remedy_for;
use trustflow_domain::time::{Duration, OffsetDateTime};
use trustflow_domain::times::{parse_rfc3339, rfc3339};

/// Configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long the workflow keeps re-verifying a trust that waits for the remote side.
    pub remote_side_window_seconds: u64,
    /// Whether a failed trust this workflow created is deleted (with its forwarder), so that a
    /// corrected request can go through.
    pub delete_failed_trusts: bool,
}

/// Default for `REMOTE_SIDE_WINDOW_SECONDS`: 24 hours.
pub const DEFAULT_REMOTE_SIDE_WINDOW_SECONDS: u64 = 24 * 60 * 60;

/// Runs one check and returns the workflow document for the state machine.
pub async fn run_check<D>(
    input: CheckInput,
    settings: &Settings,
    directory_api: &D,
    now: OffsetDateTime,
) -> Result<CheckOutput, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let plan = input.plan.clone();
    let status = check_trust(input, settings, directory_api, now).await?;
    Ok(CheckOutput { plan, status })
}

/// Runs one check.
pub async fn check_trust<D>(
    input: CheckInput,
    settings: &Settings,
    directory_api: &D,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let plan = &input.plan;
    let trust_id = plan.trust_id.clone().ok_or_else(|| WorkflowError::Internal("the plan has no trustId to check".to_owned()))?;
    match input.mode {
        Mode::Poll => poll(plan, &trust_id, settings, directory_api, now).await,
        Mode::Reverify => reverify(plan, &trust_id, input.status.as_ref(), directory_api, now).await,
        Mode::Cleanup => cleanup(plan, &trust_id, input.status, settings, directory_api).await,
        Mode::Remove => Err(WorkflowError::Internal("mode remove needs a removal plan".to_owned())),
    }
}

/// A removal's step: deletes the trust once, then reports it pending (`TrustPending`, which the
/// state machine retries) until it is gone. Each call looks first, so a retried step never deletes
/// twice, and a trust gone in the meantime is removed all the same.
pub async fn remove_trust<D>(input: RemovalCheckInput, directory_api: &D, now: OffsetDateTime) -> Result<RemovalCheckOutput, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let plan = input.plan;
    let removal = &plan.removal;
    let Some(trust_id) = plan.trust.as_ref().map(|t| t.trust_id.clone()) else {
        return Err(WorkflowError::Internal("the removal plan names no trust to remove".to_owned()));
    };
    let removed = |state: TrustState| TrustStatus {
        outcome: Outcome::Removed,
        trust_id: trust_id.clone(),
        trust_state: state,
        trust_state_reason: String::new(),
        remedy: None,
        checked_at: rfc3339(now),
        remote_side_deadline: None,
        trust_deleted: true,
    };
    match directory_api.describe_trust(&removal.directory_id, &trust_id).await? {
        None => Ok(RemovalCheckOutput { status: removed(TrustState::Deleted), plan }),
        Some(trust) if trust.state == TrustState::Deleted => Ok(RemovalCheckOutput { status: removed(TrustState::Deleted), plan }),
        Some(trust) if trust.state == TrustState::Deleting => Err(WorkflowError::TrustPending(format!("trust {trust_id} is Deleting"))),
        Some(trust) => {
            directory_api.delete_trust(&trust_id, removal.delete_conditional_forwarder).await?;
            tracing::info!(trust_id = %trust_id, state = %trust.state, delete_forwarder = removal.delete_conditional_forwarder, "deleting the trust");
            Err(WorkflowError::TrustPending(format!("trust {trust_id} is being deleted")))
        }
    }
}

fn status(plan: &Plan, trust_id: &str, outcome: Outcome, trust: Option<&TrustInfo>, now: OffsetDateTime) -> TrustStatus {
    let (state, reason) = match trust {
        Some(trust) => (trust.state.clone(), trust.state_reason.clone()),
        None => (TrustState::Deleted, "The trust no longer exists: it was deleted outside this workflow.".to_owned()),
    };
    let remedy = (outcome != Outcome::Verified).then(|| remedy_for(&reason, &plan.request.directory_id, &plan.request.remote_domain_name));
    TrustStatus {
        outcome,
        trust_id: trust_id.to_owned(),
        trust_state: state,
        trust_state_reason: reason,
        remedy,
        checked_at: rfc3339(now),
        remote_side_deadline: None,
        trust_deleted: false,
    }
}

fn past(deadline: Option<&str>, now: OffsetDateTime) -> bool {
    deadline.and_then(parse_rfc3339).is_some_and(|deadline| now >= deadline)
}

/// Whether the trust has the selective authentication an Update asked for (any other plan: yes).
fn shows_requested_setting(plan: &Plan, trust: &TrustInfo) -> bool {
    let wanted = plan.changes.iter().find_map(|change| match change {
        Change::SelectiveAuth { to, .. } => Some(*to),
        Change::ForwarderAddresses { .. } => None,
    });
    plan.action != PlanAction::Update || wanted.is_none_or(|wanted| trust.selective_auth == wanted)
}

async fn poll<D: DirectoryReader>(
    plan: &Plan,
    trust_id: &str,
    settings: &Settings,
    directory_api: &D,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError> {
    let trust = directory_api.describe_trust(&plan.request.directory_id, trust_id).await?;
    let Some(trust) = trust else { return Ok(status(plan, trust_id, Outcome::Failed, None, now)) };
    match classify_state(&trust.state, plan.request.trust_direction) {
        // UpdateTrust is asynchronous: until DescribeTrusts shows the requested setting, a Verified
        // is the state from before the change, not its outcome.
        StateClass::Done if !shows_requested_setting(plan, &trust) => match now >= plan.deadline {
            true => Ok(status(plan, trust_id, Outcome::TimedOut, Some(&trust), now)),
            false => Err(WorkflowError::TrustPending(format!(
                "trust {trust_id} is {} but does not show the requested selective authentication yet",
                trust.state
            ))),
        },
        StateClass::Done => Ok(status(plan, trust_id, Outcome::Verified, Some(&trust), now)),
        StateClass::Failed => Ok(status(plan, trust_id, Outcome::Failed, Some(&trust), now)),
        StateClass::AwaitingRemoteSide => {
            let window = Duration::seconds(i64::try_from(settings.remote_side_window_seconds).unwrap_or(i64::MAX / 2));
            let mut awaiting = status(plan, trust_id, Outcome::AwaitingRemoteSide, Some(&trust), now);
            awaiting.remote_side_deadline = Some(rfc3339(now + window));
            Ok(awaiting)
        }
        StateClass::Pending if now >= plan.deadline => Ok(status(plan, trust_id, Outcome::TimedOut, Some(&trust), now)),
        StateClass::Pending => Err(WorkflowError::TrustPending(format!("trust {trust_id} is {}", trust.state))),
    }
}

async fn reverify<D>(
    plan: &Plan,
    trust_id: &str,
    last: Option<&TrustStatus>,
    directory_api: &D,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let deadline = last.and_then(|s| s.remote_side_deadline.clone());
    let trust = directory_api.describe_trust(&plan.request.directory_id, trust_id).await?;
    let Some(trust) = trust else { return Ok(status(plan, trust_id, Outcome::Failed, None, now)) };
    let with_deadline = |mut status: TrustStatus| {
        status.remote_side_deadline = deadline.clone();
        status
    };
    match classify_state(&trust.state, plan.request.trust_direction) {
        StateClass::Done => Ok(with_deadline(status(plan, trust_id, Outcome::Verified, Some(&trust), now))),
        StateClass::Failed => Ok(with_deadline(status(plan, trust_id, Outcome::Failed, Some(&trust), now))),
        _ if past(deadline.as_deref(), now) => Ok(with_deadline(status(plan, trust_id, Outcome::RemoteSideTimedOut, Some(&trust), now))),
        StateClass::AwaitingRemoteSide => {
            directory_api.verify_trust(trust_id).await?;
            Err(WorkflowError::TrustAwaitingRemoteSide(format!(
                "trust {trust_id} is VerifyFailed ({}); verification requested again",
                trust.state_reason
            )))
        }
        StateClass::Pending => Err(WorkflowError::TrustAwaitingRemoteSide(format!("trust {trust_id} is {}", trust.state))),
    }
}

async fn cleanup<D>(
    plan: &Plan,
    trust_id: &str,
    last: Option<TrustStatus>,
    settings: &Settings,
    directory_api: &D,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let mut status = last.ok_or_else(|| WorkflowError::Internal("cleanup needs the trust's last status".to_owned()))?;
    // Only a trust this workflow created is deleted: an adopted one belongs to another request.
    let created_here = matches!(plan.action, PlanAction::Create | PlanAction::Replace);
    if settings.delete_failed_trusts && created_here && status.trust_state != TrustState::Deleted {
        let delete_forwarder = !plan.request.forwarder_addresses().is_empty();
        directory_api.delete_trust(trust_id, delete_forwarder).await?;
        tracing::info!(trust_id, delete_forwarder, "deleted the failed trust");
        status.trust_deleted = true;
    }
    Ok(status)
}

#[cfg(test)]
mod tests;
