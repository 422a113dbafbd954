//! The commands. Kept out of `main` so the argument rules are unit-tested.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::api::{Answer, TrustApi};
use serde_json::{json, Map, Value};
use trustflow_aws::ports::DirectoryReader;
use trustflow_aws::{read_status, SdkDirectory, SdkExecutions, StatusError};
use trustflow_domain::domain::{DirectoryInfo, TrustInfo};
use trustflow_domain::remedy::remedy_for;
use trustflow_domain::removal::{parse_removal_request, REMOVAL_INPUT_KEY, TRUST_REMOVAL_REQUESTED_DETAIL_TYPE};
use trustflow_domain::request::{check_request_id, execution_name, parse_request, TRUST_REQUESTED_DETAIL_TYPE};
use trustflow_domain::status::{execution_arn, HistoryRecord, RequestStatus};
use trustflow_domain::WorkflowError;

/// Why trustctl stops early, and its exit code.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// What to tell the user.
    pub message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure { code: 2, message: format!("{}\n\n{USAGE}", message.into()) }
}

fn aws(operation: &str, error: impl std::fmt::Display) -> Failure {
    Failure { code: 3, message: format!("{operation} failed: {error}") }
}

const USAGE: &str = "usage:
  trustctl request (--file PATH | --directory-id ID --remote-domain FQDN --direction DIR --secret-id SECRET
                   [--json-key KEY] [--forwarder IP]... [--trust-type Forest|External] [--selective-auth]
                   [--request-id ID] [--notify-topic ARN] [--replace] [--forwarder-ipv6 IP]... [--add-ip-routes]
                   [--remote-cidr CIDR]... [--preflight enforce|warn|off]) [--via sfn|events|api]
                   [--state-machine-arn ARN] [--bus NAME] [--api-url URL]
  trustctl check (the options of request): a dry run; every check, the network pre-flight included,
                 and nothing created or changed (the answer comes as the request's notification and status)
  trustctl remove (--file PATH | --directory-id ID --remote-domain FQDN [--delete-forwarder]
                  [--request-id ID] [--notify-topic ARN]) [--via sfn|events|api]
                  [--state-machine-arn ARN] [--bus NAME] [--api-url URL]
  trustctl list [--directory-id ID] [--output text|json]
  trustctl status REQUEST_ID [--via sfn|api] [--state-machine-arn ARN] [--api-url URL]
  trustctl watch REQUEST_ID [--state-machine-arn ARN] [--timeout SECONDS]
  trustctl ready REQUEST_ID [--via api|events] [--api-url URL] [--bus NAME]: the on-premises side is set up;
                 the workflow waiting for it verifies the trust now instead of at its next scheduled re-verification";

/// Parsed options: repeated flags keep every value, in order.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    positional: Vec<String>,
    flags: BTreeMap<String, Vec<String>>,
}

const SWITCHES: &[&str] = &["--selective-auth", "--replace", "--delete-forwarder", "--add-ip-routes"];
const VALUED: &[&str] = &[
    "--file",
    "--directory-id",
    "--remote-domain",
    "--direction",
    "--secret-id",
    "--json-key",
    "--forwarder",
    "--forwarder-ipv6",
    "--remote-cidr",
    "--preflight",
    "--trust-type",
    "--request-id",
    "--notify-topic",
    "--via",
    "--state-machine-arn",
    "--bus",
    "--timeout",
    "--api-url",
    "--output",
];

/// Splits arguments into positionals and known flags; unknown flags are an error, not ignored.
pub fn parse_options(args: &[String]) -> Result<Options, Failure> {
    let mut options = Options::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if SWITCHES.contains(&arg.as_str()) {
            options.flags.entry(arg.clone()).or_default().push("true".to_owned());
        } else if VALUED.contains(&arg.as_str()) {
            let value = iter.next().ok_or_else(|| usage(format!("{arg} needs a value")))?;
            options.flags.entry(arg.clone()).or_default().push(value.clone());
        } else if arg.starts_with("--") {
            return Err(usage(format!("unknown option {arg}")));
        } else {
            options.positional.push(arg.clone());
        }
    }
    Ok(options)
}

impl Options {
    fn one(&self, flag: &str) -> Option<&str> {
        self.flags.get(flag).and_then(|values| values.last()).map(String::as_str)
    }

    fn all(&self, flag: &str) -> &[String] {
        self.flags.get(flag).map(Vec::as_slice).unwrap_or_default()
    }

    fn setting(&self, flag: &str, env: &str) -> Option<String> {
        self.one(flag).map(str::to_owned).or_else(|| std::env::var(env).ok().filter(|v| !v.is_empty()))
    }
}

/// The JSON body in the file `--file` names (not yet validated).
fn body_from_file(path: &str) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {path}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure { code: 2, message: format!("{path} is not valid JSON: {e}") })
}

/// A request id for a request given without `--request-id`: the time to the nanosecond, the
/// process id and a count of calls, so two runs never share one (a process id alone is reused, and the entrance would
/// then refuse the second, different request as a conflict).
fn generated_request_id() -> String {
    // A counter too, for a clock too coarse to tell two calls of one process apart.
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("cli-{nanos:x}-{}-{call}", std::process::id())
}

/// The request from `--file` or from flags, as JSON (not yet validated).
pub fn request_from(options: &Options) -> Result<Value, Failure> {
    if let Some(path) = options.one("--file") {
        return body_from_file(path);
    }
    let mut request = Map::new();
    let id = options.one("--request-id").map(str::to_owned).unwrap_or_else(generated_request_id);
    request.insert("requestId".into(), json!(id));
    for (flag, field) in [
        ("--directory-id", "directoryId"),
        ("--remote-domain", "remoteDomainName"),
        ("--direction", "trustDirection"),
        ("--trust-type", "trustType"),
    ] {
        if let Some(value) = options.one(flag) {
            request.insert(field.into(), json!(value));
        }
    }
    if !options.all("--forwarder").is_empty() {
        request.insert("conditionalForwarderIpAddrs".into(), json!(options.all("--forwarder")));
    }
    if let Some(secret) = options.one("--secret-id") {
        let mut location = json!({"secretId": secret});
        if let Some(key) = options.one("--json-key") {
            location["jsonKey"] = json!(key);
        }
        request.insert("trustPassword".into(), location);
    }
    if options.one("--selective-auth").is_some() {
        request.insert("selectiveAuth".into(), json!("Enabled"));
    }
    if let Some(topic) = options.one("--notify-topic") {
        request.insert("notify".into(), json!({"topicArn": topic}));
    }
    if options.one("--replace").is_some() {
        request.insert("onExistingTrust".into(), json!("replace"));
    }
    if !options.all("--forwarder-ipv6").is_empty() {
        request.insert("conditionalForwarderIpv6Addrs".into(), json!(options.all("--forwarder-ipv6")));
    }
    if options.one("--add-ip-routes").is_some() {
        request.insert("addIpRoutes".into(), json!(true));
    }
    if !options.all("--remote-cidr").is_empty() {
        request.insert("remoteDomainCidrs".into(), json!(options.all("--remote-cidr")));
    }
    if let Some(mode) = options.one("--preflight") {
        request.insert("preflight".into(), json!(mode));
    }
    Ok(Value::Object(request))
}

/// The removal request from `--file` or from flags, as JSON (not yet validated).
pub fn removal_from(options: &Options) -> Result<Value, Failure> {
    if let Some(path) = options.one("--file") {
        return body_from_file(path);
    }
    let mut removal = Map::new();
    let id = options.one("--request-id").map(str::to_owned).unwrap_or_else(generated_request_id);
    removal.insert("requestId".into(), json!(id));
    for (flag, field) in [("--directory-id", "directoryId"), ("--remote-domain", "remoteDomainName")] {
        if let Some(value) = options.one(flag) {
            removal.insert(field.into(), json!(value));
        }
    }
    if options.one("--delete-forwarder").is_some() {
        removal.insert("deleteConditionalForwarder".into(), json!(true));
    }
    if let Some(topic) = options.one("--notify-topic") {
        removal.insert("notify".into(), json!({"topicArn": topic}));
    }
    Ok(Value::Object(removal))
}

/// Runs the command line; `Ok` carries the exit code.
pub async fn run(args: &[String]) -> Result<ExitCode, Failure> {
    let Some((command, rest)) = args.split_first() else { return Err(usage("no command given")) };
    let options = parse_options(rest)?;
    match command.as_str() {
        "request" => submit(&options, Kind::Request).await,
        "check" => submit(&options, Kind::Check).await,
        "remove" => submit(&options, Kind::Removal).await,
        "status" => status(&options).await,
        "list" => list(&options).await,
        "watch" => watch(&options).await,
        "ready" => ready(&options).await,
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(usage(format!("unknown command {other:?}"))),
    }
}

async fn config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

fn state_machine(options: &Options) -> Result<String, Failure> {
    options
        .setting("--state-machine-arn", "TRUSTFLOW_STATE_MACHINE_ARN")
        .ok_or_else(|| usage("--state-machine-arn (or TRUSTFLOW_STATE_MACHINE_ARN) is required"))
}

fn api(options: &Options, config: aws_config::SdkConfig) -> Result<TrustApi, Failure> {
    let url = options
        .setting("--api-url", "TRUSTFLOW_API_URL")
        .ok_or_else(|| usage("--api-url (or TRUSTFLOW_API_URL: the stack's TrustApiUrl output) is required with --via api"))?;
    TrustApi::new(&url, config).map_err(|e| Failure { code: 2, message: e.to_string() })
}

/// The `message` (and `errors`) of an API error body, or the body itself.
fn api_message(answer: &Answer) -> String {
    match serde_json::from_str::<Value>(&answer.body) {
        Ok(body) => {
            let message = body.get("message").and_then(Value::as_str).unwrap_or(&answer.body).to_owned();
            match body.get("errors").and_then(Value::as_str) {
                Some(errors) => format!("{message}: {errors}"),
                None => message,
            }
        }
        Err(_) => answer.body.clone(),
    }
}

fn request_id(options: &Options) -> Result<&str, Failure> {
    match options.positional.as_slice() {
        [id] => Ok(id),
        _ => Err(usage("give exactly one REQUEST_ID")),
    }
}

/// What `trustctl` sends: a trust request, or a removal request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    /// A trust request sent as a dry run.
    Check,
    Removal,
}

impl Kind {
    /// The body from the options, and its request id once it passes the same rules as the
    /// validation Lambda, checked before anything is sent.
    fn checked_body(self, options: &Options) -> Result<(Value, String), Failure> {
        let (raw, checked) = match self {
            Kind::Request | Kind::Check => {
                let mut raw = request_from(options)?;
                if self == Kind::Check {
                    // A dry run whatever the file says: `check` never creates anything.
                    if let Some(object) = raw.as_object_mut() {
                        object.insert("dryRun".into(), json!(true));
                    }
                }
                let checked = parse_request(&raw).map(|r| r.request_id);
                (raw, checked)
            }
            Kind::Removal => {
                let raw = removal_from(options)?;
                let checked = parse_removal_request(&raw).map(|r| r.request_id);
                (raw, checked)
            }
        };
        let id = checked.map_err(|error| match error {
            WorkflowError::ValidationFailed(violations) => Failure {
                code: 2,
                message: format!(
                    "the request was not sent:\n{}",
                    violations.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n")
                ),
            },
            other => Failure { code: 2, message: format!("the request was not sent: {other}") },
        })?;
        Ok((raw, id))
    }

    /// The execution input the entrance would start for `body`.
    fn execution_input(self, body: &Value) -> Value {
        match self {
            Kind::Request | Kind::Check => body.clone(),
            Kind::Removal => json!({ REMOVAL_INPUT_KEY: body }),
        }
    }

    fn detail_type(self) -> &'static str {
        match self {
            Kind::Request | Kind::Check => TRUST_REQUESTED_DETAIL_TYPE,
            Kind::Removal => TRUST_REMOVAL_REQUESTED_DETAIL_TYPE,
        }
    }

    fn api_path(self) -> &'static str {
        match self {
            Kind::Request | Kind::Check => "POST /trust-requests",
            Kind::Removal => "POST /trust-removals",
        }
    }
}

async fn submit(options: &Options, kind: Kind) -> Result<ExitCode, Failure> {
    let (raw, request_id) = kind.checked_body(options)?;
    let config = config().await;
    match options.one("--via").unwrap_or("sfn") {
        "sfn" => {
            let arn = state_machine(options)?;
            let client = aws_sdk_sfn::Client::new(&config);
            let name = execution_name(&request_id);
            let input = kind.execution_input(&raw).to_string();
            match client.start_execution().state_machine_arn(&arn).name(&name).input(input).send().await {
                Ok(started) => println!("started {} for request {request_id}", started.execution_arn()),
                Err(error) if error.as_service_error().is_some_and(|e| e.is_execution_already_exists()) => {
                    println!("request {request_id} was already started: {}", execution_arn(&arn, &request_id));
                }
                Err(error) => return Err(aws("StartExecution", aws_sdk_sfn::error::DisplayErrorContext(error))),
            }
        }
        "events" => {
            let bus = put_event(options, &config, kind.detail_type(), &raw).await?;
            println!("sent request {request_id} to event bus {bus}");
        }
        "api" => {
            let client = api(options, config)?;
            let answer = match kind {
                Kind::Request | Kind::Check => client.start(&raw.to_string()).await,
                Kind::Removal => client.remove(&raw.to_string()).await,
            }
            .map_err(|e| aws(kind.api_path(), e))?;
            let body = serde_json::from_str::<Value>(&answer.body).unwrap_or(Value::Null);
            let arn = body.get("executionArn").and_then(Value::as_str).unwrap_or("?");
            match answer.status {
                202 if body.get("message").is_some() => println!("request {request_id} was already started: {arn}"),
                202 => println!("started {arn} for request {request_id}"),
                400 | 409 => return Err(Failure { code: 2, message: format!("the API refused the request: {}", api_message(&answer)) }),
                status => return Err(aws(kind.api_path(), format!("HTTP {status}: {}", api_message(&answer)))),
            }
        }
        other => return Err(usage(format!("--via must be sfn, events or api, not {other:?}"))),
    }
    Ok(ExitCode::SUCCESS)
}

/// One line of `trustctl list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ListedTrust {
    directory_id: String,
    directory_name: String,
    trust_id: String,
    remote_domain_name: String,
    trust_type: &'static str,
    trust_direction: &'static str,
    trust_state: String,
    trust_state_reason: String,
    /// The remedy's code for a trust that does not work (`access-denied`, ...).
    remedy: Option<String>,
}

fn listed(directory: &DirectoryInfo, trust: &TrustInfo) -> ListedTrust {
    let working = trustflow_domain::health::is_working(trust);
    ListedTrust {
        directory_id: directory.directory_id.clone(),
        directory_name: directory.name.clone(),
        trust_id: trust.trust_id.clone(),
        remote_domain_name: trust.remote_domain_name.clone(),
        trust_type: trust.trust_type.as_api_str(),
        trust_direction: trust.trust_direction.as_api_str(),
        trust_state: trust.state.to_string(),
        trust_state_reason: trust.state_reason.clone(),
        remedy: (!working && !trust.state_reason.is_empty())
            .then(|| remedy_for(&trust.state_reason, &directory.directory_id, &trust.remote_domain_name).code),
    }
}

/// `trustctl list`: every trust of a directory, or of every directory in the Region.
async fn list(options: &Options) -> Result<ExitCode, Failure> {
    let json_output = match options.one("--output").unwrap_or("text") {
        "text" => false,
        "json" => true,
        other => return Err(usage(format!("--output must be text or json, not {other:?}"))),
    };
    let api = SdkDirectory::new(&config().await);
    let directories = match options.one("--directory-id") {
        Some(id) => match api.describe_directory(id).await.map_err(|e| aws("DescribeDirectories", e))? {
            Some(directory) => vec![directory],
            None => return Err(Failure { code: 4, message: format!("no directory {id:?} in this Region") }),
        },
        None => api.list_directories().await.map_err(|e| aws("DescribeDirectories", e))?,
    };
    let mut rows = Vec::new();
    for directory in directories.iter().filter(|d| d.directory_type == "MicrosoftAD") {
        let trusts = api.list_trusts(&directory.directory_id).await.map_err(|e| aws("DescribeTrusts", e))?;
        rows.extend(trusts.iter().map(|trust| listed(directory, trust)));
    }
    if json_output {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else if rows.is_empty() {
        println!("no trusts");
    } else {
        for row in &rows {
            println!(
                "{}  {}  {}  {} {}  {}{}{}",
                row.directory_id,
                row.trust_id,
                row.remote_domain_name,
                row.trust_direction,
                row.trust_type,
                row.trust_state,
                if row.trust_state_reason.is_empty() { String::new() } else { format!("  ({})", row.trust_state_reason) },
                row.remedy.as_deref().map(|code| format!("  remedy: {code}")).unwrap_or_default(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn status_failure(id: &str, error: StatusError) -> Failure {
    match error {
        StatusError::NotFound => Failure { code: 4, message: format!("no trust request {id:?} was started on this state machine") },
        StatusError::Aws(error) => aws("reading the execution", error),
    }
}

fn print_status(status: &RequestStatus) {
    println!("request:     {}", status.request_id);
    println!("status:      {} (execution {})", status.status.label(), status.execution_status);
    if let Some(announcement) = status.announcement {
        println!("announced:   {}", announcement.detail_type());
    }
    if let Some(trust) = &status.trust_id {
        println!("trust:       {trust} ({})", status.trust_state.as_deref().unwrap_or("unknown state"));
    }
    if let Some(reason) = &status.trust_state_reason {
        println!("reason:      {reason}");
    }
    if let Some(cause) = &status.cause {
        println!("why:         {}: {}", cause.name, cause.message);
    }
    if let Some(remedy) = &status.remedy {
        println!("what to do:  {}", remedy.action);
    }
}

fn exit_for(status: &RequestStatus) -> ExitCode {
    if status.status.is_open() || status.status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn status(options: &Options) -> Result<ExitCode, Failure> {
    let id = request_id(options)?;
    match options.one("--via").unwrap_or("sfn") {
        "sfn" => {}
        "api" => return status_via_api(options, id).await,
        other => return Err(usage(format!("--via must be sfn or api for status, not {other:?}"))),
    }
    let machine = state_machine(options)?;
    let executions = SdkExecutions::new(&config().await);
    let (status, _) = read_status(&executions, &machine, id).await.map_err(|e| status_failure(id, e))?;
    print_status(&status);
    Ok(exit_for(&status))
}

/// The status as the API's `GET /trust-requests/{id}` answers it (what a portal sees).
async fn status_via_api(options: &Options, id: &str) -> Result<ExitCode, Failure> {
    let answer = api(options, config().await)?.status(id).await.map_err(|e| aws("GET /trust-requests", e))?;
    match answer.status {
        200 => {
            let status: RequestStatus = serde_json::from_str(&answer.body)
                .map_err(|e| aws("GET /trust-requests", format!("unexpected answer ({e}): {}", answer.body)))?;
            print_status(&status);
            Ok(exit_for(&status))
        }
        404 => Err(Failure { code: 4, message: format!("no trust request {id:?}: {}", api_message(&answer)) }),
        400 => Err(Failure { code: 2, message: api_message(&answer) }),
        status => Err(aws("GET /trust-requests", format!("HTTP {status}: {}", api_message(&answer)))),
    }
}

/// Puts one event from `trustctl` on the bus (`--bus`, `TRUSTFLOW_EVENT_BUS`, or `trustflow`);
/// returns the bus's name.
async fn put_event(options: &Options, config: &aws_config::SdkConfig, detail_type: &str, detail: &Value) -> Result<String, Failure> {
    let bus = options.setting("--bus", "TRUSTFLOW_EVENT_BUS").unwrap_or_else(|| "trustflow".to_owned());
    let client = trustflow_aws::aws_sdk_eventbridge::Client::new(config);
    let entry = trustflow_aws::aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(&bus)
        .source("trustctl")
        .detail_type(detail_type)
        .detail(detail.to_string())
        .build();
    let output = client
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| aws("PutEvents", trustflow_aws::aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
    if output.failed_entry_count() > 0 {
        return Err(aws("PutEvents", "the event was not accepted"));
    }
    Ok(bus)
}

/// `trustctl ready`: reports the remote side ready. Through the API the answer says what the
/// signal did (exit 0 when the workflow verifies now, 1 when the request is not waiting for the
/// remote side, 4 when there is no such request); through the bus it is sent and not answered.
async fn ready(options: &Options) -> Result<ExitCode, Failure> {
    let id = request_id(options)?;
    if let Some(rule) = check_request_id(id) {
        return Err(usage(format!("the request id is invalid: {}", trustflow_domain::error::Violation::new("REQUEST_ID", rule, id))));
    }
    let config = config().await;
    match options.one("--via").unwrap_or("api") {
        "api" => {
            let answer = api(options, config)?.remote_side_ready(id).await.map_err(|e| aws("POST /remote-side-ready", e))?;
            match answer.status {
                202 => {
                    println!("{}", api_message(&answer));
                    Ok(ExitCode::SUCCESS)
                }
                409 => {
                    println!("{}", api_message(&answer));
                    Ok(ExitCode::from(1))
                }
                404 => Err(Failure { code: 4, message: format!("no trust request {id:?}: {}", api_message(&answer)) }),
                400 => Err(Failure { code: 2, message: api_message(&answer) }),
                status => Err(aws("POST /remote-side-ready", format!("HTTP {status}: {}", api_message(&answer)))),
            }
        }
        "events" => {
            let bus = put_event(options, &config, "Trust Remote Side Ready", &json!({"requestId": id})).await?;
            println!("sent 'remote side ready' for request {id} to event bus {bus}: `trustctl status {id}` shows what follows");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(usage(format!("--via must be api or events for ready, not {other:?}"))),
    }
}

/// A line of progress for one history event, if it says something a person follows.
fn progress(record: &HistoryRecord) -> Option<String> {
    if let Some(state) = &record.entered_state {
        return Some(format!("-> {state}"));
    }
    if let Some((error, cause)) = &record.task_failure {
        let message = serde_json::from_str::<Value>(cause)
            .ok()
            .and_then(|c| c.get("errorMessage").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| cause.clone());
        let name = if error.is_empty() { "error" } else { error };
        return Some(format!("   {name}: {message}"));
    }
    match record.event_type.as_str() {
        "ExecutionSucceeded" => Some("== succeeded".to_owned()),
        "ExecutionFailed" => Some("== failed".to_owned()),
        "ExecutionTimedOut" => Some("== timed out".to_owned()),
        "ExecutionAborted" => Some("== aborted".to_owned()),
        _ => None,
    }
}

async fn watch(options: &Options) -> Result<ExitCode, Failure> {
    let id = request_id(options)?;
    let machine = state_machine(options)?;
    let limit = match options.one("--timeout") {
        None => Duration::from_secs(48 * 3600),
        Some(text) => Duration::from_secs(text.parse().map_err(|_| usage(format!("--timeout must be whole seconds, not {text:?}")))?),
    };
    let executions = SdkExecutions::new(&config().await);
    let started = Instant::now();
    let mut shown = 0;
    loop {
        let (status, history) = read_status(&executions, &machine, id).await.map_err(|e| status_failure(id, e))?;
        for record in history.iter().skip(shown) {
            if let Some(line) = progress(record) {
                println!("{:>7.1}s {line}", started.elapsed().as_secs_f32());
            }
        }
        shown = history.len();
        if status.execution_status != "RUNNING" {
            print_status(&status);
            return Ok(exit_for(&status));
        }
        if started.elapsed() > limit {
            return Err(Failure { code: 1, message: format!("request {id} still running after {}s", limit.as_secs()) });
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn builds_a_request_from_flags_that_passes_the_shared_rules() {
        let options = parse_options(&args(
            "--request-id R-1 --directory-id d-1234567890 --remote-domain corp.example.com --direction two-way --secret-id s --forwarder 10.0.0.1 --forwarder 10.0.0.2 --replace",
        ))
        .expect("parsed");
        let request = parse_request(&request_from(&options).expect("built")).expect("valid");
        assert_eq!(request.conditional_forwarder_ip_addrs.len(), 2);
        assert_eq!(request.on_existing_trust, trustflow_domain::request::ExistingTrustPolicy::Replace);
    }

    #[test]
    fn check_always_sends_a_dry_run_with_the_network_options() {
        let options = parse_options(&args(
            "--request-id R-2 --directory-id d-1234567890 --remote-domain corp.example.com --direction two-way --secret-id s --forwarder-ipv6 fd00::53 --remote-cidr 10.20.0.0/16 --preflight warn --add-ip-routes",
        ))
        .expect("parsed");
        let (raw, id) = Kind::Check.checked_body(&options).expect("valid");
        assert_eq!(id, "R-2");
        let request = parse_request(&raw).expect("valid");
        assert!(request.dry_run && request.add_ip_routes);
        assert_eq!(request.preflight, trustflow_domain::request::PreflightMode::Warn);
        assert_eq!(request.forwarder_addresses(), ["fd00::53"]);
        assert_eq!(request.remote_domain_cidrs.len(), 1);
        let (plain, _) = Kind::Request.checked_body(&options).expect("valid");
        assert!(plain.get("dryRun").is_none(), "request never adds dryRun");
    }

    #[test]
    fn generated_request_ids_differ_between_calls_and_pass_the_request_id_rule() {
        let (first, second) = (generated_request_id(), generated_request_id());
        assert_ne!(first, second);
        assert_eq!(trustflow_domain::request::check_request_id(&first), None, "{first}");
    }

    #[test]
    fn rejects_unknown_options_and_missing_values() {
        assert_eq!(parse_options(&args("--colour red")).expect_err("unknown").code, 2);
        assert!(parse_options(&args("--file")).expect_err("no value").message.contains("--file needs a value"));
    }

    #[test]
    fn shows_task_failures_with_the_lambda_error_message() {
        let record = HistoryRecord {
            event_type: "TaskFailed".to_owned(),
            task_failure: Some(("TrustPending".to_owned(), r#"{"errorType":"TrustPending","errorMessage":"t-1 is Creating"}"#.to_owned())),
            ..Default::default()
        };
        assert_eq!(progress(&record).as_deref(), Some("   TrustPending: t-1 is Creating"));
        let entered =
            HistoryRecord { event_type: "TaskStateEntered".to_owned(), entered_state: Some("PollTrust".to_owned()), ..Default::default() };
        assert_eq!(progress(&entered).as_deref(), Some("-> PollTrust"));
    }
}
