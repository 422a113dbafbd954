//! The validation step: decides whether a trust request may go ahead, and what the workflow does next.
//!
//! It checks the request's static rules, then the directory (exists, `MicrosoftAD`, `Active`,
//! managed from this Region), the secret (exists: DescribeSecret only, the value is never read),
//! the conditional forwarder, the IP routes public forwarder addresses need, the network pre-flight
//! (security group, network ACLs, route tables), and the trusts the directory already has for the domain.

use serde_json::Value;
use trustflow_aws::network::judge_network;
use trustflow_aws::ports::{
    paired_directory, DirectoryReader, IpRoutes, NetworkReader, OtherAccounts, PairedDirectory, RoleError, SecretPresence, SecretStore,
};
use trustflow_domain::domain::{normalize_domain, DirectoryInfo, TrustInfo, TrustState};
use trustflow_domain::error::{Violation, WorkflowError};
use trustflow_domain::handoff::WorkflowPlan;
use trustflow_domain::network::{Finding, Ipv4Cidr};
use trustflow_domain::plan::{changes_for, complementary, decide, decide_pair, with_changes, Change, PairedSide, Plan, PlanAction};
use trustflow_domain::preflight::{blocking_violations, remote_networks};
use trustflow_domain::removal::{parse_removal_request, plan_removal, removal_in, with_paired_side, RemovalPlan};
use trustflow_domain::request::PreflightMode;
use trustflow_domain::request::{parse_request, ExistingTrustPolicy, TrustRequest};
use trustflow_domain::time::{self, OffsetDateTime};

/// Configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The Region this function runs in: trusts are managed only in a directory's primary Region.
    pub region: String,
    /// How long a trust may stay in creation/verification before the workflow gives up.
    pub deadline_seconds: u64,
    /// The roles in other accounts a request's `remoteRoleArn` may name (`AllowedRemoteRoleArns`);
    /// empty: pairs stay within this account.
    pub allowed_remote_roles: Vec<String>,
}

/// Default for `TRUST_DEADLINE_SECONDS`: two hours.
pub const DEFAULT_DEADLINE_SECONDS: u64 = 2 * 60 * 60;

/// The AWS side of a request's validation: this account's clients, and the other accounts a pair
/// may reach.
#[derive(Debug)]
pub struct Aws<'a, D, N, S, A> {
    /// Directory Service.
    pub directory: &'a D,
    /// EC2, for the network pre-flight.
    pub network: &'a N,
    /// Secrets Manager (metadata only).
    pub secrets: &'a S,
    /// Directory Service in other accounts (a pair's `remoteRoleArn`).
    pub accounts: &'a A,
}

// By hand: derived, they would ask the clients themselves to be Copy.
impl<D, N, S, A> Clone for Aws<'_, D, N, S, A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D, N, S, A> Copy for Aws<'_, D, N, S, A> {}

/// Validates the request in `input` (an EventBridge event or the bare request) and plans the workflow.
pub async fn plan_request<D, N, S, A>(
    input: &Value,
    settings: &Settings,
    aws: Aws<'_, D, N, S, A>,
    now: OffsetDateTime,
) -> Result<Plan, WorkflowError>
where
    D: DirectoryReader + IpRoutes,
    N: NetworkReader,
    S: SecretStore,
    A: OtherAccounts,
{
    let Aws { directory: directory_api, network, secrets, accounts } = aws;
    let mut request = parse_request(input)?;
    let directory = existing_directory(&request.directory_id, settings, directory_api).await?;
    let mut violations = directory_violations(&request.directory_id, &request.remote_domain_name, &directory, &settings.region);
    let pair = match request.remote_directory_id.clone() {
        Some(remote_id) => match other_account(request.remote_role_arn.as_deref(), settings, directory_api, accounts).await? {
            Ok(other) => pair_with(&mut request, &directory, &remote_id, settings, &other, &mut violations).await?,
            Err(violation) => {
                violations.push(violation);
                None
            }
        },
        None => None,
    };
    // The domain's forwarder, once the directory is one that has forwarders to ask about.
    let directory_fit = violations.is_empty();
    let forwarder = match directory_fit {
        true => directory_api.conditional_forwarder(&request.directory_id, &request.remote_domain_name).await?,
        false => None,
    };
    violations.extend(secret_violation(&request, secrets.secret_presence(&request.trust_password.secret_id).await?));
    let relies_on_forwarder = request.conditional_forwarder_ip_addrs.is_empty() && request.conditional_forwarder_ipv6_addrs.is_empty();
    if relies_on_forwarder && forwarder.is_none() && directory_fit {
        violations.push(Violation::without_value(
            "conditionalForwarderIpAddrs",
            format!(
                "is required: {} has no conditional forwarder for {}, so list 1 to 4 of that domain's DNS server addresses (or their IPv6 addresses in conditionalForwarderIpv6Addrs)",
                request.directory_id, request.remote_domain_name
            ),
        ));
    }
    let ip_routes = match directory_fit {
        true => missing_ip_routes(&request, directory_api, &mut violations).await?,
        false => Vec::new(),
    };
    let preflight_findings = match directory_fit {
        true => network_preflight(&request, &directory, forwarder.as_deref(), settings, network, &mut violations).await?,
        false => Vec::new(),
    };
    if !violations.is_empty() {
        return Err(WorkflowError::ValidationFailed(violations));
    }

    let trusts = directory_api.list_trusts(&request.directory_id).await?;
    // A pair is never replaced in place, so its request is decided as if replacing were allowed:
    // a side that differs or failed comes out as Replace, which `decide_pair` refuses with what a
    // pair needs (remove it, request it again) rather than advising `onExistingTrust: replace`.
    let (action, existing) = match pair.is_some() {
        true => decide(&TrustRequest { on_existing_trust: ExistingTrustPolicy::Replace, ..request.clone() }, &trusts)?,
        false => decide(&request, &trusts)?,
    };
    let changes = existing.as_ref().map(|trust| changes_for(&request, trust, forwarder.as_deref())).unwrap_or_default();
    let (action, changes, paired_side) = match pair {
        None => {
            let (action, changes) = with_changes(action, existing.as_ref(), &request, changes)?;
            (action, changes, None)
        }
        Some((side, other_existing)) => {
            let (action, changes, side) = pair_in_place(&request, action, existing.as_ref(), changes, side, other_existing)?;
            (action, changes, Some(side))
        }
    };
    let deadline = now + time::Duration::seconds(i64::try_from(settings.deadline_seconds).unwrap_or(i64::MAX / 2));
    let existing_id = existing.as_ref().map(|t| t.trust_id.clone());
    use trustflow_domain::plan::PlanAction::*;
    Ok(Plan {
        trust_id: matches!(action, Adopt | AlreadyInPlace | Update).then(|| existing_id.clone()).flatten(),
        replaces_trust_id: matches!(action, Replace).then_some(existing_id).flatten(),
        existing_trust: existing,
        changes,
        ip_routes,
        preflight_findings,
        request,
        directory,
        action,
        deadline,
        paired_side,
    })
}

/// What a pair request does about the trusts the two directories have for each other: a new pair
/// when neither has one; when both have, the pair changed in place or followed as it is
/// ([`decide_pair`]); half a pair is refused (remove it first), as nothing adopts or replaces one side.
fn pair_in_place(
    request: &TrustRequest,
    action: PlanAction,
    existing: Option<&TrustInfo>,
    changes: Vec<Change>,
    mut side: PairedSide,
    other_existing: Option<TrustInfo>,
) -> Result<(PlanAction, Vec<Change>, PairedSide), WorkflowError> {
    let remote_id = side.directory.directory_id.clone();
    match (existing, other_existing) {
        (None, None) => Ok((action, changes, side)),
        (Some(this_side), Some(other_side)) => {
            let (action, changes, other_changes) = decide_pair(request, action, this_side, changes, &other_side)?;
            side.trust_id = Some(other_side.trust_id);
            side.changes = other_changes;
            Ok((action, changes, side))
        }
        (None, Some(other_side)) => Err(WorkflowError::invalid(Violation::new(
            "remoteDirectoryId",
            format!(
                "already has a trust for {} ({}, {}, {}) and {} has none for {}: remove it first (a removal with remoteDirectoryId removes whichever side exists); a pair is created whole or not at all",
                normalize_domain(&other_side.remote_domain_name),
                other_side.trust_id,
                other_side.trust_direction.as_api_str(),
                other_side.state,
                request.directory_id,
                request.remote_domain_name
            ),
            remote_id,
        ))),
        (Some(this_side), None) => Err(WorkflowError::invalid(Violation::new(
            "directoryId",
            format!(
                "already has a trust for {} ({}, {}) and {remote_id} has none for this directory's domain: remove it first (a removal with remoteDirectoryId removes whichever side exists); a pair is created whole or not at all",
                request.remote_domain_name, this_side.trust_id, this_side.state
            ),
            request.directory_id.clone(),
        ))),
    }
}

/// The account of a pair's other directory: this one, or the one the request's `remoteRoleArn`
/// opens. A role the deployment does not allow is refused before anything is asked of AWS; one
/// STS will not let trustflow assume is refused with AWS's reason.
async fn other_account<'a, D, A: OtherAccounts>(
    role_arn: Option<&str>,
    settings: &Settings,
    directory_api: &'a D,
    accounts: &A,
) -> Result<Result<PairedDirectory<'a, D, A::Directory>, Violation>, WorkflowError> {
    if let Some(role_arn) = role_arn {
        if !settings.allowed_remote_roles.iter().any(|allowed| allowed == role_arn) {
            let allowed = match settings.allowed_remote_roles.as_slice() {
                [] => "this deployment allows none (its AllowedRemoteRoleArns parameter is empty)".to_owned(),
                roles => format!("this deployment allows {}", roles.join(", ")),
            };
            return Ok(Err(Violation::new("remoteRoleArn", format!("must be a role this deployment may assume: {allowed}"), role_arn)));
        }
    }
    match paired_directory(directory_api, accounts, role_arn).await {
        Ok(other) => Ok(Ok(other)),
        Err(RoleError::Refused(why)) => Ok(Err(Violation::new(
            "remoteRoleArn",
            format!(
                "must be a role trustflow can assume, and {why}: its trust policy must let this deployment's functions in with the deployment's external id (RemoteRoleExternalId)"
            ),
            role_arn.unwrap_or_default(),
        ))),
        Err(RoleError::Aws(error)) => Err(error),
    }
}

/// The other side of a trust between two AWS Managed Microsoft AD directories (`remoteDirectoryId`):
/// the remote directory must be one this workflow can manage, its domain the request's
/// `remoteDomainName`, and its NetBIOS name another than this directory's. Returns the other side
/// and the trust the remote directory already has for this directory's domain, if any (whether the
/// pair is new, exists whole, or is half there is decided with this side's trust). The request's
/// forwarders default to the remote directory's DNS addresses; the remote side forwards to this
/// directory's.
async fn pair_with<O: DirectoryReader>(
    request: &mut TrustRequest,
    directory: &DirectoryInfo,
    remote_id: &str,
    settings: &Settings,
    other_directory_api: &O,
    violations: &mut Vec<Violation>,
) -> Result<Option<(PairedSide, Option<TrustInfo>)>, WorkflowError> {
    let Some(remote) = other_directory_api.describe_directory(remote_id).await? else {
        violations.push(Violation::new("remoteDirectoryId", not_visible_rule(settings, request.remote_role_arn.as_deref()), remote_id));
        return Ok(None);
    };
    let before = violations.len();
    for violation in directory_violations(remote_id, &normalize_domain(&directory.name), &remote, &settings.region) {
        violations.push(Violation { field: violation.field.replace("directoryId", "remoteDirectoryId"), ..violation });
    }
    if normalize_domain(&remote.name) != request.remote_domain_name {
        violations.push(Violation::new(
            "remoteDomainName",
            format!("must be the domain of remoteDirectoryId {remote_id}, {}", normalize_domain(&remote.name)),
            request.remote_domain_name.clone(),
        ));
    }
    let same_netbios = matches!((&directory.short_name, &remote.short_name), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
    if same_netbios {
        violations.push(Violation::new(
            "remoteDirectoryId",
            format!(
                "must have another NetBIOS name than {} (both are {})",
                request.directory_id,
                directory.short_name.as_deref().unwrap_or_default()
            ),
            remote_id,
        ));
    }
    if violations.len() > before {
        return Ok(None);
    }
    let local_domain = normalize_domain(&directory.name);
    let existing = other_directory_api
        .list_trusts(remote_id)
        .await?
        .into_iter()
        .find(|trust| normalize_domain(&trust.remote_domain_name) == local_domain && trust.state != TrustState::Deleted);
    if request.conditional_forwarder_ip_addrs.is_empty() && request.conditional_forwarder_ipv6_addrs.is_empty() {
        request.conditional_forwarder_ip_addrs = remote.dns_ip_addrs.iter().filter_map(|addr| addr.parse().ok()).collect();
    }
    let side = PairedSide {
        trust_direction: complementary(request.trust_direction),
        conditional_forwarder_ip_addrs: directory.dns_ip_addrs.clone(),
        directory: remote,
        trust_id: None,
        changes: Vec::new(),
    };
    Ok(Some((side, existing)))
}

/// The rule a `remoteDirectoryId` that cannot be seen breaks.
fn not_visible_rule(settings: &Settings, role_arn: Option<&str>) -> String {
    match role_arn {
        Some(role_arn) => format!("must name an existing directory in {} of the account {role_arn} belongs to", settings.region),
        None => format!("must name an existing directory in {} visible to trustflow", settings.region),
    }
}

/// Runs the network pre-flight the request asks for. With `enforce`, each finding that stops the
/// trust becomes a violation (the request is rejected with all of them, before anything is
/// created); with `warn` every finding goes into the plan. Findings the check cannot judge (a rule
/// naming a security group or prefix list) never block: they go into the plan either way.
async fn network_preflight<D: NetworkReader>(
    request: &TrustRequest,
    directory: &DirectoryInfo,
    forwarder: Option<&[String]>,
    settings: &Settings,
    network: &D,
    violations: &mut Vec<Violation>,
) -> Result<Vec<Finding>, WorkflowError> {
    if request.preflight == PreflightMode::Off {
        return Ok(Vec::new());
    }
    let remote_networks = remote_networks(request, forwarder);
    let Some(findings) = judge_network(network, directory, &remote_networks, &settings.region).await? else {
        return Ok(Vec::new());
    };
    if request.preflight == PreflightMode::Enforce {
        violations.extend(blocking_violations(&findings));
        return Ok(findings.into_iter().filter(|finding| !finding.blocks()).collect());
    }
    Ok(findings)
}

/// The IP routes the directory needs for the request's forwarder addresses outside RFC 1918.
/// Its controllers reach such addresses only through IP routes ("Add IP address routes when using
/// public IP addresses", AWS Directory Service Administration Guide). Without the requester's
/// consent (`addIpRoutes`) each address without a route is a violation; with it, the routes to add.
async fn missing_ip_routes<D: IpRoutes>(
    request: &TrustRequest,
    directory_api: &D,
    violations: &mut Vec<Violation>,
) -> Result<Vec<String>, WorkflowError> {
    let public = request.public_forwarder_addrs();
    if public.is_empty() {
        return Ok(Vec::new());
    }
    let routes = directory_api.ip_routes(&request.directory_id).await?;
    let hosts: Vec<Ipv4Cidr> = public.iter().copied().map(Ipv4Cidr::host).collect();
    let missing = trustflow_domain::plan::missing_ip_routes(&hosts, &routes);
    if request.add_ip_routes || missing.is_empty() {
        return Ok(missing);
    }
    for (index, addr) in request.conditional_forwarder_ip_addrs.iter().enumerate() {
        if missing.contains(&format!("{addr}/32")) {
            violations.push(Violation::new(
                format!("conditionalForwarderIpAddrs[{index}]"),
                format!(
                    "is outside RFC 1918 and {} has no IP route to it, so its domain controllers cannot reach it: send \"addIpRoutes\": true to have trustflow add {addr}/32 (AddIpRoutes), or add the route to the directory yourself",
                    request.directory_id
                ),
                addr.to_string(),
            ));
        }
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests;

/// Validates what started the workflow and plans it: a removal (`{"removal": ...}`) or a
/// creation (or change) request, bare or in its EventBridge event.
pub async fn plan_workflow<D, N, S, A>(
    input: &Value,
    settings: &Settings,
    aws: Aws<'_, D, N, S, A>,
    now: OffsetDateTime,
) -> Result<WorkflowPlan, WorkflowError>
where
    D: DirectoryReader + IpRoutes,
    N: NetworkReader,
    S: SecretStore,
    A: OtherAccounts,
{
    match removal_in(input) {
        Some(removal) => {
            plan_removal_request(removal, settings, aws.directory, aws.accounts).await.map(|plan| WorkflowPlan::Removal(Box::new(plan)))
        }
        None => plan_request(input, settings, aws, now).await.map(|plan| WorkflowPlan::Trust(Box::new(plan))),
    }
}

/// Validates a removal request and plans it: the trust it removes, or that there is none.
pub async fn plan_removal_request<D: DirectoryReader, A: OtherAccounts>(
    request: &Value,
    settings: &Settings,
    directory_api: &D,
    accounts: &A,
) -> Result<RemovalPlan, WorkflowError> {
    let removal = parse_removal_request(request)?;
    let directory = existing_directory(&removal.directory_id, settings, directory_api).await?;
    let violations = directory_violations(&removal.directory_id, &removal.remote_domain_name, &directory, &settings.region);
    if !violations.is_empty() {
        return Err(WorkflowError::ValidationFailed(violations));
    }
    let trusts = directory_api.list_trusts(&removal.directory_id).await?;
    let Some(remote_id) = removal.remote_directory_id.clone() else { return Ok(plan_removal(removal, directory, &trusts)) };
    // A pair: the other directory's side goes too (through its account's role, if it has one).
    let other_api = match other_account(removal.remote_role_arn.as_deref(), settings, directory_api, accounts).await? {
        Ok(other_api) => other_api,
        Err(violation) => return Err(WorkflowError::invalid(violation)),
    };
    let Some(other) = other_api.describe_directory(&remote_id).await? else {
        return Err(WorkflowError::invalid(Violation::new(
            "remoteDirectoryId",
            not_visible_rule(settings, removal.remote_role_arn.as_deref()),
            remote_id,
        )));
    };
    if normalize_domain(&other.name) != removal.remote_domain_name {
        return Err(WorkflowError::invalid(Violation::new(
            "remoteDomainName",
            format!("must be the domain of remoteDirectoryId {remote_id}, {}", normalize_domain(&other.name)),
            removal.remote_domain_name.clone(),
        )));
    }
    let other_trusts = other_api.list_trusts(&remote_id).await?;
    Ok(with_paired_side(plan_removal(removal, directory, &trusts), other, &other_trusts))
}

/// The directory a request names, or the violation that it names none this workflow can see.
async fn existing_directory<D: DirectoryReader>(
    directory_id: &str,
    settings: &Settings,
    directory_api: &D,
) -> Result<DirectoryInfo, WorkflowError> {
    directory_api.describe_directory(directory_id).await?.ok_or_else(|| {
        WorkflowError::invalid(Violation::new(
            "directoryId",
            format!("must name an existing directory in {} visible to trustflow", settings.region),
            directory_id,
        ))
    })
}

/// What makes a directory unfit for a trust with the remote domain: not AWS Managed Microsoft AD,
/// not Active, managed from another Region, or the remote domain itself.
pub fn directory_violations(directory_id: &str, remote_domain_name: &str, directory: &DirectoryInfo, region: &str) -> Vec<Violation> {
    let mut violations = Vec::new();
    if directory.directory_type != "MicrosoftAD" {
        violations.push(Violation::new(
            "directoryId",
            format!("must be an AWS Managed Microsoft AD directory (type MicrosoftAD); this one is {}", directory.directory_type),
            directory_id,
        ));
    }
    if directory.stage != "Active" {
        violations.push(Violation::new(
            "directoryId",
            format!("must be Active to take a trust; this directory is {}", directory.stage),
            directory_id,
        ));
    }
    if let Some(primary) = directory.primary_region.as_deref().filter(|primary| *primary != region) {
        violations.push(Violation::new(
            "directoryId",
            format!(
                "trusts of a replicated directory are managed only in its primary Region {primary}, but this workflow runs in {region}: deploy and request there"
            ),
            directory_id,
        ));
    }
    if normalize_domain(&directory.name) == remote_domain_name {
        violations.push(Violation::new(
            "remoteDomainName",
            format!("must be the on-premises domain, not the AWS directory's own domain {}", directory.name),
            remote_domain_name,
        ));
    }
    violations
}

/// Why the request's secret cannot be used, if it cannot.
pub fn secret_violation(request: &TrustRequest, presence: SecretPresence) -> Option<Violation> {
    let secret_id = &request.trust_password.secret_id;
    match presence {
        SecretPresence::Available => None,
        SecretPresence::Missing => Some(Violation::new(
            "trustPassword.secretId",
            "must name an existing Secrets Manager secret that trustflow may read",
            secret_id,
        )),
        SecretPresence::Deleted => {
            Some(Violation::new("trustPassword.secretId", "must not name a secret that is scheduled for deletion", secret_id))
        }
    }
}
