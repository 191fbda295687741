//! The release binary, run the way Lambda runs it — the Runtime API stand-in of
//! `tracking_status_dev::runtime_api` hands it events — against DynamoDB Local.
//!
//! The binary is the release profile's (panic strategy, LTO, strip) built with
//! the test-only `panic-probe` feature; `scripts/test.sh` builds it and passes
//! its path in `RELEASE_PROBE_BINARY` (step 3): on an x86_64 host the arm64
//! build, the architecture that deploys, run under qemu-aarch64
//! (`RELEASE_PROBE_RUNNER`); with `ARM64=0`, the host's. A program stored in the
//! workspace `panic-probe` makes its request panic after the program read.
//!
//! What the runtime (`lambda_http::run`) answers with an invocation error instead of a
//! response (API Gateway's 502) is what API Gateway never sends: payloads not of its
//! shape or beyond its limits, and a panic, which `lambda_runtime` catches.

use crate::common;

use std::path::{Path, PathBuf};

use common::runtime_api::{Answer, Function, RuntimeApi};
use serde_json::{Value, json};
use tracking_status_dev::kit::TableList;

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
    // lambda_http writes a REST (1.0) response's headers as multiValueHeaders.
    let header = |name: &str| match &response["multiValueHeaders"][name] {
        Value::Array(values) => values.first().cloned().unwrap_or_default(),
        _ => response["headers"][name].clone(),
    };
    assert_eq!(header("content-type"), "application/json", "{response}");
    assert_eq!(header("cache-control"), "no-store", "{response}");
    response
}

fn status(answer: &Answer) -> u64 {
    response(answer)["statusCode"].as_u64().unwrap_or_default()
}

/// The error the runtime posted instead of a response.
fn invocation_error(answer: &Answer) -> &str {
    assert!(
        answer.error,
        "a response instead of an invocation error: {}",
        answer.body
    );
    &answer.body
}

/// A panic is `lambda_runtime`'s invocation error (CatchPanicService), logged as JSON with its
/// location and message, and the same process serves on, however many requests panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_inside_a_request_is_an_invocation_error_and_the_process_serves_on() {
    let (mut function, log) = start(&probe_fixture()).await;

    let before = function.invoke(&event("42")).await;
    assert_eq!(status(&before), 200, "{}", before.body);

    for _ in 0..4 {
        let panicked = function.invoke(&event("4242")).await;
        let error = invocation_error(&panicked);
        assert!(error.contains("panic probe"), "{error}");
    }

    // The same process answers the next request in full.
    let after = function.invoke(&event("42")).await;
    let after = response(&after);
    assert_eq!(after["statusCode"], 200, "{after}");
    let document: Value = serde_json::from_str(after["body"].as_str().unwrap()).unwrap();
    assert_eq!(document["data"]["programId"], "42");
    assert!(function.is_running());

    // Each panic is one ERROR line of the hook, inside the invoke span, with the panic's
    // location and message; every line is JSON.
    let lines = log_lines(&log);
    let panics: Vec<&Value> = lines
        .iter()
        .filter(|line| line["panic"].is_string())
        .collect();
    assert_eq!(panics.len(), 4, "{lines:#?}");
    for line in panics {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert!(line["span"]["requestId"].is_string(), "{line}");
        let panic = line["panic"].as_str().unwrap();
        assert!(panic.contains("panic probe"), "{panic}");
        assert!(panic.contains("src/service.rs:"), "{panic}");
    }
}

/// Each payload version gets its own response shape, as `lambda_http` writes it: payload 2.0
/// with `cookies` (`cargo lambda watch`'s HTTP route answers 500 without it), 1.0 only with
/// keys a REST API accepts (an unknown one is a 502 there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_payload_version_gets_its_own_response_shape() {
    let (mut function, _log) = start(common::EXAMPLE_FIXTURE).await;
    let http = response(&function.invoke(&event("42")).await);
    assert_eq!(http["cookies"], json!([]), "{http}");
    let rest = common::rest_event_as(Some("user_dev"), "42").to_string();
    let rest = response(&function.invoke(&rest).await);
    assert_eq!(rest["statusCode"], 200, "{rest}");
    let known = [
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
    ];
    for key in rest.as_object().unwrap().keys() {
        assert!(known.contains(&key.as_str()), "{key}: {rest}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_deeply_nested_events_get_the_contract_response_or_an_invocation_error() {
    let (mut function, _log) = start(common::EXAMPLE_FIXTURE).await;
    // (name, payload, the contract's status, whether API Gateway can send it)
    let mut cases: Vec<(String, String, u64, bool)> = common::oversized::cases()
        .into_iter()
        .map(|case| {
            (
                case.name,
                case.payload,
                u64::from(case.expected),
                case.gateway_can_send,
            )
        })
        .collect();
    // Nesting past serde_json's recursion limit, in the authorizer and as a whole payload:
    // no event `lambda_http` reads, so the runtime's error.
    let mut nested = common::event_json("http-200-member");
    nested["requestContext"]["authorizer"]["lambda"]["userId"] =
        serde_json::from_str(&format!("{}{}", "[".repeat(100), "]".repeat(100))).unwrap();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let deeper = nested.to_string().replace(
        &format!("{}{}", "[".repeat(100), "]".repeat(100)),
        &format!("{}{}", "[".repeat(500_000), "]".repeat(500_000)),
    );
    cases.push(("authorizer nested 500,000 deep".into(), deeper, 401, false));
    cases.push(("a payload nested 200 deep".into(), deep, 401, false));
    cases.push((
        "a payload nested 3 MB deep".into(),
        format!("{}{}", "[".repeat(3 << 20), "]".repeat(3 << 20)),
        401,
        false,
    ));
    let mut errors = 0;
    for (name, payload, expected, gateway_can_send) in &cases {
        let answer = function.invoke(payload).await;
        if answer.error && !gateway_can_send {
            errors += 1;
        } else {
            assert_eq!(status(&answer), *expected, "{name}: {}", answer.body);
        }
    }
    let after = function.invoke(&event("42")).await;
    assert_eq!(status(&after), 200);
    assert!(function.is_running());
    println!(
        "release binary: {} oversized or nested cases, {errors} invocation errors",
        cases.len()
    );
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
            let request_id = line["lambda_request_id"].as_str();
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
