//! Operational endpoints outside `/api/v1`: liveness, readiness and the public keys.

use actix_web::{HttpResponse, get, web};
use diesel::connection::SimpleConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::jwt::Jwks;
use crate::error::{AppError, Problem};
use crate::state::AppState;

/// Health state.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthResponse {
    /// Always `ok` when answered with 200.
    #[schema(example = "ok")]
    pub status: String,
}

/// Liveness: the process answers.
///
/// Does not touch the database; use it to decide whether to restart the process.
#[utoipa::path(
    tag = "system",
    responses((status = 200, description = "The process is alive", body = HealthResponse))
)]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse {
        status: "ok".into(),
    })
}

/// Readiness: the database answers.
///
/// Answers `503` (problem+json, within two seconds) while the database is unreachable,
/// and `503 shutting_down` from the moment the instance got SIGTERM (it still serves
/// what reaches it while it drains); use it to decide whether to route traffic to this
/// instance.
#[utoipa::path(
    tag = "system",
    responses(
        (status = 200, description = "Ready to serve", body = HealthResponse),
        (status = 503, description = "Database unavailable (`service_unavailable`, see `Retry-After`), or the instance is shutting down (`shutting_down`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if state.shutdown.is_requested() {
        return Err(crate::error::GeneralProblem::ShuttingDown.into());
    }
    state
        .db
        .run(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok().json(HealthResponse {
        status: "ok".into(),
    }))
}

/// The public keys that verify access tokens (JWKS, RFC 7517).
///
/// Other services verify tokens with these keys; during a key rotation the previous key
/// stays listed until it is removed from the configuration.
#[utoipa::path(
    tag = "system",
    responses((status = 200, description = "The key set", body = Jwks))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.keys.jwks())
}

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(live).service(ready).service(jwks);
}
