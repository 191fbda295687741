//! The Lambda function on the events table's stream: wire once at init, then
//! index each batch (`test_event_indexer::index_batch`) into the view table.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use test_event_indexer::{Change, View, WriteError, index_batch};
use tracking_status::config::TableNames;
use tracking_status::sdk::sdk_config_loader;
use tracking_status::telemetry;

/// The view table through the SDK, with the SDK's retries (3 attempts, backoff):
/// what still fails is reported to Lambda, which retries the record.
struct DynamoView {
    client: Client,
    table: String,
}

impl View for DynamoView {
    async fn apply(&self, change: &Change) -> Result<(), WriteError> {
        let operation = match change {
            Change::Delete(_) => "DeleteItem",
            Change::Put(_) => "PutItem",
        };
        let failed = |cause: String| WriteError(format!("{operation} {}: {cause}", self.table));
        match change {
            Change::Delete(key) => self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| failed(DisplayErrorContext(error).to_string())),
            Change::Put(item) => self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| failed(DisplayErrorContext(error).to_string())),
        }
    }
}

// Lambda hands a process one batch at a time, applied record by record.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init(&[test_event_indexer::UNREADABLE_METRICS]);
    let loader = sdk_config_loader()
        .inspect_err(|error| tracing::error!(cause = %error, "invalid configuration"))?;
    let sdk_config = loader.load().await;
    let view = DynamoView {
        client: Client::new(&sdk_config),
        table: TableNames::from_env().test_events,
    };
    let view = &view;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<DynamoDbEventResponse, Error>(index_batch(&event.payload, view).await)
    }))
    .await
}
