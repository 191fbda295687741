//! Shared by the integration tests: a client for the DynamoDB Local that
//! `scripts/test.sh` started, tables of their own for each test, requests built
//! from the files in `events/`, and a recorder of the SDK's calls.
#![allow(dead_code)] // each test binary uses a part of this module

pub mod fault_proxy;
pub mod oversized;
pub mod runtime_api;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use tracking_status::config::{TableNames, sdk_config_loader};
use tracking_status::fixture;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status::store::dynamodb::load::{ensure_tables, write_fixture};
use tracking_status::store::memory::MemoryStore;

pub const EXAMPLE_FIXTURE: &str = include_str!("../../fixtures/example.json");

/// The in-memory store holding the example fixture.
pub fn example_store() -> MemoryStore {
    MemoryStore::new(&fixture::parse(EXAMPLE_FIXTURE).expect("the example fixture"))
}

/// The DynamoDB Local endpoint that the test command started.
pub fn endpoint() -> String {
    std::env::var("TEST_DYNAMODB_ENDPOINT").expect(
        "TEST_DYNAMODB_ENDPOINT is not set: run the tests with `scripts/test.sh`, \
         which starts DynamoDB Local for them",
    )
}

/// A client for DynamoDB Local with the service's own timeouts and retries.
pub async fn client(recorder: Option<CallRecorder>) -> Client {
    client_for(&endpoint(), recorder).await
}

pub async fn client_for(endpoint: &str, recorder: Option<CallRecorder>) -> Client {
    let sdk_config = sdk_config_loader()
        .unwrap()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await;
    let mut config = aws_sdk_dynamodb::config::Builder::from(&sdk_config);
    if let Some(recorder) = recorder {
        config = config.interceptor(recorder);
    }
    Client::from_conf(config.build())
}

/// A store whose endpoint is a loopback port nothing listens on.
pub async fn unreachable_store() -> DynamoStore {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = client_for(&format!("http://127.0.0.1:{port}"), None).await;
    DynamoStore::new(client, unique_tables())
}

/// Table names no other test uses.
pub fn unique_tables() -> TableNames {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    TableNames::with_prefix(&format!("t{}-{n}-", std::process::id()))
}

/// Creates fresh tables and loads the fixture through the `seed` code path.
pub async fn seeded_store(fixture_json: &str) -> DynamoStore {
    seeded_store_with(fixture_json, None).await
}

pub async fn seeded_store_with(fixture_json: &str, recorder: Option<CallRecorder>) -> DynamoStore {
    let tables = seeded_tables(fixture_json).await;
    DynamoStore::new(client(recorder).await, tables)
}

/// Fresh tables holding the fixture, loaded through the `seed` code path.
pub async fn seeded_tables(fixture_json: &str) -> TableNames {
    let fixture = fixture::parse(fixture_json).expect("a valid fixture");
    let tables = unique_tables();
    let loader = client(None).await;
    ensure_tables(&loader, &tables)
        .await
        .expect("tables created");
    write_fixture(&loader, &tables, &fixture)
        .await
        .expect("fixture written");
    tables
}

/// The request of a file in `events/`.
pub fn event(name: &str) -> Request {
    lambda_http::request::from_str(&event_json(name).to_string()).expect("an API Gateway event")
}

pub fn event_json(name: &str) -> Value {
    let path = format!("{}/events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("event JSON")
}

/// An HTTP API (payload 2.0) request for `program_id` by a Lambda-authorized `user_id`
/// (None: no authorizer context at all).
pub fn request_as(user_id: Option<&str>, program_id: &str) -> Request {
    let mut event = event_json("http-200-member");
    event["pathParameters"]["programId"] = Value::from(program_id);
    event["rawPath"] = Value::from(format!("/api/tracking/status/{program_id}"));
    event["requestContext"]["http"]["path"] = event["rawPath"].clone();
    match user_id {
        Some(user) => event["requestContext"]["authorizer"]["lambda"]["userId"] = Value::from(user),
        None => {
            event["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }
    }
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

/// Status and parsed JSON body of a response, after checking the headers every
/// response carries.
pub fn read(response: Response<Body>) -> (u16, Value) {
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    let status = response.status().as_u16();
    let body: Value = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("a JSON body"),
        other => panic!("expected a text body, got {other:?}"),
    };
    if status != 200 {
        assert_eq!(body["data"], Value::Null, "{body}");
        assert_eq!(body["error"]["status"], status, "{body}");
        assert!(body["error"]["details"].is_object(), "{body}");
    }
    (status, body)
}

/// A log sink the tests can read back: give `json_subscriber` a clone of it.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Every line written so far, each a JSON object.
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("every log line is a JSON object"))
            .collect()
    }

    /// Like `lines`, and forgets them.
    pub fn take_lines(&self) -> Vec<Value> {
        let lines = self.lines();
        self.0.lock().unwrap().clear();
        lines
    }
}

/// One DynamoDB call as it went over the wire.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GetItem`, `Query`, ...
    pub operation: String,
    pub request: Value,
    pub sent: Instant,
    pub answered: Option<Instant>,
}

/// Records every DynamoDB request a client sends (an SDK interceptor).
#[derive(Debug, Clone, Default)]
pub struct CallRecorder {
    calls: Arc<Mutex<Vec<Call>>>,
}

#[derive(Debug, Clone, Copy)]
struct CallIndex(usize);

impl Storable for CallIndex {
    type Storer = StoreReplace<Self>;
}

impl CallRecorder {
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }

    /// The length of the longest chain of calls in which each was sent only
    /// after the one before it was answered: the sequential round trips.
    pub fn sequential_round_trips(&self) -> usize {
        let calls = self.calls();
        let mut depth = vec![0usize; calls.len()];
        let mut order: Vec<usize> = (0..calls.len()).collect();
        order.sort_by_key(|&i| calls[i].sent);
        for &i in &order {
            let before = order
                .iter()
                .filter(|&&j| {
                    calls[j]
                        .answered
                        .is_some_and(|answered| answered <= calls[i].sent)
                })
                .map(|&j| depth[j])
                .max()
                .unwrap_or(0);
            depth[i] = before + 1;
        }
        depth.into_iter().max().unwrap_or(0)
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.rsplit('.').next())
            .unwrap_or("unknown")
            .to_string();
        let body = request
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or(Value::Null);
        let mut calls = self.calls.lock().unwrap();
        cfg.interceptor_state().store_put(CallIndex(calls.len()));
        calls.push(Call {
            operation,
            request: body,
            sent: Instant::now(),
            answered: None,
        });
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallIndex(i)) = cfg.load::<CallIndex>().copied() {
            self.calls.lock().unwrap()[i].answered = Some(Instant::now());
        }
        Ok(())
    }
}
