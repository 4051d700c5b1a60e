//! Paging of every list, as DESIGN §5 promises: `page` (from 1) and `per_page` (default
//! 25, at most 100) in, `{items, total, page, per_page}` out, so a frontend can print
//! "angezeigt 1 bis 25 von 120 Einträgen". A list's query struct embeds [`PageQuery`]
//! with `#[serde(flatten)]`; its SQL takes [`Paging::limit`] and [`Paging::offset`] and
//! ends its `ORDER BY` with the id, so consecutive pages never overlap or skip.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};

pub const DEFAULT_PER_PAGE: i64 = 25;
pub const MAX_PER_PAGE: i64 = 100;
/// Far beyond any real list; keeps `offset` from overflowing.
const MAX_PAGE: i64 = 1_000_000;

/// The paging parameters of a list request.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1 (default 1). A page past the end is empty and still carries
    /// the `total`.
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000, example = 1)]
    pub page: Option<QueryNumber>,
    /// Items per page, 1 to 100 (default 25).
    #[serde(default)]
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, example = 25)]
    pub per_page: Option<QueryNumber>,
}

/// A number as a query string carries it, checked when it is used: under
/// `#[serde(flatten)]` every value arrives as a string, and a parse error there would
/// lose the parameter's name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QueryNumber {
    Number(i64),
    Text(String),
}

impl QueryNumber {
    fn value(&self, pointer: &str) -> Result<i64, FieldError> {
        match self {
            QueryNumber::Number(n) => Ok(*n),
            QueryNumber::Text(text) => text
                .trim()
                .parse()
                .map_err(|_| FieldError::new(pointer, FieldErrorCode::InvalidType)),
        }
    }
}

/// Checked paging: which rows to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl PageQuery {
    /// The paging, or field errors at `/page` and `/per_page`.
    pub fn paging(&self) -> Result<Paging, AppError> {
        let mut errors = FieldErrors::default();
        let page = errors.take(in_range(self.page.as_ref(), 1, 1, MAX_PAGE, "/page"));
        let per_page = errors.take(in_range(
            self.per_page.as_ref(),
            DEFAULT_PER_PAGE,
            1,
            MAX_PER_PAGE,
            "/per_page",
        ));
        errors.into_result()?;
        match (page, per_page) {
            (Some(page), Some(per_page)) => Ok(Paging { page, per_page }),
            _ => unreachable!("no field errors means both parsed"),
        }
    }
}

impl Paging {
    pub fn limit(self) -> i64 {
        self.per_page
    }

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.per_page
    }

    /// One page of a list whose query counted `total` rows.
    pub fn page_of<T>(self, items: Vec<T>, total: i64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            per_page: self.per_page,
        }
    }
}

fn in_range(
    value: Option<&QueryNumber>,
    default: i64,
    min: i64,
    max: i64,
    pointer: &str,
) -> Result<i64, FieldError> {
    let value = value.map_or(Ok(default), |v| v.value(pointer))?;
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(FieldError::new(
            pointer,
            FieldErrorCode::OutOfRange { min, max },
        ))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How many items the whole list holds (over all pages).
    #[schema(example = 1)]
    pub total: i64,
    /// This page's number, from 1.
    #[schema(example = 1)]
    pub page: i64,
    /// The page size asked for.
    #[schema(example = 25)]
    pub per_page: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::query::parse_query;

    #[derive(Debug, Deserialize)]
    struct ListQuery {
        #[serde(default)]
        q: Option<String>,
        #[serde(flatten)]
        page: PageQuery,
    }

    fn pointers(error: AppError) -> Vec<(String, &'static str)> {
        match error {
            AppError::Validation(fields) => fields
                .into_iter()
                .map(|f| (f.pointer, f.code.as_str()))
                .collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn defaults_to_the_first_page_of_twenty_five() {
        let query: ListQuery = parse_query("").unwrap();
        let paging = query.page.paging().unwrap();
        assert_eq!((paging.page, paging.per_page), (1, 25));
        assert_eq!((paging.offset(), paging.limit()), (0, 25));
        let query: ListQuery = parse_query("q=M%C3%BCller&page=3&per_page=100").unwrap();
        assert_eq!(query.q.as_deref(), Some("Müller"));
        assert_eq!(query.page.paging().unwrap().offset(), 200);
    }

    #[test]
    fn out_of_range_values_are_field_errors_at_their_parameter() {
        let query: ListQuery = parse_query("page=0&per_page=101").unwrap();
        assert_eq!(
            pointers(query.page.paging().unwrap_err()),
            [
                ("/page".to_string(), "out_of_range"),
                ("/per_page".to_string(), "out_of_range")
            ]
        );
        let query: ListQuery = parse_query("per_page=viele").unwrap();
        assert_eq!(
            pointers(query.page.paging().unwrap_err()),
            [("/per_page".to_string(), "invalid_type")]
        );
    }

    #[test]
    fn a_page_carries_items_and_the_total() {
        let paging = Paging {
            page: 2,
            per_page: 25,
        };
        let page = paging.page_of(vec!["a"], 26);
        let json = serde_json::to_value(&page).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"items": ["a"], "total": 26, "page": 2, "per_page": 25})
        );
    }
}
