//! BENCHMARKS.md's figures for the test-event view, against the DynamoDB Local at
//! `TEST_DYNAMODB_ENDPOINT`: the lag from a test click's PutItem into the events table
//! to the status reading it (through the stream poller and the indexer binary), over
//! `WRITES` writes one after the other; the backfill's items per second; and the
//! indexer's latency and CPU per batch, handed batches of 1 and of 100 test clicks
//! as the event source mapping hands them (through the Runtime API stand-in).
//!
//! `cargo build -p test-event-indexer -p tracking-ops --bins && cargo run -p test-event-indexer --example view_lag -- target/debug`
//!
//! `INDEXER_BINARY` names the indexer binary to measure per batch (default: the one in the
//! directory given); the release build `sam build` makes is
//! `.aws-sam/build-ci/TestEventIndexerFunction/bootstrap`.

#![allow(clippy::restriction)]

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use tracking_status::domain::{EventKind, ProgramId};
use tracking_status::store::StatusStore;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status_dev::kit::{
    client_config, dynamodb_local_endpoint, sdk_config, table_env, unique_tables,
};
use tracking_status_dev::load::ensure_tables;
use tracking_status_dev::runtime_api::Function;
use tracking_status_dev::stream_poller::{POLL_INTERVAL, StreamReader, poll, stream_record};

const WRITES: u64 = 300;
const BACKFILL_EVENTS: u64 = 5000;
/// (records per batch, batches measured): about 10,000 records each, so that the CPU
/// time's 10 ms ticks are a small part of the total.
const BATCHES: [(u64, u64); 2] = [(1, 2000), (100, 100)];

/// A stream record of a new test click, as the event source mapping delivers it.
fn insert_record(id: u64) -> serde_json::Value {
    let image = serde_json::to_value(serde_dynamo::Item::from(event(id, true))).unwrap();
    stream_record(id, "INSERT", None, Some(image))
}

fn event(id: u64, test: bool) -> std::collections::HashMap<String, AttributeValue> {
    let at = format!("2026-06-07T10:00:00.{:03}Z", id % 1000);
    [
        ("id", AttributeValue::N(id.to_string())),
        ("programId", AttributeValue::N((42 + id % 7).to_string())),
        (
            "type",
            AttributeValue::S(
                if id.is_multiple_of(2) {
                    "click"
                } else {
                    "lead"
                }
                .into(),
            ),
        ),
        ("test", AttributeValue::Bool(test)),
        ("timestamp", AttributeValue::S(at.clone())),
        ("createdAt", AttributeValue::S(at)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let bin_dir = std::env::args()
        .nth(1)
        .expect("usage: view_lag TARGET_DIR (holding the binaries)");
    let endpoint = dynamodb_local_endpoint();
    let client = aws_sdk_dynamodb::Client::from_conf(client_config(&endpoint).await.build());

    // The lag: the indexer on the stream, then test clicks written one at a time.
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk_config(&endpoint).await);
    let mut reader = StreamReader::of_table(&client, streams, &tables.events)
        .await
        .unwrap();
    let mut env = table_env(&tables);
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.clone()));
    let mut function = Function::spawn(&format!("{bin_dir}/test-event-indexer"), &env, None).await;
    let poller =
        tokio::spawn(
            async move { poll(&mut reader, &mut function, POLL_INTERVAL, |_, _| {}).await },
        );
    let store = DynamoStore::new(client.clone(), tables.clone());
    let mut lags = Vec::new();
    for id in 1..=WRITES {
        let mut item = event(id * 2, true);
        item.insert("programId".into(), AttributeValue::N("42".into()));
        item.insert(
            "createdAt".into(),
            AttributeValue::S(format!("2026-06-07T10:{:02}:{:02}Z", id / 60, id % 60)),
        );
        let start = Instant::now();
        client
            .put_item()
            .table_name(&tables.events)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        loop {
            let newest = store
                .recent_test_events(ProgramId::new(42).unwrap(), EventKind::Click, 1)
                .await
                .unwrap();
            if newest.first().map(|e| e.id) == Some(id * 2) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lags.push(start.elapsed());
    }
    poller.abort();
    lags.sort();
    println!(
        "view lag over {WRITES} writes (poll interval {POLL_INTERVAL:?}): median {:?}, p99 {:?}, max {:?}",
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().unwrap()
    );

    // The backfill: BACKFILL_EVENTS events, half of them test events.
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    let requests: Vec<WriteRequest> = (1..=BACKFILL_EVENTS)
        .map(|id| {
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(event(id, id.is_multiple_of(2))))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    for chunk in requests.chunks(25) {
        client
            .batch_write_item()
            .request_items(&tables.events, chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
    let checkpoint = std::env::temp_dir().join(format!("view-lag-{}.json", tables.events));
    let start = Instant::now();
    let output = std::process::Command::new(format!("{bin_dir}/tracking-ops"))
        .args([
            "backfill",
            "--max-read-units-per-second",
            "1000000",
            "--checkpoint",
        ])
        .arg(&checkpoint)
        .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(table_env(&tables))
        .output()
        .unwrap();
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!(
        "backfill of {BACKFILL_EVENTS} events (4 segments, pages of 1000, {} test events written and re-read): {:.1} s, {:.0} items/s",
        BACKFILL_EVENTS / 2,
        elapsed.as_secs_f64(),
        BACKFILL_EVENTS as f64 / elapsed.as_secs_f64()
    );
    // Per batch: batches of test clicks handed to one warm indexer process.
    let binary =
        std::env::var("INDEXER_BINARY").unwrap_or_else(|_| format!("{bin_dir}/test-event-indexer"));
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    let mut env = table_env(&tables);
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint.clone()));
    let mut function = Function::spawn(&binary, &env, None).await;
    let mut next_id = 1_000_000;
    let mut batch_of = |size: u64| {
        let records: Vec<_> = (next_id..next_id + size).map(insert_record).collect();
        next_id += size;
        serde_json::json!({ "Records": records }).to_string()
    };
    for _ in 0..20 {
        let answer = function.invoke(&batch_of(100)).await;
        assert_eq!(answer.body, r#"{"batchItemFailures":[]}"#, "warm-up");
    }
    for (size, batches) in BATCHES {
        let events: Vec<String> = (0..batches).map(|_| batch_of(size)).collect();
        let cpu_before = function.cpu_time();
        let mut latencies = Vec::new();
        for event in &events {
            let start = Instant::now();
            let answer = function.invoke(event).await;
            latencies.push(start.elapsed());
            assert_eq!(answer.body, r#"{"batchItemFailures":[]}"#);
        }
        let cpu = function.cpu_time() - cpu_before;
        latencies.sort();
        println!(
            "indexer ({binary}), {batches} batches of {size}: latency per batch median {:?}, p99 {:?}; CPU per batch {:.3} ms, per record {:.1} µs",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            cpu.as_secs_f64() * 1e3 / batches as f64,
            cpu.as_secs_f64() * 1e6 / (batches * size) as f64,
        );
    }
}
