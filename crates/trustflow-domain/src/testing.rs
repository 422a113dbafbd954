//! Test support (feature `testing`): sample values and a [`Plan`] builder, so tests state only
//! what matters to them.

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::domain::DirectoryInfo;
use crate::plan::{Plan, PlanAction};
use crate::request::parse_request;

/// A healthy AWS Managed Microsoft AD directory, `aws.example.com`, for unit tests.
pub fn sample_directory(directory_id: &str) -> DirectoryInfo {
    DirectoryInfo {
        directory_id: directory_id.to_owned(),
        name: "aws.example.com".to_owned(),
        short_name: Some("AWSEX".to_owned()),
        directory_type: "MicrosoftAD".to_owned(),
        stage: "Active".to_owned(),
        primary_region: Some("us-east-1".to_owned()),
        dns_ip_addrs: vec!["10.0.0.10".to_owned(), "10.0.0.11".to_owned()],
        vpc: Some(crate::domain::DirectoryVpc {
            vpc_id: "vpc-0a1b2c3d".to_owned(),
            subnet_ids: vec!["subnet-0a".to_owned(), "subnet-0b".to_owned()],
            security_group_id: Some("sg-0d1r".to_owned()),
        }),
    }
}

/// Builds a [`Plan`]: by default a valid Two-Way Forest request `REQ-1` for `corp.example.com`
/// with a forwarder and the secret `s`, on [`sample_directory`]`("d-1234567890")`, action
/// `Create`, no trust yet, deadline in 2099.
#[derive(Debug, Clone)]
pub struct PlanBuilder {
    request: Value,
    directory: DirectoryInfo,
    action: PlanAction,
    trust_id: Option<String>,
    deadline: OffsetDateTime,
    paired_side: Option<crate::plan::PairedSide>,
}

impl Default for PlanBuilder {
    fn default() -> Self {
        Self {
            request: json!({
                "requestId": "REQ-1", "directoryId": "d-1234567890", "remoteDomainName": "corp.example.com",
                "trustDirection": "Two-Way", "conditionalForwarderIpAddrs": ["172.16.10.153"], "trustPassword": {"secretId": "s"}
            }),
            directory: sample_directory("d-1234567890"),
            action: PlanAction::Create,
            trust_id: None,
            deadline: time::macros::datetime!(2099-01-01 00:00 UTC),
            paired_side: None,
        }
    }
}

impl PlanBuilder {
    /// The directory the plan targets (the request's `directoryId` follows it).
    pub fn directory(mut self, directory: DirectoryInfo) -> Self {
        self.request["directoryId"] = json!(directory.directory_id);
        self.directory = directory;
        self
    }

    /// Sets one field of the request, as a requester would send it.
    pub fn request_field(mut self, field: &str, value: Value) -> Self {
        self.request[field] = value;
        self
    }

    /// What the workflow does.
    pub fn action(mut self, action: PlanAction) -> Self {
        self.action = action;
        self
    }

    /// The trust the workflow follows.
    pub fn trust_id(mut self, trust_id: impl Into<String>) -> Self {
        self.trust_id = Some(trust_id.into());
        self
    }

    /// When a trust still being created times out.
    pub fn deadline(mut self, deadline: OffsetDateTime) -> Self {
        self.deadline = deadline;
        self
    }

    /// The plan; panics if the request breaks a rule (a test's own mistake).
    pub fn build(self) -> Plan {
        let request = parse_request(&self.request).unwrap_or_else(|error| panic!("the test's request is invalid: {error}"));
        Plan {
            request,
            directory: self.directory,
            action: self.action,
            trust_id: self.trust_id,
            replaces_trust_id: None,
            existing_trust: None,
            changes: Vec::new(),
            ip_routes: Vec::new(),
            preflight_findings: Vec::new(),
            deadline: self.deadline,
            paired_side: self.paired_side,
        }
    }

    /// The other side of a pair of AWS directories.
    pub fn paired_side(mut self, side: crate::plan::PairedSide) -> Self {
        self.paired_side = Some(side);
        self
    }
}
