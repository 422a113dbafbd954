//! The command line (parsed with clap) and the commands. Kept out of `main` so the argument rules
//! are unit-tested.

use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use crate::api::{Answer, TrustApi};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{json, Map, Value};
use trustflow_aws::ports::DirectoryReader;
use trustflow_aws::{read_status, SdkDirectory, SdkExecutions, StatusError};
use trustflow_domain::domain::{DirectoryInfo, TrustInfo};
use trustflow_domain::remedy::remedy_for;
use trustflow_domain::removal::{parse_removal_request, REMOVAL_INPUT_KEY, TRUST_REMOVAL_REQUESTED_DETAIL_TYPE};
use trustflow_domain::request::{check_request_id, execution_name, parse_request, TRUST_REQUESTED_DETAIL_TYPE};
use trustflow_domain::status::{execution_arn, HistoryRecord, RequestState, RequestStatus};
use trustflow_domain::WorkflowError;

/// Why trustctl stops early, and its exit code.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// What to tell the user.
    pub message: String,
}

/// Exit code: the trust was not established (or `ready`: the request is not waiting).
pub const EXIT_NOT_ESTABLISHED: u8 = 1;
/// Exit code: bad request or usage.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: an AWS call (or the API) failed.
pub const EXIT_AWS: u8 = 3;
/// Exit code: no such request (or directory).
pub const EXIT_NOT_FOUND: u8 = 4;
/// Exit code: `watch` gave up waiting (`--timeout`) while the request was still open.
pub const EXIT_GAVE_UP: u8 = 5;

fn usage(message: impl Into<String>) -> Failure {
    Failure { code: EXIT_USAGE, message: format!("{}\n\nFor more information, try '--help'.", message.into()) }
}

fn aws(operation: &str, error: impl std::fmt::Display) -> Failure {
    Failure { code: EXIT_AWS, message: format!("{operation} failed: {error}") }
}

const EXIT_CODES: &str = "\
Exit codes:
  0  done: started or sent; for status and watch, verified, created, removed, checked, or still open
  1  not established: failed, rejected, timed out, aborted; for ready, not waiting for the remote side
  2  bad request or usage (every broken rule is listed; nothing was sent)
  3  AWS error, or the API could not be reached
  4  no such request (or directory)
  5  watch gave up waiting (--timeout) while the request was still open";

const ENVIRONMENT: &str = "\
It uses the standard AWS configuration: environment, profiles (static keys, SSO, credential_process,
web identity, assumed roles), AWS_ENDPOINT_URL. Options marked [env: ...] take their default from
that variable.";

/// `trustctl`: request a trust relationship from trustflow, follow it, read its status.
#[derive(Debug, Parser)]
#[command(
    name = "trustctl",
    version,
    about = "Request a trust relationship from trustflow, follow it, read its status.",
    long_about = None,
    before_long_help = ENVIRONMENT,
    after_help = EXIT_CODES,
    propagate_version = true,
    // A flag given twice keeps its last value, as trustctl always did; repeatable ones (--forwarder) keep all.
    args_override_self = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// How to print the answer: text for people, json for scripts (stable shapes, in the README).
    #[arg(long, global = true, value_enum, default_value_t = Output::Text, help_heading = GLOBAL)]
    pub output: Output,
    /// The AWS profile to use; its credentials (SSO, credential_process, web identity, keys) win over
    /// AWS_ACCESS_KEY_ID. Without it: AWS_PROFILE, then the standard chain.
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub profile: Option<String>,
    /// The AWS Region. Without it: AWS_REGION, then the profile's region.
    #[arg(long, global = true, value_name = "REGION", help_heading = GLOBAL)]
    pub region: Option<String>,
}

/// How trustctl prints its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Lines for people.
    Text,
    /// JSON for scripts: one document (`watch`: one per line).
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Request a trust, from a JSON file or from flags, checked locally with the validation step's rules.
    Request(SubmitArgs),
    /// A dry run of a request: every check, the network pre-flight included, and nothing created or
    /// changed (the answer comes as the request's notification and status).
    Check(SubmitArgs),
    /// Remove a trust (and optionally its conditional forwarder).
    Remove(RemoveArgs),
    /// Every trust of a directory, or of every directory in the Region: state, reason, remedy code.
    List(ListArgs),
    /// Where a request stands: running / awaiting remote side / verified / failed / rejected ...
    Status(StatusArgs),
    /// Follow a request until it ends, polling less often while nothing changes.
    #[command(after_help = WATCH_EXIT_CODES)]
    Watch(WatchArgs),
    /// The on-premises side is set up: the workflow waiting for it verifies the trust now instead of
    /// at its next scheduled re-verification.
    Ready(ReadyArgs),
    /// Print a shell completion script (e.g. `trustctl completions bash > /etc/bash_completion.d/trustctl`).
    Completions(CompletionsArgs),
}

const WATCH_EXIT_CODES: &str = "\
Exit codes:
  0  the request ended verified, created, removed, or checked (a dry run that passed)
  1  not established: it ended failed, rejected, timed out or aborted
  2  usage
  3  AWS error, or the API could not be reached
  4  no such request
  5  gave up waiting: still open after --timeout (its status so far is printed)";

/// Where trustflow is: the state machine, the bus and the API.
#[derive(Debug, Clone, Args)]
pub struct Endpoints {
    /// The workflow's state machine (the stack's StateMachineArn): for --via sfn.
    #[arg(long, env = "TRUSTFLOW_STATE_MACHINE_ARN", value_name = "ARN", help_heading = WHERE)]
    pub state_machine_arn: Option<String>,
    /// The event bus: for --via events.
    #[arg(long, env = "TRUSTFLOW_EVENT_BUS", value_name = "NAME", default_value = DEFAULT_BUS, help_heading = WHERE)]
    pub bus: String,
    /// The stack's TrustApiUrl output (https://ID.execute-api.REGION.amazonaws.com/v1/trust-requests): for --via api.
    #[arg(long, env = "TRUSTFLOW_API_URL", value_name = "URL", help_heading = WHERE)]
    pub api_url: Option<String>,
}

const DEFAULT_BUS: &str = "trustflow";
const GLOBAL: &str = "Global options";
const WHERE: &str = "Where trustflow is";

/// The way a request or a removal is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SendVia {
    /// StartExecution on the state machine.
    Sfn,
    /// A "Trust Requested" (or "Trust Removal Requested") event on the bus, as a portal would.
    Events,
    /// A SigV4-signed POST to the API.
    Api,
}

/// The way a status is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadVia {
    /// The execution and its history (DescribeExecution, GetExecutionHistory).
    Sfn,
    /// GET /trust-requests/{id}: what a portal sees.
    Api,
}

/// The way the 'remote side ready' signal is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadyVia {
    /// POST /trust-requests/{id}/remote-side-ready, answered with what the signal did.
    Api,
    /// A "Trust Remote Side Ready" event on the bus (not answered).
    Events,
}

/// The options of `request` and `check`.
#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    /// The request as JSON (the event detail / POST body); the flags below are then not used.
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// The AWS Managed Microsoft AD directory (d-XXXXXXXXXX).
    #[arg(long, value_name = "ID")]
    pub directory_id: Option<String>,
    /// The on-premises domain's DNS name.
    #[arg(long, value_name = "FQDN")]
    pub remote_domain: Option<String>,
    /// For a pair of AWS directories: the other directory (both sides are created; --remote-domain is its domain).
    #[arg(long, value_name = "ID")]
    pub remote_directory_id: Option<String>,
    /// When that directory is in another account: the role there trustflow assumes (one the deployment allows).
    #[arg(long, value_name = "ARN", requires = "remote_directory_id")]
    pub remote_role_arn: Option<String>,
    /// one-way-outgoing, one-way-incoming or two-way.
    #[arg(long, value_name = "DIR")]
    pub direction: Option<String>,
    /// The Secrets Manager secret holding the trust password.
    #[arg(long, value_name = "SECRET")]
    pub secret_id: Option<String>,
    /// The key of the password in a JSON secret.
    #[arg(long, value_name = "KEY")]
    pub json_key: Option<String>,
    /// An on-premises DNS server for the conditional forwarder (repeatable).
    #[arg(long = "forwarder", value_name = "IP")]
    pub forwarders: Vec<String>,
    /// Forest or External.
    #[arg(long, value_name = "TYPE")]
    pub trust_type: Option<String>,
    /// Selective authentication on the trust.
    #[arg(long)]
    pub selective_auth: bool,
    /// The request id [default: a new unique one].
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    /// An SNS topic to notify of the outcome.
    #[arg(long, value_name = "ARN")]
    pub notify_topic: Option<String>,
    /// Replace an existing trust with the same domain instead of refusing.
    #[arg(long)]
    pub replace: bool,
    /// An IPv6 on-premises DNS server (repeatable).
    #[arg(long = "forwarder-ipv6", value_name = "IP")]
    pub forwarders_ipv6: Vec<String>,
    /// Add IP routes to the remote CIDRs for the directory's domain controllers.
    #[arg(long)]
    pub add_ip_routes: bool,
    /// An on-premises network the directory must reach (repeatable).
    #[arg(long = "remote-cidr", value_name = "CIDR")]
    pub remote_cidrs: Vec<String>,
    /// The network pre-flight: enforce, warn or off.
    #[arg(long, value_name = "MODE")]
    pub preflight: Option<String>,
    /// How to send it.
    #[arg(long, value_enum, default_value_t = SendVia::Sfn)]
    pub via: SendVia,
    /// Where trustflow is.
    #[command(flatten)]
    pub endpoints: Endpoints,
}

/// The options of `remove`.
#[derive(Debug, Clone, Args)]
pub struct RemoveArgs {
    /// The removal request as JSON (the event detail / POST body); the flags below are then not used.
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// The directory (d-XXXXXXXXXX).
    #[arg(long, value_name = "ID")]
    pub directory_id: Option<String>,
    /// The on-premises domain whose trust is removed.
    #[arg(long, value_name = "FQDN")]
    pub remote_domain: Option<String>,
    /// For a pair of AWS directories: the other directory, whose side is removed too.
    #[arg(long, value_name = "ID")]
    pub remote_directory_id: Option<String>,
    /// When that directory is in another account: the role there trustflow assumes.
    #[arg(long, value_name = "ARN", requires = "remote_directory_id")]
    pub remote_role_arn: Option<String>,
    /// Delete the domain's conditional forwarder too.
    #[arg(long)]
    pub delete_forwarder: bool,
    /// The request id [default: a new unique one].
    #[arg(long, value_name = "ID")]
    pub request_id: Option<String>,
    /// An SNS topic to notify of the outcome.
    #[arg(long, value_name = "ARN")]
    pub notify_topic: Option<String>,
    /// How to send it.
    #[arg(long, value_enum, default_value_t = SendVia::Sfn)]
    pub via: SendVia,
    /// Where trustflow is.
    #[command(flatten)]
    pub endpoints: Endpoints,
}

/// The options of `list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only this directory's trusts [default: every directory in the Region].
    #[arg(long, value_name = "ID")]
    pub directory_id: Option<String>,
}

/// The options of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The request id.
    #[arg(value_name = "REQUEST_ID")]
    pub request_id: String,
    /// How to read it.
    #[arg(long, value_enum, default_value_t = ReadVia::Sfn)]
    pub via: ReadVia,
    /// Where trustflow is.
    #[command(flatten)]
    pub endpoints: Endpoints,
}

/// The options of `watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// The request id.
    #[arg(value_name = "REQUEST_ID")]
    pub request_id: String,
    /// How to read it: sfn shows every step, api what a portal sees.
    #[arg(long, value_enum, default_value_t = ReadVia::Sfn)]
    pub via: ReadVia,
    /// Give up (exit 5) after this many seconds of watching [default: 48 hours].
    #[arg(long, value_name = "SECONDS", default_value_t = 48 * 3600, hide_default_value = true)]
    pub timeout: u64,
    /// Seconds between two looks while things change; ×1.5 after each look that finds nothing new.
    #[arg(long, env = "TRUSTFLOW_POLL_INTERVAL", value_name = "SECONDS", default_value = "2", value_parser = parse_seconds)]
    pub poll_interval: Duration,
    /// The longest wait between two looks.
    #[arg(long, env = "TRUSTFLOW_MAX_POLL_INTERVAL", value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub max_poll_interval: Duration,
    /// Where trustflow is.
    #[command(flatten)]
    pub endpoints: Endpoints,
}

/// The options of `ready`.
#[derive(Debug, Clone, Args)]
pub struct ReadyArgs {
    /// The request id.
    #[arg(value_name = "REQUEST_ID")]
    pub request_id: String,
    /// How to send the signal.
    #[arg(long, value_enum, default_value_t = ReadyVia::Api)]
    pub via: ReadyVia,
    /// Where trustflow is.
    #[command(flatten)]
    pub endpoints: Endpoints,
}

/// The options of `completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// A positive number of seconds, fractions allowed (`0.5`).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.parse().map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if seconds.is_nan() || seconds <= 0.0 {
        return Err(format!("{text:?} is not a positive number of seconds"));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

impl Endpoints {
    fn state_machine(&self) -> Result<&str, Failure> {
        non_empty(self.state_machine_arn.as_deref())
            .ok_or_else(|| usage("--state-machine-arn (or TRUSTFLOW_STATE_MACHINE_ARN) is required"))
    }

    /// The bus; an empty TRUSTFLOW_EVENT_BUS counts as unset, as it always did.
    fn bus(&self) -> &str {
        non_empty(Some(&self.bus)).unwrap_or(DEFAULT_BUS)
    }

    fn api(&self, config: aws_config::SdkConfig) -> Result<TrustApi, Failure> {
        let url = non_empty(self.api_url.as_deref())
            .ok_or_else(|| usage("--api-url (or TRUSTFLOW_API_URL: the stack's TrustApiUrl output) is required with --via api"))?;
        TrustApi::new(url, config).map_err(|e| Failure { code: EXIT_USAGE, message: e.to_string() })
    }
}

/// An environment variable set to "" counts as unset (clap would pass the empty value on).
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// The JSON body in the file `--file` names (not yet validated).
fn body_from_file(path: &str) -> Result<Value, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {path}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Failure { code: EXIT_USAGE, message: format!("{path} is not valid JSON: {e}") })
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
pub fn request_from(args: &SubmitArgs) -> Result<Value, Failure> {
    if let Some(path) = &args.file {
        return body_from_file(path);
    }
    let mut request = Map::new();
    let id = args.request_id.clone().unwrap_or_else(generated_request_id);
    request.insert("requestId".into(), json!(id));
    for (value, field) in [
        (&args.directory_id, "directoryId"),
        (&args.remote_domain, "remoteDomainName"),
        (&args.remote_directory_id, "remoteDirectoryId"),
        (&args.remote_role_arn, "remoteRoleArn"),
        (&args.direction, "trustDirection"),
        (&args.trust_type, "trustType"),
    ] {
        if let Some(value) = value {
            request.insert(field.into(), json!(value));
        }
    }
    if !args.forwarders.is_empty() {
        request.insert("conditionalForwarderIpAddrs".into(), json!(args.forwarders));
    }
    if let Some(secret) = &args.secret_id {
        let mut location = json!({"secretId": secret});
        if let Some(key) = &args.json_key {
            location["jsonKey"] = json!(key);
        }
        request.insert("trustPassword".into(), location);
    }
    if args.selective_auth {
        request.insert("selectiveAuth".into(), json!("Enabled"));
    }
    if let Some(topic) = &args.notify_topic {
        request.insert("notify".into(), json!({"topicArn": topic}));
    }
    if args.replace {
        request.insert("onExistingTrust".into(), json!("replace"));
    }
    if !args.forwarders_ipv6.is_empty() {
        request.insert("conditionalForwarderIpv6Addrs".into(), json!(args.forwarders_ipv6));
    }
    if args.add_ip_routes {
        request.insert("addIpRoutes".into(), json!(true));
    }
    if !args.remote_cidrs.is_empty() {
        request.insert("remoteDomainCidrs".into(), json!(args.remote_cidrs));
    }
    if let Some(mode) = &args.preflight {
        request.insert("preflight".into(), json!(mode));
    }
    Ok(Value::Object(request))
}

/// The removal request from `--file` or from flags, as JSON (not yet validated).
pub fn removal_from(args: &RemoveArgs) -> Result<Value, Failure> {
    if let Some(path) = &args.file {
        return body_from_file(path);
    }
    let mut removal = Map::new();
    let id = args.request_id.clone().unwrap_or_else(generated_request_id);
    removal.insert("requestId".into(), json!(id));
    for (value, field) in [
        (&args.directory_id, "directoryId"),
        (&args.remote_domain, "remoteDomainName"),
        (&args.remote_directory_id, "remoteDirectoryId"),
        (&args.remote_role_arn, "remoteRoleArn"),
    ] {
        if let Some(value) = value {
            removal.insert(field.into(), json!(value));
        }
    }
    if args.delete_forwarder {
        removal.insert("deleteConditionalForwarder".into(), json!(true));
    }
    if let Some(topic) = &args.notify_topic {
        removal.insert("notify".into(), json!({"topicArn": topic}));
    }
    Ok(Value::Object(removal))
}

/// Runs a parsed command line; `Ok` carries the exit code.
pub async fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let global = &cli.global;
    match &cli.command {
        Command::Request(args) => {
            submit(global, Kind::Request, args.via, &args.endpoints, &Kind::Request.checked_body(Body::Trust(args))?).await
        }
        Command::Check(args) => submit(global, Kind::Check, args.via, &args.endpoints, &Kind::Check.checked_body(Body::Trust(args))?).await,
        Command::Remove(args) => {
            submit(global, Kind::Removal, args.via, &args.endpoints, &Kind::Removal.checked_body(Body::Removal(args))?).await
        }
        Command::Status(args) => status(global, args).await,
        Command::List(args) => list(global, args).await,
        Command::Watch(args) => watch(global, args).await,
        Command::Ready(args) => ready(global, args).await,
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "trustctl", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The AWS configuration: the standard chain, with `--profile` and `--region` on top.
async fn config(global: &Global) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = &global.profile {
        // The profile's own credentials, not the default chain's: that chain reads
        // AWS_ACCESS_KEY_ID first, and `--profile prod` silently signing with other keys is
        // what nobody asking for a profile expects (the AWS CLI lets --profile win too).
        let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder().profile_name(profile).build();
        loader = loader.profile_name(profile).credentials_provider(credentials);
    }
    if let Some(region) = &global.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    loader.load().await
}

/// Prints one JSON document; `pretty` for a single answer, one line for a stream.
fn print_json(value: &impl Serialize, pretty: bool) {
    let text = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
    println!("{}", text.unwrap_or_default());
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

/// What `trustctl` sends: a trust request, or a removal request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    /// A trust request sent as a dry run.
    Check,
    Removal,
}

/// The options a body is built from.
#[derive(Debug, Clone, Copy)]
enum Body<'a> {
    Trust(&'a SubmitArgs),
    Removal(&'a RemoveArgs),
}

/// A body that passed the validation step's rules, and its request id.
#[derive(Debug)]
struct Checked {
    raw: Value,
    request_id: String,
}

impl Kind {
    /// The body from the options, and its request id once it passes the same rules as the
    /// validation Lambda, checked before anything is sent.
    fn checked_body(self, options: Body<'_>) -> Result<Checked, Failure> {
        let (raw, checked) = match options {
            Body::Trust(args) => {
                let mut raw = request_from(args)?;
                if self == Kind::Check {
                    // A dry run whatever the file says: `check` never creates anything.
                    if let Some(object) = raw.as_object_mut() {
                        object.insert("dryRun".into(), json!(true));
                    }
                }
                let checked = parse_request(&raw).map(|r| r.request_id);
                (raw, checked)
            }
            Body::Removal(args) => {
                let raw = removal_from(args)?;
                let checked = parse_removal_request(&raw).map(|r| r.request_id);
                (raw, checked)
            }
        };
        let request_id = checked.map_err(|error| match error {
            WorkflowError::ValidationFailed(violations) => Failure {
                code: EXIT_USAGE,
                message: format!(
                    "the request was not sent:\n{}",
                    violations.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n")
                ),
            },
            other => Failure { code: EXIT_USAGE, message: format!("the request was not sent: {other}") },
        })?;
        Ok(Checked { raw, request_id })
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

/// What `request`, `check` and `remove` did: their `--output json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Submitted {
    request_id: String,
    /// `sfn`, `events` or `api`.
    via: &'static str,
    /// `started`; `alreadyStarted` (this same request was started before: nothing new started);
    /// `sent` (an event: the bus does not answer, `watch` follows it once started).
    outcome: &'static str,
    /// The execution, when the answer names it (null for `sent`).
    execution_arn: Option<String>,
    /// The bus the event went to (null unless `sent`).
    event_bus: Option<String>,
}

impl Submitted {
    fn print(&self, output: Output) {
        if output == Output::Json {
            return print_json(self, true);
        }
        let id = &self.request_id;
        let arn = self.execution_arn.as_deref().unwrap_or("?");
        match self.outcome {
            "started" => println!("started {arn} for request {id}"),
            "alreadyStarted" => println!("request {id} was already started: {arn}"),
            _ => println!("sent request {id} to event bus {}", self.event_bus.as_deref().unwrap_or(DEFAULT_BUS)),
        }
        // However it was sent, the execution is named after the request: either way in follows it.
        let via_api = if self.via == "api" { " --via api" } else { "" };
        println!("follow it: trustctl watch {id}{via_api}    (or: trustctl status {id}{via_api})");
    }
}

async fn submit(global: &Global, kind: Kind, via: SendVia, endpoints: &Endpoints, body: &Checked) -> Result<ExitCode, Failure> {
    let Checked { raw, request_id } = body;
    let config = config(global).await;
    let submitted = match via {
        SendVia::Sfn => {
            let arn = endpoints.state_machine()?;
            let client = aws_sdk_sfn::Client::new(&config);
            let name = execution_name(request_id);
            let input = kind.execution_input(raw).to_string();
            let (outcome, execution) = match client.start_execution().state_machine_arn(arn).name(&name).input(input).send().await {
                Ok(started) => ("started", started.execution_arn().to_owned()),
                Err(error) if error.as_service_error().is_some_and(|e| e.is_execution_already_exists()) => {
                    ("alreadyStarted", execution_arn(arn, request_id))
                }
                Err(error) => return Err(aws("StartExecution", aws_sdk_sfn::error::DisplayErrorContext(error))),
            };
            Submitted { request_id: request_id.clone(), via: "sfn", outcome, execution_arn: Some(execution), event_bus: None }
        }
        SendVia::Events => {
            let bus = put_event(endpoints, &config, kind.detail_type(), raw).await?;
            Submitted { request_id: request_id.clone(), via: "events", outcome: "sent", execution_arn: None, event_bus: Some(bus) }
        }
        SendVia::Api => {
            let client = endpoints.api(config)?;
            let answer = match kind {
                Kind::Request | Kind::Check => client.start(&raw.to_string()).await,
                Kind::Removal => client.remove(&raw.to_string()).await,
            }
            .map_err(|e| aws(kind.api_path(), e))?;
            let body = serde_json::from_str::<Value>(&answer.body).unwrap_or(Value::Null);
            let execution = body.get("executionArn").and_then(Value::as_str).map(str::to_owned);
            let outcome = match answer.status {
                202 if body.get("message").is_some() => "alreadyStarted",
                202 => "started",
                400 | 409 => {
                    return Err(Failure { code: EXIT_USAGE, message: format!("the API refused the request: {}", api_message(&answer)) })
                }
                status => return Err(aws(kind.api_path(), format!("HTTP {status}: {}", api_message(&answer)))),
            };
            Submitted { request_id: request_id.clone(), via: "api", outcome, execution_arn: execution, event_bus: None }
        }
    };
    submitted.print(global.output);
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
async fn list(global: &Global, args: &ListArgs) -> Result<ExitCode, Failure> {
    let api = SdkDirectory::new(&config(global).await);
    let directories = match &args.directory_id {
        Some(id) => match api.describe_directory(id).await.map_err(|e| aws("DescribeDirectories", e))? {
            Some(directory) => vec![directory],
            None => return Err(Failure { code: EXIT_NOT_FOUND, message: format!("no directory {id:?} in this Region") }),
        },
        None => api.list_directories().await.map_err(|e| aws("DescribeDirectories", e))?,
    };
    let mut rows = Vec::new();
    for directory in directories.iter().filter(|d| d.directory_type == "MicrosoftAD") {
        let trusts = api.list_trusts(&directory.directory_id).await.map_err(|e| aws("DescribeTrusts", e))?;
        rows.extend(trusts.iter().map(|trust| listed(directory, trust)));
    }
    if global.output == Output::Json {
        print_json(&rows, true);
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
        StatusError::NotFound => {
            Failure { code: EXIT_NOT_FOUND, message: format!("no trust request {id:?} was started on this state machine") }
        }
        StatusError::Aws(error) => aws("reading the execution", error),
    }
}

fn print_status(status: &RequestStatus, output: Output) {
    if output == Output::Json {
        return print_json(status, true);
    }
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
    // A dry run that passed every check is a success too: nothing was to be established.
    if status.status.is_open() || status.status.is_success() || status.status == RequestState::Checked {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_ESTABLISHED)
    }
}

/// The status once, by the way `via` names.
async fn read_once(via: ReadVia, endpoints: &Endpoints, config: &aws_config::SdkConfig, id: &str) -> Result<RequestStatus, Failure> {
    match via {
        ReadVia::Sfn => {
            let machine = endpoints.state_machine()?;
            let (status, _) = read_status(&SdkExecutions::new(config), machine, id).await.map_err(|e| status_failure(id, e))?;
            Ok(status)
        }
        ReadVia::Api => api_status(&endpoints.api(config.clone())?, id).await,
    }
}

async fn status(global: &Global, args: &StatusArgs) -> Result<ExitCode, Failure> {
    if args.via == ReadVia::Sfn {
        // Before loading the AWS configuration: a usage error needs no credentials.
        args.endpoints.state_machine()?;
    }
    let status = read_once(args.via, &args.endpoints, &config(global).await, &args.request_id).await?;
    print_status(&status, global.output);
    Ok(exit_for(&status))
}

/// The status as the API's `GET /trust-requests/{id}` answers it (what a portal sees).
async fn api_status(api: &TrustApi, id: &str) -> Result<RequestStatus, Failure> {
    let answer = api.status(id).await.map_err(|e| aws("GET /trust-requests", e))?;
    match answer.status {
        200 => {
            serde_json::from_str(&answer.body).map_err(|e| aws("GET /trust-requests", format!("unexpected answer ({e}): {}", answer.body)))
        }
        404 => Err(Failure { code: EXIT_NOT_FOUND, message: format!("no trust request {id:?}: {}", api_message(&answer)) }),
        400 => Err(Failure { code: EXIT_USAGE, message: api_message(&answer) }),
        status => Err(aws("GET /trust-requests", format!("HTTP {status}: {}", api_message(&answer)))),
    }
}

/// Puts one event from `trustctl` on the bus (`--bus`, `TRUSTFLOW_EVENT_BUS`, or `trustflow`);
/// returns the bus's name.
async fn put_event(endpoints: &Endpoints, config: &aws_config::SdkConfig, detail_type: &str, detail: &Value) -> Result<String, Failure> {
    let bus = endpoints.bus().to_owned();
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

/// What `ready` did: its `--output json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Signalled {
    request_id: String,
    /// `api` or `events`.
    via: &'static str,
    /// `verifyingNow` (exit 0), `notWaiting` (exit 1), or `sent` (an event: not answered).
    outcome: &'static str,
    /// The API's answer, in words (null for `sent`).
    message: Option<String>,
    /// The bus the event went to (null unless `sent`).
    event_bus: Option<String>,
}

/// `trustctl ready`: reports the remote side ready. Through the API the answer says what the
/// signal did (exit 0 when the workflow verifies now, 1 when the request is not waiting for the
/// remote side, 4 when there is no such request); through the bus it is sent and not answered.
async fn ready(global: &Global, args: &ReadyArgs) -> Result<ExitCode, Failure> {
    let id = &args.request_id;
    if let Some(rule) = check_request_id(id) {
        return Err(usage(format!("the request id is invalid: {}", trustflow_domain::error::Violation::new("REQUEST_ID", rule, id))));
    }
    let config = config(global).await;
    let signalled = match args.via {
        ReadyVia::Api => {
            let answer = args.endpoints.api(config)?.remote_side_ready(id).await.map_err(|e| aws("POST /remote-side-ready", e))?;
            let outcome = match answer.status {
                202 => "verifyingNow",
                409 => "notWaiting",
                404 => return Err(Failure { code: EXIT_NOT_FOUND, message: format!("no trust request {id:?}: {}", api_message(&answer)) }),
                400 => return Err(Failure { code: EXIT_USAGE, message: api_message(&answer) }),
                status => return Err(aws("POST /remote-side-ready", format!("HTTP {status}: {}", api_message(&answer)))),
            };
            Signalled { request_id: id.clone(), via: "api", outcome, message: Some(api_message(&answer)), event_bus: None }
        }
        ReadyVia::Events => {
            let bus = put_event(&args.endpoints, &config, "Trust Remote Side Ready", &json!({"requestId": id})).await?;
            Signalled { request_id: id.clone(), via: "events", outcome: "sent", message: None, event_bus: Some(bus) }
        }
    };
    match (global.output, &signalled.message) {
        (Output::Json, _) => print_json(&signalled, true),
        (Output::Text, Some(message)) => println!("{message}"),
        (Output::Text, None) => println!(
            "sent 'remote side ready' for request {id} to event bus {}: `trustctl status {id}` shows what follows",
            signalled.event_bus.as_deref().unwrap_or(DEFAULT_BUS)
        ),
    }
    Ok(if signalled.outcome == "notWaiting" { ExitCode::from(EXIT_NOT_ESTABLISHED) } else { ExitCode::SUCCESS })
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

/// Lines of progress between two looks at the API's answer: what a portal would see change.
fn api_progress(before: Option<&RequestStatus>, now: &RequestStatus) -> Vec<String> {
    let mut lines = Vec::new();
    if before.is_none_or(|b| b.status != now.status) {
        lines.push(format!("status: {}", now.status.label()));
    }
    if let Some(announcement) = now.announcement.filter(|a| before.is_none_or(|b| b.announcement != Some(*a))) {
        lines.push(format!("   announced: {}", announcement.detail_type()));
    }
    let trust = |s: &RequestStatus| (s.trust_id.clone(), s.trust_state.clone(), s.trust_state_reason.clone());
    if let (Some(id), true) = (&now.trust_id, before.is_none_or(|b| trust(b) != trust(now))) {
        let reason = now.trust_state_reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        lines.push(format!("   trust {id}: {}{reason}", now.trust_state.as_deref().unwrap_or("unknown state")));
    }
    lines
}

/// How long `watch` waits between two looks: `initial` after a look that found something new,
/// then ×1.5 after each look that found nothing, up to `cap`.
#[derive(Debug, Clone, PartialEq)]
struct Backoff {
    initial: Duration,
    cap: Duration,
    current: Duration,
}

impl Backoff {
    fn new(initial: Duration, cap: Duration) -> Self {
        Self { initial, cap: cap.max(initial), current: initial }
    }

    /// The wait after a look; `changed` when it found something new.
    fn next(&mut self, changed: bool) -> Duration {
        self.current = if changed { self.initial } else { self.current.mul_f64(1.5).min(self.cap) };
        self.current
    }
}

/// How long the execution has run, from its own start timestamp (RFC 3339), so that `watch`
/// started late, or again, shows the request's age rather than its own.
fn since_start(start_date: Option<&str>, now: SystemTime) -> Option<Duration> {
    let start = aws_smithy_types::DateTime::from_str(start_date?, aws_smithy_types::date_time::Format::DateTime).ok()?;
    // A start a little in the future (another machine's clock) reads as 0, not as an error.
    Some(now.duration_since(SystemTime::try_from(start).ok()?).unwrap_or_default())
}

/// One line of `watch --output json`: a line of progress, or (the last line) the status.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct WatchLine<'a> {
    /// Seconds since the execution started.
    elapsed_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a RequestStatus>,
    /// True on the status line when watch gave up waiting (exit 5).
    gave_up: bool,
}

/// What one look found.
struct Look {
    status: RequestStatus,
    /// Lines of progress since the last look.
    progress: Vec<String>,
    /// Whether anything changed since the last look (not every change makes a line).
    changed: bool,
}

/// Where `watch` looks, and what it saw last.
// One per process, on the stack for the whole watch: boxing the larger variant would save nothing.
#[allow(clippy::large_enum_variant)]
enum Watched {
    Sfn { executions: SdkExecutions, machine: String, seen: usize },
    Api { api: TrustApi, last: Option<RequestStatus> },
}

impl Watched {
    async fn look(&mut self, id: &str) -> Result<Look, Failure> {
        match self {
            Watched::Sfn { executions, machine, seen } => {
                let (status, history) = read_status(executions, machine, id).await.map_err(|e| status_failure(id, e))?;
                let progress = history.iter().skip(*seen).filter_map(progress).collect();
                let changed = history.len() != *seen;
                *seen = history.len();
                Ok(Look { status, progress, changed })
            }
            Watched::Api { api, last } => {
                let status = api_status(api, id).await?;
                let progress = api_progress(last.as_ref(), &status);
                let changed = last.as_ref() != Some(&status);
                *last = Some(status.clone());
                Ok(Look { status, progress, changed })
            }
        }
    }
}

async fn watch(global: &Global, args: &WatchArgs) -> Result<ExitCode, Failure> {
    let id = args.request_id.as_str();
    if args.via == ReadVia::Sfn {
        args.endpoints.state_machine()?;
    }
    let config = config(global).await;
    let mut watched = match args.via {
        ReadVia::Sfn => {
            Watched::Sfn { executions: SdkExecutions::new(&config), machine: args.endpoints.state_machine()?.to_owned(), seen: 0 }
        }
        ReadVia::Api => Watched::Api { api: args.endpoints.api(config)?, last: None },
    };
    let limit = Duration::from_secs(args.timeout);
    let mut backoff = Backoff::new(args.poll_interval, args.max_poll_interval);
    let watching = Instant::now();
    loop {
        let look = watched.look(id).await?;
        let elapsed = since_start(look.status.start_date.as_deref(), SystemTime::now()).unwrap_or_else(|| watching.elapsed());
        for line in &look.progress {
            match global.output {
                Output::Text => println!("{:>7.1}s {line}", elapsed.as_secs_f32()),
                Output::Json => print_json(
                    &WatchLine { elapsed_seconds: round_tenths(elapsed), progress: Some(line), status: None, gave_up: false },
                    false,
                ),
            }
        }
        let ended = look.status.execution_status != "RUNNING";
        let gave_up = !ended && watching.elapsed() >= limit;
        if ended || gave_up {
            match global.output {
                Output::Text => print_status(&look.status, Output::Text),
                Output::Json => print_json(
                    &WatchLine { elapsed_seconds: round_tenths(elapsed), progress: None, status: Some(&look.status), gave_up },
                    false,
                ),
            }
        }
        if ended {
            return Ok(exit_for(&look.status));
        }
        if gave_up {
            return Err(Failure {
                code: EXIT_GAVE_UP,
                message: format!(
                    "gave up waiting: request {id} is still {} after {}s of watching",
                    look.status.status.label(),
                    limit.as_secs()
                ),
            });
        }
        // The last wait ends at the limit, so the last look is taken then rather than a backoff later.
        let wait = backoff.next(look.changed).min(limit.saturating_sub(watching.elapsed()));
        tokio::time::sleep(wait).await;
    }
}

fn round_tenths(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("trustctl").chain(line.split_whitespace()))
    }

    fn submit_args(line: &str) -> SubmitArgs {
        match parse(line).expect("parsed").command {
            Command::Request(args) | Command::Check(args) => args,
            other => panic!("not request or check: {other:?}"),
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn builds_a_request_from_flags_that_passes_the_shared_rules() {
        let args = submit_args(
            "request --request-id R-1 --directory-id d-1234567890 --remote-domain corp.example.com --direction two-way --secret-id s --forwarder 10.0.0.1 --forwarder 10.0.0.2 --replace",
        );
        let request = parse_request(&request_from(&args).expect("built")).expect("valid");
        assert_eq!(request.conditional_forwarder_ip_addrs.len(), 2);
        assert_eq!(request.on_existing_trust, trustflow_domain::request::ExistingTrustPolicy::Replace);
    }

    #[test]
    fn check_always_sends_a_dry_run_with_the_network_options() {
        let args = submit_args(
            "check --request-id R-2 --directory-id d-1234567890 --remote-domain corp.example.com --direction two-way --secret-id s --forwarder-ipv6 fd00::53 --remote-cidr 10.20.0.0/16 --preflight warn --add-ip-routes",
        );
        let checked = Kind::Check.checked_body(Body::Trust(&args)).expect("valid");
        assert_eq!(checked.request_id, "R-2");
        let request = parse_request(&checked.raw).expect("valid");
        assert!(request.dry_run && request.add_ip_routes);
        assert_eq!(request.preflight, trustflow_domain::request::PreflightMode::Warn);
        assert_eq!(request.forwarder_addresses(), ["fd00::53"]);
        assert_eq!(request.remote_domain_cidrs.len(), 1);
        let plain = Kind::Request.checked_body(Body::Trust(&args)).expect("valid");
        assert!(plain.raw.get("dryRun").is_none(), "request never adds dryRun");
    }

    #[test]
    fn a_flag_given_twice_keeps_its_last_value_and_repeatable_flags_keep_every_value() {
        let args = submit_args("request --request-id A --request-id B --forwarder 10.0.0.1 --forwarder 10.0.0.2 --replace --replace");
        assert_eq!(args.request_id.as_deref(), Some("B"));
        assert_eq!(args.forwarders, ["10.0.0.1", "10.0.0.2"]);
        assert!(args.replace);
    }

    #[test]
    fn a_pair_of_aws_directories_is_requested_and_removed_with_remote_directory_id() {
        let args = submit_args(
            "request --request-id P-1 --directory-id d-1234567890 --remote-directory-id d-0987654321 --remote-domain sales.example.com --direction two-way --secret-id s",
        );
        let request = request_from(&args).expect("built");
        assert_eq!(request["remoteDirectoryId"], json!("d-0987654321"));
        assert!(request.get("conditionalForwarderIpAddrs").is_none(), "the forwarders default to the other directory's DNS");
        let Command::Remove(args) = parse(
            "remove --request-id RM-P --directory-id d-1234567890 --remote-directory-id d-0987654321 --remote-domain sales.example.com",
        )
        .expect("parsed")
        .command
        else {
            panic!("not remove");
        };
        let checked = Kind::Removal.checked_body(Body::Removal(&args)).expect("valid");
        assert_eq!(checked.raw["remoteDirectoryId"], json!("d-0987654321"));
    }

    #[test]
    fn a_pair_in_another_account_names_the_role_there_and_the_role_needs_the_other_directory() {
        let role = "arn:aws:iam::222222222222:role/trustflow-remote-directories";
        let args = submit_args(&format!(
            "request --request-id P-2 --directory-id d-1234567890 --remote-directory-id d-0987654321 --remote-role-arn {role} --remote-domain sales.example.com --direction two-way --secret-id s"
        ));
        assert_eq!(request_from(&args).expect("built")["remoteRoleArn"], json!(role));
        let Command::Remove(args) = parse(&format!(
            "remove --request-id RM-P2 --directory-id d-1234567890 --remote-directory-id d-0987654321 --remote-role-arn {role} --remote-domain sales.example.com"
        ))
        .expect("parsed")
        .command
        else {
            panic!("not remove");
        };
        assert_eq!(Kind::Removal.checked_body(Body::Removal(&args)).expect("valid").raw["remoteRoleArn"], json!(role));
        let error = parse(&format!("request --directory-id d-1234567890 --remote-role-arn {role} --remote-domain sales.example.com"))
            .expect_err("refused")
            .to_string();
        assert!(error.contains("--remote-directory-id"), "{error}");
    }

    #[test]
    fn a_removal_is_built_from_its_flags() {
        let Command::Remove(args) =
            parse("remove --request-id RM-1 --directory-id d-1234567890 --remote-domain corp.example.com --delete-forwarder --via api")
                .expect("parsed")
                .command
        else {
            panic!("not remove");
        };
        assert_eq!(args.via, SendVia::Api);
        let checked = Kind::Removal.checked_body(Body::Removal(&args)).expect("valid");
        assert_eq!(checked.raw["deleteConditionalForwarder"], json!(true));
        assert_eq!(Kind::Removal.execution_input(&checked.raw)[REMOVAL_INPUT_KEY], checked.raw);
    }

    #[test]
    fn a_request_that_breaks_the_rules_is_refused_with_exit_2_and_every_broken_rule() {
        let args = submit_args("request --request-id R-3 --directory-id d-XYZ --remote-domain corp --direction sideways");
        let failure = Kind::Request.checked_body(Body::Trust(&args)).expect_err("invalid");
        assert_eq!(failure.code, EXIT_USAGE);
        for field in ["directoryId", "remoteDomainName", "trustDirection"] {
            assert!(failure.message.contains(field), "{field} missing from {}", failure.message);
        }
    }

    #[test]
    fn generated_request_ids_differ_between_calls_and_pass_the_request_id_rule() {
        let (first, second) = (generated_request_id(), generated_request_id());
        assert_ne!(first, second);
        assert_eq!(trustflow_domain::request::check_request_id(&first), None, "{first}");
    }

    #[test]
    fn every_command_has_help_that_exits_0() {
        for command in ["request", "check", "remove", "list", "status", "watch", "ready", "completions"] {
            let help = parse(&format!("{command} --help")).expect_err("help is shown, not parsed");
            assert_eq!((help.kind(), help.exit_code()), (ErrorKind::DisplayHelp, 0), "{command}");
            assert!(help.to_string().contains(&format!("Usage: trustctl {command}")), "{command}: {help}");
        }
        let top = parse("--help").expect_err("help");
        for command in ["request", "check", "remove", "list", "status", "watch", "ready", "completions"] {
            assert!(top.to_string().contains(command), "{command} missing from the top-level help");
        }
    }

    #[test]
    fn help_names_the_environment_defaults_and_the_exit_codes() {
        let help = parse("request --help").expect_err("help").to_string();
        for variable in ["TRUSTFLOW_STATE_MACHINE_ARN", "TRUSTFLOW_EVENT_BUS", "TRUSTFLOW_API_URL"] {
            assert!(help.contains(&format!("env: {variable}")), "{variable} missing from {help}");
        }
        let watch = parse("watch --help").expect_err("help").to_string();
        assert!(watch.contains("TRUSTFLOW_POLL_INTERVAL") && watch.contains("5  gave up waiting"), "{watch}");
        assert!(parse("--help").expect_err("help").to_string().contains("4  no such request"));
    }

    #[test]
    fn version_prints_the_crate_version() {
        let version = parse("--version").expect_err("version is shown, not parsed");
        assert_eq!((version.kind(), version.exit_code()), (ErrorKind::DisplayVersion, 0));
        assert_eq!(version.to_string().trim(), format!("trustctl {}", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn parse_errors_exit_2_and_name_the_flag() {
        for (line, named) in [
            ("request --colour red", "--colour"),
            ("request --file", "--file"),
            ("request --via carrier-pigeon", "--via"),
            ("status R-1 --via events", "--via"),
            ("ready R-1 --via sfn", "--via"),
            ("list --output yaml", "--output"),
            ("watch R-1 --timeout soon", "--timeout"),
            ("watch R-1 --poll-interval 0", "--poll-interval"),
            ("status", "REQUEST_ID"),
            ("status R-1 R-2", "R-2"),
            ("completions tcsh", "tcsh"),
            ("frobnicate", "frobnicate"),
        ] {
            let error = parse(line).expect_err(line);
            assert_eq!(error.exit_code(), 2, "{line}");
            assert!(error.to_string().contains(named), "{line}: {error}");
        }
        assert_eq!(parse("").expect_err("no command").exit_code(), 2);
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let before = parse("--output json --profile p --region eu-west-1 status R-1").expect("parsed");
        let after = parse("status R-1 --output json --profile p --region eu-west-1").expect("parsed");
        for cli in [before, after] {
            assert_eq!(cli.global.output, Output::Json);
            assert_eq!((cli.global.profile.as_deref(), cli.global.region.as_deref()), (Some("p"), Some("eu-west-1")));
        }
        assert_eq!(parse("list").expect("parsed").global.output, Output::Text);
    }

    #[test]
    fn completions_are_generated_for_bash_zsh_and_fish() {
        for shell in [clap_complete::Shell::Bash, clap_complete::Shell::Zsh, clap_complete::Shell::Fish] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "trustctl", &mut script);
            let script = String::from_utf8(script).expect("utf-8");
            for word in ["trustctl", "watch", "poll-interval", "state-machine-arn"] {
                assert!(script.contains(word), "{shell}: {word} missing");
            }
        }
    }

    #[test]
    fn seconds_may_be_fractions_but_must_be_positive() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "NaN", "soon", "inf"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_grows_by_half_while_nothing_changes_up_to_the_cap_and_resets_on_a_change() {
        let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(5));
        assert_eq!(backoff.next(true), Duration::from_secs(2));
        assert_eq!(backoff.next(false), Duration::from_secs(3));
        assert_eq!(backoff.next(false), Duration::from_millis(4500));
        assert_eq!(backoff.next(false), Duration::from_secs(5));
        assert_eq!(backoff.next(false), Duration::from_secs(5));
        assert_eq!(backoff.next(true), Duration::from_secs(2));
        // A cap below the start is the start: never faster than asked.
        assert_eq!(Backoff::new(Duration::from_secs(3), Duration::from_secs(1)).next(false), Duration::from_secs(3));
    }

    #[test]
    fn elapsed_time_counts_from_the_executions_own_start() {
        let start = "2025-01-01T00:00:00Z";
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600 + 90);
        assert_eq!(since_start(Some(start), now), Some(Duration::from_secs(90)));
        let earlier = SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600 - 5);
        assert_eq!(since_start(Some(start), earlier), Some(Duration::ZERO), "a clock behind the start reads 0");
        assert_eq!(since_start(Some("yesterday"), now), None);
        assert_eq!(since_start(None, now), None);
    }

    fn status_of(json: Value) -> RequestStatus {
        serde_json::from_value(json).expect("a RequestStatus")
    }

    #[test]
    fn watching_the_api_shows_what_changed_between_two_looks() {
        let running = status_of(json!({"requestId": "R", "status": "running", "executionStatus": "RUNNING"}));
        assert_eq!(api_progress(None, &running), ["status: running"]);
        assert!(api_progress(Some(&running), &running).is_empty());
        let creating = status_of(json!({"requestId": "R", "status": "running", "executionStatus": "RUNNING",
                                        "trustId": "t-1", "trustState": "Creating"}));
        assert_eq!(api_progress(Some(&running), &creating), ["   trust t-1: Creating"]);
        let verified = status_of(json!({"requestId": "R", "status": "verified", "executionStatus": "SUCCEEDED",
                                        "announcement": "verified", "trustId": "t-1", "trustState": "Verified"}));
        assert_eq!(
            api_progress(Some(&creating), &verified),
            ["status: verified", "   announced: Trust Verified", "   trust t-1: Verified"]
        );
    }

    #[test]
    fn exit_codes_say_whether_the_request_got_what_it_asked_for() {
        for (status, code) in [
            ("running", 0),
            ("awaitingRemoteSide", 0),
            ("verified", 0),
            ("created", 0),
            ("removed", 0),
            ("checked", 0),
            ("failed", 1),
            ("rejected", 1),
            ("timedOut", 1),
            ("aborted", 1),
        ] {
            let status = status_of(json!({"requestId": "R", "status": status, "executionStatus": "SUCCEEDED"}));
            assert_eq!(exit_for(&status), ExitCode::from(code), "{:?}", status.status);
        }
    }

    #[test]
    fn the_json_answer_of_request_has_every_key_whichever_way_it_was_sent() {
        let sent = Submitted {
            request_id: "R-1".to_owned(),
            via: "events",
            outcome: "sent",
            execution_arn: None,
            event_bus: Some("trustflow".to_owned()),
        };
        assert_eq!(
            serde_json::to_value(&sent).expect("json"),
            json!({"requestId": "R-1", "via": "events", "outcome": "sent", "executionArn": null, "eventBus": "trustflow"})
        );
        let line = WatchLine { elapsed_seconds: 1.5, progress: Some("-> PollTrust"), status: None, gave_up: false };
        assert_eq!(serde_json::to_value(&line).expect("json"), json!({"elapsedSeconds": 1.5, "progress": "-> PollTrust", "gaveUp": false}));
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
