//! Logs and metrics on stdout, one JSON object per line, as CloudWatch Logs Insights reads
//! them. Logs: `tracing-subscriber`'s JSON format, filtered by `RUST_LOG`, else
//! `AWS_LAMBDA_LOG_LEVEL`. Metrics: an event at the target of a [`Metrics`] is a CloudWatch
//! Embedded Metric Format (EMF) record, written whatever the level, so CloudWatch turns it into
//! metrics with no call and no agent.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::domain::Timestamp;

/// The CloudWatch namespace of the metrics when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_METRICS_NAMESPACE: &str = "tracking-status";

/// The events of one target that are EMF records: their dimensions and metrics (name, unit),
/// each a field of the event.
#[derive(Debug)]
pub struct Metrics {
    pub target: &'static str,
    pub dimensions: &'static [&'static str],
    pub metrics: &'static [(&'static str, &'static str)],
}

/// The request's record (`http.rs`): by status class (`2xx`, `4xx`, `5xx`), its duration and
/// DynamoDB calls. `Function5xxRateAlarm` in template.yaml reads it.
pub const REQUEST_METRICS: Metrics = Metrics {
    target: "tracking_status::request",
    dimensions: &["status_class"],
    metrics: &[("duration_ms", "Milliseconds"), ("dynamodb_calls", "Count")],
};

/// Lambda's levels, least severe first (FATAL has no `tracing` level: only a label).
const LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// Installs the subscriber on stdout, from `RUST_LOG`, `AWS_LAMBDA_LOG_LEVEL` and
/// `METRICS_NAMESPACE`, with the records of `metrics`.
pub fn init(metrics: &'static [Metrics]) {
    let var = |name| std::env::var(name).ok().filter(|value| !value.is_empty());
    let lambda_level = var("AWS_LAMBDA_LOG_LEVEL");
    let (filter, invalid) = log_filter(var("RUST_LOG").or(lambda_level.clone()).as_deref());
    let namespace = var("METRICS_NAMESPACE").unwrap_or(DEFAULT_METRICS_NAMESPACE.into());
    let floor = lambda_level.as_deref().map(rank).unwrap_or_default();
    let subscriber = subscriber(filter, floor, namespace, metrics, std::io::stdout);
    let _ = tracing::subscriber::set_global_default(subscriber);
    if let Some(invalid) = invalid {
        tracing::warn!(%invalid, "the log level is not a filter: INFO instead");
    }
}

/// `init`'s subscriber writing to `writer`, with the log level `level` (as `RUST_LOG`) and the
/// request's records, as the function writes them; tests capture logs with it.
pub fn json_subscriber<W>(level: Option<&str>, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let namespace = DEFAULT_METRICS_NAMESPACE.to_string();
    subscriber(
        log_filter(level).0,
        0,
        namespace,
        &[REQUEST_METRICS],
        writer,
    )
}

/// The filter of `level` (`EnvFilter` directives; Lambda's FATAL is `error`), else `info`, and
/// why `level` is no filter.
fn log_filter(level: Option<&str>) -> (EnvFilter, Option<String>) {
    let level = level
        .unwrap_or("info")
        .to_lowercase()
        .replace("fatal", "error");
    match EnvFilter::try_new(&level) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new("info"), Some(format!("{level:?}: {error}"))),
    }
}

/// Where `level` is in `LEVELS` (0 for none of them).
fn rank(level: &str) -> usize {
    let level = level.trim();
    LEVELS
        .iter()
        .position(|known| known.eq_ignore_ascii_case(level))
        .unwrap_or_default()
}

fn subscriber<W>(
    filter: EnvFilter,
    floor: usize,
    namespace: String,
    metrics: &'static [Metrics],
    writer: W,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let is_record =
        move |meta: &Metadata<'_>| metrics.iter().any(|record| record.target == meta.target());
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer.clone())
        .with_filter(filter)
        .with_filter(filter_fn(move |meta| !is_record(meta)));
    let records = Emf {
        namespace,
        floor,
        metrics,
        writer,
    }
    .with_filter(filter_fn(is_record));
    tracing_subscriber::registry().with(logs).with(records)
}

/// Writes the events of `metrics`' targets as EMF records: the event's fields at the top level,
/// `_aws` naming which are dimensions and metrics.
struct Emf<W> {
    namespace: String,
    /// Lambda's own level filter (`AWS_LAMBDA_LOG_LEVEL`, as a `LEVELS` rank): Lambda drops
    /// every JSON line whose `level` is below it, so a record is labelled at least this level.
    floor: usize,
    metrics: &'static [Metrics],
    writer: W,
}

impl<S: Subscriber, W: for<'w> MakeWriter<'w> + 'static> Layer<S> for Emf<W> {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let Some(record) = self.metrics.iter().find(|m| m.target == meta.target()) else {
            return;
        };
        let mut line = Map::new();
        event.record(&mut FieldsInto(&mut line));
        let level = LEVELS.get(rank(meta.level().as_str()).max(self.floor));
        line.insert("level".into(), json!(level));
        line.insert("timestamp".into(), json!(Timestamp::now().to_string()));
        let metrics: Vec<Value> = (record.metrics.iter())
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        let epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        line.insert(
            "_aws".into(),
            json!({"Timestamp": epoch_ms, "CloudWatchMetrics": [{
                "Namespace": self.namespace,
                "Dimensions": [record.dimensions],
                "Metrics": metrics,
            }]}),
        );
        let _ = writeln!(self.writer.make_writer(), "{}", Value::Object(line));
    }
}

/// Records an event's fields as JSON values: numbers stay numbers.
struct FieldsInto<'a>(&'a mut Map<String, Value>);

impl Visit for FieldsInto<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), json!(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines written with `RUST_LOG` = `rust_log` and `AWS_LAMBDA_LOG_LEVEL` =
    /// `lambda_log_level`, as `init` reads them.
    fn lines_with(
        rust_log: Option<&str>,
        lambda_log_level: Option<&str>,
        log: impl FnOnce(),
    ) -> Vec<Value> {
        let captured = Captured::default();
        let sink = captured.clone();
        let (filter, _) = log_filter(rust_log.or(lambda_log_level));
        let floor = lambda_log_level.map(rank).unwrap_or_default();
        let namespace = DEFAULT_METRICS_NAMESPACE.to_string();
        let subscriber = subscriber(filter, floor, namespace, &[REQUEST_METRICS], move || {
            sink.clone()
        });
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// A 200's and a 500's request record, as `http.rs` writes them, between an ordinary
    /// INFO line and an ordinary WARN line, inside an invoke span as `lambda_runtime` opens it.
    fn requests_among_ordinary_lines() {
        let span = tracing::info_span!(target: "lambda_runtime::layers::trace", "Lambda runtime invoke", requestId = "abc-1");
        let _entered = span.enter();
        tracing::info!("ordinary info");
        tracing::info!(target: REQUEST_METRICS.target, status = 200u64, status_class = "2xx", duration_ms = 1.0, dynamodb_calls = 5u64, "request");
        tracing::error!(target: REQUEST_METRICS.target, status = 500u64, status_class = "5xx", duration_ms = 1.0, dynamodb_calls = 5u64, "request failed");
        tracing::warn!(n = 3u64, ratio = 0.5, cause = %"boom", "ordinary warn");
    }

    /// (message, level) of each line; every request record is an EMF record, no other line is.
    fn messages_and_levels(lines: &[Value]) -> Vec<(String, String)> {
        let text = |line: &Value, key: &str| line[key].as_str().unwrap().to_string();
        lines
            .iter()
            .inspect(|line| {
                assert_eq!(
                    line["_aws"].is_object(),
                    line["status"].is_number(),
                    "{line}"
                )
            })
            .map(|line| (text(line, "message"), text(line, "level")))
            .collect()
    }

    fn expected(messages_and_levels: &[(&str, &str)]) -> Vec<(String, String)> {
        messages_and_levels
            .iter()
            .map(|(m, l)| (m.to_string(), l.to_string()))
            .collect()
    }

    #[test]
    fn request_records_are_written_whatever_rust_log_says() {
        let lines = lines_with(None, None, requests_among_ordinary_lines);
        let all = [
            ("ordinary info", "INFO"),
            ("request", "INFO"),
            ("request failed", "ERROR"),
            ("ordinary warn", "WARN"),
        ];
        assert_eq!(messages_and_levels(&lines), expected(&all));
        for rust_log in ["warn", "WARN"] {
            let lines = lines_with(Some(rust_log), None, requests_among_ordinary_lines);
            assert_eq!(
                messages_and_levels(&lines),
                expected(&all[1..]),
                "{rust_log}"
            );
        }
        let off = lines_with(Some("off"), None, requests_among_ordinary_lines);
        assert_eq!(messages_and_levels(&off), expected(&all[1..3]));
    }

    /// Lambda itself drops every JSON line below `AWS_LAMBDA_LOG_LEVEL`: a request record below
    /// it is labelled at it; FATAL has no `tracing` level, so ERROR lines are written.
    #[test]
    fn request_records_are_labelled_to_pass_lambdas_own_level_filter() {
        let lines = lines_with(None, Some("WARN"), requests_among_ordinary_lines);
        let written = [
            ("request", "WARN"),
            ("request failed", "ERROR"),
            ("ordinary warn", "WARN"),
        ];
        assert_eq!(messages_and_levels(&lines), expected(&written));
        let lines = lines_with(None, Some("FATAL"), requests_among_ordinary_lines);
        assert_eq!(
            messages_and_levels(&lines),
            expected(&[("request", "FATAL"), ("request failed", "FATAL")])
        );
        let lines = lines_with(Some("debug"), Some("ERROR"), requests_among_ordinary_lines);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0]["level"], "INFO", "not a record: its own level");
        assert_eq!(lines[1]["level"], "ERROR");
    }

    #[test]
    fn log_lines_are_flat_json_inside_the_current_span() {
        let lines = lines_with(None, None, requests_among_ordinary_lines);
        let line = &lines[3];
        assert_eq!(
            (&line["n"], &line["ratio"], &line["cause"]),
            (&json!(3), &json!(0.5), &json!("boom"))
        );
        assert_eq!(line["span"]["requestId"], "abc-1");
        assert_eq!(line["span"]["name"], "Lambda runtime invoke");
    }

    /// The request record, as the EMF specification reads it: `_aws` names a namespace, a
    /// dimension set and metrics, each a top-level member of the right type.
    #[test]
    fn the_request_record_is_an_emf_record() {
        let line = &lines_with(None, None, requests_among_ordinary_lines)[1];
        let aws = &line["_aws"];
        assert!(
            aws["Timestamp"]
                .as_u64()
                .is_some_and(|ms| ms > 1_700_000_000_000)
        );
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], DEFAULT_METRICS_NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["status_class"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "duration_ms", "Unit": "Milliseconds"}, {"Name": "dynamodb_calls", "Unit": "Count"}])
        );
        assert_eq!(line["status_class"], "2xx");
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(line[metric["Name"].as_str().unwrap()].is_number(), "{line}");
        }
        assert_eq!(line["timestamp"].as_str().unwrap().len(), 24);
    }

    #[test]
    fn a_level_that_is_no_filter_is_reported_and_info_used() {
        let (_, invalid) = log_filter(Some("warn,=[["));
        assert!(invalid.is_some_and(|why| why.contains("warn,=[[")));
        assert_eq!(log_filter(Some("FATAL")).1, None);
        assert_eq!((rank("warn"), rank(" ERROR"), rank("verbose")), (3, 4, 0));
    }
}
