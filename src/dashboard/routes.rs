//! The dashboard route.

use actix_web::{HttpResponse, get, web};

use crate::auth::{Bearer, Subscriber};
use crate::dashboard::repo;
use crate::dashboard::types::{Dashboard, DashboardQuery};
use crate::error::{AppError, Problem};
use crate::http::ApiQuery;
use crate::memberships::{access_to_company, visible_companies};
use crate::state::AppState;

/// The dashboard.
///
/// Contracts by state, subscriptions active today and cancelled this month, pending
/// applications, customer codes valid and expiring within 30 days, and portal users by
/// role — for one company (`company_id`) or, without
/// it, all of the account's companies (operators: all companies).
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(DashboardQuery),
    responses(
        (status = 200, description = "The counts", body = Dashboard),
        (status = 404, description = "`company_id` names no company of the account's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/dashboard")]
pub async fn get_dashboard(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    ApiQuery(query): ApiQuery<DashboardQuery>,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now();
    let dashboard = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let account = &subscriber.account;
            let scope = match query.company_id.filter(|id| !id.trim().is_empty()) {
                Some(id) => {
                    let id = crate::contracts::types::reference(&id, "/company_id")
                        .map_err(|_| AppError::not_found())?;
                    access_to_company(conn, account, &id)?;
                    Some(vec![id])
                }
                None => visible_companies(conn, account)?,
            };
            repo::counts(conn, scope.as_deref(), now)
        })
        .await?;
    Ok(HttpResponse::Ok().json(dashboard))
}
