//! What the operator command's tests share: the command itself, and the indexer's
//! path on a table's stream (DynamoDB Local's stream read as the mapping reads it,
//! each batch applied by the indexer's own library and view writer).

#![allow(dead_code)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::Client;
use serde_json::json;
use test_event_indexer::view::Item;
use test_event_indexer::{DynamoView, index_batch};
use tracking_status::config::TableNames;
use tracking_status_dev::kit::{client_config, dynamodb_local_endpoint, sdk_config, table_env};
use tracking_status_dev::stream_poller::{POLL_INTERVAL, StreamReader};

pub async fn client() -> Client {
    Client::from_conf(client_config(&dynamodb_local_endpoint()).await.build())
}

/// Every item of TABLE, read consistently, page by page.
pub async fn scan(client: &Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// `tracking-ops` with credentials and a region DynamoDB Local accepts, and the tables' variables.
pub fn tracking_ops(tables: &TableNames) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracking-ops"));
    command
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // No profile of the machine's own (~/.aws) is read.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .envs(table_env(tables));
    command
}

/// The indexer on the events table's stream, until the handle is dropped.
pub struct Indexer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl Indexer {
    /// From the stream's oldest record, as the mapping at TRIM_HORIZON.
    pub async fn start(client: &Client, events: &str, view: &str) -> Indexer {
        Self::start_with(client, events, view, false).await
    }

    /// From the stream's next record: what is in it now counts as written before the stream.
    pub async fn start_after_existing(client: &Client, events: &str, view: &str) -> Indexer {
        Self::start_with(client, events, view, true).await
    }

    async fn start_with(client: &Client, events: &str, view: &str, skip: bool) -> Indexer {
        let streams =
            aws_sdk_dynamodbstreams::Client::new(&sdk_config(&dynamodb_local_endpoint()).await);
        let mut reader = StreamReader::of_table(client, streams, events)
            .await
            .unwrap();
        if skip {
            reader.next_records().await.unwrap();
        }
        let view = DynamoView {
            client: client.clone(),
            table: view.to_string(),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        // index_batch's future is not Send (the View trait does not promise it): its own thread.
        let thread = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(run(reader, view, stopped))
        });
        Indexer {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops it; panics with its error if it failed.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap().unwrap();
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

async fn run(
    mut reader: StreamReader,
    view: DynamoView,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    // The test kit's client cuts an attempt at 800 ms (the function's settings): on a loaded
    // machine a read of the stream may fail; the mapping would poll again, and so does this.
    let mut failures_in_a_row = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut records = match reader.next_records().await {
            Ok(records) => {
                failures_in_a_row = 0;
                records
            }
            Err(error) if failures_in_a_row < 50 => {
                failures_in_a_row += 1;
                eprintln!("the stream read failed, polling again: {error}");
                tokio::time::sleep(POLL_INTERVAL).await;
                continue;
            }
            Err(error) => return Err(error.to_string()),
        };
        while !records.is_empty() {
            let event: Event =
                serde_json::from_value(json!({ "Records": records })).map_err(|e| e.to_string())?;
            let response = index_batch(&event, &view).await;
            let Some(first) = response
                .batch_item_failures
                .first()
                .and_then(|f| f.item_identifier.clone())
            else {
                break;
            };
            let from = records
                .iter()
                .position(|r| r["dynamodb"]["SequenceNumber"] == first.as_str())
                .ok_or("an unknown record reported")?;
            records.drain(..from);
            tokio::time::sleep(POLL_INTERVAL).await;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    Ok(())
}

/// Waits until `done` holds, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
