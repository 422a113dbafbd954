//! Directory Service over the AWS SDK.

use aws_sdk_directory::error::ProvideErrorMetadata;
use trustflow_domain::domain::{normalize_domain, DirectoryInfo, SelectiveAuth, TrustDirection, TrustInfo, TrustState, TrustType};
use trustflow_domain::secret::TrustPassword;
use trustflow_domain::WorkflowError;

use std::collections::BTreeMap;

use crate::ports::{CreateOutcome, DirectoryReader, DirectoryTags, IpRoutes, NewTrust, TrustCreator, TrustMaintainer};
use crate::sdk_error::{classify_sdk_error, error_code, plain};

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
        Ok(output.directory_descriptions().iter().find(|d| d.directory_id() == Some(directory_id)).map(directory_info))
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
            for trust in output.trusts() {
                trusts.push(trust_info(trust)?);
            }
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(trusts),
            }
        }
    }

    async fn describe_trust(&self, directory_id: &str, trust_id: &str) -> Result<Option<TrustInfo>, WorkflowError> {
        match self.0.describe_trusts().directory_id(directory_id).trust_ids(trust_id).send().await {
            Ok(output) => output.trusts().iter().find(|t| t.trust_id() == Some(trust_id)).map(trust_info).transpose(),
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => Ok(None),
            Err(error) => Err(classify_sdk_error("DescribeTrusts", error, plain)),
        }
    }

    async fn conditional_forwarder(&self, directory_id: &str, remote_domain: &str) -> Result<Option<Vec<String>>, WorkflowError> {
        match self.0.describe_conditional_forwarders().directory_id(directory_id).remote_domain_names(remote_domain).send().await {
            Ok(output) => Ok(output
                .conditional_forwarders()
                .iter()
                .find(|f| f.remote_domain_name().map(normalize_domain).as_deref() == Some(remote_domain))
                .map(|f| f.dns_ip_addrs().iter().chain(f.dns_ipv6_addrs()).cloned().collect())),
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => Ok(None),
            Err(error) => Err(classify_sdk_error("DescribeConditionalForwarders", error, plain)),
        }
    }
}

impl SdkDirectory {
    /// Every directory in the Region (all pages of DescribeDirectories), for listings.
    pub async fn list_directories(&self) -> Result<Vec<DirectoryInfo>, WorkflowError> {
        let mut directories = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .0
                .describe_directories()
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify_sdk_error("DescribeDirectories", error, plain))?;
            directories.extend(output.directory_descriptions().iter().map(directory_info));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(directories),
            }
        }
    }
}

fn directory_info(d: &aws_sdk_directory::types::DirectoryDescription) -> DirectoryInfo {
    DirectoryInfo {
        directory_id: d.directory_id().unwrap_or_default().to_owned(),
        name: d.name().unwrap_or_default().to_owned(),
        short_name: d.short_name().map(str::to_owned),
        directory_type: d.r#type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
        stage: d.stage().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        primary_region: d.regions_info().and_then(|r| r.primary_region()).map(str::to_owned),
        dns_ip_addrs: d.dns_ip_addrs().to_vec(),
        vpc: d.vpc_settings().and_then(|vpc| {
            Some(trustflow_domain::domain::DirectoryVpc {
                vpc_id: vpc.vpc_id()?.to_owned(),
                subnet_ids: vpc.subnet_ids().to_vec(),
                security_group_id: vpc.security_group_id().map(str::to_owned),
            })
        }),
    }
}

impl DirectoryTags for SdkDirectory {
    async fn tags(&self, directory_id: &str) -> Result<BTreeMap<String, String>, WorkflowError> {
        let mut tags = BTreeMap::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .0
                .list_tags_for_resource()
                .resource_id(directory_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify_sdk_error("ListTagsForResource", error, plain))?;
            tags.extend(output.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(tags),
            }
        }
    }

    async fn set_tags(&self, directory_id: &str, tags: &BTreeMap<String, String>) -> Result<(), WorkflowError> {
        if tags.is_empty() {
            return Ok(());
        }
        let mut call = self.0.add_tags_to_resource().resource_id(directory_id);
        for (key, value) in tags {
            let tag = aws_sdk_directory::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| WorkflowError::Internal(format!("tag {key:?}: {error}")))?;
            call = call.tags(tag);
        }
        call.send().await.map(|_| ()).map_err(|error| classify_sdk_error("AddTagsToResource", error, plain))
    }

    async fn remove_tags(&self, directory_id: &str, keys: &[String]) -> Result<(), WorkflowError> {
        if keys.is_empty() {
            return Ok(());
        }
        let call = self.0.remove_tags_from_resource().resource_id(directory_id).set_tag_keys(Some(keys.to_vec()));
        call.send().await.map(|_| ()).map_err(|error| classify_sdk_error("RemoveTagsFromResource", error, plain))
    }
}

/// A trust as DescribeTrusts reports it, its strings turned into the domain's types. A type or
/// direction the API documents no value for fails the call, naming the trust and the value,
/// rather than being taken for the requested one; an unknown state is kept (`TrustState::Unknown`).
fn trust_info(trust: &aws_sdk_directory::types::Trust) -> Result<TrustInfo, WorkflowError> {
    let trust_id = trust.trust_id().unwrap_or_default();
    let unknown = |what: &str, value: &str| {
        WorkflowError::Internal(format!("DescribeTrusts returned trust {trust_id} with a {what} trustflow does not know: {value:?}"))
    };
    // Forest is the API's default type, and what a trust created without one has.
    let trust_type = match trust.trust_type() {
        None => TrustType::Forest,
        Some(t) => TrustType::parse(t.as_str()).ok_or_else(|| unknown("trust type", t.as_str()))?,
    };
    let direction = trust.trust_direction().map(|d| d.as_str()).unwrap_or_default();
    Ok(TrustInfo {
        trust_id: trust_id.to_owned(),
        remote_domain_name: trust.remote_domain_name().unwrap_or_default().to_owned(),
        trust_type,
        trust_direction: TrustDirection::parse(direction).ok_or_else(|| unknown("direction", direction))?,
        state: TrustState::from_api(trust.trust_state().map(|s| s.as_str()).unwrap_or_default()),
        // Disabled is the API's default, and what a trust created without the setting has.
        selective_auth: match trust.selective_auth().map(|s| s.as_str()) {
            None => SelectiveAuth::Disabled,
            Some(value) => SelectiveAuth::parse(value).ok_or_else(|| unknown("selective authentication", value))?,
        },
        state_reason: trust.trust_state_reason().unwrap_or_default().to_owned(),
        state_last_updated: trust.state_last_updated_date_time().and_then(|at| {
            let nanos = i128::from(at.secs()) * 1_000_000_000 + i128::from(at.subsec_nanos());
            trustflow_domain::time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
        }),
    })
}

impl TrustCreator for SdkDirectory {
    async fn create_trust(&self, trust: &NewTrust, password: &TrustPassword) -> Result<CreateOutcome, WorkflowError> {
        use aws_sdk_directory::types::{SelectiveAuth, TrustDirection, TrustType};
        let forwarders = (!trust.conditional_forwarder_ip_addrs.is_empty()).then(|| trust.conditional_forwarder_ip_addrs.clone());
        let ipv6_forwarders = (!trust.conditional_forwarder_ipv6_addrs.is_empty()).then(|| trust.conditional_forwarder_ipv6_addrs.clone());
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
            .set_conditional_forwarder_ipv6_addrs(ipv6_forwarders)
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

    async fn update_selective_auth(&self, trust_id: &str, selective_auth: SelectiveAuth) -> Result<(), WorkflowError> {
        let setting = aws_sdk_directory::types::SelectiveAuth::from(selective_auth.as_api_str());
        match self.0.update_trust().trust_id(trust_id).selective_auth(setting).send().await {
            Ok(_) => Ok(()),
            Err(error) if error_code(&error) == Some("EntityDoesNotExistException") => {
                Err(WorkflowError::TrustNotFound(format!("trust {trust_id} no longer exists")))
            }
            Err(error) if error_code(&error) == Some("InvalidParameterException") => Err(WorkflowError::TrustRejected(format!(
                "UpdateTrust: {}",
                error.as_service_error().and_then(|e| e.message()).unwrap_or_default()
            ))),
            Err(error) => Err(classify_sdk_error("UpdateTrust", error, plain)),
        }
    }

    async fn set_conditional_forwarder(
        &self,
        directory_id: &str,
        remote_domain: &str,
        addresses: &[String],
        exists: bool,
    ) -> Result<(), WorkflowError> {
        // The forwarder keeps IPv4 (DnsIpAddrs) and IPv6 (DnsIpv6Addrs) addresses apart.
        let (ipv6, ipv4): (Vec<String>, Vec<String>) = addresses.iter().cloned().partition(|address| address.contains(':'));
        let ipv4 = (!ipv4.is_empty()).then_some(ipv4);
        let ipv6 = (!ipv6.is_empty()).then_some(ipv6);
        if exists {
            let call = self.0.update_conditional_forwarder().directory_id(directory_id).remote_domain_name(remote_domain);
            call.set_dns_ip_addrs(ipv4)
                .set_dns_ipv6_addrs(ipv6)
                .send()
                .await
                .map(|_| ())
                .map_err(|error| classify_sdk_error("UpdateConditionalForwarder", error, plain))
        } else {
            let call = self.0.create_conditional_forwarder().directory_id(directory_id).remote_domain_name(remote_domain);
            call.set_dns_ip_addrs(ipv4)
                .set_dns_ipv6_addrs(ipv6)
                .send()
                .await
                .map(|_| ())
                .map_err(|error| classify_sdk_error("CreateConditionalForwarder", error, plain))
        }
    }
}

impl IpRoutes for SdkDirectory {
    async fn ip_routes(&self, directory_id: &str) -> Result<Vec<String>, WorkflowError> {
        let mut routes = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .0
                .list_ip_routes()
                .directory_id(directory_id)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| classify_sdk_error("ListIpRoutes", error, plain))?;
            // A route being removed, or whose addition failed, does not carry traffic.
            let carrying = |status: Option<&aws_sdk_directory::types::IpRouteStatusMsg>| {
                !matches!(status.map(|s| s.as_str()), Some("Removing" | "Removed" | "AddFailed" | "RemoveFailed"))
            };
            routes.extend(
                output
                    .ip_routes_info()
                    .iter()
                    .filter(|route| carrying(route.ip_route_status_msg()))
                    .filter_map(|route| route.cidr_ip())
                    .map(str::to_owned),
            );
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(routes),
            }
        }
    }

    async fn add_ip_routes(&self, directory_id: &str, cidrs: &[String], description: &str) -> Result<(), WorkflowError> {
        use aws_sdk_directory::types::IpRoute;
        let routes = cidrs.iter().map(|cidr| IpRoute::builder().cidr_ip(cidr).description(description).build()).collect();
        // The directory's security group is left as it is: the network pre-flight says what it lacks.
        match self.0.add_ip_routes().directory_id(directory_id).set_ip_routes(Some(routes)).send().await {
            Ok(_) => Ok(()),
            // A retry, or a route someone added meanwhile: what was asked for is there.
            Err(error) if error_code(&error) == Some("EntityAlreadyExistsException") => Ok(()),
            Err(error) if error_code(&error) == Some("IpRouteLimitExceededException") => Err(WorkflowError::TrustRejected(format!(
                "AddIpRoutes: {}",
                error.as_service_error().and_then(|e| e.message()).unwrap_or("the directory has as many IP routes as it may")
            ))),
            Err(error) => Err(classify_sdk_error("AddIpRoutes", error, plain)),
        }
    }
}

impl SdkDirectory {
    /// A Directory Service client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_directory::Client::new(config))
    }
}
