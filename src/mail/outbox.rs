//! The outbox table: an e-mail is committed with the change that causes it and delivered
//! later by the worker, so nothing is lost when the mail server is down.

use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use tokio::sync::Notify;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::mail::Email;
use crate::schema::email_outbox;

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_SENT: &str = "sent";
pub const STATUS_FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i32,
}

#[derive(Insertable)]
#[diesel(table_name = email_outbox)]
struct NewOutboxMail<'a> {
    id: String,
    recipient: &'a str,
    subject: &'a str,
    text_body: &'a str,
    html_body: &'a str,
    status: &'static str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// Queues an e-mail in the caller's transaction.
pub fn enqueue(conn: &mut DbConnection, recipient: &str, email: &Email) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(email_outbox::table)
        .values(NewOutboxMail {
            id: uuid::Uuid::now_v7().to_string(),
            recipient,
            subject: &email.subject,
            text_body: &email.text,
            html_body: &email.html,
            status: STATUS_PENDING,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
        })
        .execute(conn)?;
    Ok(())
}

/// Removes every e-mail to an address (account deletion removes personal data).
pub fn forget_recipient(conn: &mut DbConnection, recipient: &str) -> Result<(), AppError> {
    diesel::delete(email_outbox::table.filter(email_outbox::recipient.eq(recipient)))
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due e-mails for this worker until `lock_until`, counting the
/// attempt. On PostgreSQL the rows are locked with `FOR UPDATE SKIP LOCKED`, so two
/// instances never claim the same e-mail; SQLite has a single writer.
pub fn claim_due(
    conn: &mut DbConnection,
    limit: i64,
    lock_until: NaiveDateTime,
) -> Result<Vec<OutboxMail>, AppError> {
    let now = Utc::now().naive_utc();
    crate::db::write_transaction(conn, |conn| {
        let due = email_outbox::table
            .filter(email_outbox::status.eq(STATUS_PENDING))
            .filter(email_outbox::next_attempt_at.le(now))
            .filter(
                email_outbox::locked_until
                    .is_null()
                    .or(email_outbox::locked_until.lt(now)),
            )
            .order(email_outbox::next_attempt_at.asc())
            .limit(limit)
            .select(email_outbox::id);
        let ids: Vec<String> = match conn {
            DbConnection::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(email_outbox::table.filter(email_outbox::id.eq_any(&ids)))
            .set((
                email_outbox::locked_until.eq(lock_until),
                email_outbox::attempts.eq(email_outbox::attempts + 1),
            ))
            .execute(conn)?;
        Ok(email_outbox::table
            .filter(email_outbox::id.eq_any(&ids))
            .select(OutboxMail::as_select())
            .load(conn)?)
    })
}

/// Records the delivery. The bodies go: they carry single-use links whose tokens the
/// database otherwise keeps only hashed. Recipient, subject and time stay as the record.
pub fn mark_sent(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(STATUS_SENT),
            email_outbox::text_body.eq(""),
            email_outbox::html_body.eq(""),
            email_outbox::sent_at.eq(Utc::now().naive_utc()),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
            email_outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or kept as `failed` for inspection.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> Result<(), AppError> {
    let status = if retry_at.is_some() {
        STATUS_PENDING
    } else {
        STATUS_FAILED
    };
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(status),
            email_outbox::last_error.eq(error),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
            email_outbox::next_attempt_at.eq(retry_at.unwrap_or_else(|| Utc::now().naive_utc())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Wakes the worker right after a commit, so e-mails go out without waiting for the
/// next poll.
#[derive(Clone, Default)]
pub struct OutboxWaker(Arc<Notify>);

impl OutboxWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    pub async fn woken(&self) {
        self.0.notified().await;
    }
}
