//! JSON log lines, one object per line, as CloudWatch Logs Insights reads them.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Installs the JSON subscriber on stdout. The level comes from `RUST_LOG`, else
/// from Lambda's `AWS_LAMBDA_LOG_LEVEL` (set by the template's LoggingConfig), else `info`.
pub fn init() {
    let level = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok());
    let _ =
        tracing::subscriber::set_global_default(json_subscriber(level.as_deref(), std::io::stdout));
}

/// The subscriber `init` installs, writing to `writer`; tests capture logs with it.
pub fn json_subscriber<W>(level: Option<&str>, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = level
        .map(str::to_lowercase)
        .and_then(|level| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        // Under Lambda the current span is the runtime's invoke span: it adds the
        // Lambda request id and X-Ray trace id to every line.
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
        .finish()
}
