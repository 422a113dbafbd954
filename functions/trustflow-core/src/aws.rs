//! Narrow traits over the AWS calls the Lambdas make, and their adapters over the AWS SDK.
//!
//! Handlers are generic over these traits: unit tests pass in-memory fakes, the Lambdas and the
//! integration tests pass the SDK adapters, which talk HTTP to AWS or to the emulator.

use std::future::Future;

use aws_sdk_directory::error::{ProvideErrorMetadata, SdkError};
use serde::{Deserialize, Serialize};

use crate::error::WorkflowError;
use crate::request::SecretLocation;
use crate::secret::TrustPassword;

/// What the workflow needs to know of a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryInfo {
    /// `d-...`.
    pub directory_id: String,
    /// The directory's FQDN, e.g. `aws.example.com`.
    pub name: String,
    /// The NetBIOS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    /// `MicrosoftAD`, `SimpleAD`, `ADConnector`, `SharedMicrosoftAD`.
    pub directory_type: String,
    /// `Active`, `Creating`, ...
    pub stage: String,
    /// The Multi-Region primary Region, where trusts are managed; `None` when the API gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// The directory's DNS servers, which the on-premises side forwards to.
    #[serde(default)]
    pub dns_ip_addrs: Vec<String>,
}

/// What the workflow needs to know of a trust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustInfo {
    /// `t-...`.
    pub trust_id: String,
    /// The remote domain, as AWS returns it.
    pub remote_domain_name: String,
    /// `Forest` or `External`.
    pub trust_type: String,
    /// `Two-Way`, `One-Way: Outgoing` or `One-Way: Incoming`.
    pub trust_direction: String,
    /// `TrustState`, as the API spells it.
    pub state: String,
    /// `TrustStateReason`, free text, often empty.
    #[serde(default)]
    pub state_reason: String,
}

/// Everything CreateTrust takes but the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrust {
    /// The AWS directory.
    pub directory_id: String,
    /// The on-premises domain.
    pub remote_domain_name: String,
    /// `Forest` or `External`.
    pub trust_type: &'static str,
    /// API spelling of the direction.
    pub trust_direction: &'static str,
    /// Conditional forwarder addresses; empty to rely on an existing forwarder.
    pub conditional_forwarder_ip_addrs: Vec<String>,
    /// `Enabled` or `Disabled`.
    pub selective_auth: &'static str,
}

/// What CreateTrust did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    /// A new trust.
    Created(String),
    /// A trust for this domain exists already (a duplicate event, a retry, a race).
    AlreadyExists,
}

/// Whether a secret can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretPresence {
    /// The secret exists and is not scheduled for deletion.
    Available,
    /// No such secret, or trustflow may not see it.
    Missing,
    /// The secret is scheduled for deletion.
    Deleted,
}

/// Read-only Directory Service calls.
pub trait DirectoryReader {
    /// DescribeDirectories for one directory; `None` if it does not exist.
    fn describe_directory(&self, directory_id: &str) -> impl Future<Output = Result<Option<DirectoryInfo>, WorkflowError>>;
    /// Every trust of the directory (all pages of DescribeTrusts).
    fn list_trusts(&self, directory_id: &str) -> impl Future<Output = Result<Vec<TrustInfo>, WorkflowError>>;
    /// One trust; `None` if it no longer exists.
    fn describe_trust(&self, directory_id: &str, trust_id: &str) -> impl Future<Output = Result<Option<TrustInfo>, WorkflowError>>;
    /// Whether the directory has a conditional forwarder for the domain.
    fn has_conditional_forwarder(&self, directory_id: &str, remote_domain: &str) -> impl Future<Output = Result<bool, WorkflowError>>;
}

/// The one Directory Service call that takes the password.
pub trait TrustCreator {
    /// CreateTrust.
    fn create_trust(&self, trust: &NewTrust, password: &TrustPassword) -> impl Future<Output = Result<CreateOutcome, WorkflowError>>;
}

/// Directory Service calls that change an existing trust.
pub trait TrustMaintainer {
    /// VerifyTrust.
    fn verify_trust(&self, trust_id: &str) -> impl Future<Output = Result<(), WorkflowError>>;
    /// DeleteTrust; `delete_forwarder` also removes the domain's conditional forwarder.
    fn delete_trust(&self, trust_id: &str, delete_forwarder: bool) -> impl Future<Output = Result<(), WorkflowError>>;
}

/// Secrets Manager: metadata for validation, the value for trust creation only.
pub trait SecretStore {
    /// DescribeSecret: never reads the value.
    fn secret_presence(&self, secret_id: &str) -> impl Future<Output = Result<SecretPresence, WorkflowError>>;
    /// GetSecretValue, and the JSON key inside it when one is named.
    fn read_password(&self, location: &SecretLocation) -> impl Future<Output = Result<TrustPassword, WorkflowError>>;
}

/// Where outcomes are announced.
pub trait Notifier {
    /// SNS Publish.
    fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> impl Future<Output = Result<(), WorkflowError>>;
    /// EventBridge PutEvents of one event.
    fn put_event(&self, bus: &str, source: &str, detail_type: &str, detail: &str) -> impl Future<Output = Result<(), WorkflowError>>;
}

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

fn plain(text: &str) -> String {
    text.to_owned()
}

/// Directory Service over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkDirectory(pub aws_sdk_directory::Client);

impl DirectoryReader for SdkDirectory {
    async fn describe_directory(&self, directory_id: &str) -> Result<Option<DirectoryInfo>, WorkflowError> {
        let output = match self.0.describe_directories().directory_ids(directory_id).send().await {
            Ok(output) => output,
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => return Ok(None),
            Err(error) => return Err(classify_sdk_error("DescribeDirectories", error, plain)),
        };
        Ok(output.directory_descriptions().iter().find(|d| d.directory_id() == Some(directory_id)).map(|d| DirectoryInfo {
            directory_id: directory_id.to_owned(),
            name: d.name().unwrap_or_default().to_owned(),
            short_name: d.short_name().map(str::to_owned),
            directory_type: d.r#type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            stage: d.stage().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            primary_region: d.regions_info().and_then(|r| r.primary_region()).map(str::to_owned),
            dns_ip_addrs: d.dns_ip_addrs().to_vec(),
        }))
    }

    async fn list_trusts(&self, directory_id: &str) -> Result<Vec<TrustInfo>, WorkflowError> {
        let mut trusts = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .0
                .describe_trusts()
                .directory_id(directory_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify_sdk_error("DescribeTrusts", error, plain))?;
            trusts.extend(output.trusts().iter().map(trust_info));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(trusts),
            }
        }
    }

    async fn describe_trust(&self, directory_id: &str, trust_id: &str) -> Result<Option<TrustInfo>, WorkflowError> {
        match self.0.describe_trusts().directory_id(directory_id).trust_ids(trust_id).send().await {
            Ok(output) => Ok(output.trusts().iter().find(|t| t.trust_id() == Some(trust_id)).map(trust_info)),
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => Ok(None),
            Err(error) => Err(classify_sdk_error("DescribeTrusts", error, plain)),
        }
    }

    async fn has_conditional_forwarder(&self, directory_id: &str, remote_domain: &str) -> Result<bool, WorkflowError> {
        match self.0.describe_conditional_forwarders().directory_id(directory_id).remote_domain_names(remote_domain).send().await {
            Ok(output) => Ok(output
                .conditional_forwarders()
                .iter()
                .any(|f| f.remote_domain_name().map(crate::domain::normalize_domain).as_deref() == Some(remote_domain))),
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => Ok(false),
            Err(error) => Err(classify_sdk_error("DescribeConditionalForwarders", error, plain)),
        }
    }
}

fn trust_info(trust: &aws_sdk_directory::types::Trust) -> TrustInfo {
    TrustInfo {
        trust_id: trust.trust_id().unwrap_or_default().to_owned(),
        remote_domain_name: trust.remote_domain_name().unwrap_or_default().to_owned(),
        trust_type: trust.trust_type().map(|t| t.as_str().to_owned()).unwrap_or_else(|| "Forest".to_owned()),
        trust_direction: trust.trust_direction().map(|d| d.as_str().to_owned()).unwrap_or_default(),
        state: trust.trust_state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        state_reason: trust.trust_state_reason().unwrap_or_default().to_owned(),
    }
}

impl TrustCreator for SdkDirectory {
    async fn create_trust(&self, trust: &NewTrust, password: &TrustPassword) -> Result<CreateOutcome, WorkflowError> {
        use aws_sdk_directory::types::{SelectiveAuth, TrustDirection, TrustType};
        let forwarders = (!trust.conditional_forwarder_ip_addrs.is_empty()).then(|| trust.conditional_forwarder_ip_addrs.clone());
        let result = self
            .0
            .create_trust()
            .directory_id(&trust.directory_id)
            .remote_domain_name(&trust.remote_domain_name)
            .trust_password(password.expose())
            .trust_direction(TrustDirection::from(trust.trust_direction))
            .trust_type(TrustType::from(trust.trust_type))
            .selective_auth(SelectiveAuth::from(trust.selective_auth))
            .set_conditional_forwarder_ip_addrs(forwarders)
            .send()
            .await;
        match result {
            Ok(output) => output
                .trust_id()
                .map(|id| CreateOutcome::Created(id.to_owned()))
                .ok_or_else(|| WorkflowError::Internal("CreateTrust returned no TrustId".to_owned())),
            Err(error) => match error_code(&error) {
                Some("EntityAlreadyExistsException") => Ok(CreateOutcome::AlreadyExists),
                Some(code @ ("InvalidParameterException" | "UnsupportedOperationException" | "EntityDoesNotExistException")) => {
                    let message = password.scrub(error.as_service_error().and_then(|e| e.message()).unwrap_or_default());
                    Err(WorkflowError::TrustRejected(format!("{code}: {message}")))
                }
                _ => Err(classify_sdk_error("CreateTrust", error, |text| password.scrub(text))),
            },
        }
    }
}

impl TrustMaintainer for SdkDirectory {
    async fn verify_trust(&self, trust_id: &str) -> Result<(), WorkflowError> {
        match self.0.verify_trust().trust_id(trust_id).send().await {
            Ok(_) => Ok(()),
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => {
                Err(WorkflowError::TrustNotFound(format!("trust {trust_id} no longer exists")))
            }
            Err(error) => Err(classify_sdk_error("VerifyTrust", error, plain)),
        }
    }

    async fn delete_trust(&self, trust_id: &str, delete_forwarder: bool) -> Result<(), WorkflowError> {
        match self.0.delete_trust().trust_id(trust_id).delete_associated_conditional_forwarder(delete_forwarder).send().await {
            Ok(_) => Ok(()),
            // Already gone: deleting is idempotent.
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => Ok(()),
            Err(error) => Err(classify_sdk_error("DeleteTrust", error, plain)),
        }
    }
}

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

/// The trust password in a secret's string, as the request's `trustPassword` locates it.
///
/// A secret that is a JSON object needs `jsonKey`: without it the whole JSON text would reach
/// CreateTrust as the password, and AWS would answer "Access is denied" long after, blaming the
/// on-premises side. The error names the keys the object has (never a value) and the field to add.
pub fn password_from_secret_string(text: &str, location: &SecretLocation) -> Result<TrustPassword, WorkflowError> {
    let secret_id = &location.secret_id;
    let value = match &location.json_key {
        Some(key) => zeroize::Zeroizing::new(extract_json_key(text, secret_id, key)?),
        None => {
            if let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(text) {
                let keys: Vec<String> = object.keys().map(|key| crate::error::excerpt(key)).collect();
                return Err(WorkflowError::SecretUnavailable(format!(
                    "trustPassword.jsonKey: is required because the secret {secret_id:?} holds a JSON object (keys: {}); name the key that holds the password, e.g. \"trustPassword\": {{\"secretId\": {secret_id:?}, \"jsonKey\": {}}}",
                    if keys.is_empty() { "none".to_owned() } else { keys.join(", ") },
                    keys.first().map(String::as_str).unwrap_or("\"password\""),
                )));
            }
            zeroize::Zeroizing::new(text.to_owned())
        }
    };
    TrustPassword::new(value.to_string()).map_err(|rule| {
        WorkflowError::SecretUnavailable(format!("trustPassword: the secret {secret_id:?} does not hold a usable trust password: {rule}"))
    })
}

/// Reads `key` out of a JSON secret. Errors never include the secret's content.
pub fn extract_json_key(text: &str, secret_id: &str, key: &str) -> Result<String, WorkflowError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).map_err(|_| {
        WorkflowError::SecretUnavailable(format!(
            "trustPassword.jsonKey: the secret {secret_id:?} is not a JSON object, so key {key:?} cannot be read from it"
        ))
    })?;
    match object.get(key) {
        Some(serde_json::Value::String(value)) => Ok(value.clone()),
        Some(_) => {
            Err(WorkflowError::SecretUnavailable(format!("trustPassword.jsonKey: key {key:?} of the secret {secret_id:?} is not a string")))
        }
        None => Err(WorkflowError::SecretUnavailable(format!("trustPassword.jsonKey: the secret {secret_id:?} has no key {key:?}"))),
    }
}

/// SNS and EventBridge over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkNotifier {
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// EventBridge.
    pub events: aws_sdk_eventbridge::Client,
}

impl Notifier for SdkNotifier {
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), WorkflowError> {
        self.sns
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify_sdk_error("SNS Publish", error, plain))
    }

    async fn put_event(&self, bus: &str, source: &str, detail_type: &str, detail: &str) -> Result<(), WorkflowError> {
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        let entry = PutEventsRequestEntry::builder().event_bus_name(bus).source(source).detail_type(detail_type).detail(detail).build();
        let output = self
            .events
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|error| classify_sdk_error("EventBridge PutEvents", error, plain))?;
        if output.failed_entry_count() > 0 {
            let reason = output.entries().first().and_then(|e| e.error_code()).unwrap_or("unknown");
            return Err(WorkflowError::Transient(format!("EventBridge PutEvents rejected the result event: {reason}")));
        }
        Ok(())
    }
}

/// Loads the shared SDK configuration (Region, credentials, endpoint) once, at cold start.
///
/// Lambda always sets the Region and the function role's credentials as environment variables,
/// so when they are there the configuration is built from them directly: the default chain's
/// profile-file and container/IMDS probing cost about 3 ms of a 7 ms cold start (docs/benchmarks.md).
/// `AWS_ENDPOINT_URL` is honoured (the local stack and the tests point it at the emulator).
/// Anywhere else, the SDK's default chain is used (the local stack relies on its profile-file
/// `credential_process` to give each function its own role's session).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let region = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty());
    let has_credentials = std::env::var_os("AWS_ACCESS_KEY_ID").is_some() && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some();
    match region {
        Some(region) if has_credentials => {
            let mut config = aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(region))
                .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()));
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                config = config.endpoint_url(endpoint);
            }
            config.build()
        }
        _ => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
    }
}

impl SdkDirectory {
    /// A Directory Service client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_directory::Client::new(config))
    }
}

impl SdkSecrets {
    /// A Secrets Manager client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_secretsmanager::Client::new(config))
    }
}

impl SdkNotifier {
    /// SNS and EventBridge clients from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self { sns: aws_sdk_sns::Client::new(config), events: aws_sdk_eventbridge::Client::new(config) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_key_of_a_json_secret() {
        assert_eq!(extract_json_key(r#"{"password":"p@ss"}"#, "s", "password").ok().as_deref(), Some("p@ss"));
    }

    #[test]
    fn json_secret_errors_never_show_the_secret() {
        for (text, words) in
            [(r#"{"other":"Canary-1"}"#, "has no key"), (r#"{"password":42}"#, "not a string"), ("Canary-1", "not a JSON object")]
        {
            let error = extract_json_key(text, "s", "password").expect_err("must fail");
            let message = error.to_string();
            assert_eq!(error.name(), "SecretUnavailable");
            assert!(message.contains(words), "{message}");
            assert!(!message.contains("Canary-1") && !message.contains("42"), "{message}");
        }
    }

    fn location(json_key: Option<&str>) -> SecretLocation {
        SecretLocation { secret_id: "trustflow/corp".to_owned(), json_key: json_key.map(str::to_owned) }
    }

    #[test]
    fn a_json_secret_without_json_key_is_refused_naming_its_keys_but_no_value() {
        let error = password_from_secret_string(r#"{"username":"admin","password":"Canary-1"}"#, &location(None)).expect_err("must refuse");
        let message = error.to_string();
        assert_eq!(error.name(), "SecretUnavailable");
        assert!(message.starts_with("trustPassword.jsonKey: is required"), "{message}");
        assert!(message.contains(r#"keys: "password", "username""#) && message.contains("trustflow/corp"), "{message}");
        assert!(!message.contains("Canary-1") && !message.contains("admin"), "{message}");
    }

    #[test]
    fn a_plain_string_secret_is_the_password_and_a_json_key_picks_one_out_of_an_object() {
        let plain = password_from_secret_string("Plain P@ss 1", &location(None)).expect("plain");
        assert_eq!(plain.expose(), "Plain P@ss 1");
        let keyed = password_from_secret_string(r#"{"password":"K3yed!"}"#, &location(Some("password"))).expect("keyed");
        assert_eq!(keyed.expose(), "K3yed!");
        // JSON that is not an object (a quoted string, a number) is a password like any other.
        assert_eq!(password_from_secret_string("12345678", &location(None)).expect("digits").expose(), "12345678");
    }
}
