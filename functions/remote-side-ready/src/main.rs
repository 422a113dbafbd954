//! Lambda entry point: set-up only. The logic is in the library.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use remote_side_ready::{handle, BETWEEN_CHECKS_PAUSE};
use serde_json::Value;
use tracing::Instrument;
use trustflow_aws::{load_sdk_config, SdkExecutions};
use trustflow_domain::settings;
use trustflow_lambda::telemetry::{invocation_span, log_failure};
use trustflow_lambda::StepFailure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let state_machine_arn = settings::required("STATE_MACHINE_ARN")?;
    let config = load_sdk_config().await;
    let executions = SdkExecutions::new(&config);
    let (state_machine_arn, executions) = (&state_machine_arn, &executions);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            let now = trustflow_domain::time::OffsetDateTime::now_utc();
            // Boxed: the signal's future (status read, history, looks) is deep enough to overflow
            // the compiler's layout query when nested inline in the runtime's service future.
            let result = Box::pin(handle(&event.payload, executions, executions, state_machine_arn, now, BETWEEN_CHECKS_PAUSE)).await;
            if let Err(error) = &result {
                log_failure(error, "remote side ready signal not handled");
            }
            result.map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}
