//! Coverage-guided fuzzing of the invocation path (`kit::invoke`: raw payload
//! -> `lambda_http`'s request -> handler -> response) over the in-memory store, and
//! the replay of the kept corpus that the test command runs.
//!
//! Two targets (`fuzz_targets/`), one property: whatever arrives, the call returns
//! with a response of the contract, or with the runtime's invocation error for a
//! payload `lambda_http` cannot take as an API Gateway event; the handler never panics.
//! - `payload`: raw bytes, taken as the Lambda runtime takes them: bytes that
//!   are not JSON never reach the function (Lambda refuses them at Invoke, and
//!   the runtime would fail to deserialize them first), everything else is
//!   handed to `kit::invoke` as it is.
//! - `event_splice`: structure-aware: one of the events in `events/`, with
//!   arbitrary JSON values, removals and sizes (up to Lambda's 6 MB) spliced in
//!   at arbitrary places, known keys first.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use lambda_http::{Body, Response};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tracking_status::store::memory::MemoryStore;
use tracking_status_dev::kit::{self, EVENTS, InvocationError, check_contract_in_memory};

/// Lambda's limit on a synchronous invocation's request payload.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Keys the function or `lambda_http` read, so that splices land where it matters.
const KNOWN_KEYS: [&str; 35] = [
    "requestContext",
    "authorizer",
    "lambda",
    "userId",
    "principalId",
    "jwt",
    "claims",
    "sub",
    "http",
    "method",
    "path",
    "rawPath",
    "pathParameters",
    "programId",
    "httpMethod",
    "stage",
    "domainName",
    "routeKey",
    "resource",
    "resourcePath",
    "requestId",
    "headers",
    "multiValueHeaders",
    "cookies",
    "body",
    "isBase64Encoded",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "rawQueryString",
    "include",
    "version",
    "stageVariables",
    "host",
    "x-forwarded-proto",
    "elb",
];

/// Sizes at which things have broken: `http::Uri`'s limit and its neighbours.
const EDGE_SIZES: [usize; 6] = [255, 1024, 8192, 65_533, 65_534, 65_535];

fn store() -> &'static MemoryStore {
    static STORE: OnceLock<MemoryStore> = OnceLock::new();
    STORE.get_or_init(kit::example_store)
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
}

/// What an invocation ends in: a response, or the runtime's invocation error.
pub type Outcome = Result<Response<Body>, InvocationError>;

/// Invokes the function with `payload` as Lambda would; `None` when the bytes
/// are not a JSON document (Lambda never delivers those).
pub fn invoke_bytes(payload: &[u8]) -> Option<Outcome> {
    let raw: &RawValue = serde_json::from_slice(payload).ok()?;
    Some(RUNTIME.with(|runtime| {
        runtime.block_on(async {
            // The in-memory store never waits: anything near this is a hang.
            tokio::time::timeout(
                std::time::Duration::from_secs(10),
                kit::invoke(store(), raw.get()),
            )
            .await
            .expect("the invocation hung")
        })
    }))
}

/// The property: a response is the contract's (an invocation error is the runtime's answer
/// to a payload that is no API Gateway event it reads).
pub fn check(outcome: &Outcome) -> Result<(), String> {
    match outcome {
        Ok(response) => check_contract_in_memory(response),
        Err(_) => Ok(()),
    }
}

/// The `payload` target: any bytes.
pub fn fuzz_payload(data: &[u8]) {
    if let Some(outcome) = invoke_bytes(data)
        && let Err(broken) = check(&outcome)
    {
        panic!("not a contract response ({broken}) for {data:?}");
    }
}

/// The `event_splice` target: an event of `events/` with arbitrary splices.
pub fn fuzz_event_splice(data: &[u8]) {
    let Some(payload) = splice(data) else { return };
    let outcome = invoke_bytes(payload.as_bytes()).expect("a spliced event is JSON");
    if let Err(broken) = check(&outcome) {
        panic!("not a contract response ({broken}) for {payload}");
    }
}

#[derive(Debug, Arbitrary)]
struct Splice {
    event: u8,
    edits: Vec<Edit>,
}

#[derive(Debug, Arbitrary)]
enum Edit {
    Set(Vec<Step>, Fill),
    Remove(Vec<Step>),
}

#[derive(Debug, Arbitrary)]
enum Step {
    Known(u8),
    Key(String),
    Index(u8),
}

#[derive(Debug, Arbitrary)]
enum Fill {
    Null,
    Bool(bool),
    Int(i64),
    Unsigned(u64),
    Float(f64),
    Text(String),
    /// Arbitrary text taken as JSON when it is JSON.
    Json(String),
    /// A known key's name as a value (a path, a method, a user id…).
    KnownWord(u8),
    /// `filler` repeated to an edge size or an arbitrary one, up to 6 MB.
    Sized {
        filler: char,
        edge: u8,
        arbitrary: u32,
        prefix: String,
    },
    /// Nested arrays or objects, `depth` deep.
    Nested {
        depth: u16,
        objects: bool,
    },
    Array(Vec<String>),
    Object(Vec<(String, String)>),
}

/// Stands for a nested value in the event until it is serialized: a `Value`
/// nested thousands deep would overflow the harness's own stack when it is
/// serialized or dropped, so deep nesting is spliced in as text.
fn nest_marker(i: usize) -> String {
    format!("\u{1}nested{i}\u{1}")
}

fn nested_text(depth: u16, objects: bool) -> String {
    let (open, close) = if objects {
        (r#"{"userId":"#, "}")
    } else {
        ("[", "]")
    };
    let depth = usize::from(depth);
    format!("{}\"42\"{}", open.repeat(depth), close.repeat(depth))
}

impl Fill {
    /// The value to splice in; deep nesting goes to `nests` (see `nest_marker`).
    fn value(self, nests: &mut Vec<String>) -> Value {
        match self {
            Fill::Null => Value::Null,
            Fill::Bool(b) => Value::from(b),
            Fill::Int(i) => Value::from(i),
            Fill::Unsigned(u) => Value::from(u),
            Fill::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            Fill::Text(text) => Value::from(text),
            Fill::Json(text) => serde_json::from_str(&text).unwrap_or(Value::from(text)),
            Fill::KnownWord(i) => Value::from(known_key(i)),
            Fill::Sized {
                filler,
                edge,
                arbitrary,
                prefix,
            } => {
                let bytes = EDGE_SIZES
                    .get(usize::from(edge))
                    .copied()
                    .unwrap_or(arbitrary as usize % LAMBDA_PAYLOAD_LIMIT);
                let count = bytes.saturating_sub(prefix.len()) / filler.len_utf8();
                let mut text = prefix;
                text.extend(std::iter::repeat_n(filler, count));
                Value::from(text)
            }
            Fill::Nested { depth, objects } => {
                nests.push(nested_text(depth, objects));
                Value::from(nest_marker(nests.len() - 1))
            }
            Fill::Array(items) => Value::Array(items.into_iter().map(Value::from).collect()),
            Fill::Object(pairs) => Value::Object(
                pairs
                    .into_iter()
                    .map(|(key, value)| (key, Value::from(value)))
                    .collect(),
            ),
        }
    }
}

fn known_key(i: u8) -> &'static str {
    KNOWN_KEYS[usize::from(i) % KNOWN_KEYS.len()]
}

/// Follows `steps` from `value`, making the objects and array slots it needs.
fn slot<'v>(mut value: &'v mut Value, steps: &[Step]) -> &'v mut Value {
    // Bounded for the same reason as `nest_marker`: the harness's own stack.
    for step in steps.iter().take(64) {
        value = match step {
            Step::Index(i) => {
                if !value.is_array() {
                    *value = Value::Array(Vec::new());
                }
                let items = value.as_array_mut().expect("made an array above");
                let i = usize::from(*i) % (items.len() + 1);
                if i == items.len() {
                    items.push(Value::Null);
                }
                &mut items[i]
            }
            Step::Known(_) | Step::Key(_) => {
                let key = match step {
                    Step::Key(key) => key.clone(),
                    Step::Known(i) | Step::Index(i) => known_key(*i).to_string(),
                };
                if !value.is_object() {
                    *value = Value::Object(Map::new());
                }
                let fields = value.as_object_mut().expect("made an object above");
                fields.entry(key).or_insert(Value::Null)
            }
        };
    }
    value
}

/// The event a `event_splice` input describes, as the JSON text Lambda would
/// deliver; `None` for inputs that do not describe one, or describe one over
/// Lambda's payload limit.
pub fn splice(data: &[u8]) -> Option<String> {
    let splice = Splice::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    let mut event: Value =
        serde_json::from_str(EVENTS[usize::from(splice.event) % EVENTS.len()].1).ok()?;
    let mut nests = Vec::new();
    for edit in splice.edits {
        match edit {
            Edit::Set(steps, fill) => *slot(&mut event, &steps) = fill.value(&mut nests),
            Edit::Remove(steps) => {
                if let Some((last, parents)) = steps.split_last() {
                    let parent = slot(&mut event, parents);
                    match (parent, last) {
                        (Value::Object(fields), Step::Known(i)) => {
                            fields.remove(known_key(*i));
                        }
                        (Value::Object(fields), Step::Key(key)) => {
                            fields.remove(key);
                        }
                        (Value::Array(items), Step::Index(i)) if !items.is_empty() => {
                            items.remove(usize::from(*i) % items.len());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let mut payload = event.to_string();
    for (i, nest) in nests.iter().enumerate() {
        let marker = Value::from(nest_marker(i)).to_string();
        payload = payload.replacen(&marker, nest, 1);
    }
    (payload.len() <= LAMBDA_PAYLOAD_LIMIT).then_some(payload)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        inputs.sort();
        inputs
    }

    /// The kept corpus of each target, replayed: what the fuzzer found
    /// interesting (and anything it once broke) stays answered by the contract.
    #[test]
    fn the_payload_corpus_gets_contract_responses() {
        let inputs = corpus("payload");
        assert!(inputs.len() >= EVENTS.len(), "{} inputs", inputs.len());
        let mut answered = 0;
        for (name, input) in &inputs {
            if let Some(outcome) = invoke_bytes(input) {
                check(&outcome).unwrap_or_else(|broken| panic!("{name}: {broken}"));
                answered += usize::from(outcome.is_ok());
            }
        }
        println!(
            "payload corpus: {} inputs, {answered} answered",
            inputs.len()
        );
        assert!(answered >= EVENTS.len());
    }

    #[test]
    fn the_event_splice_corpus_gets_contract_responses() {
        let inputs = corpus("event_splice");
        assert!(!inputs.is_empty());
        let mut answered = 0;
        for (name, input) in &inputs {
            if let Some(payload) = splice(input) {
                let outcome = invoke_bytes(payload.as_bytes()).unwrap();
                check(&outcome).unwrap_or_else(|broken| panic!("{name}: {broken}"));
                answered += usize::from(outcome.is_ok());
            }
        }
        println!(
            "event_splice corpus: {} inputs, {answered} answered",
            inputs.len()
        );
        assert!(answered > 0);
    }

    #[test]
    fn every_sample_event_gets_the_status_in_its_name() {
        for (name, event) in EVENTS {
            let response = invoke_bytes(event.as_bytes()).unwrap().unwrap();
            check_contract_in_memory(&response).unwrap();
            assert_eq!(response.status(), kit::expected_status(name), "{name}");
        }
    }

    #[test]
    fn deep_nesting_is_spliced_as_text() {
        let mut nests = Vec::new();
        let mut event: Value = serde_json::from_str(EVENTS[1].1).unwrap();
        let fill = Fill::Nested {
            depth: u16::MAX,
            objects: false,
        };
        event["requestContext"]["authorizer"]["lambda"]["userId"] = fill.value(&mut nests);
        let mut payload = event.to_string();
        payload = payload.replacen(&Value::from(nest_marker(0)).to_string(), &nests[0], 1);
        assert!(payload.contains(&"[".repeat(65_535)));
        // Past serde_json's recursion limit: no event lambda_http reads, so the runtime's error.
        assert!(invoke_bytes(payload.as_bytes()).unwrap().is_err());
    }

    #[test]
    fn an_empty_splice_is_a_sample_event() {
        let payload = splice(&[1]).unwrap();
        let response = invoke_bytes(payload.as_bytes()).unwrap().unwrap();
        assert_eq!(response.status(), 200);
    }
}
