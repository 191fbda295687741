//! The real handler, the real SDK and DynamoDB Local: every row of the contract.

use crate::{common, samples};

use aws_sdk_dynamodb::types::AttributeValue;
use common::{EXAMPLE_FIXTURE, event, read, request_as, seeded_store};
use serde_json::{Value, json};
use tracking_status::domain::Timestamp;
use tracking_status::http::handle;
use tracking_status::store::dynamodb::DynamoStore;

/// The API's specification; its sample response is a copy of the snapshot
/// `tests/api/snapshots/program_42.snap`, checked below.
const API_DOC: &str = include_str!("../../docs/api.md");

/// The line after which docs/api.md prints its sample response, as a ```json block.
const SAMPLE_MARKER: &str = "<!-- sample-response:";

/// The text of the ```json block that follows the marker in docs/api.md.
fn documented_sample() -> &'static str {
    let mut after_markers = API_DOC.split(SAMPLE_MARKER).skip(1);
    let (Some(after), None) = (after_markers.next(), after_markers.next()) else {
        panic!("docs/api.md must hold the marker {SAMPLE_MARKER:?} exactly once");
    };
    let (_comment_rest, block) = after
        .split_once('\n')
        .expect("the marker is a line of its own");
    let block = block
        .strip_prefix("```json\n")
        .expect("a ```json fence on the line after the marker");
    block
        .split_once("\n```")
        .expect("the sample's fence is closed")
        .0
}

/// fixtures/example.json, loaded into DynamoDB Local, answers the sample response
/// (the snapshot program_42: every field, in order; lastUpdated is the time of the
/// request, so only its range and format are checked).
#[tokio::test]
async fn example_fixture_answers_the_sample_response() {
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let before = Timestamp::now();
    let response = handle(&store, event("http-200-member")).await;
    let text = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        other => panic!("expected a text body, got {other:?}"),
    };
    let (status, body) = read(response);
    assert_eq!(status, 200, "{body}");
    let last_updated = Timestamp::parse(body["data"]["lastUpdated"].as_str().unwrap()).unwrap();
    assert!(last_updated >= before && last_updated <= Timestamp::now());
    samples::assert_sample(
        "program_42",
        "GET /api/tracking/status/42 as user_dev, fixtures/example.json in DynamoDB Local \
         (tests/api/endpoint.rs); docs/api.md and the README show it",
        &text,
    );
}

/// docs/api.md's sample response is the snapshot, lastUpdated aside (its own stands
/// for any time, but in the format every response uses).
#[test]
fn the_documented_sample_is_the_snapshot() {
    let documented = samples::redacted(documented_sample())
        .unwrap_or_else(|e| panic!("docs/api.md's sample response: {e}"));
    samples::compare_documented("program_42", "docs/api.md's sample response", &documented)
        .unwrap_or_else(|difference| panic!("{difference}"));
}

#[tokio::test]
async fn every_event_file_gives_its_status_on_the_example() {
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let dir = format!("{}/events", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| name.strip_suffix(".json").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "{names:?}");
    for name in names {
        let expected = common::expected_status(&name);
        let (status, body) = read(handle(&store, event(&name)).await);
        assert_eq!(status, expected, "{name}: {body}");
        if status == 200 {
            assert_eq!(body["data"]["programId"], "42", "{name}");
            assert_eq!(
                body["data"]["statistics"]["pageview"]["testEventCount"], 3,
                "{name}"
            );
        }
    }
}

#[tokio::test]
async fn method_not_allowed_says_allow_get() {
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    for method in ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
        let mut request = event("http-200-member");
        *request.method_mut() = method.parse().unwrap();
        let response = handle(&store, request).await;
        assert_eq!(response.headers()["allow"], "GET", "{method}");
        let (status, body) = read(response);
        assert_eq!(status, 405, "{method}");
        assert_eq!(body["error"]["name"], "MethodNotAllowedError");
    }
}

#[tokio::test]
async fn checks_run_in_the_contract_order() {
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let cases = [
        // 401 comes before a bad programId, a missing program and a missing grant
        (None, "abc", 401, "UnauthorizedError"),
        (None, "43", 401, "UnauthorizedError"),
        // 400 before looking anything up
        (Some("user_nobody"), "042", 400, "ValidationError"),
        // a stranger learns nothing: no membership reads as no such program
        (Some("user_nobody"), "43", 404, "NotFoundError"),
        (Some("user_nobody"), "42", 404, "NotFoundError"),
        // a member without tracking:read already knows the program exists
        (Some("user_billing"), "43", 404, "NotFoundError"),
        (Some("user_billing"), "42", 403, "ForbiddenError"),
        (Some("user_dev"), "42", 200, ""),
        (Some("user_owner"), "42", 200, ""),
    ];
    for (user, program_id, expected, name) in cases {
        let (status, body) = read(handle(&store, request_as(user, program_id)).await);
        assert_eq!(status, expected, "{user:?} {program_id}: {body}");
        if expected != 200 {
            assert_eq!(body["error"]["name"], name);
        }
    }
}

#[tokio::test]
async fn bad_program_ids_name_their_rule() {
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let cases = [
        ("abc", "digits"),
        ("-42", "digits"),
        ("4%202", "digits"),
        ("042", "no_leading_zero"),
        ("0", "range"),
        ("9007199254740992", "range"),
        ("123456789012345678901234567890", "range"),
    ];
    for (program_id, rule) in cases {
        let (status, body) = read(handle(&store, request_as(Some("user_owner"), program_id)).await);
        assert_eq!(status, 400, "{program_id}");
        assert_eq!(body["error"]["details"]["rule"], rule, "{program_id}");
        assert_eq!(body["error"]["details"]["field"], "programId");
    }
    // an empty path parameter
    let (status, body) = read(handle(&store, request_as(Some("user_owner"), "")).await);
    assert_eq!(
        (status, body["error"]["details"]["rule"].as_str()),
        (400, Some("required"))
    );
}

fn fixture(program_id: u64, events: Value, advertiser: Value, partners: Value) -> String {
    json!({
        "programs": [{"id": program_id, "workspaceId": "ws", "advertiserId": "adv", "name": "P"}],
        "advertisers": advertiser,
        "memberships": [{"workspaceId": "ws", "userId": "u", "role": "member", "permissions": ["tracking:read"]}],
        "events": events,
        "partnerPrograms": partners,
    })
    .to_string()
}

fn event_record(id: u64, program_id: u64, kind: &str, test: bool, created_at: &str) -> Value {
    json!({"id": id, "programId": program_id, "type": kind, "test": test, "timestamp": created_at, "createdAt": created_at})
}

async fn status_of(store: &DynamoStore, program_id: &str) -> Value {
    let (status, body) = read(handle(store, request_as(Some("u"), program_id)).await);
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn counts_cap_at_ten_and_ignore_live_and_other_types() {
    let mut events = Vec::new();
    // 12 test clicks, one a minute
    for i in 0..12u64 {
        events.push(event_record(
            1000 + i,
            7,
            "click",
            true,
            &format!("2026-06-07T10:{i:02}:00Z"),
        ));
    }
    // many live clicks and leads, later than every test event; test sales
    for i in 0..300u64 {
        let kind = if i % 2 == 0 { "click" } else { "lead" };
        events.push(event_record(
            5000 + i,
            7,
            kind,
            false,
            "2026-06-09T00:00:00Z",
        ));
    }
    events.push(event_record(9000, 7, "sale", true, "2026-06-10T00:00:00Z"));
    // two test leads, tied on createdAt: the greater id wins
    events.push(event_record(
        20,
        7,
        "lead",
        true,
        "2026-06-08T08:00:00.000+00:00",
    ));
    events.push(event_record(
        21,
        7,
        "lead",
        true,
        "2026-06-08T10:00:00+02:00",
    ));
    events.push(event_record(19, 7, "lead", true, "2026-06-01T00:00:00Z"));
    let store = seeded_store(&fixture(7, Value::from(events), json!([]), json!([]))).await;

    let data = status_of(&store, "7").await;
    assert_eq!(data["stepStatuses"]["pageview"], "complete");
    assert_eq!(data["stepStatuses"]["referrals"], "complete");
    let pageview = &data["statistics"]["pageview"];
    assert_eq!(pageview["testEventCount"], 10);
    assert_eq!(pageview["hasTestEvents"], true);
    assert_eq!(pageview["latestTestEvent"]["id"], 1011);
    assert_eq!(
        pageview["latestTestEvent"]["createdAt"],
        "2026-06-07T10:11:00.000Z"
    );
    let referrals = &data["statistics"]["referrals"];
    assert_eq!(referrals["testEventCount"], 3);
    assert_eq!(referrals["latestTestEvent"]["id"], 21);
    assert_eq!(
        referrals["latestTestEvent"]["createdAt"],
        "2026-06-08T08:00:00.000Z"
    );
}

#[tokio::test]
async fn only_live_events_leave_the_steps_pending() {
    let events = json!([
        event_record(1, 8, "click", false, "2026-06-07T10:00:00Z"),
        event_record(2, 8, "lead", false, "2026-06-07T10:00:00Z"),
        event_record(3, 8, "sale", true, "2026-06-07T10:00:00Z"),
    ]);
    let store = seeded_store(&fixture(8, events, json!([]), json!([]))).await;
    let data = status_of(&store, "8").await;
    assert_eq!(
        data["stepStatuses"],
        json!({"pageview": "pending", "referrals": "pending", "payments": "pending"})
    );
    for step in ["pageview", "referrals"] {
        assert_eq!(
            data["statistics"][step],
            json!({"testEventCount": 0, "hasTestEvents": false, "latestTestEvent": null})
        );
    }
}

#[tokio::test]
async fn program_7001_never_sees_program_70010() {
    let text = json!({
        "programs": [
            {"id": 7001, "workspaceId": "ws", "advertiserId": "adv", "name": "A"},
            {"id": 70010, "workspaceId": "ws", "advertiserId": "adv", "name": "B"},
            {"id": 700, "workspaceId": "ws", "advertiserId": "adv", "name": "C"}
        ],
        "memberships": [{"workspaceId": "ws", "userId": "u", "role": "admin", "permissions": []}],
        "events": [
            event_record(1, 70010, "click", true, "2026-06-07T10:00:00Z"),
            event_record(2, 70010, "lead", true, "2026-06-07T10:00:00Z"),
            event_record(3, 700, "click", true, "2026-06-07T10:00:00Z"),
        ],
        "partnerPrograms": [{"id": 1, "programId": 70010, "partnerId": "p", "status": "approved"}]
    })
    .to_string();
    let store = seeded_store(&text).await;
    let data = status_of(&store, "7001").await;
    assert_eq!(data["statistics"]["pageview"]["testEventCount"], 0);
    assert_eq!(data["statistics"]["referrals"]["testEventCount"], 0);
    assert_eq!(data["hasPartners"], false);
    let data = status_of(&store, "70010").await;
    assert_eq!(data["statistics"]["pageview"]["testEventCount"], 1);
    assert_eq!(data["hasPartners"], true);
}

#[tokio::test]
async fn has_partners_needs_an_approved_record() {
    let cases = [
        (json!([]), false),
        (
            json!([{"id": 1, "programId": 9, "partnerId": "p", "status": "pending"},
                {"id": 2, "programId": 9, "partnerId": "q", "status": "rejected"},
                {"id": 3, "programId": 9, "partnerId": "r", "status": "Approved"},
                {"id": 4, "programId": 10, "partnerId": "s", "status": "approved"}]),
            false,
        ),
        (
            json!([{"id": 1, "programId": 9, "partnerId": "p", "status": "pending"},
                {"id": 2, "programId": 9, "partnerId": "q", "status": "approved"}]),
            true,
        ),
    ];
    for (partners, expected) in cases {
        let store = seeded_store(&fixture(9, json!([]), json!([]), partners.clone())).await;
        assert_eq!(
            status_of(&store, "9").await["hasPartners"],
            expected,
            "{partners}"
        );
    }
}

/// Stored advertisers read through DynamoDB Local into the payments block and its
/// step: what each case answers is the snapshot
/// `snapshots/api__endpoint__payments_block_defaults_and_normalizes.snap`.
#[tokio::test]
async fn payments_block_defaults_and_normalizes() {
    let cases = [
        ("no advertiser record", json!([])),
        ("a record with only its id", json!([{"id": "adv"}])),
        (
            "connected; an empty account id is null; the date in UTC with milliseconds",
            json!([{"id": "adv", "stripeConnectionStatus": "connected", "stripeAccountId": "",
                    "chargesEnabled": true, "stripeConnectedAt": "2026-05-01T10:00:00.5+02:00"}]),
        ),
        (
            "CONNECTED is not connected (case-sensitive)",
            json!([{"id": "adv", "stripeConnectionStatus": "CONNECTED", "stripeAccountId": "acct_9"}]),
        ),
    ];
    let mut answers = Vec::new();
    for (case, advertisers) in cases {
        let store = seeded_store(&fixture(11, json!([]), advertisers, json!([]))).await;
        let response = handle(&store, request_as(Some("u"), "11")).await;
        let lambda_http::Body::Text(text) = response.body() else {
            panic!("{case}: expected a text body");
        };
        // In the response's own key order (samples::Json keeps it).
        let document = samples::Json::parse(text).unwrap();
        let data = document
            .get("data")
            .unwrap_or_else(|| panic!("{case}: {text}"));
        let step = data.get("stepStatuses").and_then(|s| s.get("payments"));
        let payments = data.get("statistics").and_then(|s| s.get("payments"));
        answers.push(samples::Json::Object(vec![
            ("case".into(), samples::Json::String(case.into())),
            ("step".into(), step.unwrap().clone()),
            ("payments".into(), payments.unwrap().clone()),
        ]));
    }
    insta::assert_json_snapshot!(answers);
}

#[tokio::test]
async fn numeric_user_ids_match_their_decimal_membership() {
    let text = json!({
        "programs": [{"id": 12, "workspaceId": "ws", "advertiserId": "adv", "name": "P"}],
        "memberships": [{"workspaceId": "ws", "userId": "12345", "role": "viewer", "permissions": ["tracking:read"]}]
    })
    .to_string();
    let store = seeded_store(&text).await;
    let mut event = common::event_json("rest-200-member");
    event["pathParameters"]["programId"] = json!("12");
    event["requestContext"]["authorizer"] = json!({"userId": 12345});
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let (status, body) = read(handle(&store, request).await);
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_user_id_too_long_for_a_key_is_not_a_member_not_an_error() {
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let user = "u".repeat(5000);
    let (status, _) = read(handle(&store, request_as(Some(&user), "42")).await);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn unreadable_stored_data_is_a_500_that_leaks_nothing() {
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let tables = store.tables().clone();
    // a writer that stored workspaceId as a number
    store
        .client()
        .put_item()
        .table_name(&tables.programs)
        .item("id", AttributeValue::N("77".into()))
        .item("workspaceId", AttributeValue::N("5".into()))
        .item("advertiserId", AttributeValue::S("adv_acme".into()))
        .send()
        .await
        .unwrap();
    // an advertiser whose connection date cannot be read
    store
        .client()
        .put_item()
        .table_name(&tables.advertisers)
        .item("id", AttributeValue::S("adv_acme".into()))
        .item(
            "stripeConnectedAt",
            AttributeValue::S("last tuesday".into()),
        )
        .send()
        .await
        .unwrap();
    for program_id in ["77", "42"] {
        let (status, body) = read(handle(&store, request_as(Some("user_owner"), program_id)).await);
        assert_eq!(status, 500, "{program_id}");
        // The contract's fixed 500 body: nothing of the stored value or the tables.
        assert_eq!(body, common::internal_error_body());
    }
}

#[tokio::test]
async fn an_unreachable_store_is_a_500() {
    let store = common::unreachable_store().await;
    let (status, body) = read(handle(&store, request_as(Some("user_owner"), "42")).await);
    assert_eq!(status, 500);
    assert!(!body.to_string().contains("127.0.0.1"));
}
