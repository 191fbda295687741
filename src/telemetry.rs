//! JSON log lines, one flat object per line, as CloudWatch Logs Insights reads
//! them; the one line per request is also a CloudWatch Embedded Metric Format
//! (EMF) record, so CloudWatch turns it into metrics with no call and no
//! agent (Lambda sends stdout to CloudWatch Logs, which extracts them).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
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

/// test-event-indexer's metric: a line carrying this field (a count) is an EMF record of
/// it, without dimensions (`UnreadableTestEventsAlarm` in template.yaml reads it).
pub const UNREADABLE_TEST_EVENTS: &str = "unreadable_test_events";

/// The target of the per-request line (`http.rs`). The filter always enables it, at
/// every level the line is written at (INFO, WARN, ERROR), whatever `RUST_LOG` or
/// `AWS_LAMBDA_LOG_LEVEL` say: the line is the request's metrics (EMF), and the 5xx
/// rate that rolls a deployment back (`Function5xxRateAlarm`) is computed over all of
/// them. Every other line still obeys the level.
pub const REQUEST_TARGET: &str = "tracking_status::request";

/// What the filter always enables, at INFO: the request line, and `lambda_runtime`'s
/// invoke span (an INFO span, the only thing that module writes), which gives the line
/// its Lambda request id and X-Ray trace id. INFO, not TRACE: a directive more verbose
/// than the level would raise the filter's maximum level, and every disabled `debug!`
/// in the SDK would then cost a callsite lookup instead of one compare.
const ALWAYS_ENABLED: [&str; 2] = [
    "tracking_status::request=info",
    "lambda_runtime::layers::trace=info",
];

/// What decides the log, read once at init.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `RUST_LOG`: the filter (`EnvFilter` directives); overrides `lambda_log_level`
    /// for what this process writes.
    pub rust_log: Option<String>,
    /// `AWS_LAMBDA_LOG_LEVEL`: Lambda's application log level (the template's
    /// `LoggingConfig.ApplicationLogLevel`). The filter when `RUST_LOG` is not set; and
    /// Lambda itself drops every JSON line whose `level` is below it, so the request
    /// line is labelled at least this level (`JsonLines`).
    pub lambda_log_level: Option<String>,
    /// `METRICS_NAMESPACE`: the metrics' CloudWatch namespace.
    pub metrics_namespace: String,
}

impl LogSettings {
    /// From `RUST_LOG`, `AWS_LAMBDA_LOG_LEVEL` and `METRICS_NAMESPACE` (the template
    /// sets the stack's name; else `tracking-status`).
    pub fn from_env() -> Self {
        LogSettings {
            rust_log: std::env::var("RUST_LOG").ok(),
            lambda_log_level: std::env::var("AWS_LAMBDA_LOG_LEVEL").ok(),
            metrics_namespace: std::env::var("METRICS_NAMESPACE")
                .ok()
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_string()),
        }
    }

    /// The filter: `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else (or if unreadable)
    /// `info`; plus `ALWAYS_ENABLED`.
    fn filter(&self) -> EnvFilter {
        let level = self
            .rust_log
            .as_deref()
            .or(self.lambda_log_level.as_deref())
            .map(str::to_lowercase)
            // Lambda's FATAL has no `tracing` level: ERROR is the least it can write.
            .map(|level| {
                if level == "fatal" {
                    "error".into()
                } else {
                    level
                }
            });
        let filter = level
            .and_then(|level| EnvFilter::try_new(level).ok())
            .unwrap_or_else(|| EnvFilter::new("info"));
        // Added last: each replaces a directive of the same target the level may hold.
        ALWAYS_ENABLED
            .iter()
            .filter_map(|directive| directive.parse().ok())
            .fold(filter, EnvFilter::add_directive)
    }

    /// Lambda's level filter, as the severity a request line's label must reach to
    /// pass it; `None` when Lambda keeps INFO lines (or no level is set).
    fn lambda_floor(&self) -> Option<Severity> {
        Severity::parse(self.lambda_log_level.as_deref()?)
            .filter(|severity| *severity > Severity::Info)
    }
}

/// Installs the JSON subscriber on stdout, with the settings of `LogSettings::from_env`.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(
        LogSettings::from_env(),
        std::io::stdout,
    ));
}

/// The subscriber `init` installs, writing to `writer`, with the level `level` (as
/// `RUST_LOG`), no Lambda level and the default namespace; tests capture logs with it.
pub fn json_subscriber<W>(level: Option<&str>, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    subscriber(
        LogSettings {
            rust_log: level.map(str::to_string),
            lambda_log_level: None,
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_string(),
        },
        writer,
    )
}

/// The subscriber `init` installs, with `settings`, writing to `writer`.
pub fn subscriber<W>(settings: LogSettings, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(settings.filter())
        .fmt_fields(JsonFields::new())
        .event_format(JsonLines::new(
            &settings.metrics_namespace,
            settings.lambda_floor(),
        ))
        .with_writer(writer)
        .finish()
}

/// The levels Lambda's log-level filter knows, least severe first (FATAL has no
/// `tracing` level: only a label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Severity {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Severity {
    fn parse(level: &str) -> Option<Self> {
        Some(match level.to_ascii_uppercase().as_str() {
            "TRACE" => Severity::Trace,
            "DEBUG" => Severity::Debug,
            "INFO" => Severity::Info,
            "WARN" => Severity::Warn,
            "ERROR" => Severity::Error,
            "FATAL" => Severity::Fatal,
            _ => return None,
        })
    }

    fn of(level: &Level) -> Self {
        match *level {
            Level::TRACE => Severity::Trace,
            Level::DEBUG => Severity::Debug,
            Level::INFO => Severity::Info,
            Level::WARN => Severity::Warn,
            _ => Severity::Error,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Severity::Trace => "TRACE",
            Severity::Debug => "DEBUG",
            Severity::Info => "INFO",
            Severity::Warn => "WARN",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
        }
    }
}

/// `{"timestamp", "level", "message", <the event's fields>, "span": {...}}`:
/// the fields at the top level (EMF reads its metrics there), and the current
/// span — under Lambda the runtime's invoke span, with the Lambda request id
/// and the X-Ray trace id.
struct JsonLines {
    /// EMF's `CloudWatchMetrics`: the same for every request line, so built once.
    metric_directives: Value,
    /// The same for the indexer's `UNREADABLE_TEST_EVENTS` line.
    unreadable_directives: Value,
    /// Lambda's own level filter (`LogSettings::lambda_floor`): a request line below it
    /// is labelled at it, or Lambda would drop the line and its metrics. Its `status`
    /// says how the request went.
    request_floor: Option<Severity>,
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
        let level = event.metadata().level();
        line.insert("level".into(), json!(level.as_str()));
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
            if let Some(floor) = self.request_floor
                && Severity::of(level) < floor
            {
                line.insert("level".into(), json!(floor.label()));
            }
        } else if line.get(UNREADABLE_TEST_EVENTS).is_some_and(Value::is_u64) {
            line.insert(
                "_aws".into(),
                json!({
                    "Timestamp": epoch_millis(),
                    "CloudWatchMetrics": self.unreadable_directives,
                }),
            );
        }
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

impl JsonLines {
    fn new(namespace: &str, request_floor: Option<Severity>) -> Self {
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
            unreadable_directives: json!([{
                "Namespace": namespace,
                "Dimensions": [[]],
                "Metrics": [{"Name": UNREADABLE_TEST_EVENTS, "Unit": "Count"}],
            }]),
            request_floor,
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
        lines_with(None, None, log)
    }

    /// The lines written with `RUST_LOG` = `rust_log` and `AWS_LAMBDA_LOG_LEVEL` =
    /// `lambda_log_level`.
    fn lines_with(
        rust_log: Option<&str>,
        lambda_log_level: Option<&str>,
        log: impl FnOnce(),
    ) -> Vec<Value> {
        let captured = Captured::default();
        let sink = captured.clone();
        let settings = LogSettings {
            rust_log: rust_log.map(str::to_string),
            lambda_log_level: lambda_log_level.map(str::to_string),
            metrics_namespace: DEFAULT_METRICS_NAMESPACE.to_string(),
        };
        tracing::subscriber::with_default(subscriber(settings, move || sink.clone()), log);
        String::from_utf8(captured.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// A 200's and a 500's request line, as `http.rs` writes them, between an
    /// ordinary INFO line and an ordinary WARN line, inside an invoke span as
    /// `lambda_runtime` opens it.
    fn requests_among_ordinary_lines() {
        let span = tracing::info_span!(
            target: "lambda_runtime::layers::trace",
            "Lambda runtime invoke",
            requestId = "abc-1"
        );
        let _entered = span.enter();
        tracing::info!("ordinary info");
        tracing::event!(
            target: REQUEST_TARGET,
            Level::INFO,
            status = 200u64,
            status_class = "2xx",
            duration_ms = 1.0,
            dynamodb_calls = 6u64,
            "request"
        );
        tracing::event!(
            target: REQUEST_TARGET,
            Level::ERROR,
            status = 500u64,
            status_class = "5xx",
            duration_ms = 1.0,
            dynamodb_calls = 6u64,
            "request failed"
        );
        tracing::warn!("ordinary warn");
    }

    /// (message, level) of each line.
    fn messages_and_levels(lines: &[Value]) -> Vec<(String, String)> {
        lines
            .iter()
            .map(|line| {
                assert_eq!(
                    line["_aws"].is_object(),
                    line["status"].is_number(),
                    "{line}"
                );
                // whatever the level, the line carries the Lambda request id
                assert_eq!(line["span"]["requestId"], "abc-1", "{line}");
                let text = |key: &str| line[key].as_str().unwrap().to_string();
                (text("message"), text("level"))
            })
            .collect()
    }

    fn expected(levels: [&str; 3]) -> Vec<(String, String)> {
        ["request", "request failed", "ordinary warn"]
            .into_iter()
            .zip(levels)
            .map(|(message, level)| (message.to_string(), level.to_string()))
            .collect()
    }

    /// `RUST_LOG=warn`: the request lines (the metrics) are still written, at their own
    /// level, and the ordinary INFO line is not.
    #[test]
    fn request_lines_are_written_whatever_rust_log_says() {
        for rust_log in ["warn", "WARN", "error,hyper=debug"] {
            let lines = lines_with(Some(rust_log), None, requests_among_ordinary_lines);
            let written = messages_and_levels(&lines);
            let mut expected = expected(["INFO", "ERROR", "WARN"]);
            if rust_log.starts_with("error") {
                expected.pop();
            }
            assert_eq!(written, expected, "RUST_LOG={rust_log}");
        }
        let off = lines_with(Some("off"), None, requests_among_ordinary_lines);
        assert_eq!(
            messages_and_levels(&off),
            expected(["INFO", "ERROR", "WARN"])[..2]
        );
        // and at the default level, once each
        let info = lines_with(None, None, requests_among_ordinary_lines);
        assert_eq!(info.len(), 4, "{info:?}");
    }

    /// `AWS_LAMBDA_LOG_LEVEL=WARN`: the same, and since Lambda itself drops every JSON
    /// line below its level, a request line below it is labelled at it.
    #[test]
    fn request_lines_are_labelled_to_pass_lambdas_own_level_filter() {
        let lines = lines_with(None, Some("WARN"), requests_among_ordinary_lines);
        assert_eq!(
            messages_and_levels(&lines),
            expected(["WARN", "ERROR", "WARN"])
        );
        // RUST_LOG decides what the process writes; Lambda's level still decides the label.
        let lines = lines_with(Some("debug"), Some("ERROR"), requests_among_ordinary_lines);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[1]["level"], "ERROR");
        assert_eq!(
            lines[0]["level"], "INFO",
            "not a request line: its own level"
        );
        // FATAL has no `tracing` level: ERROR lines are written, request lines say FATAL.
        let lines = lines_with(None, Some("FATAL"), requests_among_ordinary_lines);
        let written = messages_and_levels(&lines);
        assert_eq!(
            written,
            [("request", "FATAL"), ("request failed", "FATAL")]
                .map(|(message, level)| (message.to_string(), level.to_string()))
        );
        // At INFO or below, nothing is relabelled.
        for level in ["INFO", "debug"] {
            let lines = lines_with(None, Some(level), requests_among_ordinary_lines);
            let written = messages_and_levels(&lines);
            assert_eq!(written.len(), 4, "{level}");
            assert_eq!(written[1], ("request".into(), "INFO".into()), "{level}");
        }
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

    #[test]
    fn the_indexers_unreadable_line_is_an_emf_record_of_its_count() {
        let lines = lines_of(|| {
            tracing::error!(
                key = "id=7",
                field = "createdAt",
                unreadable_test_events = 1u64,
                "x"
            );
            tracing::error!(key = "id=8", "an ordinary error line");
        });
        let directive = &lines[0]["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], DEFAULT_METRICS_NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([[]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": UNREADABLE_TEST_EVENTS, "Unit": "Count"}])
        );
        assert_eq!(lines[0][UNREADABLE_TEST_EVENTS], 1);
        assert!(lines[1].get("_aws").is_none(), "{}", lines[1]);
    }

    /// docs/architecture.md ("Logs") shows a line as written: keys in alphabetical order, `_aws` first.
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
