//! The `Custom::DirectoryTrust` CloudFormation resource: a trust declared in a template.
//!
//! CloudFormation invokes this function (the stack's `DirectoryTrustServiceToken` output) with a
//! Create, Update or Delete request. The function checks the properties (a broken rule is answered
//! FAILED at once, naming the property, the rule and the value, and nothing starts), keeps the answer
//! it owes ([`PendingAnswers`]: the response URL is a credential, never logged nor put in an
//! execution's input) and starts the workflow, through the same execution naming as every other
//! entrance. The workflow's result event for that request (a rule on the bus sends this function the
//! result events of `cfn-` requests) then gives the answer: SUCCESS with `TrustId`, `TrustState`,
//! `RemoteDomainName` and `RequestId`, or FAILED with the reason and remedy, which CloudFormation
//! shows in the stack's events.
//!
//! - Create: the trust request the properties describe, under `cfn-<logical id>-<hash>`, which is
//!   also the physical id. `WaitFor: Created` (default) is answered once the AWS side exists;
//!   `Verified` once AWS verified it.
//! - Update: a change of the directory, the domain, the type or the direction is a replacement (a
//!   new trust under a new physical id; CloudFormation then deletes the old one); a change of
//!   selective authentication or the forwarders is made in place; a change of the resource's own
//!   settings only is answered at once.
//! - Delete: removes the trust this resource created, and only that one: a trust that existed
//!   before the resource (adopted), that a replacement took over, or that is gone already is left
//!   as it is and the Delete succeeds.

use std::future::Future;

use serde_json::{json, Map, Value};
use trustflow_aws::ports::{DirectoryReader, ExecutionReader, ExecutionStarter, PendingAnswers, StartOutcome, SubmitError};
use trustflow_aws::{read_status, StatusError};
use trustflow_domain::announcement::Announcement;
use trustflow_domain::custom_resource::{
    answer_for, fit_to_service_timeout, resource_request_id, trust_properties, update_kind, violations_reason, PendingAnswer, RequestType,
    ResourceAction, ResourceRequest, ResourceResponse, ResponseUrl, TrustProperties, UpdateKind, WaitFor, WorkflowTimings,
};
use trustflow_domain::removal::REMOVAL_INPUT_KEY;
use trustflow_domain::request::execution_name;
use trustflow_domain::status::RequestStatus;
use trustflow_domain::time::OffsetDateTime;
use trustflow_domain::WorkflowError;

/// Sends the one answer to CloudFormation's response URL.
pub trait ResponseSender {
    /// PUT `body` to `url`; an error when the URL did not take it.
    fn send(&self, url: &ResponseUrl, body: &str) -> impl Future<Output = Result<(), WorkflowError>>;
}

/// The AWS calls the resource makes, each behind its port.
pub struct Ports<'a, S, E, D, P, H> {
    /// StartExecution.
    pub starter: &'a S,
    /// DescribeExecution and GetExecutionHistory: what a request did.
    pub executions: &'a E,
    /// DescribeTrusts: whether the resource's trust is still there.
    pub directory: &'a D,
    /// The answers owed.
    pub pending: &'a P,
    /// The response URL.
    pub responder: &'a H,
}

/// The deployment this resource starts requests in.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The workflow.
    pub state_machine_arn: String,
    /// Its re-verification interval (`WaitFor: Verified` is fitted to it).
    pub timings: WorkflowTimings,
}

/// What the invocation did, for the log and the invoker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// CloudFormation was answered now.
    Answered {
        /// SUCCESS or FAILED.
        status: &'static str,
        /// The physical id answered with.
        physical_resource_id: String,
    },
    /// The workflow runs `request_id`; its result event will give the answer.
    Started {
        /// The workflow's request id.
        request_id: String,
    },
    /// A result event that settles nothing (not a request of this resource, or `WaitFor: Verified`
    /// while the trust awaits the remote side).
    NothingOwed,
}

impl Handled {
    /// As JSON, for the invoker.
    pub fn to_json(&self) -> Value {
        match self {
            Self::Answered { status, physical_resource_id } => json!({"answered": status, "physicalResourceId": physical_resource_id}),
            Self::Started { request_id } => json!({"started": request_id}),
            Self::NothingOwed => json!({"nothingOwed": true}),
        }
    }
}

/// Handles whatever invoked the function: a CloudFormation request, or a result event.
pub async fn handle<S, E, D, P, H>(
    payload: &Value,
    ports: &Ports<'_, S, E, D, P, H>,
    deployment: &Deployment,
    now: OffsetDateTime,
) -> Result<Handled, WorkflowError>
where
    S: ExecutionStarter,
    E: ExecutionReader,
    D: DirectoryReader,
    P: PendingAnswers,
    H: ResponseSender,
{
    if payload.get("RequestType").is_some() {
        let request: ResourceRequest = serde_json::from_value(payload.clone())
            .map_err(|error| WorkflowError::Internal(format!("not a CloudFormation custom resource request: {error}")))?;
        tracing::info!(
            request_type = ?request.request_type,
            stack_id = %request.stack_id,
            logical_resource_id = %request.logical_resource_id,
            "CloudFormation request"
        );
        return match request.request_type {
            RequestType::Create => create(&request, ports, deployment, now).await,
            RequestType::Update => update(&request, ports, deployment, now).await,
            RequestType::Delete => delete(&request, ports, &deployment.state_machine_arn).await,
        };
    }
    if payload.get("detail-type").is_some() {
        return result_event(payload.get("detail").unwrap_or(&Value::Null), ports).await;
    }
    Err(WorkflowError::Internal("expected a CloudFormation custom resource request or a trustflow result event".to_owned()))
}

fn pending(request: &ResourceRequest, physical_resource_id: &str, action: ResourceAction, wait_for: WaitFor) -> PendingAnswer {
    PendingAnswer {
        response_url: request.response_url.clone(),
        stack_id: request.stack_id.clone(),
        cloudformation_request_id: request.request_id.clone(),
        logical_resource_id: request.logical_resource_id.clone(),
        physical_resource_id: physical_resource_id.to_owned(),
        action,
        wait_for,
    }
}

async fn answer<H: ResponseSender>(responder: &H, response: &ResourceResponse, url: &ResponseUrl) -> Result<Handled, WorkflowError> {
    let body = serde_json::to_string(response).map_err(|error| WorkflowError::Internal(error.to_string()))?;
    responder.send(url, &body).await?;
    tracing::info!(
        status = response.status,
        physical_resource_id = %response.physical_resource_id,
        reason = response.reason.as_deref().unwrap_or_default(),
        "CloudFormation answered"
    );
    Ok(Handled::Answered { status: response.status, physical_resource_id: response.physical_resource_id.clone() })
}

/// Answers a request whose properties break rules: FAILED, naming each property.
async fn refuse<H: ResponseSender>(responder: &H, owed: &PendingAnswer, error: WorkflowError) -> Result<Handled, WorkflowError> {
    let reason = match &error {
        WorkflowError::ValidationFailed(violations) => violations_reason(violations),
        other => other.to_string(),
    };
    answer(responder, &ResourceResponse::failed(owed, &reason), &owed.response_url).await
}

async fn create<S, E, D, P, H>(
    request: &ResourceRequest,
    ports: &Ports<'_, S, E, D, P, H>,
    deployment: &Deployment,
    now: OffsetDateTime,
) -> Result<Handled, WorkflowError>
where
    S: ExecutionStarter,
    E: ExecutionReader,
    D: DirectoryReader,
    P: PendingAnswers,
    H: ResponseSender,
{
    let request_id = resource_request_id(&request.stack_id, &request.logical_resource_id, &request.request_id);
    let owed = pending(request, &request_id, ResourceAction::Create, WaitFor::Created);
    let fitted = trust_properties(&request.resource_properties, &request_id).and_then(|mut properties| {
        fit_to_service_timeout(&mut properties, deployment.timings, now)?;
        Ok(properties)
    });
    match fitted {
        Ok(properties) => {
            let owed = PendingAnswer { wait_for: properties.wait_for, ..owed };
            start(ports, &deployment.state_machine_arn, &request_id, &properties.request, &owed).await
        }
        Err(error) => refuse(ports.responder, &owed, error).await,
    }
}

async fn update<S, E, D, P, H>(
    request: &ResourceRequest,
    ports: &Ports<'_, S, E, D, P, H>,
    deployment: &Deployment,
    now: OffsetDateTime,
) -> Result<Handled, WorkflowError>
where
    S: ExecutionStarter,
    E: ExecutionReader,
    D: DirectoryReader,
    P: PendingAnswers,
    H: ResponseSender,
{
    let physical_resource_id = request.physical_resource_id.clone().unwrap_or_default();
    let request_id = resource_request_id(&request.stack_id, &request.logical_resource_id, &request.request_id);
    let in_place = pending(request, &physical_resource_id, ResourceAction::Update, WaitFor::Created);
    let mut new = match trust_properties(&request.resource_properties, &request_id) {
        Ok(new) => new,
        Err(error) => return refuse(ports.responder, &in_place, error).await,
    };
    let old = request.old_resource_properties.as_ref().and_then(|old| trust_properties(old, &physical_resource_id).ok());
    // What changed is judged on the properties as written; the window fitted to ServiceTimeout is
    // the resource's own setting, not the trust's.
    let kind = old.as_ref().map_or(UpdateKind::Replacement, |old| update_kind(old, &new));
    if let Err(error) = fit_to_service_timeout(&mut new, deployment.timings, now) {
        return refuse(ports.responder, &in_place, error).await;
    }
    let state_machine_arn = deployment.state_machine_arn.as_str();
    tracing::info!(update = ?kind, %physical_resource_id, "update of the trust's properties");
    match kind {
        UpdateKind::Nothing => {
            let data = current_attributes(ports.directory, &new, &physical_resource_id).await?;
            answer(ports.responder, &ResourceResponse::success(&in_place, data), &in_place.response_url).await
        }
        UpdateKind::InPlace => {
            let owed = PendingAnswer { wait_for: new.wait_for, ..in_place };
            start(ports, state_machine_arn, &request_id, &new.request, &owed).await
        }
        UpdateKind::Replacement => {
            let mut trust_request = new.request.clone();
            let same_pair = old.as_ref().is_some_and(|old| {
                old.parsed.directory_id == new.parsed.directory_id && old.parsed.remote_domain_name == new.parsed.remote_domain_name
            });
            // The directory holds one trust per remote domain: a new type or direction for the same
            // pair replaces the old trust in the workflow (which creates the new one only once the
            // request passed every check), unless the template says how to treat an existing trust.
            if same_pair && new.request.get("onExistingTrust").is_none() {
                trust_request["onExistingTrust"] = json!("replace");
            }
            let owed = pending(request, &request_id, ResourceAction::Create, new.wait_for);
            start(ports, state_machine_arn, &request_id, &trust_request, &owed).await
        }
    }
}

async fn delete<S, E, D, P, H>(
    request: &ResourceRequest,
    ports: &Ports<'_, S, E, D, P, H>,
    state_machine_arn: &str,
) -> Result<Handled, WorkflowError>
where
    S: ExecutionStarter,
    E: ExecutionReader,
    D: DirectoryReader,
    P: PendingAnswers,
    H: ResponseSender,
{
    let physical_resource_id = request.physical_resource_id.clone().unwrap_or_default();
    let owed = pending(request, &physical_resource_id, ResourceAction::Delete, WaitFor::Created);
    let nothing_to_delete = |why: String| {
        tracing::info!(%physical_resource_id, why = %why, "nothing deleted");
        ResourceResponse::success(&owed, Map::new())
    };
    let Ok(properties) = trust_properties(&request.resource_properties, &physical_resource_id) else {
        // Properties that never passed the rules never started anything.
        let response = nothing_to_delete("the properties never made a valid trust request".to_owned());
        return answer(ports.responder, &response, &owed.response_url).await;
    };
    let Some(trust_id) = trust_created_by(ports.executions, state_machine_arn, &physical_resource_id).await? else {
        let response = nothing_to_delete("this resource created no trust (refused, failed, or adopted an existing one)".to_owned());
        return answer(ports.responder, &response, &owed.response_url).await;
    };
    let trusts = ports.directory.list_trusts(&properties.parsed.directory_id).await?;
    if !trusts.iter().any(|trust| trust.trust_id == trust_id) {
        let response = nothing_to_delete(format!("trust {trust_id} is gone already (or was replaced)"));
        return answer(ports.responder, &response, &owed.response_url).await;
    }
    let request_id = resource_request_id(&request.stack_id, &request.logical_resource_id, &request.request_id);
    let removal = json!({ REMOVAL_INPUT_KEY: {
        "requestId": request_id,
        "directoryId": properties.parsed.directory_id,
        "remoteDomainName": properties.parsed.remote_domain_name,
        "deleteConditionalForwarder": properties.delete_forwarder_on_delete,
    }});
    start(ports, state_machine_arn, &request_id, &removal, &owed).await
}

/// The trust the request `request_id` created, if it created one that is its own: not one it found
/// in place (adopted), and not one it never made (refused, failed before creation).
async fn trust_created_by<E: ExecutionReader>(
    executions: &E,
    state_machine_arn: &str,
    request_id: &str,
) -> Result<Option<String>, WorkflowError> {
    match read_status(executions, state_machine_arn, request_id).await {
        Ok((status, _)) if status.announcement == Some(Announcement::AlreadyInPlace) => Ok(None),
        Ok((status, _)) => Ok(status.trust_id),
        Err(StatusError::NotFound) => Ok(None),
        Err(StatusError::Aws(error)) => Err(error),
    }
}

/// `Fn::GetAtt`'s attributes for the trust as it is now.
async fn current_attributes<D: DirectoryReader>(
    directory: &D,
    properties: &TrustProperties,
    physical_resource_id: &str,
) -> Result<Map<String, Value>, WorkflowError> {
    let trusts = directory.list_trusts(&properties.parsed.directory_id).await?;
    let mut data = Map::new();
    if let Some(trust) = trusts.iter().find(|trust| trust.remote_domain_name.eq_ignore_ascii_case(&properties.parsed.remote_domain_name)) {
        data.insert("TrustId".to_owned(), json!(trust.trust_id));
        data.insert("TrustState".to_owned(), json!(trust.state.to_string()));
    }
    data.insert("RemoteDomainName".to_owned(), json!(properties.parsed.remote_domain_name));
    data.insert("RequestId".to_owned(), json!(physical_resource_id));
    Ok(data)
}

/// Keeps the answer owed, then starts the workflow. Keeping comes first: the result event may
/// arrive before StartExecution returns. A retried invocation finds its execution started: if it has
/// ended already (its result event came and went), the answer is made from its status.
async fn start<S, E, D, P, H>(
    ports: &Ports<'_, S, E, D, P, H>,
    state_machine_arn: &str,
    request_id: &str,
    input: &Value,
    owed: &PendingAnswer,
) -> Result<Handled, WorkflowError>
where
    S: ExecutionStarter,
    E: ExecutionReader,
    P: PendingAnswers,
    H: ResponseSender,
{
    ports.pending.keep(request_id, owed).await?;
    match ports.starter.start(state_machine_arn, &execution_name(request_id), &input.to_string()).await {
        Ok(StartOutcome::Started(_)) => {
            tracing::info!(request_id, "workflow started; CloudFormation is answered from its result event");
            Ok(Handled::Started { request_id: request_id.to_owned() })
        }
        Ok(StartOutcome::AlreadyExists) => match read_status(ports.executions, state_machine_arn, request_id).await {
            Ok((status, _)) if status.stop_date.is_some() => {
                let (outcome, detail) = result_of(&status);
                match answer_for(owed, outcome, &detail) {
                    Some(response) => {
                        let handled = answer(ports.responder, &response, &owed.response_url).await?;
                        ports.pending.forget(request_id).await?;
                        Ok(handled)
                    }
                    None => Ok(Handled::Started { request_id: request_id.to_owned() }),
                }
            }
            Ok(_) => Ok(Handled::Started { request_id: request_id.to_owned() }),
            Err(StatusError::NotFound) => {
                Err(WorkflowError::Transient(format!("StartExecution said {request_id} exists, but it was not found")))
            }
            Err(StatusError::Aws(error)) => Err(error),
        },
        // Lambda retries the invocation: the answer stays owed for the retry.
        Err(SubmitError::Throttled) => Err(WorkflowError::Transient("Step Functions is throttling StartExecution".to_owned())),
        Err(SubmitError::Aws(error @ WorkflowError::Transient(_))) => Err(error),
        // Nothing started and no retry will start it: CloudFormation hears why now, not at its timeout.
        Err(SubmitError::Aws(error)) => {
            let reason = format!("The workflow could not be started, nothing was created: {} ({error})", error.name());
            let handled = answer(ports.responder, &ResourceResponse::failed(owed, &reason), &owed.response_url).await?;
            ports.pending.forget(request_id).await?;
            Ok(handled)
        }
    }
}

/// An ended request's outcome and result-event-like facts, read back from its status.
fn result_of(status: &RequestStatus) -> (Announcement, Value) {
    let outcome = status.announcement.unwrap_or(Announcement::Failed);
    let detail = json!({
        "requestId": status.request_id,
        "trustId": status.trust_id,
        "trustState": status.trust_state,
        "trustStateReason": status.trust_state_reason,
        "remedy": status.remedy,
        "error": status.cause.as_ref().map(|cause| json!({"name": cause.name, "message": cause.message})),
    });
    (outcome, detail)
}

/// A result event: answers CloudFormation if an answer is owed for its request and the outcome
/// settles it, then forgets the answer.
async fn result_event<S, E, D, P, H>(detail: &Value, ports: &Ports<'_, S, E, D, P, H>) -> Result<Handled, WorkflowError>
where
    P: PendingAnswers,
    H: ResponseSender,
{
    let Some(request_id) = detail.get("requestId").and_then(Value::as_str) else { return Ok(Handled::NothingOwed) };
    let Some(owed) = ports.pending.owed(request_id).await? else {
        tracing::info!(request_id, "no answer is owed for this request");
        return Ok(Handled::NothingOwed);
    };
    let Some(outcome) = detail.get("outcome").and_then(|outcome| serde_json::from_value::<Announcement>(outcome.clone()).ok()) else {
        return Err(WorkflowError::Internal(format!("the result event for {request_id} has no known outcome")));
    };
    let Some(response) = answer_for(&owed, outcome, detail) else {
        tracing::info!(request_id, ?outcome, "not answered yet: the resource waits for the trust to be verified");
        return Ok(Handled::NothingOwed);
    };
    let handled = answer(ports.responder, &response, &owed.response_url).await?;
    ports.pending.forget(request_id).await?;
    Ok(handled)
}

#[cfg(test)]
mod tests;
