//! Delivers outbox e-mails over SMTP (or to the log in development) with exponential
//! backoff. Runs in every instance; claiming in the database keeps them from sending
//! the same e-mail twice. Each mail is composed right before it is sent (see `mail`).

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use tracing::Instrument;

use crate::clock;
use crate::config::MailConfig;
use crate::db::DbPool;
use crate::error::{AppError, GeneralProblem};
use crate::mail::files::MailFiles;
use crate::mail::outbox::{self, QueuedMail};
use crate::mail::{Composer, Email, LinkSettings, OutboxWaker, Prepared};
use crate::shutdown::Shutdown;
use crate::telemetry::metrics::QueueMetrics;

const BATCH: i64 = 10;
const CLAIM_LOCK: Duration = Duration::from_secs(120);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP: the e-mail, link included, goes to the log, and to an
    /// `.eml` file when a folder is configured (see `mail::files`).
    Log(Option<MailFiles>),
}

impl Transport {
    pub fn from_config(config: &MailConfig) -> Result<Transport, String> {
        match &config.smtp_url {
            None => Ok(Transport::Log(config.files_dir.clone().map(MailFiles::new))),
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                .map(|builder| {
                    Transport::Smtp(builder.timeout(Some(Duration::from_secs(10))).build())
                })
                .map_err(|e| format!("SMTP_URL is not a valid SMTP URL: {e}")),
        }
    }

    async fn send(&self, from: &Mailbox, recipient: &str, email: &Email) -> Result<(), String> {
        match self {
            Transport::Log(files) => {
                tracing::info!(
                    to = %recipient,
                    subject = %email.subject,
                    body = %email.text,
                    "e-mail (no SMTP_URL configured, written to the log)"
                );
                if let Some(files) = files {
                    let path = files.write(&message(from, recipient, email)?).await;
                    let path = path.map_err(|e| format!("cannot write the e-mail file: {e}"))?;
                    tracing::info!(file = %path.display(), "e-mail written as a file");
                }
                Ok(())
            }
            Transport::Smtp(smtp) => smtp
                .send(message(from, recipient, email)?)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

/// The e-mail as a MIME message: plain text and HTML as alternatives.
fn message(from: &Mailbox, recipient: &str, email: &Email) -> Result<Message, String> {
    let to: Mailbox = recipient
        .parse()
        .map_err(|e| format!("invalid recipient: {e}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&email.subject)
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| format!("cannot build message: {e}"))
}

pub struct Worker {
    pub db: DbPool,
    pub transport: Transport,
    pub from: Mailbox,
    pub waker: OutboxWaker,
    pub composer: Composer,
    pub links: LinkSettings,
    pub poll_interval: Duration,
    pub retry_base: Duration,
    pub max_attempts: i32,
    /// Sent and failed counts for the metrics.
    pub counts: QueueMetrics,
    /// Once requested, the worker finishes the e-mail in hand and stops.
    pub shutdown: Shutdown,
}

impl Worker {
    /// Runs until the shutdown, or until the task is dropped.
    pub async fn run(self) {
        while !self.shutdown.is_requested() {
            let delivered = match self.deliver_due().await {
                Ok(count) => count,
                Err(error) => {
                    tracing::warn!(%error, "outbox: cannot reach the database");
                    0
                }
            };
            if delivered == 0 {
                tokio::select! {
                    _ = self.waker.woken() => {}
                    _ = tokio::time::sleep(self.poll_interval) => {}
                    _ = self.shutdown.requested() => {}
                }
            }
        }
    }

    /// Sends one batch of due e-mails; returns how many were claimed.
    pub async fn deliver_due(&self) -> Result<usize, AppError> {
        let lock_until = clock::now() + clock::duration(CLAIM_LOCK);
        let batch = self
            .db
            .run(move |conn| outbox::claim_due(conn, BATCH, lock_until))
            .await?;
        let claimed = batch.len();
        let mut batch = batch.into_iter();
        for mail in batch.by_ref() {
            let span = send_span(&mail);
            self.deliver(mail).instrument(span).await?;
            if self.shutdown.is_requested() {
                break;
            }
        }
        // Stopping: what was claimed but not started goes back at once, for another
        // instance to send.
        let unsent: Vec<String> = batch.map(|mail| mail.id).collect();
        if !unsent.is_empty() {
            let count = unsent.len();
            self.db
                .run(move |conn| outbox::release_claims(conn, &unsent))
                .await?;
            tracing::info!(count, "outbox: claims given back at shutdown");
        }
        Ok(claimed)
    }

    async fn deliver(&self, mail: QueuedMail) -> Result<(), AppError> {
        let id = mail.id.clone();
        let prepared = {
            let (composer, links, mail) = (self.composer, self.links.clone(), mail.clone());
            self.db
                .transaction(move |conn| composer(conn, &mail, &links))
                .await
        };
        let outcome = match prepared {
            Ok(Prepared::Drop(reason)) => {
                tracing::info!(outbox_id = %id, reason, "e-mail not needed any more");
                return self
                    .db
                    .run(move |conn| outbox::mark_dropped(conn, &id, reason))
                    .await;
            }
            Ok(Prepared::Send(email)) => self
                .transport
                .send(&self.from, &mail.recipient, &email)
                .await
                .map(|()| email.subject),
            // The database is gone: the claim lapses and the mail is tried again later.
            Err(error) if error.spec() == GeneralProblem::ServiceUnavailable.spec() => {
                return Err(error);
            }
            Err(error) => Err(format!("cannot compose: {error}")),
        };
        match outcome {
            Ok(subject) => {
                tracing::info!(outbox_id = %id, "e-mail delivered");
                self.counts.done.inc();
                self.db
                    .run(move |conn| outbox::mark_sent(conn, &id, &subject))
                    .await
            }
            Err(error) => {
                let retry_at = (mail.attempts < self.max_attempts)
                    .then(|| clock::now() + clock::duration(self.backoff(mail.attempts)));
                tracing::warn!(outbox_id = %id, attempts = mail.attempts, %error, will_retry = retry_at.is_some(), "e-mail delivery failed");
                self.counts.failed.inc();
                self.db
                    .run(move |conn| outbox::mark_failed(conn, &id, &error, retry_at))
                    .await
            }
        }
    }

    /// base · 2^(attempts−1), at most an hour.
    fn backoff(&self, attempts: i32) -> Duration {
        let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
        self.retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(MAX_BACKOFF)
    }
}

/// The span of sending one e-mail, in the trace of the request that queued it (when
/// traces are exported).
fn send_span(mail: &QueuedMail) -> tracing::Span {
    if !crate::telemetry::traces::exporting() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        parent: None,
        "send email",
        otel.kind = "client",
        email.template = %mail.template,
        email.attempt = mail.attempts,
    );
    if let Some(traceparent) = &mail.traceparent {
        crate::telemetry::traces::set_parent_from(&span, traceparent);
    }
    span
}
