//! The operator's audit trail: `GET /api/v1/admin/audit`. Read only: no endpoint
//! changes or deletes an entry.

use actix_web::{HttpResponse, get, web};

use crate::audit::repo;
use crate::audit::types::{AuditEntryView, AuditQuery};
use crate::auth::{Bearer, Operator};
use crate::error::{AppError, Problem};
use crate::http::{ApiQuery, Page, PageQuery};
use crate::state::AppState;

/// The audit trail (operator).
///
/// Who did what to which record, when and from where; newest first, paged. Filter by
/// actor (account id or e-mail address), subject (any record's id), action and a time
/// range (`from` and `to`, inclusive). The total is counted up to `SEARCH_COUNT_LIMIT`
/// (`total_relation: gte` beyond). Entries cannot be changed or deleted through the API;
/// retention removes them after `RETENTION_AUDIT_LOG_DAYS`.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(AuditQuery, PageQuery),
    responses(
        (status = 200, description = "One page of the trail, newest first", body = Page<AuditEntryView>),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filters or paging (`validation_failed`: `invalid_choice` at `/action`, `invalid_date` or `ends_before_start` at `/from` and `/to`, `invalid_email` or `too_long` at `/actor`, `too_long` at `/subject`, `out_of_range` at `/page` and `/per_page`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/audit")]
pub async fn list_audit_entries(
    state: web::Data<AppState>,
    bearer: Bearer<Operator>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let (filter, paging) = query.parse()?;
    let count_limit = state.config.lists.search_count_limit;
    let (items, total) = state
        .db
        .read_as(bearer, move |conn, _operator| {
            repo::list(conn, &filter, paging, count_limit)
        })
        .await?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}
