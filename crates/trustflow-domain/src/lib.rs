//! The trustflow domain: what a trust request is, what the workflow decides and announces, and how
//! it fails. Pure: no AWS SDK and no Lambda runtime in its dependency tree (the adapters are in
//! `trustflow-aws`, the runtime glue in `trustflow-lambda`).
//!
//! - [`request`]: the trust request contract and its static rules.
//! - [`domain`]: directories, trusts, their types, directions and states as the Directory Service defines them.
//! - [`plan`]: what the validation step decided the workflow does next.
//! - [`health`]: the health of existing trusts: what changed since the last check.
//! - [`handoff`]: what each step of the state machine hands the next, as types.
//! - [`announcement`]: the outcomes the workflow announces to a requester.
//! - [`status`]: where a request stands, derived from its execution.
//! - [`removal`]: removing a trust: the removal request and its plan.
//! - [`remedy`]: status reasons turned into something a requester can act on.
//! - [`network`]: the network pre-flight: the security group rule, network ACL entry or route that would stop a trust.
//! - [`preflight`]: the network pre-flight in the workflow: the networks it judges, and its findings as violations or warnings.
//! - [`ready`]: "the remote side is ready": the signal that wakes a workflow waiting for the remote side.
//! - [`secret`]: the trust password, in a type that cannot be printed or serialised.
//! - [`error`]: the error names the state machine matches on.
//! - [`settings`]: a function's configuration, read from its environment once.
//! - [`times`]: times as the workflow writes them (RFC 3339).

pub mod announcement;
pub mod custom_resource;
pub mod domain;
pub mod error;
pub mod handoff;
pub mod health;
pub mod network;
pub mod plan;
pub mod preflight;
pub mod ready;
pub mod remedy;
pub mod removal;
pub mod request;
pub mod secret;
pub mod settings;
pub mod status;
pub mod times;

pub use error::WorkflowError;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

// Re-exported so dependants use the exact version the domain's times are built on.
pub use time;
