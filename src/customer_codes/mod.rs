//! Customer codes (Kundencodes): a company admin generates a time-limited code for one of
//! the company's contracts and hands it to the staff, who order their job ticket with
//! it. One code per contract is valid at a time; generating a new one revokes the
//! previous one in the same transaction.

pub mod code;
pub mod problems;
pub mod redeem;
pub mod repo;
pub mod routes;
pub mod types;

pub use problems::CustomerCodeProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the customer-code routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::generate_customer_code)
        .service(routes::list_customer_codes)
        .service(routes::revoke_customer_code)
        .service(routes::check_customer_code);
}
