//! What every trustflow Lambda shares with the Lambda runtime.
//!
//! - [`api`]: the JSON answers of the Lambdas behind the REST API.
//! - [`telemetry`]: JSON log lines with the trust request id, the execution id and the Lambda
//!   request id on each, and handler failures logged at the level they deserve.
//! - [`StepFailure`]: a [`WorkflowError`] as the runtime reports it: its stable name becomes the
//!   Lambda `errorType`, which the state machine's Retry and Catch match on.

pub mod api;
pub mod telemetry;

use lambda_runtime::Diagnostic;
use trustflow_domain::WorkflowError;

/// A handler's failure, as the Lambda runtime reports it to Step Functions.
#[derive(Debug)]
pub struct StepFailure(pub WorkflowError);

impl From<WorkflowError> for StepFailure {
    fn from(error: WorkflowError) -> Self {
        Self(error)
    }
}

impl From<StepFailure> for Diagnostic {
    fn from(failure: StepFailure) -> Self {
        Diagnostic { error_type: failure.0.name().to_owned(), error_message: failure.0.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_reports_a_failure_under_its_stable_name_and_its_message() {
        let diagnostic = Diagnostic::from(StepFailure::from(WorkflowError::TrustPending("trust t-1 is Creating".to_owned())));
        assert_eq!(diagnostic.error_type, "TrustPending");
        assert_eq!(diagnostic.error_message, "trust t-1 is Creating");
    }
}
