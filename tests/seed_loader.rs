//! The `seed` binary, run as a user runs it, against DynamoDB Local.

mod common;

use std::process::{Command, Output};

use common::{read, request_as, unique_tables};
use tracking_status::config::{TABLE_VARIABLES, TableNames};
use tracking_status::http::handle;
use tracking_status::store::dynamodb::DynamoStore;

fn run_seed(tables: &TableNames, fixture_path: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seed"));
    command
        .arg(fixture_path)
        .env("AWS_ENDPOINT_URL_DYNAMODB", common::endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for ((variable, _), name) in TABLE_VARIABLES.iter().zip(tables.all()) {
        command.env(variable, name);
    }
    command.output().expect("seed runs")
}

fn write_temp(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn seed_loads_the_example_and_the_function_serves_it() {
    let tables = unique_tables();
    let fixture = format!("{}/fixtures/example.json", env!("CARGO_MANIFEST_DIR"));
    let output = run_seed(&tables, &fixture);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("wrote 11 records"));

    // running it again is harmless: the tables exist, the records are rewritten
    let again = run_seed(&tables, &fixture);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let store = DynamoStore::new(common::client(None).await, tables);
    let (status, body) = read(handle(&store, request_as(Some("user_dev"), "42")).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["statistics"]["pageview"]["latestTestEvent"]["id"],
        101
    );
}

#[tokio::test]
async fn a_malformed_fixture_names_the_record_and_writes_nothing() {
    let tables = unique_tables();
    // valid records first, then a bad one: nothing at all may be written
    let text = r#"{
        "programs": [{"id": 5, "workspaceId": "ws", "advertiserId": "adv", "name": "P"}],
        "events": [
            {"id": 1, "programId": 5, "type": "click", "test": true, "timestamp": "2026-06-07T10:00:00Z", "createdAt": "2026-06-07T10:00:00Z"},
            {"id": 2, "programId": 5, "type": "click", "test": true, "timestamp": "2026-06-07T10:00:00Z", "createdAt": "soon"}
        ]
    }"#;
    let output = run_seed(&tables, &write_temp("bad.json", text));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("events[1] (id 2)") && stderr.contains("createdAt"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");

    // not even a table was created
    let client = common::client(None).await;
    for name in tables.all() {
        let described = client.describe_table().table_name(name).send().await;
        assert!(
            described.is_err_and(|e| e
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())),
            "{name} exists"
        );
    }

    let output = run_seed(&tables, "/nonexistent/fixture.json");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));
}
