//! Company users (Anwender): an account's membership in a company as `admin` (manages
//! the company's users, generates customer codes) or `member` (reads). A membership
//! begins as an e-mailed invitation and becomes active when accepted. Operators invite
//! a company's first admin; the company's admins manage the rest.

pub mod access;
pub mod invitations;
pub mod mails;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod types;

pub use access::{CompanyAccess, access_to_company, companies_of, my_companies, visible_companies};
pub use problems::MembershipProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the membership routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::invite_first_admin)
        .service(routes::get_portal_company)
        .service(routes::list_company_users)
        .service(routes::invite_company_user)
        .service(routes::get_company_user)
        .service(routes::change_company_user)
        .service(routes::remove_company_user)
        .service(routes::accept_invitation);
}
