//! Lambda entry point: set-up only. The logic is in the library.

use check_trust::{run_check, CheckInput, CheckOutput, Settings, DEFAULT_REMOTE_SIDE_WINDOW_SECONDS};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use trustflow_core::aws::{load_sdk_config, SdkDirectory};
use trustflow_core::settings;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_core::telemetry::init_json_logs();
    let settings = Settings {
        remote_side_window_seconds: settings::seconds("REMOTE_SIDE_WINDOW_SECONDS", DEFAULT_REMOTE_SIDE_WINDOW_SECONDS)?,
        delete_failed_trusts: settings::flag("DELETE_FAILED_TRUSTS", false)?,
    };
    let config = load_sdk_config().await;
    let directory = SdkDirectory::new(&config);
    let (settings, directory) = (&settings, &directory);

    run(service_fn(move |event: LambdaEvent<CheckInput>| async move {
        let mode = event.payload.mode;
        let result = run_check(event.payload, settings, directory, trustflow_core::time::OffsetDateTime::now_utc()).await;
        match &result {
            Ok(CheckOutput { status, .. }) => {
                tracing::info!(?mode, trust_id = %status.trust_id, state = %status.trust_state, outcome = ?status.outcome, "trust checked")
            }
            Err(error) => tracing::info!(?mode, error_name = error.name(), error = %error, "trust not settled yet"),
        }
        result
    }))
    .await
}
