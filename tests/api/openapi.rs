//! `openapi.yaml`, the field-level specification, describes what the handler
//! really answers: every status of the contract, produced by the real handler
//! over DynamoDB Local, validates against the document's schema for that
//! status, headers included, and each `function` example is the handler's body
//! byte for byte. The statuses only API Gateway gives (429, 503, 504) and API
//! Gateway's bodies of the others are held by their examples here;
//! scripts/start-api-requests.py compares what `sam local start-api` really
//! returns with them where the emulator gives the deployed body.

use crate::common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{
    EXAMPLE_FIXTURE, NEXT_STEPS_FIXTURE, request_as, seeded_store, seeded_tables_with_all,
    with_include,
};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use tracking_status::http::handle;
use tracking_status::store::dynamodb::DynamoStore;

pub(crate) fn openapi() -> Value {
    let path = format!("{}/openapi.yaml", env!("CARGO_MANIFEST_DIR"));
    let yaml: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(yaml).unwrap()
}

/// Follows a local `$ref` such as `#/components/responses/NotFoundError`.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => document
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling {reference}")),
        None => value,
    }
}

/// A JSON Schema 2020-12 validator whose root is `reference` (such as
/// `#/components/schemas/ErrorResponse`), with the document's components alongside.
fn validator(document: &Value, reference: &Value) -> jsonschema::Validator {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": reference,
        "components": document["components"],
    });
    jsonschema::draft202012::new(&schema).expect("a valid schema")
}

/// The operation's responses, by status, each with its `$ref` resolved.
fn responses(document: &Value) -> Vec<(u16, &Value)> {
    document["paths"]["/api/tracking/status/{programId}"]["get"]["responses"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(status, response)| (status.parse().unwrap(), resolve(document, response)))
        .collect()
}

const GATEWAY_MESSAGE: &str = "#/components/schemas/GatewayMessage";

/// Checks a response against the document's description of its status; an
/// error equal to the document's `function` example of that status is recorded
/// in `matched` (so a test can require that every such example was produced).
fn assert_conforms(document: &Value, response: Response<Body>, matched: &mut Vec<u16>) -> u16 {
    let status = response.status().as_u16();
    let operation = &document["paths"]["/api/tracking/status/{programId}"]["get"];
    let described = resolve(document, &operation["responses"][status.to_string()]);
    assert!(
        described.is_object(),
        "status {status} is not in openapi.yaml"
    );

    for (name, header) in described["headers"].as_object().unwrap() {
        let schema = &resolve(document, header)["schema"];
        let value = response
            .headers()
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{status}: no {name} header"));
        assert_eq!(value.to_str().unwrap(), schema["const"], "{status}: {name}");
    }
    assert_eq!(response.headers()["content-type"], "application/json");

    let body: Value = match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("{other:?}"),
    };
    let content = &described["content"]["application/json"];
    let errors: Vec<String> = validator(document, &content["schema"]["$ref"])
        .iter_errors(&body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{status}: {body} does not conform: {errors:#?}"
    );
    if status != 200 {
        assert_eq!(body["error"]["status"], status);
        // The function's own body, as the document shows it: equal whenever it is
        // the same error (a 400 has two).
        if let Some(example) = content["examples"]["function"].get("value")
            && example["error"]["message"] == body["error"]["message"]
        {
            assert_eq!(
                &body, example,
                "{status}: the document's `function` example"
            );
            matched.push(status);
        }
    }
    status
}

fn with_method(mut request: Request, method: &str) -> Request {
    *request.method_mut() = method.parse().unwrap();
    request
}

#[tokio::test]
async fn every_status_conforms_to_openapi_yaml() {
    let document = openapi();
    assert_eq!(document["openapi"], "3.1.0");
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let tables = store.tables().clone();
    // a program whose stored record cannot be read: the 500
    store
        .client()
        .put_item()
        .table_name(&tables.programs)
        .item("id", AttributeValue::N("500".into()))
        .item("workspaceId", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();

    let cases = [
        (request_as(Some("user_dev"), "42"), 200),
        (request_as(Some("user_owner"), "42"), 200),
        (request_as(Some("user_dev"), "042"), 400),
        (request_as(Some("user_dev"), "abc"), 400),
        (request_as(None, "42"), 401),
        (request_as(Some("user_billing"), "42"), 403),
        (request_as(Some("user_dev"), "43"), 404),
        (request_as(Some("user_nobody"), "42"), 404),
        (request_as(Some("user_dev"), "500"), 500),
        (
            with_include(request_as(Some("user_dev"), "42"), "nextSteps"),
            200,
        ),
        (
            with_include(request_as(Some("user_dev"), "42"), "everything"),
            400,
        ),
    ];
    let mut seen = Vec::new();
    let mut matched = Vec::new();
    for (request, expected) in cases {
        let status = assert_conforms(&document, handle(&store, request).await, &mut matched);
        assert_eq!(status, expected);
        seen.push(status);
    }
    // every `function` example is an answer the handler gave
    let mut with_example: Vec<u16> = responses(&document)
        .into_iter()
        .filter(|(_, response)| {
            response["content"]["application/json"]["examples"]["function"].is_object()
        })
        .map(|(status, _)| status)
        .collect();
    with_example.sort();
    matched.sort();
    matched.dedup();
    assert_eq!(matched, with_example, "the `function` examples produced");
    // every response the document lists for the function was produced; the
    // statuses only API Gateway gives are held by their examples (below)
    let mut listed: Vec<u16> = responses(&document)
        .into_iter()
        .filter(|(_, response)| {
            response["content"]["application/json"]["schema"]["$ref"] != GATEWAY_MESSAGE
        })
        .map(|(status, _)| status)
        .collect();
    listed.sort();
    seen.sort();
    seen.dedup();
    assert_eq!(seen, listed);
}

/// Every example of an error response conforms to its status's schema, and is
/// either the function's body (`error.status` = the status) or API Gateway's
/// `{"message"}`, never both; every status API Gateway can give shows its body.
#[test]
fn every_error_example_is_the_function_s_or_api_gateway_s() {
    let document = openapi();
    let error = validator(&document, &json!("#/components/schemas/ErrorResponse"));
    let gateway = validator(&document, &json!(GATEWAY_MESSAGE));
    let mut gateway_statuses = Vec::new();
    for (status, response) in responses(&document) {
        let content = &response["content"]["application/json"];
        let schema = validator(&document, &content["schema"]["$ref"]);
        let Some(examples) = content["examples"].as_object() else {
            continue;
        };
        for (name, example) in examples {
            let value = &example["value"];
            assert!(schema.is_valid(value), "{status} {name}: {value}");
            if gateway.is_valid(value) {
                assert!(!error.is_valid(value), "{status} {name}");
                gateway_statuses.push(status);
            } else {
                assert!(error.is_valid(value), "{status} {name}: neither shape");
                assert_eq!(value["error"]["status"], status, "{status} {name}");
            }
        }
    }
    gateway_statuses.dedup();
    assert_eq!(gateway_statuses, [401, 403, 404, 429, 500, 503, 504]);
    // The two shapes are closed: neither accepts the other's members.
    assert!(!gateway.is_valid(&json!({"message": "Unauthorized", "data": null})));
    assert!(!gateway.is_valid(&json!({"message": ""})));
    assert!(!gateway.is_valid(&json!({})));
}

/// Every kind of `nextSteps` item, as the handler really answers it, conforms.
#[tokio::test]
async fn next_steps_responses_conform_to_openapi_yaml() {
    let document = openapi();
    let tables = seeded_tables_with_all(&[EXAMPLE_FIXTURE, NEXT_STEPS_FIXTURE]).await;
    let store = DynamoStore::new(common::client(None).await, tables);
    let mut codes = Vec::new();
    for (program_id, _) in common::fixture_programs() {
        let response = handle(
            &store,
            with_include(request_as(Some("user_owner"), &program_id), "nextSteps"),
        )
        .await;
        let body: Value = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("{other:?}"),
        };
        for item in body["data"]["nextSteps"].as_array().unwrap() {
            codes.push(item["code"].as_str().unwrap().to_string());
        }
        assert_eq!(
            assert_conforms(&document, response, &mut Vec::new()),
            200,
            "{program_id}"
        );
    }
    codes.sort();
    codes.dedup();
    // together, the fixtures' programs give every code the document lists
    let mut all: Vec<String> = next_step_codes(&document).into_keys().collect();
    all.sort();
    assert_eq!(codes, all);
}

/// The next-step codes of openapi.yaml, each with its schema's name: the
/// discriminator's mapping, which must be exactly the `oneOf`'s schemas, each
/// with its own `code` const (what a generator's union is discriminated on).
fn next_step_codes(document: &Value) -> std::collections::BTreeMap<String, String> {
    let next_step = &document["components"]["schemas"]["NextStep"];
    assert_eq!(next_step["discriminator"]["propertyName"], "code");
    let mapping = next_step["discriminator"]["mapping"].as_object().unwrap();
    let variants: std::collections::BTreeSet<&str> = next_step["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| variant["$ref"].as_str().unwrap())
        .collect();
    let mapped: std::collections::BTreeSet<&str> =
        mapping.values().map(|r| r.as_str().unwrap()).collect();
    assert_eq!(mapped.len(), mapping.len(), "two codes map to one schema");
    assert_eq!(mapped, variants, "the mapping and the oneOf");
    mapping
        .iter()
        .map(|(code, reference)| {
            let reference = reference.as_str().unwrap();
            let schema = document
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling {reference}"));
            assert_eq!(schema["properties"]["code"]["const"], **code, "{reference}");
            let name = reference.rsplit('/').next().unwrap().to_string();
            (code.clone(), name)
        })
        .collect()
}

/// The function's 405 (a method other than GET): the deployed route passes only
/// GET, so it is not among the operation's responses, but its body is one of
/// the document's errors, with `Allow: GET` as MethodNotAllowed says.
#[tokio::test]
async fn the_405_is_a_documented_error_outside_the_get_operation() {
    let document = openapi();
    assert!(
        responses(&document)
            .iter()
            .all(|(status, _)| *status != 405)
    );
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let response = handle(
        &store,
        with_method(request_as(Some("user_dev"), "42"), "DELETE"),
    )
    .await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    let (_, body) = common::read(response);
    let errors = validator(&document, &json!("#/components/schemas/ErrorResponse"));
    assert!(errors.is_valid(&body), "{body}");
    let method = validator(&document, &json!("#/components/schemas/MethodNotAllowed"));
    assert!(method.is_valid(&body["error"]), "{body}");
}

/// The path parameter's pattern admits exactly the ids the server admits (no
/// 400), at every edge of the range: a client that validates with it never
/// sends an id the server refuses, nor refuses one it serves.
#[tokio::test]
async fn the_program_id_pattern_is_what_the_server_admits() {
    let document = openapi();
    let parameters = document["paths"]["/api/tracking/status/{programId}"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let program_id = parameters
        .iter()
        .find(|parameter| parameter["name"] == "programId")
        .unwrap();
    let pattern = regex::Regex::new(program_id["schema"]["pattern"].as_str().unwrap()).unwrap();
    let store = seeded_store(EXAMPLE_FIXTURE).await;
    let max = 9_007_199_254_740_991_u64;
    let mut ids: Vec<String> = [
        1,
        9,
        10,
        42,
        999_999_999_999_999,
        1_000_000_000_000_000,
        8_999_999_999_999_999,
        9_000_000_000_000_000,
        9_006_999_999_999_999,
        9_007_099_999_999_999,
        9_007_199_254_739_999,
        9_007_199_254_740_899,
        9_007_199_254_740_989,
        max - 1,
        max,
        max + 1,
        max + 9,
        9_007_199_254_741_000,
        9_007_199_255_000_000,
        9_099_999_999_999_999,
        9_999_999_999_999_999,
        10_000_000_000_000_000,
        u64::MAX,
    ]
    .iter()
    .map(u64::to_string)
    .collect();
    ids.extend(["", "0", "00", "042", "-1", "+1", "4a", "%34%32", "1.0"].map(String::from));
    for id in ids {
        let (status, _) = common::read(handle(&store, request_as(Some("user_dev"), &id)).await);
        assert_eq!(
            pattern.is_match(&id),
            status != 400,
            "{id}: the pattern and the server (status {status}) disagree"
        );
    }
}

#[tokio::test]
async fn the_next_step_schema_rejects_what_the_contract_forbids() {
    let document = openapi();
    let validator = validator(&document, &json!("#/components/schemas/NextStep"));
    let mut block = serde_json::to_value(tracking_status::domain::StripeBlock::default()).unwrap();
    block["pastDue"] = json!(["external_account"]);
    assert!(validator.is_valid(
        &json!({"step": "payments", "code": "resolve_stripe_requirements",
        "waitingSince": "2026-05-01T08:00:00.000Z", "details": block})
    ));
    assert!(
        validator.is_valid(&json!({"step": "partners", "code": "approve_a_partner",
        "waitingSince": null, "details": {}}))
    );
    for bad in [
        // a code of another step
        json!({"step": "pageview", "code": "send_test_lead", "waitingSince": null, "details": {}}),
        // an unknown code
        json!({"step": "pageview", "code": "install_the_tracker", "waitingSince": null, "details": {}}),
        // the Stripe block where {} belongs, and {} where the block belongs
        json!({"step": "partners", "code": "approve_a_partner", "waitingSince": null, "details": block}),
        json!({"step": "payments", "code": "finish_stripe_onboarding", "waitingSince": null, "details": {}}),
        // connect_stripe without its status
        json!({"step": "payments", "code": "connect_stripe", "waitingSince": null, "details": {}}),
        // a timestamp without milliseconds
        json!({"step": "partners", "code": "approve_a_partner", "waitingSince": "2026-05-01T08:00:00Z", "details": {}}),
        // waitingSince is always present
        json!({"step": "partners", "code": "approve_a_partner", "details": {}}),
    ] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

#[tokio::test]
async fn the_schema_rejects_what_the_contract_forbids() {
    // The validation is not vacuous: a count above the cap or a timestamp
    // without milliseconds fails it.
    let document = openapi();
    let validator = validator(&document, &json!("#/components/schemas/EventStatistics"));
    assert!(validator.is_valid(&json!({"testEventCount": 10, "hasTestEvents": true,
        "latestTestEvent": {"id": 1, "timestamp": "2026-06-07T10:23:45.000Z", "createdAt": "2026-06-07T10:23:45.000Z"}})));
    assert!(
        !validator.is_valid(
            &json!({"testEventCount": 11, "hasTestEvents": true, "latestTestEvent": null})
        )
    );
    assert!(!validator.is_valid(&json!({"testEventCount": 1, "hasTestEvents": true,
        "latestTestEvent": {"id": 1, "timestamp": "2026-06-07T10:23:45Z", "createdAt": "2026-06-07T10:23:45.000Z"}})));
    assert!(!validator.is_valid(&json!({"testEventCount": 0, "hasTestEvents": false})));
}
