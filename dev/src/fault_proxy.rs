//! A fault-injecting HTTP proxy between the SDK and DynamoDB Local, on loopback.
//! It forwards each request unchanged, or plays the fault it is set to.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Forward every request.
    None,
    /// Accept the connection, then close it without an answer.
    Unreachable,
    /// Hold every request this long before forwarding it.
    Slow(Duration),
    /// Answer with DynamoDB's error of this `__type`, and this HTTP status.
    Error {
        status: u16,
        error_type: &'static str,
    },
    /// Answer the requests of one DynamoDB operation (`BatchWriteItem`: the request's
    /// `X-Amz-Target` names it) with `Error`'s answer; forward every other request.
    ErrorOn {
        operation: &'static str,
        status: u16,
        error_type: &'static str,
    },
    /// Forward, then replace `from` with `to` in the response body.
    Rewrite { from: String, to: String },
    /// Each `(from, to)` replacement, in the first response that holds the
    /// first pair's `from` only; then `None`.
    RewriteOnce(Vec<(String, String)>),
}

pub const THROUGHPUT_EXCEEDED: &str =
    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";
pub const THROTTLING: &str = "com.amazon.coral.availability#ThrottlingException";
pub const INTERNAL_SERVER_ERROR: &str = "com.amazonaws.dynamodb.v20120810#InternalServerError";
/// Not retried by the SDK: the call fails at once.
pub const VALIDATION: &str = "com.amazon.coral.validate#ValidationException";

#[derive(Clone)]
pub struct FaultProxy {
    endpoint: String,
    state: Arc<State>,
}

/// What the connections share: the fault in force, and what they observed.
#[derive(Default)]
struct State {
    fault: Mutex<Option<Fault>>,
    /// Ask DynamoDB for `ReturnConsumedCapacity: TOTAL` on every request.
    measure_capacity: AtomicBool,
    requests: AtomicU64,
    /// Consumed capacity units reported by DynamoDB, in millionths.
    capacity_micro_units: AtomicU64,
}

impl State {
    fn fault(&self) -> Fault {
        self.fault.lock().unwrap().clone().unwrap_or(Fault::None)
    }
}

impl FaultProxy {
    /// Starts the proxy on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream.clone(), shared.clone()));
            }
        });
        FaultProxy { endpoint, state }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn set(&self, fault: Fault) {
        *self.state.fault.lock().unwrap() = Some(fault);
    }

    /// The fault in force (`RewriteOnce` turns itself into `None`).
    pub fn fault(&self) -> Fault {
        self.state.fault()
    }

    /// From now on, asks DynamoDB to report the capacity each request consumes.
    pub fn measure_capacity(&self) {
        self.state.measure_capacity.store(true, Ordering::Relaxed);
    }

    /// (requests seen, capacity units consumed) since the last reset.
    pub fn observed(&self) -> (u64, f64) {
        let micro = self.state.capacity_micro_units.load(Ordering::Relaxed);
        (
            self.state.requests.load(Ordering::Relaxed),
            micro as f64 / 1e6,
        )
    }

    pub fn reset_observed(&self) {
        self.state.requests.store(0, Ordering::Relaxed);
        self.state.capacity_micro_units.store(0, Ordering::Relaxed);
    }
}

/// One client connection: requests in order, each answered before the next (HTTP/1.1 keep-alive).
async fn serve(mut client: TcpStream, upstream: String, state: Arc<State>) {
    loop {
        let Some(mut request) = read_message(&mut client).await else {
            return;
        };
        state.requests.fetch_add(1, Ordering::Relaxed);
        let measure = state.measure_capacity.load(Ordering::Relaxed);
        if measure {
            request = with_consumed_capacity(&request);
        }
        let response = match state.fault() {
            Fault::None => forward(&upstream, &request).await,
            Fault::Unreachable => return,
            Fault::Slow(delay) => {
                tokio::time::sleep(delay).await;
                forward(&upstream, &request).await
            }
            Fault::Error { status, error_type } => Some(error_response(status, error_type)),
            Fault::ErrorOn {
                operation,
                status,
                error_type,
            } => {
                let target =
                    format!("x-amz-target: dynamodb_20120810.{operation}\r\n").to_ascii_lowercase();
                let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
                if head.contains(&target) {
                    Some(error_response(status, error_type))
                } else {
                    forward(&upstream, &request).await
                }
            }
            Fault::Rewrite { from, to } => forward(&upstream, &request)
                .await
                .map(|r| rewrite(&r, &from, &to)),
            Fault::RewriteOnce(pairs) => forward(&upstream, &request).await.map(|response| {
                let Some((first, _)) = pairs.first() else {
                    return response;
                };
                if find(&response, first.as_bytes()).is_none() {
                    return response;
                }
                *state.fault.lock().unwrap() = Some(Fault::None);
                pairs.iter().fold(response, |response, (from, to)| {
                    rewrite(&response, from, to)
                })
            }),
        };
        if let Some(units) = response
            .as_deref()
            .filter(|_| measure)
            .and_then(consumed_capacity)
        {
            state
                .capacity_micro_units
                .fetch_add((units * 1e6).round() as u64, Ordering::Relaxed);
        }
        let Some(response) = response else {
            return;
        };
        if client.write_all(&response).await.is_err() {
            return;
        }
    }
}

async fn forward(upstream: &str, request: &[u8]) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await.ok()?;
    server.write_all(request).await.ok()?;
    read_message(&mut server).await
}

fn error_response(status: u16, error_type: &str) -> Vec<u8> {
    let body = format!(r#"{{"__type":"{error_type}","message":"injected fault"}}"#);
    format!(
        "HTTP/1.1 {status} Fault\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: FAULT\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Replaces text in a response body, fixing its length and dropping its checksum.
fn rewrite(response: &[u8], from: &str, to: &str) -> Vec<u8> {
    let split = find(response, b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&response[..split]);
    let body = String::from_utf8_lossy(&response[split..]).replace(from, to);
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-length:") || lower.starts_with("x-amz-crc32:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    out.push_str(&body);
    out.into_bytes()
}

/// Adds `"ReturnConsumedCapacity":"TOTAL"` to a DynamoDB JSON request. DynamoDB
/// Local does not check signatures, so the body may change.
fn with_consumed_capacity(request: &[u8]) -> Vec<u8> {
    let Some(split) = find(request, b"\r\n\r\n").map(|at| at + 4) else {
        return request.to_vec();
    };
    let Ok(serde_json::Value::Object(mut body)) = serde_json::from_slice(&request[split..]) else {
        return request.to_vec();
    };
    body.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
    let body = serde_json::Value::Object(body).to_string();
    let head = String::from_utf8_lossy(&request[..split]);
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("content-length:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// `ConsumedCapacity.CapacityUnits` of a DynamoDB JSON response, if reported.
fn consumed_capacity(response: &[u8]) -> Option<f64> {
    let split = find(response, b"\r\n\r\n")? + 4;
    let body: serde_json::Value = serde_json::from_slice(&response[split..]).ok()?;
    match &body["ConsumedCapacity"] {
        // BatchGetItem reports one entry per table.
        serde_json::Value::Array(tables) => Some(
            tables
                .iter()
                .filter_map(|table| table["CapacityUnits"].as_f64())
                .sum(),
        ),
        single => single["CapacityUnits"].as_f64(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP/1.1 message (head and a Content-Length or chunked body), raw.
async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Vec<u8>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = find(&buffer, b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(length) => {
            while buffer.len() < head_end + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
        }
        None if head.contains("transfer-encoding: chunked") => {
            // the last chunk is "0\r\n\r\n"
            while !buffer[head_end..].ends_with(b"0\r\n\r\n") {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
        }
        None => {}
    }
    Some(buffer)
}
