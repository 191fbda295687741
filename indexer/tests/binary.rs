//! The `test-event-indexer` binary, run the way Lambda runs it (the Runtime API
//! stand-in of `tracking_status_dev::runtime_api` hands it stream batches),
//! against DynamoDB Local; the view is read back through the status function's
//! own read (`DynamoStore::recent_test_events`).
//!
//! (Here rather than in the root's `tests/api/`: Cargo gives the path of the
//! binary, `CARGO_BIN_EXE_test-event-indexer`, only to its own package's tests.
//! A debug build: what is tested is the indexing, not the release profile.)

// The restriction lints Cargo.toml denies (unwrap, expect, panic, indexing)
// are for the functions' code; a test asserts by panicking.
#![allow(clippy::restriction)]

use std::path::PathBuf;

use serde_json::{Value, json};
use tracking_status::config::TableNames;
use tracking_status::domain::{EventKind, ProgramId};
use tracking_status::store::StatusStore;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status_dev::fault_proxy::{Fault, FaultProxy, THROUGHPUT_EXCEEDED};
use tracking_status_dev::kit::{
    client_config, dynamodb_local_endpoint, sdk_config, table_env, unique_tables,
};
use tracking_status_dev::load::ensure_tables;
use tracking_status_dev::runtime_api::Function;
use tracking_status_dev::stream_poller::stream_record as record;

const AT: &str = "2026-06-07T10:00:00Z";

/// An events-table item as its writers write it, in the stream's JSON.
fn image(id: u64, program: u64, kind: &str, test: bool, created_at: &str) -> Value {
    json!({
        "id": {"N": id.to_string()},
        "programId": {"N": program.to_string()},
        "type": {"S": kind},
        "test": {"BOOL": test},
        "timestamp": {"S": "2026-06-07T10:00:00Z"},
        "createdAt": {"S": created_at},
    })
}

fn batch(records: &[Value]) -> String {
    json!({ "Records": records }).to_string()
}

struct Indexer {
    function: Function,
    tables: TableNames,
    store: DynamoStore,
    log: PathBuf,
}

impl Indexer {
    /// The binary over fresh tables, reaching DynamoDB at `endpoint` (DynamoDB Local, or a
    /// fault proxy in front of it).
    async fn start(endpoint: Option<&str>) -> Self {
        let tables = unique_tables();
        let client = aws_sdk_dynamodb::Client::from_conf(
            client_config(&dynamodb_local_endpoint()).await.build(),
        );
        ensure_tables(&client, &tables).await.expect("tables");
        let mut env = table_env(&tables);
        let endpoint = endpoint.map_or_else(dynamodb_local_endpoint, str::to_string);
        env.push(("AWS_ENDPOINT_URL_DYNAMODB".into(), endpoint));
        let log = std::env::temp_dir().join(format!("indexer-{}.log", tables.test_events));
        let _ = std::fs::remove_file(&log);
        let function = Function::spawn(
            env!("CARGO_BIN_EXE_test-event-indexer"),
            &env,
            Some(log.as_path()),
        )
        .await;
        let store = DynamoStore::new(client, tables.clone());
        Indexer {
            function,
            tables,
            store,
            log,
        }
    }

    /// Hands the batch to the binary; the sequence numbers it reports as failed.
    async fn index(&mut self, records: &[Value]) -> Vec<String> {
        let answer = self.function.invoke(&batch(records)).await;
        assert!(!answer.error, "an invocation error: {}", answer.body);
        let response: Value = serde_json::from_str(&answer.body).unwrap();
        response["batchItemFailures"]
            .as_array()
            .unwrap_or_else(|| panic!("no batchItemFailures: {response}"))
            .iter()
            .map(|failure| failure["itemIdentifier"].as_str().unwrap().to_string())
            .collect()
    }

    /// The ids the status reads for the program's test events of `kind`, newest first.
    async fn status_ids(&self, program: u64, kind: EventKind) -> Vec<u64> {
        self.store
            .recent_test_events(ProgramId::new(program).unwrap(), kind, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.id)
            .collect()
    }

    /// Every view entry, as (programType, order).
    async fn view(&self) -> Entries {
        let output = self
            .store
            .client()
            .scan()
            .table_name(&self.tables.test_events)
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let text = |item: &std::collections::HashMap<_, _>, name: &str| match item.get(name) {
            Some(aws_sdk_dynamodb::types::AttributeValue::S(text)) => text.clone(),
            other => panic!("{name}: {other:?}"),
        };
        let mut entries: Vec<_> = output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| (text(item, "programType"), text(item, "order")))
            .collect();
        entries.sort();
        entries
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// View entries as (programType, order), sorted.
type Entries = Vec<(String, String)>;

fn entry(program_type: &str, created_at: &str, id: u64) -> (String, String) {
    (program_type.to_string(), format!("{created_at}#{id:020}"))
}

const AT_MS: &str = "2026-06-07T10:00:00.000Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transition_leaves_the_view_as_if_the_item_had_been_written_so() {
    let mut indexer = Indexer::start(None).await;
    let click = || image(1, 42, "click", true, AT);
    let steps: Vec<(&str, Value, Entries)> = vec![
        (
            "insert a test click",
            record(1, "INSERT", None, Some(click())),
            vec![entry("42#click", AT_MS, 1)],
        ),
        (
            "insert a test lead",
            record(2, "INSERT", None, Some(image(2, 42, "lead", true, AT))),
            vec![entry("42#click", AT_MS, 1), entry("42#lead", AT_MS, 2)],
        ),
        (
            "a live click never enters",
            record(3, "INSERT", None, Some(image(3, 42, "click", false, AT))),
            vec![entry("42#click", AT_MS, 1), entry("42#lead", AT_MS, 2)],
        ),
        (
            "another type never enters",
            record(4, "INSERT", None, Some(image(4, 42, "sale", true, AT))),
            vec![entry("42#click", AT_MS, 1), entry("42#lead", AT_MS, 2)],
        ),
        (
            "test flipped to live",
            record(
                5,
                "MODIFY",
                Some(image(2, 42, "lead", true, AT)),
                Some(image(2, 42, "lead", false, AT)),
            ),
            vec![entry("42#click", AT_MS, 1)],
        ),
        (
            "type change",
            record(
                6,
                "MODIFY",
                Some(click()),
                Some(image(1, 42, "lead", true, AT)),
            ),
            vec![entry("42#lead", AT_MS, 1)],
        ),
        (
            "programId change",
            record(
                7,
                "MODIFY",
                Some(image(1, 42, "lead", true, AT)),
                Some(image(1, 43, "lead", true, AT)),
            ),
            vec![entry("43#lead", AT_MS, 1)],
        ),
        (
            "createdAt change",
            record(
                8,
                "MODIFY",
                Some(image(1, 43, "lead", true, AT)),
                Some(image(1, 43, "lead", true, "2026-06-08T09:00:00Z")),
            ),
            vec![entry("43#lead", "2026-06-08T09:00:00.000Z", 1)],
        ),
        (
            "remove",
            record(
                9,
                "REMOVE",
                Some(image(1, 43, "lead", true, "2026-06-08T09:00:00Z")),
                None,
            ),
            vec![],
        ),
    ];
    for (name, record, expected) in steps {
        assert_eq!(
            indexer.index(&[record]).await,
            Vec::<String>::new(),
            "{name}"
        );
        assert_eq!(indexer.view().await, expected, "{name}");
    }
    // The status reads what the view holds: a test click of program 42, newest first.
    let batch = [
        record(
            10,
            "INSERT",
            None,
            Some(image(10, 42, "click", true, "2026-06-07T11:00:00Z")),
        ),
        record(
            11,
            "INSERT",
            None,
            Some(image(11, 42, "click", true, "2026-06-07T12:00:00Z")),
        ),
    ];
    assert!(indexer.index(&batch).await.is_empty());
    assert_eq!(indexer.status_ids(42, EventKind::Click).await, [11, 10]);
    assert_eq!(
        indexer.status_ids(42, EventKind::Lead).await,
        Vec::<u64>::new()
    );
}

/// The history of two events, as one batch: inserts, a flip to live, a program change.
fn history() -> Vec<Value> {
    vec![
        record(1, "INSERT", None, Some(image(1, 42, "click", true, AT))),
        record(2, "INSERT", None, Some(image(2, 42, "lead", true, AT))),
        record(
            3,
            "MODIFY",
            Some(image(1, 42, "click", true, AT)),
            Some(image(1, 42, "click", false, AT)),
        ),
        record(
            4,
            "MODIFY",
            Some(image(2, 42, "lead", true, AT)),
            Some(image(2, 43, "lead", true, AT)),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_batch_or_a_record_delivered_twice_leaves_the_same_view() {
    let mut indexer = Indexer::start(None).await;
    assert!(indexer.index(&history()).await.is_empty());
    let once = indexer.view().await;
    assert_eq!(once, [entry("43#lead", AT_MS, 2)]);

    assert!(indexer.index(&history()).await.is_empty());
    assert_eq!(indexer.view().await, once, "the batch replayed");
    let mut twice = history();
    twice.insert(2, history()[1].clone());
    assert!(indexer.index(&twice).await.is_empty());
    assert_eq!(indexer.view().await, once, "a record delivered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_test_event_is_skipped_with_one_error_line_and_its_metric() {
    let mut indexer = Indexer::start(None).await;
    let records = [
        record(
            1,
            "INSERT",
            None,
            Some(image(7, 42, "click", true, "last tuesday")),
        ),
        record(2, "INSERT", None, Some(image(8, 42, "click", true, AT))),
    ];
    assert!(
        indexer.index(&records).await.is_empty(),
        "not a failure: a retry cannot help"
    );
    assert_eq!(indexer.view().await, [entry("42#click", AT_MS, 8)]);

    let text = indexer.log_text();
    let errors: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert_eq!(errors.len(), 1, "{text}");
    let line = &errors[0];
    assert_eq!(line["key"], "id=7", "{line}");
    assert_eq!(line["field"], "createdAt", "{line}");
    assert_eq!(line["unreadable_test_events"], 1, "{line}");
    assert_eq!(
        line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "unreadable_test_events",
        "{line}"
    );
}

/// A batch from a stream without both images is refused whole: an invocation error (Lambda's
/// `Errors`, which `IndexerErrorsAlarm` watches) with one ERROR line, and nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_a_new_image_stream_is_refused_with_an_error_and_writes_nothing() {
    let mut indexer = Indexer::start(None).await;
    let mut inserted = record(1, "INSERT", None, Some(image(7, 42, "click", true, AT)));
    inserted["dynamodb"]["StreamViewType"] = json!("NEW_IMAGE");
    let answer = indexer.function.invoke(&batch(&[inserted])).await;
    assert!(answer.error, "not refused: {}", answer.body);
    assert!(
        answer.body.contains("view type NEW_IMAGE"),
        "{}",
        answer.body
    );
    assert!(indexer.view().await.is_empty());
    let text = indexer.log_text();
    let errors: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["level"] == "ERROR")
        .collect();
    assert!(
        errors
            .iter()
            .any(|line| line["message"] == "a batch of the wrong stream is refused"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_write_reports_its_record_and_the_rest_and_the_retry_completes_the_view() {
    let proxy = FaultProxy::start(&dynamodb_local_endpoint()).await;
    let mut indexer = Indexer::start(Some(proxy.endpoint())).await;
    let records = history();
    assert!(indexer.index(&records[..2]).await.is_empty());

    proxy.set(Fault::Error {
        status: 400,
        error_type: THROUGHPUT_EXCEEDED,
    });
    assert_eq!(indexer.index(&records[2..]).await, ["3", "4"]);
    assert_eq!(
        indexer.view().await,
        [entry("42#click", AT_MS, 1), entry("42#lead", AT_MS, 2)],
        "nothing of the failed records was written"
    );

    // Lambda retries from the first reported record.
    proxy.set(Fault::None);
    assert!(indexer.index(&records[2..]).await.is_empty());
    assert_eq!(indexer.view().await, [entry("43#lead", AT_MS, 2)]);
}

/// The local path of scripts/run-local.sh: a test click written straight into the events table,
/// as its writers write it, reaches the status through DynamoDB Local's stream, the poller
/// (`tracking_status_dev::stream_poller`, the event source mapping's stand-in) and the binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_click_put_into_the_events_table_shows_in_the_status_through_the_stream() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::time::{Duration, Instant};
    use tracking_status_dev::stream_poller::{POLL_INTERVAL, StreamReader, poll};

    let indexer = Indexer::start(None).await;
    let client = indexer.store.client().clone();
    let streams =
        aws_sdk_dynamodbstreams::Client::new(&sdk_config(&dynamodb_local_endpoint()).await);
    let mut reader = StreamReader::of_table(&client, streams, &indexer.tables.events)
        .await
        .unwrap();
    let Indexer {
        mut function,
        store,
        tables,
        ..
    } = indexer;
    let poller =
        tokio::spawn(
            async move { poll(&mut reader, &mut function, POLL_INTERVAL, |_, _| {}).await },
        );

    let put = |id: u64, test: bool| {
        client
            .put_item()
            .table_name(&tables.events)
            .item("id", AttributeValue::N(id.to_string()))
            .item("programId", AttributeValue::N("42".into()))
            .item("type", AttributeValue::S("click".into()))
            .item("test", AttributeValue::Bool(test))
            .item("timestamp", AttributeValue::S(AT.into()))
            .item("createdAt", AttributeValue::S(AT.into()))
            .send()
    };
    let status_ids = async || {
        store
            .recent_test_events(ProgramId::new(42).unwrap(), EventKind::Click, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|event| event.id)
            .collect::<Vec<_>>()
    };
    let wait_for = async |expected: &[u64]| {
        let start = Instant::now();
        while status_ids().await != expected {
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "the status still shows {:?}, not {expected:?}",
                status_ids().await
            );
            assert!(!poller.is_finished(), "the poller stopped");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        start.elapsed()
    };

    put(501, true).send_ok().await;
    let lag = wait_for(&[501]).await;
    eprintln!("a test click showed in the status {lag:?} after its PutItem");
    put(502, false).send_ok().await;
    put(501, false).send_ok().await;
    wait_for(&[]).await;
    poller.abort();
}

/// `send().await`, failing the test on an error.
trait SendOk {
    async fn send_ok(self);
}

impl<F, T, E> SendOk for F
where
    F: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    async fn send_ok(self) {
        self.await.unwrap();
    }
}

/// `events/stream/`, the samples for `sam local invoke TestEventIndexerFunction`, through the
/// binary in name order of their story: each is answered without a failure and does what its
/// name says to program 42's test clicks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_samples_do_what_their_names_say() {
    let mut indexer = Indexer::start(None).await;
    let sample = |name: &str| -> Vec<Value> {
        let path = format!(
            "{}/../events/stream/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let event: Value = serde_json::from_str(&text).unwrap();
        event["Records"].as_array().unwrap().clone()
    };
    let mut names: Vec<String> =
        std::fs::read_dir(format!("{}/../events/stream", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "insert-test-click.json",
            "modify-test-to-live.json",
            "remove-test-click.json",
            "unreadable-created-at.json"
        ]
    );
    for (name, clicks) in [
        ("insert-test-click", vec![104]),
        ("modify-test-to-live", vec![]),
        ("insert-test-click", vec![104]),
        ("remove-test-click", vec![]),
        ("unreadable-created-at", vec![]),
    ] {
        assert_eq!(
            indexer.index(&sample(name)).await,
            Vec::<String>::new(),
            "{name}"
        );
        assert_eq!(
            indexer.status_ids(42, EventKind::Click).await,
            clicks,
            "{name}"
        );
    }
    assert_eq!(indexer.view().await, Entries::new());
    assert!(indexer.log_text().contains("\"key\":\"id=105\""));
}
