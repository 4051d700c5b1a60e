//! Queries of customer codes.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::error::AppError;
use crate::http::Paging;
use crate::schema::{accounts, companies, company_contracts, customer_codes};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customer_codes)]
pub struct CodeRow {
    pub id: String,
    pub contract_id: String,
    pub code: String,
    pub valid_until: NaiveDate,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A code with the names of the account that generated it (`None` once deleted).
pub type CodeWithCreator = (CodeRow, Option<(String, String)>);

/// Revokes the contract's unrevoked code, if any. Call under [`crate::contracts::repo::lock`].
pub fn revoke_current(
    conn: &mut DbConnection,
    contract_id: &str,
    now: NaiveDateTime,
) -> Result<usize, AppError> {
    Ok(diesel::update(
        customer_codes::table
            .filter(customer_codes::contract_id.eq(contract_id))
            .filter(customer_codes::revoked_at.is_null()),
    )
    .set(customer_codes::revoked_at.eq(now))
    .execute(conn)?)
}

pub fn insert(conn: &mut DbConnection, row: &CodeRow) -> Result<(), AppError> {
    diesel::insert_into(customer_codes::table)
        .values((
            customer_codes::id.eq(&row.id),
            customer_codes::contract_id.eq(&row.contract_id),
            customer_codes::code.eq(&row.code),
            customer_codes::valid_until.eq(row.valid_until),
            customer_codes::created_by.eq(&row.created_by),
            customer_codes::created_at.eq(row.created_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The contract's valid code: not revoked and `valid_until` not before `today`.
pub fn current(
    conn: &mut DbConnection,
    contract_id: &str,
    today: NaiveDate,
) -> Result<Option<CodeRow>, AppError> {
    Ok(customer_codes::table
        .filter(customer_codes::contract_id.eq(contract_id))
        .filter(customer_codes::revoked_at.is_null())
        .filter(customer_codes::valid_until.ge(today))
        .select(CodeRow::as_select())
        .first(conn)
        .optional()?)
}

/// One code of the contract, with its creator's names.
pub fn find(
    conn: &mut DbConnection,
    contract_id: &str,
    id: &str,
) -> Result<Option<CodeWithCreator>, AppError> {
    Ok(customer_codes::table
        .left_join(accounts::table.on(customer_codes::created_by.eq(accounts::id.nullable())))
        .filter(customer_codes::id.eq(id))
        .filter(customer_codes::contract_id.eq(contract_id))
        .select((
            CodeRow::as_select(),
            (accounts::first_name, accounts::last_name).nullable(),
        ))
        .first(conn)
        .optional()?)
}

/// The contract's codes, newest first, with their creators' names.
pub fn list(
    conn: &mut DbConnection,
    contract_id: &str,
    paging: Paging,
) -> Result<(Vec<CodeWithCreator>, i64), AppError> {
    let total = customer_codes::table
        .filter(customer_codes::contract_id.eq(contract_id))
        .count()
        .get_result(conn)?;
    let rows = customer_codes::table
        .left_join(accounts::table.on(customer_codes::created_by.eq(accounts::id.nullable())))
        .filter(customer_codes::contract_id.eq(contract_id))
        .order((customer_codes::created_at.desc(), customer_codes::id.desc()))
        .limit(paging.limit())
        .offset(paging.offset())
        .select((
            CodeRow::as_select(),
            (accounts::first_name, accounts::last_name).nullable(),
        ))
        .load(conn)?;
    Ok((rows, total))
}

/// Revokes one code of the contract; revoking a revoked code changes nothing.
pub fn revoke(
    conn: &mut DbConnection,
    contract_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, AppError> {
    Ok(diesel::update(
        customer_codes::table
            .filter(customer_codes::id.eq(id))
            .filter(customer_codes::contract_id.eq(contract_id))
            .filter(customer_codes::revoked_at.is_null()),
    )
    .set(customer_codes::revoked_at.eq(now))
    .execute(conn)?
        == 1)
}

/// What a valid code is for.
#[derive(Debug, Queryable)]
pub struct CodeTarget {
    pub contract_id: String,
    pub company_name: String,
    pub product_offering: String,
    pub valid_until: NaiveDate,
    pub contract_status: String,
    pub contract_valid_from: NaiveDate,
    pub contract_valid_to: Option<NaiveDate>,
}

/// The unrevoked, unexpired code with this stored spelling, and its contract.
pub fn find_valid(
    conn: &mut DbConnection,
    code: &str,
    today: NaiveDate,
) -> Result<Option<CodeTarget>, AppError> {
    Ok(customer_codes::table
        .inner_join(company_contracts::table.inner_join(companies::table))
        .filter(customer_codes::code.eq(code))
        .filter(customer_codes::revoked_at.is_null())
        .filter(customer_codes::valid_until.ge(today))
        .select((
            customer_codes::contract_id,
            companies::name,
            company_contracts::product_offering,
            customer_codes::valid_until,
            company_contracts::status,
            company_contracts::valid_from,
            company_contracts::valid_to,
        ))
        .first(conn)
        .optional()?)
}
