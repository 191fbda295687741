//! Shared by the integration tests, on top of `tracking_status_dev::kit`: a
//! client for the DynamoDB Local that `scripts/test.sh` started, stores over
//! tables of their own, requests built from the files in `events/`, captured
//! logs, and a recorder of the SDK's calls.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use tracking_status::store::dynamodb::DynamoStore;
pub use tracking_status_dev::kit::dynamodb_local_endpoint as endpoint;
pub use tracking_status_dev::kit::{
    EVENTS, EXAMPLE_FIXTURE, INTERNAL_ERROR_BODY, NEXT_STEPS_FIXTURE, body_text, check_contract,
    event_json, example_store, expected_status, fixture_programs, invoke, seeded_tables,
    seeded_tables_with_all, table_env, unique_tables,
};
pub use tracking_status_dev::{fault_proxy, oversized, runtime_api};

/// The contract's 500 body, parsed.
pub fn internal_error_body() -> Value {
    serde_json::from_str(INTERNAL_ERROR_BODY).unwrap()
}

/// A client for DynamoDB Local with the service's own timeouts and retries.
pub async fn client(recorder: Option<CallRecorder>) -> Client {
    client_for(&endpoint(), recorder).await
}

pub async fn client_for(endpoint: &str, recorder: Option<CallRecorder>) -> Client {
    let mut config = tracking_status_dev::kit::client_config(endpoint).await;
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

/// Creates fresh tables and loads the fixture through the `seed` code path.
pub async fn seeded_store(fixture_json: &str) -> DynamoStore {
    seeded_store_with(fixture_json, None).await
}

pub async fn seeded_store_with(fixture_json: &str, recorder: Option<CallRecorder>) -> DynamoStore {
    let tables = seeded_tables(fixture_json).await;
    DynamoStore::new(client(recorder).await, tables)
}

/// The request of a file in `events/`.
pub fn event(name: &str) -> Request {
    lambda_http::request::from_str(&event_json(name).to_string()).expect("an API Gateway event")
}

/// An HTTP API (payload 2.0) request for `program_id` by a Lambda-authorized `user_id`
/// (None: no authorizer context at all).
pub fn request_as(user_id: Option<&str>, program_id: &str) -> Request {
    lambda_http::request::from_str(&event_as(user_id, program_id).to_string())
        .expect("an API Gateway event")
}

/// The event of `request_as`, as JSON.
pub fn event_as(user_id: Option<&str>, program_id: &str) -> Value {
    let mut event = event_json("http-200-member");
    event["pathParameters"]["programId"] = Value::from(program_id);
    event["rawPath"] = Value::from(format!("/api/tracking/status/{program_id}"));
    event["requestContext"]["http"]["path"] = event["rawPath"].clone();
    set_caller(
        &mut event,
        "/requestContext/authorizer/lambda/userId",
        user_id,
    );
    event
}

/// `event_as` for the REST API (payload 1.0): `rest-200-member` for
/// `program_id`, as `user_id` (the authorizer's `userId`), or with no authorizer.
pub fn rest_event_as(user_id: Option<&str>, program_id: &str) -> Value {
    let mut event = event_json("rest-200-member");
    event["pathParameters"]["programId"] = Value::from(program_id);
    event["path"] = Value::from(format!("/api/tracking/status/{program_id}"));
    set_caller(&mut event, "/requestContext/authorizer/userId", user_id);
    event
}

/// Puts `user_id` where the sample event's authorizer keeps it (`user_pointer`),
/// or, for no user, removes the authorizer altogether.
fn set_caller(event: &mut Value, user_pointer: &str, user_id: Option<&str>) {
    match user_id {
        Some(user) => {
            *event
                .pointer_mut(user_pointer)
                .unwrap_or_else(|| panic!("the sample event has {user_pointer}")) =
                Value::from(user)
        }
        None => {
            event["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }
    }
}

/// `request` with the query parameter `include` (as `lambda_http` hands it over).
pub fn with_include(request: Request, include: &str) -> Request {
    use lambda_http::RequestExt;
    request.with_query_string_parameters(std::collections::HashMap::from([(
        "include".to_string(),
        include.to_string(),
    )]))
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
/// Call right after installing a test's own subscriber. Tests run in
/// parallel, each thread with its own subscriber or none, and `tracing` caches
/// per callsite whether anyone listens. While only one subscriber is
/// registered in the process, tracing-core (0.1.36) computes a new callsite's
/// interest from the *registering thread's* subscriber alone: a test thread
/// without one would cache "never" for, say, the request line's callsite, and
/// the test capturing logs on another thread would never see it. A second
/// subscriber that lives as long as the process makes tracing ask every live
/// one; the rebuild then covers callsites registered before this one existed.
pub fn settle_log_filters() {
    static ALWAYS_REGISTERED: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    ALWAYS_REGISTERED
        .get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
    tracing::callsite::rebuild_interest_cache();
}

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
    /// The request lines (the one line per request, which carries its status)
    /// written since the last take; the SDK's and the runtime's lines left out.
    pub fn take_request_lines(&self) -> Vec<Value> {
        self.take_lines()
            .into_iter()
            .filter(|line| line["status"].is_number())
            .collect()
    }

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
