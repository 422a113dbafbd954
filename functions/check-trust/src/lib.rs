//! The status step: polls a trust, re-verifies it while the on-premises side is missing, and
//! deletes a failed trust when the stack is configured to.
//!
//! "Still pending" is an error (`TrustPending`, `TrustAwaitingRemoteSide`) rather than a result:
//! the state machine's Retry repeats the Task with backoff, so one poll costs one state transition
//! instead of the three of a Wait -> Task -> Choice loop.

use serde::{Deserialize, Serialize};
use trustflow_core::aws::{DirectoryReader, TrustInfo, TrustMaintainer};
use trustflow_core::domain::{classify_state, StateClass};
use trustflow_core::error::WorkflowError;
use trustflow_core::plan::{Plan, PlanAction};
use trustflow_core::remedy::{remedy_for, Remedy};
use trustflow_core::telemetry::{parse_rfc3339, rfc3339};
use trustflow_core::time::{Duration, OffsetDateTime};

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

/// What the Task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Wait for creation and first verification to finish.
    Poll,
    /// The trust waits for the remote side: ask AWS to verify it again.
    Reverify,
    /// The trust failed: delete it if configured to.
    Cleanup,
}

/// The Task's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckInput {
    /// What to do.
    pub mode: Mode,
    /// The plan, with `trustId` set.
    pub plan: Plan,
    /// The last status, for `reverify` and `cleanup`.
    #[serde(default)]
    pub status: Option<TrustStatus>,
}

/// Where the trust stands, for the state machine's Choice and the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The trust works.
    Verified,
    /// Verification failed for now: the on-premises side is probably not configured yet.
    AwaitingRemoteSide,
    /// The trust failed or is gone.
    Failed,
    /// Creation did not finish before the deadline.
    TimedOut,
    /// The remote side was not configured within the window.
    RemoteSideTimedOut,
}

/// A trust's status as the workflow sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustStatus {
    /// The classification.
    pub outcome: Outcome,
    /// `t-...`.
    pub trust_id: String,
    /// The Directory Service state (`Deleted` when the trust is gone).
    pub trust_state: String,
    /// The Directory Service's reason, verbatim.
    pub trust_state_reason: String,
    /// What the reason means and what to do, where there is a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
    /// When the state was read.
    pub checked_at: String,
    /// Until when the remote side is waited for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_side_deadline: Option<String>,
    /// Whether the failed trust was deleted by the cleanup step.
    #[serde(default)]
    pub trust_deleted: bool,
}

/// The Task's result: the plan passed through, and the new status. Returning the whole workflow
/// document lets the state machine replace its state without reshaping the Lambda's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutput {
    /// The plan, unchanged.
    pub plan: Plan,
    /// Where the trust stands.
    pub status: TrustStatus,
}

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
    }
}

fn status(plan: &Plan, trust_id: &str, outcome: Outcome, trust: Option<&TrustInfo>, now: OffsetDateTime) -> TrustStatus {
    let (state, reason) = match trust {
        Some(trust) => (trust.state.clone(), trust.state_reason.clone()),
        None => ("Deleted".to_owned(), "The trust no longer exists: it was deleted outside this workflow.".to_owned()),
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
        StateClass::Done => Ok(status(plan, trust_id, Outcome::Verified, Some(&trust), now)),
        StateClass::Failed => Ok(status(plan, trust_id, Outcome::Failed, Some(&trust), now)),
        StateClass::AwaitingRemoteSide => {
            let window = Duration::seconds(i64::try_from(settings.remote_side_window_seconds).unwrap_or(i64::MAX / 2));
            let mut awaiting = status(plan, trust_id, Outcome::AwaitingRemoteSide, Some(&trust), now);
            awaiting.remote_side_deadline = Some(rfc3339(now + window));
            Ok(awaiting)
        }
        StateClass::Pending if past(Some(&plan.deadline), now) => Ok(status(plan, trust_id, Outcome::TimedOut, Some(&trust), now)),
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
    if settings.delete_failed_trusts && created_here && status.trust_state != "Deleted" {
        let delete_forwarder = !plan.request.conditional_forwarder_ip_addrs.is_empty();
        directory_api.delete_trust(trust_id, delete_forwarder).await?;
        tracing::info!(trust_id, delete_forwarder, "deleted the failed trust");
        status.trust_deleted = true;
    }
    Ok(status)
}

#[cfg(test)]
mod tests;
