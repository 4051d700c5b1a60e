//! Applications (Anträge): an employee orders a D-Ticket Job under their employer's
//! contract with the customer code the employer handed out; the company's admins
//! approve (which creates the customer and the ticket, linked to the employee) or
//! reject it; the employee may withdraw it while it is pending.

pub mod decisions;
pub mod mails;
pub mod order;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod types;

pub use problems::ApplicationProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the application routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::submit_application)
        .service(routes::list_my_applications)
        .service(routes::get_my_application)
        .service(routes::withdraw_application)
        .service(decisions::list_contract_applications)
        .service(decisions::get_contract_application)
        .service(decisions::approve_application)
        .service(decisions::reject_application);
}
