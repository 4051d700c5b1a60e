//! Company contracts (Firmenverträge): a company's contract for a product offering such
//! as "D-Ticket Job (Rechnung)". Operators load and correct them under
//! `/api/v1/admin/contracts`; company users and operators list and open them in the
//! company portal under `/api/v1/contracts` (`portal`).

pub mod portal;
pub mod repo;
pub mod routes;
pub mod types;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the contract routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::create_contract)
        .service(routes::list_contracts)
        .service(routes::get_contract)
        .service(routes::update_contract)
        .service(portal::list_portal_contracts)
        .service(portal::get_contract_info);
}
