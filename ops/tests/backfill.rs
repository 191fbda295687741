//! `tracking-ops backfill` against DynamoDB Local: what it writes is what `seed`
//! writes for the same events (the indexer's rule), a dry run writes nothing, a
//! killed run resumes from its checkpoint, and a writer flipping test events to
//! live while it runs (with the real indexer on the stream) leaves no stale entry.

#![allow(clippy::restriction)]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use tracking_status::config::TableNames;
use tracking_status_dev::fault_proxy::{Fault, FaultProxy, VALIDATION};
use tracking_status_dev::kit::unique_tables;
use tracking_status_dev::load::{ensure_tables, view_items};

use common::{Indexer, client, scan, tracking_ops};

type Item = HashMap<String, AttributeValue>;

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
    let mut command = tracking_ops(tables);
    command.arg("backfill").args(args);
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
    // First the two tables and where their names came from, then the estimate, then the work.
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("region us-east-1"), "{text}");
    assert!(
        lines[1].starts_with("EVENTS_TABLE")
            && lines[1].contains(&format!("{} ($EVENTS_TABLE)", tables.events)),
        "{text}"
    );
    assert!(
        lines[2].starts_with("TEST_EVENTS_TABLE")
            && lines[2].contains(&format!("{} ($TEST_EVENTS_TABLE)", tables.test_events)),
        "{text}"
    );
    // Then the account the tables' ARNs carry and each ARN, before the cost and any read.
    assert!(
        lines[3] == "account 000000000000 (from the tables' ARNs)"
            && lines[4].starts_with("EVENTS_TABLE")
            && lines[4].ends_with(&format!(":000000000000:table/{}", tables.events))
            && lines[5].starts_with("TEST_EVENTS_TABLE"),
        "{text}"
    );
    assert!(lines[6].contains("read units"), "{text}");
    assert!(text.contains("90 scanned"), "{text}");
    assert!(text.contains("1 unreadable"), "{text}");
    let view = keys(&scan(&client, &tables.test_events).await);
    assert!(!view.is_empty());
    assert_eq!(view, expected_view(&client, &tables).await);
}

/// Both tables are required (no default names), and a view table that is missing or keyed
/// otherwise stops the run before the first paid read, with one line that names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_are_required_and_checked_before_anything_is_read() {
    let (_client, tables) = fresh_tables().await;
    let output = backfill(&tables, &["--dry-run"])
        .env_remove("TEST_EVENTS_TABLE")
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("no table name for TEST_EVENTS_TABLE"),
        "{text}"
    );

    let output = backfill(&tables, &["--dry-run"])
        .env(
            "TEST_EVENTS_TABLE",
            format!("{}-missing", tables.test_events),
        )
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        !text.contains("read units"),
        "nothing is estimated or read: {text}"
    );
    assert!(
        text.contains(&format!("{}-missing", tables.test_events)) && text.contains("no such table"),
        "{text}"
    );

    // The events table where the view should be: keyed by id (N), not programType/order.
    let output = backfill(&tables, &["--dry-run"])
        .env("TEST_EVENTS_TABLE", &tables.events)
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(
        text.contains("partition key is id (N), the function reads programType (S)"),
        "{text}"
    );
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
    // "done: 90 scanned (N in this run)": the total counts the first run's pages too.
    let this_run: u64 = text
        .split(" in this run)")
        .next()
        .and_then(|head| head.rsplit('(').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(this_run < 90, "the second run started over: {text}");
    assert!(text.contains("done: 90 scanned ("), "{text}");
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
    let indexer = Indexer::start_after_existing(&client, &tables.events, &tables.test_events).await;

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
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("{text}");
    indexer.stop();
}

/// The view as whole entries (key → sorted attributes), to compare content, not only keys.
fn whole(items: Vec<Item>) -> BTreeSet<String> {
    items
        .into_iter()
        .map(|item| {
            let mut fields: Vec<String> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            fields.sort();
            fields.join(",")
        })
        .collect()
}

/// The whole view `seed` (the indexer's rule) makes of the events as they are now.
async fn expected_whole(client: &Client, tables: &TableNames) -> BTreeSet<String> {
    let events: Vec<Item> = scan(client, &tables.events)
        .await
        .into_iter()
        .filter(|e| test_event_indexer::view::view_entry(e).is_ok())
        .collect();
    whole(view_items(&events).unwrap())
}

async fn update(
    client: &Client,
    tables: &TableNames,
    id: u64,
    expression: &str,
    value: AttributeValue,
) {
    client
        .update_item()
        .table_name(&tables.events)
        .key("id", AttributeValue::N(id.to_string()))
        .update_expression(expression)
        .expression_attribute_names(
            "#f",
            if expression.contains("test") {
                "test"
            } else {
                "timestamp"
            },
        )
        .expression_attribute_values(":v", value)
        .send()
        .await
        .unwrap();
}

/// A run killed (or failed) after a page's writes and before they were settled: the
/// checkpoint holds the page's entries as pending (its file format: `pending`, per segment,
/// `{"id", "entry"}` in DynamoDB JSON), the view holds them, and meanwhile their events
/// changed, the indexer's records for those changes having come before the writes. The
/// resumed run settles them first: no stale entry is left (the scan from the saved position
/// alone would leave the flipped and the moved ones).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_between_a_pages_writes_and_their_settling_leaves_no_stale_entry() {
    let (client, tables) = fresh_tables().await;
    // The page: events 2, 3, 5 and 6 as the Scan read them (test clicks and leads).
    let page: Vec<Item> = events()
        .into_iter()
        .filter(|e| ["2", "3", "5", "6"].contains(&e["id"].as_n().unwrap().as_str()))
        .collect();
    let written = view_items(&page).unwrap();
    for entry in &written {
        client
            .put_item()
            .table_name(&tables.test_events)
            .set_item(Some(entry.clone()))
            .send()
            .await
            .unwrap();
    }
    let pending: Vec<serde_json::Value> = page
        .iter()
        .zip(&written)
        .map(|(event, entry)| {
            serde_json::json!({
                "id": serde_json::to_value(serde_dynamo::Item::from(HashMap::from([("v".to_string(), event["id"].clone())]))).unwrap()["v"],
                "entry": serde_json::to_value(serde_dynamo::Item::from(entry.clone())).unwrap(),
            })
        })
        .collect();
    let file = checkpoint(&tables);
    std::fs::write(
        &file,
        serde_json::json!({"tables": {"events": tables.events, "view": tables.test_events}, "segments": [serde_json::Value::Null], "pending": [pending]})
            .to_string(),
    )
    .unwrap();
    // Meanwhile: 2 flipped to live, 3 moved to program 44, 5's timestamp changed, 6 deleted.
    update(
        &client,
        &tables,
        2,
        "SET #f = :v",
        AttributeValue::Bool(false),
    )
    .await;
    client
        .update_item()
        .table_name(&tables.events)
        .key("id", AttributeValue::N("3".into()))
        .update_expression("SET programId = :p")
        .expression_attribute_values(":p", AttributeValue::N("44".into()))
        .send()
        .await
        .unwrap();
    update(
        &client,
        &tables,
        5,
        "SET #f = :v",
        AttributeValue::S("2026-06-09T00:00:00Z".into()),
    )
    .await;
    client
        .delete_item()
        .table_name(&tables.events)
        .key("id", AttributeValue::N("6".into()))
        .send()
        .await
        .unwrap();

    let output = backfill(&tables, &["--segments", "1", "--checkpoint", &file])
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert_eq!(
        whole(scan(&client, &tables.test_events).await),
        expected_whole(&client, &tables).await,
        "{text}"
    );
    // The finished checkpoint says so, and a second run does nothing.
    let output = backfill(&tables, &["--segments", "1", "--checkpoint", &file])
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("says this backfill is finished"), "{text}");
    assert!(!text.contains("read units"), "{text}");
}

/// A checkpoint is of one events table and one view: another view's (same events table) is
/// refused before anything is written; and a pending entry that does not parse is refused,
/// not dropped, with the view left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_of_another_view_or_with_a_damaged_pending_entry_is_refused() {
    let (client, tables) = fresh_tables().await;
    let file = checkpoint(&tables);
    let write = |view: &str, pending: serde_json::Value| {
        std::fs::write(
            &file,
            serde_json::json!({"tables": {"events": tables.events, "view": view},
                "segments": [serde_json::Value::Null], "pending": [pending]})
            .to_string(),
        )
        .unwrap();
    };
    let run = || {
        let output = backfill(&tables, &["--segments", "1", "--checkpoint", &file])
            .output()
            .unwrap();
        (output.status.code(), stderr(&output))
    };

    write("another-view", serde_json::json!([]));
    let (code, text) = run();
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("is the checkpoint of another run") && text.contains("view \"another-view\""),
        "{text}"
    );

    write(&tables.test_events, serde_json::json!([{"id": {"N": "2"}}]));
    let (code, text) = run();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("the checkpoint is damaged"), "{text}");
    assert!(
        scan(&client, &tables.test_events).await.is_empty(),
        "{text}"
    );
    std::fs::remove_file(&file).unwrap();
}

/// The real run's order: a page's entries are in the checkpoint as pending before they are
/// written. The fault proxy fails every BatchWriteItem (the view's puts), so the run stops
/// at its first write: the checkpoint it leaves must already list that page's entries,
/// while the view holds none; the run resumed without the fault settles and finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpoint_lists_a_pages_entries_before_the_run_writes_them() {
    let (client, tables) = fresh_tables().await;
    let proxy = FaultProxy::start(&tracking_status_dev::kit::dynamodb_local_endpoint()).await;
    proxy.set(Fault::ErrorOn {
        operation: "BatchWriteItem",
        status: 400,
        error_type: VALIDATION,
    });
    let file = checkpoint(&tables);
    let _ = std::fs::remove_file(&file);
    let mut command = backfill(&tables, &["--segments", "1", "--checkpoint", &file]);
    command.env("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("BatchWriteItem"), "{text}");
    assert!(
        scan(&client, &tables.test_events).await.is_empty(),
        "{text}"
    );

    let saved = std::fs::read_to_string(&file)
        .unwrap_or_else(|error| panic!("no checkpoint before the first write ({error}): {text}"));
    let saved: serde_json::Value = serde_json::from_str(&saved).unwrap();
    let pending: BTreeSet<String> = saved["pending"][0]
        .as_array()
        .unwrap_or_else(|| panic!("no pending list: {saved}"))
        .iter()
        .map(|p| p["id"]["N"].as_str().unwrap().to_string())
        .collect();
    let expected = expected_view(&client, &tables).await;
    assert_eq!(pending.len(), expected.len(), "{saved}");
    assert!(!pending.is_empty());

    proxy.set(Fault::None);
    let output = backfill(&tables, &["--segments", "1", "--checkpoint", &file])
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(output.status.success(), "{text}");
    assert_eq!(keys(&scan(&client, &tables.test_events).await), expected);
    std::fs::remove_file(&file).unwrap();
}
