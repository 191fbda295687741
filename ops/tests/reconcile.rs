//! `tracking-ops reconcile` against DynamoDB Local: a view that drifted from its events
//! in each way the stream can leave it (an event deleted, flipped to live, moved to
//! another program, its timestamp changed, while the view kept the old entry) is
//! reported by `--dry-run` (exit 1, nothing changed), repaired by a run, and then
//! found clean (exit 0).
//!
//! `RECONCILE_EVENTS` (default 200) sets how many events the test writes: the summary
//! line it prints gives the run's entries per second and read units.

#![allow(clippy::restriction)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::process::Output;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use tracking_status::config::TableNames;
use tracking_status_dev::kit::unique_tables;
use tracking_status_dev::load::{ensure_tables, view_items};

use common::{client, scan, tracking_ops};
use tracking_ops::Tables;
use tracking_ops::reconcile::{Counts, Fix, ROUNDS, decide_held, settle};

type Item = HashMap<String, AttributeValue>;

fn event(id: u64) -> Item {
    let kind = ["click", "lead", "sale"][(id % 3) as usize];
    let at = format!("2026-06-07T{:02}:{:02}:00.000Z", 10 + id / 60 % 10, id % 60);
    HashMap::from([
        ("id".to_string(), AttributeValue::N(id.to_string())),
        ("programId".to_string(), AttributeValue::N(42.to_string())),
        ("type".to_string(), AttributeValue::S(kind.into())),
        (
            "test".to_string(),
            AttributeValue::Bool(!id.is_multiple_of(4)),
        ),
        ("timestamp".to_string(), AttributeValue::S(at.clone())),
        ("createdAt".to_string(), AttributeValue::S(at)),
    ])
}

async fn write_all(client: &Client, table: &str, items: Vec<Item>) {
    for chunk in items.chunks(25) {
        let requests = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect::<Vec<_>>();
        let mut pending = requests;
        while !pending.is_empty() {
            pending = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .unwrap()
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
        }
    }
}

/// The view as a map of key → whole entry, to compare content and not only keys.
fn by_key(items: Vec<Item>) -> BTreeMap<String, String> {
    items
        .into_iter()
        .map(|item| {
            let key = format!("{:?} {:?}", item["programType"], item["order"]);
            let mut sorted: Vec<_> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
            sorted.sort();
            (key, sorted.join(","))
        })
        .collect()
}

/// What `seed` (the indexer's rule) makes of the events as they are now.
async fn expected(client: &Client, tables: &TableNames) -> BTreeMap<String, String> {
    by_key(view_items(&scan(client, &tables.events).await).unwrap())
}

fn reconcile(tables: &TableNames, args: &[&str]) -> Output {
    tracking_ops(tables)
        .arg("reconcile")
        .args(args)
        .args(["--max-read-units-per-second", "100000"])
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_view_is_reported_by_a_dry_run_repaired_and_then_clean() {
    let events: u64 = std::env::var("RECONCILE_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let client = client().await;
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    let items: Vec<Item> = (1..=events).map(event).collect();
    write_all(&client, &tables.events, items.clone()).await;
    write_all(&client, &tables.test_events, view_items(&items).unwrap()).await;
    assert_eq!(
        by_key(scan(&client, &tables.test_events).await),
        expected(&client, &tables).await
    );

    // The events change; the view keeps what it had (the stream's records were skipped).
    // (Event n is a click when n % 3 == 0, a lead when 1, a sale when 2; a test event unless
    // n % 4 == 0: events 1, 3, 6 and 7 have entries.)
    client
        .delete_item()
        .table_name(&tables.events)
        .key("id", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let mut changed = vec![];
    let mut flipped = event(3);
    flipped.insert("test".into(), AttributeValue::Bool(false));
    changed.push(flipped);
    let mut moved = event(6);
    moved.insert("programId".into(), AttributeValue::N("43".into()));
    changed.push(moved);
    let mut retimed = event(7);
    retimed.insert(
        "timestamp".into(),
        AttributeValue::S("2026-06-09T00:00:00.000Z".into()),
    );
    changed.push(retimed);
    write_all(&client, &tables.events, changed).await;
    let drifted = by_key(scan(&client, &tables.test_events).await);
    assert_ne!(drifted, expected(&client, &tables).await);

    let output = reconcile(&tables, &["--dry-run"]);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    for line in ["orphan: 2", "moved: 1", "stale: 1", "4 drifted", "dry run"] {
        assert!(report.contains(line), "{line}: {report}");
    }
    assert!(report.contains("42#lead"), "example keys: {report}");
    assert_eq!(
        by_key(scan(&client, &tables.test_events).await),
        drifted,
        "a dry run changes nothing"
    );

    let output = reconcile(&tables, &[]);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains("3 deleted, 2 put"), "{report}");
    println!("{report}");
    assert_eq!(
        by_key(scan(&client, &tables.test_events).await),
        expected(&client, &tables).await
    );

    let output = reconcile(&tables, &["--dry-run"]);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(report.contains(": 0 drifted"), "{report}");
}

/// A view whose every entry would be deleted (its events are not in the events table given:
/// what another `id (N)` table looks like) is refused without --force, the tables' account
/// printed; with --force it is emptied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_would_delete_most_of_the_view_is_refused_unless_forced() {
    let client = client().await;
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    let items: Vec<Item> = (1..=60).map(event).collect();
    let entries = view_items(&items).unwrap();
    let count = entries.len();
    assert!(count > 20, "{count}");
    write_all(&client, &tables.test_events, entries).await;
    let before = by_key(scan(&client, &tables.test_events).await);

    let output = reconcile(&tables, &[]);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains(&format!(
            "refused, nothing changed: {count} of the {count} entries"
        )),
        "{report}"
    );
    assert!(
        report.contains("account 000000000000 (from the tables' ARNs)"),
        "{report}"
    );
    assert_eq!(by_key(scan(&client, &tables.test_events).await), before);

    let output = reconcile(&tables, &["--force"]);
    let report = text(&output);
    assert_eq!(output.status.code(), Some(0), "{report}");
    assert!(
        scan(&client, &tables.test_events).await.is_empty(),
        "{report}"
    );
}

fn tables_of(tables: &TableNames) -> Tables {
    Tables {
        events: tables.events.clone(),
        test_events: tables.test_events.clone(),
    }
}

/// The withdraw step the backfill and reconcile share (`settle`), with the interleavings of
/// the issue made to happen: an entry written from a Scan whose event's `timestamp` changed
/// before the re-read (the indexer's put came first) is put again whole; and an event that
/// flipped to live, was decided a delete, then flipped back (the indexer re-putting its
/// entry) before the delete landed is put back by the re-read after the delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_withdraw_puts_a_changed_timestamp_whole_and_puts_back_an_event_flipped_back() {
    let client = client().await;
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    let counts = Counts::default();
    let view_of = |id: u64| view_items(&[event(id)]).unwrap().remove(0);

    // The timestamp race: the page wrote event 3's entry as scanned; its timestamp is newer now.
    let scanned = view_of(3);
    let mut now = event(3);
    now.insert(
        "timestamp".into(),
        AttributeValue::S("2026-06-09T00:00:00.000Z".into()),
    );
    write_all(&client, &tables.events, vec![now.clone()]).await;
    write_all(&client, &tables.test_events, vec![scanned.clone()]).await;
    let held = vec![(AttributeValue::N("3".into()), Some(scanned))];
    let (fixes, _) = decide_held(&client, &tables_of(&tables), &held, &counts)
        .await
        .unwrap();
    assert_eq!(fixes.len(), 1);
    assert!(matches!(fixes[0].1, Fix::Stale { .. }), "{fixes:?}");
    let settled = settle(&client, &tables_of(&tables), fixes, &counts, ROUNDS)
        .await
        .unwrap();
    assert!(settled.open.is_empty(), "{settled:?}");
    assert_eq!(
        by_key(scan(&client, &tables.test_events).await),
        expected(&client, &tables).await
    );

    // The flip-back race: event 6 is live when its entry is re-read, so it is to be deleted...
    write_all(&client, &tables.events, vec![event(6)]).await;
    let entry = view_of(6);
    write_all(&client, &tables.test_events, vec![entry.clone()]).await;
    let mut live = event(6);
    live.insert("test".into(), AttributeValue::Bool(false));
    write_all(&client, &tables.events, vec![live]).await;
    let held = vec![(AttributeValue::N("6".into()), Some(entry.clone()))];
    let (fixes, _) = decide_held(&client, &tables_of(&tables), &held, &counts)
        .await
        .unwrap();
    assert!(matches!(fixes[0].1, Fix::Orphan { .. }), "{fixes:?}");
    // ...then flips back to test before the delete lands (the indexer puts its entry again).
    write_all(&client, &tables.events, vec![event(6)]).await;
    write_all(&client, &tables.test_events, vec![entry]).await;
    // With one round only, the entry put back is still to be re-put: it is returned open,
    // not dropped.
    let one_round = settle(&client, &tables_of(&tables), fixes.clone(), &counts, 1)
        .await
        .unwrap();
    assert_eq!(one_round.rounds, 1);
    assert_eq!(one_round.open.len(), 1, "{one_round:?}");
    assert!(
        matches!(one_round.open[0].1, Fix::Missing { .. }),
        "{one_round:?}"
    );
    write_all(&client, &tables.test_events, vec![view_of(6)]).await;
    let settled = settle(&client, &tables_of(&tables), fixes, &counts, ROUNDS)
        .await
        .unwrap();
    assert_eq!(
        (
            settled.deleted,
            settled.put,
            settled.rounds,
            settled.open.len()
        ),
        (1, 1, 2, 0)
    );
    assert_eq!(
        by_key(scan(&client, &tables.test_events).await),
        expected(&client, &tables).await,
        "the entry of the event flipped back is there"
    );
}
