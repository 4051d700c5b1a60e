//! Companies (Firmen, Firmenkunden): the employers the operator has contracts with.
//! Operators load and correct them under `/api/v1/admin/companies`.

pub mod repo;
pub mod routes;
pub mod types;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the company routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_company)
        .service(routes::list_companies)
        .service(routes::get_company)
        .service(routes::update_company);
}
