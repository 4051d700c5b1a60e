//! Signed webhooks for HR systems (Standard Webhooks): company admins register
//! endpoints for the events of their company — orders, approvals, tickets created and
//! cancelled, staff lists applied, statements finalized. Each event is written as a
//! delivery with the change that causes it (`events`), and a worker in every instance
//! sends it at least once (`worker`), only to public `https` targets (`targets`).

pub mod events;
pub mod mails;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod signing;
pub mod targets;
pub mod types;
pub mod worker;

pub use problems::WebhookProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the webhook routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_webhook)
        .service(routes::list_webhooks)
        .service(routes::get_webhook)
        .service(routes::update_webhook)
        .service(routes::delete_webhook)
        .service(routes::rotate_secret)
        .service(routes::ping)
        .service(routes::list_deliveries)
        .service(routes::redeliver);
}
