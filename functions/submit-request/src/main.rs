//! Lambda entry point: set-up only. The logic is in the library.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use submit_request::submit;
use tracing::Instrument;
use trustflow_aws::load_sdk_config;
use trustflow_aws::SdkStarter;
use trustflow_domain::settings;
use trustflow_lambda::telemetry::{invocation_span, log_failure};
use trustflow_lambda::StepFailure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let state_machine_arn = settings::required("STATE_MACHINE_ARN")?;
    let config = load_sdk_config().await;
    let starter = SdkStarter::new(&config);
    let (state_machine_arn, starter) = (&state_machine_arn, &starter);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            let result = submit(&event.payload, starter, state_machine_arn).await;
            if let Err(error) = &result {
                log_failure(error, "trust request event not admitted");
            }
            result.map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}
