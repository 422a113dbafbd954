//! Lambda entry point: set-up only. The logic is in the library.

use check_trust::{remove_trust, run_check, Settings, DEFAULT_REMOTE_SIDE_WINDOW_SECONDS};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use trustflow_aws::{load_sdk_config, SdkDirectory, SdkExecutions, SdkOtherAccounts};
use trustflow_domain::handoff::CheckStep;
use trustflow_domain::settings;
use trustflow_domain::WorkflowError;
use trustflow_lambda::telemetry::{invocation_span, log_failure};
use trustflow_lambda::StepFailure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let settings = Settings {
        remote_side_window_seconds: settings::seconds("REMOTE_SIDE_WINDOW_SECONDS", DEFAULT_REMOTE_SIDE_WINDOW_SECONDS)?,
        delete_failed_trusts: settings::flag("DELETE_FAILED_TRUSTS", false)?,
    };
    let config = load_sdk_config().await;
    let directory = SdkDirectory::new(&config);
    // The other directory of a pair in another account, through the request's role there.
    let accounts = SdkOtherAccounts::new(
        &config,
        settings::optional("REMOTE_ROLE_EXTERNAL_ID"),
        &settings::or_default("AWS_LAMBDA_FUNCTION_NAME", "check-trust"),
    );
    // Step Functions, to answer the waiting Task with the trust's verdict (SendTaskSuccess).
    let callbacks = SdkExecutions::new(&config);
    let (settings, directory, accounts, callbacks) = (&settings, &directory, &accounts, &callbacks);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            let step: CheckStep = serde_json::from_value(event.payload)
                .map_err(|error| StepFailure(WorkflowError::Internal(format!("the Task payload is not a check: {error}"))))?;
            let now = trustflow_domain::time::OffsetDateTime::now_utc();
            // Boxed: the check's future (this side, then a pair's other side) is deep enough to
            // overflow the compiler's layout query in a release build when nested inline in the
            // runtime's service future.
            let (mode, result) = match step {
                CheckStep::Trust(input) => {
                    let mode = input.mode;
                    (mode, Box::pin(run_check(*input, settings, directory, accounts, callbacks, now)).await.map(|out| (out.status.clone(), json(&out))))
                }
                CheckStep::Removal(input) => {
                    let mode = input.mode;
                    (mode, Box::pin(remove_trust(*input, directory, accounts, now)).await.map(|out| (out.status.clone(), json(&out))))
                }
            };
            match &result {
                Ok((status, _)) => {
                    tracing::info!(?mode, trust_id = %status.trust_id, state = %status.trust_state, outcome = ?status.outcome, "trust checked")
                }
                Err(error) => log_failure(error, "trust checked"),
            }
            result.and_then(|(_, output)| output).map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}

/// The step's result as the state machine receives it.
fn json(output: &impl serde::Serialize) -> Result<Value, WorkflowError> {
    serde_json::to_value(output).map_err(|error| WorkflowError::Internal(format!("the step's result cannot be written: {error}")))
}
