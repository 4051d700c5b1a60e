//! Operator routes of companies: `/api/v1/admin/companies`.

use actix_web::{HttpResponse, get, patch, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator};
use crate::companies::repo::{self, CompanyFilter};
use crate::companies::types::*;
use crate::error::{AppError, Problem};
use crate::http::{ApiJson, ApiQuery, Page, PageQuery, RecordId};
use crate::state::AppState;

/// Create a company (operator).
///
/// The customer number is unique: a taken one answers `409 duplicate_key` naming
/// `/customer_number`.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    request_body = NewCompanyRequest,
    responses(
        (status = 201, description = "Created; `Location` names the new company", body = Company),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/companies")]
pub async fn create_company(
    state: web::Data<AppState>,
    operator: Operator,
    ApiJson(request): ApiJson<NewCompanyRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let data = request.parse(clock.now())?;
    let company = state
        .db
        .transaction(move |conn| {
            let id = uuid::Uuid::now_v7().to_string();
            repo::insert(conn, &id, &data)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            audit::record(
                conn,
                &context,
                AuditAction::CompanyCreated,
                Some(&operator.account.id),
                Some(&id),
                None,
            )?;
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/admin/companies/{}", company.id),
        ))
        .json(Company::from(company)))
}

/// List companies (operator).
///
/// Sorted by name; filter by exact customer number or a case- and umlaut-tolerant
/// substring `q` of name or customer number.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(CompanyListQuery, PageQuery),
    responses(
        (status = 200, description = "One page of companies", body = Page<Company>),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/companies")]
pub async fn list_companies(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    ApiQuery(query): ApiQuery<CompanyListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.page.paging()?;
    let filter = CompanyFilter {
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
    let items = rows.into_iter().map(Company::from).collect();
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// One company (operator).
///
/// The company with its address and contact person.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")),
    responses(
        (status = 200, description = "The company", body = Company),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/companies/{id}")]
pub async fn get_company(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let company = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Company::from(company)))
}

/// Change a company (operator).
///
/// A JSON merge patch: absent fields stay as they are, `null` clears an optional one.
/// All invalid fields are reported at once and nothing is stored then.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")),
    request_body(content = UpdateCompanyRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed company", body = Company),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/companies/{id}")]
pub async fn update_company(
    state: web::Data<AppState>,
    operator: Operator,
    id: RecordId,
    ApiJson(request): ApiJson<UpdateCompanyRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let id = id.into_inner();
    let company = state
        .db
        .transaction(move |conn| {
            let current = repo::find(conn, &id)?.ok_or_else(AppError::not_found)?;
            let data = request
                .clone()
                .merged_onto(Some(&current.data), clock.now())?;
            repo::update(conn, &id, &data)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            audit::record(
                conn,
                &context,
                AuditAction::CompanyUpdated,
                Some(&operator.account.id),
                Some(&id),
                None,
            )?;
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Company::from(company)))
}
