//! Accounts of the Self-Service: registration, e-mail verification, login, sessions,
//! passwords and the own account (`/me`).

pub mod input;
pub mod limits;
pub mod links;
pub mod mails;
pub mod passwords;
pub mod problems;
pub mod profile;
pub mod registration;
pub mod repo;
pub mod routes;
pub mod sessions;
pub mod types;

use utoipa_actix_web::service_config::ServiceConfig;

pub use problems::AccountProblem;

/// Registers the account routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::register)
        .service(routes::verify_email)
        .service(routes::resend_verification)
        .service(routes::login)
        .service(routes::refresh)
        .service(routes::logout)
        .service(routes::forgot_password)
        .service(routes::reset_password)
        .service(routes::get_me)
        .service(routes::update_me)
        .service(routes::change_password)
        .service(routes::delete_me);
}
