//! Shared core of the trustflow Lambdas.
//!
//! - [`request`]: the trust request contract and its static rules.
//! - [`announcement`]: the outcomes the workflow announces to a requester.
//! - [`domain`]: trust types, directions and states as the Directory Service defines them.
//! - [`plan`]: what the validation step decided the workflow does next.
//! - [`remedy`]: status reasons turned into something a requester can act on.
//! - [`secret`]: the trust password, in a type that cannot be printed or serialised.
//! - [`aws`]: narrow traits over the AWS calls the Lambdas make, and their SDK adapters.
//! - [`error`]: the error names the state machine matches on.

pub mod announcement;
pub mod aws;
pub mod domain;
pub mod error;
pub mod plan;
pub mod remedy;
pub mod request;
pub mod secret;
pub mod settings;
pub mod telemetry;

pub use error::WorkflowError;

// Re-exported so the function crates use the exact versions the adapters are built on.
pub use {aws_sdk_directory, aws_sdk_eventbridge, aws_sdk_secretsmanager, aws_sdk_sns, time};

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;

#[cfg(any(test, feature = "fakes"))]
pub mod testing;
