//! What each step of the state machine hands the next: the Task payloads, as types.
//!
//! The ASL (`statemachine/trust_workflow.asl.json`) builds each Task's `Payload` from these fields;
//! each Lambda deserialises its input into one of these structs, so no Lambda reads another's
//! output by string path.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::announcement::Announcement;
use crate::domain::TrustState;
use crate::plan::Plan;
use crate::remedy::Remedy;
use crate::removal::RemovalPlan;
use crate::status::Cause;

/// The validation step's payload: the request as it arrived (raw: validating it is the step's job).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ValidateInput {
    /// What the state machine sends.
    FromWorkflow {
        /// The request, or the EventBridge event around it.
        request: Value,
        /// The execution's ARN (`$$.Execution.Id`), for the log lines.
        #[serde(rename = "executionId")]
        execution_id: String,
    },
    /// A request (or event) on its own, as a direct invocation sends it.
    Bare(Value),
}

impl ValidateInput {
    /// The request (or the event around it) to validate.
    pub fn into_request(self) -> Value {
        match self {
            Self::FromWorkflow { request, .. } => request,
            Self::Bare(request) => request,
        }
    }
}

/// The creation step's payload: the plan the validation step made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateInput {
    /// The plan.
    pub plan: Plan,
}

/// What the Task is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Wait for creation and first verification to finish.
    Poll,
    /// The trust waits for the remote side: ask AWS to verify it again.
    Reverify,
    /// The remote side was reported ready: ask AWS to verify the trust now.
    VerifyNow,
    /// Follow the verification `verifyNow` asked for until AWS answers it.
    FollowVerification,
    /// The trust failed: delete it if configured to.
    Cleanup,
    /// A removal: delete the trust and follow it until it is gone.
    Remove,
}

/// The Task's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckInput {
    /// What to do.
    pub mode: Mode,
    /// The plan, with `trustId` set.
    pub plan: Plan,
    /// The last status, for `reverify`, `verifyNow` and `cleanup`.
    #[serde(default)]
    pub status: Option<TrustStatus>,
    /// For `reverify` in the waiting Task (`.waitForTaskToken`): the token the step answers the
    /// Task with once the trust has a verdict. Absent in executions started before the waiting
    /// Task took a token: those still wait by retrying the step's `TrustAwaitingRemoteSide` error.
    #[serde(default, skip_serializing)]
    pub task_token: Option<crate::ready::TaskToken>,
    /// For `verifyNow`: the signal the waiting Task was failed with (`RemoteSideReady`).
    #[serde(default)]
    pub ready_signal: Option<CaughtFailure>,
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
    /// A removal deleted the trust: it is gone.
    Removed,
}

/// The check step's payload in a removal: the removal plan (the mode is always `remove`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovalCheckInput {
    /// `remove`.
    pub mode: Mode,
    /// The removal plan.
    pub plan: RemovalPlan,
}

/// The check step's result in a removal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovalCheckOutput {
    /// The plan, unchanged.
    pub plan: RemovalPlan,
    /// The removed trust's last status.
    pub status: TrustStatus,
}

/// What the check step is given: a step of a trust's creation (or change), or a removal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CheckStep {
    /// A removal (its plan holds the removal request).
    Removal(Box<RemovalCheckInput>),
    /// A creation or change.
    Trust(Box<CheckInput>),
}

/// Whichever plan the validation step made: a removal's, or a creation's (or change's).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WorkflowPlan {
    /// A removal (its plan holds the removal request).
    Removal(Box<RemovalPlan>),
    /// A creation or change.
    Trust(Box<Plan>),
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
    pub trust_state: TrustState,
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
    /// When the remote side was reported ready, for a status read after that signal (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_side_reported_ready_at: Option<String>,
    /// When the workflow asked AWS to verify the trust after that signal (RFC 3339 with the
    /// fraction of a second): a state that changed after it is that verification's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_requested_at: Option<String>,
    /// For a pair of AWS directories: the other side's trust as it was read with this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paired_trust: Option<PairedTrustStatus>,
}

/// The other side of a pair of AWS directories, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairedTrustStatus {
    /// The remote directory.
    pub directory_id: String,
    /// Its trust for this directory's domain.
    pub trust_id: String,
    /// Its Directory Service state (`Deleted` when it is gone).
    pub trust_state: TrustState,
    /// The Directory Service's reason, verbatim.
    pub trust_state_reason: String,
    /// Whether the cleanup step deleted it.
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

/// A failure a Catch put in the workflow's state (`ResultPath: $.failure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtFailure {
    /// The error name (a [`crate::WorkflowError`] name, or a `States.*` one).
    #[serde(rename = "Error", default)]
    pub error: Option<String>,
    /// For a Lambda error, JSON with the `errorMessage` inside; otherwise plain text.
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl CaughtFailure {
    /// The error name and its message (the Lambda's `errorMessage` when the cause carries one).
    pub fn name_and_message(&self) -> (String, String) {
        let error = self.error.clone().unwrap_or_else(|| "Unknown".to_owned());
        let cause = self.cause.as_deref().unwrap_or_default();
        let message = serde_json::from_str::<Value>(cause)
            .ok()
            .and_then(|c| c.get("errorMessage").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| cause.to_owned());
        (error, message)
    }
}

/// The notification step's payload, whatever path led there: a plan and a trust status, a plan
/// and a caught failure, or the raw request (as text) and a failure when validation rejected it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyInput {
    /// The plan, once validation made one.
    #[serde(default)]
    pub plan: Option<WorkflowPlan>,
    /// The trust's last status, once the check step ran.
    #[serde(default)]
    pub status: Option<TrustStatus>,
    /// What ended the workflow early.
    #[serde(default)]
    pub failure: Option<CaughtFailure>,
    /// The request as it arrived, as JSON text, when validation rejected it (it may not even parse).
    #[serde(default)]
    pub raw_request: Option<String>,
    /// The execution's ARN.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// What the notification step returns to the state machine (and what the status reader reads back
/// from the execution's history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyResult {
    /// The outcome announced.
    pub announcement: Announcement,
    /// Whether the workflow ends in success.
    pub succeeded: bool,
    /// Topics the message went to.
    pub topics: Vec<String>,
    /// Why a rejected or failed request ended as it did, as the requester was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Cause>,
    /// What the trust's state reason means and what to do, as the requester was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

/// A Task's recorded output in the execution history, read for what a requester's view needs:
/// the notifier's announcement (with its cause and remedy) and the check step's trust status.
/// Outputs of other steps have none of these fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedOutput {
    /// The notifier's announcement.
    #[serde(default)]
    pub announcement: Option<Announcement>,
    /// The notifier's cause.
    #[serde(default)]
    pub error: Option<Cause>,
    /// The notifier's remedy.
    #[serde(default)]
    pub remedy: Option<Remedy>,
    /// The check step's status.
    #[serde(default)]
    pub status: Option<RecordedTrust>,
}

/// The part of a recorded [`TrustStatus`] a requester's view shows. Only these fields are
/// required, so histories written by earlier versions of the check step still read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedTrust {
    /// `t-...`.
    pub trust_id: String,
    /// The Directory Service state.
    #[serde(default)]
    pub trust_state: String,
    /// The Directory Service's reason.
    #[serde(default)]
    pub trust_state_reason: String,
}
