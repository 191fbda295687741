//! The benchmark driver of `scripts/bench.sh` (not a test: it reports, it does not judge).
//! An example rather than a `cargo bench` target so that it builds with the
//! release profile and shares its artifacts.
//!
//! It runs release binaries the way Lambda does — a stand-in for the Lambda
//! Runtime API on loopback hands them events — against DynamoDB Local loaded
//! with a realistic fixture, and prints medians and ratios measured side by
//! side in one run. Inputs come from the environment (`scripts/bench.sh` sets them):
//!
//! - `BENCH_FUNCTION`, `BENCH_HELLO`: the release binaries of tracking-status and examples/hello;
//! - `BENCH_DYNAMODB`: the DynamoDB Local endpoint; the benchmark loads its fixture
//!   (`bench_dataset`) there itself, in tables named by `TableNames::with_prefix(BENCH_PREFIX)`;
//! - `BENCH_COLD_RUNS` (default 20), `BENCH_WARM_RUNS` (default 1000), `BENCH_DELAY_MS` (25);
//! - `BENCH_EXTRA_ENV="K=V ..."`: more environment for the function processes;
//! - `BENCH_FUNCTION_LOG=path`: keep the functions' logs there instead of discarding them.
//! - `BENCH_STORE_WARMUP` (10000): discarded invocations that warm DynamoDB Local's JVM first;
//! - `BENCH_COLD_ONLY=1`: only the cold starts (plain HTTP and TLS) and the store's floor.
//! - `BENCH_CPU_SHARE` (`1`): the table under each memory size's CPU share after the rest
//!   (`cpu_share_table`), `only` for the table alone, `0` without it; with `BENCH_SIZES`
//!   (`128,256,384,512,768,1024,1769`), `BENCH_CFS_PERIOD_US` (20000), `BENCH_SHARE_COLD_RUNS`
//!   (10), `BENCH_SHARE_WARM_RUNS` (500), `BENCH_P99_BOUND_MS` (20), and `BENCH_FUNCTION_B`:
//!   another build of the function, run beside it in every row (side-by-side comparisons).

// The restriction lints Cargo.toml denies (unwrap, expect, panic, indexing)
// are for the function's code; a benchmark driver stops on what it cannot measure.
#![allow(clippy::restriction)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tracking_status::config::TableNames;
use tracking_status::domain::Timestamp;
use tracking_status::store::memory::MemoryStore;
use tracking_status::store::records::{Dataset, EventRecord};
use tracking_status_dev::fault_proxy::{Fault, FaultProxy};
use tracking_status_dev::kit::TableList;
use tracking_status_dev::runtime_api::{Answer, Function, RuntimeApi};
use tracking_status_dev::{kit, localhost_tls};

const EVENT: &str = include_str!("../events/http-200-member.json");
/// The same request with `include=nextSteps`.
const EVENT_NEXT_STEPS: &str = include_str!("../events/http-200-next-steps.json");

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/bench.sh"))
}

/// The environment of every function process the benchmark starts: its
/// DynamoDB endpoint, the tables under `BENCH_PREFIX`, `extra`, then
/// `BENCH_EXTRA_ENV` on top.
fn function_env(dynamodb: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![(
        "AWS_ENDPOINT_URL_DYNAMODB".to_string(),
        dynamodb.to_string(),
    )];
    env.extend(tracking_status_dev::kit::table_env(
        &TableNames::with_prefix(BENCH_PREFIX),
    ));
    for (key, value) in extra {
        env.push((key.to_string(), value.to_string()));
    }
    // BENCH_EXTRA_ENV="K=V K2=V2": more environment for every function process (experiments).
    for pair in std::env::var("BENCH_EXTRA_ENV")
        .unwrap_or_default()
        .split_whitespace()
    {
        if let Some((key, value)) = pair.split_once('=') {
            env.push((key.to_string(), value.to_string()));
        }
    }
    env
}

/// `BENCH_FUNCTION_LOG`: where the functions' output goes, if anywhere.
fn function_log() -> Option<std::path::PathBuf> {
    std::env::var_os("BENCH_FUNCTION_LOG").map(std::path::PathBuf::from)
}

/// Starts a function process the way the benchmark runs them (`function_env`),
/// logs to `BENCH_FUNCTION_LOG` if set.
fn spawn_with(
    binary: &str,
    api: Arc<RuntimeApi>,
    dynamodb: &str,
    extra: &[(&str, &str)],
) -> Function {
    let env = function_env(dynamodb, extra);
    Function::spawn_with(binary, api, &env, function_log().as_deref())
}

async fn spawn(binary: &str, dynamodb: &str, extra: &[(&str, &str)]) -> Function {
    spawn_with(binary, RuntimeApi::start().await, dynamodb, extra)
}

/// Whether `binary` is the hello world, whose answers are not the status's.
fn is_hello(binary: &str) -> bool {
    binary.ends_with("hello")
}

fn assert_ok(answer: &Answer) {
    assert!(
        !answer.error,
        "the function reported an error: {}",
        answer.body
    );
    let response: Value = serde_json::from_str(&answer.body).expect("a JSON response");
    let status = response["statusCode"].as_u64().unwrap_or(0);
    assert!(status == 200, "expected a 200, got {}", answer.body);
}

// ---------------------------------------------------------------------------
// Statistics.

fn median(samples: &mut [Duration]) -> Duration {
    percentile(samples, 50.0)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank]
}

/// One figure of the report: its name, then its value.
fn line(name: &str, value: String) {
    println!("{name:<62} {value}");
}

/// How long `work` takes to complete (dropping its output is not counted).
async fn timed<T>(work: impl std::future::Future<Output = T>) -> Duration {
    let started = Instant::now();
    let output = work.await;
    let elapsed = started.elapsed();
    drop(output);
    elapsed
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Cold {
    /// spawn -> first response posted
    first_response: Duration,
    /// spawn -> first poll of /next (init)
    init: Duration,
    /// first poll -> first response (the first request)
    first_request: Duration,
}

/// Spawns `runs` fresh processes and measures each one's first invocation.
async fn cold_starts(
    binary: &str,
    dynamodb: &str,
    extra: &[(&str, &str)],
    runs: usize,
) -> Vec<Cold> {
    let mut results = Vec::new();
    for _ in 0..runs {
        let api = RuntimeApi::start().await;
        let spawned = Instant::now();
        let function = spawn_with(binary, api.clone(), dynamodb, extra);
        let (_, answer) = api.invoke(EVENT).await;
        if !is_hello(binary) {
            assert_ok(&answer);
        }
        results.push(Cold {
            first_response: answer.answered - spawned,
            init: answer.polled.saturating_duration_since(spawned),
            first_request: answer.answered - answer.polled.max(spawned),
        });
        drop(function);
    }
    results
}

/// Warm invocation latencies (event handed over -> response posted) of one process.
async fn warm(
    function: &Function,
    runs: usize,
    check: bool,
    each: impl FnMut(usize),
) -> Vec<Duration> {
    warm_with(function, EVENT, runs, check, each).await
}

/// `warm` with another event.
async fn warm_with(
    function: &Function,
    event: &str,
    runs: usize,
    check: bool,
    mut each: impl FnMut(usize),
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(runs);
    for i in 0..runs {
        let (sent, answer) = function.api.invoke(event).await;
        if check {
            assert_ok(&answer);
        }
        latencies.push(answer.answered - sent);
        each(i + 1);
    }
    latencies
}

/// "cold start / init / first request" medians, in ms.
fn cold_parts(cold: &[Cold]) -> String {
    let (first_response, init, first_request) = cold_summary(cold);
    format!(
        "{:.2} / {:.2} / {:.2}",
        ms(first_response),
        ms(init),
        ms(first_request)
    )
}

fn cold_summary(cold: &[Cold]) -> (Duration, Duration, Duration) {
    let mut first: Vec<_> = cold.iter().map(|c| c.first_response).collect();
    let mut init: Vec<_> = cold.iter().map(|c| c.init).collect();
    let mut request: Vec<_> = cold.iter().map(|c| c.first_request).collect();
    (median(&mut first), median(&mut init), median(&mut request))
}

// ---------------------------------------------------------------------------
// CPU per warm request, in process.

fn cpu_per_request(event: &str) -> (Duration, Duration, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store =
        MemoryStore::new(serde_json::from_str(include_str!("../fixtures/example.json")).unwrap());
    // What the runtime posts, as JSON: the status, the headers and the body.
    let posted = |response: &lambda_http::Response<lambda_http::Body>| {
        let headers: std::collections::BTreeMap<&str, &str> = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.to_str().unwrap()))
            .collect();
        let body = kit::body_text(response);
        serde_json::to_string(&(response.status().as_u16(), headers, body)).unwrap()
    };
    let real = runtime.block_on(kit::invoke(&store, event)).unwrap();
    let real_body = kit::body_text(&real);
    assert_eq!(real.status(), 200, "{real_body}");
    assert_eq!(
        real_body.contains(r#""nextSteps":["#),
        event.contains("include=nextSteps")
    );
    let body_size = real_body.len();
    let mut static_response =
        lambda_http::Response::new(lambda_http::Body::Text("x".repeat(body_size)));
    *static_response.headers_mut() = real.headers().clone();
    let per_iteration = |f: &mut dyn FnMut()| {
        let mut batches = Vec::new();
        for _ in 0..15 {
            let started = Instant::now();
            for _ in 0..2_000 {
                f();
            }
            batches.push(started.elapsed() / 2_000);
        }
        median(&mut batches)
    };
    // Both sides end as the runtime ends: the response serialized to JSON.
    let ours = per_iteration(&mut || {
        let response = runtime.block_on(kit::invoke(&store, event)).unwrap();
        std::hint::black_box(posted(&response));
    });
    let baseline = per_iteration(&mut || {
        std::hint::black_box(event);
        std::hint::black_box(posted(&static_response));
    });
    (ours, baseline, body_size)
}

// ---------------------------------------------------------------------------

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(process_benchmarks());
    drop(runtime);
    if cpu_share_mode() == "only" {
        return;
    }

    let (ours_cpu, static_cpu, body_size) = cpu_per_request(EVENT);
    println!(
        "{:<62} {:.2} / {:.2} (body {body_size} B)",
        "CPU per warm request, in-memory store / static body (us)",
        ours_cpu.as_secs_f64() * 1e6,
        static_cpu.as_secs_f64() * 1e6
    );
    println!(
        "{:<62} {:.1}",
        "CPU ratio, ours / static",
        ours_cpu.as_secs_f64() / static_cpu.as_secs_f64()
    );
    let (next_steps_cpu, _, next_steps_body) = cpu_per_request(EVENT_NEXT_STEPS);
    println!(
        "{:<62} {:.2} (body {next_steps_body} B)",
        "  the same with include=nextSteps (us)",
        next_steps_cpu.as_secs_f64() * 1e6
    );
}

/// Everything measured on real processes, through the Runtime API stand-in.
async fn process_benchmarks() {
    let function = env("BENCH_FUNCTION");
    let hello = env("BENCH_HELLO");
    let dynamodb = env("BENCH_DYNAMODB");
    load_bench_data(&dynamodb).await;
    let cold_runs = env_number("BENCH_COLD_RUNS", 20);
    let warm_runs = env_number("BENCH_WARM_RUNS", 1000);

    // DynamoDB Local runs in a JVM that has just started: until its JIT has
    // compiled the request path, every call is slower, and the first figures
    // would measure the store's warm-up instead of the function's. DynamoDB
    // proper is always warm, so warm the stand-in first and measure after.
    let store_warm_up = env_number("BENCH_STORE_WARMUP", 10_000);
    eprintln!("warming DynamoDB Local up ({store_warm_up} invocations, not measured)");
    let process = spawn(&function, &dynamodb, &[]).await;
    warm(&process, store_warm_up, true, |_| {}).await;
    drop(process);
    if cpu_share_mode() == "only" {
        cpu_share_table(&dynamodb).await;
        return;
    }

    // Cold starts, side by side with the hello world.
    eprintln!("cold starts of tracking-status");
    let ours = cold_starts(&function, &dynamodb, &[], cold_runs).await;
    eprintln!("cold starts of hello");
    let theirs = cold_starts(&hello, &dynamodb, &[], cold_runs).await;
    eprintln!("cold starts without warm-up");
    let no_warm_up = cold_starts(
        &function,
        &dynamodb,
        &[("WARM_UP_CONNECTION", "0")],
        cold_runs,
    )
    .await;
    let (our_cold, our_init, our_first) = cold_summary(&ours);
    let (hello_cold, _, _) = cold_summary(&theirs);
    let (plain_cold, plain_init, plain_first) = cold_summary(&no_warm_up);
    if std::env::var("BENCH_COLD_ONLY").is_ok_and(|v| v == "1") {
        // Experiments on init: the cold figures alone, in a fraction of the time.
        line(
            "cold start / init / first request, median (ms)",
            format!("{} (n = {cold_runs})", cold_parts(&ours)),
        );
        line("  the same without warm-up (ms)", cold_parts(&no_warm_up));
        line(
            "hello world cold start, median (ms)",
            format!("{:.2}", ms(hello_cold)),
        );
        over_tls(&function, &dynamodb, cold_runs).await;
        store_floor(&dynamodb).await;
        return;
    }

    eprintln!("warm invocations");
    // Warm latency and memory, one process.
    let process = spawn(&function, &dynamodb, &[]).await;
    let mut rss_at = HashMap::new();
    let mut latencies = warm(&process, warm_runs, true, |done| {
        if done == 100 || done == warm_runs {
            rss_at.insert(done, process.memory());
        }
    })
    .await;
    drop(process);
    let our_warm = median(&mut latencies);
    let our_p99 = percentile(&mut latencies, 99.0);
    let process = spawn(&function, &dynamodb, &[]).await;
    let mut next_steps_latencies =
        warm_with(&process, EVENT_NEXT_STEPS, warm_runs, true, |_| {}).await;
    drop(process);

    let hello_process = spawn(&hello, &dynamodb, &[]).await;
    let mut hello_latencies = warm(&hello_process, warm_runs, false, |_| {}).await;
    let hello_rss = hello_process.memory();
    drop(hello_process);
    let hello_warm = median(&mut hello_latencies);

    line(
        "cold start: spawn -> first response, median (ms)",
        format!("{:.2} (n = {cold_runs})", ms(our_cold)),
    );
    line(
        "  of which init: spawn -> first poll (ms)",
        format!("{:.2}", ms(our_init)),
    );
    line(
        "  of which first request (ms)",
        format!("{:.2}", ms(our_first)),
    );
    line(
        "cold start without the connection warm-up (ms)",
        format!("{:.2}", ms(plain_cold)),
    );
    line(
        "  init / first request without warm-up (ms)",
        format!("{:.2} / {:.2}", ms(plain_init), ms(plain_first)),
    );
    line(
        "hello world cold start, median (ms)",
        format!("{:.2}", ms(hello_cold)),
    );
    let our_overhead = our_cold.saturating_sub(our_warm);
    let hello_overhead = hello_cold.saturating_sub(hello_warm);
    line(
        "cold overhead (cold - warm median): ours / hello (ms)",
        format!("{:.2} / {:.2}", ms(our_overhead), ms(hello_overhead)),
    );
    line(
        "cold overhead ratio, ours / hello (goal <= 2.0)",
        format!(
            "{:.2}",
            our_overhead.as_secs_f64() / hello_overhead.as_secs_f64()
        ),
    );
    line(
        "warm latency median / p99 (ms)",
        format!("{:.3} / {:.3} (n = {warm_runs})", ms(our_warm), ms(our_p99)),
    );
    line(
        "  the same with include=nextSteps, median / p99 (ms)",
        format!(
            "{:.3} / {:.3}",
            ms(median(&mut next_steps_latencies)),
            ms(percentile(&mut next_steps_latencies, 99.0))
        ),
    );
    line(
        "hello world warm latency median (ms)",
        format!("{:.3}", ms(hello_warm)),
    );
    let (rss_100, _) = rss_at.get(&100).copied().unwrap_or_default();
    let (rss_end, hwm_end) = rss_at.get(&warm_runs).copied().unwrap_or_default();
    line(
        "memory: RSS after 100 / after all warm invocations, peak (MB)",
        format!(
            "{:.1} / {:.1}, peak {:.1}",
            rss_100 as f64 / 1024.0,
            rss_end as f64 / 1024.0,
            hwm_end as f64 / 1024.0
        ),
    );
    line(
        "hello world peak RSS (MB)",
        format!("{:.1}", hello_rss.1 as f64 / 1024.0),
    );

    eprintln!("critical path and capacity");
    // Critical path and capacity: the same function behind a proxy.
    let proxy = FaultProxy::start(&dynamodb).await;
    let delay = Duration::from_millis(env_number("BENCH_DELAY_MS", 25) as u64);
    proxy.set(Fault::None);
    let process = spawn(&function, proxy.endpoint(), &[]).await;
    warm(&process, 20, true, |_| {}).await;
    let mut plain = warm(&process, 100, true, |_| {}).await;
    drop(process);
    proxy.set(Fault::Slow(delay));
    let process = spawn(&function, proxy.endpoint(), &[]).await;
    warm(&process, 5, true, |_| {}).await;
    let mut delayed = warm(&process, 60, true, |_| {}).await;
    drop(process);
    let added = median(&mut delayed).saturating_sub(median(&mut plain));
    line(
        "critical path: (latency with d - without) / d (goal <= 2.2)",
        format!(
            "{:.2} (d = {} ms)",
            added.as_secs_f64() / delay.as_secs_f64(),
            delay.as_millis()
        ),
    );

    proxy.set(Fault::None);
    let process = spawn(&function, proxy.endpoint(), &[("WARM_UP_CONNECTION", "0")]).await;
    proxy.measure_capacity();
    proxy.reset_observed();
    let counted = 200;
    warm(&process, counted, true, |_| {}).await;
    drop(process);
    let (calls, units) = proxy.observed();
    line(
        "DynamoDB calls per request (goal <= 6)",
        format!("{:.2}", calls as f64 / counted as f64),
    );
    line(
        "consumed RCU per request (goal <= 3.5)",
        format!("{:.2}", units / counted as f64),
    );
    let process = spawn(&function, proxy.endpoint(), &[("WARM_UP_CONNECTION", "0")]).await;
    proxy.reset_observed();
    warm_with(&process, EVENT_NEXT_STEPS, counted, true, |_| {}).await;
    drop(process);
    let (calls, units) = proxy.observed();
    line(
        "  the same with include=nextSteps: calls / RCU per request",
        format!(
            "{:.2} / {:.2}",
            calls as f64 / counted as f64,
            units / counted as f64
        ),
    );

    // What init spends on the SDK: config load and client construction.
    let mut sdk_init = Vec::new();
    for _ in 0..20 {
        sdk_init.push(
            timed(async {
                let sdk_config = tracking_status::sdk::sdk_config_loader()
                    .unwrap()
                    .load()
                    .await;
                let client = aws_sdk_dynamodb::Client::new(&sdk_config);
                (sdk_config, client)
            })
            .await,
        );
    }
    let first = sdk_init[0];
    line(
        "SDK config load + client: first in process / median (ms)",
        format!("{:.3} / {:.3}", ms(first), ms(median(&mut sdk_init))),
    );

    over_tls(&function, &dynamodb, cold_runs).await;
    store_floor(&dynamodb).await;
    if cpu_share_mode() != "0" {
        cpu_share_table(&dynamodb).await;
    }
}

/// `BENCH_CPU_SHARE`: `1` (the default) adds the CPU-share table to the run,
/// `only` runs the table alone, `0` leaves it out.
fn cpu_share_mode() -> String {
    std::env::var("BENCH_CPU_SHARE").unwrap_or_else(|_| "1".to_string())
}

/// A TLS terminator in front of `upstream` (plain HTTP), with the test
/// authority's `localhost` certificate from `dev/tls/`.
async fn tls_terminator(upstream: &str) -> String {
    let acceptor = localhost_tls::localhost_acceptor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let upstream = upstream.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                // Relaying splits a request into several writes: without TCP_NODELAY,
                // Nagle's algorithm holds the later ones for the peer's delayed ACK
                // (40 ms), which showed up as 40 ms stalls in the warm-up's calls.
                let _ = client.set_nodelay(true);
                let Ok(mut tls) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut store) = TcpStream::connect(&upstream).await else {
                    return;
                };
                let _ = store.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut store).await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

/// What the connection warm-up is for: DynamoDB proper is reached over TLS, and a
/// first request that has to open its connections pays for the handshakes. Here
/// the function trusts the test authority through the platform-store path
/// (`TLS_TRUST_STORE=system`, `SSL_CERT_FILE`) and talks to DynamoDB Local
/// through a TLS terminator, with and without the warm-up.
async fn over_tls(function: &str, dynamodb: &str, runs: usize) {
    let endpoint = tls_terminator(dynamodb).await;
    let trust = [
        ("TLS_TRUST_STORE", "system"),
        ("SSL_CERT_FILE", localhost_tls::TEST_CA_PATH),
    ];
    eprintln!("cold starts over TLS");
    let warmed = cold_starts(function, &endpoint, &trust, runs).await;
    let mut without = trust.to_vec();
    without.push(("WARM_UP_CONNECTION", "0"));
    let plain = cold_starts(function, &endpoint, &without, runs).await;
    line(
        "over TLS: cold start / init / first request (ms)",
        cold_parts(&warmed),
    );
    line("  the same without warm-up (ms)", cold_parts(&plain));
    let process = spawn(function, &endpoint, &trust).await;
    let mut latencies = warm(&process, 200, true, |_| {}).await;
    line(
        "  warm latency over TLS, median of 200 (ms)",
        format!("{:.3}", ms(median(&mut latencies))),
    );
}

/// A `DynamoStore` on DynamoDB Local with its own SDK client (so its own connections).
async fn local_store(dynamodb: &str) -> tracking_status::store::dynamodb::DynamoStore {
    let config = tracking_status_dev::kit::client_config(dynamodb).await;
    tracking_status::store::dynamodb::DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(config.build()),
        TableNames::with_prefix(BENCH_PREFIX),
    )
}

/// The tables the function processes read: the function's own names, under this prefix.
const BENCH_PREFIX: &str = "bench-";

/// The example program as a realistic one looks after a few weeks: its
/// records, 5,000 live click/lead/sale events the function must never read, and
/// four more test leads.
fn bench_dataset() -> Dataset {
    let mut dataset =
        tracking_status_dev::fixture::parse(tracking_status_dev::kit::EXAMPLE_FIXTURE)
            .expect("the example fixture");
    let program_id = dataset.programs[0].id;
    let event = |id: u64, kind: &str, test: bool, at: String| EventRecord {
        id,
        program_id,
        kind: kind.to_string(),
        test,
        timestamp: Timestamp::parse(&at).unwrap(),
        created_at: Timestamp::parse(&at).unwrap(),
    };
    for i in 0..5_000u64 {
        let minute = i % 1440;
        let at = format!("2026-06-08T{:02}:{:02}:00.000Z", minute / 60, minute % 60);
        let kind = ["click", "lead", "sale"][(i % 3) as usize];
        dataset.events.push(event(10_000 + i, kind, false, at));
    }
    for i in 0..4u64 {
        let at = format!("2026-06-07T12:0{i}:00.000Z");
        dataset.events.push(event(200 + i, "lead", true, at));
    }
    dataset
}

/// Creates the bench tables in DynamoDB Local (if missing) and loads `bench_dataset`.
async fn load_bench_data(dynamodb: &str) {
    let client = aws_sdk_dynamodb::Client::from_conf(
        tracking_status_dev::kit::client_config(dynamodb)
            .await
            .build(),
    );
    let tables = TableNames::with_prefix(BENCH_PREFIX);
    tracking_status_dev::load::ensure_tables(&client, &tables)
        .await
        .expect("bench tables");
    let written = tracking_status_dev::load::write_fixture(&client, &tables, &bench_dataset())
        .await
        .expect("bench data written");
    println!("{:<62} {written}", "records loaded (5,000 live events)");
}

/// The floor under the warm latency and under the first request: DynamoDB Local
/// itself, driven from this (long-running) process with the function's own code.
async fn store_floor(dynamodb: &str) {
    let store = local_store(dynamodb).await;
    let user = tracking_status::principal::UserId::from_value(&Value::from("user_dev")).unwrap();
    let program = tracking_status::domain::ProgramId::new(42).unwrap();
    let mut round_trips = Vec::new();
    let mut in_process = Vec::new();
    for _ in 0..200 {
        round_trips.push(
            timed(tracking_status::store::StatusStore::program(
                &store, program,
            ))
            .await,
        );
        in_process.push(
            timed(tracking_status::service::tracking_status(
                &store,
                &user,
                program,
                Default::default(),
            ))
            .await,
        );
    }
    line(
        "DynamoDB Local: one GetItem round trip, median (ms)",
        format!("{:.3}", ms(median(&mut round_trips))),
    );
    line(
        "the same 6 reads in this process, no Lambda, median (ms)",
        format!("{:.3}", ms(median(&mut in_process))),
    );

    // What a first request pays for new connections alone: a new client (no
    // pooled connections) in a process whose code and allocator are already warm.
    let mut fresh = Vec::new();
    let mut reused = Vec::new();
    for _ in 0..50 {
        let store = local_store(dynamodb).await;
        fresh.push(
            timed(tracking_status::service::tracking_status(
                &store,
                &user,
                program,
                Default::default(),
            ))
            .await,
        );
        reused.push(
            timed(tracking_status::service::tracking_status(
                &store,
                &user,
                program,
                Default::default(),
            ))
            .await,
        );
    }
    line(
        "the same 6 reads on new connections / reused ones, median (ms)",
        format!(
            "{:.3} / {:.3}",
            ms(median(&mut fresh)),
            ms(median(&mut reused))
        ),
    );
}

// ---------------------------------------------------------------------------
// Under Lambda's CPU share: one row per memory size and binary.

/// The memory sizes of the table (`BENCH_SIZES=128,256` chooses others).
const SIZES: [u32; 7] = [128, 256, 384, 512, 768, 1024, 1769];

/// Lambda's prices in us-east-1, first tier, as the pricing page gives them
/// (BENCHMARKS.md says where and when they were read): per million requests,
/// and per GB-second of billed duration on each architecture.
const REQUEST_PRICE_PER_MILLION: f64 = 0.20;
const GB_SECOND_ARM64: f64 = 0.000_013_333_4;
const GB_SECOND_X86_64: f64 = 0.000_016_666_7;

/// What one binary did under one memory size's CPU share.
struct ShareRow {
    label: String,
    memory_mb: u32,
    quota: Duration,
    cold: Vec<Duration>,
    warm: Vec<Duration>,
    cpu_per_request: Duration,
    throttled_share: f64,
    /// Peak RSS of the warm process, kB.
    peak_rss: u64,
}

impl ShareRow {
    /// Mean billed duration of a warm request: Lambda rounds each up to the millisecond.
    fn billed_ms(&self) -> f64 {
        let total: f64 = self.warm.iter().map(|d| ms(*d).ceil()).sum();
        total / self.warm.len() as f64
    }

    /// The price of a million warm requests at `per_gb_second`.
    fn price_per_million(&self, per_gb_second: f64) -> f64 {
        let gb = f64::from(self.memory_mb) / 1024.0;
        REQUEST_PRICE_PER_MILLION + 1e6 * (self.billed_ms() / 1000.0) * gb * per_gb_second
    }

    fn warm_p99(&self) -> Duration {
        percentile(&mut self.warm.clone(), 99.0)
    }
}

/// A generator of pauses between warm requests, the same in every run
/// (xorshift64): uniform in [0, 2 × period), so requests start at every phase
/// of the CFS period, as requests that arrive on their own would.
struct Pauses(u64, Duration);

impl Pauses {
    fn next(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.1 * 2).mul_f64((self.0 % 10_000) as f64 / 10_000.0)
    }
}

/// Runs `binary` in a group held to `memory_mb`'s CPU share: `cold_runs` cold
/// starts, then one process's `warm_runs` warm requests, paced.
async fn under_share(
    label: &str,
    binary: &str,
    dynamodb: &str,
    memory_mb: u32,
    period: Duration,
    (cold_runs, warm_runs): (usize, usize),
) -> Result<ShareRow, String> {
    use tracking_status_dev::cpu_share::{CpuShare, share_of_memory};
    let group = CpuShare::create(
        &format!("{label}-{memory_mb}"),
        share_of_memory(memory_mb),
        period,
    )?;
    let memory = memory_mb.to_string();
    let env = function_env(dynamodb, &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &memory)]);
    let log = function_log();
    let is_function = !is_hello(binary);
    let mut cold = Vec::new();
    for _ in 0..cold_runs {
        let api = RuntimeApi::start().await;
        let mut function = Function::spawn_in(&group, binary, api.clone(), &env, log.as_deref());
        // The waiting shell starts and reaches its `read` before the clock does.
        tokio::time::sleep(Duration::from_millis(30)).await;
        let spawned = function.start();
        let (_, answer) = api.invoke(EVENT).await;
        if is_function {
            assert_ok(&answer);
        }
        cold.push(answer.answered - spawned);
        drop(function);
    }
    let mut function = Function::spawn_in(
        &group,
        binary,
        RuntimeApi::start().await,
        &env,
        log.as_deref(),
    );
    function.start();
    // Unmeasured: the first requests of a process (new connections, first use of the SDK).
    warm(&function, 20, is_function, |_| {}).await;
    let mut pauses = Pauses(0x9E37_79B9_7F4A_7C15, period);
    let (cpu_before, throttling_before) = (group.usage(), group.throttling());
    let mut latencies = Vec::with_capacity(warm_runs);
    for _ in 0..warm_runs {
        tokio::time::sleep(pauses.next()).await;
        let (sent, answer) = function.api.invoke(EVENT).await;
        if is_function {
            assert_ok(&answer);
        }
        latencies.push(answer.answered - sent);
    }
    let (cpu_after, throttling_after) = (group.usage(), group.throttling());
    let (_, peak_rss) = function.memory();
    drop(function);
    let periods = throttling_after.periods - throttling_before.periods;
    let throttled = throttling_after.throttled_periods - throttling_before.throttled_periods;
    Ok(ShareRow {
        label: label.to_string(),
        memory_mb,
        quota: group.quota,
        cold,
        warm: latencies,
        cpu_per_request: cpu_after.saturating_sub(cpu_before) / warm_runs as u32,
        throttled_share: throttled as f64 / periods.max(1) as f64,
        peak_rss,
    })
}

/// The table of `scripts/bench.sh`'s CPU-share mode: each memory size's cold
/// start, warm latency, CPU and price, for the function, the hello world and
/// `BENCH_FUNCTION_B` (another build, for side-by-side comparisons) if set.
async fn cpu_share_table(dynamodb: &str) {
    let period = Duration::from_micros(env_number("BENCH_CFS_PERIOD_US", 20_000) as u64);
    let runs = (
        env_number("BENCH_SHARE_COLD_RUNS", 10).max(1),
        env_number("BENCH_SHARE_WARM_RUNS", 500).max(1),
    );
    let sizes: Vec<u32> = std::env::var("BENCH_SIZES").map_or(SIZES.to_vec(), |list| {
        list.split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    });
    let mut binaries = vec![("function", env("BENCH_FUNCTION"))];
    if let Ok(other) = std::env::var("BENCH_FUNCTION_B") {
        binaries.push(("B", other));
    }
    binaries.push(("hello", env("BENCH_HELLO")));
    let p99_bound = Duration::from_millis(env_number("BENCH_P99_BOUND_MS", 20) as u64);

    println!(
        "\nUnder each memory size's CPU share (CFS period {} ms; {} cold starts, {} warm requests paced 0-{} ms apart)\n",
        period.as_millis(),
        runs.0,
        runs.1,
        period.as_millis() * 2
    );
    println!(
        "| MB | quota per period (ms) | binary | cold start median / max (ms) | warm median / p99 (ms) | periods throttled | CPU per request (ms) | peak RSS (MB) | billed per request (ms) | $ per million, arm64 / x86_64 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut rows = Vec::new();
    for &memory_mb in &sizes {
        for (label, binary) in &binaries {
            eprintln!("{label} at {memory_mb} MB");
            match under_share(label, binary, dynamodb, memory_mb, period, runs).await {
                Ok(row) => {
                    let mut cold = row.cold.clone();
                    let mut warm = row.warm.clone();
                    println!(
                        "| {} | {:.2} | {} | {:.1} / {:.1} | {:.2} / {:.2} | {:.1} % | {:.3} | {:.1} | {:.2} | {:.3} / {:.3} |",
                        row.memory_mb,
                        ms(row.quota),
                        row.label,
                        ms(median(&mut cold)),
                        ms(*cold.iter().max().unwrap()),
                        ms(median(&mut warm)),
                        ms(percentile(&mut warm, 99.0)),
                        100.0 * row.throttled_share,
                        ms(row.cpu_per_request),
                        row.peak_rss as f64 / 1024.0,
                        row.billed_ms(),
                        row.price_per_million(GB_SECOND_ARM64),
                        row.price_per_million(GB_SECOND_X86_64),
                    );
                    rows.push(row);
                }
                Err(reason) => {
                    println!("CPU-share table skipped: {reason}");
                    return;
                }
            }
        }
    }
    // Lambda Power Tuning's "cheapest" choice, bounded: the cheapest size whose
    // warm p99 stays within the bound.
    let chosen = rows
        .iter()
        .filter(|row| row.label == "function" && row.warm_p99() <= p99_bound)
        .min_by(|a, b| {
            a.price_per_million(GB_SECOND_ARM64)
                .total_cmp(&b.price_per_million(GB_SECOND_ARM64))
        });
    match chosen {
        Some(row) => println!(
            "\ncheapest memory size whose warm p99 is within {} ms: {} MB (p99 {:.2} ms, ${:.3} per million on arm64)",
            p99_bound.as_millis(),
            row.memory_mb,
            ms(row.warm_p99()),
            row.price_per_million(GB_SECOND_ARM64)
        ),
        None => println!(
            "\nno memory size kept the warm p99 within {} ms",
            p99_bound.as_millis()
        ),
    }
    let cpu = |label: &str| {
        let mut each: Vec<Duration> = rows
            .iter()
            .filter(|row| row.label == label)
            .map(|row| row.cpu_per_request)
            .collect();
        (!each.is_empty()).then(|| median(&mut each))
    };
    if let (Some(ours), Some(hello)) = (cpu("function"), cpu("hello")) {
        line(
            "CPU per warm request, median over sizes: function / hello (ms)",
            format!(
                "{:.3} / {:.3} = {:.2}x",
                ms(ours),
                ms(hello),
                ours.as_secs_f64() / hello.as_secs_f64()
            ),
        );
    }
}
