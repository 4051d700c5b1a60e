//! Graceful shutdown, for rollouts without a failed request. On SIGTERM (or SIGINT, or
//! [`Shutdown::begin`] in tests) the instance drains: `/health/ready` answers 503 at once
//! so that load balancers stop routing to it, and every answer carries `Connection:
//! close` so that clients open their next connection elsewhere. After
//! `SHUTDOWN_DRAIN_SECS` the listener stops accepting; requests in flight finish, up to
//! `SHUTDOWN_GRACE_SECS`. The e-mail and webhook workers finish the item in hand and give
//! back the claims of the rest, so another instance sends them at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// Shared by the server, its handlers and the workers; every clone sees the same state.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requested: AtomicBool,
    notify: Notify,
}

impl Shutdown {
    /// Starts the drain (idempotent).
    pub fn begin(&self) {
        if !self.inner.requested.swap(true, Ordering::SeqCst) {
            self.inner.notify.notify_waiters();
        }
    }

    /// Whether the instance is draining or stopping.
    pub fn is_requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// Resolves once [`Shutdown::begin`] has been called.
    pub async fn requested(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_requested() {
                return;
            }
            notified.await;
        }
    }
}

/// SIGTERM (what orchestrators send) and SIGINT (Ctrl-C), caught from the moment they
/// are registered. Register them before the listener opens: a SIGTERM that arrives
/// while the instance starts (it may already answer `/health/ready`) must drain it; before
/// registration the signal's default would kill the process at once.
pub struct Signals {
    #[cfg(unix)]
    caught: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Registers the handlers now (inside a Tokio runtime).
    pub fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let caught = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                _ => {
                    tracing::error!(
                        "cannot listen for SIGTERM and SIGINT; stop the process with SIGKILL"
                    );
                    None
                }
            };
            Signals { caught }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Begins `shutdown` on the first signal.
    pub async fn begin_on_signal(self, shutdown: Shutdown) {
        #[cfg(unix)]
        {
            let Some((mut term, mut int)) = self.caught else {
                return;
            };
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "shutdown requested");
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            tracing::info!("shutdown requested");
        }
        shutdown.begin();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_hears_the_one_request_also_when_it_listens_late() {
        let shutdown = Shutdown::default();
        let early = shutdown.clone();
        let waiting = tokio::spawn(async move { early.requested().await });
        tokio::task::yield_now().await;
        shutdown.begin();
        shutdown.begin();
        waiting.await.unwrap();
        // A listener that arrives after the request returns at once.
        shutdown.clone().requested().await;
        assert!(shutdown.is_requested());
    }
}
