//! Trusts as infrastructure as code: the `Custom::DirectoryTrust` CloudFormation resource.
//!
//! CloudFormation sends the resource's function a request (Create, Update or Delete) with a
//! presigned response URL, and waits (up to the resource's `ServiceTimeout`, at most an hour) for
//! one answer there: SUCCESS with the physical id and `Data` (what `Fn::GetAtt` reads), or FAILED
//! with a reason, which CloudFormation shows in the stack's events. The workflow does the work; the
//! answer follows from the request's result event. This module is the pure part: the resource's
//! properties as a trust request (or a removal), the request ids, what an update is, and the answer
//! a result event gives.
//!
//! The properties are the trust request's fields in CloudFormation's spelling (`DirectoryId`,
//! `RemoteDomainName`, `TrustDirection`, ..., `TrustPasswordSecretId`), plus `WaitFor` (`Created`,
//! the default: succeed once the AWS side exists and waits for the remote side; `Verified`: only
//! once AWS verified the trust) and `DeleteConditionalForwarderOnDelete`. CloudFormation passes
//! every scalar as a string, so booleans come as `"true"`/`"false"`.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::announcement::Announcement;
use crate::domain::TrustDirection;
use crate::error::{Violation, WorkflowError};
use crate::request::{parse_request, TrustRequest};
use crate::times::{parse_rfc3339, rfc3339};
use time::OffsetDateTime;

/// Where the answer goes: the presigned URL CloudFormation gave. It is a credential (anyone holding
/// it can answer for the resource), so it is never printed: `Debug` withholds it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResponseUrl(String);

impl ResponseUrl {
    /// The URL, for the one PUT that answers.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseUrl(withheld)")
    }
}

/// What CloudFormation asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestType {
    /// The resource is new in the stack.
    Create,
    /// Its properties changed.
    Update,
    /// It left the stack (or the stack is deleted, or a replacement's old resource is cleaned up).
    Delete,
}

/// A request from CloudFormation, as the custom resource reference gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceRequest {
    /// Create, Update or Delete.
    pub request_type: RequestType,
    /// Where the answer goes.
    #[serde(rename = "ResponseURL")]
    pub response_url: ResponseUrl,
    /// The stack's ARN.
    pub stack_id: String,
    /// This request's unique id (repeated when Lambda retries the invocation).
    pub request_id: String,
    /// `Custom::DirectoryTrust`, or whatever the template calls it.
    pub resource_type: String,
    /// The resource's name in the template.
    pub logical_resource_id: String,
    /// For Update and Delete: the id this resource answered its Create with.
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    /// The properties (with `ServiceToken`).
    #[serde(default)]
    pub resource_properties: Value,
    /// For Update: the properties before.
    #[serde(default)]
    pub old_resource_properties: Option<Value>,
}

/// When a Create (or a replacement) is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum WaitFor {
    /// Once the AWS side exists (waiting for the remote side, or verified).
    #[default]
    Created,
    /// Only once AWS verified the trust.
    Verified,
}

/// What a pending answer waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceAction {
    /// A trust's creation (a Create, or an Update that replaces the trust).
    Create,
    /// A change in place (selective authentication, forwarders).
    Update,
    /// A removal.
    Delete,
}

/// The resource's properties, checked: the trust request they make, and the resource's own settings.
#[derive(Debug, Clone)]
pub struct TrustProperties {
    /// The trust request (its JSON, as the workflow's input), without its request id.
    pub request: Value,
    /// The same, parsed.
    pub parsed: TrustRequest,
    /// When to answer.
    pub wait_for: WaitFor,
    /// Whether deleting the resource deletes the domain's conditional forwarder too.
    pub delete_forwarder_on_delete: bool,
    /// How long CloudFormation waits for the answer (`ServiceTimeout`, 1 to 3600 s, default 3600).
    pub service_timeout_seconds: u64,
}

/// CloudFormation's default and longest `ServiceTimeout`: an hour.
pub const MAX_SERVICE_TIMEOUT_SECONDS: u64 = 3600;

/// What is left of `ServiceTimeout` for the answer itself to reach CloudFormation.
pub const ANSWER_MARGIN_SECONDS: u64 = 30;

/// The deployment's timing that bounds when a waiting trust's verdict is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkflowTimings {
    /// `ReverifyIntervalSeconds`: a verdict is seen at the next re-verification at the latest.
    pub reverify_interval_seconds: u64,
}

/// For `WaitFor: Verified`, sets the request's `remoteSideWaitUntil` so that the workflow's verdict
/// (verified, or the wait over) comes before CloudFormation's `ServiceTimeout` counted from `now`:
/// the timeout less one re-verification interval and a margin for the answer. A timeout too short
/// for that is refused, naming it. `WaitFor: Created` needs nothing: it is answered once the AWS
/// side exists. (A creation that outlasts the timeout itself is failed by CloudFormation.)
pub fn fit_to_service_timeout(
    properties: &mut TrustProperties,
    timings: WorkflowTimings,
    now: OffsetDateTime,
) -> Result<(), WorkflowError> {
    if properties.wait_for != WaitFor::Verified {
        return Ok(());
    }
    let needed = timings.reverify_interval_seconds + ANSWER_MARGIN_SECONDS;
    let Some(wait) = properties.service_timeout_seconds.checked_sub(needed).filter(|wait| *wait >= 1) else {
        return Err(WorkflowError::ValidationFailed(vec![Violation::new(
            "ServiceTimeout",
            format!(
                "must be more than {needed} s for WaitFor: Verified (a re-verification interval of {} s and {ANSWER_MARGIN_SECONDS} s to answer)",
                timings.reverify_interval_seconds
            ),
            properties.service_timeout_seconds.to_string(),
        )]));
    };
    let until = now + time::Duration::seconds(i64::try_from(wait).unwrap_or(i64::MAX / 2));
    properties.request["remoteSideWaitUntil"] = json!(rfc3339(until));
    properties.parsed.remote_side_wait_until = parse_rfc3339(&rfc3339(until));
    Ok(())
}

/// Property name, request field, and how the value is read.
const PROPERTIES: &[(&str, &str, Kind)] = &[
    ("DirectoryId", "directoryId", Kind::Text),
    ("RemoteDomainName", "remoteDomainName", Kind::Text),
    ("TrustType", "trustType", Kind::Text),
    ("TrustDirection", "trustDirection", Kind::Text),
    ("ConditionalForwarderIpAddrs", "conditionalForwarderIpAddrs", Kind::Verbatim),
    ("ConditionalForwarderIpv6Addrs", "conditionalForwarderIpv6Addrs", Kind::Verbatim),
    ("AddIpRoutes", "addIpRoutes", Kind::Flag),
    ("RemoteDomainCidrs", "remoteDomainCidrs", Kind::Verbatim),
    ("Preflight", "preflight", Kind::Text),
    ("SelectiveAuth", "selectiveAuth", Kind::Text),
    ("NotifyTopicArn", "notify", Kind::Topic),
    ("OnExistingTrust", "onExistingTrust", Kind::Text),
    ("RequestedBy", "requestedBy", Kind::Text),
];

/// The request's password location: `TrustPasswordSecretId` and `TrustPasswordJsonKey`.
const SECRET_ID: (&str, &str) = ("TrustPasswordSecretId", "trustPassword.secretId");
const JSON_KEY: (&str, &str) = ("TrustPasswordJsonKey", "trustPassword.jsonKey");
/// The resource's own properties, and CloudFormation's.
const OWN: &[&str] = &["ServiceToken"];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Verbatim,
    Flag,
    Topic,
}

/// The property a request field comes from (`conditionalForwarderIpAddrs[1]` from
/// `ConditionalForwarderIpAddrs[1]`), so that an error names what the template author wrote.
pub fn property_of(field: &str) -> String {
    for (property, request_field) in [SECRET_ID, JSON_KEY] {
        if field == request_field || field == "trustPassword" {
            return if field == "trustPassword" { SECRET_ID.0.to_owned() } else { property.to_owned() };
        }
    }
    let (head, rest) = field.find(['[', '.']).map_or((field, ""), |at| field.split_at(at));
    match PROPERTIES.iter().find(|(_, request_field, _)| *request_field == head) {
        Some((property, _, Kind::Topic)) => (*property).to_owned(),
        Some((property, _, _)) => format!("{property}{rest}"),
        None => field.to_owned(),
    }
}

/// A boolean property: CloudFormation sends `"true"`/`"false"`; a template may hold a real boolean.
fn flag(property: &str, value: &Value, violations: &mut Vec<Violation>) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        other => {
            violations.push(Violation::new(property, "must be true or false", display(other)));
            None
        }
    }
}

fn display(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

/// Checks the resource's properties and makes the trust request they describe, under `request_id`,
/// reporting every broken rule at once, each naming the property.
pub fn trust_properties(properties: &Value, request_id: &str) -> Result<TrustProperties, WorkflowError> {
    let empty = Map::new();
    let object = properties.as_object().unwrap_or(&empty);
    let mut violations = Vec::new();
    let mut request = Map::new();
    request.insert("requestId".to_owned(), json!(request_id));
    let mut wait_for = WaitFor::Created;
    let mut delete_forwarder_on_delete = false;
    let mut service_timeout_seconds = MAX_SERVICE_TIMEOUT_SECONDS;
    let mut password = Map::new();
    for (name, value) in object {
        if value.is_null() {
            continue;
        }
        if let Some((_, field, kind)) = PROPERTIES.iter().find(|(property, _, _)| property == name) {
            let converted = match kind {
                Kind::Text | Kind::Verbatim => Some(value.clone()),
                Kind::Flag => flag(name, value, &mut violations).map(Value::Bool),
                Kind::Topic => Some(json!({ "topicArn": value })),
            };
            if let Some(converted) = converted {
                request.insert((*field).to_owned(), converted);
            }
        } else if name == SECRET_ID.0 {
            password.insert("secretId".to_owned(), value.clone());
        } else if name == JSON_KEY.0 {
            password.insert("jsonKey".to_owned(), value.clone());
        } else if name == "WaitFor" {
            match value.as_str() {
                Some("Created") => wait_for = WaitFor::Created,
                Some("Verified") => wait_for = WaitFor::Verified,
                _ => violations.push(Violation::new(name, "must be Created or Verified", display(value))),
            }
        } else if name == "ServiceTimeout" {
            let seconds = value.as_u64().or_else(|| value.as_str().and_then(|text| text.parse().ok()));
            match seconds.filter(|seconds| (1..=MAX_SERVICE_TIMEOUT_SECONDS).contains(seconds)) {
                Some(seconds) => service_timeout_seconds = seconds,
                None => violations.push(Violation::new(name, "must be a whole number of seconds from 1 to 3600", display(value))),
            }
        } else if name == "DeleteConditionalForwarderOnDelete" {
            delete_forwarder_on_delete = flag(name, value, &mut violations).unwrap_or(false);
        } else if !OWN.contains(&name.as_str()) {
            violations.push(Violation::new(name, "is not a property of Custom::DirectoryTrust", display(value)));
        }
    }
    if !password.is_empty() {
        request.insert("trustPassword".to_owned(), Value::Object(password));
    }
    let request = Value::Object(request);
    let parsed = match parse_request(&request) {
        Ok(parsed) => Some(parsed),
        Err(WorkflowError::ValidationFailed(found)) => {
            violations.extend(found.into_iter().map(|violation| Violation { field: property_of(&violation.field), ..violation }));
            None
        }
        Err(other) => return Err(other),
    };
    match parsed {
        Some(parsed) if violations.is_empty() => {
            if wait_for == WaitFor::Verified && parsed.trust_direction == TrustDirection::OneWayIncoming {
                return Err(WorkflowError::ValidationFailed(vec![Violation::new(
                    "WaitFor",
                    "must be Created for a One-Way: Incoming trust: AWS never verifies that direction",
                    "Verified",
                )]));
            }
            Ok(TrustProperties { request, parsed, wait_for, delete_forwarder_on_delete, service_timeout_seconds })
        }
        _ => Err(WorkflowError::ValidationFailed(violations)),
    }
}

/// The request id of what a CloudFormation request starts: `cfn-<logical id>-<hash>`, the hash of the
/// stack, the logical id and CloudFormation's request id. Lambda's retry of the same invocation gives
/// the same id (so the same execution); another request (an update, a delete, another stack of the
/// same name) gives another. At most 64 characters of the request id's alphabet.
pub fn resource_request_id(stack_id: &str, logical_id: &str, cloudformation_request_id: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in [stack_id, "\n", logical_id, "\n", cloudformation_request_id].concat().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let name: String = logical_id.chars().filter(char::is_ascii_alphanumeric).take(40).collect::<String>().to_ascii_lowercase();
    format!("cfn-{name}-{hash:016x}")
}

/// What an Update asks of the trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// Only the resource's own settings changed (`WaitFor`, `DeleteConditionalForwarderOnDelete`,
    /// `ServiceTimeout`): nothing to do on AWS.
    Nothing,
    /// Settings AWS changes in place (selective authentication, forwarders, notification): the
    /// same trust, the same physical id.
    InPlace,
    /// The directory, the remote domain, the type or the direction changed: a new trust, a new
    /// physical id (CloudFormation then deletes the old one).
    Replacement,
}

/// What changing `old` into `new` means for the trust.
pub fn update_kind(old: &TrustProperties, new: &TrustProperties) -> UpdateKind {
    let (a, b) = (&old.parsed, &new.parsed);
    if a.directory_id != b.directory_id
        || a.remote_domain_name != b.remote_domain_name
        || a.trust_type != b.trust_type
        || a.trust_direction != b.trust_direction
    {
        return UpdateKind::Replacement;
    }
    let without_id = |request: &Value| {
        let mut request = request.clone();
        request.as_object_mut().map(|object| object.remove("requestId"));
        request
    };
    if without_id(&old.request) == without_id(&new.request) {
        UpdateKind::Nothing
    } else {
        UpdateKind::InPlace
    }
}

/// An answer owed to CloudFormation, kept while the workflow runs (the response URL is in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingAnswer {
    /// Where the answer goes.
    pub response_url: ResponseUrl,
    /// The stack's ARN (copied into the answer).
    pub stack_id: String,
    /// CloudFormation's request id (copied into the answer).
    pub cloudformation_request_id: String,
    /// The resource's logical id (copied into the answer).
    pub logical_resource_id: String,
    /// The physical id to answer with.
    pub physical_resource_id: String,
    /// What the workflow was started for.
    pub action: ResourceAction,
    /// When a creation is answered.
    pub wait_for: WaitFor,
}

/// The JSON sent to the response URL (at most 4096 bytes, as the reference requires).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceResponse {
    /// SUCCESS or FAILED.
    pub status: &'static str,
    /// Why, for FAILED (shown in the stack's events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The resource's id.
    pub physical_resource_id: String,
    /// Copied from the request.
    pub stack_id: String,
    /// Copied from the request.
    pub request_id: String,
    /// Copied from the request.
    pub logical_resource_id: String,
    /// What `Fn::GetAtt` reads: `TrustId`, `TrustState`, `RemoteDomainName`, `RequestId`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub data: Map<String, Value>,
}

/// Longest reason sent: the whole answer must stay under 4096 bytes.
const MAX_REASON: usize = 2000;

impl ResourceResponse {
    /// A SUCCESS for `pending`'s request.
    pub fn success(pending: &PendingAnswer, data: Map<String, Value>) -> Self {
        Self::new(pending, "SUCCESS", None, data)
    }

    /// A FAILED for `pending`'s request.
    pub fn failed(pending: &PendingAnswer, reason: &str) -> Self {
        Self::new(pending, "FAILED", Some(reason), Map::new())
    }

    fn new(pending: &PendingAnswer, status: &'static str, reason: Option<&str>, data: Map<String, Value>) -> Self {
        let reason = reason.map(|reason| match reason.char_indices().nth(MAX_REASON) {
            Some((at, _)) => format!("{}...", &reason[..at]),
            None => reason.to_owned(),
        });
        Self {
            status,
            reason,
            physical_resource_id: pending.physical_resource_id.clone(),
            stack_id: pending.stack_id.clone(),
            request_id: pending.cloudformation_request_id.clone(),
            logical_resource_id: pending.logical_resource_id.clone(),
            data,
        }
    }
}

/// A list of broken rules as one reason: `Property: rule (got "value")`, joined.
pub fn violations_reason(violations: &[Violation]) -> String {
    let each: Vec<String> = violations.iter().map(Violation::to_string).collect();
    format!("The trust request was refused, nothing was created: {}", each.join("; "))
}

/// The answer a result event gives to `pending`, or `None` while the trust is not where the
/// resource waits for it (`WaitFor: Verified` and the trust awaits the remote side).
pub fn answer_for(pending: &PendingAnswer, outcome: Announcement, detail: &Value) -> Option<ResourceResponse> {
    let text = |key: &str| detail.get(key).and_then(Value::as_str);
    let success = |pending: &PendingAnswer| {
        let mut data = Map::new();
        for (attribute, key) in
            [("TrustId", "trustId"), ("TrustState", "trustState"), ("RemoteDomainName", "remoteDomainName"), ("RequestId", "requestId")]
        {
            if let Some(value) = text(key) {
                data.insert(attribute.to_owned(), json!(value));
            }
        }
        Some(ResourceResponse::success(pending, data))
    };
    use Announcement as A;
    match (pending.action, outcome) {
        (ResourceAction::Delete, A::Removed | A::AlreadyRemoved) => success(pending),
        (ResourceAction::Create | ResourceAction::Update, A::Verified | A::AlreadyInPlace | A::Created) => success(pending),
        (ResourceAction::Create | ResourceAction::Update, A::AwaitingRemoteSide) => match pending.wait_for {
            WaitFor::Created => success(pending),
            WaitFor::Verified => None,
        },
        (ResourceAction::Create | ResourceAction::Update, A::RemoteSideTimedOut) if pending.wait_for == WaitFor::Verified => {
            let reason = format!(
                "WaitFor: Verified, and the trust was not verified in time for CloudFormation's ServiceTimeout: the remote side is not ready. {}",
                failure_reason(outcome, detail)
            );
            Some(ResourceResponse::failed(pending, &reason))
        }
        (_, outcome) => Some(ResourceResponse::failed(pending, &failure_reason(outcome, detail))),
    }
}

/// Why the workflow did not reach what the resource asked: the outcome, the trust's state and
/// reason, the remedy, or the error that rejected the request (which names the request's fields).
pub fn failure_reason(outcome: Announcement, detail: &Value) -> String {
    let text = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let mut parts = vec![outcome.detail_type().to_owned()];
    if let Some(trust_id) = text(detail, "trustId") {
        let state = text(detail, "trustState").unwrap_or_else(|| "unknown".to_owned());
        parts.push(format!("trust {trust_id} is {state}"));
    }
    if let Some(reason) = text(detail, "trustStateReason").filter(|reason| !reason.is_empty()) {
        parts.push(format!("Directory Service says: {reason}"));
    }
    if let Some(error) = detail.get("error").filter(|error| !error.is_null()) {
        let name = text(error, "name").unwrap_or_default();
        let message = text(error, "message").unwrap_or_default();
        parts.push(format!("{name}: {message}"));
    }
    if let Some(remedy) = detail.get("remedy").filter(|remedy| !remedy.is_null()) {
        let code = text(remedy, "code").unwrap_or_default();
        let action = text(remedy, "action").unwrap_or_default();
        parts.push(format!("Remedy ({code}): {action}"));
    }
    if detail.get("trustDeleted").and_then(Value::as_bool) == Some(true) {
        parts.push("the failed trust was deleted".to_owned());
    }
    parts.join(". ")
}

#[cfg(test)]
mod tests;
