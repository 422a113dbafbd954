//! The shared SDK configuration, loaded once per process.

/// Loads the shared SDK configuration (Region, credentials, endpoint) once, at cold start.
///
/// Lambda always sets the Region and the function role's credentials as environment variables,
/// so when they are there the configuration is built from them directly: the default chain's
/// profile-file and container/IMDS probing cost about 3 ms of a 7 ms cold start (docs/benchmarks.md).
/// `AWS_ENDPOINT_URL` is honoured (the local stack and the tests point it at the emulator).
/// Anywhere else, the SDK's default chain is used (the local stack relies on its profile-file
/// `credential_process` to give each function its own role's session).
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let region = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty());
    let has_credentials = std::env::var_os("AWS_ACCESS_KEY_ID").is_some() && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some();
    match region {
        Some(region) if has_credentials => {
            let mut config = aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(region))
                .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()));
            if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
                config = config.endpoint_url(endpoint);
            }
            config.build()
        }
        _ => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
    }
}
