//! Where a trust request stands, as its requester sees it, derived from its Step Functions execution.
//!
//! The execution of a request is named after its id (`trust-<requestId>`), so the id is all a
//! requester needs. Its status comes from DescribeExecution; what the workflow announced (awaiting
//! the remote side, verified, rejected, ...) and the trust's last state come from the history,
//! where the notifier's and the check step's task outputs are recorded. The view never carries the
//! execution's input or output, only the named fields below: no password, not even the secret's name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::announcement::Announcement;
use crate::handoff::{RecordedOutput, RecordedTrust};
use crate::remedy::Remedy;
use crate::request::{execution_arn_named, execution_name};

/// What DescribeExecution says of an execution.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecutionSummary {
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, `PENDING_REDRIVE`.
    pub status: String,
    /// The error a failed execution ended with (`TrustRequestRejected`, `TrustNotEstablished`, ...).
    pub error: Option<String>,
    /// RFC 3339.
    pub start_date: Option<String>,
    /// RFC 3339; `None` while running.
    pub stop_date: Option<String>,
}

/// One history event, reduced to what a requester's view and a progress display need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryRecord {
    /// The history event type, e.g. `TaskStateEntered`, `TaskFailed`, `ExecutionSucceeded`.
    pub event_type: String,
    /// The state entered, for `*StateEntered` events.
    pub entered_state: Option<String>,
    /// The output of a `TaskSucceeded` event (the Lambda invoke result, JSON text).
    pub task_output: Option<String>,
    /// `(error, cause)` of a `TaskFailed` event.
    pub task_failure: Option<(String, String)>,
    /// The parameters of a `TaskScheduled` event (JSON text): where a waiting Task's token is.
    pub task_parameters: Option<String>,
}

/// Where a request stands, as its requester sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RequestState {
    /// The workflow is working on it.
    Running,
    /// The AWS side is done; the workflow re-verifies until the on-premises side is configured.
    AwaitingRemoteSide,
    /// The trust works (created now, or already in place).
    Verified,
    /// A one-way incoming trust exists on the AWS side; AWS does not verify that direction.
    Created,
    /// The trust was not established.
    Failed,
    /// A removal is done: the trust is gone (or there was none).
    Removed,
    /// The request broke a rule; nothing was created.
    Rejected,
    /// A dry run passed every check; nothing was created or changed.
    Checked,
    /// The trust was not ready in time (creation deadline or remote-side window).
    TimedOut,
    /// Someone stopped the execution.
    Aborted,
}

impl RequestState {
    /// As printed by trustctl.
    pub fn label(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::AwaitingRemoteSide => "awaiting remote side",
            Self::Verified => "verified",
            Self::Created => "created on the AWS side (one-way incoming: not verified by AWS)",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
            Self::Checked => "checked (dry run): nothing was created or changed",
            Self::Removed => "removed",
            Self::TimedOut => "timed out",
            Self::Aborted => "aborted",
        }
    }

    /// Whether the request ended with what was asked for.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Verified | Self::Created | Self::Removed)
    }

    /// Whether the request is still being worked on.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Running | Self::AwaitingRemoteSide)
    }
}

/// The status of one request: the body of `GET /trust-requests/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStatus {
    /// The request id.
    pub request_id: String,
    /// Where it stands.
    pub status: RequestState,
    /// The execution's own status.
    pub execution_status: String,
    /// The last outcome the workflow announced to the requester (`awaitingRemoteSide`, `verified`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announcement: Option<Announcement>,
    /// `t-...`, once the trust exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_id: Option<String>,
    /// The trust's last known Directory Service state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_state: Option<String>,
    /// The Directory Service's reason for that state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_state_reason: Option<String>,
    /// The error a failed execution ended with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why a rejected or failed request ended so: the step's error name and message, as the
    /// requester was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// What the trust's state reason means and what to do, as the requester was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
    /// When the request started (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    /// When it ended (RFC 3339); absent while open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<String>,
}

/// The error a request ended with, as announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// The stable error name (`ValidationFailed`, `SecretUnavailable`, `ReplacementNotCreated`, ...).
    pub name: String,
    /// What broke: field, rule and value for a rejection.
    pub message: String,
}

/// The execution ARN of a request, from the state machine's ARN.
pub fn execution_arn(state_machine_arn: &str, request_id: &str) -> String {
    execution_arn_named(state_machine_arn, &execution_name(request_id))
}

/// Builds the requester's view from the execution and its history.
pub fn summarise(request_id: &str, execution: &ExecutionSummary, history: &[HistoryRecord]) -> RequestStatus {
    let mut announced: Option<RecordedOutput> = None;
    let mut trust: Option<RecordedTrust> = None;
    // Later outputs win: the last announcement and the last trust status are the current ones.
    for output in history.iter().filter_map(|record| record.task_output.as_deref()) {
        let Ok(output) = serde_json::from_str::<Value>(output) else { continue };
        // A Lambda Task's output is the invoke result, with the step's own output under `Payload`;
        // a `.waitForTaskToken` Task's is what the step sent back with its token, as it is.
        let payload = match serde_json::from_value::<InvokeResult>(output.clone()) {
            Ok(InvokeResult { payload }) => payload,
            Err(_) => output,
        };
        let Ok(recorded) = serde_json::from_value::<RecordedOutput>(payload) else { continue };
        if let Some(status) = recorded.status.clone() {
            trust = Some(status);
        }
        if recorded.announcement.is_some() {
            announced = Some(recorded);
        }
    }
    let announcement = announced.as_ref().and_then(|a| a.announcement);
    let text = |value: Option<&String>| value.filter(|s| !s.is_empty()).cloned();
    RequestStatus {
        request_id: request_id.to_owned(),
        status: requester_state(execution, announcement),
        execution_status: execution.status.clone(),
        trust_id: text(trust.as_ref().map(|t| &t.trust_id)),
        trust_state: text(trust.as_ref().map(|t| &t.trust_state)),
        trust_state_reason: text(trust.as_ref().map(|t| &t.trust_state_reason)),
        announcement,
        error: execution.error.clone(),
        cause: announced.as_ref().and_then(|a| a.error.clone()),
        remedy: announced.and_then(|a| a.remedy),
        start_date: execution.start_date.clone(),
        stop_date: execution.stop_date.clone(),
    }
}

/// What Step Functions records as a Lambda Task's output: the invoke result.
#[derive(Deserialize)]
struct InvokeResult {
    #[serde(rename = "Payload")]
    payload: Value,
}

fn requester_state(execution: &ExecutionSummary, announcement: Option<Announcement>) -> RequestState {
    match (execution.status.as_str(), announcement) {
        ("RUNNING" | "PENDING_REDRIVE", Some(Announcement::AwaitingRemoteSide)) => RequestState::AwaitingRemoteSide,
        ("RUNNING" | "PENDING_REDRIVE", _) => RequestState::Running,
        // What the requester was told decides, once the workflow has told them.
        (_, Some(Announcement::Verified | Announcement::AlreadyInPlace)) => RequestState::Verified,
        (_, Some(Announcement::Created)) => RequestState::Created,
        (_, Some(Announcement::Removed | Announcement::AlreadyRemoved)) => RequestState::Removed,
        (_, Some(Announcement::Rejected)) => RequestState::Rejected,
        (_, Some(Announcement::Checked)) => RequestState::Checked,
        (_, Some(Announcement::TimedOut | Announcement::RemoteSideTimedOut)) => RequestState::TimedOut,
        (_, Some(Announcement::Failed)) => RequestState::Failed,
        ("FAILED", _) if execution.error.as_deref() == Some("TrustRequestRejected") => RequestState::Rejected,
        ("TIMED_OUT", _) => RequestState::TimedOut,
        ("ABORTED", _) => RequestState::Aborted,
        _ => RequestState::Failed,
    }
}
