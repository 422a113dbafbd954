//! Helpers for integration tests that run the real SDK adapters against the emulator
//! (`scripts/test.sh` starts it, seeds fixtures and exports their ids).

/// A fixture id exported by the test script; panics with the way to run the tests when absent,
/// so these tests fail loudly instead of passing vacuously outside the harness.
pub fn fixture(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the integration tests through scripts/test.sh, which starts the emulated AWS"))
}

/// The SDK configuration, pointed at the emulator by `AWS_ENDPOINT_URL`.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let _ = fixture("AWS_ENDPOINT_URL");
    crate::config::load_sdk_config().await
}
