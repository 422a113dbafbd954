//! The creation step: reads the trust password from Secrets Manager and calls CreateTrust, or,
//! for an Update, changes the existing trust in place (UpdateTrust, UpdateConditionalForwarder).
//!
//! The password lives only inside [`create_trust`]: it is read, handed to CreateTrust, and
//! dropped (and zeroed) before the function returns. Nothing it returns, logs or raises carries it.
//! Creation is idempotent: when CreateTrust says the trust exists (a duplicate event, a retry,
//! a race with a second request), the existing trust is followed instead.

use trustflow_aws::ports::{
    paired_directory, CreateOutcome, DirectoryReader, IpRoutes, NewTrust, OtherAccounts, SecretStore, TrustCreator, TrustMaintainer,
};
use trustflow_domain::domain::{normalize_domain, TrustState};
use trustflow_domain::error::WorkflowError;
use trustflow_domain::network::Ipv4Cidr;
use trustflow_domain::plan::{is_requested_shape, missing_ip_routes, same_addresses, Change, PairedSide, Plan, PlanAction};
use trustflow_domain::secret::TrustPassword;

/// Creates the planned trust and returns the plan with `trustId` set. A Replace deletes the old trust
/// only once the password has been read and checked, and says plainly when the new one then failed.
/// The other side of a pair in another account is created through `accounts` (the request's
/// `remoteRoleArn`).
pub async fn create_trust<D, A, S>(mut plan: Plan, directory_api: &D, accounts: &A, secrets: &S) -> Result<Plan, WorkflowError>
where
    D: DirectoryReader + TrustCreator + TrustMaintainer + IpRoutes,
    A: OtherAccounts,
    S: SecretStore,
{
    let request = &plan.request;
    match plan.action {
        PlanAction::Create | PlanAction::Replace => {}
        PlanAction::Adopt | PlanAction::AlreadyInPlace => {
            // Nothing to create: the plan already follows an existing trust.
            return Ok(plan);
        }
        PlanAction::Update => {
            // A pair is changed as one: the other side is reached first, so that a role that can
            // no longer be assumed changes neither side.
            let other_side = match plan.paired_side.as_ref().is_some_and(|side| !side.changes.is_empty()) {
                true => {
                    Some(paired_directory(directory_api, accounts, request.remote_role_arn.as_deref()).await.map_err(WorkflowError::from)?)
                }
                false => None,
            };
            add_ip_routes(&plan, directory_api).await?;
            apply_changes(&plan, directory_api).await?;
            if let (Some(side), Some(other)) = (plan.paired_side.as_ref(), other_side.as_ref()) {
                if let Err(error) = apply_paired_changes(side, other).await {
                    return Err(paired_change_failed(&plan, side, error));
                }
            }
            return Ok(plan);
        }
    }
    let new_trust = NewTrust {
        directory_id: request.directory_id.clone(),
        remote_domain_name: request.remote_domain_name.clone(),
        trust_type: request.trust_type.as_api_str(),
        trust_direction: request.trust_direction.as_api_str(),
        conditional_forwarder_ip_addrs: request.conditional_forwarder_ip_addrs.iter().map(ToString::to_string).collect(),
        conditional_forwarder_ipv6_addrs: request.conditional_forwarder_ipv6_addrs.iter().map(ToString::to_string).collect(),
        selective_auth: request.selective_auth.as_api_str(),
    };
    // The other account of a pair is reached before anything is created: a role that can no
    // longer be assumed leaves both directories as they are.
    let other_side = match plan.paired_side.is_some() {
        true => Some(paired_directory(directory_api, accounts, request.remote_role_arn.as_deref()).await.map_err(WorkflowError::from)?),
        false => None,
    };
    // Everything that can stop the new trust is checked before the old one is touched: the
    // password is read and checked against CreateTrust's rules first (the request's own rules
    // were checked by the validation step). A replacement never destroys a trust for nothing.
    let password = secrets.read_password(&request.trust_password).await?;
    // The routes come before anything is deleted or created: a directory that cannot take them
    // keeps the trust it has.
    add_ip_routes(&plan, directory_api).await?;
    let replaced = match plan.replaces_trust_id.as_deref() {
        Some(old) => Some(delete_replaced_trust(&plan, old, directory_api).await?),
        None => None,
    };
    let outcome = directory_api.create_trust(&new_trust, &password).await;
    // A pair of AWS directories: the other side with the same password, while it is still here.
    let paired = match (&outcome, plan.paired_side.as_ref(), other_side.as_ref()) {
        (Ok(_), Some(side), Some(other)) => Some(create_paired_side(&plan, side, other, &password).await),
        _ => None,
    };
    drop(password); // zeroed here: nothing after this line can reach it.
    let outcome = match (outcome, replaced) {
        (Ok(outcome), _) => outcome,
        // Retried by the state machine: the next attempt sees the old trust gone and creates again.
        (Err(error @ (WorkflowError::Transient(_) | WorkflowError::TrustPending(_))), _) => return Err(error),
        (Err(error), Some(old)) => return Err(replacement_not_created(&plan, &old, &error)),
        (Err(error), None) => return Err(error),
    };

    match outcome {
        CreateOutcome::Created(trust_id) => {
            tracing::info!(trust_id = %trust_id, request_id = %request.request_id, "trust created");
            plan.trust_id = Some(trust_id);
        }
        CreateOutcome::AlreadyExists => {
            let trust_id = match (find_existing(&plan, directory_api).await, plan.replaces_trust_id.as_deref()) {
                (Ok(trust_id), _) => trust_id,
                (Err(error @ (WorkflowError::Transient(_) | WorkflowError::TrustPending(_))), _) | (Err(error), None) => return Err(error),
                (Err(error), Some(old)) => return Err(replacement_not_created(&plan, old, &error)),
            };
            tracing::info!(trust_id = %trust_id, request_id = %request.request_id, "trust already existed; following it");
            plan.trust_id = Some(trust_id);
            plan.action = PlanAction::Adopt;
        }
    }
    match paired {
        None => {}
        Some(Ok(remote_trust_id)) => {
            tracing::info!(trust_id = %remote_trust_id, request_id = %request.request_id, "the paired side created");
            if let Some(side) = plan.paired_side.as_mut() {
                side.trust_id = Some(remote_trust_id);
            }
        }
        // Retried by the state machine: the next attempt finds this side created and makes the other.
        Some(Err(error @ (WorkflowError::Transient(_) | WorkflowError::TrustPending(_)))) => return Err(error),
        Some(Err(error)) => return Err(paired_side_not_created(&plan, directory_api, &error).await),
    }
    Ok(plan)
}

/// Creates the other side of a pair of AWS directories: a trust on the remote directory for this
/// directory's domain, in the complementary direction, with the same password; a retried step
/// finds it there and follows it.
async fn create_paired_side<D>(plan: &Plan, side: &PairedSide, directory_api: &D, password: &TrustPassword) -> Result<String, WorkflowError>
where
    D: DirectoryReader + TrustCreator,
{
    let request = &plan.request;
    let local_domain = normalize_domain(&plan.directory.name);
    let new_trust = NewTrust {
        directory_id: side.directory.directory_id.clone(),
        remote_domain_name: local_domain.clone(),
        trust_type: request.trust_type.as_api_str(),
        trust_direction: side.trust_direction.as_api_str(),
        conditional_forwarder_ip_addrs: side.conditional_forwarder_ip_addrs.clone(),
        conditional_forwarder_ipv6_addrs: Vec::new(),
        selective_auth: request.selective_auth.as_api_str(),
    };
    match directory_api.create_trust(&new_trust, password).await? {
        CreateOutcome::Created(trust_id) => Ok(trust_id),
        CreateOutcome::AlreadyExists => {
            let trusts = directory_api.list_trusts(&side.directory.directory_id).await?;
            trusts
                .into_iter()
                .find(|t| normalize_domain(&t.remote_domain_name) == local_domain && t.trust_direction == side.trust_direction)
                .map(|t| t.trust_id)
                .ok_or_else(|| {
                    WorkflowError::TrustConflict(format!(
                        "{} has a trust for {local_domain} that is not the {} side this pair needs",
                        side.directory.directory_id,
                        side.trust_direction.as_api_str()
                    ))
                })
        }
    }
}

/// The error for "the other side of the pair was not created": this side is deleted first (with
/// the forwarder its CreateTrust made), so that no half of a pair is left; the message says so.
async fn paired_side_not_created<D: TrustMaintainer>(plan: &Plan, directory_api: &D, cause: &WorkflowError) -> WorkflowError {
    let request = &plan.request;
    let remote = plan.paired_side.as_ref().map(|side| side.directory.directory_id.as_str()).unwrap_or_default();
    let Some(trust_id) = plan.trust_id.as_deref() else {
        return WorkflowError::Internal("the first side of a pair has no trust id".to_owned());
    };
    let removed = match directory_api.delete_trust(trust_id, true).await {
        Ok(()) => format!("so the first side, trust {trust_id} on {}, was deleted: no part of the pair is left", request.directory_id),
        Err(error) => format!(
            "and deleting the first side, trust {trust_id} on {}, failed too ({}): delete it by hand",
            request.directory_id,
            error.name()
        ),
    };
    tracing::warn!(trust_id, request_id = %request.request_id, "the paired side was not created; the first side was deleted");
    WorkflowError::TrustRejected(format!(
        "the other side of the pair, on {remote} for {}, was not created ({}: {cause}), {removed}",
        normalize_domain(&plan.directory.name),
        cause.name()
    ))
}

/// Adds the IP routes the plan lists that the directory does not have yet (a retried step finds
/// them there and adds nothing).
async fn add_ip_routes<D: IpRoutes>(plan: &Plan, directory_api: &D) -> Result<(), WorkflowError> {
    if plan.ip_routes.is_empty() {
        return Ok(());
    }
    let request = &plan.request;
    let present = directory_api.ip_routes(&request.directory_id).await?;
    let wanted: Vec<Ipv4Cidr> = plan.ip_routes.iter().filter_map(|route| route.parse().ok()).collect();
    let missing = missing_ip_routes(&wanted, &present);
    if !missing.is_empty() {
        // AddIpRoutes takes at most 128 characters of [a-zA-Z0-9_@#%*+=:?./!-] and spaces, no brackets.
        let description: String = format!("trustflow DNS servers of {} for request {}", request.remote_domain_name, request.request_id)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "_@#%*+=:?./!- ".contains(*c))
            .take(128)
            .collect();
        directory_api.add_ip_routes(&request.directory_id, &missing, &description).await?;
        tracing::info!(request_id = %request.request_id, routes = %missing.join(", "), "added IP routes");
    }
    Ok(())
}

/// Applies an Update's changes to the trust the plan follows: the forwarder first (it touches no
/// trust, and may be what lets the trust verify), then selective authentication. A setting that
/// already has the requested value is left alone, so a retried step (the state machine retries
/// faults) does not update twice. The password is not read: nothing here needs it.
async fn apply_changes<D: DirectoryReader + TrustMaintainer>(plan: &Plan, directory_api: &D) -> Result<(), WorkflowError> {
    let request = &plan.request;
    let trust_id = plan.trust_id.as_deref().ok_or_else(|| WorkflowError::Internal("an Update plan has no trustId".to_owned()))?;
    let mut changes: Vec<&Change> = plan.changes.iter().collect();
    changes.sort_by_key(|change| matches!(change, Change::SelectiveAuth { .. }));
    for change in changes {
        match change {
            Change::ForwarderAddresses { to, .. } => {
                let current = directory_api.conditional_forwarder(&request.directory_id, &request.remote_domain_name).await?;
                let same = current.as_ref().is_some_and(|addresses| same_addresses(addresses, to));
                if !same {
                    let exists = current.is_some();
                    directory_api.set_conditional_forwarder(&request.directory_id, &request.remote_domain_name, to, exists).await?;
                }
            }
            Change::SelectiveAuth { to, .. } => {
                let trust = directory_api
                    .describe_trust(&request.directory_id, trust_id)
                    .await?
                    .ok_or_else(|| WorkflowError::TrustNotFound(format!("trust {trust_id} no longer exists")))?;
                if trust.selective_auth != *to {
                    directory_api.update_selective_auth(trust_id, *to).await?;
                }
            }
        }
        tracing::info!(trust_id, request_id = %request.request_id, change = %change.describe(), "changed in place");
    }
    Ok(())
}

/// Changes the other side of a pair in place (selective authentication), unless it already shows
/// the requested setting (a retried step changes nothing twice).
async fn apply_paired_changes<D: DirectoryReader + TrustMaintainer>(side: &PairedSide, other: &D) -> Result<(), WorkflowError> {
    let directory_id = &side.directory.directory_id;
    let trust_id = side
        .trust_id
        .as_deref()
        .ok_or_else(|| WorkflowError::Internal("an Update of a pair has no trust id for the other side".to_owned()))?;
    for change in &side.changes {
        if let Change::SelectiveAuth { to, .. } = change {
            let trust = other.describe_trust(directory_id, trust_id).await?.ok_or_else(|| {
                WorkflowError::TrustNotFound(format!("the other side of the pair, trust {trust_id} on {directory_id}, no longer exists"))
            })?;
            if trust.selective_auth != *to {
                other.update_selective_auth(trust_id, *to).await?;
            }
            tracing::info!(trust_id, change = %change.describe(), "the other side of the pair changed in place");
        }
    }
    Ok(())
}

/// This side was changed and the other was not: said as it is (the state machine retries a
/// transient error; the step then finds this side changed and changes the other).
fn paired_change_failed(plan: &Plan, side: &PairedSide, error: WorkflowError) -> WorkflowError {
    if matches!(error, WorkflowError::Transient(_) | WorkflowError::TrustPending(_)) {
        return error;
    }
    let trust_id = side.trust_id.as_deref().unwrap_or("(unknown)");
    WorkflowError::TrustRejected(format!(
        "this side, trust {} on {}, was changed ({}), but the other side of the pair, trust {trust_id} on {}, was not ({}: {error}): send the request again to finish the change",
        plan.trust_id.as_deref().unwrap_or("(unknown)"),
        plan.request.directory_id,
        plan.changes.iter().map(Change::describe).collect::<Vec<_>>().join("; "),
        side.directory.directory_id,
        error.name()
    ))
}

/// Deletes the trust a Replace plan replaces, unless it is already going; returns its id.
async fn delete_replaced_trust<D>(plan: &Plan, old: &str, directory_api: &D) -> Result<String, WorkflowError>
where
    D: DirectoryReader + TrustMaintainer,
{
    let request = &plan.request;
    if let Some(trust) = directory_api.describe_trust(&request.directory_id, old).await? {
        if trust.state != TrustState::Deleting && trust.state != TrustState::Deleted {
            // Keep the domain's forwarder when the request relies on it (gave no addresses).
            let delete_forwarder = !request.forwarder_addresses().is_empty();
            directory_api.delete_trust(old, delete_forwarder).await?;
            tracing::info!(trust_id = old, request_id = %request.request_id, "deleted the trust this request replaces");
        }
    }
    Ok(old.to_owned())
}

/// The error for "the old trust is gone and the new one was not made": it says so plainly.
fn replacement_not_created(plan: &Plan, old: &str, cause: &WorkflowError) -> WorkflowError {
    let request = &plan.request;
    let shape = plan
        .existing_trust
        .as_ref()
        .filter(|t| t.trust_id == old)
        .map(|t| format!(" ({} {})", t.trust_direction, t.trust_type))
        .unwrap_or_default();
    WorkflowError::ReplacementNotCreated(format!(
        "the existing trust {old}{shape} with {remote} was deleted to make way for the requested {direction} {kind} trust, but the new trust was not created ({name}: {cause}). No trust with {remote} exists on {dir} now.",
        remote = request.remote_domain_name,
        direction = request.trust_direction.as_api_str(),
        kind = request.trust_type.as_api_str(),
        name = cause.name(),
        dir = request.directory_id,
    ))
}

/// After CreateTrust said "already exists": the trust for the domain, if it is the requested one.
async fn find_existing<D: DirectoryReader>(plan: &Plan, directory_api: &D) -> Result<String, WorkflowError> {
    let request = &plan.request;
    let trusts = directory_api.list_trusts(&request.directory_id).await?;
    let Some(existing) =
        trusts.iter().find(|t| normalize_domain(&t.remote_domain_name) == request.remote_domain_name && t.state != TrustState::Deleted)
    else {
        // It was deleted between the two calls: CreateTrust will go through on the next attempt.
        return Err(WorkflowError::Transient(format!(
            "CreateTrust said a trust with {} exists, but none was found: retrying",
            request.remote_domain_name
        )));
    };
    if Some(existing.trust_id.as_str()) == plan.replaces_trust_id.as_deref() || existing.state == TrustState::Deleting {
        return Err(WorkflowError::TrustPending(format!(
            "waiting for trust {} with {} to be deleted before creating the new one (state {})",
            existing.trust_id, request.remote_domain_name, existing.state
        )));
    }
    if !is_requested_shape(request, existing) {
        return Err(WorkflowError::TrustConflict(format!(
            "while this request was being processed, a {} {} trust with {} was created on {} ({}); only one trust can exist between two domains",
            existing.trust_direction, existing.trust_type, request.remote_domain_name, request.directory_id, existing.trust_id
        )));
    }
    Ok(existing.trust_id.clone())
}

#[cfg(test)]
mod tests;
