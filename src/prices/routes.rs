//! Operator routes of the price list: `/api/v1/admin/prices`.

use actix_web::{HttpResponse, get, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator};
use crate::error::{AppError, Problem};
use crate::http::{ApiJson, ApiQuery, Page, PageQuery};
use crate::prices::repo::{self, PriceRow};
use crate::prices::types::*;
use crate::state::AppState;

/// The price list (operator).
///
/// Every entry, per product the newest month first; filter by product offering.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(PriceListQuery, PageQuery),
    responses(
        (status = 200, description = "One page of the price list", body = Page<Price>),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/prices")]
pub async fn list_prices(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    ApiQuery(query): ApiQuery<PriceListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.page.paging()?;
    let product = query.product_offering.filter(|p| !p.trim().is_empty());
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::list(conn, product.as_deref().map(str::trim), paging)
        })
        .await?;
    let items = rows.into_iter().map(Price::from).collect();
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// Add a price (operator).
///
/// A product's list price and job discount from the 1st of a month until the next
/// entry for the same product. Money is a decimal string in euros with a point
/// (`"63.00"`), a discount a percentage (`"5.00"`). One entry per product and month
/// (`409 duplicate_key`); final statements keep the price they were frozen with.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    request_body = NewPriceRequest,
    responses(
        (status = 201, description = "Created; `Location` names the price list filtered to its product", body = Price),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The product has a price for that month already (`duplicate_key` at `/valid_from`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`: `required`, `invalid_amount`, `invalid_percent`, `out_of_range`, `invalid_date`, `not_first_of_month`, `too_long`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/prices")]
pub async fn create_price(
    state: web::Data<AppState>,
    operator: Operator,
    ApiJson(request): ApiJson<NewPriceRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let price = request.parse()?;
    let now = state.clock.now();
    let row = PriceRow {
        id: uuid::Uuid::now_v7().to_string(),
        product_offering: price.product_offering,
        valid_from: price.valid_from,
        list_price_cents: price.list_price.0,
        job_discount_bp: price.job_discount.0,
        created_at: now,
        created_by: Some(operator.account.id.clone()),
    };
    let stored = row.clone();
    state
        .db
        .transaction(move |conn| {
            repo::insert(conn, &row).map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            audit::record(
                conn,
                &context,
                AuditAction::PriceCreated,
                Some(&operator.account.id),
                Some(&row.id),
                Some(serde_json::json!({
                    "product_offering": row.product_offering,
                    "valid_from": row.valid_from,
                    "list_price": row.entry().list_price.to_string(),
                    "job_discount_percent": row.entry().job_discount.to_string(),
                })),
            )
        })
        .await?;
    let location = format!(
        "/api/v1/admin/prices?product_offering={}",
        form_urlencoded::byte_serialize(stored.product_offering.as_bytes()).collect::<String>()
    );
    Ok(HttpResponse::Created()
        .insert_header(("Location", location))
        .json(Price::from(stored)))
}
