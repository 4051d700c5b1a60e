//! Customers (Kunden): the holder records of subscriptions. Operators load and correct
//! them under `/api/v1/admin/customers`; a holder reads and changes their own data
//! ("Kundenverwaltung") through a linked subscription, and every change of the
//! marketing consent is kept as history.

pub mod holder;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod types;

use utoipa_actix_web::service_config::ServiceConfig;

pub use problems::CustomerProblem;

/// Registers the customer routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_customer)
        .service(routes::list_customers)
        .service(routes::get_customer)
        .service(routes::update_customer)
        .service(routes::get_holder_data)
        .service(routes::update_holder_data)
        .service(routes::list_consents);
}
