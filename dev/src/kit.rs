//! The test kit the integration tests, the fuzzer and the benchmark share: the
//! example data, the sample events, the contract every response must meet, and
//! tables of their own in the DynamoDB Local the test command started.

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::config::{Credentials, Region};
use lambda_http::{Body, Response};
use serde_json::Value;
use tracking_status::config::{TABLE_VARIABLES, TableNames};
use tracking_status::store::StatusStore;
use tracking_status::store::memory::MemoryStore;

use crate::fixture;
use crate::load::{ensure_tables, write_fixture};

/// What the tests, `seed` and `table-env` ask of the table names beyond what the function reads.
pub trait TableList: Sized {
    /// The default names behind a prefix: how tests give each case its own tables.
    fn with_prefix(prefix: &str) -> Self;
    /// Every name, in `TABLE_VARIABLES` order.
    fn all(&self) -> [&str; 6];
}

impl TableList for TableNames {
    fn with_prefix(prefix: &str) -> Self {
        TableNames::from_lookup(|variable| {
            let (_, default) = TABLE_VARIABLES.iter().find(|(name, _)| *name == variable)?;
            Some(format!("{prefix}{default}"))
        })
    }

    fn all(&self) -> [&str; 6] {
        [
            &self.programs,
            &self.advertisers,
            &self.memberships,
            &self.events,
            &self.partner_programs,
            &self.test_events,
        ]
    }
}

/// `fixtures/example.json`: the seed's sample as data.
pub const EXAMPLE_FIXTURE: &str = include_str!("../../fixtures/example.json");

/// `fixtures/next-steps.json`: programs of workspace `ws_nova` (7 and up), one per
/// kind of `nextSteps` (each named for what it shows), beside the example's program 42.
pub const NEXT_STEPS_FIXTURE: &str = include_str!("../../fixtures/next-steps.json");

/// Every program of the two fixtures, as (id, name), in file order: the tests answer
/// each with `include=nextSteps` and compare it with its snapshot
/// (`tests/api/snapshots/program_<id>_next_steps.snap`), so a program added to a
/// fixture is covered without another list to update.
pub fn fixture_programs() -> Vec<(String, String)> {
    [EXAMPLE_FIXTURE, NEXT_STEPS_FIXTURE]
        .into_iter()
        .flat_map(|text| fixture::parse(text).expect("a fixture").programs)
        .map(|program| (program.id.to_string(), program.name.unwrap_or_default()))
        .collect()
}

/// The contract's 500, byte for byte: whatever went wrong, this is all a client sees.
pub const INTERNAL_ERROR_BODY: &str = r#"{"data":null,"error":{"status":500,"name":"InternalServerError","message":"Internal server error","details":{}}}"#;

/// The in-memory store holding the example fixture.
pub fn example_store() -> MemoryStore {
    MemoryStore::new(fixture::parse(EXAMPLE_FIXTURE).expect("the example fixture"))
}

/// Every file in `events/`, in name order, compiled in (name without `.json`, text), so the
/// files cannot drift from the tests; `tests/api/handler.rs` checks the list
/// against the directory.
pub const EVENTS: [(&str, &str); 18] = [
    (
        "http-200-jwt-member",
        include_str!("../../events/http-200-jwt-member.json"),
    ),
    (
        "http-200-member",
        include_str!("../../events/http-200-member.json"),
    ),
    (
        "http-200-next-steps",
        include_str!("../../events/http-200-next-steps.json"),
    ),
    (
        "http-200-owner",
        include_str!("../../events/http-200-owner.json"),
    ),
    (
        "http-400-leading-zero",
        include_str!("../../events/http-400-leading-zero.json"),
    ),
    (
        "http-400-unknown-include",
        include_str!("../../events/http-400-unknown-include.json"),
    ),
    (
        "http-401-no-principal",
        include_str!("../../events/http-401-no-principal.json"),
    ),
    (
        "http-403-no-permission",
        include_str!("../../events/http-403-no-permission.json"),
    ),
    (
        "http-404-no-program",
        include_str!("../../events/http-404-no-program.json"),
    ),
    (
        "http-404-not-a-member",
        include_str!("../../events/http-404-not-a-member.json"),
    ),
    (
        "http-405-post",
        include_str!("../../events/http-405-post.json"),
    ),
    (
        "rest-200-member",
        include_str!("../../events/rest-200-member.json"),
    ),
    (
        "rest-200-next-steps",
        include_str!("../../events/rest-200-next-steps.json"),
    ),
    (
        "rest-200-owner-principal-id",
        include_str!("../../events/rest-200-owner-principal-id.json"),
    ),
    (
        "rest-400-not-digits",
        include_str!("../../events/rest-400-not-digits.json"),
    ),
    (
        "rest-401-no-principal",
        include_str!("../../events/rest-401-no-principal.json"),
    ),
    (
        "rest-403-no-permission",
        include_str!("../../events/rest-403-no-permission.json"),
    ),
    (
        "rest-404-no-program",
        include_str!("../../events/rest-404-no-program.json"),
    ),
];

/// The file of `events/` named `name` (without `.json`), parsed.
pub fn event_json(name: &str) -> Value {
    let (_, text) = EVENTS
        .iter()
        .find(|(event, _)| *event == name)
        .unwrap_or_else(|| panic!("no events/{name}.json"));
    serde_json::from_str(text).expect("event JSON")
}

/// The environment that names `tables` for the function and `seed`
/// (`PROGRAMS_TABLE=…`, …).
pub fn table_env(tables: &TableNames) -> Vec<(String, String)> {
    TABLE_VARIABLES
        .iter()
        .zip(tables.all())
        .map(|((variable, _), table)| (variable.to_string(), table.to_string()))
        .collect()
}

/// The status an event file is named for: `http-403-no-permission` → 403;
/// `None` for a name that is not `{api}-{status}-{case}`. The one place this
/// rule is written: the tests use it, and the scripts through the `events`
/// program (`dev/src/bin/events.rs`).
pub fn status_in_name(event_name: &str) -> Option<u16> {
    event_name
        .split('-')
        .nth(1)
        .and_then(|status| status.parse().ok())
}

/// [`status_in_name`], for the tests' own event files: a name without a
/// status is a bug in the test data.
pub fn expected_status(event_name: &str) -> u16 {
    status_in_name(event_name)
        .unwrap_or_else(|| panic!("{event_name} is not named {{api}}-{{status}}-{{case}}"))
}

/// A response's body as text (the function only answers text).
pub fn body_text(response: &Response<Body>) -> &str {
    match response.body() {
        Body::Text(text) => text,
        _ => "",
    }
}

/// An invocation the Lambda runtime answers with an error instead of a response (API
/// Gateway's 502): a payload that is not an API Gateway event `lambda_http` reads, or one
/// whose conversion to a request panics (`lambda_runtime` catches it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationError(pub String);

/// The invocation path of `lambda_http::run`, in process: the payload read as an API Gateway
/// event and converted to a request, as the runtime does, then the function's handler. A
/// panic in the handler is not caught here: the tests that call this treat it as a bug.
pub async fn invoke<S: StatusStore>(
    store: &S,
    payload: &str,
) -> Result<Response<Body>, InvocationError> {
    quiet_conversion_panics();
    let request = std::panic::catch_unwind(|| lambda_http::request::from_str(payload))
        .map_err(|_| InvocationError("the request conversion panicked".into()))?
        .map_err(|error| InvocationError(error.to_string()))?;
    Ok(tracking_status::http::handle(store, request).await)
}

/// Leaves out the default hook's report of a panic in `lambda_http`'s conversion (or the
/// `aws_lambda_events` body decoding it calls), which
/// `invoke` expects of some payloads; every other panic is still reported.
fn quiet_conversion_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|at| at.file()).unwrap_or_default();
            if !["/lambda_http-", "/aws_lambda_events-"]
                .iter()
                .any(|c| file.contains(c))
            {
                default_hook(info);
            }
        }));
    });
}

/// The contract's response: one of its statuses, its headers, and its body —
/// the document for a 200, the error body otherwise.
pub fn check_contract(response: &Response<Body>) -> Result<(), String> {
    let status = response.status().as_u16();
    if ![200, 400, 401, 403, 404, 405, 500].contains(&status) {
        return Err(format!("status {status}"));
    }
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok());
    if header("content-type") != Some("application/json") {
        return Err(format!("content-type {:?}", header("content-type")));
    }
    if header("cache-control") != Some("no-store") {
        return Err(format!("cache-control {:?}", header("cache-control")));
    }
    if status == 405 && header("allow") != Some("GET") {
        return Err("405 without Allow: GET".into());
    }
    let body: Value = serde_json::from_str(body_text(response)).map_err(|e| e.to_string())?;
    let fine = if status == 200 {
        body["data"]["programId"].is_string() && body.get("error").is_none()
    } else {
        body["data"].is_null()
            && body["error"]["status"] == status
            && body["error"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("Error"))
            && body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
            && body["error"]["details"].is_object()
    };
    if !fine {
        return Err(format!("body {}", body_text(response)));
    }
    if status == 500 && body_text(response) != INTERNAL_ERROR_BODY {
        return Err(format!(
            "a 500 that says more than the contract: {}",
            body_text(response)
        ));
    }
    Ok(())
}

/// `check_contract` for a response over the in-memory store, which never
/// fails a read: there, a 500 can only be a panic the panic net caught, so
/// it is refused too.
pub fn check_contract_in_memory(response: &Response<Body>) -> Result<(), String> {
    check_contract(response)?;
    if response.status() == 500 {
        return Err("a 500 over the in-memory store: a panic on the request path".into());
    }
    Ok(())
}

/// The DynamoDB Local endpoint that the test command started.
pub fn dynamodb_local_endpoint() -> String {
    std::env::var("TEST_DYNAMODB_ENDPOINT").expect(
        "TEST_DYNAMODB_ENDPOINT is not set: run the tests with `scripts/test.sh`, \
         which starts DynamoDB Local for them",
    )
}

/// A client configuration for `endpoint` with the function's own timeouts,
/// retries and HTTPS client, and credentials DynamoDB Local accepts.
pub async fn client_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(&sdk_config(endpoint).await)
}

/// The configuration `client_config` builds on, for the other services' clients
/// (DynamoDB Local's streams).
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    tracking_status::sdk::sdk_config_loader()
        .expect("the default configuration")
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// Table names no other test uses, so tests can share one DynamoDB Local.
pub fn unique_tables() -> TableNames {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    TableNames::with_prefix(&format!("t{}-{n}-", std::process::id()))
}

/// Fresh tables in the test command's DynamoDB Local holding the fixture,
/// loaded through the `seed` code path.
pub async fn seeded_tables(fixture_json: &str) -> TableNames {
    seeded_tables_with_all(&[fixture_json]).await
}

/// `seeded_tables` for several fixtures, written one after the other, as
/// `seed` run once per file writes them.
pub async fn seeded_tables_with_all(fixtures: &[&str]) -> TableNames {
    let tables = unique_tables();
    let client = aws_sdk_dynamodb::Client::from_conf(
        client_config(&dynamodb_local_endpoint()).await.build(),
    );
    ensure_tables(&client, &tables)
        .await
        .expect("tables created");
    for fixture_json in fixtures {
        let dataset = fixture::parse(fixture_json).expect("a valid fixture");
        write_fixture(&client, &tables, &dataset)
            .await
            .expect("fixture written");
    }
    tables
}
