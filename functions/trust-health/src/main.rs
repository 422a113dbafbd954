//! Lambda entry point: set-up only. The logic is in the library.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use trust_health::{check_health, HealthInput, Settings};
use trustflow_aws::{load_sdk_config, SdkDirectory, SdkNotifier};
use trustflow_domain::settings;
use trustflow_domain::WorkflowError;
use trustflow_lambda::telemetry::log_failure;
use trustflow_lambda::StepFailure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let settings = Settings {
        topic_arn: settings::required("NOTIFICATION_TOPIC_ARN")?,
        event_bus: settings::or_default("RESULT_EVENT_BUS", "default"),
        event_source: settings::or_default("RESULT_EVENT_SOURCE", "trustflow"),
        reverify: settings::flag("REVERIFY_TRUSTS", false)?,
    };
    let config = load_sdk_config().await;
    let directory = SdkDirectory::new(&config);
    let notifier = SdkNotifier::new(&config);
    let (settings, directory, notifier) = (&settings, &directory, &notifier);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = tracing::info_span!("invocation");
        async move {
            let input: HealthInput = serde_json::from_value(event.payload)
                .map_err(|error| StepFailure(WorkflowError::Internal(format!("the input must be {{\"directoryIds\": [...]}}: {error}"))))?;
            let result = check_health(&input, settings, directory, notifier, trustflow_domain::time::OffsetDateTime::now_utc()).await;
            match &result {
                Ok(found) => {
                    let changes: usize = found.iter().map(|d| d.changes.len()).sum();
                    tracing::info!(directories = found.len(), changes, "trust health checked");
                }
                Err(error) => log_failure(error, "trust health not checked"),
            }
            result.map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}
