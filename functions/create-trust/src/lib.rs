//! The creation step: reads the trust password from Secrets Manager and calls CreateTrust.
//!
//! The password lives only inside [`create_trust`]: it is read, handed to CreateTrust, and
//! dropped (and zeroed) before the function returns. Nothing it returns, logs or raises carries it.
//! Creation is idempotent: when CreateTrust says the trust exists (a duplicate event, a retry,
//! a race with a second request), the existing trust is followed instead.

use trustflow_core::aws::{CreateOutcome, DirectoryReader, NewTrust, SecretStore, TrustCreator, TrustMaintainer};
use trustflow_core::domain::normalize_domain;
use trustflow_core::error::WorkflowError;
use trustflow_core::plan::{is_requested_shape, Plan, PlanAction};

/// Creates the planned trust (deleting the one it replaces first) and returns the plan with `trustId` set.
pub async fn create_trust<D, S>(mut plan: Plan, directory_api: &D, secrets: &S) -> Result<Plan, WorkflowError>
where
    D: DirectoryReader + TrustCreator + TrustMaintainer,
    S: SecretStore,
{
    let request = &plan.request;
    match plan.action {
        PlanAction::Create | PlanAction::Replace => {}
        PlanAction::Adopt | PlanAction::AlreadyInPlace => {
            // Nothing to create: the plan already follows an existing trust.
            return Ok(plan);
        }
    }
    if let Some(old) = plan.replaces_trust_id.as_deref() {
        if let Some(trust) = directory_api.describe_trust(&request.directory_id, old).await? {
            if trust.state != "Deleting" && trust.state != "Deleted" {
                // Keep the domain's forwarder when the request relies on it (gave no addresses).
                let delete_forwarder = !request.conditional_forwarder_ip_addrs.is_empty();
                directory_api.delete_trust(old, delete_forwarder).await?;
                tracing::info!(trust_id = old, "deleted the trust this request replaces");
            }
        }
    }

    let new_trust = NewTrust {
        directory_id: request.directory_id.clone(),
        remote_domain_name: request.remote_domain_name.clone(),
        trust_type: request.trust_type.as_api_str(),
        trust_direction: request.trust_direction.as_api_str(),
        conditional_forwarder_ip_addrs: request.conditional_forwarder_ip_addrs.iter().map(ToString::to_string).collect(),
        selective_auth: request.selective_auth.as_api_str(),
    };
    let outcome = {
        let password = secrets.read_password(&request.trust_password).await?;
        directory_api.create_trust(&new_trust, &password).await?
        // `password` is dropped and zeroed here.
    };

    match outcome {
        CreateOutcome::Created(trust_id) => {
            tracing::info!(trust_id = %trust_id, request_id = %request.request_id, "trust created");
            plan.trust_id = Some(trust_id);
        }
        CreateOutcome::AlreadyExists => {
            let trust_id = find_existing(&plan, directory_api).await?;
            tracing::info!(trust_id = %trust_id, request_id = %request.request_id, "trust already existed; following it");
            plan.trust_id = Some(trust_id);
            plan.action = PlanAction::Adopt;
        }
    }
    Ok(plan)
}

/// After CreateTrust said "already exists": the trust for the domain, if it is the requested one.
async fn find_existing<D: DirectoryReader>(plan: &Plan, directory_api: &D) -> Result<String, WorkflowError> {
    let request = &plan.request;
    let trusts = directory_api.list_trusts(&request.directory_id).await?;
    let Some(existing) = trusts
        .iter()
        .find(|t| normalize_domain(&t.remote_domain_name) == request.remote_domain_name && t.state != "Deleted")
    else {
        // It was deleted between the two calls: CreateTrust will go through on the next attempt.
        return Err(WorkflowError::Transient(format!(
            "CreateTrust said a trust with {} exists, but none was found: retrying",
            request.remote_domain_name
        )));
    };
    if Some(existing.trust_id.as_str()) == plan.replaces_trust_id.as_deref() || existing.state == "Deleting" {
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
