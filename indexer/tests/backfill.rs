//! The `backfill` binary against DynamoDB Local: what it writes is what `seed`
//! writes for the same events (the indexer's rule), a dry run writes nothing, a
//! killed run resumes from its checkpoint, and a writer flipping test events to
//! live while it runs (with the real indexer on the stream) leaves no stale entry.

#![allow(clippy::restriction)]

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use tracking_status::config::TableNames;
use tracking_status_dev::kit::{
    client_config, dynamodb_local_endpoint, sdk_config, table_env, unique_tables,
};
use tracking_status_dev::load::{ensure_tables, view_items};
use tracking_status_dev::runtime_api::Function;
use tracking_status_dev::stream_poller::{POLL_INTERVAL, StreamReader, poll};

type Item = HashMap<String, AttributeValue>;

async fn client() -> Client {
    Client::from_conf(client_config(&dynamodb_local_endpoint()).await.build())
}

/// 90 events as their writers write them: programs 42 and 43, clicks, leads and sales, test and
/// live, and one test click whose createdAt cannot be read.
fn events() -> Vec<Item> {
    let mut events: Vec<Item> = (1..=90u64)
        .map(|id| {
            let kind = ["click", "lead", "sale"][(id % 3) as usize];
            HashMap::from([
                ("id".to_string(), AttributeValue::N(id.to_string())),
                (
                    "programId".to_string(),
                    AttributeValue::N((42 + id % 2).to_string()),
                ),
                ("type".to_string(), AttributeValue::S(kind.into())),
                ("test".to_string(), AttributeValue::Bool(id % 4 != 0)),
                (
                    "timestamp".to_string(),
                    AttributeValue::S(format!("2026-06-07T10:{:02}:00Z", id % 60)),
                ),
                (
                    "createdAt".to_string(),
                    AttributeValue::S(format!("2026-06-07T11:{:02}:00Z", id % 60)),
                ),
            ])
        })
        .collect();
    events[0].insert("createdAt".into(), AttributeValue::S("soon".into()));
    events
}

async fn put_events(client: &Client, tables: &TableNames, events: &[Item]) {
    for event in events {
        client
            .put_item()
            .table_name(&tables.events)
            .set_item(Some(event.clone()))
            .send()
            .await
            .unwrap();
    }
}

async fn scan(client: &Client, table: &str) -> Vec<Item> {
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

fn keys(items: &[Item]) -> BTreeSet<(String, String)> {
    let text = |item: &Item, name: &str| match &item[name] {
        AttributeValue::S(text) => text.clone(),
        other => panic!("{other:?}"),
    };
    items
        .iter()
        .map(|item| (text(item, "programType"), text(item, "order")))
        .collect()
}

/// The view `seed` (and so the indexer's rule) makes of the events table as it is now.
async fn expected_view(client: &Client, tables: &TableNames) -> BTreeSet<(String, String)> {
    let events = scan(client, &tables.events).await;
    keys(&view_items(&events).unwrap_or_else(|_| {
        // view_items fails on the unreadable event: leave it out, as the indexer does.
        let readable: Vec<Item> = events
            .iter()
            .filter(|e| test_event_indexer::view::view_entry(e).is_ok())
            .cloned()
            .collect();
        view_items(&readable).unwrap()
    }))
}

fn backfill(tables: &TableNames, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_backfill"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(table_env(tables));
    command
}

fn checkpoint(tables: &TableNames) -> String {
    std::env::temp_dir()
        .join(format!("backfill-{}.json", tables.events))
        .to_string_lossy()
        .into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

async fn fresh_tables() -> (Client, TableNames) {
    let client = client().await;
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    put_events(&client, &tables, &events()).await;
    (client, tables)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backfill_writes_the_view_seed_would_and_prints_its_cost_first() {
    let (client, tables) = fresh_tables().await;
    let file = checkpoint(&tables);
    let output = backfill(
        &tables,
        &["--segments", "3", "--page-size", "7", "--checkpoint", &file],
    )
    .output()
    .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.lines().next().unwrap().contains("read units"),
        "{text}"
    );
    assert!(text.contains("90 scanned"), "{text}");
    assert!(text.contains("1 unreadable"), "{text}");
    let view = keys(&scan(&client, &tables.test_events).await);
    assert!(!view.is_empty());
    assert_eq!(view, expected_view(&client, &tables).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_nothing() {
    let (client, tables) = fresh_tables().await;
    let file = checkpoint(&tables);
    let output = backfill(&tables, &["--dry-run", "--checkpoint", &file])
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("dry run"), "{text}");
    assert!(scan(&client, &tables.test_events).await.is_empty());
    assert!(!std::path::Path::new(&file).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_backfill_resumes_from_its_checkpoint() {
    let (client, tables) = fresh_tables().await;
    let file = checkpoint(&tables);
    // Slow: one page of 5 items (half a read unit) every half second.
    let mut slow = backfill(
        &tables,
        &[
            "--segments",
            "1",
            "--page-size",
            "5",
            "--max-read-units-per-second",
            "1",
            "--checkpoint",
            &file,
        ],
    )
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let start = Instant::now();
    while scan(&client, &tables.test_events).await.len() < 10 {
        assert!(start.elapsed() < Duration::from_secs(20), "no progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    slow.kill().unwrap();
    slow.wait().unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(saved["segments"][0].is_object(), "{saved}");

    let output = backfill(
        &tables,
        &["--segments", "1", "--page-size", "5", "--checkpoint", &file],
    )
    .output()
    .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    let scanned: u64 = text
        .split(" scanned,")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(scanned < 90, "the second run started over: {text}");
    assert_eq!(
        keys(&scan(&client, &tables.test_events).await),
        expected_view(&client, &tables).await
    );
}

/// The race: while the backfill runs (slowly: it waits for its read budget between reading a
/// page and writing it), a writer flips test events to live, and the real indexer, on the
/// stream, applies the flips. Whatever the interleaving, no entry of a flipped event survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_flipped_to_live_during_the_backfill_leave_no_stale_entry() {
    let (client, tables) = fresh_tables().await;
    // The indexer on the stream, from now on: the events above were written "before the stream".
    let streams =
        aws_sdk_dynamodbstreams::Client::new(&sdk_config(&dynamodb_local_endpoint()).await);
    let mut reader = StreamReader::of_table(&client, streams, &tables.events)
        .await
        .unwrap();
    reader.next_records().await.unwrap();
    let mut env = table_env(&tables);
    env.push((
        "AWS_ENDPOINT_URL_DYNAMODB".into(),
        dynamodb_local_endpoint(),
    ));
    let mut function = Function::spawn(env!("CARGO_BIN_EXE_test-event-indexer"), &env, None).await;
    let poller =
        tokio::spawn(
            async move { poll(&mut reader, &mut function, POLL_INTERVAL, |_, _| {}).await },
        );

    let file = checkpoint(&tables);
    let run = backfill(
        &tables,
        &[
            "--segments",
            "2",
            "--page-size",
            "6",
            "--max-read-units-per-second",
            "2",
            "--checkpoint",
            &file,
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Flip every test event to live, one by one, while the backfill reads and writes.
    for id in (2..=90u64).filter(|id| id % 4 != 0) {
        client
            .update_item()
            .table_name(&tables.events)
            .key("id", AttributeValue::N(id.to_string()))
            .update_expression("SET test = :live")
            .expression_attribute_values(":live", AttributeValue::Bool(false))
            .send()
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let output = tokio::task::spawn_blocking(move || run.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");

    // Everything is live (event 1 is unreadable): the view ends empty once the stream is drained.
    assert!(expected_view(&client, &tables).await.is_empty());
    let start = Instant::now();
    loop {
        let left = keys(&scan(&client, &tables.test_events).await);
        if left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "stale entries survived: {left:?}\n{text}"
        );
        assert!(!poller.is_finished(), "the poller stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("{text}");
    poller.abort();
}
