//! Routes of a contract's tickets and of cancellations.

use actix_web::{HttpResponse, get, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Subscriber};
use crate::contracts::portal::visible_contract;
use crate::db::DbConnection;
use crate::domain::month::earliest_end;
use crate::error::{AppError, Problem};
use crate::http::{ApiQuery, NestedIds, OptionalApiJson, Page, PageQuery, RecordId};
use crate::i18n::Lang;
use crate::mail;
use crate::state::AppState;
use crate::subscriptions::repo::SubscriptionRow;
use crate::subscriptions::types::SubscriptionStatus;
use crate::tickets::types::*;
use crate::tickets::{TicketProblem, mails, repo};

/// A contract's tickets.
///
/// The subscriptions under the contract, for its company's users and operators: number,
/// personnel number, holder's name, status, validity and whether an employee linked it
/// — no birth date, address or phone. Filter by `status`, search with `q`, sort by any
/// column; paged.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"), TicketListQuery, PageQuery),
    responses(
        (status = 200, description = "One page of the contract's tickets", body = Page<ContractTicket>),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown `status`, `sort` or `order`, or invalid paging (`validation_failed`, with the parameter as pointer)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/subscriptions")]
pub async fn list_contract_tickets(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    ApiQuery(query): ApiQuery<TicketListQuery>,
) -> Result<HttpResponse, AppError> {
    let (filter, paging) = query.parse()?;
    let id = id.into_inner();
    let search_count_limit = state.config.lists.search_count_limit;
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            visible_contract(conn, &subscriber.account, &id)?;
            repo::list_of_contract(conn, &id, &filter, paging, search_count_limit)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|row| {
            Ok(ContractTicket {
                status: row
                    .status
                    .parse()
                    .map_err(|_| AppError::Internal(format!("stored status {}", row.status)))?,
                id: row.id,
                contract_number: row.contract_number,
                personnel_number: row.personnel_number,
                first_name: row.first_name,
                last_name: row.last_name,
                valid_from: row.valid_from,
                valid_to: row.valid_to,
                linked: row.linked,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// Cancel one of the account's tickets (Kündigung).
///
/// Cancelled on or before the deadline day (`CANCELLATION_DEADLINE_DAY`, default the
/// 10th, Europe/Berlin) the ticket runs to the end of this month, later to the end of
/// the next; `effective_month` names a later last month. A ticket that would not have
/// started by then never runs: it becomes `ended` and shows among the expired at once.
/// The account gets a confirmation e-mail.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Subscription id", example = "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b")),
    request_body(content = CancellationRequest, description = "Optional; without it the ticket ends as early as the deadline allows"),
    responses(
        (status = 200, description = "Cancelled", body = Cancellation),
        (status = 404, description = "No such subscription, or not the account's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cancelled, ended, blocked or expired already (`subscription_not_cancellable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed or too early `effective_month` (`validation_failed`: `invalid_month`, `month_too_early`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/subscriptions/{id}/cancellation")]
pub async fn cancel_my_ticket(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    id: RecordId,
    OptionalApiJson(request): OptionalApiJson<CancellationRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (now, last_day) = requested_end(&state, request)?;
    let cancellation = state
        .db
        .transaction(move |conn| {
            let account_id = subscriber.account.id.as_str();
            let ticket = crate::subscriptions::repo::find_of_account(conn, account_id, &id)?
                .ok_or_else(AppError::not_found)?;
            cancel(conn, ticket, last_day, now, account_id, &context)
        })
        .await?;
    state.outbox.wake();
    state.metrics.ticket_cancelled();
    Ok(HttpResponse::Ok().json(cancellation))
}

/// Cancel a ticket under the contract (company admin or operator), e.g. when someone
/// leaves.
///
/// The same rules as the employee's own cancellation. The linked employee gets the
/// confirmation; for a ticket nobody has linked, the company's admins get it.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("sub_id" = String, Path, description = "Subscription id", example = "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b"),
    ),
    request_body(content = CancellationRequest, description = "Optional; without it the ticket ends as early as the deadline allows"),
    responses(
        (status = 200, description = "Cancelled", body = Cancellation),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract or ticket under it, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Cancelled, ended, blocked or expired already (`subscription_not_cancellable`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed or too early `effective_month` (`validation_failed`: `invalid_month`, `month_too_early`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contracts/{id}/subscriptions/{sub_id}/cancellation")]
pub async fn cancel_contract_ticket(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ids: NestedIds,
    OptionalApiJson(request): OptionalApiJson<CancellationRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let (now, last_day) = requested_end(&state, request)?;
    let cancellation = state
        .db
        .transaction(move |conn| {
            let account = &subscriber.account;
            let (_, access) = visible_contract(conn, account, &ids.parent)?;
            access.require_admin()?;
            let ticket = crate::subscriptions::repo::find(conn, &ids.item)?
                .filter(|t| t.data.company_contract_id.as_deref() == Some(ids.parent.as_str()))
                .ok_or_else(AppError::not_found)?;
            cancel(conn, ticket, last_day, now, &account.id, &context)
        })
        .await?;
    state.outbox.wake();
    state.metrics.ticket_cancelled();
    Ok(HttpResponse::Ok().json(cancellation))
}

/// Now, and the last day the requested cancellation lets the ticket run.
fn requested_end(
    state: &AppState,
    request: Option<CancellationRequest>,
) -> Result<(chrono::NaiveDateTime, chrono::NaiveDate), AppError> {
    let now = state.clock.now();
    let today = crate::clock::berlin_date_of(now);
    let earliest = earliest_end(today, state.config.ordering.cancellation_deadline_day);
    let last_day = request.unwrap_or_default().last_day(earliest)?;
    Ok((now, last_day))
}

fn cancel(
    conn: &mut DbConnection,
    ticket: SubscriptionRow,
    last_day: chrono::NaiveDate,
    now: chrono::NaiveDateTime,
    actor_id: &str,
    context: &AuditContext,
) -> Result<Cancellation, AppError> {
    let today = crate::clock::berlin_date_of(now);
    if !repo::is_cancellable(&ticket.data.status, ticket.data.valid_to, today) {
        return Err(TicketProblem::NotCancellable.into());
    }
    // A fixed term that ends earlier keeps its end.
    let last_day = ticket.data.valid_to.map_or(last_day, |to| to.min(last_day));
    let (status, valid_to) = if ticket.data.valid_from > last_day {
        // It would not have started: it never runs.
        let day_before = ticket
            .data
            .valid_from
            .pred_opt()
            .unwrap_or(ticket.data.valid_from);
        (SubscriptionStatus::Ended, day_before)
    } else {
        (SubscriptionStatus::Cancelled, last_day)
    };
    if !repo::cancel(conn, &ticket.id, &ticket.data.status, status, valid_to, now)? {
        return Err(TicketProblem::NotCancellable.into());
    }
    match &ticket.account_id {
        Some(account_id) => {
            if let Some(account) = crate::accounts::repo::find_by_id(conn, account_id)? {
                mail::enqueue(
                    conn,
                    &account.email,
                    mails::CANCELLED,
                    Lang::De,
                    mails::params(&ticket.id, true),
                )?;
            }
        }
        None => {
            let company_id = match &ticket.data.company_contract_id {
                Some(contract_id) => crate::contracts::repo::find(conn, contract_id)?
                    .map(|contract| contract.data.company_id),
                None => None,
            };
            for admin in company_id
                .map(|id| crate::memberships::repo::admin_addresses(conn, &id))
                .transpose()?
                .unwrap_or_default()
            {
                mail::enqueue(
                    conn,
                    &admin,
                    mails::CANCELLED,
                    Lang::De,
                    mails::params(&ticket.id, false),
                )?;
            }
        }
    }
    audit::record(
        conn,
        context,
        AuditAction::SubscriptionCancelled,
        Some(actor_id),
        Some(&ticket.id),
        Some(serde_json::json!({ "valid_to": valid_to, "status": status.as_ref() })),
    )?;
    // A ticket cancelled before it started ends at once; it is still a cancellation.
    let cancelled_by = match ticket.account_id.as_deref() == Some(actor_id) {
        true => "employee",
        false => "employer",
    };
    crate::webhooks::events::ticket_cancelled(
        conn,
        &ticket.id,
        cancelled_by,
        crate::webhooks::events::Origin::of(context, now),
    )?;
    Ok(Cancellation {
        id: ticket.id,
        contract_number: ticket.data.contract_number,
        status,
        valid_from: ticket.data.valid_from,
        valid_to,
        cancelled_at: now.and_utc(),
    })
}
