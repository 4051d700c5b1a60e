//! Routes of customers: the operator's `/api/v1/admin/customers` and the holder's
//! `/api/v1/me/subscriptions/{id}/customer`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator, Subscriber};
use crate::customers::holder;
use crate::customers::repo::{self, ConsentSource, CustomerFilter};
use crate::customers::types::*;
use crate::error::{AppError, Problem};
use crate::http::{ApiJson, ApiQuery, Page, PageQuery, RecordId};
use crate::state::AppState;

/// Create a customer (operator).
///
/// The customer number is unique (`409 duplicate_key`). The initial marketing consent
/// starts the consent history (source `operator`).
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    request_body = NewCustomerRequest,
    responses(
        (status = 201, description = "Created; `Location` names the new customer", body = Customer),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/customers")]
pub async fn create_customer(
    state: web::Data<AppState>,
    operator: Operator,
    ApiJson(request): ApiJson<NewCustomerRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let data = request.parse(clock.today_berlin(), clock.now())?;
    let customer = state
        .db
        .transaction(move |conn| {
            let id = uuid::Uuid::now_v7().to_string();
            repo::insert(conn, &id, &data, ConsentSource::Operator)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            audit::record(
                conn,
                &context,
                AuditAction::CustomerCreated,
                Some(&operator.account.id),
                Some(&id),
                None,
            )?;
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/admin/customers/{}", customer.id),
        ))
        .json(Customer::try_from(customer)?))
}

/// List customers (operator).
///
/// Sorted by last and first name; filter by exact customer number or a case- and
/// umlaut-tolerant substring `q` of first name, last name or customer number.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(CustomerListQuery, PageQuery),
    responses(
        (status = 200, description = "One page of customers", body = Page<Customer>),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    ApiQuery(query): ApiQuery<CustomerListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.page.paging()?;
    let filter = CustomerFilter {
        customer_number: query.customer_number,
        q: query.q,
    };
    let search_count_limit = state.config.lists.search_count_limit;
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::list(conn, &filter, paging, search_count_limit)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Customer::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// One customer (operator).
///
/// The holder record with address, phones, consent and when it was recorded.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Customer id", example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")),
    responses(
        (status = 200, description = "The customer", body = Customer),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/customers/{id}")]
pub async fn get_customer(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let customer = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Customer::try_from(customer)?))
}

/// Change a customer (operator).
///
/// A JSON merge patch: absent fields stay, `null` clears an optional one. A changed
/// consent goes into the history (source `operator`).
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Customer id", example = "0190f3a4-9d3e-7f40-8b12-5e6f7a8b9c0d")),
    request_body(content = UpdateCustomerRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed customer", body = Customer),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/customers/{id}")]
pub async fn update_customer(
    state: web::Data<AppState>,
    operator: Operator,
    id: RecordId,
    ApiJson(request): ApiJson<UpdateCustomerRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let id = id.into_inner();
    let customer = state
        .db
        .transaction(move |conn| {
            let current = repo::find_for_update(conn, &id)?.ok_or_else(AppError::not_found)?;
            let data = request.clone().merged_onto(
                Some(&current.data),
                clock.today_berlin(),
                clock.now(),
            )?;
            repo::update(conn, &id, &current.data, &data, ConsentSource::Operator)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            audit::record(
                conn,
                &context,
                AuditAction::CustomerUpdated,
                Some(&operator.account.id),
                Some(&id),
                None,
            )?;
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Customer::try_from(customer)?))
}

/// The holder's customer data ("Kundenverwaltung").
///
/// The customer record behind one of the account's linked subscriptions, with an
/// `ETag` to send back as `If-Match` when changing it. Someone else's or an unknown
/// subscription answers `404`.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")),
    responses(
        (status = 200, description = "The customer data", body = CustomerDetails,
            headers(("ETag" = String, description = "Version of the data, for `If-Match`"))),
        (status = 404, description = "No such subscription of this account (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/subscriptions/{id}/customer")]
pub async fn get_holder_data(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (details, tag) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            holder::details_of(conn, &subscriber, &id)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .json(details))
}

/// Change the holder's customer data ("Kundenverwaltung").
///
/// A JSON merge patch of salutation, gender, marketing consent, address, recipient and
/// phones: absent fields stay, `null` clears recipient or a phone. Name, birth date,
/// customer number and `recorded_at` are read-only (`field_read_only` when sent with
/// another value). With `If-Match`, a stale tag answers `412 precondition_failed` and
/// changes nothing. Consent changes go into the history (source `self_service`); the
/// audit log names the changed fields, never their values.
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` the change is based on", example = "\"3f2a9c0d1e4b5a6978c0d1e2\""),
    ),
    request_body(content = UpdateHolderRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed customer data", body = CustomerDetails,
            headers(("ETag" = String, description = "The new version of the data"))),
        (status = 404, description = "No such subscription of this account (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The data changed since the `If-Match` tag (`precondition_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors` (`validation_failed`), also `field_read_only`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me/subscriptions/{id}/customer")]
pub async fn update_holder_data(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    id: RecordId,
    request: HttpRequest,
    ApiJson(body): ApiJson<UpdateHolderRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let if_match = if_match(&request);
    let now = state.clock.now();
    let (details, tag) = state
        .db
        .transaction(move |conn| {
            holder::update(
                conn,
                &subscriber,
                &id,
                body.clone(),
                if_match.clone(),
                &context,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .json(details))
}

/// The history of the holder's marketing consent.
///
/// Every value the consent had, newest first, with when and where it was changed
/// (`self_service`, `operator` or `import`).
#[utoipa::path(
    tag = "subscriptions",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Subscription id", example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of consent changes", body = Page<ConsentChange>),
        (status = 404, description = "No such subscription of this account (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/subscriptions/{id}/customer/consents")]
pub async fn list_consents(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.paging()?;
    let id = id.into_inner();
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let customer_id = holder::holder_id(conn, &subscriber, &id)?;
            repo::consents(conn, &customer_id, paging)
        })
        .await?;
    let items = rows.into_iter().map(ConsentChange::from).collect();
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// The entity tags of an `If-Match` header, if one was sent.
fn if_match(request: &HttpRequest) -> Option<Vec<String>> {
    let values: Vec<String> = request
        .headers()
        .get_all(header::IF_MATCH)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().to_string())
        .filter(|tag| !tag.is_empty())
        .collect();
    (request.headers().contains_key(header::IF_MATCH)).then_some(values)
}
