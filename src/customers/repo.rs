//! Queries of customers and their consent history.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::Address;
use crate::domain::fold::{fold_number, fold_text, like_pattern, storable};
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::schema::{consent_changes, customers, subscriptions};

/// The columns of a customer that a create or update writes.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customers, treat_none_as_null = true)]
pub struct CustomerData {
    pub customer_number: String,
    pub salutation: String,
    pub gender: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub country: String,
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub phone_work: Option<String>,
    pub marketing_consent: bool,
    pub recorded_at: NaiveDate,
    pub search_text: String,
    pub updated_at: NaiveDateTime,
}

impl CustomerData {
    pub fn address(&self) -> Address {
        Address {
            street: self.street.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
        }
    }

    pub fn set_address(&mut self, address: Address) {
        self.street = address.street;
        self.postal_code = address.postal_code;
        self.city = address.city;
        self.country = address.country;
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub struct CustomerRow {
    pub id: String,
    #[diesel(embed)]
    pub data: CustomerData,
    pub created_at: NaiveDateTime,
}

/// Where a consent change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::AsRefStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum ConsentSource {
    SelfService,
    Operator,
    Import,
    /// An employee's order (Antrag), when the employer approved it.
    Application,
    /// A row of an employer's staff list (Massenupload).
    BulkUpload,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consent_changes)]
pub struct ConsentRow {
    pub marketing_consent: bool,
    pub source: String,
    pub changed_at: NaiveDateTime,
}

/// The pointer of a customer field whose unique index refused a value.
pub fn duplicate_pointer(error: &AppError) -> Option<&'static str> {
    error
        .violated_unique_column()
        .filter(|column| column == "customer_number")
        .map(|_| "/customer_number")
}

/// Inserts a customer and the first entry of its consent history.
pub fn insert(
    conn: &mut DbConnection,
    id: &str,
    data: &CustomerData,
    source: ConsentSource,
) -> Result<(), AppError> {
    diesel::insert_into(customers::table)
        .values((
            customers::id.eq(id),
            customers::created_at.eq(data.updated_at),
            data,
        ))
        .execute(conn)?;
    record_consent(conn, id, data.marketing_consent, source, data.updated_at)
}

/// Inserts many new customers, each with the first entry of its consent history: on
/// PostgreSQL as binary `COPY`s (no statements of thousands of parameters to parse and
/// plan), on SQLite, which runs in-process, row by row.
pub fn insert_many(
    conn: &mut DbConnection,
    rows: &[(String, &CustomerData)],
    source: ConsentSource,
) -> Result<(), AppError> {
    let consent_ids: Vec<String> = rows
        .iter()
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let source = source.as_ref();
    match conn {
        DbConnection::Postgres(pg) => {
            let copied: Vec<_> = rows
                .iter()
                .map(|(id, data)| CopiedCustomer::new(id, data))
                .collect();
            diesel::copy_from(customers::table)
                .from_insertable(copied)
                .execute(pg)?;
            let consents: Vec<_> = rows
                .iter()
                .zip(&consent_ids)
                .map(|((customer_id, data), id)| CopiedConsent {
                    id,
                    customer_id,
                    marketing_consent: data.marketing_consent,
                    source,
                    changed_at: data.updated_at,
                })
                .collect();
            diesel::copy_from(consent_changes::table)
                .from_insertable(consents)
                .execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            for ((id, data), consent_id) in rows.iter().zip(&consent_ids) {
                diesel::insert_into(customers::table)
                    .values(CopiedCustomer::new(id, data))
                    .execute(sqlite)?;
                diesel::insert_into(consent_changes::table)
                    .values(CopiedConsent {
                        id: consent_id,
                        customer_id: id,
                        marketing_consent: data.marketing_consent,
                        source,
                        changed_at: data.updated_at,
                    })
                    .execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// A new customer as `COPY` writes it: every column it sets, none left to a default
/// (`COPY` names its columns once for all rows).
#[derive(Insertable)]
#[diesel(table_name = customers, treat_none_as_default_value = false)]
struct CopiedCustomer<'a> {
    id: &'a str,
    customer_number: &'a str,
    salutation: &'a str,
    gender: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    birth_date: chrono::NaiveDate,
    street: &'a str,
    postal_code: &'a str,
    city: &'a str,
    country: &'a str,
    recipient: Option<&'a str>,
    phone: Option<&'a str>,
    phone_work: Option<&'a str>,
    marketing_consent: bool,
    recorded_at: chrono::NaiveDate,
    search_text: &'a str,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

impl<'a> CopiedCustomer<'a> {
    fn new(id: &'a str, data: &'a CustomerData) -> Self {
        CopiedCustomer {
            id,
            customer_number: &data.customer_number,
            salutation: &data.salutation,
            gender: &data.gender,
            first_name: &data.first_name,
            last_name: &data.last_name,
            birth_date: data.birth_date,
            street: &data.street,
            postal_code: &data.postal_code,
            city: &data.city,
            country: &data.country,
            recipient: data.recipient.as_deref(),
            phone: data.phone.as_deref(),
            phone_work: data.phone_work.as_deref(),
            marketing_consent: data.marketing_consent,
            recorded_at: data.recorded_at,
            search_text: &data.search_text,
            created_at: data.updated_at,
            updated_at: data.updated_at,
        }
    }
}

/// The first entry of an imported customer's consent history, as `COPY` writes it.
#[derive(Insertable)]
#[diesel(table_name = consent_changes, treat_none_as_default_value = false)]
struct CopiedConsent<'a> {
    id: &'a str,
    customer_id: &'a str,
    marketing_consent: bool,
    source: &'a str,
    changed_at: chrono::NaiveDateTime,
}

/// Writes the new data; a changed consent goes into the history.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    current: &CustomerData,
    data: &CustomerData,
    source: ConsentSource,
) -> Result<(), AppError> {
    diesel::update(customers::table.find(id))
        .set(data)
        .execute(conn)?;
    if current.marketing_consent != data.marketing_consent {
        record_consent(conn, id, data.marketing_consent, source, data.updated_at)?;
    }
    Ok(())
}

/// Changes only the customer's consent (and `updated_at`, so its ETag changes), and
/// records the change in the history. Nothing else of the record is touched.
pub fn set_consent(
    conn: &mut DbConnection,
    customer_id: &str,
    consent: bool,
    source: ConsentSource,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(customers::table.find(customer_id))
        .set((
            customers::marketing_consent.eq(consent),
            customers::updated_at.eq(at),
        ))
        .execute(conn)?;
    record_consent(conn, customer_id, consent, source, at)
}

pub fn record_consent(
    conn: &mut DbConnection,
    customer_id: &str,
    consent: bool,
    source: ConsentSource,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(consent_changes::table)
        .values((
            consent_changes::id.eq(uuid::Uuid::now_v7().to_string()),
            consent_changes::customer_id.eq(customer_id),
            consent_changes::marketing_consent.eq(consent),
            consent_changes::source.eq(source.as_ref()),
            consent_changes::changed_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<CustomerRow>, AppError> {
    Ok(customers::table
        .find(id)
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()?)
}

/// The customer, its row locked until the transaction ends (PostgreSQL; a SQLite
/// write transaction holds the whole database already).
pub fn find_for_update(conn: &mut DbConnection, id: &str) -> Result<Option<CustomerRow>, AppError> {
    let query = customers::table.find(id);
    Ok(match conn {
        DbConnection::Postgres(pg) => query
            .select(CustomerRow::as_select())
            .for_update()
            .first(pg)
            .optional()?,
        DbConnection::Sqlite(sqlite) => query
            .select(CustomerRow::as_select())
            .first(sqlite)
            .optional()?,
    })
}

pub fn find_by_number(
    conn: &mut DbConnection,
    customer_number: &str,
) -> Result<Option<CustomerRow>, AppError> {
    Ok(customers::table
        .filter(customers::customer_number.eq(customer_number))
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()?)
}

/// The account's own customer record for this holder: one that a subscription linked to
/// the account belongs to, with the same birth date and last name (folded: case,
/// spaces, umlauts). The oldest of several. Last name, birth date and postal code are
/// no secret, so a record is only ever reused for the account that already holds it;
/// anyone else's order gets a record of its own.
pub fn held_by_account(
    conn: &mut DbConnection,
    account_id: &str,
    last_name: &str,
    birth_date: NaiveDate,
) -> Result<Option<CustomerRow>, AppError> {
    let last_name = fold_text(last_name);
    let held: Vec<CustomerRow> = customers::table
        .filter(customers::birth_date.eq(birth_date))
        .filter(
            customers::id.eq_any(
                subscriptions::table
                    .filter(subscriptions::account_id.eq(account_id))
                    .select(subscriptions::customer_id),
            ),
        )
        .order((customers::created_at.asc(), customers::id.asc()))
        .select(CustomerRow::as_select())
        .load(conn)?;
    Ok(held
        .into_iter()
        .find(|row| fold_text(&row.data.last_name) == last_name))
}

/// The consent history of a customer, newest first.
pub fn consents(
    conn: &mut DbConnection,
    customer_id: &str,
    paging: Paging,
) -> Result<(Vec<ConsentRow>, i64), AppError> {
    let total = consent_changes::table
        .filter(consent_changes::customer_id.eq(customer_id))
        .count()
        .get_result(conn)?;
    let rows = consent_changes::table
        .filter(consent_changes::customer_id.eq(customer_id))
        .order((
            consent_changes::changed_at.desc(),
            consent_changes::id.desc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(ConsentRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// What the operator's customer list is filtered by.
#[derive(Debug, Default)]
pub struct CustomerFilter {
    pub customer_number: Option<String>,
    pub q: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &CustomerFilter,
    paging: Paging,
    search_count_limit: i64,
) -> Result<(Vec<CustomerRow>, Total), AppError> {
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
        let mut query = customers::table.into_boxed();
        if let Some(number) = &filter.customer_number {
            query = query.filter(customers::customer_number.eq(fold_number(number)));
        }
        if let Some(q) = &q {
            query = query.filter(customers::search_text.like(like_pattern(q)).escape('\\'));
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
        .order((
            customers::last_name.asc(),
            customers::first_name.asc(),
            customers::id.asc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(CustomerRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
