//! Who is calling: the user id that the dashboard's session authorizer put in
//! the request context. Headers, cookies, query strings and bodies are never read.

use std::fmt;

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

/// The session-authorized user id, as the decimal or plain string memberships are keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A user id value as the authorizer may send it: a non-empty string, or an
    /// integer taken as its decimal string. Anything else is no user id.
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) if !s.is_empty() => Some(UserId(s.clone())),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(UserId(n.to_string())),
            _ => None,
        }
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads the principal of the three authorizer shapes of the contract:
/// - REST API, Lambda authorizer: `authorizer.userId`, else `authorizer.principalId`;
/// - HTTP API, Lambda authorizer: `authorizer.lambda.userId`;
/// - HTTP API, JWT authorizer: `authorizer.jwt.claims.sub`.
///
/// A key that is present but holds no valid user id fails closed: it is not
/// replaced by a fallback key.
pub fn principal(request: &Request) -> Option<UserId> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => {
            let fields = &context.authorizer.fields;
            first_present(&[fields.get("userId"), fields.get("principalId")])
        }
        RequestContext::ApiGatewayV2(context) => {
            let authorizer = context.authorizer.as_ref()?;
            let from_lambda = authorizer.fields.get("userId");
            let from_jwt = authorizer
                .jwt
                .as_ref()
                .and_then(|jwt| jwt.claims.get("sub"))
                .map(|sub| Value::String(sub.clone()));
            first_present(&[from_lambda, from_jwt.as_ref()])
        }
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The first key that is present and not null decides; it must hold a valid id.
fn first_present(candidates: &[Option<&Value>]) -> Option<UserId> {
    let value = candidates.iter().flatten().find(|value| !value.is_null())?;
    UserId::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rest_event(authorizer: Value) -> Request {
        let event = json!({
            "resource": "/api/tracking/status/{programId}",
            "path": "/api/tracking/status/42",
            "httpMethod": "GET",
            "headers": {},
            "multiValueHeaders": {},
            "pathParameters": {"programId": "42"},
            "requestContext": {
                "accountId": "123456789012",
                "resourceId": "abc",
                "stage": "prod",
                "requestId": "req-1",
                "httpMethod": "GET",
                "path": "/prod/api/tracking/status/42",
                "resourcePath": "/api/tracking/status/{programId}",
                "identity": {"sourceIp": "203.0.113.1"},
                "authorizer": authorizer
            },
            "body": null,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("a REST API event")
    }

    fn http_event(authorizer: Value) -> Request {
        let event = json!({
            "version": "2.0",
            "routeKey": "GET /api/tracking/status/{programId}",
            "rawPath": "/api/tracking/status/42",
            "rawQueryString": "",
            "headers": {},
            "pathParameters": {"programId": "42"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "example.com",
                "domainPrefix": "example",
                "http": {"method": "GET", "path": "/api/tracking/status/42", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "test"},
                "requestId": "req-2",
                "routeKey": "GET /api/tracking/status/{programId}",
                "stage": "$default",
                "time": "07/Jun/2026:10:23:45 +0000",
                "timeEpoch": 1780827825000u64,
                "authorizer": authorizer
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("an HTTP API event")
    }

    fn id(s: &str) -> Option<UserId> {
        Some(UserId(s.to_string()))
    }

    #[test]
    fn rest_api_lambda_authorizer() {
        let cases = [
            (json!({"userId": "user_dev"}), id("user_dev")),
            (json!({"userId": 1234}), id("1234")),
            (json!({"userId": -7}), id("-7")),
            (json!({"principalId": "user_owner"}), id("user_owner")),
            (json!({"principalId": 99}), id("99")),
            (
                json!({"userId": "user_dev", "principalId": "user_owner"}),
                id("user_dev"),
            ),
            (
                json!({"userId": null, "principalId": "user_owner"}),
                id("user_owner"),
            ),
            // present but unusable: fail closed rather than fall back
            (json!({"userId": "", "principalId": "user_owner"}), None),
            (json!({"userId": ""}), None),
            (json!({"userId": true}), None),
            (json!({"userId": 1.5}), None),
            (json!({"userId": 1e300}), None),
            (json!({"userId": ["user_dev"]}), None),
            (json!({"userId": {"id": "user_dev"}}), None),
            (json!({"principalId": ""}), None),
            (json!({}), None),
            (json!(null), None),
        ];
        for (authorizer, expected) in cases {
            assert_eq!(
                principal(&rest_event(authorizer.clone())),
                expected,
                "{authorizer}"
            );
        }
    }

    #[test]
    fn http_api_lambda_authorizer() {
        let cases = [
            (json!({"lambda": {"userId": "user_dev"}}), id("user_dev")),
            (
                json!({"lambda": {"userId": 18446744073709551615u64}}),
                id("18446744073709551615"),
            ),
            (json!({"lambda": {"userId": ""}}), None),
            (json!({"lambda": {"userId": false}}), None),
            (json!({"lambda": {"userId": 4.2}}), None),
            (json!({"lambda": {"userId": []}}), None),
            (json!({"lambda": {"principalId": "user_dev"}}), None),
            (json!({"lambda": {}}), None),
            (json!({"lambda": null}), None),
            (json!({}), None),
        ];
        for (authorizer, expected) in cases {
            assert_eq!(
                principal(&http_event(authorizer.clone())),
                expected,
                "{authorizer}"
            );
        }
    }

    #[test]
    fn http_api_jwt_authorizer() {
        let cases = [
            (
                json!({"jwt": {"claims": {"sub": "user_dev"}, "scopes": null}}),
                id("user_dev"),
            ),
            (
                json!({"jwt": {"claims": {"sub": "12345"}, "scopes": []}}),
                id("12345"),
            ),
            (json!({"jwt": {"claims": {"sub": ""}}}), None),
            (json!({"jwt": {"claims": {"email": "a@example.com"}}}), None),
            (json!({"jwt": {"claims": {}}}), None),
            (json!({"jwt": {"claims": null}}), None),
        ];
        for (authorizer, expected) in cases {
            assert_eq!(
                principal(&http_event(authorizer.clone())),
                expected,
                "{authorizer}"
            );
        }
    }

    #[test]
    fn no_authorizer_no_principal() {
        let mut without = http_event(json!(null));
        assert_eq!(principal(&without), None);
        // a request with no context at all (a hand-built one) is not a panic
        without.extensions_mut().clear();
        assert_eq!(principal(&without), None);
    }

    #[test]
    fn headers_and_query_never_establish_identity() {
        let mut request = http_event(json!({}));
        request
            .headers_mut()
            .insert("authorization", "Bearer user_owner".parse().unwrap());
        request.headers_mut().insert(
            "cookie",
            "session=user_owner; userId=user_owner".parse().unwrap(),
        );
        let query =
            ["userId", "principalId", "sub"].map(|key| (key.to_string(), "user_owner".to_string()));
        let request = request.with_query_string_parameters(std::collections::HashMap::from(query));
        assert!(
            request
                .query_string_parameters_ref()
                .is_some_and(|q| q.first("userId").is_some())
        );
        assert_eq!(principal(&request), None);
    }
}
