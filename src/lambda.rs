//! The Lambda edge: every invocation payload, however malformed, becomes an
//! API Gateway proxy response of the contract.
//!
//! `lambda_http::run` would reject a payload that is not a well-formed API
//! Gateway event before our code sees it, and its request conversion panics on
//! some hostile inputs (an invalid base64 body, a host header that is not a
//! host). Under `panic = "abort"` a panic is a crashed process and a cold start.
//! So the function takes the raw payload, strips what it never reads (body,
//! headers, cookies, and every query parameter but `include`) before handing
//! the rest to `lambda_http`'s conversion, and answers events it cannot read
//! with the contract's 401: an event whose request context cannot be read
//! carries no principal.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use lambda_http::aws_lambda_events::query_map::QueryMap;
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Context, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::domain::{INCLUDE_PARAMETER, decisive_items};
use crate::store::StatusStore;
use crate::{http, panic_net};

/// Handles one invocation. A panic while answering it is caught by the panic
/// net and answered with the contract's 500.
pub async fn invoke<S: StatusStore>(
    store: &S,
    payload: &RawValue,
    context: Context,
) -> ProxyResponse {
    let started = Instant::now();
    let calls_before = store.calls_made();
    let lambda_request_id = context.request_id.clone();
    let payload_v2 = Cell::new(false);
    let response = match panic_net::catch(answer(store, payload, context, &payload_v2)).await {
        Ok(response) => response,
        Err(panic) => {
            let calls = store.calls_made().saturating_sub(calls_before);
            http::panicked(started, &lambda_request_id, calls, panic)
        }
    };
    ProxyResponse::from(response).for_payload_v2(payload_v2.get())
}

/// Answers one payload; sets `payload_v2` as soon as the payload reads as an
/// HTTP API (payload 2.0) event, so that even a panic is answered in its shape.
async fn answer<S: StatusStore>(
    store: &S,
    payload: &RawValue,
    context: Context,
    payload_v2: &Cell<bool>,
) -> Response<Body> {
    let Ok(event) = serde_json::from_str::<LambdaRequest>(payload.get()) else {
        return http::unreadable_event(&context.request_id);
    };
    payload_v2.set(matches!(event, LambdaRequest::ApiGatewayV2(_)));
    match into_request(event) {
        Some(request) => http::handle(store, request.with_lambda_context(context)).await,
        None => http::unreadable_event(&context.request_id),
    }
}

/// Converts an API Gateway event into a request, keeping only what the function
/// reads: method, path parameters, request context, the raw path and the
/// `include` query parameter.
///
/// The raw path never goes through `lambda_http`'s URI building: `http::Uri`
/// holds at most 65,534 bytes, and `lambda_http` panics ("failed to build
/// request") on a longer one — and percent-encoding can make a path of a third
/// of that size too long. The event reaches the conversion with no path, host,
/// stage or query at all, so the URI it builds is always `/`; the raw path is
/// put back as the `RawHttpPath` extension, which `http::raw_program_id` reads
/// when there is no path parameter. Every other field the conversion keeps
/// (method, path parameters, request context) is stored as it is, at any size.
/// The query reaches the request only as the items that decide `include`
/// (`query_string_parameters_ref`), read from the event before it is stripped.
pub fn into_request(event: LambdaRequest) -> Option<Request> {
    let (event, raw_path, include) = match event {
        LambdaRequest::ApiGatewayV1(mut event) => {
            // As `lambda_http` reads a REST event: the multi-value parameters,
            // which hold every repeat, when there are any.
            let query = if event.multi_value_query_string_parameters.is_empty() {
                &event.query_string_parameters
            } else {
                &event.multi_value_query_string_parameters
            };
            let include = values_of(query, INCLUDE_PARAMETER);
            event.body = None;
            event.is_base64_encoded = false;
            event.headers.clear();
            event.multi_value_headers.clear();
            event.query_string_parameters = Default::default();
            event.multi_value_query_string_parameters = Default::default();
            event.request_context.domain_name = None;
            event.request_context.stage = None;
            let raw_path = event.path.take();
            (LambdaRequest::ApiGatewayV1(event), raw_path, include)
        }
        LambdaRequest::ApiGatewayV2(mut event) => {
            // As `lambda_http` reads an HTTP API event: `rawQueryString` when
            // present (a repeated parameter is a repeat there, where
            // `queryStringParameters` has joined the values with commas).
            let include = match event.raw_query_string.as_deref() {
                Some(raw) => raw_values_of(raw, INCLUDE_PARAMETER),
                None => values_of(&event.query_string_parameters, INCLUDE_PARAMETER),
            };
            event.body = None;
            event.is_base64_encoded = false;
            event.headers.clear();
            event.cookies = None;
            event.raw_query_string = None;
            event.query_string_parameters = Default::default();
            event.request_context.domain_name = None;
            event.request_context.stage = None;
            let raw_path = event.raw_path.take();
            (LambdaRequest::ApiGatewayV2(event), raw_path, include)
        }
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    // A path that is not absolute is no path at all, as API Gateway never sends one.
    let raw_path = raw_path
        .filter(|path| path.starts_with('/'))
        .unwrap_or_default();
    let mut request = Request::from(event).with_raw_http_path(raw_path);
    if !include.is_empty() {
        let query = HashMap::from([(INCLUDE_PARAMETER.to_string(), include)]);
        request = request.with_query_string_parameters(query);
    }
    Some(request)
}

/// What decides `include` (`decisive_items`) among the values of the parameter
/// `name` in a parsed query.
fn values_of(query: &QueryMap, name: &str) -> Vec<String> {
    decisive_items(query.all(name).unwrap_or_default())
}

/// What decides `include` (`decisive_items`) among the values of the parameter
/// `name` in a raw query string, decoded as a browser encodes a form (`%2C` is
/// a comma, `+` a space).
fn raw_values_of(raw: &str, name: &str) -> Vec<String> {
    decisive_items(
        form_urlencoded::parse(raw.as_bytes())
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value),
    )
}

/// The API Gateway proxy integration response; REST (1.0) and HTTP (2.0)
/// payloads both read this shape, `cookies` aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub is_base64_encoded: bool,
    /// Payload 2.0 only, and always empty (the function sets no cookie). A REST
    /// API answers 502 ("Malformed Lambda proxy response") to a key it does not
    /// know, so a 1.0 response leaves it out; a 2.0 response carries it, as
    /// `lambda_http`'s own 2.0 response does, because readers of the 2.0 shape
    /// built on `aws_lambda_events` require it (`cargo lambda watch`'s HTTP
    /// route answers 500 without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
}

impl ProxyResponse {
    /// The shape for the payload version the event came in: with `cookies`
    /// for payload 2.0, without for 1.0 and for payloads that are neither.
    pub fn for_payload_v2(self, payload_v2: bool) -> Self {
        ProxyResponse {
            cookies: payload_v2.then(Vec::new),
            ..self
        }
    }
}

impl From<Response<Body>> for ProxyResponse {
    fn from(response: Response<Body>) -> Self {
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect();
        let body = match response.body() {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Body::Empty => String::new(),
            #[allow(unreachable_patterns)]
            _ => String::new(),
        };
        ProxyResponse {
            status_code: response.status().as_u16(),
            headers,
            body,
            is_base64_encoded: false,
            cookies: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::store::memory::MemoryStore;

    fn store() -> MemoryStore {
        MemoryStore::new(serde_json::from_str(include_str!("../fixtures/example.json")).unwrap())
    }

    fn http_event() -> Value {
        serde_json::from_str(include_str!("../events/http-200-member.json")).unwrap()
    }

    fn rest_event() -> Value {
        serde_json::from_str(include_str!("../events/rest-200-member.json")).unwrap()
    }

    async fn run(payload: &Value) -> ProxyResponse {
        let raw = RawValue::from_string(payload.to_string()).unwrap();
        invoke(&store(), &raw, Context::default()).await
    }

    fn assert_contract(response: &ProxyResponse, status: u16) {
        assert_eq!(response.status_code, status, "{response:?}");
        assert_eq!(response.headers["content-type"], "application/json");
        assert_eq!(response.headers["cache-control"], "no-store");
        let body: Value = serde_json::from_str(&response.body).unwrap();
        if status != 200 {
            assert_eq!(body["error"]["status"], status);
        }
    }

    #[tokio::test]
    async fn well_formed_events_are_answered_in_full() {
        let response = run(&http_event()).await;
        assert_contract(&response, 200);
        assert!(response.body.contains(r#""programId":"42""#));
        assert_contract(&run(&rest_event()).await, 200);
        // the proxy response shape both payload versions read
        let shape = serde_json::to_value(&response).unwrap();
        assert_eq!(shape["statusCode"], 200);
        assert_eq!(shape["isBase64Encoded"], false);
        assert!(shape["body"].is_string() && shape["headers"].is_object());
    }

    #[tokio::test]
    async fn each_payload_version_gets_its_own_response_shape() {
        use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
        let keys = |response: &ProxyResponse| {
            let shape = serde_json::to_value(response).unwrap();
            let mut keys: Vec<String> = shape.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        // Payload 2.0 (HTTP API, and cargo lambda watch's HTTP route): `cookies`, empty.
        let http = run(&http_event()).await;
        assert_eq!(http.cookies, Some(Vec::new()));
        let shape = serde_json::to_value(&http).unwrap();
        assert_eq!(shape["cookies"], json!([]));
        // cargo lambda watch reads the response as aws_lambda_events' 2.0 response,
        // which requires `cookies`: without it, its HTTP route answered 500.
        let read: ApiGatewayV2httpResponse = serde_json::from_value(shape.clone()).unwrap();
        assert_eq!(read.status_code, 200);
        let mut without = shape;
        without.as_object_mut().unwrap().remove("cookies");
        let error = serde_json::from_value::<ApiGatewayV2httpResponse>(without).unwrap_err();
        assert!(
            error.to_string().contains("missing field `cookies`"),
            "{error}"
        );
        // Payload 1.0 (REST API): only keys a REST API accepts; an unknown one is a 502 there.
        let rest = run(&rest_event()).await;
        assert_eq!(
            keys(&rest),
            ["body", "headers", "isBase64Encoded", "statusCode"]
        );
        // A payload that is neither: the 1.0 shape, which both read.
        assert_eq!(keys(&run(&json!({})).await), keys(&rest));
        let mut post = http_event();
        post["requestContext"]["http"]["method"] = json!("POST");
        assert_eq!(run(&post).await.cookies, Some(Vec::new()));
    }

    #[tokio::test]
    async fn what_the_function_never_reads_cannot_break_it() {
        let mut cases = Vec::new();
        for mut event in [http_event(), rest_event()] {
            event["body"] = json!("%%% not base64 %%%");
            event["isBase64Encoded"] = json!(true);
            cases.push((event.clone(), 200));
            event["headers"] = json!({"host": "exa mple:99999999", "x-forwarded-proto": "ht tp"});
            cases.push((event.clone(), 200));
            event["rawQueryString"] = json!("a=\u{1}&b=%zz&c=<script>");
            event["queryStringParameters"] = json!({"a": "\u{0}"});
            cases.push((event.clone(), 200));
        }
        let mut event = http_event();
        event["rawPath"] = json!(":99999/not-a-path");
        event["requestContext"]["stage"] = json!("st age/%");
        event["requestContext"]["domainName"] = json!("[::1");
        cases.push((event, 200));
        for (event, status) in cases {
            assert_contract(&run(&event).await, status);
        }
    }

    #[tokio::test]
    async fn unreadable_events_are_a_401() {
        let mut no_context = http_event();
        no_context.as_object_mut().unwrap().remove("requestContext");
        let mut null_context = rest_event();
        null_context["requestContext"] = Value::Null;
        let mut numeric_jwt = http_event();
        numeric_jwt["requestContext"]["authorizer"] = json!({"jwt": {"claims": {"sub": 42}}});
        for payload in [
            json!(null),
            json!([]),
            json!(42),
            json!("GET /"),
            json!({}),
            no_context,
            null_context,
            numeric_jwt,
        ] {
            assert_contract(&run(&payload).await, 401);
        }
    }

    #[tokio::test]
    async fn methods_and_paths_still_follow_the_contract() {
        let mut post = http_event();
        post["requestContext"]["http"]["method"] = json!("POST");
        let response = run(&post).await;
        assert_contract(&response, 405);
        assert_eq!(response.headers["allow"], "GET");

        let mut long = rest_event();
        long["pathParameters"]["programId"] = json!("9".repeat(100_000));
        assert_contract(&run(&long).await, 400);
    }
}
