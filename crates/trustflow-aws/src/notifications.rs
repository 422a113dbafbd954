//! SNS and EventBridge over the AWS SDK: how outcomes reach requesters.

use trustflow_domain::WorkflowError;

use crate::ports::Notifier;
use crate::sdk_error::{classify_sdk_error, plain};

/// SNS and EventBridge over the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkNotifier {
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// EventBridge.
    pub events: aws_sdk_eventbridge::Client,
}

impl Notifier for SdkNotifier {
    async fn publish(&self, topic_arn: &str, subject: &str, message: &str) -> Result<(), WorkflowError> {
        self.sns
            .publish()
            .topic_arn(topic_arn)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| classify_sdk_error("SNS Publish", error, plain))
    }

    async fn put_event(&self, bus: &str, source: &str, detail_type: &str, detail: &str) -> Result<(), WorkflowError> {
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        let entry = PutEventsRequestEntry::builder().event_bus_name(bus).source(source).detail_type(detail_type).detail(detail).build();
        let output = self
            .events
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|error| classify_sdk_error("EventBridge PutEvents", error, plain))?;
        if output.failed_entry_count() > 0 {
            let reason = output.entries().first().and_then(|e| e.error_code()).unwrap_or("unknown");
            return Err(WorkflowError::Transient(format!("EventBridge PutEvents rejected the result event: {reason}")));
        }
        Ok(())
    }
}

impl SdkNotifier {
    /// SNS and EventBridge clients from the shared configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self { sns: aws_sdk_sns::Client::new(config), events: aws_sdk_eventbridge::Client::new(config) }
    }
}
