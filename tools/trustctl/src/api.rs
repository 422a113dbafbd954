//! The trust-request API (`TrustApiUrl` of the stack), called with SigV4 like any IAM-authorised
//! API Gateway API: the caller's standard AWS credentials sign each request for `execute-api`.

use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Why a call to the API did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials or Region in the AWS configuration.
    #[error("{0}")]
    Config(String),
    /// The URL or the request could not be built or signed.
    #[error("{0}")]
    Request(String),
    /// The API could not be reached.
    #[error("could not reach {url}: {reason}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
}

/// An answer of the API: HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// A signed-request client of the trust-request API.
pub struct TrustApi {
    /// `TrustApiUrl`: `https://ID.execute-api.REGION.amazonaws.com/v1/trust-requests`.
    url: String,
    config: aws_config::SdkConfig,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl TrustApi {
    /// A client of the API at `url` (the stack's `TrustApiUrl` output), signing with `config`'s credentials.
    pub fn new(url: &str, config: aws_config::SdkConfig) -> Result<Self, ApiError> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ApiError::Request(format!("the API URL must start with https:// (got {url:?})")));
        }
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| ApiError::Config(format!("no TLS root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self { url: url.trim_end_matches('/').to_owned(), config, client })
    }

    /// `POST /trust-requests` with the request as the body.
    pub async fn start(&self, request: &str) -> Result<Answer, ApiError> {
        self.send("POST", self.url.clone(), request.as_bytes().to_vec()).await
    }

    /// `POST /trust-removals` with the removal request as the body (the API URL's sibling resource).
    pub async fn remove(&self, removal: &str) -> Result<Answer, ApiError> {
        let Some(base) = self.url.strip_suffix("/trust-requests") else {
            return Err(ApiError::Request(format!(
                "the API URL must end in /trust-requests (the stack's TrustApiUrl), not {:?}",
                self.url
            )));
        };
        self.send("POST", format!("{base}/trust-removals"), removal.as_bytes().to_vec()).await
    }

    /// `GET /trust-requests/{id}`.
    pub async fn status(&self, request_id: &str) -> Result<Answer, ApiError> {
        // Request ids are letters, digits, '-', '_' and '.' (checked before this is called): nothing to escape.
        self.send("GET", format!("{}/{request_id}", self.url), Vec::new()).await
    }

    /// `POST /trust-requests/{id}/remote-side-ready`.
    pub async fn remote_side_ready(&self, request_id: &str) -> Result<Answer, ApiError> {
        self.send("POST", format!("{}/{request_id}/remote-side-ready", self.url), Vec::new()).await
    }

    async fn send(&self, method: &str, url: String, body: Vec<u8>) -> Result<Answer, ApiError> {
        let credentials = self
            .config
            .credentials_provider()
            .ok_or_else(|| ApiError::Config("no AWS credentials are configured".to_owned()))?
            .provide_credentials()
            .await
            .map_err(|e| ApiError::Config(format!("AWS credentials could not be loaded: {e}")))?;
        let region = self.config.region().ok_or_else(|| ApiError::Config("no AWS Region is configured (AWS_REGION)".to_owned()))?;
        let mut request = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| ApiError::Request(format!("bad API URL {url:?}: {e}")))?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region.as_ref())
            .name("execute-api")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| ApiError::Request(format!("cannot sign the request: {e}")))?
            .into();
        let headers = request.headers().iter().filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
        let signable = SignableRequest::new(method, &url, headers, SignableBody::Bytes(&body))
            .map_err(|e| ApiError::Request(format!("cannot sign the request: {e}")))?;
        let (instructions, _) =
            sign(signable, &params).map_err(|e| ApiError::Request(format!("cannot sign the request: {e}")))?.into_parts();
        instructions.apply_to_request_http1x(&mut request);
        let response =
            self.client.request(request).await.map_err(|e| ApiError::Unreachable { url: url.clone(), reason: error_chain(&e) })?;
        let status = response.status().as_u16();
        let bytes =
            response.into_body().collect().await.map_err(|e| ApiError::Unreachable { url: url.clone(), reason: e.to_string() })?.to_bytes();
        Ok(Answer { status, body: String::from_utf8_lossy(&bytes).into_owned() })
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
