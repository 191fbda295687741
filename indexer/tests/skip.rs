//! The skip path, end to end: the real `test-event-indexer` binary behind the Runtime
//! API stand-in, fed by the strict poller with the template's own mapping
//! (`Mapping::from_template`: filter, batch size, bisect, retry limits), its view
//! writes failed by the fault proxy until the mapping gives up. The batch goes to the
//! on-failure record and is skipped; the status then shows a test click that its writer
//! flipped to live; `tracking-ops reconcile` finds it (a dry run reports one orphan) and
//! repairs it, and the status is right.

#![allow(clippy::restriction)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
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
use tracking_status_dev::stream_poller::{Mapping, StreamReader, deliver_strictly};

/// The `tracking-ops` binary, built first (cargo builds a dependency's library for these
/// tests, not its binaries): into this test's own target directory, where it is then found
/// beside the test executable's `deps/`.
fn tracking_ops_binary() -> std::process::Command {
    let status = std::process::Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--locked",
            "-p",
            "tracking-ops",
            "--bin",
            "tracking-ops",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p tracking-ops: {status}");
    let deps = std::env::current_exe().unwrap();
    let profile = deps.parent().and_then(|d| d.parent()).unwrap();
    std::process::Command::new(profile.join("tracking-ops"))
}

fn click(id: u64, test: bool) -> std::collections::HashMap<String, AttributeValue> {
    let s = |text: &str| AttributeValue::S(text.into());
    std::collections::HashMap::from([
        ("id".into(), AttributeValue::N(id.to_string())),
        ("programId".into(), AttributeValue::N("42".into())),
        ("type".into(), s("click")),
        ("test".into(), AttributeValue::Bool(test)),
        ("timestamp".into(), s("2026-06-07T10:00:00.000Z")),
        ("createdAt".into(), s("2026-06-07T10:00:00.000Z")),
    ])
}

async fn put(client: &Client, tables: &TableNames, id: u64, test: bool) {
    client
        .put_item()
        .table_name(&tables.events)
        .set_item(Some(click(id, test)))
        .send()
        .await
        .unwrap();
}

async fn test_clicks(store: &DynamoStore) -> Vec<u64> {
    store
        .recent_test_events(ProgramId::new(42).unwrap(), EventKind::Click, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.id)
        .collect()
}

/// The mapping on the stream until `done`: each shard's new records, strictly.
async fn drive<F, Fut>(
    reader: &mut StreamReader,
    indexer: &mut Function,
    mapping: &Mapping,
    failures: &Arc<Mutex<Vec<Value>>>,
    mut done: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not done in 30 s"
        );
        for (shard, records) in reader.next_by_shard().await.unwrap() {
            let failures = failures.clone();
            let mut on_failure = move |record: Value| failures.lock().unwrap().push(record);
            deliver_strictly(
                indexer,
                &shard,
                records,
                mapping,
                Duration::from_millis(100),
                &mut on_failure,
            )
            .await
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_batch_leaves_a_wrong_status_that_reconcile_finds_and_repairs() {
    let client = Client::from_conf(client_config(&dynamodb_local_endpoint()).await.build());
    let tables = unique_tables();
    ensure_tables(&client, &tables).await.unwrap();
    let store = DynamoStore::new(client.clone(), tables.clone());
    let proxy = FaultProxy::start(&dynamodb_local_endpoint()).await;
    let mut env = table_env(&tables);
    env.push((
        "AWS_ENDPOINT_URL_DYNAMODB".into(),
        proxy.endpoint().to_string(),
    ));
    let mut indexer = Function::spawn(env!("CARGO_BIN_EXE_test-event-indexer"), &env, None).await;
    let streams =
        aws_sdk_dynamodbstreams::Client::new(&sdk_config(&dynamodb_local_endpoint()).await);
    let mut reader = StreamReader::of_table(&client, streams, &tables.events)
        .await
        .unwrap();
    // The template's mapping; only its record age is shortened, from an hour to a second.
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let mut mapping = Mapping::from_template(&template).unwrap();
    assert_eq!(mapping.max_record_age, Some(Duration::from_secs(3600)));
    mapping.max_record_age = Some(Duration::from_secs(1));
    let failures = Arc::new(Mutex::new(Vec::new()));

    put(&client, &tables, 1, true).await;
    drive(&mut reader, &mut indexer, &mapping, &failures, || async {
        test_clicks(&store).await == [1]
    })
    .await;

    // The view's writes fail until the mapping gives up on the flip to live.
    proxy.set(Fault::Error {
        status: 400,
        error_type: THROUGHPUT_EXCEEDED,
    });
    put(&client, &tables, 1, false).await;
    drive(&mut reader, &mut indexer, &mapping, &failures, || async {
        !failures.lock().unwrap().is_empty()
    })
    .await;
    proxy.set(Fault::None);
    let given_up = failures.lock().unwrap()[0].clone();
    assert_eq!(given_up["DDBStreamBatchInfo"]["batchSize"], 1, "{given_up}");

    // The mapping moved on: a later test click is indexed; the flipped one stays, wrongly.
    put(&client, &tables, 2, true).await;
    drive(&mut reader, &mut indexer, &mapping, &failures, || async {
        test_clicks(&store).await.contains(&2)
    })
    .await;
    assert_eq!(test_clicks(&store).await, [2, 1], "the skipped flip left 1");

    // The operator's command, as #27's Done-when says: `reconcile --dry-run` reports the
    // drift and exits 1, then `reconcile` repairs it and the status is right.
    let reconcile = |args: &[&str]| {
        let output = tracking_ops_binary()
            .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local_endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .envs(table_env(&tables))
            .arg("reconcile")
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.code(), text)
    };
    let (code, text) = reconcile(&["--dry-run"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("orphan: 1") && text.contains("1 drifted") && text.contains("dry run"),
        "{text}"
    );
    assert_eq!(
        test_clicks(&store).await,
        [2, 1],
        "a dry run changes nothing"
    );

    let (code, text) = reconcile(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("1 deleted, 0 put, settled"), "{text}");
    assert_eq!(test_clicks(&store).await, [2]);
}
