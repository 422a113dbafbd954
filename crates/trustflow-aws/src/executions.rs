//! Step Functions over the AWS SDK: starting a request's execution, and reading where it stands.

use trustflow_domain::status::{execution_arn, summarise, ExecutionSummary, HistoryRecord, RequestStatus};
use trustflow_domain::WorkflowError;

use trustflow_domain::ready::TaskToken;

use crate::ports::{ExecutionReader, ExecutionStarter, StartOutcome, SubmitError, TaskAnswer, TaskCallbacks};
use crate::sdk_error::{classify_sdk_error, error_code};

/// Why a status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No execution for this request id on this state machine.
    #[error("no trust request with this id was started")]
    NotFound,
    /// Step Functions could not be read (the inner error says whether it may pass).
    #[error(transparent)]
    Aws(WorkflowError),
}

/// Describes the request's execution and reads its history once; returns the view and the history.
pub async fn read_status(
    reader: &impl ExecutionReader,
    state_machine_arn: &str,
    request_id: &str,
) -> Result<(RequestStatus, Vec<HistoryRecord>), StatusError> {
    let arn = execution_arn(state_machine_arn, request_id);
    let execution = reader.describe(&arn).await.map_err(StatusError::Aws)?.ok_or(StatusError::NotFound)?;
    let history = reader.history(&arn).await.map_err(StatusError::Aws)?;
    Ok((summarise(request_id, &execution, &history), history))
}

/// Step Functions over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkExecutions(pub aws_sdk_sfn::Client);

impl SdkExecutions {
    /// A Step Functions client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_sfn::Client::new(config))
    }
}

fn rfc3339(at: &aws_smithy_types::DateTime) -> Option<String> {
    at.fmt(aws_smithy_types::date_time::Format::DateTime).ok()
}

impl ExecutionReader for SdkExecutions {
    async fn describe(&self, execution_arn: &str) -> Result<Option<ExecutionSummary>, WorkflowError> {
        let described = match self.0.describe_execution().execution_arn(execution_arn).send().await {
            Ok(described) => described,
            Err(error) if error_code(&error) == Some("ExecutionDoesNotExist") => return Ok(None),
            Err(error) => return Err(classify_sdk_error("DescribeExecution", error, str::to_owned)),
        };
        Ok(Some(ExecutionSummary {
            status: described.status().as_str().to_owned(),
            error: described.error().map(str::to_owned),
            start_date: rfc3339(described.start_date()),
            stop_date: described.stop_date().and_then(rfc3339),
        }))
    }

    async fn history(&self, execution_arn: &str) -> Result<Vec<HistoryRecord>, WorkflowError> {
        let mut records = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .0
                .get_execution_history()
                .execution_arn(execution_arn)
                .max_results(1000)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|error| classify_sdk_error("GetExecutionHistory", error, str::to_owned))?;
            records.extend(page.events().iter().map(|event| {
                HistoryRecord {
                    event_type: event.r#type().as_str().to_owned(),
                    entered_state: event.state_entered_event_details().map(|d| d.name().to_owned()),
                    task_output: event.task_succeeded_event_details().and_then(|d| d.output()).map(str::to_owned),
                    task_failure: event
                        .task_failed_event_details()
                        .map(|d| (d.error().unwrap_or_default().to_owned(), d.cause().unwrap_or_default().to_owned())),
                    task_parameters: event.task_scheduled_event_details().map(|d| d.parameters().to_owned()),
                }
            }));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(records),
            }
        }
    }
}

/// A Task that no longer waits for its token: it is not an error for whoever answers it (the
/// workflow has moved on, and its next step reads the trust again).
fn no_longer_waiting(code: Option<&str>) -> bool {
    matches!(code, Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken"))
}

impl TaskCallbacks for SdkExecutions {
    async fn succeed_task(&self, token: &TaskToken, output: &str) -> Result<TaskAnswer, WorkflowError> {
        match self.0.send_task_success().task_token(token.expose()).output(output).send().await {
            Ok(_) => Ok(TaskAnswer::Answered),
            Err(error) if no_longer_waiting(error_code(&error)) => Ok(TaskAnswer::NoLongerWaiting),
            // The message never carries the token: the SDK's error text does not include inputs.
            Err(error) => Err(classify_sdk_error("SendTaskSuccess", error, str::to_owned)),
        }
    }

    async fn fail_task(&self, token: &TaskToken, error_name: &str, cause: &str) -> Result<TaskAnswer, WorkflowError> {
        match self.0.send_task_failure().task_token(token.expose()).error(error_name).cause(cause).send().await {
            Ok(_) => Ok(TaskAnswer::Answered),
            Err(error) if no_longer_waiting(error_code(&error)) => Ok(TaskAnswer::NoLongerWaiting),
            Err(error) => Err(classify_sdk_error("SendTaskFailure", error, str::to_owned)),
        }
    }
}

/// StartExecution and DescribeExecution for the entrance, over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkStarter(pub aws_sdk_sfn::Client);

impl ExecutionStarter for SdkStarter {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &str) -> Result<StartOutcome, SubmitError> {
        match self.0.start_execution().state_machine_arn(state_machine_arn).name(name).input(input).send().await {
            Ok(output) => Ok(StartOutcome::Started(output.execution_arn().to_owned())),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_execution_already_exists()) => Ok(StartOutcome::AlreadyExists),
            Err(error) if matches!(error_code(&error), Some("ThrottlingException" | "Throttling" | "TooManyRequestsException")) => {
                Err(SubmitError::Throttled)
            }
            Err(error) => Err(classify_sdk_error("StartExecution", error, str::to_owned).into()),
        }
    }

    async fn input_of(&self, execution_arn: &str) -> Result<Option<String>, SubmitError> {
        match self.0.describe_execution().execution_arn(execution_arn).send().await {
            Ok(output) => Ok(Some(output.input().unwrap_or("{}").to_owned())),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_execution_does_not_exist()) => Ok(None),
            Err(error) => Err(classify_sdk_error("DescribeExecution", error, str::to_owned).into()),
        }
    }
}

impl SdkStarter {
    /// A Step Functions client from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self(aws_sdk_sfn::Client::new(config))
    }
}
