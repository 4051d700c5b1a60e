//! The data subject's export (`GET /api/v1/me/export`) and the operator's export of a
//! customer record (`GET /api/v1/admin/customers/{id}/export`).

use actix_web::{HttpResponse, get, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator, Subscriber};
use crate::error::{AppError, Problem};
use crate::http::RecordId;
use crate::privacy::problems::PrivacyProblem;
use crate::privacy::types::{AccountExport, CustomerExport, ErasedCustomer};
use crate::privacy::{erasure, export};
use crate::rate_limit;
use crate::state::AppState;

/// The rate limit's key scope: exports per account.
const EXPORT_SCOPE: &str = "export";

/// Export my data (GDPR Art. 15 and 20).
///
/// Everything the portal holds about the signed-in account as one JSON document, as a
/// download (`firmenportal-export-YYYY-MM-DD.json`, the Europe/Berlin date): the
/// account, its sessions (never a token), every linked subscription with its customer
/// record and consent history, its orders with their holder data and decisions, its
/// company memberships, the e-mails sent to its address (no bodies) and the audit
/// entries about it or made by it; each section explained in German and English. No
/// other person's data appears. At most `RATE_LIMIT_EXPORT_PER_ACCOUNT` exports an hour
/// (default 5); each is audited (`account.data_exported`).
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, description = "The export, as an attachment", body = AccountExport,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"firmenportal-export-2026-12-04.json\"`"))),
        (status = 429, description = "Exported too often in the last hour (`too_many_exports`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/export")]
pub async fn export_my_data(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let limit = state.config.limits.export_per_account;
    let document = state
        .db
        .transaction_as(bearer, move |conn, subscriber| {
            let account_id = subscriber.account.id;
            let key = format!("{EXPORT_SCOPE}:account:{account_id}");
            rate_limit::acquire(conn, &key, limit).map_err(|error| match error {
                AppError::RetryLater { after, limit, .. } => AppError::RetryLater {
                    problem: PrivacyProblem::TooManyExports.spec(),
                    after,
                    limit,
                },
                other => other,
            })?;
            audit::record_for_account(conn, &context, AuditAction::DataExported, &account_id)?;
            export::account_export(conn, &account_id, now)
        })
        .await?;
    attachment(&document, "firmenportal-export", now)
}

/// Export a customer record's data (operator).
///
/// For a request for access that arrives by letter: the customer record with every
/// field, its consent history, its subscriptions, the orders that became them and the
/// audit entries about them, as a download like the subscriber's own export. Audited
/// (`customer.data_exported`).
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Customer id", example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")),
    responses(
        (status = 200, description = "The export, as an attachment", body = CustomerExport,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"firmenportal-customer-100234-2026-12-04.json\"`"))),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/customers/{id}/export")]
pub async fn export_customer_data(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    id: RecordId,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let customer_id = id.into_inner();
    let document = state
        .db
        .transaction_as(bearer, move |conn, operator| {
            let document = export::customer_export(conn, &customer_id, now)?
                .ok_or_else(AppError::not_found)?;
            audit::record(
                conn,
                &context,
                AuditAction::CustomerExported,
                Some(&operator.account.id),
                Some(&customer_id),
                None,
            )?;
            Ok(document)
        })
        .await?;
    let name = format!(
        "firmenportal-customer-{}",
        document.customer.customer_number
    );
    attachment(&document, &name, now)
}

/// Erase a customer record (operator).
///
/// At once, when none of its tickets is current (not expired, future ones included;
/// `409 customer_has_current_ticket` otherwise). The record goes with its ended tickets
/// and consent history; what must stay is pseudonymised: final statements keep their
/// lines' amounts and ticket numbers, and lose names and personnel numbers; the orders
/// that became its tickets lose their holder data. Audited (`customer.erased`).
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Customer id", example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")),
    responses(
        (status = 200, description = "Erased", body = ErasedCustomer),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A ticket of the record is current (`customer_has_current_ticket`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/customers/{id}/erase")]
pub async fn erase_customer(
    state: web::Data<AppState>,
    operator: Operator,
    id: RecordId,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let today = crate::clock::berlin_date_of(now);
    let customer_id = id.into_inner();
    let erased = state
        .db
        .transaction(move |conn| {
            // The record's row lock: a ticket made for it meanwhile waits, or is seen.
            crate::customers::repo::find_for_update(conn, &customer_id)?
                .ok_or_else(AppError::not_found)?;
            if erasure::has_current_ticket(conn, &customer_id, today)? {
                return Err(PrivacyProblem::CustomerHasCurrentTicket.into());
            }
            let tickets = erasure::erase_customer(conn, &customer_id, now)?;
            audit::record(
                conn,
                &context,
                AuditAction::CustomerErased,
                Some(&operator.account.id),
                Some(&customer_id),
                Some(serde_json::json!({ "tickets": tickets })),
            )?;
            Ok(ErasedCustomer {
                customer_id: customer_id.clone(),
                tickets_erased: tickets,
                erased_at: now.and_utc(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(erased))
}

/// `document` as a JSON download named `<name>-<Berlin date>.json`.
fn attachment(
    document: &impl serde::Serialize,
    name: &str,
    now: chrono::NaiveDateTime,
) -> Result<HttpResponse, AppError> {
    let body = serde_json::to_vec_pretty(document)
        .map_err(|e| AppError::Internal(format!("an export did not serialise: {e}")))?;
    let date = crate::clock::berlin_date_of(now).format("%Y-%m-%d");
    // A customer number is the operator's; only its safe characters reach the header.
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}-{date}.json\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(body))
}
