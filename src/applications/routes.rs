//! The employee's side of applications (Anträge): order a job ticket with the customer
//! code the employer handed out, follow it, withdraw it while it is pending.

use actix_web::{HttpResponse, delete, get, post, web};

use crate::applications::repo::{self, ApplicationRow};
use crate::applications::types::*;
use crate::applications::{ApplicationProblem, mails};
use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Subscriber};
use crate::customer_codes::redeem;
use crate::db::DbConnection;
use crate::domain::fold::search_text;
use crate::error::{AppError, Problem};
use crate::http::{ApiJson, Page, PageQuery, RecordId};
use crate::i18n::Lang;
use crate::mail;
use crate::rate_limit;
use crate::state::AppState;
use crate::webhooks::events::{self as webhook_events, Origin};
use crate::webhooks::types::EventType;

/// The rate-limit scope of submitted applications.
const SUBMISSION_SCOPE: &str = "application";

/// Order a job ticket (Antrag) with a customer code (any signed-in account).
///
/// The code is checked exactly as `POST /customer-codes/check` checks it: the same
/// generic `customer_code_invalid`, counted against the same limits (`429
/// too_many_code_attempts` with `Retry-After`). A valid order is `pending` until the
/// company's admin approves or rejects it; each of them gets an e-mail. One pending
/// application per account and contract, and at most
/// `RATE_LIMIT_APPLICATIONS_PER_ACCOUNT` (default 5) stored in 24 hours (`429
/// too_many_applications` with `Retry-After`).
#[utoipa::path(
    tag = "applications",
    security(("bearer_auth" = [])),
    request_body = NewApplicationRequest,
    responses(
        (status = 201, description = "Ordered; pending the employer's decision", body = Application),
        (status = 409, description = "A pending application for this contract exists (`application_pending`), or the account holds a current ticket under it (`already_subscribed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid customer code (`customer_code_invalid`), or field errors (`validation_failed`: e.g. `month_too_early`, `too_far_ahead`, `invalid_month` at `/start_month`; the holder's under `/holder`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many invalid customer codes (`too_many_code_attempts`), or too many applications in 24 hours (`too_many_applications`), with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/applications")]
pub async fn submit_application(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ApiJson(request): ApiJson<NewApplicationRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let today = crate::clock::berlin_date_of(now);
    let order = request.parse(today, state.config.ordering.order_deadline_day)?;
    let limits = state.config.limits;
    let application = state
        .db
        .transaction(move |conn| {
            let account_id = subscriber.account.id.as_str();
            let target = match redeem::check(
                conn,
                account_id,
                &context,
                &limits,
                &order.customer_code,
                today,
            )? {
                Ok(target) => target,
                // Committed, so the failed attempt counts.
                Err(problem) => return Ok(Err(problem)),
            };
            let contract_id = target.contract_id.as_str();
            if repo::holds_current_subscription(conn, account_id, contract_id, today)? {
                return Err(ApplicationProblem::AlreadySubscribed.into());
            }
            if repo::has_pending(conn, account_id, contract_id)? {
                return Err(ApplicationProblem::Pending.into());
            }
            // Each submission e-mails every admin of the company: counted in the
            // transaction that stores it, so only stored applications count.
            let key = format!("{SUBMISSION_SCOPE}:account:{account_id}");
            rate_limit::acquire(conn, &key, limits.applications_per_account).map_err(|error| {
                match error {
                    AppError::RetryLater { after, limit, .. } => AppError::RetryLater {
                        problem: ApplicationProblem::TooManyApplications.spec(),
                        after,
                        limit,
                    },
                    other => other,
                }
            })?;
            let holder = &order.holder;
            let row = ApplicationRow {
                id: uuid::Uuid::now_v7().to_string(),
                account_id: Some(account_id.to_string()),
                contract_id: contract_id.to_string(),
                status: ApplicationStatus::Pending.as_ref().to_string(),
                start_month: order.start_month,
                salutation: Some(holder.salutation.as_ref().to_string()),
                gender: Some(holder.gender.as_ref().to_string()),
                first_name: holder.first_name.clone(),
                last_name: holder.last_name.clone(),
                birth_date: Some(holder.birth_date),
                street: Some(holder.address.street.clone()),
                postal_code: Some(holder.address.postal_code.clone()),
                city: Some(holder.address.city.clone()),
                country: Some(holder.address.country.clone()),
                phone: holder.phone.clone(),
                search_text: search_text(&[
                    &holder.first_name,
                    &holder.last_name,
                    order.personnel_number.as_deref().unwrap_or_default(),
                ]),
                personnel_number: order.personnel_number.clone(),
                marketing_consent: order.marketing_consent,
                created_at: now,
                decided_at: None,
                decided_by: None,
                rejection_reason: None,
                subscription_id: None,
                holder_erased_at: None,
            };
            repo::insert(conn, &row).map_err(|error| match repo::is_second_pending(&error) {
                true => ApplicationProblem::Pending.into(),
                false => error,
            })?;
            let company_id = crate::contracts::repo::find(conn, contract_id)?
                .ok_or_else(AppError::not_found)?
                .data
                .company_id;
            for admin in crate::memberships::repo::admin_addresses(conn, &company_id)? {
                mail::enqueue(
                    conn,
                    &admin,
                    mails::SUBMITTED,
                    Lang::De,
                    mails::params(&row.id),
                )?;
            }
            audit::record(
                conn,
                &context,
                AuditAction::ApplicationSubmitted,
                Some(account_id),
                Some(&row.id),
                Some(serde_json::json!({ "contract_id": contract_id })),
            )?;
            webhook_events::application(
                conn,
                EventType::ApplicationSubmitted,
                &row,
                Origin::of(&context, now),
            )?;
            view(conn, row).map(Ok)
        })
        .await??;
    state.outbox.wake();
    state.metrics.application_submitted();
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/me/applications/{}", application.id),
        ))
        .json(application))
}

/// The employee's applications.
///
/// Every application the account made, newest first, with its state and the employer's
/// decision; paged.
#[utoipa::path(
    tag = "applications",
    security(("bearer_auth" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the account's applications", body = Page<Application>),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/applications")]
pub async fn list_my_applications(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    crate::http::ApiQuery(query): crate::http::ApiQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.paging()?;
    let page = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let (rows, total) = repo::list_of_account(conn, &subscriber.account.id, paging)?;
            let items = views(conn, rows)?;
            Ok(paging.page_of(items, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One of the employee's applications.
///
/// With the holder's data as given, the contract and the employer's decision.
#[utoipa::path(
    tag = "applications",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Application id", example = "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f")),
    responses(
        (status = 200, description = "The application", body = Application),
        (status = 404, description = "No such application, or another account's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/applications/{id}")]
pub async fn get_my_application(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let application = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let row = repo::find_of_account(conn, &subscriber.account.id, &id)?
                .ok_or_else(AppError::not_found)?;
            view(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(application))
}

/// Withdraw a pending application.
///
/// It becomes `withdrawn` and stays in the list. A decided one cannot be withdrawn
/// (`application_decided`); when the employer's approval and the withdrawal meet,
/// exactly one of them takes effect.
#[utoipa::path(
    tag = "applications",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Application id", example = "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f")),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 404, description = "No such application, or another account's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Approved, rejected or withdrawn already (`application_decided`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/applications/{id}")]
pub async fn withdraw_application(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    id: RecordId,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let account_id = subscriber.account.id.as_str();
            repo::find_of_account(conn, account_id, &id)?.ok_or_else(AppError::not_found)?;
            if !repo::decide(conn, &id, ApplicationStatus::Withdrawn, None, None, now)? {
                return Err(ApplicationProblem::Decided.into());
            }
            audit::record(
                conn,
                &context,
                AuditAction::ApplicationWithdrawn,
                Some(account_id),
                Some(&id),
                None,
            )?;
            webhook_events::application_by_id(
                conn,
                EventType::ApplicationWithdrawn,
                &id,
                Origin::of(&context, now),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The application as its applicant sees it.
pub fn view(conn: &mut DbConnection, row: ApplicationRow) -> Result<Application, AppError> {
    let contract = repo::contract_of(conn, &row.contract_id)?;
    let mut names = repo::decider_names(conn, [row.decided_by.as_deref()])?;
    let decider = row.decided_by.as_ref().and_then(|id| names.remove(id));
    Application::new(row, contract, decider)
}

fn views(conn: &mut DbConnection, rows: Vec<ApplicationRow>) -> Result<Vec<Application>, AppError> {
    let names = repo::decider_names(conn, rows.iter().map(|r| r.decided_by.as_deref()))?;
    let mut contracts = std::collections::HashMap::new();
    rows.into_iter()
        .map(|row| {
            if !contracts.contains_key(&row.contract_id) {
                let contract = repo::contract_of(conn, &row.contract_id)?;
                contracts.insert(row.contract_id.clone(), contract);
            }
            let contract = contracts[&row.contract_id].clone();
            let decider = row
                .decided_by
                .as_ref()
                .and_then(|id| names.get(id).cloned());
            Application::new(row, contract, decider)
        })
        .collect()
}
