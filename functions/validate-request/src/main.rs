//! Lambda entry point: set-up only. The logic is in the library.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use trustflow_core::aws::{load_sdk_config, SdkDirectory, SdkSecrets};
use trustflow_core::settings;
use trustflow_core::telemetry::{invocation_span, log_failure};
use validate_request::{plan_request, Settings, DEFAULT_DEADLINE_SECONDS};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_core::telemetry::init_json_logs();
    let config = load_sdk_config().await;
    let settings = Settings {
        region: config.region().map(|r| r.to_string()).ok_or("configuration error: no AWS Region (AWS_REGION) is set")?,
        deadline_seconds: settings::seconds("TRUST_DEADLINE_SECONDS", DEFAULT_DEADLINE_SECONDS)?,
    };
    let directory = SdkDirectory::new(&config);
    let secrets = SdkSecrets::new(&config);
    let (settings, directory, secrets) = (&settings, &directory, &secrets);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            // The state machine sends {"request": <what started the execution>, "executionId": ...}.
            let input = match event.payload.get("executionId") {
                Some(_) => event.payload.get("request").cloned().unwrap_or(Value::Null),
                None => event.payload,
            };
            let result = plan_request(&input, settings, directory, secrets, trustflow_core::time::OffsetDateTime::now_utc()).await;
            match &result {
                Ok(plan) => tracing::info!(
                    directory_id = %plan.request.directory_id,
                    remote_domain = %plan.request.remote_domain_name,
                    action = ?plan.action,
                    trust_id = plan.trust_id.as_deref().unwrap_or(""),
                    "trust request accepted"
                ),
                Err(error) => log_failure(error, "trust request rejected"),
            }
            result
        }
        .instrument(span)
    }))
    .await
}
