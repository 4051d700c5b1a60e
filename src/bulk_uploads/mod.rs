//! Staff lists (Massenupload): a company admin uploads a CSV or Excel list of employees
//! for one contract; each valid row becomes an approved order (customer and ticket), and
//! the row-by-row report is kept — the file is not.

pub mod apply;
pub mod file;
pub mod mails;
pub mod problems;
pub mod repo;
pub mod routes;
pub mod rows;
pub mod slots;
pub mod types;
pub mod xlsx;

pub use problems::BulkUploadProblem;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers the staff-list routes (under `/api/v1`).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(routes::template_csv)
        .service(routes::template_xlsx)
        .service(routes::upload_staff_list)
        .service(routes::list_staff_lists)
        .service(routes::get_staff_list);
}
