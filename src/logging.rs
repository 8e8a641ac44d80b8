//! Log set-up: a compact text line or one JSON object per line, on standard error, filtered by
//! `RUST_LOG` (default `info`). Lines go through a non-blocking writer (a thread of its own
//! writes them), so a slow terminal or disk never holds a request up; it blocks rather than
//! drops when its queue is full, so no line is lost. Colour only when standard error is a
//! terminal: escape codes in a file are noise and bytes.

use std::io::IsTerminal;
use std::sync::OnceLock;

use serde::Deserialize;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The writer thread's guard: kept for the life of the process. The commands that log call
/// [`flush`] before they exit, so the last lines are written.
static GUARD: OnceLock<std::sync::Mutex<Option<WorkerGuard>>> = OnceLock::new();

/// The writer thread writes what is queued in one system call, up to this many bytes, and
/// flushes whenever the queue is empty: a busy server wrote one `write` per line (a fifth of
/// the cost of a cached read), and a quiet one still sees each line at once.
const LINE_BATCH_BYTES: usize = 64 * 1024;

/// Install the global subscriber (once per process; later calls do nothing).
pub fn init(format: LogFormat) {
    let _ = install(format, None);
}

/// Install the global subscriber with spans also exported over OpenTelemetry when `tracing` is
/// set; the exporter to shut down at exit. Called in the runtime (the exporter sends on it).
pub fn init_traced(
    format: LogFormat,
    tracing: Option<&crate::telemetry::TracingConfig>,
) -> Result<Option<crate::telemetry::Tracing>, String> {
    install(format, tracing)
}

fn install(
    format: LogFormat,
    tracing: Option<&crate::telemetry::TracingConfig>,
) -> Result<Option<crate::telemetry::Tracing>, String> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // 16,384 lines wait at most (half a second at the busiest we measured): the channel's
    // slots are allocated up front, and the default 128,000 cost 4 MB of resident memory.
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(16_384)
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(
            LINE_BATCH_BYTES,
            std::io::stderr(),
        ));
    let lines = tracing_subscriber::fmt::layer().with_writer(writer);
    // The filter is the log's own: the tracing layer beside it takes the spans it leaves out.
    let lines = match format {
        LogFormat::Text => lines
            .compact()
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => lines
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
    };
    let (spans, exporter) = match tracing {
        Some(cfg) => {
            let (layer, exporter) = crate::telemetry::layer(cfg)?;
            (Some(layer), Some(exporter))
        }
        None => (None, None),
    };
    // `try_init`: a second initialisation (a test harness, a command that re-initialises)
    // keeps the first subscriber instead of panicking.
    let installed = tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .try_init();
    if installed.is_ok() {
        let _ = GUARD.set(std::sync::Mutex::new(Some(guard)));
        Ok(exporter)
    } else {
        Ok(None)
    }
}

/// Write out every line logged so far (at exit).
pub fn flush() {
    if let Some(g) = GUARD.get() {
        if let Ok(mut g) = g.lock() {
            g.take();
        }
    }
}
