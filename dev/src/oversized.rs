//! Events with one field blown up to a given size: every field that reaches the
//! request conversion or the handler, at the sizes where things break — the
//! edges of `http::Uri`'s 65,534-byte limit, 1 MB, and just under Lambda's 6 MB
//! payload limit. Used in process (`tests/api/hostile.rs`) and against the release
//! binary under the Runtime API stand-in (`tests/api/release_binary.rs`).

use serde_json::{Value, json};

use crate::kit;

/// Lambda's limit on a synchronous invocation's request payload.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// A field's size in bytes; `JustUnderLimit` makes the whole payload just
/// under `LAMBDA_PAYLOAD_LIMIT`.
#[derive(Debug, Clone, Copy)]
pub enum Size {
    Bytes(usize),
    JustUnderLimit,
}

pub const SIZES: [Size; 5] = [
    Size::Bytes(65_533),
    Size::Bytes(65_534),
    Size::Bytes(65_535),
    Size::Bytes(1 << 20),
    Size::JustUnderLimit,
];

pub struct Case {
    pub name: String,
    pub payload: String,
    /// The contract's status for it, when it is answered with a response.
    pub expected: u16,
    /// Whether API Gateway can send it: only a body may be this large (an HTTP API takes at
    /// most 10,240 bytes of request line and headers together). The others may end as the
    /// runtime's invocation error instead (docs/architecture.md, "Panics and unreadable events").
    pub gateway_can_send: bool,
}

/// How a field is filled: a prefix, then a repeated filler up to the size.
struct Field {
    name: &'static str,
    rest: bool,
    prefix: &'static str,
    filler: &'static str,
    expected: u16,
    set: fn(&mut Value, Value),
}

fn fields() -> Vec<Field> {
    type Set = fn(&mut Value, Value);
    let field = |rest, name, prefix, filler, expected, set: Set| Field {
        name,
        rest,
        prefix,
        filler,
        expected,
        set,
    };
    let http = |name, prefix, filler, expected, set| {
        vec![field(false, name, prefix, filler, expected, set)]
    };
    let rest = |name, prefix, filler, expected, set| {
        vec![field(true, name, prefix, filler, expected, set)]
    };
    // At the same place in both payload versions.
    let both = |name, prefix, filler, expected, set| {
        vec![
            field(false, name, prefix, filler, expected, set),
            field(true, name, prefix, filler, expected, set),
        ]
    };
    [
        // HTTP API (payload 2.0)
        http("rawPath", "/", "a", 200, |e, v| e["rawPath"] = v),
        // percent-encoding triples this one on its way into a URI
        http("rawPath, non-ASCII", "/", "é", 200, |e, v| {
            e["rawPath"] = v
        }),
        http(
            "rawPath, no path parameter",
            "/api/tracking/status/",
            "9",
            400,
            |e, v| {
                e["rawPath"] = v;
                e["pathParameters"] = Value::Null;
            },
        ),
        http("requestContext.http.path", "/", "a", 200, |e, v| {
            e["requestContext"]["http"]["path"] = v
        }),
        http("routeKey", "GET /", "a", 200, |e, v| e["routeKey"] = v),
        http("requestContext.routeKey", "GET /", "a", 200, |e, v| {
            e["requestContext"]["routeKey"] = v
        }),
        http("method", "GET", "A", 405, |e, v| {
            e["requestContext"]["http"]["method"] = v
        }),
        both("stage", "", "s", 200, |e, v| {
            e["requestContext"]["stage"] = v
        }),
        both("domainName", "", "d", 200, |e, v| {
            e["requestContext"]["domainName"] = v
        }),
        both("requestId", "", "r", 200, |e, v| {
            e["requestContext"]["requestId"] = v
        }),
        both("pathParameters.programId", "", "9", 400, |e, v| {
            e["pathParameters"]["programId"] = v
        }),
        http("pathParameters, another key", "", "x", 200, |e, v| {
            e["pathParameters"]["other"] = v
        }),
        http("authorizer lambda.userId", "", "u", 404, |e, v| {
            e["requestContext"]["authorizer"]["lambda"]["userId"] = v
        }),
        http("authorizer, another key", "", "x", 200, |e, v| {
            e["requestContext"]["authorizer"]["lambda"]["other"] = v
        }),
        http("jwt claims.sub", "", "u", 404, |e, v| {
            e["requestContext"]["authorizer"] =
                json!({"jwt": {"claims": {"sub": v}, "scopes": []}});
        }),
        http("rawQueryString", "q=", "a", 200, |e, v| {
            e["rawQueryString"] = v
        }),
        both("queryStringParameters", "", "a", 200, |e, v| {
            e["queryStringParameters"] = json!({"q": v})
        }),
        // `include` is read: empty items and repeats at any size are nothing
        // (the seed's document), any other item a 400.
        http(
            "rawQueryString include, empty items",
            "include=",
            ",",
            200,
            |e, v| e["rawQueryString"] = v,
        ),
        http(
            "rawQueryString include, repeated",
            "include=nextSteps",
            "&include=nextSteps",
            200,
            |e, v| e["rawQueryString"] = v,
        ),
        http(
            "rawQueryString include, unknown",
            "include=",
            "a",
            400,
            |e, v| e["rawQueryString"] = v,
        ),
        http("header", "", "h", 200, |e, v| e["headers"]["x-big"] = v),
        http("cookie", "session=", "c", 200, |e, v| {
            e["cookies"] = json!([v])
        }),
        both("body", "", "b", 200, |e, v| e["body"] = v),
        // REST API (payload 1.0)
        rest("path", "/", "a", 200, |e, v| e["path"] = v),
        rest("path, non-ASCII", "/", "é", 200, |e, v| e["path"] = v),
        rest(
            "path, no path parameter",
            "/api/tracking/status/",
            "9",
            400,
            |e, v| {
                e["path"] = v;
                e["pathParameters"] = Value::Null;
            },
        ),
        rest("resource", "/", "a", 200, |e, v| e["resource"] = v),
        rest("requestContext.path", "/", "a", 200, |e, v| {
            e["requestContext"]["path"] = v
        }),
        rest("requestContext.resourcePath", "/", "a", 200, |e, v| {
            e["requestContext"]["resourcePath"] = v
        }),
        rest("httpMethod", "GET", "A", 405, |e, v| e["httpMethod"] = v),
        rest("authorizer userId", "", "u", 404, |e, v| {
            e["requestContext"]["authorizer"]["userId"] = v
        }),
        rest("authorizer principalId", "", "u", 404, |e, v| {
            e["requestContext"]["authorizer"] = json!({"principalId": v});
        }),
        rest("multiValueQueryStringParameters", "", "a", 200, |e, v| {
            e["multiValueQueryStringParameters"] = json!({"q": [v]});
        }),
        rest(
            "multiValueQueryStringParameters include, repeated",
            "nextSteps",
            ",nextSteps",
            200,
            |e, v| e["multiValueQueryStringParameters"] = json!({"include": [v]}),
        ),
        rest(
            "multiValueQueryStringParameters include, unknown",
            "",
            "a",
            400,
            |e, v| e["multiValueQueryStringParameters"] = json!({"include": ["nextSteps", v]}),
        ),
        rest(
            "queryStringParameters include, empty items",
            "",
            ",",
            200,
            |e, v| e["queryStringParameters"] = json!({"include": v}),
        ),
        rest("header", "", "h", 200, |e, v| e["headers"]["X-Big"] = v),
        rest("multiValueHeaders", "", "h", 200, |e, v| {
            e["multiValueHeaders"]["X-Big"] = json!([v])
        }),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn base(rest: bool) -> Value {
    kit::event_json(if rest {
        "rest-200-member"
    } else {
        "http-200-member"
    })
}

/// A string of `prefix` then `filler` repeated, of at most `bytes` bytes.
fn filled(prefix: &str, filler: &str, bytes: usize) -> String {
    let count = bytes.saturating_sub(prefix.len()) / filler.len();
    let mut text = String::with_capacity(bytes);
    text.push_str(prefix);
    text.push_str(&filler.repeat(count));
    text
}

/// Every field at every size, each with the status it must get.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for field in fields() {
        for size in SIZES {
            let mut event = base(field.rest);
            let bytes = match size {
                Size::Bytes(bytes) => bytes,
                Size::JustUnderLimit => {
                    // Measure the event with an empty field, then fill what is left.
                    (field.set)(&mut event, Value::from(field.prefix));
                    let used = event.to_string().len();
                    LAMBDA_PAYLOAD_LIMIT - used - 16 + field.prefix.len()
                }
            };
            (field.set)(
                &mut event,
                Value::from(filled(field.prefix, field.filler, bytes)),
            );
            let payload = event.to_string();
            assert!(payload.len() < LAMBDA_PAYLOAD_LIMIT, "{}", field.name);
            cases.push(Case {
                name: format!(
                    "{} {} of {bytes} bytes",
                    if field.rest { "rest" } else { "http" },
                    field.name
                ),
                payload,
                expected: field.expected,
                gateway_can_send: field.name == "body",
            });
        }
    }
    cases
}
