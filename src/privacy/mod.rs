//! Data-protection rights (GDPR): a subscriber's export of their own data (Art. 15 and
//! 20), the operator's export of a customer record for requests by letter, and erasure
//! with the legal retention periods. Every export is audited; the operator's audit trail
//! itself lives in [`crate::audit`].

pub mod erasure;
pub mod export;
pub mod problems;
pub mod routes;
pub mod types;

pub use problems::PrivacyProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the data-protection routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::export_my_data)
        .service(routes::export_customer_data)
        .service(routes::erase_customer);
}
