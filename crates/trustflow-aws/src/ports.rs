//! The ports: narrow traits over the AWS calls the handlers make, and the values they exchange.
//!
//! Handlers are generic over these traits: unit tests pass the in-memory fakes (`fakes`, behind the
//! `fakes` feature), the Lambdas and the integration tests pass the SDK adapters of this crate.

use std::collections::BTreeMap;
use std::future::Future;

use trustflow_domain::custom_resource::PendingAnswer;
use trustflow_domain::domain::{DirectoryInfo, DirectoryVpc, SelectiveAuth, TrustInfo};
use trustflow_domain::network::NetworkSnapshot;
use trustflow_domain::ready::TaskToken;
use trustflow_domain::request::SecretLocation;
use trustflow_domain::secret::TrustPassword;
use trustflow_domain::status::{ExecutionSummary, HistoryRecord};
use trustflow_domain::WorkflowError;

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
    /// The forwarder's IPv6 addresses (`ConditionalForwarderIpv6Addrs`).
    pub conditional_forwarder_ipv6_addrs: Vec<String>,
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
    /// The DNS server addresses (IPv4, then IPv6) of the directory's conditional forwarder for the
    /// domain; `None` when it has none.
    fn conditional_forwarder(
        &self,
        directory_id: &str,
        remote_domain: &str,
    ) -> impl Future<Output = Result<Option<Vec<String>>, WorkflowError>>;
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
    /// UpdateTrust: selective authentication is the one setting AWS changes in place.
    fn update_selective_auth(&self, trust_id: &str, selective_auth: SelectiveAuth) -> impl Future<Output = Result<(), WorkflowError>>;
    /// UpdateConditionalForwarder, or CreateConditionalForwarder when `exists` is false.
    fn set_conditional_forwarder(
        &self,
        directory_id: &str,
        remote_domain: &str,
        addresses: &[String],
        exists: bool,
    ) -> impl Future<Output = Result<(), WorkflowError>>;
}

/// Why a session of a role in another account could not be had.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// STS refused the session (AccessDenied: the role's trust policy does not let this function in
    /// with the deployment's external id, the function may not assume that role, or there is no
    /// such role). The message is AWS's, with the role.
    #[error("{0}")]
    Refused(String),
    /// Any other failure; [`WorkflowError::Transient`] when it may pass.
    #[error(transparent)]
    Aws(#[from] WorkflowError),
}

impl From<RoleError> for WorkflowError {
    /// Past validation a refusal means the role was changed under a running request: the
    /// deployment's configuration, not the requester's input.
    fn from(error: RoleError) -> Self {
        match error {
            RoleError::Refused(message) => WorkflowError::Internal(message),
            RoleError::Aws(error) => error,
        }
    }
}

/// Directory Service in other accounts: the other directory of a pair, reached through a role in
/// its account (the request's `remoteRoleArn`).
pub trait OtherAccounts {
    /// The Directory Service calls made in that account, as that role.
    type Directory: DirectoryReader + TrustCreator + TrustMaintainer;
    /// A session of `role_arn` (AssumeRole with the deployment's external id).
    fn directory_through(&self, role_arn: &str) -> impl Future<Output = Result<Self::Directory, RoleError>>;
}

/// The other directory of a pair: in this account (the same clients), or in another one through a
/// role there. Handlers use it for the other side's calls whichever it is.
#[derive(Debug)]
pub enum PairedDirectory<'a, D, R> {
    /// The other directory is in this account.
    ThisAccount(&'a D),
    /// The other directory is in another account, reached through a role there.
    OtherAccount(R),
}

/// The other directory of a pair: through `role_arn` when one is given (another account), else
/// this account's own clients.
pub async fn paired_directory<'a, D, A: OtherAccounts>(
    directory_api: &'a D,
    accounts: &A,
    role_arn: Option<&str>,
) -> Result<PairedDirectory<'a, D, A::Directory>, RoleError> {
    Ok(match role_arn {
        Some(role_arn) => PairedDirectory::OtherAccount(accounts.directory_through(role_arn).await?),
        None => PairedDirectory::ThisAccount(directory_api),
    })
}

impl<D: DirectoryReader, R: DirectoryReader> DirectoryReader for PairedDirectory<'_, D, R> {
    async fn describe_directory(&self, directory_id: &str) -> Result<Option<DirectoryInfo>, WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.describe_directory(directory_id).await,
            Self::OtherAccount(api) => api.describe_directory(directory_id).await,
        }
    }

    async fn list_trusts(&self, directory_id: &str) -> Result<Vec<TrustInfo>, WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.list_trusts(directory_id).await,
            Self::OtherAccount(api) => api.list_trusts(directory_id).await,
        }
    }

    async fn describe_trust(&self, directory_id: &str, trust_id: &str) -> Result<Option<TrustInfo>, WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.describe_trust(directory_id, trust_id).await,
            Self::OtherAccount(api) => api.describe_trust(directory_id, trust_id).await,
        }
    }

    async fn conditional_forwarder(&self, directory_id: &str, remote_domain: &str) -> Result<Option<Vec<String>>, WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.conditional_forwarder(directory_id, remote_domain).await,
            Self::OtherAccount(api) => api.conditional_forwarder(directory_id, remote_domain).await,
        }
    }
}

impl<D: TrustCreator, R: TrustCreator> TrustCreator for PairedDirectory<'_, D, R> {
    async fn create_trust(&self, trust: &NewTrust, password: &TrustPassword) -> Result<CreateOutcome, WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.create_trust(trust, password).await,
            Self::OtherAccount(api) => api.create_trust(trust, password).await,
        }
    }
}

impl<D: TrustMaintainer, R: TrustMaintainer> TrustMaintainer for PairedDirectory<'_, D, R> {
    async fn verify_trust(&self, trust_id: &str) -> Result<(), WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.verify_trust(trust_id).await,
            Self::OtherAccount(api) => api.verify_trust(trust_id).await,
        }
    }

    async fn delete_trust(&self, trust_id: &str, delete_forwarder: bool) -> Result<(), WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.delete_trust(trust_id, delete_forwarder).await,
            Self::OtherAccount(api) => api.delete_trust(trust_id, delete_forwarder).await,
        }
    }

    async fn update_selective_auth(&self, trust_id: &str, selective_auth: SelectiveAuth) -> Result<(), WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.update_selective_auth(trust_id, selective_auth).await,
            Self::OtherAccount(api) => api.update_selective_auth(trust_id, selective_auth).await,
        }
    }

    async fn set_conditional_forwarder(
        &self,
        directory_id: &str,
        remote_domain: &str,
        addresses: &[String],
        exists: bool,
    ) -> Result<(), WorkflowError> {
        match self {
            Self::ThisAccount(api) => api.set_conditional_forwarder(directory_id, remote_domain, addresses, exists).await,
            Self::OtherAccount(api) => api.set_conditional_forwarder(directory_id, remote_domain, addresses, exists).await,
        }
    }
}

/// The directory's IP routes: how its controllers reach addresses outside RFC 1918.
pub trait IpRoutes {
    /// ListIpRoutes (all pages): the IPv4 CIDRs of the routes that carry traffic (not being removed, not failed).
    fn ip_routes(&self, directory_id: &str) -> impl Future<Output = Result<Vec<String>, WorkflowError>>;
    /// AddIpRoutes; a route that exists already counts as added.
    fn add_ip_routes(&self, directory_id: &str, cidrs: &[String], description: &str) -> impl Future<Output = Result<(), WorkflowError>>;
}

/// EC2's view of a directory's network, for the pre-flight.
pub trait NetworkReader {
    /// The VPC's IPv4 blocks, the security group's rules, and each subnet's network ACL and route
    /// table (the main one where the subnet has none of its own): every page of each Describe call.
    fn network_snapshot(&self, vpc: &DirectoryVpc, security_group_id: &str)
        -> impl Future<Output = Result<NetworkSnapshot, WorkflowError>>;
}

/// Tags on a directory: where the health check keeps what it last saw.
pub trait DirectoryTags {
    /// ListTagsForResource (all pages).
    fn tags(&self, directory_id: &str) -> impl Future<Output = Result<BTreeMap<String, String>, WorkflowError>>;
    /// AddTagsToResource: sets these tags (others are left as they are).
    fn set_tags(&self, directory_id: &str, tags: &BTreeMap<String, String>) -> impl Future<Output = Result<(), WorkflowError>>;
    /// RemoveTagsFromResource.
    fn remove_tags(&self, directory_id: &str, keys: &[String]) -> impl Future<Output = Result<(), WorkflowError>>;
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

/// The two Step Functions reads the status needs.
pub trait ExecutionReader {
    /// DescribeExecution; `None` if there is no such execution.
    fn describe(&self, execution_arn: &str) -> impl Future<Output = Result<Option<ExecutionSummary>, WorkflowError>>;
    /// Every event of GetExecutionHistory, oldest first (all pages).
    fn history(&self, execution_arn: &str) -> impl Future<Output = Result<Vec<HistoryRecord>, WorkflowError>>;
}

/// What answering a waiting Task did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskAnswer {
    /// The Task took the answer.
    Answered,
    /// The Task no longer waits for this token (it timed out, was answered already, or its
    /// execution ended): `TaskTimedOut`, `TaskDoesNotExist` or `InvalidToken`.
    NoLongerWaiting,
}

/// Answers a `.waitForTaskToken` Task.
pub trait TaskCallbacks {
    /// SendTaskSuccess with the Task's output (JSON text).
    fn succeed_task(&self, token: &TaskToken, output: &str) -> impl Future<Output = Result<TaskAnswer, WorkflowError>>;
    /// SendTaskFailure with an error name and its cause.
    fn fail_task(&self, token: &TaskToken, error: &str, cause: &str) -> impl Future<Output = Result<TaskAnswer, WorkflowError>>;
}

/// What StartExecution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// An execution runs under this ARN: a new one, or the open one with the same name and input.
    Started(String),
    /// An execution with this name exists (ended, or open with another input).
    AlreadyExists,
}

/// Why an execution could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Step Functions is throttling StartExecution: the caller should retry the same request later.
    #[error("Step Functions is throttling StartExecution")]
    Throttled,
    /// Any other failure; [`WorkflowError::Transient`] when it may pass.
    #[error(transparent)]
    Aws(#[from] WorkflowError),
}

/// The two Step Functions calls the entrance needs.
pub trait ExecutionStarter {
    /// StartExecution.
    fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> impl Future<Output = Result<StartOutcome, SubmitError>>;
    /// The input of an execution (DescribeExecution), `None` if there is none.
    fn input_of(&self, execution_arn: &str) -> impl Future<Output = Result<Option<String>, SubmitError>>;
}

/// Where an answer owed to CloudFormation is kept while the workflow runs, under the request id of
/// the execution that will earn it. It holds the response URL, a credential: kept encrypted, read
/// by the resource's function only, and forgotten once answered.
pub trait PendingAnswers {
    /// Keeps `answer` for `request_id` (CreateSecret). Keeping the same answer again is not an error.
    fn keep(&self, request_id: &str, answer: &PendingAnswer) -> impl Future<Output = Result<(), WorkflowError>>;
    /// The answer owed for `request_id`, if one is (GetSecretValue).
    fn owed(&self, request_id: &str) -> impl Future<Output = Result<Option<PendingAnswer>, WorkflowError>>;
    /// Forgets it, once answered (DeleteSecret without recovery).
    fn forget(&self, request_id: &str) -> impl Future<Output = Result<(), WorkflowError>>;
}
