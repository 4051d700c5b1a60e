//! Prometheus metrics, named after the OpenTelemetry semantic conventions in their
//! Prometheus form. Each instance has its own registry (no global state, so several
//! instances in one test process never mix their figures), served as text on its own
//! listener (`METRICS_BIND_ADDR`), never on the public port.
//!
//! A scrape reads memory only: the pool and hashing-queue figures at that moment, and the
//! outbox and webhook gauges as [`refresh_queue_gauges`] last read them from the database
//! (every `METRICS_DB_REFRESH_SECS`, default 15 s). However many scrapes come, the
//! database sees one query per queue and interval.

use std::time::Duration;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::auth::password::PasswordHasher;
use crate::clock::Clock;
use crate::db::DbPool;

/// The bucket bounds the OpenTelemetry HTTP conventions recommend for request durations,
/// in seconds.
pub const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The route label of a request that matched no route: unknown paths add no series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The outcomes of [`Metrics::link_attempted`].
pub const LINK_OUTCOMES: &[&str] = &[
    "linked",
    "already_linked",
    "not_matched",
    "taken",
    "refused",
];

/// Every metric of one instance.
pub struct Metrics {
    registry: Registry,
    /// Off when the listener is off: nobody reads the request histogram then, and the
    /// hot path skips it.
    http_enabled: bool,
    http_duration: HistogramVec,
    db_connections: IntGaugeVec,
    db_connection_max: IntGauge,
    hash_queue_depth: IntGauge,
    /// The e-mail outbox.
    pub outbox: QueueMetrics,
    /// Webhook deliveries.
    pub webhooks: QueueMetrics,
    rate_limit_refusals: IntCounterVec,
    links: IntCounterVec,
    applications_submitted: IntCounter,
    applications_decided: IntCounterVec,
    customer_codes_generated: IntCounter,
    tickets_cancelled: IntCounter,
    db: DbPool,
    hasher: PasswordHasher,
}

/// A queue worked off in the background: what waits, since when, and what was done.
#[derive(Clone)]
pub struct QueueMetrics {
    pending: IntGauge,
    oldest_pending_age: Gauge,
    /// Items sent successfully.
    pub done: IntCounter,
    /// Attempts that failed (each failed try, retried or not).
    pub failed: IntCounter,
}

impl QueueMetrics {
    fn new(
        registry: &Registry,
        prefix: &str,
        what: &str,
        done: &str,
    ) -> Result<Self, prometheus::Error> {
        Ok(QueueMetrics {
            pending: register(
                registry,
                IntGauge::new(
                    format!("{prefix}_pending"),
                    format!("{what} waiting to be sent (read from the database)"),
                )?,
            )?,
            oldest_pending_age: register(
                registry,
                Gauge::new(
                    format!("{prefix}_oldest_pending_age_seconds"),
                    format!("Age of the oldest of the {what} waiting; 0 when none waits"),
                )?,
            )?,
            done: register(
                registry,
                IntCounter::new(
                    format!("{prefix}_{done}_total"),
                    format!("{what} sent successfully by this instance"),
                )?,
            )?,
            failed: register(
                registry,
                IntCounter::new(
                    format!("{prefix}_failed_total"),
                    format!("Attempts to send {what} that failed in this instance"),
                )?,
            )?,
        })
    }

    /// What the database says waits now.
    pub fn set_pending(&self, pending: i64, oldest_age: Duration) {
        self.pending.set(pending);
        self.oldest_pending_age.set(oldest_age.as_secs_f64());
    }
}

fn register<M: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    metric: M,
) -> Result<M, prometheus::Error> {
    registry.register(Box::new(metric.clone()))?;
    Ok(metric)
}

impl Metrics {
    /// Registers every metric; `http_enabled` is whether anyone can scrape them.
    pub fn new(
        db: DbPool,
        hasher: PasswordHasher,
        http_enabled: bool,
    ) -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        registry.register(Box::new(db.wait_time_histogram()))?;
        // Spans the trace exporter dropped (queue full or export failed): one process-wide
        // count (the exporter is the process's), shown by every instance's registry.
        registry.register(Box::new(super::traces::SPANS_DROPPED.clone()))?;
        registry.register(Box::new(hasher.duration_histogram()))?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            register(&registry, IntCounter::new(name, help)?)
        };
        let counter_vec =
            |name: &str, help: &str, label: &str| -> Result<IntCounterVec, prometheus::Error> {
                register(
                    &registry,
                    IntCounterVec::new(Opts::new(name, help), &[label])?,
                )
            };
        let metrics = Metrics {
            http_enabled,
            http_duration: register(
                &registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "http_server_request_duration_seconds",
                        "Duration of HTTP server requests",
                    )
                    .buckets(DURATION_BUCKETS.to_vec()),
                    &[
                        "http_request_method",
                        "http_route",
                        "http_response_status_code",
                    ],
                )?,
            )?,
            db_connections: register(
                &registry,
                IntGaugeVec::new(
                    Opts::new(
                        "db_client_connection_count",
                        "Database connections open, by state",
                    ),
                    &["state"],
                )?,
            )?,
            db_connection_max: register(
                &registry,
                IntGauge::new(
                    "db_client_connection_max",
                    "The most database connections the pools may open",
                )?,
            )?,
            hash_queue_depth: register(
                &registry,
                IntGauge::new(
                    "firmenportal_password_hash_queue_depth",
                    "Password hashes and verifications waiting for a hashing thread",
                )?,
            )?,
            outbox: QueueMetrics::new(&registry, "firmenportal_outbox", "E-mails", "sent")?,
            webhooks: QueueMetrics::new(
                &registry,
                "firmenportal_webhook_deliveries",
                "Webhook deliveries",
                "delivered",
            )?,
            rate_limit_refusals: counter_vec(
                "firmenportal_rate_limit_refusals_total",
                "Requests refused with 429 by a rate limit, by limit",
                "limit",
            )?,
            links: counter_vec(
                "firmenportal_links_total",
                "Attempts to link a subscription to an account, by outcome",
                "outcome",
            )?,
            applications_submitted: counter(
                "firmenportal_applications_submitted_total",
                "Orders (applications) submitted with a customer code",
            )?,
            applications_decided: counter_vec(
                "firmenportal_applications_decided_total",
                "Applications approved or rejected, by decision",
                "decision",
            )?,
            customer_codes_generated: counter(
                "firmenportal_customer_codes_generated_total",
                "Customer codes generated",
            )?,
            tickets_cancelled: counter(
                "firmenportal_tickets_cancelled_total",
                "Tickets cancelled by their holders or their employers",
            )?,
            registry,
            db,
            hasher,
        };
        metrics
            .db_connection_max
            .set(i64::from(metrics.db.max_size()));
        // Every known label value from 0, so that a first event is an increase that
        // `rate()` and `increase()` see.
        for limit in crate::rate_limit::LIMIT_NAMES {
            metrics.rate_limit_refusals.with_label_values(&[limit]);
        }
        for outcome in LINK_OUTCOMES {
            metrics.links.with_label_values(&[outcome]);
        }
        for decision in ["approved", "rejected"] {
            metrics.applications_decided.with_label_values(&[decision]);
        }
        Ok(metrics)
    }

    /// Records one answered request. `route` is the matched route's template, never the
    /// raw path.
    pub fn observe_request(&self, method: &str, route: Option<&str>, status: u16, elapsed: f64) {
        if !self.http_enabled {
            return;
        }
        let status = status.to_string();
        self.http_duration
            .with_label_values(&[
                known_method(method),
                route.unwrap_or(UNMATCHED_ROUTE),
                &status,
            ])
            .observe(elapsed);
    }

    /// A `429` of the named limit.
    pub fn rate_limit_refused(&self, limit: &str) {
        self.rate_limit_refusals.with_label_values(&[limit]).inc();
    }

    /// A link attempt ended: `linked`, `already_linked` (to the same account),
    /// `not_matched`, `taken` (by another account) or `refused` (over a limit).
    pub fn link_attempted(&self, outcome: &str) {
        self.links.with_label_values(&[outcome]).inc();
    }

    pub fn application_submitted(&self) {
        self.applications_submitted.inc();
    }

    /// `approved` or `rejected`.
    pub fn application_decided(&self, decision: &str) {
        self.applications_decided
            .with_label_values(&[decision])
            .inc();
    }

    pub fn customer_code_generated(&self) {
        self.customer_codes_generated.inc();
    }

    pub fn ticket_cancelled(&self) {
        self.tickets_cancelled.inc();
    }

    /// The text exposition, with the pool and queue figures of this moment.
    pub fn render(&self) -> String {
        let (used, idle) = self.db.connections_in_use_and_idle();
        self.db_connections
            .with_label_values(&["used"])
            .set(i64::from(used));
        self.db_connections
            .with_label_values(&["idle"])
            .set(i64::from(idle));
        self.hash_queue_depth
            .set(i64::try_from(self.hasher.queued()).unwrap_or(i64::MAX));
        let mut text = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::error!(%error, "metrics cannot be encoded");
        }
        String::from_utf8(text).unwrap_or_default()
    }
}

/// The method as the conventions name it; anything else is `_OTHER`, so made-up methods
/// add no series.
fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "_OTHER",
    }
}

/// A histogram for a component to own and observe; [`Metrics::new`] registers it.
pub fn seconds_histogram(name: &str, help: &str) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(DURATION_BUCKETS.to_vec()))
        .expect("a histogram with a static name and increasing buckets")
}

/// Reads the outbox and webhook queues from the database every `interval` and sets their
/// gauges; runs while the metrics listener is on.
pub async fn refresh_queue_gauges(
    metrics: std::sync::Arc<Metrics>,
    db: DbPool,
    clock: Clock,
    interval: Duration,
) {
    loop {
        let now = clock.now();
        let read = db
            .read(|conn| {
                Ok((
                    crate::mail::outbox::pending_summary(conn)?,
                    crate::webhooks::repo::pending_summary(conn)?,
                ))
            })
            .await;
        match read {
            Ok((outbox, webhooks)) => {
                for (queue, (pending, oldest)) in
                    [(&metrics.outbox, outbox), (&metrics.webhooks, webhooks)]
                {
                    let age = oldest
                        .and_then(|at| (now - at).to_std().ok())
                        .unwrap_or_default();
                    queue.set_pending(pending, age);
                }
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot read the queues"),
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(known_method("GET"), "GET");
        assert_eq!(known_method("BREW"), "_OTHER");
        assert_eq!(known_method("get"), "_OTHER");
    }
}
