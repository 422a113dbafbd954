//! AWS SDK errors turned into workflow errors: what may pass (`Transient`) and what will not.

// Every service crate re-exports the same smithy error types: these functions serve them all.
use aws_sdk_directory::error::{ProvideErrorMetadata, SdkError};
use trustflow_domain::WorkflowError;

/// Error codes that mean "try again later": server faults and throttling.
const TRANSIENT_CODES: &[&str] = &[
    "ServiceException",
    "InternalFailure",
    "InternalServiceError",
    "InternalServerError",
    "InternalErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// The error code of an SDK error, if the service sent one.
pub fn error_code<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> Option<&str> {
    match error {
        SdkError::ServiceError(context) => context.err().code(),
        _ => None,
    }
}

/// Turns an SDK error that the caller did not handle into a workflow error: throttling,
/// server faults and network failures are `Transient`, anything else `Internal`.
/// `scrub` removes what must not be repeated (the password) from AWS's message.
pub fn classify_sdk_error<E, R>(operation: &str, error: SdkError<E, R>, scrub: impl Fn(&str) -> String) -> WorkflowError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &error {
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown");
            let message = scrub(context.err().message().unwrap_or_default());
            let text = format!("{operation} failed: {code}: {message}");
            if TRANSIENT_CODES.contains(&code) || message.to_ascii_lowercase().contains("rate exceeded") {
                WorkflowError::Transient(text)
            } else {
                WorkflowError::Internal(text)
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            WorkflowError::Transient(format!("{operation} failed: could not reach the service ({})", scrub(&error.to_string())))
        }
        _ => WorkflowError::Internal(format!("{operation} failed: {}", scrub(&error.to_string()))),
    }
}

pub(crate) fn plain(text: &str) -> String {
    text.to_owned()
}
