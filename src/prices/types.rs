//! Request and response bodies of the price list.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::domain::date::parse_date;
use crate::domain::text::parse_line;
use crate::domain::{Cents, Percent};
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::http::PageQuery;
use crate::prices::repo::PriceRow;

/// A price list entry: a product's list price and job discount from the 1st of a month
/// until the next entry for the same product.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a7-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
    "product_offering": "D-Ticket Job (Rechnung)",
    "valid_from": "2026-01-01",
    "list_price": "63.00",
    "job_discount_percent": "5.00",
    "job_price": "59.85",
    "created_at": "2025-11-20T09:00:00Z"
}))]
pub struct Price {
    /// Opaque id of the entry.
    #[schema(example = "0190f3a7-1a2b-7c3d-8e4f-5a6b7c8d9e0f")]
    pub id: String,
    /// The product offering the price is for, as the contracts name it.
    #[schema(example = "D-Ticket Job (Rechnung)")]
    pub product_offering: String,
    /// The 1st of the first month the price holds.
    #[schema(example = "2026-01-01")]
    pub valid_from: NaiveDate,
    /// List price of a month in euros, two decimal places.
    #[schema(example = "63.00")]
    pub list_price: String,
    /// Job discount in percent of the list price, two decimal places.
    #[schema(example = "5.00")]
    pub job_discount_percent: String,
    /// The list price less the discount (the discount rounded half up to the cent).
    #[schema(example = "59.85")]
    pub job_price: String,
    /// When the entry was made.
    #[schema(example = "2025-11-20T09:00:00Z")]
    pub created_at: DateTime<Utc>,
}

impl From<PriceRow> for Price {
    fn from(row: PriceRow) -> Self {
        let entry = row.entry();
        Price {
            id: row.id,
            product_offering: row.product_offering,
            valid_from: row.valid_from,
            list_price: entry.list_price.to_string(),
            job_discount_percent: entry.job_discount.to_string(),
            job_price: entry.job_price().to_string(),
            created_at: row.created_at.and_utc(),
        }
    }
}

/// A new price list entry (operator).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "product_offering": "D-Ticket Job (Rechnung)",
    "valid_from": "2026-01-01",
    "list_price": "63.00",
    "job_discount_percent": "5.00"
}))]
pub struct NewPriceRequest {
    /// The product offering, as the contracts name it (1 to 200 characters).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "D-Ticket Job (Rechnung)")]
    pub product_offering: Option<String>,
    /// The 1st of the first month the price holds, `YYYY-MM-DD` or `TT.MM.JJJJ`
    /// (`not_first_of_month` otherwise). One entry per product and month (`409
    /// duplicate_key`).
    #[schema(value_type = String, required = true, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-0?1|0?1\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2026-01-01")]
    pub valid_from: Option<String>,
    /// List price of a month in euros: a decimal string with a point and at most two
    /// places (`invalid_amount` otherwise).
    #[schema(value_type = String, required = true, pattern = r"^ *[0-9]{1,6}(\.[0-9]{1,2})? *$", example = "63.00")]
    pub list_price: Option<String>,
    /// Job discount in percent of the list price, 0 to 100, at most two places.
    #[schema(value_type = String, required = true, pattern = r"^ *[0-9]{1,3}(\.[0-9]{1,2})? *$", example = "5.00")]
    pub job_discount_percent: Option<String>,
}

/// A checked new entry.
#[derive(Debug, Clone)]
pub struct NewPrice {
    pub product_offering: String,
    pub valid_from: NaiveDate,
    pub list_price: Cents,
    pub job_discount: Percent,
}

impl NewPriceRequest {
    /// The entry, or every invalid field at once.
    pub fn parse(self) -> Result<NewPrice, AppError> {
        let mut errors = FieldErrors::default();
        let required = |value: Option<String>, pointer: &str, errors: &mut FieldErrors| {
            let value = value.filter(|v| !v.trim().is_empty());
            if value.is_none() {
                errors.push(FieldError::new(pointer, FieldErrorCode::Required));
            }
            value
        };
        let product = required(self.product_offering, "/product_offering", &mut errors)
            .and_then(|raw| errors.take(parse_line(&raw, 200, "/product_offering")));
        let valid_from = required(self.valid_from, "/valid_from", &mut errors)
            .and_then(|raw| errors.take(first_of_month(&raw, "/valid_from")));
        let list_price = required(self.list_price, "/list_price", &mut errors)
            .and_then(|raw| errors.take(Cents::parse(&raw, "/list_price")));
        let discount = required(
            self.job_discount_percent,
            "/job_discount_percent",
            &mut errors,
        )
        .and_then(|raw| errors.take(Percent::parse(&raw, "/job_discount_percent")));
        errors.into_result()?;
        match (product, valid_from, list_price, discount) {
            (Some(product_offering), Some(valid_from), Some(list_price), Some(job_discount)) => {
                Ok(NewPrice {
                    product_offering,
                    valid_from,
                    list_price,
                    job_discount,
                })
            }
            _ => Err(AppError::Internal("price parsed without errors".into())),
        }
    }
}

/// A date that is the 1st of a month.
fn first_of_month(raw: &str, pointer: &str) -> Result<NaiveDate, FieldError> {
    let date = parse_date(raw, pointer)?;
    if chrono::Datelike::day(&date) != 1 {
        return Err(FieldError::new(pointer, FieldErrorCode::NotFirstOfMonth));
    }
    Ok(date)
}

/// Filters of the price list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PriceListQuery {
    /// Only the entries of this product offering (exact).
    #[param(example = "D-Ticket Job (Rechnung)")]
    pub product_offering: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}
