//! Events with one field blown up to a given size: every field that reaches the
//! request conversion or the handler, at the sizes where things break — the
//! edges of `http::Uri`'s 65,534-byte limit, 1 MB, and just under Lambda's 6 MB
//! payload limit. Used in process (`tests/api/hostile.rs`) and against the release
//! binary under the Runtime API stand-in (`tests/api/release_binary.rs`).

use serde_json::{Value, json};

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
    pub expected: u16,
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
    fn field(
        name: &'static str,
        rest: bool,
        prefix: &'static str,
        filler: &'static str,
        expected: u16,
        set: fn(&mut Value, Value),
    ) -> Field {
        Field {
            name,
            rest,
            prefix,
            filler,
            expected,
            set,
        }
    }
    vec![
        // HTTP API (payload 2.0)
        field("http rawPath", false, "/", "a", 200, |e, v| {
            e["rawPath"] = v
        }),
        // percent-encoding triples this one on its way into a URI
        field("http rawPath, non-ASCII", false, "/", "é", 200, |e, v| {
            e["rawPath"] = v
        }),
        field(
            "http rawPath, no path parameter",
            false,
            "/api/tracking/status/",
            "9",
            400,
            |e, v| {
                e["rawPath"] = v;
                e["pathParameters"] = Value::Null;
            },
        ),
        field(
            "http requestContext.http.path",
            false,
            "/",
            "a",
            200,
            |e, v| e["requestContext"]["http"]["path"] = v,
        ),
        field("http routeKey", false, "GET /", "a", 200, |e, v| {
            e["routeKey"] = v
        }),
        field(
            "http requestContext.routeKey",
            false,
            "GET /",
            "a",
            200,
            |e, v| e["requestContext"]["routeKey"] = v,
        ),
        field("http method", false, "GET", "A", 405, |e, v| {
            e["requestContext"]["http"]["method"] = v
        }),
        field("http stage", false, "", "s", 200, |e, v| {
            e["requestContext"]["stage"] = v
        }),
        field("http domainName", false, "", "d", 200, |e, v| {
            e["requestContext"]["domainName"] = v
        }),
        field("http requestId", false, "", "r", 200, |e, v| {
            e["requestContext"]["requestId"] = v
        }),
        field(
            "http pathParameters.programId",
            false,
            "",
            "9",
            400,
            |e, v| e["pathParameters"]["programId"] = v,
        ),
        field(
            "http pathParameters, another key",
            false,
            "",
            "x",
            200,
            |e, v| e["pathParameters"]["other"] = v,
        ),
        field(
            "http authorizer lambda.userId",
            false,
            "",
            "u",
            403,
            |e, v| e["requestContext"]["authorizer"]["lambda"]["userId"] = v,
        ),
        field(
            "http authorizer, another key",
            false,
            "",
            "x",
            200,
            |e, v| e["requestContext"]["authorizer"]["lambda"]["other"] = v,
        ),
        field("http jwt claims.sub", false, "", "u", 403, |e, v| {
            e["requestContext"]["authorizer"] =
                json!({"jwt": {"claims": {"sub": v}, "scopes": []}});
        }),
        field("http rawQueryString", false, "q=", "a", 200, |e, v| {
            e["rawQueryString"] = v
        }),
        field("http queryStringParameters", false, "", "a", 200, |e, v| {
            e["queryStringParameters"] = json!({"q": v})
        }),
        field("http header", false, "", "h", 200, |e, v| {
            e["headers"]["x-big"] = v
        }),
        field("http cookie", false, "session=", "c", 200, |e, v| {
            e["cookies"] = json!([v])
        }),
        field("http body", false, "", "b", 200, |e, v| e["body"] = v),
        // REST API (payload 1.0)
        field("rest path", true, "/", "a", 200, |e, v| e["path"] = v),
        field("rest path, non-ASCII", true, "/", "é", 200, |e, v| {
            e["path"] = v
        }),
        field(
            "rest path, no path parameter",
            true,
            "/api/tracking/status/",
            "9",
            400,
            |e, v| {
                e["path"] = v;
                e["pathParameters"] = Value::Null;
            },
        ),
        field("rest resource", true, "/", "a", 200, |e, v| {
            e["resource"] = v
        }),
        field("rest requestContext.path", true, "/", "a", 200, |e, v| {
            e["requestContext"]["path"] = v
        }),
        field(
            "rest requestContext.resourcePath",
            true,
            "/",
            "a",
            200,
            |e, v| e["requestContext"]["resourcePath"] = v,
        ),
        field("rest httpMethod", true, "GET", "A", 405, |e, v| {
            e["httpMethod"] = v
        }),
        field("rest stage", true, "", "s", 200, |e, v| {
            e["requestContext"]["stage"] = v
        }),
        field("rest domainName", true, "", "d", 200, |e, v| {
            e["requestContext"]["domainName"] = v
        }),
        field("rest requestId", true, "", "r", 200, |e, v| {
            e["requestContext"]["requestId"] = v
        }),
        field(
            "rest pathParameters.programId",
            true,
            "",
            "9",
            400,
            |e, v| e["pathParameters"]["programId"] = v,
        ),
        field("rest authorizer userId", true, "", "u", 403, |e, v| {
            e["requestContext"]["authorizer"]["userId"] = v
        }),
        field("rest authorizer principalId", true, "", "u", 403, |e, v| {
            e["requestContext"]["authorizer"] = json!({"principalId": v});
        }),
        field("rest queryStringParameters", true, "", "a", 200, |e, v| {
            e["queryStringParameters"] = json!({"q": v})
        }),
        field(
            "rest multiValueQueryStringParameters",
            true,
            "",
            "a",
            200,
            |e, v| {
                e["multiValueQueryStringParameters"] = json!({"q": [v]});
            },
        ),
        field("rest header", true, "", "h", 200, |e, v| {
            e["headers"]["X-Big"] = v
        }),
        field("rest multiValueHeaders", true, "", "h", 200, |e, v| {
            e["multiValueHeaders"]["X-Big"] = json!([v])
        }),
        field("rest body", true, "", "b", 200, |e, v| e["body"] = v),
    ]
}

fn base(rest: bool) -> Value {
    let text = if rest {
        include_str!("../../events/rest-200-member.json")
    } else {
        include_str!("../../events/http-200-member.json")
    };
    serde_json::from_str(text).unwrap()
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
                name: format!("{} of {bytes} bytes", field.name),
                payload,
                expected: field.expected,
            });
        }
    }
    cases
}
