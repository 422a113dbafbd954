//! In-memory stand-ins for the AWS traits, for unit tests of the handlers.
//! Integration tests use the SDK adapters against the emulator instead.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use trustflow_domain::domain::{
    normalize_domain, DirectoryInfo, DirectoryVpc, SelectiveAuth, TrustDirection, TrustInfo, TrustState, TrustType,
};
use trustflow_domain::network::NetworkSnapshot;
use trustflow_domain::ready::TaskToken;
use trustflow_domain::request::SecretLocation;
use trustflow_domain::secret::{password_from_secret_string, TrustPassword};
use trustflow_domain::WorkflowError;

use crate::ports::{
    CreateOutcome, DirectoryReader, DirectoryTags, IpRoutes, NetworkReader, NewTrust, Notifier, OtherAccounts, RoleError, SecretPresence,
    SecretStore, TaskAnswer, TaskCallbacks, TrustCreator, TrustMaintainer,
};

/// One published notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Topic ARN.
    pub topic_arn: String,
    /// Subject line.
    pub subject: String,
    /// Body.
    pub message: String,
}

/// One put event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutEvent {
    /// Bus name.
    pub bus: String,
    /// Source.
    pub source: String,
    /// detail-type.
    pub detail_type: String,
    /// detail, JSON text.
    pub detail: String,
}

/// A whole fake AWS account: directories, trusts, forwarders, secrets, and what was published.
#[derive(Debug, Default)]
pub struct FakeAws {
    /// Directories by id.
    pub directories: RefCell<Vec<DirectoryInfo>>,
    /// Trusts with the directory they belong to.
    pub trusts: RefCell<Vec<(String, TrustInfo)>>,
    /// (directory id, normalised domain) pairs with a conditional forwarder.
    pub forwarders: RefCell<Vec<(String, String)>>,
    /// The addresses of those forwarders, where known.
    pub forwarder_addresses: RefCell<HashMap<(String, String), Vec<String>>>,
    /// Secret strings by id; `None` marks a secret scheduled for deletion.
    pub secrets: RefCell<HashMap<String, Option<String>>>,
    /// Operations called, in order (`CreateTrust`, `VerifyTrust t-...`, ...).
    pub calls: RefCell<Vec<String>>,
    /// Operations that fail with a `Transient` error, with how many times.
    pub failing: RefCell<HashMap<String, u32>>,
    /// What CreateTrust received as the password, to check it was the secret's.
    pub passwords_seen: RefCell<Vec<String>>,
    /// When set, CreateTrust refuses every trust with this message (a `TrustRejected`).
    pub refuse_create: RefCell<Option<String>>,
    /// SNS messages.
    pub published: RefCell<Vec<Published>>,
    /// EventBridge events.
    pub events: RefCell<Vec<PutEvent>>,
    /// Tags by directory.
    pub tags: RefCell<HashMap<String, BTreeMap<String, String>>>,
    /// IP routes (CIDRs) by directory.
    pub ip_routes: RefCell<HashMap<String, Vec<String>>>,
    /// The network EC2 describes, by VPC id; a VPC without one is described wide open.
    pub networks: RefCell<HashMap<String, NetworkSnapshot>>,
    /// Waiting Tasks' tokens answered: (token, `success` or the error name, output or cause).
    pub task_answers: RefCell<Vec<(String, String, String)>>,
    /// When set, every answered Task no longer waits (it timed out, or was answered already).
    pub tasks_gone: RefCell<bool>,
    next_trust: RefCell<u32>,
}

impl FakeAws {
    /// Records a call and fails it if a fault is queued for the operation.
    fn call(&self, operation: &str, detail: &str) -> Result<(), WorkflowError> {
        self.calls.borrow_mut().push(if detail.is_empty() { operation.to_owned() } else { format!("{operation} {detail}") });
        let mut failing = self.failing.borrow_mut();
        if let Some(left) = failing.get_mut(operation) {
            if *left > 0 {
                *left -= 1;
                return Err(WorkflowError::Transient(format!("{operation} failed: ServiceException: injected")));
            }
        }
        Ok(())
    }

    /// Adds a trust in the given state; returns its id.
    pub fn add_trust(&self, directory_id: &str, domain: &str, direction: &str, state: &str, reason: &str) -> String {
        let mut next = self.next_trust.borrow_mut();
        *next += 1;
        let trust_id = format!("t-{:010}", *next);
        self.trusts.borrow_mut().push((
            directory_id.to_owned(),
            TrustInfo {
                trust_id: trust_id.clone(),
                remote_domain_name: domain.to_owned(),
                trust_type: TrustType::Forest,
                trust_direction: TrustDirection::parse(direction).unwrap_or_else(|| panic!("not a trust direction: {direction:?}")),
                state: TrustState::from_api(state),
                state_reason: reason.to_owned(),
                selective_auth: SelectiveAuth::Disabled,
                state_last_updated: None,
            },
        ));
        trust_id
    }

    /// Sets a trust's state and reason.
    pub fn set_state(&self, trust_id: &str, state: &str, reason: &str) {
        for (_, trust) in self.trusts.borrow_mut().iter_mut().filter(|(_, t)| t.trust_id == trust_id) {
            trust.state = TrustState::from_api(state);
            trust.state_reason = reason.to_owned();
        }
    }

    /// Sets when a trust's state last changed (`StateLastUpdatedDateTime`).
    pub fn set_state_updated_at(&self, trust_id: &str, at: trustflow_domain::time::OffsetDateTime) {
        for (_, trust) in self.trusts.borrow_mut().iter_mut().filter(|(_, t)| t.trust_id == trust_id) {
            trust.state_last_updated = Some(at);
        }
    }

    /// The state of a trust, if it exists.
    pub fn state_of(&self, trust_id: &str) -> Option<String> {
        self.trusts.borrow().iter().find(|(_, t)| t.trust_id == trust_id).map(|(_, t)| t.state.to_string())
    }

    /// How many times an operation was called.
    pub fn count(&self, operation: &str) -> usize {
        self.calls.borrow().iter().filter(|c| c.split(' ').next() == Some(operation)).count()
    }
}

impl DirectoryReader for FakeAws {
    async fn describe_directory(&self, directory_id: &str) -> Result<Option<DirectoryInfo>, WorkflowError> {
        self.call("DescribeDirectories", directory_id)?;
        Ok(self.directories.borrow().iter().find(|d| d.directory_id == directory_id).cloned())
    }

    async fn list_trusts(&self, directory_id: &str) -> Result<Vec<TrustInfo>, WorkflowError> {
        self.call("DescribeTrusts", directory_id)?;
        Ok(self.trusts.borrow().iter().filter(|(d, _)| d == directory_id).map(|(_, t)| t.clone()).collect())
    }

    async fn describe_trust(&self, directory_id: &str, trust_id: &str) -> Result<Option<TrustInfo>, WorkflowError> {
        self.call("DescribeTrusts", trust_id)?;
        Ok(self.trusts.borrow().iter().find(|(d, t)| d == directory_id && t.trust_id == trust_id).map(|(_, t)| t.clone()))
    }

    async fn conditional_forwarder(&self, directory_id: &str, remote_domain: &str) -> Result<Option<Vec<String>>, WorkflowError> {
        self.call("DescribeConditionalForwarders", remote_domain)?;
        let key = (directory_id.to_owned(), remote_domain.to_owned());
        Ok(self.forwarders.borrow().contains(&key).then(|| self.forwarder_addresses.borrow().get(&key).cloned().unwrap_or_default()))
    }
}

impl NetworkReader for FakeAws {
    async fn network_snapshot(&self, vpc: &DirectoryVpc, security_group_id: &str) -> Result<NetworkSnapshot, WorkflowError> {
        self.call("DescribeSecurityGroups", security_group_id)?;
        let known = self.networks.borrow().get(&vpc.vpc_id).cloned();
        Ok(known.unwrap_or_else(|| open_network(vpc, security_group_id)))
    }
}

/// A network that lets everything through: all traffic both ways in the security group and the
/// network ACLs, and a default route to a transit gateway.
pub fn open_network(vpc: &DirectoryVpc, security_group_id: &str) -> NetworkSnapshot {
    use trustflow_domain::network::{
        AclEntry, NetworkAcl, Route, RouteDestination, RouteTable, RouteTarget, RulePeer, RuleProtocol, SecurityGroup, SecurityGroupRule,
        SubnetNetwork,
    };
    let anywhere = "0.0.0.0/0".parse().unwrap_or_else(|_| unreachable!("a valid block"));
    let all = || SecurityGroupRule { protocol: RuleProtocol::All, ports: None, peer: RulePeer::Cidr(anywhere) };
    let entry = |egress| AclEntry { rule_number: 100, egress, protocol: RuleProtocol::All, ports: None, cidr: Some(anywhere), allow: true };
    NetworkSnapshot {
        vpc_id: vpc.vpc_id.clone(),
        vpc_cidrs: vec!["10.0.0.0/16".parse().unwrap_or_else(|_| unreachable!("a valid block"))],
        security_group: SecurityGroup { id: security_group_id.to_owned(), ingress: vec![all()], egress: vec![all()] },
        subnets: vpc
            .subnet_ids
            .iter()
            .map(|subnet_id| SubnetNetwork {
                subnet_id: subnet_id.clone(),
                network_acl: NetworkAcl { id: "acl-open".to_owned(), entries: vec![entry(false), entry(true)] },
                route_table: RouteTable {
                    id: "rtb-open".to_owned(),
                    routes: vec![Route {
                        destination: RouteDestination::Cidr(anywhere),
                        target: RouteTarget::TransitGateway("tgw-open".to_owned()),
                        active: true,
                    }],
                },
            })
            .collect(),
    }
}

impl IpRoutes for FakeAws {
    async fn ip_routes(&self, directory_id: &str) -> Result<Vec<String>, WorkflowError> {
        self.call("ListIpRoutes", directory_id)?;
        Ok(self.ip_routes.borrow().get(directory_id).cloned().unwrap_or_default())
    }

    async fn add_ip_routes(&self, directory_id: &str, cidrs: &[String], _description: &str) -> Result<(), WorkflowError> {
        self.call("AddIpRoutes", &cidrs.join(","))?;
        let mut routes = self.ip_routes.borrow_mut();
        let routes = routes.entry(directory_id.to_owned()).or_default();
        routes.extend(cidrs.iter().filter(|cidr| !routes.contains(cidr)).cloned().collect::<Vec<_>>());
        Ok(())
    }
}

impl TrustCreator for FakeAws {
    async fn create_trust(&self, trust: &NewTrust, password: &TrustPassword) -> Result<CreateOutcome, WorkflowError> {
        self.call("CreateTrust", &trust.remote_domain_name)?;
        self.passwords_seen.borrow_mut().push(password.expose().to_owned());
        if let Some(message) = self.refuse_create.borrow().clone() {
            return Err(WorkflowError::TrustRejected(format!("InvalidParameterException: {message}")));
        }
        let domain = normalize_domain(&trust.remote_domain_name);
        let exists =
            self.trusts.borrow().iter().any(|(d, t)| {
                d == &trust.directory_id && normalize_domain(&t.remote_domain_name) == domain && t.state != TrustState::Deleted
            });
        if exists {
            return Ok(CreateOutcome::AlreadyExists);
        }
        let addresses: Vec<String> =
            trust.conditional_forwarder_ip_addrs.iter().chain(&trust.conditional_forwarder_ipv6_addrs).cloned().collect();
        if !addresses.is_empty() {
            let key = (trust.directory_id.clone(), domain.clone());
            self.forwarders.borrow_mut().push(key.clone());
            self.forwarder_addresses.borrow_mut().insert(key, addresses);
        }
        let id = self.add_trust(&trust.directory_id, &domain, trust.trust_direction, "Creating", "");
        Ok(CreateOutcome::Created(id))
    }
}

impl TrustMaintainer for FakeAws {
    async fn verify_trust(&self, trust_id: &str) -> Result<(), WorkflowError> {
        self.call("VerifyTrust", trust_id)?;
        if self.state_of(trust_id).is_none() {
            return Err(WorkflowError::TrustNotFound(format!("trust {trust_id} no longer exists")));
        }
        self.set_state(trust_id, "Verifying", "");
        Ok(())
    }

    async fn delete_trust(&self, trust_id: &str, delete_forwarder: bool) -> Result<(), WorkflowError> {
        self.call("DeleteTrust", trust_id)?;
        let removed: Vec<(String, TrustInfo)> = self.trusts.borrow().iter().filter(|(_, t)| t.trust_id == trust_id).cloned().collect();
        self.trusts.borrow_mut().retain(|(_, t)| t.trust_id != trust_id);
        if delete_forwarder {
            for (directory, trust) in removed {
                let domain = normalize_domain(&trust.remote_domain_name);
                self.forwarders.borrow_mut().retain(|(d, f)| !(d == &directory && f == &domain));
            }
        }
        Ok(())
    }

    async fn update_selective_auth(&self, trust_id: &str, selective_auth: SelectiveAuth) -> Result<(), WorkflowError> {
        self.call("UpdateTrust", trust_id)?;
        let mut trusts = self.trusts.borrow_mut();
        let Some((_, trust)) = trusts.iter_mut().find(|(_, t)| t.trust_id == trust_id) else {
            return Err(WorkflowError::TrustNotFound(format!("trust {trust_id} no longer exists")));
        };
        trust.selective_auth = selective_auth;
        trust.state = TrustState::Updating;
        Ok(())
    }

    async fn set_conditional_forwarder(
        &self,
        directory_id: &str,
        remote_domain: &str,
        addresses: &[String],
        exists: bool,
    ) -> Result<(), WorkflowError> {
        let key = (directory_id.to_owned(), remote_domain.to_owned());
        let known = self.forwarders.borrow().contains(&key);
        self.call(if exists { "UpdateConditionalForwarder" } else { "CreateConditionalForwarder" }, remote_domain)?;
        if exists != known {
            // What AWS answers: EntityDoesNotExist / EntityAlreadyExists.
            return Err(WorkflowError::Internal(format!("conditional forwarder for {remote_domain}: exists is {known}")));
        }
        if !known {
            self.forwarders.borrow_mut().push(key.clone());
        }
        self.forwarder_addresses.borrow_mut().insert(key, addresses.to_vec());
        Ok(())
    }
}

impl DirectoryTags for FakeAws {
    async fn tags(&self, directory_id: &str) -> Result<BTreeMap<String, String>, WorkflowError> {
        self.call("ListTagsForResource", directory_id)?;
        Ok(self.tags.borrow().get(directory_id).cloned().unwrap_or_default())
    }

    async fn set_tags(&self, directory_id: &str, tags: &BTreeMap<String, String>) -> Result<(), WorkflowError> {
        self.call("AddTagsToResource", directory_id)?;
        self.tags.borrow_mut().entry(directory_id.to_owned()).or_default().extend(tags.clone());
        Ok(())
    }

    async fn remove_tags(&self, directory_id: &str, keys: &[String]) -> Result<(), WorkflowError> {
        self.call("RemoveTagsFromResource", directory_id)?;
        if let Some(tags) = self.tags.borrow_mut().get_mut(directory_id) {
            tags.retain(|key, _| !keys.contains(key));
        }
        Ok(())
    }
}

impl SecretStore for FakeAws {
    async fn secret_presence(&self, secret_id: &str) -> Result<SecretPresence, WorkflowError> {
        self.call("DescribeSecret", secret_id)?;
        Ok(match self.secrets.borrow().get(secret_id) {
            None => SecretPresence::Missing,
            Some(None) => SecretPresence::Deleted,
            Some(Some(_)) => SecretPresence::Available,
        })
    }

    async fn read_password(&self, location: &SecretLocation) -> Result<TrustPassword, WorkflowError> {
        self.call("GetSecretValue", &location.secret_id)?;
        let text = self.secrets.borrow().get(&location.secret_id).cloned().flatten().ok_or_else(|| {
            WorkflowError::SecretUnavailable(format!("trustPassword.secretId: the secret {:?} cannot be read", location.secret_id))
        })?;
        password_from_secret_string(&text, location)
    }
}

impl Notifier for FakeAws {
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), WorkflowError> {
        self.call("Publish", topic_arn)?;
        self.published.borrow_mut().push(Published {
            topic_arn: topic_arn.to_owned(),
            subject: subject.to_owned(),
            message: message.to_owned(),
        });
        Ok(())
    }

    async fn put_event(&self, bus: &str, source: &str, detail_type: &str, detail: &str) -> Result<(), WorkflowError> {
        self.call("PutEvents", detail_type)?;
        self.events.borrow_mut().push(PutEvent {
            bus: bus.to_owned(),
            source: source.to_owned(),
            detail_type: detail_type.to_owned(),
            detail: detail.to_owned(),
        });
        Ok(())
    }
}

pub use trustflow_domain::testing::sample_directory;

impl TaskCallbacks for FakeAws {
    async fn succeed_task(&self, token: &TaskToken, output: &str) -> Result<TaskAnswer, WorkflowError> {
        self.call("SendTaskSuccess", "")?;
        self.answer(token, "success", output)
    }

    async fn fail_task(&self, token: &TaskToken, error: &str, cause: &str) -> Result<TaskAnswer, WorkflowError> {
        self.call("SendTaskFailure", "")?;
        self.answer(token, error, cause)
    }
}

impl FakeAws {
    fn answer(&self, token: &TaskToken, kind: &str, body: &str) -> Result<TaskAnswer, WorkflowError> {
        if *self.tasks_gone.borrow() {
            return Ok(TaskAnswer::NoLongerWaiting);
        }
        self.task_answers.borrow_mut().push((token.expose().to_owned(), kind.to_owned(), body.to_owned()));
        Ok(TaskAnswer::Answered)
    }
}

/// Other accounts, each a [`FakeAws`] of its own, reached through a role there. A role that is not
/// listed is refused, as STS refuses a role whose trust policy does not let the caller in.
#[derive(Debug, Default)]
pub struct FakeOtherAccounts {
    /// The account each role opens.
    pub accounts: RefCell<HashMap<String, Rc<FakeAws>>>,
    /// Every role assumed, in order.
    pub assumed: RefCell<Vec<String>>,
}

impl FakeOtherAccounts {
    /// Other accounts where `role_arn` opens `account`.
    pub fn with(role_arn: &str, account: Rc<FakeAws>) -> Self {
        let accounts = Self::default();
        accounts.accounts.borrow_mut().insert(role_arn.to_owned(), account);
        accounts
    }
}

impl OtherAccounts for FakeOtherAccounts {
    type Directory = Rc<FakeAws>;

    async fn directory_through(&self, role_arn: &str) -> Result<Rc<FakeAws>, RoleError> {
        self.assumed.borrow_mut().push(role_arn.to_owned());
        self.accounts.borrow().get(role_arn).cloned().ok_or_else(|| {
            RoleError::Refused(format!("sts:AssumeRole of {role_arn} was refused: AccessDenied: not authorized to perform: sts:AssumeRole"))
        })
    }
}

impl DirectoryReader for Rc<FakeAws> {
    async fn describe_directory(&self, directory_id: &str) -> Result<Option<DirectoryInfo>, WorkflowError> {
        FakeAws::describe_directory(self, directory_id).await
    }

    async fn list_trusts(&self, directory_id: &str) -> Result<Vec<TrustInfo>, WorkflowError> {
        FakeAws::list_trusts(self, directory_id).await
    }

    async fn describe_trust(&self, directory_id: &str, trust_id: &str) -> Result<Option<TrustInfo>, WorkflowError> {
        FakeAws::describe_trust(self, directory_id, trust_id).await
    }

    async fn conditional_forwarder(&self, directory_id: &str, remote_domain: &str) -> Result<Option<Vec<String>>, WorkflowError> {
        FakeAws::conditional_forwarder(self, directory_id, remote_domain).await
    }
}

impl TrustCreator for Rc<FakeAws> {
    async fn create_trust(&self, trust: &NewTrust, password: &TrustPassword) -> Result<CreateOutcome, WorkflowError> {
        FakeAws::create_trust(self, trust, password).await
    }
}

impl TrustMaintainer for Rc<FakeAws> {
    async fn verify_trust(&self, trust_id: &str) -> Result<(), WorkflowError> {
        FakeAws::verify_trust(self, trust_id).await
    }

    async fn delete_trust(&self, trust_id: &str, delete_forwarder: bool) -> Result<(), WorkflowError> {
        FakeAws::delete_trust(self, trust_id, delete_forwarder).await
    }

    async fn update_selective_auth(&self, trust_id: &str, selective_auth: SelectiveAuth) -> Result<(), WorkflowError> {
        FakeAws::update_selective_auth(self, trust_id, selective_auth).await
    }

    async fn set_conditional_forwarder(
        &self,
        directory_id: &str,
        remote_domain: &str,
        addresses: &[String],
        exists: bool,
    ) -> Result<(), WorkflowError> {
        FakeAws::set_conditional_forwarder(self, directory_id, remote_domain, addresses, exists).await
    }
}
