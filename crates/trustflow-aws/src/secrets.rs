//! Secrets Manager over the AWS SDK.

use trustflow_domain::request::SecretLocation;
use trustflow_domain::secret::{password_from_secret_string, TrustPassword};
use trustflow_domain::WorkflowError;

use trustflow_domain::custom_resource::PendingAnswer;

use crate::ports::{PendingAnswers, SecretPresence, SecretStore};
use crate::sdk_error::{classify_sdk_error, error_code, plain};

/// Secrets Manager over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkSecrets(pub aws_sdk_secretsmanager::Client);

impl SecretStore for SdkSecrets {
    async fn secret_presence(&self, secret_id: &str) -> Result<SecretPresence, WorkflowError> {
        match self.0.describe_secret().secret_id(secret_id).send().await {
            Ok(output) if output.deleted_date().is_some() => Ok(SecretPresence::Deleted),
            Ok(_) => Ok(SecretPresence::Available),
            Err(error) if matches!(error_code(&error), Some("ResourceNotFoundException" | "AccessDeniedException")) => {
                Ok(SecretPresence::Missing)
            }
            Err(error) => Err(classify_sdk_error("DescribeSecret", error, plain)),
        }
    }

    async fn read_password(&self, location: &SecretLocation) -> Result<TrustPassword, WorkflowError> {
        let secret_id = &location.secret_id;
        let output = match self.0.get_secret_value().secret_id(secret_id).send().await {
            Ok(output) => output,
            Err(error) => {
                return Err(match error_code(&error) {
                    Some(
                        code @ ("ResourceNotFoundException" | "AccessDeniedException" | "InvalidRequestException" | "DecryptionFailure"),
                    ) => WorkflowError::SecretUnavailable(format!(
                        "trustPassword.secretId: the secret {secret_id:?} cannot be read ({code})"
                    )),
                    _ => classify_sdk_error("GetSecretValue", error, |_| "(message withheld)".to_owned()),
                });
            }
        };
        let Some(text) = output.secret_string() else {
            return Err(WorkflowError::SecretUnavailable(format!(
                "trustPassword.secretId: the secret {secret_id:?} holds binary data; it must hold the password as a string"
            )));
        };
        let text = zeroize::Zeroizing::new(text.to_owned());
        password_from_secret_string(&text, location)
    }
}

impl SdkSecrets {
    /// A Secrets Manager client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_secretsmanager::Client::new(config))
    }
}

/// The answers owed to CloudFormation, one secret each, named `<prefix><request id>`.
///
/// Secrets Manager rather than the execution's input: an input is in the execution history, which
/// every reader of the workflow's executions sees, and the response URL lets its holder answer for
/// the stack's resource. A secret is encrypted at rest, readable only by the roles its name prefix
/// is granted to (the resource's function), and deleted without recovery once answered.
#[derive(Clone, Debug)]
pub struct SdkPendingAnswers {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

impl SdkPendingAnswers {
    /// Secrets Manager from the shared configuration, the secrets under `prefix`.
    pub fn new(config: &aws_config::SdkConfig, prefix: impl Into<String>) -> Self {
        Self { client: aws_sdk_secretsmanager::Client::new(config), prefix: prefix.into() }
    }

    fn name(&self, request_id: &str) -> String {
        format!("{}{request_id}", self.prefix)
    }
}

impl PendingAnswers for SdkPendingAnswers {
    async fn keep(&self, request_id: &str, answer: &PendingAnswer) -> Result<(), WorkflowError> {
        let value = serde_json::to_string(answer).map_err(|error| WorkflowError::Internal(error.to_string()))?;
        let created = self
            .client
            .create_secret()
            .name(self.name(request_id))
            .description("An answer trustflow owes CloudFormation for a Custom::DirectoryTrust; deleted once sent.")
            .secret_string(value)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // A retried invocation keeps the same answer: the first one stands.
            Err(error) if error_code(&error) == Some("ResourceExistsException") => Ok(()),
            Err(error) => Err(classify_sdk_error("CreateSecret", error, |_| "(message withheld)".to_owned())),
        }
    }

    async fn owed(&self, request_id: &str) -> Result<Option<PendingAnswer>, WorkflowError> {
        match self.client.get_secret_value().secret_id(self.name(request_id)).send().await {
            Ok(output) => {
                let text = output.secret_string().unwrap_or_default();
                serde_json::from_str(text)
                    .map(Some)
                    .map_err(|error| WorkflowError::Internal(format!("the answer kept for {request_id} is not readable: {error}")))
            }
            Err(error) if matches!(error_code(&error), Some("ResourceNotFoundException" | "InvalidRequestException")) => Ok(None),
            Err(error) => Err(classify_sdk_error("GetSecretValue", error, |_| "(message withheld)".to_owned())),
        }
    }

    async fn forget(&self, request_id: &str) -> Result<(), WorkflowError> {
        let deleted = self.client.delete_secret().secret_id(self.name(request_id)).force_delete_without_recovery(true).send().await;
        match deleted {
            Ok(_) => Ok(()),
            Err(error) if error_code(&error) == Some("ResourceNotFoundException") => Ok(()),
            Err(error) => Err(classify_sdk_error("DeleteSecret", error, plain)),
        }
    }
}
