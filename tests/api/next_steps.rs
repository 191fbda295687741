//! `?include=nextSteps` (contract, "Next steps (opt-in)"): the parameter in
//! every shape API Gateway delivers it, through the invocation path
//! (`kit::invoke`, as `lambda_http::run` converts the event); every rule through the real handler over DynamoDB Local;
//! and stored values that cannot be read, which fail only requests with it.

use crate::{common, samples};

use aws_sdk_dynamodb::types::AttributeValue;
use common::{
    EXAMPLE_FIXTURE, INTERNAL_ERROR_BODY, NEXT_STEPS_FIXTURE, event_as, rest_event_as,
    seeded_tables_with_all,
};
use serde_json::{Value, json};
use tracking_status::domain::StripeBlock;
use tracking_status::store::StatusStore;
use tracking_status::store::dynamodb::DynamoStore;
use tracking_status::store::memory::MemoryStore;
use tracking_status::store::records::Dataset;
use tracking_status_dev::fixture;

/// The example's program 42 and the next-steps fixture's programs 7, 8 and 9.
fn both_fixtures() -> Dataset {
    let mut dataset = fixture::parse(EXAMPLE_FIXTURE).unwrap();
    let more = fixture::parse(NEXT_STEPS_FIXTURE).unwrap();
    dataset.programs.extend(more.programs);
    dataset.advertisers.extend(more.advertisers);
    dataset.memberships.extend(more.memberships);
    dataset.events.extend(more.events);
    dataset.partner_programs.extend(more.partner_programs);
    dataset
}

async fn seeded_dynamo(fixtures: &[&str]) -> DynamoStore {
    let tables = seeded_tables_with_all(fixtures).await;
    DynamoStore::new(common::client(None).await, tables)
}

/// How the query reaches the function.
#[derive(Debug, Clone, Copy)]
enum Query<'a> {
    /// HTTP API: `rawQueryString` as sent, and `queryStringParameters` as API
    /// Gateway derives it (repeats joined with commas).
    Http(&'a str),
    /// HTTP API event with `queryStringParameters` only (no `rawQueryString`).
    HttpParameters(&'a str),
    /// REST API: `queryStringParameters` (the last value) and
    /// `multiValueQueryStringParameters` (every value), as API Gateway sends them.
    Rest(&'a [&'a str]),
    /// REST API event with `queryStringParameters` only.
    RestSingle(&'a str),
}

/// An event of user `user` for `program_id` carrying `query`.
fn event_with(user: Option<&str>, program_id: &str, query: Query<'_>) -> Value {
    match query {
        Query::Http(raw) => {
            let mut event = event_as(user, program_id);
            event["rawQueryString"] = Value::from(raw);
            let includes: Vec<String> = form_urlencoded::parse(raw.as_bytes())
                .filter(|(key, _)| key == "include")
                .map(|(_, value)| value.into_owned())
                .collect();
            if !includes.is_empty() {
                event["queryStringParameters"] = json!({"include": includes.join(",")});
            }
            event
        }
        Query::HttpParameters(value) => {
            let mut event = event_as(user, program_id);
            event.as_object_mut().unwrap().remove("rawQueryString");
            event["queryStringParameters"] = json!({ "include": value });
            event
        }
        Query::Rest(values) => {
            let mut event = rest_event_as(user, program_id);
            if let Some(last) = values.last() {
                event["queryStringParameters"] = json!({ "include": last });
                event["multiValueQueryStringParameters"] = json!({ "include": values });
            }
            event
        }
        Query::RestSingle(value) => {
            let mut event = rest_event_as(user, program_id);
            event["queryStringParameters"] = json!({ "include": value });
            event
        }
    }
}

/// Invokes the function with `event` as Lambda hands it over; the status, the body and its text.
async fn call<S: StatusStore>(store: &S, event: &Value) -> (u16, Value, String) {
    let response = common::invoke(store, &event.to_string()).await.unwrap();
    common::check_contract(&response).unwrap_or_else(|broken| panic!("{broken}"));
    let text = common::body_text(&response).to_string();
    (
        response.status().as_u16(),
        serde_json::from_str(&text).unwrap(),
        text,
    )
}

/// The body with `lastUpdated` set aside, for comparing two responses.
fn without_clock(mut body: Value) -> Value {
    if let Some(data) = body["data"].as_object_mut() {
        data.remove("lastUpdated");
    }
    body
}

const UNKNOWN_INCLUDE: &str = r#"{"data":null,"error":{"status":400,"name":"ValidationError","message":"include is not valid","details":{"field":"include","rule":"unknown_value","message":"include may contain only: nextSteps (comma-separated)"}}}"#;

/// What program 42 of the example needs (a test lead, waited for since its latest
/// test click), as the snapshot program_42_next_steps holds it.
fn program_42_next_steps() -> Value {
    let document = samples::sample("program_42_next_steps").expect("the snapshot");
    let listed = document.get("data").and_then(|data| data.get("nextSteps"));
    serde_json::to_value(listed.expect("data.nextSteps")).unwrap()
}

#[tokio::test]
async fn include_is_read_from_every_shape_api_gateway_sends() {
    let store = MemoryStore::new(both_fixtures());
    // (query, Some(true): nextSteps; Some(false): the seed's document; None: the 400)
    let cases: Vec<(Query, Option<bool>)> = vec![
        (Query::Http(""), Some(false)),
        (Query::Http("include=nextSteps"), Some(true)),
        (Query::Http("include="), Some(false)),
        (Query::Http("include=,,"), Some(false)),
        (Query::Http("include=,nextSteps,"), Some(true)),
        (Query::Http("include=nextSteps%2C"), Some(true)),
        // repeated parameters count as one list
        (Query::Http("include=&include=nextSteps"), Some(true)),
        (
            Query::Http("include=nextSteps&include=nextSteps"),
            Some(true),
        ),
        (Query::Http("include=nextSteps&include=other"), None),
        (Query::Http("include=nextSteps,other"), None),
        (Query::Http("include=nextSteps%2Cother"), None),
        // case-sensitive, and nothing is trimmed
        (Query::Http("include=nextsteps"), None),
        (Query::Http("include=NextSteps"), None),
        (Query::Http("include=+nextSteps"), None),
        (Query::Http("include=next%53teps"), Some(true)),
        // other parameters (a cache buster, another casing) are not include
        (Query::Http("_=1780920000000&include=nextSteps"), Some(true)),
        (Query::Http("Include=other&v=2"), Some(false)),
        (Query::HttpParameters("nextSteps"), Some(true)),
        (Query::HttpParameters(""), Some(false)),
        (Query::HttpParameters("nextSteps,other"), None),
        (Query::Rest(&["nextSteps"]), Some(true)),
        (Query::Rest(&["", "nextSteps"]), Some(true)),
        (Query::Rest(&["", ","]), Some(false)),
        // every repeat counts, not only the last one API Gateway puts in queryStringParameters
        (Query::Rest(&["other", "nextSteps"]), None),
        (Query::Rest(&["nextSteps,other"]), None),
        (Query::RestSingle("nextSteps"), Some(true)),
        (Query::RestSingle("nextSteps,other"), None),
    ];
    let (_, plain, plain_response) = call(&store, &event_as(Some("user_dev"), "42")).await;
    for (query, expected) in cases {
        let (status, body, response) =
            call(&store, &event_with(Some("user_dev"), "42", query)).await;
        match expected {
            None => {
                assert_eq!(status, 400, "{query:?}: {body}");
                assert_eq!(response, UNKNOWN_INCLUDE, "{query:?}");
            }
            Some(next_steps) => {
                assert_eq!(status, 200, "{query:?}: {body}");
                let mut data = without_clock(body);
                let listed = data["data"].as_object_mut().unwrap().remove("nextSteps");
                if next_steps {
                    assert_eq!(listed, Some(program_42_next_steps()), "{query:?}");
                } else {
                    assert_eq!(listed, None, "{query:?}");
                    // the seed's document, byte for byte but the clock
                    assert_eq!(response.len(), plain_response.len(), "{query:?}");
                }
                assert_eq!(data, without_clock(plain.clone()), "{query:?}");
            }
        }
    }
}

#[tokio::test]
async fn next_steps_follows_last_updated_and_the_rest_is_unchanged() {
    let store = MemoryStore::new(both_fixtures());
    let (_, _, plain) = call(&store, &event_as(Some("user_dev"), "42")).await;
    let (_, _, with) = call(
        &store,
        &event_with(Some("user_dev"), "42", Query::Http("include=nextSteps")),
    )
    .await;
    // The document without the parameter ends with lastUpdated; with it, the
    // same text continues with nextSteps.
    let (plain_head, _) = plain.split_at(plain.find(r#","lastUpdated":"#).unwrap());
    let (with_head, with_tail) = with.split_at(with.find(r#","lastUpdated":"#).unwrap());
    assert_eq!(plain_head, with_head);
    let tail = &with_tail[r#","lastUpdated":"2026-06-08T12:00:00.000Z""#.len()..];
    assert!(tail.starts_with(r#","nextSteps":["#), "{tail}");
    // and the whole of it, nextSteps last, is the sample
    let document = samples::redacted(&with).unwrap();
    samples::compare_documented(
        "program_42_next_steps",
        "the in-memory store's answer",
        &document,
    )
    .unwrap_or_else(|difference| panic!("{difference}"));
}

#[tokio::test]
async fn checks_run_in_the_contract_order_with_include() {
    let store = seeded_dynamo(&[EXAMPLE_FIXTURE, NEXT_STEPS_FIXTURE]).await;
    let bad = Query::Http("include=everything");
    let good = Query::Http("include=nextSteps");
    let cases = [
        // 401 first, whatever the query
        (None, "42", bad, 401, None),
        // programId before include
        (Some("user_dev"), "042", bad, 400, Some("programId")),
        (Some("user_dev"), "abc", bad, 400, Some("programId")),
        // include before looking anything up: no 404, no 403
        (Some("user_dev"), "43", bad, 400, Some("include")),
        (Some("user_billing"), "42", bad, 400, Some("include")),
        (Some("user_dev"), "42", bad, 400, Some("include")),
        // with a good include, the rest of the order is unchanged
        (Some("user_dev"), "43", good, 404, None),
        (Some("user_billing"), "42", good, 403, None),
        (Some("user_billing"), "7", good, 403, None),
        (Some("user_nobody"), "7", good, 404, None),
        (Some("user_dev"), "7", good, 200, None),
    ];
    for (user, program_id, query, expected, field) in cases {
        let (status, body, _) = call(&store, &event_with(user, program_id, query)).await;
        assert_eq!(status, expected, "{user:?} {program_id} {query:?}: {body}");
        if let Some(field) = field {
            assert_eq!(body["error"]["details"]["field"], field, "{body}");
        }
    }
}

/// The `nextSteps` of `program_id` for `user_owner`, through the handler.
async fn next_steps_of(store: &DynamoStore, program_id: &str, query: Query<'_>) -> Value {
    let (status, body, _) = call(store, &event_with(Some("user_owner"), program_id, query)).await;
    assert_eq!(status, 200, "{program_id}: {body}");
    body["data"]["nextSteps"].clone()
}

/// Every program of the fixtures with `include=nextSteps`, through `seed` and DynamoDB
/// Local: each whole document, nextSteps and the Stripe block's details in the order
/// the client reads them, is its snapshot (tests/api/snapshots/program_<id>_next_steps.snap).
#[tokio::test]
async fn the_fixture_programs_through_seed_and_dynamodb_local() {
    let store = seeded_dynamo(&[EXAMPLE_FIXTURE, NEXT_STEPS_FIXTURE]).await;
    let include = Query::Rest(&["nextSteps"]);
    for (program_id, name) in common::fixture_programs() {
        let (status, body, response) = call(
            &store,
            &event_with(Some("user_owner"), &program_id, include),
        )
        .await;
        assert_eq!(status, 200, "{program_id}: {body}");
        samples::assert_sample(
            &format!("program_{program_id}_next_steps"),
            &format!(
                "GET /api/tracking/status/{program_id}?include=nextSteps as user_owner, \
                 fixtures/example.json and fixtures/next-steps.json in DynamoDB Local \
                 (tests/api/next_steps.rs): {name}"
            ),
            &response,
        );
    }
}

#[tokio::test]
async fn every_rule_through_the_handler_on_dynamodb_local() {
    const CREATED: &str = "2026-05-20T08:00:00.000Z";
    const CONNECTED: &str = "2026-05-01T08:00:00.000Z";
    const CLICK: &str = "2026-06-07T10:23:45.000Z";
    let done_advertiser = json!({"stripeConnectionStatus": "connected", "chargesEnabled": true,
        "payoutsEnabled": true, "detailsSubmitted": true, "stripeConnectedAt": CONNECTED});
    let block = |charges: bool,
                 payouts: bool,
                 reason: Value,
                 due: Value,
                 past: Value,
                 deadline: Value| {
        // over the block's defaults, so that a new field needs no site here
        let mut block = serde_json::to_value(StripeBlock::default()).unwrap();
        let given = json!({"chargesEnabled": charges, "payoutsEnabled": payouts, "disabledReason": reason,
               "currentlyDue": due, "pastDue": past, "deadline": deadline});
        block
            .as_object_mut()
            .unwrap()
            .extend(given.as_object().unwrap().clone());
        block
    };
    let with = |changes: Value| {
        let mut advertiser = done_advertiser.clone();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                advertiser.as_object_mut().unwrap().remove(key);
            } else {
                advertiser[key] = value.clone();
            }
        }
        Some(advertiser)
    };
    let resolve = |details: Value| json!([{"step": "payments", "code": "resolve_stripe_requirements", "waitingSince": CONNECTED, "details": details}]);
    struct Case {
        name: &'static str,
        created_at: Option<&'static str>,
        clicks: bool,
        leads: bool,
        advertiser: Option<Value>,
        partner: &'static str,
        expected: Value,
    }
    impl Case {
        fn expecting(self, expected: Value) -> Self {
            Case { expected, ..self }
        }
    }
    let done = |name, advertiser: Option<Value>, expected| Case {
        name,
        created_at: Some(CREATED),
        clicks: true,
        leads: true,
        advertiser,
        partner: "approved",
        expected,
    };
    let cases = vec![
        done("every step done", Some(done_advertiser.clone()), json!([])),
        Case { clicks: false, leads: false, created_at: None, partner: "pending",
            ..done("no createdAt: every waitingSince from it is null", None, Value::Null) }
            .expecting(json!([
                {"step": "pageview", "code": "send_test_click", "waitingSince": null, "details": {}},
                {"step": "referrals", "code": "send_test_lead", "waitingSince": null, "details": {}},
                {"step": "payments", "code": "connect_stripe", "waitingSince": null,
                 "details": {"stripeConnectionStatus": "not_connected"}},
                {"step": "partners", "code": "approve_a_partner", "waitingSince": null, "details": {}}
            ])),
        Case { leads: false, ..done("a click and no lead: waiting since the click", Some(done_advertiser.clone()), Value::Null) }
            .expecting(json!([{"step": "referrals", "code": "send_test_lead", "waitingSince": CLICK, "details": {}}])),
        Case { clicks: false, ..done("a lead and no click", Some(done_advertiser.clone()), Value::Null) }
            .expecting(json!([{"step": "pageview", "code": "send_test_click", "waitingSince": CREATED, "details": {}}])),
        done("a status that is not `connected`, as stored", with(json!({"stripeConnectionStatus": "Connected"})),
            json!([{"step": "payments", "code": "connect_stripe", "waitingSince": CREATED,
                    "details": {"stripeConnectionStatus": "Connected"}}])),
        done("an advertiser record without a status", Some(json!({})),
            json!([{"step": "payments", "code": "connect_stripe", "waitingSince": CREATED,
                    "details": {"stripeConnectionStatus": "not_connected"}}])),
        done("details not submitted, no connection date", with(json!({"detailsSubmitted": false, "stripeConnectedAt": null})),
            json!([{"step": "payments", "code": "finish_stripe_onboarding", "waitingSince": null,
                    "details": block(true, true, Value::Null, json!([]), json!([]), Value::Null)}])),
        done("charges disabled", with(json!({"chargesEnabled": false})),
            resolve(block(false, true, Value::Null, json!([]), json!([]), Value::Null))),
        done("payouts missing", with(json!({"payoutsEnabled": null})),
            resolve(block(true, false, Value::Null, json!([]), json!([]), Value::Null))),
        done("a disabled reason", with(json!({"stripeDisabledReason": "rejected.other"})),
            resolve(block(true, true, json!("rejected.other"), json!([]), json!([]), Value::Null))),
        done("currently due, in stored order", with(json!({"stripeCurrentlyDue": ["z", "a"], "stripeRequirementsDeadline": "2026-07-01T02:00:00+02:00"})),
            resolve(block(true, true, Value::Null, json!(["z", "a"]), json!([]), json!("2026-07-01T00:00:00.000Z")))),
        done("past due", with(json!({"stripePastDue": ["tos_acceptance.date"]})),
            resolve(block(true, true, Value::Null, json!([]), json!(["tos_acceptance.date"]), Value::Null))),
        done("an empty reason, empty lists and a deadline hold nothing back",
            with(json!({"stripeDisabledReason": "", "stripeCurrentlyDue": [], "stripePastDue": [], "stripeRequirementsDeadline": "2026-07-01T00:00:00Z"})),
            json!([])),
        Case { partner: "Approved", ..done("no approved partner (case-sensitive)", Some(done_advertiser.clone()), Value::Null) }
            .expecting(json!([{"step": "partners", "code": "approve_a_partner", "waitingSince": CREATED, "details": {}}])),
    ];

    // One fixture: program 100 + i, advertiser adv_i, all in workspace ws.
    let mut dataset = json!({"programs": [], "advertisers": [], "events": [], "partnerPrograms": [],
        "memberships": [{"workspaceId": "ws", "userId": "user_owner", "role": "owner", "permissions": []}]});
    for (i, case) in cases.iter().enumerate() {
        let id = 100 + i as u64;
        let mut program =
            json!({"id": id, "workspaceId": "ws", "advertiserId": format!("adv_{i}")});
        if let Some(created_at) = case.created_at {
            program["createdAt"] = Value::from(created_at);
        }
        dataset["programs"].as_array_mut().unwrap().push(program);
        if let Some(advertiser) = &case.advertiser {
            let mut advertiser = advertiser.clone();
            advertiser["id"] = Value::from(format!("adv_{i}"));
            dataset["advertisers"]
                .as_array_mut()
                .unwrap()
                .push(advertiser);
        }
        for (kind, present, event_id) in [
            ("click", case.clicks, id * 10),
            ("lead", case.leads, id * 10 + 1),
        ] {
            if present {
                dataset["events"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"id": event_id, "programId": id,
                    "type": kind, "test": true, "timestamp": CLICK, "createdAt": CLICK}));
            }
        }
        dataset["partnerPrograms"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": id, "programId": id, "partnerId": "p", "status": case.partner}));
    }
    let store = seeded_dynamo(&[&dataset.to_string()]).await;
    for (i, case) in cases.iter().enumerate() {
        let program_id = (100 + i).to_string();
        let steps = next_steps_of(&store, &program_id, Query::Http("include=nextSteps")).await;
        assert_eq!(steps, case.expected, "{}", case.name);
    }
}

/// The stored values that only `nextSteps` reads, each unreadable in turn.
#[tokio::test]
async fn unreadable_next_steps_fields_fail_only_requests_that_include_them() {
    let store = seeded_dynamo(&[EXAMPLE_FIXTURE, NEXT_STEPS_FIXTURE]).await;
    let tables = store.tables().clone();
    let (_, clean_body, _) = call(&store, &event_as(Some("user_owner"), "9")).await;
    let bad_values: Vec<(&str, &str, AttributeValue)> = vec![
        ("programs", "createdAt", AttributeValue::S("soon".into())),
        (
            "programs",
            "createdAt",
            AttributeValue::N("1780920000".into()),
        ),
        (
            "advertisers",
            "stripeDisabledReason",
            AttributeValue::Bool(true),
        ),
        (
            "advertisers",
            "stripeCurrentlyDue",
            AttributeValue::S("external_account".into()),
        ),
        (
            "advertisers",
            "stripePastDue",
            AttributeValue::L(vec![AttributeValue::N("1".into())]),
        ),
        (
            "advertisers",
            "stripeRequirementsDeadline",
            AttributeValue::S("next week".into()),
        ),
    ];
    for (table, field, value) in bad_values {
        // Rewrite program 9 or its advertiser with the fixture's values and one bad field.
        let (table_name, key) = match table {
            "programs" => (&tables.programs, ("id", AttributeValue::N("9".into()))),
            _ => (
                &tables.advertisers,
                ("id", AttributeValue::S("adv_comet".into())),
            ),
        };
        let item = store
            .client()
            .get_item()
            .table_name(table_name)
            .key(key.0, key.1.clone())
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        store
            .client()
            .put_item()
            .table_name(table_name)
            .set_item(Some(item.clone()))
            .item(field, value.clone())
            .send()
            .await
            .unwrap();

        // Without include: the seed's document, as before.
        let (status, body, _) = call(&store, &event_as(Some("user_owner"), "9")).await;
        assert_eq!(status, 200, "{field} {value:?}: {body}");
        assert_eq!(
            without_clock(body),
            without_clock(clean_body.clone()),
            "{field}"
        );
        let (status, _, _) = call(
            &store,
            &event_with(Some("user_owner"), "9", Query::Http("include=")),
        )
        .await;
        assert_eq!(status, 200, "{field} {value:?}");

        // With it: the contract's 500, which says nothing of the value.
        for query in [
            Query::Http("include=nextSteps"),
            Query::Rest(&["nextSteps"]),
        ] {
            let (status, _, response) =
                call(&store, &event_with(Some("user_owner"), "9", query)).await;
            assert_eq!(status, 500, "{field} {value:?} {query:?}");
            assert_eq!(response, INTERNAL_ERROR_BODY);
        }
        // The policy still comes first: a caller without access learns nothing, not even a 500.
        for (user, expected) in [("user_billing", 403), ("user_nobody", 404)] {
            let include = Query::Http("include=nextSteps");
            let (status, _, _) = call(&store, &event_with(Some(user), "9", include)).await;
            assert_eq!(status, expected, "{user} {field} {value:?}");
        }

        // Put the record back for the next case.
        store
            .client()
            .put_item()
            .table_name(table_name)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    // and with every value readable again, nextSteps answers
    let (status, _, _) = call(
        &store,
        &event_with(Some("user_owner"), "9", Query::Http("include=nextSteps")),
    )
    .await;
    assert_eq!(status, 200);
}
