//! Queries of companies.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::companies::types::Contact;
use crate::contract_columns::{self, ContractScope};
use crate::db::DbConnection;
use crate::domain::Address;
use crate::domain::fold::{fold_number, fold_text, like_pattern, storable};
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::schema::companies;

/// The columns of a company that a create or update writes.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = companies, treat_none_as_null = true)]
pub struct CompanyData {
    pub customer_number: String,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub search_text: String,
    pub updated_at: NaiveDateTime,
}

impl CompanyData {
    pub fn address(&self) -> Address {
        Address {
            street: self.street.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
        }
    }

    pub fn contact(&self) -> Contact {
        Contact {
            name: self.contact_name.clone(),
            email: self.contact_email.clone(),
            phone: self.contact_phone.clone(),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = companies)]
pub struct CompanyRow {
    pub id: String,
    #[diesel(embed)]
    pub data: CompanyData,
    pub created_at: NaiveDateTime,
}

/// The pointer of a company field whose unique index refused a value.
pub fn duplicate_pointer(error: &AppError) -> Option<&'static str> {
    error
        .violated_unique_column()
        .filter(|column| column == "customer_number")
        .map(|_| "/customer_number")
}

pub fn insert(conn: &mut DbConnection, id: &str, data: &CompanyData) -> Result<(), AppError> {
    diesel::insert_into(companies::table)
        .values((
            companies::id.eq(id),
            companies::created_at.eq(data.updated_at),
            data,
        ))
        .execute(conn)?;
    Ok(())
}

/// Updates the company and the columns its contracts copy from it
/// ([`crate::contract_columns`]).
pub fn update(conn: &mut DbConnection, id: &str, data: &CompanyData) -> Result<(), AppError> {
    diesel::update(companies::table.find(id))
        .set(data)
        .execute(conn)?;
    contract_columns::refresh(conn, ContractScope::Company(id))
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<CompanyRow>, AppError> {
    Ok(companies::table
        .find(id)
        .select(CompanyRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_by_customer_number(
    conn: &mut DbConnection,
    customer_number: &str,
) -> Result<Option<CompanyRow>, AppError> {
    Ok(companies::table
        .filter(companies::customer_number.eq(customer_number))
        .select(CompanyRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a company list is filtered by.
#[derive(Debug, Default)]
pub struct CompanyFilter {
    pub customer_number: Option<String>,
    pub q: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &CompanyFilter,
    paging: Paging,
    search_count_limit: i64,
) -> Result<(Vec<CompanyRow>, Total), AppError> {
    if filter
        .customer_number
        .as_deref()
        .is_some_and(|v| !storable(v))
        || filter.q.as_deref().is_some_and(|v| !storable(v))
    {
        // No record holds such a value.
        return Ok((Vec::new(), Total::exact(0)));
    }
    let q = filter.q.as_deref().map(fold_text).filter(|q| !q.is_empty());
    let query = || {
        let mut query = companies::table.into_boxed();
        if let Some(number) = &filter.customer_number {
            query = query.filter(companies::customer_number.eq(fold_number(number)));
        }
        if let Some(q) = &q {
            query = query.filter(companies::search_text.like(like_pattern(q)).escape('\\'));
        }
        query
    };
    let total = match q {
        Some(_) => Total::count_up_to(conn, query(), search_count_limit)?,
        None => Total::exact(query().count().get_result(conn)?),
    };
    if total.ends_before(paging.offset()) {
        return Ok((Vec::new(), total));
    }
    let rows = query()
        .order((companies::name.asc(), companies::id.asc()))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(CompanyRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
