//! Monthly statements (Abrechnungen) for payroll and invoicing: per contract and month
//! the tickets that ran, with prices and the employer's and employee's shares, as a
//! page, CSV and Excel; frozen once the month has ended. Operators see a month's
//! overview of all contracts and can re-open a month.

pub mod files;
pub mod freezing;
pub mod overview;
pub mod repo;
pub mod routes;
pub mod types;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the statement routes (under `/api/v1`). The file routes come first: the
/// plain `{month}` would match `2026-11.csv` too.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::get_statement_csv)
        .service(routes::get_statement_xlsx)
        .service(routes::get_statement)
        .service(overview::month_overview_csv)
        .service(overview::reopen_month)
        .service(overview::month_overview);
}
