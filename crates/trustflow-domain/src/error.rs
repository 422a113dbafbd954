//! The errors a trustflow Lambda can end with.
//!
//! Each variant's [`WorkflowError::name`] is the Lambda `errorType`, which Step Functions turns into
//! the Task's error name: the state machine's Retry and Catch match on these names, so they are a
//! stable contract (see `statemachine/trust_workflow.asl.json`).

use std::fmt;

/// One broken rule of a trust request: the field, the rule, and the offending value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Violation {
    /// JSON path of the field, e.g. `conditionalForwarderIpAddrs[2]`.
    pub field: String,
    /// The rule, phrased as what the field must be.
    pub rule: String,
    /// The offending value as received (shortened and escaped), or `None` where it is withheld or absent.
    pub value: Option<String>,
}

/// Longest excerpt of an offending value that goes into an error message.
const MAX_VALUE_EXCERPT: usize = 80;

impl Violation {
    /// A violation showing `value` (escaped, cut to a readable length).
    pub fn new(field: impl Into<String>, rule: impl Into<String>, value: impl AsRef<str>) -> Self {
        Self { field: field.into(), rule: rule.into(), value: Some(excerpt(value.as_ref())) }
    }

    /// A violation for a missing field or one whose value must not be echoed.
    pub fn without_value(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into(), value: None }
    }
}

/// Escapes control characters and non-ASCII (so look-alike letters show as `\u{...}`) and cuts long values.
pub fn excerpt(value: &str) -> String {
    let mut shown: String = value.chars().take(MAX_VALUE_EXCERPT).collect::<String>().escape_debug().to_string();
    shown = shown.chars().flat_map(|c| if c.is_ascii() { vec![c] } else { format!("\\u{{{:x}}}", c as u32).chars().collect() }).collect();
    let total = value.chars().count();
    if total > MAX_VALUE_EXCERPT {
        shown.push_str(&format!("... ({total} characters)"));
    }
    format!("\"{shown}\"")
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}: {} (got {})", self.field, self.rule, value),
            None => write!(f, "{}: {}", self.field, self.rule),
        }
    }
}

/// Every way a trustflow Lambda fails, each with a stable name for the state machine.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// The request breaks one or more rules. Never retried: the requester must fix it.
    #[error("the trust request was rejected:{}", join(.0))]
    ValidationFailed(Vec<Violation>),

    /// A trust for the remote domain already exists and the request does not allow replacing it.
    #[error("{0}")]
    TrustConflict(String),

    /// The trust password could not be read from Secrets Manager (missing, not a string, key absent).
    #[error("{0}")]
    SecretUnavailable(String),

    /// The Directory Service refused CreateTrust for a reason the requester must fix.
    #[error("the Directory Service rejected the trust: {0}")]
    TrustRejected(String),

    /// A replacement deleted the existing trust, then AWS did not create the requested one: no trust
    /// for the domain is left. The message names the deleted trust and why creation failed.
    #[error("{0}")]
    ReplacementNotCreated(String),

    /// The trust the workflow follows no longer exists.
    #[error("{0}")]
    TrustNotFound(String),

    /// The trust is still being created or verified: the state machine polls again.
    #[error("{0}")]
    TrustPending(String),

    /// The trust waits for the on-premises side; the state machine re-verifies on a schedule.
    #[error("{0}")]
    TrustAwaitingRemoteSide(String),

    /// A fault that may pass: throttling, a server error, a network failure. Retried with backoff.
    #[error("{0}")]
    Transient(String),

    /// The function itself is misconfigured (environment, permissions) or met something unexpected.
    #[error("{0}")]
    Internal(String),
}

/// One rule per line, so that no rule is ever split and none runs into the next; a single one
/// stays on the line it introduces.
fn join(violations: &[Violation]) -> String {
    match violations {
        [one] => format!(" {one}"),
        many => many.iter().map(|v| format!("\n- {v}")).collect(),
    }
}

impl WorkflowError {
    /// The stable error name, used as the Lambda `errorType` and matched by the state machine.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ValidationFailed(_) => "ValidationFailed",
            Self::TrustConflict(_) => "TrustConflict",
            Self::SecretUnavailable(_) => "SecretUnavailable",
            Self::TrustRejected(_) => "TrustRejected",
            Self::ReplacementNotCreated(_) => "ReplacementNotCreated",
            Self::TrustNotFound(_) => "TrustNotFound",
            Self::TrustPending(_) => "TrustPending",
            Self::TrustAwaitingRemoteSide(_) => "TrustAwaitingRemoteSide",
            Self::Transient(_) => "Transient",
            Self::Internal(_) => "Internal",
        }
    }

    /// A single-violation `ValidationFailed`.
    pub fn invalid(violation: Violation) -> Self {
        Self::ValidationFailed(vec![violation])
    }
}
