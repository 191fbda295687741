//! Store faults through a real socket: a proxy between the SDK and DynamoDB
//! Local plays each fault. The answer is always the contract's 500, within a
//! bounded time, leaking nothing; one log line carries the cause and the
//! request id; and the very next request succeeds once the fault is gone.

use crate::common;

use std::time::{Duration, Instant};

use common::fault_proxy::{
    Fault, FaultProxy, INTERNAL_SERVER_ERROR, THROTTLING, THROUGHPUT_EXCEEDED,
};
use common::{CapturedLogs, EXAMPLE_FIXTURE, read, request_as, seeded_store};
use tracking_status::http::handle;
use tracking_status::sdk::OPERATION_TIMEOUT;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status::telemetry::json_subscriber;

/// A request makes at most two sequential rounds of calls, each capped by the
/// SDK's operation timeout; template.yaml gives the function 6 s.
const BOUND: Duration = Duration::from_millis(2 * OPERATION_TIMEOUT.as_millis() as u64 + 500);

/// A store whose every call goes through a fault proxy, with its own tables.
async fn store_behind_proxy() -> (DynamoStore, FaultProxy) {
    let seeded = seeded_store(EXAMPLE_FIXTURE).await;
    let proxy = FaultProxy::start(&common::endpoint()).await;
    let client = common::client_for(proxy.endpoint(), None).await;
    (DynamoStore::new(client, seeded.tables().clone()), proxy)
}

async fn fault_gives_a_clean_500(fault: Fault) -> (Duration, u64) {
    let (store, proxy) = store_behind_proxy().await;
    store_fault_gives_a_clean_500(&store, &proxy, fault).await
}

/// As `fault_gives_a_clean_500`, on a given store behind its proxy; also
/// returns the calls the faulty request made.
async fn store_fault_gives_a_clean_500(
    store: &DynamoStore,
    proxy: &FaultProxy,
    fault: Fault,
) -> (Duration, u64) {
    let captured = CapturedLogs::default();
    let sink = captured.clone();
    let _logs =
        tracing::subscriber::set_default(json_subscriber(Some("info"), move || sink.clone()));
    common::settle_log_filters();

    // healthy first, so pooled connections exist when the fault starts
    let (status, _) = read(handle(store, request_as(Some("user_dev"), "42")).await);
    assert_eq!(status, 200);
    captured.take_lines();

    proxy.reset_observed();
    proxy.set(fault.clone());
    let started = Instant::now();
    let (status, body) = read(handle(store, request_as(Some("user_dev"), "42")).await);
    let elapsed = started.elapsed();
    let (calls, _) = proxy.observed();
    assert_eq!(status, 500, "{fault:?}: {body}");
    assert_eq!(body, common::internal_error_body());
    assert!(elapsed < BOUND, "{fault:?} took {elapsed:?}");

    let lines = captured.take_request_lines();
    assert_eq!(lines.len(), 1, "{fault:?}: {lines:#?}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["request_id"], "http-200-member");
    assert!(lines[0]["cause"].as_str().is_some_and(|c| !c.is_empty()));

    proxy.set(Fault::None);
    let (status, body) = read(handle(store, request_as(Some("user_dev"), "42")).await);
    assert_eq!(status, 200, "after {fault:?}: {body}");
    println!("fault {fault:?}: 500 after {elapsed:?} and {calls} calls; next request 200");
    (elapsed, calls)
}

#[tokio::test]
async fn unreachable() {
    fault_gives_a_clean_500(Fault::Unreachable).await;
}

#[tokio::test]
async fn slow_beyond_the_attempt_timeout() {
    fault_gives_a_clean_500(Fault::Slow(Duration::from_secs(10))).await;
}

#[tokio::test]
async fn provisioned_throughput_exceeded() {
    fault_gives_a_clean_500(Fault::Error {
        status: 400,
        error_type: THROUGHPUT_EXCEEDED,
    })
    .await;
}

#[tokio::test]
async fn throttling() {
    fault_gives_a_clean_500(Fault::Error {
        status: 400,
        error_type: THROTTLING,
    })
    .await;
}

#[tokio::test]
async fn internal_server_errors() {
    fault_gives_a_clean_500(Fault::Error {
        status: 500,
        error_type: INTERNAL_SERVER_ERROR,
    })
    .await;
}

#[tokio::test]
async fn an_attribute_of_the_wrong_type() {
    fault_gives_a_clean_500(Fault::Rewrite {
        from: r#""workspaceId":{"S":"ws_acme"}"#.into(),
        to: r#""workspaceId":{"N":"7"}"#.into(),
    })
    .await;
}

/// `"UnprocessedKeys":{...}` naming the advertiser's key, as DynamoDB answers a
/// BatchGetItem it could only partly serve (throttling).
fn advertiser_left_unprocessed(store: &DynamoStore) -> String {
    format!(
        r#""UnprocessedKeys":{{"{}":{{"Keys":[{{"id":{{"S":"adv_acme"}}}}]}}}}"#,
        store.tables().advertisers
    )
}

/// DynamoDB Local's BatchGetItem answer when it served every key.
const ALL_PROCESSED: &str = r#""UnprocessedKeys":{}"#;

#[tokio::test]
async fn keys_left_unprocessed_once_are_asked_for_again() {
    let (store, proxy) = store_behind_proxy().await;
    let (status, healthy) = read(handle(&store, request_as(Some("user_dev"), "42")).await);
    assert_eq!(status, 200, "{healthy}");

    proxy.reset_observed();
    // The first answer leaves the advertiser out (its entry in Responses goes
    // under a table the batch did not ask for) and names its key unprocessed:
    // the 200 needs the repeat.
    let advertisers = &store.tables().advertisers;
    proxy.set(Fault::RewriteOnce(vec![
        (ALL_PROCESSED.into(), advertiser_left_unprocessed(&store)),
        (
            format!(r#""{advertisers}":["#),
            format!(r#""{advertisers}-not-asked-for":["#),
        ),
    ]));
    let (status, body) = read(handle(&store, request_as(Some("user_dev"), "42")).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        proxy.fault(),
        Fault::None,
        "the batch's answer was rewritten"
    );
    let (calls, _) = proxy.observed();
    assert_eq!(calls, 6, "five calls and the batch's repeat");
    let without_time = |mut body: serde_json::Value| {
        body["data"]["lastUpdated"].take();
        body
    };
    assert_eq!(without_time(body), without_time(healthy));
}

#[tokio::test]
async fn keys_left_unprocessed_on_every_call_give_a_clean_500() {
    let (store, proxy) = store_behind_proxy().await;
    let fault = Fault::Rewrite {
        from: ALL_PROCESSED.into(),
        to: advertiser_left_unprocessed(&store),
    };
    let (elapsed, calls) = store_fault_gives_a_clean_500(&store, &proxy, fault).await;
    // The first round's 4 calls, then the batch 3 times with 25 + 50 ms of pause.
    assert_eq!(calls, 7);
    assert!(elapsed >= Duration::from_millis(75), "{elapsed:?}");
}
