//! The health check: reads every trust of the directories it is given, reports once each trust
//! that stopped working since the last check (and each that works again), with the remedy for its
//! reason, and, where the operator allows it, asks AWS to verify the trusts again so that the
//! next check sees a trust that broke since (a changed password, a closed port).
//!
//! What the last check saw is kept as tags on each directory (`trustflow_domain::health`). A check
//! announces before it records: if announcing fails, the next check finds the change again.

use serde::{Deserialize, Serialize};
use serde_json::json;
use trustflow_aws::ports::{DirectoryReader, DirectoryTags, Notifier, TrustMaintainer};
use trustflow_domain::announcement::sns_subject;
use trustflow_domain::domain::{DirectoryInfo, TrustState};
use trustflow_domain::error::WorkflowError;
use trustflow_domain::health::{assess, HealthChange};
use trustflow_domain::request::is_directory_id;
use trustflow_domain::time::OffsetDateTime;
use trustflow_domain::times::rfc3339;

/// The result event's `detail-type` for a change of health.
pub const HEALTH_CHANGED_DETAIL_TYPE: &str = "Trust Health Changed";

/// Configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The stack's SNS topic.
    pub topic_arn: String,
    /// The EventBridge bus for result events.
    pub event_bus: String,
    /// The `source` of result events.
    pub event_source: String,
    /// Whether the check asks AWS to verify the trusts again (VerifyTrust).
    pub reverify: bool,
}

/// What the schedule (or an operator) asks for: the directories to check.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthInput {
    /// `d-...` ids.
    pub directory_ids: Vec<String>,
}

/// What one directory's check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryHealth {
    /// `d-...`.
    pub directory_id: String,
    /// How many trusts it has.
    pub trusts: usize,
    /// The changes announced.
    pub changes: Vec<HealthChange>,
    /// Trusts not tracked (no room for more tags on the directory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untracked: Vec<String>,
    /// Trusts AWS was asked to verify again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reverified: Vec<String>,
}

/// Checks each directory; a directory that does not exist is an error naming it, before anything is done.
pub async fn check_health<D, N>(
    input: &HealthInput,
    settings: &Settings,
    directory_api: &D,
    notifier: &N,
    now: OffsetDateTime,
) -> Result<Vec<DirectoryHealth>, WorkflowError>
where
    D: DirectoryReader + DirectoryTags + TrustMaintainer,
    N: Notifier,
{
    if let Some(bad) = input.directory_ids.iter().find(|id| !is_directory_id(id)) {
        return Err(WorkflowError::Internal(format!("directoryIds: {bad:?} is not a directory id (d- and ten hexadecimal digits)")));
    }
    let mut found = Vec::new();
    for directory_id in &input.directory_ids {
        let directory = directory_api
            .describe_directory(directory_id)
            .await?
            .ok_or_else(|| WorkflowError::Internal(format!("directoryIds: no directory {directory_id} in this Region")))?;
        found.push(check_directory(&directory, settings, directory_api, notifier, now).await?);
    }
    Ok(found)
}

async fn check_directory<D, N>(
    directory: &DirectoryInfo,
    settings: &Settings,
    directory_api: &D,
    notifier: &N,
    now: OffsetDateTime,
) -> Result<DirectoryHealth, WorkflowError>
where
    D: DirectoryReader + DirectoryTags + TrustMaintainer,
    N: Notifier,
{
    let directory_id = &directory.directory_id;
    let trusts = directory_api.list_trusts(directory_id).await?;
    let report = assess(directory_id, &trusts, &directory_api.tags(directory_id).await?);
    for change in &report.changes {
        announce(directory, change, settings, notifier, now).await?;
    }
    directory_api.set_tags(directory_id, &report.tags).await?;
    directory_api.remove_tags(directory_id, &report.stale_tags).await?;
    let mut reverified = Vec::new();
    if settings.reverify {
        let due = trusts
            .iter()
            .filter(|t| t.trust_direction.is_verifiable() && matches!(t.state, TrustState::Verified | TrustState::VerifyFailed));
        for trust in due {
            // One trust that cannot be verified now does not stop the others being checked.
            match directory_api.verify_trust(&trust.trust_id).await {
                Ok(()) => reverified.push(trust.trust_id.clone()),
                Err(error) => tracing::warn!(trust_id = %trust.trust_id, error = %error, "could not ask AWS to verify the trust again"),
            }
        }
    }
    Ok(DirectoryHealth {
        directory_id: directory_id.clone(),
        trusts: trusts.len(),
        changes: report.changes,
        untracked: report.untracked,
        reverified,
    })
}

async fn announce<N: Notifier>(
    directory: &DirectoryInfo,
    change: &HealthChange,
    settings: &Settings,
    notifier: &N,
    now: OffsetDateTime,
) -> Result<(), WorkflowError> {
    let remote = if change.remote_domain_name.is_empty() { "a remote domain".to_owned() } else { change.remote_domain_name.clone() };
    let verdict = if change.healthy { "works again" } else { "stopped working" };
    let mut body = format!(
        "The trust {} between {} ({}) and {remote} {verdict}: it was {} at the last check and is {} now.\n",
        change.trust_id, directory.name, directory.directory_id, change.previous_state, change.trust_state
    );
    if !change.trust_state_reason.is_empty() {
        body.push_str(&format!("Reason: {}\n", change.trust_state_reason));
    }
    if let Some(remedy) = &change.remedy {
        body.push_str(&format!("\nWhat it means: {}\nWhat to do: {}\n", remedy.meaning, remedy.action));
    }
    let subject = format!("trustflow: {} trust {} {verdict}", directory.name, change.trust_id);
    notifier.publish(&settings.topic_arn, &sns_subject(&subject), &body).await?;
    let detail = json!({
        "directoryId": directory.directory_id,
        "directoryName": directory.name,
        "trustId": change.trust_id,
        "remoteDomainName": (!change.remote_domain_name.is_empty()).then_some(&change.remote_domain_name),
        "previousState": change.previous_state,
        "trustState": change.trust_state,
        "trustStateReason": (!change.trust_state_reason.is_empty()).then_some(&change.trust_state_reason),
        "healthy": change.healthy,
        "remedy": change.remedy,
        "occurredAt": rfc3339(now),
    });
    notifier.put_event(&settings.event_bus, &settings.event_source, HEALTH_CHANGED_DETAIL_TYPE, &detail.to_string()).await
}

#[cfg(test)]
mod tests;
