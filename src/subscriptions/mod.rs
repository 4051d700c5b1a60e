//! Subscriptions (Abos): the operator loads them under `/api/v1/admin/subscriptions`;
//! a subscriber links theirs to the account and sees them in the Aboverwaltung
//! (`/api/v1/me/subscriptions`).

pub mod linking;
pub mod overview;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod types;

use utoipa_actix_web::service_config::ServiceConfig;

pub use problems::SubscriptionProblem;

/// Registers the subscription routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_subscription)
        .service(routes::list_subscriptions)
        .service(routes::get_subscription)
        .service(routes::update_subscription)
        .service(routes::link_subscription)
        .service(routes::list_my_subscriptions)
        .service(routes::get_my_subscription)
        .service(routes::download_overview)
        .service(routes::unlink_subscription);
}
