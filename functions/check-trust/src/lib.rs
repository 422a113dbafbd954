//! The status step: polls a trust, re-verifies it while the on-premises side is missing, and
//! deletes a failed trust when the stack is configured to.
//!
//! "Still pending" is an error (`TrustPending`) rather than a result: the state machine's Retry
//! repeats the Task with backoff, so one poll costs one state transition instead of the three of a
//! Wait -> Task -> Choice loop.
//!
//! While the trust waits for the remote side, the re-verification runs in a `.waitForTaskToken`
//! Task whose timeout is the re-verification interval: the step asks AWS to verify again and
//! answers the Task (SendTaskSuccess) only once the trust has a verdict; otherwise the Task waits
//! until its timeout (then Retry runs the step again) or until someone reports the remote side
//! ready, which fails the Task with `RemoteSideReady` and leads to `verifyNow` and
//! `followVerification`: a verification requested at once and followed closely.

use trustflow_aws::ports::{
    paired_directory, DirectoryReader, OtherAccounts, PairedDirectory, RoleError, TaskAnswer, TaskCallbacks, TrustMaintainer,
};
use trustflow_domain::domain::TrustInfo;
use trustflow_domain::domain::{classify_state, normalize_domain, StateClass, TrustState};
use trustflow_domain::error::WorkflowError;
use trustflow_domain::handoff::{
    CheckInput, CheckOutput, Mode, Outcome, PairedTrustStatus, RemovalCheckInput, RemovalCheckOutput, TrustStatus,
};
use trustflow_domain::plan::{Change, PairedSide, Plan, PlanAction};
use trustflow_domain::ready::{answered_since, parse_precise, precise, ReadySignal};
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

/// How long a verification requested after a "remote side ready" signal is followed before the
/// workflow goes back to waiting: AWS moves the trust to `Verifying` and then to its answer; a
/// trust that shows neither by then is left to the scheduled re-verification.
pub const VERIFICATION_FOLLOW_LIMIT: Duration = Duration::minutes(10);

/// Runs one check and returns the workflow document for the state machine.
///
/// In the waiting Task (a `reverify` with a task token), a verdict is also sent to the Task
/// (SendTaskSuccess), and "still waiting" is not an error: the step returns and the Task goes on
/// waiting for its timeout or for a "remote side ready" signal.
pub async fn run_check<D, A, C>(
    input: CheckInput,
    settings: &Settings,
    directory_api: &D,
    accounts: &A,
    callbacks: &C,
    now: OffsetDateTime,
) -> Result<CheckOutput, WorkflowError>
where
    A: OtherAccounts,
    D: DirectoryReader + TrustMaintainer,
    C: TaskCallbacks,
{
    let plan = input.plan.clone();
    let last = input.status.clone();
    let token = input.task_token.clone();
    let checked = check_trust(input, settings, directory_api, accounts, now).await;
    let Some(token) = token else { return checked.map(|status| CheckOutput { plan, status }) };
    match checked {
        Ok(status) => {
            let output = CheckOutput { plan, status };
            let text = serde_json::to_string(&output)
                .map_err(|error| WorkflowError::Internal(format!("the step's result cannot be written: {error}")))?;
            match callbacks.succeed_task(&token, &text).await? {
                TaskAnswer::Answered => tracing::info!(outcome = ?output.status.outcome, "the waiting Task was answered"),
                // A signal (or the Task's timeout) came first: the next step reads the trust again.
                TaskAnswer::NoLongerWaiting => tracing::info!(outcome = ?output.status.outcome, "the waiting Task no longer waited"),
            }
            Ok(output)
        }
        Err(WorkflowError::TrustAwaitingRemoteSide(why)) => {
            tracing::info!(why = %why, "still awaiting the remote side: the Task waits for its next re-verification or a signal");
            let status = last.ok_or_else(|| WorkflowError::Internal("reverify needs the trust's last status".to_owned()))?;
            Ok(CheckOutput { plan, status })
        }
        Err(error) => Err(error),
    }
}

/// Runs one check. The other directory of a pair in another account is reached through `accounts`.
pub async fn check_trust<D, A>(
    input: CheckInput,
    settings: &Settings,
    directory_api: &D,
    accounts: &A,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
    A: OtherAccounts,
{
    let plan = input.plan.clone();
    let trust_id = plan.trust_id.clone().ok_or_else(|| WorkflowError::Internal("the plan has no trustId to check".to_owned()))?;
    let mode = input.mode;
    let role = plan.request.remote_role_arn.as_deref();
    if mode == Mode::Cleanup {
        // The other account is reached before anything is deleted: a transient failure is retried
        // with both sides as they are; a refused role still lets this side go, and is reported.
        let other = match plan.paired_side.is_some() {
            true => match paired_directory(directory_api, accounts, role).await {
                Ok(other) => Ok(other),
                Err(RoleError::Refused(why)) => Err(why),
                Err(RoleError::Aws(error)) => return Err(error),
            },
            false => Ok(PairedDirectory::ThisAccount(directory_api)),
        };
        return cleanup(&plan, &trust_id, input.status.clone(), settings, directory_api, other.as_ref()).await;
    }
    let checked = check_this_side(input, &trust_id, settings, directory_api, now).await;
    let plan = &plan;
    match (plan.paired_side.as_ref(), mode) {
        (Some(side), Mode::Poll | Mode::Reverify | Mode::VerifyNow | Mode::FollowVerification) => {
            let other = paired_directory(directory_api, accounts, role).await?;
            with_paired_side(plan, side, mode, checked, settings, &other, now).await
        }
        _ => checked,
    }
}

/// One check of the trust the plan follows on its own directory.
async fn check_this_side<D>(
    input: CheckInput,
    trust_id: &str,
    settings: &Settings,
    directory_api: &D,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let plan = &input.plan;
    let trust_id = trust_id.to_owned();
    match input.mode {
        Mode::Poll => poll(plan, &trust_id, settings, directory_api, now).await,
        Mode::Reverify => reverify(plan, &trust_id, input.status.as_ref(), directory_api, now).await,
        Mode::VerifyNow => {
            let signal = input.ready_signal.as_ref().and_then(ReadySignal::from_caught).ok_or_else(|| {
                WorkflowError::Internal("verifyNow needs the RemoteSideReady signal the waiting Task was failed with".to_owned())
            })?;
            verify_now(plan, &trust_id, input.status.as_ref(), &signal, directory_api, now).await
        }
        Mode::FollowVerification => follow_verification(plan, &trust_id, input.status.as_ref(), directory_api, now).await,
        Mode::Cleanup => Err(WorkflowError::Internal("mode cleanup is run by check_trust".to_owned())),
        Mode::Remove => Err(WorkflowError::Internal("mode remove needs a removal plan".to_owned())),
    }
}

/// A removal's step: deletes the trust once, then reports it pending (`TrustPending`, which the
/// state machine retries) until it is gone. Each call looks first, so a retried step never deletes
/// twice, and a trust gone in the meantime is removed all the same.
pub async fn remove_trust<D, A>(
    input: RemovalCheckInput,
    directory_api: &D,
    accounts: &A,
    now: OffsetDateTime,
) -> Result<RemovalCheckOutput, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
    A: OtherAccounts,
{
    let plan = input.plan;
    let removal = &plan.removal;
    let mut pending = Vec::new();
    // Each side that exists: this directory's trust and, for a pair, the other directory's.
    if let Some(trust) = plan.trust.as_ref() {
        remove_side(directory_api, &removal.directory_id, &trust.trust_id, removal.delete_conditional_forwarder, &mut pending).await?;
    }
    if let Some(other_trust) = plan.paired.as_ref().and_then(|other| other.trust.as_ref().map(|trust| (other, trust))) {
        let (other, trust) = other_trust;
        let other_api = paired_directory(directory_api, accounts, removal.remote_role_arn.as_deref()).await?;
        // The other side's forwarder was made for this pair: it goes with its trust.
        remove_side(&other_api, &other.directory.directory_id, &trust.trust_id, true, &mut pending).await?;
    }
    let Some(first_id) = plan.trust.as_ref().or(plan.paired.as_ref().and_then(|other| other.trust.as_ref())).map(|t| t.trust_id.as_str())
    else {
        return Err(WorkflowError::Internal("the removal plan names no trust to remove".to_owned()));
    };
    if !pending.is_empty() {
        return Err(WorkflowError::TrustPending(pending.join("; ")));
    }
    let paired_trust = plan.paired.as_ref().and_then(|other| {
        other.trust.as_ref().map(|trust| PairedTrustStatus {
            directory_id: other.directory.directory_id.clone(),
            trust_id: trust.trust_id.clone(),
            trust_state: TrustState::Deleted,
            trust_state_reason: String::new(),
            trust_deleted: true,
        })
    });
    let status = TrustStatus {
        outcome: Outcome::Removed,
        trust_id: plan.trust.as_ref().map_or(first_id, |trust| trust.trust_id.as_str()).to_owned(),
        trust_state: TrustState::Deleted,
        trust_state_reason: String::new(),
        remedy: None,
        checked_at: rfc3339(now),
        remote_side_deadline: None,
        trust_deleted: true,
        remote_side_reported_ready_at: None,
        verification_requested_at: None,
        paired_trust,
    };
    Ok(RemovalCheckOutput { status, plan })
}

/// Deletes one side of a removal once: a trust already gone counts as removed, one being deleted
/// (or whose deletion this call asked for) is added to `pending`.
async fn remove_side<D: DirectoryReader + TrustMaintainer>(
    directory_api: &D,
    directory_id: &str,
    trust_id: &str,
    delete_forwarder: bool,
    pending: &mut Vec<String>,
) -> Result<(), WorkflowError> {
    match directory_api.describe_trust(directory_id, trust_id).await? {
        None => {}
        Some(trust) if trust.state == TrustState::Deleted => {}
        Some(trust) if trust.state == TrustState::Deleting => pending.push(format!("trust {trust_id} is Deleting")),
        Some(trust) => {
            directory_api.delete_trust(trust_id, delete_forwarder).await?;
            tracing::info!(trust_id, state = %trust.state, delete_forwarder, "deleting the trust");
            pending.push(format!("trust {trust_id} is being deleted"));
        }
    }
    Ok(())
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
        remote_side_reported_ready_at: None,
        verification_requested_at: None,
        paired_trust: None,
    }
}

/// Until when the remote side is waited for, from now: the deployment's window, or the request's
/// own end of the wait when that comes earlier (never later).
fn remote_side_deadline(plan: &Plan, settings: &Settings, now: OffsetDateTime) -> String {
    let window = Duration::seconds(i64::try_from(settings.remote_side_window_seconds).unwrap_or(i64::MAX / 2));
    let deadline = plan.request.remote_side_wait_until.map_or(now + window, |until| until.min(now + window));
    rfc3339(deadline)
}

/// A pair of AWS directories: the verdict on this side, joined with the other side's trust. The
/// pair is verified when both sides are; a side that failed or is gone fails the pair; while the
/// other side is still being created the step waits (`TrustPending`); while it is not verified yet
/// the pair awaits it, and each re-verification asks AWS to verify that side too.
async fn with_paired_side<D>(
    plan: &Plan,
    side: &PairedSide,
    mode: Mode,
    checked: Result<TrustStatus, WorkflowError>,
    settings: &Settings,
    other_directory_api: &D,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let Some(remote_id) = side.trust_id.as_deref() else { return checked };
    let remote_directory = side.directory.directory_id.as_str();
    let remote = other_directory_api.describe_trust(remote_directory, remote_id).await?;
    let paired = PairedTrustStatus {
        directory_id: remote_directory.to_owned(),
        trust_id: remote_id.to_owned(),
        trust_state: remote.as_ref().map_or(TrustState::Deleted, |trust| trust.state.clone()),
        trust_state_reason: remote.as_ref().map_or_else(
            || "The trust no longer exists: it was deleted outside this workflow.".to_owned(),
            |trust| trust.state_reason.clone(),
        ),
        trust_deleted: false,
    };
    // An Update of a pair: the other side is done once it shows the requested setting (right after
    // UpdateTrust it may still show its old state).
    let remote_class = remote.as_ref().map(|trust| match classify_state(&trust.state, side.trust_direction) {
        StateClass::Done if !shows_requested_change(&side.changes, trust) => StateClass::Pending,
        class => class,
    });
    let mut status = match checked {
        Ok(status) => status,
        Err(WorkflowError::TrustAwaitingRemoteSide(why)) => {
            // This side is verified again at this re-verification; so is the other, if it needs it.
            if remote_class == Some(StateClass::AwaitingRemoteSide) {
                other_directory_api.verify_trust(remote_id).await?;
            }
            return Err(WorkflowError::TrustAwaitingRemoteSide(why));
        }
        Err(error) => return Err(error),
    };
    status.paired_trust = Some(paired.clone());
    if !matches!(status.outcome, Outcome::Verified | Outcome::AwaitingRemoteSide) {
        return Ok(status);
    }
    let local_domain = normalize_domain(&plan.directory.name);
    let fail = |mut status: TrustStatus, reason: String| {
        status.remedy = Some(remedy_for(&reason, remote_directory, &local_domain));
        status.outcome = Outcome::Failed;
        status.trust_state_reason = format!("the other side of the pair (trust {remote_id} on {remote_directory}): {reason}");
        status
    };
    match remote_class {
        None => Ok(fail(status, paired.trust_state_reason)),
        Some(StateClass::Failed) => Ok(fail(status, paired.trust_state_reason)),
        Some(StateClass::Done) => Ok(status),
        Some(StateClass::Pending) if mode == Mode::Poll && now >= plan.deadline => {
            status.outcome = Outcome::TimedOut;
            Ok(status)
        }
        Some(StateClass::Pending) if mode == Mode::Poll => {
            Err(WorkflowError::TrustPending(format!("the other side of the pair, trust {remote_id}, is {}", paired.trust_state)))
        }
        Some(class) => {
            // This side is verified (or waits itself); the other is not verified yet.
            if mode == Mode::Poll {
                if status.remote_side_deadline.is_none() {
                    status.remote_side_deadline = Some(remote_side_deadline(plan, settings, now));
                }
                status.outcome = Outcome::AwaitingRemoteSide;
                return Ok(status);
            }
            if past(status.remote_side_deadline.as_deref(), now) {
                status.outcome = Outcome::RemoteSideTimedOut;
                return Ok(status);
            }
            if class == StateClass::AwaitingRemoteSide {
                other_directory_api.verify_trust(remote_id).await?;
            }
            Err(WorkflowError::TrustAwaitingRemoteSide(format!(
                "the other side of the pair, trust {remote_id}, is {}; verification requested again",
                paired.trust_state
            )))
        }
    }
}

fn past(deadline: Option<&str>, now: OffsetDateTime) -> bool {
    deadline.and_then(parse_rfc3339).is_some_and(|deadline| now >= deadline)
}

/// Whether the trust has the selective authentication `changes` ask for (none asked: yes).
fn shows_requested_change(changes: &[Change], trust: &TrustInfo) -> bool {
    changes.iter().all(|change| match change {
        Change::SelectiveAuth { to, .. } => trust.selective_auth == *to,
        Change::ForwarderAddresses { .. } => true,
    })
}

/// Whether the trust has the selective authentication an Update asked for (any other plan: yes).
fn shows_requested_setting(plan: &Plan, trust: &TrustInfo) -> bool {
    plan.action != PlanAction::Update || shows_requested_change(&plan.changes, trust)
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
            let mut awaiting = status(plan, trust_id, Outcome::AwaitingRemoteSide, Some(&trust), now);
            awaiting.remote_side_deadline = Some(remote_side_deadline(plan, settings, now));
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
    if let Some(verdict) = remote_side_verdict(plan, trust_id, &trust, deadline, now) {
        return Ok(verdict);
    }
    match classify_state(&trust.state, plan.request.trust_direction) {
        StateClass::AwaitingRemoteSide => {
            directory_api.verify_trust(trust_id).await?;
            Err(WorkflowError::TrustAwaitingRemoteSide(format!(
                "trust {trust_id} is VerifyFailed ({}); verification requested again",
                trust.state_reason
            )))
        }
        _ => Err(WorkflowError::TrustAwaitingRemoteSide(format!("trust {trust_id} is {}", trust.state))),
    }
}

/// The verdict on a trust that waits for the remote side, if it has one: verified, failed, or the
/// window over. The window's deadline is kept in the status, as the notification reports it.
fn remote_side_verdict(
    plan: &Plan,
    trust_id: &str,
    trust: &TrustInfo,
    deadline: Option<String>,
    now: OffsetDateTime,
) -> Option<TrustStatus> {
    let outcome = match classify_state(&trust.state, plan.request.trust_direction) {
        StateClass::Done => Outcome::Verified,
        StateClass::Failed => Outcome::Failed,
        _ if past(deadline.as_deref(), now) => Outcome::RemoteSideTimedOut,
        _ => return None,
    };
    let mut verdict = status(plan, trust_id, outcome, Some(trust), now);
    verdict.remote_side_deadline = deadline;
    Some(verdict)
}

/// The remote side was reported ready: asks AWS to verify the trust now (unless it already has a
/// verdict, or the window is over), and notes when, for `followVerification`. A trust that stays
/// in a verification begun before the signal for longer than [`VERIFICATION_FOLLOW_LIMIT`] goes
/// back to waiting, with no verification of ours to follow.
async fn verify_now<D>(
    plan: &Plan,
    trust_id: &str,
    last: Option<&TrustStatus>,
    signal: &ReadySignal,
    directory_api: &D,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let deadline = last.and_then(|s| s.remote_side_deadline.clone());
    let trust = directory_api.describe_trust(&plan.request.directory_id, trust_id).await?;
    let Some(trust) = trust else { return Ok(status(plan, trust_id, Outcome::Failed, None, now)) };
    if let Some(verdict) = remote_side_verdict(plan, trust_id, &trust, deadline.clone(), now) {
        return Ok(verdict);
    }
    let mut checked = match classify_state(&trust.state, plan.request.trust_direction) {
        // A verification that began before the signal may have run before the remote side was
        // ready: its answer says nothing about the signal. Its end is awaited (TrustPending,
        // retried within seconds), and then a verification of our own is asked for.
        StateClass::Pending if now - signal.signalled_at < VERIFICATION_FOLLOW_LIMIT => {
            return Err(WorkflowError::TrustPending(format!(
                "trust {trust_id} is {}: a verification that began before the remote side was reported ready is still running",
                trust.state
            )));
        }
        StateClass::Pending => status(plan, trust_id, Outcome::AwaitingRemoteSide, Some(&trust), now),
        // AwaitingRemoteSide (Done and Failed are verdicts, answered above).
        _ => {
            directory_api.verify_trust(trust_id).await?;
            tracing::info!(trust_id, state = %trust.state, "the remote side was reported ready: verification requested");
            let mut awaiting = status(plan, trust_id, Outcome::AwaitingRemoteSide, Some(&trust), now);
            awaiting.verification_requested_at = Some(precise(now));
            // Only a status read by a verification asked for after the signal says when it came:
            // the requester is then told that AWS verified again after it.
            awaiting.remote_side_reported_ready_at = Some(rfc3339(signal.signalled_at));
            awaiting
        }
    };
    checked.remote_side_deadline = deadline;
    Ok(checked)
}

/// Follows the verification `verifyNow` requested until AWS answers it: `TrustPending` (retried
/// every second or two) until the trust's state changed after the request, then the verdict, or
/// "still awaiting the remote side" (back to waiting).
async fn follow_verification<D>(
    plan: &Plan,
    trust_id: &str,
    last: Option<&TrustStatus>,
    directory_api: &D,
    now: OffsetDateTime,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader,
{
    let last = last.ok_or_else(|| WorkflowError::Internal("followVerification needs the status verifyNow left".to_owned()))?;
    let keep = |mut status: TrustStatus| {
        status.remote_side_deadline = last.remote_side_deadline.clone();
        status.remote_side_reported_ready_at = last.remote_side_reported_ready_at.clone();
        status.verification_requested_at = last.verification_requested_at.clone();
        status
    };
    // verifyNow found a verdict (or the window over) and requested nothing: that is the answer.
    let Some(requested_at) = last.verification_requested_at.as_deref() else { return Ok(last.clone()) };
    let requested_at = parse_precise(requested_at)
        .ok_or_else(|| WorkflowError::Internal(format!("verificationRequestedAt is not RFC 3339: {requested_at:?}")))?;
    let trust = directory_api.describe_trust(&plan.request.directory_id, trust_id).await?;
    let Some(trust) = trust else { return Ok(keep(status(plan, trust_id, Outcome::Failed, None, now))) };
    let given_up = now - requested_at >= VERIFICATION_FOLLOW_LIMIT;
    match classify_state(&trust.state, plan.request.trust_direction) {
        StateClass::Done => Ok(keep(status(plan, trust_id, Outcome::Verified, Some(&trust), now))),
        StateClass::Failed => Ok(keep(status(plan, trust_id, Outcome::Failed, Some(&trust), now))),
        StateClass::AwaitingRemoteSide if answered_since(requested_at, trust.state_last_updated) => {
            Ok(keep(status(plan, trust_id, Outcome::AwaitingRemoteSide, Some(&trust), now)))
        }
        // AWS never answered the verification: back to waiting, claiming no answer after the signal.
        StateClass::AwaitingRemoteSide | StateClass::Pending if given_up => {
            let mut unanswered = keep(status(plan, trust_id, Outcome::AwaitingRemoteSide, Some(&trust), now));
            unanswered.remote_side_reported_ready_at = None;
            Ok(unanswered)
        }
        _ => Err(WorkflowError::TrustPending(format!(
            "trust {trust_id} is {}: the verification requested after the remote side was reported ready has not answered yet",
            trust.state
        ))),
    }
}

/// Deletes a failed trust this workflow created (and, for a pair, the other side through
/// `other_directory_api`), when the deployment says so.
async fn cleanup<D, O>(
    plan: &Plan,
    trust_id: &str,
    last: Option<TrustStatus>,
    settings: &Settings,
    directory_api: &D,
    other_directory_api: Result<&O, &String>,
) -> Result<TrustStatus, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
    O: DirectoryReader + TrustMaintainer,
{
    let mut status = last.ok_or_else(|| WorkflowError::Internal("cleanup needs the trust's last status".to_owned()))?;
    // Only a trust this workflow created is deleted: an adopted one belongs to another request.
    let created_here = matches!(plan.action, PlanAction::Create | PlanAction::Replace);
    if settings.delete_failed_trusts && created_here && status.trust_state != TrustState::Deleted {
        let delete_forwarder = !plan.request.forwarder_addresses().is_empty();
        directory_api.delete_trust(trust_id, delete_forwarder).await?;
        tracing::info!(trust_id, delete_forwarder, "deleted the failed trust");
        status.trust_deleted = true;
        // A pair is removed whole: the other side goes with this one (with the forwarder it made).
        if let Some(remote_id) = plan.paired_side.as_ref().and_then(|side| side.trust_id.as_deref()) {
            let remote_directory = plan.paired_side.as_ref().map(|side| side.directory.directory_id.as_str()).unwrap_or_default();
            let other_directory_api = match other_directory_api {
                Ok(other) => other,
                Err(why) => {
                    // Said as it is: this side is deleted, the other is left, and why.
                    tracing::warn!(trust_id = remote_id, why = %why, "the other side of the failed pair could not be deleted");
                    let left = format!(
                        "not deleted: trustflow could not reach its account ({why}); delete trust {remote_id} on {remote_directory} there"
                    );
                    match status.paired_trust.as_mut() {
                        Some(paired) if paired.trust_state_reason.is_empty() => paired.trust_state_reason = left,
                        Some(paired) => paired.trust_state_reason = format!("{}; {left}", paired.trust_state_reason),
                        None => status.trust_state_reason = format!("{}; the other side of the pair was {left}", status.trust_state_reason),
                    }
                    return Ok(status);
                }
            };
            if other_directory_api
                .describe_trust(remote_directory, remote_id)
                .await?
                .is_some_and(|trust| trust.state != TrustState::Deleted)
            {
                other_directory_api.delete_trust(remote_id, true).await?;
                tracing::info!(trust_id = remote_id, "deleted the other side of the failed pair");
            }
            if let Some(paired) = status.paired_trust.as_mut() {
                paired.trust_deleted = true;
            }
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests;
