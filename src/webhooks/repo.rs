//! Queries of webhook endpoints and their deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::schema::{webhook_deliveries, webhooks};
use crate::webhooks::types::{DeliveryStatus, EventType, WebhookFields};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: String,
    pub company_id: String,
    pub url: String,
    pub description: String,
    /// Comma-separated event types.
    pub events: String,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<NaiveDateTime>,
    pub failing_since: Option<NaiveDateTime>,
    pub disabled_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl WebhookRow {
    pub fn event_types(&self) -> Result<Vec<EventType>, AppError> {
        self.events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.parse()
                    .map_err(|_| AppError::Internal(format!("stored webhook event {e}")))
            })
            .collect()
    }

    pub fn fields(&self) -> Result<WebhookFields, AppError> {
        Ok(WebhookFields {
            url: self.url.clone(),
            events: self.event_types()?,
            description: self.description.clone(),
            enabled: self.enabled,
        })
    }

    /// The secrets that sign at `now`: the current one, and the previous one for 24 h
    /// after a rotation.
    pub fn signing_secrets(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && until > now
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// The stored form of an event list.
pub fn events_column(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_ref())
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub webhook_id: String,
    pub message_id: String,
    pub event_type: String,
    pub body: String,
    pub traceparent: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub next_attempt_at: NaiveDateTime,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl DeliveryRow {
    /// A new delivery of an event, due at once.
    pub fn new(
        webhook_id: &str,
        message_id: &str,
        event: EventType,
        body: &str,
        traceparent: Option<&str>,
        now: NaiveDateTime,
    ) -> DeliveryRow {
        DeliveryRow {
            id: uuid::Uuid::now_v7().to_string(),
            webhook_id: webhook_id.to_string(),
            message_id: message_id.to_string(),
            event_type: event.as_ref().to_string(),
            body: body.to_string(),
            traceparent: traceparent.map(str::to_string),
            status: DeliveryStatus::Pending.as_ref().to_string(),
            attempts: 0,
            last_status_code: None,
            last_error: None,
            last_attempt_at: None,
            next_attempt_at: now,
            locked_until: None,
            created_at: now,
        }
    }
}

pub fn insert(conn: &mut DbConnection, row: &WebhookRow) -> Result<(), AppError> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The company's endpoint, or `None` (another company's is none too).
pub fn find_of_company(
    conn: &mut DbConnection,
    company_id: &str,
    id: &str,
) -> Result<Option<WebhookRow>, AppError> {
    Ok(webhooks::table
        .find(id)
        .filter(webhooks::company_id.eq(company_id))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn list_of_company(
    conn: &mut DbConnection,
    company_id: &str,
    paging: Paging,
) -> Result<(Vec<WebhookRow>, Total), AppError> {
    let total: i64 = webhooks::table
        .filter(webhooks::company_id.eq(company_id))
        .count()
        .get_result(conn)?;
    let rows = webhooks::table
        .filter(webhooks::company_id.eq(company_id))
        .order((webhooks::created_at.asc(), webhooks::id.asc()))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(WebhookRow::as_select())
        .load(conn)?;
    Ok((rows, Total::exact(total)))
}

/// Stores changed fields; turning an endpoint on again forgets its failures.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    fields: &WebhookFields,
    was_enabled: bool,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::url.eq(&fields.url),
            webhooks::events.eq(events_column(&fields.events)),
            webhooks::description.eq(&fields.description),
            webhooks::enabled.eq(fields.enabled),
            webhooks::updated_at.eq(now),
        ))
        .execute(conn)?;
    if fields.enabled && !was_enabled {
        diesel::update(webhooks::table.find(id))
            .set((
                webhooks::failing_since.eq(None::<NaiveDateTime>),
                webhooks::disabled_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    diesel::delete(webhooks::table.find(id)).execute(conn)?;
    Ok(())
}

/// A new secret; the old one keeps signing until `previous_until`.
pub fn rotate_secret(
    conn: &mut DbConnection,
    row: &WebhookRow,
    secret: &str,
    previous_until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(webhooks::table.find(&row.id))
        .set((
            webhooks::secret.eq(secret),
            webhooks::previous_secret.eq(&row.secret),
            webhooks::previous_secret_until.eq(previous_until),
            webhooks::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The company's enabled endpoints that want `event`.
pub fn listening(
    conn: &mut DbConnection,
    company_id: &str,
    event: EventType,
) -> Result<Vec<WebhookRow>, AppError> {
    let rows: Vec<WebhookRow> = webhooks::table
        .filter(webhooks::company_id.eq(company_id))
        .filter(webhooks::enabled.eq(true))
        .select(WebhookRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| row.events.split(',').any(|e| e == event.as_ref()))
        .collect())
}

/// Writes deliveries, a thousand rows per statement.
pub fn insert_deliveries(conn: &mut DbConnection, rows: &[DeliveryRow]) -> Result<(), AppError> {
    for chunk in rows.chunks(1000) {
        match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(webhook_deliveries::table)
                .values(chunk)
                .execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(webhook_deliveries::table)
                .values(chunk)
                .execute(sqlite)?,
        };
    }
    Ok(())
}

/// An endpoint's deliveries, newest first.
pub fn deliveries(
    conn: &mut DbConnection,
    webhook_id: &str,
    paging: Paging,
) -> Result<(Vec<DeliveryRow>, Total), AppError> {
    let total: i64 = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .count()
        .get_result(conn)?;
    let rows = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(DeliveryRow::as_select())
        .load(conn)?;
    Ok((rows, Total::exact(total)))
}

pub fn find_delivery(
    conn: &mut DbConnection,
    webhook_id: &str,
    id: &str,
) -> Result<Option<DeliveryRow>, AppError> {
    Ok(webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?)
}

/// Claims up to `limit` due deliveries of enabled endpoints until `lock_until`,
/// counting the attempt; with their endpoints. On PostgreSQL the rows are locked with
/// `FOR UPDATE SKIP LOCKED`, so two instances never claim the same attempt; SQLite has a
/// single writer.
pub fn claim_due(
    conn: &mut DbConnection,
    limit: i64,
    now: NaiveDateTime,
    lock_until: NaiveDateTime,
) -> Result<Vec<(DeliveryRow, WebhookRow)>, AppError> {
    crate::db::write_transaction(conn, |conn| {
        let enabled = webhooks::table
            .filter(webhooks::enabled.eq(true))
            .select(webhooks::id);
        let due = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_ref()))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(
                webhook_deliveries::locked_until
                    .is_null()
                    .or(webhook_deliveries::locked_until.lt(now)),
            )
            .filter(webhook_deliveries::webhook_id.eq_any(enabled))
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(webhook_deliveries::id);
        let ids: Vec<String> = match conn {
            DbConnection::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::locked_until.eq(lock_until),
                webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            ))
            .execute(conn)?;
        Ok(webhook_deliveries::table
            .inner_join(webhooks::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .select((DeliveryRow::as_select(), WebhookRow::as_select()))
            .load(conn)?)
    })
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub delivery_id: String,
    pub webhook_id: String,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// `None`: delivered, or failed for good; else the next attempt.
    pub retry_at: Option<NaiveDateTime>,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// Records a batch of attempts and what they say of their endpoints: a success ends an
/// endpoint's failing; a failure starts it. Endpoints failing since before
/// `disable_before` are disabled; their ids are returned.
pub fn record_attempts(
    conn: &mut DbConnection,
    attempts: &[Attempt],
    now: NaiveDateTime,
    disable_before: NaiveDateTime,
) -> Result<Vec<WebhookRow>, AppError> {
    for attempt in attempts {
        let status = match (attempt.delivered(), attempt.retry_at) {
            (true, _) => DeliveryStatus::Delivered,
            (false, Some(_)) => DeliveryStatus::Pending,
            (false, None) => DeliveryStatus::Failed,
        };
        diesel::update(webhook_deliveries::table.find(&attempt.delivery_id))
            .set((
                webhook_deliveries::status.eq(status.as_ref()),
                webhook_deliveries::last_status_code.eq(attempt.status_code),
                webhook_deliveries::last_error.eq(&attempt.error),
                webhook_deliveries::last_attempt_at.eq(now),
                webhook_deliveries::next_attempt_at.eq(attempt.retry_at.unwrap_or(now)),
                webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    let mut succeeded: Vec<&str> = attempts
        .iter()
        .filter(|a| a.delivered())
        .map(|a| a.webhook_id.as_str())
        .collect();
    succeeded.sort_unstable();
    succeeded.dedup();
    let mut failed: Vec<&str> = attempts
        .iter()
        .filter(|a| !a.delivered() && !succeeded.contains(&a.webhook_id.as_str()))
        .map(|a| a.webhook_id.as_str())
        .collect();
    failed.sort_unstable();
    failed.dedup();
    if !succeeded.is_empty() {
        diesel::update(webhooks::table.filter(webhooks::id.eq_any(&succeeded)))
            .set(webhooks::failing_since.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    }
    if failed.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(
        webhooks::table
            .filter(webhooks::id.eq_any(&failed))
            .filter(webhooks::failing_since.is_null()),
    )
    .set(webhooks::failing_since.eq(now))
    .execute(conn)?;
    let to_disable: Vec<WebhookRow> = webhooks::table
        .filter(webhooks::id.eq_any(&failed))
        .filter(webhooks::enabled.eq(true))
        .filter(webhooks::failing_since.le(disable_before))
        .select(WebhookRow::as_select())
        .load(conn)?;
    if !to_disable.is_empty() {
        let ids: Vec<&str> = to_disable.iter().map(|w| w.id.as_str()).collect();
        diesel::update(webhooks::table.filter(webhooks::id.eq_any(ids)))
            .set((webhooks::enabled.eq(false), webhooks::disabled_at.eq(now)))
            .execute(conn)?;
    }
    Ok(to_disable)
}

/// Deletes delivered and failed deliveries made before `before` (pending ones stay).
pub fn delete_finished(conn: &mut DbConnection, before: NaiveDateTime) -> Result<usize, AppError> {
    Ok(diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending.as_ref()))
            .filter(webhook_deliveries::created_at.lt(before)),
    )
    .execute(conn)?)
}

/// How many deliveries wait to be sent, and since when the oldest (for the metrics).
pub fn pending_summary(conn: &mut DbConnection) -> Result<(i64, Option<NaiveDateTime>), AppError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_ref()))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(webhook_deliveries::created_at),
        ))
        .first(conn)?)
}

/// Gives claimed deliveries back unsent (a stopping worker): due at once for any
/// instance, and the claim's attempt not counted.
pub fn release_claims(conn: &mut DbConnection, ids: &[String]) -> Result<(), AppError> {
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq_any(ids))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_ref())),
    )
    .set((
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts - 1),
    ))
    .execute(conn)?;
    Ok(())
}
