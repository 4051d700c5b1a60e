//! What operators see of the service: structured logging with `tracing` (here; lines
//! are written by a background thread, so a request never waits for the terminal or a
//! log pipe) and Prometheus metrics ([`metrics`]).

pub mod metrics;
pub mod traces;

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// Lines the log writer's queue holds before a caller waits (see `init`).
const LOG_QUEUE_LINES: usize = 8192;

/// How long the log's writer thread waits after a write before it takes the next lines.
const LOG_BATCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// The log's output as its writer thread uses it. That thread takes each line from its
/// queue, writes it, and flushes once the queue is empty; under load that is after every
/// line: a `write` for each, and each request wakes the thread, parked on the empty
/// queue. This writer gathers the lines until the flush, writes them at once, and then
/// pauses, so that the next lines gather in the queue meanwhile (unparked, the thread
/// needs no wake-up): one write and one wake-up a batch, at most `LOG_BATCH_PAUSE` late.
struct Batched<W: std::io::Write> {
    out: std::io::BufWriter<W>,
}

impl<W: std::io::Write> Batched<W> {
    fn new(out: W) -> Self {
        Batched {
            out: std::io::BufWriter::with_capacity(64 * 1024, out),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Batched<W> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.out.write(line)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        std::thread::sleep(LOG_BATCH_PAUSE);
        Ok(())
    }
}

/// Keeps the log writer and the trace exporter alive; dropping it flushes what is still
/// queued (the spans first, so that their last log lines are written too).
pub struct LogGuard {
    _traces: Option<traces::TracesGuard>,
    _log: Option<WorkerGuard>,
}

/// Where the log goes: the server's to standard output, a command's to standard
/// error, so that its standard output holds only what it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// Installs the global subscriber; `RUST_LOG` overrides the default level. Colours only
/// on a terminal, and never with `NO_COLOR` set (<https://no-color.org>). With an OTLP
/// endpoint in the environment ([`traces::configured`]), spans are exported too.
pub fn init(format: LogFormat, stream: LogStream) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    // Lossless: when the queue is full the caller waits rather than a line being lost.
    // The queue is allocated and written in full at start: the default of 128,000 lines
    // held 4 MB for good, a fifth of the server at rest. 8,192 lines are most of a second
    // of access log at full load, more than the writer ever lags behind.
    let builder = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_QUEUE_LINES);
    let (writer, log_guard, terminal) = match stream {
        LogStream::Stdout => {
            let (writer, guard) = builder.finish(Batched::new(std::io::stdout()));
            (writer, guard, std::io::stdout().is_terminal())
        }
        LogStream::Stderr => {
            let (writer, guard) = builder.finish(Batched::new(std::io::stderr()));
            (writer, guard, std::io::stderr().is_terminal())
        }
    };
    let (tracer, traces_guard, traces_error) = if traces::configured() {
        match traces::tracer() {
            Ok((tracer, guard)) => (Some(tracer), Some(guard), None),
            Err(error) => (None, None, Some(error)),
        }
    } else {
        (None, None, None)
    };
    let otel = tracer.map(|tracer| tracing_opentelemetry::layer().with_tracer(tracer));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(terminal && !no_color)
        .with_writer(writer);
    let fmt = match format {
        // The request's fields once, under `span`: the list of all spans (`spans`) would
        // repeat them, and the formatter parses and re-escapes a span's stored fields for
        // each.
        LogFormat::Json => fmt.json().flatten_event(true).with_span_list(false).boxed(),
        LogFormat::Pretty => fmt.boxed(),
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    if let Some(error) = traces_error {
        tracing::error!(%error, "traces cannot be exported; serving without them");
    }
    LogGuard {
        _traces: traces_guard,
        _log: installed.is_ok().then_some(log_guard),
    }
}
