//! The Lambda function: wire once at init, then serve requests.

use std::convert::Infallible;

use lambda_http::{Error, Request, service_fn};
use tracking_status::config::{TableNames, sdk_config_loader};
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status::{http, telemetry};

// Lambda hands a process one event at a time: a single-threaded runtime is
// enough, and the reads of one request still overlap on it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let sdk_config = sdk_config_loader().load().await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config),
        TableNames::from_env(),
    );
    let store = &store;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(http::handle(store, request).await)
    }))
    .await
}
