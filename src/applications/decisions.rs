//! The employer's side of applications (Anträge): a contract's applications for its
//! company's users and operators, and the admins' approval or rejection. An approval
//! turns the order into a ticket in the same transaction; of two decisions at once (or
//! a decision and the employee's withdrawal) exactly one takes effect.

use actix_web::{HttpResponse, get, post, web};

use crate::applications::order::{self, HolderRecord, Order};
use crate::applications::repo::{self, ApplicationRow};
use crate::applications::types::*;
use crate::applications::{ApplicationProblem, mails};
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Subscriber};
use crate::contracts::portal::visible_contract;
use crate::customer_codes::CustomerCodeProblem;
use crate::customers::repo::{self as customers, ConsentSource};
use crate::db::DbConnection;
use crate::domain::month::earliest_start;
use crate::error::{AppError, Problem};
use crate::http::{ApiJson, ApiQuery, NestedIds, Page, RecordId};
use crate::i18n::Lang;
use crate::mail;
use crate::state::AppState;
use crate::webhooks::events::{self as webhook_events, Origin, TicketSource};
use crate::webhooks::types::EventType;

/// A contract's applications (Anträge).
///
/// For the contract's company users and operators. Each item carries what the employer
/// needs to decide, and no birth date, address or phone. Filter by `status`, search
/// with `q`, sort by `created_at` (default, newest first), `last_name` or
/// `start_month`; paged.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"), ApplicationListQuery, crate::http::PageQuery),
    responses(
        (status = 200, description = "One page of the contract's applications", body = Page<ApplicationListItem>),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown `status`, `sort` or `order`, or invalid paging (`validation_failed`, with the parameter as pointer)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/applications")]
pub async fn list_contract_applications(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    ApiQuery(query): ApiQuery<ApplicationListQuery>,
) -> Result<HttpResponse, AppError> {
    let (filter, paging) = query.parse()?;
    let id = id.into_inner();
    let search_count_limit = state.config.lists.search_count_limit;
    let page = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            visible_contract(conn, &subscriber.account, &id)?;
            let (rows, total) =
                repo::list_of_contract(conn, &id, &filter, paging, search_count_limit)?;
            let names = repo::decider_names(conn, rows.iter().map(|r| r.decided_by.as_deref()))?;
            let items = rows
                .into_iter()
                .map(|row| {
                    let decider = row
                        .decided_by
                        .as_ref()
                        .and_then(|id| names.get(id).cloned());
                    ApplicationListItem::new(row, decider)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(paging.page_of(items, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One of a contract's applications.
///
/// The same fields as an item of the list: what the employer needs to decide.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("app_id" = String, Path, description = "Application id", example = "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f"),
    ),
    responses(
        (status = 200, description = "The application", body = ApplicationListItem),
        (status = 404, description = "No such contract or application, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/applications/{app_id}")]
pub async fn get_contract_application(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    ids: NestedIds,
) -> Result<HttpResponse, AppError> {
    let item = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            visible_contract(conn, &subscriber.account, &ids.parent)?;
            let row = repo::find_of_contract(conn, &ids.parent, &ids.item)?
                .ok_or_else(AppError::not_found)?;
            employer_view(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(item))
}

/// Approve an application (company admin or operator).
///
/// In one transaction the application becomes `approved` and a ticket is created under
/// the contract: a new contract number, `active` from the 1st of the start month, linked
/// to the applicant's account, so it shows in their Aboverwaltung at once. The ticket
/// goes onto the applicant's own customer record when their account already holds one
/// with the same last name and birth date (through a linked subscription); its data is
/// left as it is, and a different consent choice is added to its history (source
/// `application`). Otherwise a new record is made from the holder data: last name,
/// birth date and postal code are no secret, so nobody else's record is ever reused.
/// A start month whose order deadline has passed by now moves to the earliest month
/// still open (the application keeps what was asked; the ticket's `valid_from` and the
/// e-mail say the real start). The applicant gets an e-mail with the contract number.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("app_id" = String, Path, description = "Application id", example = "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f"),
    ),
    responses(
        (status = 200, description = "Approved; `subscription_id` names the new ticket", body = ApplicationListItem),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract or application, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Approved, rejected or withdrawn already (`application_decided`), the contract is not active today (`contract_not_active`), or the applicant holds a current ticket under the contract by now: linked to their account, or made by a staff list for the same personnel number (or name and birth date) (`already_subscribed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contracts/{id}/applications/{app_id}/approve")]
pub async fn approve_application(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ids: NestedIds,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let today = crate::clock::berlin_date_of(now);
    let deadline_day = state.config.ordering.order_deadline_day;
    let item = state
        .db
        .transaction(move |conn| {
            let account = &subscriber.account;
            let (contract, access) = visible_contract(conn, account, &ids.parent)?;
            access.require_admin()?;
            // The lock staff lists take: a list applied meanwhile may have given the
            // applicant a ticket (found by the list's own rule: personnel number, or
            // name and birth date), which the check below then sees.
            crate::contracts::repo::lock(conn, &contract.id)?;
            let row = repo::find_of_contract(conn, &ids.parent, &ids.item)?
                .ok_or_else(AppError::not_found)?;
            if row.status != ApplicationStatus::Pending.as_ref() {
                return Err(ApplicationProblem::Decided.into());
            }
            // A pending order has its account and holder; both go only once it is
            // decided or withdrawn.
            let (Some(applicant_id), Some(holder)) =
                (row.account_id.clone(), ordered_holder(&row)?)
            else {
                return Err(ApplicationProblem::Decided.into());
            };
            if !crate::contracts::repo::is_active(&contract.data, today) {
                return Err(CustomerCodeProblem::ContractNotActive.into());
            }
            if repo::holds_current_subscription(conn, &applicant_id, &contract.id, today)?
                || crate::bulk_uploads::apply::holds_current_ticket(
                    conn,
                    &contract.id,
                    row.personnel_number.as_deref(),
                    (&row.first_name, &row.last_name),
                    holder.birth_date,
                    today,
                )?
            {
                return Err(ApplicationProblem::AlreadySubscribed.into());
            }
            // The conditional update is the one winner's ticket.
            if !repo::decide(
                conn,
                &row.id,
                ApplicationStatus::Approved,
                Some(&account.id),
                None,
                now,
            )? {
                return Err(ApplicationProblem::Decided.into());
            }
            // A month whose order deadline has passed since the order cannot start any
            // more: the ticket starts with the earliest month still open. The
            // application keeps the month that was asked for.
            let start_month = row.start_month.max(earliest_start(today, deadline_day));
            let record = match customers::held_by_account(
                conn,
                &applicant_id,
                &row.last_name,
                holder.birth_date,
            )? {
                Some(own) => HolderRecord::Own {
                    customer_id: own.id,
                    marketing_consent: own.data.marketing_consent,
                },
                None => HolderRecord::New,
            };
            let ticket = order::place(
                conn,
                &Order {
                    contract_id: &contract.id,
                    holder: &holder,
                    start_month,
                    personnel_number: row.personnel_number.as_deref(),
                    marketing_consent: row.marketing_consent,
                    account_id: Some(&applicant_id),
                    consent_source: ConsentSource::Application,
                },
                record,
                today,
                now,
            )?;
            repo::set_subscription(conn, &row.id, &ticket.subscription_id)?;
            let applicant = crate::accounts::repo::find_by_id(conn, &applicant_id)?
                .ok_or_else(|| AppError::Internal("applicant without account".into()))?;
            mail::enqueue(
                conn,
                &applicant.email,
                mails::APPROVED,
                Lang::De,
                mails::params(&row.id),
            )?;
            audit::record(
                conn,
                &context,
                AuditAction::ApplicationApproved,
                Some(&account.id),
                Some(&row.id),
                Some(serde_json::json!({
                    "subscription_id": ticket.subscription_id,
                    "customer_id": ticket.customer_id,
                    "customer": if ticket.customer_created { "created" } else { "reused" },
                    "valid_from": start_month,
                })),
            )?;
            let origin = Origin::of(&context, now);
            webhook_events::application_by_id(
                conn,
                EventType::ApplicationApproved,
                &row.id,
                origin,
            )?;
            webhook_events::tickets_created(
                conn,
                std::slice::from_ref(&ticket.subscription_id),
                TicketSource::Application,
                origin,
            )?;
            let decided = repo::find(conn, &row.id)?.ok_or_else(AppError::not_found)?;
            employer_view(conn, decided)
        })
        .await?;
    state.outbox.wake();
    state.metrics.application_decided("approved");
    Ok(HttpResponse::Ok().json(item))
}

/// Reject an application (company admin or operator).
///
/// The reason (1 to 500 characters) is shown to the applicant and e-mailed to them.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("app_id" = String, Path, description = "Application id", example = "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f"),
    ),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "Rejected", body = ApplicationListItem),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract or application, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Approved, rejected or withdrawn already (`application_decided`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing, blank or overlong reason (`validation_failed` at `/reason`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contracts/{id}/applications/{app_id}/reject")]
pub async fn reject_application(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ids: NestedIds,
    ApiJson(request): ApiJson<RejectRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let reason = request.parse()?;
    let now = state.clock.now();
    let item = state
        .db
        .transaction(move |conn| {
            let account = &subscriber.account;
            let (_, access) = visible_contract(conn, account, &ids.parent)?;
            access.require_admin()?;
            let row = repo::find_of_contract(conn, &ids.parent, &ids.item)?
                .ok_or_else(AppError::not_found)?;
            if !repo::decide(
                conn,
                &row.id,
                ApplicationStatus::Rejected,
                Some(&account.id),
                Some(&reason),
                now,
            )? {
                return Err(ApplicationProblem::Decided.into());
            }
            // A pending order's account is there (deleting an account withdraws them).
            if let Some(applicant_id) = row.account_id.as_deref()
                && let Some(applicant) = crate::accounts::repo::find_by_id(conn, applicant_id)?
            {
                mail::enqueue(
                    conn,
                    &applicant.email,
                    mails::REJECTED,
                    Lang::De,
                    mails::params(&row.id),
                )?;
            }
            audit::record(
                conn,
                &context,
                AuditAction::ApplicationRejected,
                Some(&account.id),
                Some(&row.id),
                None,
            )?;
            webhook_events::application_by_id(
                conn,
                EventType::ApplicationRejected,
                &row.id,
                Origin::of(&context, now),
            )?;
            let decided = repo::find(conn, &row.id)?.ok_or_else(AppError::not_found)?;
            employer_view(conn, decided)
        })
        .await?;
    state.outbox.wake();
    state.metrics.application_decided("rejected");
    Ok(HttpResponse::Ok().json(item))
}

fn employer_view(
    conn: &mut DbConnection,
    row: ApplicationRow,
) -> Result<ApplicationListItem, AppError> {
    let mut names = repo::decider_names(conn, [row.decided_by.as_deref()])?;
    let decider = row.decided_by.as_ref().and_then(|id| names.remove(id));
    ApplicationListItem::new(row.into(), decider)
}

/// The holder an order carries; `None` once erased.
fn ordered_holder(row: &ApplicationRow) -> Result<Option<OrderedHolder>, AppError> {
    let Some(fields) = row.holder_fields() else {
        return Ok(None);
    };
    Ok(Some(OrderedHolder {
        salutation: stored(fields.salutation)?,
        gender: stored(fields.gender)?,
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        birth_date: fields.birth_date,
        address: fields.address,
        phone: row.phone.clone(),
    }))
}

fn stored<E: std::str::FromStr>(value: &str) -> Result<E, AppError> {
    value
        .parse()
        .map_err(|_| AppError::Internal(format!("stored choice {value:?}")))
}
