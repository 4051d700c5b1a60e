//! What operators see of the service: structured logging with `tracing` (here; lines
//! are written by a background thread, so a request never waits for the terminal or a
//! log pipe) and Prometheus metrics ([`metrics`]).

pub mod metrics;

use std::io::IsTerminal;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Keeps the log writer alive; dropping it flushes what is still queued.
pub struct LogGuard(#[allow(dead_code)] Option<WorkerGuard>);

/// Where the log goes: the server's to standard output, a command's to standard
/// error, so that its standard output holds only what it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

/// Installs the global subscriber; `RUST_LOG` overrides the default level. Colours only
/// on a terminal, and never with `NO_COLOR` set (<https://no-color.org>).
pub fn init(format: LogFormat, stream: LogStream) -> LogGuard {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    // Lossless: when the queue is full the caller waits rather than a line being lost.
    let builder = NonBlockingBuilder::default().lossy(false);
    let (writer, guard, terminal) = match stream {
        LogStream::Stdout => {
            let (writer, guard) = builder.finish(std::io::stdout());
            (writer, guard, std::io::stdout().is_terminal())
        }
        LogStream::Stderr => {
            let (writer, guard) = builder.finish(std::io::stderr());
            (writer, guard, std::io::stderr().is_terminal())
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal && !no_color)
        .with_writer(writer);
    let installed = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    LogGuard(installed.is_ok().then_some(guard))
}
