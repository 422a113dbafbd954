//! The commands. Kept out of `main` so the argument rules are unit-tested.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::HistoryEventType;
use serde_json::{json, Map, Value};
use trustflow_core::request::{execution_name, parse_request, TRUST_REQUESTED_DETAIL_TYPE};
use trustflow_core::WorkflowError;

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
                   [--request-id ID] [--notify-topic ARN] [--replace]) [--via sfn|events]
                   [--state-machine-arn ARN] [--bus NAME]
  trustctl status REQUEST_ID [--state-machine-arn ARN]
  trustctl watch REQUEST_ID [--state-machine-arn ARN] [--timeout SECONDS]";

/// Parsed options: repeated flags keep every value, in order.
#[derive(Debug, Default, PartialEq)]
pub struct Options {
    positional: Vec<String>,
    flags: BTreeMap<String, Vec<String>>,
}

const SWITCHES: &[&str] = &["--selective-auth", "--replace"];
const VALUED: &[&str] = &[
    "--file", "--directory-id", "--remote-domain", "--direction", "--secret-id", "--json-key", "--forwarder", "--trust-type",
    "--request-id", "--notify-topic", "--via", "--state-machine-arn", "--bus", "--timeout",
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

/// The request from `--file` or from flags, as JSON (not yet validated).
pub fn request_from(options: &Options) -> Result<Value, Failure> {
    if let Some(path) = options.one("--file") {
        let text = std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {path}: {e}")))?;
        return serde_json::from_str(&text).map_err(|e| Failure { code: 2, message: format!("{path} is not valid JSON: {e}") });
    }
    let mut request = Map::new();
    let id = options.one("--request-id").map(str::to_owned).unwrap_or_else(|| format!("cli-{}", std::process::id()));
    request.insert("requestId".into(), json!(id));
    for (flag, field) in [("--directory-id", "directoryId"), ("--remote-domain", "remoteDomainName"), ("--direction", "trustDirection"), ("--trust-type", "trustType")] {
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
    Ok(Value::Object(request))
}

/// The execution ARN of a request, from the state machine's ARN.
pub fn execution_arn(state_machine_arn: &str, request_id: &str) -> String {
    format!("{}:{}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1), execution_name(request_id))
}

/// Runs the command line; `Ok` carries the exit code.
pub async fn run(args: &[String]) -> Result<ExitCode, Failure> {
    let Some((command, rest)) = args.split_first() else { return Err(usage("no command given")) };
    let options = parse_options(rest)?;
    match command.as_str() {
        "request" => request(&options).await,
        "status" => status(&options).await,
        "watch" => watch(&options).await,
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

fn request_id(options: &Options) -> Result<&str, Failure> {
    match options.positional.as_slice() {
        [id] => Ok(id),
        _ => Err(usage("give exactly one REQUEST_ID")),
    }
}

async fn request(options: &Options) -> Result<ExitCode, Failure> {
    let raw = request_from(options)?;
    // The same rules as the validation Lambda, before anything is sent.
    let parsed = parse_request(&raw).map_err(|error| match error {
        WorkflowError::ValidationFailed(violations) => Failure {
            code: 2,
            message: format!(
                "the request was not sent:\n{}",
                violations.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n")
            ),
        },
        other => Failure { code: 2, message: format!("the request was not sent: {other}") },
    })?;
    let config = config().await;
    match options.one("--via").unwrap_or("sfn") {
        "sfn" => {
            let arn = state_machine(options)?;
            let client = aws_sdk_sfn::Client::new(&config);
            let name = execution_name(&parsed.request_id);
            match client.start_execution().state_machine_arn(&arn).name(&name).input(raw.to_string()).send().await {
                Ok(started) => println!("started {} for request {}", started.execution_arn(), parsed.request_id),
                Err(error) if error.as_service_error().is_some_and(|e| e.is_execution_already_exists()) => {
                    println!("request {} was already started: {}", parsed.request_id, execution_arn(&arn, &parsed.request_id));
                }
                Err(error) => return Err(aws("StartExecution", aws_sdk_sfn::error::DisplayErrorContext(error))),
            }
        }
        "events" => {
            let bus = options.setting("--bus", "TRUSTFLOW_EVENT_BUS").unwrap_or_else(|| "trustflow".to_owned());
            let client = trustflow_core::aws_sdk_eventbridge::Client::new(&config);
            let entry = trustflow_core::aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(&bus)
                .source("trustctl")
                .detail_type(TRUST_REQUESTED_DETAIL_TYPE)
                .detail(raw.to_string())
                .build();
            let output = client
                .put_events()
                .entries(entry)
                .send()
                .await
                .map_err(|e| aws("PutEvents", trustflow_core::aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
            if output.failed_entry_count() > 0 {
                return Err(aws("PutEvents", "the event was not accepted"));
            }
            println!("sent request {} to event bus {bus}", parsed.request_id);
        }
        other => return Err(usage(format!("--via must be sfn or events, not {other:?}"))),
    }
    Ok(ExitCode::SUCCESS)
}

/// What a finished or running execution says about the request.
struct Report {
    status: String,
    announcement: Option<String>,
    trust_id: Option<String>,
    trust_state: Option<String>,
}

/// Describes the execution and reads its history once; returns both.
async fn report(client: &aws_sdk_sfn::Client, arn: &str, id: &str) -> Result<(Report, Vec<aws_sdk_sfn::types::HistoryEvent>), Failure> {
    let described = match client.describe_execution().execution_arn(arn).send().await {
        Ok(described) => described,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_execution_does_not_exist()) => {
            return Err(Failure { code: 4, message: format!("no trust request {id:?} was started on this state machine") });
        }
        Err(error) => return Err(aws("DescribeExecution", aws_sdk_sfn::error::DisplayErrorContext(error))),
    };
    let mut report = Report { status: described.status().as_str().to_owned(), announcement: None, trust_id: None, trust_state: None };
    // The notifier's result is the last word: find it (and the latest trust status) in the history.
    let events = history(client, arn).await?;
    for event in &events {
        if let Some(output) = event.task_succeeded_event_details().and_then(|d| d.output()) {
            let payload = serde_json::from_str::<Value>(output).ok().and_then(|o| o.get("Payload").cloned()).unwrap_or(Value::Null);
            if let Some(announcement) = payload.get("announcement").and_then(Value::as_str) {
                report.announcement = Some(announcement.to_owned());
            }
            if let Some(status) = payload.get("status") {
                report.trust_id = status.get("trustId").and_then(Value::as_str).map(str::to_owned);
                report.trust_state = status.get("trustState").and_then(Value::as_str).map(str::to_owned);
            }
        }
    }
    Ok((report, events))
}

async fn history(client: &aws_sdk_sfn::Client, arn: &str) -> Result<Vec<aws_sdk_sfn::types::HistoryEvent>, Failure> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(arn)
            .set_next_token(token.take())
            .max_results(1000)
            .send()
            .await
            .map_err(|e| aws("GetExecutionHistory", aws_sdk_sfn::error::DisplayErrorContext(e)))?;
        events.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(events),
        }
    }
}

fn print_report(id: &str, report: &Report) {
    let requester_view = match (report.status.as_str(), report.announcement.as_deref()) {
        ("RUNNING", Some("awaitingRemoteSide")) => "awaiting remote side",
        ("RUNNING", _) => "running",
        (_, Some("verified")) | (_, Some("alreadyInPlace")) => "verified",
        (_, Some("rejected")) => "rejected",
        _ => "failed",
    };
    println!("request:     {id}");
    println!("status:      {requester_view} (execution {})", report.status);
    if let Some(announcement) = &report.announcement {
        println!("announced:   {announcement}");
    }
    if let Some(trust) = &report.trust_id {
        println!("trust:       {trust} ({})", report.trust_state.as_deref().unwrap_or("unknown state"));
    }
}

fn exit_for(report: &Report) -> ExitCode {
    if report.status == "SUCCEEDED" || report.status == "RUNNING" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

async fn status(options: &Options) -> Result<ExitCode, Failure> {
    let id = request_id(options)?;
    let arn = execution_arn(&state_machine(options)?, id);
    let client = aws_sdk_sfn::Client::new(&config().await);
    let (report, _) = report(&client, &arn, id).await?;
    print_report(id, &report);
    Ok(exit_for(&report))
}

/// A line of progress for one history event, if it says something a person follows.
fn progress(event: &aws_sdk_sfn::types::HistoryEvent) -> Option<String> {
    if let Some(entered) = event.state_entered_event_details() {
        return Some(format!("-> {}", entered.name()));
    }
    match event.r#type() {
        HistoryEventType::TaskFailed => {
            let details = event.task_failed_event_details()?;
            let cause = details.cause().unwrap_or_default();
            let message = serde_json::from_str::<Value>(cause)
                .ok()
                .and_then(|c| c.get("errorMessage").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| cause.to_owned());
            Some(format!("   {}: {message}", details.error().unwrap_or("error")))
        }
        HistoryEventType::ExecutionSucceeded => Some("== succeeded".to_owned()),
        HistoryEventType::ExecutionFailed => Some("== failed".to_owned()),
        HistoryEventType::ExecutionTimedOut => Some("== timed out".to_owned()),
        HistoryEventType::ExecutionAborted => Some("== aborted".to_owned()),
        _ => None,
    }
}

async fn watch(options: &Options) -> Result<ExitCode, Failure> {
    let id = request_id(options)?;
    let arn = execution_arn(&state_machine(options)?, id);
    let limit = match options.one("--timeout") {
        None => Duration::from_secs(48 * 3600),
        Some(text) => Duration::from_secs(text.parse().map_err(|_| usage(format!("--timeout must be whole seconds, not {text:?}")))?),
    };
    let client = aws_sdk_sfn::Client::new(&config().await);
    let started = Instant::now();
    let mut shown = 0;
    loop {
        let (report, events) = report(&client, &arn, id).await?;
        for event in events.iter().skip(shown) {
            if let Some(line) = progress(event) {
                println!("{:>7.1}s {line}", started.elapsed().as_secs_f32());
            }
        }
        shown = events.len();
        if report.status != "RUNNING" {
            print_report(id, &report);
            return Ok(exit_for(&report));
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
        assert_eq!(request.on_existing_trust, trustflow_core::request::ExistingTrustPolicy::Replace);
    }

    #[test]
    fn rejects_unknown_options_and_missing_values() {
        assert_eq!(parse_options(&args("--colour red")).expect_err("unknown").code, 2);
        assert!(parse_options(&args("--file")).expect_err("no value").message.contains("--file needs a value"));
    }

    #[test]
    fn derives_the_execution_arn_from_the_request_id() {
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:trust-workflow", "REQ-1"),
            "arn:aws:states:us-east-1:123456789012:execution:trust-workflow:trust-REQ-1"
        );
    }
}
