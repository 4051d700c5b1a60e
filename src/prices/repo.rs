//! Queries of the price list.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::fold::storable;
use crate::domain::{Cents, Percent};
use crate::error::AppError;
use crate::http::{Paging, Total};
use crate::prices::pricing::PriceEntry;
use crate::schema::prices;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = prices)]
pub struct PriceRow {
    pub id: String,
    pub product_offering: String,
    pub valid_from: NaiveDate,
    pub list_price_cents: i64,
    pub job_discount_bp: i64,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
}

impl PriceRow {
    pub fn entry(&self) -> PriceEntry {
        PriceEntry {
            list_price: Cents(self.list_price_cents),
            job_discount: Percent(self.job_discount_bp),
        }
    }
}

/// The pointer of a price whose unique index refused it: one entry per product and
/// month.
pub fn duplicate_pointer(error: &AppError) -> Option<&'static str> {
    error
        .violated_unique_column()
        .filter(|column| column.contains("valid_from") || column.contains("product_offering"))
        .map(|_| "/valid_from")
}

pub fn insert(conn: &mut DbConnection, row: &PriceRow) -> Result<(), AppError> {
    diesel::insert_into(prices::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The price list, newest month first per product; optionally of one product.
pub fn list(
    conn: &mut DbConnection,
    product_offering: Option<&str>,
    paging: Paging,
) -> Result<(Vec<PriceRow>, Total), AppError> {
    if product_offering.is_some_and(|product| !storable(product)) {
        // No product is named so (and PostgreSQL refuses the value).
        return Ok((Vec::new(), Total::exact(0)));
    }
    let query = || {
        let mut query = prices::table.into_boxed();
        if let Some(product) = product_offering {
            query = query.filter(prices::product_offering.eq(product.to_string()));
        }
        query
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order((
            prices::product_offering.asc(),
            prices::valid_from.desc(),
            prices::id.asc(),
        ))
        .limit(paging.limit())
        .offset(paging.offset())
        .select(PriceRow::as_select())
        .load(conn)?;
    Ok((rows, Total::exact(total)))
}

/// The price of `product_offering` that holds in the month starting `month`: the entry
/// of that month or the newest before it.
pub fn in_force(
    conn: &mut DbConnection,
    product_offering: &str,
    month: NaiveDate,
) -> Result<Option<PriceRow>, AppError> {
    Ok(prices::table
        .filter(prices::product_offering.eq(product_offering))
        .filter(prices::valid_from.le(month))
        .order(prices::valid_from.desc())
        .select(PriceRow::as_select())
        .first(conn)
        .optional()?)
}

/// The newest entry of a product, whatever its month.
pub fn newest(
    conn: &mut DbConnection,
    product_offering: &str,
) -> Result<Option<PriceRow>, AppError> {
    Ok(prices::table
        .filter(prices::product_offering.eq(product_offering))
        .order(prices::valid_from.desc())
        .select(PriceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every entry whose month is at most `month`, per product the newest (for the
/// operator's overview of a month, where contracts of many products meet).
pub fn all_in_force(
    conn: &mut DbConnection,
    month: NaiveDate,
) -> Result<std::collections::HashMap<String, PriceRow>, AppError> {
    let rows: Vec<PriceRow> = prices::table
        .filter(prices::valid_from.le(month))
        .order((prices::product_offering.asc(), prices::valid_from.desc()))
        .select(PriceRow::as_select())
        .load(conn)?;
    let mut newest = std::collections::HashMap::new();
    for row in rows {
        newest.entry(row.product_offering.clone()).or_insert(row);
    }
    Ok(newest)
}

/// `422 employer_share_too_low` unless `share` is at least 25 % of the list price of
/// `product_offering` in force `today` — or of its newest price when none is in force
/// yet. Without any price, a percentage is checked as such and an amount cannot be.
pub fn require_minimum_share(
    conn: &mut DbConnection,
    product_offering: &str,
    share: crate::prices::EmployerShare,
    today: NaiveDate,
) -> Result<(), AppError> {
    let month = crate::domain::month::first_of_month(today);
    let price = match in_force(conn, product_offering, month)? {
        Some(price) => Some(price),
        None => newest(conn, product_offering)?,
    };
    let too_low = match (price, share) {
        (Some(price), share) => share.below_minimum(price.entry().list_price),
        (None, crate::prices::EmployerShare::Percent(_)) => share.below_minimum(Cents(0)),
        (None, crate::prices::EmployerShare::Amount(_)) => false,
    };
    if too_low {
        return Err(crate::prices::problems::employer_share_too_low());
    }
    Ok(())
}
