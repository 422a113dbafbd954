//! Lambda entry point: set-up only. The logic is in the library.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use trustflow_aws::{load_sdk_config, SdkDirectory, SdkNetwork, SdkOtherAccounts, SdkSecrets};
use trustflow_domain::handoff::ValidateInput;
use trustflow_domain::handoff::WorkflowPlan;
use trustflow_domain::settings;
use trustflow_domain::WorkflowError;
use trustflow_lambda::telemetry::{invocation_span, log_failure};
use trustflow_lambda::StepFailure;
use validate_request::{plan_workflow, Aws, Settings, DEFAULT_DEADLINE_SECONDS};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let config = load_sdk_config().await;
    let settings = Settings {
        region: config.region().map(|r| r.to_string()).ok_or("configuration error: no AWS Region (AWS_REGION) is set")?,
        deadline_seconds: settings::seconds("TRUST_DEADLINE_SECONDS", DEFAULT_DEADLINE_SECONDS)?,
        allowed_remote_roles: settings::list("ALLOWED_REMOTE_ROLE_ARNS"),
    };
    let directory = SdkDirectory::new(&config);
    let network = SdkNetwork::new(&config);
    let secrets = SdkSecrets::new(&config);
    // The other directory of a pair in another account, through the request's role there.
    let accounts = SdkOtherAccounts::new(
        &config,
        settings::optional("REMOTE_ROLE_EXTERNAL_ID"),
        &settings::or_default("AWS_LAMBDA_FUNCTION_NAME", "validate-request"),
    );
    let settings = &settings;
    let aws = Aws { directory: &directory, network: &network, secrets: &secrets, accounts: &accounts };

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            let input = serde_json::from_value::<ValidateInput>(event.payload)
                .map_err(|error| StepFailure(WorkflowError::Internal(format!("the Task payload cannot be read: {error}"))))?
                .into_request();
            let result = plan_workflow(&input, settings, aws, trustflow_domain::time::OffsetDateTime::now_utc()).await;
            match &result {
                Ok(WorkflowPlan::Trust(plan)) => tracing::info!(
                    directory_id = %plan.request.directory_id,
                    remote_domain = %plan.request.remote_domain_name,
                    action = ?plan.action,
                    trust_id = plan.trust_id.as_deref().unwrap_or(""),
                    "trust request accepted"
                ),
                Ok(WorkflowPlan::Removal(plan)) => tracing::info!(
                    directory_id = %plan.removal.directory_id,
                    remote_domain = %plan.removal.remote_domain_name,
                    action = ?plan.action,
                    trust_id = plan.trust.as_ref().map(|t| t.trust_id.as_str()).unwrap_or(""),
                    "trust removal accepted"
                ),
                Err(error) => log_failure(error, "trust request rejected"),
            }
            result.map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}
