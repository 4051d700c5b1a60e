//! Routes of subscriptions: the operator's `/api/v1/admin/subscriptions` and the
//! subscriber's Aboverwaltung under `/api/v1/me/subscriptions`.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, patch, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator, Subscriber};
use crate::db::DbConnection;
use crate::domain::choice::parse_choice;
use crate::error::{AppError, FieldErrorCode, Problem};
use crate::http::{ApiJson, ApiQuery, Page, PageQuery, RecordId};
use crate::state::AppState;
use crate::subscriptions::linking::{self, LinkAttempt, LinkOutcome};
use crate::subscriptions::overview;
use crate::subscriptions::repo::{self, LinkedState, SubscriptionData, SubscriptionFilter};
use crate::subscriptions::types::*;

/// Create a subscription (operator).
///
/// Contract, subscription and chip-card numbers are unique (`409 duplicate_key` naming
/// the field); `customer_id` and `company_contract_id` must name records
/// (`unknown_reference`).
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    request_body = NewSubscriptionRequest,
    responses(
        (status = 201, description = "Created; `Location` names the new subscription", body = SubscriptionRecord),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/subscriptions")]
pub async fn create_subscription(
    state: web::Data<AppState>,
    operator: Operator,
    ApiJson(request): ApiJson<NewSubscriptionRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let data = request.parse(clock.now())?;
    let subscription = state
        .db
        .transaction(move |conn| {
            require_references(conn, &data)?;
            let id = uuid::Uuid::now_v7().to_string();
            repo::insert(conn, &id, &data)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            audit::record(
                conn,
                &context,
                AuditAction::SubscriptionCreated,
                Some(&operator.account.id),
                Some(&id),
                None,
            )?;
            crate::webhooks::events::tickets_created(
                conn,
                std::slice::from_ref(&id),
                crate::webhooks::events::TicketSource::Operator,
                crate::webhooks::events::Origin::of(&context, clock.now()),
            )?;
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/subscriptions/{}", subscription.id),
        ))
        .json(SubscriptionRecord::try_from(subscription)?))
}

/// List subscriptions (operator).
///
/// Sorted by contract number; filter by exact contract number, customer or company
/// contract.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(SubscriptionListQuery, PageQuery),
    responses(
        (status = 200, description = "One page of subscriptions", body = Page<SubscriptionRecord>),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/subscriptions")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    ApiQuery(query): ApiQuery<SubscriptionListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.page.paging()?;
    let filter = SubscriptionFilter {
        contract_number: query.contract_number,
        customer_id: query.customer_id,
        company_contract_id: query.company_contract_id,
        bulk_upload_id: query.bulk_upload_id,
    };
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::list(conn, &filter, paging)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(SubscriptionRecord::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// One subscription (operator).
///
/// The subscription with its numbers, validity, state, holder and company contract,
/// and whether an account has linked it.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionRecord),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/subscriptions/{id}")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let subscription = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionRecord::try_from(subscription)?))
}

/// Change a subscription (operator).
///
/// A JSON merge patch: absent fields stay, `null` clears an optional one.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")),
    request_body(content = UpdateSubscriptionRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed subscription", body = SubscriptionRecord),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/subscriptions/{id}")]
pub async fn update_subscription(
    state: web::Data<AppState>,
    operator: Operator,
    id: RecordId,
    ApiJson(request): ApiJson<UpdateSubscriptionRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let id = id.into_inner();
    let subscription = state
        .db
        .transaction(move |conn| {
            let current = repo::find(conn, &id)?.ok_or_else(AppError::not_found)?;
            let data = request
                .clone()
                .merged_onto(Some(&current.data), clock.now())?;
            require_references(conn, &data)?;
            repo::update(conn, &id, &data)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            audit::record(
                conn,
                &context,
                AuditAction::SubscriptionUpdated,
                Some(&operator.account.id),
                Some(&id),
                None,
            )?;
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(SubscriptionRecord::try_from(subscription)?))
}

/// Link a subscription to the account ("Neues Abo verknüpfen").
///
/// `number` is the subscription's contract, subscription or chip-card number; birth
/// date, last name and postal code must be the holder's. Case, spaces, umlaut spellings
/// and `ß`/`ss` do not matter; the birth date may be `YYYY-MM-DD` or `TT.MM.JJJJ`. Any
/// mismatch and an unknown number answer the one `subscription_not_matched`. Failed
/// attempts count per account and per subscription (default 5 in 15 minutes); over
/// either limit every attempt answers `429 too_many_link_attempts`, even with correct
/// data. Linking one already linked to this account answers `200` with it.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    request_body = LinkRequest,
    responses(
        (status = 201, description = "Linked; `Location` names the subscription", body = Subscription),
        (status = 200, description = "Already linked to this account", body = Subscription),
        (status = 409, description = "All data matched, but another account holds the subscription (`subscription_already_linked`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No subscription matches (`subscription_not_matched`), or empty fields, all listed in `errors` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed attempts for this account or subscription (`too_many_link_attempts`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/subscriptions/link")]
pub async fn link_subscription(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ApiJson(request): ApiJson<LinkRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let attempt = LinkAttempt::try_from(request)?;
    let limits = state.config.limits;
    let outcome = state
        .db
        .transaction(move |conn| {
            linking::attempt_link(conn, &subscriber, &attempt, limits, &context)
        })
        .await?;
    state.metrics.link_attempted(match &outcome {
        Ok(LinkOutcome::Linked(_)) => "linked",
        Ok(LinkOutcome::AlreadyMine(_)) => "already_linked",
        Err(refusal) => match refusal.spec().code {
            "too_many_link_attempts" => "refused",
            "subscription_already_linked" => "taken",
            _ => "not_matched",
        },
    });
    let outcome = outcome?;
    let today = state.clock.today_berlin();
    Ok(match outcome {
        LinkOutcome::Linked(view) => {
            let subscription = Subscription::from_view(view, today)?;
            HttpResponse::Created()
                .insert_header((
                    header::LOCATION,
                    format!("/api/v1/me/subscriptions/{}", subscription.id),
                ))
                .json(subscription)
        }
        LinkOutcome::AlreadyMine(view) => {
            HttpResponse::Ok().json(Subscription::from_view(view, today)?)
        }
    })
}

/// The account's subscriptions ("Aboverwaltung").
///
/// `state=linked` (default, "Verknüpfte Verträge"): the non-expired ones;
/// `state=expired` ("Abgelaufene Abos/Verträge"): `valid_to` before today
/// (Europe/Berlin) or `ended`. Newest `valid_from` first.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(MySubscriptionsQuery, PageQuery),
    responses(
        (status = 200, description = "One page of subscriptions", body = Page<Subscription>),
        (status = 422, description = "Unknown `state` (`invalid_choice`) or invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/subscriptions")]
pub async fn list_my_subscriptions(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    ApiQuery(query): ApiQuery<MySubscriptionsQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.page.paging()?;
    let linked_state = match query.state.as_deref() {
        None => LinkedState::Current,
        Some(raw) => match parse_choice::<LinkedStateParam>(Some(raw), "/state")? {
            LinkedStateParam::Linked => LinkedState::Current,
            LinkedStateParam::Expired => LinkedState::Expired,
        },
    };
    let today = state.clock.today_berlin();
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            repo::list_of_account(conn, &subscriber.account.id, linked_state, today, paging)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|view| Subscription::from_view(view, today))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// One of the account's subscriptions.
///
/// Someone else's or an unknown id answers `404`.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")),
    responses(
        (status = 200, description = "The subscription", body = Subscription),
        (status = 404, description = "No such subscription of this account (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/subscriptions/{id}")]
pub async fn get_my_subscription(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let view = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            repo::view_of_account(conn, &subscriber.account.id, &id)?
                .ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Subscription::from_view(view, state.clock.today_berlin())?))
}

/// Download the Abo-Übersicht (PDF).
///
/// A one-page PDF of the subscription and its holder: name, birth date, address,
/// numbers, product, validity (`unbefristet` where open), status, company and company
/// contract, marketing consent and the date of issue, dates as TT.MM.JJJJ. German by
/// default, English with `Accept-Language: en`. Offered as the attachment
/// `Abo-Uebersicht-<contract_number>.pdf`. Someone else's or an unknown id answers
/// `404`.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e"),
        ("Accept-Language" = Option<String>, Header, description = "`en` for English; German otherwise", example = "de"),
    ),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = String,
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"Abo-Uebersicht-431177.pdf\"`"))),
        (status = 404, description = "No such subscription of this account (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/subscriptions/{id}/overview.pdf")]
pub async fn download_overview(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    lang: crate::i18n::Lang,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let today = state.clock.today_berlin();
    let (view, holder) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let view = repo::view_of_account(conn, &subscriber.account.id, &id)?
                .ok_or_else(AppError::not_found)?;
            let holder = crate::customers::repo::find(conn, &view.0.data.customer_id)?
                .ok_or_else(AppError::not_found)?;
            Ok((view, holder.data))
        })
        .await?;
    let subscription = Subscription::from_view(view, today)?;
    let salutation = holder
        .salutation
        .parse()
        .map_err(|_| AppError::Internal(format!("stored salutation {:?}", holder.salutation)))?;
    // Rendering takes a few milliseconds of CPU: off the async workers.
    let pdf = tokio::task::spawn_blocking(move || {
        let pdf = overview::render(&subscription, &holder, salutation, today, lang)?;
        Ok::<_, AppError>((pdf, overview::file_name(&subscription)))
    })
    .await
    .map_err(|e| AppError::Internal(format!("rendering the PDF: {e}")))?;
    let (pdf, file_name) = pdf?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        ))
        .insert_header((header::CONTENT_LANGUAGE, lang.as_str()))
        .body(pdf))
}

/// Unlink a subscription from the account.
///
/// The subscription itself stays with the operator; it can be linked again. Someone
/// else's or an unknown id answers `404`.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 404, description = "No such subscription of this account (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/subscriptions/{id}")]
pub async fn unlink_subscription(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    id: RecordId,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    state
        .db
        .transaction(move |conn| {
            let account_id = subscriber.account.id.as_str();
            if !repo::unlink(conn, &id, account_id)? {
                return Err(AppError::not_found());
            }
            audit::record(
                conn,
                &context,
                AuditAction::SubscriptionUnlinked,
                Some(account_id),
                Some(&id),
                None,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn require_references(conn: &mut DbConnection, data: &SubscriptionData) -> Result<(), AppError> {
    let mut errors = crate::error::FieldErrors::default();
    if crate::customers::repo::find(conn, &data.customer_id)?.is_none() {
        errors.push(crate::error::FieldError::new(
            "/customer_id",
            FieldErrorCode::UnknownReference,
        ));
    }
    if let Some(contract_id) = &data.company_contract_id
        && crate::contracts::repo::find(conn, contract_id)?.is_none()
    {
        errors.push(crate::error::FieldError::new(
            "/company_contract_id",
            FieldErrorCode::UnknownReference,
        ));
    }
    errors.into_result()
}
