//! The handler over the in-memory store: fast checks of every file in `events/`
//! and of the log line each request writes. The same files run against
//! DynamoDB Local in `endpoint.rs`.

use crate::common;

use common::{CapturedLogs, EVENTS, EXAMPLE_FIXTURE, expected_status, read};
use lambda_http::Request;
use serde_json::Value;
use tracking_status::http::handle;
use tracking_status::store::memory::MemoryStore;
use tracking_status::telemetry::json_subscriber;

fn example_store() -> MemoryStore {
    common::example_store()
}

fn parse(text: &str) -> Request {
    lambda_http::request::from_str(text).expect("an API Gateway event")
}

#[test]
fn the_list_covers_every_file_in_events() {
    let dir = format!("{}/events", env!("CARGO_MANIFEST_DIR"));
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        // events/stream/ holds test-event-indexer's stream events (indexer/tests/binary.rs).
        .filter(|name| name.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EVENTS
        .iter()
        .map(|(name, _)| format!("{name}.json"))
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[tokio::test]
async fn every_event_gives_the_status_in_its_name() {
    let store = example_store();
    for (name, text) in EVENTS {
        let expected = expected_status(name);
        let (status, body) = read(handle(&store, parse(text)).await);
        assert_eq!(status, expected, "{name}: {body}");
        if status == 200 {
            assert_eq!(body["data"]["programId"], "42");
            assert_eq!(body["data"]["hasPartners"], true);
            // the next-steps events ask for it, the others do not
            assert_eq!(
                body["data"].get("nextSteps").is_some(),
                name.contains("next-steps"),
                "{name}: {body}"
            );
        }
    }
}

/// Runs `requests` through `handle` with a JSON subscriber capturing the logs.
fn logs_of<S: tracking_status::store::StatusStore>(
    store: &S,
    requests: Vec<Request>,
) -> Vec<Value> {
    let captured = CapturedLogs::default();
    let sink = captured.clone();
    let subscriber = json_subscriber(Some("debug"), move || sink.clone());
    tracing::subscriber::with_default(subscriber, || {
        common::settle_log_filters();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for request in requests {
            runtime.block_on(handle(store, request));
        }
    });
    captured.lines()
}

/// The request line is the request's metrics (EMF): at WARN it is still written, one
/// per request, at its own level, while the level still holds back an ordinary INFO
/// line. (`release_binary.rs` checks it end to end, `AWS_LAMBDA_LOG_LEVEL=WARN` too.)
#[test]
fn at_warn_each_request_still_writes_its_metrics_line() {
    let store = example_store();
    let captured = CapturedLogs::default();
    let sink = captured.clone();
    let subscriber = json_subscriber(Some("warn"), move || sink.clone());
    tracing::subscriber::with_default(subscriber, || {
        common::settle_log_filters();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tracing::info!("an ordinary INFO line");
        for program_id in ["42", "424242"] {
            let request = common::request_as(Some("user_dev"), program_id);
            runtime.block_on(handle(&store, request));
        }
        tracing::warn!("an ordinary WARN line");
    });
    let lines = captured.lines();
    let messages: Vec<&str> = lines
        .iter()
        .map(|line| line["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        ["request", "request", "an ordinary WARN line"],
        "{lines:#?}"
    );
    for (line, status) in lines.iter().zip([200, 404]) {
        assert_eq!(line["status"], status, "{line}");
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["status_class"], format!("{}xx", status / 100));
        assert!(line["_aws"]["CloudWatchMetrics"].is_array(), "{line}");
        assert!(line["duration_ms"].is_number(), "{line}");
    }
}

#[test]
fn one_log_line_per_request_with_id_program_status_and_duration() {
    let store = example_store();
    let requests = EVENTS.iter().map(|(_, text)| parse(text)).collect();
    let lines = logs_of(&store, requests);
    assert_eq!(lines.len(), EVENTS.len(), "{lines:#?}");
    for ((name, _), line) in EVENTS.iter().zip(&lines) {
        let status = expected_status(name);
        assert_eq!(line["status"], status, "{line}");
        // each sample event's API Gateway request id is its file name
        assert_eq!(line["request_id"], *name, "{line}");
        assert!(
            line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{line}"
        );
        assert!(line["program_id"].is_string(), "{line}");
        assert_eq!(line["level"], "INFO");
        // the same line is the request's metrics (EMF): by status class, and
        // no DynamoDB call over the in-memory store
        assert_eq!(
            line["status_class"],
            format!("{}xx", status / 100),
            "{line}"
        );
        assert_eq!(line["dynamodb_calls"], 0, "{line}");
        let metrics = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(metrics["Dimensions"], serde_json::json!([["status_class"]]));
        assert_eq!(metrics["Metrics"][0]["Name"], "duration_ms");
        assert_eq!(metrics["Metrics"][1]["Name"], "dynamodb_calls");
    }
}

#[test]
fn ids_from_the_event_are_bounded_in_the_log() {
    let mut event: Value = serde_json::from_str(EVENTS[1].1).unwrap();
    event["requestContext"]["requestId"] = Value::from("r".repeat(100_000));
    event["pathParameters"]["programId"] = Value::from("9".repeat(100_000));
    let lines = logs_of(&example_store(), vec![parse(&event.to_string())]);
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let fields = &lines[0];
    assert_eq!(fields["request_id"], "r".repeat(64));
    assert_eq!(fields["program_id"], "9".repeat(32));
    assert_eq!(fields["status"], 400);
}

#[test]
fn a_500_logs_its_cause_and_nothing_secret() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(common::unreachable_store());
    drop(runtime);

    let lines = logs_of(&store, vec![parse(EVENTS[1].1)]); // http-200-member
    let request_lines: Vec<&Value> = lines.iter().filter(|l| l["status"].is_number()).collect();
    assert_eq!(request_lines.len(), 1, "{lines:#?}");
    let line = request_lines[0];
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["status"], 500);
    assert_eq!(line["request_id"], "http-200-member");
    let cause = line["cause"].as_str().unwrap();
    assert!(
        cause.contains("GetItem") || cause.contains("Query"),
        "{cause}"
    );

    let all = serde_json::to_string(&lines).unwrap();
    assert!(
        !all.contains("s3cr3t-session-token"),
        "a cookie reached the log"
    );
}

/// Every sample event with a session cookie and a bearer token added.
fn events_with_secrets() -> Vec<String> {
    EVENTS
        .iter()
        .map(|(_, text)| {
            let mut event: Value = serde_json::from_str(text).unwrap();
            event["headers"]["authorization"] =
                Value::from("Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig");
            event["headers"]["cookie"] = Value::from("session=s3cr3t-session-token; theme=dark");
            if event.get("multiValueHeaders").is_some() {
                event["multiValueHeaders"]["Authorization"] =
                    serde_json::json!(["Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig"]);
            }
            event.to_string()
        })
        .collect()
}

/// Runs the events through the real invocation edge with every log line, down
/// to debug and the SDK's own, captured.
fn debug_logs_of<S: tracking_status::store::StatusStore>(
    runtime: &tokio::runtime::Runtime,
    store: &S,
    events: &[String],
) -> String {
    let captured = CapturedLogs::default();
    let sink = captured.clone();
    let subscriber = json_subscriber(Some("debug"), move || sink.clone());
    tracing::subscriber::with_default(subscriber, || {
        common::settle_log_filters();
        for event in events {
            let response = runtime.block_on(common::invoke(store, event)).unwrap();
            assert!(response.status().as_u16() < 500, "{response:?}");
        }
    });
    let text = captured.text();
    assert!(text.lines().count() >= events.len());
    text
}

fn assert_no_secrets(logs: &str) {
    for secret in [
        "s3cr3t",
        "Bearer",
        "eyJhbGciOiJIUzI1NiJ9",
        "theme=dark",
        "requestContext",
        "\"authorizer\"",
        "routeKey",
    ] {
        assert!(
            !logs.contains(secret),
            "the logs contain {secret:?}:\n{logs}"
        );
    }
}

#[test]
fn logs_carry_no_cookie_token_or_event_in_memory() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let logs = debug_logs_of(&runtime, &example_store(), &events_with_secrets());
    assert_no_secrets(&logs);
}

#[test]
fn logs_carry_no_cookie_token_or_event_with_dynamodb() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(common::seeded_store(EXAMPLE_FIXTURE));
    let logs = debug_logs_of(&runtime, &store, &events_with_secrets());
    assert_no_secrets(&logs);
    // nor the AWS credentials the SDK signs with
    assert!(
        !logs.contains("Signature=") && !logs.contains("Credential="),
        "{logs}"
    );
}
