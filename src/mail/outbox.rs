//! The outbox table: an e-mail is committed with the change that causes it and delivered
//! later by the worker, so nothing is lost when the mail server is down.

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tokio::sync::Notify;

use crate::clock;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::schema::email_outbox;

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_SENT: &str = "sent";
pub const STATUS_FAILED: &str = "failed";
/// Composed to nothing: the mail was no longer needed (e.g. no such account).
pub const STATUS_DROPPED: &str = "dropped";

/// A claimed row, as the composer sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct QueuedMail {
    pub id: String,
    pub recipient: String,
    pub template: String,
    pub lang: String,
    /// JSON, never secrets.
    pub params: String,
    pub attempts: i32,
    /// When this mail created a single-use link; a retry creates a fresh one.
    pub link_issued_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    /// The queuing request's trace context, when traces are exported.
    pub traceparent: Option<String>,
}

impl QueuedMail {
    pub fn language(&self) -> Lang {
        match self.lang.as_str() {
            "en" => Lang::En,
            _ => Lang::De,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = email_outbox)]
struct NewOutboxMail<'a> {
    id: String,
    recipient: &'a str,
    template: &'a str,
    lang: &'static str,
    params: String,
    subject: &'static str,
    status: &'static str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
    traceparent: Option<String>,
}

/// Queues an e-mail in the caller's transaction.
pub fn enqueue(
    conn: &mut DbConnection,
    recipient: &str,
    template: &str,
    lang: Lang,
    params: serde_json::Value,
) -> Result<(), AppError> {
    let now = clock::now();
    diesel::insert_into(email_outbox::table)
        .values(NewOutboxMail {
            id: uuid::Uuid::now_v7().to_string(),
            recipient,
            template,
            lang: lang.as_str(),
            params: params.to_string(),
            // Known once the mail is composed.
            subject: "",
            status: STATUS_PENDING,
            attempts: 0,
            next_attempt_at: now,
            created_at: now,
            traceparent: crate::telemetry::traces::current_traceparent(),
        })
        .execute(conn)?;
    Ok(())
}

/// Queues one e-mail of a template per `(recipient, params)` in the caller's
/// transaction, as multi-row inserts (a staff list's thousands of confirmations).
pub fn enqueue_many(
    conn: &mut DbConnection,
    template: &str,
    lang: Lang,
    mails: &[(String, serde_json::Value)],
) -> Result<(), AppError> {
    let now = clock::now();
    let traceparent = crate::telemetry::traces::current_traceparent();
    for chunk in mails.chunks(500) {
        let rows: Vec<NewOutboxMail> = chunk
            .iter()
            .map(|(recipient, params)| NewOutboxMail {
                id: uuid::Uuid::now_v7().to_string(),
                recipient,
                template,
                lang: lang.as_str(),
                params: params.to_string(),
                subject: "",
                status: STATUS_PENDING,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
                traceparent: traceparent.clone(),
            })
            .collect();
        match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(email_outbox::table)
                .values(&rows)
                .execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(email_outbox::table)
                .values(&rows)
                .execute(sqlite)?,
        };
    }
    Ok(())
}

/// Removes every e-mail to an address (account deletion removes personal data).
pub fn forget_recipient(conn: &mut DbConnection, recipient: &str) -> Result<(), AppError> {
    diesel::delete(email_outbox::table.filter(email_outbox::recipient.eq(recipient)))
        .execute(conn)?;
    Ok(())
}

/// Withdraws pending mails of a template to an address (e.g. a reset link after the
/// password was changed).
pub fn withdraw_pending(
    conn: &mut DbConnection,
    recipient: &str,
    template: &str,
) -> Result<(), AppError> {
    diesel::delete(
        email_outbox::table
            .filter(email_outbox::recipient.eq(recipient))
            .filter(email_outbox::template.eq(template))
            .filter(email_outbox::status.eq(STATUS_PENDING)),
    )
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
) -> Result<Vec<QueuedMail>, AppError> {
    let now = clock::now();
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
            .select(QueuedMail::as_select())
            .load(conn)?)
    })
}

/// Notes that the mail created a single-use link (in the composer's transaction).
pub fn mark_link_issued(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::update(email_outbox::table.find(id))
        .set(email_outbox::link_issued_at.eq(clock::now()))
        .execute(conn)?;
    Ok(())
}

/// Records the delivery with its subject; recipient, subject and time stay as the record.
pub fn mark_sent(conn: &mut DbConnection, id: &str, subject: &str) -> Result<(), AppError> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(STATUS_SENT),
            email_outbox::subject.eq(subject),
            email_outbox::sent_at.eq(clock::now()),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
            email_outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records that the mail was not needed any more.
pub fn mark_dropped(conn: &mut DbConnection, id: &str, reason: &str) -> Result<(), AppError> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(STATUS_DROPPED),
            email_outbox::last_error.eq(reason),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
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
    let now = clock::now();
    let (status, failed_at) = match retry_at {
        Some(_) => (STATUS_PENDING, None),
        None => (STATUS_FAILED, Some(now)),
    };
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(status),
            email_outbox::last_error.eq(error),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
            email_outbox::next_attempt_at.eq(retry_at.unwrap_or(now)),
            email_outbox::failed_at.eq(failed_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deletes finished mails past their retention (sent or dropped ones by their age,
/// failed ones by the time they failed).
pub fn delete_finished(
    conn: &mut DbConnection,
    sent_before: NaiveDateTime,
    failed_before: NaiveDateTime,
) -> Result<usize, AppError> {
    let done = diesel::delete(
        email_outbox::table
            .filter(email_outbox::status.eq_any([STATUS_SENT, STATUS_DROPPED]))
            .filter(email_outbox::created_at.lt(sent_before)),
    )
    .execute(conn)?;
    let failed = diesel::delete(
        email_outbox::table
            .filter(email_outbox::status.eq(STATUS_FAILED))
            .filter(email_outbox::failed_at.lt(failed_before)),
    )
    .execute(conn)?;
    Ok(done + failed)
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

/// How many e-mails wait to be sent, and since when the oldest (for the metrics).
pub fn pending_summary(conn: &mut DbConnection) -> Result<(i64, Option<NaiveDateTime>), AppError> {
    Ok(email_outbox::table
        .filter(email_outbox::status.eq(STATUS_PENDING))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(email_outbox::created_at),
        ))
        .first(conn)?)
}

/// Gives claimed e-mails back unsent (a stopping worker): due at once for any instance,
/// and the claim's attempt not counted.
pub fn release_claims(conn: &mut DbConnection, ids: &[String]) -> Result<(), AppError> {
    diesel::update(
        email_outbox::table
            .filter(email_outbox::id.eq_any(ids))
            .filter(email_outbox::status.eq(STATUS_PENDING)),
    )
    .set((
        email_outbox::locked_until.eq(None::<NaiveDateTime>),
        email_outbox::attempts.eq(email_outbox::attempts - 1),
    ))
    .execute(conn)?;
    Ok(())
}
