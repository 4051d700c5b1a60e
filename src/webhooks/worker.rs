//! Delivers webhook events: claims due deliveries (several instances never the same
//! attempt), sends them concurrently, signed, with a 5 s timeout and no redirects, and
//! records each attempt. A failure is retried after the configured schedule with the
//! same `webhook-id`; after its last step the delivery is `failed`. An endpoint failing
//! every attempt for `WEBHOOK_DISABLE_AFTER_DAYS` is disabled and its company's admins
//! e-mailed.

use std::time::Duration;

use futures_util::StreamExt;

use tracing::Instrument;

use crate::clock::{self, Clock};
use crate::config::WebhookConfig;
use crate::db::DbPool;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::OutboxWaker;
use crate::shutdown::Shutdown;
use crate::telemetry::metrics::QueueMetrics;
use crate::webhooks::repo::{self, Attempt, DeliveryRow, WebhookRow};
use crate::webhooks::signing::signature_header;
use crate::webhooks::targets::{Refusal, TargetPolicy, delivery_client, is_forbidden};

/// Deliveries claimed at a time.
const BATCH: i64 = 256;
/// How long a claim holds: far beyond a batch of 5 s attempts.
const CLAIM_LOCK: Duration = Duration::from_secs(120);

pub struct Worker {
    db: DbPool,
    client: reqwest::Client,
    policy: TargetPolicy,
    config: WebhookConfig,
    clock: Clock,
    outbox: OutboxWaker,
    counts: QueueMetrics,
    shutdown: Shutdown,
}

impl Worker {
    pub fn new(
        db: DbPool,
        config: WebhookConfig,
        clock: Clock,
        outbox: OutboxWaker,
        counts: QueueMetrics,
        shutdown: Shutdown,
    ) -> Worker {
        let policy = TargetPolicy {
            allow_http: config.allow_http,
            allow_private: config.allow_private_targets,
        };
        Worker {
            client: delivery_client(policy),
            db,
            policy,
            config,
            clock,
            outbox,
            counts,
            shutdown,
        }
    }

    /// Runs until the shutdown, or until the task is dropped.
    pub async fn run(self) {
        while !self.shutdown.is_requested() {
            match self.deliver_due().await {
                Ok(claimed) if claimed > 0 => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "webhooks: cannot reach the database"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = self.shutdown.requested() => {}
            }
        }
    }

    /// Sends one batch of due deliveries; how many were claimed.
    pub async fn deliver_due(&self) -> Result<usize, AppError> {
        let now = self.clock.now();
        let lock_until = now + clock::duration(CLAIM_LOCK);
        let batch = self
            .db
            .run(move |conn| repo::claim_due(conn, BATCH, now, lock_until))
            .await?;
        let claimed = batch.len();
        if claimed == 0 {
            return Ok(0);
        }
        // Each attempt starts only while the instance runs; once it stops, the attempts in
        // flight finish and the rest are given back unsent.
        let outcomes: Vec<Result<Attempt, String>> = futures_util::stream::iter(batch)
            .map(|(delivery, webhook)| async move {
                if self.shutdown.is_requested() {
                    Err(delivery.id)
                } else {
                    Ok(self.attempt(delivery, webhook).await)
                }
            })
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        let (attempts, unsent): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
        let attempts: Vec<Attempt> = attempts.into_iter().flatten().collect();
        let unsent: Vec<String> = unsent.into_iter().filter_map(Result::err).collect();
        if !unsent.is_empty() {
            let count = unsent.len();
            self.db
                .run(move |conn| repo::release_claims(conn, &unsent))
                .await?;
            tracing::info!(count, "webhooks: claims given back at shutdown");
        }
        let delivered = attempts.iter().filter(|a| a.delivered()).count() as u64;
        let failed = attempts.len() as u64 - delivered;
        let now = self.clock.now();
        let disable_before = now - clock::duration(self.config.disable_after);
        let disabled = self
            .db
            .transaction(move |conn| {
                let disabled = repo::record_attempts(conn, &attempts, now, disable_before)?;
                for webhook in &disabled {
                    for admin in
                        crate::memberships::repo::admin_addresses(conn, &webhook.company_id)?
                    {
                        crate::mail::enqueue(
                            conn,
                            &admin,
                            super::mails::DISABLED,
                            Lang::De,
                            super::mails::params(&webhook.id),
                        )?;
                    }
                }
                Ok(disabled.len())
            })
            .await?;
        self.counts.done.inc_by(delivered);
        self.counts.failed.inc_by(failed);
        if disabled > 0 {
            tracing::warn!(
                disabled,
                "webhooks: endpoints disabled after failing for days"
            );
            self.outbox.wake();
        }
        Ok(claimed)
    }

    /// One attempt of one delivery.
    async fn attempt(&self, delivery: DeliveryRow, webhook: WebhookRow) -> Attempt {
        let span = delivery_span(&delivery);
        let outcome = self
            .send(&delivery, &webhook)
            .instrument(span.clone())
            .await;
        match &outcome {
            Ok(code) => span.record("http.response.status_code", code),
            Err(_) => span.record("otel.status_code", "ERROR"),
        };
        let (status_code, error) = match outcome {
            Ok(code) if (200..300).contains(&code) => (Some(code), None),
            Ok(code) => (
                Some(code),
                Some(format!("the receiver answered HTTP {code}")),
            ),
            Err(error) => (None, Some(error)),
        };
        let retry_at = match &error {
            None => None,
            Some(_) => usize::try_from(delivery.attempts)
                .ok()
                .and_then(|attempts| self.config.retry_schedule.get(attempts.saturating_sub(1)))
                .map(|wait| self.clock.now() + clock::duration(*wait)),
        };
        if let Some(error) = &error {
            tracing::info!(
                delivery_id = %delivery.id,
                webhook_id = %webhook.id,
                attempts = delivery.attempts,
                will_retry = retry_at.is_some(),
                %error,
                "webhook delivery failed"
            );
        }
        Attempt {
            delivery_id: delivery.id,
            webhook_id: webhook.id,
            status_code,
            error,
            retry_at,
        }
    }

    /// Sends the delivery; the receiver's status, or why nothing was received.
    async fn send(&self, delivery: &DeliveryRow, webhook: &WebhookRow) -> Result<i32, String> {
        let url = self.policy.parse(&webhook.url).map_err(|e| e.to_string())?;
        // Names go through the guarded resolver; a literal address is checked here.
        if !self.policy.allow_private
            && let Some(host) = url.host_str()
            && let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse()
            && is_forbidden(ip)
        {
            return Err(Refusal::PrivateTarget.to_string());
        }
        let now = self.clock.now();
        let timestamp = now.and_utc().timestamp();
        let signature = signature_header(
            &webhook.signing_secrets(now),
            &delivery.message_id,
            timestamp,
            delivery.body.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone());
        // The delivery's own span when traces are exported; else a new span id in the
        // causing request's trace.
        let traceparent = crate::telemetry::traces::current_traceparent()
            .or_else(|| delivery.traceparent.as_deref().map(child_span));
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        match request.send().await {
            Ok(response) => Ok(i32::from(response.status().as_u16())),
            Err(error) => Err(describe(&error)),
        }
    }
}

/// The client span of one delivery attempt, in the trace of the change that caused the
/// event (when traces are exported).
fn delivery_span(delivery: &DeliveryRow) -> tracing::Span {
    if !crate::telemetry::traces::exporting() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        parent: None,
        "webhook delivery",
        otel.name = %format!("POST {}", delivery.event_type),
        otel.kind = "client",
        webhook.event_type = %delivery.event_type,
        webhook.attempt = delivery.attempts,
        http.request.method = "POST",
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if let Some(traceparent) = &delivery.traceparent {
        crate::telemetry::traces::set_parent_from(&span, traceparent);
    }
    span
}

/// The trace of `parent` with a span of this delivery: `00-<trace>-<new id>-<flags>`.
fn child_span(parent: &str) -> String {
    let parts: Vec<&str> = parent.split('-').collect();
    match parts.as_slice() {
        [version, trace, _, flags] => {
            let span: u64 = rand::random::<u64>().max(1);
            format!("{version}-{trace}-{span:016x}-{flags}")
        }
        _ => parent.to_string(),
    }
}

/// An error with its causes: reqwest's own message rarely says why.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_continues_the_callers_trace_with_a_span_of_its_own() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let child = child_span(parent);
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(child.ends_with("-01"));
        assert_ne!(child, parent);
        assert_eq!(child.len(), parent.len());
    }
}
