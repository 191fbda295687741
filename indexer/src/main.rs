//! The Lambda function on the events table's stream: wire once at init, then
//! index each batch (`test_event_indexer::index_batch`) into the view table.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::Client;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use test_event_indexer::{DynamoView, index_batch, refusal};
use tracking_status::config::TableNames;
use tracking_status::sdk::sdk_config_loader;
use tracking_status::telemetry;

// Lambda hands a process one batch at a time, applied record by record.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let loader = sdk_config_loader()
        .inspect_err(|error| tracing::error!(cause = %error, "invalid configuration"))?;
    let sdk_config = loader.load().await;
    let view = DynamoView {
        client: Client::new(&sdk_config),
        table: TableNames::from_env().test_events,
    };
    let view = &view;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        if let Some(reason) = refusal(&event.payload) {
            tracing::error!(cause = %reason, "a batch of the wrong stream is refused");
            return Err(Error::from(reason));
        }
        Ok::<DynamoDbEventResponse, Error>(index_batch(&event.payload, view).await)
    }))
    .await
}
