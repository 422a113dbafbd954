//! The notification step: tells the requester the outcome, as a message a person can act on
//! (SNS) and as a machine-readable result event a portal can act on (EventBridge).
//!
//! It receives the whole workflow state, whatever path led here: a plan and a trust status,
//! a plan and a caught failure, or the raw request and a failure when validation rejected it.

use serde_json::{json, Value};
use trustflow_aws::network::judge_network;
use trustflow_aws::ports::{NetworkReader, Notifier};
use trustflow_domain::announcement::sns_subject as subject;
pub use trustflow_domain::announcement::Announcement;
use trustflow_domain::domain::TrustType;
use trustflow_domain::error::WorkflowError;
use trustflow_domain::handoff::WorkflowPlan;
pub use trustflow_domain::handoff::{NotifyInput, NotifyResult};
use trustflow_domain::handoff::{Outcome, TrustStatus};
use trustflow_domain::network::Finding;
use trustflow_domain::plan::{Change, Plan, PlanAction};
use trustflow_domain::preflight::remote_networks;
use trustflow_domain::remedy::Remedy;
use trustflow_domain::removal::{RemovalAction, RemovalPlan};
use trustflow_domain::request::{peek_reply_to, PreflightMode};
use trustflow_domain::status::Cause;
use trustflow_domain::time::OffsetDateTime;
use trustflow_domain::times::rfc3339;

/// Configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The stack's SNS topic: every outcome goes there.
    pub default_topic_arn: String,
    /// The EventBridge bus for result events.
    pub event_bus: String,
    /// The `source` of result events.
    pub event_source: String,
    /// The Region, for the AWS CLI commands of network findings.
    pub region: String,
}

/// A composed notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The outcome.
    pub announcement: Announcement,
    /// SNS subject (at most 100 characters).
    pub subject: String,
    /// SNS body.
    pub body: String,
    /// Result event detail.
    pub detail: Value,
    /// The request's own topic, if any.
    pub request_topic: Option<String>,
    /// Why a rejected or failed request ended so (error name and message).
    pub cause: Option<Cause>,
    /// What the trust's state reason means and what to do.
    pub remedy: Option<Remedy>,
}

/// The creation step's error when a replacement deleted the old trust and the new one was not created.
const REPLACEMENT_NOT_CREATED: &str = "ReplacementNotCreated";

/// Error names that mean the requester must change something (rather than a fault of the workflow).
const REJECTIONS: &[&str] = &["ValidationFailed", "TrustConflict", "SecretUnavailable", "TrustRejected"];

/// Composes and sends the notification for `state`. A trust that failed (or waits) because the
/// directory could not reach the remote domain gets the network pre-flight run again, so the
/// requester reads what blocks it now instead of a generic checklist.
pub async fn notify<N: Notifier, W: NetworkReader>(
    input: &NotifyInput,
    settings: &Settings,
    notifier: &N,
    network: &W,
    now: OffsetDateTime,
) -> Result<NotifyResult, WorkflowError> {
    let findings = network_findings_at_failure(input, settings, network).await;
    let notification = compose_with(input, findings.as_deref(), now);
    let mut topics = vec![settings.default_topic_arn.clone()];
    if let Some(topic) = notification.request_topic.clone().filter(|t| *t != settings.default_topic_arn) {
        topics.push(topic);
    }
    for topic in &topics {
        notifier.publish(topic, &notification.subject, &notification.body).await?;
    }
    notifier
        .put_event(&settings.event_bus, &settings.event_source, notification.announcement.detail_type(), &notification.detail.to_string())
        .await?;
    Ok(NotifyResult {
        announcement: notification.announcement,
        succeeded: notification.announcement.is_success(),
        topics,
        error: notification.cause,
        remedy: notification.remedy,
    })
}

/// The network pre-flight run now, for a trust AWS could not verify because the remote domain could
/// not be contacted (remedy `domain-unreachable`). `None` when it does not apply, the request turned
/// the pre-flight off, or EC2 cannot be read (the generic checklist is sent then: a notification is
/// never lost to a diagnosis).
async fn network_findings_at_failure<W: NetworkReader>(input: &NotifyInput, settings: &Settings, network: &W) -> Option<Vec<Finding>> {
    let Some(WorkflowPlan::Trust(plan)) = input.plan.as_ref() else { return None };
    let unreachable = input.status.as_ref().and_then(|s| s.remedy.as_ref()).is_some_and(|remedy| remedy.code == "domain-unreachable");
    if !unreachable || plan.request.preflight == PreflightMode::Off {
        return None;
    }
    match judge_network(network, &plan.directory, &remote_networks(&plan.request, None), &settings.region).await {
        Ok(findings) => findings,
        Err(error) => {
            tracing::warn!(error = %error, "the network could not be read for the failure's diagnosis; sending the generic checklist");
            None
        }
    }
}

/// Composes the notification; pure, so every path is unit-tested.
pub fn compose(input: &NotifyInput, now: OffsetDateTime) -> Notification {
    compose_with(input, None, now)
}

/// Composes the notification, with the network findings of the moment of a failure where they were read.
pub fn compose_with(input: &NotifyInput, network_findings: Option<&[Finding]>, now: OffsetDateTime) -> Notification {
    let failure = input.failure.as_ref().map(|f| f.name_and_message());
    match input.plan.as_ref() {
        None => compose_early_rejection(input.raw_request.as_deref(), failure, now),
        Some(WorkflowPlan::Removal(plan)) => compose_removal(plan, input.status.as_ref(), failure, now),
        Some(WorkflowPlan::Trust(plan)) => {
            let mut facts = Facts::of(plan, input.status.as_ref(), failure);
            facts.network_findings = network_findings;
            Notification {
                announcement: facts.announcement,
                subject: subject_line(&facts),
                body: message_body(&facts),
                detail: result_detail(&facts, now),
                request_topic: plan.request.notify.as_ref().map(|n| n.topic_arn.clone()),
                cause: facts.failure.clone().map(|(name, message)| Cause { name, message }),
                remedy: facts.remedy.cloned(),
            }
        }
    }
}

/// A removal's outcome: removed, already removed (nothing to remove), rejected or failed.
fn compose_removal(
    plan: &RemovalPlan,
    status: Option<&TrustStatus>,
    failure: Option<(String, String)>,
    now: OffsetDateTime,
) -> Notification {
    let removal = &plan.removal;
    let announcement = match (&failure, status.map(|s| s.outcome)) {
        (Some((error, _)), _) if REJECTIONS.contains(&error.as_str()) => Announcement::Rejected,
        (Some(_), _) => Announcement::Failed,
        (None, _) if plan.action == RemovalAction::AlreadyRemoved => Announcement::AlreadyRemoved,
        (None, Some(Outcome::Removed)) => Announcement::Removed,
        (None, _) => Announcement::Failed,
    };
    let trust = plan.trust.as_ref();
    let removed = announcement == Announcement::Removed;
    // Whether the trust is gone. A removal step looks before it deletes, so a failure of DeleteTrust
    // itself means it was not deleted; a failure while following the deletion leaves it unknown.
    let trust_deleted: Option<bool> = match (&failure, announcement) {
        (_, Announcement::Removed) => Some(true),
        (Some((error, message)), Announcement::Failed) if !REJECTIONS.contains(&error.as_str()) => {
            message.starts_with("DeleteTrust failed").then_some(false)
        }
        _ => Some(false),
    };
    let forwarder_deleted = removed && removal.delete_conditional_forwarder;
    let (aws, dir, remote) = (&plan.directory.name, &removal.directory_id, &removal.remote_domain_name);
    let mut body = match (announcement, trust) {
        (Announcement::AlreadyRemoved, _) => {
            format!("No trust between {aws} ({dir}) and {remote} exists: there was nothing to remove, and nothing was changed.\n\n")
        }
        (_, Some(trust)) => format!(
            "The {} {} trust between {aws} ({dir}) and {remote} {}.\n\nTrust: {}\nState: {}\n",
            trust.trust_direction,
            trust.trust_type,
            match announcement {
                Announcement::Removed => "is removed",
                Announcement::Rejected => "was not removed: the removal was rejected",
                _ if trust_deleted.is_none() => {
                    "may or may not be removed: the removal failed while the deletion was followed (check the directory's trusts: trustctl list)"
                }
                _ => "was not removed: the removal failed",
            },
            trust.trust_id,
            status.map(|s| s.trust_state.as_api_str()).unwrap_or(trust.state.as_api_str()),
        ),
        (Announcement::Removed, None) => {
            format!("The pair's trust between {aws} ({dir}) and {remote} is removed: only the other side was left, and it is gone.\n\n")
        }
        (_, None) => format!("The trust between {aws} ({dir}) and {remote} was not removed.\n\n"),
    };
    let paired = plan.paired.as_ref().map(|other| {
        json!({
            "directoryId": other.directory.directory_id,
            "directoryName": other.directory.name,
            "trustId": other.trust.as_ref().map(|t| t.trust_id.as_str()),
            "trustDirection": other.trust.as_ref().map(|t| t.trust_direction.as_api_str()),
            "trustState": status.and_then(|s| s.paired_trust.as_ref()).map(|p| p.trust_state.as_api_str())
                .or(other.trust.as_ref().map(|t| t.state.as_api_str())),
            "trustDeleted": removed && other.trust.is_some(),
        })
    });
    if let Some(other) = plan.paired.as_ref() {
        body.push_str(&match (&other.trust, removed) {
            (Some(trust), true) => format!(
                "Other side: trust {} on {} ({}): removed, with its forwarder\n",
                trust.trust_id, other.directory.name, other.directory.directory_id
            ),
            (Some(trust), false) => format!(
                "Other side: trust {} on {} ({}): not removed\n",
                trust.trust_id, other.directory.name, other.directory.directory_id
            ),
            (None, _) => format!(
                "Other side: {} ({}) had no trust for this directory's domain\n",
                other.directory.name, other.directory.directory_id
            ),
        });
    }
    body.push_str(&format!(
        "Request: {}{}\n",
        removal.request_id,
        removal.requested_by.as_deref().map(|who| format!(" (requested by {who})")).unwrap_or_default()
    ));
    if removed {
        body.push_str(&match forwarder_deleted {
            true => format!("Conditional forwarder for {remote}: deleted with the trust.\n"),
            false => {
                format!("Conditional forwarder for {remote}: kept (other trusts or applications may resolve the domain through it).\n")
            }
        });
    }
    if let Some((error, message)) = &failure {
        body.push_str(&format!("\nWhy ({error}):\n{message}\n"));
    }
    let verb = match announcement {
        Announcement::Removed => "removed",
        Announcement::AlreadyRemoved => "already removed",
        Announcement::Rejected => "removal rejected",
        _ => "removal failed",
    };
    Notification {
        announcement,
        subject: subject(&format!("trustflow: {aws} trust with {remote} {verb}")),
        body,
        detail: json!({
            "requestId": removal.request_id,
            "outcome": announcement,
            "directoryId": dir,
            "directoryName": aws,
            "remoteDomainName": remote,
            "trustType": trust.map(|t| t.trust_type.as_api_str()),
            "trustDirection": trust.map(|t| t.trust_direction.as_api_str()),
            "trustId": trust.map(|t| t.trust_id.as_str()),
            "trustState": status.map(|s| s.trust_state.as_api_str()).or(trust.map(|t| t.state.as_api_str())),
            "trustDeleted": trust_deleted,
            "conditionalForwarderDeleted": forwarder_deleted,
            "pairedSide": paired,
            "error": failure.as_ref().map(|(name, message)| json!({"name": name, "message": message})),
            "occurredAt": rfc3339(now),
        }),
        request_topic: removal.notify.as_ref().map(|n| n.topic_arn.clone()),
        cause: failure.map(|(name, message)| Cause { name, message }),
        remedy: None,
    }
}

/// A request rejected before a plan existed: the reply goes to what the raw request says, if it
/// says it validly. The state machine sends the raw request as a string (see NotifyRejection); it
/// may not even parse.
fn compose_early_rejection(raw_request: Option<&str>, failure: Option<(String, String)>, now: OffsetDateTime) -> Notification {
    let raw = raw_request.map(|text| serde_json::from_str::<Value>(text).unwrap_or(Value::Null)).unwrap_or(Value::Null);
    let (request_id, topic) = peek_reply_to(&raw);
    let (mut error, mut message) = failure.unwrap_or_else(|| ("Unknown".to_owned(), "the workflow ended without a result".to_owned()));
    if error.ends_with("DeserializeError") {
        // The Lambda runtime could not read the request (serde_json stops at 128 levels of nesting).
        error = "ValidationFailed".to_owned();
        message = "(request): must be a JSON object of at most 128 levels of nesting that the validation step can read".to_owned();
    }
    let announcement = if REJECTIONS.contains(&error.as_str()) { Announcement::Rejected } else { Announcement::Failed };
    let id = request_id.clone().unwrap_or_else(|| "(no valid requestId)".to_owned());
    let verb = if announcement == Announcement::Rejected { "rejected" } else { "failed" };
    let body = format!(
        "Your trust request {id} was {verb} before anything was changed.\n\nWhy ({error}):\n{message}\n\nFix the request and send it again.\n"
    );
    Notification {
        announcement,
        subject: subject(&format!("trustflow: trust request {id} {verb}")),
        body,
        detail: json!({"requestId": request_id, "outcome": announcement, "error": {"name": error, "message": message}, "occurredAt": rfc3339(now)}),
        request_topic: topic,
        cause: Some(Cause { name: error, message }),
        remedy: None,
    }
}

/// What the requester is told about a planned request, decided once: the message, the subject
/// and the result event all say the same.
struct Facts<'a> {
    plan: &'a Plan,
    announcement: Announcement,
    /// The error name and message of a caught failure.
    failure: Option<(String, String)>,
    trust_id: Option<String>,
    state_name: &'a str,
    reason: &'a str,
    remedy: Option<&'a Remedy>,
    remote_side_deadline: Option<&'a str>,
    /// When the remote side was reported ready, if this status was read after that signal.
    remote_side_reported_ready_at: Option<&'a str>,
    /// The trust a Replace replaces.
    replaced: Option<&'a trustflow_domain::domain::TrustInfo>,
    /// Whether that trust is gone: `None` when a fault in the middle of the step leaves it unknown.
    replaced_gone: Option<bool>,
    /// The old trust was deleted and the new one not created.
    replaced_deleted: bool,
    trust_deleted: bool,
    /// The network pre-flight run when the trust failed for a network reason.
    network_findings: Option<&'a [Finding]>,
    /// For a pair of AWS directories: the other side, as last read.
    paired: Option<Value>,
}

impl<'a> Facts<'a> {
    fn of(plan: &'a Plan, status: Option<&'a TrustStatus>, failure: Option<(String, String)>) -> Self {
        let trust_id = plan.trust_id.clone().or_else(|| status.map(|s| s.trust_id.clone()).filter(|id| !id.is_empty()));
        // The existing trust's state describes the followed trust only when they are the same trust
        // (adopted or already in place): a trust being replaced is reported on a line of its own.
        let followed_existing = plan.existing_trust.as_ref().filter(|t| Some(&t.trust_id) == trust_id.as_ref());
        let state_name = status.map(|s| s.trust_state.as_api_str()).unwrap_or_default();
        let state_name =
            if state_name.is_empty() { followed_existing.map(|t| t.state.as_api_str()).unwrap_or_default() } else { state_name };
        let replaced_deleted = failure.as_ref().is_some_and(|(error, _)| error == REPLACEMENT_NOT_CREATED);
        // Whether the trust being replaced is gone: the creation step checks everything it can before
        // deleting, so a rejection means it was never touched, and a new trust means it was deleted.
        // Only a fault in the middle of the step (retries exhausted) leaves it unknown.
        let replaced_gone: Option<bool> = if replaced_deleted || trust_id.is_some() {
            Some(true)
        } else {
            match &failure {
                Some((error, _)) if REJECTIONS.contains(&error.as_str()) => Some(false),
                Some(_) => None,
                None => Some(false),
            }
        };
        Facts {
            plan,
            announcement: announcement_of(plan, status.map(|s| s.outcome), failure.as_ref().map(|(error, _)| error.as_str())),
            trust_id,
            state_name,
            reason: status.map(|s| s.trust_state_reason.as_str()).unwrap_or_default(),
            remedy: status.and_then(|s| s.remedy.as_ref()),
            remote_side_deadline: status.and_then(|s| s.remote_side_deadline.as_deref()),
            remote_side_reported_ready_at: status.and_then(|s| s.remote_side_reported_ready_at.as_deref()),
            replaced: plan.existing_trust.as_ref().filter(|_| plan.action == PlanAction::Replace),
            replaced_gone,
            replaced_deleted,
            trust_deleted: status.is_some_and(|s| s.trust_deleted) || replaced_deleted,
            network_findings: None,
            paired: paired_side(plan, status),
            failure,
        }
    }
}

/// The outcome announced, from the check step's verdict or the caught failure's name.
fn announcement_of(plan: &Plan, outcome: Option<Outcome>, error: Option<&str>) -> Announcement {
    // AWS never verifies a one-way incoming trust: "Created" is as far as it goes, and saying
    // "verified" would be false.
    let verifiable = plan.request.trust_direction.is_verifiable();
    match (error, outcome) {
        (Some(error), _) if REJECTIONS.contains(&error) => Announcement::Rejected,
        (Some(_), _) => Announcement::Failed,
        // A dry run goes from the validation step straight to the notifier: it passed every check.
        (None, None) if plan.request.dry_run => Announcement::Checked,
        (None, Some(Outcome::Verified)) if !verifiable => Announcement::Created,
        (None, Some(Outcome::Verified)) if plan.action == PlanAction::AlreadyInPlace => Announcement::AlreadyInPlace,
        (None, Some(Outcome::Verified)) => Announcement::Verified,
        (None, Some(Outcome::AwaitingRemoteSide)) => Announcement::AwaitingRemoteSide,
        (None, Some(Outcome::TimedOut)) => Announcement::TimedOut,
        (None, Some(Outcome::RemoteSideTimedOut)) => Announcement::RemoteSideTimedOut,
        // Removed is a removal's outcome: a creation that ends with its trust gone has failed.
        (None, Some(Outcome::Failed | Outcome::Removed)) => Announcement::Failed,
        (None, None) if plan.action == PlanAction::AlreadyInPlace && !verifiable => Announcement::Created,
        (None, None) if plan.action == PlanAction::AlreadyInPlace => Announcement::AlreadyInPlace,
        (None, None) => Announcement::Failed,
    }
}

/// The message a person reads.
fn message_body(facts: &Facts<'_>) -> String {
    let request = &facts.plan.request;
    let headline = match facts.announcement {
        Announcement::Verified if facts.plan.action == PlanAction::Update => "was changed in place and is verified".to_owned(),
        Announcement::Verified => "is verified and ready to use".to_owned(),
        Announcement::Created if facts.plan.action == PlanAction::Update => {
            "was changed in place on the AWS side. AWS does not verify one-way incoming trusts".to_owned()
        }
        Announcement::Created if facts.plan.action == PlanAction::AlreadyInPlace => {
            "already exists on the AWS side: nothing was changed. AWS does not verify one-way incoming trusts".to_owned()
        }
        Announcement::Created if facts.paired.is_some() => {
            "is created on both directories: AWS verified the other (outgoing) side, and does not verify this one-way incoming side"
                .to_owned()
        }
        Announcement::Created => {
            "is created on the AWS side. AWS does not verify one-way incoming trusts: it is usable once the on-premises side exists"
                .to_owned()
        }
        Announcement::AlreadyInPlace => "already exists and works: nothing was changed".to_owned(),
        Announcement::AwaitingRemoteSide if facts.paired.is_some() => {
            "is created on both directories and waits for AWS to verify both sides".to_owned()
        }
        Announcement::AwaitingRemoteSide => "is created on the AWS side and waits for the on-premises side".to_owned(),
        Announcement::Failed => "failed".to_owned(),
        Announcement::TimedOut => "was not ready before the workflow's deadline".to_owned(),
        Announcement::RemoteSideTimedOut => "was not verified: the on-premises side was not configured in time".to_owned(),
        Announcement::Rejected => "was rejected".to_owned(),
        Announcement::Removed => "is removed".to_owned(),
        Announcement::AlreadyRemoved => "was already removed".to_owned(),
        Announcement::Checked => format!(
            "passed every check (dry run): nothing was created or changed. Sent without \"dryRun\", the request would {}",
            would_do(facts.plan)
        ),
    };
    let mut body = format!(
        "The {direction} {kind} trust between {aws} ({dir}) and {remote} {headline}.\n\nRequest: {id}{by}\nDirectory: {aws} ({dir})\nRemote domain: {remote}\nDirection: {direction}\nType: {kind}\nTrust: {trust}\nState: {state}\n",
        direction = request.trust_direction.as_api_str(),
        kind = request.trust_type.as_api_str(),
        aws = facts.plan.directory.name,
        dir = request.directory_id,
        remote = request.remote_domain_name,
        id = request.request_id,
        by = request.requested_by.as_deref().map(|w| format!(" (requested by {w})")).unwrap_or_default(),
        trust = facts.trust_id.as_deref().unwrap_or("(none)"),
        state = if facts.state_name.is_empty() { "(unknown)" } else { facts.state_name },
    );
    if let Some(paired) = &facts.paired {
        let text = |key: &str| paired.get(key).and_then(Value::as_str).map(str::to_owned);
        body.push_str(&format!(
            "Other side: {trust} on {name} ({dir}), {direction}, {state}{reason}{deleted}\n",
            trust = text("trustId").map_or_else(|| "no trust (not created)".to_owned(), |id| format!("trust {id}")),
            name = text("directoryName").unwrap_or_default(),
            dir = text("directoryId").unwrap_or_default(),
            direction = text("trustDirection").unwrap_or_default(),
            state = text("trustState").unwrap_or_else(|| "(not read)".to_owned()),
            reason = text("trustStateReason").map(|reason| format!(": {reason}")).unwrap_or_default(),
            deleted = if paired.get("trustDeleted").and_then(Value::as_bool) == Some(true) { " (deleted)" } else { "" },
        ));
        if let Some(changes) = paired.get("changes").and_then(Value::as_array) {
            let changes: Vec<&str> = changes.iter().filter_map(Value::as_str).collect();
            let verb =
                if facts.announcement.is_success() { "Changed in place on the other side" } else { "Requested changes on the other side" };
            body.push_str(&format!("{verb}: {}\n", changes.join("; ")));
        }
    }
    if !facts.plan.changes.is_empty() {
        let changes: Vec<String> = facts.plan.changes.iter().map(Change::describe).collect();
        let verb = if facts.announcement.is_success() { "Changed in place" } else { "Requested changes" };
        body.push_str(&format!("{verb}: {}\n", changes.join("; ")));
    }
    if !facts.reason.is_empty() {
        body.push_str(&format!("Reason: {}\n", facts.reason));
    }
    if let Some(reported) = facts.remote_side_reported_ready_at {
        body.push_str(&match facts.announcement {
            Announcement::AwaitingRemoteSide => format!(
                "The remote side was reported ready at {reported}; AWS verified the trust again after that, and it still fails (reason above). Check the on-premises side below, then report it ready again.\n"
            ),
            _ => format!("The remote side was reported ready at {reported}; AWS verified the trust again after that.\n"),
        });
    }
    if !facts.plan.ip_routes.is_empty() {
        body.push_str(&format!("IP routes planned for the forwarders outside RFC 1918: {}\n", facts.plan.ip_routes.join(", ")));
    }
    if !facts.plan.preflight_findings.is_empty() {
        body.push_str("\nNetwork pre-flight (when the request was checked):\n");
        for finding in &facts.plan.preflight_findings {
            body.push_str(&format!("- {}\n", trustflow_domain::preflight::describe(finding)));
        }
    }
    if let Some(old) = facts.replaced {
        body.push_str(&format!(
            "Trust it replaces: {} ({} {}, {} when the request was checked): {}\n",
            old.trust_id,
            old.trust_direction,
            old.trust_type,
            old.state,
            match facts.replaced_gone {
                Some(true) => "deleted",
                Some(false) => "not deleted, still in place",
                None => "it may have been deleted before the workflow stopped: check the directory's trusts",
            },
        ));
    }
    if let Some((error, message)) = &facts.failure {
        body.push_str(&format!("\nWhy ({error}):\n{message}\n"));
    }
    if let Some(findings) = facts.network_findings {
        let blocking: Vec<&Finding> = findings.iter().filter(|finding| finding.blocks()).collect();
        if blocking.is_empty() {
            body.push_str("\nThe network pre-flight, run now, finds nothing in the directory's security group, network ACLs or route tables that blocks the remote domain's networks: look at the on-premises side (its firewall, and its DNS servers answering for the domain).\n");
        } else {
            // What blocks it now, instead of the generic checklist: each with its fix.
            body.push_str("\nThe directory cannot reach the remote domain. The network pre-flight, run now, finds what blocks it:\n");
            for finding in blocking {
                body.push_str(&format!("- {}\n", trustflow_domain::preflight::describe(finding)));
            }
            body.push_str(if facts.announcement == Announcement::AwaitingRemoteSide {
                // The workflow still re-verifies: a new request is not needed, and would be refused.
                "Fix these: the workflow keeps verifying the trust until its deadline and tells you the outcome.\n"
            } else {
                "Fix these, then send the request again.\n"
            });
        }
    }
    let generic_checklist_replaced = facts.network_findings.is_some_and(|findings| findings.iter().any(Finding::blocks));
    if let Some(said) = facts.remedy.filter(|_| facts.announcement != Announcement::AwaitingRemoteSide && !generic_checklist_replaced) {
        body.push_str(&format!("\nWhat it means: {}\nWhat to do: {}\n", said.meaning, said.action));
    }
    if facts.replaced_deleted {
        body.push_str(&format!(
            "\nNo trust with {remote} exists on {dir} now: the old trust was deleted and the new one was not created. Fix the cause above, then send the request again with a new requestId; with no trust in place, it creates the trust without \"onExistingTrust\": \"replace\".\n",
            remote = request.remote_domain_name,
            dir = request.directory_id,
        ));
    } else if facts.trust_deleted
        && facts
            .paired
            .as_ref()
            .is_some_and(|p| p.get("trustId").is_some_and(|id| !id.is_null()) && p.get("trustDeleted") != Some(&Value::Bool(true)))
    {
        body.push_str("\nThis side's failed trust (and its conditional forwarder) was deleted; the other side was not (see above): delete it before sending a corrected request.\n");
    } else if facts.trust_deleted {
        body.push_str("\nThe failed trust (and its conditional forwarder) was deleted, so a corrected request can be sent.\n");
    } else if matches!(facts.announcement, Announcement::Failed | Announcement::TimedOut | Announcement::RemoteSideTimedOut)
        && facts.trust_id.is_some()
    {
        body.push_str("\nThe trust was left in place for inspection; delete it before sending a corrected request, or send it with \"onExistingTrust\": \"replace\".\n");
    }
    // A pair's other side is an AWS directory the workflow set up itself: no on-premises steps.
    if matches!(facts.announcement, Announcement::AwaitingRemoteSide | Announcement::RemoteSideTimedOut | Announcement::Created)
        && facts.paired.is_none()
    {
        body.push_str(&on_premises_instructions(facts.plan, facts.remote_side_deadline.unwrap_or_default()));
    }
    body
}

/// What a request would do, in words, for a dry run's answer.
fn would_do(plan: &Plan) -> String {
    match plan.action {
        PlanAction::Create => "create the trust".to_owned(),
        PlanAction::Replace => {
            format!("delete the existing trust {} and create the requested one", plan.replaces_trust_id.as_deref().unwrap_or("(unknown)"))
        }
        PlanAction::Update => format!(
            "change the existing trust {} in place ({})",
            plan.trust_id.as_deref().unwrap_or("(unknown)"),
            plan.changes.iter().map(Change::describe).collect::<Vec<_>>().join("; ")
        ),
        PlanAction::Adopt => {
            format!("follow the existing trust {} until AWS has verified it", plan.trust_id.as_deref().unwrap_or("(unknown)"))
        }
        PlanAction::AlreadyInPlace => "change nothing: the trust is already in place".to_owned(),
    }
}

/// The other side of a pair of AWS directories, for the requester: the status's reading of it, or
/// what the plan knows when no status read it (a rejection, a failure before creation).
fn paired_side(plan: &Plan, status: Option<&TrustStatus>) -> Option<Value> {
    let side = plan.paired_side.as_ref()?;
    let read = status.and_then(|status| status.paired_trust.as_ref());
    Some(json!({
        "directoryId": side.directory.directory_id,
        "directoryName": side.directory.name,
        "trustDirection": side.trust_direction.as_api_str(),
        "trustId": read.map(|r| r.trust_id.clone()).or_else(|| side.trust_id.clone()),
        "trustState": read.map(|r| r.trust_state.as_api_str()),
        "trustStateReason": read.map(|r| r.trust_state_reason.as_str()).filter(|reason| !reason.is_empty()),
        "trustDeleted": read.is_some_and(|r| r.trust_deleted),
        "changes": (!side.changes.is_empty()).then(|| side.changes.iter().map(Change::describe).collect::<Vec<_>>()),
    }))
}

/// The result event's detail: the same facts, for a machine.
fn result_detail(facts: &Facts<'_>, now: OffsetDateTime) -> Value {
    let request = &facts.plan.request;
    json!({
        "requestId": request.request_id,
        "outcome": facts.announcement,
        "directoryId": request.directory_id,
        "directoryName": facts.plan.directory.name,
        "remoteDomainName": request.remote_domain_name,
        "trustType": request.trust_type.as_api_str(),
        "trustDirection": request.trust_direction.as_api_str(),
        "trustId": facts.trust_id,
        "trustState": (!facts.state_name.is_empty()).then_some(facts.state_name),
        "trustStateReason": (!facts.reason.is_empty()).then_some(facts.reason),
        "remedy": facts.remedy,
        "trustDeleted": facts.trust_deleted,
        "changes": (!facts.plan.changes.is_empty()).then_some(&facts.plan.changes),
        "replacedTrust": facts.replaced.map(|old| json!({
            "trustId": old.trust_id,
            "trustType": old.trust_type,
            "trustDirection": old.trust_direction,
            "deleted": facts.replaced_gone,
        })),
        "remoteSideDeadline": facts.remote_side_deadline,
        "remoteSideReportedReadyAt": facts.remote_side_reported_ready_at,
        "dryRun": request.dry_run.then_some(true),
        "plannedAction": request.dry_run.then_some(facts.plan.action),
        "ipRoutes": (!facts.plan.ip_routes.is_empty()).then_some(&facts.plan.ip_routes),
        "preflightFindings": (!facts.plan.preflight_findings.is_empty()).then_some(&facts.plan.preflight_findings),
        "networkFindings": facts.network_findings,
        "pairedSide": facts.paired,
        "error": facts.failure.as_ref().map(|(name, message)| json!({"name": name, "message": message})),
        "occurredAt": rfc3339(now),
    })
}

/// The SNS subject line.
fn subject_line(facts: &Facts<'_>) -> String {
    let (plan, announcement) = (facts.plan, facts.announcement);
    let request = &plan.request;
    subject(&format!(
        "trustflow: {} trust with {} {}",
        plan.directory.name,
        request.remote_domain_name,
        match announcement {
            Announcement::Verified => "verified",
            Announcement::Created => "created on the AWS side",
            Announcement::AlreadyInPlace => "already in place",
            Announcement::AwaitingRemoteSide => "awaits the on-premises side",
            Announcement::Failed => "failed",
            Announcement::TimedOut => "timed out",
            Announcement::RemoteSideTimedOut => "not verified in time",
            Announcement::Rejected => "rejected",
            Announcement::Removed => "removed",
            Announcement::AlreadyRemoved => "already removed",
            Announcement::Checked => "checked (dry run)",
        }
    ))
}

/// The CloudWatch namespace of trustflow's own metrics.
pub const METRIC_NAMESPACE: &str = "trustflow";

/// The outcome as metrics, in CloudWatch embedded metric format: one JSON line per metric, which
/// CloudWatch Logs turns into metrics without an API call (the dashboard's "Requests by outcome"
/// and "Failed trusts by remedy", and `WorkflowFaults`, which the stack alarms on). A fault is a
/// request that ended on trustflow's own failure (an internal error, retries exhausted), not on a
/// verdict about the request or the trust. Lines carry `level` and `timestamp` like every log line,
/// so Lambda's log-level filter treats them as INFO (faults as ERROR).
pub fn metric_lines(input: &NotifyInput, result: &NotifyResult, now: OffsetDateTime) -> Vec<Value> {
    // arn:aws:states:<region>:<account>:execution:<state machine>:<execution>
    let machine = input.execution_id.as_deref().and_then(|arn| arn.split(':').nth(6)).unwrap_or("unknown");
    let millis = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    let line = |name: &str, dimension: Option<(&str, &str)>, level: &str| {
        let mut dimensions = vec!["StateMachine"];
        let mut body = json!({
            "_aws": {"Timestamp": millis, "CloudWatchMetrics": [{"Namespace": METRIC_NAMESPACE, "Dimensions": [], "Metrics": [{"Name": name, "Unit": "Count"}]}]},
            "timestamp": trustflow_domain::times::rfc3339(now),
            "level": level,
            "StateMachine": machine,
            name: 1,
        });
        if let Some((key, value)) = dimension {
            dimensions.push(key);
            body[key] = json!(value);
        }
        body["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([dimensions]);
        body
    };
    let outcome = serde_json::to_value(result.announcement).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let mut lines = vec![line("Requests", Some(("Outcome", &outcome)), "INFO")];
    if let Some(code) = result.remedy.as_ref().map(|r| r.code.as_str()) {
        if result.announcement != Announcement::AwaitingRemoteSide {
            lines.push(line("FailedTrusts", Some(("Remedy", code)), "INFO"));
        }
    }
    let fault = result
        .error
        .as_ref()
        .map(|e| e.name.as_str())
        .is_some_and(|name| !REJECTIONS.contains(&name) && !matches!(name, REPLACEMENT_NOT_CREATED | "TrustNotFound"));
    if fault {
        lines.push(line("WorkflowFaults", None, "ERROR"));
    }
    lines
}

/// What the on-premises admin must do, with commands ready to run. Never the password: a placeholder.
pub fn on_premises_instructions(plan: &Plan, deadline: &str) -> String {
    let request = &plan.request;
    let aws = &plan.directory.name;
    let (wizard_direction, dotnet_direction) = request.trust_direction.complementary_on_premises();
    let scope = match request.trust_type {
        TrustType::Forest => ("Forest trust", "Forest", "GetCurrentForest"),
        TrustType::External => ("External trust", "Domain", "GetCurrentDomain"),
    };
    let auth = match request.selective_auth {
        trustflow_domain::domain::SelectiveAuth::Enabled => "Selective authentication",
        trustflow_domain::domain::SelectiveAuth::Disabled => "Forest-wide authentication",
    };
    let dns = if plan.directory.dns_ip_addrs.is_empty() {
        "<the directory's DNS addresses>".to_owned()
    } else {
        plan.directory.dns_ip_addrs.join(",")
    };
    let until = if deadline.is_empty() { String::new() } else { format!(" until {deadline}") };
    let last_step = if request.trust_direction.is_verifiable() {
        format!(
            "3. Nothing else: trustflow asks AWS to verify the trust again on a schedule{until} and reports the result. \
To have it verified at once when your side is done, report it ready: `trustctl ready {id}`, POST /trust-requests/{id}/remote-side-ready, \
or a \"Trust Remote Side Ready\" event with {{\"requestId\": \"{id}\"}}.\n",
            id = request.request_id
        )
    } else {
        // AWS verifies outgoing trusts only: the incoming side is checked from the on-premises end.
        format!("3. Validate it from your side: Active Directory Domains and Trusts > {remote} > Properties > Trusts > {aws} > Properties > Validate (AWS does not verify a one-way incoming trust).\n",
            remote = request.remote_domain_name)
    };
    format!(
        "\nWhat the on-premises administrator of {remote} must do now:\n\
1. DNS: forward {aws} to the AWS directory's DNS servers ({dns}). In PowerShell on a DNS server of {remote}:\n   \
Add-DnsServerConditionalForwarderZone -Name \"{aws}\" -MasterServers {dns} -ReplicationScope Forest\n\
2. Create your side of the trust. In Active Directory Domains and Trusts: {remote} > Properties > Trusts > New trust: \
{aws}, {scope_wizard}, {wizard_direction}, This domain only, {auth}, the same trust password as the AWS side, \
then \"No, do not confirm\" the outgoing and the incoming trust.\n   Or in PowerShell on a domain controller of {remote}:\n   \
$local = [System.DirectoryServices.ActiveDirectory.{scope_class}]::{getter}()\n   \
$local.CreateLocalSideOfTrustRelationship(\"{aws}\", \"{dotnet_direction}\", \"<the agreed trust password>\")\n\
{last_step}\
Network: TCP/UDP 53, 88, 389 and TCP 445 must be open between the directory's security group and your domain controllers.\n",
        remote = request.remote_domain_name,
        scope_wizard = scope.0,
        scope_class = scope.1,
        getter = scope.2,
    )
}

#[cfg(test)]
mod tests;
