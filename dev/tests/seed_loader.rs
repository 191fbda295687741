//! The `seed` binary, run as a user runs it, against DynamoDB Local.

//! (Here rather than in the root's `tests/api/`: Cargo gives the path of the
//! `seed` executable, `CARGO_BIN_EXE_seed`, only to its own package's tests.)

use std::process::{Command, Output};

use serde_json::Value;
use tracking_status::config::TableNames;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status_dev::kit::TableList;
use tracking_status_dev::kit::{
    EVENTS, body_text, check_contract, client_config, dynamodb_local_endpoint, fixture_programs,
    invoke, table_env, unique_tables,
};

async fn client() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(client_config(&dynamodb_local_endpoint()).await.build())
}

fn run_seed(tables: &TableNames, fixture_path: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seed"));
    command
        .arg(fixture_path)
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command.envs(table_env(tables));
    command.output().expect("seed runs")
}

/// The sample response `name` as tests/api/snapshots/ holds it (the root's API tests
/// write it from the same fixtures, loaded by the same code path in-process): the
/// JSON after the snapshot's `---` header, lastUpdated blanked.
fn sample(name: &str) -> Value {
    let path = format!(
        "{}/../tests/api/snapshots/{name}.snap",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json = text
        .splitn(3, "---\n")
        .nth(2)
        .unwrap_or_else(|| panic!("{path}: no snapshot header"));
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A 200's body with `data.lastUpdated` blanked as the snapshots have it, after
/// checking that it is a timestamp of the response format (24 characters, `Z`).
fn without_clock(body: &str) -> Value {
    let mut body: Value = serde_json::from_str(body).unwrap();
    let at = body["data"]["lastUpdated"].as_str().unwrap_or_default();
    assert!(at.len() == 24 && at.ends_with('Z'), "lastUpdated {at:?}");
    body["data"]["lastUpdated"] = Value::from("[lastUpdated]");
    body
}

fn write_temp(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn seed_loads_the_example_and_the_function_serves_it() {
    let tables = unique_tables();
    let fixture = format!("{}/../fixtures/example.json", env!("CARGO_MANIFEST_DIR"));
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

    let store = DynamoStore::new(client().await, tables);
    let (_, member) = EVENTS[1]; // http-200-member
    let response = invoke(&store, member).await.unwrap();
    check_contract(&response).unwrap();
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(without_clock(body_text(&response)), sample("program_42"));
}

/// The real `seed`, run once per file as the README's first command does, and
/// a dashboard's request for `nextSteps` of the program that needs every step.
#[tokio::test]
async fn seed_loads_the_next_steps_fields_and_the_function_reads_them() {
    let tables = unique_tables();
    for file in ["example.json", "next-steps.json"] {
        let fixture = format!("{}/../fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        let output = run_seed(&tables, &fixture);
        assert!(
            output.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let store = DynamoStore::new(client().await, tables);
    let document_of = async |program_id: &str| {
        let mut event: Value = serde_json::from_str(EVENTS[1].1).unwrap(); // http-200-member
        event["pathParameters"]["programId"] = Value::from(program_id);
        event["rawPath"] = Value::from(format!("/api/tracking/status/{program_id}"));
        event["rawQueryString"] = Value::from("include=nextSteps");
        let response = invoke(&store, &event.to_string()).await.unwrap();
        check_contract(&response).unwrap();
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        without_clock(body_text(&response))
    };
    // Every program of the fixtures (7: the program's createdAt; 8 and 9: every Stripe
    // requirements field; 42: the sample), whole, as the snapshot of the API tests holds it.
    for (program_id, _) in fixture_programs() {
        assert_eq!(
            document_of(&program_id).await,
            sample(&format!("program_{program_id}_next_steps")),
            "program {program_id}"
        );
    }
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
    let client = client().await;
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
