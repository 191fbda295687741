//! The Lambda function on the events table's stream: wire once at init, then
//! index each batch (`test_event_indexer::index_batch`) into the view table.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::Client;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use test_event_indexer::{DynamoView, index_batch_until, refusal};
use tracking_status::config::TableNames;
use tracking_status::sdk::sdk_config_loader;
use tracking_status::telemetry;

/// Time kept in hand at the invocation's deadline: a record is at most two writes, each
/// capped at 2 s by the SDK (src/sdk.rs, OPERATION_TIMEOUT), so one started with more than
/// this left ends before the timeout.
const DEADLINE_MARGIN: Duration = Duration::from_secs(5);

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
        if let Some(reason) = refusal(&event.payload) {
            tracing::error!(cause = %reason, "a batch of the wrong stream is refused");
            return Err(Error::from(reason));
        }
        let deadline = UNIX_EPOCH + Duration::from_millis(event.context.deadline);
        let out_of_time = || SystemTime::now() + DEADLINE_MARGIN >= deadline;
        Ok::<DynamoDbEventResponse, Error>(
            index_batch_until(&event.payload, view, out_of_time).await,
        )
    }))
    .await
}
