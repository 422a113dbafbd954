//! Lambda entry point: set-up only. The logic is in the library.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use notify_requester::{metric_lines, notify, NotifyInput, Settings};
use serde_json::Value;
use tracing::Instrument;
use trustflow_aws::{load_sdk_config, SdkNetwork, SdkNotifier};
use trustflow_domain::settings;
use trustflow_domain::WorkflowError;
use trustflow_lambda::telemetry::{invocation_span, log_failure};
use trustflow_lambda::StepFailure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let config = load_sdk_config().await;
    let settings = Settings {
        default_topic_arn: settings::required("NOTIFICATION_TOPIC_ARN")?,
        event_bus: settings::or_default("RESULT_EVENT_BUS", "default"),
        event_source: settings::or_default("RESULT_EVENT_SOURCE", "trustflow"),
        region: config.region().map(|r| r.to_string()).ok_or("configuration error: no AWS Region (AWS_REGION) is set")?,
    };
    let notifier = SdkNotifier::new(&config);
    let network = SdkNetwork::new(&config);
    let (settings, notifier, network) = (&settings, &notifier, &network);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            let input: NotifyInput = serde_json::from_value(event.payload)
                .map_err(|error| StepFailure(WorkflowError::Internal(format!("the Task payload cannot be read: {error}"))))?;
            let result = notify(&input, settings, notifier, network, trustflow_domain::time::OffsetDateTime::now_utc()).await;
            match &result {
                Ok(sent) => {
                    tracing::info!(announcement = ?sent.announcement, topics = sent.topics.len(), "requester notified");
                    // Embedded metric format: printed as is, one object per line (see metric_lines).
                    for line in metric_lines(&input, sent, trustflow_domain::time::OffsetDateTime::now_utc()) {
                        println!("{line}");
                    }
                }
                Err(error) => log_failure(error, "notification failed"),
            }
            result.map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}
