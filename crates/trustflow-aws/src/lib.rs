//! trustflow's AWS side: the ports the handlers are written against, one SDK adapter per service,
//! the shared SDK configuration, and what an SDK error means for the workflow.
//!
//! - [`ports`]: the narrow traits over the AWS calls the handlers make.
//! - [`directory`]: Directory Service. [`network`]: EC2 (the directory's network). [`secrets`]: Secrets Manager. [`notifications`]: SNS and
//!   EventBridge. [`executions`]: Step Functions (starting a request, reading where it stands).
//! - [`accounts`]: Directory Service in another account, through a role there (pairs of directories).
//! - [`config`]: the SDK configuration, loaded once per process. [`sdk_error`]: error classification.
//! - `fakes` (feature `fakes`): in-memory stand-ins for the ports, for the handlers' unit tests;
//!   `testing` (same feature): fixtures of the integration tests against the emulated AWS.

pub mod accounts;
pub mod config;
pub mod directory;
pub mod executions;
pub mod network;
pub mod notifications;
pub mod ports;
pub mod sdk_error;
pub mod secrets;

pub use accounts::SdkOtherAccounts;
pub use config::load_sdk_config;
pub use directory::SdkDirectory;
pub use executions::{read_status, SdkExecutions, SdkStarter, StatusError};
pub use network::SdkNetwork;
pub use notifications::SdkNotifier;
pub use secrets::{SdkPendingAnswers, SdkSecrets};

// Re-exported so dependants use the exact versions the adapters are built on.
pub use {aws_config, aws_sdk_directory, aws_sdk_ec2, aws_sdk_eventbridge, aws_sdk_secretsmanager, aws_sdk_sfn, aws_sdk_sns, aws_sdk_sts};

#[cfg(any(test, feature = "fakes"))]
pub mod fakes;

#[cfg(any(test, feature = "fakes"))]
pub mod testing;
