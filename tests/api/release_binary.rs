//! The release binary, run the way Lambda runs it — the Runtime API stand-in of
//! `tracking_status_dev::runtime_api` hands it events — against DynamoDB Local.
//!
//! The binary is the release profile's (panic strategy, LTO, strip) built with
//! the test-only `panic-probe` feature; `scripts/test.sh` builds it and passes
//! its path in `RELEASE_PROBE_BINARY` (step 3): on an x86_64 host the arm64
//! build, the architecture that deploys, run under qemu-aarch64
//! (`RELEASE_PROBE_RUNNER`); with `ARM64=0`, the host's. A program stored in the
//! workspace `panic-probe` makes its request panic after the program read.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::INTERNAL_ERROR_BODY;
use common::runtime_api::{Answer, Function, RuntimeApi};
use serde_json::{Value, json};
use tracking_status::panic_net::{PANIC_LIMIT, PANIC_LIMIT_EXIT_STATUS};

fn binary() -> String {
    std::env::var("RELEASE_PROBE_BINARY").expect(
        "RELEASE_PROBE_BINARY is not set: run the tests with `scripts/test.sh`, which builds \
         the release binary with the panic-probe feature",
    )
}

/// What runs the binary, split on spaces: empty (it runs itself) unless
/// `RELEASE_PROBE_RUNNER` says otherwise: `scripts/test.sh` sets it to
/// `qemu-aarch64 -L /usr/aarch64-linux-gnu` (the arm64 glibc) for the arm64 build.
fn runner() -> Vec<String> {
    std::env::var("RELEASE_PROBE_RUNNER")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// The example fixture plus program 4242 in the probe's workspace.
fn probe_fixture() -> String {
    let mut fixture: Value = serde_json::from_str(common::EXAMPLE_FIXTURE).unwrap();
    fixture["programs"].as_array_mut().unwrap().push(json!({
        "id": 4242, "workspaceId": "panic-probe", "advertiserId": "adv_acme", "name": "Panic probe"
    }));
    fixture.to_string()
}

/// A function process over fresh tables holding `fixture`, logging to a file.
async fn start(fixture: &str) -> (Function, PathBuf) {
    start_with(fixture, &[]).await
}

/// `start`, with the variables `extra` on top.
async fn start_with(fixture: &str, extra: &[(&str, &str)]) -> (Function, PathBuf) {
    let tables = common::seeded_tables(fixture).await;
    let mut env = common::table_env(&tables);
    env.push(("AWS_ENDPOINT_URL_DYNAMODB".to_string(), common::endpoint()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let log = std::env::temp_dir().join(format!(
        "release-binary-{}-{}.log",
        std::process::id(),
        tables.all()[0]
    ));
    let _ = std::fs::remove_file(&log);
    let function = Function::spawn_under(
        &runner(),
        &binary(),
        RuntimeApi::start().await,
        &env,
        Some(&log),
    );
    (function, log)
}

/// A member's request for `program_id` (the probe's program panics before the policy).
fn event(program_id: &str) -> String {
    common::event_as(Some("user_dev"), program_id).to_string()
}

/// The proxy response the function posted, checked for the contract's headers.
fn response(answer: &Answer) -> Value {
    assert!(
        !answer.error,
        "the function reported an invocation error instead of a response: {}",
        answer.body
    );
    let response: Value = serde_json::from_str(&answer.body).expect("a JSON response");
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(response["headers"]["cache-control"], "no-store");
    response
}

fn status(answer: &Answer) -> u64 {
    response(answer)["statusCode"].as_u64().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_a_request_is_the_contracts_500_and_the_process_serves_on() {
    let (mut function, log) = start(&probe_fixture()).await;

    let before = function.invoke(&event("42")).await;
    assert_eq!(status(&before), 200, "{}", before.body);

    let panicked = function.invoke(&event("4242")).await;
    let panicked = response(&panicked);
    assert_eq!(panicked["statusCode"], 500, "{panicked}");
    assert_eq!(panicked["body"], INTERNAL_ERROR_BODY);

    // The same process answers the next request in full.
    let after = function.invoke(&event("42")).await;
    let after = response(&after);
    assert_eq!(after["statusCode"], 200, "{after}");
    let document: Value = serde_json::from_str(after["body"].as_str().unwrap()).unwrap();
    assert_eq!(document["data"]["programId"], "42");
    assert!(function.is_running());

    // One ERROR line, with the Lambda request id and the panic's location and
    // message; nothing else mentions the panic (the default hook is silenced).
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().filter(|line| line.contains("panic")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line: Value = serde_json::from_str(lines[0]).expect("a JSON log line");
    assert_eq!(line["level"], "ERROR", "{line}");
    assert_eq!(line["status"], 500, "{line}");
    assert_eq!(line["request_id"], "req-2", "{line}");
    let cause = line["cause"].as_str().unwrap();
    assert!(cause.contains("panic probe"), "{cause}");
    assert!(cause.contains("src/panic_net.rs:"), "{cause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_deeply_nested_events_get_the_contract_response_from_the_release_binary() {
    let (mut function, _log) = start(common::EXAMPLE_FIXTURE).await;
    let mut cases: Vec<(String, String, u64)> = common::oversized::cases()
        .into_iter()
        .map(|case| (case.name, case.payload, u64::from(case.expected)))
        .collect();
    // Nesting past serde_json's recursion limit, in the authorizer and as a whole payload.
    let mut nested = common::event_json("http-200-member");
    nested["requestContext"]["authorizer"]["lambda"]["userId"] =
        serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let deeper = nested.to_string().replace(
        &format!("{}{}", "[".repeat(100), "]".repeat(100)),
        &format!("{}{}", "[".repeat(500_000), "]".repeat(500_000)),
    );
    cases.push(("authorizer nested 500,000 deep".into(), deeper, 401));
    cases.push(("a payload nested 200 deep".into(), deep, 401));
    cases.push((
        "a payload nested 3 MB deep".into(),
        format!("{}{}", "[".repeat(3 << 20), "]".repeat(3 << 20)),
        401,
    ));
    for (name, payload, expected) in &cases {
        let answer = function.invoke(payload).await;
        assert_eq!(status(&answer), *expected, "{name}: {}", answer.body);
    }
    let after = function.invoke(&event("42")).await;
    assert_eq!(status(&after), 200);
    assert!(function.is_running());
    println!("release binary: {} oversized or nested cases", cases.len());
}

/// A direct Invoke can carry a client context that `lambda_runtime` cannot read
/// (it fails building the invocation's context, before any handler runs): that
/// invocation goes unanswered, and the same process serves the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_client_context_does_not_end_the_process() {
    let (mut function, log) = start(common::EXAMPLE_FIXTURE).await;
    for context in [r#"{"client":{}}"#, r#"{"custom":{"a":1}}"#, "not json"] {
        function
            .api
            .send_with_headers(
                &event("42"),
                &format!("lambda-runtime-client-context: {context}\r\n"),
            )
            .await;
        let answer = function.invoke(&event("42")).await;
        assert_eq!(status(&answer), 200, "after {context}: {}", answer.body);
        assert!(function.is_running(), "after {context}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let restarts = text
        .lines()
        .filter(|line| line.contains("the Lambda runtime loop stopped"))
        .count();
    assert_eq!(restarts, 3, "{text}");
}

/// Every line the function wrote, each a JSON object.
fn log_lines(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("every log line is a JSON object"))
        .collect()
}

/// After `PANIC_LIMIT` caught panics the process exits (status 70), but only once
/// the last panic's 500 is posted; fewer panics, even with other requests between
/// them, leave it serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_exits_after_the_panic_limit_once_the_last_500_is_posted() {
    let (mut function, log) = start(&probe_fixture()).await;
    for caught in 1..=PANIC_LIMIT {
        let panicked = response(&function.invoke(&event("4242")).await);
        assert_eq!(panicked["statusCode"], 500, "panic {caught}: {panicked}");
        assert_eq!(panicked["body"], INTERNAL_ERROR_BODY);
        if caught < PANIC_LIMIT {
            let after = function.invoke(&event("42")).await;
            assert_eq!(status(&after), 200, "after panic {caught}: {}", after.body);
            assert!(function.is_running(), "after panic {caught}");
        }
    }
    let exited = function.exit_status(Duration::from_secs(10)).await;
    assert_eq!(
        exited.and_then(|status| status.code()),
        Some(PANIC_LIMIT_EXIT_STATUS),
        "{exited:?}\n{}",
        std::fs::read_to_string(&log).unwrap()
    );

    // One ERROR line says why, inside the last panicking request's invoke span.
    let lines = log_lines(&log);
    let exits: Vec<&Value> = lines
        .iter()
        .filter(|line| line["caught_panics"].is_number())
        .collect();
    assert_eq!(exits.len(), 1, "{lines:#?}");
    let exit = exits[0];
    assert_eq!(exit["level"], "ERROR", "{exit}");
    assert_eq!(exit["caught_panics"], PANIC_LIMIT, "{exit}");
    assert_eq!(exit["exit_status"], PANIC_LIMIT_EXIT_STATUS, "{exit}");
    let message = exit["message"].as_str().unwrap();
    assert!(
        message.contains("Lambda replaces this sandbox"),
        "{message}"
    );
    let last_panic = lines
        .iter()
        .rfind(|line| line["status"] == 500)
        .expect("the last panic's request line");
    assert_eq!(exit["span"]["requestId"], last_panic["span"]["requestId"]);
    assert_eq!(lines.last(), Some(exit), "the exit line is the last line");
}

/// At WARN, in either form the function reads, a 200 and a 404 still write their
/// request line, the EMF record of their metrics, with the Lambda request id; and no
/// other INFO line is written. Under `AWS_LAMBDA_LOG_LEVEL` (Lambda's own filter,
/// which drops JSON lines below it) the request line is labelled WARN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_warn_the_release_binary_still_writes_each_requests_metrics() {
    // At INFO, the probe build writes an ordinary INFO line at init (`main.rs`): the
    // check below that WARN leaves such lines out can fail.
    let (mut function, log) = start(common::EXAMPLE_FIXTURE).await;
    assert_eq!(status(&function.invoke(&event("42")).await), 200);
    let at_info = log_lines(&log);
    assert!(
        at_info
            .iter()
            .any(|line| line["level"] == "INFO" && !line["status"].is_number()),
        "no ordinary INFO line at INFO: {at_info:#?}"
    );
    drop(function);

    for (variable, level, label) in [
        ("AWS_LAMBDA_LOG_LEVEL", "WARN", "WARN"),
        ("RUST_LOG", "warn", "INFO"),
    ] {
        let (mut function, log) = start_with(common::EXAMPLE_FIXTURE, &[(variable, level)]).await;
        let mut request_ids = Vec::new();
        for (program_id, expected) in [("42", 200), ("424242", 404)] {
            let answer = function.invoke(&event(program_id)).await;
            assert_eq!(
                status(&answer),
                expected,
                "{variable}={level}: {}",
                answer.body
            );
        }
        let lines = log_lines(&log);
        let requests: Vec<&Value> = lines
            .iter()
            .filter(|line| line["status"].is_number())
            .collect();
        let statuses: Vec<&Value> = requests.iter().map(|line| &line["status"]).collect();
        assert_eq!(statuses, [200, 404], "{variable}={level}: {lines:#?}");
        for line in &requests {
            assert_eq!(line["level"], label, "{variable}={level}: {line}");
            let metrics = &line["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(metrics["Dimensions"], json!([["status_class"]]), "{line}");
            assert!(line["duration_ms"].is_number(), "{line}");
            assert!(line["dynamodb_calls"].is_number(), "{line}");
            let request_id = line["span"]["requestId"].as_str();
            assert!(
                request_id.is_some_and(|id| id.starts_with("req-")),
                "{line}"
            );
            request_ids.push(request_id);
        }
        assert_ne!(request_ids[0], request_ids[1]);
        let others: Vec<&Value> = lines
            .iter()
            .filter(|line| !line["status"].is_number())
            .filter(|line| !matches!(line["level"].as_str(), Some("WARN" | "ERROR")))
            .collect();
        assert!(others.is_empty(), "{variable}={level}: {others:#?}");
    }
}
