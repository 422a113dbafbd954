//! Lambda entry point: set-up only. The logic is in the library.

use create_trust::create_trust;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde::Deserialize;
use trustflow_core::aws::{load_sdk_config, SdkDirectory, SdkSecrets};
use trustflow_core::plan::Plan;

/// The Task's payload: the plan made by the validation step.
#[derive(Deserialize)]
struct CreateTrustInput {
    plan: Plan,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_core::telemetry::init_json_logs();
    let config = load_sdk_config().await;
    let directory = SdkDirectory::new(&config);
    let secrets = SdkSecrets::new(&config);
    let (directory, secrets) = (&directory, &secrets);

    run(service_fn(move |event: LambdaEvent<CreateTrustInput>| async move {
        let result = create_trust(event.payload.plan, directory, secrets).await;
        if let Err(error) = &result {
            tracing::warn!(error_name = error.name(), error = %error, "trust creation failed");
        }
        result
    }))
    .await
}
