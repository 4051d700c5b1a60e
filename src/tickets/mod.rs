//! A contract's tickets (the subscriptions under a company contract) for its company's
//! users and operators, and their cancellation (Kündigung) by the linked employee or by
//! the employer: a ticket ends with a month, the deadline day deciding which.

pub mod mails;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod types;

pub use problems::TicketProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the ticket routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::list_contract_tickets)
        .service(routes::cancel_my_ticket)
        .service(routes::cancel_contract_ticket);
}
