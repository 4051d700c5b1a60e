//! Operator routes of company contracts: `/api/v1/admin/contracts`.

use actix_web::{HttpResponse, get, patch, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator};
use crate::contracts::repo::{self, ContractData, ContractFilter};
use crate::contracts::types::*;
use crate::db::DbConnection;
use crate::error::{AppError, FieldErrorCode, Problem};
use crate::http::{ApiJson, ApiQuery, Page, PageQuery, Patch, RecordId};
use crate::prices;
use crate::state::AppState;

/// Create a company contract (operator).
///
/// The contract number is unique (`409 duplicate_key`); `company_id` must name a
/// company (`unknown_reference` otherwise); `valid_to` must not lie before
/// `valid_from` (`ends_before_start`). The `employer_share` must be at least 25 % of the
/// list price in force today, or of the product's newest price when none is in force
/// yet (`422 employer_share_too_low` at `/employer_share`).
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    request_body = NewContractRequest,
    responses(
        (status = 201, description = "Created; `Location` names the new contract", body = Contract),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contract number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`), or an employer share below 25 % of the list price (`employer_share_too_low` at `/employer_share`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/contracts")]
pub async fn create_contract(
    state: web::Data<AppState>,
    operator: Operator,
    ApiJson(mut request): ApiJson<NewContractRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let share = ShareChange::parse(std::mem::take(&mut request.employer_share));
    let (data, share) = both(request.parse(clock.now()), share)?;
    let today = state.clock.today_berlin();
    let contract = state
        .db
        .transaction(move |conn| {
            require_company(conn, &data)?;
            let id = uuid::Uuid::now_v7().to_string();
            repo::insert(conn, &id, &data)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            if let ShareChange::Set(Some(share)) = share {
                prices::repo::require_minimum_share(conn, &data.product_offering, share, today)?;
                repo::set_employer_share(conn, &id, Some(share))?;
            }
            audit::record(
                conn,
                &context,
                AuditAction::ContractCreated,
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
            format!("/api/v1/admin/contracts/{}", contract.id),
        ))
        .json(Contract::try_from(contract)?))
}

/// List company contracts (operator).
///
/// Sorted by contract number; filter by company or exact contract number.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(ContractListQuery, PageQuery),
    responses(
        (status = 200, description = "One page of contracts", body = Page<Contract>),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/contracts")]
pub async fn list_contracts(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    ApiQuery(query): ApiQuery<ContractListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.page.paging()?;
    let filter = ContractFilter {
        company_id: query.company_id,
        contract_number: query.contract_number,
    };
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::list(conn, &filter, paging)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(Contract::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// One company contract (operator).
///
/// The contract with its company id, product offering, state and validity.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")),
    responses(
        (status = 200, description = "The contract", body = Contract),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/contracts/{id}")]
pub async fn get_contract(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let contract = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Contract::try_from(contract)?))
}

/// Change a company contract (operator).
///
/// A JSON merge patch: absent fields stay, `null` makes `valid_to` open-ended and
/// removes the `employer_share`. All invalid fields are reported at once and nothing is
/// stored then. A share below 25 % of the list price in force today (or of the newest
/// price) answers `422 employer_share_too_low`; it is checked whenever the share or the
/// product offering changes.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")),
    request_body(content = UpdateContractRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed contract", body = Contract),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contract number is taken (`duplicate_key`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`), or an employer share below 25 % of the list price (`employer_share_too_low` at `/employer_share`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/contracts/{id}")]
pub async fn update_contract(
    state: web::Data<AppState>,
    operator: Operator,
    id: RecordId,
    ApiJson(request): ApiJson<UpdateContractRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let id = id.into_inner();
    let today = state.clock.today_berlin();
    let contract = state
        .db
        .transaction(move |conn| {
            let current = repo::find(conn, &id)?.ok_or_else(AppError::not_found)?;
            let mut patch = request.clone();
            let share = ShareChange::parse(std::mem::take(&mut patch.employer_share));
            let product_changed = patch.product_offering != Patch::Absent;
            let (data, share) = both(patch.merged_onto(Some(&current.data), clock.now()), share)?;
            require_company(conn, &data)?;
            repo::update(conn, &id, &data)
                .map_err(|e| e.or_duplicate_key(repo::duplicate_pointer))?;
            let share_after = match share {
                ShareChange::Keep => current.employer_share()?,
                ShareChange::Set(share) => share,
            };
            if let Some(kept) = share_after
                && (share != ShareChange::Keep || product_changed)
            {
                prices::repo::require_minimum_share(conn, &data.product_offering, kept, today)?;
            }
            if let ShareChange::Set(share) = share {
                repo::set_employer_share(conn, &id, share)?;
            }
            audit::record(
                conn,
                &context,
                AuditAction::ContractUpdated,
                Some(&operator.account.id),
                Some(&id),
                None,
            )?;
            repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Contract::try_from(contract)?))
}

fn require_company(conn: &mut DbConnection, data: &ContractData) -> Result<(), AppError> {
    match crate::companies::repo::find(conn, &data.company_id)? {
        Some(_) => Ok(()),
        None => Err(AppError::field(
            "/company_id",
            FieldErrorCode::UnknownReference,
        )),
    }
}
