//! Routes of a company's webhook endpoints: `/api/v1/companies/{id}/webhooks`. Members
//! read; admins (and operators) change (`403` otherwise); another company's endpoint
//! answers `404` like an unknown one.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use serde_json::json;

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Subscriber};
use crate::error::{AppError, Problem};
use crate::http::path::path_id;
use crate::http::{ApiJson, ApiQuery, Page, PageQuery, RecordId};
use crate::memberships::{CompanyAccess, access_to_company};
use crate::state::AppState;
use crate::webhooks::events::{self, message_id};
use crate::webhooks::problems::url_not_allowed;
use crate::webhooks::repo::{self, DeliveryRow, WebhookRow, events_column};
use crate::webhooks::signing::new_secret;
use crate::webhooks::targets::TargetPolicy;
use crate::webhooks::types::*;

/// How long the previous secret keeps signing after a rotation.
const PREVIOUS_SECRET_GRACE: chrono::Duration = chrono::Duration::hours(24);

fn policy(state: &AppState) -> TargetPolicy {
    TargetPolicy {
        allow_http: state.config.webhooks.allow_http,
        allow_private: state.config.webhooks.allow_private_targets,
    }
}

/// `422 webhook_url_not_allowed` unless the URL is one the worker will call.
async fn require_allowed_target(state: &AppState, url: &str) -> Result<(), AppError> {
    let policy = policy(state);
    let url = policy.parse(url).map_err(|_| url_not_allowed())?;
    policy
        .check_addresses(&url)
        .await
        .map_err(|_| url_not_allowed())
}

/// The company's endpoint with the caller's access; `404` for anything the caller may
/// not see.
fn visible_webhook(
    conn: &mut crate::db::DbConnection,
    account: &crate::auth::SignedInAccount,
    company_id: &str,
    webhook_id: &str,
) -> Result<(WebhookRow, CompanyAccess), AppError> {
    let access = access_to_company(conn, account, company_id)?;
    let webhook =
        repo::find_of_company(conn, company_id, webhook_id)?.ok_or_else(AppError::not_found)?;
    Ok((webhook, access))
}

/// Register a webhook endpoint (company admin).
///
/// Events of the company are `POST`ed to the URL as JSON, signed as the Standard
/// Webhooks specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
/// The answer is the only one that shows the signing `secret`. The URL must be `https`
/// and its host must resolve to public addresses only (`422 webhook_url_not_allowed`).
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")),
    request_body = NewWebhookRequest,
    responses(
        (status = 201, description = "Registered; `Location` names the endpoint. The secret is shown only here", body = WebhookWithSecret),
        (status = 403, description = "Not an admin of the company (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company, or not yours (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`), or a URL that is not `https` or reaches a private network (`webhook_url_not_allowed` at `/url`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/companies/{id}/webhooks")]
pub async fn create_webhook(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    company: RecordId,
    ApiJson(request): ApiJson<NewWebhookRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let company_id = company.into_inner();
    let (account, id) = (subscriber.account.clone(), company_id.clone());
    state
        .db
        .read(move |conn| access_to_company(conn, &account, &id)?.require_admin())
        .await?;
    let fields = request.parse()?;
    require_allowed_target(&state, &fields.url).await?;
    let now = state.clock.now();
    let row = WebhookRow {
        id: uuid::Uuid::now_v7().to_string(),
        company_id,
        url: fields.url,
        description: fields.description,
        events: events_column(&fields.events),
        enabled: true,
        secret: new_secret(),
        previous_secret: None,
        previous_secret_until: None,
        failing_since: None,
        disabled_at: None,
        created_at: now,
        updated_at: now,
    };
    let stored = row.clone();
    state
        .db
        .transaction(move |conn| {
            access_to_company(conn, &subscriber.account, &row.company_id)?.require_admin()?;
            repo::insert(conn, &row)?;
            audit::record(
                conn,
                &context,
                AuditAction::WebhookCreated,
                Some(&subscriber.account.id),
                Some(&row.id),
                Some(json!({"company_id": row.company_id, "events": row.events})),
            )
        })
        .await?;
    let location = format!(
        "/api/v1/companies/{}/webhooks/{}",
        stored.company_id, stored.id
    );
    let secret = stored.secret.clone();
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(WebhookWithSecret {
            webhook: Webhook::try_from(stored)?,
            secret,
        }))
}

/// A company's webhook endpoints.
///
/// Oldest first, without their secrets. Members read.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"), PageQuery),
    responses(
        (status = 200, description = "One page of endpoints", body = Page<Webhook>),
        (status = 404, description = "No such company, or not yours (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies/{id}/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    company: RecordId,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.paging()?;
    let company_id = company.into_inner();
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            access_to_company(conn, &subscriber.account, &company_id)?;
            repo::list_of_company(conn, &company_id, paging)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Webhook::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// Ids of a path under `/companies/{id}/webhooks/{hook_id}`.
struct HookPath {
    company_id: String,
    webhook_id: String,
}

fn hook_path(req: &HttpRequest) -> Result<HookPath, AppError> {
    Ok(HookPath {
        company_id: path_id(req, "id")?,
        webhook_id: path_id(req, "hook_id")?,
    })
}

/// One webhook endpoint.
///
/// Without its secret. Members read.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("hook_id" = String, Path, description = "Webhook id", example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6"),
    ),
    responses(
        (status = 200, description = "The endpoint", body = Webhook),
        (status = 404, description = "No such endpoint, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies/{id}/webhooks/{hook_id}")]
pub async fn get_webhook(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let path = hook_path(&req)?;
    let row = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            visible_webhook(
                conn,
                &subscriber.account,
                &path.company_id,
                &path.webhook_id,
            )
            .map(|(row, _)| row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Webhook::try_from(row)?))
}

/// Change a webhook endpoint (company admin).
///
/// A JSON merge patch of `url`, `events`, `description` and `enabled`. A new URL is
/// checked like at registration (`422 webhook_url_not_allowed`); `enabled: true` turns
/// an endpoint disabled for failing on again.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("hook_id" = String, Path, description = "Webhook id", example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6"),
    ),
    request_body(content = UpdateWebhookRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed endpoint", body = Webhook),
        (status = 403, description = "Not an admin of the company (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`), or a URL that is not `https` or reaches a private network (`webhook_url_not_allowed` at `/url`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/companies/{id}/webhooks/{hook_id}")]
pub async fn update_webhook(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    req: HttpRequest,
    ApiJson(request): ApiJson<UpdateWebhookRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let path = hook_path(&req)?;
    let account = subscriber.account.clone();
    let (company_id, webhook_id) = (path.company_id.clone(), path.webhook_id.clone());
    let current = state
        .db
        .read(move |conn| {
            let (row, access) = visible_webhook(conn, &account, &company_id, &webhook_id)?;
            access.require_admin()?;
            Ok(row)
        })
        .await?;
    let fields = request.merged_onto(Some(&current.fields()?))?;
    if fields.url != current.url {
        require_allowed_target(&state, &fields.url).await?;
    }
    let now = state.clock.now();
    let row = state
        .db
        .transaction(move |conn| {
            let (row, access) = visible_webhook(
                conn,
                &subscriber.account,
                &path.company_id,
                &path.webhook_id,
            )?;
            access.require_admin()?;
            repo::update(conn, &row.id, &fields, row.enabled, now)?;
            audit::record(
                conn,
                &context,
                AuditAction::WebhookUpdated,
                Some(&subscriber.account.id),
                Some(&row.id),
                None,
            )?;
            repo::find_of_company(conn, &path.company_id, &row.id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Webhook::try_from(row)?))
}

/// Remove a webhook endpoint (company admin).
///
/// Its pending deliveries go with it.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("hook_id" = String, Path, description = "Webhook id", example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin of the company (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/companies/{id}/webhooks/{hook_id}")]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    req: HttpRequest,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let path = hook_path(&req)?;
    state
        .db
        .transaction(move |conn| {
            let (row, access) = visible_webhook(
                conn,
                &subscriber.account,
                &path.company_id,
                &path.webhook_id,
            )?;
            access.require_admin()?;
            repo::delete(conn, &row.id)?;
            audit::record(
                conn,
                &context,
                AuditAction::WebhookDeleted,
                Some(&subscriber.account.id),
                Some(&row.id),
                None,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate the signing secret (company admin).
///
/// Answers the endpoint with its new `secret`, shown only here. For 24 hours the old
/// secret keeps signing beside the new one (two space-separated signatures), so the
/// receiver can switch without losing an event.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("hook_id" = String, Path, description = "Webhook id", example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6"),
    ),
    responses(
        (status = 200, description = "The endpoint with its new secret", body = WebhookWithSecret),
        (status = 403, description = "Not an admin of the company (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/companies/{id}/webhooks/{hook_id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    req: HttpRequest,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let path = hook_path(&req)?;
    let now = state.clock.now();
    let secret = new_secret();
    let stored_secret = secret.clone();
    let row = state
        .db
        .transaction(move |conn| {
            let (row, access) = visible_webhook(
                conn,
                &subscriber.account,
                &path.company_id,
                &path.webhook_id,
            )?;
            access.require_admin()?;
            repo::rotate_secret(conn, &row, &secret, now + PREVIOUS_SECRET_GRACE, now)?;
            audit::record(
                conn,
                &context,
                AuditAction::WebhookSecretRotated,
                Some(&subscriber.account.id),
                Some(&row.id),
                None,
            )?;
            repo::find_of_company(conn, &path.company_id, &row.id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecret {
        webhook: Webhook::try_from(row)?,
        secret: stored_secret,
    }))
}

/// Send a `ping` (company admin).
///
/// Queues a `ping` event to the endpoint, whatever its events; the answer is the
/// delivery, to follow in the delivery list. A disabled endpoint gets it once it is
/// turned on again.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("hook_id" = String, Path, description = "Webhook id", example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6"),
    ),
    responses(
        (status = 202, description = "Queued; the delivery", body = Delivery),
        (status = 403, description = "Not an admin of the company (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/companies/{id}/webhooks/{hook_id}/ping")]
pub async fn ping(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    req: HttpRequest,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let path = hook_path(&req)?;
    let now = state.clock.now();
    let delivery = state
        .db
        .transaction(move |conn| {
            let (row, access) = visible_webhook(
                conn,
                &subscriber.account,
                &path.company_id,
                &path.webhook_id,
            )?;
            access.require_admin()?;
            let data = json!({"webhook_id": row.id, "company_id": row.company_id});
            let body = events::body(EventType::Ping, &data, now);
            let delivery = DeliveryRow::new(
                &row.id,
                &message_id(),
                EventType::Ping,
                &body,
                context.traceparent.as_deref(),
                now,
            );
            repo::insert_deliveries(conn, std::slice::from_ref(&delivery))?;
            audit::record(
                conn,
                &context,
                AuditAction::WebhookPinged,
                Some(&subscriber.account.id),
                Some(&row.id),
                Some(json!({"delivery_id": delivery.id})),
            )?;
            Ok(delivery)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(Delivery::try_from(delivery)?))
}

/// A webhook endpoint's deliveries.
///
/// Newest first: each event with its status (`pending`, `delivered`, `failed`),
/// attempts, the receiver's last HTTP status and the next attempt. Members read.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("hook_id" = String, Path, description = "Webhook id", example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6"),
        PageQuery
    ),
    responses(
        (status = 200, description = "One page of deliveries", body = Page<Delivery>),
        (status = 404, description = "No such endpoint, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies/{id}/webhooks/{hook_id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    req: HttpRequest,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.paging()?;
    let path = hook_path(&req)?;
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let (row, _) = visible_webhook(
                conn,
                &subscriber.account,
                &path.company_id,
                &path.webhook_id,
            )?;
            repo::deliveries(conn, &row.id, paging)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Delivery::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// Deliver an event again (company admin).
///
/// Queues the delivery's event anew with the same `webhook-id` and body, so the
/// receiver can recognise it; the answer is the new delivery.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("hook_id" = String, Path, description = "Webhook id", example = "0190f3a8-4b5c-7d6e-8f70-8192a3b4c5d6"),
        ("delivery_id" = String, Path, description = "Delivery id", example = "0190f3a9-5c6d-7e8f-9a01-b2c3d4e5f607"),
    ),
    responses(
        (status = 202, description = "Queued; the new delivery", body = Delivery),
        (status = 403, description = "Not an admin of the company (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such delivery, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/companies/{id}/webhooks/{hook_id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    req: HttpRequest,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let path = hook_path(&req)?;
    let delivery_id = path_id(&req, "delivery_id")?;
    let now = state.clock.now();
    let delivery = state
        .db
        .transaction(move |conn| {
            let (row, access) = visible_webhook(
                conn,
                &subscriber.account,
                &path.company_id,
                &path.webhook_id,
            )?;
            access.require_admin()?;
            let original = repo::find_delivery(conn, &row.id, &delivery_id)?
                .ok_or_else(AppError::not_found)?;
            let event: EventType = original
                .event_type
                .parse()
                .map_err(|_| AppError::Internal(format!("stored event {}", original.event_type)))?;
            let again = DeliveryRow::new(
                &row.id,
                &original.message_id,
                event,
                &original.body,
                original.traceparent.as_deref(),
                now,
            );
            repo::insert_deliveries(conn, std::slice::from_ref(&again))?;
            audit::record(
                conn,
                &context,
                AuditAction::WebhookRedelivered,
                Some(&subscriber.account.id),
                Some(&row.id),
                Some(json!({"delivery_id": original.id, "redelivery_id": again.id})),
            )?;
            Ok(again)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(Delivery::try_from(delivery)?))
}
