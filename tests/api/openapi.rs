//! `openapi.yaml` describes what the handler really answers: every status of the
//! contract, produced by the real handler over DynamoDB Local, validates against
//! the document's schema for that status, headers included. The statuses only API
//! Gateway gives (429, 503, 504) and API Gateway's bodies of the others are held
//! by their examples here; scripts/start-api-requests.py compares the bodies
//! `sam local start-api` really returns with those examples.

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

/// Checks a response against the document's description of its status.
fn assert_conforms(document: &Value, response: Response<Body>) -> u16 {
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
        // The function's own body, where the document shows it beside API Gateway's.
        if let Some(example) = content["examples"]["function"].get("value") {
            assert_eq!(
                &body, example,
                "{status}: the document's `function` example"
            );
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
        (
            with_method(request_as(Some("user_dev"), "42"), "DELETE"),
            405,
        ),
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
    for (request, expected) in cases {
        let status = assert_conforms(&document, handle(&store, request).await);
        assert_eq!(status, expected);
        seen.push(status);
    }
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
    assert_eq!(gateway_statuses, [401, 403, 429, 500, 503, 504]);
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
        assert_eq!(assert_conforms(&document, response), 200, "{program_id}");
    }
    codes.sort();
    codes.dedup();
    // together, the fixtures' programs give every code the document lists
    let mut all: Vec<String> = document["components"]["schemas"]["NextStepCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_string())
        .collect();
    all.sort();
    assert_eq!(codes, all);
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
