//! Lambda entry point: set-up only. The logic is in the library.

use bytes::Bytes;
use directory_trust_resource::{handle, Deployment, Ports, ResponseSender};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use tracing::Instrument;
use trustflow_aws::{load_sdk_config, SdkDirectory, SdkExecutions, SdkPendingAnswers, SdkStarter};
use trustflow_domain::custom_resource::{ResponseUrl, WorkflowTimings};
use trustflow_domain::{settings, WorkflowError};
use trustflow_lambda::telemetry::{invocation_span, log_failure};
use trustflow_lambda::StepFailure;

/// The PUT to CloudFormation's presigned response URL.
struct HttpsResponder(Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>);

impl HttpsResponder {
    fn new() -> Result<Self, Error> {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)?
            // Plain HTTP only for an emulated CloudFormation on loopback; AWS's URLs are HTTPS.
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self(Client::builder(TokioExecutor::new()).build(connector)))
    }
}

impl ResponseSender for HttpsResponder {
    async fn send(&self, url: &ResponseUrl, body: &str) -> Result<(), WorkflowError> {
        // The URL is presigned for a PUT with no content type (the custom resource reference).
        let request = http::Request::builder()
            .method("PUT")
            .uri(url.expose())
            .header("content-type", "")
            .header("content-length", body.len())
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|_| WorkflowError::Internal("the response URL is not a valid URI".to_owned()))?;
        let response = self
            .0
            .request(request)
            .await
            .map_err(|error| WorkflowError::Transient(format!("CloudFormation's response URL did not answer: {error}")))?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(WorkflowError::Transient(format!("CloudFormation's response URL answered HTTP {status}")))
        }
    }
}

/// The template's default `ReverifyIntervalSeconds`.
const DEFAULT_REVERIFY_INTERVAL_SECONDS: u64 = 300;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    trustflow_lambda::telemetry::init_json_logs();
    let deployment = Deployment {
        state_machine_arn: settings::required("STATE_MACHINE_ARN")?,
        timings: WorkflowTimings {
            reverify_interval_seconds: settings::seconds("REVERIFY_INTERVAL_SECONDS", DEFAULT_REVERIFY_INTERVAL_SECONDS)?,
        },
    };
    let answers_prefix = settings::required("PENDING_ANSWER_SECRET_PREFIX")?;
    let config = load_sdk_config().await;
    let starter = SdkStarter::new(&config);
    let executions = SdkExecutions::new(&config);
    let directory = SdkDirectory::new(&config);
    let pending = SdkPendingAnswers::new(&config, answers_prefix);
    let responder = HttpsResponder::new()?;
    let ports = Ports { starter: &starter, executions: &executions, directory: &directory, pending: &pending, responder: &responder };
    let (ports, deployment) = (&ports, &deployment);

    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = invocation_span(&event.payload);
        async move {
            let result = Box::pin(handle(&event.payload, ports, deployment, trustflow_domain::time::OffsetDateTime::now_utc())).await;
            match &result {
                Ok(handled) => tracing::info!(handled = %handled.to_json(), "invocation handled"),
                Err(error) => log_failure(error, "CloudFormation resource request not handled"),
            }
            result.map(|handled| handled.to_json()).map_err(StepFailure)
        }
        .instrument(span)
    }))
    .await
}
