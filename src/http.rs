//! The HTTP edge: turns an API Gateway request, as `lambda_http` converts it, into a call
//! of the use case and its outcome into a response. It picks no status code itself: `ApiError` does.

use std::time::Instant;

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use tracing::Level;

use crate::domain::{INCLUDE_PARAMETER, Include, ProgramId, ProgramIdError, StatusDocument};
use crate::error::ApiError;
use crate::principal::principal;
use crate::service::tracking_status;
use crate::store::StatusStore;
use crate::telemetry::REQUEST_METRICS;

/// The route prefix, used when no path parameter is present (`cargo lambda watch`
/// builds its events without route parameters).
const ROUTE_PREFIX: &str = "/api/tracking/status/";

/// Handles one request. Never fails: every outcome is a response of the contract.
pub async fn handle<S: StatusStore>(store: &S, request: Request) -> Response<Body> {
    let started = Instant::now();
    let calls_before = store.calls_made();
    let raw_program_id = raw_program_id(&request);
    let outcome = respond(store, &request, raw_program_id.as_deref()).await;
    let response = match &outcome {
        Ok(document) => json_response(StatusCode::OK, &Success { data: document }),
        Err(error) => error_response(error),
    };
    // The request's one line, an EMF record (`telemetry::REQUEST_METRICS`) written at any log
    // level: `status_class` is the metrics' dimension, the two numbers their values. The ids
    // come from the event and are bounded, so a hostile event cannot flood the log (API
    // Gateway's request ids are 36 characters).
    let status = response.status().as_u16();
    let status_class = match status {
        200..=299 => "2xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let dynamodb_calls = store.calls_made().saturating_sub(calls_before);
    let request_id = bounded(api_request_id(&request).as_deref().unwrap_or_default(), 64);
    let lambda_request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone());
    let lambda_request_id = bounded(lambda_request_id.as_deref().unwrap_or_default(), 64);
    let program_id = bounded(raw_program_id.as_deref().unwrap_or_default(), 32);
    macro_rules! request_line {
        ($level:expr, $($cause_and_message:tt)+) => {
            tracing::event!(target: REQUEST_METRICS.target, $level, request_id, lambda_request_id,
                program_id, status, status_class, duration_ms, dynamodb_calls, $($cause_and_message)+)
        };
    }
    match &outcome {
        // A corrupt record's cause quotes the stored value: bounded too.
        Err(error) if error.is_internal() => {
            let cause = bounded(&error.to_string(), MAX_CAUSE_CHARS);
            request_line!(Level::ERROR, cause, "request failed")
        }
        _ => request_line!(Level::INFO, "request"),
    }
    response
}

/// Enough of a failure's cause for the SDK's error context, not a whole stored record.
const MAX_CAUSE_CHARS: usize = 1_000;

fn bounded(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// The contract's order of checks: 405, then 401 → 400 (programId, then
/// include) → 404 → 403 → 200.
async fn respond<S: StatusStore>(
    store: &S,
    request: &Request,
    raw_program_id: Option<&str>,
) -> Result<StatusDocument, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let user = principal(request).ok_or(ApiError::Unauthorized)?;
    let program_id = ProgramId::parse(raw_program_id.ok_or(ProgramIdError::Missing)?)?;
    let include = Include::parse(
        request
            .query_string_parameters_ref()
            .and_then(|query| query.all(INCLUDE_PARAMETER))
            .unwrap_or_default(),
    )?;
    tracking_status(store, &user, program_id, include).await
}

/// The `programId` path parameter, or else the last path segment after the route prefix.
fn raw_program_id(request: &Request) -> Option<String> {
    if let Some(value) = request
        .path_parameters_ref()
        .and_then(|params| params.first("programId"))
    {
        return Some(value.to_string());
    }
    let path = request.raw_http_path();
    let path = if path.is_empty() {
        request.uri().path()
    } else {
        path
    };
    path.split_once(ROUTE_PREFIX)
        .map(|(_, rest)| rest.to_string())
}

/// API Gateway's own request id, which ties our log line to its access log.
fn api_request_id(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.request_id.clone(),
        RequestContext::ApiGatewayV2(context) => context.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn error_response(error: &ApiError) -> Response<Body> {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, &error.body());
    if matches!(error, ApiError::MethodNotAllowed) {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET"));
    }
    response
}

/// `{"data": {...}}`
#[derive(Serialize)]
struct Success<'a> {
    data: &'a StatusDocument,
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    // Serializing plain structs of strings, numbers and bools cannot fail.
    let text = serde_json::to_string(body).unwrap_or_default();
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
