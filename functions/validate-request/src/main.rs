//! Lambda entry point: set-up only. The logic is in the library.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use trustflow_core::aws::{load_sdk_config, SdkDirectory, SdkSecrets};
use trustflow_core::settings;
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

    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let result = plan_request(&event.payload, settings, directory, secrets, trustflow_core::time::OffsetDateTime::now_utc()).await;
        match &result {
            Ok(plan) => tracing::info!(
                request_id = %plan.request.request_id,
                directory_id = %plan.request.directory_id,
                remote_domain = %plan.request.remote_domain_name,
                action = ?plan.action,
                trust_id = plan.trust_id.as_deref().unwrap_or(""),
                "trust request accepted"
            ),
            Err(error) => tracing::warn!(error_name = error.name(), error = %error, "trust request rejected"),
        }
        result
    }))
    .await
}
