//! Retention: a background job deletes what no longer matters — ended rate-limit
//! windows, old e-mails, spent e-mail tokens, ended sessions with their refresh tokens,
//! old audit entries, finished webhook deliveries and idempotency keys older than a day —
//! each after the period configured for it; and it erases personal data whose legal
//! retention has ended (`privacy::erasure`): the holder data of rejected and withdrawn
//! orders, audit entries' full client addresses, and customer records long after their
//! last ticket. Every instance runs
//! the job; a row in `maintenance_runs`, moved forward with one conditional statement,
//! lets exactly one of them do the work per period. The same job freezes the past
//! month's statements once it has ended (`statements::freezing`), claimed per month.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::clock::{self, Clock};
use crate::config::RetentionConfig;
use crate::db::{DbConnection, DbPool, PreparedSql};
use crate::error::AppError;
use crate::privacy::erasure;
use crate::schema::audit_log;

const JOB: &str = "retention";
/// A run that could not reach the database is tried again this soon.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

/// How many rows of each kind one run deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub rate_limits: usize,
    pub emails: usize,
    pub email_tokens: usize,
    pub sessions: usize,
    pub audit_entries: usize,
    pub webhook_deliveries: usize,
    pub idempotency_keys: usize,
    /// Orders whose holder data was erased.
    pub application_holders: usize,
    /// Audit entries whose client address was cut to its network.
    pub audit_addresses: usize,
    /// Customer records erased with their tickets.
    pub customers: usize,
}

/// Deletes everything past its retention, as of `now`.
pub fn purge(
    conn: &mut DbConnection,
    policy: &RetentionConfig,
    now: NaiveDateTime,
) -> Result<Purged, AppError> {
    let before = |period: Duration| now - clock::duration(period);
    Ok(Purged {
        rate_limits: crate::rate_limit::delete_ended(conn, now)?,
        emails: crate::mail::outbox::delete_finished(
            conn,
            before(policy.sent_emails),
            before(policy.failed_emails),
        )?,
        email_tokens: crate::accounts::repo::delete_spent_email_tokens(
            conn,
            before(policy.email_tokens),
        )?,
        sessions: crate::accounts::repo::delete_ended_sessions(conn, before(policy.sessions))?,
        audit_entries: diesel::delete(
            audit_log::table.filter(audit_log::occurred_at.lt(before(policy.audit_log))),
        )
        .execute(conn)?,
        webhook_deliveries: crate::webhooks::repo::delete_finished(
            conn,
            before(policy.webhook_deliveries),
        )?,
        // A key's first answer is replayed for 24 hours (`idempotency::KEPT_FOR`).
        idempotency_keys: crate::idempotency::repo::delete_expired(
            conn,
            before(crate::idempotency::KEPT_FOR),
        )?,
        application_holders: erasure::erase_old_applications(
            conn,
            before(policy.applications),
            now,
        )?,
        audit_addresses: erasure::truncate_old_audit_addresses(
            conn,
            before(policy.audit_addresses),
        )?,
        customers: erasure::erase_old_customers(
            conn,
            customer_cutoff(clock::berlin_date_of(now), policy.customer_years),
            now,
        )?,
    })
}

/// The day before which a customer record's last ticket must have ended for it to be
/// erased: `years` before `today` (0: every ticket that ended before today).
fn customer_cutoff(today: chrono::NaiveDate, years: u32) -> chrono::NaiveDate {
    today
        .checked_sub_months(chrono::Months::new(years.saturating_mul(12)))
        .unwrap_or(chrono::NaiveDate::MIN)
}

/// Whether this instance won the run due at `now` (and scheduled the next one). The
/// job's row is inserted on its first run and afterwards moved forward only when due, in
/// one statement: exactly one instance changes it per period, and only that one runs.
pub fn claim_run(
    conn: &mut DbConnection,
    interval: Duration,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    let next = now + clock::duration(interval);
    let statement = PreparedSql::new("INSERT INTO maintenance_runs (name, next_run_at) VALUES (")
        .text(JOB)
        .sql(", ")
        .timestamp(next)
        .sql(") ON CONFLICT (name) DO UPDATE SET next_run_at = excluded.next_run_at WHERE maintenance_runs.next_run_at <= ")
        .timestamp(now);
    let changed = match conn {
        DbConnection::Postgres(pg) => statement.execute(pg)?,
        DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
    };
    Ok(changed == 1)
}

/// The job: every `policy.interval`, claim the run and purge if it was ours; and freeze
/// the past month's statements if no instance has yet.
pub async fn run(db: DbPool, policy: RetentionConfig, clock: Clock) {
    loop {
        match crate::statements::freezing::freeze_past_month(&db, &clock).await {
            Ok(Some((month, frozen))) => tracing::info!(
                month = %crate::domain::month::format_month(month),
                frozen = frozen.frozen,
                without_price = frozen.without_price,
                "statements of the past month frozen"
            ),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "statements: cannot freeze the past month"),
        }
        let outcome = db
            .run(move |conn| {
                let now = clock::now();
                if !claim_run(conn, policy.interval, now)? {
                    return Ok(None);
                }
                purge(conn, &policy, now).map(Some)
            })
            .await;
        let pause = match outcome {
            Ok(Some(purged)) => {
                tracing::info!(?purged, "retention: old records deleted");
                policy.interval
            }
            Ok(None) => policy.interval,
            Err(error) => {
                tracing::warn!(%error, "retention: cannot reach the database");
                policy.interval.min(RETRY_AFTER_FAILURE)
            }
        };
        tokio::time::sleep(pause).await;
    }
}
