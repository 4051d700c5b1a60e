//! The operator's price list (Preise) and what a month's ticket costs whom: the list
//! price, the job price after the job discount, and the employer's and employee's shares
//! of it under a contract. Operators keep the list under `/api/v1/admin/prices`.

pub mod pricing;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod types;

pub use pricing::{EmployerShare, MonthPrice};
pub use problems::PriceProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the price list routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_prices)
        .service(routes::create_price);
}
