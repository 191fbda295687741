//! The Lambda function: wire once at init, then serve invocations.

use std::convert::Infallible;
use std::time::Duration;

use lambda_runtime::layers::TracingLayer;
use lambda_runtime::tower::ServiceExt;
use lambda_runtime::tower::layer::layer_fn;
use lambda_runtime::{Error, LambdaEvent, Runtime, service_fn};
use serde_json::value::RawValue;
use tracking_status::config::{TableNames, warm_up_enabled};
use tracking_status::sdk::sdk_config_loader;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status::{lambda, panic_net, telemetry};

/// mimalloc instead of glibc's malloc: measured in BENCHMARKS.md ("CPU per request").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Lambda hands a process one event at a time: a single-threaded runtime is
// enough, and the reads of one request still overlap on it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    panic_net::install_hook();
    // An ordinary INFO line of test builds only: `tests/api/release_binary.rs` reads it
    // to show that a raised log level holds such lines back (deployed builds write none).
    #[cfg(feature = "panic-probe")]
    tracing::info!("a test build: the probe feature is compiled in");
    // A bad setting stops init with its reason, before any request is taken.
    let loader = sdk_config_loader()
        .inspect_err(|error| tracing::error!(cause = %error, "invalid configuration"))?;
    let sdk_config = loader.load().await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config),
        TableNames::from_env(),
    );
    if warm_up_enabled()
        && let Err(error) = store.warm_up().await
    {
        // Not fatal: the first request will connect, or report the store's failure.
        tracing::warn!(cause = %error, "connection warm-up failed");
    }
    let store = &store;
    // `lambda_runtime::run` returns, with an error, when it cannot build an
    // invocation's context: a `Lambda-Runtime-Client-Context` or Cognito
    // identity header that is not what it expects, which a direct Invoke can
    // send. That invocation goes unanswered (it times out), but the process
    // must live on to serve the next one instead of exiting and making it pay
    // a cold start, so the runtime loop is started again.
    loop {
        // `lambda_runtime::run`, plus one layer: the runtime's service resolves once
        // the response is posted to the Runtime API, and only then may the process
        // exit (`exit_after_panic_limit`). Added before the tracing layer, so it runs
        // inside the invoke span: the exit's log line carries the Lambda request id.
        let runtime = Runtime::new(service_fn(
            move |event: LambdaEvent<Box<RawValue>>| async move {
                let response = lambda::invoke(store, &event.payload, event.context).await;
                Ok::<_, Infallible>(response)
            },
        ))
        .layer(layer_fn(|posting| {
            ServiceExt::map_result(posting, exit_after_panic_limit)
        }))
        .layer(TracingLayer::new());
        let stopped = runtime.run().await;
        match stopped {
            Ok(()) => return Ok(()),
            Err(error) => {
                tracing::error!(cause = %error, "the Lambda runtime loop stopped; starting it again");
                // Not a busy loop should the Runtime API itself be gone.
                tokio::time::sleep(RUNTIME_RESTART_DELAY).await;
            }
        }
    }
}

/// How long to wait before starting the runtime loop again after it failed.
const RUNTIME_RESTART_DELAY: Duration = Duration::from_millis(20);

/// Called once an invocation is over, its response posted to the Runtime API
/// (`posted`, passed through): after `PANIC_LIMIT` caught panics the process exits,
/// before asking for the next event, so Lambda replaces the sandbox and no event is
/// lost with it.
fn exit_after_panic_limit<T>(posted: T) -> T {
    let caught = panic_net::caught_panics();
    if caught >= panic_net::PANIC_LIMIT {
        tracing::error!(
            caught_panics = caught,
            exit_status = panic_net::PANIC_LIMIT_EXIT_STATUS,
            "exiting after {caught} caught panics, so that Lambda replaces this sandbox \
             (a process that keeps panicking may be broken itself)"
        );
        let _ = std::io::Write::flush(&mut std::io::stdout());
        std::process::exit(panic_net::PANIC_LIMIT_EXIT_STATUS);
    }
    posted
}
