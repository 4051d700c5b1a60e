//! Routes of customer codes: generate, list and revoke a contract's codes (company users
//! and operators), and check a code (any signed-in account).

use actix_web::{HttpResponse, delete, get, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Subscriber};
use crate::contracts::portal::visible_contract;
use crate::customer_codes::types::*;
use crate::customer_codes::{CustomerCodeProblem, redeem, repo};
use crate::domain::month::{earliest_start, format_month};
use crate::error::{AppError, Problem};
use crate::http::{ApiJson, ApiQuery, NestedIds, Page, PageQuery, RecordId};
use crate::state::AppState;

/// Generate a customer code (company admin or operator).
///
/// A new code from the operating system's secure random source (60 bits, Crockford's
/// base32 in groups of four), valid through `valid_until`. The contract's previous code
/// is revoked in the same transaction, so exactly one code is valid even when two admins
/// generate at once (both may get `201`). Only a contract active today allows it.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")),
    request_body = GenerateCodeRequest,
    responses(
        (status = 201, description = "Generated", body = CustomerCode),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contract is not active today (`contract_not_active`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing, malformed, past, too distant or after-contract date (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contracts/{id}/customer-codes")]
pub async fn generate_customer_code(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    id: RecordId,
    ApiJson(request): ApiJson<GenerateCodeRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let id = id.into_inner();
    let code = state
        .db
        .transaction(move |conn| {
            let account = &subscriber.account;
            let (_, access) = visible_contract(conn, account, &id)?;
            access.require_admin()?;
            crate::contracts::repo::lock(conn, &id)?;
            // Read under the lock: an operator may have just ended the contract.
            let contract =
                crate::contracts::repo::find(conn, &id)?.ok_or_else(AppError::not_found)?;
            let today = clock.today_berlin();
            if !crate::contracts::repo::is_active(&contract.data, today) {
                return Err(CustomerCodeProblem::ContractNotActive.into());
            }
            let valid_until = request.clone().parse(today, contract.data.valid_to)?;
            let now = clock.now();
            repo::revoke_current(conn, &id, now)?;
            let row = new_code_row(&id, valid_until, &account.id, now);
            repo::insert(conn, &row)?;
            audit::record(
                conn,
                &context,
                AuditAction::CustomerCodeGenerated,
                Some(&account.id),
                Some(&row.id),
                Some(serde_json::json!({ "contract_id": id, "valid_until": valid_until })),
            )?;
            let stored = repo::find(conn, &id, &row.id)?.ok_or_else(AppError::not_found)?;
            Ok(CustomerCode::new(stored, today))
        })
        .await?;
    state.metrics.customer_code_generated();
    Ok(HttpResponse::Created().json(code))
}

/// A contract's customer codes.
///
/// The current and earlier codes, newest first, each with its state today; paged.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"), PageQuery),
    responses(
        (status = 200, description = "One page of the contract's codes", body = Page<CustomerCode>),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/customer-codes")]
pub async fn list_customer_codes(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    ApiQuery(query): ApiQuery<CodeListQuery>,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let paging = query.page.paging()?;
    let id = id.into_inner();
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            visible_contract(conn, &subscriber.account, &id)?;
            repo::list(conn, &id, paging)
        })
        .await?;
    let today = clock.today_berlin();
    let items = rows
        .into_iter()
        .map(|row| CustomerCode::new(row, today))
        .collect();
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// Revoke a customer code (company admin or operator).
///
/// The code stops working at once. Revoking a code that is revoked already changes
/// nothing.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("code_id" = String, Path, description = "Customer code id", example = "0190f3a6-2e3f-7a41-9b52-6c7d8e9f0a1b"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract or code, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/contracts/{id}/customer-codes/{code_id}")]
pub async fn revoke_customer_code(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ids: NestedIds,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    state
        .db
        .transaction(move |conn| {
            let account = &subscriber.account;
            let (_, access) = visible_contract(conn, account, &ids.parent)?;
            access.require_admin()?;
            repo::find(conn, &ids.parent, &ids.item)?.ok_or_else(AppError::not_found)?;
            if repo::revoke(conn, &ids.parent, &ids.item, clock.now())? {
                audit::record(
                    conn,
                    &context,
                    AuditAction::CustomerCodeRevoked,
                    Some(&account.id),
                    Some(&ids.item),
                    None,
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Check a customer code (any signed-in account).
///
/// A valid code answers what it is for. An unknown, expired or revoked code, or one
/// whose contract is no longer active, answers one generic `customer_code_invalid`.
/// Failed checks count per account (`RATE_LIMIT_CODE_CHECK_PER_ACCOUNT`) and per client
/// IP (`RATE_LIMIT_CODE_CHECK_PER_IP`); over either limit the answer is
/// `too_many_code_attempts` with `Retry-After`.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    request_body = CheckCodeRequest,
    responses(
        (status = 200, description = "A valid code", body = CheckedCode),
        (status = 422, description = "Not a valid code (`customer_code_invalid`), or no code given (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed checks (`too_many_code_attempts`), with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/customer-codes/check")]
pub async fn check_customer_code(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ApiJson(request): ApiJson<CheckCodeRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let code = request.parse()?;
    let limits = state.config.limits;
    let deadline = state.config.ordering.order_deadline_day;
    let outcome = state
        .db
        .transaction(move |conn| {
            let today = clock.today_berlin();
            let checked = redeem::check(
                conn,
                &subscriber.account.id,
                &context,
                &limits,
                &code,
                today,
            )?;
            Ok(checked.map(|target| CheckedCode {
                company_name: target.company_name,
                product_offering: target.product_offering,
                contract_id: target.contract_id,
                valid_until: target.valid_until,
                earliest_start_month: format_month(earliest_start(today, deadline)),
            }))
        })
        .await??;
    Ok(HttpResponse::Ok().json(outcome))
}
