//! The dashboard: counts of a company's (or, for operators, every company's) contracts,
//! active subscriptions, customer codes and portal users.

pub mod repo;
pub mod routes;
pub mod types;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the dashboard route (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::get_dashboard);
}
