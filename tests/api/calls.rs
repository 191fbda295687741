//! What one status request costs DynamoDB: the calls as they go over the wire.

use crate::common;

use common::{CallRecorder, EXAMPLE_FIXTURE, read, request_as, seeded_store_with};
use serde_json::Value;
use tracking_status::http::handle;

/// Fails on a Scan, a FilterExpression, a Query whose key condition is not
/// an equality on the partition key, or a strongly consistent read.
fn assert_reads_select_exactly(calls: &[common::Call]) {
    for call in calls {
        assert!(
            matches!(
                call.operation.as_str(),
                "GetItem" | "Query" | "BatchGetItem"
            ),
            "only GetItem, BatchGetItem and Query, got {} {}",
            call.operation,
            call.request
        );
        if call.operation == "BatchGetItem" {
            let tables = call.request["RequestItems"]
                .as_object()
                .expect("RequestItems");
            assert_eq!(tables.len(), 2, "{}", call.request);
            for read in tables.values() {
                assert_eq!(read["Keys"].as_array().map(Vec::len), Some(1), "{read}");
                assert_ne!(read["ConsistentRead"], Value::Bool(true), "{read}");
            }
        }
        assert!(
            call.request.get("FilterExpression").is_none(),
            "a discarding filter: {}",
            call.request
        );
        assert!(
            call.request.get("ScanFilter").is_none() && call.request.get("QueryFilter").is_none()
        );
        if call.operation == "Query" {
            let condition = call.request["KeyConditionExpression"]
                .as_str()
                .unwrap_or_default();
            assert!(
                !condition.contains("begins_with") && !condition.contains("BETWEEN"),
                "{condition}"
            );
            assert!(
                call.request["Limit"]
                    .as_i64()
                    .is_some_and(|limit| limit <= 10),
                "{}",
                call.request
            );
        }
        assert_ne!(
            call.request["ConsistentRead"],
            Value::Bool(true),
            "eventually consistent reads"
        );
    }
}

#[tokio::test]
async fn a_200_takes_five_calls_in_two_round_trips() {
    let recorder = CallRecorder::default();
    let store = seeded_store_with(EXAMPLE_FIXTURE, Some(recorder.clone())).await;

    let (status, body) = read(handle(&store, request_as(Some("user_dev"), "42")).await);
    assert_eq!(status, 200, "{body}");

    let calls = recorder.calls();
    let mut operations: Vec<_> = calls.iter().map(|c| c.operation.as_str()).collect();
    operations.sort();
    assert_eq!(
        operations,
        ["BatchGetItem", "GetItem", "Query", "Query", "Query"],
        "{calls:#?}"
    );
    assert_reads_select_exactly(&calls);
    assert!(calls.iter().all(|c| c.answered.is_some()));
    let round_trips = recorder.sequential_round_trips();
    println!(
        "a 200: {} DynamoDB calls, {round_trips} sequential round trips",
        calls.len()
    );
    assert_eq!(round_trips, 2, "{calls:#?}");
}

/// `include=nextSteps` is computed from the same five calls: no more calls, no
/// more round trips, and the same requests (the projections read the new
/// fields whether or not a request asks for them).
#[tokio::test]
async fn next_steps_cost_no_more_calls_or_round_trips() {
    let recorder = CallRecorder::default();
    let store = seeded_store_with(EXAMPLE_FIXTURE, Some(recorder.clone())).await;
    let mut requests = Vec::new();
    for include in [None, Some("nextSteps")] {
        recorder.clear();
        let mut request = request_as(Some("user_dev"), "42");
        if let Some(include) = include {
            request = common::with_include(request, include);
        }
        let (status, body) = read(handle(&store, request).await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["nextSteps"].is_array(), include.is_some());
        let calls = recorder.calls();
        assert_eq!(calls.len(), 5, "{include:?}: {calls:#?}");
        assert_eq!(recorder.sequential_round_trips(), 2, "{include:?}");
        assert_reads_select_exactly(&calls);
        let mut sent: Vec<String> = calls.iter().map(|c| c.request.to_string()).collect();
        sent.sort();
        requests.push(sent);
    }
    assert_eq!(
        requests[0], requests[1],
        "the same requests with or without nextSteps"
    );
}

/// The request's log line (also its EMF metrics) counts the calls the
/// recorder sees on the wire.
#[test]
fn the_request_line_counts_the_calls_on_the_wire() {
    use tracking_status::telemetry::json_subscriber;
    let captured = common::CapturedLogs::default();
    let sink = captured.clone();
    let recorder = CallRecorder::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cases = [
        (Some("user_dev"), "42", 200),
        (Some("user_dev"), "43", 404),
        (Some("user_nobody"), "42", 404),
        (Some("user_billing"), "42", 403),
        (Some("user_dev"), "042", 400),
        (None, "42", 401),
    ];
    tracing::subscriber::with_default(json_subscriber(None, move || sink.clone()), || {
        common::settle_log_filters();
        runtime.block_on(async {
            let store = seeded_store_with(EXAMPLE_FIXTURE, Some(recorder.clone())).await;
            for (user, program_id, expected) in cases {
                recorder.clear();
                captured.take_lines();
                let (status, _) = read(handle(&store, request_as(user, program_id)).await);
                assert_eq!(status, expected);
                let lines = captured.take_request_lines();
                assert_eq!(lines.len(), 1, "{lines:#?}");
                assert_eq!(
                    lines[0]["dynamodb_calls"],
                    recorder.calls().len(),
                    "{expected}: {}",
                    lines[0]
                );
                if expected == 200 {
                    assert_eq!(lines[0]["dynamodb_calls"], 5);
                    assert_eq!(lines[0]["status_class"], "2xx");
                }
            }
        });
    });
}

#[tokio::test]
async fn error_paths_cost_no_more() {
    let recorder = CallRecorder::default();
    let store = seeded_store_with(EXAMPLE_FIXTURE, Some(recorder.clone())).await;
    let cases = [
        (None, "42", 401, 0),
        (Some("user_dev"), "042", 400, 0),
        // a missing program reads what a non-member's request reads (service.rs)
        (Some("user_dev"), "43", 404, 5),
        (Some("user_nobody"), "42", 404, 5),
        (Some("user_billing"), "42", 403, 5),
    ];
    let mut seen = Vec::new();
    for (user, program_id, expected_status, expected_calls) in cases {
        recorder.clear();
        let (status, _) = read(handle(&store, request_as(user, program_id)).await);
        assert_eq!(status, expected_status);
        let calls = recorder.calls();
        assert_eq!(calls.len(), expected_calls, "{expected_status}: {calls:#?}");
        assert_reads_select_exactly(&calls);
        let mut operations: Vec<_> = calls.iter().map(|c| c.operation.clone()).collect();
        operations.sort();
        seen.push(operations);
    }
    // The missing program's 404, the non-member's 404 and the 403 make the same calls.
    assert_eq!(seen[2], seen[3]);
    assert_eq!(seen[3], seen[4]);
}

#[tokio::test]
async fn the_init_warm_up_is_four_concurrent_reads_the_role_allows() {
    let recorder = CallRecorder::default();
    let store = seeded_store_with(EXAMPLE_FIXTURE, Some(recorder.clone())).await;
    store.warm_up().await.expect("the warm-up reads succeed");
    let calls = recorder.calls();
    assert_eq!(calls.len(), 4, "{calls:#?}");
    for call in &calls {
        assert_eq!(call.operation, "GetItem");
        assert_eq!(call.request["TableName"], store.tables().programs.as_str());
        assert_eq!(call.request["Key"], serde_json::json!({"id": {"N": "0"}}));
    }
    assert_reads_select_exactly(&calls);
    // all four in flight together: one round trip
    assert_eq!(recorder.sequential_round_trips(), 1);
}
