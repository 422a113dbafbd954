//! Lambda entry point: set-up only. The logic is in the library.

use create_trust::create_trust;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use trustflow_aws::{load_sdk_config, SdkDirectory, SdkOtherAccounts, SdkSecrets};
use trustflow_domain::handoff::CreateInput;
use trustflow_domain::settings;
use trustflow_domain::WorkflowError;
use trustflow_lambda::telemetry::{invocation_span, log_failure};
use trustflow_lambda::StepFailure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let config = load_sdk_config().await;
    let directory = SdkDirectory::new(&config);
    let secrets = SdkSecrets::new(&config);
    // The other directory of a pair in another account, through the request's role there.
    let accounts = SdkOtherAccounts::new(
        &config,
        settings::optional("REMOTE_ROLE_EXTERNAL_ID"),
        &settings::or_default("AWS_LAMBDA_FUNCTION_NAME", "create-trust"),
    );
    let (directory, accounts, secrets) = (&directory, &accounts, &secrets);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            let input: CreateInput = serde_json::from_value(event.payload)
                .map_err(|error| StepFailure(WorkflowError::Internal(format!("the Task payload has no plan: {error}"))))?;
            let result = create_trust(input.plan, directory, accounts, secrets).await;
            match &result {
                Ok(plan) => {
                    tracing::info!(trust_id = plan.trust_id.as_deref().unwrap_or(""), action = ?plan.action, "trust created or followed")
                }
                Err(error) => log_failure(error, "trust creation failed"),
            }
            result.map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}
