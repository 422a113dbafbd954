//! `GET /trust-requests/{id}`: where a trust request stands, read from its Step Functions execution.
//!
//! A Lambda proxy integration, because DescribeExecution alone cannot tell "awaiting remote side"
//! from "running". The view itself (`trustflow_domain::status`) and the reading of the execution
//! (`trustflow_aws::read_status`) are shared with `trustctl status` / `trustctl watch`.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use serde_json::{json, Value};
use trustflow_aws::ports::ExecutionReader;
use trustflow_aws::{read_status, StatusError};
use trustflow_domain::request::check_request_id;
use trustflow_domain::WorkflowError;
use trustflow_lambda::api::json_response as respond;

/// Handles `GET /trust-requests/{id}` (API Gateway REST proxy event).
///
/// 200 with the [`RequestStatus`]; 400 when the id breaks the request-id rule (field, rule and
/// value named); 404 when no request with this id was started; 503 when Step Functions could not
/// be read (the caller may retry), 500 for anything else.
pub async fn handle_get(event: &ApiGatewayProxyRequest, reader: &impl ExecutionReader, state_machine_arn: &str) -> ApiGatewayProxyResponse {
    let id = event.path_parameters.get("id").map(String::as_str).unwrap_or_default();
    if let Some(rule) = check_request_id(id) {
        let violation = trustflow_domain::error::Violation::new("id", rule, id);
        return respond(400, &json!({"message": format!("the request id is invalid: {violation}")}));
    }
    match read_status(reader, state_machine_arn, id).await {
        Ok((status, _)) => respond(200, &serde_json::to_value(&status).unwrap_or(Value::Null)),
        Err(StatusError::NotFound) => respond(404, &json!({"message": format!("no trust request with id {id:?} was started")})),
        Err(StatusError::Aws(error @ WorkflowError::Transient(_))) => {
            tracing::warn!(error = %error, "status not read");
            respond(503, &json!({"message": format!("the status could not be read now, retry: {error}")}))
        }
        Err(StatusError::Aws(error)) => {
            tracing::error!(error = %error, "status not read");
            respond(500, &json!({"message": "the status could not be read"}))
        }
    }
}

#[cfg(test)]
mod tests;
