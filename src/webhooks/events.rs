//! Events for HR systems, written as deliveries in the transaction of the change that
//! causes them — like the e-mail outbox, so none is lost and none is sent for a change
//! that was rolled back. A body is `{type, timestamp, data}`; `data` holds ids and only
//! what the employer's views already show: never a birth date, an address or a phone.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::applications::repo::ApplicationRow;
use crate::db::DbConnection;
use crate::domain::month::format_month;
use crate::error::AppError;
use crate::schema::{company_contracts, customers, subscriptions};
use crate::webhooks::repo::{self, DeliveryRow};
use crate::webhooks::types::EventType;

/// When and in which trace an event happened.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub now: NaiveDateTime,
    /// The causing request's W3C `traceparent`, if it sent one.
    pub traceparent: Option<&'a str>,
}

/// How a ticket came about (`data.source` of `subscription.created`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSource {
    Application,
    BulkUpload,
    Operator,
}

impl TicketSource {
    fn as_str(self) -> &'static str {
        match self {
            TicketSource::Application => "application",
            TicketSource::BulkUpload => "bulk_upload",
            TicketSource::Operator => "operator",
        }
    }
}

/// A new `webhook-id`.
pub fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// The body every delivery of the event sends.
pub fn body(event: EventType, data: &Value, now: NaiveDateTime) -> String {
    json!({
        "type": event.as_ref(),
        "timestamp": now.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string()
}

/// Queues one event per `data` to every enabled endpoint of the company that wants it.
pub fn emit_many(
    conn: &mut DbConnection,
    company_id: &str,
    event: EventType,
    data: &[Value],
    origin: Origin<'_>,
) -> Result<(), AppError> {
    if data.is_empty() {
        return Ok(());
    }
    let hooks = repo::listening(conn, company_id, event)?;
    if hooks.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(data.len() * hooks.len());
    for item in data {
        let (id, body) = (message_id(), body(event, item, origin.now));
        for hook in &hooks {
            rows.push(DeliveryRow::new(
                &hook.id,
                &id,
                event,
                &body,
                origin.traceparent,
                origin.now,
            ));
        }
    }
    repo::insert_deliveries(conn, &rows)
}

pub fn emit(
    conn: &mut DbConnection,
    company_id: &str,
    event: EventType,
    data: Value,
    origin: Origin<'_>,
) -> Result<(), AppError> {
    emit_many(conn, company_id, event, &[data], origin)
}

/// The company a contract belongs to.
fn company_of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
) -> Result<Option<String>, AppError> {
    Ok(company_contracts::table
        .find(contract_id)
        .select(company_contracts::company_id)
        .first(conn)
        .optional()?)
}

/// The origin of an event caused by a request.
impl<'a> Origin<'a> {
    pub fn of(context: &'a crate::audit::AuditContext, now: NaiveDateTime) -> Origin<'a> {
        Origin {
            now,
            traceparent: context.traceparent.as_deref(),
        }
    }
}

/// `application.*` of the stored application `id`.
pub fn application_by_id(
    conn: &mut DbConnection,
    event: EventType,
    id: &str,
    origin: Origin<'_>,
) -> Result<(), AppError> {
    match crate::applications::repo::find(conn, id)? {
        Some(row) => application(conn, event, &row, origin),
        None => Ok(()),
    }
}

/// `application.*`: the order as the employer's application list shows it.
pub fn application(
    conn: &mut DbConnection,
    event: EventType,
    row: &ApplicationRow,
    origin: Origin<'_>,
) -> Result<(), AppError> {
    let Some(company_id) = company_of_contract(conn, &row.contract_id)? else {
        return Ok(());
    };
    let data = json!({
        "application_id": row.id,
        "contract_id": row.contract_id,
        "status": row.status,
        "start_month": format_month(row.start_month),
        "first_name": row.first_name,
        "last_name": row.last_name,
        "personnel_number": row.personnel_number,
        "subscription_id": row.subscription_id,
        "rejection_reason": row.rejection_reason,
        "created_at": row.created_at.and_utc(),
        "decided_at": row.decided_at.map(|at| at.and_utc()),
    });
    emit(conn, &company_id, event, data, origin)
}

type TicketColumns = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    String,
    chrono::NaiveDate,
    Option<chrono::NaiveDate>,
    String,
    Option<String>,
);

/// `subscription.created` or `subscription.cancelled` of these tickets, each to the
/// company of its contract (tickets under no company contract send none): the ticket as
/// the contract's ticket list shows it. `extra` is merged into every `data`.
pub fn tickets(
    conn: &mut DbConnection,
    event: EventType,
    ids: &[String],
    extra: Value,
    origin: Origin<'_>,
) -> Result<(), AppError> {
    let mut per_company: HashMap<String, Vec<Value>> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<TicketColumns> = subscriptions::table
            .inner_join(customers::table)
            .inner_join(company_contracts::table)
            .filter(subscriptions::id.eq_any(chunk))
            .select((
                subscriptions::id,
                company_contracts::company_id,
                subscriptions::company_contract_id,
                subscriptions::contract_number,
                subscriptions::personnel_number,
                customers::first_name,
                customers::last_name,
                subscriptions::product,
                subscriptions::valid_from,
                subscriptions::valid_to,
                subscriptions::status,
                subscriptions::bulk_upload_id,
            ))
            .load(conn)?;
        for (
            id,
            company_id,
            contract_id,
            number,
            personnel,
            first,
            last,
            product,
            from,
            to,
            status,
            upload,
        ) in rows
        {
            let mut data = json!({
                "subscription_id": id,
                "contract_id": contract_id,
                "contract_number": number,
                "personnel_number": personnel,
                "first_name": first,
                "last_name": last,
                "product": product,
                "valid_from": from,
                "valid_to": to,
                "status": status,
                "bulk_upload_id": upload,
            });
            if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
                data.extend(extra.clone());
            }
            per_company.entry(company_id).or_default().push(data);
        }
    }
    for (company_id, data) in per_company {
        emit_many(conn, &company_id, event, &data, origin)?;
    }
    Ok(())
}

/// `subscription.created` with its source.
pub fn tickets_created(
    conn: &mut DbConnection,
    ids: &[String],
    source: TicketSource,
    origin: Origin<'_>,
) -> Result<(), AppError> {
    tickets(
        conn,
        EventType::SubscriptionCreated,
        ids,
        json!({"source": source.as_str()}),
        origin,
    )
}

/// `subscription.cancelled`, saying who cancelled (`employee`, `employer`).
pub fn ticket_cancelled(
    conn: &mut DbConnection,
    id: &str,
    cancelled_by: &str,
    origin: Origin<'_>,
) -> Result<(), AppError> {
    tickets(
        conn,
        EventType::SubscriptionCancelled,
        &[id.to_string()],
        json!({"cancelled_by": cancelled_by}),
        origin,
    )
}

/// `bulk_upload.completed` / `statement.finalized` of a contract.
pub fn of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    event: EventType,
    data: Value,
    origin: Origin<'_>,
) -> Result<(), AppError> {
    match company_of_contract(conn, contract_id)? {
        Some(company_id) => emit(conn, &company_id, event, data, origin),
        None => Ok(()),
    }
}
