//! LOCAL ONLY: a development stand-in for the dashboard's session authorizer.
//!
//! `sam local start-api -t` (the build of) `local/template.yaml` calls it before the
//! tracking-status function, the way API Gateway calls the real one: an HTTP API Lambda
//! authorizer, payload 2.0, simple responses. The real authorizer looks the session up; this one
//! trusts the cookie: `session=<userId>` becomes `{"isAuthorized": true, "context": {"userId":
//! "<userId>"}}`, which API Gateway (and SAM's emulation of it) hands to the function as
//! `requestContext.authorizer.lambda.userId`. No session cookie, or an unusable value, is
//! `{"isAuthorized": false}` (SAM answers 403).
//!
//! Because it trusts whatever the caller sends, it refuses everything unless it runs under the
//! SAM CLI's local emulation (`AWS_SAM_LOCAL=true`, which `sam local` sets in every container and
//! Lambda never does): deployed by mistake, it authorizes no one.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The cookie that carries the dev session: `session=<userId>`.
const SESSION_COOKIE: &str = "session";
/// Longer values are refused: a DynamoDB sort key (the memberships table's userId) holds at most
/// 1,024 bytes, and the function answers 403 for longer ids anyway.
const MAX_USER_ID_LEN: usize = 1024;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let local = std::env::var("AWS_SAM_LOCAL").is_ok_and(|value| value == "true");
    if !local {
        eprintln!(
            "local-session-authorizer: AWS_SAM_LOCAL is not \"true\": this is not `sam local`, every request is refused"
        );
    }
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(decide(&event.payload, local))
    }))
    .await
}

/// The simple response for one authorizer event.
fn decide(event: &Value, local: bool) -> Value {
    match session_user(event) {
        Some(user_id) if local => {
            eprintln!("local-session-authorizer: allowed");
            json!({ "isAuthorized": true, "context": { "userId": user_id } })
        }
        _ => {
            eprintln!("local-session-authorizer: refused");
            json!({ "isAuthorized": false })
        }
    }
}

/// The userId of the request's `session` cookie, if it has a usable one.
///
/// Payload 2.0 events carry the cookies in `cookies` (one `name=value` per entry); the Cookie
/// header (`headers.cookie`, the identity source) is read too, as SAM's emulation and API Gateway
/// both send it.
fn session_user(event: &Value) -> Option<String> {
    let from_array = event
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned);
    let from_header = event
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
        .filter_map(|(_, value)| value.as_str())
        .flat_map(|header| header.split(';').map(str::to_owned).collect::<Vec<_>>());
    from_array
        .chain(from_header)
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name.trim() == SESSION_COOKIE).then(|| value.trim().to_owned())
        })
        .find(|value| usable(value))
}

fn usable(user_id: &str) -> bool {
    !user_id.is_empty()
        && user_id.len() <= MAX_USER_ID_LEN
        && user_id
            .chars()
            .all(|c| c.is_ascii_graphic() && c != ',' && c != ';')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(event: Value) -> Option<String> {
        let response = decide(&event, true);
        if response["isAuthorized"] == json!(true) {
            Some(response["context"]["userId"].as_str().unwrap().to_owned())
        } else {
            assert_eq!(response, json!({ "isAuthorized": false }));
            None
        }
    }

    #[test]
    fn a_session_cookie_becomes_the_user_id() {
        let from_cookies = json!({ "cookies": ["theme=dark", "session=user_owner"] });
        assert_eq!(allowed(from_cookies).as_deref(), Some("user_owner"));
        let from_header = json!({ "headers": { "Cookie": "theme=dark; session=user_billing" } });
        assert_eq!(allowed(from_header).as_deref(), Some("user_billing"));
    }

    #[test]
    fn no_usable_session_is_refused() {
        for event in [
            json!({}),
            json!({ "cookies": ["theme=dark"] }),
            json!({ "cookies": ["session="] }),
            json!({ "headers": { "cookie": "sessionx=user_owner" } }),
            json!({ "cookies": [format!("session={}", "u".repeat(MAX_USER_ID_LEN + 1))] }),
            json!("not an event"),
        ] {
            assert_eq!(allowed(event), None);
        }
    }

    #[test]
    fn outside_sam_local_everyone_is_refused() {
        let event = json!({ "cookies": ["session=user_owner"] });
        assert_eq!(decide(&event, false), json!({ "isAuthorized": false }));
    }
}
