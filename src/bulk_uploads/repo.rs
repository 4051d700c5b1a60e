//! Queries of staff-list reports.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::fold::storable;
use crate::error::AppError;
use crate::http::Paging;
use crate::schema::{accounts, bulk_uploads};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bulk_uploads)]
pub struct BulkUploadRow {
    pub id: String,
    pub contract_id: String,
    pub file_name: String,
    pub dry_run: bool,
    pub total: i32,
    pub created: i32,
    pub unchanged: i32,
    pub rejected: i32,
    /// JSON array of the row errors.
    pub errors: String,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &BulkUploadRow) -> Result<(), AppError> {
    diesel::insert_into(bulk_uploads::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    id: &str,
) -> Result<Option<BulkUploadRow>, AppError> {
    if !storable(id) {
        return Ok(None);
    }
    Ok(bulk_uploads::table
        .find(id)
        .filter(bulk_uploads::contract_id.eq(contract_id))
        .select(BulkUploadRow::as_select())
        .first(conn)
        .optional()?)
}

/// The contract's reports, newest first.
pub fn list_of_contract(
    conn: &mut DbConnection,
    contract_id: &str,
    paging: Paging,
) -> Result<(Vec<BulkUploadRow>, i64), AppError> {
    let total = bulk_uploads::table
        .filter(bulk_uploads::contract_id.eq(contract_id))
        .count()
        .get_result(conn)?;
    let rows = bulk_uploads::table
        .filter(bulk_uploads::contract_id.eq(contract_id))
        .order((bulk_uploads::created_at.desc(), bulk_uploads::id.desc()))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(BulkUploadRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The uploader's first and last name.
pub fn uploader_name(
    conn: &mut DbConnection,
    account_id: Option<&str>,
) -> Result<Option<(String, String)>, AppError> {
    let Some(account_id) = account_id else {
        return Ok(None);
    };
    Ok(accounts::table
        .find(account_id)
        .select((accounts::first_name, accounts::last_name))
        .first(conn)
        .optional()?)
}
