//! `trustctl`: request a trust relationship from trustflow, follow it, read its status.
//!
//! ```text
//! trustctl request --file request.json [--via sfn|events|api] [--state-machine-arn ARN] [--bus NAME] [--api-url URL]
//! trustctl request --directory-id d-1234567890 --remote-domain corp.example.com --direction two-way \
//!                  --secret-id trustflow/corp --forwarder 172.16.10.153 [--json-key K] [--request-id ID] ...
//! trustctl status REQUEST_ID [--via sfn|api] [--output text|json]
//! trustctl watch REQUEST_ID [--via sfn|api] [--timeout SECONDS] [--poll-interval SECONDS]
//! trustctl --help, trustctl COMMAND --help, trustctl completions bash|zsh|fish
//! ```
//! It uses the standard AWS configuration (environment, profiles, `AWS_ENDPOINT_URL` for the local
//! stack), with `--profile` and `--region` on top. The state machine, bus and API can also come from
//! `TRUSTFLOW_STATE_MACHINE_ARN`, `TRUSTFLOW_EVENT_BUS` and `TRUSTFLOW_API_URL` (the stack's
//! `TrustApiUrl` output); requests to the API are signed with SigV4 like any IAM-authorised API
//! Gateway call. Exit codes: 0 done (or started), 1 the trust was not established, 2 bad request or
//! usage, 3 AWS error, 4 no such request, 5 `watch` gave up waiting.

mod api;
mod cli;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // clap prints help and version to stdout (exit 0) and usage errors to stderr (exit 2).
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(cli::EXIT_USAGE));
        }
    };
    match cli::run(cli).await {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("trustctl: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
