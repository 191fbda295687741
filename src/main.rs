//! The Lambda function: wire once at init, then serve invocations through `lambda_http`.

use std::convert::Infallible;
use std::time::Duration;

use lambda_http::{Error, Request, service_fn};
use tracking_status::config::{TableNames, warm_up_enabled};
use tracking_status::sdk::sdk_config_loader;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status::{http, telemetry};

/// mimalloc instead of glibc's malloc: measured in BENCHMARKS.md ("CPU per request").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Lambda hands a process one event at a time: a single-threaded runtime is
// enough, and the reads of one request still overlap on it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init(&[telemetry::REQUEST_METRICS]);
    // `lambda_runtime` catches a panic (CatchPanicService) and reports it as the invocation's
    // error; this hook writes its location and message as one JSON line instead of the default
    // hook's plain text.
    std::panic::set_hook(Box::new(|panic| tracing::error!(%panic, "panicked")));
    // An ordinary INFO line of test builds only: `tests/api/release_binary.rs` reads it
    // to show that a raised log level holds such lines back (deployed builds write none).
    #[cfg(feature = "panic-probe")]
    tracing::info!("a test build: the probe feature is compiled in");
    // A bad setting stops init with its reason, before any request is taken.
    let loader = sdk_config_loader()
        .inspect_err(|error| tracing::error!(cause = %error, "invalid configuration"))?;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&loader.load().await),
        TableNames::from_env(),
    );
    if warm_up_enabled()
        && let Err(error) = store.warm_up().await
    {
        // Not fatal: the first request will connect, or report the store's failure.
        tracing::warn!(cause = %error, "connection warm-up failed");
    }
    let store = &store;
    // `lambda_runtime`'s loop returns, with an error, when it cannot build an
    // invocation's context: a `Lambda-Runtime-Client-Context` or Cognito
    // identity header that is not what it expects, which a direct Invoke can
    // send. That invocation goes unanswered (it times out), but the process
    // must live on to serve the next one instead of exiting and making it pay
    // a cold start, so the loop is started again.
    loop {
        let handler = service_fn(move |request: Request| async move {
            Ok::<_, Infallible>(http::handle(store, request).await)
        });
        match lambda_http::run(handler).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                tracing::error!(cause = %error, "the Lambda runtime loop stopped; starting it again");
                // Not a busy loop should the Runtime API itself be gone.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}
