//! Hostile input over the whole invocation path (`kit::invoke`: raw payload ->
//! `lambda_http`'s request -> handler -> response): an event API Gateway can send,
//! however hostile its values, gets a response of the contract; anything else gets
//! that or the runtime's invocation error (API Gateway's 502); never a panic in the
//! handler, never a hang.
//!
//! `PROPTEST_CASES` sets the number of cases (default 10,000 over the in-memory
//! store, a tenth of that, at most 1,000, over DynamoDB Local).

use crate::common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tracking_status::store::StatusStore;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// Any JSON value, nested a few levels, with numbers beyond i64 and u64.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(serde_json::from_str("18446744073709551616123").unwrap()),
        Just(json!(-1e300)),
        any::<String>().prop_map(Value::from),
        Just(json!("user_dev")),
        Just(json!("user_owner")),
        Just(json!("")),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("userId".to_string()),
                    Just("principalId".to_string()),
                    Just("lambda".to_string()),
                    Just("jwt".to_string()),
                    Just("claims".to_string()),
                    Just("sub".to_string()),
                    any::<String>()
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A string at a size where things break, about once in `1 + rarity` draws:
/// `http::Uri`'s 65,534-byte limit and its neighbours, a third of it in a
/// character that percent-encoding triples, and beyond; ASCII or multibyte,
/// after a prefix that keeps it plausible for its field. Otherwise `usual`.
fn sized(
    usual: impl Strategy<Value = String>,
    prefix: &'static str,
    rarity: u32,
) -> impl Strategy<Value = String> {
    let big = (
        prop::sample::select(vec![65_533usize, 65_534, 65_535, 21_846, 70_000, 300_000]),
        prop::sample::select(vec!["a", "9", "/", "%", "é", "€"]),
    )
        .prop_map(move |(bytes, filler)| {
            let count = bytes.saturating_sub(prefix.len()) / filler.len();
            format!("{prefix}{}", filler.repeat(count))
        });
    prop_oneof![rarity => usual, 1 => big]
}

fn program_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("42".to_string()),
        1 => Just("43".to_string()),
        1 => Just("042".to_string()),
        1 => Just("0".to_string()),
        1 => Just("9007199254740992".to_string()),
        1 => Just("٤٢".to_string()),
        1 => Just("%34%32".to_string()),
        1 => Just("4\u{0}2".to_string()),
        1 => "[0-9]{1,30}",
        2 => any::<String>(),
        1 => (1usize..20_000).prop_map(|n| "9".repeat(n)),
        1 => sized(Just("42".to_string()), "", 0),
    ]
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just("GET".to_string()),
        1 => Just("POST".to_string()),
        1 => Just("HEAD".to_string()),
        1 => Just("OPTIONS".to_string()),
        1 => Just("get".to_string()),
        1 => any::<String>(),
        1 => sized(Just("GET".to_string()), "GET", 0),
    ]
}

/// A user id: mostly the example fixture's users, else anything.
fn user_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop_oneof![Just("user_dev"), Just("user_owner"), Just("user_billing"), Just("user_nobody")].prop_map(Value::from),
        1 => json_value(),
        1 => sized(Just("user_dev".to_string()), "user_dev", 0).prop_map(Value::from),
    ]
}

/// An authorizer context: one of the contract's shapes for the event's API
/// (REST: userId or principalId; HTTP: lambda.userId or jwt.claims.sub), the
/// other API's shape, or any JSON value.
#[derive(Debug, Clone)]
enum Authorizer {
    OwnShape(bool, Value),
    OtherShape(Value),
    Any(Value),
}

fn authorizer() -> impl Strategy<Value = Authorizer> {
    prop_oneof![
        8 => (any::<bool>(), user_id()).prop_map(|(first, id)| Authorizer::OwnShape(first, id)),
        1 => user_id().prop_map(Authorizer::OtherShape),
        1 => json_value().prop_map(Authorizer::Any),
    ]
}

impl Authorizer {
    fn for_api(self, rest: bool) -> Value {
        match (self, rest) {
            (Authorizer::OwnShape(true, id), true) => json!({"userId": id}),
            (Authorizer::OwnShape(false, id), true) => json!({"principalId": id}),
            (Authorizer::OwnShape(true, id), false) => json!({"lambda": {"userId": id}}),
            (Authorizer::OwnShape(false, id), false) => json!({"jwt": {"claims": {"sub": id}}}),
            (Authorizer::OtherShape(id), true) => json!({"lambda": {"userId": id}}),
            (Authorizer::OtherShape(id), false) => json!({"userId": id}),
            (Authorizer::Any(value), _) => value,
        }
    }
}

/// What to do with the event's requestContext.
#[derive(Debug, Clone)]
enum ContextChange {
    Authorizer(Authorizer),
    Remove,
    Null,
    Replace(Value),
}

fn context_change() -> impl Strategy<Value = ContextChange> {
    prop_oneof![
        12 => authorizer().prop_map(ContextChange::Authorizer),
        1 => Just(ContextChange::Remove),
        1 => Just(ContextChange::Null),
        1 => json_value().prop_map(ContextChange::Replace),
    ]
}

/// API Gateway's limit on an HTTP API request's line and headers together: no event it
/// sends holds more (REST APIs have the same limit).
const GATEWAY_REQUEST_LIMIT: usize = 10_240;

/// Whether API Gateway can send an authorizer context of this shape: the contract's, with a
/// user id of a type the authorizer can give (a JWT claim is always a string).
fn sendable_authorizer(context: &ContextChange, rest: bool) -> bool {
    match context {
        ContextChange::Authorizer(Authorizer::OwnShape(first, id)) => {
            id.is_string() || ((rest || *first) && (id.is_i64() || id.is_u64()))
        }
        _ => false,
    }
}

prop_compose! {
    /// A generated event, and whether API Gateway could send it: within its limits, of its
    /// shape (a method token, valid headers, a plain body, an authorizer's context), with the
    /// stage and path it writes; its values may still be anything.
    fn event()(
        rest in any::<bool>(),
        program_id in program_id(),
        drop_path_parameters in prop::bool::weighted(0.1),
        path in prop_oneof![
            4 => Just(None),
            1 => any::<String>().prop_map(Some),
            1 => sized(Just("/api/tracking/status/42".to_string()), "/api/tracking/status/", 0).prop_map(Some),
            1 => sized(Just("/".to_string()), "/", 0).prop_map(Some),
        ],
        // The rest of what reaches the request conversion, each sometimes at the edges.
        context_path in sized(Just("/api/tracking/status/42".to_string()), "/", 60),
        route_key in sized(Just("GET /api/tracking/status/{programId}".to_string()), "GET /", 60),
        stage in sized(prop_oneof![Just("$default".to_string()), Just("prod".to_string()), any::<String>()], "", 60),
        domain in sized(Just("api.example.com".to_string()), "", 60),
        request_id in sized(Just("req".to_string()), "", 60),
        query in sized(Just(String::new()), "q=", 60),
        // `include` is read (and may be a 400); any other parameter is ignored.
        include in prop::sample::select(vec!["", "nextSteps", ",nextSteps,", "nextSteps,bogus", "NextSteps", "%00"]),
        method in method(),
        context in context_change(),
        body in prop_oneof![6 => Just(Value::Null), 2 => any::<String>().prop_map(Value::from), 1 => json_value()],
        base64 in prop_oneof![8 => Just(Value::Bool(false)), 2 => any::<bool>().prop_map(Value::from), 1 => json_value()],
        headers in prop_oneof![
            6 => Just(BTreeMap::new()),
            3 => prop::collection::btree_map("[a-z][a-z0-9-]{0,20}", "[ -~]{0,60}", 1..4),
            1 => prop::collection::btree_map(any::<String>(), any::<String>(), 1..4),
        ],
        big_header in prop_oneof![9 => Just(0usize), 1 => 1usize..65_536],
    ) -> (Value, bool) {
        let sendable = ["GET", "POST", "HEAD", "OPTIONS"].contains(&method.as_str())
            && ["$default", "prod"].contains(&stage.as_str())
            && path.as_deref().is_none_or(|p| p.starts_with('/') && p.bytes().all(|b| b.is_ascii_graphic()))
            && sendable_authorizer(&context, rest)
            && (body.is_null() || body.is_string())
            && base64 == Value::Bool(false)
            && headers.iter().all(|(name, value)| {
                name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && value.bytes().all(|b| (b' '..=b'~').contains(&b))
            });
        let mut event: Value = if rest {
            serde_json::from_str(include_str!("../../events/rest-200-member.json")).unwrap()
        } else {
            serde_json::from_str(include_str!("../../events/http-200-member.json")).unwrap()
        };
        event["pathParameters"] = if drop_path_parameters { Value::Null } else { json!({"programId": program_id}) };
        if let Some(path) = path {
            event[if rest { "path" } else { "rawPath" }] = Value::from(path);
        }
        if rest {
            event["httpMethod"] = Value::from(method);
            event["requestContext"]["path"] = Value::from(context_path);
            event["resource"] = Value::from(route_key);
            event["queryStringParameters"] = json!({"q": query, "include": include});
        } else {
            event["requestContext"]["http"]["method"] = Value::from(method);
            event["requestContext"]["http"]["path"] = Value::from(context_path);
            event["routeKey"] = Value::from(route_key);
            event["rawQueryString"] = Value::from(format!("include={include}&{query}"));
        }
        event["requestContext"]["stage"] = Value::from(stage);
        event["requestContext"]["domainName"] = Value::from(domain);
        event["requestContext"]["requestId"] = Value::from(request_id);
        match context {
            ContextChange::Authorizer(authorizer) => event["requestContext"]["authorizer"] = authorizer.for_api(rest),
            ContextChange::Remove => { event.as_object_mut().unwrap().remove("requestContext"); }
            ContextChange::Null => event["requestContext"] = Value::Null,
            ContextChange::Replace(value) => event["requestContext"] = value,
        }
        event["body"] = body;
        event["isBase64Encoded"] = base64;
        let mut headers: BTreeMap<String, String> = headers;
        if big_header > 0 {
            headers.insert("x-big".into(), "x".repeat(big_header));
        }
        if !headers.is_empty() {
            event["headers"] = json!(headers);
        }
        let mut without_body = event.clone();
        without_body["body"] = Value::Null;
        let sendable = sendable && without_body.to_string().len() <= GATEWAY_REQUEST_LIMIT;
        (event, sendable)
    }
}

/// Runs `cases` generated events through `invoke` over `store`; returns the statuses seen
/// (0: the runtime's invocation error) and how many of the events API Gateway could send.
/// The runtime is the one the store's client was built on: its connections belong to it.
fn run_hostile<S: StatusStore>(
    runtime: &tokio::runtime::Runtime,
    store: &S,
    cases: u32,
) -> (BTreeMap<u16, u32>, u32) {
    let seen = std::cell::RefCell::new(BTreeMap::new());
    let sendable_cases = std::cell::Cell::new(0);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&event(), |(event, sendable)| {
            let outcome = runtime.block_on(async {
                tokio::time::timeout(
                    std::time::Duration::from_secs(10),
                    common::invoke(store, &event.to_string()),
                )
                .await
                .map_err(|_| TestCaseError::fail("the invocation hung"))
            })?;
            let status = match outcome {
                Ok(response) => {
                    common::check_contract(&response).map_err(TestCaseError::fail)?;
                    response.status().as_u16()
                }
                Err(error) if sendable => {
                    return Err(TestCaseError::fail(format!(
                        "an event API Gateway can send got an invocation error: {error:?}"
                    )));
                }
                Err(_) => 0,
            };
            sendable_cases.set(sendable_cases.get() + u32::from(sendable));
            *seen.borrow_mut().entry(status).or_insert(0) += 1;
            Ok(())
        })
        .unwrap();
    (seen.into_inner(), sendable_cases.get())
}

#[test]
fn any_event_gets_a_contract_response_in_memory() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = common::example_store();
    let (seen, sendable) = run_hostile(&runtime, &store, cases());
    println!(
        "hostile inputs over the in-memory store: {} cases ({sendable} API Gateway can send), \
         statuses {seen:?} (0: the runtime's invocation error)",
        seen.values().sum::<u32>()
    );
    // the property above is not vacuous: hundreds of events API Gateway can send
    // (about one in fifteen: most draws put a value API Gateway never writes somewhere)
    assert!(
        sendable >= cases() / 20,
        "{sendable} of {} sendable",
        cases()
    );
    // the generator reaches every outcome of the contract but the store's 500
    for status in [200, 400, 401, 403, 404, 405] {
        assert!(
            seen.contains_key(&status),
            "no case reached {status}: {seen:?}"
        );
    }
    // the in-memory store never fails a read: a 500 here is a caught panic
    assert!(
        !seen.contains_key(&500),
        "a panic on the request path: {seen:?}"
    );
}

#[test]
fn any_event_gets_a_contract_response_from_dynamodb_local() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(common::seeded_store(common::EXAMPLE_FIXTURE));
    let (seen, sendable) = run_hostile(&runtime, &store, (cases() / 10).clamp(1, 1_000));
    println!(
        "hostile inputs over DynamoDB Local: {} cases ({sendable} API Gateway can send), \
         statuses {seen:?}",
        seen.values().sum::<u32>()
    );
    assert!(
        !seen.contains_key(&500),
        "DynamoDB refused a request the function built: {seen:?}"
    );
}

/// Every field that reaches the request conversion or the handler, at the edges
/// of `http::Uri`'s 65,534 bytes, at 1 MB and just under Lambda's 6 MB limit: each
/// gets the status of the contract it is built for, or, past what API Gateway sends
/// (`Case::gateway_can_send`), the runtime's invocation error (a path too long for
/// `http::Uri` panics in `lambda_http`'s conversion, which the runtime catches).
#[tokio::test]
async fn oversized_fields_get_the_contract_response_or_an_invocation_error() {
    let store = common::example_store();
    let cases = common::oversized::cases();
    let mut errors = 0;
    for case in &cases {
        match common::invoke(&store, &case.payload).await {
            Ok(response) => {
                common::check_contract(&response)
                    .unwrap_or_else(|error| panic!("{}: {error}", case.name));
                assert_eq!(response.status(), case.expected, "{}", case.name);
            }
            Err(error) => {
                assert!(!case.gateway_can_send, "{}: {error:?}", case.name);
                errors += 1;
            }
        }
    }
    println!(
        "oversized fields: {} cases, {errors} invocation errors",
        cases.len()
    );
}
