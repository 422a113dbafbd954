//! The trust request contract (`schemas/trust-request.schema.json`) and its static rules.
//!
//! A request is parsed by hand from JSON rather than with `#[serde(deny_unknown_fields)]`: serde's
//! messages echo offending values, and a requester who pastes the password into the wrong field
//! must not see it echoed back into an error, a log or the execution history.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::{normalize_domain, SelectiveAuth, TrustDirection, TrustType};
use crate::error::{Violation, WorkflowError};
use crate::network::{CidrError, Ipv4Cidr};

/// The EventBridge `detail-type` of a trust request.
pub const TRUST_REQUESTED_DETAIL_TYPE: &str = "Trust Requested";

/// Largest request accepted, in bytes of compact JSON. Real requests are well under 2 KiB.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;

/// Most conditional forwarder addresses a trust takes (the console's and Terraform's limit).
pub const MAX_FORWARDER_ADDRS: usize = 4;

/// Where the trust password is kept: a Secrets Manager secret, and optionally a key inside a JSON secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretLocation {
    /// The secret's name or ARN.
    pub secret_id: String,
    /// The key holding the password when the secret is a JSON object; the whole string otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_key: Option<String>,
}

/// Most remote networks a request may name in `remoteDomainCidrs`: the remote domain's controllers
/// sit in a few networks, and each one multiplies the pre-flight's findings.
pub const MAX_REMOTE_DOMAIN_CIDRS: usize = 16;

/// What the network pre-flight does with what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum PreflightMode {
    /// A finding that blocks rejects the request before anything is created.
    #[default]
    Enforce,
    /// Findings go into the plan and the notifications; the trust is still created.
    Warn,
    /// No network checks.
    Off,
}

impl PreflightMode {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "enforce" => Some(Self::Enforce),
            "warn" => Some(Self::Warn),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

/// Who else to tell, on top of the stack's default topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyTarget {
    /// An SNS topic ARN.
    pub topic_arn: String,
}

/// What to do when a trust for the same remote domain already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ExistingTrustPolicy {
    /// Never touch an existing trust: a conflicting one rejects the request.
    #[default]
    Keep,
    /// Delete a conflicting or failed trust and create the requested one.
    Replace,
}

/// A trust request that passed every static rule, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustRequest {
    /// The portal's id for the request: correlation and idempotency.
    pub request_id: String,
    /// The AWS Managed Microsoft AD directory.
    pub directory_id: String,
    /// The on-premises domain's FQDN, lower case, without a trailing dot.
    pub remote_domain_name: String,
    /// Forest (default) or External.
    pub trust_type: TrustType,
    /// Direction as seen from the AWS directory.
    pub trust_direction: TrustDirection,
    /// The on-premises DNS servers; empty where a conditional forwarder already exists.
    pub conditional_forwarder_ip_addrs: Vec<Ipv4Addr>,
    /// The on-premises DNS servers' IPv6 addresses (CreateTrust's `ConditionalForwarderIpv6Addrs`),
    /// beside or instead of the IPv4 ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditional_forwarder_ipv6_addrs: Vec<Ipv6Addr>,
    /// Consent to add the directory IP routes (AddIpRoutes) its controllers need to reach
    /// forwarder addresses outside RFC 1918. Without it such an address without a route is refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub add_ip_routes: bool,
    /// The networks of the remote domain's controllers, beside the forwarder addresses, for the
    /// network pre-flight.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_domain_cidrs: Vec<Ipv4Cidr>,
    /// What the network pre-flight does with what it finds.
    #[serde(default)]
    pub preflight: PreflightMode,
    /// Check everything and report, creating and changing nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Selective authentication.
    pub selective_auth: SelectiveAuth,
    /// Where the password is; never the password.
    pub trust_password: SecretLocation,
    /// An extra SNS topic for this request's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<NotifyTarget>,
    /// What to do with an existing trust for the same domain.
    pub on_existing_trust: ExistingTrustPolicy,
    /// Who asked, for the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// Until when this request's trust may wait for the remote side: it can end the deployment's
    /// `RemoteSideWindowSeconds` earlier, never later (a caller with a deadline of its own, such as
    /// CloudFormation's `ServiceTimeout`, gets its verdict before that deadline).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "crate::times::optional_rfc3339_seconds")]
    pub remote_side_wait_until: Option<time::OffsetDateTime>,
    /// When the remote domain is another AWS Managed Microsoft AD directory of this account: its id.
    /// The workflow then creates both sides (complementary directions, the same password) and
    /// follows both; the forwarders default to that directory's DNS addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_directory_id: Option<String>,
    /// When that directory is in another account: the IAM role there that trustflow assumes (with
    /// the deployment's external id) to create, follow and remove the other side. Only roles the
    /// deployment allows (`AllowedRemoteRoleArns`) are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_role_arn: Option<String>,
}

const FIELDS: &[&str] = &[
    "requestId",
    "directoryId",
    "remoteDomainName",
    "trustType",
    "trustDirection",
    "conditionalForwarderIpAddrs",
    "conditionalForwarderIpv6Addrs",
    "addIpRoutes",
    "remoteDomainCidrs",
    "preflight",
    "dryRun",
    "selectiveAuth",
    "trustPassword",
    "notify",
    "onExistingTrust",
    "requestedBy",
    "remoteSideWaitUntil",
    "remoteDirectoryId",
    "remoteRoleArn",
];

/// Takes the request out of what started the workflow: an EventBridge event whose `detail` is
/// the request, or the bare request (API Gateway, a test, `trustctl`).
pub fn unwrap_envelope(input: &Value) -> Result<&Value, WorkflowError> {
    let Some(object) = input.as_object() else { return Ok(input) };
    if !(object.contains_key("detail-type") && object.contains_key("detail")) {
        return Ok(input);
    }
    let detail_type = object.get("detail-type").and_then(Value::as_str).unwrap_or_default();
    if detail_type != TRUST_REQUESTED_DETAIL_TYPE {
        return Err(WorkflowError::invalid(Violation::new(
            "detail-type",
            format!("must be \"{TRUST_REQUESTED_DETAIL_TYPE}\" for an EventBridge trust request"),
            detail_type,
        )));
    }
    Ok(&object["detail"])
}

/// Best-effort look at a request that may be invalid: its request id and extra topic, so that
/// even a rejected requester hears why. Returns only values that pass their own rule.
pub fn peek_reply_to(input: &Value) -> (Option<String>, Option<String>) {
    // A removal's input is {"removal": ...} (with the caught failure beside it, on the rejection path).
    let removal = input.get(crate::removal::REMOVAL_INPUT_KEY).filter(|removal| removal.is_object());
    let request = removal.unwrap_or_else(|| unwrap_envelope(input).unwrap_or(input));
    let request_id = request.get("requestId").and_then(Value::as_str).filter(|id| check_request_id(id).is_none()).map(str::to_owned);
    let topic =
        request.get("notify").and_then(|n| n.get("topicArn")).and_then(Value::as_str).filter(|arn| is_topic_arn(arn)).map(str::to_owned);
    (request_id, topic)
}

/// Parses and checks a request against every rule that needs no AWS call.
/// Reports every broken rule at once, so the requester can fix them in one go.
pub fn parse_request(input: &Value) -> Result<TrustRequest, WorkflowError> {
    let object = json_object_of_bounded_size(unwrap_envelope(input)?)?;

    let mut violations = unknown_fields(object, FIELDS, "trust request");

    let request_id = parse_request_id(object, &mut violations);
    let directory_id = parse_directory_id(object, &mut violations);
    let remote_domain_name = parse_remote_domain_name(object, &mut violations);
    let trust_type = parse_trust_type(object, &mut violations);
    let trust_direction = parse_trust_direction(object, &mut violations);
    let forwarders = parse_forwarders(object.get("conditionalForwarderIpAddrs"), &mut violations);
    let ipv6_forwarders = parse_ipv6_forwarders(object.get("conditionalForwarderIpv6Addrs"), &mut violations);
    let add_ip_routes = parse_flag(object, "addIpRoutes", &mut violations);
    let remote_domain_cidrs = parse_remote_domain_cidrs(object.get("remoteDomainCidrs"), &mut violations);
    let preflight = match object.get("preflight") {
        None | Some(Value::Null) => Some(PreflightMode::default()),
        Some(value) => parse_enum(value, "preflight", "must be \"enforce\", \"warn\" or \"off\"", PreflightMode::parse, &mut violations),
    };
    let dry_run = parse_flag(object, "dryRun", &mut violations);
    let selective_auth = parse_selective_auth(object, &mut violations);
    let trust_password = parse_secret_location(object.get("trustPassword"), &mut violations);
    let notify = parse_notify(object.get("notify"), &mut violations);
    let on_existing_trust = parse_on_existing_trust(object, &mut violations);
    let requested_by = parse_requested_by(object, &mut violations);
    let remote_side_wait_until = parse_remote_side_wait_until(object, &mut violations);
    let remote_directory_id = parse_remote_directory_id(object, directory_id.as_deref(), &mut violations);
    let remote_role_arn = parse_remote_role_arn(object, &mut violations);

    match (
        request_id,
        directory_id,
        remote_domain_name,
        trust_type,
        trust_direction,
        forwarders,
        ipv6_forwarders,
        (add_ip_routes, remote_domain_cidrs, preflight, dry_run),
        selective_auth,
        trust_password,
        notify,
        (on_existing_trust, remote_side_wait_until, remote_directory_id, remote_role_arn),
    ) {
        (
            Some(request_id),
            Some(directory_id),
            Some(remote_domain_name),
            Some(trust_type),
            Some(trust_direction),
            Some(conditional_forwarder_ip_addrs),
            Some(conditional_forwarder_ipv6_addrs),
            (Some(add_ip_routes), Some(remote_domain_cidrs), Some(preflight), Some(dry_run)),
            Some(selective_auth),
            Some(trust_password),
            Some(notify),
            (Some(on_existing_trust), Some(remote_side_wait_until), Some(remote_directory_id), Some(remote_role_arn)),
        ) if violations.is_empty() => Ok(TrustRequest {
            request_id,
            directory_id,
            remote_domain_name,
            trust_type,
            trust_direction,
            conditional_forwarder_ip_addrs,
            conditional_forwarder_ipv6_addrs,
            add_ip_routes,
            remote_domain_cidrs,
            preflight,
            dry_run,
            selective_auth,
            trust_password,
            notify,
            on_existing_trust,
            requested_by,
            remote_side_wait_until,
            remote_directory_id,
            remote_role_arn,
        }),
        _ => Err(WorkflowError::ValidationFailed(violations)),
    }
}

/// The request as a JSON object of at most [`MAX_REQUEST_BYTES`].
pub(crate) fn json_object_of_bounded_size(request: &Value) -> Result<&Map<String, Value>, WorkflowError> {
    let Some(object) = request.as_object() else {
        return Err(WorkflowError::invalid(Violation::without_value(
            "(request)",
            format!("must be a JSON object, not {}", json_kind(request)),
        )));
    };
    let size = serde_json::to_vec(request).map(|bytes| bytes.len()).unwrap_or(usize::MAX);
    if size > MAX_REQUEST_BYTES {
        return Err(WorkflowError::invalid(Violation::without_value(
            "(request)",
            format!("must be at most {MAX_REQUEST_BYTES} bytes of JSON, not {size} bytes"),
        )));
    }
    Ok(object)
}

/// A violation per field of `object` not in `fields`. The value is withheld: an unknown field is
/// where a stray password would land.
pub(crate) fn unknown_fields(object: &Map<String, Value>, fields: &[&str], what: &str) -> Vec<Violation> {
    object
        .keys()
        .filter(|key| !fields.contains(&key.as_str()))
        .map(|key| {
            Violation::without_value(
                crate::error::excerpt(key),
                format!("is not a field of a {what} (known fields: {})", fields.join(", ")),
            )
        })
        .collect()
}

/// The request's `requestId`, or `None` with the broken rule added to `violations`.
pub(crate) fn parse_request_id(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<String> {
    required_str(object, "requestId", violations).and_then(|id| match check_request_id(id) {
        None => Some(id.to_owned()),
        Some(rule) => {
            violations.push(Violation::new("requestId", rule, id));
            None
        }
    })
}

/// The request's `directoryId`, or `None` with the broken rule added to `violations`.
pub(crate) fn parse_directory_id(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<String> {
    required_str(object, "directoryId", violations).and_then(|id| {
        if is_directory_id(id) {
            Some(id.to_owned())
        } else {
            violations.push(Violation::new(
                "directoryId",
                "must match ^d-[0-9a-f]{10}$ (\"d-\" and ten lower-case hexadecimal digits)",
                id,
            ));
            None
        }
    })
}

/// The request's `remoteDomainName`, or `None` with the broken rule added to `violations`.
pub(crate) fn parse_remote_domain_name(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<String> {
    required_str(object, "remoteDomainName", violations).and_then(|name| match check_fqdn(name) {
        Ok(normalized) => Some(normalized),
        Err(rule) => {
            violations.push(Violation::new("remoteDomainName", rule, name));
            None
        }
    })
}

/// Only the spellings in schemas/trust-request.schema.json: the API spelling or all lower case.
fn parse_trust_type(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<TrustType> {
    match object.get("trustType") {
        None | Some(Value::Null) => Some(TrustType::Forest),
        Some(value) => parse_enum(
            value,
            "trustType",
            "must be \"Forest\" or \"External\"",
            |s| match s {
                "Forest" | "forest" => Some(TrustType::Forest),
                "External" | "external" => Some(TrustType::External),
                _ => None,
            },
            violations,
        ),
    }
}

/// The request's `trustDirection`, or `None` with the broken rule added to `violations`.
fn parse_trust_direction(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<TrustDirection> {
    match object.get("trustDirection") {
        None => {
            violations.push(Violation::without_value(
                "trustDirection",
                "is required: \"Two-Way\", \"One-Way: Outgoing\" or \"One-Way: Incoming\"",
            ));
            None
        }
        Some(value) => parse_enum(
            value,
            "trustDirection",
            "must be \"Two-Way\", \"One-Way: Outgoing\" or \"One-Way: Incoming\" (or two-way, outgoing, incoming)",
            |s| match s {
                "Two-Way" | "two-way" => Some(TrustDirection::TwoWay),
                "One-Way: Outgoing" | "outgoing" => Some(TrustDirection::OneWayOutgoing),
                "One-Way: Incoming" | "incoming" => Some(TrustDirection::OneWayIncoming),
                _ => None,
            },
            violations,
        ),
    }
}

/// The request's `selectiveAuth`, or `None` with the broken rule added to `violations`.
fn parse_selective_auth(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<SelectiveAuth> {
    match object.get("selectiveAuth") {
        None | Some(Value::Null) => Some(SelectiveAuth::Disabled),
        Some(Value::Bool(true)) => Some(SelectiveAuth::Enabled),
        Some(Value::Bool(false)) => Some(SelectiveAuth::Disabled),
        Some(value) => parse_enum(
            value,
            "selectiveAuth",
            "must be \"Enabled\" or \"Disabled\" (or true/false)",
            |s| match s {
                "Enabled" | "enabled" => Some(SelectiveAuth::Enabled),
                "Disabled" | "disabled" => Some(SelectiveAuth::Disabled),
                _ => None,
            },
            violations,
        ),
    }
}

/// The request's `remoteDirectoryId` (`Some(None)` when not given), or `None` with the broken rule
/// added to `violations`.
pub(crate) fn parse_remote_directory_id(
    object: &Map<String, Value>,
    directory_id: Option<&str>,
    violations: &mut Vec<Violation>,
) -> Option<Option<String>> {
    match object.get("remoteDirectoryId") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(id)) if is_directory_id(id) && Some(id.as_str()) != directory_id => Some(Some(id.clone())),
        Some(Value::String(id)) if is_directory_id(id) => {
            violations.push(Violation::new("remoteDirectoryId", "must name another directory than directoryId", id));
            None
        }
        Some(value) => {
            violations.push(Violation::new(
                "remoteDirectoryId",
                "must match ^d-[0-9a-f]{10}$ (the other AWS Managed Microsoft AD directory of the pair)",
                display_json(value),
            ));
            None
        }
    }
}

/// The request's `remoteRoleArn` (`Some(None)` when not given), or `None` with the broken rule added
/// to `violations`. It is an IAM role ARN, and it goes with `remoteDirectoryId`: it names the role
/// in that directory's account.
pub(crate) fn parse_remote_role_arn(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<Option<String>> {
    match object.get("remoteRoleArn") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(arn)) if is_role_arn(arn) => {
            if matches!(object.get("remoteDirectoryId"), None | Some(Value::Null)) {
                violations.push(Violation::new(
                    "remoteRoleArn",
                    "is given only with remoteDirectoryId (it names the role in that directory's account)",
                    arn,
                ));
                return None;
            }
            Some(Some(arn.clone()))
        }
        Some(value) => {
            violations.push(Violation::new(
                "remoteRoleArn",
                "must be an IAM role ARN, arn:aws:iam::<12-digit account id>:role/<name> (the role trustflow assumes in the other directory's account)",
                display_json(value),
            ));
            None
        }
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`, the name and path in IAM's character
/// set (letters, digits and `+=,.@_-`, with `/` between path parts), at most 2,048 characters.
pub fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else { return false };
    let name_chars = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c);
    *prefix == "arn"
        && ["aws", "aws-cn", "aws-us-gov"].contains(partition)
        && *service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && arn.len() <= 2048
        && resource
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty() && !name.starts_with('/') && !name.ends_with('/') && name.chars().all(name_chars))
}

/// The request's `remoteSideWaitUntil` (`Some(None)` when not given), or `None` with the broken
/// rule added to `violations`.
fn parse_remote_side_wait_until(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<Option<time::OffsetDateTime>> {
    match object.get("remoteSideWaitUntil") {
        None | Some(Value::Null) => Some(None),
        Some(value) => match value.as_str().and_then(crate::times::parse_rfc3339) {
            Some(until) => Some(Some(until)),
            None => {
                violations.push(Violation::new(
                    "remoteSideWaitUntil",
                    "must be an RFC 3339 time with its offset (e.g. 2026-11-26T10:00:00Z); it can only end the deployment's RemoteSideWindowSeconds earlier",
                    display_json(value),
                ));
                None
            }
        },
    }
}

/// The request's `onExistingTrust`, or `None` with the broken rule added to `violations`.
fn parse_on_existing_trust(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<ExistingTrustPolicy> {
    match object.get("onExistingTrust") {
        None | Some(Value::Null) => Some(ExistingTrustPolicy::Keep),
        Some(value) => parse_enum(
            value,
            "onExistingTrust",
            "must be \"keep\" (never touch an existing trust) or \"replace\" (delete it and create the requested one)",
            |s| match s {
                "keep" => Some(ExistingTrustPolicy::Keep),
                "replace" => Some(ExistingTrustPolicy::Replace),
                _ => None,
            },
            violations,
        ),
    }
}

/// The request's `requestedBy`, or `None` with the broken rule added to `violations`.
pub(crate) fn parse_requested_by(object: &Map<String, Value>, violations: &mut Vec<Violation>) -> Option<String> {
    match object.get("requestedBy") {
        None | Some(Value::Null) => None,
        Some(Value::String(who)) if !who.is_empty() && who.chars().count() <= 256 && !who.chars().any(char::is_control) => {
            Some(who.clone())
        }
        Some(value) => {
            violations.push(Violation::new(
                "requestedBy",
                "must be a string of 1 to 256 characters without control characters",
                display_json(value),
            ));
            None
        }
    }
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value as it appeared in the request, for an error message.
pub(crate) fn display_json(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn required_str<'a>(object: &'a Map<String, Value>, field: &str, violations: &mut Vec<Violation>) -> Option<&'a str> {
    match object.get(field) {
        Some(Value::String(s)) => Some(s.as_str()),
        None | Some(Value::Null) => {
            violations.push(Violation::without_value(field, "is required"));
            None
        }
        Some(other) => {
            violations.push(Violation::new(field, format!("must be a string, not {}", json_kind(other)), display_json(other)));
            None
        }
    }
}

fn parse_enum<T>(value: &Value, field: &str, rule: &str, parse: impl Fn(&str) -> Option<T>, violations: &mut Vec<Violation>) -> Option<T> {
    let parsed = value.as_str().and_then(parse);
    if parsed.is_none() {
        violations.push(Violation::new(field, rule, display_json(value)));
    }
    parsed
}

/// The Step Functions execution name of a request: a retried request (the same id) maps to the
/// same execution, so Step Functions itself refuses to start it twice. Every character a request
/// id may hold is allowed in an execution name, so the API's mapping template can build it too.
pub fn execution_name(request_id: &str) -> String {
    format!("trust-{request_id}")
}

/// The ARN of the execution `name` of a state machine (Step Functions derives it from the state
/// machine's ARN), so the entrance and the status reader can name an execution without a call.
pub fn execution_arn_named(state_machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

/// `None` when the id is acceptable, else the rule it breaks.
pub fn check_request_id(id: &str) -> Option<&'static str> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!ok).then_some("must be 1 to 64 characters of letters, digits, '-', '_' or '.'")
}

/// Whether `id` matches `^d-[0-9a-f]{10}$`.
pub fn is_directory_id(id: &str) -> bool {
    id.len() == 12 && id.starts_with("d-") && id[2..].chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

/// Checks a remote domain name and returns it normalised (lower case, no trailing dot), or the rule it breaks.
///
/// The rules are the Directory Service pattern `^([a-zA-Z0-9]+[\.-])+([a-zA-Z0-9])+[.]?$` and
/// RFC 1123 host names: letters, digits and single hyphens inside labels of at most 63 characters,
/// at least two labels, at most 253 characters.
pub fn check_fqdn(name: &str) -> Result<String, &'static str> {
    let without_dot = name.strip_suffix('.').unwrap_or(name);
    if without_dot.is_empty() {
        return Err("must not be empty: the on-premises domain's fully qualified name, e.g. corp.example.com");
    }
    if without_dot.len() > 253 {
        return Err("must be at most 253 characters (a DNS name)");
    }
    if !without_dot.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err("may contain only ASCII letters, digits, hyphens and dots between labels (RFC 1123)");
    }
    let labels: Vec<&str> = without_dot.split('.').collect();
    if labels.iter().any(|label| label.is_empty()) {
        return Err("must not have empty labels (a leading dot or two dots in a row)");
    }
    if labels.len() < 2 {
        return Err("must be a multi-label fully qualified domain name; single-label domain names are not supported");
    }
    if labels.iter().any(|label| label.len() > 63) {
        return Err("must have labels of at most 63 characters");
    }
    if labels.iter().any(|label| label.starts_with('-') || label.ends_with('-') || label.contains("--")) {
        return Err("must have hyphens only between letters or digits, one at a time (the Directory Service pattern)");
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Err("must be a domain name, not an IP address (the last label cannot be all digits)");
    }
    Ok(normalize_domain(without_dot))
}

/// `None` when `addr` may be a DNS server of the remote domain, else the rule it breaks.
pub fn check_forwarder_addr(addr: Ipv4Addr) -> Option<&'static str> {
    if addr.is_loopback() {
        Some("must not be a loopback address (127.0.0.0/8)")
    } else if addr.is_multicast() {
        Some("must not be a multicast address (224.0.0.0/4)")
    } else if addr.is_broadcast() {
        Some("must not be the broadcast address")
    } else if addr.octets()[0] == 0 {
        Some("must not be in 0.0.0.0/8 (\"this network\")")
    } else if addr.octets()[0] >= 240 {
        Some("must not be a reserved address (240.0.0.0/4)")
    } else {
        None
    }
}

fn parse_forwarders(value: Option<&Value>, violations: &mut Vec<Violation>) -> Option<Vec<Ipv4Addr>> {
    let list = AddressList {
        field: "conditionalForwarderIpAddrs",
        array_rule: "must be an array of 1 to 4 IPv4 addresses",
        listed: "DNS server addresses (or be omitted where a conditional forwarder for the domain exists)",
        not_a_string: "must be an IPv4 address as a string, e.g. \"172.16.10.153\"",
        malformed: "must be an IPv4 address in dotted-decimal form, e.g. 172.16.10.153",
        check: |addr, _| check_forwarder_addr(addr),
    };
    parse_address_list(value, &list, violations)
}

/// How one list of forwarder addresses is named and checked, so both lists say the same things.
struct AddressList<A> {
    field: &'static str,
    array_rule: &'static str,
    /// What the list holds, for the rule on its length.
    listed: &'static str,
    not_a_string: &'static str,
    malformed: &'static str,
    /// The rule a parsed address (and its text) breaks, if any.
    check: fn(A, &str) -> Option<&'static str>,
}

fn parse_address_list<A: std::str::FromStr + PartialEq + Copy>(
    value: Option<&Value>,
    list: &AddressList<A>,
    violations: &mut Vec<Violation>,
) -> Option<Vec<A>> {
    let field = list.field;
    let items = match value {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            violations.push(Violation::new(field, list.array_rule, display_json(other)));
            return None;
        }
    };
    if items.is_empty() || items.len() > MAX_FORWARDER_ADDRS {
        violations.push(Violation::new(
            field,
            format!("must list 1 to {MAX_FORWARDER_ADDRS} {}, not {}", list.listed, items.len()),
            display_json(&Value::Array(items.clone())),
        ));
        return None;
    }
    let before = violations.len();
    let mut addrs = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let item_field = format!("{field}[{index}]");
        let Some(text) = item.as_str() else {
            violations.push(Violation::new(item_field, list.not_a_string, display_json(item)));
            continue;
        };
        match text.parse::<A>() {
            Err(_) => violations.push(Violation::new(item_field, list.malformed, text)),
            Ok(addr) => match (list.check)(addr, text) {
                Some(rule) => violations.push(Violation::new(item_field, rule, text)),
                None if addrs.contains(&addr) => {
                    violations.push(Violation::new(item_field, "must not repeat an address listed before it", text))
                }
                None => addrs.push(addr),
            },
        }
    }
    (violations.len() == before).then_some(addrs)
}

/// `None` when `addr` may be an IPv6 DNS server of the remote domain, else the rule it breaks.
pub fn check_ipv6_forwarder_addr(addr: Ipv6Addr) -> Option<&'static str> {
    let first = addr.segments()[0];
    if addr.is_unspecified() {
        Some("must not be the unspecified address (::)")
    } else if addr.is_loopback() {
        Some("must not be the loopback address (::1)")
    } else if addr.is_multicast() {
        Some("must not be a multicast address (ff00::/8)")
    } else if first & 0xffc0 == 0xfe80 {
        Some("must not be a link-local address (fe80::/10): the directory's controllers cannot reach it")
    } else if addr.to_ipv4_mapped().is_some() {
        Some("must not be an IPv4-mapped address (::ffff:0:0/96): list it in conditionalForwarderIpAddrs")
    } else if first == 0x2001 && addr.segments()[1] == 0x0db8 {
        Some("must not be a documentation address (2001:db8::/32)")
    } else {
        None
    }
}

fn parse_ipv6_forwarders(value: Option<&Value>, violations: &mut Vec<Violation>) -> Option<Vec<Ipv6Addr>> {
    let list = AddressList {
        field: "conditionalForwarderIpv6Addrs",
        array_rule: "must be an array of 1 to 4 IPv6 addresses",
        listed: "IPv6 DNS server addresses (or be omitted)",
        not_a_string: "must be an IPv6 address as a string, e.g. \"fd00:10::53\"",
        malformed: "must be an IPv6 address, e.g. fd00:10::53",
        check: |addr, text| {
            // The schema's pattern takes hexadecimal groups only; the two must agree.
            check_ipv6_forwarder_addr(addr)
                .or_else(|| text.contains('.').then_some("must be written in hexadecimal groups, without an embedded dotted IPv4 part"))
        },
    };
    parse_address_list(value, &list, violations)
}

fn parse_remote_domain_cidrs(value: Option<&Value>, violations: &mut Vec<Violation>) -> Option<Vec<Ipv4Cidr>> {
    const FIELD: &str = "remoteDomainCidrs";
    let items = match value {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            violations.push(Violation::new(
                FIELD,
                format!("must be an array of 1 to {MAX_REMOTE_DOMAIN_CIDRS} IPv4 CIDR blocks"),
                display_json(other),
            ));
            return None;
        }
    };
    if items.is_empty() || items.len() > MAX_REMOTE_DOMAIN_CIDRS {
        violations.push(Violation::new(
            FIELD,
            format!("must list 1 to {MAX_REMOTE_DOMAIN_CIDRS} IPv4 CIDR blocks of the remote domain controllers' networks (or be omitted), not {}", items.len()),
            display_json(&Value::Array(items.clone())),
        ));
        return None;
    }
    let before = violations.len();
    let mut blocks: Vec<Ipv4Cidr> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let field = format!("{FIELD}[{index}]");
        let Some(text) = item.as_str() else {
            violations.push(Violation::new(field, "must be an IPv4 CIDR block as a string, e.g. \"10.20.0.0/16\"", display_json(item)));
            continue;
        };
        match text.parse::<Ipv4Cidr>() {
            Err(CidrError::HostBitsSet { normalised }) => {
                violations.push(Violation::new(field, format!("must have no host bits set: did you mean {normalised}?"), text))
            }
            Err(CidrError::Malformed) => {
                violations.push(Violation::new(field, "must be an IPv4 CIDR block a.b.c.d/n with n from 0 to 32, e.g. 10.20.0.0/16", text))
            }
            Ok(block) if block.prefix_len() < 8 => violations.push(Violation::new(
                field,
                "must be a network of the remote domain's controllers, at most a /8 (not the whole internet, not 0.0.0.0/0)",
                text,
            )),
            Ok(block) if blocks.iter().any(|earlier| earlier.overlaps(&block)) => {
                violations.push(Violation::new(field, "must not overlap a block listed before it", text))
            }
            Ok(block) => blocks.push(block),
        }
    }
    (violations.len() == before).then_some(blocks)
}

/// An optional boolean field: `false` when absent.
fn parse_flag(object: &Map<String, Value>, field: &str, violations: &mut Vec<Violation>) -> Option<bool> {
    match object.get(field) {
        None | Some(Value::Null) => Some(false),
        Some(Value::Bool(flag)) => Some(*flag),
        Some(other) => {
            violations.push(Violation::new(field, "must be true or false", display_json(other)));
            None
        }
    }
}

impl TrustRequest {
    /// Every forwarder address of the request, IPv4 first, as the Directory Service writes them.
    pub fn forwarder_addresses(&self) -> Vec<String> {
        let ipv4 = self.conditional_forwarder_ip_addrs.iter().map(|addr| IpAddr::V4(*addr));
        let ipv6 = self.conditional_forwarder_ipv6_addrs.iter().map(|addr| IpAddr::V6(*addr));
        ipv4.chain(ipv6).map(|addr| addr.to_string()).collect()
    }

    /// The IPv4 forwarder addresses outside RFC 1918: the directory reaches them only through IP routes.
    pub fn public_forwarder_addrs(&self) -> Vec<Ipv4Addr> {
        // `is_private` is exactly RFC 1918's three blocks.
        self.conditional_forwarder_ip_addrs.iter().copied().filter(|addr| !addr.is_private()).collect()
    }
}

/// Whether `id` is a Secrets Manager secret name or ARN.
pub fn is_secret_id(id: &str) -> bool {
    fn is_name(name: &str) -> bool {
        !name.is_empty() && name.len() <= 512 && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
    }
    match id.strip_prefix("arn:") {
        None => is_name(id),
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(6, ':').collect();
            matches!(parts.as_slice(), [partition, "secretsmanager", region, account, "secret", name]
                if is_partition(partition) && is_region(region) && is_account(account) && is_name(name))
        }
    }
}

/// `aws`, `aws-cn`, `aws-us-gov`, ...: `aws` and up to 16 lower-case letters or hyphens.
fn is_partition(partition: &str) -> bool {
    partition.strip_prefix("aws").is_some_and(|rest| rest.len() <= 16 && rest.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
}

/// `us-east-1`, ...: 1 to 32 lower-case letters, digits or hyphens.
fn is_region(region: &str) -> bool {
    !region.is_empty() && region.len() <= 32 && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_account(account: &str) -> bool {
    account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())
}

/// Whether `arn` is an SNS topic ARN.
pub fn is_topic_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else { return false };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    matches!(parts.as_slice(), [partition, "sns", region, account, name]
        if is_partition(partition) && is_region(region) && is_account(account)
            && !name.is_empty() && name.len() <= 256
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
}

fn parse_secret_location(value: Option<&Value>, violations: &mut Vec<Violation>) -> Option<SecretLocation> {
    const FIELD: &str = "trustPassword";
    let object = match value {
        None | Some(Value::Null) => {
            violations.push(Violation::without_value(
                FIELD,
                "is required: {\"secretId\": \"<Secrets Manager secret name or ARN>\", \"jsonKey\": \"<optional key>\"}",
            ));
            return None;
        }
        Some(Value::Object(object)) => object,
        Some(other) => {
            // Never echo: this is exactly where someone pastes the password itself.
            violations.push(Violation::without_value(
                FIELD,
                format!("must be an object naming the Secrets Manager secret that holds the password, {{\"secretId\": ..., \"jsonKey\": ...}}, not {} (value withheld: never send the password itself)", json_kind(other)),
            ));
            return None;
        }
    };
    let before = violations.len();
    for key in object.keys() {
        if key != "secretId" && key != "jsonKey" {
            violations.push(Violation::without_value(
                format!("{FIELD}.{}", crate::error::excerpt(key)),
                "is not a field of trustPassword (known fields: secretId, jsonKey; value withheld)",
            ));
        }
    }
    let secret_id = match object.get("secretId") {
        Some(Value::String(id)) if is_secret_id(id) => Some(id.clone()),
        None | Some(Value::Null) => {
            violations.push(Violation::without_value("trustPassword.secretId", "is required: the secret's name or ARN"));
            None
        }
        Some(other) => {
            violations.push(Violation::new(
                "trustPassword.secretId",
                "must be a Secrets Manager secret name (1-512 of letters, digits, /_+=.@-) or secret ARN",
                display_json(other),
            ));
            None
        }
    };
    let json_key = match object.get("jsonKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if !key.is_empty() && key.chars().count() <= 256 && !key.chars().any(char::is_control) => {
            Some(key.clone())
        }
        Some(other) => {
            violations.push(Violation::new(
                "trustPassword.jsonKey",
                "must be a string of 1 to 256 characters without control characters",
                display_json(other),
            ));
            None
        }
    };
    match secret_id {
        Some(secret_id) if violations.len() == before => Some(SecretLocation { secret_id, json_key }),
        _ => None,
    }
}

pub(crate) fn parse_notify(value: Option<&Value>, violations: &mut Vec<Violation>) -> Option<Option<NotifyTarget>> {
    let object = match value {
        None | Some(Value::Null) => return Some(None),
        Some(Value::Object(object)) => object,
        Some(other) => {
            violations.push(Violation::new("notify", "must be an object {\"topicArn\": \"arn:aws:sns:...\"}", display_json(other)));
            return None;
        }
    };
    let before = violations.len();
    for key in object.keys().filter(|key| key.as_str() != "topicArn") {
        violations.push(Violation::without_value(
            format!("notify.{}", crate::error::excerpt(key)),
            "is not a field of notify (known fields: topicArn)",
        ));
    }
    let topic_arn = match object.get("topicArn") {
        Some(Value::String(arn)) if is_topic_arn(arn) => Some(arn.clone()),
        None | Some(Value::Null) => {
            violations.push(Violation::without_value("notify.topicArn", "is required when notify is given"));
            None
        }
        Some(other) => {
            violations.push(Violation::new(
                "notify.topicArn",
                "must be an SNS topic ARN, arn:aws:sns:<region>:<12-digit account>:<topic name>",
                display_json(other),
            ));
            None
        }
    };
    match topic_arn {
        Some(topic_arn) if violations.len() == before => Some(Some(NotifyTarget { topic_arn })),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod corpus_tests;
