//! Logging set-up shared by the Lambdas: one JSON object per line, as Lambda's JSON log format
//! expects from a custom runtime.
//!
//! Each line has an RFC 3339 `timestamp` and a `level`: with `ApplicationLogLevel` set, Lambda
//! filters a custom runtime's JSON lines by that `level`, and treats a line without a valid RFC 3339
//! `timestamp` as INFO, so that with WARN or ERROR it would drop every error line. The event's fields
//! sit at the top level (not nested), followed by the fields of the spans it happened in: the
//! trust request id, the Step Functions execution id and the Lambda request id are on every line of
//! an invocation.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Record};
use tracing::{Event, Id, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

use trustflow_domain::WorkflowError;

/// The span the Lambda runtime opens for each invocation calls the Lambda request id `requestId`;
/// trustflow's `requestId` is the trust request's id, so the runtime's becomes `lambdaRequestId`.
const RENAMED_SPAN_FIELDS: &[(&str, &str)] = &[("requestId", "lambdaRequestId")];

/// Name of the Lambda runtime's invocation span.
const RUNTIME_SPAN: &str = "Lambda runtime invoke";

/// The Lambda runtime logs every handler error at ERROR with its debug form, including "still
/// pending" (`TrustPending`), which is how the state machine polls. The handlers log their own
/// outcomes at the right level instead (see [`log_failure`]), so that target is switched off.
const QUIET_TARGETS: &str = "lambda_runtime::layers::panic=off";

/// JSON lines to stdout (CloudWatch), level from `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL`, default `info`.
pub fn init_json_logs() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_ascii_lowercase();
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{level},{QUIET_TARGETS}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("info,{QUIET_TARGETS}")));
    tracing_subscriber::registry().with(filter).with(JsonLines::new(std::io::stdout)).init();
}

/// Logs a handler's error at the level it deserves: "still pending" is progress (INFO), a fault of
/// trustflow itself is ERROR, anything the requester or AWS must fix is WARN.
pub fn log_failure(error: &WorkflowError, what: &str) {
    let name = error.name();
    match error {
        WorkflowError::TrustPending(_) | WorkflowError::TrustAwaitingRemoteSide(_) => {
            tracing::info!(error_name = name, error = %error, "{what}: not settled yet")
        }
        WorkflowError::Internal(_) => tracing::error!(error_name = name, error = %error, "{what}"),
        _ => tracing::warn!(error_name = name, error = %error, "{what}"),
    }
}

/// The span of one invocation: the trust request id and the execution id found in the payload.
/// Step Functions passes `executionId` (from `$$.Execution.Id`) in every Task's payload.
pub fn invocation_span(payload: &Value) -> tracing::Span {
    let request_id = [
        "/requestId",
        "/detail/requestId",
        "/plan/request/requestId",
        "/request/requestId",
        "/request/detail/requestId",
        "/pathParameters/id",
        "/state/plan/request/requestId",
    ]
    .iter()
    .find_map(|pointer| payload.pointer(pointer).and_then(Value::as_str))
    .unwrap_or_default();
    let execution_id = payload.get("executionId").and_then(Value::as_str).unwrap_or_default();
    tracing::info_span!("invocation", requestId = request_id, executionId = execution_id)
}

/// A layer that writes each event as one JSON object on one line.
pub struct JsonLines<W> {
    make_writer: W,
}

impl<W> JsonLines<W> {
    /// Writes to what `make_writer` returns (stdout in the Lambdas, a buffer in tests).
    pub fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// A span's fields, kept in its extensions until its events are written.
struct SpanFields(BTreeMap<String, Value>);

struct Fields<'a>(&'a mut BTreeMap<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), Value::from(format!("{value:?}")));
    }
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        if attrs.metadata().name() == RUNTIME_SPAN {
            for (from, to) in RENAMED_SPAN_FIELDS {
                if let Some(value) = fields.remove(*from) {
                    fields.insert((*to).to_owned(), value);
                }
            }
        }
        // An empty field (a request id the payload did not have) says nothing: leave it out.
        fields.retain(|_, value| value.as_str() != Some(""));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(SpanFields(fields)) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut Fields(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Map::new();
        line.insert("timestamp".to_owned(), Value::from(now_rfc3339_millis()));
        line.insert("level".to_owned(), Value::from(event.metadata().level().as_str()));
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        if let Some(message) = fields.remove("message") {
            line.insert("message".to_owned(), message);
        }
        line.extend(fields);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                    for (key, value) in span_fields {
                        line.entry(key.clone()).or_insert_with(|| value.clone());
                    }
                }
            }
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        // A log line that cannot be written has nowhere to be reported.
        let _ = self.make_writer.make_writer().write_all(text.as_bytes());
    }
}

/// Current time as RFC 3339 with milliseconds, for log lines.
fn now_rfc3339_millis() -> String {
    let now = time::OffsetDateTime::now_utc();
    let millis = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000).unwrap_or(now);
    millis.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;
    use trustflow_domain::times::parse_rfc3339;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(run: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(format!("info,{QUIET_TARGETS}")))
            .with(JsonLines::new(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(buffer.0.lock().map(|b| b.clone()).unwrap_or_default()).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).expect("each line is one JSON object")).collect()
    }

    #[test]
    fn every_line_has_an_rfc3339_timestamp_a_level_and_its_fields_at_the_top_level() {
        let logged = lines(|| tracing::warn!(trust_id = "t-1", attempts = 3, "trust creation failed"));
        assert_eq!(logged.len(), 1);
        let line = &logged[0];
        assert!(parse_rfc3339(line["timestamp"].as_str().unwrap_or_default()).is_some(), "{line}");
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "trust creation failed");
        assert_eq!((line["trust_id"].clone(), line["attempts"].clone()), (json!("t-1"), json!(3)));
        assert!(line.get("fields").is_none());
    }

    #[test]
    fn the_request_execution_and_lambda_request_ids_are_on_every_line_of_an_invocation() {
        let payload =
            json!({"plan": {"request": {"requestId": "REQ-9"}}, "executionId": "arn:aws:states:us-east-1:1:execution:m:trust-REQ-9"});
        let logged = lines(|| {
            let runtime = tracing::info_span!("Lambda runtime invoke", requestId = "lambda-req-1");
            let _runtime = runtime.enter();
            let invocation = invocation_span(&payload);
            let _invocation = invocation.enter();
            tracing::info!("first");
            tracing::error!("second");
        });
        assert_eq!(logged.len(), 2);
        for line in &logged {
            assert_eq!(line["requestId"], "REQ-9", "{line}");
            assert_eq!(line["executionId"], "arn:aws:states:us-east-1:1:execution:m:trust-REQ-9", "{line}");
            assert_eq!(line["lambdaRequestId"], "lambda-req-1", "{line}");
        }
    }

    #[test]
    fn still_pending_is_not_an_error_line_and_the_runtimes_copy_of_handler_errors_is_silenced() {
        let logged = lines(|| {
            log_failure(&WorkflowError::TrustPending("trust t-1 is Creating".to_owned()), "trust checked");
            log_failure(&WorkflowError::SecretUnavailable("no such secret".to_owned()), "trust creation failed");
            log_failure(&WorkflowError::Internal("no region".to_owned()), "trust creation failed");
            tracing::error!(target: "lambda_runtime::layers::panic", "TrustPending(\"trust t-1 is Creating\")");
        });
        let levels: Vec<&str> = logged.iter().map(|l| l["level"].as_str().unwrap_or_default()).collect();
        assert_eq!(levels, ["INFO", "WARN", "ERROR"]);
        assert_eq!(logged[0]["error_name"], "TrustPending");
    }
}
