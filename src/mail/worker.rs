//! Delivers outbox e-mails over SMTP (or to the log in development) with exponential
//! backoff. Runs in every instance; claiming in the database keeps them from sending
//! the same e-mail twice.

use std::time::Duration;

use chrono::Utc;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Config;
use crate::db::DbPool;
use crate::mail::OutboxWaker;
use crate::mail::outbox::{self, OutboxMail};

const BATCH: i64 = 10;
const CLAIM_LOCK: Duration = Duration::from_secs(120);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Development without SMTP: the e-mail, link included, goes to the log.
    Log,
}

impl Transport {
    pub fn from_config(config: &Config) -> Result<Transport, String> {
        match &config.smtp_url {
            None => Ok(Transport::Log),
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                .map(|builder| {
                    Transport::Smtp(builder.timeout(Some(Duration::from_secs(10))).build())
                })
                .map_err(|e| format!("SMTP_URL is not a valid SMTP URL: {e}")),
        }
    }

    async fn send(&self, from: &Mailbox, mail: &OutboxMail) -> Result<(), String> {
        match self {
            Transport::Log => {
                tracing::info!(
                    to = %mail.recipient,
                    subject = %mail.subject,
                    body = %mail.text_body,
                    "e-mail (no SMTP_URL configured, written to the log)"
                );
                Ok(())
            }
            Transport::Smtp(smtp) => {
                let to: Mailbox = mail
                    .recipient
                    .parse()
                    .map_err(|e| format!("invalid recipient: {e}"))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(&mail.subject)
                    .multipart(MultiPart::alternative_plain_html(
                        mail.text_body.clone(),
                        mail.html_body.clone(),
                    ))
                    .map_err(|e| format!("cannot build message: {e}"))?;
                smtp.send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    }
}

pub struct Worker {
    pub db: DbPool,
    pub transport: Transport,
    pub from: Mailbox,
    pub waker: OutboxWaker,
    pub poll_interval: Duration,
    pub retry_base: Duration,
    pub max_attempts: i32,
}

impl Worker {
    /// Runs until the task is dropped.
    pub async fn run(self) {
        loop {
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
                }
            }
        }
    }

    /// Sends one batch of due e-mails; returns how many were claimed.
    async fn deliver_due(&self) -> Result<usize, crate::error::AppError> {
        let lock_until =
            Utc::now().naive_utc() + chrono::Duration::from_std(CLAIM_LOCK).unwrap_or_default();
        let batch = self
            .db
            .run(move |conn| outbox::claim_due(conn, BATCH, lock_until))
            .await?;
        let claimed = batch.len();
        for mail in batch {
            let outcome = self.transport.send(&self.from, &mail).await;
            let id = mail.id.clone();
            match outcome {
                Ok(()) => {
                    tracing::info!(outbox_id = %id, "e-mail delivered");
                    self.db
                        .run(move |conn| outbox::mark_sent(conn, &id))
                        .await?;
                }
                Err(error) => {
                    let retry_at = (mail.attempts < self.max_attempts).then(|| {
                        Utc::now().naive_utc()
                            + chrono::Duration::from_std(self.backoff(mail.attempts))
                                .unwrap_or_default()
                    });
                    tracing::warn!(outbox_id = %id, attempts = mail.attempts, %error, will_retry = retry_at.is_some(), "e-mail delivery failed");
                    self.db
                        .run(move |conn| outbox::mark_failed(conn, &id, &error, retry_at))
                        .await?;
                }
            }
        }
        Ok(claimed)
    }

    /// base · 2^(attempts−1), at most an hour.
    fn backoff(&self, attempts: i32) -> Duration {
        let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
        self.retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(MAX_BACKOFF)
    }
}
