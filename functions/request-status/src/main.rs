//! Lambda entry point: set-up only. The logic is in the library.

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use request_status::handle_get;
use tracing::Instrument;
use trustflow_aws::load_sdk_config;
use trustflow_aws::SdkExecutions;
use trustflow_domain::settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let state_machine_arn = settings::required("STATE_MACHINE_ARN")?;
    let config = load_sdk_config().await;
    let executions = SdkExecutions::new(&config);
    let (state_machine_arn, executions) = (&state_machine_arn, &executions);

    run(service_fn(move |event: LambdaEvent<ApiGatewayProxyRequest>| {
        let id = event.payload.path_parameters.get("id").cloned().unwrap_or_default();
        let span = tracing::info_span!("invocation", requestId = id.as_str());
        async move {
            let response = handle_get(&event.payload, executions, state_machine_arn).await;
            tracing::info!(status_code = response.status_code, "status read");
            Ok::<_, Error>(response)
        }
        .instrument(span)
    }))
    .await
}
