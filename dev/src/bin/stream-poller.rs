//! `stream-poller INDEXER [LOG]`: Lambda's event source mapping for DynamoDB Local.
//! Reads the events table's stream (`EVENTS_TABLE`, at `AWS_ENDPOINT_URL_DYNAMODB`,
//! which must be on this machine: `tracking_status_dev::seed_guard`) and hands each
//! batch to the `test-event-indexer` binary INDEXER, started as Lambda starts it
//! behind the Runtime API stand-in, with the same environment; its log goes to LOG.
//! It does what template.yaml's mapping does (`Mapping::from_template`: the filter, the
//! batch size, bisect, the retry limits); a batch it gives up on is printed as the
//! failure queue would receive it. Runs until killed. `scripts/run-local.sh` runs it
//! beside the function.

use std::path::Path;
use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};
use tracking_status::config::TableNames;
use tracking_status::sdk::sdk_config_loader;
use tracking_status_dev::kit::table_env;
use tracking_status_dev::runtime_api::Function;
use tracking_status_dev::seed_guard;
use tracking_status_dev::stream_poller::{Mapping, POLL_INTERVAL, StreamReader, poll_strictly};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (indexer, log) = match &args[..] {
        [indexer] => (indexer.clone(), None),
        [indexer, log] => (indexer.clone(), Some(log.clone())),
        _ => {
            eprintln!("usage: stream-poller INDEXER [LOG]");
            return ExitCode::from(2);
        }
    };
    let endpoint = seed_guard::endpoint_from(|name| std::env::var(name).ok());
    let url = match (&endpoint, seed_guard::check(endpoint.as_ref())) {
        (Some(endpoint), Ok(_)) => endpoint.url.clone(),
        (_, Err(refusal)) => {
            eprintln!("stream-poller: {refusal}");
            return ExitCode::from(2);
        }
        (None, Ok(_)) => {
            eprintln!("stream-poller: AWS_ENDPOINT_URL_DYNAMODB is not set");
            return ExitCode::from(2);
        }
    };
    match run(&indexer, log.as_deref().map(Path::new), &url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("stream-poller: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    indexer: &str,
    log: Option<&Path>,
    url: &str,
) -> Result<(), tracking_status_dev::stream_poller::PollError> {
    let sdk_config = sdk_config_loader()?.endpoint_url(url).load().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk_config);
    let tables = TableNames::from_env();
    let mut reader = StreamReader::of_table(&dynamodb, streams, &tables.events).await?;
    let mut env = table_env(&tables);
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), url.to_string()));
    let mut function = Function::spawn(indexer, &env, log).await;
    eprintln!(
        "stream-poller: indexing {} into {} with {indexer}",
        tables.events, tables.test_events
    );
    // The repository's template, the one `sam build` deploys (this binary is never shipped).
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let mapping = Mapping::from_template(&template)?;
    let mut on_failure = |record: serde_json::Value| {
        eprintln!("stream-poller: gave up on a batch (the failure queue's message): {record}");
    };
    let polled = poll_strictly(
        &mut reader,
        &mut function,
        &mapping,
        POLL_INTERVAL,
        &mut on_failure,
    );
    // Stopped by Ctrl-C or a TERM (run-local.sh's cleanup): `function` is dropped on
    // return, which ends the indexer's process too.
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = polled => result,
        _ = terminate.recv() => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
