//! Queries of company contracts.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::fold::fold_number;
use crate::domain::fold::storable;
use crate::error::AppError;
use crate::http::Paging;
use crate::schema::company_contracts;

/// The columns of a contract that a create or update writes.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = company_contracts, treat_none_as_null = true)]
pub struct ContractData {
    pub contract_number: String,
    pub company_id: String,
    pub product_offering: String,
    pub status: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = company_contracts)]
pub struct ContractRow {
    pub id: String,
    #[diesel(embed)]
    pub data: ContractData,
    pub created_at: NaiveDateTime,
}

/// The pointer of a contract field whose unique index refused a value.
pub fn duplicate_pointer(error: &AppError) -> Option<&'static str> {
    error
        .violated_unique_column()
        .filter(|column| column == "contract_number")
        .map(|_| "/contract_number")
}

pub fn insert(conn: &mut DbConnection, id: &str, data: &ContractData) -> Result<(), AppError> {
    diesel::insert_into(company_contracts::table)
        .values((
            company_contracts::id.eq(id),
            company_contracts::created_at.eq(data.updated_at),
            data,
        ))
        .execute(conn)?;
    Ok(())
}

pub fn update(conn: &mut DbConnection, id: &str, data: &ContractData) -> Result<(), AppError> {
    diesel::update(company_contracts::table.find(id))
        .set(data)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<ContractRow>, AppError> {
    Ok(company_contracts::table
        .find(id)
        .select(ContractRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_number(
    conn: &mut DbConnection,
    contract_number: &str,
) -> Result<Option<ContractRow>, AppError> {
    Ok(company_contracts::table
        .filter(company_contracts::contract_number.eq(contract_number))
        .select(ContractRow::as_select())
        .first(conn)
        .optional()?)
}

/// What the operator's contract list is filtered by.
#[derive(Debug, Default)]
pub struct ContractFilter {
    pub company_id: Option<String>,
    pub contract_number: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &ContractFilter,
    paging: Paging,
) -> Result<(Vec<ContractRow>, i64), AppError> {
    if filter.company_id.as_deref().is_some_and(|v| !storable(v))
        || filter
            .contract_number
            .as_deref()
            .is_some_and(|v| !storable(v))
    {
        // No record holds such a value.
        return Ok((Vec::new(), 0));
    }
    let query = || {
        let mut query = company_contracts::table.into_boxed();
        if let Some(company_id) = &filter.company_id {
            query = query.filter(company_contracts::company_id.eq(company_id.clone()));
        }
        if let Some(number) = &filter.contract_number {
            query = query.filter(company_contracts::contract_number.eq(fold_number(number)));
        }
        query
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order((
            company_contracts::contract_number.asc(),
            company_contracts::id.asc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(ContractRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
