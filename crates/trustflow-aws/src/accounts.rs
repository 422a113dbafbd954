//! The other account of a pair of directories: Directory Service through a role there.
//!
//! trustflow calls `sts:AssumeRole` on the request's `remoteRoleArn` with the deployment's external
//! id (the other account's role requires it in its trust policy, so that no one else's deployment
//! can use that role through trustflow), then calls Directory Service with that session. A session
//! lasts an hour by default; one is kept per role while it has more than five minutes left, so a
//! warm function does not assume the role again at every check.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use trustflow_domain::WorkflowError;

use crate::directory::SdkDirectory;
use crate::ports::{OtherAccounts, RoleError};
use crate::sdk_error::{classify_sdk_error, error_code, plain};

/// How long a kept session must still be valid to be used again.
const REUSE_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Directory Service in other accounts, through `sts:AssumeRole`.
#[derive(Debug)]
pub struct SdkOtherAccounts {
    config: aws_config::SdkConfig,
    sts: aws_sdk_sts::Client,
    external_id: Option<String>,
    session_name: String,
    sessions: Mutex<HashMap<String, (SdkDirectory, SystemTime)>>,
}

impl SdkOtherAccounts {
    /// From the shared configuration; `external_id` is the deployment's (`RemoteRoleExternalId`),
    /// `session_name` what the other account's CloudTrail shows as the session (the function).
    pub fn new(config: &aws_config::SdkConfig, external_id: Option<String>, session_name: &str) -> Self {
        Self {
            config: config.clone(),
            sts: aws_sdk_sts::Client::new(config),
            external_id: external_id.filter(|id| !id.is_empty()),
            session_name: session_name_from(session_name),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    fn kept(&self, role_arn: &str) -> Option<SdkDirectory> {
        let sessions = self.sessions.lock().ok()?;
        let (directory, expires) = sessions.get(role_arn)?;
        (expires.duration_since(SystemTime::now()).unwrap_or_default() > REUSE_MARGIN).then(|| directory.clone())
    }
}

/// A RoleSessionName (2-64 of `[\w+=,.@-]`) from a function name.
fn session_name_from(name: &str) -> String {
    let cleaned: String =
        format!("trustflow-{name}").chars().map(|c| if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) { c } else { '-' }).collect();
    cleaned.chars().take(64).collect()
}

impl OtherAccounts for SdkOtherAccounts {
    type Directory = SdkDirectory;

    async fn directory_through(&self, role_arn: &str) -> Result<SdkDirectory, RoleError> {
        if let Some(directory) = self.kept(role_arn) {
            return Ok(directory);
        }
        let output = match self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.external_id.clone())
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error_code(&error) == Some("AccessDenied") => {
                let message = aws_sdk_sts::error::ProvideErrorMetadata::message(&error).unwrap_or_default().to_owned();
                return Err(RoleError::Refused(format!("sts:AssumeRole of {role_arn} was refused: AccessDenied: {message}")));
            }
            Err(error) => return Err(RoleError::Aws(classify_sdk_error("AssumeRole", error, plain))),
        };
        let Some(session) = output.credentials() else {
            return Err(RoleError::Aws(WorkflowError::Internal(format!("sts:AssumeRole of {role_arn} returned no credentials"))));
        };
        let expires = SystemTime::try_from(*session.expiration()).unwrap_or_else(|_| SystemTime::now());
        let credentials = Credentials::new(
            session.access_key_id(),
            session.secret_access_key(),
            Some(session.session_token().to_owned()),
            Some(expires),
            "trustflow-remote-role",
        );
        let config = aws_sdk_directory::config::Builder::from(&self.config).credentials_provider(credentials).build();
        let directory = SdkDirectory(aws_sdk_directory::Client::from_conf(config));
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(role_arn.to_owned(), (directory.clone(), expires));
        }
        Ok(directory)
    }
}

#[cfg(test)]
mod tests {
    use super::session_name_from;

    #[test]
    fn the_session_is_named_after_the_function_in_the_characters_sts_accepts() {
        assert_eq!(session_name_from("stack-CheckTrustFunction-AB12"), "trustflow-stack-CheckTrustFunction-AB12");
        assert_eq!(session_name_from("a b/c"), "trustflow-a-b-c");
        assert_eq!(session_name_from(&"x".repeat(100)).len(), 64);
    }
}
