//! LOCAL ONLY: a development stand-in for the dashboard's session authorizer.
//!
//! `sam local start-api -t` (the build of) `local/template.yaml` calls it before the
//! tracking-status function, the way API Gateway calls the real one: an HTTP API Lambda
//! authorizer, payload 2.0, simple responses. The real authorizer looks the session up; this one
//! trusts the cookie: `session=<userId>` becomes `{"isAuthorized": true, "context": {"userId":
//! "<userId>"}}`, which API Gateway (and SAM's emulation of it) hands to the function as
//! `requestContext.authorizer.lambda.userId`. No session cookie, or an unusable value, is
//! `{"isAuthorized": false}` (SAM answers 403). The session `session=authorizer-failure` makes it
//! fail (an invocation error), so the checks see what the route answers when the authorizer
//! fails.
//!
//! Because it trusts whatever the caller sends, it refuses everything unless it runs under the
//! SAM CLI's local emulation, told by two things: `AWS_SAM_LOCAL=true`, which `sam local` sets in
//! every container and Lambda never does, and the request context of the event, which must be the
//! fixed one SAM's API Gateway emulator writes (account `123456789012`, API `1234567890`). A
//! deployed copy gets its real account and API ids from API Gateway, so it authorizes no one
//! even with the variable set by mistake.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The cookie that carries the dev session: `session=<userId>`.
const SESSION_COOKIE: &str = "session";
/// Longer values are refused: a DynamoDB sort key (the memberships table's userId) holds at most
/// 1,024 bytes, and the function answers 403 for longer ids anyway.
const MAX_USER_ID_LEN: usize = 1024;
/// The session that makes the authorizer fail instead of deciding (scripts/start-api-requests.py).
const FAILING_SESSION: &str = "authorizer-failure";

/// The account and API ids in the `requestContext` of every event SAM CLI's API Gateway emulator
/// builds: the defaults of `RequestContextV2` in aws-sam-cli's `samcli/local/events/api_event.py`
/// (the same in SAM CLI 1.170, which the scripts install, and in older releases), which
/// `sam local start-api` never overrides. API Gateway puts the real ones there.
const SAM_LOCAL_ACCOUNT_ID: &str = "123456789012";
const SAM_LOCAL_API_ID: &str = "1234567890";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let local = std::env::var("AWS_SAM_LOCAL").is_ok_and(|value| value == "true");
    if !local {
        eprintln!(
            "local-session-authorizer: AWS_SAM_LOCAL is not \"true\": this is not `sam local`, every request is refused"
        );
    }
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        answer(&event.payload, local)
    }))
    .await
}

/// The simple response for one authorizer event; `local`: `AWS_SAM_LOCAL` is `"true"`.
/// The authorizer's response, or an invocation error for the failing session.
fn answer(event: &Value, local: bool) -> Result<Value, Error> {
    if session_user(event).as_deref() == Some(FAILING_SESSION) {
        eprintln!("local-session-authorizer: failing on purpose ({FAILING_SESSION})");
        return Err(format!("{FAILING_SESSION} requested").into());
    }
    Ok(decide(event, local))
}

fn decide(event: &Value, local: bool) -> Value {
    let refused = |why: &str| {
        eprintln!("local-session-authorizer: refused: {why}");
        json!({ "isAuthorized": false })
    };
    if !local {
        return refused("AWS_SAM_LOCAL is not \"true\"");
    }
    if !from_sam_local(event) {
        return refused("the request context is not sam local's (account and API ids)");
    }
    match session_user(event) {
        Some(user_id) => {
            eprintln!("local-session-authorizer: allowed");
            json!({ "isAuthorized": true, "context": { "userId": user_id } })
        }
        None => refused("no usable session cookie"),
    }
}

/// Whether the event carries the request context SAM's emulator writes, not API Gateway's.
fn from_sam_local(event: &Value) -> bool {
    let context = &event["requestContext"];
    context["accountId"] == SAM_LOCAL_ACCOUNT_ID && context["apiId"] == SAM_LOCAL_API_ID
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

    /// The authorizer event SAM CLI 1.170 builds for local/template.yaml's route (GET
    /// /api/tracking/status/42, cookie session=user_owner), made by SAM's own code:
    /// `LocalApigwService._generate_lambda_authorizer_event` under a Flask test request.
    const SAM_LOCAL_EVENT: &str = include_str!("sam-local-event.json");

    /// `fields` over the request context of SAM's event.
    fn sam_event(fields: Value) -> Value {
        let mut event: Value = serde_json::from_str(SAM_LOCAL_EVENT).unwrap();
        let map = event.as_object_mut().unwrap();
        for key in ["cookies", "headers", "identitySource"] {
            map.remove(key);
        }
        for (key, value) in fields.as_object().unwrap() {
            map.insert(key.clone(), value.clone());
        }
        event
    }

    /// SAM's event with a deployed API's request context: another account, another API.
    fn deployed_event() -> Value {
        let mut event: Value = serde_json::from_str(SAM_LOCAL_EVENT).unwrap();
        event["requestContext"]["accountId"] = json!("111122223333");
        event["requestContext"]["apiId"] = json!("a1b2c3d4e5");
        event["requestContext"]["domainName"] =
            json!("a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com");
        event["routeArn"] = json!(
            "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/$default/GET/api/tracking/status/42"
        );
        event
    }

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
    fn sam_locals_event_with_a_session_is_allowed() {
        let event: Value = serde_json::from_str(SAM_LOCAL_EVENT).unwrap();
        assert_eq!(allowed(event).as_deref(), Some("user_owner"));
    }

    #[test]
    fn a_session_cookie_becomes_the_user_id() {
        let from_cookies = sam_event(json!({ "cookies": ["theme=dark", "session=user_owner"] }));
        assert_eq!(allowed(from_cookies).as_deref(), Some("user_owner"));
        let from_header =
            sam_event(json!({ "headers": { "Cookie": "theme=dark; session=user_billing" } }));
        assert_eq!(allowed(from_header).as_deref(), Some("user_billing"));
    }

    #[test]
    fn no_usable_session_is_refused() {
        for event in [
            sam_event(json!({})),
            sam_event(json!({ "cookies": ["theme=dark"] })),
            sam_event(json!({ "cookies": ["session="] })),
            sam_event(json!({ "headers": { "cookie": "sessionx=user_owner" } })),
            sam_event(
                json!({ "cookies": [format!("session={}", "u".repeat(MAX_USER_ID_LEN + 1))] }),
            ),
            json!("not an event"),
        ] {
            assert_eq!(allowed(event), None);
        }
    }

    #[test]
    fn the_failing_session_is_an_error_and_only_it() {
        let failing = sam_event(json!({"cookies": [format!("session={FAILING_SESSION}")]}));
        assert!(answer(&failing, true).is_err());
        let owner = sam_event(json!({"cookies": ["session=user_owner"]}));
        assert_eq!(answer(&owner, true).unwrap(), decide(&owner, true));
    }

    #[test]
    fn outside_sam_local_everyone_is_refused() {
        let event: Value = serde_json::from_str(SAM_LOCAL_EVENT).unwrap();
        assert_eq!(decide(&event, false), json!({ "isAuthorized": false }));
    }

    #[test]
    fn a_deployed_request_context_is_refused_even_with_aws_sam_local() {
        assert_eq!(allowed(deployed_event()), None);
        // either id alone is not enough
        let mut other_account: Value = serde_json::from_str(SAM_LOCAL_EVENT).unwrap();
        other_account["requestContext"]["accountId"] = json!("111122223333");
        assert_eq!(allowed(other_account), None);
        let mut other_api: Value = serde_json::from_str(SAM_LOCAL_EVENT).unwrap();
        other_api["requestContext"]["apiId"] = json!("a1b2c3d4e5");
        assert_eq!(allowed(other_api), None);
        // no request context at all, as the tests above used to send
        assert_eq!(allowed(json!({ "cookies": ["session=user_owner"] })), None);
    }
}
