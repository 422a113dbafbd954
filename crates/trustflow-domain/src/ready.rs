//! "The remote side is ready": the signal with which a requester, a portal or the on-premises
//! administrator wakes a workflow that waits for the remote side, so that it verifies the trust at
//! once instead of at its next scheduled re-verification.
//!
//! The waiting state (`AwaitRemoteSide`) is a `.waitForTaskToken` Task whose timeout is the
//! re-verification interval. Its task token is in the execution history, in the parameters of the
//! Task's `TaskScheduled` event: the signal reads it there and fails the Task with
//! [`READY_SIGNAL_ERROR`], which the state machine catches into `VerifyNow`. No table of tokens is
//! kept: whoever may read this state machine's execution histories can already see the token, and
//! nobody else can. The token is never logged, returned or announced ([`TaskToken`] does not print).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::handoff::CaughtFailure;
use crate::status::HistoryRecord;

/// The error name a signal fails the waiting Task with; the state machine's Catch matches it.
pub const READY_SIGNAL_ERROR: &str = "RemoteSideReady";
/// The state that waits for the remote side (and for the signal).
pub const AWAITING_STATE: &str = "AwaitRemoteSide";
/// The state that verifies at once after a signal.
pub const VERIFY_NOW_STATE: &str = "VerifyNow";
/// The states that follow `VerifyNow` until the verification's answer is routed.
pub const FOLLOW_STATES: [&str; 2] = ["FollowVerification", "RouteAfterVerification"];
/// The state that announces "awaiting the remote side" before the workflow waits (again).
pub const ANNOUNCE_AWAITING_STATE: &str = "NotifyAwaitingRemoteSide";

/// How the signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SignalSource {
    /// `POST /trust-requests/{id}/remote-side-ready` (and `trustctl ready --via api`).
    Api,
    /// A `Trust Remote Side Ready` event (and `trustctl ready --via events`).
    Event,
}

/// The signal as the waiting Task receives it: the `Cause` of its `RemoteSideReady` failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadySignal {
    /// When the signal was received, to the nanosecond: a trust state that changed after it is the
    /// answer of a verification requested after the signal.
    #[serde(with = "precise_rfc3339")]
    pub signalled_at: OffsetDateTime,
    /// How it arrived.
    pub via: SignalSource,
}

impl ReadySignal {
    /// The `Cause` the signal fails the waiting Task with.
    pub fn to_cause(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The signal a Catch put in the workflow's state (`ResultPath: $.readySignal`), if it is one.
    pub fn from_caught(caught: &CaughtFailure) -> Option<Self> {
        (caught.error.as_deref() == Some(READY_SIGNAL_ERROR)).then_some(())?;
        serde_json::from_str(caught.cause.as_deref()?).ok()
    }
}

/// RFC 3339 with the fraction of a second kept (the workflow's other times are to the second).
mod precise_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.format(&Rfc3339).map_err(serde::ser::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

/// A waiting Task's token. It answers the Task, so it is handled like a credential: it does not
/// print, and it is not serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct TaskToken(String);

impl TaskToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token, for the one call that answers the Task.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TaskToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaskToken(withheld)")
    }
}

impl<'de> Deserialize<'de> for TaskToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Where a running workflow stands with respect to the remote side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteSideWait {
    /// It waits for the remote side; this token answers the waiting Task.
    Waiting(TaskToken),
    /// It is verifying the trust after a signal right now.
    VerifyingNow,
    /// It waits for the remote side but is between two checks (a scheduled re-verification is
    /// starting): there is no Task to answer for a moment.
    BetweenChecks,
    /// It is doing something else (creating, polling, announcing) or has ended.
    NotWaiting,
}

/// Reads the history (oldest first) to tell whether the workflow waits for the remote side now.
pub fn remote_side_wait(history: &[HistoryRecord]) -> RemoteSideWait {
    let mut state: Option<&str> = None;
    let mut open_task: Option<Option<TaskToken>> = None;
    for record in history {
        if record.entered_state.is_some() {
            state = record.entered_state.as_deref();
            open_task = None;
            continue;
        }
        match record.event_type.as_str() {
            "TaskScheduled" => open_task = Some(record.task_parameters.as_deref().and_then(token_in)),
            "TaskSucceeded" | "TaskFailed" | "TaskTimedOut" | "TaskStartFailed" | "TaskSubmitFailed" => open_task = None,
            t if t.starts_with("Execution") && t != "ExecutionStarted" => return RemoteSideWait::NotWaiting,
            _ => {}
        }
    }
    match (state, open_task) {
        (Some(AWAITING_STATE), Some(Some(token))) => RemoteSideWait::Waiting(token),
        // About to wait (again): the Task to answer comes within a moment.
        (Some(AWAITING_STATE | ANNOUNCE_AWAITING_STATE), _) => RemoteSideWait::BetweenChecks,
        (Some(state), _) if state == VERIFY_NOW_STATE || FOLLOW_STATES.contains(&state) => RemoteSideWait::VerifyingNow,
        _ => RemoteSideWait::NotWaiting,
    }
}

/// The token in a Task's scheduled parameters (`Payload.taskToken`), as the ASL passes it.
fn token_in(parameters: &str) -> Option<TaskToken> {
    let parameters: Value = serde_json::from_str(parameters).ok()?;
    parameters.pointer("/Payload/taskToken").and_then(Value::as_str).filter(|t| !t.is_empty()).map(TaskToken::new)
}

/// Whether a trust state that last changed at `state_changed_at` is the answer of a verification
/// requested at `requested_at` (the trust went through `Verifying` since, so its state changed).
pub fn answered_since(requested_at: OffsetDateTime, state_changed_at: Option<OffsetDateTime>) -> bool {
    state_changed_at.is_some_and(|at| at > requested_at)
}

/// A time written with its fraction of a second (RFC 3339), as the signal's times are.
pub fn precise(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Reads a time [`precise`] wrote.
pub fn parse_precise(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entered(state: &str) -> HistoryRecord {
        HistoryRecord { event_type: "TaskStateEntered".into(), entered_state: Some(state.into()), ..Default::default() }
    }

    fn event(event_type: &str) -> HistoryRecord {
        HistoryRecord { event_type: event_type.into(), ..Default::default() }
    }

    fn scheduled(token: &str) -> HistoryRecord {
        let parameters = serde_json::json!({"FunctionName": "f", "Payload": {"mode": "reverify", "taskToken": token}}).to_string();
        HistoryRecord { event_type: "TaskScheduled".into(), task_parameters: Some(parameters), ..Default::default() }
    }

    #[test]
    fn a_workflow_waiting_in_its_task_is_answered_with_the_latest_token() {
        let history = [
            entered("PollTrust"),
            event("TaskScheduled"),
            event("TaskSucceeded"),
            entered("AwaitRemoteSide"),
            scheduled("first"),
            event("TaskSubmitted"),
            event("TaskTimedOut"),
            scheduled("second"),
            event("TaskSubmitted"),
        ];
        assert_eq!(remote_side_wait(&history), RemoteSideWait::Waiting(TaskToken::new("second")));
    }

    #[test]
    fn between_a_timed_out_wait_and_the_next_one_there_is_no_task_to_answer() {
        let history = [entered("AwaitRemoteSide"), scheduled("first"), event("TaskTimedOut")];
        assert_eq!(remote_side_wait(&history), RemoteSideWait::BetweenChecks);
    }

    #[test]
    fn a_workflow_verifying_after_a_signal_or_doing_anything_else_is_not_waiting() {
        let verifying = [entered("AwaitRemoteSide"), scheduled("t"), event("TaskFailed"), entered("VerifyNow"), event("TaskScheduled")];
        assert_eq!(remote_side_wait(&verifying), RemoteSideWait::VerifyingNow);
        let following = [entered("VerifyNow"), event("TaskSucceeded"), entered("FollowVerification"), event("TaskScheduled")];
        assert_eq!(remote_side_wait(&following), RemoteSideWait::VerifyingNow);
        assert_eq!(remote_side_wait(&[entered("NotifyAwaitingRemoteSide")]), RemoteSideWait::BetweenChecks);
        assert_eq!(remote_side_wait(&[entered("PollTrust"), event("TaskScheduled")]), RemoteSideWait::NotWaiting);
        let ended = [entered("AwaitRemoteSide"), scheduled("t"), event("ExecutionAborted")];
        assert_eq!(remote_side_wait(&ended), RemoteSideWait::NotWaiting);
        assert_eq!(remote_side_wait(&[]), RemoteSideWait::NotWaiting);
    }

    #[test]
    fn the_signal_travels_as_the_cause_of_its_error_and_keeps_its_fraction_of_a_second() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_795_000_000_250_000_000).expect("a time");
        let signal = ReadySignal { signalled_at: at, via: SignalSource::Api };
        let caught = CaughtFailure { error: Some(READY_SIGNAL_ERROR.into()), cause: Some(signal.to_cause()) };
        assert_eq!(ReadySignal::from_caught(&caught), Some(signal));
        let other = CaughtFailure { error: Some("Transient".into()), cause: Some(signal.to_cause()) };
        assert_eq!(ReadySignal::from_caught(&other), None);
    }

    #[test]
    fn only_a_state_change_after_the_verification_was_requested_answers_it() {
        let at = OffsetDateTime::from_unix_timestamp(1_795_000_000).expect("a time");
        assert!(answered_since(at, Some(at + time::Duration::milliseconds(300))));
        assert!(!answered_since(at, Some(at - time::Duration::milliseconds(300))));
        assert!(!answered_since(at, None));
        assert_eq!(parse_precise(&precise(at + time::Duration::milliseconds(300))), Some(at + time::Duration::milliseconds(300)));
    }

    #[test]
    fn a_token_never_prints() {
        assert_eq!(format!("{:?}", TaskToken::new("AQCEAAAAKgAAAAMAAAAA")), "TaskToken(withheld)");
    }
}
