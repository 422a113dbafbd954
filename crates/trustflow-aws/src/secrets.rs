//! Secrets Manager over the AWS SDK.

use trustflow_domain::request::SecretLocation;
use trustflow_domain::secret::{password_from_secret_string, TrustPassword};
use trustflow_domain::WorkflowError;

use crate::ports::{SecretPresence, SecretStore};
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
