//! JSON log lines, one flat object per line, as CloudWatch Logs Insights reads
//! them; the one line per request is also a CloudWatch Embedded Metric Format
//! (EMF) record, so CloudWatch turns it into metrics with no call and no
//! agent (Lambda sends stdout to CloudWatch Logs, which extracts them).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::domain::Timestamp;

/// The CloudWatch namespace of the metrics when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_METRICS_NAMESPACE: &str = "tracking-status";

/// The field of the per-request line that makes it an EMF record, and the
/// metric's one dimension: `2xx`, `4xx` or `5xx`.
pub const STATUS_CLASS: &str = "status_class";

/// The fields of the per-request line that are metrics, with their units.
pub const METRICS: [(&str, &str); 2] =
    [("duration_ms", "Milliseconds"), ("dynamodb_calls", "Count")];

/// Installs the JSON subscriber on stdout. The level comes from `RUST_LOG`, else
/// from Lambda's `AWS_LAMBDA_LOG_LEVEL` (set by the template's LoggingConfig), else
/// `info`; the metrics' namespace from `METRICS_NAMESPACE` (the template sets the
/// stack's name), else `tracking-status`.
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok());
    let namespace = std::env::var("METRICS_NAMESPACE")
        .ok()
        .filter(|namespace| !namespace.is_empty())
        .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_string());
    let _ = tracing::subscriber::set_global_default(json_subscriber_in(
        level.as_deref(),
        &namespace,
        std::io::stdout,
    ));
}

/// The subscriber `init` installs, writing to `writer`, with the default
/// namespace; tests capture logs with it.
pub fn json_subscriber<W>(level: Option<&str>, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    json_subscriber_in(level, DEFAULT_METRICS_NAMESPACE, writer)
}

fn json_subscriber_in<W>(
    level: Option<&str>,
    namespace: &str,
    writer: W,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = level
        .map(str::to_lowercase)
        .and_then(|level| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .fmt_fields(JsonFields::new())
        .event_format(JsonLines::new(namespace))
        .with_writer(writer)
        .finish()
}

/// `{"timestamp", "level", "message", <the event's fields>, "span": {...}}`:
/// the fields at the top level (EMF reads its metrics there), and the current
/// span — under Lambda the runtime's invoke span, with the Lambda request id
/// and the X-Ray trace id.
struct JsonLines {
    /// EMF's `CloudWatchMetrics`: the same for every request line, so built once.
    metric_directives: Value,
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        line.insert("timestamp".into(), json!(Timestamp::now().to_string()));
        line.insert("level".into(), json!(event.metadata().level().as_str()));
        event.record(&mut FieldsInto(&mut line));
        if let Some(span) = ctx.lookup_current() {
            let mut fields = span
                .extensions()
                .get::<FormattedFields<N>>()
                .and_then(|fields| serde_json::from_str::<Map<String, Value>>(fields).ok())
                .unwrap_or_default();
            fields.insert("name".into(), json!(span.name()));
            line.insert("span".into(), Value::Object(fields));
        }
        if line.get(STATUS_CLASS).is_some_and(Value::is_string) {
            line.insert("_aws".into(), self.emf_metadata(epoch_millis()));
        }
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

impl JsonLines {
    fn new(namespace: &str) -> Self {
        let metrics: Vec<Value> = METRICS
            .iter()
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        JsonLines {
            metric_directives: json!([{
                "Namespace": namespace,
                "Dimensions": [[STATUS_CLASS]],
                "Metrics": metrics,
            }]),
        }
    }

    /// The EMF `_aws` member: which top-level fields are metrics, by which dimension.
    fn emf_metadata(&self, timestamp_ms: u64) -> Value {
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": self.metric_directives,
        })
    }
}

fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
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
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), json!(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
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

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text_of(log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let sink = captured.clone();
        tracing::subscriber::with_default(json_subscriber(None, move || sink.clone()), log);
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    fn lines_of(log: impl FnOnce()) -> Vec<Value> {
        text_of(log)
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn fields_are_top_level_json_values_inside_the_current_span() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "abc-1");
            let _entered = span.enter();
            tracing::warn!(n = 3u64, ratio = 0.5, ok = true, who = "x", cause = %"boom", "something");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "something");
        assert_eq!(line["n"], 3);
        assert_eq!(line["ratio"], 0.5);
        assert_eq!(line["ok"], true);
        assert_eq!(line["who"], "x");
        assert_eq!(line["cause"], "boom");
        assert_eq!(line["span"]["requestId"], "abc-1");
        assert_eq!(line["span"]["name"], "Lambda runtime invoke");
        assert_eq!(line["timestamp"].as_str().unwrap().len(), 24);
        assert!(
            line.get("_aws").is_none(),
            "only the request line is a metric record"
        );
    }

    /// The request line, as the EMF specification reads it: `_aws` names a
    /// namespace, a dimension set and metrics, each of which is a top-level
    /// member of the right type.
    #[test]
    fn the_request_line_is_an_emf_record() {
        let lines = lines_of(|| {
            tracing::info!(
                request_id = "r",
                status = 200u64,
                status_class = "2xx",
                duration_ms = 1.25,
                dynamodb_calls = 6u64,
                "request"
            );
        });
        let line = &lines[0];
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
        for dimension in directive["Dimensions"][0].as_array().unwrap() {
            assert!(line[dimension.as_str().unwrap()].is_string());
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(line[metric["Name"].as_str().unwrap()].is_number(), "{line}");
        }
        assert_eq!(line["status_class"], "2xx");
    }

    /// The README shows a line as written: keys in alphabetical order, `_aws` first.
    #[test]
    fn keys_are_written_in_alphabetical_order() {
        let text = text_of(|| {
            tracing::info!(
                status = 200u64,
                status_class = "2xx",
                duration_ms = 1.0,
                dynamodb_calls = 6u64,
                "request"
            );
        });
        assert!(text.starts_with(r#"{"_aws":{"CloudWatchMetrics":[{"Dimensions":[["status_class"]],"Metrics":[{"Name":"duration_ms","Unit":"Milliseconds"},{"Name":"dynamodb_calls","Unit":"Count"}],"Namespace":"tracking-status"}],"Timestamp":"#), "{text}");
        assert!(text.contains(r#"},"duration_ms":1.0,"dynamodb_calls":6,"level":"INFO","message":"request","status":200,"status_class":"2xx","timestamp":""#), "{text}");
    }
}
